//! CPU≡GPU check for `edgeml_gpu::Gpu::gemm`: C ← α·A·B + β·C on row-major f32, compared with
//! an f64 triple-loop reference and with the core's `gemm_reference` on the same inputs, plus
//! the error paths (wrong lengths, oversized shapes).
//!
//! Tolerance per element: |c_gpu − c64| ≤ 2·(k+2)·2⁻²⁴·(|α|·Σₚ|aᵢₚ||bₚⱼ| + |β|·|cᵢⱼ|) + (k+2)·2⁻¹²⁶.
//! An f32 dot product of length k in any summation order, with or without FMA, is within
//! γₖ = k·u/(1−k·u) (u = 2⁻²⁴) of the exact value relative to Σ|a||b| (Higham, ch. 3); the α
//! scaling and the β·C addition add two more roundings, hence k+2; the factor 2 covers the
//! 1/(1−k·u) term and leaves slack for GPUs that evaluate products in a different order. The
//! absolute term allows for drivers that flush subnormals to zero. Against the core, whose
//! own error is within (k+2)·u·(…), the allowance is the sum of the two bounds.
//!
//! Without any adapter every trial is reported as ignored, not passed, and the run exits 0.

use edgeml_core::kernels::gemm::gemm_reference;
use edgeml_core::{TensorView, TensorViewMut};
use edgeml_gpu::{GemmPlan, Gpu, GpuError};
use libtest_mimic::Failed;

mod gpu_support;

use gpu_support::Body;

/// SplitMix64: a small seeded generator for reproducible test data.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// Uniform integer in [lo, hi].
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.unit()).collect()
    }
}

/// One GEMM case.
#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    beta: f32,
    seed: u64,
}

/// Runs the case on the GPU and checks every element against the f64 reference.
fn check_case(gpu: &Gpu, case: Case) -> Result<(), Failed> {
    let Case {
        m,
        k,
        n,
        alpha,
        beta,
        seed,
    } = case;
    let mut rng = SplitMix(seed);
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    let mut c = rng.vec(m * n);
    if beta == 0.0 {
        // β = 0 must overwrite C without reading it.
        c.fill(f32::NAN);
    }
    let c0 = c.clone();
    gpu.gemm(alpha, &a, &b, beta, &mut c, m, k, n)
        .map_err(|e| format!("gemm failed: {e}"))?;
    let mut core = c0.clone();
    let views = (
        TensorView::matrix(&a, m, k),
        TensorView::matrix(&b, k, n),
        TensorViewMut::matrix(&mut core, m, n),
    );
    match views {
        (Ok(av), Ok(bv), Ok(cv)) => gemm_reference(alpha, av, bv, beta, cv),
        _ => return Err(format!("{case:?}: bad test shapes").into()),
    }
    .map_err(|e| format!("core gemm_reference failed: {e}"))?;
    let u = 2f64.powi(-24);
    let slack = 2.0 * (k as f64 + 2.0);
    for i in 0..m {
        for j in 0..n {
            let (mut exact, mut magnitude) = (0f64, 0f64);
            for p in 0..k {
                let prod = f64::from(a[i * k + p]) * f64::from(b[p * n + j]);
                exact += prod;
                magnitude += prod.abs();
            }
            let old = f64::from(c0[i * n + j]);
            let (beta_term, beta_mag) = if beta == 0.0 {
                (0.0, 0.0)
            } else {
                (f64::from(beta) * old, (f64::from(beta) * old).abs())
            };
            let want = f64::from(alpha) * exact + beta_term;
            let tol = slack * u * (f64::from(alpha).abs() * magnitude + beta_mag)
                + (k as f64 + 2.0) * f64::from(f32::MIN_POSITIVE);
            let got = f64::from(c[i * n + j]);
            let diff = (got - want).abs();
            if diff.is_nan() || diff > tol {
                return Err(format!(
                    "{case:?}: C[{i},{j}] = {got}, f64 reference {want}, |diff| {diff} > tol {tol}"
                )
                .into());
            }
            let core_value = f64::from(core[i * n + j]);
            let core_tol =
                tol + (k as f64 + 2.0) * u * (f64::from(alpha).abs() * magnitude + beta_mag);
            if (got - core_value).abs() > core_tol {
                return Err(format!(
                    "{case:?}: C[{i},{j}] = {got} on the GPU, {core_value} from the core \
                     (tol {core_tol})"
                )
                .into());
            }
        }
    }
    Ok(())
}

