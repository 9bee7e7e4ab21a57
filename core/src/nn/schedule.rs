//! Learning-rate schedules: the rate to use at a given epoch, from a base rate.

use crate::error::{Error, Result};

/// How the learning rate changes with the epoch (counted from 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `base · gamma^(epoch / step_size)` (integer division).
    Step {
        /// Epochs between decays (> 0).
        step_size: u32,
        /// Factor per decay, in `(0, 1]`.
        gamma: f32,
    },
    /// Cosine annealing from `base` at epoch 0 to `min_lr` at `total` epochs (held there
    /// after): `min + (base − min)·(1 + cos(π·epoch/total))/2`.
    Cosine {
        /// Epochs of the annealing (> 0).
        total: u32,
        /// Rate reached at the end.
        min_lr: f32,
    },
}

impl Schedule {
    /// Learning rate at `epoch` for base rate `base`. `Err(InvalidParameter)` for a zero
    /// `step_size`/`total`, a `gamma` outside `(0, 1]`, or a negative or non-finite rate.
    pub fn learning_rate(&self, base: f32, epoch: u32) -> Result<f32> {
        if !(base.is_finite() && base >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "base learning rate must be finite and non-negative",
            });
        }
        match *self {
            Schedule::Constant => Ok(base),
            Schedule::Step { step_size, gamma } => {
                if step_size == 0 || !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(Error::InvalidParameter {
                        name: "step schedule needs step_size > 0 and gamma in (0, 1]",
                    });
                }
                let decays = epoch / step_size;
                Ok((f64::from(base) * libm::pow(f64::from(gamma), f64::from(decays))) as f32)
            }
            Schedule::Cosine { total, min_lr } => {
                if total == 0 || !(min_lr.is_finite() && min_lr >= 0.0) {
                    return Err(Error::InvalidParameter {
                        name: "cosine schedule needs total > 0 and a finite min_lr >= 0",
                    });
                }
                let progress = f64::from(epoch.min(total)) / f64::from(total);
                let cosine = 0.5 * (1.0 + libm::cos(core::f64::consts::PI * progress));
                let (base, min) = (f64::from(base), f64::from(min_lr));
                Ok((min + (base - min) * cosine) as f32)
            }
        }
    }
}
