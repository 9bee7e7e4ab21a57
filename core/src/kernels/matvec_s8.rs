//! Batch-1 int8 dense layer in the TFLite / CMSIS-NN scheme:
//! `y[o] = clamp(z_y + M_o(b[o] + Σᵢ (x[i] − z_x)·W[o, i]), lo, 127)` for one input row `x`
//! (`[k]` int8, zero point `z_x`), weights `W` (`[n × k]` int8, output-major, symmetric per
//! output channel), int32 biases and int32 accumulation; `M_o` is the requantization by a
//! fixed-point multiplier and shift ([`requantize`]).
//!
//! The input is first widened once to `x − z_x` in i16 ([`expand_input`], reordered in groups
//! of four as `x0 x2 x1 x3` so that a word of four weights sign-extended by `SXTB16` lines up
//! with two words of the input). The dot products then run two outputs at a time, either
//! portably or, with the crate feature `arm-dsp` on 32-bit Arm, with the DSP extension
//! (`SXTB16`, `SMLAD`). Integer sums are exact, so every path equals [`dense_s8_reference`].

use crate::error::{ensure_len, Error, Result};

/// `(a·b·2 + 2³¹) >> 32` rounded half away from zero, saturating `i32::MIN²`: TFLite's
/// `SaturatingRoundingDoublingHighMul`.
pub const fn doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded half away from zero (`exponent` in 0..=31): TFLite's
/// `RoundingDivideByPOT`.
pub const fn rounding_shift_right(x: i32, exponent: u32) -> i32 {
    let exponent = if exponent > 31 { 31 } else { exponent };
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// `x·m·2^shift` for the fixed-point multiplier `m` (a Q31 value in [0.5, 1)) and `shift`
/// (−31..=30): TFLite's `MultiplyByQuantizedMultiplier`, saturating where TFLite wraps.
pub const fn requantize(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = if shift > 0 { shift as u32 } else { 0 };
    let right = if shift < 0 { shift.unsigned_abs() } else { 0 };
    let scaled = x.saturating_mul(1 << if left > 30 { 30 } else { left });
    rounding_shift_right(doubling_high_mul(scaled, multiplier), right)
}

/// The fixed-point multiplier and shift of a real multiplier `m` (`m = q·2^shift`, `q` in
/// [0.5, 1) as Q31), as TFLite's `QuantizeMultiplier` computes it. `None` for `m` not
/// positive and finite or outside [2⁻³¹, 2³⁰).
pub fn quantize_multiplier(m: f64) -> Option<(i32, i32)> {
    if !(m.is_finite() && m > 0.0) {
        return None;
    }
    let (mut q, mut shift) = frexp(m);
    let mut fixed = libm::round(q * (1u64 << 31) as f64) as i64;
    if fixed == 1i64 << 31 {
        fixed /= 2;
        shift += 1;
    }
    q = fixed as f64;
    if !(-31..=30).contains(&shift) || q <= 0.0 {
        return None;
    }
    Some((fixed as i32, shift))
}

/// `m = q·2^e` with `q` in [0.5, 1) for positive finite `m`.
fn frexp(m: f64) -> (f64, i32) {
    let (mut q, mut e) = (m, 0);
    while q >= 1.0 {
        q /= 2.0;
        e += 1;
    }
    while q < 0.5 {
        q *= 2.0;
        e -= 1;
    }
    (q, e)
}

/// Per-output-channel parameters of one layer: bias, multiplier and shift, 12 little-endian
/// bytes per output (`i32`, `i32`, `i32`).
pub const CHANNEL_BYTES: usize = 12;

/// One output channel's bias, multiplier and shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    /// Bias in the accumulator's scale (input scale × weight scale).
    pub bias: i32,
    /// Q31 multiplier of `input scale × weight scale / output scale`.
    pub multiplier: i32,
    /// Power-of-two exponent of that scale.
    pub shift: i32,
}

impl Channel {
    /// The channel from its 12 stored bytes.
    pub fn from_le_bytes(b: &[u8; CHANNEL_BYTES]) -> Channel {
        let word = |i: usize| i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Channel {
            bias: word(0),
            multiplier: word(4),
            shift: word(8),
        }
    }

