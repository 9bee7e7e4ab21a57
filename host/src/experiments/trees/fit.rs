//! Owned buffers around the core's caller-buffer tree API: binning a table, training boosted
//! models, forests and single CART trees, per-round scores, timing and serialized size.

use anyhow::{anyhow, Result};
use edgeml_core::rng::Rng;
use edgeml_core::tree::binning::cuts_len;
use edgeml_core::tree::boost::boosted_trees;
use edgeml_core::tree::{
    serial, train_boosted, train_forest, BinMapper, BinnedData, BoostParams, BoostWorkspace,
    ForestParams, ForestTask, Model, ModelBuffers, ModelKind, Node, Pending, Tree, TreeWorkspace,
    Validation,
};
use edgeml_core::TensorView;

/// A row-major `rows × cols` feature table.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// Features, `rows * cols` values.
    pub x: Vec<f32>,
    /// Features per row.
    pub cols: usize,
}

impl Matrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.x.len() / self.cols.max(1)
    }

    /// The table as a core matrix view.
    pub fn view(&self) -> Result<TensorView<'_, f32>> {
        Ok(TensorView::matrix(&self.x, self.rows(), self.cols)?)
    }

    /// The rows listed in `rows`, in that order.
    pub fn gather(&self, rows: &[usize]) -> Matrix {
        let mut x = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            x.extend_from_slice(&self.x[r * self.cols..(r + 1) * self.cols]);
        }
        Matrix { x, cols: self.cols }
    }
}

/// Quantile cut points fitted on a training table.
#[derive(Clone, Debug)]
pub struct Cuts {
    cuts: Vec<f32>,
    cols: usize,
    max_bins: usize,
}

impl Cuts {
    /// Fits `max_bins` quantile bins per column of `train`.
    pub fn fit(train: &Matrix, max_bins: usize) -> Result<Cuts> {
        let mut cuts = vec![0.0; cuts_len(train.cols, max_bins)?];
        let mut scratch = vec![0.0; train.rows()];
        BinMapper::fit(&train.view()?, max_bins, &mut scratch, &mut cuts)?;
        Ok(Cuts {
            cuts,
            cols: train.cols,
            max_bins,
        })
    }

    fn mapper(&self) -> Result<BinMapper<'_>> {
        Ok(BinMapper::new(&self.cuts, self.cols, self.max_bins)?)
    }

    /// Bins every row of `table` with these cuts.
    pub fn bin(&self, table: &Matrix) -> Result<Binned> {
        let mut bins = vec![0u8; table.x.len()];
        self.mapper()?.bin_matrix(&table.view()?, &mut bins)?;
        Ok(Binned {
            bins,
            rows: table.rows(),
        })
    }

    /// The binned view of `binned` (binned by these cuts).
    pub fn data<'a>(&'a self, binned: &'a Binned) -> Result<BinnedData<'a>> {
        Ok(BinnedData::new(&binned.bins, binned.rows, self.mapper()?)?)
    }
}

/// A table's bins (row-major `rows × cols`).
#[derive(Clone, Debug)]
pub struct Binned {
    bins: Vec<u8>,
    rows: usize,
}

/// A trained model in owned vectors, with its gain importance.
#[derive(Clone, Debug)]
pub struct Owned {
    kind: ModelKind,
    n_features: usize,
    n_outputs: usize,
    nodes: Vec<Node>,
    roots: Vec<u32>,
    base: Vec<f32>,
    /// Gain importance: the gain of every split summed per feature.
    pub gains: Vec<f64>,
    /// Validation loss after each round when trained with a validation set (NaN after a stop).
    pub history: Vec<f64>,
}

impl Owned {
    fn from_model(model: &Model<'_>, gains: Vec<f64>, history: Vec<f64>) -> Owned {
        Owned {
            kind: model.kind(),
            n_features: model.n_features(),
            n_outputs: model.n_outputs(),
            nodes: model.nodes().to_vec(),
            roots: model.roots().to_vec(),
            base: model.base().to_vec(),
            gains,
            history,
        }
    }

