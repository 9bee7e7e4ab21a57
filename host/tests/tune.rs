//! The tuner library: TOML spaces, grid, random and TPE sampling rules, TPE against random
//! search, Hyperband's epoch accounting, the resumable store, and ensemble weights.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;
use edgeml_core::rng::Rng;
use edgeml_host::tune::ensemble::{blend, equal_weights, optimize_weights, Metric};
use edgeml_host::tune::file::parse_space;
use edgeml_host::tune::grid::grid;
use edgeml_host::tune::hyperband::schedule;
use edgeml_host::tune::sample::random_config;
use edgeml_host::tune::{
    Config, Direction, Domain, EarlyStopping, Measurement, Objective, Sampling, Search, Space,
    Strategy, Tpe, Value,
};

const SEED_SPACE: &str = r#"
[units]
type = "int"
min = 16
max = 64
step = 16
sampling = "linear"

[optimizer]
type = "choice"
values = ["adam", "rmsprop"]

[lr]
type = "float"
min = 1e-4
max = 1e-1
sampling = "log"

[depth]
type = "int"
min = 1
max = 3

[dropout]
type = "bool"

[rate]
type = "float"
min = 0.1
max = 0.5
when = { dropout = [true] }

[width]
type = "int"
min = 2
max = 64
step = 2
sampling = "log"
"#;

fn seed_space() -> Space {
    parse_space(SEED_SPACE).expect("the test space parses")
}

#[test]
fn toml_space_parses_every_kind_in_file_order() {
    let space = seed_space();
    let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "units",
            "optimizer",
            "lr",
            "depth",
            "dropout",
            "rate",
            "width"
        ]
    );
    let p = &space.params()[0];
    assert_eq!(
        p.domain,
        Domain::Int {
            min: 16,
            max: 64,
            step: 16,
            sampling: Sampling::Linear
        }
    );
    assert_eq!(
        space.params()[1].domain,
        Domain::Choice(vec!["adam".into(), "rmsprop".into()])
    );
    let rate = &space.params()[5];
    let cond = rate.condition.as_ref().expect("rate is conditional");
    assert_eq!(cond.parent, "dropout");
    assert_eq!(cond.values, vec![Value::Bool(true)]);
    let summary = space.summary();
    assert!(summary.contains("Default search space size: 7"));
    assert!(summary.contains("units (Int)"));
    assert!(summary.contains("'min_value': 16, 'max_value': 64, 'step': 16, 'sampling': 'linear'"));
    assert!(summary.contains("optimizer (Choice)"));
}

#[test]
fn the_shipped_toml_space_equals_the_space_in_code() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/experiments/tune/extended_space.toml"
    );
    let from_file = edgeml_host::tune::file::load_space(std::path::Path::new(path)).unwrap();
    assert_eq!(
        from_file,
        edgeml_host::experiments::tune::extended_space().unwrap()
    );
}

#[test]
fn malformed_toml_errors_name_the_key() {
    let cases = [
        (
            "[units]\ntype = \"int\"\nmin = \"sixteen\"\nmax = 64\n",
            "units.min",
        ),
        ("[units]\ntype = \"int\"\nmin = 16\n", "units.max"),
        ("[units]\nmin = 16\nmax = 64\n", "units.type"),
        (
            "[units]\ntype = \"int\"\nmin = 16\nmax = 64\nstpe = 4\n",
            "units.stpe",
        ),
        (
            "[lr]\ntype = \"float\"\nmin = 0.0\nmax = 1.0\nsampling = \"log\"\n",
            "lr",
        ),
        ("[opt]\ntype = \"choice\"\nvalues = [1, 2]\n", "opt.values"),
        (
            "[rate]\ntype = \"float\"\nmin = 0.1\nmax = 0.5\nwhen = { dropout = [true] }\n",
            "dropout",
        ),
        ("[units]\ntype = \"int\"\nmin = 16\nmax = = 64\n", "max"),
    ];
    for (text, key) in cases {
        let err = parse_space(text).expect_err(text);
        let message = format!("{err:#}");
        assert!(message.contains(key), "{message:?} should name {key}");
    }
}

