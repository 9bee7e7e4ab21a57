//! CPU≡GPU checks for the edgeml-gpu vector, row and distance kernels: each runs on the same
//! seeded inputs as the core's reference kernel and is compared element by element with an f64
//! evaluation and with the core's output. Shapes include 0, 1 and workgroup multiples ±1.
//!
//! Tolerances (u = 2⁻²⁴, ε = 2u, tiny = 2⁻¹²⁶ for subnormal flushing):
//! - axpy: |y − y₆₄| ≤ 2u·(|y₀| + |αx|) + tiny (two roundings, or one with FMA).
//! - dot, squared distances: |s − s₆₄| ≤ 2(n+1)·u·Σ|terms| + n·tiny (Higham's γₙ for any
//!   summation order, doubled for slack).
//! - activations (inputs in [−10, 10], finite: WGSL promises no NaN/∞ semantics): WGSL's exp
//!   is accurate to 3 + 2|x| ulp, so |f − f₆₄| ≤ (16 + 8|x|)·ε·max(1, |f₆₄|), plus 4·10⁻⁷·(1+|x|)
//!   for GELU's Abramowitz–Stegun erf (the core's vectorized path uses the same).
//! - softmax: relative error of each probability ≤ ε·(2·cols + 16 + 4|xᵢ − max|), the sum's
//!   rounding plus exp's error; log-softmax: absolute error ≤ that sum bound + 2⁻²⁰ for log +
//!   ε·(|xᵢ| + |shift|). Masked (−∞) entries must give exactly 0 / −∞.
//! - gemm with f16 / bf16 storage: the inputs are widened exactly, so the f32 GEMM bound
//!   |c − c₆₄| ≤ 2(k+2)·u·(|α|·Σ|aᵢₚbₚⱼ| + |β·cᵢⱼ|) + (k+2)·tiny applies to the widened values.
//! - k-NN: every returned distance matches its f64 distance within the distance tolerance, and
//!   the r-th returned distance is within twice that of the r-th smallest f64 distance.
//!
//! Against the core the allowance is the GPU's bound plus the core's own (the same form).
//! Without any adapter every trial is reported as ignored, not passed, and the run exits 0.

use edgeml_core::kernels::activation::{self, Activation};
use edgeml_core::kernels::axpy::axpy_reference;
use edgeml_core::kernels::distance::squared_l2_rows_reference;
use edgeml_core::kernels::dot::dot_reference;
use edgeml_core::kernels::gemm::gemm_mixed_reference;
use edgeml_core::kernels::softmax::{log_softmax_reference, softmax_reference};
use edgeml_core::{Scalar, TensorView, TensorViewMut};
use edgeml_gpu::{Gpu, GpuError, HalfStorage};
use half::{bf16, f16};
use libtest_mimic::Failed;

mod common;
mod gpu_support;

use common::{erf64, U32};
use gpu_support::Body;

const EPS: f64 = f32::EPSILON as f64;
const TINY: f64 = f32::MIN_POSITIVE as f64;

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

    fn vec(&mut self, len: usize, scale: f32) -> Vec<f32> {
        (0..len).map(|_| scale * self.unit()).collect()
    }
}

/// Fails with `what` when |got − want| > tol (or either is NaN).
fn close(what: impl Fn() -> String, got: f64, want: f64, tol: f64) -> Result<(), Failed> {
    let diff = (got - want).abs();
    if diff.is_nan() || diff > tol {
        return Err(format!(
            "{}: got {got}, want {want}, |diff| {diff} > tol {tol}",
            what()
        )
        .into());
    }
    Ok(())
}

/// Vector lengths around the 256-wide workgroup, the dot kernel's 1024-group stride, and one
/// past 65 535 workgroups of 256 (lavapipe's and WebGPU's per-dimension limit: a 2-D grid).
const LENGTHS: [usize; 10] = [0, 1, 7, 255, 256, 257, 1023, 4099, 300_001, 16_777_473];

