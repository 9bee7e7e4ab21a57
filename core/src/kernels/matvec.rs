//! Batch-1 dense layer `y = f(b + xᵀW)` for one input row `x` (`[k]`), weights `W`
//! (`[k × n]`, row-major: the MLP's input-major layout) and biases `b` (`[n]`), written for
//! in-order cores: blocks of 8 (then 4, then 1) outputs each keep their sums in registers while
//! the rows of `W` stream past; no packing, no stack tiles; bias and ReLU fused.
//!
//! Weights may be stored as f32, f16 or bf16, aligned (`f32`, [`F16Bits`], [`Bf16Bits`]) or as
//! unaligned little-endian bytes ([`LeF32`], [`LeF16`], [`LeBf16`]); each is widened to f32 as
//! it streams ([`Widen`]). Every output is summed in input order, `acc ← acc + xᵢ·wᵢ` from
//! `acc = b`, exactly as [`dense_reference`] sums it, so the two agree bit for bit. With the
//! crate feature `arm-fpu` on Arm hard-float targets, the blocks of 8 over aligned f32 and f16
//! weights run as assembly (`VLDM`, `VCVTB`/`VCVTT`, non-fused `VMLA`: the same roundings).

use crate::error::{ensure_len, Error, Result};
use half::{bf16, f16};

#[cfg(all(target_arch = "arm", target_abi = "eabihf", feature = "arm-fpu"))]
#[path = "matvec_arm.rs"]
mod arm;

/// A stored weight that widens to f32.
pub trait Widen: Copy {
    /// The value as f32 (exact for every format here, for finite values).
    fn widen(self) -> f32;
    /// Whether the stored value is finite (checked before [`Widen::widen`] is trusted).
    fn is_finite(self) -> bool;
    /// Outputs `o..o + 8` of [`dense`] (`w` is `[x.len() × n]`): the portable block unless
    /// the type has a faster one for the target.
    #[inline(always)]
    fn block8(
        x: &[f32],
        w: &[Self],
        n: usize,
        o: usize,
        bias: &[Self; 8],
        fused: Fused,
        y: &mut [f32; 8],
    ) {
        block8(x, w, n, o, bias, fused, y);
    }
}

impl Widen for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    #[cfg(all(target_arch = "arm", target_abi = "eabihf", feature = "arm-fpu"))]
    #[inline(always)]
    fn block8(
        x: &[f32],
        w: &[f32],
        n: usize,
        o: usize,
        bias: &[f32; 8],
        fused: Fused,
        y: &mut [f32; 8],
    ) {
        if !arm::block8_f32(x, w, n, o, bias, y) {
            block8(x, w, n, o, bias, Fused::Identity, y);
        }
        y.iter_mut().for_each(|v| *v = fused.apply(*v));
    }
}

/// The bits of an IEEE half-precision value, in native byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct F16Bits(pub u16);

/// The bits of a bfloat16 value, in native byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct Bf16Bits(pub u16);

/// An f32 as 4 little-endian bytes (any alignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct LeF32(pub [u8; 4]);

/// An f16 as 2 little-endian bytes (any alignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct LeF16(pub [u8; 2]);

/// A bf16 as 2 little-endian bytes (any alignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(transparent)]
pub struct LeBf16(pub [u8; 2]);

/// f16 → f32 for finite halves (the models' weights are checked finite): the 15 magnitude bits
/// placed under an f32 exponent offset by 2¹¹², sign kept, then scaled by 2¹¹², which is exact
/// for normal and subnormal halves alike. Infinities and NaNs widen to large finite values.
#[inline(always)]
fn widen_f16_finite(bits: u16) -> f32 {
    const SCALE: f32 = 5.192_297e33; // 2^112
    let h = u32::from(bits);
    f32::from_bits(((h & 0x8000) << 16) | ((h & 0x7FFF) << 13)) * SCALE
}

impl Widen for F16Bits {
    #[inline(always)]
    fn widen(self) -> f32 {
        widen_f16_finite(self.0)
    }
    fn is_finite(self) -> bool {
        f16::from_bits(self.0).is_finite()
    }
    #[cfg(all(target_arch = "arm", target_abi = "eabihf", feature = "arm-fpu"))]
    #[inline(always)]
    fn block8(
        x: &[f32],
        w: &[F16Bits],
        n: usize,
        o: usize,
        bias: &[F16Bits; 8],
        fused: Fused,
        y: &mut [f32; 8],
    ) {
        if !arm::block8_f16(x, w, n, o, bias, y) {
            block8(x, w, n, o, bias, Fused::Identity, y);
        }
        y.iter_mut().for_each(|v| *v = fused.apply(*v));
    }
}

impl Widen for Bf16Bits {
    #[inline(always)]
    fn widen(self) -> f32 {
        f32::from_bits(u32::from(self.0) << 16)
    }
    fn is_finite(self) -> bool {
        bf16::from_bits(self.0).is_finite()
    }
}

