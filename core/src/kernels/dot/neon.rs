//! aarch64 dot product with explicit NEON fused multiply-add (`fmla`): LLVM never contracts
//! `a * b + c` on its own, so the portable lanes issue a multiply and an add per element.
//! Eight 4-wide accumulators (32 elements per step) hide the FMA latency; the tail is summed
//! in scalar code.

use core::arch::aarch64::{vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32, vld1q_f32};

/// Σ aᵢ·bᵢ over the common length of `a` and `b`, 32 elements per step in eight 4-wide FMA
/// accumulators, reduced pairwise.
///
/// # Safety
/// The CPU must support NEON (every aarch64 CPU does).
#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_neon(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [vdupq_n_f32(0.0); 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(32), b.chunks_exact(32));
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for (k, s) in acc.iter_mut().enumerate() {
            // SAFETY: x and y hold exactly 32 elements, so lanes 4k..4k+4 (k < 8) are in bounds.
            let (xv, yv) = unsafe {
                (
                    vld1q_f32(x.as_ptr().add(4 * k)),
                    vld1q_f32(y.as_ptr().add(4 * k)),
                )
            };
            *s = vfmaq_f32(*s, xv, yv);
        }
    }
    let [s0, s1, s2, s3, s4, s5, s6, s7] = acc;
    let total = vaddq_f32(
        vaddq_f32(vaddq_f32(s0, s4), vaddq_f32(s1, s5)),
        vaddq_f32(vaddq_f32(s2, s6), vaddq_f32(s3, s7)),
    );
    vaddvq_f32(total) + scalar_tail(tail_a, tail_b)
}

/// Σ aᵢ·bᵢ left to right over the (short) tails.
#[inline(always)]
fn scalar_tail(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