fn check_axpy(gpu: &Gpu, n: usize, alpha: f32) -> Result<(), Failed> {
    let mut rng = SplitMix(n as u64 ^ 0xA3);
    let x = rng.vec(n, 4.0);
    let y0 = rng.vec(n, 4.0);
    let mut y = y0.clone();
    gpu.axpy(alpha, &x, &mut y)
        .map_err(|e| format!("axpy: {e}"))?;
    let mut core = y0.clone();
    axpy_reference(alpha, &x, &mut core).map_err(|e| format!("core axpy: {e}"))?;
    for i in 0..n {
        let (xi, yi) = (f64::from(x[i]), f64::from(y0[i]));
        let a = f64::from(alpha);
        let tol = 2.0 * U32 * (yi.abs() + (a * xi).abs()) + TINY;
        close(
            || format!("axpy n={n} [{i}] vs f64"),
            f64::from(y[i]),
            yi + a * xi,
            tol,
        )?;
        close(
            || format!("axpy n={n} [{i}] vs core"),
            f64::from(y[i]),
            f64::from(core[i]),
            2.0 * tol,
        )?;
    }
    Ok(())
}

fn check_dot(gpu: &Gpu, n: usize) -> Result<(), Failed> {
    let mut rng = SplitMix(n as u64 ^ 0xD0);
    let a = rng.vec(n, 2.0);
    let b = rng.vec(n, 2.0);
    let (got, _) = gpu.dot(&a, &b).map_err(|e| format!("dot: {e}"))?;
    let core = dot_reference(&a, &b).map_err(|e| format!("core dot: {e}"))?;
    let (mut exact, mut magnitude) = (0f64, 0f64);
    for (x, y) in a.iter().zip(&b) {
        let p = f64::from(*x) * f64::from(*y);
        exact += p;
        magnitude += p.abs();
    }
    let tol = 2.0 * (n as f64 + 1.0) * U32 * magnitude + n as f64 * TINY;
    close(|| format!("dot n={n} vs f64"), f64::from(got), exact, tol)?;
    close(
        || format!("dot n={n} vs core"),
        f64::from(got),
        f64::from(core),
        2.0 * tol,
    )
}

fn value64(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::Relu => x.max(0.0),
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => 0.5 * x * (1.0 + erf64(x / 2f64.sqrt())),
    }
}

