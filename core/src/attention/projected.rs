//! Multi-head attention with learned projections, as a layer of its own:
//! out = MHA(X_q·W_q, X_kv·W_k, X_kv·W_v)·W_o, where X_q is L_q×d (queries), X_kv is L_k×d
//! (the memory; X_q itself for self-attention), W_q, W_k, W_v are d×(h·d_h), W_o is
//! (h·d_h)×d, and MHA runs [`multi_head_attention`] over h heads of width d_h. The projections
//! are core gemm calls; the heads are strided views of the projected buffers (no copies).
//! Parameters live in one caller slice (layout in [`ProjectedAttention::param_len`]) and
//! [`ProjectedAttention::backward`] returns gradients in the same layout, for any optimizer.

use core::ops::Range;

use super::buffers::{carve, linear_backward, mat, mm, part, part_mut, total, Cursor};
use super::heads::{multi_head_attention, multi_head_attention_backward, MultiHead};
use super::spec::AttentionSpec;
use super::streaming::streaming_workspace_len;
use crate::error::{ensure_finite, ensure_len, Error, Result};
use crate::kernels::Dispatch;
use crate::math::{Exact, Math};
use crate::rng::Rng;

/// Sizes of a projected multi-head attention layer: model width d, `heads` heads of width
/// `head_dim` (so the projected width is heads·head_dim, which need not equal d).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectedAttention {
    d_model: usize,
    heads: usize,
    head_dim: usize,
}

/// The inputs of the layer: one L×d sequence attending to itself, or L_q×d queries attending
/// to an L_k×d memory (cross-attention). Both row-major f32.
#[derive(Debug, Clone, Copy)]
pub enum Sources<'a> {
    /// Self-attention: queries, keys and values all come from this sequence.
    SelfAttention(&'a [f32]),
    /// Cross-attention: queries from `queries`, keys and values from `memory`.
    Cross {
        /// The L_q×d query sequence.
        queries: &'a [f32],
        /// The L_k×d sequence keys and values are projected from.
        memory: &'a [f32],
    },
}

impl<'a> Sources<'a> {
    /// The sequence the queries are projected from.
    fn queries(&self) -> &'a [f32] {
        match *self {
            Sources::SelfAttention(x) => x,
            Sources::Cross { queries, .. } => queries,
        }
    }

    /// The sequence the keys and values are projected from.
    fn memory(&self) -> &'a [f32] {
        match *self {
            Sources::SelfAttention(x) => x,
            Sources::Cross { memory, .. } => memory,
        }
    }
}

/// Ranges of W_q, W_k, W_v and W_o in the flat parameter slice.
struct Ranges {
    wq: Range<usize>,
    wk: Range<usize>,
    wv: Range<usize>,
    wo: Range<usize>,
}

/// Forward intermediates the backward pass reuses: the projected Q (L_q×h·d_h), K and V
/// (L_k×h·d_h), the merged heads before W_o (L_q×h·d_h), and the streaming workspace.
pub(super) struct Cache<'w> {
    pub(super) q: &'w mut [f32],
    pub(super) k: &'w mut [f32],
    pub(super) v: &'w mut [f32],
    pub(super) att: &'w mut [f32],
    pub(super) stream: &'w mut [f32],
}

impl<'w> Cache<'w> {
    /// Carves a cache for `seq_q` queries and `seq_k` keys out of `workspace`.
    pub(super) fn carve(
        layer: &ProjectedAttention,
        seq_q: usize,
        seq_k: usize,
        workspace: &'w mut [f32],
    ) -> Result<Self> {
        let [q, k, v, att, stream] = carve(workspace, layer.cache_lens(seq_q, seq_k))?;
        Ok(Cache {
            q,
            k,
            v,
            att,
            stream,
        })
    }
}

/// The backward pass's gradient buffers: of the merged heads (L_q×h·d_h) and of the projected
/// Q (L_q×h·d_h), K and V (L_k×h·d_h).
pub(super) struct GradScratch<'w> {
    pub(super) att: &'w mut [f32],
    pub(super) q: &'w mut [f32],
    pub(super) k: &'w mut [f32],
    pub(super) v: &'w mut [f32],
}

