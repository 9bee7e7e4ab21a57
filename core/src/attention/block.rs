//! A pre-norm transformer encoder block over one sequence x (L×d):
//! y = x + MHA(LN₁(x))·W_o, out = y + f(LN₂(y)·W₁ + b₁)·W₂ + b₂, where MHA projects with
//! W_q, W_k, W_v (d×d, no bias), runs [`multi_head_attention`] over `heads` heads of width
//! d/heads, and f is an [`Activation`]. Parameters live in one caller slice (layout in
//! [`EncoderBlock::param_len`]); [`EncoderBlock::backward`] gives the gradient of every
//! parameter in the same layout, for any optimizer (such as `nn::Optimizer::update`).

use core::ops::Range;

use super::heads::{multi_head_attention, multi_head_attention_backward, MultiHead};
use super::layer_norm::{layer_norm, layer_norm_backward};
use super::spec::AttentionSpec;
use super::streaming::streaming_workspace_len;
use crate::error::{ensure_finite, ensure_len, Error, Result};
use crate::kernels::activation::{self, Activation};
use crate::kernels::gemm::gemm;
use crate::kernels::Dispatch;
use crate::math::{Exact, Math};
use crate::rng::Rng;
use crate::tensor::{TensorView, TensorViewMut};

/// Sizes of an encoder block: model width d, `heads` heads (d divisible by it), MLP hidden
/// width `d_ff`, and the MLP activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderBlock {
    d_model: usize,
    heads: usize,
    d_ff: usize,
    activation: Activation,
}

/// Ranges of each parameter in the flat parameter slice.
struct Layout {
    ln1_gamma: Range<usize>,
    ln1_beta: Range<usize>,
    wq: Range<usize>,
    wk: Range<usize>,
    wv: Range<usize>,
    wo: Range<usize>,
    ln2_gamma: Range<usize>,
    ln2_beta: Range<usize>,
    w1: Range<usize>,
    b1: Range<usize>,
    w2: Range<usize>,
    b2: Range<usize>,
}

/// Hands out consecutive ranges.
struct Cursor(usize);

impl Cursor {
    fn take(&mut self, len: usize) -> Result<Range<usize>> {
        let start = self.0;
        self.0 = start.checked_add(len).ok_or(Error::SizeOverflow)?;
        Ok(start..self.0)
    }
}

/// Splits `ws` into consecutive parts of the given lengths (`BufferTooSmall` if short).
fn carve<const N: usize>(ws: &mut [f32], lens: [usize; N]) -> Result<[&mut [f32]; N]> {
    let needed = lens
        .iter()
        .try_fold(0usize, |sum, &len| sum.checked_add(len))
        .ok_or(Error::SizeOverflow)?;
    let available = ws.len();
    let mut rest = ws
        .get_mut(..needed)
        .ok_or(Error::BufferTooSmall { needed, available })?;
    Ok(core::array::from_fn(|i| {
        let (part, tail) = core::mem::take(&mut rest).split_at_mut(lens[i]);
        rest = tail;
        part
    }))
}

/// `params[range]` (the caller checked the length).
fn part<'p>(params: &'p [f32], range: &Range<usize>) -> Result<&'p [f32]> {
    params.get(range.clone()).ok_or(Error::ShapeMismatch {
        expected: range.end,
        found: params.len(),
    })
}

/// `params[range]`, mutably.
fn part_mut<'p>(params: &'p mut [f32], range: &Range<usize>) -> Result<&'p mut [f32]> {
    let found = params.len();
    params.get_mut(range.clone()).ok_or(Error::ShapeMismatch {
        expected: range.end,
        found,
    })
}

/// Row-major rows×cols view.
fn mat(data: &[f32], rows: usize, cols: usize) -> Result<TensorView<'_, f32>> {
    TensorView::matrix(data, rows, cols)
}

