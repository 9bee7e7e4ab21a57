//! Building blocks of the SIMD-friendly kernels: fixed-width lane accumulators that LLVM maps
//! onto vector registers, and a branch-free `exp` it can vectorize.

/// Accumulator lanes per kernel: 32 f32 = four AVX2 or two AVX-512 registers, enough
/// independent sums to hide FMA latency.
pub(crate) const LANES: usize = 32;

/// Σ aᵢ·bᵢ over equal-length slices in [`LANES`] independent partial sums, then a pairwise
/// reduction; the tail (len mod LANES) is added last.
#[inline(always)]
pub(crate) fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((s, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
            *s += xi * yi;
        }
    }
    let tail: f32 = tail_a.iter().zip(tail_b).map(|(x, y)| x * y).sum();
    reduce(acc) + tail
}

/// Σ (aᵢ − bᵢ)² in [`LANES`] partial sums, like [`dot_lanes`].
#[inline(always)]
pub(crate) fn squared_distance_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((s, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
            let d = xi - yi;
            *s += d * d;
        }
    }
    let tail: f32 = tail_a
        .iter()
        .zip(tail_b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    reduce(acc) + tail
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
/// a degree-6 polynomial for eʳ, and 2ⁿ built in the exponent bits. Relative error below
/// 3·2⁻²⁴ on [-87.3, 88.7]; saturates to 0 below and +∞ above; NaN in gives NaN.
#[inline(always)]
pub(crate) fn exp_vectorizable(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let clamped = x.clamp(-87.336_55, 88.722_83);
    let n = (clamped * LOG2E + 0.5).floor_branchless();
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_386 + r * 0.001_388_819_2)))));
    let bits = ((n as i32 + 127) as u32) << 23;
    let value = p * f32::from_bits(bits);
    if x.is_nan() {
        x
    } else if x > 88.722_83 {
        f32::INFINITY
    } else if x < -87.336_55 {
        0.0
    } else {
        value
    }
}

/// `floor` for the range `exp_vectorizable` needs, without libm (so it inlines and vectorizes).
trait FloorBranchless {
    fn floor_branchless(self) -> f32;
}

impl FloorBranchless for f32 {
    #[inline(always)]
    fn floor_branchless(self) -> f32 {
        let truncated = self as i32 as f32;
        if truncated > self {
            truncated - 1.0
        } else {
            truncated
        }
    }
}
