//! Shared helpers of the tree tests: owned buffers around the core's caller-buffer API, a
//! recursive reference walk, and small data generators.
#![allow(dead_code)]

use edgeml_core::rng::Rng;
use edgeml_core::tree::binning::cuts_len;
use edgeml_core::tree::boost::boosted_trees;
use edgeml_core::tree::{
    train_boosted, train_forest, BinMapper, BinnedData, BoostParams, BoostWorkspace, ForestParams,
    ForestTask, Model, ModelBuffers, ModelKind, Node, Pending, TreeWorkspace, Validation,
};
use edgeml_core::{Result, TensorView};

/// A trained model in owned vectors.
#[derive(Clone, Debug)]
pub struct Owned {
    pub kind: ModelKind,
    pub n_features: usize,
    pub n_outputs: usize,
    pub nodes: Vec<Node>,
    pub roots: Vec<u32>,
    pub base: Vec<f32>,
    /// Gain importance per feature, summed over every split of every tree.
    pub gains: Vec<f64>,
}

impl Owned {
    pub fn model(&self) -> Model<'_> {
        Model::new(
            self.kind,
            self.n_features,
            self.n_outputs,
            &self.nodes,
            &self.roots,
            &self.base,
        )
        .unwrap()
    }

    fn from(model: Model<'_>) -> Owned {
        Owned {
            kind: model.kind(),
            n_features: model.n_features(),
            n_outputs: model.n_outputs(),
            nodes: model.nodes().to_vec(),
            roots: model.roots().to_vec(),
            base: model.base().to_vec(),
            gains: vec![],
        }
    }

    /// Nodes of tree `t`.
    pub fn tree_nodes(&self, t: usize) -> &[Node] {
        let start = self.roots[t] as usize;
        let end = self
            .roots
            .get(t + 1)
            .map_or(self.nodes.len(), |&e| e as usize);
        &self.nodes[start..end]
    }
}

/// Binned data with the buffers it borrows.
pub struct Binned {
    pub cuts: Vec<f32>,
    pub bins: Vec<u8>,
    pub n: usize,
    pub d: usize,
    pub max_bins: usize,
}

impl Binned {
    pub fn new(x: &[f32], n: usize, d: usize, max_bins: usize) -> Result<Binned> {
        let view = TensorView::matrix(x, n, d)?;
        let mut cuts = vec![0.0; cuts_len(d, max_bins)?];
        let mut scratch = vec![0.0; n];
        let mapper = BinMapper::fit(&view, max_bins, &mut scratch, &mut cuts)?;
        let mut bins = vec![0u8; n * d];
        mapper.bin_matrix(&view, &mut bins)?;
        Ok(Binned {
            cuts,
            bins,
            n,
            d,
            max_bins,
        })
    }

    pub fn data(&self) -> BinnedData<'_> {
        let mapper = BinMapper::new(&self.cuts, self.d, self.max_bins).unwrap();
        BinnedData::new(&self.bins, self.n, mapper).unwrap()
    }
}

/// Tree workspace vectors for `channels` and `max_leaves`.
pub struct TreeBufs {
    pub hist: Vec<f64>,
    pub pending: Vec<Pending>,
    pub features: Vec<u32>,
    pub gains: Vec<f64>,
}

impl TreeBufs {
    pub fn new(d: usize, max_bins: usize, channels: usize, max_leaves: usize) -> TreeBufs {
        TreeBufs {
            hist: vec![0.0; TreeWorkspace::hist_len(d, max_bins, channels, max_leaves).unwrap()],
            pending: vec![Pending::default(); max_leaves],
            features: vec![0; d],
            gains: vec![0.0; d],
        }
    }

    pub fn workspace(&mut self) -> TreeWorkspace<'_> {
        TreeWorkspace {
            hist: &mut self.hist,
            pending: &mut self.pending,
            features: &mut self.features,
            gains: &mut self.gains,
        }
    }
}

/// Trains a forest with `node_capacity` nodes in all.
pub fn forest(
    binned: &Binned,
    task: ForestTask<'_>,
    params: &ForestParams,
    seed: u64,
    node_capacity: usize,
) -> Result<Owned> {
    let channels = match task {
        ForestTask::Classify { n_classes, .. } => n_classes,
        ForestTask::Regress { .. } => 3,
    };
    let mut bufs = TreeBufs::new(binned.d, binned.max_bins, channels, params.tree.max_leaves);
    let mut rows = vec![0u32; binned.n];
    let mut nodes = vec![Node::default(); node_capacity];
    let mut roots = vec![0u32; params.n_trees];
    let mut base: Vec<f32> = vec![];
    let mut rng = Rng::new(seed);
    let data = binned.data();
    let model = train_forest(
        &data,
        task,
        params,
        &mut rows,
        &mut bufs.workspace(),
        &mut rng,
        ModelBuffers {
            nodes: &mut nodes,
            roots: &mut roots,
            base: &mut base,
        },
    )?;
    let mut owned = Owned::from(model);
    owned.gains = bufs.gains.clone();
    Ok(owned)
}

