//! `edgeml trees`: the Gini walk-through matches the seed's arithmetic (worked here by hand in
//! exact fractions), and the quick run of the whole experiment produces consistent figures
//! that beat trivial baselines computed here from the data.

use edgeml_host::datasets::california::class_of;
use edgeml_host::datasets::{self, DataConfig, Targets};
use edgeml_host::experiments::trees::{candidates, chosen, core_root, Trees, TreesArgs, EVENTS};
use edgeml_host::experiments::{Experiment, RunContext};

#[test]
fn gini_walk_through_matches_the_seed() {
    let all = candidates(&EVENTS);
    // Hand-worked: photon pT {20 sig | 30, 50 bkg} at 25 → 0; {20 sig, 30 bkg | 50 bkg} at 40
    // → 2/3 · (1 − ¼ − ¼) = 1/3; lepton pT {14 | 16, 20} at 15 → 2/3 · ½ = 1/3; {14, 16 | 20}
    // at 18 → 0.
    let expected = [
        (0, 25.0, 0.0),
        (0, 40.0, 1.0 / 3.0),
        (1, 15.0, 1.0 / 3.0),
        (1, 18.0, 0.0),
    ];
    assert_eq!(all.len(), expected.len());
    for (c, (feature, threshold, gini)) in all.iter().zip(expected) {
        assert_eq!((c.feature, c.threshold), (feature, threshold));
        assert!((c.weighted_gini - gini).abs() < 1e-15, "{c:?}");
    }
    let best = chosen(&all).expect("a split is chosen");
    assert_eq!(
        (best.feature, best.threshold, best.weighted_gini),
        (0, 25.0, 0.0)
    );
    let (feature, threshold, gini) = core_root(&EVENTS).expect("the core's CART trains");
    assert_eq!(gini, 0.0, "the core's root split is not pure");
    let sides: Vec<bool> = EVENTS
        .iter()
        .map(|e| (if feature == 0 { e.0 } else { e.1 }) <= threshold)
        .collect();
    assert!(sides[1] == sides[2] && sides[0] != sides[1], "{sides:?}");
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("missing {key} in {v}"))
}

/// Baselines on the same split (numpy's `default_rng(42).random(n) < 0.2` is the test set),
/// in f64: test RMSE of predicting the training mean, and test accuracy of predicting the
/// training set's most frequent class (target truncated to $100k).
fn baselines(config: &DataConfig) -> (f64, f64) {
    let data = datasets::load_california_or_synthetic(config, 42).expect("California loads");
    let Targets::Regression(y) = data.targets else {
        panic!("regression targets expected");
    };
    let mut rng = edgeml_core::rng::Pcg64Numpy::new(42);
    let test: Vec<bool> = y.iter().map(|_| rng.random() < 0.2).collect();
    let (mut sum, mut n, mut counts) = (0.0f64, 0usize, [0usize; 8]);
    for (&t, _) in y.iter().zip(&test).filter(|p| !*p.1) {
        sum += f64::from(t);
        n += 1;
        counts[class_of(t) as usize] += 1;
    }
    let mean = sum / n as f64;
    let majority = (0..8).max_by_key(|&c| counts[c]).unwrap();
    let (mut sq, mut hits, mut m) = (0.0f64, 0usize, 0usize);
    for (&t, _) in y.iter().zip(&test).filter(|p| *p.1) {
        sq += (f64::from(t) - mean).powi(2);
        hits += usize::from(class_of(t) as usize == majority);
        m += 1;
    }
    ((sq / m as f64).sqrt(), hits as f64 / m as f64)
}

#[test]
fn quick_run_on_real_data_is_consistent_and_beats_baselines() {
    quick_run_is_consistent_and_beats_baselines(DataConfig::default());
}

#[test]
fn quick_run_on_stand_ins_is_consistent_and_beats_baselines() {
    quick_run_is_consistent_and_beats_baselines(DataConfig {
        synthetic: true,
        ..DataConfig::default()
    });
}

