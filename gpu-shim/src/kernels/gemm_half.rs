//! Mixed-precision GEMM on the GPU: A and B stored as f16 or bf16, products and sums in f32 —
//! the counterpart of `edgeml_core::kernels::gemm::gemm_mixed_reference` for those types.

use half::{bf16, f16};

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, KernelTiming, Operand, Pass};

/// Edge of the C block computed by one workgroup (`WG` in gemm_half.wgsl).
const TILE: usize = 16;

/// A 16-bit storage type the shader can widen to f32.
pub trait HalfStorage: Copy {
    /// The shader's `kind` code.
    #[doc(hidden)]
    const KIND: u32;
    /// The raw 16 bits.
    fn bits(self) -> u16;
}

impl HalfStorage for f16 {
    const KIND: u32 = 0;
    fn bits(self) -> u16 {
        self.to_bits()
    }
}

impl HalfStorage for bf16 {
    const KIND: u32 = 1;
    fn bits(self) -> u16 {
        self.to_bits()
    }
}

/// Uniform block matching `Params` in gemm_half.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    k: u32,
    n: u32,
    kind: u32,
    alpha: f32,
    beta: f32,
    pad0: f32,
    pad1: f32,
}

/// The raw bits of `values`, padded to an even count (whole u32 words, 4-byte copies).
fn packed<S: HalfStorage>(values: &[S]) -> Vec<u16> {
    let mut bits: Vec<u16> = values.iter().map(|v| v.bits()).collect();
    if bits.len() % 2 == 1 {
        bits.push(0);
    }
    bits
}

impl Gpu {
    /// C ← α·A·B + β·C for row-major A (m×k) and B (k×n) stored as f16 or bf16 and f32 C
    /// (m×n); every element is widened to f32 before it is multiplied. β = 0 overwrites C.
    /// Wrong slice lengths are errors; an empty C dispatches nothing.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the BLAS-style gemm contract of edgeml-core"
    )]
    pub fn gemm_half<S: HalfStorage>(
        &self,
        alpha: f32,
        a: &[S],
        b: &[S],
        beta: f32,
        c: &mut [f32],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<KernelTiming, GpuError> {
        let overflow = || GpuError::ShapeOverflow { m, k, n };
        let fits = |count: Option<usize>| {
            count
                .filter(|&c| u32::try_from(c).is_ok())
                .ok_or_else(overflow)
        };
        check_len("A", fits(m.checked_mul(k))?, a.len())?;
        check_len("B", fits(k.checked_mul(n))?, b.len())?;
        check_len("C", fits(m.checked_mul(n))?, c.len())?;
        if c.is_empty() {
            return Ok(KernelTiming::default());
        }
        let max = self.limits.max_compute_workgroups_per_dimension as usize;
        let (gx, gy) = (n.div_ceil(TILE), m.div_ceil(TILE));
        if gx > max || gy > max {
            return Err(GpuError::Limit(format!(
                "gemm {m}×{k}×{n} needs {gx}×{gy} workgroups, adapter allows {max} per dimension"
            )));
        }
        let kernel = self.kernel("gemm_half", include_str!("gemm_half.wgsl"), "main")?;
        let params = Params {
            m: m as u32,
            k: k as u32,
            n: n as u32,
            kind: S::KIND,
            alpha,
            beta,
            pad0: 0.0,
            pad1: 0.0,
        };
        let (a_bits, b_bits, c_in) = (packed(a), packed(b), c.to_vec());
        execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(&a_bits)),
                Operand::Input(bytemuck::cast_slice(&b_bits)),
                Operand::Input(bytemuck::cast_slice(&c_in)),
            ],
            &[Pass {
                kernel: &kernel,
                bindings: &[(1, 0), (2, 1), (3, 2)],
                groups: [gx as u32, gy as u32, 1],
            }],
            2,
            bytemuck::cast_slice_mut(c),
        )
    }
}
