//! What each row contributes to a histogram bin, and how a node and its split are scored.
//!
//! - [`Classification`]: one channel per class (row counts); Gini or entropy impurity, leaf
//!   value = majority class.
//! - [`Regression`]: channels `[Σy, n, Σy²]`; gain = reduction of the sum of squared errors,
//!   leaf value = mean.
//! - [`Newton`]: channels `[-Σg, Σh, n]`; gain = `T_L²/(H_L+λ) + T_R²/(H_R+λ) - T²/(H+λ)`,
//!   leaf value = `T/(H+λ)` (the second-order step of gradient boosting).

use crate::{Error, Result};

/// Most histogram channels (classes for classification) an objective may use.
pub const MAX_CHANNELS: usize = 64;

/// The statistics a tree is grown on. Each row adds `channels()` values to its bin; `stats`
/// arguments below are such sums (`channels()` values) over a set of rows.
pub trait Objective {
    /// Values each row adds to a bin.
    fn channels(&self) -> usize;
    /// Checks targets against the number of training rows.
    fn check(&self, n_rows: usize) -> Result<()>;
    /// Adds row `row`'s contribution to `out` (`channels()` values).
    fn add_row(&self, row: usize, out: &mut [f64]);
    /// Rows (with multiplicity) summed into `stats`.
    fn count(&self, stats: &[f64]) -> f64;
    /// Hessian (weight) summed into `stats`; equals the count for CART objectives.
    fn hessian(&self, stats: &[f64]) -> f64;
    /// Improvement of splitting `parent` into `left` and `right` (larger is better).
    fn gain(&self, left: &[f64], right: &[f64], parent: &[f64]) -> f64;
    /// Leaf output for a node with `stats`.
    fn leaf_value(&self, stats: &[f64]) -> f32;
    /// True when a CART node is impure, so a split of zero gain is still worth taking;
    /// always false for boosting, whose splits must strictly gain.
    fn impure(&self, stats: &[f64]) -> bool;
}

/// Node impurity used by classification trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impurity {
    /// `1 - Σ p_k²`.
    Gini,
    /// `-Σ p_k ln p_k` (nats).
    Entropy,
}

impl Impurity {
    /// Impurity of class counts `counts`; 0 for an empty node.
    pub fn of(self, counts: &[f64]) -> f64 {
        let n: f64 = counts.iter().sum();
        if n <= 0.0 {
            return 0.0;
        }
        match self {
            Impurity::Gini => 1.0 - counts.iter().map(|c| (c / n) * (c / n)).sum::<f64>(),
            Impurity::Entropy => -counts
                .iter()
                .filter(|&&c| c > 0.0)
                .map(|c| (c / n) * libm::log(c / n))
                .sum::<f64>(),
        }
    }
}

/// Classification by class counts: `labels[i] < n_classes`.
#[derive(Clone, Copy, Debug)]
pub struct Classification<'a> {
    /// Class of each training row.
    pub labels: &'a [u32],
    /// Number of classes (`1..=MAX_CHANNELS`).
    pub n_classes: usize,
    /// Gini or entropy.
    pub impurity: Impurity,
}

impl Objective for Classification<'_> {
    fn channels(&self) -> usize {
        self.n_classes
    }

    fn check(&self, n_rows: usize) -> Result<()> {
        if self.n_classes == 0 || self.n_classes > MAX_CHANNELS {
            return Err(Error::InvalidParameter {
                name: "n_classes must be in 1..=64",
            });
        }
        crate::error::ensure_len(n_rows, self.labels.len())?;
        if self.labels.iter().any(|&l| l as usize >= self.n_classes) {
            return Err(Error::InvalidParameter {
                name: "label >= n_classes",
            });
        }
        Ok(())
    }

    #[inline]
    fn add_row(&self, row: usize, out: &mut [f64]) {
        if let Some(slot) = self.labels.get(row).and_then(|&l| out.get_mut(l as usize)) {
            *slot += 1.0;
        }
    }

    fn count(&self, stats: &[f64]) -> f64 {
        stats.iter().sum()
    }

    fn hessian(&self, stats: &[f64]) -> f64 {
        self.count(stats)
    }

    /// `n·I(parent) - n_L·I(left) - n_R·I(right)`: `n` times the drop from the parent's
    /// impurity to the children's weighted impurity.
    fn gain(&self, left: &[f64], right: &[f64], parent: &[f64]) -> f64 {
        let weighted = |s: &[f64]| self.count(s) * self.impurity.of(s);
        weighted(parent) - weighted(left) - weighted(right)
    }

    fn leaf_value(&self, stats: &[f64]) -> f32 {
        let mut best = 0usize;
        for (k, &c) in stats.iter().enumerate() {
            if c > stats.get(best).copied().unwrap_or(0.0) {
                best = k;
            }
        }
        best as f32
    }

    fn impure(&self, stats: &[f64]) -> bool {
        stats.iter().filter(|&&c| c > 0.0).count() > 1
    }
}

