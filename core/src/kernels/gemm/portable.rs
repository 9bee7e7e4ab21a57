//! The portable microkernel: a 4×8 tile of f32 accumulators in plain Rust, written so LLVM
//! keeps them in vector registers on any target (SSE2 on x86-64, NEON on aarch64; scalar FPU
//! code on a Cortex-M4F). Its blocks keep the stack small enough for a microcontroller: 24 KiB
//! of packing buffers plus a 128-byte accumulator tile, under 25 KiB in all (bound: 32 KiB).

use super::blocked::{run_on_stack, Blocking};
use super::{Operand, Output};
use crate::kernels::isa::Dispatch;
use crate::scalar::BulkConvert;

const MR: usize = 4;
const NR: usize = 8;
const BLOCKING: Blocking = Blocking {
    mc: 32,
    kc: 64,
    nc: 64,
};

/// Stack bytes the portable path uses for packing: (32·64 + 64·64)·4 = 24 KiB.
pub const PORTABLE_SCRATCH_BYTES: usize = (A_SCRATCH + B_SCRATCH) * 4;
const A_SCRATCH: usize = BLOCKING.mc * BLOCKING.kc;
const B_SCRATCH: usize = BLOCKING.kc * BLOCKING.nc;

fn tile(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32]) {
    let mut sum = [[0.0f32; NR]; MR];
    for (a_col, b_row) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        for (sum_row, &a_value) in sum.iter_mut().zip(a_col) {
            for (s, &b_value) in sum_row.iter_mut().zip(b_row) {
                *s += a_value * b_value;
            }
        }
    }
    for (out, sum_row) in acc.chunks_exact_mut(NR).zip(&sum) {
        out.copy_from_slice(sum_row);
    }
}

/// C ← α·A·B + β·C with the portable microkernel.
pub(super) fn gemm<S: BulkConvert>(
    alpha: f32,
    a: &Operand<'_, S>,
    b: &Operand<'_, S>,
    beta: f32,
    c: &mut Output<'_>,
) {
    // SAFETY: the portable tile is plain Rust, safe on every CPU.
    unsafe {
        run_on_stack::<S, MR, NR, A_SCRATCH, B_SCRATCH>(
            (Dispatch::PORTABLE, tile),
            &BLOCKING,
            (alpha, a, b),
            beta,
            c,
        )
    }
}
