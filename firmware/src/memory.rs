//! The buffers of the k-NN, boosting, attention, training and corruption parts, in one static
//! (zero-initialized, so it lives in `.bss`), handed out once; each field exists only in
//! builds with a part that uses it, so a small build holds only its own buffers. (The MLPs
//! keep theirs in `mlp.rs`.) No heap: the firmware has no global allocator.

use crate::dims::*;
use core::sync::atomic::{AtomicBool, Ordering};
use edgeml_core::attention::streaming_workspace_len;
use edgeml_core::nn;
use edgeml_core::tree::Node;

/// Trees of the boosted ensemble.
pub const GBDT_TREES: usize = GBDT_ROUNDS * BLOB_CLASSES;
/// Parameters of the encoder block (`EncoderBlock::param_len`, checked at run time).
pub const ATTN_PARAMS: usize =
    4 * ATTN_D + 4 * ATTN_D * ATTN_D + 2 * ATTN_D * ATTN_FF + ATTN_FF + ATTN_D;
/// Forward workspace of the encoder block (`EncoderBlock::forward_workspace_len`).
pub const ATTN_WORKSPACE: usize =
    7 * ATTN_SEQ * ATTN_D + 2 * ATTN_SEQ * ATTN_FF + streaming_workspace_len(ATTN_D / ATTN_HEADS);
/// Layer sizes of the MLP trained on the device.
pub const TRAIN_SIZES: [usize; 3] = [BLOB_D, 16, BLOB_CLASSES];
/// Minibatch of on-device training.
pub const TRAIN_BATCH: usize = 16;
/// Optimizer state values per parameter (Adam).
pub const TRAIN_STATE_SLOTS: usize = 2;
/// The whole training workspace (model, gradients, Adam state, activations), from the core.
pub const TRAIN_LEN: usize =
    nn::workspace_len(&TRAIN_SIZES, false, TRAIN_BATCH, TRAIN_STATE_SLOTS, false);

/// All buffers.
pub struct Memory {
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    /// Blob rows (k-NN reference set and training data).
    pub blob_x: [f32; BLOB_ROWS * BLOB_D],
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    /// Blob classes.
    pub blob_y: [u32; BLOB_ROWS],
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    /// Blob queries.
    pub query: [f32; BLOB_QUERIES * BLOB_D],
    #[cfg(any(feature = "gbdt", feature = "corrupt"))]
    /// Nodes of the boosted ensemble.
    pub nodes: [Node; GBDT_NODES],
    #[cfg(any(feature = "gbdt", feature = "corrupt"))]
    /// First node of each tree.
    pub roots: [u32; GBDT_TREES],
    #[cfg(any(feature = "gbdt", feature = "corrupt"))]
    /// Base scores.
    pub base: [f32; BLOB_CLASSES],
    #[cfg(feature = "attention")]
    /// Encoder-block parameters.
    pub attn_params: [f32; ATTN_PARAMS],
    #[cfg(feature = "attention")]
    /// Encoder-block input.
    pub attn_x: [f32; ATTN_SEQ * ATTN_D],
    #[cfg(feature = "attention")]
    /// Encoder-block output.
    pub attn_out: [f32; ATTN_SEQ * ATTN_D],
    #[cfg(feature = "attention")]
    /// Encoder-block workspace.
    pub attn_workspace: [f32; ATTN_WORKSPACE],
    #[cfg(feature = "train")]
    /// On-device training workspace.
    pub train: [f32; TRAIN_LEN],
    #[cfg(feature = "train")]
    /// One minibatch of training rows.
    pub batch_x: [f32; TRAIN_BATCH * BLOB_D],
    #[cfg(feature = "train")]
    /// One minibatch of training classes.
    pub batch_y: [u32; TRAIN_BATCH],
    #[cfg(feature = "train")]
    /// Row order of an epoch.
    pub order: [u32; BLOB_ROWS],
    #[cfg(feature = "corrupt")]
    /// A RAM copy of model bytes to corrupt.
    pub bytes: [u8; CORRUPT_LEN],
}

/// Bytes of the RAM copies of models (corrupted ones, and the f32 MLP at offsets 0..4).
pub const CORRUPT_LEN: usize = 412 * 1024;

#[cfg(any(feature = "gbdt", feature = "corrupt"))]
const NODE: Node = Node {
    feature: 0,
    value: 0.0,
    left: 0,
};

static mut MEMORY: Memory = Memory {
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    blob_x: [0.0; BLOB_ROWS * BLOB_D],
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    blob_y: [0; BLOB_ROWS],
    #[cfg(any(feature = "knn", feature = "gbdt", feature = "train"))]
    query: [0.0; BLOB_QUERIES * BLOB_D],
    #[cfg(any(feature = "gbdt", feature = "corrupt"))]
    nodes: [NODE; GBDT_NODES],
    #[cfg(any(feature = "gbdt", feature = "corrupt"))]
    roots: [0; GBDT_TREES],
    #[cfg(any(feature = "gbdt", feature = "corrupt"))]
    base: [0.0; BLOB_CLASSES],
    #[cfg(feature = "attention")]
    attn_params: [0.0; ATTN_PARAMS],
    #[cfg(feature = "attention")]
    attn_x: [0.0; ATTN_SEQ * ATTN_D],
    #[cfg(feature = "attention")]
    attn_out: [0.0; ATTN_SEQ * ATTN_D],
    #[cfg(feature = "attention")]
    attn_workspace: [0.0; ATTN_WORKSPACE],
    #[cfg(feature = "train")]
    train: [0.0; TRAIN_LEN],
    #[cfg(feature = "train")]
    batch_x: [0.0; TRAIN_BATCH * BLOB_D],
    #[cfg(feature = "train")]
    batch_y: [0; TRAIN_BATCH],
    #[cfg(feature = "train")]
    order: [0; BLOB_ROWS],
    #[cfg(feature = "corrupt")]
    bytes: [0; CORRUPT_LEN],
};

static TAKEN: AtomicBool = AtomicBool::new(false);

/// The buffers, the first time; `None` afterwards.
pub fn take() -> Option<&'static mut Memory> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    // SAFETY: the flag above lets exactly one caller through, so this is the only reference.
    Some(unsafe { &mut *core::ptr::addr_of_mut!(MEMORY) })
}
