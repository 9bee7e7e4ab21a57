//! The mixed-precision step: f16/bf16 operands for the products, f32 master weights for the
//! update, dynamic loss scaling.

use crate::error::{Error, Result};
use crate::nn::loss::Targets;
use crate::nn::matmul::Reduced;
use crate::nn::mlp::Mlp;
use crate::nn::optimizer::global_norm;
use crate::nn::scaler::LossScaler;
use crate::nn::topology::half_len;
use crate::nn::trainer::{StepReport, Trainer};
use crate::rng::Rng;
use crate::scalar::{from_f32_slice_with, BulkConvert};

impl Trainer<'_> {
    /// One mixed-precision step: the products read `T` (f16/bf16) copies of the weights and
    /// activations (refreshed from the f32 master weights here) and accumulate in f32; the
    /// loss gradient is multiplied by `scaler.scale()` and the gradients divided by it. When
    /// they hold an inf/NaN the step is skipped (weights untouched, `skipped: true`) and the
    /// scale halved. `half` needs [`half_len`] elements. Errors as [`Trainer::step`], plus
    /// `BufferTooSmall` for a short `half`.
    pub fn step_mixed<T: BulkConvert>(
        &mut self,
        mlp: &mut Mlp<'_>,
        half: &mut [T],
        scaler: &mut LossScaler,
        x: &[f32],
        targets: Targets<'_>,
        rng: &mut Rng,
    ) -> Result<StepReport> {
        let topo = self.topology;
        let needed = half_len(topo.sizes(), topo.batch_norm(), self.config.batch);
        if half.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: half.len(),
            });
        }
        let (weights, rest) = half.split_at_mut(topo.param_len());
        from_f32_slice_with(self.config.dispatch, mlp.params(), weights)?;
        let operand = (needed - topo.param_len()) / 2;
        let (first, rest) = rest.split_at_mut(operand);
        let second = rest.get_mut(..operand).unwrap_or_default();
        let mut engine = Reduced {
            weights,
            first,
            second,
        };
        let scale = scaler.scale();
        let loss = self.pass(mlp, &mut engine, x, targets, rng, scale)?;
        let unscale = 1.0 / scale;
        for g in self.grads.iter_mut() {
            *g *= unscale;
        }
        let norm = global_norm(self.grads);
        scaler.record(norm.is_finite());
        if !norm.is_finite() {
            return Ok(StepReport {
                loss,
                grad_norm: f32::INFINITY,
                skipped: true,
            });
        }
        self.update(mlp, loss, norm)
    }
}