    /// The core model over these buffers.
    pub fn model(&self) -> Result<Model<'_>> {
        Ok(Model::new(
            self.kind,
            self.n_features,
            self.n_outputs,
            &self.nodes,
            &self.roots,
            &self.base,
        )?)
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Total number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The model in the core's byte format.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let model = self.model()?;
        let mut bytes = vec![0u8; serial::serialized_len(&model)?];
        let written = serial::save(&model, &mut bytes)?;
        bytes.truncate(written);
        Ok(bytes)
    }

    /// Loads a model back from [`Owned::to_bytes`]'s format.
    pub fn from_bytes(bytes: &[u8]) -> Result<Owned> {
        let header = serial::header(bytes)?;
        let mut nodes = vec![Node::default(); header.n_nodes];
        let mut roots = vec![0u32; header.n_trees];
        let mut base = vec![0.0f32; header.n_base];
        let model = serial::load(bytes, &mut nodes, &mut roots, &mut base)?;
        Ok(Owned::from_model(&model, Vec::new(), Vec::new()))
    }

    /// [`Model::predict`] of every row of `table`.
    pub fn predict(&self, table: &Matrix) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; table.rows()];
        self.model()?.predict_batch(&table.view()?, &mut out)?;
        Ok(out)
    }

    /// Split counts per feature over all trees.
    pub fn split_counts(&self) -> Result<Vec<u32>> {
        let mut counts = vec![0u32; self.n_features];
        self.model()?.split_counts(&mut counts)?;
        Ok(counts)
    }

    /// Boosted models: the raw scores (`rows × n_outputs`, f64) after each round, handed to
    /// `visit(round, scores)` for rounds `1..=n_rounds`; one tree pass per round.
    pub fn for_each_round(
        &self,
        table: &Matrix,
        mut visit: impl FnMut(usize, &[f64]) -> Result<()>,
    ) -> Result<()> {
        let k = self.n_outputs;
        let mut scores = vec![0.0f64; table.rows() * k];
        for row in scores.chunks_exact_mut(k) {
            for (s, &b) in row.iter_mut().zip(&self.base) {
                *s = f64::from(b);
            }
        }
        let model = self.model()?;
        for t in 0..self.n_trees() {
            let tree: Tree<'_> = model.tree(t)?;
            let class = t % k;
            for (row, s) in table
                .x
                .chunks_exact(table.cols)
                .zip(scores.chunks_exact_mut(k))
            {
                s[class] += f64::from(tree.predict(row)?);
            }
            if class + 1 == k {
                visit(t / k + 1, &scores)?;
            }
        }
        Ok(())
    }
}

fn tree_buffers(
    cols: usize,
    max_bins: usize,
    channels: usize,
    max_leaves: usize,
) -> Result<(Vec<f64>, Vec<Pending>)> {
    let hist = vec![0.0f64; TreeWorkspace::hist_len(cols, max_bins, channels, max_leaves)?];
    Ok((hist, vec![Pending::default(); max_leaves]))
}

/// Nodes a tree with `max_leaves` leaves can use.
fn nodes_per_tree(max_leaves: usize) -> usize {
    2 * max_leaves.max(1) - 1
}

/// A validation set to watch while boosting.
pub struct Watch<'a> {
    /// Validation rows, binned with the training cuts.
    pub binned: &'a Binned,
    /// Their targets.
    pub targets: &'a [f32],
    /// Rounds without improvement before stopping (0: never).
    pub patience: usize,
}

