//! Attention in one pass over key blocks with an online softmax (after FlashAttention): per
//! block of [`BLOCK_Q`] queries, each block of [`BLOCK_K`] keys gives scores, the running row
//! maximum m and sum ℓ are updated, the accumulator is rescaled by e^(m_old − m_new) and P·V
//! added. With an AVX-512 or NEON [`Dispatch`] and d_k ≤ d_v the two products are fused register
//! panels (4 rows × 64 columns, K transposed into the V buffer first, so nothing is packed);
//! otherwise they are two calls of the core gemm. The exponentials are one vectorized pass
//! (`exp_vectorizable`) per block row, after one max pass. The L_q×L_k score matrix never
//! exists: the workspace holds one score block, one accumulator block, one V block (or Kᵀ block)
//! and the row statistics, a size set by d_v alone.

use super::matrix::{Mat, MatMut};
use super::spec::{check, AttentionSpec, Dims};
use crate::error::{Error, Result};
use crate::kernels::gemm::{gemm, gemm_mixed};
use crate::kernels::lanes::{exp_vectorizable, max_lanes};
use crate::kernels::Dispatch;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use crate::kernels::Isa;
use crate::math::{Exact, Math};
use crate::scalar::BulkConvert;
use crate::tensor::{TensorView, TensorViewMut};

/// Queries per block.
pub const BLOCK_Q: usize = 64;
/// Keys per block.
pub const BLOCK_K: usize = 128;

/// Workspace f32 count of [`attention`] for value width `d_v`, whatever the sequence lengths:
/// scores BLOCK_Q·BLOCK_K, accumulator BLOCK_Q·d_v, V block BLOCK_K·d_v, max and sum 2·BLOCK_Q
/// (saturating).
pub const fn streaming_workspace_len(d_v: usize) -> usize {
    (BLOCK_Q * BLOCK_K + 2 * BLOCK_Q).saturating_add((BLOCK_Q + BLOCK_K).saturating_mul(d_v))
}

/// The workspace cut into its parts.
struct Blocks<'w> {
    scores: &'w mut [f32],
    acc: &'w mut [f32],
    values: &'w mut [f32],
    max: &'w mut [f32],
    sum: &'w mut [f32],
}

impl<'w> Blocks<'w> {
    fn split(workspace: &'w mut [f32], dv: usize) -> Result<Self> {
        let needed = streaming_workspace_len(dv);
        let available = workspace.len();
        let ws = workspace
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, available })?;
        let (scores, ws) = ws.split_at_mut(BLOCK_Q * BLOCK_K);
        let (acc, ws) = ws.split_at_mut(BLOCK_Q * dv);
        let (values, ws) = ws.split_at_mut(BLOCK_K * dv);
        let (max, ws) = ws.split_at_mut(BLOCK_Q);
        let sum = ws;
        Ok(Blocks {
            scores,
            acc,
            values,
            max,
            sum,
        })
    }
}

/// out (L_q×d_v) ← softmax(scale·Q·Kᵀ, masked)·V for Q (L_q×d_k), K (L_k×d_k), V (L_k×d_v)
/// stored as `S`, accumulated in f32, with the vector instructions of `dispatch`. `workspace`
/// needs [`streaming_workspace_len`]`(d_v)` f32. A query with no visible key gets zeros.
///
/// Errors: as the [module](super) lists, and `Err(NonFinite)` (index i·L_k + j) when a score
/// overflows f32.
pub fn attention<S: BulkConvert>(
    dispatch: Dispatch,
    spec: &AttentionSpec<'_>,
    q: TensorView<'_, S>,
    k: TensorView<'_, S>,
    v: TensorView<'_, S>,
    out: TensorViewMut<'_, f32>,
    workspace: &mut [f32],
) -> Result<()> {
    let (q, k, v) = (Mat::new(q)?, Mat::new(k)?, Mat::new(v)?);
    let mut out = MatMut::new(out)?;
    let dims = check(spec, &q, &k, &v, out.rows, out.cols)?;
    let mut blocks = Blocks::split(workspace, dims.dv)?;
    let mut first = 0;
    while first < dims.lq {
        let count = BLOCK_Q.min(dims.lq - first);
        query_block(
            dispatch,
            spec,
            &dims,
            (&q, &k, &v),
            first,
            count,
            &mut blocks,
        )?;
        finish_block(&dims, first, count, &blocks, &mut out);
        first += count;
    }
    Ok(())
}

