//! Core vs GPU for the model kernels, one CPU thread: batch inference of a 500-tree ensemble
//! (depth 6, 8 features) on 4096 rows, and attention forward with 4 heads × d 64 at
//! L = 128 and 512 (the core runs the heads as 4 calls with its best SIMD variant; the GPU as
//! one batched call). Criterion measures every cell; with `--bench` a markdown table follows
//! (median times, the GPU's upload / compute / readback split, and the adapter name). Without
//! an adapter the GPU cells are skipped with a message.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use edgeml_core::attention::{attention, streaming_workspace_len, AttentionSpec};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::tree::{Model, ModelKind, Node};
use edgeml_core::{TensorView, TensorViewMut};
use edgeml_gpu::{AttentionMask, AttentionShape, Gpu, GpuTreeModel, KernelTiming};

/// Time spent sampling one table cell once 5 samples are in.
const BUDGET: Duration = Duration::from_secs(1);
const TREES: usize = 500;
const DEPTH: u32 = 6;
const FEATURES: usize = 8;
const ROWS: usize = 4096;
const HEADS: usize = 4;
const HEAD_DIM: usize = 64;

/// Panics with the failing call's message: a benchmark has no caller to return errors to.
fn must<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// A random boosted regression ensemble of complete trees of depth [`DEPTH`] in breadth-first
/// order (node i's children are 2i + 1 and 2i + 2), thresholds and leaves in [-1, 1].
fn random_ensemble(rng: &mut Rng) -> (Vec<Node>, Vec<u32>) {
    let per_tree = (1usize << (DEPTH + 1)) - 1;
    let internal = (1usize << DEPTH) - 1;
    let mut nodes = Vec::with_capacity(TREES * per_tree);
    let mut roots = Vec::with_capacity(TREES);
    for _ in 0..TREES {
        roots.push(nodes.len() as u32);
        for i in 0..per_tree {
            nodes.push(if i < internal {
                let feature = (rng.uniform(0.0, FEATURES as f32) as u32).min(FEATURES as u32 - 1);
                Node::split(
                    feature,
                    rng.uniform(-1.0, 1.0),
                    2 * i as u32 + 1,
                    rng.uniform(0.0, 1.0) < 0.5,
                )
            } else {
                Node::leaf(rng.uniform(-0.1, 0.1))
            });
        }
    }
    (nodes, roots)
}

/// A duration in milliseconds, 3 decimals.
fn ms(time: Duration) -> String {
    format!("{:.3}", time.as_secs_f64() * 1e3)
}

/// One table row: a workload with its CPU and GPU runs and its work per call.
struct Row<'g> {
    name: String,
    unit: &'static str,
    work: f64,
    cpu: Box<dyn FnMut() + 'g>,
    gpu: Option<Box<dyn FnMut() -> KernelTiming + 'g>>,
}

fn tree_row<'g>(gpu: Option<&'g GpuTreeModel<'g>>, model: Model<'g>) -> Row<'g> {
    let mut rng = Rng::new(11);
    let x = random(&mut rng, ROWS * FEATURES);
    let x_gpu = x.clone();
    let mut out = vec![0.0f32; ROWS];
    let mut out_gpu = vec![0.0f32; ROWS];
    Row {
        name: format!("trees {TREES}×depth {DEPTH}, {ROWS} rows"),
        unit: "M rows/s",
        work: ROWS as f64,
        cpu: Box::new(move || {
            let view = must("x", TensorView::matrix(&x, ROWS, FEATURES));
            must("core predict_batch", model.predict_batch(&view, &mut out));
        }),
        gpu: gpu.map(|g| -> Box<dyn FnMut() -> KernelTiming + 'g> {
            Box::new(move || {
                must(
                    "gpu predict_batch",
                    g.predict_batch(&x_gpu, ROWS, &mut out_gpu),
                )
            })
        }),
    }
}

