//! x86-64 dot products with explicit fused multiply-add intrinsics: LLVM never contracts
//! `a * b + c` into an FMA on its own, so the portable lanes compiled with AVX2 enabled still
//! issue a multiply and an add per element. Four independent vector accumulators hide the FMA
//! latency; the tail is summed in scalar code.

use core::arch::x86_64::{
    __m256, _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_reduce_add_ps, _mm512_setzero_ps,
};

/// Σ aᵢ·bᵢ over the common length of `a` and `b`, 32 elements per step in four 8-wide FMA
/// accumulators.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 4];
    let (chunks_a, chunks_b) = (a.chunks_exact(32), b.chunks_exact(32));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for (k, s) in acc.iter_mut().enumerate() {
            // SAFETY: x and y hold exactly 32 elements, so lanes 8k..8k+8 (k < 4) are in bounds.
            let (xv, yv) = unsafe {
                (
                    _mm256_loadu_ps(x.as_ptr().add(8 * k)),
                    _mm256_loadu_ps(y.as_ptr().add(8 * k)),
                )
            };
            *s = _mm256_fmadd_ps(xv, yv, *s);
        }
    }
    let [s0, s1, s2, s3] = acc;
    let total = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    horizontal_sum_256(total) + scalar_tail(tail_a, tail_b)
}

/// Σ aᵢ·bᵢ over the common length of `a` and `b`, 64 elements per step in four 16-wide FMA
/// accumulators.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [_mm512_setzero_ps(); 4];
    let (chunks_a, chunks_b) = (a.chunks_exact(64), b.chunks_exact(64));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for (k, s) in acc.iter_mut().enumerate() {
            // SAFETY: x and y hold exactly 64 elements, so lanes 16k..16k+16 (k < 4) are in
            // bounds.
            let (xv, yv) = unsafe {
                (
                    _mm512_loadu_ps(x.as_ptr().add(16 * k)),
                    _mm512_loadu_ps(y.as_ptr().add(16 * k)),
                )
            };
            *s = _mm512_fmadd_ps(xv, yv, *s);
        }
    }
    let [s0, s1, s2, s3] = acc;
    let total = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
    _mm512_reduce_add_ps(total) + scalar_tail(tail_a, tail_b)
}

/// Pairwise sum of the eight lanes of `v`.
#[target_feature(enable = "avx2")]
fn horizontal_sum_256(v: __m256) -> f32 {
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` has room for the eight f32 an unaligned 256-bit store writes.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), v) };
    let [l0, l1, l2, l3, l4, l5, l6, l7] = lanes;
    ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))
}

/// Σ aᵢ·bᵢ left to right over the (short) tails.
#[inline(always)]
fn scalar_tail(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