/// The first `len` elements of `buf`, or `Err(BufferTooSmall)`.
fn prefix(buf: &mut [f32], len: usize) -> Result<&mut [f32]> {
    let available = buf.len();
    buf.get_mut(..len).ok_or(Error::BufferTooSmall {
        needed: len,
        available,
    })
}

/// Runs every key block for queries `first..first + count`, leaving the unnormalised
/// accumulator, row maxima and row sums in `blocks`.
fn query_block<S: BulkConvert>(
    dispatch: Dispatch,
    spec: &AttentionSpec<'_>,
    dims: &Dims,
    (q, k, v): (&Mat<'_, S>, &Mat<'_, S>, &Mat<'_, S>),
    first: usize,
    count: usize,
    blocks: &mut Blocks<'_>,
) -> Result<()> {
    let dv = dims.dv;
    let max = prefix(blocks.max, count)?;
    let sum = prefix(blocks.sum, count)?;
    let acc = prefix(blocks.acc, count * dv)?;
    max.fill(f32::NEG_INFINITY);
    sum.fill(0.0);
    acc.fill(0.0);
    let queries = q.rows_view(first, count)?;
    let mut key = 0;
    while key < dims.lk {
        let width = BLOCK_K.min(dims.lk - key);
        if spec.any_visible(first..first + count, key..key + width) {
            let scores = prefix(blocks.scores, count * width)?;
            let fused = fused_isa(dispatch) && q.cols * width <= blocks.values.len();
            if fused {
                let kt = prefix(blocks.values, q.cols * width)?;
                transpose_rows(k, key, width, dims.scale, kt);
                products(q, first, kt, width, scores);
            } else {
                gemm_mixed(
                    dispatch,
                    dims.scale,
                    queries,
                    k.rows_view(key, width)?.t()?,
                    0.0,
                    TensorViewMut::matrix(scores, count, width)?,
                )?;
            }
            for (r, row) in scores.chunks_exact_mut(width).enumerate() {
                let stats = (max.get_mut(r), sum.get_mut(r));
                let acc_row = acc.get_mut(r * dv..(r + 1) * dv);
                if let ((Some(m), Some(l)), Some(acc_row)) = (stats, acc_row) {
                    let masked = Masked {
                        dispatch,
                        spec,
                        dims,
                        query: first + r,
                        key,
                    };
                    online_row(&masked, row, m, l, acc_row)?;
                }
            }
            let values = prefix(blocks.values, width * dv)?;
            widen(dispatch, v, key, values);
            if fused {
                accumulate(scores, width, values, dv, acc);
            } else {
                gemm(
                    dispatch,
                    1.0,
                    TensorView::matrix(scores, count, width)?,
                    TensorView::matrix(values, width, dv)?,
                    1.0,
                    TensorViewMut::matrix(acc, count, dv)?,
                )?;
            }
        }
        key += width;
    }
    Ok(())
}

/// Whether `dispatch` takes the fused path ([`products`], [`accumulate`]) rather than the gemm.
fn fused_isa(dispatch: Dispatch) -> bool {
    #[cfg(target_arch = "x86_64")]
    return matches!(dispatch.isa(), Isa::Avx512);
    #[cfg(target_arch = "aarch64")]
    return matches!(dispatch.isa(), Isa::Neon);
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    return {
        let _ = dispatch;
        false
    };
}

/// kt (d_k×width, row-major) ← `scale` × rows `key..key + width` of `k`, transposed.
fn transpose_rows<S: BulkConvert>(
    k: &Mat<'_, S>,
    key: usize,
    width: usize,
    scale: f32,
    kt: &mut [f32],
) {
    let dk = kt.len() / width.max(1);
    let mut j = 0;
    while j < width {
        let n = TRANSPOSE_ROWS.min(width - j);
        for c in 0..dk {
            if let Some(dst) = kt.get_mut(c * width + j..c * width + j + n) {
                for (i, value) in dst.iter_mut().enumerate() {
                    *value = scale * k.at(key + j + i, c);
                }
            }
        }
        j += n;
    }
}

/// Keys read side by side by [`transpose_rows`], so its writes are runs, not single floats.
const TRANSPOSE_ROWS: usize = 8;

/// dst (rows×d_v, row-major) ← rows `first..` of `v` as f32, a row slice at a time where the
/// rows are contiguous.
fn widen<S: BulkConvert>(dispatch: Dispatch, v: &Mat<'_, S>, first: usize, dst: &mut [f32]) {
    let cols = v.cols.max(1);
    for (r, row) in dst.chunks_exact_mut(cols).enumerate() {
        match v.row_slice(first + r) {
            Some(src) if src.len() == row.len() => S::widen_slice_with(dispatch, src, row),
            _ => {
                for (c, value) in row.iter_mut().enumerate() {
                    *value = v.at(first + r, c);
                }
            }
        }
    }
}

/// scores (count×width) ← Q_rows·kt for query rows `first..` and kt = scale·Kᵀ (d_k×width).
/// f32 query rows are read in place; other storage is widened element by element.
fn products<S: BulkConvert>(
    q: &Mat<'_, S>,
    first: usize,
    kt: &[f32],
    width: usize,
    scores: &mut [f32],
) {
    let weight = |r: usize, c: usize| q.at(first + r, c);
    let row = |r: usize| q.row_slice(first + r).and_then(S::as_f32_slice);
    product_rows((&weight, &row), q.cols, kt, width, scores, false);
}

/// acc (count×d_v) += P·V for probabilities P (count×width) and values V (width×d_v).
fn accumulate(p: &[f32], width: usize, v: &[f32], dv: usize, acc: &mut [f32]) {
    let weight = |r: usize, j: usize| p.get(r * width + j).copied().unwrap_or(0.0);
    let row = |r: usize| p.get(r * width..(r + 1) * width);
    product_rows((&weight, &row), width, v, dv, acc, true);
}

/// c (rows×n) ← (c if `add`) + A·B with A(r, t) = `a(r, t)` (rows×steps) and B row-major
/// (steps×n): blocks of [`PANEL_ROWS`]×[`PANEL`] through the AVX-512 or NEON panel, the edges in
/// scalar code. Where `a_row(r)` gives row r of A as a contiguous f32 slice, the panel reads
/// it in place instead of calling `a`.
fn product_rows<'a>(
    (a, a_row): (
        &impl Fn(usize, usize) -> f32,
        &impl Fn(usize) -> Option<&'a [f32]>,
    ),
    steps: usize,
    b: &[f32],
    n: usize,
    c: &mut [f32],
    add: bool,
) {
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = a_row;
    let n = n.max(1);
    let full_cols = n - n % PANEL;
    for (group, rows) in c.chunks_mut(PANEL_ROWS * n).enumerate() {
        let base = group * PANEL_ROWS;
        let row_at = |r: usize, t: usize| a(base + r, t);
        if rows.len() == PANEL_ROWS * n {
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            let slices: [Option<&[f32]>; PANEL_ROWS] =
                core::array::from_fn(|r| a_row(base + r).filter(|row| row.len() >= steps));
            let mut col = 0;
            while col < full_cols {
                #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
                // SAFETY: product_rows runs only for an AVX-512 Dispatch on x86-64 and a NEON
                // one on aarch64 (see `fused_isa`).
                unsafe {
                    if let [Some(r0), Some(r1), Some(r2), Some(r3)] = slices {
                        let in_place = [r0, r1, r2, r3];
                        let at = |r: usize, t: usize| {
                            in_place
                                .get(r)
                                .and_then(|row| row.get(t))
                                .copied()
                                .unwrap_or(0.0)
                        };
                        panel(&at, steps, b, n, col, rows, add);
                    } else {
                        panel(&row_at, steps, b, n, col, rows, add);
                    }
                }
                #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
                scalar_block(&row_at, steps, b, n, col..col + PANEL, rows, add);
                col += PANEL;
            }
        } else {
            scalar_block(&row_at, steps, b, n, 0..0, rows, add);
        }
        if rows.len() == PANEL_ROWS * n {
            scalar_block(&row_at, steps, b, n, full_cols..n, rows, add);
        }
    }
}

