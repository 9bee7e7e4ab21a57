//! Weight initialization from the seeded generator: He (normal, `std = √(2/fan_in)`) for
//! ReLU/GELU layers, Xavier (uniform on `±√(6/(fan_in+fan_out))`) for the others.

use crate::nn::activation::Activation;
use crate::rng::Rng;

/// Initialization rule for one layer's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// Normal with mean 0 and standard deviation `√(2 / fan_in)`.
    He,
    /// Uniform on `[−a, a]` with `a = √(6 / (fan_in + fan_out))`.
    Xavier,
}

impl Init {
    /// The rule suited to `activation`: He for ReLU and GELU, Xavier otherwise.
    pub fn for_activation(activation: Activation) -> Init {
        if activation.prefers_he_init() {
            Init::He
        } else {
            Init::Xavier
        }
    }

    /// Fills `weights` (a `[fan_in × fan_out]` matrix) with draws from `rng`.
    pub fn fill(self, rng: &mut Rng, weights: &mut [f32], fan_in: usize, fan_out: usize) {
        match self {
            Init::He => {
                let std = libm::sqrtf(2.0 / fan_in.max(1) as f32);
                rng.fill_normal(weights, 0.0, std);
            }
            Init::Xavier => {
                let a = libm::sqrtf(6.0 / (fan_in + fan_out).max(1) as f32);
                rng.fill_uniform(weights, -a, a);
            }
        }
    }
}
