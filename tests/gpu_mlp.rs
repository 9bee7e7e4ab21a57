//! The GPU training step (`edgeml_gpu::GpuTrainer`) against the core's `Trainer::step` and an
//! f64 reference, on random ReLU networks (widths up to 100, batches up to 72, so that products
//! span several of the GPU's 64×64 output blocks) with softmax cross-entropy, SGD and Adam; and a
//! short training run whose per-epoch losses must follow the CPU path's.
//!
//! Tolerances come from a first-order running error bound carried through the f64 reference
//! (ε = 2⁻²³, γ(n) = (n + 2)·ε, doubled for the dropped second-order terms):
//! - dense layer z = a·W + b: e_z = Σ e_a·|W| + γ(k)·(Σ|a||W| + |b|); ReLU passes e_z on. A case
//!   whose pre-activation satisfies |z| ≤ e_z could flip a ReLU mask and is skipped as
//!   degenerate (counted, and at most half the cases may be skipped).
//! - softmax: |Δpⱼ| ≤ pⱼ·(2·max e_z + ε·(2k + 16 + 4|zⱼ − max z|)) (the GPU softmax bound of
//!   tests/gpu_kernels.rs plus the logits' error); row loss: 2·max e_z + ε·(2k + 16) + 2⁻²⁰ +
//!   ε·(|z_label| + |lse|); mean over rows: + (rows + 2)·ε·mean.
//! - backward products use the same γ(k)·Σ|·||·| + propagated-error form.
//! - SGD: |Δw′| ≤ lr·e_g + 2ε·(|w| + lr·(|g| + λ|w|)). Adam (first step, m̂ ≈ g, √v̂ ≈ |g|):
//!   |Δw′| ≤ lr·min(2.1, e_g·ε_A / (max(|g| − e_g, 0) + ε_A)² + 16ε) + 2ε·|w′|.
//!
//! Training run: 3 epochs of minibatch SGD on separable synthetic blobs; each epoch's mean loss
//! on the GPU must lie within 10⁻³·max(1, loss) of the CPU's. One step moves parameters by at
//! most ~10⁻⁶ relative (the bound above), and 48 steps at lr·‖H‖ < 1 cannot amplify that to
//! 10⁻³.
//!
//! Seeds are fresh on each run (printed; set EDGEML_TEST_SEED to replay). Without an adapter
//! the trials are reported as ignored, not passed.

use edgeml_core::nn::{split_workspace, Activation, Loss, Optimizer, Targets, TrainConfig};
use edgeml_core::nn::{Mlp, Topology};
use edgeml_core::rng::Rng;
use edgeml_gpu::{Gpu, GpuTrainer};
use libtest_mimic::Failed;

mod gpu_support;

use gpu_support::Body;

const EPS: f64 = f32::EPSILON as f64;
/// Random networks tried per optimizer.
const CASES: usize = 16;

fn gamma(n: usize) -> f64 {
    (n as f64 + 2.0) * EPS
}

/// A random network, its initial parameters and one minibatch.
struct Case {
    sizes: Vec<usize>,
    activations: Vec<Activation>,
    params: Vec<f32>,
    batch: usize,
    x: Vec<f32>,
    labels: Vec<u32>,
}

fn random_case(rng: &mut Rng) -> Result<Case, Failed> {
    let layers = 1 + rng.below_usize(3);
    let mut sizes = vec![1 + rng.below_usize(100)];
    for _ in 1..layers {
        sizes.push(1 + rng.below_usize(80));
    }
    sizes.push(2 + rng.below_usize(9));
    let activations: Vec<Activation> = (0..layers)
        .map(|l| {
            // The output layer and a quarter of the hidden ones are linear.
            if l + 1 == layers || rng.below(4) == 0 {
                Activation::Identity
            } else {
                Activation::Relu
            }
        })
        .collect();
    let topology = Topology::new(&sizes, &activations).map_err(|e| format!("topology: {e}"))?;
    let mut params = vec![0.0f32; topology.model_len()];
    Mlp::new(topology, &mut params)
        .map_err(|e| format!("mlp: {e}"))?
        .init(rng);
    params.truncate(topology.param_len());
    let batch = 1 + rng.below_usize(72);
    let rows = 1 + rng.below_usize(batch);
    let x = (0..rows * sizes[0])
        .map(|_| rng.uniform(-2.0, 2.0))
        .collect();
    let outputs = sizes[layers] as u32;
    let labels = (0..rows).map(|_| rng.below(outputs)).collect();
    Ok(Case {
        sizes,
        activations,
        params,
        batch,
        x,
        labels,
    })
}

/// f64 loss and gradients with their error bounds; `None` when a ReLU mask could flip.
struct Reference {
    loss: f64,
    loss_tol: f64,
    grad: Vec<f64>,
    grad_tol: Vec<f64>,
}

