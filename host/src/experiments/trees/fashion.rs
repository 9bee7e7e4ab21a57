//! Fashion-MNIST 10-class softmax boosting on a training subset (all 10 000 test images):
//! test accuracy after each round, training time, model size and prediction speed.

use anyhow::{bail, Result};
use edgeml_core::eval::accuracy;
use edgeml_core::tree::Loss;

use super::california::boost_params;
use super::fit::{self, argmax_rows, timed, Cuts, Matrix, Timing};
use crate::datasets::{self, DataConfig, Targets};

/// Bins per pixel (pixels take 256 grey levels; 64 quantile bins keep split finding cheap).
pub const MAX_BINS: usize = 64;

/// Sizes of the Fashion-MNIST run.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Training images used (the first ones of the training file).
    pub train_rows: usize,
    /// Test images used (the first ones of the test file).
    pub test_rows: usize,
    /// Boosting rounds (10 trees each).
    pub rounds: usize,
    /// Learning rate.
    pub learning_rate: f32,
    /// Leaves per tree.
    pub leaves: usize,
}

/// What the run measured.
pub struct Outcome {
    /// Training and test rows used.
    pub rows: (usize, usize),
    /// Test accuracy after each round.
    pub curve: Vec<(f64, f64)>,
    /// Final test accuracy.
    pub accuracy: f64,
    /// Training time (binning included).
    pub fit: Timing,
    /// Time to predict the test rows.
    pub predict: Timing,
    /// Number of trees.
    pub trees: usize,
    /// Total nodes.
    pub nodes: usize,
    /// Serialized size.
    pub bytes: usize,
    /// Where the images came from.
    pub source: String,
    /// Whether it was the synthetic stand-in.
    pub synthetic: bool,
}

pub(super) fn part(
    features: &ndarray::Array2<f32>,
    targets: &Targets,
    rows: usize,
) -> Result<(Matrix, Vec<u32>)> {
    let Targets::Classes(labels) = targets else {
        bail!("Fashion-MNIST should have class labels");
    };
    let rows = rows.min(labels.len());
    let cols = features.ncols();
    let x: Vec<f32> = features.iter().copied().take(rows * cols).collect();
    Ok((
        Matrix { x, cols },
        labels[..rows].iter().map(|&l| u32::from(l)).collect(),
    ))
}

/// Trains and evaluates; `seed` also seeds the synthetic stand-in.
pub fn run(config: &DataConfig, s: &Settings, seed: u64) -> Result<Outcome> {
    let split = datasets::load_fashion_mnist_or_synthetic(config, s.train_rows, s.test_rows, seed)?;
    let (train, labels) = part(&split.train.features, &split.train.targets, s.train_rows)?;
    let (test, truth) = part(&split.test.features, &split.test.targets, s.test_rows)?;
    let n_classes = split.train.class_names.len().max(2);
    let targets: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let params = edgeml_core::tree::BoostParams {
        lambda: 1.0,
        ..boost_params(
            Loss::Softmax { n_classes },
            s.rounds,
            s.learning_rate,
            s.leaves,
        )
    };
    let (fit_time, model) = timed(1, || {
        let cuts = Cuts::fit(&train, MAX_BINS)?;
        let binned = cuts.bin(&train)?;
        fit::boost(&cuts, &binned, &targets, &params, seed, None)
    })?;
    let mut curve = Vec::new();
    model.for_each_round(&test, |r, sc| {
        curve.push((r as f64, accuracy(&truth, &argmax_rows(sc, n_classes))?));
        Ok(())
    })?;
    let (predict, predicted) = timed(3, || model.predict(&test))?;
    let predicted: Vec<u32> = predicted.iter().map(|&p| p as u32).collect();
    Ok(Outcome {
        rows: (train.rows(), test.rows()),
        curve,
        accuracy: accuracy(&truth, &predicted)?,
        fit: fit_time,
        predict,
        trees: model.n_trees(),
        nodes: model.n_nodes(),
        bytes: model.to_bytes()?.len(),
        source: split.train.source.clone(),
        synthetic: split.train.synthetic,
    })
}
