//! Sizes shared by the firmware and the host's `edgeml export` (host/src/firmware/), which
//! compiles this same file through `#[path]`.

/// Fashion-MNIST test images embedded in the firmware (the first ones of t10k; few enough that
/// the f32 MLP and its inputs fit a 512 KiB flash part).
pub const FASHION_N: usize = 100;
/// Pixels per image.
pub const FASHION_D: usize = 784;
/// Fashion-MNIST classes.
pub const FASHION_CLASSES: usize = 10;
/// Layer sizes of the Fashion-MNIST MLP.
pub const MLP_SIZES: [usize; 3] = [FASHION_D, 128, FASHION_CLASSES];
/// Features of the synthetic blob data (k-NN, boosting, on-device training).
pub const BLOB_D: usize = 4;
/// Classes of the blob data.
pub const BLOB_CLASSES: usize = 3;
/// Reference (training) rows of the blob data.
pub const BLOB_ROWS: usize = 240;
/// Query rows of the blob data.
pub const BLOB_QUERIES: usize = 60;
/// Neighbours of the k-NN classifier.
pub const KNN_K: usize = 5;
/// Boosting rounds (each adds one tree per class).
pub const GBDT_ROUNDS: usize = 20;
/// Most nodes of the boosted ensemble.
pub const GBDT_NODES: usize = 1024;
/// Encoder block width, heads, MLP width and sequence length.
pub const ATTN_D: usize = 16;
/// Attention heads.
pub const ATTN_HEADS: usize = 2;
/// Width of the block's MLP.
pub const ATTN_FF: usize = 32;
/// Tokens per sequence.
pub const ATTN_SEQ: usize = 8;
/// California Housing rows the imported 500-tree LightGBM model runs on (the import fixture's
/// inputs, `host/tests/fixtures/import/california.inputs.json`).
pub const CAL_N: usize = 64;
/// California Housing features per row.
pub const CAL_D: usize = 8;