/// c (rows of a × cols of b) ← a·b + β·c.
fn mm(
    dispatch: Dispatch,
    a: TensorView<'_, f32>,
    b: TensorView<'_, f32>,
    beta: f32,
    c: &mut [f32],
) -> Result<()> {
    let (rows, _) = a.shape().as_matrix()?;
    let (_, cols) = b.shape().as_matrix()?;
    gemm(
        dispatch,
        1.0,
        a,
        b,
        beta,
        TensorViewMut::matrix(c, rows, cols)?,
    )
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

/// Forward intermediates the backward pass reuses, each L×d or L×d_ff.
struct Cache<'w> {
    h1: &'w mut [f32],
    q: &'w mut [f32],
    k: &'w mut [f32],
    v: &'w mut [f32],
    att: &'w mut [f32],
    y: &'w mut [f32],
    h2: &'w mut [f32],
    pre: &'w mut [f32],
    act: &'w mut [f32],
    stream: &'w mut [f32],
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
            heads,
            d_ff,
            activation,
        };
        block.layout()?;
        Ok(block)
    }

    fn layout(&self) -> Result<Layout> {
        let (d, f) = (self.d_model, self.d_ff);
        let dd = d.checked_mul(d).ok_or(Error::SizeOverflow)?;
        let df = d.checked_mul(f).ok_or(Error::SizeOverflow)?;
        let mut c = Cursor(0);
        Ok(Layout {
            ln1_gamma: c.take(d)?,
            ln1_beta: c.take(d)?,
            wq: c.take(dd)?,
            wk: c.take(dd)?,
            wv: c.take(dd)?,
            wo: c.take(dd)?,
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

    /// The attention shape for a sequence of `seq` tokens.
    fn heads(&self, seq: usize) -> MultiHead {
        let width = self.d_model / self.heads;
        MultiHead {
            heads: self.heads,
            seq_q: seq,
            seq_k: seq,
            head_dim: width,
            value_dim: width,
        }
    }

    /// Lengths of the forward cache parts for `seq` tokens.
    fn cache_lens(&self, seq: usize) -> [usize; 10] {
        let ld = seq.saturating_mul(self.d_model);
        let lf = seq.saturating_mul(self.d_ff);
        let stream = streaming_workspace_len(self.d_model / self.heads);
        [ld, ld, ld, ld, ld, ld, ld, lf, lf, stream]
    }

    /// Workspace f32 count of [`EncoderBlock::forward`] for `seq` tokens (saturating).
    pub fn forward_workspace_len(&self, seq: usize) -> usize {
        self.cache_lens(seq)
            .iter()
            .fold(0usize, |sum, &len| sum.saturating_add(len))
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
        let weights = [
            (&layout.wq, d, d),
            (&layout.wk, d, d),
            (&layout.wv, d, d),
            (&layout.wo, d, d),
            (&layout.w1, d, f),
            (&layout.w2, f, d),
        ];
        for (range, fan_in, fan_out) in weights {
            let limit = Exact::sqrt(6.0 / (fan_in + fan_out) as f32);
            for w in part_mut(params, range)? {
                *w = rng.uniform(-limit, limit);
            }
        }
        Ok(())
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
        for (w, dst) in [
            (&layout.wq, &mut *cache.q),
            (&layout.wk, &mut *cache.k),
            (&layout.wv, &mut *cache.v),
        ] {
            mm(
                dispatch,
                mat(cache.h1, seq, d)?,
                mat(part(params, w)?, d, d)?,
                0.0,
                dst,
            )?;
        }
        multi_head_attention(
            dispatch,
            spec,
            &self.heads(seq),
            cache.q,
            cache.k,
            cache.v,
            cache.att,
            cache.stream,
        )?;
        cache.y.copy_from_slice(x);
        let wo = mat(part(params, &layout.wo)?, d, d)?;
        mm(dispatch, mat(cache.att, seq, d)?, wo, 1.0, cache.y)?;
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
        let [h1, q, k, v, att, y, h2, pre, act, stream] = carve(workspace, self.cache_lens(seq))?;
        let mut cache = Cache {
            h1,
            q,
            k,
            v,
            att,
            y,
            h2,
            pre,
            act,
            stream,
        };
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
        let [h1, q, k, v, att, y, h2, pre, act, stream] = carve(c, self.cache_lens(seq))?;
        let mut cache = Cache {
            h1,
            q,
            k,
            v,
            att,
            y,
            h2,
            pre,
            act,
            stream,
        };
        let [dy, ga, gb, gq, gk, gv, gf] = carve(grads, [ld, ld, ld, ld, ld, ld, lf])?;
        self.run_forward(dispatch, spec, &layout, params, x, seq, &mut cache, dy)?;

        // MLP: out = y + act·W₂ + b₂, act = f(pre), pre = h₂·W₁ + b₁.
        column_sums(d_out, part_mut(d_params, &layout.b2)?);
        let g_out = mat(d_out, seq, d)?;
        mm(
            dispatch,
            mat(cache.act, seq, f)?.t()?,
            g_out,
            0.0,
            part_mut(d_params, &layout.w2)?,
        )?;
        mm(
            dispatch,
            g_out,
            mat(part(params, &layout.w2)?, f, d)?.t()?,
            0.0,
            gf,
        )?;
        for (g, &p) in gf.iter_mut().zip(cache.pre.iter()) {
            *g *= self.activation.derivative(p);
        }
        column_sums(gf, part_mut(d_params, &layout.b1)?);
        let g_pre = mat(gf, seq, f)?;
        mm(
            dispatch,
            mat(cache.h2, seq, d)?.t()?,
            g_pre,
            0.0,
            part_mut(d_params, &layout.w1)?,
        )?;
        mm(
            dispatch,
            g_pre,
            mat(part(params, &layout.w1)?, d, f)?.t()?,
            0.0,
            ga,
        )?;
        let (dg2, db2) = (layout.ln2_gamma.clone(), layout.ln2_beta.clone());
        let (d_gamma, d_beta) = two_parts(d_params, &dg2, &db2)?;
        layer_norm_backward(cache.y, part(params, &dg2)?, ga, gb, d_gamma, d_beta)?;
        for ((g, &a), &b) in dy.iter_mut().zip(d_out).zip(gb.iter()) {
            *g = a + b;
        }

        // Attention: y = x + att·W_o, att = MHA(h₁W_q, h₁W_k, h₁W_v).
        let g_y = mat(dy, seq, d)?;
        mm(
            dispatch,
            mat(cache.att, seq, d)?.t()?,
            g_y,
            0.0,
            part_mut(d_params, &layout.wo)?,
        )?;
        mm(
            dispatch,
            g_y,
            mat(part(params, &layout.wo)?, d, d)?.t()?,
            0.0,
            ga,
        )?;
        multi_head_attention_backward(
            spec,
            &self.heads(seq),
            (cache.q, cache.k, cache.v),
            ga,
            gq,
            gk,
            gv,
        )?;
        let mut beta = 0.0;
        for (w, g) in [(&layout.wq, &*gq), (&layout.wk, &*gk), (&layout.wv, &*gv)] {
            let g = mat(g, seq, d)?;
            mm(
                dispatch,
                mat(cache.h1, seq, d)?.t()?,
                g,
                0.0,
                part_mut(d_params, w)?,
            )?;
            mm(dispatch, g, mat(part(params, w)?, d, d)?.t()?, beta, gb)?;
            beta = 1.0;
        }
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
