//! Building blocks of the SIMD-friendly kernels: fixed-width lane accumulators that LLVM maps
//! onto vector registers, and a branch-free `exp` it can vectorize.

/// Accumulator lanes per kernel: 32 f32 = four AVX2 or two AVX-512 registers, enough
/// independent sums to hide FMA latency.
pub(crate) const LANES: usize = 32;

/// Σ aᵢ·bᵢ over equal-length slices in [`LANES`] independent partial sums, then a pairwise
/// reduction; the tail (len mod LANES) goes through eight more lanes, then scalar code.
#[inline(always)]
pub(crate) fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    lanes_sum(a, b, |x, y| x * y)
}

/// Σ (aᵢ − bᵢ)² in [`LANES`] partial sums, like [`dot_lanes`].
#[inline(always)]
pub(crate) fn squared_distance_lanes(a: &[f32], b: &[f32]) -> f32 {
    lanes_sum(a, b, |x, y| (x - y) * (x - y))
}

/// Σ term(aᵢ, bᵢ) over the common length: [`LANES`]-wide chunks into `LANES` partial sums, the
/// remainder in 8-wide chunks into 8 partial sums (so short vectors, such as 8 k-NN features,
/// still vectorize), the last < 8 terms left to right.
#[inline(always)]
fn lanes_sum(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (rest_a, rest_b) = (chunks_a.remainder(), chunks_b.remainder());
    let mut total = 0.0f32;
    if a.len() >= LANES {
        let mut acc = [0.0f32; LANES];
        for (x, y) in chunks_a.zip(chunks_b) {
            for ((s, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
                *s += term(xi, yi);
            }
        }
        total = reduce(acc);
    }
    let (eights_a, eights_b) = (rest_a.chunks_exact(8), rest_b.chunks_exact(8));
    let (tail_a, tail_b) = (eights_a.remainder(), eights_b.remainder());
    if rest_a.len() >= 8 {
        let mut acc = [0.0f32; 8];
        for (x, y) in eights_a.zip(eights_b) {
            for ((s, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
                *s += term(xi, yi);
            }
        }
        let [s0, s1, s2, s3, s4, s5, s6, s7] = acc;
        total += ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
    }
    let tail: f32 = tail_a.iter().zip(tail_b).map(|(&x, &y)| term(x, y)).sum();
    total + tail
}

/// Pairwise sum of the lanes (error grows with log₂ LANES, not LANES).
#[inline(always)]
pub(crate) fn reduce(mut acc: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0]
}

/// Largest value of a slice (NaN-free input assumed; −∞ for an empty slice), in lanes.
#[inline(always)]
pub(crate) fn max_lanes(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in acc.iter_mut().zip(chunk) {
            *m = if v > *m { v } else { *m };
        }
    }
    let lanes = acc.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    tail.iter().fold(lanes, |m, &v| m.max(v))
}

/// eˣ without branches or calls, so loops over it vectorize: x = n·ln2 + r with |r| ≤ ln2/2,
/// a degree-6 polynomial for eʳ, and 2ⁿ built in the exponent bits. n is rounded with the
/// 1.5·2²³ trick (adding it leaves n in the low mantissa bits), so no float→int conversion
/// (saturating in Rust, hence slow to vectorize) is needed. Relative error below 3·2⁻²⁴ where
/// eˣ is a normal f32 (x ≥ −87.3) and absolute error below 2⁻¹⁴⁹ where it is subnormal
/// (−103.98 ≤ x < −87.3: 2ⁿ is built as 2ⁿ⁺⁶⁴ and scaled by 2⁻⁶⁴, so results are rounded to
/// the subnormal grid, not flushed); 0 below −103.98 and +∞ above 88.72; NaN in gives NaN.
#[inline(always)]
pub(crate) fn exp_vectorizable(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0;
    /// Below this (n ≤ −125) 2ⁿ is not a normal f32, so it is built 64 binades higher.
    const SUBNORMAL_FROM: f32 = -86.0;
    /// 2⁻⁶⁴, exact.
    const TWO_POW_MINUS_64: f32 = f32::from_bits((127 - 64) << 23);
    let clamped = x.clamp(-103.98, 88.722_83);
    let shifted = clamped * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_386 + r * 0.001_388_819_2)))));
    // shifted's bits are ROUND's plus n (two's complement), so the biased exponent n + 127
    // (n + 191 in the subnormal range) is a wrapping integer difference.
    let low = clamped < SUBNORMAL_FROM;
    let bias: u32 = if low { 127 + 64 } else { 127 };
    let biased = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(bias);
    // Independent selects (no else-if chain) so LLVM if-converts them; NaN needs none, as
    // clamp keeps it and it propagates through p.
    let value = p * f32::from_bits(biased << 23);
    let value = if low { value * TWO_POW_MINUS_64 } else { value };
    let value = if x < -103.98 { 0.0 } else { value };
    if x > 88.722_83 {
        f32::INFINITY
    } else {
        value
    }
}
