//! Boosting losses: their per-row values, gradients and hessians at the current scores, the
//! prior they start from, and target validation.
//!
//! Score `s`, target `y`: squared `(s-y)²` (g = s-y, h = 1); absolute `|s-y|` (g = sign(s-y),
//! h = 1); logistic on `y ∈ {0,1}` (g = p-y, h = p(1-p)); softmax on class indices
//! (g_k = p_k - [y=k], h_k = p_k(1-p_k)).

use super::objective::MAX_CHANNELS;
use crate::{Error, Result};

/// Smallest hessian a row contributes (keeps saturated logistic rows from dividing by zero).
const MIN_HESSIAN: f32 = 1e-16;

/// The loss boosting minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Squared error on real targets.
    Squared,
    /// Absolute error on real targets (leaves refit to median residuals).
    Absolute,
    /// Binary log-loss on targets 0 or 1.
    Logistic,
    /// Multiclass log-loss on class indices `0..n_classes` stored as f32.
    Softmax {
        /// Number of classes (2..=64).
        n_classes: usize,
    },
}

impl Loss {
    /// Scores per row: the number of classes for softmax, else 1.
    pub fn outputs(self) -> usize {
        match self {
            Loss::Softmax { n_classes } => n_classes,
            _ => 1,
        }
    }

    /// Loss of one row with target `y` and scores `s` (`outputs()` values): `(s-y)²`,
    /// `|s-y|`, `ln(1+e^s) - y·s`, or `ln Σ e^{s_k} - s_y`.
    pub fn value(self, y: f32, s: &[f64]) -> f64 {
        let first = s.first().copied().unwrap_or(0.0);
        let y64 = f64::from(y);
        match self {
            Loss::Squared => (first - y64) * (first - y64),
            Loss::Absolute => libm::fabs(first - y64),
            Loss::Logistic => {
                first.max(0.0) + libm::log1p(libm::exp(-libm::fabs(first))) - y64 * first
            }
            Loss::Softmax { .. } => {
                let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = s.iter().map(|v| libm::exp(v - max)).sum();
                max + libm::log(sum) - s.get(y as usize).copied().unwrap_or(0.0)
            }
        }
    }
}

/// Checks that `targets` are finite and fit `loss` (0/1, or class indices).
pub(super) fn check_targets(loss: Loss, targets: &[f32]) -> Result<()> {
    crate::error::ensure_finite(targets)?;
    let ok = match loss {
        Loss::Squared | Loss::Absolute => true,
        Loss::Logistic => targets.iter().all(|&y| y == 0.0 || y == 1.0),
        Loss::Softmax { n_classes } => targets
            .iter()
            .all(|&y| y >= 0.0 && y == libm::floorf(y) && (y as usize) < n_classes),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "targets do not fit the loss",
        })
    }
}

/// Median of `values` (reordered); 0 when empty.
pub(super) fn median(values: &mut [f32]) -> f32 {
    let len = values.len();
    let mid = len / 2;
    if len == 0 {
        return 0.0;
    }
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = *upper;
    if len % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        ((f64::from(below) + f64::from(upper)) / 2.0) as f32
    }
}

/// Starting scores of `loss` for `targets` into `base`: mean, median (via `scratch`, `n`
/// values), log-odds or log class frequencies.
pub(super) fn prior(loss: Loss, targets: &[f32], scratch: &mut [f32], base: &mut [f32]) {
    let n = targets.len().max(1) as f64;
    let mean = targets.iter().map(|&y| f64::from(y)).sum::<f64>() / n;
    match loss {
        Loss::Squared => base.fill(mean as f32),
        Loss::Absolute => {
            for (s, &y) in scratch.iter_mut().zip(targets) {
                *s = y;
            }
            let m = median(scratch.get_mut(..targets.len()).unwrap_or(&mut []));
            base.fill(m);
        }
        Loss::Logistic => {
            let p = mean.clamp(1e-6, 1.0 - 1e-6);
            base.fill(libm::log(p / (1.0 - p)) as f32);
        }
        Loss::Softmax { .. } => {
            for (k, b) in base.iter_mut().enumerate() {
                let count = targets.iter().filter(|&&y| y as usize == k).count() as f64;
                *b = libm::log((count / n).max(1e-6)) as f32;
            }
        }
    }
}

/// Gradients and hessians of `loss` at `scores` (`k` per row) into `grad` and `hess`.
pub(super) fn gradients(
    loss: Loss,
    targets: &[f32],
    scores: &[f64],
    grad: &mut [f32],
    hess: &mut [f32],
) {
    let k = loss.outputs();
    let rows = scores
        .chunks_exact(k)
        .zip(grad.chunks_exact_mut(k).zip(hess.chunks_exact_mut(k)));
    for (&y, (s, (g, h))) in targets.iter().zip(rows) {
        let first = s.first().copied().unwrap_or(0.0);
        let residual = first - f64::from(y);
        match loss {
            Loss::Squared => {
                g.fill(residual as f32);
                h.fill(1.0);
            }
            Loss::Absolute => {
                let sign = if residual > 0.0 {
                    1.0
                } else if residual < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                g.fill(sign);
                h.fill(1.0);
            }
            Loss::Logistic => {
                let p = 1.0 / (1.0 + libm::exp(-first));
                g.fill((p - f64::from(y)) as f32);
                h.fill(((p * (1.0 - p)) as f32).max(MIN_HESSIAN));
            }
            Loss::Softmax { .. } => {
                let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut exp = [0.0f64; MAX_CHANNELS];
                let mut sum = 0.0;
                for (e, &v) in exp.iter_mut().zip(s) {
                    *e = libm::exp(v - max);
                    sum += *e;
                }
                for (c, ((gc, hc), e)) in g.iter_mut().zip(h.iter_mut()).zip(exp).enumerate() {
                    let p = e / sum;
                    let target = if y as usize == c { 1.0 } else { 0.0 };
                    *gc = (p - target) as f32;
                    *hc = ((p * (1.0 - p)) as f32).max(MIN_HESSIAN);
                }
            }
        }
    }
}