/// Shapes at the edges (1, tile multiples ±1, k = 0, empty C) plus seeded random ones ≤ 300.
fn cases() -> Vec<Case> {
    let coeffs = [
        (1.0, 0.0),
        (1.0, 1.0),
        (0.0, 0.5),
        (-1.5, 0.25),
        (0.75, -2.0),
    ];
    let fixed = [
        (1, 1, 1),
        (1, 300, 1),
        (300, 1, 300),
        (1, 17, 257),
        (257, 5, 1),
        (64, 64, 64),
        (63, 65, 129),
        (65, 16, 63),
        (128, 128, 128),
        (7, 0, 9),
        (0, 5, 5),
        (5, 5, 0),
    ];
    let mut rng = SplitMix(0x5EED_6E33);
    let mut out = Vec::new();
    for (idx, &(m, k, n)) in fixed.iter().enumerate() {
        let (alpha, beta) = coeffs[idx % coeffs.len()];
        out.push(Case {
            m,
            k,
            n,
            alpha,
            beta,
            seed: idx as u64,
        });
    }
    for idx in 0..24 {
        let (alpha, beta) = coeffs[idx % coeffs.len()];
        out.push(Case {
            m: rng.range(1, 300),
            k: rng.range(1, 300),
            n: rng.range(1, 300),
            alpha,
            beta,
            seed: 1000 + idx as u64,
        });
    }
    out
}

/// Expects `result` to be the given error kind.
fn expect_err<T>(
    what: &str,
    result: Result<T, GpuError>,
    ok: fn(&GpuError) -> bool,
) -> Result<(), Failed> {
    match result {
        Err(e) if ok(&e) => Ok(()),
        Err(e) => Err(format!("{what}: unexpected error {e}").into()),
        Ok(_) => Err(format!("{what}: succeeded but should have failed").into()),
    }
}

/// Wrong lengths and shapes too large for the adapter return errors instead of panicking.
fn check_errors(gpu: &Gpu) -> Result<(), Failed> {
    let is_len = |e: &GpuError| matches!(e, GpuError::Length { .. });
    let (a, b, mut c) = (vec![0f32; 6], vec![0f32; 12], vec![0f32; 8]);
    expect_err(
        "short A",
        gpu.gemm(1.0, &a[..5], &b, 0.0, &mut c, 2, 3, 4),
        is_len,
    )?;
    expect_err(
        "short B",
        gpu.gemm(1.0, &a, &b[..11], 0.0, &mut c, 2, 3, 4),
        is_len,
    )?;
    expect_err(
        "short C",
        gpu.gemm(1.0, &a, &b, 0.0, &mut c[..7], 2, 3, 4),
        is_len,
    )?;
    let mut long_c = vec![0f32; 9];
    expect_err(
        "long C",
        gpu.gemm(1.0, &a, &b, 0.0, &mut long_c, 2, 3, 4),
        is_len,
    )?;
    expect_err(
        "overflowing shape",
        gpu.gemm(1.0, &[], &[], 0.0, &mut [], usize::MAX, 2, 1),
        |e| matches!(e, GpuError::ShapeOverflow { .. }),
    )?;
    expect_err(
        "m·n beyond u32 indexing",
        GemmPlan::new(gpu, 1 << 16, 1, 1 << 16),
        |e| matches!(e, GpuError::ShapeOverflow { .. }),
    )?;
    expect_err("8 GiB operand", GemmPlan::new(gpu, 1, 1 << 31, 1), |e| {
        matches!(e, GpuError::TooLarge { .. })
    })?;
    let plan = GemmPlan::new(gpu, 2, 3, 4).map_err(|e| format!("plan: {e}"))?;
    expect_err("plan short A", plan.upload(&a[..5], &b, &c), is_len)?;
    expect_err("plan short readback", plan.readback(&mut c[..3]), is_len)?;
    Ok(())
}

fn main() {
    let mut bodies: Vec<(String, Body)> = cases()
        .into_iter()
        .map(|case| {
            let name = format!(
                "gemm_{}x{}x{}_alpha{}_beta{}",
                case.m, case.k, case.n, case.alpha, case.beta
            );
            let body: Body = Box::new(move |gpu| check_case(gpu, case));
            (name, body)
        })
        .collect();
    bodies.push(("gemm_errors".into(), Box::new(check_errors)));
    gpu_support::run("gpu_gemm", bodies)
}