#[test]
fn grid_enumerates_exactly_the_product() {
    let mut space = Space::new();
    space.int("units", 16, 64, 16).unwrap();
    space.choice("optimizer", &["adam", "rmsprop"]).unwrap();
    space.boolean("bn").unwrap();
    space.float("lr", 1e-4, 1e-2, Sampling::Log).unwrap();
    let configs = grid(&space, 3, 10_000).unwrap();
    assert_eq!(configs.len(), 4 * 2 * 2 * 3);
    let mut keys: Vec<String> = configs
        .iter()
        .map(|c| serde_json::to_string(c).unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), configs.len(), "grid points are distinct");
    for c in &configs {
        space.check(c).unwrap();
    }
    let mut search = synthetic_search(Strategy::Grid { float_points: 3 }, 0, 1000);
    search.space = space.clone();
    let evaluator = |_: &Config, _: usize, _: u64| -> Result<Measurement> {
        Ok(Measurement {
            value: 0.0,
            epochs: 1,
            best_epoch: None,
        })
    };
    let searched: Vec<Config> = search
        .run(&evaluator)
        .unwrap()
        .trials
        .into_iter()
        .map(|t| t.config)
        .collect();
    assert_eq!(
        searched, configs,
        "the grid tuner runs every grid point once"
    );
    let lrs: Vec<f64> = configs.iter().map(|c| c["lr"].as_f64().unwrap()).collect();
    for expected in [1e-4, 1e-3, 1e-2] {
        assert!(lrs
            .iter()
            .any(|&x| ((x - expected) / expected).abs() < 1e-12));
    }
}

#[test]
fn conditional_grid_counts_children_only_under_their_parent() {
    let mut space = Space::new();
    space
        .choice("optimizer", &["sgd", "adam", "rmsprop"])
        .unwrap();
    space.int("momentum_steps", 0, 2, 1).unwrap();
    space
        .when("optimizer", &[Value::Str("sgd".into())])
        .unwrap();
    space.boolean("bn").unwrap();
    let configs = grid(&space, 1, 1000).unwrap();
    // sgd: 3 momentum values × 2; adam, rmsprop: 2 each.
    assert_eq!(configs.len(), 3 * 2 + 2 + 2);
    for c in &configs {
        space.check(c).unwrap();
        assert_eq!(
            c.contains_key("momentum_steps"),
            c["optimizer"] == Value::Str("sgd".into())
        );
    }
}

fn check_sample_rules(space: &Space, config: &Config) {
    space.check(config).unwrap();
    let units = config["units"].as_i64().unwrap();
    assert!((16..=64).contains(&units) && (units - 16) % 16 == 0);
    let width = config["width"].as_i64().unwrap();
    assert!(
        [2, 4, 8, 16, 32, 64].contains(&width),
        "log int grid: {width}"
    );
    let lr = config["lr"].as_f64().unwrap();
    assert!((1e-4..=1e-1).contains(&lr));
    let dropout = config["dropout"].as_bool().unwrap();
    assert_eq!(config.contains_key("rate"), dropout);
    if let Some(rate) = config.get("rate") {
        assert!((0.1..=0.5).contains(&rate.as_f64().unwrap()));
    }
}

#[test]
fn random_samples_respect_bounds_steps_log_and_conditions() {
    let space = seed_space();
    let mut rng = Rng::new(7);
    let n = 4000;
    let mut below_geometric_mean = 0usize;
    for _ in 0..n {
        let c = random_config(&space, &mut rng);
        check_sample_rules(&space, &c);
        below_geometric_mean += usize::from(c["lr"].as_f64().unwrap() < (1e-4f64 * 1e-1).sqrt());
    }
    // Log-uniform: P(lr < √(min·max)) = 1/2. Five binomial standard deviations of the
    // fraction, √(0.25/n), bound a false failure by ~6e-7.
    let fraction = below_geometric_mean as f64 / n as f64;
    assert!(
        (fraction - 0.5).abs() < 5.0 * (0.25 / n as f64).sqrt(),
        "{fraction}"
    );
}

#[test]
fn tpe_samples_respect_bounds_steps_log_and_conditions() {
    let space = seed_space();
    let objective =
        |c: &Config| c["lr"].as_f64().unwrap().ln().abs() + c["units"].as_f64().unwrap();
    for seed in 0..5 {
        let mut rng = Rng::new(seed);
        let mut history: Vec<(Config, f64)> = Vec::new();
        let tpe = Tpe::default();
        for _ in 0..60 {
            let c = tpe.suggest(&space, &history, &mut rng);
            check_sample_rules(&space, &c);
            let loss = objective(&c);
            history.push((c, loss));
        }
    }
}

