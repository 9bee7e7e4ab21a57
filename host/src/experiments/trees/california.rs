//! California Housing: the seeded 80/20 split (numpy `default_rng(seed).random(n) < 0.2` is the
//! test set, as in the issue and the k-NN lab), regression by a single CART tree, a random
//! forest and gradient boosting, and the lab's 6-class problem (target truncated to $100k).

use anyhow::{bail, Result};
use edgeml_core::eval::{accuracy, mae, r2, rmse, split_by_fraction};
use edgeml_core::rng::Pcg64Numpy;
use edgeml_core::tree::{
    BoostParams, ForestParams, ForestTask, Growth, Impurity, Loss, TreeParams,
};

use super::fit::{self, timed, Cuts, Matrix, Owned, Timing};
use crate::datasets::{self, DataConfig, Targets};

/// Test fraction of the split.
const TEST_FRACTION: f64 = 0.2;
/// Bins per feature (LightGBM's `max_bin` default).
pub const MAX_BINS: usize = 255;

/// The split table: features and real targets of the train and test rows.
pub struct Housing {
    /// Training features.
    pub train: Matrix,
    /// Training targets ($100k).
    pub y_train: Vec<f32>,
    /// Test features.
    pub test: Matrix,
    /// Test targets.
    pub y_test: Vec<f32>,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Where the rows came from.
    pub source: String,
    /// Whether it is the synthetic stand-in.
    pub synthetic: bool,
}

/// Loads California Housing (or its stand-in) and splits it with numpy's generator.
pub fn load(config: &DataConfig, seed: u64) -> Result<Housing> {
    let data = datasets::load_california_or_synthetic(config, seed)?;
    let Targets::Regression(y) = &data.targets else {
        bail!("California Housing should have regression targets");
    };
    let table = Matrix {
        x: data.features.iter().copied().collect(),
        cols: data.features.ncols(),
    };
    let mut order = vec![0u32; y.len()];
    let n_test = split_by_fraction(&mut Pcg64Numpy::new(seed), TEST_FRACTION, &mut order)?;
    let (test_rows, train_rows) = order.split_at(n_test);
    let pick = |rows: &[u32]| -> (Matrix, Vec<f32>) {
        let rows: Vec<usize> = rows.iter().map(|&r| r as usize).collect();
        let ys = rows.iter().map(|&r| y[r]).collect();
        (table.gather(&rows), ys)
    };
    let (train, y_train) = pick(train_rows);
    let (test, y_test) = pick(test_rows);
    Ok(Housing {
        train,
        y_train,
        test,
        y_test,
        feature_names: data.feature_names.clone(),
        source: data.source.clone(),
        synthetic: data.synthetic,
    })
}

pub use crate::datasets::california::class_of;

/// Sizes of the California runs.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Boosting rounds (regression).
    pub rounds: usize,
    /// Learning rate.
    pub learning_rate: f32,
    /// Leaves per boosted tree.
    pub leaves: usize,
    /// Trees in the random forests.
    pub forest_trees: usize,
    /// Boosting rounds of the 6-class softmax model.
    pub class_rounds: usize,
    /// Timed repetitions of the boosted fit and of prediction.
    pub timing_runs: usize,
}

/// One regression model's scores on the test set.
pub struct RegressionScore {
    /// Model name.
    pub name: &'static str,
    /// Test root mean squared error.
    pub rmse: f64,
    /// Test mean absolute error.
    pub mae: f64,
    /// Test coefficient of determination.
    pub r2: f64,
    /// Median fit time.
    pub fit: Timing,
    /// Median time to predict the whole test set.
    pub predict: Timing,
    /// Number of trees.
    pub trees: usize,
    /// Total nodes.
    pub nodes: usize,
    /// Serialized size in bytes.
    pub bytes: usize,
}

/// Everything the regression part measures.
pub struct Regression {
    /// Single tree, forest and boosting.
    pub scores: Vec<RegressionScore>,
    /// Test RMSE after each boosting round.
    pub test_curve: Vec<(f64, f64)>,
    /// Training RMSE after each round.
    pub train_curve: Vec<(f64, f64)>,
    /// Boosted model's gain importance, normalized to sum 1.
    pub gain_share: Vec<f64>,
    /// Boosted model's split counts.
    pub split_counts: Vec<u32>,
    /// Early stopping on a validation fifth of the training rows: best round and test RMSE.
    pub early_stop: Option<(usize, usize, f64)>,
    /// Whether the serialized boosted model loaded back predicts the same values bit for bit.
    pub round_trip_identical: bool,
}

