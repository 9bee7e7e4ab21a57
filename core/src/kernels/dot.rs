//! Dot product Σ aᵢ·bᵢ of two equal-length vectors.

use super::isa::{Dispatch, Isa};
use super::lanes::dot_lanes;
use crate::error::{ensure_len, Result};
use crate::scalar::BulkConvert;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "x86_64")]
mod x86;

/// Σ aᵢ·bᵢ summed left to right in f32: the reference. `Err(ShapeMismatch)` on unequal lengths.
pub fn dot_reference(a: &[f32], b: &[f32]) -> Result<f32> {
    ensure_len(a.len(), b.len())?;
    Ok(a.iter().zip(b).map(|(x, y)| x * y).sum())
}

/// Σ aᵢ·bᵢ in 32 independent lanes (vectorized by LLVM for the compile target).
/// `Err(ShapeMismatch)` on unequal lengths.
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32> {
    ensure_len(a.len(), b.len())?;
    Ok(dot_lanes(a, b))
}

/// Σ aᵢ·bᵢ by the variant `dispatch` selects: [`dot`] for portable, explicit FMA intrinsics
/// (four vector accumulators) for AVX2+FMA and AVX-512, NEON `fmla` (eight accumulators) on
/// aarch64. `Err(ShapeMismatch)` on unequal lengths.
pub fn dot_dispatch(dispatch: Dispatch, a: &[f32], b: &[f32]) -> Result<f32> {
    ensure_len(a.len(), b.len())?;
    Ok(match dispatch.isa() {
        Isa::Portable => dot_lanes(a, b),
        // SAFETY: the Dispatch token certifies the CPU features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { x86::dot_avx2(a, b) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { x86::dot_avx512(a, b) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => unsafe { neon::dot_neon(a, b) },
    })
}

/// Σ aᵢ·bᵢ with `S` storage (f32, f16, bf16): blocks widened to f32 with the conversion
/// `dispatch` vouches for (F16C for f16 on x86), then summed by [`dot_dispatch`]'s kernel;
/// products and sums in f32. `Err(ShapeMismatch)` on unequal lengths.
pub fn dot_mixed<S: BulkConvert>(dispatch: Dispatch, a: &[S], b: &[S]) -> Result<f32> {
    ensure_len(a.len(), b.len())?;
    const BLOCK: usize = 256;
    let mut wide_a = [0.0f32; BLOCK];
    let mut wide_b = [0.0f32; BLOCK];
    let mut total = 0.0f32;
    for (x, y) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let (wide_a, wide_b) = (&mut wide_a[..x.len()], &mut wide_b[..y.len()]);
        S::widen_slice_with(dispatch, x, wide_a);
        S::widen_slice_with(dispatch, y, wide_b);
        total += dot_dispatch(dispatch, wide_a, wide_b)?;
    }
    Ok(total)
}