impl Widen for LeF32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        f32::from_le_bytes(self.0)
    }
    fn is_finite(self) -> bool {
        f32::from_le_bytes(self.0).is_finite()
    }
}

impl Widen for LeF16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        widen_f16_finite(u16::from_le_bytes(self.0))
    }
    fn is_finite(self) -> bool {
        f16::from_le_bytes(self.0).is_finite()
    }
}

impl Widen for LeBf16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        Bf16Bits(u16::from_le_bytes(self.0)).widen()
    }
    fn is_finite(self) -> bool {
        bf16::from_le_bytes(self.0).is_finite()
    }
}

/// The activation fused into the kernel's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fused {
    /// `f(v) = v`.
    Identity,
    /// `f(v) = max(v, 0)`.
    Relu,
}

impl Fused {
    #[inline(always)]
    fn apply(self, v: f32) -> f32 {
        match self {
            Fused::Identity => v,
            Fused::Relu if v > 0.0 => v,
            Fused::Relu => 0.0,
        }
    }
}

fn check_shapes<W>(x: &[f32], w: &[W], bias: &[W], y: &[f32]) -> Result<()> {
    ensure_len(y.len(), bias.len())?;
    let weights = x.len().checked_mul(y.len()).ok_or(Error::SizeOverflow)?;
    ensure_len(weights, w.len())
}

/// The definition: `y[o] = f(b[o] + Σᵢ x[i]·W[i, o])`, summed in input order in f32.
/// `Err(ShapeMismatch)` unless `b` has `y.len()` and `W` has `x.len()·y.len()` elements.
pub fn dense_reference<W: Widen>(
    x: &[f32],
    w: &[W],
    bias: &[W],
    fused: Fused,
    y: &mut [f32],
) -> Result<()> {
    check_shapes(x, w, bias, y)?;
    let n = y.len();
    for (o, (out, b)) in y.iter_mut().zip(bias).enumerate() {
        let mut acc = b.widen();
        for (i, &xi) in x.iter().enumerate() {
            acc += xi * w[i * n + o].widen();
        }
        *out = fused.apply(acc);
    }
    Ok(())
}

/// Outputs `o..o + B` of the layer: `B` sums in registers over every row of `W`. Each block
/// size is spelt out (named accumulators) because a loop over an accumulator array stays a
/// loop through memory at `opt-level = "s"`.
macro_rules! block {
    ($name:ident, $b:literal, $($a:ident $i:literal),+) => {
        #[inline(always)]
        fn $name<W: Widen>(
            x: &[f32],
            w: &[W],
            n: usize,
            o: usize,
            bias: &[W; $b],
            fused: Fused,
            y: &mut [f32; $b],
        ) {
            $(let mut $a = bias[$i].widen();)+
            let rows = w.get(o..).unwrap_or_default().chunks(n);
            for (row, &xi) in rows.zip(x) {
                if let Some(wb) = row.first_chunk::<$b>() {
                    $($a += xi * wb[$i].widen();)+
                }
            }
            $(y[$i] = fused.apply($a);)+
        }
    };
}

block!(block8, 8, a0 0, a1 1, a2 2, a3 3, a4 4, a5 5, a6 6, a7 7);
block!(block4, 4, a0 0, a1 1, a2 2, a3 3);
block!(block1, 1, a0 0);

/// `y = f(b + xᵀW)` as described in the module docs, equal bit for bit to
/// [`dense_reference`]. `Err(ShapeMismatch)` unless `b` has `y.len()` and `W` has
/// `x.len()·y.len()` elements.
pub fn dense<W: Widen>(x: &[f32], w: &[W], bias: &[W], fused: Fused, y: &mut [f32]) -> Result<()> {
    check_shapes(x, w, bias, y)?;
    let n = y.len();
    let mut o = 0;
    let mut ys = y.chunks_exact_mut(8);
    let mut bs = bias.chunks_exact(8);
    for (yb, bb) in (&mut ys).zip(&mut bs) {
        if let (Ok(yb), Ok(bb)) = (yb.try_into(), bb.try_into()) {
            W::block8(x, w, n, o, bb, fused, yb);
        }
        o += 8;
    }
    let mut ys = ys.into_remainder().chunks_exact_mut(4);
    let mut bs = bs.remainder().chunks_exact(4);
    for (yb, bb) in (&mut ys).zip(&mut bs) {
        if let (Ok(yb), Ok(bb)) = (yb.try_into(), bb.try_into()) {
            block4(x, w, n, o, bb, fused, yb);
        }
        o += 4;
    }
    for (yb, bb) in ys.into_remainder().iter_mut().zip(bs.remainder()) {
        block1(
            x,
            w,
            n,
            o,
            core::array::from_ref(bb),
            fused,
            core::array::from_mut(yb),
        );
        o += 1;
    }
    Ok(())
}