fn reference(case: &Case) -> Option<Reference> {
    let rows = case.labels.len();
    let layers = case.activations.len();
    let w: Vec<f64> = case.params.iter().map(|&v| f64::from(v)).collect();
    let mut offsets = Vec::new();
    let mut offset = 0;
    for l in 0..layers {
        let (i, o) = (case.sizes[l], case.sizes[l + 1]);
        offsets.push((offset, offset + i * o));
        offset += i * o + o;
    }
    // Per layer: (input values, input errors, pre-activations).
    let mut inputs: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let mut pres: Vec<Vec<f64>> = Vec::new();
    let mut a: Vec<f64> = case.x.iter().map(|&v| f64::from(v)).collect();
    let mut ea = vec![0.0; a.len()];
    for (l, (pair, &(wo, bo))) in case.sizes.windows(2).zip(&offsets).enumerate() {
        let (k, n) = (pair[0], pair[1]);
        let mut z = vec![0.0; rows * n];
        let mut ez = vec![0.0; rows * n];
        for i in 0..rows {
            for j in 0..n {
                let (mut s, mut mag, mut prop) = (w[bo + j], w[bo + j].abs(), 0.0);
                for t in 0..k {
                    let wv = w[wo + t * n + j];
                    s += a[i * k + t] * wv;
                    mag += (a[i * k + t] * wv).abs();
                    prop += ea[i * k + t] * wv.abs();
                }
                z[i * n + j] = s;
                ez[i * n + j] = 2.0 * (prop + gamma(k) * mag);
            }
        }
        inputs.push((a, ea));
        let relu = case.activations[l] == Activation::Relu;
        if relu && z.iter().zip(&ez).any(|(v, e)| v.abs() <= *e) {
            return None;
        }
        a = z
            .iter()
            .map(|&v| if relu { v.max(0.0) } else { v })
            .collect();
        ea = z
            .iter()
            .zip(&ez)
            .map(|(&v, &e)| if relu && v <= 0.0 { 0.0 } else { e })
            .collect();
        pres.push(z);
    }
    let k = case.sizes[layers];
    let (mut loss, mut loss_tol) = (0.0, 0.0);
    let mut dz = vec![0.0; rows * k];
    let mut edz = vec![0.0; rows * k];
    for i in 0..rows {
        let z = &a[i * k..(i + 1) * k];
        let ez_max = ea[i * k..(i + 1) * k].iter().fold(0.0f64, |m, &e| m.max(e));
        let top = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
        let lse = top + z.iter().map(|&v| (v - top).exp()).sum::<f64>().ln();
        let label = case.labels[i] as usize;
        loss += lse - z[label];
        loss_tol += 2.0 * ez_max
            + EPS * (2.0 * k as f64 + 16.0)
            + 2f64.powi(-20)
            + EPS * (z[label].abs() + lse.abs());
        for j in 0..k {
            let p = (z[j] - lse).exp();
            let ep = p * (2.0 * ez_max + EPS * (2.0 * k as f64 + 16.0 + 4.0 * (z[j] - top).abs()));
            let g = (p - if j == label { 1.0 } else { 0.0 }) / rows as f64;
            dz[i * k + j] = g;
            edz[i * k + j] = ep / rows as f64 + 3.0 * EPS * g.abs();
        }
    }
    loss /= rows as f64;
    loss_tol = loss_tol / rows as f64 + gamma(rows) * loss.abs();
    let mut grad = vec![0.0; w.len()];
    let mut grad_tol = vec![0.0; w.len()];
    for l in (0..layers).rev() {
        let (k, n) = (case.sizes[l], case.sizes[l + 1]);
        let (wo, bo) = offsets[l];
        let (a, ea) = &inputs[l];
        for t in 0..k {
            for j in 0..n {
                let (mut s, mut mag, mut prop) = (0.0, 0.0, 0.0);
                for i in 0..rows {
                    s += a[i * k + t] * dz[i * n + j];
                    mag += (a[i * k + t] * dz[i * n + j]).abs();
                    prop +=
                        ea[i * k + t] * dz[i * n + j].abs() + a[i * k + t].abs() * edz[i * n + j];
                }
                grad[wo + t * n + j] = s;
                grad_tol[wo + t * n + j] = 2.0 * (prop + gamma(rows) * mag);
            }
        }
        for j in 0..n {
            let col = (0..rows).map(|i| dz[i * n + j]);
            grad[bo + j] = col.clone().sum();
            let mag: f64 = col.map(f64::abs).sum();
            let prop: f64 = (0..rows).map(|i| edz[i * n + j]).sum();
            grad_tol[bo + j] = 2.0 * (prop + gamma(rows) * mag);
        }
        if l == 0 {
            break;
        }
        let relu = case.activations[l - 1] == Activation::Relu;
        let mut next = vec![0.0; rows * k];
        let mut enext = vec![0.0; rows * k];
        for i in 0..rows {
            for t in 0..k {
                if relu && pres[l - 1][i * k + t] <= 0.0 {
                    continue;
                }
                let (mut s, mut mag, mut prop) = (0.0, 0.0, 0.0);
                for j in 0..n {
                    let wv = w[wo + t * n + j];
                    s += dz[i * n + j] * wv;
                    mag += (dz[i * n + j] * wv).abs();
                    prop += edz[i * n + j] * wv.abs();
                }
                next[i * k + t] = s;
                enext[i * k + t] = 2.0 * (prop + gamma(n) * mag);
            }
        }
        dz = next;
        edz = enext;
    }
    Some(Reference {
        loss,
        loss_tol: 2.0 * loss_tol,
        grad,
        grad_tol,
    })
}

