//! A pre-norm transformer encoder block over one sequence x (L×d):
//! y = x + MHA(LN₁(x))·W_o, out = y + f(LN₂(y)·W₁ + b₁)·W₂ + b₂, where MHA projects with
//! W_q, W_k, W_v (d×d, no bias), runs [`super::multi_head_attention`] over `heads` heads of width
//! d/heads, and f is an [`Activation`]. Parameters live in one caller slice (layout in
//! [`EncoderBlock::param_len`]); [`EncoderBlock::backward`] gives the gradient of every
//! parameter in the same layout, for any optimizer (such as `nn::Optimizer::update`).

use core::ops::Range;

use super::buffers::{carve, linear_backward, mat, mm, part, part_mut, total, Cursor};
use super::layer_norm::{layer_norm, layer_norm_backward};
use super::projected::{Cache as AttentionCache, GradScratch, ProjectedAttention};
use super::spec::AttentionSpec;
use crate::error::{ensure_finite, ensure_len, Error, Result};
use crate::kernels::activation::{self, Activation};
use crate::kernels::Dispatch;
use crate::math::{Exact, Math};
use crate::rng::Rng;

/// Sizes of an encoder block: model width d, `heads` heads (d divisible by it), MLP hidden
/// width `d_ff`, and the MLP activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderBlock {
    d_model: usize,
    d_ff: usize,
    activation: Activation,
    attention: ProjectedAttention,
}

/// Ranges of each parameter in the flat parameter slice.
struct Layout {
    ln1_gamma: Range<usize>,
    ln1_beta: Range<usize>,
    attention: Range<usize>,
    ln2_gamma: Range<usize>,
    ln2_beta: Range<usize>,
    w1: Range<usize>,
    b1: Range<usize>,
    w2: Range<usize>,
    b2: Range<usize>,
}

/// Every row of `rows` (width `bias.len()`) ← `bias`.
fn fill_rows(rows: &mut [f32], bias: &[f32]) {
    for row in rows.chunks_exact_mut(bias.len().max(1)) {
        row.copy_from_slice(bias);
    }
}

/// `sums` ← column sums of `rows` (width `sums.len()`).
fn column_sums(rows: &[f32], sums: &mut [f32]) {
    sums.fill(0.0);
    for row in rows.chunks_exact(sums.len().max(1)) {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
}

/// Forward intermediates the backward pass reuses: LN₁(x), the attention layer's cache,
/// y, LN₂(y) (each L×d), and the MLP pre-activation and activation (L×d_ff).
struct Cache<'w> {
    h1: &'w mut [f32],
    attention: AttentionCache<'w>,
    y: &'w mut [f32],
    h2: &'w mut [f32],
    pre: &'w mut [f32],
    act: &'w mut [f32],
}

impl EncoderBlock {
    /// A block of width `d_model` with `heads` heads and MLP width `d_ff`. Errors: a zero size
    /// (`Empty`), `d_model` not divisible by `heads` (`InvalidParameter`), sizes whose
    /// parameter count overflows (`SizeOverflow`).
    pub fn new(d_model: usize, heads: usize, d_ff: usize, activation: Activation) -> Result<Self> {
        if d_model == 0 || heads == 0 || d_ff == 0 {
            return Err(Error::Empty);
        }
        if !d_model.is_multiple_of(heads) {
            return Err(Error::InvalidParameter {
                name: "d_model must be a multiple of heads",
            });
        }
        let block = EncoderBlock {
            d_model,
            d_ff,
            activation,
            attention: ProjectedAttention::new(d_model, heads, d_model / heads)?,
        };
        block.layout()?;
        Ok(block)
    }

    fn layout(&self) -> Result<Layout> {
        let (d, f) = (self.d_model, self.d_ff);
        let df = d.checked_mul(f).ok_or(Error::SizeOverflow)?;
        let mut c = Cursor(0);
        Ok(Layout {
            ln1_gamma: c.take(d)?,
            ln1_beta: c.take(d)?,
            attention: c.take(self.attention.param_len())?,
            ln2_gamma: c.take(d)?,
            ln2_beta: c.take(d)?,
            w1: c.take(df)?,
            b1: c.take(f)?,
            w2: c.take(df)?,
            b2: c.take(d)?,
        })
    }

    /// Parameter count, laid out in this order: LN₁ γ, β (d each); W_q, W_k, W_v, W_o (d×d
    /// each, row-major, applied as x·W); LN₂ γ, β; W₁ (d×d_ff), b₁ (d_ff); W₂ (d_ff×d), b₂ (d).
    pub fn param_len(&self) -> usize {
        self.layout().map_or(usize::MAX, |l| l.b2.end)
    }