fn attention_row(gpu: Option<&Gpu>, best: Dispatch, len: usize) -> Row<'_> {
    let mut rng = Rng::new(len as u64);
    let per_head = len * HEAD_DIM;
    let q = random(&mut rng, HEADS * per_head);
    let k = random(&mut rng, HEADS * per_head);
    let v = random(&mut rng, HEADS * per_head);
    let (q2, k2, v2) = (q.clone(), k.clone(), v.clone());
    let mut out = vec![0.0f32; HEADS * per_head];
    let mut out_gpu = out.clone();
    let mut workspace = vec![0.0f32; streaming_workspace_len(HEAD_DIM)];
    let shape = AttentionShape {
        heads: HEADS,
        lq: len,
        lk: len,
        dk: HEAD_DIM,
        dv: HEAD_DIM,
    };
    Row {
        name: format!("attention {HEADS}×{HEAD_DIM}, L = {len}"),
        unit: "GFLOP/s",
        work: (HEADS * 4 * len * len * HEAD_DIM) as f64,
        cpu: Box::new(move || {
            for h in 0..HEADS {
                let part = h * per_head..(h + 1) * per_head;
                let qv = must("q", TensorView::matrix(&q[part.clone()], len, HEAD_DIM));
                let kv = must("k", TensorView::matrix(&k[part.clone()], len, HEAD_DIM));
                let vv = must("v", TensorView::matrix(&v[part.clone()], len, HEAD_DIM));
                let ov = must("out", TensorViewMut::matrix(&mut out[part], len, HEAD_DIM));
                must(
                    "core attention",
                    attention(best, &AttentionSpec::new(), qv, kv, vv, ov, &mut workspace),
                );
            }
        }),
        gpu: gpu.map(|g| -> Box<dyn FnMut() -> KernelTiming + '_> {
            Box::new(move || {
                must(
                    "gpu attention",
                    g.attention(&AttentionMask::new(), shape, &q2, &k2, &v2, &mut out_gpu),
                )
            })
        }),
    }
}

fn print_table(rows: &mut [Row<'_>], adapter: &str, model_upload: Option<Duration>) {
    println!("\n### Model kernels: core (one thread) vs GPU — adapter: {adapter}\n");
    if let Some(t) = model_upload {
        println!("Tree model upload (once): {} ms\n", ms(t));
    }
    println!(
        "| workload | unit | core | GPU end-to-end | GPU compute only | core ms | GPU ms | \
         upload ms | compute ms | readback ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let rate = |work: f64, unit: &str, t: Duration| {
        let scale = if unit == "GFLOP/s" { 1e9 } else { 1e6 };
        format!("{:.3}", work / t.as_secs_f64() / scale)
    };
    for row in rows.iter_mut() {
        (row.cpu)();
        let cpu = common::median_time(BUDGET, || {
            let t = Instant::now();
            (row.cpu)();
            t.elapsed()
        });
        let gpu_cells = match row.gpu.as_mut() {
            Some(g) => {
                let [total, upload, compute, readback] = common::gpu_split(BUDGET, g);
                format!(
                    "{} | {} | {} | {} | {} | {} | {}",
                    rate(row.work, row.unit, total),
                    rate(row.work, row.unit, compute),
                    ms(cpu),
                    ms(total),
                    ms(upload),
                    ms(compute),
                    ms(readback)
                )
            }
            None => format!("n/a | n/a | {} | n/a | n/a | n/a | n/a", ms(cpu)),
        };
        println!(
            "| {} | {} | {} | {gpu_cells} |",
            row.name,
            row.unit,
            rate(row.work, row.unit, cpu)
        );
    }
}

fn main() {
    let common::BenchDevices { gpu, adapter, best } = common::bench_devices();

    let (nodes, roots) = random_ensemble(&mut Rng::new(5));
    let base = [0.0f32];
    let model = must(
        "model",
        Model::new(ModelKind::Regression, FEATURES, 1, &nodes, &roots, &base),
    );
    let start = Instant::now();
    let on_gpu = gpu
        .as_ref()
        .map(|g| must("upload model", g.upload_tree_model(&model)));
    let model_upload = on_gpu.as_ref().map(|_| start.elapsed());
    let mut rows = vec![tree_row(on_gpu.as_ref(), model)];
    for len in [128, 512] {
        rows.push(attention_row(gpu.as_ref(), best, len));
    }

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(800))
        .configure_from_args();
    for row in rows.iter_mut() {
        let mut group = criterion.benchmark_group("gpu_models");
        group.throughput(Throughput::Elements(row.work as u64));
        group.bench_function(BenchmarkId::new("core", &row.name), |b| {
            b.iter(&mut row.cpu)
        });
        if let Some(g) = row.gpu.as_mut() {
            group.bench_function(BenchmarkId::new("gpu", &row.name), |b| b.iter(&mut *g));
        }
        group.finish();
    }
    criterion.final_summary();
    // `cargo test --benches` runs each cell once without `--bench`: no table then.
    if std::env::args().any(|arg| arg == "--bench") {
        print_table(&mut rows, &adapter, model_upload);
    }
}