fn quick_run_is_consistent_and_beats_baselines(data: DataConfig) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_path_buf();
    let ctx = RunContext {
        data,
        out_dir: out.clone(),
        quick: true,
        seed: 42,
    };
    let report = Trees::new(TreesArgs::default())
        .run(&ctx)
        .expect("quick run");
    for plot in &report.plots {
        let bytes = std::fs::metadata(out.join(plot))
            .expect("plot written")
            .len();
        assert!(bytes > 1000, "{} is {bytes} bytes", plot.display());
    }
    let f = &report.figures;
    let reg = &f["california_regression"];
    assert_eq!(reg["round_trip_identical"], true);
    let models = &reg["models"];
    let test_rows = num(reg, "test_rows");
    for key in ["single_tree", "random_forest", "boosting"] {
        let m = &models[key];
        assert!(num(m, "test_r2") > 0.5, "{key}: {m}");
        let per_row = num(m, "predict_s") / test_rows * 1e9;
        assert!((per_row - num(m, "predict_ns_per_row")).abs() <= 1e-9 * per_row);
        // 12-byte nodes, a 4-byte root per tree and a header: the size is at least the nodes.
        assert!(num(m, "bytes") >= 12.0 * num(m, "nodes") + 4.0 * num(m, "trees"));
    }
    // The per-round curve (f64 sums over the trees, walked here tree by tree) ends at the
    // model's own batch prediction.
    let curve = reg["test_rmse_per_round"].as_array().unwrap();
    assert_eq!(curve.len() as f64, num(reg, "rounds"));
    let last = curve.last().unwrap().as_f64().unwrap();
    let boosted = num(&models["boosting"], "test_rmse");
    assert!(
        (last - boosted).abs() < 1e-4 * boosted,
        "{last} vs {boosted}"
    );
    let (rmse, majority) = baselines(&ctx.data);
    assert!(boosted < 0.8 * rmse, "{boosted} vs mean baseline {rmse}");
    let shares: f64 = reg["importance"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| num(v, "gain_share"))
        .sum();
    assert!((shares - 1.0).abs() < 1e-9);
    for m in f["california_classes"]["models"].as_array().unwrap() {
        assert!(
            num(m, "test_accuracy") > majority + 0.1,
            "{m} vs majority {majority}"
        );
    }
    let fashion = &f["fashion"];
    assert!(num(fashion, "test_accuracy") > 0.5, "{fashion}");

    // Growth orders on complete data learn no missing directions; with NaN in the features
    // the splits learn both directions, and every variant still beats the mean baseline.
    let growth = f["california_growth"].as_array().unwrap();
    let missing = f["california_missing"].as_array().unwrap();
    assert_eq!((growth.len(), missing.len()), (3, 2));
    assert_eq!(
        num(&growth[0], "test_rmse"),
        boosted,
        "leaf-wise is the regression's model"
    );
    for v in growth {
        assert_eq!(num(v, "default_left_share"), 0.0, "{v}");
    }
    for v in missing {
        let share = num(v, "default_left_share");
        assert!(share > 0.0 && share < 1.0, "{v}");
    }
    for v in growth.iter().chain(missing) {
        assert!(num(v, "test_rmse") < rmse, "{v} vs mean baseline {rmse}");
    }

    // The cascade: the stages' rejections and the passes partition the test events, and the
    // first stage's purified sample is purer than its background's share of the test set.
    let cascade = &f["cascade"];
    let stages = cascade["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 4);
    let efficiency = num(cascade, "signal_efficiency");
    assert!(efficiency > 0.0 && efficiency <= 1.0, "{cascade}");
    let rejected: f64 = stages.iter().map(|s| num(s, "rejected")).sum();
    assert!(rejected <= num(cascade, "test_rows"));
    let split = datasets::load_fashion_mnist_or_synthetic(&ctx.data, 1, 1000, 42).unwrap();
    if let (Targets::Classes(labels), false) = (&split.test.targets, split.test.synthetic) {
        // The quick run's test events are the first 1000 test images.
        let first = &labels[..labels.len().min(1000)];
        let group = [1u8, 3, 5, 7, 8, 9];
        let share = first.iter().filter(|l| group.contains(l)).count() as f64 / first.len() as f64;
        assert!(
            num(&stages[0], "purity") > share,
            "{} vs share {share}",
            stages[0]
        );
    }
}