impl ProjectedAttention {
    /// A layer of width `d_model` with `heads` heads of width `head_dim`. Errors: a zero size
    /// (`Empty`), sizes whose parameter count overflows (`SizeOverflow`).
    pub fn new(d_model: usize, heads: usize, head_dim: usize) -> Result<Self> {
        if d_model == 0 || heads == 0 || head_dim == 0 {
            return Err(Error::Empty);
        }
        let layer = ProjectedAttention {
            d_model,
            heads,
            head_dim,
        };
        layer.ranges()?;
        Ok(layer)
    }

    /// Projected width h·d_h (at most `usize::MAX`; `new` checked that it fits).
    pub fn inner_width(&self) -> usize {
        self.heads.saturating_mul(self.head_dim)
    }

    fn ranges(&self) -> Result<Ranges> {
        let inner = self
            .heads
            .checked_mul(self.head_dim)
            .ok_or(Error::SizeOverflow)?;
        let di = self.d_model.checked_mul(inner).ok_or(Error::SizeOverflow)?;
        let mut c = Cursor(0);
        Ok(Ranges {
            wq: c.take(di)?,
            wk: c.take(di)?,
            wv: c.take(di)?,
            wo: c.take(di)?,
        })
    }

    /// Parameter count, laid out in this order: W_q, W_k, W_v (d×h·d_h each) and W_o (h·d_h×d),
    /// all row-major and applied as x·W.
    pub fn param_len(&self) -> usize {
        self.ranges().map_or(usize::MAX, |r| r.wo.end)
    }

    /// The attention shape for `seq_q` queries and `seq_k` keys.
    fn shape(&self, seq_q: usize, seq_k: usize) -> MultiHead {
        MultiHead {
            heads: self.heads,
            seq_q,
            seq_k,
            head_dim: self.head_dim,
            value_dim: self.head_dim,
        }
    }

    /// Lengths of the cache parts (Q, K, V, merged heads, streaming workspace).
    fn cache_lens(&self, seq_q: usize, seq_k: usize) -> [usize; 5] {
        let inner = self.inner_width();
        let lq = seq_q.saturating_mul(inner);
        let lk = seq_k.saturating_mul(inner);
        [lq, lk, lk, lq, streaming_workspace_len(self.head_dim)]
    }

    /// Lengths of the backward gradient buffers (merged heads, Q, K, V).
    fn grad_lens(&self, seq_q: usize, seq_k: usize) -> [usize; 4] {
        let inner = self.inner_width();
        let lq = seq_q.saturating_mul(inner);
        let lk = seq_k.saturating_mul(inner);
        [lq, lq, lk, lk]
    }

    /// Workspace f32 count of [`ProjectedAttention::forward`] for `seq_q` queries and `seq_k`
    /// keys (saturating): the projected Q, K, V, the merged heads, and one streaming workspace.
    pub fn forward_workspace_len(&self, seq_q: usize, seq_k: usize) -> usize {
        total(&self.cache_lens(seq_q, seq_k))
    }

    /// Workspace f32 count of [`ProjectedAttention::backward`] (saturating): the forward's plus
    /// two L_q×h·d_h and two L_k×h·d_h gradient buffers.
    pub fn backward_workspace_len(&self, seq_q: usize, seq_k: usize) -> usize {
        self.forward_workspace_len(seq_q, seq_k)
            .saturating_add(total(&self.grad_lens(seq_q, seq_k)))
    }

    /// Fills `params` (length [`ProjectedAttention::param_len`]) with Xavier-uniform weights,
    /// ±√(6/(fan_in + fan_out)), drawn in the order W_q, W_k, W_v, W_o.
    pub fn init(&self, params: &mut [f32], rng: &mut Rng) -> Result<()> {
        let r = self.ranges()?;
        ensure_len(r.wo.end, params.len())?;
        let (d, inner) = (self.d_model, self.inner_width());
        for (range, fan_in, fan_out) in [
            (&r.wq, d, inner),
            (&r.wk, d, inner),
            (&r.wv, d, inner),
            (&r.wo, inner, d),
        ] {
            let limit = Exact::sqrt(6.0 / (fan_in as f32 + fan_out as f32));
            for w in part_mut(params, range)? {
                *w = rng.uniform(-limit, limit);
            }
        }
        Ok(())
    }

