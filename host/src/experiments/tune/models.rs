//! Boosted trees and k-NN as tunable models on a feature table: fit from a configuration,
//! predict class probabilities or regression values.

use anyhow::{bail, Context, Result};
use edgeml_core::knn::{KdNode, KnnIndex, Metric, Points, Search};
use edgeml_core::tree::{BoostParams, Growth, Loss, TreeParams};

use crate::experiments::trees::fit::{boost, Binned, Cuts, Matrix, Owned};
use crate::tune::Config;

/// Histogram bins per feature for boosting.
const MAX_BINS: usize = 64;

/// A row-major table with targets: class indices (as f32) or real values.
pub struct Table<'a> {
    /// Features, `rows × cols`.
    pub x: &'a [f32],
    /// Columns.
    pub cols: usize,
    /// One target per row.
    pub y: &'a [f32],
}

impl Table<'_> {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.x.len() / self.cols.max(1)
    }
}

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class probabilities over this many classes.
    Classes(usize),
    /// One real value.
    Regression,
}

impl Task {
    /// Values per predicted row.
    pub fn width(self) -> usize {
        match self {
            Task::Classes(k) => k,
            Task::Regression => 1,
        }
    }
}

fn get_i(config: &Config, name: &str) -> Result<i64> {
    config
        .get(name)
        .and_then(|v| v.as_i64())
        .with_context(|| format!("`{name}` is missing"))
}

fn get_f(config: &Config, name: &str) -> Result<f64> {
    config
        .get(name)
        .and_then(|v| v.as_f64())
        .with_context(|| format!("`{name}` is missing"))
}

/// Appends the softmax of one row of `scores` (logits), in f64, to `out`.
pub fn push_softmax(scores: &[f32], out: &mut Vec<f64>) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let start = out.len();
    out.extend(scores.iter().map(|&s| f64::from(s - max).exp()));
    let total: f64 = out[start..].iter().sum();
    out[start..].iter_mut().for_each(|p| *p /= total);
}

/// A boosted model in owned buffers.
pub struct Boosted {
    trained: Owned,
}

/// Training rows binned once for every boosting trial: quantile cuts of the features, the
/// bins, and the targets.
pub struct BoostData<'a> {
    cuts: Cuts,
    binned: Binned,
    y: &'a [f32],
}

impl<'a> BoostData<'a> {
    /// Fits [`MAX_BINS`] cuts per feature of `train` and bins its rows.
    pub fn new(train: &Table<'a>) -> Result<BoostData<'a>> {
        let matrix = Matrix {
            x: train.x.to_vec(),
            cols: train.cols,
        };
        let cuts = Cuts::fit(&matrix, MAX_BINS)?;
        let binned = cuts.bin(&matrix)?;
        Ok(BoostData {
            cuts,
            binned,
            y: train.y,
        })
    }
}

/// Boosts on `train` with `rounds` (≤ the configuration's cap), `leaves`, `lr`, `subsample`.
pub fn fit_boosted(
    train: &BoostData<'_>,
    task: Task,
    config: &Config,
    seed: u64,
) -> Result<Boosted> {
    let rounds = get_i(config, "rounds")?.max(1) as usize;
    let leaves = get_i(config, "leaves")?.max(2) as usize;
    let params = BoostParams {
        loss: match task {
            Task::Classes(n_classes) => Loss::Softmax { n_classes },
            Task::Regression => Loss::Squared,
        },
        n_rounds: rounds,
        learning_rate: get_f(config, "lr")? as f32,
        lambda: 1.0,
        tree: TreeParams {
            max_depth: 12,
            max_leaves: leaves,
            min_samples_leaf: 5,
            growth: Growth::LeafWise,
            ..TreeParams::default()
        },
        row_subsample: get_f(config, "subsample")? as f32,
        start_from_prior: true,
    };
    let trained = boost(&train.cuts, &train.binned, train.y, &params, seed, None)?;
    Ok(Boosted { trained })
}

impl Boosted {
    /// Probabilities (softmax of the scores) or values for every row of `x`.
    pub fn predict(&self, x: &[f32]) -> Result<Vec<f64>> {
        let model = self.trained.model()?;
        let (cols, k) = (model.n_features(), model.n_outputs());
        let mut out = Vec::with_capacity(x.len() / cols.max(1) * k);
        let mut scores = vec![0.0f32; k];
        for row in x.chunks_exact(cols) {
            model.predict_scores(row, &mut scores)?;
            if k == 1 {
                out.push(f64::from(scores[0]));
            } else {
                push_softmax(&scores, &mut out);
            }
        }
        Ok(out)
    }
}

/// Most neighbours a k-NN configuration may ask for.
pub const MAX_K: usize = 64;

/// k-NN predictions for `queries` from `train`: configuration `k` and `weights`
/// (`uniform` or `distance`, 1/Euclidean distance); class vote fractions or the
/// (weighted) mean target.
pub fn knn_predict(
    train: &Table<'_>,
    task: Task,
    config: &Config,
    queries: &[f32],
) -> Result<Vec<f64>> {
    let k = (get_i(config, "k")?.max(1) as usize)
        .min(MAX_K)
        .min(train.rows());
    let distance = match config.get("weights").and_then(|v| v.as_str()) {
        Some("uniform") | None => false,
        Some("distance") => true,
        Some(other) => bail!("unknown k-NN weights `{other}`"),
    };
    let points = Points::new(train.x, train.rows(), train.cols)?;
    let mut permutation = vec![0u32; train.rows()];
    let mut nodes = vec![
        KdNode::default();
        edgeml_core::knn::KdTree::node_count(
            train.rows(),
            edgeml_core::knn::KdTree::DEFAULT_LEAF_SIZE
        )?
    ];
    let index = KnnIndex::new(points, Search::Auto, &mut permutation, &mut nodes)?;
    let q = Points::new(queries, queries.len() / train.cols.max(1), train.cols)?;
    let width = task.width();
    let mut out = vec![0.0f64; q.rows() * width];
    index.search_batch::<MAX_K>(q, Metric::SquaredL2, k, |i, neighbors| {
        let weights: Vec<f64> = neighbors
            .iter()
            .map(|n| {
                if distance {
                    1.0 / (f64::from(n.distance).sqrt() + 1e-9)
                } else {
                    1.0
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let row = out
            .get_mut(i * width..(i + 1) * width)
            .ok_or(edgeml_core::Error::SizeOverflow)?;
        for (n, w) in neighbors.iter().zip(&weights) {
            let y = f64::from(train.y.get(n.index).copied().unwrap_or(0.0));
            match task {
                Task::Classes(_) => {
                    if let Some(slot) = row.get_mut(y as usize) {
                        *slot += w / total;
                    }
                }
                Task::Regression => row[0] += w / total * y,
            }
        }
        Ok(())
    })?;
    Ok(out)
}
