//! Scalar vs SIMD vs GPU, one thread on the CPU side: gemm, dot, axpy, row softmax, GELU and
//! pairwise squared distances, each at several sizes on the same inputs. "scalar" is the core's
//! `*_reference`, "simd" the core's optimized kernel (the best x86 variant this CPU runs where
//! the kernel has one), "gpu" the edgeml-gpu kernel end to end (upload + compute + readback).
//!
//! Criterion measures every cell; afterwards a markdown table (kernel × size × path, throughput
//! in GFLOP/s or G elements/s from median times, the GPU's transfer time split from its compute
//! time, and the adapter name) is printed to stdout. Without an adapter the GPU cells are
//! skipped with a message.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use edgeml_core::kernels::activation::{self, Activation};
use edgeml_core::kernels::axpy::{axpy, axpy_reference};
use edgeml_core::kernels::distance::{squared_l2_rows, squared_l2_rows_reference};
use edgeml_core::kernels::dot::{dot_dispatch, dot_reference};
use edgeml_core::kernels::gemm::{gemm, gemm_reference};
use edgeml_core::kernels::softmax::{softmax_reference, softmax_rows};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::{TensorView, TensorViewMut};
use edgeml_gpu::{Gpu, KernelTiming};

/// Time spent sampling one table cell once 5 samples are in.
const BUDGET: Duration = Duration::from_millis(500);

/// A CPU path: runs the kernel once.
type CpuRun = Box<dyn FnMut()>;
/// The GPU path: runs the kernel once and returns its timing split.
type GpuRun<'g> = Box<dyn FnMut() -> KernelTiming + 'g>;

/// One row of the table: a kernel at one size with its three paths.
struct Case<'g> {
    kernel: &'static str,
    size: String,
    /// Floating-point operations (or elements, see `unit`) per call.
    work: f64,
    unit: &'static str,
    scalar: CpuRun,
    simd: CpuRun,
    gpu: Option<GpuRun<'g>>,
}

fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Panics with the failing kernel's message: a benchmark has no caller to return errors to.
fn must<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn gemm_case(gpu: Option<&Gpu>, best: Dispatch, n: usize) -> Case<'_> {
    let mut rng = Rng::new(n as u64);
    let a = random(&mut rng, n * n);
    let b = random(&mut rng, n * n);
    let (a1, b1, a2, b2) = (a.clone(), b.clone(), a.clone(), b.clone());
    let mut c1 = vec![0.0; n * n];
    let mut c2 = vec![0.0; n * n];
    let mut c3 = vec![0.0; n * n];
    let run = move |a: &[f32], b: &[f32], c: &mut [f32], reference: bool| {
        let av = must("A", TensorView::matrix(a, n, n));
        let bv = must("B", TensorView::matrix(b, n, n));
        let cv = must("C", TensorViewMut::matrix(c, n, n));
        if reference {
            must("gemm_reference", gemm_reference(1.0, av, bv, 0.0, cv));
        } else {
            must("gemm", gemm(best, 1.0, av, bv, 0.0, cv));
        }
    };
    Case {
        kernel: "gemm",
        size: format!("{n}×{n}×{n}"),
        work: 2.0 * (n as f64).powi(3),
        unit: "GFLOP/s",
        scalar: Box::new(move || run(&a1, &b1, &mut c1, true)),
        simd: Box::new(move || run(&a2, &b2, &mut c2, false)),
        gpu: gpu.map(|g| -> GpuRun<'_> {
            Box::new(move || must("gpu gemm", g.gemm(1.0, &a, &b, 0.0, &mut c3, n, n, n)))
        }),
    }
}

fn dot_case(gpu: Option<&Gpu>, best: Dispatch, n: usize) -> Case<'_> {
    let mut rng = Rng::new(n as u64 + 1);
    let a = random(&mut rng, n);
    let b = random(&mut rng, n);
    let (a1, b1, a2, b2) = (a.clone(), b.clone(), a.clone(), b.clone());
    Case {
        kernel: "dot",
        size: n.to_string(),
        work: 2.0 * n as f64,
        unit: "GFLOP/s",
        scalar: Box::new(move || {
            black_box(must("dot_reference", dot_reference(&a1, &b1)));
        }),
        simd: Box::new(move || {
            black_box(must("dot", dot_dispatch(best, &a2, &b2)));
        }),
        gpu: gpu.map(|g| -> GpuRun<'_> { Box::new(move || must("gpu dot", g.dot(&a, &b)).1) }),
    }
}

