//! The definition of attention: every score of the L_q×L_k matrix in the workspace, a
//! max-subtracted softmax per row, then the weighted sum of V. Simple loops, for the tests to
//! trust; [`super::streaming`] is the fast form.

use super::matrix::{Mat, MatMut};
use super::spec::{check, AttentionSpec};
use crate::error::{Error, Result};
use crate::kernels::softmax::softmax_reference;
use crate::scalar::Scalar;
use crate::tensor::{TensorView, TensorViewMut};

/// Workspace f32 count of [`attention_reference`]: the full L_q×L_k probability matrix plus
/// one row of logits, (L_q + 1)·L_k (saturating).
pub const fn reference_workspace_len(lq: usize, lk: usize) -> usize {
    lq.saturating_add(1).saturating_mul(lk)
}

/// out (L_q×d_v) ← softmax(scale·Q·Kᵀ, masked)·V for Q (L_q×d_k), K (L_k×d_k), V (L_k×d_v),
/// keeping every probability in `workspace` (at least [`reference_workspace_len`]`(L_q, L_k)`
/// f32). Masked scores are −∞ before the softmax; a query with no visible key gets zeros.
///
/// Errors: as the [module](super) lists.
pub fn attention_reference<S: Scalar>(
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
    let needed = reference_workspace_len(dims.lq, dims.lk);
    let available = workspace.len();
    let (logits, probs) = workspace
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed, available })?
        .split_at_mut(dims.lk);
    for (i, row) in probs.chunks_exact_mut(dims.lk).enumerate() {
        for (j, s) in logits.iter_mut().enumerate() {
            *s = if spec.allows(i, j) {
                dims.scale * q.dot_rows(i, &k, j)
            } else {
                f32::NEG_INFINITY
            };
        }
        if logits.iter().all(|&s| s == f32::NEG_INFINITY) {
            row.fill(0.0);
        } else {
            softmax_reference(logits, row)?;
        }
        for c in 0..dims.dv {
            let sum = row.iter().enumerate().map(|(j, &p)| p * v.at(j, c)).sum();
            out.set(i, c, sum);
        }
    }
    Ok(())
}
