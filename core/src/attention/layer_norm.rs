//! Layer normalisation over the last dimension, y = (x − μ)/√(σ² + ε) ⊙ γ + β per row, and its
//! backward pass (μ and σ recomputed from x, nothing cached).

use crate::error::{ensure_len, Error, Result};
use crate::math::{Exact, Math};

/// ε added to the variance.
pub const LAYER_NORM_EPS: f32 = 1e-5;

/// Mean and 1/√(var + ε) of one row.
fn row_stats(row: &[f32]) -> (f32, f32) {
    let n = row.len().max(1) as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, 1.0 / Exact::sqrt(var + LAYER_NORM_EPS))
}

/// Checks that `x` is whole rows of width `gamma.len() == beta.len()`, and that `other` is
/// as long as `x`.
fn check(x: &[f32], gamma: &[f32], beta_len: usize, other: usize) -> Result<usize> {
    let width = gamma.len();
    if width == 0 || x.is_empty() {
        return Err(Error::Empty);
    }
    ensure_len(width, beta_len)?;
    ensure_len(x.len(), other)?;
    ensure_len(0, x.len() % width)?;
    Ok(width)
}

/// y ← layer-norm of each row of `x` (rows × d, row-major, d = `gamma.len()`), scaled by
/// `gamma` and shifted by `beta`. Errors: `Empty`, `ShapeMismatch` (lengths that are not whole
/// rows or disagree).
pub fn layer_norm(x: &[f32], gamma: &[f32], beta: &[f32], y: &mut [f32]) -> Result<()> {
    let width = check(x, gamma, beta.len(), y.len())?;
    for (row, out) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        let (mean, inv_std) = row_stats(row);
        for (((o, &v), &g), &b) in out.iter_mut().zip(row).zip(gamma).zip(beta) {
            *o = (v - mean) * inv_std * g + b;
        }
    }
    Ok(())
}

/// Backward of [`layer_norm`] given dy = ∂loss/∂y: dx (as x) is overwritten with
/// r·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) where x̂ = (x − μ)·r, r = 1/√(σ² + ε), ĝ = dy ⊙ γ;
/// `d_gamma` ← Σ_rows dy ⊙ x̂ and `d_beta` ← Σ_rows dy (both overwritten, length d).
/// Errors as [`layer_norm`].
pub fn layer_norm_backward(
    x: &[f32],
    gamma: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    d_gamma: &mut [f32],
    d_beta: &mut [f32],
) -> Result<()> {
    let width = check(x, gamma, d_gamma.len(), dy.len())?;
    ensure_len(width, d_beta.len())?;
    ensure_len(x.len(), dx.len())?;
    d_gamma.fill(0.0);
    d_beta.fill(0.0);
    let n = width as f32;
    for ((row, dy_row), dx_row) in x
        .chunks_exact(width)
        .zip(dy.chunks_exact(width))
        .zip(dx.chunks_exact_mut(width))
    {
        let (mean, inv_std) = row_stats(row);
        let (mut mean_g, mut mean_gx) = (0.0f32, 0.0f32);
        for (((&v, &d), &g), (dg, db)) in row
            .iter()
            .zip(dy_row)
            .zip(gamma)
            .zip(d_gamma.iter_mut().zip(d_beta.iter_mut()))
        {
            let x_hat = (v - mean) * inv_std;
            *dg += d * x_hat;
            *db += d;
            mean_g += d * g;
            mean_gx += d * g * x_hat;
        }
        mean_g /= n;
        mean_gx /= n;
        for (((o, &v), &d), &g) in dx_row.iter_mut().zip(row).zip(dy_row).zip(gamma) {
            let x_hat = (v - mean) * inv_std;
            *o = inv_std * (d * g - mean_g - x_hat * mean_gx);
        }
    }
    Ok(())
}
