//! Scaled dot-product attention, softmax(α·Q·Kᵀ)·V with α = 1/√d_k by default, without an
//! allocator.
//!
//! Shapes: Q is L_q×d_k, K is L_k×d_k, V is L_k×d_v and the output L_q×d_v, each a
//! [`TensorView`](crate::TensorView) with any strides (so one head of a multi-head buffer is a
//! strided view, see [`heads`]). Storage may be f32, f16 or bf16; every product and sum is f32
//! and outputs and gradients are f32.
//!
//! - [`reference`](mod@reference): the definition, with the full L_q×L_k score matrix in the workspace.
//! - [`streaming`]: one pass over key blocks with a running maximum and sum (online softmax);
//!   its workspace depends on d_v only, never on the sequence lengths.
//! - [`backward`]: dQ, dK, dV, recomputing scores key by key instead of storing them.
//! - [`heads`]: head split/merge over caller buffers and multi-head attention.
//! - [`projected`]: multi-head attention with learned Q/K/V/O projections (self- or
//!   cross-attention) as a layer with its own backward pass.
//! - [`layer_norm`] and [`block`]: a pre-norm transformer encoder block with its backward
//!   pass, trainable with any optimizer over a caller workspace.
//!
//! Masking, shared by all of them ([`AttentionSpec`]): with `causal`, query i sees keys j ≤ i
//! (top-left aligned, as PyTorch's `is_causal`); with `key_valid`, key j is seen only where
//! `key_valid[j]` is true. **A query that sees no key at all gets an output row of zeros** (and
//! contributes nothing to any gradient).
//!
//! Errors, never panics: a zero dimension is [`Error::Empty`](crate::Error::Empty), disagreeing
//! dimensions [`Error::ShapeMismatch`](crate::Error::ShapeMismatch), a NaN or infinity in Q, K,
//! V (or the output gradient) [`Error::NonFinite`](crate::Error::NonFinite) with the flat
//! row-major index, a short workspace [`Error::BufferTooSmall`](crate::Error::BufferTooSmall),
//! a non-finite or non-positive scale [`Error::InvalidParameter`](crate::Error::InvalidParameter).
//!
//! ```
//! use edgeml_core::attention::{attention, streaming_workspace_len, AttentionSpec};
//! use edgeml_core::kernels::Dispatch;
//! use edgeml_core::{TensorView, TensorViewMut};
//! // Three tokens, d_k = d_v = 2; with the causal mask query i sees keys 0..=i.
//! let q = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
//! let k = q;
//! let v = [1.0f32, 0.0, 0.0, 1.0, 0.5, 0.5];
//! let mut out = [0.0f32; 6];
//! let mut workspace = [0.0f32; streaming_workspace_len(2)];
//! attention(
//!     Dispatch::PORTABLE,
//!     &AttentionSpec::new().causal(true),
//!     TensorView::matrix(&q, 3, 2).unwrap(),
//!     TensorView::matrix(&k, 3, 2).unwrap(),
//!     TensorView::matrix(&v, 3, 2).unwrap(),
//!     TensorViewMut::matrix(&mut out, 3, 2).unwrap(),
//!     &mut workspace,
//! )
//! .unwrap();
//! assert_eq!(&out[..2], &v[..2]); // query 0 sees only key 0
//! ```

pub mod backward;
pub mod block;
mod buffers;
pub mod heads;
pub mod layer_norm;
mod matrix;
pub mod projected;
pub mod reference;
mod spec;
pub mod streaming;

pub use backward::attention_backward;
pub use block::EncoderBlock;
pub use heads::{
    head_view, head_view_mut, multi_head_attention, multi_head_attention_backward,
    multi_head_workspace_len, MultiHead,
};
pub use projected::{ProjectedAttention, Sources};
pub use reference::{attention_reference, reference_workspace_len};
pub use spec::AttentionSpec;
pub use streaming::{attention, streaming_workspace_len, BLOCK_K, BLOCK_Q};
