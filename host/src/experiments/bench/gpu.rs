//! The GPU part of `edgeml bench`: gemm, row softmax, pairwise squared-L2 distances, tree
//! ensemble batch prediction and attention forward timed on the same inputs as the core's
//! scalar reference, the core's dispatched (SIMD) kernel and the edgeml-gpu kernel, with the
//! GPU's upload, compute and readback times split, a throughput vs size plot per kernel
//! marking where the GPU first beats SIMD, and the figures as JSON.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use edgeml_core::attention::{
    attention, attention_reference, reference_workspace_len, streaming_workspace_len, AttentionSpec,
};
use edgeml_core::kernels::distance::{squared_l2_rows, squared_l2_rows_reference};
use edgeml_core::kernels::gemm::{gemm, gemm_reference};
use edgeml_core::kernels::softmax::{softmax_reference, softmax_rows};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::tree::{Model, ModelKind, Node};
use edgeml_core::{TensorView, TensorViewMut};
use edgeml_gpu::{AttentionMask, AttentionShape, GemmPlan, Gpu, KernelTiming};
use serde_json::{json, Map, Value};

use super::{random_vec, seconds_per_call, GpuSection};
use crate::report::plot::{line_plot_scaled, Scale, Series};

/// Largest gemm size timed on a software adapter: beyond it one call takes seconds.
const SOFTWARE_MAX_GEMM: usize = 1024;
/// Row width of the softmax sweep (a classifier's logits).
const SOFTMAX_WIDTH: usize = 1000;
/// Feature count of the distance sweep.
const DISTANCE_DIM: usize = 32;
/// Points per distance problem; the sweep varies the query count.
const DISTANCE_POINTS: usize = 4096;
/// Depth of the random tree ensemble's complete trees.
const TREE_DEPTH: u32 = 6;
/// Features per row of the tree ensemble's inputs.
const TREE_FEATURES: usize = 8;
/// Heads of the attention problem.
const ATTENTION_HEADS: usize = 4;
/// Query/key/value width per head of the attention problem.
const ATTENTION_DIM: usize = 64;

/// Median seconds of one GPU call: upload, compute and readback, and their sum.
#[derive(Clone, Copy)]
struct Split {
    upload: f64,
    compute: f64,
    readback: f64,
    total: f64,
}

/// One table row: a kernel at one size through the three paths, seconds per call.
struct Row {
    kernel: &'static str,
    /// Size label, e.g. "512" or "256×1000".
    size: String,
    /// The x coordinate of the size on the plot.
    x: f64,
    /// Work per call (flops, elements or rows).
    work: f64,
    /// Throughput unit: work per second divided by `per_unit`.
    unit: &'static str,
    per_unit: f64,
    scalar: f64,
    /// None where the core has no vector variant of the kernel.
    simd: Option<f64>,
    gpu: Split,
}

impl Row {
    fn rate(&self, seconds: f64) -> f64 {
        self.work / seconds / self.per_unit
    }
}

