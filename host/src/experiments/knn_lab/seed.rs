//! The lab's own sequence of steps, in its order of draws, with the seed notebook's printed
//! figures to compare against: the 20 % test split, the 75/25 train/validation split, 1-NN and
//! the random classifier on train and validation, a second split, the test accuracy, and
//! `AverageAccuracy` over 10 splits.

use anyhow::Result;
use edgeml_core::eval::{accuracy, repeated_splits, split_by_fraction};
use edgeml_core::knn::Search;
use edgeml_core::rng::{Pcg64Numpy, Rng, UniformSource};
use serde_json::{json, Value};

use super::classify::{accuracy_pct, knn_predict, lab_nn1, random_predict};
use super::data::{LabData, Table};

/// The seed the lab passes to `np.random.default_rng`.
pub const LAB_SEED: u64 = 42;
/// The lab's test fraction (`split(..., 20/100)`, the first part is the test set).
pub const TEST_FRACTION: f64 = 20.0 / 100.0;
/// The lab's training fraction of the non-test rows (`split(..., 75/100)`).
pub const TRAIN_FRACTION: f64 = 75.0 / 100.0;
/// Splits the lab's `AverageAccuracy` averages.
pub const AVERAGE_ITERATIONS: usize = 10;

/// Which generator draws the splits.
pub enum LabRng {
    /// numpy's `default_rng(seed)`, bit for bit (seed-exact mode).
    Numpy(Pcg64Numpy),
    /// edgeml's own xoshiro128++.
    Edgeml(Rng),
}

impl LabRng {
    /// The generator for `seed`: numpy's PCG64 when `seed_exact`, else edgeml's.
    pub fn new(seed: u64, seed_exact: bool) -> LabRng {
        if seed_exact {
            LabRng::Numpy(Pcg64Numpy::new(seed))
        } else {
            LabRng::Edgeml(Rng::new(seed))
        }
    }

    /// The generator's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            LabRng::Numpy(_) => "numpy PCG64 (default_rng)",
            LabRng::Edgeml(_) => "edgeml xoshiro128++",
        }
    }
}

impl UniformSource for LabRng {
    fn uniform_f64(&mut self) -> f64 {
        match self {
            LabRng::Numpy(r) => r.uniform_f64(),
            LabRng::Edgeml(r) => UniformSource::uniform_f64(r),
        }
    }

    fn index_below(&mut self, bound: usize) -> usize {
        match self {
            LabRng::Numpy(r) => r.index_below(bound),
            LabRng::Edgeml(r) => r.index_below(bound),
        }
    }
}

/// Splits `rows` rows the lab's way: returns (first part, second part) as row indices.
pub fn split_rows<R: UniformSource>(
    rng: &mut R,
    rows: usize,
    fraction: f64,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut order = vec![0u32; rows];
    let first = split_by_fraction(rng, fraction, &mut order)?;
    let second = order.split_off(first);
    Ok((order, second))
}

/// One accuracy by both engines on the same rows: the lab's f64 arithmetic and edgeml's kd-tree.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    /// The lab's arithmetic (f64, numpy's order) — what the seed printed.
    pub lab: f64,
    /// edgeml's f32 kd-tree k-NN.
    pub edgeml: f64,
    /// Rows where the two engines' predictions differ.
    pub differing: usize,
}

/// Every figure the lab printed, in percent unless named otherwise.
#[derive(Clone, Debug)]
pub struct LabFigures {
    /// Whether the lab's f64 arithmetic ran beside edgeml (else its column repeats edgeml's).
    pub lab_arithmetic: bool,
    /// Test rows (first split).
    pub test_rows: usize,
    /// Non-test rows.
    pub train_rows: usize,
    /// 1-NN on its own training rows.
    pub train_nn: Pair,
    /// Random classifier on the training rows.
    pub train_random: f64,
    /// 1-NN on the validation rows.
    pub validation_nn: Pair,
    /// Random classifier on the validation rows.
    pub validation_random: f64,
    /// 1-NN on the validation rows of a second 75/25 split.
    pub validation_nn_second: Pair,
    /// 1-NN on the test rows, trained on all non-test rows.
    pub test_nn: Pair,
    /// Correct test predictions: (lab arithmetic, edgeml).
    pub test_correct: (usize, usize),
    /// `AverageAccuracy(alltrain, 0.75, 10, NN)`.
    pub average_validation: Pair,
}