    /// Lengths of the forward cache parts for `seq` tokens: LN₁(x), the attention layer's
    /// forward workspace, y, LN₂(y), the MLP pre-activation and activation.
    fn cache_lens(&self, seq: usize) -> [usize; 6] {
        let ld = seq.saturating_mul(self.d_model);
        let lf = seq.saturating_mul(self.d_ff);
        let attention = self.attention.forward_workspace_len(seq, seq);
        [ld, attention, ld, ld, lf, lf]
    }

    /// Workspace f32 count of [`EncoderBlock::forward`] for `seq` tokens (saturating).
    pub fn forward_workspace_len(&self, seq: usize) -> usize {
        total(&self.cache_lens(seq))
    }

    /// Workspace f32 count of [`EncoderBlock::backward`] for `seq` tokens (saturating): the
    /// forward's plus six L×d and one L×d_ff gradient buffers.
    pub fn backward_workspace_len(&self, seq: usize) -> usize {
        let ld = seq.saturating_mul(self.d_model);
        let lf = seq.saturating_mul(self.d_ff);
        self.forward_workspace_len(seq)
            .saturating_add(ld.saturating_mul(6))
            .saturating_add(lf)
    }

    /// Fills `params` (length [`EncoderBlock::param_len`]): γ = 1, β and biases 0, weights
    /// Xavier-uniform (±√(6/(fan_in + fan_out))).
    pub fn init(&self, params: &mut [f32], rng: &mut Rng) -> Result<()> {
        let layout = self.layout()?;
        ensure_len(layout.b2.end, params.len())?;
        let (d, f) = (self.d_model, self.d_ff);
        params.fill(0.0);
        part_mut(params, &layout.ln1_gamma)?.fill(1.0);
        part_mut(params, &layout.ln2_gamma)?.fill(1.0);
        self.attention
            .init(part_mut(params, &layout.attention)?, rng)?;
        for (range, fan_in, fan_out) in [(&layout.w1, d, f), (&layout.w2, f, d)] {
            let limit = Exact::sqrt(6.0 / (fan_in + fan_out) as f32);
            for w in part_mut(params, range)? {
                *w = rng.uniform(-limit, limit);
            }
        }
        Ok(())
    }

