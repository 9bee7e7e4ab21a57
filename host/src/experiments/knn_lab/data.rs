//! The lab's table: `rows × cols` f32 features (row-major) and integer class labels — California
//! Housing's target in $100k truncated to an integer (classes 0..=5), as the lab's
//! `dataset.target.astype(int)` — with row gathering and train-fitted standardization.

use anyhow::{bail, Result};
use edgeml_core::knn::Points;

use crate::datasets::california::class_of;
use crate::datasets::{self, DataConfig, Targets};

/// Features and labels, one label per row.
#[derive(Clone, Debug)]
pub struct Table {
    /// Features, `rows × cols`, row-major.
    pub x: Vec<f32>,
    /// Class labels `0..n_classes`, one per row.
    pub y: Vec<u32>,
    /// Features per row.
    pub cols: usize,
}

/// The whole dataset as the lab sees it.
pub struct LabData {
    /// Every row.
    pub table: Table,
    /// Number of classes (largest label + 1).
    pub n_classes: usize,
    /// Where the rows came from, in words.
    pub source: String,
    /// Whether this is the synthetic stand-in (the seed's figures then do not apply).
    pub synthetic: bool,
}

impl Table {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.y.len()
    }

    /// The features as k-NN points.
    pub fn points(&self) -> Result<Points<'_>> {
        Ok(Points::new(&self.x, self.rows(), self.cols)?)
    }

    /// The rows listed in `rows` (indices into this table), in that order.
    pub fn gather(&self, rows: &[u32]) -> Table {
        let mut x = Vec::with_capacity(rows.len() * self.cols);
        let mut y = Vec::with_capacity(rows.len());
        for &row in rows {
            let row = row as usize;
            x.extend_from_slice(&self.x[row * self.cols..(row + 1) * self.cols]);
            y.push(self.y[row]);
        }
        Table {
            x,
            y,
            cols: self.cols,
        }
    }
}

/// California Housing (or, with `--synthetic`, its stand-in) with the lab's six classes
/// ([`class_of`]). Broken files are an error.
pub fn load(config: &DataConfig, seed: u64) -> Result<LabData> {
    let dataset = datasets::load_california_or_synthetic(config, seed)?;
    let Targets::Regression(targets) = &dataset.targets else {
        bail!("California Housing should have regression targets");
    };
    let labels: Vec<u32> = targets.iter().map(|&t| class_of(t)).collect();
    let n_classes = labels.iter().copied().max().map_or(1, |m| m as usize + 1);
    let cols = dataset.features.ncols();
    let x = dataset.features.iter().copied().collect();
    Ok(LabData {
        table: Table { x, y: labels, cols },
        n_classes,
        source: dataset.source,
        synthetic: dataset.synthetic,
    })
}

/// Per-feature mean and standard deviation (population, f64) of a training table; applying it
/// maps each feature to `(x − mean) / std` (a constant feature keeps std 1).
#[derive(Clone, Debug)]
pub struct Standardizer {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Standardizer {
    /// Fits on `train` only, so nothing of the rows it is later applied to leaks in.
    pub fn fit(train: &Table) -> Standardizer {
        let n = train.rows().max(1) as f64;
        let mut mean = vec![0.0f64; train.cols];
        for row in train.x.chunks_exact(train.cols) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; train.cols];
        for row in train.x.chunks_exact(train.cols) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
        let std = var
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 0.0 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, std }
    }

    /// `table` with every feature standardized.
    pub fn apply(&self, table: &Table) -> Table {
        let mut x = table.x.clone();
        for row in x.chunks_exact_mut(table.cols) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = ((f64::from(*v) - m) / s) as f32;
            }
        }
        Table {
            x,
            y: table.y.clone(),
            cols: table.cols,
        }
    }
}
