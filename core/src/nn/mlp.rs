//! The model: a [`Topology`] and a caller buffer holding its parameters and batch-norm running
//! statistics; initialization and the inference (forward-only) path.

use crate::error::{ensure_len, Error, Result};
use crate::kernels::Dispatch;
use crate::nn::batchnorm;
use crate::nn::init::Init;
use crate::nn::matmul::{Dims, Full, Matmul};
use crate::nn::topology::{inference_scratch_len, plan, Topology};
use crate::rng::Rng;

/// A multi-layer perceptron over a caller-owned buffer of [`Topology::model_len`] `f32`s:
/// per layer the weights `W` (`[inputs × outputs]`, row-major), the biases, and on hidden
/// layers with batch norm the scales γ and shifts β; then the running means and variances.
#[derive(Debug)]
pub struct Mlp<'w> {
    topology: Topology,
    buffer: &'w mut [f32],
}

impl<'w> Mlp<'w> {
    /// Model over the first `topology.model_len()` elements of `buffer` (contents kept as
    /// they are; call [`Mlp::init`] for fresh weights). `Err(BufferTooSmall)` if it is shorter.
    pub fn new(topology: Topology, buffer: &'w mut [f32]) -> Result<Self> {
        let needed = topology.model_len();
        let available = buffer.len();
        let buffer = buffer
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, available })?;
        Ok(Mlp { topology, buffer })
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Draws every layer's weights with the rule suited to its activation ([`Init`]), and sets
    /// biases and β to 0, γ to 1, running means to 0 and running variances to 1.
    pub fn init(&mut self, rng: &mut Rng) {
        self.init_layers(rng, None);
    }

    /// Like [`Mlp::init`] but with `rule` for every layer's weights and biases (e.g.
    /// [`Init::TorchDefault`] to start where PyTorch's `nn.Linear` starts).
    pub fn init_with(&mut self, rng: &mut Rng, rule: Init) {
        self.init_layers(rng, Some(rule));
    }

    fn init_layers(&mut self, rng: &mut Rng, rule: Option<Init>) {
        let plans = plan(&self.topology, 0, false);
        self.buffer.fill(0.0);
        for p in plans.iter().take(self.topology.layers()) {
            let layer_rule = rule.unwrap_or(Init::for_activation(p.activation));
            let w_len = p.inputs * p.outputs;
            if let Some(w) = self.buffer.get_mut(p.weights..p.weights + w_len) {
                layer_rule.fill(rng, w, p.inputs, p.outputs);
            }
            if let Some(b) = self.buffer.get_mut(p.bias..p.bias + p.outputs) {
                layer_rule.fill_bias(rng, b, p.inputs);
            }
            if p.batch_norm {
                if let Some(g) = self.buffer.get_mut(p.gamma..p.gamma + p.outputs) {
                    g.fill(1.0);
                }
                let var = p.running + p.outputs;
                if let Some(v) = self.buffer.get_mut(var..var + p.outputs) {
                    v.fill(1.0);
                }
            }
        }
    }

    /// The trainable parameters ([`Topology::param_len`]) in layout order.
    pub fn params(&self) -> &[f32] {
        self.buffer
            .get(..self.topology.param_len())
            .unwrap_or_default()
    }

    /// The trainable parameters, mutably.
    pub fn params_mut(&mut self) -> &mut [f32] {
        let len = self.topology.param_len();
        self.buffer.get_mut(..len).unwrap_or_default()
    }

    /// The whole model buffer: parameters then running statistics.
    pub fn buffer(&self) -> &[f32] {
        self.buffer
    }

    /// The whole model buffer, mutably.
    pub fn buffer_mut(&mut self) -> &mut [f32] {
        self.buffer
    }

    /// Inference on `x` (`[rows × inputs]`, row-major): writes `[rows × outputs]` into `out`,
    /// using running statistics for batch norm and no dropout. `scratch` needs
    /// [`inference_scratch_len`]`(sizes, rows)` elements. Errors: `Empty` for zero rows,
    /// `ShapeMismatch` when `x` or `out` disagree with the topology, `BufferTooSmall` for a
    /// short scratch, `NonFinite` for NaN/inf inputs and for finite inputs whose outputs
    /// overflow to ±inf or NaN (the index is then the first bad output).
    pub fn forward(
        &self,
        dispatch: Dispatch,
        x: &[f32],
        scratch: &mut [f32],
        out: &mut [f32],
    ) -> Result<()> {
        let topo = &self.topology;
        if x.is_empty() {
            return Err(Error::Empty);
        }
        let rows = x.len() / topo.inputs();
        ensure_len(rows * topo.inputs(), x.len())?;
        ensure_len(rows * topo.outputs(), out.len())?;
        crate::nn::finite::ensure_finite(x)?;
        let needed = inference_scratch_len(topo.sizes(), rows);
        if scratch.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: scratch.len(),
            });
        }
        let (mut current, mut spare) = scratch.split_at_mut(needed / 2);
        let plans = plan(topo, 0, false);
        let layers = topo.layers();
        for (l, p) in plans.iter().take(layers).enumerate() {
            let dims = Dims {
                rows,
                inputs: p.inputs,
                outputs: p.outputs,
            };
            let input: &[f32] = if l == 0 {
                x
            } else {
                &current[..rows * p.inputs]
            };
            let target: &mut [f32] = if l + 1 == layers {
                &mut *out
            } else {
                &mut spare[..rows * p.outputs]
            };
            self.dense(dispatch, input, p, dims, target)?;
            if p.batch_norm {
                let params: &[f32] = self.buffer;
                batchnorm::forward_infer(
                    target,
                    p.outputs,
                    &params[p.gamma..p.gamma + p.outputs],
                    &params[p.beta..p.beta + p.outputs],
                    &params[p.running..p.running + 2 * p.outputs],
                );
            }
            p.activation.apply(target);
            core::mem::swap(&mut current, &mut spare);
        }
        crate::nn::finite::ensure_finite(out)
    }

    fn dense(
        &self,
        dispatch: Dispatch,
        input: &[f32],
        p: &crate::nn::topology::LayerPlan,
        dims: Dims,
        target: &mut [f32],
    ) -> Result<()> {
        fill_bias(target, &self.buffer[p.bias..p.bias + p.outputs]);
        Full.forward(dispatch, input, self.buffer, p.weights, dims, target)
    }
}

/// Sets every row of `target` (`[rows × bias.len()]`) to `bias`.
pub(crate) fn fill_bias(target: &mut [f32], bias: &[f32]) {
    for row in target.chunks_exact_mut(bias.len().max(1)) {
        row.copy_from_slice(bias);
    }
}
