//! aarch64 microkernel with explicit NEON fused multiply-add (`fmla` by element), after the
//! classic 8×12 Cortex-A kernel: 24 of the 32 vector registers hold the C tile, and each depth
//! step loads two A vectors and three B vectors and issues 24 `fmla`, taking each A value as a
//! lane of its vector instead of broadcasting it. NEON is part of the aarch64 baseline, so the
//! Dispatch check is a formality there.
//!
//! The path packs into 344 KiB of stack (A block 96×256, B block 256×240 f32) plus one
//! 384-byte accumulator tile, under the 512 KiB bound for hosts.

use core::arch::aarch64::{float32x4_t, vdupq_n_f32, vfmaq_laneq_f32, vld1q_f32, vst1q_f32};

use super::blocked::{run_on_stack, Blocking};
use super::{Operand, Output};
use crate::kernels::isa::Dispatch;
use crate::scalar::BulkConvert;

const MR: usize = 8;
const NR: usize = 12;
const BLOCKING: Blocking = Blocking {
    mc: 96,
    kc: 256,
    nc: 240,
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
    for (a_step, b_step) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        // SAFETY: a_step holds MR = 8 values and b_step NR = 12, so each 4-wide load at
        // offsets 0, 4 (and 8 for B) is in bounds.
        let (a_lo, a_hi, b0, b1, b2) = unsafe {
            (
                vld1q_f32(a_step.as_ptr()),
                vld1q_f32(a_step.as_ptr().add(4)),
                vld1q_f32(b_step.as_ptr()),
                vld1q_f32(b_step.as_ptr().add(4)),
                vld1q_f32(b_step.as_ptr().add(8)),
            )
        };
        // Row i of the tile gains A[i]·B[0..12], A[i] taken as lane L of a_lo or a_hi.
        macro_rules! row {
            ($i:literal, $a:ident, $lane:literal) => {
                sum[$i][0] = vfmaq_laneq_f32::<$lane>(sum[$i][0], b0, $a);
                sum[$i][1] = vfmaq_laneq_f32::<$lane>(sum[$i][1], b1, $a);
                sum[$i][2] = vfmaq_laneq_f32::<$lane>(sum[$i][2], b2, $a);
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