fn derivative64(activation: Activation, x: f64) -> f64 {
    match activation {
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Sigmoid => {
            let s = value64(activation, x);
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - x.tanh() * x.tanh(),
        Activation::Gelu => {
            0.5 * (1.0 + erf64(x / 2f64.sqrt()))
                + x * (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
        }
    }
}

fn check_activation(gpu: &Gpu, activation: Activation, derivative: bool) -> Result<(), Failed> {
    let mut rng = SplitMix(0xAC + derivative as u64);
    let mut x = rng.vec(5000, 10.0);
    x.extend([0.0, -0.0, 1e-30, -1e-30, 10.0, -10.0]);
    let mut out = vec![f32::NAN; x.len()];
    let mut core = vec![0.0; x.len()];
    if derivative {
        gpu.activation_derivative(activation, &x, &mut out)
            .map_err(|e| format!("derivative: {e}"))?;
        activation::derivative_reference(activation, &x, &mut core)
    } else {
        gpu.activation_forward(activation, &x, &mut out)
            .map_err(|e| format!("forward: {e}"))?;
        activation::forward_reference(activation, &x, &mut core)
    }
    .map_err(|e| format!("core: {e}"))?;
    for (i, &xi) in x.iter().enumerate() {
        let v = f64::from(xi);
        let want = if derivative {
            derivative64(activation, v)
        } else {
            value64(activation, v)
        };
        let mut tol = (16.0 + 8.0 * v.abs()) * EPS * want.abs().max(1.0);
        if activation == Activation::Gelu {
            tol += 4e-7 * (1.0 + v.abs());
        }
        let what =
            |against: &str| format!("{activation:?} derivative={derivative} x={xi} vs {against}");
        close(|| what("f64"), f64::from(out[i]), want, tol)?;
        close(
            || what("core"),
            f64::from(out[i]),
            f64::from(core[i]),
            2.0 * tol,
        )?;
    }
    Ok(())
}

fn check_gemm_half<S: HalfStorage + Scalar>(
    gpu: &Gpu,
    (m, k, n): (usize, usize, usize),
    alpha: f32,
    beta: f32,
) -> Result<(), Failed> {
    let mut rng = SplitMix((m * 31 + k * 7 + n) as u64);
    let a: Vec<S> = rng.vec(m * k, 1.0).into_iter().map(S::from_f32).collect();
    let b: Vec<S> = rng.vec(k * n, 1.0).into_iter().map(S::from_f32).collect();
    let c0 = rng.vec(m * n, 1.0);
    let mut c = if beta == 0.0 {
        vec![f32::NAN; m * n]
    } else {
        c0.clone()
    };
    gpu.gemm_half(alpha, &a, &b, beta, &mut c, m, k, n)
        .map_err(|e| format!("gpu: {e}"))?;
    let mut core = c0.clone();
    match (
        TensorView::matrix(&a, m, k),
        TensorView::matrix(&b, k, n),
        TensorViewMut::matrix(&mut core, m, n),
    ) {
        (Ok(av), Ok(bv), Ok(cv)) => gemm_mixed_reference(alpha, av, bv, beta, cv),
        _ => return Err("bad test shape".into()),
    }
    .map_err(|e| format!("core: {e}"))?;
    for i in 0..m {
        for j in 0..n {
            let (mut exact, mut magnitude) = (0f64, 0f64);
            for p in 0..k {
                let prod = f64::from(a[i * k + p].to_f32()) * f64::from(b[p * n + j].to_f32());
                exact += prod;
                magnitude += prod.abs();
            }
            let beta_term = if beta == 0.0 {
                0.0
            } else {
                f64::from(beta) * f64::from(c0[i * n + j])
            };
            let want = f64::from(alpha) * exact + beta_term;
            let tol = 2.0
                * (k as f64 + 2.0)
                * U32
                * (f64::from(alpha).abs() * magnitude + beta_term.abs())
                + (k as f64 + 2.0) * TINY;
            let got = f64::from(c[i * n + j]);
            let what = |against: &str| format!("{m}×{k}×{n} [{i},{j}] vs {against}");
            close(|| what("f64"), got, want, tol)?;
            close(|| what("core"), got, f64::from(core[i * n + j]), 2.0 * tol)?;
        }
    }
    Ok(())
}

/// Row-major rows×cols input: values in [−scale, scale], every 7th entry masked with −∞ when
/// `masked` (never a whole row: entry 0 of a row is kept).
fn softmax_input(rows: usize, cols: usize, scale: f32, masked: bool, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix(seed);
    let mut x = rng.vec(rows * cols, scale);
    if masked {
        for (i, v) in x.iter_mut().enumerate() {
            if i % 7 == 3 && i % cols.max(1) != 0 {
                *v = f32::NEG_INFINITY;
            }
        }
    }
    x
}

fn check_softmax(
    gpu: &Gpu,
    rows: usize,
    cols: usize,
    log: bool,
    masked: bool,
) -> Result<(), Failed> {
    let x = softmax_input(rows, cols, 12.0, masked, (rows * 1000 + cols) as u64);
    let mut out = vec![f32::NAN; x.len()];
    if log {
        gpu.log_softmax_rows(&x, &mut out, rows, cols)
    } else {
        gpu.softmax_rows(&x, &mut out, rows, cols)
    }
    .map_err(|e| format!("gpu: {e}"))?;
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let mut core = vec![0.0; cols];
        if log {
            log_softmax_reference(row, &mut core)
        } else {
            softmax_reference(row, &mut core)
        }
        .map_err(|e| format!("core: {e}"))?;
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let sum: f64 = row.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        let shift = max + sum.ln();
        for (j, &v) in row.iter().enumerate() {
            let got = out[r * cols + j];
            let what = |against: &str| format!("{rows}×{cols} log={log} [{r},{j}] vs {against}");
            if v == f32::NEG_INFINITY {
                let want = if log { f32::NEG_INFINITY } else { 0.0 };
                if got != want {
                    return Err(format!("{}: masked entry gave {got}", what("mask")).into());
                }
                continue;
            }
            let v = f64::from(v);
            let rel = EPS * (2.0 * cols as f64 + 16.0 + 4.0 * (v - max).abs());
            let (want, tol) = if log {
                let want = v - shift;
                (want, rel + 2f64.powi(-20) + EPS * (v.abs() + shift.abs()))
            } else {
                let want = (v - max).exp() / sum;
                (want, rel * want + TINY)
            };
            close(|| what("f64"), f64::from(got), want, tol)?;
            close(
                || what("core"),
                f64::from(got),
                f64::from(core[j]),
                2.0 * tol,
            )?;
        }
    }
    Ok(())
}

/// The GPU rejects exactly the inputs the core rejects, with the core's error.
fn check_softmax_errors(gpu: &Gpu) -> Result<(), Failed> {
    let inputs: [(Vec<f32>, usize, usize); 4] = [
        (vec![0.0, f32::NAN, 1.0, 2.0], 2, 2),
        (vec![0.0, 1.0, f32::INFINITY, 2.0], 2, 2),
        (vec![0.0, 1.0, f32::NEG_INFINITY, f32::NEG_INFINITY], 2, 2),
        (vec![], 3, 0),
    ];
    for (x, rows, cols) in inputs {
        let mut out = vec![0.0; x.len()];
        let mut core_out = vec![0.0; x.len()];
        let core_err = match (
            TensorView::matrix(&x, rows, cols),
            TensorViewMut::matrix(&mut core_out, rows, cols),
        ) {
            (Ok(xv), Ok(ov)) => edgeml_core::kernels::softmax::softmax_rows(xv, ov).err(),
            _ => return Err("bad test shape".into()),
        };
        match (gpu.softmax_rows(&x, &mut out, rows, cols), core_err) {
            (Err(GpuError::Input(e)), Some(c)) if e == c => {}
            (got, want) => {
                return Err(format!("{x:?} {rows}×{cols}: gpu {got:?}, core {want:?}").into())
            }
        }
    }
    let mut out = [0.0; 3];
    match gpu.softmax_rows(&[0.0; 4], &mut out, 2, 2) {
        Err(GpuError::Length { .. }) => Ok(()),
        other => Err(format!("short out: {other:?}").into()),
    }
}

/// f64 squared distance and Σ of its terms' magnitudes.
fn distance64(q: &[f32], p: &[f32]) -> f64 {
    q.iter()
        .zip(p)
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
        .sum()
}

fn distance_tol(d: usize, exact: f64) -> f64 {
    // Each term (a − b)² carries two roundings before the sum's d.
    2.0 * (d as f64 + 3.0) * U32 * exact + (d as f64 + 1.0) * TINY
}

fn check_distances(gpu: &Gpu, m: usize, n: usize, d: usize) -> Result<(), Failed> {
    let mut rng = SplitMix((m * 7919 + n * 31 + d) as u64);
    let q = rng.vec(m * d, 3.0);
    let p = rng.vec(n * d, 3.0);
    let mut out = vec![f32::NAN; m * n];
    gpu.squared_l2_rows(&q, &p, &mut out, (m, n, d))
        .map_err(|e| format!("gpu: {e}"))?;
    let mut core = vec![0.0; m * n];
    match (
        TensorView::matrix(&q, m, d),
        TensorView::matrix(&p, n, d),
        TensorViewMut::matrix(&mut core, m, n),
    ) {
        (Ok(qv), Ok(pv), Ok(cv)) => squared_l2_rows_reference(qv, pv, cv),
        _ => return Err("bad test shape".into()),
    }
    .map_err(|e| format!("core: {e}"))?;
    for i in 0..m {
        for j in 0..n {
            let exact = distance64(&q[i * d..(i + 1) * d], &p[j * d..(j + 1) * d]);
            let tol = distance_tol(d, exact);
            let got = f64::from(out[i * n + j]);
            let what = |against: &str| format!("{m}×{n}×{d} [{i},{j}] vs {against}");
            close(|| what("f64"), got, exact, tol)?;
            close(|| what("core"), got, f64::from(core[i * n + j]), 2.0 * tol)?;
        }
    }
    Ok(())
}

fn check_knn(gpu: &Gpu, m: usize, n: usize, d: usize, k: usize) -> Result<(), Failed> {
    let mut rng = SplitMix((m * 13 + n * 17 + d * 19 + k) as u64);
    let q = rng.vec(m * d, 1.0);
    // Points on a coarse grid, so exact ties occur.
    let p: Vec<f32> = rng
        .vec(n * d, 1.0)
        .into_iter()
        .map(|v| (v * 4.0).round() / 4.0)
        .collect();
    let (found, _) = gpu
        .knn(&q, &p, (m, n, d), k)
        .map_err(|e| format!("gpu: {e}"))?;
    if found.len() != m * k {
        return Err(format!("{} neighbours for {m} queries × k={k}", found.len()).into());
    }
    for i in 0..m {
        let query = &q[i * d..(i + 1) * d];
        let mut all: Vec<f64> = (0..n)
            .map(|j| distance64(query, &p[j * d..(j + 1) * d]))
            .collect();
        let row = &found[i * k..(i + 1) * k];
        let mut seen = std::collections::HashSet::new();
        for (r, nb) in row.iter().enumerate() {
            if nb.index >= n || !seen.insert(nb.index) {
                return Err(format!("query {i}: bad or repeated index {}", nb.index).into());
            }
            let exact = all[nb.index];
            let tol = distance_tol(d, exact);
            close(
                || format!("knn query {i} rank {r} distance"),
                f64::from(nb.distance),
                exact,
                tol,
            )?;
            if r > 0 && row[r - 1].distance > nb.distance {
                return Err(format!("query {i}: ranks {} and {r} out of order", r - 1).into());
            }
        }
        all.sort_by(f64::total_cmp);
        for (r, nb) in row.iter().enumerate() {
            let exact = all[r];
            let truth = distance64(query, &p[nb.index * d..(nb.index + 1) * d]);
            close(
                || format!("knn query {i} rank {r} vs the true r-th distance"),
                truth,
                exact,
                2.0 * distance_tol(d, exact),
            )?;
        }
    }
    Ok(())
}

fn check_knn_errors(gpu: &Gpu) -> Result<(), Failed> {
    let (q, p) = ([0.0f32; 4], [0.0f32; 8]);
    let bad = |k: usize| gpu.knn(&q, &p, (2, 4, 2), k);
    for k in [0, 5] {
        if !matches!(bad(k), Err(GpuError::Input(_))) {
            return Err(format!("k={k} accepted").into());
        }
    }
    let many = vec![0.0f32; 100];
    if gpu.knn(&q[..2], &many, (1, 50, 2), 50).is_err()
        || !matches!(
            gpu.knn(&q[..1], &many, (1, 100, 1), 65),
            Err(GpuError::Limit(_))
        )
    {
        return Err("k at and beyond the top-k limit".into());
    }
    if !matches!(
        gpu.knn(&q[..3], &p, (2, 4, 2), 1),
        Err(GpuError::Length { .. })
    ) {
        return Err("short queries accepted".into());
    }
    Ok(())
}

/// Wrong lengths are errors, and repeating a call on the same shapes reuses pooled buffers.
fn check_lengths_and_pool(gpu: &Gpu) -> Result<(), Failed> {
    let x = vec![1.0f32; 10];
    let mut y = vec![1.0f32; 9];
    let is_len = |r: &Result<(), GpuError>| matches!(r, Err(GpuError::Length { .. }));
    if !is_len(&gpu.axpy(1.0, &x, &mut y).map(|_| ()))
        || !is_len(&gpu.dot(&x, &y).map(|_| ()))
        || !is_len(
            &gpu.activation_forward(Activation::Relu, &x, &mut y)
                .map(|_| ()),
        )
        || !is_len(&gpu.squared_l2_rows(&x, &x, &mut y, (2, 2, 5)).map(|_| ()))
    {
        return Err("a wrong length was accepted".into());
    }
    // A handle of its own: the shared one's pool changes under the other trials' threads.
    let own = Gpu::new().map_err(|e| e.to_string())?;
    let mut y = vec![1.0f32; 10];
    own.axpy(0.5, &x, &mut y).map_err(|e| e.to_string())?;
    let pooled = own.pooled_buffers();
    for _ in 0..3 {
        own.axpy(0.5, &x, &mut y).map_err(|e| e.to_string())?;
    }
    if pooled == 0 || own.pooled_buffers() != pooled {
        return Err(format!("pool held {pooled}, then {}", own.pooled_buffers()).into());
    }
    Ok(())
}

fn bodies() -> Vec<(String, Body)> {
    let mut out: Vec<(String, Body)> = Vec::new();
    for (idx, &n) in LENGTHS.iter().enumerate() {
        let alpha = [1.0, -0.5, 2.25][idx % 3];
        out.push((
            format!("axpy_{n}"),
            Box::new(move |g| check_axpy(g, n, alpha)),
        ));
        out.push((format!("dot_{n}"), Box::new(move |g| check_dot(g, n))));
    }
    for activation in Activation::ALL {
        for derivative in [false, true] {
            let kind = if derivative { "derivative" } else { "forward" };
            out.push((
                format!("activation_{activation:?}_{kind}"),
                Box::new(move |g| check_activation(g, activation, derivative)),
            ));
        }
    }
    let mut rng = SplitMix(0x50F7);
    // 70 000 rows: one workgroup per row needs the two-dimensional grid.
    let mut shapes = vec![
        (1, 1),
        (3, 255),
        (2, 256),
        (5, 257),
        (1, 4000),
        (70, 10),
        (70_000, 3),
    ];
    for _ in 0..4 {
        shapes.push((rng.range(1, 40), rng.range(1, 700)));
    }
    for (rows, cols) in shapes {
        for log in [false, true] {
            for masked in [false, true] {
                out.push((
                    format!("softmax_{rows}x{cols}_log{log}_masked{masked}"),
                    Box::new(move |g| check_softmax(g, rows, cols, log, masked)),
                ));
            }
        }
    }
    out.push(("softmax_errors".into(), Box::new(check_softmax_errors)));
    let mut shapes = vec![
        (1, 1, 1),
        (16, 16, 16),
        (17, 15, 33),
        (5, 7, 0),
        (0, 4, 3),
        (33, 100, 300),
    ];
    for _ in 0..4 {
        shapes.push((rng.range(1, 60), rng.range(1, 120), rng.range(1, 200)));
    }
    for (m, n, d) in shapes {
        out.push((
            format!("distances_{m}x{n}x{d}"),
            Box::new(move |g| check_distances(g, m, n, d)),
        ));
    }
    for (m, n, d, k) in [
        (1, 1, 1, 1),
        (9, 50, 3, 5),
        (70, 300, 8, 64),
        (130, 257, 17, 10),
    ] {
        out.push((
            format!("knn_{m}x{n}x{d}_k{k}"),
            Box::new(move |g| check_knn(g, m, n, d, k)),
        ));
    }
    for (idx, shape) in [
        (1, 1, 1),
        (3, 5, 7),
        (16, 16, 16),
        (17, 33, 15),
        (40, 129, 31),
        (4, 0, 3),
    ]
    .into_iter()
    .enumerate()
    {
        let (alpha, beta) = [(1.0, 0.0), (-0.5, 1.5)][idx % 2];
        let (m, k, n) = shape;
        out.push((
            format!("gemm_f16_{m}x{k}x{n}"),
            Box::new(move |g| check_gemm_half::<f16>(g, shape, alpha, beta)),
        ));
        out.push((
            format!("gemm_bf16_{m}x{k}x{n}"),
            Box::new(move |g| check_gemm_half::<bf16>(g, shape, alpha, beta)),
        ));
    }
    out.push(("knn_errors".into(), Box::new(check_knn_errors)));
    out.push(("lengths_and_pool".into(), Box::new(check_lengths_and_pool)));
    out
}

fn main() {
    gpu_support::run("gpu_kernels", bodies())
}