/// c columns `cols` (all columns when `cols` is empty) ← (c if `add`) + A·B, scalar code.
fn scalar_block(
    a: &impl Fn(usize, usize) -> f32,
    steps: usize,
    b: &[f32],
    n: usize,
    cols: core::ops::Range<usize>,
    c: &mut [f32],
    add: bool,
) {
    let cols = if cols.is_empty() && cols.start == 0 {
        0..n
    } else {
        cols
    };
    for (r, row) in c.chunks_exact_mut(n).enumerate() {
        for col in cols.clone() {
            let mut sum = 0.0f32;
            for t in 0..steps {
                sum += a(r, t) * b.get(t * n + col).copied().unwrap_or(0.0);
            }
            if let Some(x) = row.get_mut(col) {
                *x = if add { *x + sum } else { sum };
            }
        }
    }
}

/// Rows of one register panel.
const PANEL_ROWS: usize = 4;
/// Columns of one register panel: four AVX-512 registers (sixteen NEON registers, taken as
/// four strips of four).
const PANEL: usize = 64;

/// The register panel of this architecture.
#[cfg(target_arch = "x86_64")]
use panel_avx512 as panel;
#[cfg(target_arch = "aarch64")]
use panel_neon as panel;

/// One [`PANEL_ROWS`]×[`PANEL`] block of c (rows×n, row-major) at column `col`:
/// c ← (c if `add`) + Σ_t a(r, t)·B[t, col..col + PANEL], sixteen accumulators in registers.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn panel_avx512(
    a: &impl Fn(usize, usize) -> f32,
    steps: usize,
    b: &[f32],
    n: usize,
    col: usize,
    c: &mut [f32],
    add: bool,
) {
    use core::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };
    let mut acc = [[_mm512_setzero_ps(); 4]; PANEL_ROWS];
    if add {
        for (r, lanes) in acc.iter_mut().enumerate() {
            if let Some(src) = panel_of(c, r * n + col) {
                for (v, chunk) in lanes.iter_mut().zip(src.chunks_exact(16)) {
                    // SAFETY: chunk holds 16 f32.
                    *v = unsafe { _mm512_loadu_ps(chunk.as_ptr()) };
                }
            }
        }
    }
    for t in 0..steps {
        let Some(src) = panel_of(b, t * n + col) else {
            break;
        };
        let mut bv: [__m512; 4] = [_mm512_setzero_ps(); 4];
        for (v, chunk) in bv.iter_mut().zip(src.chunks_exact(16)) {
            // SAFETY: chunk holds 16 f32.
            *v = unsafe { _mm512_loadu_ps(chunk.as_ptr()) };
        }
        for (r, lanes) in acc.iter_mut().enumerate() {
            let w = _mm512_set1_ps(a(r, t));
            for (v, &x) in lanes.iter_mut().zip(bv.iter()) {
                *v = _mm512_fmadd_ps(w, x, *v);
            }
        }
    }
    for (r, lanes) in acc.iter().enumerate() {
        if let Some(dst) = c.get_mut(r * n + col..r * n + col + PANEL) {
            for (v, chunk) in lanes.iter().zip(dst.chunks_exact_mut(16)) {
                // SAFETY: chunk holds 16 f32.
                unsafe { _mm512_storeu_ps(chunk.as_mut_ptr(), *v) };
            }
        }
    }
}

