//! Optimizers, clipping and schedules against formulas evaluated in f64 in the test; training
//! a small MLP on a separable problem (noisy XOR) to ≥ 95 % held-out accuracy with each
//! optimizer, batch norm and dropout; mixed precision (f16, bf16) reaching f32's accuracy;
//! dynamic loss scaling skipping and halving on overflow; the softmax-before-cross-entropy
//! loss floor.

mod common;

use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{
    self, clip_by_global_norm, half_len, inference_scratch_len, Activation, Loss, LossScaler, Mlp,
    Optimizer, Schedule, Targets, Topology, TrainConfig, Trainer,
};
use edgeml_core::rng::Rng;
use half::{bf16, f16};
use proptest::prelude::*;

fn close(a: f32, b: f64, rel: f64) -> bool {
    (a as f64 - b).abs() <= rel * (1.0 + b.abs())
}

/// One optimizer step written out in f64 from the documented formulas; `state` holds the
/// optimizer's slots for this parameter.
fn reference_step(opt: &Optimizer, w: &mut f64, g: f64, state: &mut [f64; 2], t: u64) {
    match *opt {
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
            weight_decay,
        } => {
            let g = g + weight_decay as f64 * *w;
            let (lr, mu) = (lr as f64, momentum as f64);
            if mu == 0.0 {
                *w -= lr * g;
            } else {
                state[0] = mu * state[0] + g;
                *w -= lr
                    * if nesterov {
                        g + mu * state[0]
                    } else {
                        state[0]
                    };
            }
        }
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } => {
            let g = g + weight_decay as f64 * *w;
            let (b1, b2) = (beta1 as f64, beta2 as f64);
            state[0] = b1 * state[0] + (1.0 - b1) * g;
            state[1] = b2 * state[1] + (1.0 - b2) * g * g;
            let m_hat = state[0] / (1.0 - b1.powi(t as i32));
            let v_hat = state[1] / (1.0 - b2.powi(t as i32));
            *w -= lr as f64 * m_hat / (v_hat.sqrt() + eps as f64);
        }
        Optimizer::RmsProp {
            lr,
            alpha,
            eps,
            weight_decay,
        } => {
            let g = g + weight_decay as f64 * *w;
            let a = alpha as f64;
            state[0] = a * state[0] + (1.0 - a) * g * g;
            *w -= lr as f64 * g / (state[0].sqrt() + eps as f64);
        }
    }
}