/// A synthetic objective with a known optimum (loss 0 at lr = 1e-2.5, units = 48, adam,
/// depth 2) and a log-scaled continuous direction that random search explores poorly.
fn synthetic_loss(c: &Config) -> f64 {
    let lr = c["lr"].as_f64().unwrap().log10();
    let units = c["units"].as_f64().unwrap();
    let opt = if c["optimizer"].as_str() == Some("adam") {
        0.0
    } else {
        0.5
    };
    let depth = c["depth"].as_f64().unwrap();
    (lr + 2.5).powi(2) + ((units - 48.0) / 16.0).powi(2) + opt + (depth - 2.0).powi(2)
}

fn synthetic_search(strategy: Strategy, seed: u64, trials: usize) -> Search {
    let mut space = Space::new();
    space.int("units", 16, 64, 16).unwrap();
    space.choice("optimizer", &["adam", "rmsprop"]).unwrap();
    space.float("lr", 1e-5, 1.0, Sampling::Log).unwrap();
    space.int("depth", 1, 3, 1).unwrap();
    Search {
        space,
        objective: Objective::new("loss", Direction::Min),
        strategy,
        max_trials: trials,
        max_epochs: 1,
        executions_per_trial: 1,
        batch: 1,
        seed,
        store: None,
        label: "test".into(),
    }
}

#[test]
fn tpe_beats_random_on_average_on_a_known_optimum() {
    let evaluator = |c: &Config, _: usize, _: u64| -> Result<Measurement> {
        Ok(Measurement {
            value: synthetic_loss(c),
            epochs: 1,
            best_epoch: None,
        })
    };
    let seeds = 20;
    let trials = 40;
    let (mut tpe_total, mut random_total) = (0.0, 0.0);
    for seed in 0..seeds {
        let tpe = synthetic_search(Strategy::Tpe(Tpe::default()), seed, trials).run(&evaluator);
        let random = synthetic_search(Strategy::Random, seed, trials).run(&evaluator);
        tpe_total += tpe.unwrap().best().unwrap().value;
        random_total += random.unwrap().best().unwrap().value;
    }
    // The property: after the same number of trials, the model-based search ends closer to
    // the optimum than independent draws, on average over seeds.
    assert!(
        tpe_total < random_total,
        "mean best loss: tpe {} vs random {}",
        tpe_total / seeds as f64,
        random_total / seeds as f64
    );
}

#[test]
fn hyperband_trains_exactly_its_schedule() {
    for (max_epochs, eta) in [(9usize, 3usize), (27, 3), (16, 2), (1, 3), (10, 4)] {
        let calls = AtomicUsize::new(0);
        let evaluator = |c: &Config, epochs: usize, _: u64| -> Result<Measurement> {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(Measurement {
                value: synthetic_loss(c) / epochs as f64,
                epochs,
                best_epoch: None,
            })
        };
        let mut search = synthetic_search(Strategy::Hyperband { eta }, 3, 0);
        search.max_epochs = max_epochs;
        let results = search.run(&evaluator).unwrap();
        // Independent reference: the formula of Li et al. in floating point.
        let s_max = ((max_epochs as f64).ln() / (eta as f64).ln() + 1e-9).floor() as i32;
        let (mut epochs, mut trials) = (0usize, 0usize);
        for s in (0..=s_max).rev() {
            let n = ((s_max + 1) as f64 / (s + 1) as f64 * (eta as f64).powi(s)).ceil();
            let r = max_epochs as f64 / (eta as f64).powi(s);
            for i in 0..=s {
                let n_i = (n / (eta as f64).powi(i)).floor().max(1.0) as usize;
                let r_i = (r * (eta as f64).powi(i)).round() as usize;
                epochs += n_i * r_i;
                trials += n_i;
            }
        }
        assert_eq!(results.total_epochs(), epochs, "R={max_epochs}, eta={eta}");
        assert_eq!(results.trials.len(), trials);
        assert_eq!(calls.load(Ordering::Relaxed), trials);
        let brackets = schedule(max_epochs, eta).unwrap();
        assert_eq!(brackets.len(), s_max as usize + 1);
        for t in &results.trials {
            assert!(t.budget_epochs <= max_epochs);
        }
    }
}