/// The boosting settings of the comparison (LightGBM-like: leaf-wise, ≥ 20 rows per leaf).
pub fn boost_params(loss: Loss, rounds: usize, learning_rate: f32, leaves: usize) -> BoostParams {
    BoostParams {
        loss,
        n_rounds: rounds,
        learning_rate,
        lambda: 0.0,
        tree: TreeParams {
            max_depth: leaves,
            max_leaves: leaves,
            min_samples_leaf: 20,
            min_hessian_leaf: 1e-3,
            min_gain: 0.0,
            max_features: 0,
            growth: Growth::LeafWise,
        },
        row_subsample: 1.0,
        start_from_prior: true,
    }
}

fn cart(leaves: usize, min_leaf: usize) -> TreeParams {
    TreeParams {
        max_depth: 32,
        max_leaves: leaves,
        min_samples_leaf: min_leaf,
        min_hessian_leaf: 0.0,
        min_gain: 0.0,
        max_features: 0,
        growth: Growth::LeafWise,
    }
}

fn score(
    name: &'static str,
    model: &Owned,
    fit: Timing,
    h: &Housing,
    runs: usize,
) -> Result<RegressionScore> {
    let (predict, predicted) = timed(runs, || model.predict(&h.test))?;
    Ok(RegressionScore {
        name,
        rmse: rmse(&h.y_test, &predicted)?,
        mae: mae(&h.y_test, &predicted)?,
        r2: r2(&h.y_test, &predicted)?,
        fit,
        predict,
        trees: model.n_trees(),
        nodes: model.n_nodes(),
        bytes: model.to_bytes()?.len(),
    })
}

fn rmse_f64(truth: &[f32], scores: &[f64]) -> f64 {
    let total: f64 = truth
        .iter()
        .zip(scores)
        .map(|(&t, &s)| (s - f64::from(t)).powi(2))
        .sum();
    (total / truth.len().max(1) as f64).sqrt()
}

/// Regression: single tree, forest, boosting (timed), curves, importance, early stopping.
pub fn regression(h: &Housing, s: &Settings, seed: u64, tick: &dyn Fn(&str)) -> Result<Regression> {
    let cuts = Cuts::fit(&h.train, MAX_BINS)?;
    let binned = cuts.bin(&h.train)?;
    let task = ForestTask::Regress {
        targets: &h.y_train,
    };
    let single = ForestParams {
        n_trees: 1,
        tree: cart(256, 10),
        bootstrap: false,
    };
    let (fit_time, model) = timed(1, || fit::forest(&cuts, &binned, task, &single, seed))?;
    let mut scores = vec![score(
        "CART tree (256 leaves)",
        &model,
        fit_time,
        h,
        s.timing_runs,
    )?];
    tick("forest");
    let forest_params = ForestParams {
        n_trees: s.forest_trees,
        tree: cart(1024, 2),
        bootstrap: true,
    };
    let (fit_time, model) = timed(1, || {
        fit::forest(&cuts, &binned, task, &forest_params, seed)
    })?;
    scores.push(score("random forest", &model, fit_time, h, s.timing_runs)?);
    tick("boosting");
    let params = boost_params(Loss::Squared, s.rounds, s.learning_rate, s.leaves);
    let (fit_time, boosted) = timed(s.timing_runs, || {
        let cuts = Cuts::fit(&h.train, MAX_BINS)?;
        let binned = cuts.bin(&h.train)?;
        fit::boost(&cuts, &binned, &h.y_train, &params, seed, None)
    })?;
    scores.push(score(
        "gradient boosting",
        &boosted,
        fit_time,
        h,
        s.timing_runs,
    )?);
    let mut test_curve = Vec::new();
    boosted.for_each_round(&h.test, |r, sc| {
        test_curve.push((r as f64, rmse_f64(&h.y_test, sc)));
        Ok(())
    })?;
    let mut train_curve = Vec::new();
    boosted.for_each_round(&h.train, |r, sc| {
        train_curve.push((r as f64, rmse_f64(&h.y_train, sc)));
        Ok(())
    })?;
    let total: f64 = boosted.gains.iter().sum();
    let gain_share = boosted
        .gains
        .iter()
        .map(|g| g / total.max(1e-300))
        .collect();
    let split_counts = boosted.split_counts()?;
    let restored = Owned::from_bytes(&boosted.to_bytes()?)?;
    let round_trip_identical = restored
        .predict(&h.test)?
        .iter()
        .zip(&boosted.predict(&h.test)?)
        .all(|(a, b)| a.to_bits() == b.to_bits());
    tick("early stopping");
    let early_stop = early_stopping(h, &params, seed)?;
    Ok(Regression {
        scores,
        test_curve,
        train_curve,
        gain_share,
        split_counts,
        early_stop: Some(early_stop),
        round_trip_identical,
    })
}