    /// Row count of a non-empty `x` whose length is a multiple of d.
    fn rows(&self, x: &[f32]) -> Result<usize> {
        if x.is_empty() {
            return Err(Error::Empty);
        }
        ensure_len(0, x.len() % self.d_model)?;
        Ok(x.len() / self.d_model)
    }

    /// Checks params and inputs; returns (ranges, L_q, L_k).
    fn check(&self, params: &[f32], sources: &Sources<'_>) -> Result<(Ranges, usize, usize)> {
        let ranges = self.ranges()?;
        ensure_len(ranges.wo.end, params.len())?;
        let seq_q = self.rows(sources.queries())?;
        let seq_k = self.rows(sources.memory())?;
        ensure_finite(params)?;
        ensure_finite(sources.queries())?;
        ensure_finite(sources.memory())?;
        Ok((ranges, seq_q, seq_k))
    }

    /// out (L_q×d) ← β·out + MHA(x_q·W_q, x_kv·W_k, x_kv·W_v)·W_o, filling `cache`. The
    /// caller checked every length and value.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward_cached(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        params: &[f32],
        (x_q, x_kv): (&[f32], &[f32]),
        cache: &mut Cache<'_>,
        beta: f32,
        out: &mut [f32],
    ) -> Result<()> {
        let r = self.ranges()?;
        let (d, inner) = (self.d_model, self.inner_width());
        let (seq_q, seq_k) = (self.rows(x_q)?, self.rows(x_kv)?);
        for (w, x, seq, dst) in [
            (&r.wq, x_q, seq_q, &mut *cache.q),
            (&r.wk, x_kv, seq_k, &mut *cache.k),
            (&r.wv, x_kv, seq_k, &mut *cache.v),
        ] {
            mm(
                dispatch,
                mat(x, seq, d)?,
                mat(part(params, w)?, d, inner)?,
                0.0,
                dst,
            )?;
        }
        multi_head_attention(
            dispatch,
            spec,
            &self.shape(seq_q, seq_k),
            cache.q,
            cache.k,
            cache.v,
            cache.att,
            cache.stream,
        )?;
        let wo = mat(part(params, &r.wo)?, inner, d)?;
        mm(dispatch, mat(cache.att, seq_q, inner)?, wo, beta, out)
    }

    /// Gradients from d_out (L_q×d) given the `cache` that [`Self::forward_cached`] filled for
    /// the same inputs: `d_params` (this layer's layout) and `d_xq` are overwritten; the
    /// memory's gradient goes to `d_xkv`, or is added to `d_xq` when it is `None`
    /// (self-attention, where x_kv is x_q).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn backward_cached(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        params: &[f32],
        (x_q, x_kv): (&[f32], &[f32]),
        cache: &Cache<'_>,
        d_out: &[f32],
        g: GradScratch<'_>,
        (d_xq, d_xkv): (&mut [f32], Option<&mut [f32]>),
        d_params: &mut [f32],
    ) -> Result<()> {
        let r = self.ranges()?;
        let (d, inner) = (self.d_model, self.inner_width());
        let (seq_q, seq_k) = (self.rows(x_q)?, self.rows(x_kv)?);
        linear_backward(
            dispatch,
            (&*cache.att, part(params, &r.wo)?),
            (seq_q, inner, d),
            d_out,
            part_mut(d_params, &r.wo)?,
            g.att,
        )?;
        multi_head_attention_backward(
            spec,
            &self.shape(seq_q, seq_k),
            (&*cache.q, &*cache.k, &*cache.v),
            g.att,
            g.q,
            g.k,
            g.v,
        )?;
        for (w, x, seq, grad) in [
            (&r.wq, x_q, seq_q, &*g.q),
            (&r.wk, x_kv, seq_k, &*g.k),
            (&r.wv, x_kv, seq_k, &*g.v),
        ] {
            mm(
                dispatch,
                mat(x, seq, d)?.t()?,
                mat(grad, seq, inner)?,
                0.0,
                part_mut(d_params, w)?,
            )?;
        }
        let projection_t = |w: &Range<usize>| mat(part(params, w)?, d, inner)?.t();
        mm(
            dispatch,
            mat(g.q, seq_q, inner)?,
            projection_t(&r.wq)?,
            0.0,
            d_xq,
        )?;
        let (d_memory, beta) = match d_xkv {
            Some(buffer) => (buffer, 0.0),
            None => (d_xq, 1.0),
        };
        mm(
            dispatch,
            mat(g.k, seq_k, inner)?,
            projection_t(&r.wk)?,
            beta,
            d_memory,
        )?;
        mm(
            dispatch,
            mat(g.v, seq_k, inner)?,
            projection_t(&r.wv)?,
            1.0,
            d_memory,
        )
    }

    /// out (L_q×d) ← the layer applied to `sources`, with attention masked by `spec` (its
    /// masks index the L_k memory rows); `workspace` needs
    /// [`ProjectedAttention::forward_workspace_len`]`(L_q, L_k)` f32. Errors: `Empty`,
    /// `ShapeMismatch` (params, an input or out of the wrong length), `NonFinite` (params or
    /// inputs), `BufferTooSmall`, and those of the attention.
    pub fn forward(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        params: &[f32],
        sources: Sources<'_>,
        out: &mut [f32],
        workspace: &mut [f32],
    ) -> Result<()> {
        let (_, seq_q, seq_k) = self.check(params, &sources)?;
        ensure_len(sources.queries().len(), out.len())?;
        let mut cache = Cache::carve(self, seq_q, seq_k, workspace)?;
        let inputs = (sources.queries(), sources.memory());
        self.forward_cached(dispatch, spec, params, inputs, &mut cache, 0.0, out)
    }

    /// Gradients of a loss through the layer given d_out = ∂loss/∂out (L_q×d): `d_queries`
    /// (L_q×d) and `d_params` (layout of `params`) are overwritten, and so is `d_memory`
    /// (L_k×d) for [`Sources::Cross`]; for [`Sources::SelfAttention`] `d_memory` must be empty
    /// and `d_queries` holds the whole input gradient. Recomputes the forward pass in
    /// `workspace` ([`ProjectedAttention::backward_workspace_len`]`(L_q, L_k)` f32). Errors as
    /// [`ProjectedAttention::forward`], and `NonFinite` in d_out.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        params: &[f32],
        sources: Sources<'_>,
        d_out: &[f32],
        d_queries: &mut [f32],
        d_memory: &mut [f32],
        d_params: &mut [f32],
        workspace: &mut [f32],
    ) -> Result<()> {
        let (_, seq_q, seq_k) = self.check(params, &sources)?;
        let inputs = (sources.queries(), sources.memory());
        ensure_len(inputs.0.len(), d_out.len())?;
        ensure_len(inputs.0.len(), d_queries.len())?;
        ensure_len(params.len(), d_params.len())?;
        ensure_finite(d_out)?;
        let d_memory = match sources {
            Sources::SelfAttention(_) => {
                ensure_len(0, d_memory.len())?;
                None
            }
            Sources::Cross { memory, .. } => {
                ensure_len(memory.len(), d_memory.len())?;
                Some(d_memory)
            }
        };
        let forward_len = self.forward_workspace_len(seq_q, seq_k);
        let grad_len = total(&self.grad_lens(seq_q, seq_k));
        let [cache_ws, grad_ws] = carve(workspace, [forward_len, grad_len])?;
        let mut cache = Cache::carve(self, seq_q, seq_k, cache_ws)?;
        let [att, q, k, v] = carve(grad_ws, self.grad_lens(seq_q, seq_k))?;
        self.forward_cached(dispatch, spec, params, inputs, &mut cache, 0.0, d_queries)?;
        self.backward_cached(
            dispatch,
            spec,
            params,
            inputs,
            &cache,
            d_out,
            GradScratch { att, q, k, v },
            (d_queries, d_memory),
            d_params,
        )
    }
}