#[test]
fn store_resumes_an_interrupted_search_without_rerunning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trials.jsonl");
    let calls = AtomicUsize::new(0);
    let evaluator = |c: &Config, _: usize, _: u64| -> Result<Measurement> {
        calls.fetch_add(1, Ordering::Relaxed);
        Ok(Measurement {
            value: synthetic_loss(c),
            epochs: 1,
            best_epoch: None,
        })
    };
    for strategy in [Strategy::Random, Strategy::Tpe(Tpe::default())] {
        let _ = std::fs::remove_file(&path);
        let uninterrupted = synthetic_search(strategy, 11, 20).run(&evaluator).unwrap();
        calls.store(0, Ordering::Relaxed);
        let mut half = synthetic_search(strategy, 11, 10);
        half.store = Some(path.clone());
        half.batch = 3;
        let mut full = synthetic_search(strategy, 11, 20);
        full.store = Some(path.clone());
        full.batch = 3;
        // Same batch in both halves so proposals line up; compare with a batch-3 reference.
        let mut reference = synthetic_search(strategy, 11, 20);
        reference.batch = 3;
        let reference = reference.run(&evaluator).unwrap();
        calls.store(0, Ordering::Relaxed);
        let first = half.run(&evaluator).unwrap();
        assert_eq!(first.evaluated, 10);
        // A line cut short by the interruption is ignored on reload.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"index\": 10, \"tag\"");
        std::fs::write(&path, text).unwrap();
        let second = full.run(&evaluator).unwrap();
        assert_eq!(second.evaluated, 10, "only the missing half is trained");
        assert_eq!(calls.load(Ordering::Relaxed), 20);
        let configs = |r: &edgeml_host::tune::Results| -> Vec<Config> {
            r.trials.iter().map(|t| t.config.clone()).collect()
        };
        assert_eq!(configs(&second), configs(&reference));
        assert_eq!(second.trials.len(), uninterrupted.trials.len());
        let third = full.run(&evaluator).unwrap();
        assert_eq!(third.evaluated, 0, "a finished search trains nothing");
    }
}

#[test]
fn objective_direction_is_inferred_for_known_metrics() {
    for name in ["accuracy", "val_accuracy", "auc", "r2"] {
        assert_eq!(Objective::infer(name).unwrap().direction, Direction::Max);
    }
    for name in ["loss", "val_loss", "rmse", "mae"] {
        assert_eq!(Objective::infer(name).unwrap().direction, Direction::Min);
    }
    let err = Objective::infer("my_metric").unwrap_err().to_string();
    assert!(err.contains("my_metric"));
}

#[test]
fn early_stopping_matches_a_brute_force_reference() {
    let mut rng = Rng::new(5);
    for _ in 0..200 {
        let patience = 1 + rng.below_usize(4);
        let values: Vec<f64> = (0..30).map(|_| rng.uniform_f64()).collect();
        let mut stopper = EarlyStopping::new(Direction::Min, patience);
        let stopped_at = values
            .iter()
            .position(|&v| stopper.update(v))
            .map(|i| i + 1);
        // Reference: the first epoch e with min(values[..e-patience]) ≤ min(values[e-patience..e]).
        let expected = (patience + 1..=values.len()).find(|&e| {
            let before = values[..e - patience]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            let after = values[e - patience..e]
                .iter()
                .copied()
                .fold(f64::INFINITY, f64::min);
            before <= after
        });
        assert_eq!(stopped_at, expected);
    }
}

#[test]
fn optimized_ensemble_weights_are_at_least_as_good_as_equal_weights_on_validation() {
    let mut rng = Rng::new(21);
    for case in 0..30 {
        let rows = 50 + rng.below_usize(100);
        let members = 2 + rng.below_usize(3);
        let classification = case % 2 == 0;
        let (metric, targets): (Metric, Vec<f64>) = if classification {
            let classes = 3;
            let t = (0..rows).map(|_| rng.below_usize(classes) as f64).collect();
            (Metric::Accuracy { classes }, t)
        } else {
            (Metric::Rmse, (0..rows).map(|_| rng.uniform_f64()).collect())
        };
        let preds: Vec<Vec<f64>> = (0..members)
            .map(|m| {
                let noise = 0.2 + m as f64 * 0.3;
                match metric {
                    Metric::Accuracy { classes } => targets
                        .iter()
                        .flat_map(|&t| {
                            let raw: Vec<f64> = (0..classes)
                                .map(|c| {
                                    f64::from(u8::from(c as f64 == t)) + noise * rng.uniform_f64()
                                })
                                .collect();
                            let s: f64 = raw.iter().sum();
                            raw.into_iter().map(move |v| v / s)
                        })
                        .collect(),
                    Metric::Rmse => targets
                        .iter()
                        .map(|&t| t + noise * (rng.uniform_f64() - 0.5))
                        .collect(),
                }
            })
            .collect();
        let equal = metric
            .score(&blend(&preds, &equal_weights(members)).unwrap(), &targets)
            .unwrap();
        let (weights, best) = optimize_weights(metric, &preds, &targets, 50, &mut rng).unwrap();
        let recomputed = metric
            .score(&blend(&preds, &weights).unwrap(), &targets)
            .unwrap();
        assert_eq!(best, recomputed);
        assert!(!metric.objective().better(equal, best), "{equal} vs {best}");
        let sum: f64 = weights.iter().sum();
        assert!((sum - 1.0).abs() < 1e-9 && weights.iter().all(|&w| w >= -1e-12));
    }
}

