//! Training configuration and the per-step report.

use crate::error::{Error, Result};
use crate::kernels::Dispatch;
use crate::nn::loss::Loss;
use crate::nn::optimizer::Optimizer;
use crate::nn::topology::{trainer_len, Topology};

/// How to train: minibatch capacity, loss, optimizer, regularization and kernel variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Most rows per minibatch (a step may take fewer, e.g. the last of an epoch).
    pub batch: usize,
    /// The objective.
    pub loss: Loss,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Dropout probability on hidden-layer outputs, in `[0, 1)` (0 disables it).
    pub dropout: f32,
    /// Clip gradients to this global Euclidean norm (`None`: no clipping).
    pub clip_norm: Option<f32>,
    /// Kernel variant for the products.
    pub dispatch: Dispatch,
}

impl TrainConfig {
    /// Configuration without dropout or clipping, on the portable kernels.
    pub fn new(batch: usize, loss: Loss, optimizer: Optimizer) -> Self {
        TrainConfig {
            batch,
            loss,
            optimizer,
            dropout: 0.0,
            clip_norm: None,
            dispatch: Dispatch::PORTABLE,
        }
    }

    /// `f32` elements of the trainer buffer for `topology` ([`trainer_len`]).
    pub fn trainer_len(&self, topology: &Topology) -> usize {
        trainer_len(
            topology.sizes(),
            topology.batch_norm(),
            self.batch,
            self.optimizer.state_slots(),
            self.dropout > 0.0,
        )
    }

    pub(super) fn validate(&self) -> Result<()> {
        self.optimizer.validate()?;
        if self.batch == 0 {
            return Err(Error::InvalidParameter {
                name: "batch must be positive",
            });
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::InvalidParameter {
                name: "dropout must lie in [0, 1)",
            });
        }
        if let Some(c) = self.clip_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::InvalidParameter {
                    name: "clip_norm must be positive and finite",
                });
            }
        }
        Ok(())
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// Mean loss of the minibatch (before the update).
    pub loss: f32,
    /// Global gradient norm before clipping (infinite or NaN on a skipped step).
    pub grad_norm: f32,
    /// True when a mixed-precision step found non-finite gradients and left the weights alone.
    pub skipped: bool,
}
