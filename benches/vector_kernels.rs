//! Vector-kernel throughput, one thread: dot (scalar reference, portable lanes, each x86 variant
//! this CPU runs, mixed f16 / bf16 storage), softmax (reference vs optimized, row lengths 10 and
//! 1000) and the k-NN distance shape (64 queries × 1000 points × 8 features).
//! Elements = 2n for dot (a multiply and an add per pair), n for softmax, m·n·d for distances.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgeml_core::kernels::distance::{squared_l2_rows, squared_l2_rows_reference};
use edgeml_core::kernels::dot::{dot, dot_dispatch, dot_mixed, dot_reference};
use edgeml_core::kernels::softmax::{softmax, softmax_reference};
use edgeml_core::kernels::{Dispatch, Isa};
use edgeml_core::rng::Rng;
use edgeml_core::{Scalar, TensorView, TensorViewMut};
use half::{bf16, f16};
use std::hint::black_box;
use std::time::Duration;

const DOT_SIZES: [usize; 3] = [256, 4096, 65_536];

fn random<S: Scalar>(rng: &mut Rng, n: usize) -> Vec<S> {
    (0..n)
        .map(|_| S::from_f32(rng.uniform(-1.0, 1.0)))
        .collect()
}

fn short(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(200));
    group.measurement_time(Duration::from_millis(600));
}

fn bench_dot(c: &mut Criterion) {
    let variants: Vec<Dispatch> = common::dispatches()
        .into_iter()
        .filter(|d| d.isa() != Isa::Portable)
        .collect();
    eprintln!(
        "dot x86 variants this CPU runs: {:?}",
        variants.iter().map(|d| d.isa().name()).collect::<Vec<_>>()
    );
    let best = *common::dispatches().last().unwrap_or(&Dispatch::PORTABLE);
    let mut rng = Rng::new(11);
    for n in DOT_SIZES {
        let mut group = c.benchmark_group(format!("dot/{n}"));
        group.throughput(Throughput::Elements(2 * n as u64));
        short(&mut group);
        let a: Vec<f32> = random(&mut rng, n);
        let b: Vec<f32> = random(&mut rng, n);
        group.bench_function(BenchmarkId::new("reference", n), |bench| {
            bench.iter(|| dot_reference(black_box(&a), black_box(&b)))
        });
        group.bench_function(BenchmarkId::new("portable", n), |bench| {
            bench.iter(|| dot(black_box(&a), black_box(&b)))
        });
        for &dispatch in &variants {
            group.bench_function(BenchmarkId::new(dispatch.isa().name(), n), |bench| {
                bench.iter(|| dot_dispatch(dispatch, black_box(&a), black_box(&b)))
            });
        }
        let (a16, b16): (Vec<f16>, Vec<f16>) = (random(&mut rng, n), random(&mut rng, n));
        group.bench_function(BenchmarkId::new("mixed-f16", n), |bench| {
            bench.iter(|| dot_mixed(best, black_box(&a16), black_box(&b16)))
        });
        let (abf, bbf): (Vec<bf16>, Vec<bf16>) = (random(&mut rng, n), random(&mut rng, n));
        group.bench_function(BenchmarkId::new("mixed-bf16", n), |bench| {
            bench.iter(|| dot_mixed(best, black_box(&abf), black_box(&bbf)))
        });
        group.finish();
    }
}

fn bench_softmax(c: &mut Criterion) {
    let mut rng = Rng::new(12);
    for n in [10usize, 1000] {
        let mut group = c.benchmark_group(format!("softmax/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        short(&mut group);
        let x: Vec<f32> = (0..n).map(|_| rng.uniform(-10.0, 10.0)).collect();
        let mut out = vec![0.0f32; n];
        group.bench_function(BenchmarkId::new("reference", n), |bench| {
            bench.iter(|| softmax_reference(black_box(&x), &mut out))
        });
        group.bench_function(BenchmarkId::new("optimized", n), |bench| {
            bench.iter(|| softmax(black_box(&x), &mut out))
        });
        group.finish();
    }
}

fn bench_distance(c: &mut Criterion) {
    let (m, n, d) = (64usize, 1000usize, 8usize);
    let mut rng = Rng::new(13);
    let queries: Vec<f32> = random(&mut rng, m * d);
    let points: Vec<f32> = random(&mut rng, n * d);
    let mut out = vec![0.0f32; m * n];
    let mut group = c.benchmark_group("squared_l2_rows/64x1000x8");
    group.throughput(Throughput::Elements((m * n * d) as u64));
    short(&mut group);
    type Rows = fn(
        TensorView<'_, f32>,
        TensorView<'_, f32>,
        TensorViewMut<'_, f32>,
    ) -> edgeml_core::Result<()>;
    let kernels: [(&str, Rows); 2] = [
        ("reference", squared_l2_rows_reference),
        ("optimized", squared_l2_rows),
    ];
    for (name, kernel) in kernels {
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let q = TensorView::matrix(black_box(&queries), m, d)?;
                let p = TensorView::matrix(black_box(&points), n, d)?;
                kernel(q, p, TensorViewMut::matrix(&mut out, m, n)?)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dot, bench_softmax, bench_distance);
criterion_main!(benches);
