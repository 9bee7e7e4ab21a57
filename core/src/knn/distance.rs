//! The one distance function of k-NN search, shared by brute force and the kd-tree so both
//! see bit-identical distances.
//!
//! Squared L2 is the kernel [`crate::kernels::distance::squared_l2`]; L1 accumulates in
//! [`LANES`] independent lanes (a shape LLVM turns into vector code), sums the lanes pairwise
//! and adds the tail last. In both, every term is non-negative and every rounding step
//! monotone, so the result is never smaller than any single term — the property the kd-tree's
//! pruning bound relies on.

use crate::error::{ensure_len, Result};
use crate::kernels::distance::squared_l2;

/// Number of independent accumulators of the L1 distance.
pub const LANES: usize = 8;

/// Which distance ranks the neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Squared Euclidean distance `Σ (a_i − b_i)²` (same ranking as Euclidean).
    SquaredL2,
    /// Manhattan distance `Σ |a_i − b_i|`.
    L1,
}

impl Metric {
    /// The contribution of one feature difference `a − b` (already rounded to f32).
    #[inline]
    pub fn term(self, difference: f32) -> f32 {
        match self {
            Metric::SquaredL2 => difference * difference,
            Metric::L1 => difference.abs(),
        }
    }

    /// The distance as a length, in f64: `sqrt` of a squared-L2 value, an L1 value as is.
    /// Distance weighting divides by this.
    pub fn length(self, distance: f32) -> f64 {
        match self {
            Metric::SquaredL2 => libm::sqrt(f64::from(distance)),
            Metric::L1 => f64::from(distance),
        }
    }
}

/// Distance between `a` and `b` under `metric`; `Err(ShapeMismatch)` on unequal lengths.
#[inline]
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> Result<f32> {
    match metric {
        Metric::SquaredL2 => squared_l2(a, b),
        Metric::L1 => {
            ensure_len(a.len(), b.len())?;
            Ok(l1_lanes(a, b))
        }
    }
}

#[inline(always)]
fn l1_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let a_chunks = a.chunks_exact(LANES);
    let b_chunks = b.chunks_exact(LANES);
    let a_tail = a_chunks.remainder();
    let b_tail = b_chunks.remainder();
    for (x, y) in a_chunks.zip(b_chunks) {
        for ((lane, &p), &q) in lanes.iter_mut().zip(x).zip(y) {
            *lane += (p - q).abs();
        }
    }
    let mut tail = 0.0f32;
    for (&p, &q) in a_tail.iter().zip(b_tail) {
        tail += (p - q).abs();
    }
    let [l0, l1, l2, l3, l4, l5, l6, l7] = lanes;
    ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)) + tail
}
