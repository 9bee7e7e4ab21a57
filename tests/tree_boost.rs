//! Gradient boosting and forests: one depth-0 round of squared loss is the mean, the training
//! loss never rises from round to round, logistic boosting separates a separable problem,
//! softmax and forests learn a three-class problem, and bad settings are errors.

mod tree_support;

use edgeml_core::rng::Rng;
use edgeml_core::tree::{BoostParams, ForestParams, ForestTask, Impurity, Loss, TreeParams};
use edgeml_core::Error;
use proptest::prelude::*;
use tree_support::{boost, boost_validated, boosted_score, forest, uniform_matrix, Binned, Held};

fn params(
    loss: Loss,
    n_rounds: usize,
    learning_rate: f32,
    depth: usize,
    lambda: f64,
) -> BoostParams {
    BoostParams {
        loss,
        n_rounds,
        learning_rate,
        lambda,
        tree: TreeParams {
            max_depth: depth,
            max_leaves: 1 << depth,
            ..TreeParams::default()
        },
        row_subsample: 1.0,
        start_from_prior: false,
    }
}

fn squared_loss(model: &tree_support::Owned, trees: usize, x: &[f32], y: &[f32], d: usize) -> f64 {
    x.chunks(d)
        .zip(y)
        .map(|(row, &t)| (boosted_score(model, trees, 0, row) - f64::from(t)).powi(2))
        .sum()
}

fn log_loss(model: &tree_support::Owned, trees: usize, x: &[f32], y: &[f32], d: usize) -> f64 {
    x.chunks(d)
        .zip(y)
        .map(|(row, &t)| {
            let s = boosted_score(model, trees, 0, row);
            // log(1 + e^s) - t·s, written to stay finite for large |s|.
            s.max(0.0) + (-s.abs()).exp().ln_1p() - f64::from(t) * s
        })
        .sum()
}