fn axpy_case(gpu: Option<&Gpu>, n: usize) -> Case<'_> {
    let mut rng = Rng::new(n as u64 + 2);
    let x = random(&mut rng, n);
    let y = random(&mut rng, n);
    let (x1, x2) = (x.clone(), x.clone());
    let (mut y1, mut y2, mut y3) = (y.clone(), y.clone(), y);
    Case {
        kernel: "axpy",
        size: n.to_string(),
        work: 2.0 * n as f64,
        unit: "GFLOP/s",
        scalar: Box::new(move || must("axpy_reference", axpy_reference(1e-3, &x1, &mut y1))),
        simd: Box::new(move || must("axpy", axpy(1e-3, &x2, &mut y2))),
        gpu: gpu.map(|g| -> GpuRun<'_> {
            Box::new(move || must("gpu axpy", g.axpy(1e-3, &x, &mut y3)))
        }),
    }
}

fn softmax_case(gpu: Option<&Gpu>, rows: usize, cols: usize) -> Case<'_> {
    let mut rng = Rng::new((rows * cols) as u64 + 3);
    let x = random(&mut rng, rows * cols);
    let (x1, x2) = (x.clone(), x.clone());
    let (mut o1, mut o2, mut o3) = (
        vec![0.0; rows * cols],
        vec![0.0; rows * cols],
        vec![0.0; rows * cols],
    );
    Case {
        kernel: "softmax rows",
        size: format!("{rows}×{cols}"),
        work: (rows * cols) as f64,
        unit: "Gelem/s",
        scalar: Box::new(move || {
            for (row, out) in x1.chunks_exact(cols).zip(o1.chunks_exact_mut(cols)) {
                must("softmax_reference", softmax_reference(row, out));
            }
        }),
        simd: Box::new(move || {
            let xv = must("x", TensorView::matrix(&x2, rows, cols));
            let ov = must("out", TensorViewMut::matrix(&mut o2, rows, cols));
            must("softmax_rows", softmax_rows(xv, ov));
        }),
        gpu: gpu.map(|g| -> GpuRun<'_> {
            Box::new(move || must("gpu softmax", g.softmax_rows(&x, &mut o3, rows, cols)))
        }),
    }
}

fn gelu_case(gpu: Option<&Gpu>, n: usize) -> Case<'_> {
    let mut rng = Rng::new(n as u64 + 4);
    let x: Vec<f32> = random(&mut rng, n).into_iter().map(|v| 4.0 * v).collect();
    let (x1, x2) = (x.clone(), x.clone());
    let (mut o1, mut o2, mut o3) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let gelu = Activation::Gelu;
    Case {
        kernel: "gelu",
        size: n.to_string(),
        work: n as f64,
        unit: "Gelem/s",
        scalar: Box::new(move || {
            must(
                "gelu ref",
                activation::forward_reference(gelu, &x1, &mut o1),
            )
        }),
        simd: Box::new(move || must("gelu", activation::forward(gelu, &x2, &mut o2))),
        gpu: gpu.map(|g| -> GpuRun<'_> {
            Box::new(move || must("gpu gelu", g.activation_forward(gelu, &x, &mut o3)))
        }),
    }
}

