//! Boosted trees and k-NN as tunable models on a feature table: fit from a configuration,
//! predict class probabilities or regression values.

use anyhow::{bail, Context, Result};
use edgeml_core::knn::{KdNode, KnnIndex, Metric, Points, Search};
use edgeml_core::rng::Rng;
use edgeml_core::tree::binning::cuts_len;
use edgeml_core::tree::boost::boosted_trees;
use edgeml_core::tree::{
    train_boosted, BinMapper, BinnedData, BoostParams, BoostWorkspace, Growth, Loss, Model,
    ModelBuffers, Node, Pending, TreeParams, TreeWorkspace,
};
use edgeml_core::TensorView;

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

/// A boosted model in owned buffers.
pub struct Boosted {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    base: Vec<f32>,
    cols: usize,
    task: Task,
}

/// Boosts on `train` with `rounds` (≤ the configuration's cap), `leaves`, `lr`, `subsample`.
pub fn fit_boosted(train: &Table<'_>, task: Task, config: &Config, seed: u64) -> Result<Boosted> {
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
    let (n, cols) = (train.rows(), train.cols);
    let view = TensorView::matrix(train.x, n, cols)?;
    let mut cuts = vec![0.0f32; cuts_len(cols, MAX_BINS)?];
    let mut scratch = vec![0.0f32; n];
    let mapper = BinMapper::fit(&view, MAX_BINS, &mut scratch, &mut cuts)?;
    let mut bins = vec![0u8; n * cols];
    mapper.bin_matrix(&view, &mut bins)?;
    let data = BinnedData::new(&bins, n, mapper)?;
    let per_row = BoostWorkspace::per_row_len(n, params.loss)?;
    let mut hist = vec![0.0f64; TreeWorkspace::hist_len(cols, MAX_BINS, 3, leaves)?];
    let mut pending = vec![Pending::default(); leaves];
    let (mut features, mut gains) = (vec![0u32; cols], vec![0.0f64; cols]);
    let (mut scores, mut grad, mut hess) =
        (vec![0.0; per_row], vec![0.0; per_row], vec![0.0; per_row]);
    let mut rows = vec![0u32; n];
    let n_trees = boosted_trees(&params)?;
    let mut nodes = vec![Node::default(); n_trees * (2 * leaves - 1)];
    let mut roots = vec![0u32; n_trees];
    let mut base = vec![0.0f32; params.loss.outputs()];
    let mut workspace = BoostWorkspace {
        scores: &mut scores,
        grad: &mut grad,
        hess: &mut hess,
        rows: &mut rows,
        tree: TreeWorkspace {
            hist: &mut hist,
            pending: &mut pending,
            features: &mut features,
            gains: &mut gains,
        },
    };
    let out = ModelBuffers {
        nodes: &mut nodes,
        roots: &mut roots,
        base: &mut base,
    };
    let model = train_boosted(
        &data,
        train.y,
        &params,
        &mut workspace,
        &mut Rng::new(seed),
        None,
        out,
    )?;
    Ok(Boosted {
        nodes: model.nodes().to_vec(),
        roots: model.roots().to_vec(),
        base: model.base().to_vec(),
        cols,
        task,
    })
}

impl Boosted {
    /// Probabilities (softmax of the scores) or values for every row of `x`.
    pub fn predict(&self, x: &[f32]) -> Result<Vec<f64>> {
        let (kind, k) = match self.task {
            Task::Classes(k) => (edgeml_core::tree::ModelKind::Multiclass, k),
            Task::Regression => (edgeml_core::tree::ModelKind::Regression, 1),
        };
        let model = Model::new(kind, self.cols, k, &self.nodes, &self.roots, &self.base)?;
        let mut out = Vec::with_capacity(x.len() / self.cols * k);
        let mut scores = vec![0.0f32; k];
        for row in x.chunks_exact(self.cols) {
            model.predict_scores(row, &mut scores)?;
            if k == 1 {
                out.push(f64::from(scores[0]));
            } else {
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f64> = scores.iter().map(|&s| f64::from(s - max).exp()).collect();
                let total: f64 = e.iter().sum();
                out.extend(e.iter().map(|v| v / total));
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
