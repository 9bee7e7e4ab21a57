//! Storage types: [`Scalar`] is implemented by `f32`, [`half::f16`] and [`half::bf16`]. Values
//! are stored in the type and computed in `f32`; bulk conversions between `f32` slices and
//! storage slices are [`to_f32_slice`] and [`from_f32_slice`].

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::error::{ensure_len, Result};
use crate::kernels::isa::{Dispatch, Isa};

/// A storage element type whose arithmetic is done in `f32`.
pub trait Scalar: Copy + Default + PartialEq + core::fmt::Debug + Send + Sync + 'static {
    /// Short name for reports: `"f32"`, `"f16"`, `"bf16"`.
    const NAME: &'static str;
    /// Unit roundoff `u`: for a finite `x` in the normal range, `|round(x) - x| ≤ u·|x|`
    /// (2⁻²⁴ for f32, 2⁻¹¹ for f16, 2⁻⁸ for bf16).
    const UNIT_ROUNDOFF: f32;
    /// Smallest positive normal value; below it the relative bound becomes an absolute one of
    /// half the smallest subnormal step.
    const MIN_POSITIVE_NORMAL: f32;
    /// Largest finite value; `f32` inputs beyond it (after rounding) become infinity.
    const MAX: f32;

    /// Widens to `f32` exactly.
    fn to_f32(self) -> f32;
    /// Rounds an `f32` to the nearest representable value (ties to even).
    fn from_f32(value: f32) -> Self;
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    const UNIT_ROUNDOFF: f32 = f32::EPSILON / 2.0;
    const MIN_POSITIVE_NORMAL: f32 = f32::MIN_POSITIVE;
    const MAX: f32 = f32::MAX;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        value
    }
}

impl Scalar for f16 {
    const NAME: &'static str = "f16";
    const UNIT_ROUNDOFF: f32 = 1.0 / 2048.0;
    const MIN_POSITIVE_NORMAL: f32 = 6.103_515_6e-5;
    const MAX: f32 = 65504.0;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }

    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        f16::from_f32(value)
    }
}

impl Scalar for bf16 {
    const NAME: &'static str = "bf16";
    const UNIT_ROUNDOFF: f32 = 1.0 / 256.0;
    const MIN_POSITIVE_NORMAL: f32 = f32::MIN_POSITIVE;
    const MAX: f32 = 3.389_531_4e38;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }

    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        bf16::from_f32(value)
    }
}

/// Storage types with a bulk conversion (vectorized by `half` where the target allows).
pub trait BulkConvert: Scalar {
    /// Writes `src[i]` widened to `f32` into `dst[i]`. Lengths must match.
    fn widen_slice(src: &[Self], dst: &mut [f32]);
    /// Writes `src[i]` rounded to `Self` into `dst[i]`. Lengths must match.
    fn narrow_slice(src: &[f32], dst: &mut [Self]);
    /// [`BulkConvert::widen_slice`] with the conversion instructions of `dispatch` where the
    /// type has them (F16C for f16 on x86-64); same results.
    fn widen_slice_with(dispatch: Dispatch, src: &[Self], dst: &mut [f32]) {
        let _ = dispatch;
        Self::widen_slice(src, dst);
    }
    /// [`BulkConvert::narrow_slice`] with the conversion instructions of `dispatch` where the
    /// type has them (F16C for f16 on x86-64); same results.
    fn narrow_slice_with(dispatch: Dispatch, src: &[f32], dst: &mut [Self]) {
        let _ = dispatch;
        Self::narrow_slice(src, dst);
    }
    /// `src` itself when `Self` is f32 (so kernels can read it without widening), else `None`.
    fn as_f32_slice(src: &[Self]) -> Option<&[f32]> {
        let _ = src;
        None
    }
}

