//! The definition the tests trust: a plain triple loop with f32 accumulation.

use super::{operands, Operand, Output};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::{TensorView, TensorViewMut};

/// C ← α·A·B + β·C by the textbook triple loop (A m×k, B k×n, C m×n, any strides); each
/// C element is one f32 sum over k in order. β = 0 overwrites C.
pub fn gemm_reference(
    alpha: f32,
    a: TensorView<'_, f32>,
    b: TensorView<'_, f32>,
    beta: f32,
    c: TensorViewMut<'_, f32>,
) -> Result<()> {
    gemm_mixed_reference(alpha, a, b, beta, c)
}

/// [`gemm_reference`] with A and B stored as `S` (f32, f16, bf16), each element widened to f32
/// before it is multiplied.
pub fn gemm_mixed_reference<S: Scalar>(
    alpha: f32,
    a: TensorView<'_, S>,
    b: TensorView<'_, S>,
    beta: f32,
    c: TensorViewMut<'_, f32>,
) -> Result<()> {
    let (a, b, c) = operands(a, b, c)?;
    triple_loop(alpha, &a, &b, beta, c);
    Ok(())
}

fn element<S: Scalar>(m: &Operand<'_, S>, i: usize, j: usize) -> f32 {
    m.data
        .get(i * m.row_stride + j * m.col_stride)
        .map_or(0.0, |v| v.to_f32())
}

fn triple_loop<S: Scalar>(
    alpha: f32,
    a: &Operand<'_, S>,
    b: &Operand<'_, S>,
    beta: f32,
    c: Output<'_>,
) {
    for i in 0..c.rows {
        for j in 0..c.cols {
            let mut sum = 0.0f32;
            for p in 0..a.cols {
                sum += element(a, i, p) * element(b, p, j);
            }
            if let Some(out) = c.data.get_mut(i * c.row_stride + j * c.col_stride) {
                *out = if beta == 0.0 {
                    alpha * sum
                } else {
                    alpha * sum + beta * *out
                };
            }
        }
    }
}
