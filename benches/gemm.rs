//! gemm throughput, one thread: the scalar reference, the portable SIMD-friendly form, each x86
//! variant this CPU runs (chosen by run-time detection, as the host does), and mixed precision
//! (f16 / bf16 storage, f32 accumulation) on the best variant. FLOP/s = 2·n³ per call.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgeml_core::kernels::gemm::{gemm, gemm_mixed, gemm_reference};
use edgeml_core::kernels::{Dispatch, Isa};
use edgeml_core::rng::Rng;
use edgeml_core::{Scalar, TensorView, TensorViewMut};
use half::{bf16, f16};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 4] = [64, 256, 512, 1024];

/// The variants this CPU runs, each with a dispatch token proven by detection.
fn detected() -> Vec<Dispatch> {
    Isa::ALL
        .iter()
        .copied()
        .filter(|&isa| match isa {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
        })
        // SAFETY: the filter checked the features each variant needs.
        .map(|isa| unsafe { Dispatch::new_unchecked(isa) })
        .collect()
}

fn matrix<S: Scalar>(rng: &mut Rng, n: usize) -> Vec<S> {
    (0..n * n)
        .map(|_| S::from_f32(rng.uniform(-1.0, 1.0)))
        .collect()
}

fn bench_gemm(c: &mut Criterion) {
    let variants = detected();
    let best = *variants.last().unwrap_or(&Dispatch::PORTABLE);
    eprintln!(
        "gemm variants this CPU runs: {:?}; mixed precision uses {}",
        variants.iter().map(|d| d.isa().name()).collect::<Vec<_>>(),
        best.isa().name()
    );
    let mut rng = Rng::new(7);
    for n in SIZES {
        let mut group = c.benchmark_group(format!("gemm/{n}"));
        group.throughput(Throughput::Elements(2 * (n as u64).pow(3)));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_secs(if n >= 512 { 3 } else { 1 }));
        let a: Vec<f32> = matrix(&mut rng, n);
        let b: Vec<f32> = matrix(&mut rng, n);
        let mut out = vec![0.0f32; n * n];
        group.bench_function(BenchmarkId::new("reference", n), |bench| {
            bench.iter(|| {
                let (a, b) = (TensorView::matrix(&a, n, n), TensorView::matrix(&b, n, n));
                let c = TensorViewMut::matrix(&mut out, n, n);
                gemm_reference(1.0, a.unwrap(), b.unwrap(), 0.0, c.unwrap()).unwrap();
                black_box(&mut out);
            })
        });
        for &dispatch in &variants {
            group.bench_function(BenchmarkId::new(dispatch.isa().name(), n), |bench| {
                bench.iter(|| {
                    let (a, b) = (TensorView::matrix(&a, n, n), TensorView::matrix(&b, n, n));
                    let c = TensorViewMut::matrix(&mut out, n, n);
                    gemm(dispatch, 1.0, a.unwrap(), b.unwrap(), 0.0, c.unwrap()).unwrap();
                    black_box(&mut out);
                })
            });
        }
        bench_mixed::<f16>(&mut group, "mixed-f16", best, (&a, &b), &mut out, n);
        bench_mixed::<bf16>(&mut group, "mixed-bf16", best, (&a, &b), &mut out, n);
        group.finish();
    }
}

fn bench_mixed<S: Scalar>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    dispatch: Dispatch,
    (a, b): (&[f32], &[f32]),
    out: &mut [f32],
    n: usize,
) {
    let a: Vec<S> = a.iter().map(|&v| S::from_f32(v)).collect();
    let b: Vec<S> = b.iter().map(|&v| S::from_f32(v)).collect();
    group.bench_function(BenchmarkId::new(name, n), |bench| {
        bench.iter(|| {
            let (a, b) = (TensorView::matrix(&a, n, n), TensorView::matrix(&b, n, n));
            let c = TensorViewMut::matrix(out, n, n);
            gemm_mixed(dispatch, 1.0, a.unwrap(), b.unwrap(), 0.0, c.unwrap()).unwrap();
            black_box(&mut *out);
        })
    });
}

criterion_group!(benches, bench_gemm);
criterion_main!(benches);