    /// The channel's 12 stored bytes.
    pub fn to_le_bytes(self) -> [u8; CHANNEL_BYTES] {
        let mut out = [0u8; CHANNEL_BYTES];
        out[..4].copy_from_slice(&self.bias.to_le_bytes());
        out[4..8].copy_from_slice(&self.multiplier.to_le_bytes());
        out[8..].copy_from_slice(&self.shift.to_le_bytes());
        out
    }
}

/// Output quantization of a layer: zero point and the lowest value (the zero point for a fused
/// ReLU, −128 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputQuant {
    /// Zero point of the output.
    pub zero: i32,
    /// Lowest output value.
    pub min: i8,
}

#[inline(always)]
fn finish(acc: i32, c: &Channel, q: OutputQuant) -> i8 {
    let v = requantize(acc.saturating_add(c.bias), c.multiplier, c.shift).saturating_add(q.zero);
    v.clamp(i32::from(q.min), 127) as i8
}

fn check_shapes(x: usize, w: usize, channels: usize, y: usize) -> Result<()> {
    let c = y.checked_mul(CHANNEL_BYTES).ok_or(Error::SizeOverflow)?;
    ensure_len(c, channels)?;
    ensure_len(x.checked_mul(y).ok_or(Error::SizeOverflow)?, w)
}

/// The definition, element by element: `x` (`[k]`), `w` (`[n × k]` int8 as bytes),
/// `channels` (`[n × CHANNEL_BYTES]`), `y` (`[n]`); `x − z_x` saturates to i16 and sums wrap
/// in i32 (as `SMLAD` does). `Err(ShapeMismatch)` for inconsistent lengths.
pub fn dense_s8_reference(
    x: &[i8],
    x_zero: i32,
    w: &[u8],
    channels: &[u8],
    out: OutputQuant,
    y: &mut [i8],
) -> Result<()> {
    check_shapes(x.len(), w.len(), channels.len(), y.len())?;
    let k = x.len();
    for (o, slot) in y.iter_mut().enumerate() {
        let mut acc = 0i32;
        for (i, &xi) in x.iter().enumerate() {
            let xv = (i32::from(xi) - x_zero).clamp(-32768, 32767);
            acc = acc.wrapping_add(xv * i32::from(w[o * k + i] as i8));
        }
        let c = channel(channels, o);
        *slot = finish(acc, &c, out);
    }
    Ok(())
}

fn channel(channels: &[u8], o: usize) -> Channel {
    channels
        .get(o * CHANNEL_BYTES..)
        .and_then(|c| c.first_chunk::<CHANNEL_BYTES>())
        .map(Channel::from_le_bytes)
        .unwrap_or(Channel {
            bias: 0,
            multiplier: 0,
            shift: 0,
        })
}

/// Writes `x − z_x` as i16 into `expanded` (`[k]`), groups of four reordered `x0 x2 x1 x3`
/// and a tail of fewer than four in order. `Err(ShapeMismatch)` unless the lengths agree.
pub fn expand_input(x: &[i8], x_zero: i32, expanded: &mut [i16]) -> Result<()> {
    ensure_len(x.len(), expanded.len())?;
    let widen = |v: i8| (i32::from(v) - x_zero).clamp(-32768, 32767) as i16;
    let mut groups = x.chunks_exact(4);
    let mut slots = expanded.chunks_exact_mut(4);
    for (g, s) in (&mut groups).zip(&mut slots) {
        s[0] = widen(g[0]);
        s[1] = widen(g[2]);
        s[2] = widen(g[1]);
        s[3] = widen(g[3]);
    }
    for (v, s) in groups.remainder().iter().zip(slots.into_remainder()) {
        *s = widen(*v);
    }
    Ok(())
}

