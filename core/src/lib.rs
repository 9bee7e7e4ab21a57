#![doc = include_str!("../README.md")]
//!
//! ## Modules
//!
//! - [`tensor`]: shapes, views over slices, fixed-capacity tensors.
//! - [`scalar`]: f32 / f16 / bf16 storage with f32 arithmetic.
//! - [`math`]: exp, ln, sqrt, tanh behind one trait, exact (libm) or fast (micromath).
//! - [`rng`]: seeded generators (uniform, normal, shuffle) and numpy's PCG64 for seed-exact runs.
//! - [`kernels`]: dot, axpy, gemm (blocked, mixed precision), softmax, activations, distances,
//!   each as a scalar reference and a SIMD-friendly form, with run-time selectable x86 variants.
//! - [`knn`]: k-nearest neighbours by brute force or a kd-tree built in caller buffers.
//! - [`eval`]: metrics, seeded splits and cross-validation, baseline classifiers.
//! - [`nn`]: multilayer perceptrons: inference, training in a caller workspace, mixed precision.
//! - [`tree`]: decision trees, gradient boosting and random forests over flat node arrays.
//! - [`attention`]: scaled dot-product attention (streaming softmax), backward, encoder block.
//! - [`cluster`]: k-means (k-means++ seeding, Lloyd, mini-batch) in caller buffers.
//! - [`anomaly`]: anomaly scores (autoencoder reconstruction, k-NN and centroid distance) and
//!   thresholds from held-out normal scores (percentile, online mean + z·std).
#![no_std]
#![deny(missing_docs)]

pub mod anomaly;
pub mod attention;
pub mod cluster;
pub mod error;
pub mod eval;
pub mod format;
pub mod kernels;
pub mod knn;
pub mod math;
pub mod nn;
pub mod rng;
pub mod scalar;
pub mod tensor;
pub mod tree;

pub use error::{Error, Result};
pub use scalar::Scalar;
pub use tensor::{FixedTensor, Shape, TensorView, TensorViewMut};
