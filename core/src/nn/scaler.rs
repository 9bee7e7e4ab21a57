//! Dynamic loss scaling for mixed-precision training: the loss gradient is multiplied by a
//! scale so small f16 gradients do not flush to zero; a step whose gradients overflow is
//! skipped and the scale halved, and after `growth_interval` clean steps it doubles.

use crate::error::{Error, Result};

/// State of the dynamic loss scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossScaler {
    scale: f32,
    growth_interval: u32,
    clean_steps: u32,
}

impl LossScaler {
    /// Scaler starting at `initial` (positive, finite) that doubles after `growth_interval`
    /// (> 0) consecutive clean steps. `Err(InvalidParameter)` otherwise.
    pub fn new(initial: f32, growth_interval: u32) -> Result<Self> {
        if !(initial > 0.0 && initial.is_finite()) || growth_interval == 0 {
            return Err(Error::InvalidParameter {
                name: "loss scale must be positive and finite, growth interval positive",
            });
        }
        Ok(LossScaler {
            scale: initial,
            growth_interval,
            clean_steps: 0,
        })
    }

    /// The current scale.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Clean steps since the last overflow or growth.
    pub fn clean_steps(&self) -> u32 {
        self.clean_steps
    }

    /// Records one step: on overflow (`finite == false`) halves the scale (not below the
    /// smallest normal f32) and restarts the count; otherwise counts it and doubles the scale
    /// (while it stays finite) once `growth_interval` clean steps have passed.
    pub fn record(&mut self, finite: bool) {
        if finite {
            self.clean_steps += 1;
            if self.clean_steps >= self.growth_interval {
                self.clean_steps = 0;
                let grown = self.scale * 2.0;
                if grown.is_finite() {
                    self.scale = grown;
                }
            }
        } else {
            self.clean_steps = 0;
            self.scale = (self.scale * 0.5).max(f32::MIN_POSITIVE);
        }
    }
}

impl Default for LossScaler {
    /// Scale 2¹⁶, doubling after 2000 clean steps (PyTorch's defaults).
    fn default() -> Self {
        LossScaler {
            scale: 65536.0,
            growth_interval: 2000,
            clean_steps: 0,
        }
    }
}
