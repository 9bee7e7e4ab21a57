//! Batch inference of tree ensembles on the GPU: the counterpart of
//! `edgeml_core::tree::Model::{predict_scores, predict, predict_batch}` over many rows at once.
//! A [`Model`]'s flat nodes, tree bounds and base scores are uploaded once into a
//! [`GpuTreeModel`]; each batch then uploads only its rows (row-major f32, NaN = missing) and
//! runs one invocation per (row, output) — one per row for forest votes — with no recursion,
//! NaN routed by each node's default-left flag.
//!
//! Scores are summed in f32 in the core's order (base first, trees in order) where the core
//! sums in f64, so they agree within the f32 summation bound; vote fractions, and therefore
//! forest classes, are exact.

use std::time::Instant;

use edgeml_core::tree::{Model, ModelKind};

use crate::device::Gpu;
use crate::error::GpuError;
use crate::kernels::gemm::{check_len, ComputeTiming};
use crate::kernels::launch::{grid, operand_bytes, KernelTiming};
use crate::resident::Sequence;

/// Invocations per workgroup (`WG` in tree_ensemble.wgsl).
const WG: usize = 64;

/// Uniform block matching `Params` in tree_ensemble.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    n_features: u32,
    n_outputs: u32,
    n_trees: u32,
    mode: u32,
    binary: u32,
    pad0: u32,
    pad1: u32,
}

/// How the shader combines trees (`mode` in tree_ensemble.wgsl) and whether it applies the
/// logistic function for the prediction.
fn mode(kind: ModelKind) -> (u32, u32) {
    match kind {
        ModelKind::Regression => (0, 0),
        ModelKind::Binary => (0, 1),
        ModelKind::Multiclass => (1, 0),
        ModelKind::ForestMean => (2, 0),
        ModelKind::ForestVote => (3, 0),
    }
}

/// u32 whose unsigned order is the IEEE order of finite or infinite `v`, ±0 equal (the
/// shader's `order_key`).
fn order_key(v: f32) -> u32 {
    let bits = if v == 0.0 { 0 } else { v.to_bits() };
    if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    }
}

/// A tree ensemble resident on the device: nodes (16 bytes each), tree bounds and base scores.
pub struct GpuTreeModel<'g> {
    gpu: &'g Gpu,
    kind: ModelKind,
    n_features: usize,
    n_outputs: usize,
    n_trees: usize,
    nodes: wgpu::Buffer,
    bounds: wgpu::Buffer,
    base: wgpu::Buffer,
}

impl std::fmt::Debug for GpuTreeModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuTreeModel")
            .field("kind", &self.kind)
            .field("n_features", &self.n_features)
            .field("n_outputs", &self.n_outputs)
            .field("n_trees", &self.n_trees)
            .finish()
    }
}

/// A storage buffer holding `data` (padded to 4 bytes, at least 4), checked against the limits.
fn storage(gpu: &Gpu, label: &'static str, data: &[u8]) -> Result<wgpu::Buffer, GpuError> {
    let size = operand_bytes(data.len() as u64, &gpu.limits)?;
    let _serial = gpu.exclusive();
    let buffer = Gpu::scoped(&gpu.device, || {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    })?;
    if !data.is_empty() {
        gpu.queue.write_buffer(&buffer, 0, data);
    }
    Ok(buffer)
}

impl Gpu {
    /// Uploads `model` (already validated by `Model::new`) once for batch inference.
    /// `TooLarge` when its nodes exceed a storage binding, `ShapeOverflow` past 2³² nodes.
    pub fn upload_tree_model(&self, model: &Model<'_>) -> Result<GpuTreeModel<'_>, GpuError> {
        let n_nodes = model.nodes().len();
        let overflow = || GpuError::ShapeOverflow {
            m: n_nodes,
            k: model.n_trees(),
            n: 1,
        };
        let total = u32::try_from(n_nodes).map_err(|_| overflow())?;
        let packed: Vec<[u32; 4]> = model
            .nodes()
            .iter()
            .map(|node| {
                let value = if node.is_leaf() {
                    node.value.to_bits()
                } else {
                    order_key(node.value)
                };
                [node.feature, value, node.left, 0]
            })
            .collect();
        let mut bounds = model.roots().to_vec();
        bounds.push(total);
        let base: &[f32] = if model.base().is_empty() {
            &[0.0]
        } else {
            model.base()
        };
        Ok(GpuTreeModel {
            gpu: self,
            kind: model.kind(),
            n_features: model.n_features(),
            n_outputs: model.n_outputs(),
            n_trees: model.n_trees(),
            nodes: storage(self, "tree nodes", bytemuck::cast_slice(&packed))?,
            bounds: storage(self, "tree bounds", bytemuck::cast_slice(&bounds))?,
            base: storage(self, "tree base", bytemuck::cast_slice(base))?,
        })
    }
}

impl GpuTreeModel<'_> {
    /// How the trees' outputs combine.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Features per input row.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Scores per row.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// `Model::predict_scores` for each row of the row-major `rows × n_features` matrix `x`
    /// into `out` (`rows × n_outputs`, row-major): raw sums for boosted models, the mean for
    /// `ForestMean`, vote fractions for `ForestVote`.
    pub fn predict_scores_batch(
        &self,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
    ) -> Result<KernelTiming, GpuError> {
        let scores_len = self.check(x, rows)?;
        check_len("scores", scores_len, out.len())?;
        self.run(x, rows, false, out)
    }