/// Trains a boosted model on `binned` (by `cuts`) and `targets`.
pub fn boost(
    cuts: &Cuts,
    binned: &Binned,
    targets: &[f32],
    params: &BoostParams,
    seed: u64,
    watch: Option<Watch<'_>>,
) -> Result<Owned> {
    let data = cuts.data(binned)?;
    let n = data.n_rows();
    let cols = data.n_features();
    let per_row = BoostWorkspace::per_row_len(n, params.loss)?;
    let (mut hist, mut pending) = tree_buffers(cols, cuts.max_bins, 3, params.tree.max_leaves)?;
    let mut features = vec![0u32; cols];
    let mut gains = vec![0.0f64; cols];
    let (mut scores, mut grad, mut hess) =
        (vec![0.0; per_row], vec![0.0; per_row], vec![0.0; per_row]);
    let mut rows = vec![0u32; n];
    let n_trees = boosted_trees(params)?;
    let mut nodes = vec![Node::default(); n_trees * nodes_per_tree(params.tree.max_leaves)];
    let mut roots = vec![0u32; n_trees];
    let mut base = vec![0.0f32; params.loss.outputs()];
    let mut rng = Rng::new(seed);
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
    let mut history = vec![f64::NAN; params.n_rounds];
    let model = match watch {
        None => train_boosted(&data, targets, params, &mut workspace, &mut rng, None, out)?,
        Some(w) => {
            let valid = cuts.data(w.binned)?;
            let mut valid_scores =
                vec![0.0f64; BoostWorkspace::per_row_len(valid.n_rows(), params.loss)?];
            let mut validation = Validation {
                data: valid,
                targets: w.targets,
                scores: &mut valid_scores,
                patience: w.patience,
                history: &mut history,
            };
            train_boosted(
                &data,
                targets,
                params,
                &mut workspace,
                &mut rng,
                Some(&mut validation),
                out,
            )?
        }
    };
    let owned = Owned::from_model(&model, Vec::new(), Vec::new());
    Ok(Owned {
        gains,
        history,
        ..owned
    })
}

/// Trains a forest (or, with one tree and no bootstrap, a single CART tree).
pub fn forest(
    cuts: &Cuts,
    binned: &Binned,
    task: ForestTask<'_>,
    params: &ForestParams,
    seed: u64,
) -> Result<Owned> {
    let data = cuts.data(binned)?;
    let cols = data.n_features();
    let channels = match task {
        ForestTask::Classify { n_classes, .. } => n_classes,
        ForestTask::Regress { .. } => 3,
    };
    let (mut hist, mut pending) =
        tree_buffers(cols, cuts.max_bins, channels, params.tree.max_leaves)?;
    let mut features = vec![0u32; cols];
    let mut gains = vec![0.0f64; cols];
    let mut rows = vec![0u32; data.n_rows()];
    let mut nodes = vec![Node::default(); params.n_trees * nodes_per_tree(params.tree.max_leaves)];
    let mut roots = vec![0u32; params.n_trees];
    let mut base: Vec<f32> = Vec::new();
    let mut rng = Rng::new(seed);
    let mut workspace = TreeWorkspace {
        hist: &mut hist,
        pending: &mut pending,
        features: &mut features,
        gains: &mut gains,
    };
    let model = train_forest(
        &data,
        task,
        params,
        &mut rows,
        &mut workspace,
        &mut rng,
        ModelBuffers {
            nodes: &mut nodes,
            roots: &mut roots,
            base: &mut base,
        },
    )?;
    let owned = Owned::from_model(&model, Vec::new(), Vec::new());
    Ok(Owned { gains, ..owned })
}

/// Softmax class of each row of `scores` (`k` per row; ties go to the lowest index).
pub fn argmax_rows(scores: &[f64], k: usize) -> Vec<u32> {
    scores
        .chunks_exact(k)
        .map(|row| {
            let mut best = 0usize;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Wall-clock and CPU seconds of a timed call (medians over the runs).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// CPU seconds of the calling thread (Linux `/proc/thread-self/schedstat`), which a busy
    /// shared machine inflates less than the wall clock; `None` where unavailable.
    pub cpu_s: Option<f64>,
}

/// CPU time of the calling thread in seconds, where the kernel reports it.
fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median wall and CPU time of `runs` calls of `f` (at least one), and its last result.
pub fn timed<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Timing, T)> {
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs.max(1) {
        let cpu_start = thread_cpu_s();
        let start = std::time::Instant::now();
        last = Some(f()?);
        wall.push(start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_s()) {
            cpu.push(b - a);
        }
    }
    let value = last.ok_or_else(|| anyhow!("no run"))?;
    let timing = Timing {
        wall_s: median(wall),
        cpu_s: (cpu.len() == runs.max(1)).then(|| median(cpu)),
    };
    Ok((timing, value))
}
