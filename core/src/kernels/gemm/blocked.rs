//! The loop nest shared by every ISA: blocks of B (KC×NC) and A (MC×KC) are packed, then each
//! MR×NR tile of C is computed by the ISA's microkernel and merged into C with α and β.

use core::mem::MaybeUninit;

use super::pack::{pack_a, pack_b};
use super::{Operand, Output};
use crate::kernels::isa::Dispatch;
use crate::scalar::BulkConvert;

/// A microkernel: `acc[i·NR + j] = Σ_p a[p·MR + i] · b[p·NR + j]` over `p < kc`, for packed
/// panels `a` (kc×MR) and `b` (kc×NR). Implementations return without writing when a slice is
/// shorter than that.
///
/// Unsafe because the x86 microkernels need CPU features the caller must vouch for.
pub(super) type TileFn = unsafe fn(kc: usize, a: &[f32], b: &[f32], acc: &mut [f32]);

/// Block sizes of one ISA: rows of A per block, depth per block, columns of B per block.
pub(super) struct Blocking {
    pub mc: usize,
    pub kc: usize,
    pub nc: usize,
}

/// Scratch a [`run`] needs: `mc·kc` values for A and `kc·nc` for B (each rounded up to whole
/// micro-panels, which holds when `mc` and `nc` are multiples of MR and NR).
struct Scratch<'s> {
    a: &'s mut [MaybeUninit<f32>],
    b: &'s mut [MaybeUninit<f32>],
}

/// [`run`] with its packing scratch on the stack: `A_LEN` values for A blocks and `B_LEN` for
/// B blocks (at least `mc·kc` and `kc·nc`).
///
/// # Safety
/// `tile` must be safe to call on this CPU, and `dispatch` must match it.
pub(super) unsafe fn run_on_stack<
    S: BulkConvert,
    const MR: usize,
    const NR: usize,
    const A_LEN: usize,
    const B_LEN: usize,
>(
    (dispatch, tile): (Dispatch, TileFn),
    blocking: &Blocking,
    operands: (f32, &Operand<'_, S>, &Operand<'_, S>),
    beta: f32,
    c: &mut Output<'_>,
) {
    let mut a = [MaybeUninit::<f32>::uninit(); A_LEN];
    let mut b = [MaybeUninit::<f32>::uninit(); B_LEN];
    let scratch = Scratch {
        a: &mut a,
        b: &mut b,
    };
    // SAFETY: forwarded from the caller.
    unsafe { run::<S, MR, NR>((dispatch, tile), blocking, operands, beta, c, scratch) }
}

/// C ← α·A·B + β·C through packed blocks and the microkernel `tile`.
///
/// # Safety
/// `tile` must be safe to call on this CPU, and `dispatch` must match it.
unsafe fn run<S: BulkConvert, const MR: usize, const NR: usize>(
    (dispatch, tile): (Dispatch, TileFn),
    blocking: &Blocking,
    (alpha, a, b): (f32, &Operand<'_, S>, &Operand<'_, S>),
    beta: f32,
    c: &mut Output<'_>,
    scratch: Scratch<'_>,
) {
    let (m, n, k) = (c.rows, c.cols, a.cols);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        scale(c, beta);
        return;
    }
    let mut acc = [[0.0f32; NR]; MR];
    let acc = acc.as_flattened_mut();
    for j0 in (0..n).step_by(blocking.nc) {
        let nb = blocking.nc.min(n - j0);
        for p0 in (0..k).step_by(blocking.kc) {
            let kb = blocking.kc.min(k - p0);
            let merge = match (p0, beta) {
                (0, 0.0) => Merge::Overwrite,
                (0, _) => Merge::Scale { beta },
                _ => Merge::Accumulate,
            };
            let b_packed = pack_b::<S, NR>(dispatch, b, (p0, kb), (j0, nb), scratch.b);
            for i0 in (0..m).step_by(blocking.mc) {
                let mb = blocking.mc.min(m - i0);
                let a_packed = pack_a::<S, MR>(dispatch, a, (i0, mb), (p0, kb), scratch.a);
                for (jp, b_panel) in b_packed.chunks_exact(NR * kb).enumerate() {
                    for (ip, a_panel) in a_packed.chunks_exact(MR * kb).enumerate() {
                        // SAFETY: the caller vouches for `tile` on this CPU; the panels hold
                        // kb·MR and kb·NR values and `acc` MR·NR.
                        unsafe { tile(kb, a_panel, b_panel, acc) };
                        let rows = (i0 + ip * MR, MR.min(i0 + mb - (i0 + ip * MR)));
                        let cols = (j0 + jp * NR, NR.min(j0 + nb - (j0 + jp * NR)));
                        merge_tile::<NR>(c, rows, cols, alpha, acc, merge);
                    }
                }
            }
        }
    }
}

/// How a tile's sum enters C: the first depth block overwrites C (β = 0, so NaN in C is
/// ignored) or applies β; later depth blocks add.
#[derive(Clone, Copy)]
enum Merge {
    Overwrite,
    Scale { beta: f32 },
    Accumulate,
}

fn merge_tile<const NR: usize>(
    c: &mut Output<'_>,
    (row0, rows): (usize, usize),
    (col0, cols): (usize, usize),
    alpha: f32,
    acc: &[f32],
    merge: Merge,
) {
    for (r, acc_row) in acc.chunks_exact(NR).take(rows).enumerate() {
        let base = (row0 + r) * c.row_stride;
        for (j, &sum) in acc_row.iter().take(cols).enumerate() {
            let Some(out) = c.data.get_mut(base + (col0 + j) * c.col_stride) else {
                continue;
            };
            *out = match merge {
                Merge::Overwrite => alpha * sum,
                Merge::Scale { beta } => alpha * sum + beta * *out,
                Merge::Accumulate => *out + alpha * sum,
            };
        }
    }
}

/// C ← β·C (β = 0 writes zeros), for k = 0.
fn scale(c: &mut Output<'_>, beta: f32) {
    for i in 0..c.rows {
        for j in 0..c.cols {
            if let Some(out) = c.data.get_mut(i * c.row_stride + j * c.col_stride) {
                *out = if beta == 0.0 { 0.0 } else { beta * *out };
            }
        }
    }
}