fn distance_case(gpu: Option<&Gpu>, m: usize, n: usize, d: usize) -> Case<'_> {
    let mut rng = Rng::new((m * n * d) as u64 + 5);
    let q = random(&mut rng, m * d);
    let p = random(&mut rng, n * d);
    let (q1, p1, q2, p2) = (q.clone(), p.clone(), q.clone(), p.clone());
    let (mut o1, mut o2, mut o3) = (vec![0.0; m * n], vec![0.0; m * n], vec![0.0; m * n]);
    let run = move |q: &[f32], p: &[f32], o: &mut [f32], reference: bool| {
        let qv = must("queries", TensorView::matrix(q, m, d));
        let pv = must("points", TensorView::matrix(p, n, d));
        let ov = must("out", TensorViewMut::matrix(o, m, n));
        if reference {
            must("distances ref", squared_l2_rows_reference(qv, pv, ov));
        } else {
            must("distances", squared_l2_rows(qv, pv, ov));
        }
    };
    Case {
        kernel: "sq. L2 distances",
        size: format!("{m}×{n}×{d}"),
        work: 3.0 * (m * n * d) as f64,
        unit: "GFLOP/s",
        scalar: Box::new(move || run(&q1, &p1, &mut o1, true)),
        simd: Box::new(move || run(&q2, &p2, &mut o2, false)),
        gpu: gpu.map(|g| -> GpuRun<'_> {
            Box::new(move || {
                must(
                    "gpu distances",
                    g.squared_l2_rows(&q, &p, &mut o3, (m, n, d)),
                )
            })
        }),
    }
}

fn cases(gpu: Option<&Gpu>, best: Dispatch) -> Vec<Case<'_>> {
    let mut out = Vec::new();
    for n in [64, 256, 512] {
        out.push(gemm_case(gpu, best, n));
    }
    for n in [4096, 262_144, 4_194_304] {
        out.push(dot_case(gpu, best, n));
        out.push(axpy_case(gpu, n));
    }
    for n in [4096, 1_048_576] {
        out.push(gelu_case(gpu, n));
    }
    for (rows, cols) in [(64, 1000), (1024, 1000)] {
        out.push(softmax_case(gpu, rows, cols));
    }
    for (m, n, d) in [(64, 1000, 8), (256, 4096, 32)] {
        out.push(distance_case(gpu, m, n, d));
    }
    out
}

/// Median wall time of `f` after one warm-up call, sampled as [`common::median_time`].
fn timed(f: &mut CpuRun) -> Duration {
    f();
    common::median_time(BUDGET, || {
        let t = Instant::now();
        f();
        t.elapsed()
    })
}

fn rate(work: f64, time: Duration) -> String {
    format!("{:.3}", work / time.as_secs_f64() / 1e9)
}

fn ms(time: Duration) -> String {
    format!("{:.3}", time.as_secs_f64() * 1e3)
}

fn print_table(cases: &mut [Case<'_>], adapter: &str) {
    println!("\n### CPU (scalar, SIMD; one thread) vs GPU — adapter: {adapter}\n");
    println!(
        "| kernel | size | unit | scalar | SIMD | GPU end-to-end | GPU compute only | \
         upload ms | compute ms | readback ms |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for case in cases.iter_mut() {
        let scalar = timed(&mut case.scalar);
        let simd = timed(&mut case.simd);
        let gpu_cells = match case.gpu.as_mut() {
            Some(g) => {
                let [total, upload, compute, readback] = common::gpu_split(BUDGET, g);
                format!(
                    "{} | {} | {} | {} | {}",
                    rate(case.work, total),
                    rate(case.work, compute),
                    ms(upload),
                    ms(compute),
                    ms(readback)
                )
            }
            None => "n/a | n/a | n/a | n/a | n/a".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {gpu_cells} |",
            case.kernel,
            case.size,
            case.unit,
            rate(case.work, scalar),
            rate(case.work, simd)
        );
    }
}

fn main() {
    let common::BenchDevices { gpu, adapter, best } = common::bench_devices();
    let mut cases = cases(gpu.as_ref(), best);

    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600))
        .configure_from_args();
    for case in cases.iter_mut() {
        let mut group = criterion.benchmark_group(format!("gpu_table/{}", case.kernel));
        group.throughput(Throughput::Elements(case.work as u64));
        group.bench_function(BenchmarkId::new("scalar", &case.size), |b| {
            b.iter(&mut case.scalar)
        });
        group.bench_function(BenchmarkId::new("simd", &case.size), |b| {
            b.iter(&mut case.simd)
        });
        if let Some(g) = case.gpu.as_mut() {
            group.bench_function(BenchmarkId::new("gpu", &case.size), |b| b.iter(&mut *g));
        }
        group.finish();
    }
    criterion.final_summary();
    // `cargo test --benches` runs each cell once without `--bench`: no table then.
    if std::env::args().any(|arg| arg == "--bench") {
        print_table(&mut cases, &adapter);
    }
}