/// Parameters after one update from `r` in f64, with the bound of each.
fn updated(case: &Case, r: &Reference, optimizer: Optimizer) -> Vec<(f64, f64)> {
    let w = case.params.iter().map(|&v| f64::from(v));
    match optimizer {
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            eps,
            ..
        } => {
            let c1 = f64::from((1.0 / (1.0 - f64::from(beta1))) as f32);
            let c2 = f64::from((1.0 / (1.0 - f64::from(beta2))) as f32);
            let (lr, eps) = (f64::from(lr), f64::from(eps));
            w.zip(r.grad.iter().zip(&r.grad_tol))
                .map(|(w, (&g, &e))| {
                    let m = (1.0 - f64::from(beta1)) * g;
                    let v = (1.0 - f64::from(beta2)) * g * g;
                    let new = w - lr * m * c1 / ((v * c2).sqrt() + eps);
                    let slope = e * eps / ((g.abs() - e).max(0.0) + eps).powi(2);
                    (
                        new,
                        lr * (slope + 16.0 * EPS).min(2.1) + 2.0 * EPS * new.abs(),
                    )
                })
                .collect()
        }
        Optimizer::Sgd {
            lr, weight_decay, ..
        } => {
            let (lr, wd) = (f64::from(lr), f64::from(weight_decay));
            w.zip(r.grad.iter().zip(&r.grad_tol))
                .map(|(w, (&g, &e))| {
                    let new = w - lr * (g + wd * w);
                    (
                        new,
                        lr * e + 2.0 * EPS * (w.abs() + lr * (g.abs() + wd * w.abs())),
                    )
                })
                .collect()
        }
        Optimizer::RmsProp { .. } => Vec::new(),
    }
}

fn one_step(gpu: &Gpu, seed: u64, adam: bool) -> Result<(), Failed> {
    let mut rng = Rng::new(seed);
    let (mut checked, mut skipped) = (0, 0);
    for case_index in 0..CASES {
        let case = random_case(&mut rng)?;
        let ctx = |what: &str| {
            format!(
                "seed {seed} case {case_index} sizes {:?}: {what}",
                case.sizes
            )
        };
        let Some(reference) = reference(&case) else {
            skipped += 1;
            continue;
        };
        let optimizer = if adam {
            Optimizer::adam(10f32.powf(rng.uniform(-3.0, -1.0)))
        } else {
            Optimizer::Sgd {
                lr: rng.uniform(0.01, 0.5),
                momentum: 0.0,
                nesterov: false,
                weight_decay: if rng.below(2) == 0 { 0.0 } else { 1e-3 },
            }
        };
        let config = TrainConfig::new(case.batch, Loss::SoftmaxCrossEntropy, optimizer);
        let topology =
            Topology::new(&case.sizes, &case.activations).map_err(|e| ctx(&e.to_string()))?;
        let mut workspace = vec![0.0f32; topology.model_len() + config.trainer_len(&topology)];
        let (mut mlp, mut trainer) =
            split_workspace(topology, config, &mut workspace).map_err(|e| ctx(&e.to_string()))?;
        mlp.params_mut().copy_from_slice(&case.params);
        let core_loss = trainer
            .step(
                &mut mlp,
                &case.x,
                Targets::Classes(&case.labels),
                &mut Rng::new(0),
            )
            .map_err(|e| ctx(&format!("core step: {e}")))?
            .loss;
        let mut gpu_trainer =
            GpuTrainer::new(gpu, &case.sizes, &case.activations, &config, &case.params)
                .map_err(|e| ctx(&format!("gpu trainer: {e}")))?;
        let gpu_loss = gpu_trainer
            .step(&case.x, &case.labels)
            .map_err(|e| ctx(&format!("gpu step: {e}")))?;
        let gpu_params = gpu_trainer.params().map_err(|e| ctx(&e.to_string()))?;
        for (what, loss) in [("gpu", gpu_loss), ("core", core_loss)] {
            let diff = (f64::from(loss) - reference.loss).abs();
            if diff.is_nan() || diff > reference.loss_tol {
                return Err(ctx(&format!(
                    "{what} loss {loss} vs f64 {}: |diff| {diff} > {}",
                    reference.loss, reference.loss_tol
                ))
                .into());
            }
        }
        let want = updated(&case, &reference, optimizer);
        for (p, &(w64, tol)) in want.iter().enumerate() {
            for (what, got) in [("gpu", gpu_params[p]), ("core", mlp.params()[p])] {
                let diff = (f64::from(got) - w64).abs();
                if diff.is_nan() || diff > tol {
                    return Err(ctx(&format!(
                        "{what} parameter {p}: {got} vs f64 {w64}, |diff| {diff} > {tol}"
                    ))
                    .into());
                }
            }
            let diff = (f64::from(gpu_params[p]) - f64::from(mlp.params()[p])).abs();
            if diff > 2.0 * tol {
                return Err(ctx(&format!(
                    "gpu vs core parameter {p}: |diff| {diff} > {}",
                    2.0 * tol
                ))
                .into());
            }
        }
        checked += 1;
    }
    if skipped > CASES / 2 {
        return Err(format!(
            "seed {seed}: {skipped} of {CASES} cases degenerate ({checked} checked)"
        )
        .into());
    }
    Ok(())
}