#[test]
fn quick_experiments_write_their_figures_and_plots() {
    use edgeml_host::datasets::DataConfig;
    use edgeml_host::experiments::tune::{
        EnsembleArgs, EnsembleExperiment, TuneArgs, TuneExperiment,
    };
    use edgeml_host::experiments::{Experiment, RunContext};
    let out = tempfile::tempdir().unwrap();
    let ctx = RunContext {
        data: DataConfig {
            synthetic: true,
            ..DataConfig::default()
        },
        out_dir: out.path().to_path_buf(),
        quick: true,
        seed: 3,
    };
    let tune = TuneExperiment::new(TuneArgs::default()).run(&ctx).unwrap();
    for key in [
        "tpe_mean_trials_to_reach",
        "best_so_far_random_mean",
        "best_so_far_tpe_mean",
        "hyperband_gap_points",
        "hyperband_epoch_fraction",
        "workflow",
        "seed_repeats",
    ] {
        assert!(tune.figures.get(key).is_some(), "tune.json lacks {key}");
    }
    let curve = tune.figures["best_so_far_tpe_mean"].as_array().unwrap();
    let values: Vec<f64> = curve.iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(
        values.windows(2).all(|w| w[0] <= w[1]),
        "best so far never falls"
    );
    let ensemble = EnsembleExperiment::new(EnsembleArgs::default())
        .run(&ctx)
        .unwrap();
    for (data, expected) in [
        (
            "fashion_mnist",
            ["MLP", "boosted trees", "k-NN", "ViT"].as_slice(),
        ),
        ("california", ["MLP", "boosted trees", "k-NN"].as_slice()),
    ] {
        let members = ensemble.figures[data]["members"].as_array().unwrap();
        let names: Vec<&str> = members
            .iter()
            .map(|m| m["model"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{data} members");
        let weights = ensemble.figures[data]["weighted"]["weights"]
            .as_array()
            .unwrap();
        assert_eq!(
            weights.len(),
            expected.len(),
            "{data}: one weight per member"
        );
        if data == "fashion_mnist" {
            for m in members {
                let accuracy = m["test"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&accuracy), "{m}");
            }
        }
        let weighted = &ensemble.figures[data]["weighted"];
        let equal = &ensemble.figures[data]["equal_weight"];
        let (w, e) = (
            weighted["validation"].as_f64().unwrap(),
            equal["validation"].as_f64().unwrap(),
        );
        if data == "california" {
            assert!(w <= e, "weighted RMSE {w} above equal {e} on validation");
        } else {
            assert!(
                w >= e,
                "weighted accuracy {w} below equal {e} on validation"
            );
        }
    }
    for plot in tune.plots.iter().chain(&ensemble.plots) {
        assert!(
            out.path().join(plot).is_file(),
            "{} missing",
            plot.display()
        );
    }
}

#[test]
fn executions_per_trial_are_averaged_with_distinct_seeds() {
    let evaluator = |c: &Config, epochs: usize, seed: u64| -> Result<Measurement> {
        Ok(Measurement {
            value: synthetic_loss(c) + (seed % 1000) as f64,
            epochs,
            best_epoch: Some(1),
        })
    };
    let mut search = synthetic_search(Strategy::Random, 5, 6);
    search.executions_per_trial = 3;
    search.max_epochs = 4;
    let results = search.run(&evaluator).unwrap();
    for t in &results.trials {
        assert_eq!(t.values.len(), 3);
        let mean = t.values.iter().sum::<f64>() / 3.0;
        assert!((t.value - mean).abs() <= 1e-12 * mean.abs().max(1.0));
        let mut seeds: Vec<f64> = t
            .values
            .iter()
            .map(|v| v - synthetic_loss(&t.config))
            .collect();
        seeds.dedup();
        assert_eq!(seeds.len(), 3, "each execution gets its own seed");
        assert_eq!(t.epochs_run, 3 * 4);
    }
    assert_eq!(results.total_epochs(), 6 * 3 * 4);
}