/// Three classes by the sign pattern of two features.
fn three_classes(x: &[f32], d: usize) -> Vec<f32> {
    x.chunks(d)
        .map(|r| {
            if r[0] < -0.3 {
                0.0
            } else if r[1] < 0.2 {
                1.0
            } else {
                2.0
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn one_depth_zero_round_is_the_mean(
        y in prop::collection::vec(-1000i32..1000, 1..200), prior in any::<bool>(),
    ) {
        let y: Vec<f32> = y.iter().map(|&v| v as f32 * 0.01).collect();
        let n = y.len();
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let binned = Binned::new(&x, n, 1, 64).unwrap();
        let p = BoostParams { start_from_prior: prior, ..params(Loss::Squared, 1, 1.0, 0, 0.0) };
        let model = boost(&binned, &y, &p, 0, 1).unwrap();
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        for row in x.chunks(1) {
            let got = f64::from(model.model().predict(row).unwrap());
            prop_assert!((got - mean).abs() <= 1e-5 * (1.0 + mean.abs()), "{got} vs {mean}");
        }
    }

    #[test]
    fn squared_loss_never_rises(
        n in 10usize..300, d in 1usize..4, rounds in 1usize..15, depth in 1usize..5,
        lr in 0.05f32..=1.0, lambda in 0.0f64..5.0, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let x = uniform_matrix(&mut rng, n, d);
        let y: Vec<f32> = x.chunks(d).map(|r| 3.0 * r[0] * r[0] + r.iter().sum::<f32>() + rng.normal() * 0.2).collect();
        let binned = Binned::new(&x, n, d, 32).unwrap();
        let p = BoostParams { start_from_prior: true, ..params(Loss::Squared, rounds, lr, depth, lambda) };
        let model = boost(&binned, &y, &p, seed, rounds << (depth + 1)).unwrap();
        let mut previous = squared_loss(&model, 0, &x, &y, d);
        for r in 1..=rounds {
            let current = squared_loss(&model, r, &x, &y, d);
            prop_assert!(current <= previous * (1.0 + 1e-6) + 1e-9, "round {r}: {previous} -> {current}");
            previous = current;
        }
    }

    #[test]
    fn one_depth_zero_absolute_round_is_the_median(
        y in prop::collection::vec(-1000i32..1000, 1..200),
    ) {
        let y: Vec<f32> = y.iter().map(|&v| v as f32 * 0.01).collect();
        let n = y.len();
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let binned = Binned::new(&x, n, 1, 64).unwrap();
        let model = boost(&binned, &y, &params(Loss::Absolute, 1, 1.0, 0, 0.0), 0, 1).unwrap();
        let mut sorted: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        let got = f64::from(model.model().predict(&x[..1]).unwrap());
        prop_assert!((got - median).abs() <= 1e-5 * (1.0 + median.abs()), "{got} vs {median}");
    }

    #[test]
    fn absolute_loss_never_rises(
        n in 10usize..300, d in 1usize..4, rounds in 1usize..15, depth in 1usize..5,
        lr in 0.05f32..=1.0, seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let x = uniform_matrix(&mut rng, n, d);
        let y: Vec<f32> = x.chunks(d).map(|r| 2.0 * r[0] + rng.normal().powi(3)).collect();
        let binned = Binned::new(&x, n, d, 32).unwrap();
        let p = BoostParams { start_from_prior: true, ..params(Loss::Absolute, rounds, lr, depth, 0.0) };
        let model = boost(&binned, &y, &p, seed, rounds << (depth + 1)).unwrap();
        let l1 = |trees: usize| -> f64 {
            x.chunks(d).zip(&y).map(|(r, &t)| (boosted_score(&model, trees, 0, r) - f64::from(t)).abs()).sum()
        };
        let mut previous = l1(0);
        for r in 1..=rounds {
            let current = l1(r);
            prop_assert!(current <= previous * (1.0 + 1e-6) + 1e-9, "round {r}: {previous} -> {current}");
            previous = current;
        }
    }

    #[test]
    fn early_stopping_keeps_the_best_round(
        n in 20usize..200, rounds in 1usize..30, patience in 0usize..5, noise in 0.0f32..2.0,
        seed in any::<u64>(),
    ) {
        let d = 2;
        let mut rng = Rng::new(seed);
        let x = uniform_matrix(&mut rng, n, d);
        let mut target = |r: &[f32]| r[0] - r[1] * r[1] + noise * rng.normal();
        let y: Vec<f32> = x.chunks(d).map(&mut target).collect();
        let vx = uniform_matrix(&mut Rng::new(seed ^ 7), 50, d);
        let vy: Vec<f32> = vx.chunks(d).map(&mut target).collect();
        let binned = Binned::new(&x, n, d, 16).unwrap();
        let held = Held { x: &vx, targets: &vy, patience };
        let mut history = Vec::new();
        let p = BoostParams { start_from_prior: true, ..params(Loss::Squared, rounds, 1.0, 4, 0.0) };
        let model = boost_validated(&binned, &y, &p, seed, rounds * 32, Some((&held, &mut history))).unwrap();
        let run = history.iter().take_while(|h| !h.is_nan()).count();
        prop_assert!(history[run..].iter().all(|h| h.is_nan()));
        let best = (0..run).fold(0, |b, r| if history[r] < history[b] { r } else { b });
        prop_assert_eq!(model.roots.len(), best + 1);
        if patience > 0 && run < rounds {
            prop_assert_eq!(run, best + patience + 1);
        } else {
            prop_assert_eq!(run, rounds);
        }
        for (r, &h) in history.iter().enumerate().take(best + 1) {
            let reference = vx.chunks(d).zip(&vy)
                .map(|(q, &t)| (boosted_score(&model, r + 1, 0, q) - f64::from(t)).powi(2))
                .sum::<f64>() / 50.0;
            prop_assert!((h - reference).abs() <= 1e-9 * (1.0 + reference), "round {r}: {h} vs {reference}");
        }
    }

    #[test]
    fn logistic_loss_never_rises(
        n in 10usize..300, rounds in 1usize..15, depth in 1usize..4,
        lr in 0.05f32..=0.5, seed in any::<u64>(),
    ) {
        let d = 2;
        let mut rng = Rng::new(seed);
        let x = uniform_matrix(&mut rng, n, d);
        let y: Vec<f32> = x.chunks(d).map(|r| f32::from(u8::from(r[0] + 0.3 * rng.normal() > 0.0))).collect();
        let binned = Binned::new(&x, n, d, 32).unwrap();
        let p = BoostParams { start_from_prior: true, ..params(Loss::Logistic, rounds, lr, depth, 1.0) };
        let model = boost(&binned, &y, &p, seed, rounds << (depth + 1)).unwrap();
        let mut previous = log_loss(&model, 0, &x, &y, d);
        for r in 1..=rounds {
            let current = log_loss(&model, r, &x, &y, d);
            prop_assert!(current <= previous * (1.0 + 1e-6) + 1e-9, "round {r}: {previous} -> {current}");
            previous = current;
        }
    }
}

#[test]
fn logistic_boosting_separates_a_separable_problem() {
    let (n, d) = (600, 3);
    let mut rng = Rng::new(7);
    let label = |r: &[f32]| f32::from(u8::from(r[0] + 0.5 * r[1] > 0.1));
    let x = uniform_matrix(&mut rng, n, d);
    let y: Vec<f32> = x.chunks(d).map(label).collect();
    let binned = Binned::new(&x, n, d, 64).unwrap();
    let p = BoostParams {
        row_subsample: 0.8,
        start_from_prior: true,
        ..params(Loss::Logistic, 60, 0.3, 3, 1.0)
    };
    let model = boost(&binned, &y, &p, 1, 60 * 16).unwrap();
    let test = uniform_matrix(&mut rng, 1000, d);
    let correct = test
        .chunks(d)
        .filter(|r| f32::from(u8::from(model.model().predict(r).unwrap() > 0.5)) == label(r))
        .count();
    assert!(correct >= 950, "test accuracy {correct}/1000");
}

#[test]
fn softmax_and_forest_learn_three_classes() {
    let (n, d) = (600, 2);
    let mut rng = Rng::new(11);
    let x = uniform_matrix(&mut rng, n, d);
    let y = three_classes(&x, d);
    let test = uniform_matrix(&mut rng, 1000, d);
    let truth = three_classes(&test, d);
    let binned = Binned::new(&x, n, d, 64).unwrap();
    let p = BoostParams {
        start_from_prior: true,
        ..params(Loss::Softmax { n_classes: 3 }, 30, 0.3, 3, 1.0)
    };
    let boosted = boost(&binned, &y, &p, 3, 90 * 16).unwrap();
    let labels: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    let fp = ForestParams {
        n_trees: 25,
        tree: TreeParams {
            max_depth: 8,
            max_leaves: 256,
            max_features: 1,
            ..TreeParams::default()
        },
        bootstrap: true,
    };
    let task = ForestTask::Classify {
        labels: &labels,
        n_classes: 3,
        impurity: Impurity::Entropy,
    };
    let rf = forest(&binned, task, &fp, 5, 25 * 512).unwrap();
    for model in [&boosted, &rf] {
        let m = model.model();
        let correct = test
            .chunks(d)
            .zip(&truth)
            .filter(|(r, &t)| m.predict(r).unwrap() == t)
            .count();
        assert!(
            correct >= 950,
            "{:?}: test accuracy {correct}/1000",
            m.kind()
        );
    }
}

#[test]
fn forest_regression_beats_the_mean() {
    let (n, d) = (500, 2);
    let mut rng = Rng::new(2);
    let f = |r: &[f32]| (3.0 * r[0]).sin() + r[1] * r[1];
    let x = uniform_matrix(&mut rng, n, d);
    let y: Vec<f32> = x.chunks(d).map(f).collect();
    let binned = Binned::new(&x, n, d, 64).unwrap();
    let fp = ForestParams {
        n_trees: 20,
        tree: TreeParams {
            max_depth: 8,
            max_leaves: 256,
            min_samples_leaf: 2,
            ..TreeParams::default()
        },
        bootstrap: true,
    };
    let rf = forest(
        &binned,
        ForestTask::Regress { targets: &y },
        &fp,
        9,
        20 * 512,
    )
    .unwrap();
    let test = uniform_matrix(&mut rng, 500, d);
    let truth: Vec<f64> = test.chunks(d).map(|r| f64::from(f(r))).collect();
    let mean = truth.iter().sum::<f64>() / 500.0;
    let baseline: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let m = rf.model();
    let err: f64 = test
        .chunks(d)
        .zip(&truth)
        .map(|(r, t)| (f64::from(m.predict(r).unwrap()) - t).powi(2))
        .sum();
    assert!(
        err < 0.1 * baseline,
        "forest SSE {err} vs mean-only {baseline}"
    );
}

#[test]
fn bad_settings_are_errors() {
    let x: Vec<f32> = (0..20).map(|i| i as f32).collect();
    let y: Vec<f32> = (0..20).map(|i| (i % 2) as f32).collect();
    let binned = Binned::new(&x, 20, 1, 16).unwrap();
    let ok = params(Loss::Logistic, 3, 0.5, 2, 1.0);
    assert!(boost(&binned, &y, &ok, 0, 3 * 8).is_ok());
    let cases = [
        BoostParams {
            learning_rate: 0.0,
            ..ok
        },
        BoostParams {
            learning_rate: f32::NAN,
            ..ok
        },
        BoostParams {
            row_subsample: 1.5,
            ..ok
        },
        BoostParams { n_rounds: 0, ..ok },
        BoostParams { lambda: -1.0, ..ok },
        BoostParams {
            loss: Loss::Softmax { n_classes: 1 },
            ..ok
        },
        BoostParams {
            tree: TreeParams {
                max_leaves: 0,
                ..ok.tree
            },
            ..ok
        },
    ];
    for p in cases {
        assert!(
            matches!(
                boost(&binned, &y, &p, 0, 64),
                Err(Error::InvalidParameter { .. })
            ),
            "{p:?}"
        );
    }
    let twos = vec![2.0f32; 20];
    assert!(matches!(
        boost(&binned, &twos, &ok, 0, 64),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        boost(&binned, &y[..5], &ok, 0, 64),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        boost(&binned, &y, &ok, 0, 5),
        Err(Error::CapacityExceeded { .. })
    ));
}