/// Trains a boosted model with `node_capacity` nodes in all.
pub fn boost(
    binned: &Binned,
    targets: &[f32],
    params: &BoostParams,
    seed: u64,
    node_capacity: usize,
) -> Result<Owned> {
    boost_validated(binned, targets, params, seed, node_capacity, None)
}

/// Validation rows binned with the training cuts, and the patience to stop with.
pub struct Held<'v> {
    pub x: &'v [f32],
    pub targets: &'v [f32],
    pub patience: usize,
}

/// [`boost`] watching a validation set; also returns the loss history.
pub fn boost_validated(
    binned: &Binned,
    targets: &[f32],
    params: &BoostParams,
    seed: u64,
    node_capacity: usize,
    held: Option<(&Held<'_>, &mut Vec<f64>)>,
) -> Result<Owned> {
    let n = binned.n;
    let per_row = BoostWorkspace::per_row_len(n, params.loss)?;
    let mut bufs = TreeBufs::new(binned.d, binned.max_bins, 3, params.tree.max_leaves);
    let mut scores = vec![0.0f64; per_row];
    let mut grad = vec![0.0f32; per_row];
    let mut hess = vec![0.0f32; per_row];
    let mut rows = vec![0u32; n];
    let mut nodes = vec![Node::default(); node_capacity];
    let mut roots = vec![0u32; boosted_trees(params)?];
    let mut base = vec![0.0f32; params.loss.outputs()];
    let mut rng = Rng::new(seed);
    let data = binned.data();
    let mut ws = BoostWorkspace {
        scores: &mut scores,
        grad: &mut grad,
        hess: &mut hess,
        rows: &mut rows,
        tree: bufs.workspace(),
    };
    let mapper = BinMapper::new(&binned.cuts, binned.d, binned.max_bins)?;
    let m = held.as_ref().map_or(0, |(h, _)| h.targets.len());
    let mut vbins = vec![0u8; m * binned.d];
    let mut vscores = vec![0.0f64; BoostWorkspace::per_row_len(m, params.loss)?];
    let mut validation = None;
    if let Some((held, history)) = held {
        mapper.bin_matrix(&TensorView::matrix(held.x, m, binned.d)?, &mut vbins)?;
        history.resize(params.n_rounds, 0.0);
        validation = Some(Validation {
            data: BinnedData::new(&vbins, m, mapper)?,
            targets: held.targets,
            scores: &mut vscores,
            patience: held.patience,
            history,
        });
    }
    let model = train_boosted(
        &data,
        targets,
        params,
        &mut ws,
        &mut rng,
        validation.as_mut(),
        ModelBuffers {
            nodes: &mut nodes,
            roots: &mut roots,
            base: &mut base,
        },
    )?;
    let mut owned = Owned::from(model);
    owned.gains = bufs.gains.clone();
    Ok(owned)
}

/// Bit 31 of `Node::left`: missing values go left (the format's documented layout).
const FLAG: u32 = 1 << 31;

/// Recursive reference walk of a flat tree (independent of the core's loop): NaN follows the
/// node's default-left bit, anything else compares with `<=`.
pub fn walk(nodes: &[Node], i: usize, x: &[f32]) -> f32 {
    let node = nodes[i];
    if node.feature == u32::MAX {
        return node.value;
    }
    let v = x[node.feature as usize];
    let left = if v.is_nan() {
        node.left & FLAG != 0
    } else {
        v <= node.value
    };
    let child = (node.left & !FLAG) as usize;
    walk(nodes, if left { child } else { child + 1 }, x)
}

/// Depth of every node of a flat tree (root 0), by a recursive descent.
pub fn depths(nodes: &[Node]) -> Vec<usize> {
    fn visit(nodes: &[Node], i: usize, depth: usize, out: &mut [usize]) {
        out[i] = depth;
        if nodes[i].feature != u32::MAX {
            let child = (nodes[i].left & !FLAG) as usize;
            visit(nodes, child, depth + 1, out);
            visit(nodes, child + 1, depth + 1, out);
        }
    }
    let mut out = vec![0; nodes.len()];
    visit(nodes, 0, 0, &mut out);
    out
}

/// Replaces each entry of `x` by NaN with probability `p`.
pub fn with_missing(rng: &mut Rng, x: &mut [f32], p: f32) {
    for v in x.iter_mut() {
        if rng.uniform(0.0, 1.0) < p {
            *v = f32::NAN;
        }
    }
}

/// f64 sum of base and the first `trees` trees for output `class` of a boosted model
/// (tree `t` belongs to class `t % n_outputs`).
pub fn boosted_score(model: &Owned, trees: usize, class: usize, x: &[f32]) -> f64 {
    let k = model.n_outputs;
    let mut s = f64::from(model.base[class]);
    for t in (0..trees).filter(|t| t % k == class) {
        s += f64::from(walk(model.tree_nodes(t), 0, x));
    }
    s
}

/// `n × d` uniform features in `[-1, 1)`.
pub fn uniform_matrix(rng: &mut Rng, n: usize, d: usize) -> Vec<f32> {
    (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect()
}