/// Holds out every fifth training row as validation, boosts with patience 50 and up to twice
/// the rounds; returns (rounds run, best round, test RMSE).
fn early_stopping(h: &Housing, params: &BoostParams, seed: u64) -> Result<(usize, usize, f64)> {
    let n = h.train.rows();
    let fit_rows: Vec<usize> = (0..n).filter(|i| i % 5 != 0).collect();
    let valid_rows: Vec<usize> = (0..n).filter(|i| i % 5 == 0).collect();
    let (x_fit, x_valid) = (h.train.gather(&fit_rows), h.train.gather(&valid_rows));
    let y_fit: Vec<f32> = fit_rows.iter().map(|&i| h.y_train[i]).collect();
    let y_valid: Vec<f32> = valid_rows.iter().map(|&i| h.y_train[i]).collect();
    let cuts = Cuts::fit(&x_fit, MAX_BINS)?;
    let (b_fit, b_valid) = (cuts.bin(&x_fit)?, cuts.bin(&x_valid)?);
    let params = BoostParams {
        n_rounds: params.n_rounds * 2,
        ..*params
    };
    let watch = fit::Watch {
        binned: &b_valid,
        targets: &y_valid,
        patience: 50,
    };
    let model = fit::boost(&cuts, &b_fit, &y_fit, &params, seed, Some(watch))?;
    let run = model.history.iter().take_while(|v| !v.is_nan()).count();
    let test = rmse(&h.y_test, &model.predict(&h.test)?)?;
    Ok((run, model.n_trees(), test))
}

/// One classifier's result on the 6-class problem.
pub struct ClassScore {
    /// Model name.
    pub name: &'static str,
    /// Test accuracy in [0, 1].
    pub accuracy: f64,
    /// Fit time.
    pub fit: Timing,
}

/// The lab's 6-class problem: CART (Gini), random forest (Gini) and softmax boosting.
pub fn six_classes(h: &Housing, s: &Settings, seed: u64) -> Result<Vec<ClassScore>> {
    let labels: Vec<u32> = h.y_train.iter().map(|&t| class_of(t)).collect();
    let truth: Vec<u32> = h.y_test.iter().map(|&t| class_of(t)).collect();
    let n_classes = labels
        .iter()
        .chain(&truth)
        .max()
        .map_or(1, |&m| m as usize + 1);
    let cuts = Cuts::fit(&h.train, MAX_BINS)?;
    let binned = cuts.bin(&h.train)?;
    let task = ForestTask::Classify {
        labels: &labels,
        n_classes,
        impurity: Impurity::Gini,
    };
    let as_class = |p: Vec<f32>| -> Vec<u32> { p.iter().map(|&v| v as u32).collect() };
    let mut out = Vec::new();
    let single = ForestParams {
        n_trees: 1,
        tree: cart(256, 10),
        bootstrap: false,
    };
    let (fit_time, model) = timed(1, || fit::forest(&cuts, &binned, task, &single, seed))?;
    out.push(ClassScore {
        name: "CART tree, Gini (256 leaves)",
        accuracy: accuracy(&truth, &as_class(model.predict(&h.test)?))?,
        fit: fit_time,
    });
    let forest_params = ForestParams {
        n_trees: s.forest_trees,
        tree: TreeParams {
            max_features: 3,
            ..cart(1024, 2)
        },
        bootstrap: true,
    };
    let (fit_time, model) = timed(1, || {
        fit::forest(&cuts, &binned, task, &forest_params, seed)
    })?;
    out.push(ClassScore {
        name: "random forest, Gini (3 features per node)",
        accuracy: accuracy(&truth, &as_class(model.predict(&h.test)?))?,
        fit: fit_time,
    });
    let targets: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let params = BoostParams {
        lambda: 1.0,
        ..boost_params(Loss::Softmax { n_classes }, s.class_rounds, 0.1, s.leaves)
    };
    let (fit_time, model) = timed(1, || {
        fit::boost(&cuts, &binned, &targets, &params, seed, None)
    })?;
    out.push(ClassScore {
        name: "gradient boosting, softmax",
        accuracy: accuracy(&truth, &as_class(model.predict(&h.test)?))?,
        fit: fit_time,
    });
    Ok(out)
}

