//! A tiny vision transformer over 28×28 images: the image cut into 16 patches of 7×7 pixels,
//! each embedded linearly with a learned position embedding, one pre-norm encoder block
//! (`edgeml_core::attention::EncoderBlock`), mean pooling over the tokens and a linear
//! classifier. Forward and backward run one image at a time over buffers allocated once.

use anyhow::{ensure, Result};
use edgeml_core::attention::{AttentionSpec, EncoderBlock};
use edgeml_core::kernels::activation::Activation;
use edgeml_core::kernels::{gemm::gemm, Dispatch};
use edgeml_core::nn::{Loss, Targets};
use edgeml_core::rng::Rng;
use edgeml_core::{TensorView, TensorViewMut};

/// Image side in pixels.
pub const SIDE: usize = 28;
/// Patch side in pixels.
pub const PATCH: usize = 7;
/// Tokens per image: (28/7)² = 16 patches.
pub const TOKENS: usize = (SIDE / PATCH) * (SIDE / PATCH);
/// Pixels per patch.
pub const PATCH_LEN: usize = PATCH * PATCH;
/// Pixels per image.
pub const PIXELS: usize = SIDE * SIDE;

/// Sizes of the model.
#[derive(Clone, Copy, Debug)]
pub struct VitShape {
    /// Token width d.
    pub d_model: usize,
    /// Attention heads (dividing `d_model`).
    pub heads: usize,
    /// Hidden width of the block's MLP.
    pub d_ff: usize,
    /// Number of classes.
    pub classes: usize,
}

/// Where each parameter group sits in the flat parameter vector.
#[derive(Clone, Debug)]
struct Layout {
    embed: std::ops::Range<usize>,
    embed_bias: std::ops::Range<usize>,
    position: std::ops::Range<usize>,
    block: std::ops::Range<usize>,
    head: std::ops::Range<usize>,
    head_bias: std::ops::Range<usize>,
}

/// The model: its shape, the encoder block and the parameter layout. Parameters live in a
/// caller vector of [`Vit::param_len`] values.
#[derive(Clone, Debug)]
pub struct Vit {
    shape: VitShape,
    block: EncoderBlock,
    layout: Layout,
}

/// Buffers for one image's forward and backward pass.
pub struct Scratch {
    patches: Vec<f32>,
    tokens: Vec<f32>,
    encoded: Vec<f32>,
    pooled: Vec<f32>,
    logits: Vec<f32>,
    d_logits: Vec<f32>,
    d_encoded: Vec<f32>,
    d_tokens: Vec<f32>,
    d_block: Vec<f32>,
    loss_scratch: Vec<f32>,
    workspace: Vec<f32>,
}

impl Vit {
    /// The model for `shape`. Errors: sizes the encoder block rejects.
    pub fn new(shape: VitShape) -> Result<Vit> {
        let block = EncoderBlock::new(shape.d_model, shape.heads, shape.d_ff, Activation::Gelu)?;
        let d = shape.d_model;
        let mut next = 0;
        let mut take = |len: usize| {
            let range = next..next + len;
            next += len;
            range
        };
        let layout = Layout {
            embed: take(PATCH_LEN * d),
            embed_bias: take(d),
            position: take(TOKENS * d),
            block: take(block.param_len()),
            head: take(d * shape.classes),
            head_bias: take(shape.classes),
        };
        Ok(Vit {
            shape,
            block,
            layout,
        })
    }

    /// Number of parameters.
    pub fn param_len(&self) -> usize {
        self.layout.head_bias.end
    }

    /// The model's sizes.
    pub fn shape(&self) -> VitShape {
        self.shape
    }

    /// Fresh parameters: Xavier-uniform embedding and classifier, position embeddings
    /// N(0, 0.02²), the block's own initialization, zero biases.
    pub fn init(&self, rng: &mut Rng) -> Result<Vec<f32>> {
        let d = self.shape.d_model;
        let mut params = vec![0.0f32; self.param_len()];
        let xavier = |rng: &mut Rng, values: &mut [f32], fan_in: usize, fan_out: usize| {
            let bound = (6.0 / (fan_in + fan_out) as f32).sqrt();
            values
                .iter_mut()
                .for_each(|w| *w = rng.uniform(-bound, bound));
        };
        xavier(rng, &mut params[self.layout.embed.clone()], PATCH_LEN, d);
        for p in &mut params[self.layout.position.clone()] {
            *p = 0.02 * rng.normal();
        }
        self.block
            .init(&mut params[self.layout.block.clone()], rng)?;
        let classes = self.shape.classes;
        xavier(rng, &mut params[self.layout.head.clone()], d, classes);
        Ok(params)
    }

    /// Buffers for one image.
    pub fn scratch(&self) -> Scratch {
        let (d, c) = (self.shape.d_model, self.shape.classes);
        Scratch {
            patches: vec![0.0; TOKENS * PATCH_LEN],
            tokens: vec![0.0; TOKENS * d],
            encoded: vec![0.0; TOKENS * d],
            pooled: vec![0.0; d],
            logits: vec![0.0; c],
            d_logits: vec![0.0; c],
            d_encoded: vec![0.0; TOKENS * d],
            d_tokens: vec![0.0; TOKENS * d],
            d_block: vec![0.0; self.block.param_len()],
            loss_scratch: vec![0.0; c],
            workspace: vec![0.0; self.block.backward_workspace_len(TOKENS)],
        }
    }

