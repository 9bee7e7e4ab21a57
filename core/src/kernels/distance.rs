//! Squared Euclidean distances: between two vectors, and between every query row and every
//! point row (the k-NN inner loop).

use super::lanes::squared_distance_lanes;
use crate::error::{ensure_len, Result};
use crate::tensor::{TensorView, TensorViewMut};

/// Σ (aᵢ − bᵢ)² left to right: the reference. `Err(ShapeMismatch)` on unequal lengths.
pub fn squared_l2_reference(a: &[f32], b: &[f32]) -> Result<f32> {
    ensure_len(a.len(), b.len())?;
    Ok(a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum())
}

/// Σ (aᵢ − bᵢ)² in 32 lanes (the direct difference form, which cannot cancel the way
/// ‖a‖² + ‖b‖² − 2a·b does). `Err(ShapeMismatch)` on unequal lengths.
pub fn squared_l2(a: &[f32], b: &[f32]) -> Result<f32> {
    ensure_len(a.len(), b.len())?;
    Ok(squared_distance_lanes(a, b))
}

/// `out[i][j]` = ‖queryᵢ − pointⱼ‖² for queries m×d, points n×d and out m×n, by
/// [`squared_l2_reference`] per pair.
pub fn squared_l2_rows_reference(
    queries: TensorView<'_, f32>,
    points: TensorView<'_, f32>,
    out: TensorViewMut<'_, f32>,
) -> Result<()> {
    rows_with(queries, points, out, squared_l2_reference)
}

/// `out[i][j]` = ‖queryᵢ − pointⱼ‖² for queries m×d, points n×d and out m×n, by
/// [`squared_l2`] per pair. Every view must have unit column stride (rows may be strided).
pub fn squared_l2_rows(
    queries: TensorView<'_, f32>,
    points: TensorView<'_, f32>,
    out: TensorViewMut<'_, f32>,
) -> Result<()> {
    rows_with(queries, points, out, squared_l2)
}

fn rows_with(
    queries: TensorView<'_, f32>,
    points: TensorView<'_, f32>,
    mut out: TensorViewMut<'_, f32>,
    distance: fn(&[f32], &[f32]) -> Result<f32>,
) -> Result<()> {
    let (m, d) = queries.shape().as_matrix()?;
    let (n, point_d) = points.shape().as_matrix()?;
    let (out_m, out_n) = out.shape().as_matrix()?;
    ensure_len(d, point_d)?;
    ensure_len(m, out_m)?;
    ensure_len(n, out_n)?;
    for i in 0..m {
        let query = queries.row(i)?;
        let dst = out.row_mut(i)?;
        for (j, slot) in dst.iter_mut().enumerate() {
            *slot = distance(query, points.row(j)?)?;
        }
    }
    Ok(())
}