/// The dense layer on an input already widened by [`expand_input`] (`expanded`, `[k]`), two
/// outputs at a time; equal to [`dense_s8_reference`] on the original input.
/// `Err(ShapeMismatch)` for inconsistent lengths.
pub fn dense_s8(
    expanded: &[i16],
    w: &[u8],
    channels: &[u8],
    out: OutputQuant,
    y: &mut [i8],
) -> Result<()> {
    check_shapes(expanded.len(), w.len(), channels.len(), y.len())?;
    let k = expanded.len();
    if k == 0 {
        for (o, slot) in y.iter_mut().enumerate() {
            *slot = finish(0, &channel(channels, o), out);
        }
        return Ok(());
    }
    let mut rows = w.chunks_exact(k);
    let mut o = 0;
    let mut pairs = y.chunks_exact_mut(2);
    for pair in &mut pairs {
        if let (Some(r0), Some(r1)) = (rows.next(), rows.next()) {
            let (a0, a1) = dot2(expanded, r0, r1);
            pair[0] = finish(a0, &channel(channels, o), out);
            pair[1] = finish(a1, &channel(channels, o + 1), out);
        }
        o += 2;
    }
    for (slot, r) in pairs.into_remainder().iter_mut().zip(rows) {
        let (a, _) = dot2(expanded, r, r);
        *slot = finish(a, &channel(channels, o), out);
    }
    Ok(())
}

#[inline(always)]
fn word(b: &[u8]) -> u32 {
    match b.first_chunk::<4>() {
        Some(w) => u32::from_le_bytes(*w),
        None => 0,
    }
}

/// Two rows' dot products with the expanded input.
#[inline(always)]
fn dot2(x: &[i16], r0: &[u8], r1: &[u8]) -> (i32, i32) {
    let (mut a0, mut a1) = (0i32, 0i32);
    let mut xs = x.chunks_exact(4);
    let mut w0 = r0.chunks_exact(4);
    let mut w1 = r1.chunks_exact(4);
    for ((xg, g0), g1) in (&mut xs).zip(&mut w0).zip(&mut w1) {
        let x02 = pack(xg[0], xg[1]);
        let x13 = pack(xg[2], xg[3]);
        a0 = quad(x02, x13, word(g0), a0);
        a1 = quad(x02, x13, word(g1), a1);
    }
    let tail = xs
        .remainder()
        .iter()
        .zip(w0.remainder())
        .zip(w1.remainder());
    for ((&xv, &b0), &b1) in tail {
        a0 = a0.wrapping_add(i32::from(xv) * i32::from(b0 as i8));
        a1 = a1.wrapping_add(i32::from(xv) * i32::from(b1 as i8));
    }
    (a0, a1)
}

#[inline(always)]
fn pack(lo: i16, hi: i16) -> u32 {
    u32::from(lo as u16) | (u32::from(hi as u16) << 16)
}

/// `acc + x0·w0 + x2·w2 + x1·w1 + x3·w3` for `x02 = (x0, x2)`, `x13 = (x1, x3)` (i16 halves)
/// and four int8 weights in `w` (little-endian bytes `w0 w1 w2 w3`).
#[cfg(not(all(target_arch = "arm", feature = "arm-dsp")))]
#[inline(always)]
fn quad(x02: u32, x13: u32, w: u32, acc: i32) -> i32 {
    let half = |v: u32, s: u32| i32::from((v >> s) as u16 as i16);
    let byte = |s: u32| i32::from((w >> s) as u8 as i8);
    let pair = |x: u32, lo: u32, hi: u32| half(x, 0) * byte(lo) + half(x, 16) * byte(hi);
    acc.wrapping_add(pair(x02, 0, 16))
        .wrapping_add(pair(x13, 8, 24))
}

/// `quad` with the DSP extension: `SXTB16` sign-extends bytes 0 and 2 (then, rotated, 1 and 3)
/// into i16 halves and each `SMLAD` adds two products.
#[cfg(all(target_arch = "arm", feature = "arm-dsp"))]
#[inline(always)]
fn quad(x02: u32, x13: u32, w: u32, acc: i32) -> i32 {
    let out: i32;
    // SAFETY: register-only arithmetic available on every Armv7E-M core (the feature's
    // contract); no memory or stack access.
    unsafe {
        core::arch::asm!(
            "sxtb16 {even}, {w}",
            "sxtb16 {odd}, {w}, ror #8",
            "smlad {acc}, {even}, {x02}, {acc}",
            "smlad {acc}, {odd}, {x13}, {acc}",
            w = in(reg) w,
            x02 = in(reg) x02,
            x13 = in(reg) x13,
            even = out(reg) _,
            odd = out(reg) _,
            acc = inout(reg) acc => out,
            options(pure, nomem, nostack),
        );
    }
    out
}
