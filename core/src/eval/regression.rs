//! Regression metrics over equal-length, finite, non-empty `truth` / `predicted` slices,
//! computed in f64.

use crate::error::{ensure_finite, Error, Result};

fn check(truth: &[f32], predicted: &[f32]) -> Result<()> {
    if truth.len() != predicted.len() {
        return Err(Error::ShapeMismatch {
            expected: truth.len(),
            found: predicted.len(),
        });
    }
    if truth.is_empty() {
        return Err(Error::Empty);
    }
    ensure_finite(truth)?;
    ensure_finite(predicted)
}

fn square(x: f64) -> f64 {
    x * x
}

fn mean_of(truth: &[f32], predicted: &[f32], f: impl Fn(f64) -> f64) -> Result<f64> {
    check(truth, predicted)?;
    let total: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(&t, &p)| f(f64::from(t) - f64::from(p)))
        .sum();
    Ok(total / truth.len() as f64)
}

/// Mean squared error `(1/n) Σ (tᵢ − pᵢ)²`.
pub fn mse(truth: &[f32], predicted: &[f32]) -> Result<f64> {
    mean_of(truth, predicted, square)
}

/// Root mean squared error `√mse`.
pub fn rmse(truth: &[f32], predicted: &[f32]) -> Result<f64> {
    mse(truth, predicted).map(libm::sqrt)
}

/// Mean absolute error `(1/n) Σ |tᵢ − pᵢ|`.
pub fn mae(truth: &[f32], predicted: &[f32]) -> Result<f64> {
    mean_of(truth, predicted, f64::abs)
}

/// Coefficient of determination `1 − Σ (tᵢ − pᵢ)² / Σ (tᵢ − t̄)²`. For constant `truth` (zero
/// denominator) it is 1 when the predictions are exact and 0 otherwise, as scikit-learn.
pub fn r2(truth: &[f32], predicted: &[f32]) -> Result<f64> {
    check(truth, predicted)?;
    let mean = truth.iter().map(|&t| f64::from(t)).sum::<f64>() / truth.len() as f64;
    let residual: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(&t, &p)| square(f64::from(t) - f64::from(p)))
        .sum();
    let total: f64 = truth.iter().map(|&t| square(f64::from(t) - mean)).sum();
    if total == 0.0 {
        Ok(if residual == 0.0 { 1.0 } else { 0.0 })
    } else {
        Ok(1.0 - residual / total)
    }
}
