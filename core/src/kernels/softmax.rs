//! Softmax and log-softmax, max-subtracted so no exponent overflows: over one vector, and
//! row by row over a matrix.
//!
//! Inputs may hold −∞ (a masked entry, probability 0) but not NaN or +∞
//! (`Err(NonFinite { index })`), and not only −∞ (`Err(InvalidParameter)`); an empty input is
//! `Err(Empty)`.

use super::lanes::{exp_vectorizable, max_lanes};
use crate::error::{ensure_len, Error, Result};
use crate::math::{Exact, Math};
use crate::tensor::{TensorView, TensorViewMut};

/// Checks the input and returns its maximum (finite).
fn checked_max(x: &[f32], out_len: usize) -> Result<f32> {
    ensure_len(x.len(), out_len)?;
    if x.is_empty() {
        return Err(Error::Empty);
    }
    if let Some(index) = x.iter().position(|v| v.is_nan() || *v == f32::INFINITY) {
        return Err(Error::NonFinite { index });
    }
    let max = max_lanes(x);
    if max == f32::NEG_INFINITY {
        return Err(Error::InvalidParameter {
            name: "softmax input is entirely -inf",
        });
    }
    Ok(max)
}

/// outᵢ = exp(xᵢ − max) / Σⱼ exp(xⱼ − max) with libm's exp, summed left to right: the reference.
pub fn softmax_reference(x: &[f32], out: &mut [f32]) -> Result<()> {
    let max = checked_max(x, out.len())?;
    let mut sum = 0.0f32;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = Exact::exp(v - max);
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
    Ok(())
}

/// outᵢ = (xᵢ − max) − ln Σⱼ exp(xⱼ − max) with libm: the reference. The shift and the log of
/// the sum are subtracted one after the other (never `max + ln sum` first, which rounds away
/// the log-sum once |max| ≫ 1), so the result is exact to a few ulps for any finite input.
pub fn log_softmax_reference(x: &[f32], out: &mut [f32]) -> Result<()> {
    let max = checked_max(x, out.len())?;
    let sum: f32 = x.iter().map(|&v| Exact::exp(v - max)).sum();
    let log_sum = Exact::ln(sum);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - max) - log_sum;
    }
    Ok(())
}

/// Softmax with a branch-free polynomial exp (relative error < 3·2⁻²⁴, subnormal results kept
/// with absolute error < 2⁻¹⁴⁹, not flushed) so every pass vectorizes. Contract as
/// [`softmax_reference`].
pub fn softmax(x: &[f32], out: &mut [f32]) -> Result<()> {
    let max = checked_max(x, out.len())?;
    let sum = exp_shifted(x, max, out);
    let scale = 1.0 / sum;
    for o in out.iter_mut() {
        *o *= scale;
    }
    Ok(())
}

/// Log-softmax with the vectorizable exp for the sum; shift and log-sum subtracted separately.
/// Contract as [`log_softmax_reference`].
pub fn log_softmax(x: &[f32], out: &mut [f32]) -> Result<()> {
    let max = checked_max(x, out.len())?;
    let sum = exp_shifted(x, max, out);
    let log_sum = Exact::ln(sum);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - max) - log_sum;
    }
    Ok(())
}

/// outᵢ = exp(xᵢ − max); returns Σ outᵢ (eight partial sums).
fn exp_shifted(x: &[f32], max: f32, out: &mut [f32]) -> f32 {
    let mut partial = [0.0f32; 8];
    let mut outs = out.chunks_exact_mut(8);
    let mut xs = x.chunks_exact(8);
    for (oc, xc) in (&mut outs).zip(&mut xs) {
        for ((o, &v), p) in oc.iter_mut().zip(xc).zip(partial.iter_mut()) {
            *o = exp_vectorizable(v - max);
            *p += *o;
        }
    }
    let mut tail = 0.0f32;
    for (o, &v) in outs.into_remainder().iter_mut().zip(xs.remainder()) {
        *o = exp_vectorizable(v - max);
        tail += *o;
    }
    partial.iter().sum::<f32>() + tail
}

/// [`softmax`] applied to each row of an m×n matrix into an m×n output. Rows must have unit
/// column stride; a bad row stops with its error.
pub fn softmax_rows(x: TensorView<'_, f32>, out: TensorViewMut<'_, f32>) -> Result<()> {
    rows_with(x, out, softmax)
}

/// [`log_softmax`] applied to each row of an m×n matrix into an m×n output.
pub fn log_softmax_rows(x: TensorView<'_, f32>, out: TensorViewMut<'_, f32>) -> Result<()> {
    rows_with(x, out, log_softmax)
}

fn rows_with(
    x: TensorView<'_, f32>,
    mut out: TensorViewMut<'_, f32>,
    kernel: fn(&[f32], &mut [f32]) -> Result<()>,
) -> Result<()> {
    let (rows, cols) = x.shape().as_matrix()?;
    let (out_rows, out_cols) = out.shape().as_matrix()?;
    ensure_len(rows, out_rows)?;
    ensure_len(cols, out_cols)?;
    for i in 0..rows {
        kernel(x.row(i)?, out.row_mut(i)?)?;
    }
    Ok(())
}
