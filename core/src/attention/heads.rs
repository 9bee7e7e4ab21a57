//! Multi-head attention over caller buffers. Q, K, V and the output are row-major
//! `[seq, heads·dim]` buffers; head h is the strided seq×dim view starting at column h·dim
//! ([`head_view`]), so splitting and merging heads copies nothing.

use super::backward::attention_backward;
use super::spec::AttentionSpec;
use super::streaming::attention;
use crate::error::{ensure_len, Error, Result};
use crate::kernels::Dispatch;
use crate::scalar::{BulkConvert, Scalar};
use crate::tensor::{Shape, TensorView, TensorViewMut};

/// Sizes of a multi-head problem: `heads` heads, L_q = `seq_q` queries, L_k = `seq_k` keys,
/// `head_dim` = d_k per head for Q and K, `value_dim` = d_v per head for V and the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiHead {
    /// Number of heads.
    pub heads: usize,
    /// Query count L_q.
    pub seq_q: usize,
    /// Key (and value) count L_k.
    pub seq_k: usize,
    /// Query/key width per head, d_k.
    pub head_dim: usize,
    /// Value/output width per head, d_v.
    pub value_dim: usize,
}

/// Offset of head `h` and the row width of a `[seq, heads·dim]` buffer of `len` elements.
fn layout(len: usize, seq: usize, heads: usize, dim: usize, h: usize) -> Result<(usize, usize)> {
    if h >= heads {
        return Err(Error::InvalidParameter { name: "head" });
    }
    let width = heads.checked_mul(dim).ok_or(Error::SizeOverflow)?;
    ensure_len(seq.checked_mul(width).ok_or(Error::SizeOverflow)?, len)?;
    Ok((h * dim, width))
}

/// Head `h` of the row-major `[seq, heads·dim]` buffer `data`, as a seq×dim view (row stride
/// heads·dim). Errors: `h ≥ heads` (`InvalidParameter`), a buffer that is not seq·heads·dim
/// long (`ShapeMismatch`).
pub fn head_view<S>(
    data: &[S],
    seq: usize,
    heads: usize,
    dim: usize,
    h: usize,
) -> Result<TensorView<'_, S>> {
    let (offset, width) = layout(data.len(), seq, heads, dim, h)?;
    let tail = data.get(offset..).unwrap_or_default();
    TensorView::with_strides(tail, Shape::matrix(seq, dim)?, [width, 1, 0, 0])
}

/// Head `h` of the row-major `[seq, heads·dim]` buffer `data`, as a mutable seq×dim view.
/// Errors as [`head_view`].
pub fn head_view_mut(
    data: &mut [f32],
    seq: usize,
    heads: usize,
    dim: usize,
    h: usize,
) -> Result<TensorViewMut<'_, f32>> {
    let (offset, width) = layout(data.len(), seq, heads, dim, h)?;
    let tail = data.get_mut(offset..).unwrap_or_default();
    TensorViewMut::with_strides(tail, Shape::matrix(seq, dim)?, [width, 1, 0, 0])
}

/// Workspace f32 count of [`multi_head_attention`]: one head's streaming workspace, reused.
pub const fn multi_head_workspace_len(shape: &MultiHead) -> usize {
    super::streaming::streaming_workspace_len(shape.value_dim)
}

/// Checks that no size of `shape` is zero.
fn ensure_nonempty(shape: &MultiHead) -> Result<()> {
    let sizes = [
        shape.heads,
        shape.seq_q,
        shape.seq_k,
        shape.head_dim,
        shape.value_dim,
    ];
    if sizes.contains(&0) {
        Err(Error::Empty)
    } else {
        Ok(())
    }
}

/// Streaming attention head by head: out `[seq_q, heads·value_dim]` ← for each head h,
/// attention(Q_h, K_h, V_h) with Q `[seq_q, heads·head_dim]`, K `[seq_k, heads·head_dim]` and
/// V `[seq_k, heads·value_dim]`, all row-major. The spec (masks, scale) applies to every head.
/// Errors: as [`attention`], per head, and a buffer of the wrong length (`ShapeMismatch`).
#[allow(clippy::too_many_arguments)]
pub fn multi_head_attention<S: BulkConvert>(
    dispatch: Dispatch,
    spec: &AttentionSpec<'_>,
    shape: &MultiHead,
    q: &[S],
    k: &[S],
    v: &[S],
    out: &mut [f32],
    workspace: &mut [f32],
) -> Result<()> {
    ensure_nonempty(shape)?;
    let MultiHead {
        heads,
        seq_q,
        seq_k,
        head_dim,
        value_dim,
    } = *shape;
    for h in 0..heads {
        attention(
            dispatch,
            spec,
            head_view(q, seq_q, heads, head_dim, h)?,
            head_view(k, seq_k, heads, head_dim, h)?,
            head_view(v, seq_k, heads, value_dim, h)?,
            head_view_mut(out, seq_q, heads, value_dim, h)?,
            workspace,
        )?;
    }
    Ok(())
}

/// Gradients of [`multi_head_attention`]: given d_out `[seq_q, heads·value_dim]`, overwrites
/// dq, dk, dv (f32, laid out as Q, K, V) head by head with [`attention_backward`].
/// Errors as [`attention_backward`], and a buffer of the wrong length (`ShapeMismatch`).
#[allow(clippy::too_many_arguments)]
pub fn multi_head_attention_backward<S: Scalar>(
    spec: &AttentionSpec<'_>,
    shape: &MultiHead,
    (q, k, v): (&[S], &[S], &[S]),
    d_out: &[f32],
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) -> Result<()> {
    ensure_nonempty(shape)?;
    let MultiHead {
        heads,
        seq_q,
        seq_k,
        head_dim,
        value_dim,
    } = *shape;
    for h in 0..heads {
        attention_backward(
            spec,
            head_view(q, seq_q, heads, head_dim, h)?,
            head_view(k, seq_k, heads, head_dim, h)?,
            head_view(v, seq_k, heads, value_dim, h)?,
            head_view(d_out, seq_q, heads, value_dim, h)?,
            head_view_mut(dq, seq_q, heads, head_dim, h)?,
            head_view_mut(dk, seq_k, heads, head_dim, h)?,
            head_view_mut(dv, seq_k, heads, value_dim, h)?,
        )?;
    }
    Ok(())
}
