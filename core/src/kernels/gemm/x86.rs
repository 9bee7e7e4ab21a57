//! x86-64 microkernels with explicit FMA intrinsics, compiled with `#[target_feature]` so the
//! shipped build needs no `-C target-cpu`. The host picks one at run time from CPU detection.
//! No AMX anywhere.
//!
//! - AVX2+FMA: 6×16 tile, 12 ymm accumulators, two B vectors and one broadcast per step.
//! - AVX-512F: 12×32 tile, 24 zmm accumulators, two B vectors, broadcasts folded into the FMA.
//!
//! Each x86 path packs into 352 KiB of stack (A block 96×256, B block 256×256 f32) plus one
//! accumulator tile (1.5 KiB at most), under the 512 KiB bound for hosts.

use core::arch::x86_64::{
    __m256, __m512, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_storeu_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

use super::blocked::{run_on_stack, Blocking};
use super::{Operand, Output};
use crate::kernels::isa::Dispatch;
use crate::scalar::BulkConvert;

const BLOCKING: Blocking = Blocking {
    mc: 96,
    kc: 256,
    nc: 256,
};
const A_SCRATCH: usize = BLOCKING.mc * BLOCKING.kc;
const B_SCRATCH: usize = BLOCKING.kc * BLOCKING.nc;

/// 6×16 AVX2+FMA tile (see [`super::blocked::TileFn`]).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32]) {
    const MR: usize = 6;
    const NR: usize = 16;
    if a.len() < kc * MR || b.len() < kc * NR || acc.len() < MR * NR {
        return;
    }
    let (a, b, out) = (a.as_ptr(), b.as_ptr(), acc.as_mut_ptr());
    let mut sum: [[__m256; 2]; MR] = [[_mm256_setzero_ps(); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, and the panels hold kc·NR and kc·MR values (checked above).
        let (b0, b1) = unsafe {
            (
                _mm256_loadu_ps(b.add(p * NR)),
                _mm256_loadu_ps(b.add(p * NR + 8)),
            )
        };
        for (i, row) in sum.iter_mut().enumerate() {
            // SAFETY: i < MR, so the index is below kc·MR.
            let a_value = _mm256_set1_ps(unsafe { *a.add(p * MR + i) });
            row[0] = _mm256_fmadd_ps(a_value, b0, row[0]);
            row[1] = _mm256_fmadd_ps(a_value, b1, row[1]);
        }
    }
    for (i, row) in sum.iter().enumerate() {
        // SAFETY: acc holds MR·NR values (checked above).
        unsafe {
            _mm256_storeu_ps(out.add(i * NR), row[0]);
            _mm256_storeu_ps(out.add(i * NR + 8), row[1]);
        }
    }
}

/// 12×32 AVX-512F tile (see [`super::blocked::TileFn`]).
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32]) {
    const MR: usize = 12;
    const NR: usize = 32;
    if a.len() < kc * MR || b.len() < kc * NR || acc.len() < MR * NR {
        return;
    }
    let (a, b, out) = (a.as_ptr(), b.as_ptr(), acc.as_mut_ptr());
    let mut sum: [[__m512; 2]; MR] = [[_mm512_setzero_ps(); 2]; MR];
    for p in 0..kc {
        // SAFETY: p < kc, and the panels hold kc·NR and kc·MR values (checked above).
        let (b0, b1) = unsafe {
            (
                _mm512_loadu_ps(b.add(p * NR)),
                _mm512_loadu_ps(b.add(p * NR + 16)),
            )
        };
        for (i, row) in sum.iter_mut().enumerate() {
            // SAFETY: i < MR, so the index is below kc·MR.
            let a_value = _mm512_set1_ps(unsafe { *a.add(p * MR + i) });
            row[0] = _mm512_fmadd_ps(a_value, b0, row[0]);
            row[1] = _mm512_fmadd_ps(a_value, b1, row[1]);
        }
    }
    for (i, row) in sum.iter().enumerate() {
        // SAFETY: acc holds MR·NR values (checked above).
        unsafe {
            _mm512_storeu_ps(out.add(i * NR), row[0]);
            _mm512_storeu_ps(out.add(i * NR + 16), row[1]);
        }
    }
}

/// C ← α·A·B + β·C with the AVX2+FMA microkernel.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
pub(super) unsafe fn gemm_avx2<S: BulkConvert>(
    dispatch: Dispatch,
    alpha: f32,
    a: &Operand<'_, S>,
    b: &Operand<'_, S>,
    beta: f32,
    c: &mut Output<'_>,
) {
    // SAFETY: the caller vouches for AVX2 and FMA.
    unsafe {
        run_on_stack::<S, 6, 16, A_SCRATCH, B_SCRATCH>(
            (dispatch, tile_avx2),
            &BLOCKING,
            (alpha, a, b),
            beta,
            c,
        )
    }
}

/// C ← α·A·B + β·C with the AVX-512F microkernel.
///
/// # Safety
/// The CPU must support AVX-512F.
pub(super) unsafe fn gemm_avx512<S: BulkConvert>(
    dispatch: Dispatch,
    alpha: f32,
    a: &Operand<'_, S>,
    b: &Operand<'_, S>,
    beta: f32,
    c: &mut Output<'_>,
) {
    // SAFETY: the caller vouches for AVX-512F.
    unsafe {
        run_on_stack::<S, 12, 32, A_SCRATCH, B_SCRATCH>(
            (dispatch, tile_avx512),
            &BLOCKING,
            (alpha, a, b),
            beta,
            c,
        )
    }
}