fn optimizer() -> impl Strategy<Value = Optimizer> {
    let decay = prop_oneof![Just(0.0f32), 0.0f32..0.1];
    prop_oneof![
        (
            0.001f32..0.5,
            prop_oneof![Just(0.0f32), 0.0f32..0.99],
            any::<bool>(),
            decay.clone()
        )
            .prop_map(|(lr, momentum, nesterov, weight_decay)| Optimizer::Sgd {
                lr,
                momentum,
                nesterov: nesterov && momentum > 0.0,
                weight_decay,
            }),
        (
            0.0001f32..0.1,
            0.5f32..0.99,
            0.9f32..0.9999,
            1e-8f32..1e-3,
            decay.clone()
        )
            .prop_map(|(lr, beta1, beta2, eps, weight_decay)| Optimizer::Adam {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay
            }),
        (0.0001f32..0.1, 0.5f32..0.999, 1e-8f32..1e-3, decay).prop_map(
            |(lr, alpha, eps, weight_decay)| Optimizer::RmsProp {
                lr,
                alpha,
                eps,
                weight_decay
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Five updates with fresh random gradients match the f64 formulas.
    #[test]
    fn optimizer_steps_match_formulas(
        opt in optimizer(),
        init in prop::collection::vec(-2.0f32..2.0, 1..40),
        seed in any::<u64>(),
    ) {
        let n = init.len();
        let mut params = init.clone();
        let mut state = vec![0.0f32; opt.state_slots() * n];
        let mut w64: Vec<f64> = init.iter().map(|&v| v as f64).collect();
        let mut s64 = vec![[0.0f64; 2]; n];
        let mut rng = Rng::new(seed);
        for t in 1..=5u64 {
            let grads: Vec<f32> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
            opt.update(&mut params, &grads, &mut state, t).unwrap();
            for i in 0..n {
                reference_step(&opt, &mut w64[i], grads[i] as f64, &mut s64[i], t);
            }
            for (a, &b) in params.iter().zip(&w64) {
                prop_assert!(close(*a, b, 1e-5), "step {t}: {a} vs {b}");
            }
        }
    }

    /// Clipping leaves the norm at most `max_norm`, keeps the direction, and is the identity
    /// when already within.
    #[test]
    fn clipping_bounds_the_norm(g in prop::collection::vec(-10.0f32..10.0, 1..100), max in 0.01f32..20.0) {
        let norm64 = g.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
        let mut clipped = g.clone();
        let reported = clip_by_global_norm(&mut clipped, max).unwrap();
        prop_assert!(close(reported, norm64, 1e-6));
        let factor = if norm64 > max as f64 { max as f64 / norm64 } else { 1.0 };
        for (c, &v) in clipped.iter().zip(&g) {
            prop_assert!(close(*c, v as f64 * factor, 1e-5));
        }
    }

    /// Step and cosine schedules follow their formulas.
    #[test]
    fn schedules_follow_formulas(base in 0.0f32..1.0, epoch in 0u32..300, step in 1u32..50, gamma in 0.05f32..1.0, total in 1u32..200, min in 0.0f32..0.01) {
        let s = Schedule::Step { step_size: step, gamma }.learning_rate(base, epoch).unwrap();
        prop_assert!(close(s, base as f64 * (gamma as f64).powi((epoch / step) as i32), 1e-5));
        let c = Schedule::Cosine { total, min_lr: min }.learning_rate(base, epoch).unwrap();
        let progress = epoch.min(total) as f64 / total as f64;
        let expected = min as f64 + (base as f64 - min as f64) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        prop_assert!(close(c, expected, 1e-5));
        prop_assert_eq!(Schedule::Constant.learning_rate(base, epoch).unwrap(), base);
    }

    /// Softmax applied before cross-entropy (the seed's bug) cannot push the loss below
    /// `ln(1 + (k−1)/e)` (probabilities in [0,1] used as logits), whatever the outputs.
    #[test]
    fn softmax_before_cross_entropy_has_a_floor(k in 2usize..12, rows in 1usize..5, seed in any::<u64>(), spread in 0.0f32..100.0) {
        let mut rng = Rng::new(seed);
        let outputs: Vec<f32> = (0..rows * k).map(|_| rng.uniform(-spread, spread)).collect();
        let labels: Vec<u32> = (0..rows).map(|_| rng.below(k as u32)).collect();
        let mut grad = vec![0.0f32; rows * k];
        let mut scratch = vec![0.0f32; k];
        let loss = Loss::CrossEntropyAfterSoftmax
            .evaluate(&outputs, k, Targets::Classes(&labels), 1.0, &mut grad, &mut scratch)
            .unwrap();
        let floor = (1.0 + (k as f64 - 1.0) / std::f64::consts::E).ln();
        prop_assert!(loss as f64 >= floor - 1e-5, "{loss} below {floor}");
    }
}

/// Noisy XOR: four Gaussian clusters at (±1, ±1) with σ = 0.25, class = sign(x·y) > 0.
fn xor(n: usize, rng: &mut Rng) -> (Vec<f32>, Vec<u32>) {
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let a = if rng.below(2) == 0 { -1.0 } else { 1.0 };
        let b = if rng.below(2) == 0 { -1.0 } else { 1.0 };
        x.push(a + 0.25 * rng.normal());
        x.push(b + 0.25 * rng.normal());
        y.push(u32::from(a * b > 0.0));
    }
    (x, y)
}

#[derive(Clone, Copy)]
enum Precision {
    F32,
    F16,
    Bf16,
}

/// Trains on 512 noisy-XOR points for `epochs` and returns held-out accuracy (2000 points).
fn train_xor(
    topo: Topology,
    config: TrainConfig,
    precision: Precision,
    epochs: usize,
    seed: u64,
) -> f64 {
    let mut rng = Rng::new(seed);
    let (x, y) = xor(512, &mut rng);
    let (tx, ty) = xor(2000, &mut rng);
    let sizes = topo.sizes();
    let mut workspace = vec![
        0.0f32;
        nn::workspace_len(
            sizes,
            topo.batch_norm(),
            config.batch,
            config.optimizer.state_slots(),
            config.dropout > 0.0
        )
    ];
    let (mut mlp, mut trainer) = nn::split_workspace(topo, config, &mut workspace).unwrap();
    mlp.init(&mut rng);
    let hl = half_len(sizes, topo.batch_norm(), config.batch);
    let mut h16 = vec![f16::ZERO; hl];
    let mut hb16 = vec![bf16::ZERO; hl];
    let mut scaler = LossScaler::new(1024.0, 50).unwrap();
    let mut order: Vec<usize> = (0..y.len()).collect();
    let (mut bx, mut by) = (Vec::new(), Vec::new());
    for _ in 0..epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(config.batch) {
            bx.clear();
            by.clear();
            for &i in chunk {
                bx.extend_from_slice(&x[2 * i..2 * i + 2]);
                by.push(y[i]);
            }
            let targets = Targets::Classes(&by);
            let report = match precision {
                Precision::F32 => trainer.step(&mut mlp, &bx, targets, &mut rng),
                Precision::F16 => {
                    trainer.step_mixed(&mut mlp, &mut h16, &mut scaler, &bx, targets, &mut rng)
                }
                Precision::Bf16 => {
                    trainer.step_mixed(&mut mlp, &mut hb16, &mut scaler, &bx, targets, &mut rng)
                }
            };
            report.unwrap();
        }
    }
    accuracy(&mlp, &tx, &ty)
}

fn accuracy(mlp: &Mlp<'_>, x: &[f32], y: &[u32]) -> f64 {
    let rows = y.len();
    let mut scratch = vec![0.0f32; inference_scratch_len(mlp.topology().sizes(), rows)];
    let mut out = vec![0.0f32; rows * 2];
    mlp.forward(Dispatch::PORTABLE, x, &mut scratch, &mut out)
        .unwrap();
    let correct = out
        .chunks(2)
        .zip(y)
        .filter(|(o, &label)| u32::from(o[1] > o[0]) == label)
        .count();
    correct as f64 / rows as f64
}

fn xor_topology(hidden: Activation) -> Topology {
    Topology::new(&[2, 16, 2], &[hidden, Activation::Identity]).unwrap()
}

#[test]
fn each_optimizer_learns_xor() {
    let sgd = Optimizer::Sgd {
        lr: 0.1,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-4,
    };
    for (optimizer, hidden) in [
        (Optimizer::sgd(0.3), Activation::Tanh),
        (sgd, Activation::Relu),
        (Optimizer::adam(0.02), Activation::Gelu),
        (Optimizer::rmsprop(0.01), Activation::Sigmoid),
    ] {
        for seed in 0..3 {
            let config = TrainConfig::new(32, Loss::SoftmaxCrossEntropy, optimizer);
            let acc = train_xor(xor_topology(hidden), config, Precision::F32, 60, seed);
            assert!(
                acc >= 0.95,
                "{optimizer:?} / {hidden:?} seed {seed}: accuracy {acc}"
            );
        }
    }
}

#[test]
fn batch_norm_dropout_and_clipping_still_learn_xor() {
    let topo = Topology::new(
        &[2, 32, 16, 2],
        &[Activation::Relu, Activation::Relu, Activation::Identity],
    )
    .unwrap()
    .with_batch_norm(true)
    .unwrap();
    let mut config = TrainConfig::new(32, Loss::SoftmaxCrossEntropy, Optimizer::adam(0.01));
    config.dropout = 0.1;
    config.clip_norm = Some(1.0);
    for dispatch in common::dispatches() {
        config.dispatch = dispatch;
        let acc = train_xor(topo, config, Precision::F32, 60, 11);
        assert!(acc >= 0.95, "{:?}: accuracy {acc}", dispatch.isa());
    }
}

#[test]
fn mixed_precision_matches_f32_accuracy() {
    let config = TrainConfig::new(32, Loss::SoftmaxCrossEntropy, Optimizer::adam(0.02));
    for seed in 0..3 {
        let topo = xor_topology(Activation::Tanh);
        let full = train_xor(topo, config, Precision::F32, 60, seed);
        for (name, precision) in [("f16", Precision::F16), ("bf16", Precision::Bf16)] {
            let mixed = train_xor(topo, config, precision, 60, seed);
            assert!(
                mixed >= 0.95 && mixed >= full - 0.01,
                "seed {seed}: {name} {mixed} vs f32 {full}"
            );
        }
    }
}

fn small_setup() -> (Topology, TrainConfig) {
    let topo = Topology::new(&[3, 5, 2], &[Activation::Tanh, Activation::Identity]).unwrap();
    (
        topo,
        TrainConfig::new(4, Loss::MeanSquaredError, Optimizer::adam(0.01)),
    )
}

#[test]
fn loss_scaling_skips_and_halves_on_overflow() {
    let (topo, config) = small_setup();
    let mut ws = vec![0.0f32; nn::workspace_len(topo.sizes(), false, 4, 2, false)];
    let (mut mlp, mut trainer) = nn::split_workspace(topo, config, &mut ws).unwrap();
    let mut rng = Rng::new(5);
    mlp.init(&mut rng);
    let x: Vec<f32> = (0..12).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let t: Vec<f32> = (0..8).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let mut half = vec![f16::ZERO; half_len(topo.sizes(), false, 4)];
    // A scale beyond f16's range: the scaled gradients overflow when rounded to f16.
    let start = 2f32.powi(40);
    let mut scaler = LossScaler::new(start, 3).unwrap();
    let before = mlp.params().to_vec();
    let report = trainer
        .step_mixed(
            &mut mlp,
            &mut half,
            &mut scaler,
            &x,
            Targets::Values(&t),
            &mut rng,
        )
        .unwrap();
    assert!(report.skipped);
    assert_eq!(scaler.scale(), start / 2.0);
    assert_eq!(
        mlp.params(),
        &before[..],
        "a skipped step leaves the weights alone"
    );
    assert_eq!(trainer.steps(), 0);
    // Keep halving until the step goes through, then count clean steps to the doubling.
    let mut skipped = 1;
    while trainer
        .step_mixed(
            &mut mlp,
            &mut half,
            &mut scaler,
            &x,
            Targets::Values(&t),
            &mut rng,
        )
        .unwrap()
        .skipped
    {
        skipped += 1;
        assert!(skipped < 60);
    }
    assert_eq!(scaler.scale(), start / 2f32.powi(skipped));
    assert_ne!(mlp.params(), &before[..]);
    let at = scaler.scale();
    for _ in 0..2 {
        assert!(
            !trainer
                .step_mixed(
                    &mut mlp,
                    &mut half,
                    &mut scaler,
                    &x,
                    Targets::Values(&t),
                    &mut rng
                )
                .unwrap()
                .skipped
        );
    }
    assert_eq!(scaler.scale(), at * 2.0, "doubles after 3 clean steps");
    assert_eq!(scaler.clean_steps(), 0);
    // A mixed step's gradients equal the f32 gradients up to f16 rounding of the operands.
    let mut reference_ws = vec![0.0f32; ws_len(&topo, &config)];
    let (mut m2, mut t2) = nn::split_workspace(topo, config, &mut reference_ws).unwrap();
    m2.buffer_mut().copy_from_slice(mlp.buffer());
    t2.compute_gradients(&mut m2, &x, Targets::Values(&t), &mut rng)
        .unwrap();
    let g32 = t2.gradients().to_vec();
    let norm = g32.iter().map(|g| g * g).sum::<f32>().sqrt();
    let before = mlp.params().to_vec();
    let mut s = LossScaler::new(1024.0, 100).unwrap();
    let mut sgd_config = config;
    sgd_config.optimizer = Optimizer::sgd(1.0);
    let mut tb = vec![0.0f32; sgd_config.trainer_len(&topo)];
    let mut t3 = Trainer::new(topo, sgd_config, &mut tb).unwrap();
    t3.step_mixed(
        &mut mlp,
        &mut half,
        &mut s,
        &x,
        Targets::Values(&t),
        &mut rng,
    )
    .unwrap();
    for ((a, b), g) in mlp.params().iter().zip(&before).zip(&g32) {
        assert!(
            ((b - a) - g).abs() <= 4e-3 * norm + 1e-6,
            "update {} vs gradient {g}",
            b - a
        );
    }
}

fn ws_len(topo: &Topology, config: &TrainConfig) -> usize {
    nn::workspace_len(
        topo.sizes(),
        topo.batch_norm(),
        config.batch,
        config.optimizer.state_slots(),
        config.dropout > 0.0,
    )
}

#[test]
fn workspace_len_is_const_and_sufficient() {
    const SIZES: [usize; 4] = [784, 128, 64, 10];
    const LEN: usize = nn::workspace_len(&SIZES, true, 64, 2, true);
    let topo = Topology::new(
        &SIZES,
        &[Activation::Relu, Activation::Relu, Activation::Identity],
    )
    .unwrap()
    .with_batch_norm(true)
    .unwrap();
    let mut config = TrainConfig::new(64, Loss::SoftmaxCrossEntropy, Optimizer::adam(1e-3));
    config.dropout = 0.2;
    assert_eq!(LEN, topo.model_len() + config.trainer_len(&topo));
    let mut ws = vec![0.0f32; LEN];
    assert!(nn::split_workspace(topo, config, &mut ws).is_ok());
    assert!(nn::split_workspace(topo, config, &mut ws[..LEN - 1]).is_err());
    assert_eq!(
        nn::workspace_len(&[usize::MAX, 2, 2], false, 1, 0, false),
        usize::MAX
    );
}

#[test]
fn learning_rate_can_follow_a_schedule() {
    let (topo, config) = small_setup();
    let mut ws = vec![0.0f32; ws_len(&topo, &config)];
    let (_, mut trainer) = nn::split_workspace(topo, config, &mut ws).unwrap();
    let schedule = Schedule::Cosine {
        total: 10,
        min_lr: 0.0,
    };
    let lr = schedule.learning_rate(0.01, 10).unwrap();
    trainer.set_learning_rate(lr).unwrap();
    assert_eq!(trainer.config().optimizer.learning_rate(), lr);
    assert!(trainer.set_learning_rate(f32::NAN).is_err());
}
