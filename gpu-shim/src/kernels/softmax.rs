//! Row-wise softmax and log-softmax on the GPU, the counterparts of
//! `edgeml_core::kernels::softmax::{softmax_rows, log_softmax_rows}` (row by row of
//! `softmax_reference` / `log_softmax_reference`), with the same input contract: −∞ entries
//! are masked, NaN and +∞ are rejected, as are rows that are entirely −∞ and empty rows.

use edgeml_core::Error;

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, grid, KernelTiming, Operand, Pass};

/// Uniform block matching `Params` in softmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    log: u32,
    pad0: u32,
}

/// Checks the core's softmax contract row by row, stopping at the first bad row as the core
/// does: `Empty` for zero columns, `NonFinite` (index within the row) for NaN or +∞,
/// `InvalidParameter` for a row of only −∞.
fn check_rows(x: &[f32], cols: usize) -> Result<(), GpuError> {
    if cols == 0 {
        return Err(GpuError::Input(Error::Empty));
    }
    for row in x.chunks_exact(cols) {
        if let Some(index) = row.iter().position(|v| v.is_nan() || *v == f32::INFINITY) {
            return Err(GpuError::Input(Error::NonFinite { index }));
        }
        if row.iter().all(|&v| v == f32::NEG_INFINITY) {
            return Err(GpuError::Input(Error::InvalidParameter {
                name: "softmax input is entirely -inf",
            }));
        }
    }
    Ok(())
}

impl Gpu {
    /// outᵢⱼ = exp(xᵢⱼ − maxᵢ) / Σₖ exp(xᵢₖ − maxᵢ) for row-major x and out (rows×cols each).
    pub fn softmax_rows(
        &self,
        x: &[f32],
        out: &mut [f32],
        rows: usize,
        cols: usize,
    ) -> Result<KernelTiming, GpuError> {
        self.softmax_op(x, out, rows, cols, false)
    }

    /// outᵢⱼ = xᵢⱼ − maxᵢ − ln Σₖ exp(xᵢₖ − maxᵢ) for row-major x and out (rows×cols each).
    pub fn log_softmax_rows(
        &self,
        x: &[f32],
        out: &mut [f32],
        rows: usize,
        cols: usize,
    ) -> Result<KernelTiming, GpuError> {
        self.softmax_op(x, out, rows, cols, true)
    }

    fn softmax_op(
        &self,
        x: &[f32],
        out: &mut [f32],
        rows: usize,
        cols: usize,
        log: bool,
    ) -> Result<KernelTiming, GpuError> {
        let overflow = || GpuError::ShapeOverflow {
            m: rows,
            k: cols,
            n: 1,
        };
        let count = rows.checked_mul(cols).ok_or_else(overflow)?;
        u32::try_from(count).map_err(|_| overflow())?;
        check_len("x", count, x.len())?;
        check_len("out", count, out.len())?;
        if rows == 0 {
            return Ok(KernelTiming::default());
        }
        check_rows(x, cols)?;
        let kernel = self.kernel("softmax", include_str!("softmax.wgsl"), "main")?;
        let params = Params {
            rows: rows as u32,
            cols: cols as u32,
            log: u32::from(log),
            pad0: 0,
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
                groups: grid(self, rows)?,
            }],
            1,
            bytemuck::cast_slice_mut(out),
        )
    }
}
