//! General matrix multiply, C ← α·A·B + β·C, for f32 and for f16/bf16 storage with f32
//! accumulation.
//!
//! A is an m×k [`TensorView`], B a k×n view and C an m×n [`TensorViewMut`]; any strides are
//! accepted, so `a.t()?` passes Aᵀ (the transposed-operand products backprop needs) without a
//! copy. β = 0 overwrites C, ignoring whatever (even NaN) it held.
//!
//! Layout of the fast path, after BLIS: `blocked` is the one loop nest (blocks of
//! `KC`×`NC` of B and `MC`×`KC` of A are packed into contiguous panels on the stack by
//! `pack`), and a register-blocked microkernel per [`Isa`] computes each MR×NR tile:
//! `portable` in plain Rust that LLVM vectorizes for any target, `x86` with AVX2+FMA and
//! AVX-512 intrinsics behind `#[target_feature]`, `neon` with aarch64 NEON intrinsics.

mod blocked;
#[cfg(target_arch = "aarch64")]
mod neon;
mod pack;
mod portable;
mod reference;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::error::Result;
use crate::kernels::isa::{Dispatch, Isa};
use crate::scalar::BulkConvert;
use crate::tensor::{TensorView, TensorViewMut};

pub use portable::PORTABLE_SCRATCH_BYTES;
pub use reference::{gemm_mixed_reference, gemm_reference};

/// A matrix operand checked against the product's shapes: element (i, j) is at
/// `i * row_stride + j * col_stride` of `data`, and every such index is in bounds.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a, T> Operand<'a, T> {
    fn from_view(view: TensorView<'a, T>) -> Result<Self> {
        let (rows, cols) = view.shape().as_matrix()?;
        let strides = view.strides();
        Ok(Operand {
            data: view.data(),
            rows,
            cols,
            row_stride: strides.first().copied().unwrap_or(0),
            col_stride: strides.get(1).copied().unwrap_or(0),
        })
    }
}

/// The output operand: element (i, j) at `i * row_stride + j * col_stride`, all in bounds.
pub(crate) struct Output<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

/// Checks the shapes of A (m×k), B (k×n) and C (m×n) and returns the three operands.
fn operands<'a, 'b, 'c, S>(
    a: TensorView<'a, S>,
    b: TensorView<'b, S>,
    c: TensorViewMut<'c, f32>,
) -> Result<(Operand<'a, S>, Operand<'b, S>, Output<'c>)> {
    let a = Operand::from_view(a)?;
    let b = Operand::from_view(b)?;
    let (rows, cols) = c.shape().as_matrix()?;
    crate::error::ensure_len(a.cols, b.rows)?;
    crate::error::ensure_len(a.rows, rows)?;
    crate::error::ensure_len(b.cols, cols)?;
    let strides = c.strides();
    let (row_stride, col_stride) = (
        strides.first().copied().unwrap_or(0),
        strides.get(1).copied().unwrap_or(0),
    );
    Ok((
        a,
        b,
        Output {
            data: c.into_data(),
            rows,
            cols,
            row_stride,
            col_stride,
        },
    ))
}

/// C ← α·A·B + β·C with f32 operands: A m×k, B k×n, C m×n (any strides). Cache-blocked and
/// packed, with the microkernel of `dispatch.isa()`.
///
/// Errors: an operand that is not rank 2 ([`Error::WrongRank`](crate::Error::WrongRank)),
/// inner or outer dimensions that disagree ([`Error::ShapeMismatch`](crate::Error::ShapeMismatch)).
/// Sizes too large for `usize` are refused when the views are built
/// ([`Error::SizeOverflow`](crate::Error::SizeOverflow)), so every index here stays in range.
/// m, n or k may be 0 (k = 0 leaves C ← β·C).
pub fn gemm(
    dispatch: Dispatch,
    alpha: f32,
    a: TensorView<'_, f32>,
    b: TensorView<'_, f32>,
    beta: f32,
    c: TensorViewMut<'_, f32>,
) -> Result<()> {
    gemm_mixed(dispatch, alpha, a, b, beta, c)
}

/// C ← α·A·B + β·C with A (m×k) and B (k×n) stored as `S` (f32, `half::f16`, `half::bf16`)
/// and converted to f32 while packing, so every product and sum is f32; C is f32 m×n.
///
/// Errors as [`gemm`].
pub fn gemm_mixed<S: BulkConvert>(
    dispatch: Dispatch,
    alpha: f32,
    a: TensorView<'_, S>,
    b: TensorView<'_, S>,
    beta: f32,
    c: TensorViewMut<'_, f32>,
) -> Result<()> {
    let (a, b, mut c) = operands(a, b, c)?;
    match dispatch.isa() {
        Isa::Portable => portable::gemm(alpha, &a, &b, beta, &mut c),
        // SAFETY: a Dispatch for these variants certifies the CPU has their features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { x86::gemm_avx2(dispatch, alpha, &a, &b, beta, &mut c) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { x86::gemm_avx512(dispatch, alpha, &a, &b, beta, &mut c) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::gemm_neon(dispatch, alpha, &a, &b, beta, &mut c) },
    }
    Ok(())
}