    /// `Model::predict_batch` for the row-major `rows × n_features` matrix `x` into `out`
    /// (`rows`): the value (`Regression`, `ForestMean`), `P(class 1)` (`Binary`), or the top
    /// class index, ties to the lowest (`Multiclass`, `ForestVote`).
    pub fn predict_batch(
        &self,
        x: &[f32],
        rows: usize,
        out: &mut [f32],
    ) -> Result<KernelTiming, GpuError> {
        self.check(x, rows)?;
        check_len("predictions", rows, out.len())?;
        self.run(x, rows, true, out)
    }

    /// Checks `x` against `rows × n_features` and returns the score count `rows × n_outputs`
    /// (both within u32).
    fn check(&self, x: &[f32], rows: usize) -> Result<usize, GpuError> {
        let overflow = || GpuError::ShapeOverflow {
            m: rows,
            k: self.n_features,
            n: self.n_outputs,
        };
        let fits = |count: Option<usize>| {
            count
                .filter(|&c| u32::try_from(c).is_ok())
                .ok_or_else(overflow)
        };
        check_len("x", fits(rows.checked_mul(self.n_features))?, x.len())?;
        fits(rows.checked_mul(self.n_outputs))
    }

    /// Uploads `x`, runs the score pass (and the prediction pass when `predict`) and reads the
    /// scores or predictions into `out`.
    fn run(
        &self,
        x: &[f32],
        rows: usize,
        predict: bool,
        out: &mut [f32],
    ) -> Result<KernelTiming, GpuError> {
        if rows == 0 {
            return Ok(KernelTiming::default());
        }
        let gpu = self.gpu;
        let source = include_str!("tree_ensemble.wgsl");
        let sums = gpu.kernel("tree_ensemble sums", source, "sums")?;
        let finish = gpu.kernel("tree_ensemble finish", source, "finish")?;
        let (mode, binary) = mode(self.kind);
        let params = Params {
            rows: rows as u32,
            n_features: self.n_features as u32,
            n_outputs: self.n_outputs as u32,
            n_trees: self.n_trees as u32,
            mode,
            binary,
            pad0: 0,
            pad1: 0,
        };
        let start = Instant::now();
        let rows_on_device = gpu.upload(x)?;
        let scores = gpu.zeros(rows * self.n_outputs)?;
        let predictions = gpu.zeros(if predict { rows } else { 0 })?;
        self.wait()?;
        let upload = start.elapsed();

        let start = Instant::now();
        let score_items = if mode == 3 {
            rows
        } else {
            rows * self.n_outputs
        };
        let scores_raw = scores.raw()?;
        let mut sequence = Sequence::new(gpu);
        sequence.pass(
            &sums,
            bytemuck::bytes_of(&params),
            &[
                (1, &self.nodes),
                (2, &self.bounds),
                (3, &self.base),
                (4, rows_on_device.raw()?),
                (5, scores_raw),
            ],
            grid(gpu, score_items.div_ceil(WG))?,
        );
        if predict {
            sequence.pass(
                &finish,
                bytemuck::bytes_of(&params),
                &[(5, scores_raw), (6, predictions.raw()?)],
                grid(gpu, rows.div_ceil(WG))?,
            );
        }
        sequence.submit()?;
        self.wait()?;
        let compute = ComputeTiming {
            wall: start.elapsed(),
            device: None,
        };

        let start = Instant::now();
        if predict {
            predictions.read_into(out)?;
        } else {
            scores.read_into(out)?;
        }
        Ok(KernelTiming {
            upload,
            compute,
            readback: start.elapsed(),
        })
    }

    /// Flushes queued writes and waits for the device, holding its lock.
    fn wait(&self) -> Result<(), GpuError> {
        let _serial = self.gpu.exclusive();
        self.gpu.queue.submit([]);
        self.gpu.wait()
    }
}
