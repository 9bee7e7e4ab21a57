//! Activations and their derivatives elementwise on the GPU, the counterparts of
//! `edgeml_core::kernels::activation::{forward_reference, derivative_reference}`.
//!
//! Finite inputs only: WGSL does not guarantee NaN or infinity semantics, so unlike the core
//! these kernels make no promise for non-finite values.

use edgeml_core::kernels::activation::Activation;

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, grid, KernelTiming, Operand, Pass, GROUP};

/// Uniform block matching `Params` in activation.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    op: u32,
    pad0: u32,
    pad1: u32,
}

/// The shader's code for an activation (0–3); derivatives add 4.
fn code(activation: Activation) -> u32 {
    match activation {
        Activation::Relu => 0,
        Activation::Sigmoid => 1,
        Activation::Tanh => 2,
        Activation::Gelu => 3,
    }
}

impl Gpu {
    /// outᵢ = f(xᵢ) for equal-length x and out. `Length` error on unequal lengths.
    pub fn activation_forward(
        &self,
        activation: Activation,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<KernelTiming, GpuError> {
        self.activation_op(code(activation), x, out)
    }

    /// outᵢ = f′(xᵢ) for equal-length x and out (ReLU′(0) = 0). `Length` error on unequal
    /// lengths.
    pub fn activation_derivative(
        &self,
        activation: Activation,
        x: &[f32],
        out: &mut [f32],
    ) -> Result<KernelTiming, GpuError> {
        self.activation_op(code(activation) + 4, x, out)
    }

    fn activation_op(&self, op: u32, x: &[f32], out: &mut [f32]) -> Result<KernelTiming, GpuError> {
        check_len("out", x.len(), out.len())?;
        if x.is_empty() {
            return Ok(KernelTiming::default());
        }
        let n = u32::try_from(x.len()).map_err(|_| GpuError::ShapeOverflow {
            m: x.len(),
            k: 1,
            n: 1,
        })?;
        let kernel = self.kernel("activation", include_str!("activation.wgsl"), "main")?;
        let params = Params {
            n,
            op,
            pad0: 0,
            pad1: 0,
        };
        execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(x)),
                Operand::Scratch(std::mem::size_of_val(out) as u64),
            ],
            &[Pass {
                kernel: &kernel,
                bindings: &[(1, 0), (2, 1)],
                groups: grid(self, x.len().div_ceil(GROUP as usize))?,
            }],
            1,
            bytemuck::cast_slice_mut(out),
        )
    }
}
