//! The forward and backward passes of a training step over one minibatch.

use crate::error::{ensure_len, Error, Result};
use crate::nn::activation::Activation;
use crate::nn::loss::Targets;
use crate::nn::matmul::{Dims, Matmul};
use crate::nn::mlp::{fill_bias, Mlp};
use crate::nn::topology::{plan, LayerPlan};
use crate::nn::trainer::Trainer;
use crate::nn::{batchnorm, dropout};
use crate::rng::Rng;

impl Trainer<'_> {
    fn check_inputs(&self, mlp: &Mlp<'_>, x: &[f32], targets: &Targets<'_>) -> Result<usize> {
        if mlp.topology() != &self.topology {
            return Err(Error::InvalidParameter {
                name: "model and trainer topologies differ",
            });
        }
        if x.is_empty() {
            return Err(Error::Empty);
        }
        let inputs = self.topology.inputs();
        let rows = x.len() / inputs;
        ensure_len(rows * inputs, x.len())?;
        if rows > self.config.batch {
            return Err(Error::CapacityExceeded {
                requested: rows,
                capacity: self.config.batch,
            });
        }
        ensure_len(rows, targets.rows(self.topology.outputs()))?;
        crate::nn::finite::ensure_finite(x)?;
        Ok(rows)
    }

    pub(super) fn pass<E: Matmul>(
        &mut self,
        mlp: &mut Mlp<'_>,
        engine: &mut E,
        x: &[f32],
        targets: Targets<'_>,
        rng: &mut Rng,
        scale: f32,
    ) -> Result<f32> {
        let rows = self.check_inputs(mlp, x, &targets)?;
        self.rows = 0;
        let plans = plan(&self.topology, self.config.batch, self.config.dropout > 0.0);
        let plans = plans.get(..self.topology.layers()).unwrap_or_default();
        for (l, p) in plans.iter().enumerate() {
            let prev = l.checked_sub(1).and_then(|i| plans.get(i));
            self.forward_layer(mlp, engine, x, rows, p, prev, rng)?;
        }
        self.rows = rows;
        let last = plans.last().copied().unwrap_or_default();
        let k = last.outputs;
        let outputs = &self.acts[last.post..last.post + rows * k];
        let loss = self.config.loss.evaluate(
            outputs,
            k,
            targets,
            scale,
            &mut self.delta_a[..rows * k],
            self.delta_b,
        )?;
        self.backward(mlp, engine, x, rows, plans)?;
        Ok(loss)
    }

    #[allow(clippy::too_many_arguments)]
    fn forward_layer<E: Matmul>(
        &mut self,
        mlp: &mut Mlp<'_>,
        engine: &mut E,
        x: &[f32],
        rows: usize,
        p: &LayerPlan,
        prev: Option<&LayerPlan>,
        rng: &mut Rng,
    ) -> Result<()> {
        let dims = Dims {
            rows,
            inputs: p.inputs,
            outputs: p.outputs,
        };
        let plane = rows * p.outputs;
        let (before, block) = self.acts.split_at_mut(p.pre);
        let input: &[f32] = match prev {
            None => x,
            Some(q) => &before[q.post..q.post + rows * p.inputs],
        };
        let base = p.pre;
        let (pre, rest) = block.split_at_mut(p.post - base);
        let (post, rest) = rest.split_at_mut(p.lin - p.post);
        let (lin, rest) = rest.split_at_mut(p.mask - p.lin);
        let (mask, stats) = rest.split_at_mut(p.stats - p.mask);
        let (pre, post) = (&mut pre[..plane], &mut post[..plane]);
        let param_len = self.topology.param_len();
        let (params, running) = mlp.buffer_mut().split_at_mut(param_len);
        let z: &mut [f32] = if p.batch_norm {
            &mut lin[..plane]
        } else {
            &mut *pre
        };
        fill_bias(z, &params[p.bias..p.bias + p.outputs]);
        engine.forward(self.config.dispatch, input, params, p.weights, dims, z)?;
        if p.batch_norm {
            let k = p.outputs;
            let r = p.running - param_len;
            batchnorm::forward_train(
                &lin[..plane],
                k,
                &params[p.gamma..p.gamma + k],
                &params[p.beta..p.beta + k],
                &mut stats[..2 * k],
                &mut running[r..r + 2 * k],
                pre,
            );
        }
        post.copy_from_slice(pre);
        p.activation.apply(post);
        if p.dropout {
            dropout::apply(post, &mut mask[..plane], self.config.dropout, rng);
        }
        Ok(())
    }

    fn backward<E: Matmul>(
        &mut self,
        mlp: &Mlp<'_>,
        engine: &mut E,
        x: &[f32],
        rows: usize,
        plans: &[LayerPlan],
    ) -> Result<()> {
        let params = mlp.params();
        let (mut current, mut other) = (&mut *self.delta_a, &mut *self.delta_b);
        for (l, p) in plans.iter().enumerate().rev() {
            let k = p.outputs;
            let plane = rows * k;
            let dims = Dims {
                rows,
                inputs: p.inputs,
                outputs: k,
            };
            let delta = &mut current[..plane];
            if p.dropout {
                dropout::backward(delta, &self.acts[p.mask..p.mask + plane]);
            }
            if p.activation != Activation::Identity {
                p.activation
                    .backprop(&self.acts[p.pre..p.pre + plane], delta)?;
            }
            if p.batch_norm {
                let (gamma_grads, beta_grads) = self.grads.split_at_mut(p.beta);
                batchnorm::backward(
                    delta,
                    &self.acts[p.lin..p.lin + plane],
                    k,
                    &params[p.gamma..p.gamma + k],
                    &self.acts[p.stats..p.stats + 2 * k],
                    &mut gamma_grads[p.gamma..p.gamma + k],
                    &mut beta_grads[..k],
                );
            }
            column_sums(delta, &mut self.grads[p.bias..p.bias + k]);
            let input: &[f32] = match l.checked_sub(1).and_then(|i| plans.get(i)) {
                None => x,
                Some(q) => &self.acts[q.post..q.post + rows * p.inputs],
            };
            let w_len = p.inputs * k;
            engine.weight_grad(
                self.config.dispatch,
                input,
                delta,
                dims,
                &mut self.grads[p.weights..p.weights + w_len],
            )?;
            if l > 0 {
                engine.input_grad(
                    self.config.dispatch,
                    delta,
                    params,
                    p.weights,
                    dims,
                    &mut other[..rows * p.inputs],
                )?;
                core::mem::swap(&mut current, &mut other);
            }
        }
        Ok(())
    }
}

/// `sums[j] = Σ_i values[i][j]` over the rows of `values` (`[rows × sums.len()]`).
fn column_sums(values: &[f32], sums: &mut [f32]) {
    sums.fill(0.0);
    for row in values.chunks_exact(sums.len().max(1)) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}
