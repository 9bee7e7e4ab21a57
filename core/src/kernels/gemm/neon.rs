//! aarch64 microkernel with explicit NEON fused multiply-add (`fmla` by element), after the
//! classic 8×12 Cortex-A kernel: 24 of the 32 vector registers hold the C tile, and each depth
//! step loads two A vectors and three B vectors (five paired loads per two steps) and issues 24
//! `fmla`, taking each A value as a lane of its vector instead of broadcasting it; the depth
//! loop is unrolled twice, so two steps take 58 instructions for 48 `fmla`. NEON is part of the
//! aarch64 baseline, so the Dispatch check is a formality there.
//!
//! The path packs into 360 KiB of stack (A block 96×256, B block 256×264 f32) plus one
//! 384-byte accumulator tile, under the 512 KiB bound for hosts.

use core::arch::aarch64::{
    float32x4_t, float32x4x2_t, float32x4x3_t, vdupq_n_f32, vfmaq_laneq_f32, vld1q_f32_x2,
    vld1q_f32_x3, vst1q_f32,
};

use super::blocked::{run_on_stack, Blocking};
use super::{Operand, Output};
use crate::kernels::isa::Dispatch;
use crate::scalar::BulkConvert;

const MR: usize = 8;
const NR: usize = 12;
const BLOCKING: Blocking = Blocking {
    mc: 96,
    kc: 256,
    nc: 264,
};
const A_SCRATCH: usize = BLOCKING.mc * BLOCKING.kc;
const B_SCRATCH: usize = BLOCKING.kc * BLOCKING.nc;

/// 8×12 NEON tile (see [`super::blocked::TileFn`]).
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn tile_neon(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32]) {
    if a.len() < kc * MR || b.len() < kc * NR || acc.len() < MR * NR {
        return;
    }
    let mut sum: [[float32x4_t; 3]; MR] = [[vdupq_n_f32(0.0); 3]; MR];
    // One depth step at A + MR·p and B + NR·p: two A vectors and three B vectors loaded, then
    // row i of the tile gains A[i]·B[0..12], A[i] taken as a lane.
    macro_rules! step {
        ($a:expr, $b:expr) => {{
            let float32x4x2_t(a_lo, a_hi) = vld1q_f32_x2($a);
            let float32x4x3_t(b0, b1, b2) = vld1q_f32_x3($b);
            macro_rules! row {
                ($i:literal, $v:ident, $lane:literal) => {
                    sum[$i][0] = vfmaq_laneq_f32::<$lane>(sum[$i][0], b0, $v);
                    sum[$i][1] = vfmaq_laneq_f32::<$lane>(sum[$i][1], b1, $v);
                    sum[$i][2] = vfmaq_laneq_f32::<$lane>(sum[$i][2], b2, $v);
                };
            }
            row!(0, a_lo, 0);
            row!(1, a_lo, 1);
            row!(2, a_lo, 2);
            row!(3, a_lo, 3);
            row!(4, a_hi, 0);
            row!(5, a_hi, 1);
            row!(6, a_hi, 2);
            row!(7, a_hi, 3);
        }};
    }
    let (a, b) = (a.as_ptr(), b.as_ptr());
    // Two steps per iteration halve the loop overhead.
    for pair in 0..kc / 2 {
        // SAFETY: 2·pair + 1 < kc, and the panels hold kc·MR and kc·NR values (checked above),
        // so both steps read inside them.
        unsafe {
            step!(a.add(2 * pair * MR), b.add(2 * pair * NR));
            step!(a.add((2 * pair + 1) * MR), b.add((2 * pair + 1) * NR));
        }
    }
    if kc % 2 == 1 {
        // SAFETY: kc − 1 < kc, inside the panels as above.
        unsafe { step!(a.add((kc - 1) * MR), b.add((kc - 1) * NR)) };
    }
    for (out, row) in acc.chunks_exact_mut(NR).zip(&sum) {
        for (chunk, &v) in out.chunks_exact_mut(4).zip(row) {
            // SAFETY: chunk holds exactly 4 f32.
            unsafe { vst1q_f32(chunk.as_mut_ptr(), v) };
        }
    }
}

/// C ← α·A·B + β·C with the NEON microkernel.
///
/// # Safety
/// The CPU must support NEON.
pub(super) unsafe fn gemm_neon<S: BulkConvert>(
    dispatch: Dispatch,
    alpha: f32,
    a: &Operand<'_, S>,
    b: &Operand<'_, S>,
    beta: f32,
    c: &mut Output<'_>,
) {
    // SAFETY: the caller vouches for NEON.
    unsafe {
        run_on_stack::<S, MR, NR, A_SCRATCH, B_SCRATCH>(
            (dispatch, tile_neon),
            &BLOCKING,
            (alpha, a, b),
            beta,
            c,
        )
    }
}