/// One [`PANEL_ROWS`]×[`PANEL`] block of c (rows×n, row-major) at column `col`, as
/// [`panel_avx512`] computes it, in four strips of 16 columns: per strip sixteen NEON
/// accumulators (4 rows × 4 vectors) and four B vectors stay in registers over all steps.
///
/// # Safety
/// The CPU must support NEON.
#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn panel_neon(
    a: &impl Fn(usize, usize) -> f32,
    steps: usize,
    b: &[f32],
    n: usize,
    col: usize,
    c: &mut [f32],
    add: bool,
) {
    use core::arch::aarch64::{float32x4_t, vdupq_n_f32, vfmaq_n_f32, vld1q_f32, vst1q_f32};
    const STRIP: usize = 16;
    for strip in (col..col + PANEL).step_by(STRIP) {
        let mut acc: [[float32x4_t; 4]; PANEL_ROWS] = [[vdupq_n_f32(0.0); 4]; PANEL_ROWS];
        if add {
            for (r, lanes) in acc.iter_mut().enumerate() {
                if let Some(src) = c.get(r * n + strip..r * n + strip + STRIP) {
                    for (v, chunk) in lanes.iter_mut().zip(src.chunks_exact(4)) {
                        // SAFETY: chunk holds 4 f32.
                        *v = unsafe { vld1q_f32(chunk.as_ptr()) };
                    }
                }
            }
        }
        for t in 0..steps {
            let Some(src) = b.get(t * n + strip..t * n + strip + STRIP) else {
                break;
            };
            let mut bv: [float32x4_t; 4] = [vdupq_n_f32(0.0); 4];
            for (v, chunk) in bv.iter_mut().zip(src.chunks_exact(4)) {
                // SAFETY: chunk holds 4 f32.
                *v = unsafe { vld1q_f32(chunk.as_ptr()) };
            }
            for (r, lanes) in acc.iter_mut().enumerate() {
                let w = a(r, t);
                for (v, &x) in lanes.iter_mut().zip(bv.iter()) {
                    *v = vfmaq_n_f32(*v, x, w);
                }
            }
        }
        for (r, lanes) in acc.iter().enumerate() {
            if let Some(dst) = c.get_mut(r * n + strip..r * n + strip + STRIP) {
                for (v, chunk) in lanes.iter().zip(dst.chunks_exact_mut(4)) {
                    // SAFETY: chunk holds 4 f32.
                    unsafe { vst1q_f32(chunk.as_mut_ptr(), *v) };
                }
            }
        }
    }
}

