//! edgeml-gpu: the edgeml-core kernels as WGSL compute shaders run through wgpu, so the same
//! computation can be compared (results and timings) between the CPU and any GPU adapter —
//! including software rasterizers such as Mesa's lavapipe.
#![deny(missing_docs)]

mod device;
mod error;
pub mod kernels;
mod resident;

pub use device::{AdapterSummary, Gpu};
pub use error::GpuError;
pub use kernels::attention::{AttentionMask, AttentionShape};
pub use kernels::distance::Neighbor;
pub use kernels::gemm::{ComputeTiming, GemmPlan, GemmTiming};
pub use kernels::gemm_half::HalfStorage;
pub use kernels::launch::{KernelTiming, PoolStats};
pub use kernels::mlp::GpuTrainer;
pub use kernels::tree_ensemble::GpuTreeModel;
pub use resident::DeviceVec;
