//! Pairwise squared Euclidean distances and brute-force k-NN on the GPU: the counterparts of
//! `edgeml_core::kernels::distance::squared_l2_rows_reference` and of an exhaustive top-k over
//! its output.

use edgeml_core::Error;

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::check_len;
use crate::kernels::launch::{execute, grid, KernelTiming, Operand, Pass};

/// Edge of the distance block computed by one workgroup (`WG` in distance.wgsl).
const TILE: usize = 16;
/// Invocations per workgroup of the top-k pass.
const TOPK_GROUP: usize = 64;
/// Largest k the top-k pass supports (`KMAX` in distance.wgsl).
pub const MAX_K: usize = 64;

/// Uniform block matching `Params` in distance.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    d: u32,
    k: u32,
}

/// One of a query's nearest points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbor {
    /// Row of the point in the point matrix.
    pub index: usize,
    /// Squared Euclidean distance from the query.
    pub distance: f32,
}

/// Checked operand sizes for m queries and n points of dimension d, and the block grid.
fn shapes(
    gpu: &Gpu,
    queries: &[f32],
    points: &[f32],
    (m, n, d): (usize, usize, usize),
) -> Result<(Params, [u32; 3]), GpuError> {
    let overflow = || GpuError::ShapeOverflow { m, k: d, n };
    let fits = |count: Option<usize>| {
        count
            .and_then(|c| u32::try_from(c).ok())
            .ok_or_else(overflow)
    };
    check_len("queries", fits(m.checked_mul(d))? as usize, queries.len())?;
    check_len("points", fits(n.checked_mul(d))? as usize, points.len())?;
    fits(m.checked_mul(n))?;
    let max = gpu.limits.max_compute_workgroups_per_dimension as usize;
    let (gx, gy) = (n.div_ceil(TILE), m.div_ceil(TILE));
    if gx > max || gy > max {
        return Err(GpuError::Limit(format!(
            "distances {m}×{n} need {gx}×{gy} workgroups, adapter allows {max} per dimension"
        )));
    }
    let params = Params {
        m: m as u32,
        n: n as u32,
        d: d as u32,
        k: 0,
    };
    Ok((params, [gx as u32, gy as u32, 1]))
}

impl Gpu {
    /// out[i·n + j] = ‖queryᵢ − pointⱼ‖² for row-major queries m×d, points n×d and out m×n.
    pub fn squared_l2_rows(
        &self,
        queries: &[f32],
        points: &[f32],
        out: &mut [f32],
        (m, n, d): (usize, usize, usize),
    ) -> Result<KernelTiming, GpuError> {
        let (params, groups) = shapes(self, queries, points, (m, n, d))?;
        check_len("out", m * n, out.len())?;
        if out.is_empty() {
            return Ok(KernelTiming::default());
        }
        let kernel = self.kernel(
            "distance pairwise",
            include_str!("distance.wgsl"),
            "pairwise",
        )?;
        execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(queries)),
                Operand::Input(bytemuck::cast_slice(points)),
                Operand::Scratch(std::mem::size_of_val(out) as u64),
            ],
            &[Pass {
                kernel: &kernel,
                bindings: &[(1, 0), (2, 1), (3, 2)],
                groups,
            }],
            2,
            bytemuck::cast_slice_mut(out),
        )
    }

    /// The k nearest points (squared L2) of each query, nearest first, ties to the lower
    /// index: m·k neighbours, query by query. Queries m×d and points n×d are row-major.
    /// `Input(InvalidParameter)` unless 1 ≤ k ≤ n; `Limit` when k > [`MAX_K`].
    pub fn knn(
        &self,
        queries: &[f32],
        points: &[f32],
        (m, n, d): (usize, usize, usize),
        k: usize,
    ) -> Result<(Vec<Neighbor>, KernelTiming), GpuError> {
        let (mut params, groups) = shapes(self, queries, points, (m, n, d))?;
        if k == 0 || k > n {
            return Err(GpuError::Input(Error::InvalidParameter {
                name: "k must be between 1 and the number of points",
            }));
        }
        if k > MAX_K {
            return Err(GpuError::Limit(format!(
                "k = {k} exceeds the GPU top-k's {MAX_K}"
            )));
        }
        if m == 0 {
            return Ok((Vec::new(), KernelTiming::default()));
        }
        params.k = k as u32;
        let pairwise = self.kernel(
            "distance pairwise",
            include_str!("distance.wgsl"),
            "pairwise",
        )?;
        let topk = self.kernel("distance topk", include_str!("distance.wgsl"), "topk")?;
        let mut best = vec![0u32; m * k * 2];
        let timing = execute(
            self,
            bytemuck::bytes_of(&params),
            &[
                Operand::Input(bytemuck::cast_slice(queries)),
                Operand::Input(bytemuck::cast_slice(points)),
                Operand::Scratch(4 * (m * n) as u64),
                Operand::Scratch(8 * (m * k) as u64),
            ],
            &[
                Pass {
                    kernel: &pairwise,
                    bindings: &[(1, 0), (2, 1), (3, 2)],
                    groups,
                },
                Pass {
                    kernel: &topk,
                    bindings: &[(3, 2), (4, 3)],
                    groups: grid(self, m.div_ceil(TOPK_GROUP))?,
                },
            ],
            3,
            bytemuck::cast_slice_mut(&mut best),
        )?;
        let neighbors = best
            .chunks_exact(2)
            .map(|pair| Neighbor {
                index: pair[0] as usize,
                distance: f32::from_bits(pair[1]),
            })
            .collect();
        Ok((neighbors, timing))
    }
}
