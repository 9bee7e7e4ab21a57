//! The one-class protocol on Fashion-MNIST: for each class c, fit every detector on c's
//! training images (a tenth held out to calibrate), score the test images, and measure AUROC
//! with c normal and the other classes anomalous, plus recall and false-positive rate at the
//! 95th percentile of the held-out normal scores.

use anyhow::{bail, Result};
use edgeml_core::anomaly::Threshold;
use edgeml_core::eval::roc_auc;
use rayon::prelude::*;

use super::detectors::{self, DetectorSettings, Rows, Scores, DETECTORS};
use crate::datasets::{self, DataConfig, Targets};

/// A per-pixel transform applied to every image before the detectors see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Transform {
    /// Pixels as loaded, in [0, 1].
    None,
    /// √pixel (still in [0, 1]): squared L2 between transformed images is twice the squared
    /// Hellinger distance, which weighs faint strokes closer to bright ones.
    #[default]
    Sqrt,
}

impl Transform {
    /// The name used in the report and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Transform::None => "none",
            Transform::Sqrt => "sqrt",
        }
    }

    fn apply(self, v: f32) -> f32 {
        match self {
            Transform::None => v,
            Transform::Sqrt => v.max(0.0).sqrt(),
        }
    }
}

/// Sizes of the run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Per-pixel transform.
    pub transform: Transform,
    /// Normal classes to run.
    pub classes: Vec<u8>,
    /// Training images per class used (at most the 6 000 of Fashion-MNIST).
    pub train_per_class: usize,
    /// Test images scored (the first ones of the test file).
    pub test_rows: usize,
    /// The detectors.
    pub detectors: DetectorSettings,
}

/// Percentile of the held-out normal scores used as the threshold.
pub const THRESHOLD_PERCENTILE: f32 = 95.0;

/// One detector on one normal class.
#[derive(Clone, Debug)]
pub struct DetectorResult {
    /// AUROC with the class normal.
    pub auroc: f64,
    /// Fraction of anomalous test images above the threshold.
    pub recall: f64,
    /// Fraction of normal test images above the threshold.
    pub false_positive_rate: f64,
    /// Fit and scoring, wall seconds.
    pub seconds: f64,
}

/// One normal class.
#[derive(Clone, Debug)]
pub struct ClassResult {
    /// The normal class.
    pub class: u8,
    /// One per entry of [`DETECTORS`].
    pub detectors: Vec<DetectorResult>,
    /// Whether each test image is anomalous.
    pub anomalous: Vec<bool>,
    /// Test scores per detector (for the plots).
    pub scores: Vec<Vec<f32>>,
}

/// What the run measured.
pub struct Outcome {
    /// Per class, in the order run.
    pub classes: Vec<ClassResult>,
    /// Class names.
    pub class_names: Vec<String>,
    /// Rows fitted and held out per class, test rows.
    pub rows: (usize, usize, usize),
    /// Where the images came from.
    pub source: String,
    /// Whether the synthetic stand-in was used.
    pub synthetic: bool,
}

impl Outcome {
    /// Mean over classes of detector `d`'s figure `f`.
    pub fn mean(&self, d: usize, f: impl Fn(&DetectorResult) -> f64) -> f64 {
        let n = self.classes.len().max(1) as f64;
        self.classes.iter().map(|c| f(&c.detectors[d])).sum::<f64>() / n
    }
}

fn result(scores: &Scores, anomalous: &[bool]) -> Result<DetectorResult> {
    let mut order = vec![0u32; scores.test.len()];
    let auroc = roc_auc(anomalous, &scores.test, &mut order)?;
    let threshold =
        Threshold::Percentile(THRESHOLD_PERCENTILE).from_scores(&mut scores.calibration.clone())?;
    let (mut hits, mut false_alarms) = (0usize, 0usize);
    for (&s, &a) in scores.test.iter().zip(anomalous) {
        if s > threshold {
            if a {
                hits += 1;
            } else {
                false_alarms += 1;
            }
        }
    }
    let positives = anomalous.iter().filter(|&&a| a).count().max(1);
    let negatives = (anomalous.len() - positives).max(1);
    Ok(DetectorResult {
        auroc,
        recall: hits as f64 / positives as f64,
        false_positive_rate: false_alarms as f64 / negatives as f64,
        seconds: scores.seconds,
    })
}

fn rows_of(
    features: &ndarray::Array2<f32>,
    pick: impl Iterator<Item = usize>,
    transform: Transform,
) -> Rows {
    let cols = features.ncols();
    let mut x = Vec::new();
    for i in pick {
        x.extend(features.row(i).iter().map(|&v| transform.apply(v)));
    }
    Rows { x, cols }
}