/// The [`PANEL`] values of `x` from `start`, if all are there.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn panel_of(x: &[f32], start: usize) -> Option<&[f32]> {
    x.get(start..start.checked_add(PANEL)?)
}

/// Which query one score row belongs to and at which key its block starts.
struct Masked<'s, 'a> {
    dispatch: Dispatch,
    spec: &'s AttentionSpec<'a>,
    dims: &'s Dims,
    query: usize,
    key: usize,
}

/// Online-softmax step for one query over one key block: masks `row` (scores in, unnormalised
/// probabilities e^(s − m_new) out), updates the running max `m` and sum `l`, and rescales the
/// accumulator row by e^(m_old − m_new). A fully masked block leaves all three unchanged.
///
/// One pass finds the block maximum, a second writes e^(s − m_new) with the vectorized
/// [`exp_vectorizable`] and sums it in lanes. A score of +∞ shows in the maximum and a NaN in
/// the sum, so no separate scan is needed; either is `Err(NonFinite)` at its index.
fn online_row(
    at: &Masked<'_, '_>,
    row: &mut [f32],
    m: &mut f32,
    l: &mut f32,
    acc_row: &mut [f32],
) -> Result<()> {
    let keys = at.key..at.key + row.len();
    if !at.spec.all_visible(at.query, keys.clone()) {
        for (s, key) in row.iter_mut().zip(keys) {
            if !at.spec.allows(at.query, key) {
                *s = f32::NEG_INFINITY;
            }
        }
        if row.iter().all(|&s| s == f32::NEG_INFINITY) {
            row.fill(0.0);
            return Ok(());
        }
    }
    let (block_max, new_max, block_sum) = block_stats(at.dispatch, row, *m);
    if block_max == f32::INFINITY || block_sum.is_nan() {
        return Err(non_finite(at, row));
    }
    let rescale = Exact::exp(*m - new_max);
    *l = *l * rescale + block_sum;
    *m = new_max;
    if rescale != 1.0 {
        for a in acc_row.iter_mut() {
            *a *= rescale;
        }
    }
    Ok(())
}