impl BulkConvert for f32 {
    fn widen_slice(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
    fn narrow_slice(src: &[f32], dst: &mut [Self]) {
        dst.copy_from_slice(src);
    }
    fn as_f32_slice(src: &[Self]) -> Option<&[f32]> {
        Some(src)
    }
}

impl BulkConvert for f16 {
    fn widen_slice(src: &[Self], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }
    fn narrow_slice(src: &[f32], dst: &mut [Self]) {
        dst.convert_from_f32_slice(src);
    }
    fn widen_slice_with(dispatch: Dispatch, src: &[Self], dst: &mut [f32]) {
        match dispatch.isa() {
            Isa::Portable => Self::widen_slice(src, dst),
            // SAFETY: the Dispatch token certifies F16C (required by both x86 variants).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma | Isa::Avx512 => unsafe { f16c::widen(src, dst) },
            // No stable NEON f16 conversion intrinsics: `half` converts in software.
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => Self::widen_slice(src, dst),
        }
    }
    fn narrow_slice_with(dispatch: Dispatch, src: &[f32], dst: &mut [Self]) {
        match dispatch.isa() {
            Isa::Portable => Self::narrow_slice(src, dst),
            // SAFETY: the Dispatch token certifies F16C (required by both x86 variants).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma | Isa::Avx512 => unsafe { f16c::narrow(src, dst) },
            // No stable NEON f16 conversion intrinsics: `half` converts in software.
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => Self::narrow_slice(src, dst),
        }
    }
}

/// f16 ⇄ f32 with the x86 F16C instructions, 8 values at a time (`half` without `std` cannot
/// detect them at run time, so it converts in software).
#[cfg(target_arch = "x86_64")]
mod f16c {
    use core::arch::x86_64::{
        __m128i, _mm256_cvtph_ps, _mm256_cvtps_ph, _mm256_loadu_ps, _mm256_storeu_ps,
        _mm_loadu_si128, _mm_storeu_si128, _MM_FROUND_TO_NEAREST_INT,
    };
    use half::f16;
    use half::slice::HalfFloatSliceExt;

    /// # Safety
    /// The CPU must support F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn widen(src: &[f16], dst: &mut [f32]) {
        let mut halves = src.chunks_exact(8);
        let mut floats = dst.chunks_exact_mut(8);
        for (h, f) in (&mut halves).zip(&mut floats) {
            // SAFETY: both chunks hold exactly 8 elements (16 and 32 bytes).
            unsafe {
                let packed = _mm_loadu_si128(h.as_ptr().cast::<__m128i>());
                _mm256_storeu_ps(f.as_mut_ptr(), _mm256_cvtph_ps(packed));
            }
        }
        halves
            .remainder()
            .convert_to_f32_slice(floats.into_remainder());
    }

    /// # Safety
    /// The CPU must support F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub(super) unsafe fn narrow(src: &[f32], dst: &mut [f16]) {
        let mut floats = src.chunks_exact(8);
        let mut halves = dst.chunks_exact_mut(8);
        for (f, h) in (&mut floats).zip(&mut halves) {
            // SAFETY: both chunks hold exactly 8 elements (32 and 16 bytes).
            unsafe {
                let packed =
                    _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(f.as_ptr()));
                _mm_storeu_si128(h.as_mut_ptr().cast::<__m128i>(), packed);
            }
        }
        halves
            .into_remainder()
            .convert_from_f32_slice(floats.remainder());
    }
}

impl BulkConvert for bf16 {
    fn widen_slice(src: &[Self], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }
    fn narrow_slice(src: &[f32], dst: &mut [Self]) {
        dst.convert_from_f32_slice(src);
    }
}

/// Widens a storage slice `[n]` into an `f32` slice `[n]`; `Err(ShapeMismatch)` when the
/// lengths differ.
pub fn to_f32_slice<T: BulkConvert>(src: &[T], dst: &mut [f32]) -> Result<()> {
    ensure_len(src.len(), dst.len())?;
    T::widen_slice(src, dst);
    Ok(())
}

/// [`to_f32_slice`] using the conversion instructions `dispatch` vouches for.
pub fn to_f32_slice_with<T: BulkConvert>(
    dispatch: Dispatch,
    src: &[T],
    dst: &mut [f32],
) -> Result<()> {
    ensure_len(src.len(), dst.len())?;
    T::widen_slice_with(dispatch, src, dst);
    Ok(())
}

/// [`from_f32_slice`] using the conversion instructions `dispatch` vouches for.
pub fn from_f32_slice_with<T: BulkConvert>(
    dispatch: Dispatch,
    src: &[f32],
    dst: &mut [T],
) -> Result<()> {
    ensure_len(src.len(), dst.len())?;
    T::narrow_slice_with(dispatch, src, dst);
    Ok(())
}

/// Rounds an `f32` slice `[n]` into a storage slice `[n]` (nearest, ties to even; overflow to
/// ±inf, NaN stays NaN); `Err(ShapeMismatch)` when the lengths differ.
pub fn from_f32_slice<T: BulkConvert>(src: &[f32], dst: &mut [T]) -> Result<()> {
    ensure_len(src.len(), dst.len())?;
    T::narrow_slice(src, dst);
    Ok(())
}
