//! Resident device data and the buffer pool of edgeml-gpu: a chain of axpy calls on resident
//! vectors (one upload, one readback) equals the f64 recurrence within its rounding bound, and
//! repeating a call with the same shapes allocates nothing (pool misses unchanged, hits grow).
//!
//! Tolerance: each axpy rounds at most twice (u = 2⁻²⁴), so after s steps
//! |y − y₆₄| ≤ Σₜ 2u·(|yₜ| + |αx|) + s·tiny, accumulated alongside the f64 recurrence.
//! Without an adapter the trials are reported as ignored, not passed.

use edgeml_core::kernels::axpy::axpy_reference;
use edgeml_gpu::Gpu;
use libtest_mimic::Failed;

mod common;
mod gpu_support;

use common::U32;
use gpu_support::Body;

const TINY: f64 = f32::MIN_POSITIVE as f64;

/// Deterministic values in [-4, 4) from an index and a salt.
fn value(i: usize, salt: u64) -> f32 {
    let mut z = (i as u64)
        .wrapping_add(salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    ((z >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
}

fn chained_axpy(gpu: &Gpu, n: usize) -> Result<(), Failed> {
    let x: Vec<f32> = (0..n).map(|i| value(i, 1)).collect();
    let y0: Vec<f32> = (0..n).map(|i| value(i, 2)).collect();
    let alphas = [0.5f32, -1.25, 3.0, 0.125];
    let dx = gpu.upload(&x).map_err(|e| format!("upload: {e}"))?;
    let mut dy = gpu.upload(&y0).map_err(|e| format!("upload: {e}"))?;
    for &alpha in &alphas {
        gpu.axpy_resident(alpha, &dx, &mut dy)
            .map_err(|e| format!("axpy_resident: {e}"))?;
    }
    let got = dy.read().map_err(|e| format!("read: {e}"))?;
    let mut core = y0.clone();
    for &alpha in &alphas {
        axpy_reference(alpha, &x, &mut core).map_err(|e| format!("core axpy: {e}"))?;
    }
    for i in 0..n {
        let (xi, mut y) = (f64::from(x[i]), f64::from(y0[i]));
        let mut tol = 0.0;
        for &alpha in &alphas {
            let ax = f64::from(alpha) * xi;
            tol += 2.0 * U32 * (y.abs() + ax.abs()) + TINY;
            y += ax;
        }
        for (what, v) in [("gpu", got[i]), ("core", core[i])] {
            let diff = (f64::from(v) - y).abs();
            if diff.is_nan() || diff > tol {
                return Err(
                    format!("n={n} i={i} {what}: {v} vs f64 {y}, |diff| {diff} > {tol}").into(),
                );
            }
        }
    }
    Ok(())
}

/// Runs on its own device so that trials running beside it cannot touch its pool.
fn pool_reuse(_shared: &Gpu) -> Result<(), Failed> {
    let gpu = &Gpu::new().map_err(|e| format!("second device: {e}"))?;
    let n = 1000;
    let x: Vec<f32> = (0..n).map(|i| value(i, 3)).collect();
    let mut y: Vec<f32> = (0..n).map(|i| value(i, 4)).collect();
    let mut y_again = y.clone();
    gpu.axpy(2.0, &x, &mut y)
        .map_err(|e| format!("axpy: {e}"))?;
    let before = gpu.pool_stats();
    gpu.axpy(2.0, &x, &mut y_again)
        .map_err(|e| format!("axpy: {e}"))?;
    let after = gpu.pool_stats();
    if after.misses != before.misses || after.hits <= before.hits {
        return Err(format!("repeated axpy allocated: {before:?} → {after:?}").into());
    }
    if y != y_again {
        return Err("results changed when buffers were reused".into());
    }
    let resident_before = gpu.pool_stats();
    for _ in 0..3 {
        let v = gpu.upload(&x).map_err(|e| format!("upload: {e}"))?;
        let back = v.read().map_err(|e| format!("read: {e}"))?;
        if back != x {
            return Err("resident round trip changed the data".into());
        }
    }
    let resident_after = gpu.pool_stats();
    if resident_after.misses != resident_before.misses {
        return Err(format!(
            "dropped resident vectors were not reused: {resident_before:?} → {resident_after:?}"
        )
        .into());
    }
    Ok(())
}

fn main() {
    let mut bodies: Vec<(String, Body)> = [0usize, 1, 255, 257, 70_001]
        .into_iter()
        .map(|n| {
            let body: Body = Box::new(move |gpu: &Gpu| chained_axpy(gpu, n));
            (format!("resident_axpy_chain_n{n}"), body)
        })
        .collect();
    bodies.push(("pool_reuses_buffers".into(), Box::new(pool_reuse)));
    gpu_support::run("gpu_resident", bodies)
}
