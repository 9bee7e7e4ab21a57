//! Numeric kernels. Each comes as a plain scalar reference (`*_reference`, the definition the
//! tests trust) and a SIMD-friendly form that LLVM vectorizes on any target; the hot ones also
//! have x86 variants selected at run time through [`Dispatch`].

pub mod activation;
pub mod axpy;
pub mod distance;
pub mod dot;
pub mod gemm;
pub mod isa;
pub(crate) mod lanes;
pub mod matvec;
pub mod matvec_s8;
pub mod softmax;

pub use isa::{Dispatch, Isa};
