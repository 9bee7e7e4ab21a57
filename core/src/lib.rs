//! # edgeml-core
//!
//! A machine-learning core for microcontrollers and hosts alike: `#![no_std]`, no allocator,
//! every buffer owned by the caller, every bad input answered with an [`Error`] rather than a
//! panic.
//!
//! - [`tensor`]: shapes, views over slices, fixed-capacity tensors.
//! - [`scalar`]: f32 / f16 / bf16 storage with f32 arithmetic.
//! - [`math`]: exp, ln, sqrt, tanh behind one trait, exact (libm) or fast (micromath).
//! - [`rng`]: a small seeded generator (uniform, normal, shuffle).
//! - [`kernels`]: dot, axpy, gemm (blocked, mixed precision), softmax, activations, distances,
//!   each as a scalar reference and a SIMD-friendly form, with run-time selectable x86 variants.
#![no_std]
#![deny(missing_docs)]

pub mod error;
pub mod eval;
pub mod kernels;
pub mod knn;
pub mod math;
pub mod nn;
pub mod rng;
pub mod scalar;
pub mod tensor;

pub use error::{Error, Result};
pub use scalar::Scalar;
pub use tensor::{FixedTensor, Shape, TensorView, TensorViewMut};
