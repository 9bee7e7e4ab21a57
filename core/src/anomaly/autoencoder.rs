//! Autoencoders as MLPs with a bottleneck, trained on their own input by the MLP trainer
//! ([`crate::nn::Trainer`]): mean squared error, or binary cross-entropy with logits for inputs
//! in `[0, 1]`; denoising by corrupting the input while the target stays clean. Mixed
//! precision, optimizers and serialization are the MLP's.

use crate::error::{ensure_len, Error, Result};
use crate::nn::{Activation, Loss, Mlp, StepReport, Targets, Topology, Trainer, MAX_LAYERS};
use crate::rng::Rng;

/// Input corruption of a denoising autoencoder.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Corruption {
    /// The input as it is (a plain autoencoder).
    #[default]
    None,
    /// Each value set to zero with this probability (`[0, 1)`).
    Mask(f32),
    /// Gaussian noise of this standard deviation (finite, ≥ 0) added to each value.
    Gaussian(f32),
}

/// The topology `sizes` (`[d, h₁, …, b, …, d]`) with `hidden` on every layer but the last and
/// `output` there. Errors: `InvalidParameter` unless the last size equals the first and some
/// hidden size is smaller than the input (the bottleneck); otherwise as [`Topology::new`].
pub fn autoencoder_topology(
    sizes: &[usize],
    hidden: Activation,
    output: Activation,
) -> Result<Topology> {
    let (first, last) = match (sizes.first(), sizes.last()) {
        (Some(&f), Some(&l)) if sizes.len() >= 3 => (f, l),
        _ => {
            return Err(Error::InvalidParameter {
                name: "an autoencoder needs at least one hidden layer",
            })
        }
    };
    if first != last {
        return Err(Error::InvalidParameter {
            name: "an autoencoder's output size must equal its input size",
        });
    }
    let inner = &sizes[1..sizes.len() - 1];
    if !inner.iter().any(|&h| h < first) {
        return Err(Error::InvalidParameter {
            name: "an autoencoder needs a hidden layer narrower than its input",
        });
    }
    let layers = sizes.len() - 1;
    if layers > MAX_LAYERS {
        return Err(Error::CapacityExceeded {
            requested: layers,
            capacity: MAX_LAYERS,
        });
    }
    let mut activations = [hidden; MAX_LAYERS];
    activations[layers - 1] = output;
    Topology::new(sizes, &activations[..layers])
}

/// Writes `x` corrupted by `corruption` into `noisy` (same length). Errors: `ShapeMismatch`,
/// `InvalidParameter` for a mask probability outside `[0, 1)` or a negative/non-finite std.
pub fn corrupt(x: &[f32], noisy: &mut [f32], corruption: Corruption, rng: &mut Rng) -> Result<()> {
    ensure_len(x.len(), noisy.len())?;
    match corruption {
        Corruption::None => noisy.copy_from_slice(x),
        Corruption::Mask(p) => {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::InvalidParameter {
                    name: "mask probability must lie in [0, 1)",
                });
            }
            for (dst, &v) in noisy.iter_mut().zip(x) {
                *dst = if rng.uniform_f32() < p { 0.0 } else { v };
            }
        }
        Corruption::Gaussian(std) => {
            if !(std >= 0.0 && std.is_finite()) {
                return Err(Error::InvalidParameter {
                    name: "noise std must be finite and non-negative",
                });
            }
            for (dst, &v) in noisy.iter_mut().zip(x) {
                *dst = v + std * rng.normal();
            }
        }
    }
    Ok(())
}

/// One reconstruction step on the minibatch `x` (`rows × d`): corrupts `x` into `noisy` (same
/// length), then [`Trainer::step`] with `noisy` as input and the clean `x` as target. Errors:
/// `InvalidParameter` unless the trainer's loss is MSE or BCE with logits and the model's
/// outputs equal its inputs; otherwise as [`corrupt`] and [`Trainer::step`].
pub fn train_step(
    trainer: &mut Trainer<'_>,
    mlp: &mut Mlp<'_>,
    x: &[f32],
    noisy: &mut [f32],
    corruption: Corruption,
    rng: &mut Rng,
) -> Result<StepReport> {
    if !matches!(
        trainer.config().loss,
        Loss::MeanSquaredError | Loss::BinaryCrossEntropyWithLogits
    ) {
        return Err(Error::InvalidParameter {
            name: "an autoencoder trains on MSE or BCE with logits",
        });
    }
    let topology = mlp.topology();
    if topology.inputs() != topology.outputs() {
        return Err(Error::InvalidParameter {
            name: "an autoencoder's outputs must equal its inputs",
        });
    }
    corrupt(x, noisy, corruption, rng)?;
    trainer.step(mlp, noisy, Targets::Values(x), rng)
}
