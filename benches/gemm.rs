//! gemm throughput, one thread: the scalar reference, the portable SIMD-friendly form, each x86
//! variant this CPU runs (chosen by run-time detection, as the host does), and mixed precision
//! (f16 / bf16 storage, f32 accumulation) on the best variant. Groups are `gemm/<variant>`, the
//! parameter the square size n; throughput is 2·n³ elements, so criterion's elem/s are FLOP/s.
//!
//! The reference skips n = 1024 (about a second per call, which would dominate the run).

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgeml_core::kernels::gemm::{gemm, gemm_mixed, gemm_reference};
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use edgeml_core::scalar::BulkConvert;
use edgeml_core::{Result, TensorView, TensorViewMut};
use half::{bf16, f16};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [64, 256, 512, 1024];
/// Largest size the scalar reference is timed at.
const REFERENCE_MAX: usize = 512;

/// An n×n matrix of uniform values in [-1, 1), rounded to `S`.
fn matrix<S: BulkConvert>(seed: u64, n: usize) -> Vec<S> {
    let mut rng = Rng::new(seed);
    (0..n * n)
        .map(|_| S::from_f32(rng.uniform(-1.0, 1.0)))
        .collect()
}

/// Times `product` (C ← A·B on n×n operands stored as `S`) at every size up to `max_n`, in the
/// group `gemm/<name>`.
fn bench_variant<S: BulkConvert>(
    c: &mut Criterion,
    name: &str,
    max_n: usize,
    product: impl Fn(TensorView<'_, S>, TensorView<'_, S>, TensorViewMut<'_, f32>) -> Result<()>,
) {
    let mut group = c.benchmark_group(format!("gemm/{name}"));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(300));
    for n in SIZES.into_iter().filter(|&n| n <= max_n) {
        let (a, b) = (matrix::<S>(1, n), matrix::<S>(2, n));
        let mut out = vec![0.0f32; n * n];
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.measurement_time(Duration::from_secs(if n >= 512 { 2 } else { 1 }));
        group.bench_function(BenchmarkId::from_parameter(n), |bench| {
            bench.iter(|| {
                let a = TensorView::matrix(&a, n, n).expect("a is n×n");
                let b = TensorView::matrix(&b, n, n).expect("b is n×n");
                let c = TensorViewMut::matrix(&mut out, n, n).expect("c is n×n");
                product(a, b, c).expect("shapes agree");
                black_box(&mut out);
            })
        });
    }
    group.finish();
}

fn bench_gemm(c: &mut Criterion) {
    let variants = common::dispatches();
    let best = variants.last().copied().unwrap_or(Dispatch::PORTABLE);
    eprintln!(
        "gemm variants this CPU runs: {:?}; mixed precision uses {}",
        variants.iter().map(|d| d.isa().name()).collect::<Vec<_>>(),
        best.isa().name()
    );
    bench_variant::<f32>(c, "reference", REFERENCE_MAX, |a, b, out| {
        gemm_reference(1.0, a, b, 0.0, out)
    });
    for dispatch in variants {
        bench_variant::<f32>(c, dispatch.isa().name(), usize::MAX, |a, b, out| {
            gemm(dispatch, 1.0, a, b, 0.0, out)
        });
    }
    bench_variant::<f16>(c, "mixed-f16", usize::MAX, |a, b, out| {
        gemm_mixed(best, 1.0, a, b, 0.0, out)
    });
    bench_variant::<bf16>(c, "mixed-bf16", usize::MAX, |a, b, out| {
        gemm_mixed(best, 1.0, a, b, 0.0, out)
    });
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