/// Regression on `targets` by variance (sum of squared errors) reduction.
#[derive(Clone, Copy, Debug)]
pub struct Regression<'a> {
    /// Target of each training row (finite).
    pub targets: &'a [f32],
}

impl Objective for Regression<'_> {
    fn channels(&self) -> usize {
        3
    }

    fn check(&self, n_rows: usize) -> Result<()> {
        crate::error::ensure_len(n_rows, self.targets.len())?;
        crate::error::ensure_finite(self.targets)
    }

    #[inline]
    fn add_row(&self, row: usize, out: &mut [f64]) {
        if let (Some(&y), [s, n, s2, ..]) = (self.targets.get(row), out) {
            let y = f64::from(y);
            *s += y;
            *n += 1.0;
            *s2 += y * y;
        }
    }

    fn count(&self, stats: &[f64]) -> f64 {
        stats.get(1).copied().unwrap_or(0.0)
    }

    fn hessian(&self, stats: &[f64]) -> f64 {
        self.count(stats)
    }

    /// `S_L²/n_L + S_R²/n_R - S²/n`: the drop in the sum of squared errors.
    fn gain(&self, left: &[f64], right: &[f64], parent: &[f64]) -> f64 {
        let term = |s: &[f64]| match s {
            [sum, n, ..] if *n > 0.0 => sum * sum / n,
            _ => 0.0,
        };
        term(left) + term(right) - term(parent)
    }

    fn leaf_value(&self, stats: &[f64]) -> f32 {
        match stats {
            [sum, n, ..] if *n > 0.0 => (sum / n) as f32,
            _ => 0.0,
        }
    }

    fn impure(&self, stats: &[f64]) -> bool {
        match stats {
            [sum, n, s2, ..] if *n > 0.0 => s2 - sum * sum / n > 1e-12 * s2,
            _ => false,
        }
    }
}

/// Second-order boosting statistics: row `i` contributes `grad[i * stride + offset]` and
/// `hess[i * stride + offset]` (the stride picks one class of a softmax model).
#[derive(Clone, Copy, Debug)]
pub struct Newton<'a> {
    /// First derivatives of the loss per row (and class).
    pub grad: &'a [f32],
    /// Second derivatives of the loss per row (and class), non-negative.
    pub hess: &'a [f32],
    /// Values per row in `grad` / `hess` (1, or the number of classes).
    pub stride: usize,
    /// Which of the `stride` values this tree fits.
    pub offset: usize,
    /// L2 penalty on leaf values (`λ ≥ 0`).
    pub lambda: f64,
}

impl Newton<'_> {
    fn term(&self, s: &[f64]) -> f64 {
        match s {
            [t, h, ..] if h + self.lambda > 0.0 => t * t / (h + self.lambda),
            _ => 0.0,
        }
    }
}

impl Objective for Newton<'_> {
    fn channels(&self) -> usize {
        3
    }

    fn check(&self, n_rows: usize) -> Result<()> {
        if self.stride == 0 || self.offset >= self.stride {
            return Err(Error::InvalidParameter {
                name: "Newton offset must be below a non-zero stride",
            });
        }
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "lambda must be finite and >= 0",
            });
        }
        let len = n_rows.checked_mul(self.stride).ok_or(Error::SizeOverflow)?;
        crate::error::ensure_len(len, self.grad.len())?;
        crate::error::ensure_len(len, self.hess.len())?;
        crate::error::ensure_finite(self.grad)?;
        crate::error::ensure_finite(self.hess)?;
        if self.hess.iter().any(|&h| h < 0.0) {
            return Err(Error::InvalidParameter {
                name: "hessians must be >= 0",
            });
        }
        Ok(())
    }

    #[inline]
    fn add_row(&self, row: usize, out: &mut [f64]) {
        let i = row * self.stride + self.offset;
        if let (Some(&g), Some(&h), [t, hs, n, ..]) = (self.grad.get(i), self.hess.get(i), out) {
            *t -= f64::from(g);
            *hs += f64::from(h);
            *n += 1.0;
        }
    }

    fn count(&self, stats: &[f64]) -> f64 {
        stats.get(2).copied().unwrap_or(0.0)
    }

    fn hessian(&self, stats: &[f64]) -> f64 {
        stats.get(1).copied().unwrap_or(0.0)
    }

    fn gain(&self, left: &[f64], right: &[f64], parent: &[f64]) -> f64 {
        self.term(left) + self.term(right) - self.term(parent)
    }

    fn leaf_value(&self, stats: &[f64]) -> f32 {
        match stats {
            [t, h, ..] if h + self.lambda > 0.0 => (t / (h + self.lambda)) as f32,
            _ => 0.0,
        }
    }

    fn impure(&self, _stats: &[f64]) -> bool {
        false
    }
}
