//! Training: one minibatch step (forward, loss, backward, optimizer update) touching only the
//! model buffer and the trainer's caller-owned buffer, in f32 or with f16/bf16 operands.

mod config;
mod mixed;
mod pass;

pub use config::{StepReport, TrainConfig};

use crate::error::{Error, Result};
use crate::nn::loss::Targets;
use crate::nn::matmul::Full;
use crate::nn::mlp::Mlp;
use crate::nn::optimizer::{clip_by_global_norm, global_norm};
use crate::nn::topology::{plan, Topology};
use crate::rng::Rng;

/// Gradients, optimizer state, activations and backprop buffers for training one
/// [`Topology`], all inside one caller buffer of [`TrainConfig::trainer_len`] elements.
#[derive(Debug)]
pub struct Trainer<'w> {
    topology: Topology,
    config: TrainConfig,
    grads: &'w mut [f32],
    state: &'w mut [f32],
    acts: &'w mut [f32],
    delta_a: &'w mut [f32],
    delta_b: &'w mut [f32],
    steps: u64,
    rows: usize,
}

/// Splits a workspace of [`crate::nn::workspace_len`] elements into a model (whose contents
/// are left as they are) and its trainer.
pub fn split_workspace<'w>(
    topology: Topology,
    config: TrainConfig,
    workspace: &'w mut [f32],
) -> Result<(Mlp<'w>, Trainer<'w>)> {
    let model = topology.model_len();
    if workspace.len() < model {
        return Err(Error::BufferTooSmall {
            needed: model,
            available: workspace.len(),
        });
    }
    let (model_buf, rest) = workspace.split_at_mut(model);
    Ok((
        Mlp::new(topology, model_buf)?,
        Trainer::new(topology, config, rest)?,
    ))
}

impl<'w> Trainer<'w> {
    /// Trainer over the first [`TrainConfig::trainer_len`] elements of `buffer` (zeroed here).
    /// Errors: `InvalidParameter` for a bad configuration, `SizeOverflow`, `BufferTooSmall`.
    pub fn new(topology: Topology, config: TrainConfig, buffer: &'w mut [f32]) -> Result<Self> {
        config.validate()?;
        let needed = config.trainer_len(&topology);
        if needed == usize::MAX {
            return Err(Error::SizeOverflow);
        }
        let available = buffer.len();
        let buffer = buffer
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, available })?;
        buffer.fill(0.0);
        let params = topology.param_len();
        let widest = topology.sizes().iter().skip(1).copied().max().unwrap_or(0);
        let delta = config.batch * widest;
        let (grads, rest) = buffer.split_at_mut(params);
        let (state, rest) = rest.split_at_mut(params * config.optimizer.state_slots());
        let (acts, rest) = rest.split_at_mut(rest.len() - 2 * delta);
        let (delta_a, delta_b) = rest.split_at_mut(delta);
        Ok(Trainer {
            topology,
            config,
            grads,
            state,
            acts,
            delta_a,
            delta_b,
            steps: 0,
            rows: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Optimizer updates applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Sets the learning rate for the following steps (for [`crate::nn::Schedule`]).
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        let optimizer = self.config.optimizer.with_learning_rate(lr);
        optimizer.validate()?;
        self.config.optimizer = optimizer;
        Ok(())
    }

    /// Gradients of the last pass, in the layout of [`Mlp::params`].
    pub fn gradients(&self) -> &[f32] {
        self.grads
    }

    /// Network outputs `[rows × outputs]` of the last training forward pass.
    pub fn outputs(&self) -> &[f32] {
        let plans = plan(&self.topology, self.config.batch, self.config.dropout > 0.0);
        let last = plans
            .get(self.topology.layers().wrapping_sub(1))
            .copied()
            .unwrap_or_default();
        let len = self.rows * self.topology.outputs();
        self.acts
            .get(last.post..last.post + len)
            .unwrap_or_default()
    }

    /// Forward (training mode: batch statistics, dropout from `rng`) and backward over one
    /// minibatch `x` (`[rows × inputs]`, `1 ≤ rows ≤ batch`); leaves the gradients in
    /// [`Trainer::gradients`] without updating and returns the mean loss. Updates the
    /// batch-norm running statistics. Errors: see [`Trainer::step`].
    pub fn compute_gradients(
        &mut self,
        mlp: &mut Mlp<'_>,
        x: &[f32],
        targets: Targets<'_>,
        rng: &mut Rng,
    ) -> Result<f32> {
        self.pass(mlp, &mut Full, x, targets, rng, 1.0)
    }

    /// One training step in f32: forward, loss, backward, clipping, optimizer update. Errors:
    /// `InvalidParameter` when `mlp` has another topology or a label is out of range,
    /// `ShapeMismatch` for inconsistent `x`/targets, `CapacityExceeded` for more rows than
    /// the batch, `Empty` for none, `NonFinite` for NaN/inf inputs, targets, outputs or
    /// gradients (the weights are then left unchanged).
    pub fn step(
        &mut self,
        mlp: &mut Mlp<'_>,
        x: &[f32],
        targets: Targets<'_>,
        rng: &mut Rng,
    ) -> Result<StepReport> {
        let loss = self.pass(mlp, &mut Full, x, targets, rng, 1.0)?;
        let norm = global_norm(self.grads);
        if !norm.is_finite() {
            crate::error::ensure_finite(self.grads)?;
        }
        self.update(mlp, loss, norm)
    }

    fn update(&mut self, mlp: &mut Mlp<'_>, loss: f32, grad_norm: f32) -> Result<StepReport> {
        if let Some(max) = self.config.clip_norm {
            clip_by_global_norm(self.grads, max)?;
        }
        self.steps += 1;
        self.config
            .optimizer
            .update(mlp.params_mut(), self.grads, self.state, self.steps)?;
        Ok(StepReport {
            loss,
            grad_norm,
            skipped: false,
        })
    }
}
