//! The documented subsets the tuning experiments use: Fashion-MNIST train rows shuffled with
//! the seed and cut into a search-train set and a validation set (the test set untouched),
//! and California Housing shuffled into train / validation / test.

use anyhow::{bail, Result};
use edgeml_core::rng::Rng;

use crate::datasets::{self, DataConfig, Targets};
use crate::experiments::mlp::Examples;

/// Fashion-MNIST cut for tuning.
pub struct FashionSplit {
    /// Training rows of the search.
    pub train: Examples,
    /// Validation rows (the search's objective, early stopping, ensemble weights).
    pub validation: Examples,
    /// Untouched test rows.
    pub test: Examples,
    /// Where the data came from.
    pub source: String,
}

/// `train_rows` and `validation_rows` disjoint rows of the shuffled training set, and the
/// first `test_rows` of the test set.
pub fn fashion(
    config: &DataConfig,
    train_rows: usize,
    validation_rows: usize,
    test_rows: usize,
    seed: u64,
) -> Result<FashionSplit> {
    let split = datasets::load_fashion_mnist_or_synthetic(
        config,
        train_rows + validation_rows,
        test_rows,
        seed,
    )?;
    let all = Examples::from_dataset(&split.train, usize::MAX)?;
    let test = Examples::from_dataset(&split.test, test_rows)?;
    if all.rows() < train_rows + validation_rows {
        bail!(
            "{} has fewer than {} rows",
            split.train.source,
            train_rows + validation_rows
        );
    }
    let mut order: Vec<usize> = (0..all.rows()).collect();
    Rng::new(seed).shuffle(&mut order);
    Ok(FashionSplit {
        train: all.select(&order[..train_rows]),
        validation: all.select(&order[train_rows..train_rows + validation_rows]),
        test,
        source: split.train.source,
    })
}

/// A regression table split three ways, features standardized with the training rows'
/// mean and standard deviation (kept raw in `raw_*`).
pub struct Regression {
    /// Column count.
    pub cols: usize,
    /// Standardized train / validation / test features (row-major).
    pub x: [Vec<f32>; 3],
    /// Raw train / validation / test features.
    pub raw: [Vec<f32>; 3],
    /// Train / validation / test targets.
    pub y: [Vec<f32>; 3],
    /// Where the data came from.
    pub source: String,
}

/// California Housing (or its synthetic stand-in), shuffled with `seed`, at most `rows`
/// rows cut 60 / 20 / 20 into train / validation / test.
pub fn california(config: &DataConfig, rows: usize, seed: u64) -> Result<Regression> {
    let data = datasets::load_california_or_synthetic(config, seed)?;
    let Targets::Regression(targets) = &data.targets else {
        bail!("{} has no regression targets", data.source);
    };
    let cols = data.features.ncols();
    let n = data.rows().min(rows);
    let mut order: Vec<usize> = (0..data.rows()).collect();
    Rng::new(seed).shuffle(&mut order);
    order.truncate(n);
    let cut = [0, n * 6 / 10, n * 8 / 10, n];
    let mut raw: [Vec<f32>; 3] = Default::default();
    let mut y: [Vec<f32>; 3] = Default::default();
    for part in 0..3 {
        for &r in &order[cut[part]..cut[part + 1]] {
            raw[part].extend(data.features.row(r).iter());
            y[part].push(targets[r]);
        }
    }
    let train_rows = (raw[0].len() / cols.max(1)).max(1) as f64;
    let mut x = raw.clone();
    for c in 0..cols {
        let column = || raw[0].iter().skip(c).step_by(cols);
        let mean = column().map(|&v| f64::from(v)).sum::<f64>() / train_rows;
        let var = column()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / train_rows;
        let sd = var.sqrt().max(1e-12);
        for part in x.iter_mut() {
            for v in part.iter_mut().skip(c).step_by(cols) {
                *v = ((f64::from(*v) - mean) / sd) as f32;
            }
        }
    }
    Ok(Regression {
        cols,
        x,
        raw,
        y,
        source: data.source,
    })
}