/// Three epochs on Gaussian blobs (8 features, 3 classes) on the CPU and the GPU from the same
/// initial weights and batch order; per-epoch mean losses must agree.
fn training_curve(gpu: &Gpu, seed: u64) -> Result<(), Failed> {
    let (features, classes, samples, batch) = (8usize, 3usize, 256usize, 16usize);
    let mut rng = Rng::new(seed);
    let centers: Vec<f32> = (0..classes * features)
        .map(|_| rng.uniform(-2.0, 2.0))
        .collect();
    let labels: Vec<u32> = (0..samples).map(|_| rng.below(classes as u32)).collect();
    let x: Vec<f32> = labels
        .iter()
        .flat_map(|&c| {
            let base = c as usize * features;
            (0..features)
                .map(|f| centers[base + f] + 0.5 * rng.normal())
                .collect::<Vec<_>>()
        })
        .collect();
    let sizes = [features, 16, classes];
    let activations = [Activation::Relu, Activation::Identity];
    let config = TrainConfig::new(batch, Loss::SoftmaxCrossEntropy, Optimizer::sgd(0.1));
    let topology = Topology::new(&sizes, &activations).map_err(|e| e.to_string())?;
    let mut workspace = vec![0.0f32; topology.model_len() + config.trainer_len(&topology)];
    let (mut mlp, mut trainer) =
        split_workspace(topology, config, &mut workspace).map_err(|e| e.to_string())?;
    mlp.init(&mut rng);
    let mut gpu_trainer = GpuTrainer::new(gpu, &sizes, &activations, &config, mlp.params())
        .map_err(|e| format!("gpu trainer: {e}"))?;
    for epoch in 0..3 {
        let (mut cpu_total, mut gpu_total) = (0.0f64, 0.0f64);
        for start in (0..samples).step_by(batch) {
            let xb = &x[start * features..(start + batch) * features];
            let yb = &labels[start..start + batch];
            cpu_total += f64::from(
                trainer
                    .step(&mut mlp, xb, Targets::Classes(yb), &mut Rng::new(0))
                    .map_err(|e| format!("core step: {e}"))?
                    .loss,
            );
            gpu_total += f64::from(
                gpu_trainer
                    .step(xb, yb)
                    .map_err(|e| format!("gpu step: {e}"))?,
            );
        }
        let steps = (samples / batch) as f64;
        let (cpu, gpu_loss) = (cpu_total / steps, gpu_total / steps);
        if (cpu - gpu_loss).abs() > 1e-3 * cpu.abs().max(1.0) {
            return Err(
                format!("seed {seed} epoch {epoch}: cpu loss {cpu}, gpu loss {gpu_loss}").into(),
            );
        }
    }
    Ok(())
}

fn main() {
    let seed = std::env::var("EDGEML_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("gpu_mlp: seed {seed} (EDGEML_TEST_SEED to replay)");
    let bodies: Vec<(&str, Body)> = vec![
        (
            "sgd_step_matches_core",
            Box::new(move |g: &Gpu| one_step(g, seed, false)),
        ),
        (
            "adam_step_matches_core",
            Box::new(move |g: &Gpu| one_step(g, seed ^ 0xADA, true)),
        ),
        (
            "training_curve_matches_cpu",
            Box::new(move |g: &Gpu| training_curve(g, seed)),
        ),
    ];
    let bodies = bodies
        .into_iter()
        .map(|(name, body)| (name.to_string(), body))
        .collect();
    gpu_support::run("gpu_mlp", bodies)
}
