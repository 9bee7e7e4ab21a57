//! The lab's exercises and questions, answered with edgeml's kd-tree k-NN: the k sweep, the
//! validation-fraction sweep, `AverageAccuracy` against the number of splits, k-fold and
//! stratified k-fold cross-validation, and all of it again on standardized features.

use anyhow::Result;
use edgeml_core::eval::{
    accuracy, fold_members, k_fold_assign, repeated_splits, stratified_k_fold_assign,
};
use edgeml_core::knn::Search;
use edgeml_core::rng::UniformSource;
use serde::Serialize;

use super::classify::{accuracy_pct, knn_predict, random_predict};
use super::data::{Standardizer, Table};
use super::seed::{split_rows, TRAIN_FRACTION};

/// Mean and spread of a set of accuracies (percent).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (numpy's default `ddof=0`).
    pub std: f64,
}

impl Stats {
    /// Mean and std of `values` (zeros when empty).
    pub fn of(values: &[f64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        Stats {
            mean,
            std: var.sqrt(),
        }
    }
}

/// Accuracy (percent) of edgeml's k-NN trained on `train`, scored on `queries`.
pub fn knn_accuracy(train: &Table, queries: &Table, k: usize, n_classes: usize) -> Result<f64> {
    let predicted = knn_predict(train, queries, k, Search::KdTree, n_classes)?;
    accuracy_pct(&queries.y, &predicted)
}

/// One k of the k sweep.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct KPoint {
    /// Neighbours.
    pub k: usize,
    /// Validation accuracy (lab's first train/validation split), percent.
    pub validation_pct: f64,
    /// Test accuracy (trained on every non-test row), percent.
    pub test_pct: f64,
}

/// Validation and test accuracy for each k in `ks`.
pub fn k_sweep(
    train: &Table,
    validation: &Table,
    all_train: &Table,
    test: &Table,
    ks: &[usize],
    n_classes: usize,
) -> Result<Vec<KPoint>> {
    ks.iter()
        .map(|&k| {
            Ok(KPoint {
                k,
                validation_pct: knn_accuracy(train, validation, k, n_classes)?,
                test_pct: knn_accuracy(all_train, test, k, n_classes)?,
            })
        })
        .collect()
}

/// Validation (over repeated splits) and test accuracy of one classifier at one fraction.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Estimate {
    /// Validation accuracy over the splits, percent.
    pub validation: Stats,
    /// Test accuracy of the same models (trained on each split's training part), percent.
    pub test: Stats,
}

/// One validation fraction of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct FractionPoint {
    /// Fraction of the non-test rows held out for validation.
    pub validation_fraction: f64,
    /// Splits that had at least 3 training rows and 1 validation row (the others are skipped).
    pub splits: usize,
    /// Mean training rows per split.
    pub mean_train_rows: f64,
    /// 1-NN.
    pub nn1: Estimate,
    /// 3-NN.
    pub nn3: Estimate,
    /// The random classifier.
    pub random: Estimate,
}

#[derive(Default)]
struct Samples {
    validation: Vec<f64>,
    test: Vec<f64>,
}

impl Samples {
    fn estimate(&self) -> Estimate {
        Estimate {
            validation: Stats::of(&self.validation),
            test: Stats::of(&self.test),
        }
    }
}

/// For each validation fraction, `splits` random splits of `all_train` the lab's way
/// (`split(alltrain, 1 − fraction)`), scoring 1-NN, 3-NN and the random classifier on the
/// validation part and on the test set.
pub fn fraction_sweep<R: UniformSource>(
    all_train: &Table,
    test: &Table,
    fractions: &[f64],
    splits: usize,
    n_classes: usize,
    rng: &mut R,
    mut tick: impl FnMut(),
) -> Result<Vec<FractionPoint>> {
    let mut points = Vec::new();
    for &fraction in fractions {
        let mut samples: [Samples; 3] = Default::default();
        let mut train_rows = Vec::new();
        for _ in 0..splits {
            let (train_part, validation_part) = split_rows(rng, all_train.rows(), 1.0 - fraction)?;
            if train_part.len() < 3 || validation_part.is_empty() {
                continue;
            }
            let train = all_train.gather(&train_part);
            let validation = all_train.gather(&validation_part);
            train_rows.push(train.rows() as f64);
            for (slot, k) in samples.iter_mut().zip([1usize, 3]) {
                slot.validation
                    .push(knn_accuracy(&train, &validation, k, n_classes)?);
                slot.test.push(knn_accuracy(&train, test, k, n_classes)?);
            }
            let random = &mut samples[2];
            let guess = random_predict(&train, &validation, n_classes, rng)?;
            random.validation.push(accuracy_pct(&validation.y, &guess)?);
            let guess = random_predict(&train, test, n_classes, rng)?;
            random.test.push(accuracy_pct(&test.y, &guess)?);
        }
        tick();
        points.push(FractionPoint {
            validation_fraction: fraction,
            splits: train_rows.len(),
            mean_train_rows: Stats::of(&train_rows).mean,
            nn1: samples[0].estimate(),
            nn3: samples[1].estimate(),
            random: samples[2].estimate(),
        });
    }
    Ok(points)
}