/// `Err(NonFinite)` at the flat score index of the first NaN or +∞ in `row` (after
/// [`exp_sum`] a NaN score is still NaN and +∞ gives NaN).
fn non_finite(at: &Masked<'_, '_>, row: &[f32]) -> Error {
    let offset = row.iter().position(|s| s.is_nan()).unwrap_or(0);
    Error::NonFinite {
        index: at
            .query
            .saturating_mul(at.dims.lk)
            .saturating_add(at.key + offset),
    }
}

/// The block maximum b of `row`, the new running maximum max(`m`, b), and Σ e^(s − max) with
/// `row` overwritten by those exponentials, compiled for the widest vectors `dispatch` allows.
fn block_stats(dispatch: Dispatch, row: &mut [f32], m: f32) -> (f32, f32, f32) {
    match dispatch.isa() {
        // SAFETY: a Dispatch for these variants certifies the CPU has their features.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { block_stats_avx512(row, m) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { block_stats_avx2(row, m) },
        // NEON is part of the aarch64 baseline: the generic code is compiled with it already.
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => block_stats_generic(row, m),
        _ => block_stats_generic(row, m),
    }
}

/// [`block_stats_generic`] with AVX-512 enabled.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_stats_avx512(row: &mut [f32], m: f32) -> (f32, f32, f32) {
    block_stats_generic(row, m)
}

/// [`block_stats_generic`] with AVX2 and FMA enabled.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_stats_avx2(row: &mut [f32], m: f32) -> (f32, f32, f32) {
    block_stats_generic(row, m)
}

/// What [`block_stats`] returns, in portable code.
#[inline(always)]
fn block_stats_generic(row: &mut [f32], m: f32) -> (f32, f32, f32) {
    let block_max = max_lanes(row);
    let new_max = m.max(block_max);
    (block_max, new_max, exp_sum(row, new_max))
}

/// row ← e^(row − max) elementwise; returns the sum, in [`LANES`] lanes.
#[inline(always)]
fn exp_sum(row: &mut [f32], max: f32) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (lane, s) in lanes.iter_mut().zip(chunk.iter_mut()) {
            *s = exp_vectorizable(*s - max);
            *lane += *s;
        }
    }
    let mut total = lanes.iter().sum::<f32>();
    for s in chunks.into_remainder() {
        *s = exp_vectorizable(*s - max);
        total += *s;
    }
    total
}

/// Lanes of [`exp_sum`]: one AVX-512 register of f32.
const LANES: usize = 16;

/// out rows `first..first + count` ← accumulator / row sum (zeros where no key was visible).
fn finish_block(
    dims: &Dims,
    first: usize,
    count: usize,
    blocks: &Blocks<'_>,
    out: &mut MatMut<'_>,
) {
    let dv = dims.dv;
    for (r, (acc_row, &l)) in blocks
        .acc
        .chunks_exact(dv)
        .zip(blocks.sum.iter())
        .take(count)
        .enumerate()
    {
        let inverse = if l > 0.0 { 1.0 / l } else { 0.0 };
        for (c, &a) in acc_row.iter().enumerate() {
            out.set(first + r, c, a * inverse);
        }
    }
}