/// One boosted regression of the growth-order and missing-value comparisons.
pub struct VariantScore {
    /// What was trained.
    pub name: String,
    /// Share of feature entries replaced by NaN in training and test rows.
    pub missing_rate: f64,
    /// Test RMSE.
    pub rmse: f64,
    /// Fit time (binning included).
    pub fit: Timing,
    /// Total nodes.
    pub nodes: usize,
    /// Share of splits that send missing values left.
    pub default_left_share: f64,
}

/// `table` with each entry replaced by NaN with probability `rate` (seeded).
fn with_missing(table: &Matrix, rate: f64, seed: u64) -> Matrix {
    let mut rng = edgeml_core::rng::Rng::new(seed);
    let x = table
        .x
        .iter()
        .map(|&v| {
            if rng.uniform_f64() < rate {
                f32::NAN
            } else {
                v
            }
        })
        .collect();
    Matrix {
        x,
        cols: table.cols,
    }
}

fn variant(
    name: String,
    h: &Housing,
    params: &BoostParams,
    rate: f64,
    seed: u64,
) -> Result<VariantScore> {
    let (train, test) = (
        with_missing(&h.train, rate, seed ^ 0x5eed),
        with_missing(&h.test, rate, seed ^ 0x7e57),
    );
    let (fit, model) = timed(1, || {
        let cuts = Cuts::fit(&train, MAX_BINS)?;
        let binned = cuts.bin(&train)?;
        fit::boost(&cuts, &binned, &h.y_train, params, seed, None)
    })?;
    let m = model.model()?;
    let splits = m.nodes().iter().filter(|n| !n.is_leaf());
    let (left, all) = splits.fold((0usize, 0usize), |(l, a), n| {
        (l + usize::from(n.default_left()), a + 1)
    });
    Ok(VariantScore {
        name,
        missing_rate: rate,
        rmse: rmse(&h.y_test, &model.predict(&test)?)?,
        fit,
        nodes: model.n_nodes(),
        default_left_share: left as f64 / all.max(1) as f64,
    })
}

/// Depth-wise growth (depth 5 and 6) beside leaf-wise, with the regression's rounds and
/// learning rate, all on complete data.
pub fn growth_orders(h: &Housing, s: &Settings, seed: u64) -> Result<Vec<VariantScore>> {
    let leafwise = boost_params(Loss::Squared, s.rounds, s.learning_rate, s.leaves);
    let mut out = vec![variant(
        format!("leaf-wise, {} leaves", s.leaves),
        h,
        &leafwise,
        0.0,
        seed,
    )?];
    for depth in [5usize, 6] {
        let params = BoostParams {
            tree: TreeParams {
                max_depth: depth,
                max_leaves: 1 << depth,
                growth: Growth::DepthWise,
                ..leafwise.tree
            },
            ..leafwise
        };
        let name = format!("depth-wise, depth {depth} (≤ {} leaves)", 1 << depth);
        out.push(variant(name, h, &params, 0.0, seed)?);
    }
    Ok(out)
}

/// Leaf-wise boosting with 10 % and 30 % of the feature entries missing (NaN, completely at
/// random, in training and test rows): the splits learn where missing values go.
pub fn missing_values(h: &Housing, s: &Settings, seed: u64) -> Result<Vec<VariantScore>> {
    let params = boost_params(Loss::Squared, s.rounds, s.learning_rate, s.leaves);
    [0.1f64, 0.3]
        .into_iter()
        .map(|rate| {
            let name = format!("leaf-wise, {}% missing", (rate * 100.0).round());
            variant(name, h, &params, rate, seed)
        })
        .collect()
}
