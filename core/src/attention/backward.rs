//! Gradients of attention, dQ, dK, dV from the output gradient dO, recomputing the scores of
//! each query row key by key (no score matrix and no workspace), in three passes per query:
//! running max m and sum ℓ; D = Σ_j p_j (dO·v_j); then with p_j = e^(s_j − m)/ℓ and
//! ds_j = p_j (dO·v_j − D): dq += scale·ds_j k_j, dk_j += scale·ds_j q, dv_j += p_j dO.

use super::matrix::{Mat, MatMut};
use super::spec::{check, AttentionSpec, Dims};
use crate::error::{ensure_len, Error, Result};
use crate::math::{Exact, Math};
use crate::scalar::Scalar;
use crate::tensor::{TensorView, TensorViewMut};

/// The forward inputs and output gradient, checked.
struct Inputs<'m, 'a, S> {
    spec: &'m AttentionSpec<'a>,
    dims: Dims,
    q: Mat<'m, S>,
    k: Mat<'m, S>,
    v: Mat<'m, S>,
    d_out: Mat<'m, f32>,
}

/// The three gradients being accumulated.
struct Grads<'g> {
    dq: MatMut<'g>,
    dk: MatMut<'g>,
    dv: MatMut<'g>,
}

/// Gradients of out = softmax(scale·Q·Kᵀ, masked)·V (as [`super::attention`] computes it) with
/// respect to Q (L_q×d_k), K (L_k×d_k) and V (L_k×d_v), given dO = ∂loss/∂out (L_q×d_v, f32).
/// `dq`, `dk`, `dv` (f32, shaped as Q, K, V) are overwritten. A query that sees no key adds
/// nothing to any gradient.
///
/// Errors: as the [module](super) lists, dO included; `Err(NonFinite)` (index i·L_k + j) when a
/// score overflows f32.
#[allow(clippy::too_many_arguments)]
pub fn attention_backward<S: Scalar>(
    spec: &AttentionSpec<'_>,
    q: TensorView<'_, S>,
    k: TensorView<'_, S>,
    v: TensorView<'_, S>,
    d_out: TensorView<'_, f32>,
    dq: TensorViewMut<'_, f32>,
    dk: TensorViewMut<'_, f32>,
    dv: TensorViewMut<'_, f32>,
) -> Result<()> {
    let (q, k, v, d_out) = (Mat::new(q)?, Mat::new(k)?, Mat::new(v)?, Mat::new(d_out)?);
    let dims = check(spec, &q, &k, &v, d_out.rows, d_out.cols)?;
    d_out.ensure_finite()?;
    let mut grads = Grads {
        dq: MatMut::new(dq)?,
        dk: MatMut::new(dk)?,
        dv: MatMut::new(dv)?,
    };
    for (grad, like) in [(&grads.dq, &q), (&grads.dk, &k), (&grads.dv, &v)] {
        ensure_len(like.rows, grad.rows)?;
        ensure_len(like.cols, grad.cols)?;
    }
    grads.dq.fill(0.0);
    grads.dk.fill(0.0);
    grads.dv.fill(0.0);
    let inputs = Inputs {
        spec,
        dims,
        q,
        k,
        v,
        d_out,
    };
    for i in 0..dims.lq {
        query_row(&inputs, i, &mut grads)?;
    }
    Ok(())
}

impl<S: Scalar> Inputs<'_, '_, S> {
    /// Score of query `i` against key `j`, or `Err(NonFinite)` if it overflowed.
    fn score(&self, i: usize, j: usize) -> Result<f32> {
        let s = self.dims.scale * self.q.dot_rows(i, &self.k, j);
        if s.is_finite() {
            Ok(s)
        } else {
            Err(Error::NonFinite {
                index: i.saturating_mul(self.dims.lk).saturating_add(j),
            })
        }
    }

    /// The keys query `i` sees.
    fn visible(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.dims.lk).filter(move |&j| self.spec.allows(i, j))
    }

    /// Running maximum and sum of e^(s − max) over the visible keys of query `i`; the sum is 0
    /// when no key is visible.
    fn row_stats(&self, i: usize) -> Result<(f32, f32)> {
        let (mut m, mut l) = (f32::NEG_INFINITY, 0.0f32);
        for j in self.visible(i) {
            let s = self.score(i, j)?;
            if s > m {
                l = l * Exact::exp(m - s) + 1.0;
                m = s;
            } else {
                l += Exact::exp(s - m);
            }
        }
        Ok((m, l))
    }
}

/// Adds the contributions of query `i` to the three gradients.
fn query_row<S: Scalar>(inputs: &Inputs<'_, '_, S>, i: usize, grads: &mut Grads<'_>) -> Result<()> {
    let (m, l) = inputs.row_stats(i)?;
    if l <= 0.0 {
        return Ok(());
    }
    let prob = |j: usize| -> Result<f32> { Ok(Exact::exp(inputs.score(i, j)? - m) / l) };
    let mut weighted = 0.0f32;
    for j in inputs.visible(i) {
        weighted += prob(j)? * inputs.d_out.dot_rows(i, &inputs.v, j);
    }
    let scale = inputs.dims.scale;
    for j in inputs.visible(i) {
        let p = prob(j)?;
        let ds = scale * p * (inputs.d_out.dot_rows(i, &inputs.v, j) - weighted);
        for c in 0..inputs.q.cols {
            grads.dq.add(i, c, ds * inputs.k.at(j, c));
            grads.dk.add(j, c, ds * inputs.q.at(i, c));
        }
        for c in 0..inputs.dims.dv {
            grads.dv.add(j, c, p * inputs.d_out.at(i, c));
        }
    }
    Ok(())
}
