//! Σ aᵢ·bᵢ on the GPU (two-pass workgroup tree reduction), the counterpart of
//! `edgeml_core::kernels::dot::dot_reference`.

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, KernelTiming, Operand, Pass, GROUP};

/// Most workgroups of the first pass (each then strides over the vectors).
const MAX_GROUPS: usize = 1024;

/// Uniform block matching `Params` in dot.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    groups: u32,
    pad0: u32,
    pad1: u32,
}

impl Gpu {
    /// Σ aᵢ·bᵢ over equal-length a and b (0 for empty vectors, without a dispatch), with the
    /// timing split. `Length` error on unequal lengths.
    pub fn dot(&self, a: &[f32], b: &[f32]) -> Result<(f32, KernelTiming), GpuError> {
        check_len("b", a.len(), b.len())?;
        if a.is_empty() {
            return Ok((0.0, KernelTiming::default()));
        }
        let n = u32::try_from(a.len()).map_err(|_| GpuError::ShapeOverflow {
            m: a.len(),
            k: 1,
            n: 1,
        })?;
        let groups = a.len().div_ceil(GROUP as usize).min(MAX_GROUPS);
        let partial = self.kernel("dot partial", include_str!("dot.wgsl"), "partial")?;
        let finish = self.kernel("dot finish", include_str!("dot.wgsl"), "finish")?;
        let params = Params {
            n,
            groups: groups as u32,
            pad0: 0,
            pad1: 0,
        };
        let mut out = [0.0f32];
        let timing = execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(a)),
                Operand::Input(bytemuck::cast_slice(b)),
                Operand::Scratch(4 * groups as u64),
                Operand::Scratch(4),
            ],
            &[
                Pass {
                    kernel: &partial,
                    bindings: &[(1, 0), (2, 1), (3, 2)],
                    groups: [groups as u32, 1, 1],
                },
                Pass {
                    kernel: &finish,
                    bindings: &[(3, 2), (4, 3)],
                    groups: [1, 1, 1],
                },
            ],
            3,
            bytemuck::cast_slice_mut(&mut out),
        )?;
        Ok((out[0], timing))
    }
}
