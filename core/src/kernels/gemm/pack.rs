//! Packing: copies a block of A or B into contiguous micro-panels, widening to f32 and padding
//! the ragged edge with zeros, so the microkernel streams through memory with unit stride.
//!
//! A block (rows `i0..i0+mc`, depth `p0..p0+kc`) becomes ⌈mc/MR⌉ panels of `kc × MR` values
//! (depth-major); a B block (depth `p0..p0+kc`, columns `j0..j0+nc`) becomes ⌈nc/NR⌉ panels of
//! `kc × NR` values.

use core::mem::MaybeUninit;

use super::Operand;
use crate::kernels::isa::Dispatch;
use crate::scalar::BulkConvert;

/// Values widened per call of the storage type's bulk conversion while packing A.
const WIDEN_CHUNK: usize = 64;

/// The first `len` values of `buf`, all of which the caller has written.
///
/// # Safety
/// Every element of `buf[..len]` must be initialized, and `len <= buf.len()`.
unsafe fn written(buf: &[MaybeUninit<f32>], len: usize) -> &[f32] {
    // SAFETY: the caller guarantees the prefix is initialized; MaybeUninit<f32> has f32's layout.
    unsafe { core::slice::from_raw_parts(buf.as_ptr().cast::<f32>(), len) }
}

/// Packs A[i0.., p0..] (mc×kc) into `dst` as MR-row panels and returns the packed
/// `⌈mc/MR⌉·MR·kc` values (empty if `dst` is too small to hold them). Rows stored contiguously
/// are widened in bulk with the conversion `dispatch` vouches for.
pub(super) fn pack_a<'d, S: BulkConvert, const MR: usize>(
    dispatch: Dispatch,
    a: &Operand<'_, S>,
    (i0, mc): (usize, usize),
    (p0, kc): (usize, usize),
    dst: &'d mut [MaybeUninit<f32>],
) -> &'d [f32] {
    let panels = mc.div_ceil(MR);
    let mut wide = [0.0f32; WIDEN_CHUNK];
    for panel in 0..panels {
        let row0 = i0 + panel * MR;
        let rows = MR.min(i0 + mc - row0);
        let Some(out) = dst.get_mut(panel * MR * kc..(panel + 1) * MR * kc) else {
            return &[];
        };
        for r in 0..MR {
            // Only rows inside A have an offset: past the last row, `row * row_stride` may not
            // fit in `usize` (the view bounded offsets of real elements only).
            let start = if r < rows {
                (row0 + r)
                    .checked_mul(a.row_stride)
                    .zip(p0.checked_mul(a.col_stride))
                    .and_then(|(row, col)| row.checked_add(col))
            } else {
                None
            };
            let contiguous = a.col_stride == 1 || kc == 1;
            let row = start
                .filter(|_| contiguous)
                .and_then(|start| a.data.get(start..start.checked_add(kc)?));
            match row {
                Some(row) => {
                    for (c, chunk) in row.chunks(WIDEN_CHUNK).enumerate() {
                        let wide = &mut wide[..chunk.len()];
                        S::widen_slice_with(dispatch, chunk, wide);
                        for (q, &v) in wide.iter().enumerate() {
                            if let Some(slot) = out.get_mut((c * WIDEN_CHUNK + q) * MR + r) {
                                slot.write(v);
                            }
                        }
                    }
                }
                None => {
                    for p in 0..kc {
                        let value = start
                            .and_then(|start| start.checked_add(p.checked_mul(a.col_stride)?))
                            .and_then(|at| a.data.get(at))
                            .map_or(0.0, |v| v.to_f32());
                        if let Some(slot) = out.get_mut(p * MR + r) {
                            slot.write(value);
                        }
                    }
                }
            }
        }
    }
    // SAFETY: for every panel, every row r < MR wrote all kc of its slots (p·MR + r), so each
    // of the `panels · MR · kc` values is written.
    unsafe { written(dst, panels * MR * kc) }
}

/// Packs B[p0.., j0..] (kc×nc) into `dst` as NR-column panels and returns the packed
/// `⌈nc/NR⌉·NR·kc` values (empty if `dst` is too small to hold them). Full contiguous panel
/// rows are widened in bulk with the conversion `dispatch` vouches for.
pub(super) fn pack_b<'d, S: BulkConvert, const NR: usize>(
    dispatch: Dispatch,
    b: &Operand<'_, S>,
    (p0, kc): (usize, usize),
    (j0, nc): (usize, usize),
    dst: &'d mut [MaybeUninit<f32>],
) -> &'d [f32] {
    let panels = nc.div_ceil(NR);
    let mut wide = [0.0f32; NR];
    let mut chunks = dst.chunks_exact_mut(NR);
    for panel in 0..panels {
        let col0 = j0 + panel * NR;
        let cols = NR.min(j0 + nc - col0);
        for p in p0..p0 + kc {
            let Some(out) = chunks.next() else {
                return &[];
            };
            let base = p * b.row_stride;
            if b.col_stride == 1 && cols == NR {
                if let Some(src) = b.data.get(base + col0..base + col0 + NR) {
                    S::widen_slice_with(dispatch, src, &mut wide);
                    for (slot, &v) in out.iter_mut().zip(&wide) {
                        slot.write(v);
                    }
                    continue;
                }
            }
            for (j, slot) in out.iter_mut().enumerate() {
                slot.write(if j < cols {
                    b.data
                        .get(base + (col0 + j) * b.col_stride)
                        .map_or(0.0, |v| v.to_f32())
                } else {
                    0.0
                });
            }
        }
    }
    // SAFETY: the loops above wrote all `panels · kc` chunks of NR values, in order.
    unsafe { written(dst, panels * NR * kc) }
}
