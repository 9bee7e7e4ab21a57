//! Weight initialization from the seeded generator: He (normal, `std = √(2/fan_in)`) for
//! ReLU/GELU layers, Xavier (uniform on `±√(6/(fan_in+fan_out))`) for the others, and
//! PyTorch's `nn.Linear` default (uniform on `±1/√fan_in` for weights and biases) for
//! reproducing models that rely on it.

use crate::nn::activation::Activation;
use crate::rng::Rng;

/// Initialization rule for one layer's weights (and, for [`Init::TorchDefault`], biases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// Normal with mean 0 and standard deviation `√(2 / fan_in)`; biases 0.
    He,
    /// Uniform on `[−a, a]` with `a = √(6 / (fan_in + fan_out))`; biases 0.
    Xavier,
    /// PyTorch's `nn.Linear` default (`kaiming_uniform_(a=√5)` for the weights): weights and
    /// biases uniform on `[−a, a]` with `a = 1/√fan_in`, so variance `1/(3·fan_in)`.
    TorchDefault,
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
            Init::TorchDefault => {
                let a = torch_bound(fan_in);
                rng.fill_uniform(weights, -a, a);
            }
        }
    }

    /// Fills `bias` (`[fan_out]`) of a layer with `fan_in` inputs: zeros for He and Xavier,
    /// uniform on `[−1/√fan_in, 1/√fan_in]` for [`Init::TorchDefault`].
    pub fn fill_bias(self, rng: &mut Rng, bias: &mut [f32], fan_in: usize) {
        match self {
            Init::He | Init::Xavier => bias.fill(0.0),
            Init::TorchDefault => {
                let a = torch_bound(fan_in);
                rng.fill_uniform(bias, -a, a);
            }
        }
    }
}

/// `1/√fan_in` (fan_in 0 counts as 1).
fn torch_bound(fan_in: usize) -> f32 {
    1.0 / libm::sqrtf(fan_in.max(1) as f32)
}