    /// Carves the forward cache for `seq` tokens out of `workspace`.
    fn carve_cache<'w>(&self, seq: usize, workspace: &'w mut [f32]) -> Result<Cache<'w>> {
        let [h1, attention, y, h2, pre, act] = carve(workspace, self.cache_lens(seq))?;
        Ok(Cache {
            h1,
            attention: AttentionCache::carve(&self.attention, seq, seq, attention)?,
            y,
            h2,
            pre,
            act,
        })
    }

    /// Checks params and x and returns (layout, sequence length).
    fn check(&self, params: &[f32], x: &[f32]) -> Result<(Layout, usize)> {
        let layout = self.layout()?;
        ensure_len(layout.b2.end, params.len())?;
        if x.is_empty() {
            return Err(Error::Empty);
        }
        ensure_len(0, x.len() % self.d_model)?;
        ensure_finite(params)?;
        ensure_finite(x)?;
        Ok((layout, x.len() / self.d_model))
    }

    /// Runs the block, filling the cache; returns nothing but leaves `out` = block(x).
    #[allow(clippy::too_many_arguments)]
    fn run_forward(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        layout: &Layout,
        params: &[f32],
        x: &[f32],
        seq: usize,
        cache: &mut Cache<'_>,
        out: &mut [f32],
    ) -> Result<()> {
        let (d, f) = (self.d_model, self.d_ff);
        layer_norm(
            x,
            part(params, &layout.ln1_gamma)?,
            part(params, &layout.ln1_beta)?,
            cache.h1,
        )?;
        cache.y.copy_from_slice(x);
        self.attention.forward_cached(
            dispatch,
            spec,
            part(params, &layout.attention)?,
            (cache.h1, cache.h1),
            &mut cache.attention,
            1.0,
            cache.y,
        )?;
        layer_norm(
            cache.y,
            part(params, &layout.ln2_gamma)?,
            part(params, &layout.ln2_beta)?,
            cache.h2,
        )?;
        fill_rows(cache.pre, part(params, &layout.b1)?);
        let w1 = mat(part(params, &layout.w1)?, d, f)?;
        mm(dispatch, mat(cache.h2, seq, d)?, w1, 1.0, cache.pre)?;
        activation::forward(self.activation, cache.pre, cache.act)?;
        fill_rows(out, part(params, &layout.b2)?);
        for (o, &y) in out.iter_mut().zip(cache.y.iter()) {
            *o += y;
        }
        let w2 = mat(part(params, &layout.w2)?, f, d)?;
        mm(dispatch, mat(cache.act, seq, f)?, w2, 1.0, out)
    }

    /// out (L×d) ← block(x) for x (L×d, row-major, L = x.len()/d ≥ 1) with attention masked
    /// by `spec`; `workspace` needs [`EncoderBlock::forward_workspace_len`]`(L)` f32.
    /// Errors: `Empty`, `ShapeMismatch` (params, x or out of the wrong length),
    /// `NonFinite` (params or x), `BufferTooSmall`, and those of the attention.
    pub fn forward(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        params: &[f32],
        x: &[f32],
        out: &mut [f32],
        workspace: &mut [f32],
    ) -> Result<()> {
        let (layout, seq) = self.check(params, x)?;
        ensure_len(x.len(), out.len())?;
        let mut cache = self.carve_cache(seq, workspace)?;
        self.run_forward(dispatch, spec, &layout, params, x, seq, &mut cache, out)
    }

    /// Gradients of a loss through the block given d_out = ∂loss/∂out (L×d): `d_x` (L×d) and
    /// `d_params` (layout of `params`) are overwritten. Recomputes the forward pass in
    /// `workspace` ([`EncoderBlock::backward_workspace_len`]`(L)` f32). Errors as
    /// [`EncoderBlock::forward`], and `NonFinite` in d_out.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        dispatch: Dispatch,
        spec: &AttentionSpec<'_>,
        params: &[f32],
        x: &[f32],
        d_out: &[f32],
        d_x: &mut [f32],
        d_params: &mut [f32],
        workspace: &mut [f32],
    ) -> Result<()> {
        let (layout, seq) = self.check(params, x)?;
        ensure_len(x.len(), d_out.len())?;
        ensure_len(x.len(), d_x.len())?;
        ensure_len(params.len(), d_params.len())?;
        ensure_finite(d_out)?;
        let (d, f) = (self.d_model, self.d_ff);
        let (ld, lf) = (seq * d, seq.saturating_mul(f));
        let grad_len = ld.saturating_mul(6).saturating_add(lf);
        let [c, grads] = carve(workspace, [self.forward_workspace_len(seq), grad_len])?;
        let mut cache = self.carve_cache(seq, c)?;
        let [dy, ga, gb, gq, gk, gv, gf] = carve(grads, [ld, ld, ld, ld, ld, ld, lf])?;
        self.run_forward(dispatch, spec, &layout, params, x, seq, &mut cache, dy)?;

        // MLP: out = y + act·W₂ + b₂, act = f(pre), pre = h₂·W₁ + b₁.
        column_sums(d_out, part_mut(d_params, &layout.b2)?);
        linear_backward(
            dispatch,
            (cache.act, part(params, &layout.w2)?),
            (seq, f, d),
            d_out,
            part_mut(d_params, &layout.w2)?,
            gf,
        )?;
        for (g, &p) in gf.iter_mut().zip(cache.pre.iter()) {
            *g *= self.activation.derivative(p);
        }
        column_sums(gf, part_mut(d_params, &layout.b1)?);
        linear_backward(
            dispatch,
            (cache.h2, part(params, &layout.w1)?),
            (seq, d, f),
            gf,
            part_mut(d_params, &layout.w1)?,
            ga,
        )?;
        let (dg2, db2) = (layout.ln2_gamma.clone(), layout.ln2_beta.clone());
        let (d_gamma, d_beta) = two_parts(d_params, &dg2, &db2)?;
        layer_norm_backward(cache.y, part(params, &dg2)?, ga, gb, d_gamma, d_beta)?;
        for ((g, &a), &b) in dy.iter_mut().zip(d_out).zip(gb.iter()) {
            *g = a + b;
        }

        // Attention: y = x + attention(h₁), with x's share of the gradient added at the end.
        self.attention.backward_cached(
            dispatch,
            spec,
            part(params, &layout.attention)?,
            (cache.h1, cache.h1),
            &cache.attention,
            dy,
            GradScratch {
                att: ga,
                q: gq,
                k: gk,
                v: gv,
            },
            (gb, None),
            part_mut(d_params, &layout.attention)?,
        )?;
        let (dg1, db1) = (layout.ln1_gamma.clone(), layout.ln1_beta.clone());
        let (d_gamma, d_beta) = two_parts(d_params, &dg1, &db1)?;
        layer_norm_backward(x, part(params, &dg1)?, gb, d_x, d_gamma, d_beta)?;
        for (g, &r) in d_x.iter_mut().zip(dy.iter()) {
            *g += r;
        }
        Ok(())
    }
}

/// Two disjoint ranges of `params` (`first` before `second`), mutably.
fn two_parts<'p>(
    params: &'p mut [f32],
    first: &Range<usize>,
    second: &Range<usize>,
) -> Result<(&'p mut [f32], &'p mut [f32])> {
    let found = params.len();
    let bad = Error::ShapeMismatch {
        expected: second.end,
        found,
    };
    if first.end > second.start {
        return Err(bad);
    }
    let (head, tail) = params.split_at_mut(second.start.min(found));
    let a = head.get_mut(first.clone()).ok_or(bad)?;
    let b = tail.get_mut(..second.len()).ok_or(bad)?;
    Ok((a, b))
}
