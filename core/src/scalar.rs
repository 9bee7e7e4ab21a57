//! Storage types: [`Scalar`] is implemented by `f32`, [`half::f16`] and [`half::bf16`]. Values
//! are stored in the type and computed in `f32`; bulk conversions between `f32` slices and
//! storage slices are [`to_f32_slice`] and [`from_f32_slice`].

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};

use crate::error::{ensure_len, Result};

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
}

impl BulkConvert for f32 {
    fn widen_slice(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
    fn narrow_slice(src: &[f32], dst: &mut [Self]) {
        dst.copy_from_slice(src);
    }
}

impl BulkConvert for f16 {
    fn widen_slice(src: &[Self], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }
    fn narrow_slice(src: &[f32], dst: &mut [Self]) {
        dst.convert_from_f32_slice(src);
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

/// Rounds an `f32` slice `[n]` into a storage slice `[n]` (nearest, ties to even; overflow to
/// ±inf, NaN stays NaN); `Err(ShapeMismatch)` when the lengths differ.
pub fn from_f32_slice<T: BulkConvert>(src: &[f32], dst: &mut [T]) -> Result<()> {
    ensure_len(src.len(), dst.len())?;
    T::narrow_slice(src, dst);
    Ok(())
}
