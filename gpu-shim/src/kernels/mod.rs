//! WGSL compute kernels, one Rust module per kernel with its `.wgsl` source beside it.

pub mod activation;
pub mod attention;
pub mod axpy;
pub mod distance;
pub mod dot;
pub mod gemm;
pub mod gemm_half;
pub(crate) mod launch;
pub mod mlp;
pub mod softmax;
pub mod tree_ensemble;
