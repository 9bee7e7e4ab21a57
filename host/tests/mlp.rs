//! `edgeml mlp`: a quick run trains (the loss falls), writes every JSON key the README
//! documents (the Adam run's per-seed accuracies with their mean and sample std), and keeps
//! the seed's softmax-before-CE variant (both inits) above its analytic floor; early
//! stopping restores the best epoch's weights; mixed precision trains like f32.

use edgeml_core::nn::{Loss, Optimizer, Schedule, TrainConfig};
use edgeml_host::datasets::{self, DataConfig};
use edgeml_host::experiments::mlp::{self, Examples, MlpArgs, MlpExperiment, Precision, RunSpec};
use edgeml_host::experiments::{Experiment, RunContext};
use serde_json::Value;

/// A config that runs on the synthetic stand-ins (`--synthetic`).
fn synthetic_config() -> DataConfig {
    DataConfig {
        synthetic: true,
        ..DataConfig::default()
    }
}

fn losses(curve: &Value) -> Vec<f64> {
    curve["loss_per_epoch"]
        .as_array()
        .expect("loss_per_epoch")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn quick_run_trains_and_writes_every_key() {
    let out = tempfile::tempdir().unwrap();
    let ctx = RunContext {
        data: synthetic_config(),
        out_dir: out.path().to_path_buf(),
        quick: true,
        seed: 42,
    };
    let report = MlpExperiment::new(MlpArgs::default()).run(&ctx).unwrap();
    let f = &report.figures;
    assert_eq!(f["synthetic"], true);
    let main = &f["main"];
    let main_losses = losses(main);
    assert_eq!(main_losses.len(), 2);
    assert!(main_losses[1] < main_losses[0], "{main_losses:?}");
    for key in [
        "test_accuracy_per_epoch",
        "seconds_per_epoch",
        "median_seconds_per_epoch",
        "final_test_accuracy",
        "test_accuracy_at_epoch",
        "epochs_loss_not_falling",
        "trend",
    ] {
        assert!(!main[key].is_null(), "main.{key}");
    }
    assert!(main["trend"]["log_slope"].as_f64().unwrap() < 0.0);
    let floor = f["softmax_before_ce"]["floor"].as_f64().unwrap();
    assert!((floor - (1.0 + 9.0 / std::f64::consts::E).ln()).abs() < 1e-12);
    for loss in losses(&f["softmax_before_ce"]["seed_variant"]) {
        assert!(loss >= floor, "{loss} below the floor {floor}");
    }
    for path in [
        "/hidden_layer/without",
        "/hidden_layer/with",
        "/batch_size/16",
        "/batch_size/64",
        "/batch_size/256",
        "/batch_size/1024",
        "/precision/f32",
        "/precision/mixed-f16",
        "/precision/mixed-bf16",
        "/early_stopping",
        "/adam",
    ] {
        let curve = f.pointer(path).unwrap_or_else(|| panic!("{path} missing"));
        assert!(!losses(curve).is_empty(), "{path}");
        assert!(curve["final_test_accuracy"].as_f64().is_some(), "{path}");
    }
    for loss in losses(&f["softmax_before_ce"]["seed_variant_he_init"]) {
        assert!(loss >= floor, "{loss} below the floor {floor}");
    }
    assert_eq!(f["softmax_before_ce"]["seed_variant_init"], "torch-default");
    assert!(!losses(&f["softmax_before_ce"]["logits_torch_init"]).is_empty());
    let adam = &f["adam"];
    assert!(!losses(&adam["constant_lr"]).is_empty());
    let per_seed: Vec<f64> = adam["final_test_accuracy_per_seed"]
        .as_array()
        .expect("per seed")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(per_seed.len(), 3);
    assert_eq!(adam["seeds"], serde_json::json!([42, 43, 44]));
    let mean = per_seed.iter().sum::<f64>() / 3.0;
    let var = per_seed.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 2.0;
    assert!((adam["final_test_accuracy_mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    assert!((adam["final_test_accuracy_std"].as_f64().unwrap() - var.sqrt()).abs() < 1e-12);
    assert_eq!(adam["final_test_accuracy"].as_f64(), Some(per_seed[0]));
    assert!(f["timing"]["cpu_seconds_per_epoch"].as_f64().unwrap() > 0.0);
    assert!(f["early_stopping"]["best_epoch"].as_u64().unwrap() >= 1);
    for plot in &report.plots {
        assert!(out.path().join(plot).is_file(), "{}", plot.display());
    }
}

fn synthetic_examples() -> (Examples, Examples) {
    let split =
        datasets::load_fashion_mnist_or_synthetic(&synthetic_config(), 1000, 400, 3).unwrap();
    (
        Examples::from_dataset(&split.train, usize::MAX).unwrap(),
        Examples::from_dataset(&split.test, usize::MAX).unwrap(),
    )
}

fn spec(precision: Precision, epochs: usize, patience: Option<usize>, lr: f32) -> RunSpec {
    let config = TrainConfig::new(32, Loss::SoftmaxCrossEntropy, Optimizer::sgd(lr));
    RunSpec {
        hidden: Some(32),
        config,
        epochs,
        precision,
        patience,
        schedule: Schedule::Constant,
        init: None,
        seed: 9,
    }
}

#[test]
fn mixed_precision_trains_like_f32() {
    let (train, test) = synthetic_examples();
    let f32_run = mlp::train(
        &spec(Precision::F32, 4, None, 0.01),
        &train,
        &test,
        None,
        |_| {},
    )
    .unwrap();
    for precision in [Precision::MixedF16, Precision::MixedBf16] {
        let run = mlp::train(&spec(precision, 4, None, 0.01), &train, &test, None, |_| {}).unwrap();
        let l = run.losses();
        assert!(l.windows(2).all(|w| w[1] < w[0]), "{precision:?}: {l:?}");
        assert!(
            (run.final_accuracy - f32_run.final_accuracy).abs() <= 0.02,
            "{precision:?}: {} vs f32 {}",
            run.final_accuracy,
            f32_run.final_accuracy
        );
        assert!(run.operand_bytes * 2 == f32_run.operand_bytes);
    }
}

#[test]
fn early_stopping_keeps_the_best_epochs_weights() {
    let (train, test) = synthetic_examples();
    let (validation, fit) = (
        train.select(&(0..200).collect::<Vec<_>>()),
        train.select(&(200..1000).collect::<Vec<_>>()),
    );
    // A large learning rate makes the validation loss wander, so patience 1 stops early.
    let run = mlp::train(
        &spec(Precision::F32, 12, Some(1), 0.5),
        &fit,
        &test,
        Some(&validation),
        |_| {},
    )
    .unwrap();
    let best = run.best_epoch.expect("early stopping applied");
    let v: Vec<f64> = run
        .epochs
        .iter()
        .map(|e| e.validation_loss.unwrap())
        .collect();
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(v[best - 1], min, "{v:?}");
    if run.epochs.len() < 12 {
        assert_eq!(
            run.epochs.len(),
            best + 1,
            "stops one epoch after the best with patience 1"
        );
    }
    assert_eq!(run.final_accuracy, run.epochs[best - 1].test_accuracy);
}

/// The schedule reaches the trainer each epoch: cosine annealing over one epoch sets the rate
/// to 0 from the second epoch on, so the weights, hence the test accuracy, stop changing.
#[test]
fn schedule_sets_each_epochs_learning_rate() {
    let (train, test) = synthetic_examples();
    let annealed = RunSpec {
        schedule: Schedule::Cosine {
            total: 1,
            min_lr: 0.0,
        },
        init: Some(edgeml_core::nn::Init::TorchDefault),
        ..spec(Precision::F32, 3, None, 0.1)
    };
    let run = mlp::train(&annealed, &train, &test, None, |_| {}).unwrap();
    let accuracy: Vec<f64> = run.epochs.iter().map(|e| e.test_accuracy).collect();
    assert_eq!(accuracy[1], accuracy[2], "{accuracy:?}");
    let constant = mlp::train(
        &RunSpec {
            schedule: Schedule::Constant,
            ..annealed
        },
        &train,
        &test,
        None,
        |_| {},
    )
    .unwrap();
    assert_eq!(constant.epochs[0].test_accuracy, accuracy[0]);
    assert!(
        constant.losses()[2] < run.losses()[2],
        "{:?} vs {:?}",
        constant.losses(),
        run.losses()
    );
}
