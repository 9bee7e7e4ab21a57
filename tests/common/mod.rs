//! Shared by the property tests: the kernel variants this CPU runs and f64 references.
// Each test crate uses only part of this module.
#![allow(dead_code)]

use edgeml_core::kernels::{Dispatch, Isa};

/// Every variant compiled in whose CPU features are present, each as a dispatch token.
/// Variants the CPU lacks are named on stderr, so a run on a smaller CPU says what it skipped.
pub fn dispatches() -> Vec<Dispatch> {
    Isa::ALL
        .iter()
        .copied()
        .filter(|&isa| {
            let supported = match isa {
                Isa::Portable => true,
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2Fma => {
                    is_x86_feature_detected!("avx2")
                        && is_x86_feature_detected!("fma")
                        && is_x86_feature_detected!("f16c")
                }
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => {
                    is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx2")
                        && is_x86_feature_detected!("fma")
                        && is_x86_feature_detected!("f16c")
                }
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            };
            if !supported {
                eprintln!("skipping kernel variant {}: CPU lacks it", isa.name());
            }
            supported
        })
        // SAFETY: the filter checked each variant's features on this CPU.
        .map(|isa| unsafe { Dispatch::new_unchecked(isa) })
        .collect()
}

/// Unit roundoff of f32.
pub const U32: f64 = f32::EPSILON as f64 / 2.0;

/// erf in f64, independent of libm and of the kernels: the Maclaurin series below 3 (terms stay
/// small there) and the continued fraction of erfc above. Accurate to ~1e-15.
pub fn erf64(x: f64) -> f64 {
    let z = x.abs();
    let value = if z < 3.0 {
        let mut term = z;
        let mut sum = z;
        for n in 1..200 {
            term *= -z * z / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        let mut fraction = 0.0;
        for n in (1..60).rev() {
            fraction = (n as f64 / 2.0) / (z + fraction);
        }
        1.0 - (-z * z).exp() / std::f64::consts::PI.sqrt() / (z + fraction)
    };
    value.copysign(x)
}

/// a (n×k) · b (k×m) in f64, row-major.
pub fn matmul64(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * m];
    for i in 0..n {
        for p in 0..k {
            for j in 0..m {
                c[i * m + j] += a[i * k + p] * b[p * m + j];
            }
        }
    }
    c
}

/// Multi-head attention in f64, written from its definition: q (lq×heads·hd), k and v
/// (lk×heads·hd), row-major, head h in columns h·hd..(h+1)·hd, scale 1/√hd; query i sees key
/// j where `allows(i, j)`, and a query that sees no key gets zeros.
pub fn multi_head64(
    (q, k, v): (&[f64], &[f64], &[f64]),
    (lq, lk, heads, hd): (usize, usize, usize, usize),
    allows: impl Fn(usize, usize) -> bool,
) -> Vec<f64> {
    let inner = heads * hd;
    let mut att = vec![0.0; lq * inner];
    for h in 0..heads {
        for i in 0..lq {
            let seen: Vec<usize> = (0..lk).filter(|&j| allows(i, j)).collect();
            let scores: Vec<f64> = seen
                .iter()
                .map(|&j| {
                    (0..hd)
                        .map(|c| q[i * inner + h * hd + c] * k[j * inner + h * hd + c])
                        .sum::<f64>()
                        / (hd as f64).sqrt()
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let sum: f64 = exps.iter().sum();
            for c in 0..hd {
                att[i * inner + h * hd + c] = seen
                    .iter()
                    .zip(&exps)
                    .map(|(&j, e)| e / sum * v[j * inner + h * hd + c])
                    .sum();
            }
        }
    }
    att
}

#[cfg(feature = "gpu")]
/// What a GPU benchmark runs on: the GPU of its GPU column (`None` where no adapter opens),
/// the adapter's description ("none" without one) and the core's fastest variant (its SIMD
/// column).
#[cfg(feature = "gpu")]
pub struct BenchDevices {
    pub gpu: Option<edgeml_gpu::Gpu>,
    pub adapter: String,
    pub best: Dispatch,
}

#[cfg(feature = "gpu")]
/// Opens the GPU for a benchmark, saying on stderr why its columns are skipped where no
/// adapter opens, and names the adapter and the core variant there.
#[cfg(feature = "gpu")]
pub fn bench_devices() -> BenchDevices {
    let gpu = match edgeml_gpu::Gpu::new() {
        Ok(gpu) => Some(gpu),
        Err(e) => {
            eprintln!("GPU columns skipped: {e}");
            None
        }
    };
    let adapter = gpu
        .as_ref()
        .map_or_else(|| "none".to_string(), |g| g.adapter_info().to_string());
    eprintln!("GPU adapter: {adapter}");
    let best = dispatches().last().copied().unwrap_or(Dispatch::PORTABLE);
    eprintln!("SIMD column: core kernels with {}", best.isa().name());
    BenchDevices { gpu, adapter, best }
}

/// Median of `f`'s returned durations over at least 5 and at most 31 calls, stopping after
/// `budget` once 5 are in.
pub fn median_time(
    budget: std::time::Duration,
    mut f: impl FnMut() -> std::time::Duration,
) -> std::time::Duration {
    let mut times = Vec::new();
    let start = std::time::Instant::now();
    while times.len() < 5 || (times.len() < 31 && start.elapsed() < budget) {
        times.push(f());
    }
    times.sort();
    times[times.len() / 2]
}

#[cfg(feature = "gpu")]
/// Medians of a GPU call's end-to-end time and of its upload, compute (wall) and readback,
/// `[total, upload, compute, readback]`, after one warm-up call, sampled as [`median_time`].
#[cfg(feature = "gpu")]
pub fn gpu_split(
    budget: std::time::Duration,
    mut call: impl FnMut() -> edgeml_gpu::KernelTiming,
) -> [std::time::Duration; 4] {
    call();
    let mut splits = Vec::new();
    let total = median_time(budget, || {
        let s = call();
        splits.push(s);
        s.upload + s.compute.wall + s.readback
    });
    let median = |pick: fn(&edgeml_gpu::KernelTiming) -> std::time::Duration| {
        let mut v: Vec<std::time::Duration> = splits.iter().map(pick).collect();
        v.sort();
        v[v.len() / 2]
    };
    [
        total,
        median(|s| s.upload),
        median(|s| s.compute.wall),
        median(|s| s.readback),
    ]
}
