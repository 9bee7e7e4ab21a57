//! Parameter updates from gradients: SGD (momentum, Nesterov, weight decay), Adam, RMSprop.
//! Each keeps [`Optimizer::state_slots`] `f32` values per parameter in a caller buffer.

use crate::error::{ensure_len, Error, Result};

/// An update rule with its hyper-parameters (PyTorch's conventions; weight decay is the L2
/// term `g ← g + λ·w` added to the gradient).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// `v ← μ·v + g`; `w ← w − lr·(g + μ·v)` with Nesterov, `w ← w − lr·v` without
    /// (`μ = 0` is plain SGD and keeps no state).
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum μ in `[0, 1)`.
        momentum: f32,
        /// Nesterov's look-ahead form (needs `momentum > 0`).
        nesterov: bool,
        /// L2 weight decay λ ≥ 0.
        weight_decay: f32,
    },
    /// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `w ← w − lr·m̂ / (√v̂ + ε)` with bias corrections `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
    Adam {
        /// Learning rate.
        lr: f32,
        /// First-moment decay β₁ in `[0, 1)`.
        beta1: f32,
        /// Second-moment decay β₂ in `[0, 1)`.
        beta2: f32,
        /// ε > 0 added to the denominator.
        eps: f32,
        /// L2 weight decay λ ≥ 0.
        weight_decay: f32,
    },
    /// `v ← αv + (1−α)g²`; `w ← w − lr·g / (√v + ε)`.
    RmsProp {
        /// Learning rate.
        lr: f32,
        /// Smoothing α in `[0, 1)`.
        alpha: f32,
        /// ε > 0 added to the denominator.
        eps: f32,
        /// L2 weight decay λ ≥ 0.
        weight_decay: f32,
    },
}

impl Optimizer {
    /// Plain SGD with learning rate `lr`.
    pub const fn sgd(lr: f32) -> Optimizer {
        Optimizer::Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Adam with learning rate `lr` and the usual β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub const fn adam(lr: f32) -> Optimizer {
        Optimizer::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// RMSprop with learning rate `lr`, α = 0.99, ε = 1e-8.
    pub const fn rmsprop(lr: f32) -> Optimizer {
        Optimizer::RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }

    /// `f32` values of state kept per parameter: 0 (plain SGD), 1 (momentum, RMSprop), 2 (Adam).
    pub const fn state_slots(&self) -> usize {
        match self {
            Optimizer::Sgd { momentum, .. } => {
                if *momentum == 0.0 {
                    0
                } else {
                    1
                }
            }
            Optimizer::Adam { .. } => 2,
            Optimizer::RmsProp { .. } => 1,
        }
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f32 {
        match *self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::RmsProp { lr, .. } => lr,
        }
    }

    /// The same optimizer with learning rate `lr` (for schedules).
    pub fn with_learning_rate(mut self, new: f32) -> Optimizer {
        match &mut self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::RmsProp { lr, .. } => *lr = new,
        }
        self
    }

    /// `Err(InvalidParameter)` unless every hyper-parameter is finite and in range.
    pub fn validate(&self) -> Result<()> {
        let unit = |x: f32| (0.0..1.0).contains(&x);
        let ok = match *self {
            Optimizer::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
            } => {
                lr.is_finite()
                    && lr >= 0.0
                    && unit(momentum)
                    && weight_decay >= 0.0
                    && weight_decay.is_finite()
                    && (!nesterov || momentum > 0.0)
            }
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                lr.is_finite()
                    && lr >= 0.0
                    && unit(beta1)
                    && unit(beta2)
                    && eps > 0.0
                    && eps.is_finite()
                    && weight_decay >= 0.0
                    && weight_decay.is_finite()
            }
            Optimizer::RmsProp {
                lr,
                alpha,
                eps,
                weight_decay,
            } => {
                lr.is_finite()
                    && lr >= 0.0
                    && unit(alpha)
                    && eps > 0.0
                    && eps.is_finite()
                    && weight_decay >= 0.0
                    && weight_decay.is_finite()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidParameter {
                name: "optimizer hyper-parameter out of range",
            })
        }
    }

    /// Applies update number `step` (1 for the first; Adam's bias correction uses it) to
    /// `params` given `grads` (same length), with `state` holding
    /// `state_slots() × params.len()` values (zero before the first step). Errors:
    /// `ShapeMismatch` for inconsistent lengths, `InvalidParameter` for bad hyper-parameters
    /// or `step == 0`.
    pub fn update(
        &self,
        params: &mut [f32],
        grads: &[f32],
        state: &mut [f32],
        step: u64,
    ) -> Result<()> {
        self.validate()?;
        let n = params.len();
        ensure_len(n, grads.len())?;
        ensure_len(self.state_slots() * n, state.len())?;
        if step == 0 {
            return Err(Error::InvalidParameter {
                name: "optimizer step counts from 1",
            });
        }
        match *self {
            Optimizer::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
            } => {
                if momentum == 0.0 {
                    for (w, &g) in params.iter_mut().zip(grads) {
                        *w -= lr * (g + weight_decay * *w);
                    }
                } else {
                    for ((w, &g), v) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
                        let g = g + weight_decay * *w;
                        *v = momentum * *v + g;
                        let direction = if nesterov { g + momentum * *v } else { *v };
                        *w -= lr * direction;
                    }
                }
            }
            Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
            } => {
                let t = step as f64;
                let c1 = (1.0 / (1.0 - libm::pow(f64::from(beta1), t))) as f32;
                let c2 = (1.0 / (1.0 - libm::pow(f64::from(beta2), t))) as f32;
                let (ms, vs) = state.split_at_mut(n);
                for (((w, &g), m), v) in params.iter_mut().zip(grads).zip(ms).zip(vs) {
                    let g = g + weight_decay * *w;
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *v = beta2 * *v + (1.0 - beta2) * g * g;
                    *w -= lr * (*m * c1) / (libm::sqrtf(*v * c2) + eps);
                }
            }
            Optimizer::RmsProp {
                lr,
                alpha,
                eps,
                weight_decay,
            } => {
                for ((w, &g), v) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
                    let g = g + weight_decay * *w;
                    *v = alpha * *v + (1.0 - alpha) * g * g;
                    *w -= lr * g / (libm::sqrtf(*v) + eps);
                }
            }
        }
        Ok(())
    }
}

/// Scales `grads` so their Euclidean norm is at most `max_norm` (unchanged when already
/// within); returns the norm before clipping. `Err(InvalidParameter)` unless `max_norm` is
/// positive and finite.
pub fn clip_by_global_norm(grads: &mut [f32], max_norm: f32) -> Result<f32> {
    if !(max_norm > 0.0 && max_norm.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "max_norm must be positive and finite",
        });
    }
    let norm = global_norm(grads);
    if norm > max_norm {
        let factor = max_norm / norm;
        for g in grads.iter_mut() {
            *g *= factor;
        }
    }
    Ok(norm)
}

/// Euclidean norm of `values` (squares accumulated in f64; NaN or infinite exactly when some
/// value is).
pub fn global_norm(values: &[f32]) -> f32 {
    crate::nn::finite::norm(values)
}