    /// Class scores (length `classes`) of one image (784 pixels, row-major), left in
    /// `scratch`.
    pub fn logits<'s>(
        &self,
        dispatch: Dispatch,
        params: &[f32],
        image: &[f32],
        scratch: &'s mut Scratch,
    ) -> Result<&'s [f32]> {
        ensure!(image.len() == PIXELS, "an image has {PIXELS} pixels");
        let d = self.shape.d_model;
        let l = &self.layout;
        cut_patches(image, &mut scratch.patches);
        gemm(
            dispatch,
            1.0,
            TensorView::matrix(&scratch.patches, TOKENS, PATCH_LEN)?,
            TensorView::matrix(&params[l.embed.clone()], PATCH_LEN, d)?,
            0.0,
            TensorViewMut::matrix(&mut scratch.tokens, TOKENS, d)?,
        )?;
        let bias = &params[l.embed_bias.clone()];
        let position = &params[l.position.clone()];
        for (row, pos) in scratch
            .tokens
            .chunks_exact_mut(d)
            .zip(position.chunks_exact(d))
        {
            for ((x, &b), &p) in row.iter_mut().zip(bias).zip(pos) {
                *x += b + p;
            }
        }
        let forward_len = self.block.forward_workspace_len(TOKENS);
        self.block.forward(
            dispatch,
            &AttentionSpec::new(),
            &params[l.block.clone()],
            &scratch.tokens,
            &mut scratch.encoded,
            &mut scratch.workspace[..forward_len],
        )?;
        scratch.pooled.fill(0.0);
        for row in scratch.encoded.chunks_exact(d) {
            for (p, &x) in scratch.pooled.iter_mut().zip(row) {
                *p += x / TOKENS as f32;
            }
        }
        let head = &params[l.head.clone()];
        scratch.logits.copy_from_slice(&params[l.head_bias.clone()]);
        for (&z, weights) in scratch
            .pooled
            .iter()
            .zip(head.chunks_exact(self.shape.classes))
        {
            for (logit, &w) in scratch.logits.iter_mut().zip(weights) {
                *logit += z * w;
            }
        }
        Ok(&scratch.logits)
    }

    /// Adds `weight`·∂CE/∂params of one image with class `label` to `grads` (length
    /// [`Vit::param_len`]) and returns its cross-entropy loss.
    #[allow(clippy::too_many_arguments)]
    pub fn accumulate_gradients(
        &self,
        dispatch: Dispatch,
        params: &[f32],
        image: &[f32],
        label: u32,
        weight: f32,
        grads: &mut [f32],
        scratch: &mut Scratch,
    ) -> Result<f32> {
        ensure!(grads.len() == self.param_len(), "gradient length");
        let (d, classes) = (self.shape.d_model, self.shape.classes);
        let l = &self.layout;
        self.logits(dispatch, params, image, scratch)?;
        let loss = Loss::SoftmaxCrossEntropy.evaluate(
            &scratch.logits,
            classes,
            Targets::Classes(&[label]),
            weight,
            &mut scratch.d_logits,
            &mut scratch.loss_scratch,
        )?;
        for (&g, b) in scratch.d_logits.iter().zip(&mut grads[l.head_bias.clone()]) {
            *b += g;
        }
        let head = &params[l.head.clone()];
        let d_head = &mut grads[l.head.clone()];
        let d_pooled: Vec<f32> = scratch
            .pooled
            .iter()
            .zip(
                head.chunks_exact(classes)
                    .zip(d_head.chunks_exact_mut(classes)),
            )
            .map(|(&z, (weights, d_weights))| {
                let mut dz = 0.0;
                for ((dw, &w), &g) in d_weights.iter_mut().zip(weights).zip(&scratch.d_logits) {
                    *dw += z * g;
                    dz += w * g;
                }
                dz
            })
            .collect();
        for row in scratch.d_encoded.chunks_exact_mut(d) {
            for (x, &g) in row.iter_mut().zip(&d_pooled) {
                *x = g / TOKENS as f32;
            }
        }
        self.block.backward(
            dispatch,
            &AttentionSpec::new(),
            &params[l.block.clone()],
            &scratch.tokens,
            &scratch.d_encoded,
            &mut scratch.d_tokens,
            &mut scratch.d_block,
            &mut scratch.workspace,
        )?;
        for (g, &db) in grads[l.block.clone()].iter_mut().zip(&scratch.d_block) {
            *g += db;
        }
        for (g, &dt) in grads[l.position.clone()].iter_mut().zip(&scratch.d_tokens) {
            *g += dt;
        }
        for row in scratch.d_tokens.chunks_exact(d) {
            for (g, &dt) in grads[l.embed_bias.clone()].iter_mut().zip(row) {
                *g += dt;
            }
        }
        gemm(
            dispatch,
            1.0,
            TensorView::matrix(&scratch.patches, TOKENS, PATCH_LEN)?.t()?,
            TensorView::matrix(&scratch.d_tokens, TOKENS, d)?,
            1.0,
            TensorViewMut::matrix(&mut grads[l.embed.clone()], PATCH_LEN, d)?,
        )?;
        Ok(loss)
    }
}

/// `patches` (16×49, row-major) ← the 7×7 patches of `image` in reading order.
fn cut_patches(image: &[f32], patches: &mut [f32]) {
    let per_row = SIDE / PATCH;
    for (t, patch) in patches.chunks_exact_mut(PATCH_LEN).enumerate() {
        let (top, left) = ((t / per_row) * PATCH, (t % per_row) * PATCH);
        for (r, dst) in patch.chunks_exact_mut(PATCH).enumerate() {
            let start = (top + r) * SIDE + left;
            dst.copy_from_slice(&image[start..start + PATCH]);
        }
    }
}