/// The seed notebook's printed figures, under the same names.
pub const SEED: [(&str, f64); 10] = [
    ("test_rows", 4144.0),
    ("train_rows", 16496.0),
    ("train_accuracy_1nn_pct", 100.0),
    ("train_accuracy_random_pct", 16.4375808538163),
    ("validation_accuracy_1nn_pct", 34.10852713178294),
    ("validation_accuracy_random_pct", 16.884689922480618),
    (
        "validation_accuracy_1nn_second_split_pct",
        34.048257372654156,
    ),
    ("test_accuracy_1nn_pct", 34.91795366795367),
    ("test_correct_1nn", 1447.0),
    (
        "average_validation_accuracy_10_splits_pct",
        33.58463539517022,
    ),
];

impl LabFigures {
    /// The figures under [`SEED`]'s names: by the lab's arithmetic, and by edgeml's kd-tree
    /// (the random classifier and the counts are the same in both).
    pub fn named(&self) -> [(&'static str, f64, f64); 10] {
        let rows = |n: usize| (n as f64, n as f64);
        let pair = |p: Pair| (p.lab, p.edgeml);
        let random = |v: f64| (v, v);
        let values = [
            rows(self.test_rows),
            rows(self.train_rows),
            pair(self.train_nn),
            random(self.train_random),
            pair(self.validation_nn),
            random(self.validation_random),
            pair(self.validation_nn_second),
            pair(self.test_nn),
            (self.test_correct.0 as f64, self.test_correct.1 as f64),
            pair(self.average_validation),
        ];
        core::array::from_fn(|i| (SEED[i].0, values[i].0, values[i].1))
    }

    /// JSON: `edgeml_kd_tree` and `seed` objects under [`SEED`]'s keys, `matches_seed` (per
    /// engine, each figure equal to the seed's bit for bit), and when the lab's arithmetic ran,
    /// `lab_arithmetic` and `predictions_differing` (rows where the engines disagree).
    pub fn to_json(&self) -> Value {
        let named = self.named();
        let object = |pick: &dyn Fn(&(&str, f64, f64)) -> f64| -> Value {
            Value::Object(
                named
                    .iter()
                    .map(|entry| (entry.0.to_string(), number(entry.0, pick(entry))))
                    .collect(),
            )
        };
        let matches = |pick: &dyn Fn(&(&str, f64, f64)) -> f64| -> Value {
            Value::Object(
                named
                    .iter()
                    .zip(SEED)
                    .map(|(ours, (k, v))| (k.to_string(), json!(pick(ours) == v)))
                    .collect(),
            )
        };
        let seed = Value::Object(
            SEED.iter()
                .map(|(k, v)| (k.to_string(), number(k, *v)))
                .collect(),
        );
        let mut value = json!({
            "edgeml_kd_tree": object(&|e| e.2),
            "seed": seed,
            "matches_seed": {"edgeml_kd_tree": matches(&|e| e.2)},
        });
        if self.lab_arithmetic {
            value["lab_arithmetic"] = object(&|e| e.1);
            value["matches_seed"]["lab_arithmetic"] = matches(&|e| e.1);
            value["predictions_differing"] = json!({
                "train_1nn": self.train_nn.differing,
                "validation_1nn": self.validation_nn.differing,
                "validation_1nn_second_split": self.validation_nn_second.differing,
                "test_1nn": self.test_nn.differing,
                "average_validation_10_splits": self.average_validation.differing,
            });
        }
        value
    }
}

/// Counts (rows, correct) become integers in JSON; percentages stay floats.
fn number(key: &str, value: f64) -> Value {
    if key.ends_with("_pct") {
        json!(value)
    } else {
        json!(value.round() as u64)
    }
}

/// The lab's splits: test rows and the non-test rows, as indices into the data.
pub struct LabSplit {
    /// Held-out test rows.
    pub test: Table,
    /// Every non-test row.
    pub all_train: Table,
    /// The first 75/25 split of `all_train` (indices into it): training part.
    pub train_rows: Vec<u32>,
    /// Its validation part.
    pub validation_rows: Vec<u32>,
}

fn pair(lab: &[u32], edgeml: &[u32], truth: &[u32]) -> Result<Pair> {
    Ok(Pair {
        lab: accuracy_pct(truth, lab)?,
        edgeml: accuracy_pct(truth, edgeml)?,
        differing: lab.iter().zip(edgeml).filter(|(a, b)| a != b).count(),
    })
}

/// 1-NN predictions over `train` for `queries`: (lab arithmetic, edgeml); the first repeats
/// edgeml's when `with_lab` is off.
fn nn_both(
    train: &Table,
    queries: &Table,
    n_classes: usize,
    with_lab: bool,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let edgeml = knn_predict(train, queries, 1, Search::KdTree, n_classes)?;
    let lab = if with_lab {
        lab_nn1(train, queries)
    } else {
        edgeml.clone()
    };
    Ok((lab, edgeml))
}

/// [`nn_both`] scored on `queries`' labels.
fn nn_pair(train: &Table, queries: &Table, n_classes: usize, with_lab: bool) -> Result<Pair> {
    let (lab, edgeml) = nn_both(train, queries, n_classes, with_lab)?;
    pair(&lab, &edgeml, &queries.y)
}

fn correct(truth: &[u32], predicted: &[u32]) -> usize {
    truth.iter().zip(predicted).filter(|(t, p)| t == p).count()
}

/// Only the lab's first two splits (for timing): test and non-test rows, then train/validation.
pub fn lab_split<R: UniformSource>(data: &LabData, rng: &mut R) -> Result<LabSplit> {
    let (test_rows, rest) = split_rows(rng, data.table.rows(), TEST_FRACTION)?;
    let test = data.table.gather(&test_rows);
    let all_train = data.table.gather(&rest);
    let (train_rows, validation_rows) = split_rows(rng, all_train.rows(), TRAIN_FRACTION)?;
    Ok(LabSplit {
        test,
        all_train,
        train_rows,
        validation_rows,
    })
}

/// Runs the lab's cells in order, drawing from `rng` exactly where the lab draws; 1-NN by
/// edgeml's kd-tree and, when `with_lab`, also by the lab's own f64 arithmetic.
pub fn run_lab<R: UniformSource>(
    data: &LabData,
    rng: &mut R,
    with_lab: bool,
) -> Result<(LabSplit, LabFigures)> {
    let k = data.n_classes;
    let split = lab_split(data, rng)?;
    let train = split.all_train.gather(&split.train_rows);
    let validation = split.all_train.gather(&split.validation_rows);

    let train_nn = nn_pair(&train, &train, k, with_lab)?;
    let train_random = accuracy_pct(&train.y, &random_predict(&train, &train, k, rng)?)?;
    let validation_nn = nn_pair(&train, &validation, k, with_lab)?;
    let validation_random =
        accuracy_pct(&validation.y, &random_predict(&train, &validation, k, rng)?)?;

    let (second_train, second_validation) =
        split_rows(rng, split.all_train.rows(), TRAIN_FRACTION)?;
    let validation_nn_second = nn_pair(
        &split.all_train.gather(&second_train),
        &split.all_train.gather(&second_validation),
        k,
        with_lab,
    )?;

    let (test_lab, test_edgeml) = nn_both(&split.all_train, &split.test, k, with_lab)?;
    let test_nn = pair(&test_lab, &test_edgeml, &split.test.y)?;
    let test_correct = (
        correct(&split.test.y, &test_lab),
        correct(&split.test.y, &test_edgeml),
    );

    let mut order = vec![0u32; split.all_train.rows()];
    let mut edgeml_total = 0.0f64;
    let mut differing = 0usize;
    let mut failure = None;
    let lab_average = repeated_splits(
        rng,
        TRAIN_FRACTION,
        AVERAGE_ITERATIONS,
        &mut order,
        |a, b| {
            let train = split.all_train.gather(a);
            let validation = split.all_train.gather(b);
            let (lab, edgeml) = nn_both(&train, &validation, k, with_lab).map_err(|err| {
                failure = Some(err);
                edgeml_core::Error::Empty
            })?;
            edgeml_total += accuracy(&validation.y, &edgeml)?;
            differing += lab.iter().zip(&edgeml).filter(|(a, b)| a != b).count();
            accuracy(&validation.y, &lab)
        },
    );
    if let Some(err) = failure {
        return Err(err);
    }
    let lab_average = lab_average?;
    let average_validation = Pair {
        lab: lab_average * 100.0,
        edgeml: edgeml_total / AVERAGE_ITERATIONS as f64 * 100.0,
        differing,
    };

    let figures = LabFigures {
        lab_arithmetic: with_lab,
        test_rows: split.test.rows(),
        train_rows: split.all_train.rows(),
        train_nn,
        train_random,
        validation_nn,
        validation_random,
        validation_nn_second,
        test_nn,
        test_correct,
        average_validation,
    };
    Ok((split, figures))
}