/// `AverageAccuracy` with one number of iterations, repeated.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct IterationPoint {
    /// Neighbours.
    pub k: usize,
    /// Splits averaged by one `AverageAccuracy` call.
    pub iterations: usize,
    /// The estimates over the repeats, percent.
    pub estimate: Stats,
    /// Mean |estimate − test accuracy| over the repeats, percentage points.
    pub mean_abs_error_vs_test: f64,
}

/// `AverageAccuracy(alltrain, 0.75, n)` for each `n` in `counts`, `repeats` times each, for
/// k = 1 and 3; compared with the test accuracies `test_pct` (for k = 1, 3).
pub fn iteration_study<R: UniformSource>(
    all_train: &Table,
    counts: &[usize],
    repeats: usize,
    test_pct: [f64; 2],
    n_classes: usize,
    rng: &mut R,
    mut tick: impl FnMut(),
) -> Result<Vec<IterationPoint>> {
    let mut points = Vec::new();
    let mut order = vec![0u32; all_train.rows()];
    for (k, test) in [1usize, 3].into_iter().zip(test_pct) {
        for &iterations in counts {
            let mut estimates = Vec::new();
            for _ in 0..repeats {
                let mut failure = None;
                let average =
                    repeated_splits(rng, TRAIN_FRACTION, iterations, &mut order, |a, b| {
                        let train = all_train.gather(a);
                        let validation = all_train.gather(b);
                        match knn_predict(&train, &validation, k, Search::KdTree, n_classes) {
                            Ok(predicted) => accuracy(&validation.y, &predicted),
                            Err(err) => {
                                failure = Some(err);
                                Err(edgeml_core::Error::Empty)
                            }
                        }
                    });
                if let Some(err) = failure {
                    return Err(err);
                }
                estimates.push(average? * 100.0);
            }
            tick();
            let error = estimates.iter().map(|e| (e - test).abs()).sum::<f64>()
                / estimates.len().max(1) as f64;
            points.push(IterationPoint {
                k,
                iterations,
                estimate: Stats::of(&estimates),
                mean_abs_error_vs_test: error,
            });
        }
    }
    Ok(points)
}

/// How folds are assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Folds {
    /// Shuffled round-robin k-fold.
    Plain,
    /// Stratified by class.
    Stratified,
}

/// One cross-validation result.
#[derive(Clone, Debug, Serialize)]
pub struct CvResult {
    /// Folds.
    pub folds: usize,
    /// Plain or stratified.
    pub kind: Folds,
    /// Neighbours.
    pub k: usize,
    /// Features standardized (fitted on each fold's training part).
    pub standardized: bool,
    /// Accuracy over the folds, percent.
    pub accuracy: Stats,
    /// Each fold's accuracy, percent.
    pub per_fold: Vec<f64>,
}

/// Fold labels (`0..folds`) for every row of `table`.
pub fn assign_folds<R: UniformSource>(
    table: &Table,
    folds: usize,
    kind: Folds,
    n_classes: usize,
    rng: &mut R,
) -> Result<Vec<u32>> {
    let mut assignment = vec![0u32; table.rows()];
    match kind {
        Folds::Plain => k_fold_assign(rng, folds, &mut assignment)?,
        Folds::Stratified => {
            let mut cursor = vec![0u32; n_classes];
            let mut permutation = vec![0u32; table.rows()];
            stratified_k_fold_assign(
                rng,
                &table.y,
                folds,
                &mut cursor,
                &mut permutation,
                &mut assignment,
            )?;
        }
    }
    Ok(assignment)
}

/// k-NN accuracy on each fold of `assignment`, trained on the others (standardized with
/// statistics of the training folds only when `standardize`).
pub fn cross_validate(
    table: &Table,
    assignment: &[u32],
    folds: usize,
    k: usize,
    standardize: bool,
    n_classes: usize,
) -> Result<Vec<f64>> {
    let mut order = vec![0u32; table.rows()];
    (0..folds as u32)
        .map(|fold| {
            let held = fold_members(assignment, fold, &mut order)?;
            let (held_rows, train_rows) = order.split_at(held);
            let mut train = table.gather(train_rows);
            let mut validation = table.gather(held_rows);
            if standardize {
                let scaler = Standardizer::fit(&train);
                train = scaler.apply(&train);
                validation = scaler.apply(&validation);
            }
            knn_accuracy(&train, &validation, k, n_classes)
        })
        .collect()
}
