//! Every buffer of the firmware, in one static (zero-initialized, so it lives in `.bss`), handed
//! out once. No heap: the firmware has no global allocator.

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
    /// Blob rows (k-NN reference set and training data).
    pub blob_x: [f32; BLOB_ROWS * BLOB_D],
    /// Blob classes.
    pub blob_y: [u32; BLOB_ROWS],
    /// Blob queries.
    pub query: [f32; BLOB_QUERIES * BLOB_D],
    /// Nodes of the boosted ensemble.
    pub nodes: [Node; GBDT_NODES],
    /// First node of each tree.
    pub roots: [u32; GBDT_TREES],
    /// Base scores.
    pub base: [f32; BLOB_CLASSES],
    /// Encoder-block parameters.
    pub attn_params: [f32; ATTN_PARAMS],
    /// Encoder-block input.
    pub attn_x: [f32; ATTN_SEQ * ATTN_D],
    /// Encoder-block output.
    pub attn_out: [f32; ATTN_SEQ * ATTN_D],
    /// Encoder-block workspace.
    pub attn_workspace: [f32; ATTN_WORKSPACE],
    /// On-device training workspace.
    pub train: [f32; TRAIN_LEN],
    /// One minibatch of training rows.
    pub batch_x: [f32; TRAIN_BATCH * BLOB_D],
    /// One minibatch of training classes.
    pub batch_y: [u32; TRAIN_BATCH],
    /// Row order of an epoch.
    pub order: [u32; BLOB_ROWS],
    /// A RAM copy of model bytes to corrupt.
    pub bytes: [u8; CORRUPT_LEN],
}

/// Bytes of the largest model corrupted in RAM (the f16 MLP; the int8 MLP is smaller).
pub const CORRUPT_LEN: usize = 256 * 1024;

const NODE: Node = Node {
    feature: 0,
    value: 0.0,
    left: 0,
};

static mut MEMORY: Memory = Memory {
    blob_x: [0.0; BLOB_ROWS * BLOB_D],
    blob_y: [0; BLOB_ROWS],
    query: [0.0; BLOB_QUERIES * BLOB_D],
    nodes: [NODE; GBDT_NODES],
    roots: [0; GBDT_TREES],
    base: [0.0; BLOB_CLASSES],
    attn_params: [0.0; ATTN_PARAMS],
    attn_x: [0.0; ATTN_SEQ * ATTN_D],
    attn_out: [0.0; ATTN_SEQ * ATTN_D],
    attn_workspace: [0.0; ATTN_WORKSPACE],
    train: [0.0; TRAIN_LEN],
    batch_x: [0.0; TRAIN_BATCH * BLOB_D],
    batch_y: [0; TRAIN_BATCH],
    order: [0; BLOB_ROWS],
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
