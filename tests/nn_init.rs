//! `Init::TorchDefault` (PyTorch's `nn.Linear` default): every weight and bias lies within
//! `±1/√fan_in`, and the sample mean and mean square match the uniform law's `0` and
//! `1/(3·fan_in)` within Hoeffding bounds (failure probability 1e-9 per check, for any sample
//! size); batch-norm parameters and statistics keep their documented starting values.

use edgeml_core::nn::{Activation, Init, Mlp, Topology};
use edgeml_core::rng::Rng;
use proptest::prelude::*;

/// Probability that a Hoeffding check fails on correct draws.
const DELTA: f64 = 1e-9;

/// Hoeffding: the mean of `n` independent draws in an interval of width `range` deviates
/// from its expectation by more than this with probability below [`DELTA`].
fn hoeffding(range: f64, n: usize) -> f64 {
    range * ((2.0 / DELTA).ln() / (2.0 * n as f64)).sqrt()
}

/// Checks bounds and first two moments of `values`, draws uniform on `[−a, a]` with
/// `a = 1/√fan_in`.
fn check_uniform(values: &[f32], fan_in: usize) {
    let a = 1.0 / (fan_in as f64).sqrt();
    // The bound is computed in f32 (`1/sqrtf`, two roundings) and the draws never exceed it.
    let bound = a * (1.0 + 2f64.powi(-22));
    let n = values.len();
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    for &v in values {
        let v = f64::from(v);
        assert!(v.abs() <= bound, "{v} outside ±{a} (fan_in {fan_in})");
        sum += v;
        squares += v * v;
    }
    let mean = sum / n as f64;
    let mean_square = squares / n as f64;
    let tol_mean = hoeffding(2.0 * bound, n);
    let tol_square = hoeffding(bound * bound, n);
    assert!(
        mean.abs() <= tol_mean,
        "mean {mean}, bound {tol_mean} (n {n})"
    );
    assert!(
        (mean_square - a * a / 3.0).abs() <= tol_square,
        "mean square {mean_square} vs {} ± {tol_square} (n {n})",
        a * a / 3.0
    );
}

/// The model buffer of a one-layer `[fan_in, fan_out]` model after `init_with(TorchDefault)`.
fn torch_layer(fan_in: usize, fan_out: usize, seed: u64) -> Vec<f32> {
    let topology = Topology::new(&[fan_in, fan_out], &[Activation::Relu]).unwrap();
    let mut buffer = vec![f32::NAN; topology.model_len()];
    Mlp::new(topology, &mut buffer)
        .unwrap()
        .init_with(&mut Rng::new(seed), Init::TorchDefault);
    buffer
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn torch_default_weights_and_biases_follow_the_formula(
        fan_in in 1usize..700,
        fan_out in 1usize..80,
        seed in any::<u64>(),
    ) {
        let buffer = torch_layer(fan_in, fan_out, seed);
        let (weights, bias) = buffer.split_at(fan_in * fan_out);
        check_uniform(weights, fan_in);
        check_uniform(bias, fan_in);
        check_uniform(&buffer, fan_in);
    }
}

/// The experiment's 784-128 layer: 100,352 weights, mean square within 1 % of 1/(3·784),
/// and the halves `[−a, 0)` and `[0, a]` equally filled within Hoeffding's bound.
#[test]
fn torch_default_on_the_fashion_mnist_layer() {
    let buffer = torch_layer(784, 128, 42);
    let weights = &buffer[..784 * 128];
    check_uniform(weights, 784);
    let positive = weights.iter().filter(|&&w| w >= 0.0).count() as f64 / weights.len() as f64;
    assert!((positive - 0.5).abs() <= hoeffding(1.0, weights.len()));
    let mean_square = weights.iter().map(|&w| f64::from(w).powi(2)).sum::<f64>() / 100_352.0;
    assert!(
        (mean_square * 3.0 * 784.0 - 1.0).abs() < 0.01,
        "{mean_square}"
    );
}

/// With batch norm, `init_with` draws the dense layers and leaves γ = 1, β = 0, running
/// means 0 and variances 1 (layout: W₀ b₀ γ β W₁ b₁ | mean var).
#[test]
fn torch_default_keeps_batch_norm_starting_values() {
    let topology = Topology::new(&[3, 4, 2], &[Activation::Relu, Activation::Identity])
        .unwrap()
        .with_batch_norm(true)
        .unwrap();
    let mut buffer = vec![f32::NAN; topology.model_len()];
    Mlp::new(topology, &mut buffer)
        .unwrap()
        .init_with(&mut Rng::new(5), Init::TorchDefault);
    let (w0, rest) = buffer.split_at(12);
    let (b0, rest) = rest.split_at(4);
    let (gamma, rest) = rest.split_at(4);
    let (beta, rest) = rest.split_at(4);
    let (w1, rest) = rest.split_at(8);
    let (b1, rest) = rest.split_at(2);
    let (mean, var) = rest.split_at(4);
    let a0 = 1.0 / 3f32.sqrt();
    assert!(w0.iter().chain(b0).all(|v| v.abs() <= a0), "{w0:?} {b0:?}");
    assert!(w1.iter().chain(b1).all(|v| v.abs() <= 0.5), "{w1:?} {b1:?}");
    assert!(b0.iter().chain(b1).any(|&v| v != 0.0), "biases are drawn");
    assert_eq!(gamma, [1.0; 4]);
    assert_eq!(beta, [0.0; 4]);
    assert_eq!(mean, [0.0; 4]);
    assert_eq!(var, [1.0; 4]);
}

/// The He and Xavier rules keep zero biases, as `Mlp::init` always did.
#[test]
fn he_and_xavier_keep_zero_biases() {
    for rule in [Init::He, Init::Xavier] {
        let topology = Topology::new(&[5, 3], &[Activation::Tanh]).unwrap();
        let mut buffer = vec![f32::NAN; topology.model_len()];
        Mlp::new(topology, &mut buffer)
            .unwrap()
            .init_with(&mut Rng::new(1), rule);
        assert_eq!(&buffer[15..], [0.0; 3], "{rule:?}");
        assert!(buffer[..15].iter().all(|v| v.is_finite() && *v != 0.0));
    }
}