/// Medians of upload, compute, readback and total over repeated `call`s after one warm-up,
/// lasting about `min_time` (at least 3 calls, at most 50).
fn gpu_split(min_time: Duration, mut call: impl FnMut() -> Result<KernelTiming>) -> Result<Split> {
    call()?;
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < 3 || (started.elapsed() < min_time && samples.len() < 50) {
        let t = call()?;
        let parts = [
            t.upload.as_secs_f64(),
            t.compute.wall.as_secs_f64(),
            t.readback.as_secs_f64(),
        ];
        samples.push([parts[0], parts[1], parts[2], parts.iter().sum()]);
    }
    let median = |i: usize| {
        let mut v: Vec<f64> = samples.iter().map(|s| s[i]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(Split {
        upload: median(0),
        compute: median(1),
        readback: median(2),
        total: median(3),
    })
}

/// Seconds per call of the core's scalar reference (`run(true)`) and of its dispatched kernel
/// (`run(false)`) on the same buffers.
fn scalar_and_simd(
    min_time: Duration,
    mut run: impl FnMut(bool) -> Result<()>,
) -> Result<(f64, f64)> {
    let scalar = seconds_per_call(min_time, || run(true))?;
    let simd = seconds_per_call(min_time, || run(false))?;
    Ok((scalar, simd))
}

fn gemm_row(
    gpu: &Gpu,
    dispatch: Dispatch,
    n: usize,
    min_time: Duration,
    rng: &mut Rng,
) -> Result<Row> {
    let a = random_vec(rng, n * n);
    let b = random_vec(rng, n * n);
    let mut c = vec![0.0f32; n * n];
    let (scalar, simd) = scalar_and_simd(min_time, |reference| {
        let (av, bv) = (TensorView::matrix(&a, n, n)?, TensorView::matrix(&b, n, n)?);
        let cv = TensorViewMut::matrix(&mut c, n, n)?;
        if reference {
            gemm_reference(1.0, av, bv, 0.0, cv)?;
        } else {
            gemm(dispatch, 1.0, av, bv, 0.0, cv)?;
        }
        Ok(())
    })?;
    let plan = GemmPlan::new(gpu, n, n, n)?;
    let split = gpu_split(min_time, || {
        let upload = plan.upload(&a, &b, &c)?;
        let compute = plan.run(1.0, 0.0)?;
        let readback = plan.readback(&mut c)?;
        Ok(KernelTiming {
            upload,
            compute,
            readback,
        })
    })?;
    Ok(Row {
        kernel: "gemm",
        size: n.to_string(),
        x: n as f64,
        work: 2.0 * (n as f64).powi(3),
        unit: "GFLOP/s",
        per_unit: 1e9,
        scalar,
        simd: Some(simd),
        gpu: split,
    })
}

fn softmax_row(gpu: &Gpu, rows: usize, min_time: Duration, rng: &mut Rng) -> Result<Row> {
    let cols = SOFTMAX_WIDTH;
    let x: Vec<f32> = (0..rows * cols).map(|_| 4.0 * rng.normal()).collect();
    let mut out = vec![0.0f32; rows * cols];
    let (scalar, simd) = scalar_and_simd(min_time, |reference| {
        if reference {
            for (row, dst) in x.chunks_exact(cols).zip(out.chunks_exact_mut(cols)) {
                softmax_reference(row, dst)?;
            }
        } else {
            softmax_rows(
                TensorView::matrix(&x, rows, cols)?,
                TensorViewMut::matrix(&mut out, rows, cols)?,
            )?;
        }
        Ok(())
    })?;
    let split = gpu_split(min_time, || Ok(gpu.softmax_rows(&x, &mut out, rows, cols)?))?;
    Ok(Row {
        kernel: "softmax rows",
        size: format!("{rows}×{cols}"),
        x: rows as f64,
        work: (rows * cols) as f64,
        unit: "G elem/s",
        per_unit: 1e9,
        scalar,
        simd: Some(simd),
        gpu: split,
    })
}

fn distance_row(gpu: &Gpu, m: usize, min_time: Duration, rng: &mut Rng) -> Result<Row> {
    let (n, d) = (DISTANCE_POINTS, DISTANCE_DIM);
    let q = random_vec(rng, m * d);
    let p = random_vec(rng, n * d);
    let mut out = vec![0.0f32; m * n];
    let (scalar, simd) = scalar_and_simd(min_time, |reference| {
        let (qv, pv) = (TensorView::matrix(&q, m, d)?, TensorView::matrix(&p, n, d)?);
        let ov = TensorViewMut::matrix(&mut out, m, n)?;
        if reference {
            squared_l2_rows_reference(qv, pv, ov)?;
        } else {
            squared_l2_rows(qv, pv, ov)?;
        }
        Ok(())
    })?;
    let split = gpu_split(min_time, || {
        Ok(gpu.squared_l2_rows(&q, &p, &mut out, (m, n, d))?)
    })?;
    Ok(Row {
        kernel: "sq. L2 distances",
        size: format!("{m}×{n}×{d}"),
        x: m as f64,
        work: 3.0 * (m * n * d) as f64,
        unit: "GFLOP/s",
        per_unit: 1e9,
        scalar,
        simd: Some(simd),
        gpu: split,
    })
}

/// A random boosted regression ensemble of `trees` complete trees of depth [`TREE_DEPTH`] over
/// [`TREE_FEATURES`] features, breadth first (node i's children are 2i + 1 and 2i + 2 within
/// its tree), thresholds in [-1, 1] and leaves in [-0.1, 0.1].
fn random_ensemble(rng: &mut Rng, trees: usize) -> (Vec<Node>, Vec<u32>) {
    let per_tree = (1usize << (TREE_DEPTH + 1)) - 1;
    let internal = (1usize << TREE_DEPTH) - 1;
    let mut nodes = Vec::with_capacity(trees * per_tree);
    let mut roots = Vec::with_capacity(trees);
    for _ in 0..trees {
        roots.push(nodes.len() as u32);
        for i in 0..per_tree {
            nodes.push(if i < internal {
                let feature =
                    (rng.uniform(0.0, TREE_FEATURES as f32) as u32).min(TREE_FEATURES as u32 - 1);
                let default_left = rng.uniform(0.0, 1.0) < 0.5;
                Node::split(
                    feature,
                    rng.uniform(-1.0, 1.0),
                    2 * i as u32 + 1,
                    default_left,
                )
            } else {
                Node::leaf(rng.uniform(-0.1, 0.1))
            });
        }
    }
    (nodes, roots)
}

/// Batch prediction of a random `trees`-tree ensemble on `rows` rows: the core (no vector
/// variant) against the GPU with the model uploaded once beforehand.
fn tree_row(
    gpu: &Gpu,
    trees: usize,
    rows: usize,
    min_time: Duration,
    rng: &mut Rng,
) -> Result<Row> {
    let (nodes, roots) = random_ensemble(rng, trees);
    let model = Model::new(
        ModelKind::Regression,
        TREE_FEATURES,
        1,
        &nodes,
        &roots,
        &[0.0],
    )?;
    let x = random_vec(rng, rows * TREE_FEATURES);
    let mut out = vec![0.0f32; rows];
    let scalar = seconds_per_call(min_time, || {
        model.predict_batch(&TensorView::matrix(&x, rows, TREE_FEATURES)?, &mut out)?;
        Ok(())
    })?;
    let on_gpu = gpu.upload_tree_model(&model)?;
    let split = gpu_split(min_time, || Ok(on_gpu.predict_batch(&x, rows, &mut out)?))?;
    Ok(Row {
        kernel: "tree ensemble predict",
        size: format!("{trees} trees × depth {TREE_DEPTH}, {rows} rows"),
        x: rows as f64,
        work: rows as f64,
        unit: "M rows/s",
        per_unit: 1e6,
        scalar,
        simd: None,
        gpu: split,
    })
}

/// Attention forward, [`ATTENTION_HEADS`] heads of width [`ATTENTION_DIM`] at sequence length
/// `len`: the core's reference and its streaming kernel head by head, the GPU in one call.
fn attention_row(
    gpu: &Gpu,
    dispatch: Dispatch,
    len: usize,
    min_time: Duration,
    rng: &mut Rng,
) -> Result<Row> {
    let (heads, d) = (ATTENTION_HEADS, ATTENTION_DIM);
    let per_head = len * d;
    let q = random_vec(rng, heads * per_head);
    let k = random_vec(rng, heads * per_head);
    let v = random_vec(rng, heads * per_head);
    let mut out = vec![0.0f32; heads * per_head];
    let spec = AttentionSpec::new();
    let mut reference_ws = vec![0.0f32; reference_workspace_len(len, len)];
    let mut streaming_ws = vec![0.0f32; streaming_workspace_len(d)];
    let (scalar, simd) = scalar_and_simd(min_time, |reference| {
        let chunks = q
            .chunks_exact(per_head)
            .zip(k.chunks_exact(per_head))
            .zip(v.chunks_exact(per_head))
            .zip(out.chunks_exact_mut(per_head));
        for (((qh, kh), vh), oh) in chunks {
            let qv = TensorView::matrix(qh, len, d)?;
            let kv = TensorView::matrix(kh, len, d)?;
            let vv = TensorView::matrix(vh, len, d)?;
            let ov = TensorViewMut::matrix(oh, len, d)?;
            if reference {
                attention_reference(&spec, qv, kv, vv, ov, &mut reference_ws)?;
            } else {
                attention(dispatch, &spec, qv, kv, vv, ov, &mut streaming_ws)?;
            }
        }
        Ok(())
    })?;
    let shape = AttentionShape {
        heads,
        lq: len,
        lk: len,
        dk: d,
        dv: d,
    };
    let mask = AttentionMask::new();
    let split = gpu_split(min_time, || {
        Ok(gpu.attention(&mask, shape, &q, &k, &v, &mut out)?)
    })?;
    Ok(Row {
        kernel: "attention forward",
        size: format!("{heads}×{d}, L = {len}"),
        x: len as f64,
        work: (heads * 4 * len * len * d) as f64,
        unit: "GFLOP/s",
        per_unit: 1e9,
        scalar,
        simd: Some(simd),
        gpu: split,
    })
}

/// The first row (in size order) where the GPU's throughput from `gpu` seconds exceeds the
/// SIMD path's, as its x.
fn crossover(rows: &[&Row], gpu: impl Fn(&Split) -> f64) -> Option<f64> {
    rows.iter()
        .find(|r| {
            r.simd
                .is_some_and(|simd| r.rate(gpu(&r.gpu)) > r.rate(simd))
        })
        .map(|r| r.x)
}

/// Writes the throughput-vs-size plot of one kernel's rows and returns its crossover sizes
/// (end to end, compute only).
fn plot_kernel(
    path: &Path,
    rows: &[&Row],
    x_label: &str,
    adapter: &str,
) -> Result<(Option<f64>, Option<f64>)> {
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok((None, None));
    };
    let end_to_end = crossover(rows, |s| s.total);
    let compute = crossover(rows, |s| s.compute);
    let short = adapter.split(" (").next().unwrap_or(adapter);
    let at = |x: Option<f64>| x.map_or_else(|| "never".to_string(), |x| format!("from {x}"));
    let title = if end_to_end.is_none() && compute.is_none() {
        format!(
            "{} on {short}: GPU never beats SIMD up to {}",
            first.kernel, last.x
        )
    } else {
        format!(
            "{} on {short}: GPU beats SIMD end to end {}, compute only {}",
            first.kernel,
            at(end_to_end),
            at(compute)
        )
    };
    let series = |name: &str, pick: &dyn Fn(&Row) -> f64| Series {
        name: name.into(),
        points: rows.iter().map(|r| (r.x, pick(r))).collect(),
    };
    let mut lines = vec![
        series("scalar (core reference)", &|r| r.rate(r.scalar)),
        Series {
            name: "SIMD (core dispatched)".into(),
            points: rows
                .iter()
                .filter_map(|r| r.simd.map(|simd| (r.x, r.rate(simd))))
                .collect(),
        },
        series("GPU end to end", &|r| r.rate(r.gpu.total)),
        series("GPU compute only", &|r| r.rate(r.gpu.compute)),
    ];
    let rates = lines.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (low, high) = rates.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    for (name, x) in [
        ("crossover, end to end", end_to_end),
        ("crossover, compute", compute),
    ] {
        if let Some(x) = x {
            lines.push(Series {
                name: format!("{name} ({x})"),
                points: vec![(x, low), (x, high)],
            });
        }
    }
    line_plot_scaled(path, &title, x_label, first.unit, &lines, Scale::Log)?;
    Ok((end_to_end, compute))
}

fn ms(seconds: f64) -> String {
    format!("{:.3}", seconds * 1e3)
}

fn markdown_table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| kernel | size | unit | scalar | SIMD | GPU end to end | GPU compute only | upload ms \
         | compute ms | readback ms |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        text.push_str(&format!(
            "| {} | {} | {} | {:.3} | {} | {:.3} | {:.3} | {} | {} | {} |\n",
            r.kernel,
            r.size,
            r.unit,
            r.rate(r.scalar),
            r.simd
                .map_or_else(|| "–".to_string(), |simd| format!("{:.3}", r.rate(simd))),
            r.rate(r.gpu.total),
            r.rate(r.gpu.compute),
            ms(r.gpu.upload),
            ms(r.gpu.compute),
            ms(r.gpu.readback)
        ));
    }
    text.push('\n');
    text
}

