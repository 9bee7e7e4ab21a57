//! Every buffer of the firmware, in one static (zero-initialized, so it lives in `.bss`), handed
//! out once. No heap: the firmware has no global allocator.

use crate::dims::*;
use core::sync::atomic::{AtomicBool, Ordering};
use edgeml_core::nn;
use edgeml_core::tree::Node;

/// Model buffer of the Fashion-MNIST MLP (f32).
pub const MLP_LEN: usize = nn::model_len(&MLP_SIZES, false);
/// Inference scratch of the MLP for one row.
pub const MLP_SCRATCH: usize = nn::inference_scratch_len(&MLP_SIZES, 1);
/// Trees of the boosted ensemble.
pub const GBDT_TREES: usize = GBDT_ROUNDS * BLOB_CLASSES;

/// All buffers.
pub struct Memory {
    /// MLP model buffer.
    pub mlp: [f32; MLP_LEN],
    /// MLP inference scratch.
    pub mlp_scratch: [f32; MLP_SCRATCH],
    /// One image scaled to [0, 1].
    pub image: [f32; FASHION_D],
    /// Blob rows (the k-NN reference set).
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
}

const NODE: Node = Node {
    feature: 0,
    value: 0.0,
    left: 0,
};

static mut MEMORY: Memory = Memory {
    mlp: [0.0; MLP_LEN],
    mlp_scratch: [0.0; MLP_SCRATCH],
    image: [0.0; FASHION_D],
    blob_x: [0.0; BLOB_ROWS * BLOB_D],
    blob_y: [0; BLOB_ROWS],
    query: [0.0; BLOB_QUERIES * BLOB_D],
    nodes: [NODE; GBDT_NODES],
    roots: [0; GBDT_TREES],
    base: [0.0; BLOB_CLASSES],
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
