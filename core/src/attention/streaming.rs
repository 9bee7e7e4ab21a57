//! Attention in one pass over key blocks with an online softmax (after FlashAttention): per
//! block of [`BLOCK_Q`] queries, each block of [`BLOCK_K`] keys gives scores (one gemm), the
//! running row maximum m and sum ℓ are updated, the accumulator is rescaled by e^(m_old − m_new)
//! and P·V added (a second gemm); the exponentials are the vectorized kernel softmax of each
//! block row, rescaled. The L_q×L_k score matrix never exists: the workspace holds
//! one score block, one accumulator block, one widened V block and the row statistics, a size
//! set by d_v alone.

use super::matrix::{Mat, MatMut};
use super::spec::{check, AttentionSpec, Dims};
use crate::error::{Error, Result};
use crate::kernels::gemm::{gemm, gemm_mixed};
use crate::kernels::softmax::softmax;
use crate::kernels::Dispatch;
use crate::math::{Exact, Math};
use crate::scalar::BulkConvert;
use crate::tensor::{TensorView, TensorViewMut};

/// Queries per block.
pub const BLOCK_Q: usize = 64;
/// Keys per block.
pub const BLOCK_K: usize = 128;

/// Workspace f32 count of [`attention`] for value width `d_v`, whatever the sequence lengths:
/// scores BLOCK_Q·BLOCK_K, accumulator BLOCK_Q·d_v, V block BLOCK_K·d_v, max and sum 2·BLOCK_Q,
/// one softmax row BLOCK_K (saturating).
pub const fn streaming_workspace_len(d_v: usize) -> usize {
    (BLOCK_Q * BLOCK_K + 2 * BLOCK_Q + BLOCK_K)
        .saturating_add((BLOCK_Q + BLOCK_K).saturating_mul(d_v))
}

/// The workspace cut into its parts.
struct Blocks<'w> {
    scores: &'w mut [f32],
    acc: &'w mut [f32],
    values: &'w mut [f32],
    max: &'w mut [f32],
    sum: &'w mut [f32],
    probs: &'w mut [f32],
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
        let (sum, probs) = ws.split_at_mut(BLOCK_Q);
        Ok(Blocks {
            scores,
            acc,
            values,
            max,
            sum,
            probs,
        })
    }
}

/// out (L_q×d_v) ← softmax(scale·Q·Kᵀ, masked)·V for Q (L_q×d_k), K (L_k×d_k), V (L_k×d_v)
/// stored as `S`, accumulated in f32, with the gemm microkernel of `dispatch`. `workspace`
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
            gemm_mixed(
                dispatch,
                dims.scale,
                queries,
                k.rows_view(key, width)?.t()?,
                0.0,
                TensorViewMut::matrix(scores, count, width)?,
            )?;
            for (r, row) in scores.chunks_exact_mut(width).enumerate() {
                let stats = (max.get_mut(r), sum.get_mut(r));
                let acc_row = acc.get_mut(r * dv..(r + 1) * dv);
                if let ((Some(m), Some(l)), Some(acc_row)) = (stats, acc_row) {
                    let masked = Masked {
                        spec,
                        dims,
                        query: first + r,
                        key,
                    };
                    online_row(&masked, row, blocks.probs, m, l, acc_row)?;
                }
            }
            let values = prefix(blocks.values, width * dv)?;
            v.widen_rows(key, values);
            gemm(
                dispatch,
                1.0,
                TensorView::matrix(scores, count, width)?,
                TensorView::matrix(values, width, dv)?,
                1.0,
                TensorViewMut::matrix(acc, count, dv)?,
            )?;
        }
        key += width;
    }
    Ok(())
}

/// Which query one score row belongs to and at which key its block starts.
struct Masked<'s, 'a> {
    spec: &'s AttentionSpec<'a>,
    dims: &'s Dims,
    query: usize,
    key: usize,
}

/// Online-softmax step for one query over one key block: masks `row` (scores in, unnormalised
/// probabilities e^(s − m_new) out), updates the running max `m` and sum `l`, and rescales the
/// accumulator row by e^(m_old − m_new). A fully masked block leaves all three unchanged.
///
/// The exponentials come from the vectorized [`softmax`] of the block into `probs`:
/// p̃_j = e^(s_j − b)/Σ with b the block maximum, and p̃ at the maximum is 1/Σ, so
/// e^(s_j − m_new) = p̃_j · e^(b − m_new) / p̃_max.
fn online_row(
    at: &Masked<'_, '_>,
    row: &mut [f32],
    probs: &mut [f32],
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
    let probs = prefix(probs, row.len())?;
    softmax(row, probs).map_err(|e| match e {
        Error::NonFinite { index } => Error::NonFinite {
            index: at
                .query
                .saturating_mul(at.dims.lk)
                .saturating_add(at.key + index),
        },
        other => other,
    })?;
    let block_max = lane_fold(row, f32::NEG_INFINITY, f32::max);
    let at_max = lane_fold(probs, 0.0, f32::max);
    let new_max = m.max(block_max);
    let rescale = Exact::exp(*m - new_max);
    let weight = Exact::exp(block_max - new_max) / at_max;
    for (s, &p) in row.iter_mut().zip(probs.iter()) {
        *s = p * weight;
    }
    let block_sum = lane_fold(row, 0.0, |a, b| a + b);
    *l = *l * rescale + block_sum;
    *m = new_max;
    if rescale != 1.0 {
        for a in acc_row.iter_mut() {
            *a *= rescale;
        }
    }
    Ok(())
}

/// Folds `x` with `op` in [`LANES`] independent lanes (so the loop vectorizes), then across
/// the lanes.
fn lane_fold(x: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = op(*lane, v);
        }
    }
    let across = lanes.iter().fold(init, |a, &b| op(a, b));
    tail.iter().fold(across, |a, &b| op(a, b))
}

/// Lanes of [`lane_fold`]: one AVX-512 register of f32.
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