/// `{kernel: {"unit", "sizes": {size: {scalar, simd, gpu_end_to_end, gpu_compute_only,
/// upload_ms, compute_ms, readback_ms}}}}`, throughputs in the kernel's unit.
fn rows_json(rows: &[Row]) -> Value {
    let mut kernels = Map::new();
    for r in rows {
        let entry = kernels
            .entry(r.kernel.to_string())
            .or_insert_with(|| json!({ "unit": r.unit, "sizes": {} }));
        if let Some(sizes) = entry.get_mut("sizes").and_then(Value::as_object_mut) {
            sizes.insert(
                r.size.clone(),
                json!({
                    "scalar": r.rate(r.scalar),
                    "simd": r.simd.map(|simd| r.rate(simd)),
                    "gpu_end_to_end": r.rate(r.gpu.total),
                    "gpu_compute_only": r.rate(r.gpu.compute),
                    "upload_ms": r.gpu.upload * 1e3,
                    "compute_ms": r.gpu.compute * 1e3,
                    "readback_ms": r.gpu.readback * 1e3,
                }),
            );
        }
    }
    Value::Object(kernels)
}

/// The GPU section of the bench: opens the GPU (or reports why there is none) and, with an
/// adapter, times gemm at `gemm_sizes`, softmax, distances, a tree ensemble and attention
/// through the three paths.
pub(super) fn run(
    out_dir: &Path,
    quick: bool,
    gemm_sizes: &[usize],
    min_time: Duration,
    dispatch: Dispatch,
    rng: &mut Rng,
) -> Result<GpuSection> {
    let gpu = match Gpu::new() {
        Ok(gpu) => gpu,
        Err(e) => {
            crate::report::terminal::note(format!("no GPU adapter: {e}; GPU columns skipped"));
            return Ok(GpuSection {
                markdown: format!("**GPU:** none — no GPU adapter: {e}; GPU columns skipped.\n\n"),
                figures: json!({ "available": false, "reason": e.to_string() }),
                plots: Vec::new(),
            });
        }
    };
    let info = gpu.adapter_info().clone();
    crate::report::terminal::note(format!("GPU adapter: {info}"));
    let software = info.is_software();
    let mut sizes = gemm_sizes.to_vec();
    if software {
        sizes.retain(|&n| n <= SOFTWARE_MAX_GEMM);
    }
    let shrunk = sizes.len() < gemm_sizes.len();
    let (softmax_rows_sweep, query_sweep, lengths, (trees, tree_rows)): (
        &[usize],
        &[usize],
        &[usize],
        _,
    ) = if quick {
        (&[16, 256], &[16, 128], &[64], (50, 1024))
    } else {
        (&[16, 256, 4096], &[16, 128, 1024], &[128, 512], (500, 4096))
    };
    let steps = sizes.len() + softmax_rows_sweep.len() + query_sweep.len() + lengths.len() + 1;
    let progress = crate::report::progress::bar(steps as u64, "bench gpu");
    let mut rows = Vec::new();
    for &n in &sizes {
        progress.set_message(format!("gemm {n}"));
        rows.push(gemm_row(&gpu, dispatch, n, min_time, rng).with_context(|| format!("gemm {n}"))?);
        progress.inc(1);
    }
    for &r in softmax_rows_sweep {
        progress.set_message(format!("softmax {r}×{SOFTMAX_WIDTH}"));
        rows.push(softmax_row(&gpu, r, min_time, rng).with_context(|| format!("softmax {r}"))?);
        progress.inc(1);
    }
    for &m in query_sweep {
        progress.set_message(format!("distances {m}×{DISTANCE_POINTS}"));
        rows.push(distance_row(&gpu, m, min_time, rng).with_context(|| format!("distances {m}"))?);
        progress.inc(1);
    }
    progress.set_message(format!("trees {trees}, {tree_rows} rows"));
    rows.push(tree_row(&gpu, trees, tree_rows, min_time, rng).context("tree ensemble")?);
    progress.inc(1);
    for &len in lengths {
        progress.set_message(format!("attention L = {len}"));
        rows.push(
            attention_row(&gpu, dispatch, len, min_time, rng)
                .with_context(|| format!("attention L = {len}"))?,
        );
        progress.inc(1);
    }
    progress.finish_and_clear();

    let by_kernel =
        |kernel: &str| -> Vec<&Row> { rows.iter().filter(|r| r.kernel == kernel).collect() };
    let mut plots = Vec::new();
    let mut crossovers = Map::new();
    for (kernel, key, file, x_label) in [
        ("gemm", "gemm", "bench_gpu_gemm.png", "n (n×n times n×n)"),
        (
            "sq. L2 distances",
            "distances",
            "bench_gpu_distances.png",
            "queries (against 4096 points, d = 32)",
        ),
    ] {
        let (end_to_end, compute) =
            plot_kernel(&out_dir.join(file), &by_kernel(kernel), x_label, &info.name)?;
        crossovers.insert(
            key.into(),
            json!({ "end_to_end": end_to_end, "compute_only": compute }),
        );
        plots.push(file.to_string());
    }

    let mut markdown = format!(
        "**CPU (scalar, SIMD `{}`; one thread) vs GPU — adapter: {info}**{}\n\n\
         Throughput in the unit of each row; the GPU's end-to-end time is upload + compute + \
         readback (medians of each over the same calls), \"compute only\" is the dispatch \
         waited for. gemm on the GPU keeps its buffers allocated (`GemmPlan`) and re-uploads \
         A, B, C each call; the tree ensemble is uploaded once before timing (the core has no \
         vector variant of tree prediction: SIMD \"–\"); attention runs head by head on the \
         core and all heads in one dispatch on the GPU.{}\n\n",
        dispatch.isa().name(),
        if software {
            " — a software rasterizer: the CPU emulating a GPU, so the GPU columns measure \
             this CPU, not a GPU"
        } else {
            ""
        },
        if shrunk {
            format!(" gemm sizes above {SOFTWARE_MAX_GEMM} skipped on this software adapter.")
        } else {
            String::new()
        }
    );
    markdown.push_str(&markdown_table(&rows));
    for plot in &plots {
        markdown.push_str(&format!("![throughput vs size]({plot})\n\n"));
    }
    let figures = json!({
        "available": true,
        "adapter": info.name,
        "backend": format!("{:?}", info.backend),
        "device_type": format!("{:?}", info.device_type),
        "driver": info.driver,
        "software_adapter": software,
        "simd_variant": dispatch.isa().name(),
        "gemm_sizes_shrunk": shrunk,
        "kernels": rows_json(&rows),
        "crossover": Value::Object(crossovers),
        "plots": plots,
    });
    Ok(GpuSection {
        markdown,
        figures,
        plots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gemm row of size `n` whose SIMD and GPU calls take the given seconds.
    fn row(n: usize, simd: f64, total: f64, compute: f64) -> Row {
        Row {
            kernel: "gemm",
            size: n.to_string(),
            x: n as f64,
            work: 2.0 * (n as f64).powi(3),
            unit: "GFLOP/s",
            per_unit: 1e9,
            scalar: 10.0 * simd,
            simd: Some(simd),
            gpu: Split {
                upload: (total - compute) / 2.0,
                compute,
                readback: (total - compute) / 2.0,
                total,
            },
        }
    }

    #[test]
    fn crossover_is_the_first_size_where_the_gpu_is_faster_and_is_plotted() {
        let rows = [
            row(64, 1e-4, 1e-3, 5e-4),
            row(128, 1e-3, 2e-3, 5e-4),
            row(256, 8e-3, 4e-3, 2e-3),
            row(512, 6e-2, 7e-2, 1e-2),
        ];
        let refs: Vec<&Row> = rows.iter().collect();
        let first = |gpu: fn(&Split) -> f64| {
            rows.iter()
                .find(|r| gpu(&r.gpu) < r.simd.unwrap_or(f64::INFINITY))
                .map(|r| r.x)
        };
        assert_eq!(crossover(&refs, |s| s.total), first(|s| s.total));
        assert_eq!(crossover(&refs, |s| s.compute), first(|s| s.compute));
        assert_eq!(first(|s| s.total), Some(256.0));
        assert_eq!(first(|s| s.compute), Some(128.0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crossover.png");
        let found = plot_kernel(&path, &refs, "n", "test adapter (software)").unwrap();
        assert_eq!(found, (Some(256.0), Some(128.0)));
        assert!(path.is_file());
        let slower: Vec<&Row> = refs[..2].to_vec();
        assert_eq!(crossover(&slower, |s| s.total), None);
    }
}
