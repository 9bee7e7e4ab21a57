//! WGSL compute kernels, one Rust module per kernel with its `.wgsl` source beside it.

pub mod gemm;