fn labels(targets: &Targets) -> Result<&[u8]> {
    match targets {
        Targets::Classes(l) => Ok(l),
        Targets::Regression(_) => bail!("Fashion-MNIST should have class labels"),
    }
}

/// Runs every detector for every class of `s.classes`, classes in parallel (rayon);
/// `progress` is called after each class.
pub fn run(
    config: &DataConfig,
    s: &Settings,
    seed: u64,
    progress: &(dyn Fn(u8) + Sync),
) -> Result<Outcome> {
    let split =
        datasets::load_fashion_mnist_or_synthetic(config, 6000, s.test_rows.max(100), seed)?;
    let train_labels = labels(&split.train.targets)?;
    let test_labels = labels(&split.test.targets)?;
    let test_n = s.test_rows.min(test_labels.len());
    let test = rows_of(&split.test.features, 0..test_n, s.transform);
    let results: Result<Vec<ClassResult>> = s
        .classes
        .par_iter()
        .map(|&c| {
            let own: Vec<usize> = (0..train_labels.len())
                .filter(|&i| train_labels[i] == c)
                .take(s.train_per_class)
                .collect();
            if own.len() < 10 {
                bail!(
                    "class {c} has {} training images; at least 10 are needed",
                    own.len()
                );
            }
            let held = own.len() / 10;
            let fit = rows_of(
                &split.train.features,
                own[..own.len() - held].iter().copied(),
                s.transform,
            );
            let calibration = rows_of(
                &split.train.features,
                own[own.len() - held..].iter().copied(),
                s.transform,
            );
            let anomalous: Vec<bool> = test_labels[..test_n].iter().map(|&l| l != c).collect();
            let scores = detectors::all(
                &fit,
                [&calibration, &test],
                &s.detectors,
                seed ^ u64::from(c),
            )?;
            let detectors = scores
                .iter()
                .map(|sc| result(sc, &anomalous))
                .collect::<Result<Vec<_>>>()?;
            progress(c);
            Ok(ClassResult {
                class: c,
                detectors,
                anomalous,
                scores: scores.into_iter().map(|sc| sc.test).collect(),
            })
        })
        .collect();
    let per_class = s.train_per_class.min(6000);
    let held = per_class / 10;
    debug_assert_eq!(DETECTORS.len(), 4);
    Ok(Outcome {
        classes: results?,
        class_names: split.train.class_names.clone(),
        rows: (per_class - held, held, test_n),
        source: split.train.source.clone(),
        synthetic: split.train.synthetic,
    })
}

/// ROC curve `(false-positive rate, true-positive rate)` of `scores` (anomalous = positive),
/// at most about `points` points.
pub fn roc_curve(anomalous: &[bool], scores: &[f32], points: usize) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = anomalous.iter().filter(|&&a| a).count().max(1) as f64;
    let negatives = (anomalous.len() as f64 - positives).max(1.0);
    let step = (scores.len() / points.max(1)).max(1);
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut curve = vec![(0.0, 0.0)];
    for (rank, &i) in order.iter().enumerate() {
        if anomalous[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if rank % step == step - 1 || rank + 1 == order.len() {
            curve.push((fp / negatives, tp / positives));
        }
    }
    curve
}

/// Histograms of the normal and the anomalous `scores` over `bins` equal bins spanning the
/// 0th to 99th percentile of all scores (higher ones counted in the last bin), each as
/// fractions of its own scores: `(bin centre, fraction)` per bin.
pub fn histograms(anomalous: &[bool], scores: &[f32], bins: usize) -> [Vec<(f64, f64)>; 2] {
    let mut sorted: Vec<f64> = scores.iter().map(|&s| f64::from(s)).collect();
    sorted.sort_by(f64::total_cmp);
    let (Some(&low), Some(&high)) = (sorted.first(), sorted.get(sorted.len() * 99 / 100)) else {
        return [Vec::new(), Vec::new()];
    };
    let bins = bins.max(1);
    let width = ((high - low) / bins as f64).max(1e-12);
    let mut counts = [vec![0usize; bins], vec![0usize; bins]];
    for (&s, &a) in scores.iter().zip(anomalous) {
        let b = (((f64::from(s) - low) / width).max(0.0) as usize).min(bins - 1);
        counts[usize::from(a)][b] += 1;
    }
    counts.map(|c| {
        let n = c.iter().sum::<usize>().max(1) as f64;
        c.iter()
            .enumerate()
            .map(|(b, &k)| (low + (b as f64 + 0.5) * width, k as f64 / n))
            .collect()
    })
}
