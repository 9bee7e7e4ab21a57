//! y ← α·x + y on the GPU, the counterpart of `edgeml_core::kernels::axpy::axpy_reference`.

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, grid, KernelTiming, Operand, Pass, GROUP};

/// Uniform block matching `Params` in axpy.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    alpha: f32,
    pad0: u32,
    pad1: u32,
}

impl Gpu {
    /// y ← α·x + y for equal-length x and y (n elements each). `Length` error on unequal
    /// lengths; empty vectors dispatch nothing.
    pub fn axpy(&self, alpha: f32, x: &[f32], y: &mut [f32]) -> Result<KernelTiming, GpuError> {
        check_len("x", y.len(), x.len())?;
        if y.is_empty() {
            return Ok(KernelTiming::default());
        }
        let n = u32::try_from(y.len()).map_err(|_| GpuError::ShapeOverflow {
            m: y.len(),
            k: 1,
            n: 1,
        })?;
        let kernel = self.kernel("axpy", include_str!("axpy.wgsl"), "main")?;
        let params = Params {
            n,
            alpha,
            pad0: 0,
            pad1: 0,
        };
        let input = y.to_vec();
        execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(x)),
                Operand::Input(bytemuck::cast_slice(&input)),
            ],
            &[Pass {
                kernel: &kernel,
                bindings: &[(1, 0), (2, 1)],
                groups: grid(self, y.len().div_ceil(GROUP as usize))?,
            }],
            1,
            bytemuck::cast_slice_mut(y),
        )
    }
}
