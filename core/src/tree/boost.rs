//! Gradient boosting: each round fits one tree per output to the loss's gradients and
//! hessians at the current scores (second-order step `-G/(H+λ)`), shrinks its leaves by the
//! learning rate and adds it to the scores; optionally a validation set stops training when
//! its loss has not improved for `patience` rounds, keeping the best round.
//!
//! Losses are in [`super::loss`]; with the absolute loss each leaf is reset to the median
//! residual of its rows after the tree is grown.

use super::binning::BinnedData;
use super::builder::{build_tree, TreeParams, TreeWorkspace};

use super::loss::{check_targets, gradients, median, prior, Loss};
use super::model::{Model, ModelBuffers, ModelKind};
use super::node::{Node, Tree};
use super::objective::{Newton, MAX_CHANNELS};
use crate::rng::Rng;
use crate::{Error, Result};

/// Boosting settings.
#[derive(Clone, Copy, Debug)]
pub struct BoostParams {
    /// Loss to minimize.
    pub loss: Loss,
    /// Rounds (each adds `loss.outputs()` trees).
    pub n_rounds: usize,
    /// Shrinkage applied to every leaf, in `(0, 1]`.
    pub learning_rate: f32,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Per-tree growth limits (`max_features` subsamples columns per node).
    pub tree: TreeParams,
    /// Fraction of rows drawn (without replacement) for each round, in `(0, 1]`. At `1.0`
    /// every round uses all rows in their stored order and draws nothing from the RNG.
    pub row_subsample: f32,
    /// Start from the target prior (mean, median, log-odds, log class frequencies) instead
    /// of 0.
    pub start_from_prior: bool,
}

/// Scratch memory of boosting (`n` training rows, `k = loss.outputs()`).
#[derive(Debug)]
pub struct BoostWorkspace<'a> {
    /// Current scores, `n * k`.
    pub scores: &'a mut [f64],
    /// Gradients, `n * k`.
    pub grad: &'a mut [f32],
    /// Hessians, `n * k`.
    pub hess: &'a mut [f32],
    /// Row sample, `n`.
    pub rows: &'a mut [u32],
    /// Tree builder scratch (3 channels).
    pub tree: TreeWorkspace<'a>,
}

impl BoostWorkspace<'_> {
    /// Length of `scores`, `grad` and `hess`: `n_rows * loss.outputs()`.
    pub fn per_row_len(n_rows: usize, loss: Loss) -> Result<usize> {
        n_rows
            .checked_mul(loss.outputs())
            .ok_or(Error::SizeOverflow)
    }
}

/// A validation set watched during boosting: binned with the training mapper's cuts.
#[derive(Debug)]
pub struct Validation<'v> {
    /// Validation rows, binned by the same cuts as the training data.
    pub data: BinnedData<'v>,
    /// Validation targets (`data.n_rows()`), as for training.
    pub targets: &'v [f32],
    /// Scratch scores, `data.n_rows() * loss.outputs()`.
    pub scores: &'v mut [f64],
    /// Rounds without improvement before stopping (0: never stop early).
    pub patience: usize,
    /// Mean validation loss ([`Loss::value`]) after each round, `n_rounds` entries; rounds
    /// not run are NaN.
    pub history: &'v mut [f64],
}

/// Trees a boosted model of `params` holds at most: `n_rounds * loss.outputs()` (length of
/// `roots`).
pub fn boosted_trees(params: &BoostParams) -> Result<usize> {
    params
        .n_rounds
        .checked_mul(params.loss.outputs())
        .ok_or(Error::SizeOverflow)
}

fn leaf_of(nodes: &[Node], data: &BinnedData<'_>, row: Option<&u32>) -> Result<usize> {
    let row = *row.ok_or(Error::Empty)? as usize;
    Tree { nodes }.leaf_index_binned(data.row(row), data.mapper())
}

/// The leaf of `nodes` reached by the first row of `rows`, and how many leading rows reach
/// it. The builder leaves each leaf's rows contiguous, so the run's end is found by binary
/// search instead of walking every row down the tree.
fn leaf_run(nodes: &[Node], data: &BinnedData<'_>, rows: &[u32]) -> Result<(usize, usize)> {
    let leaf = leaf_of(nodes, data, rows.first())?;
    let len = rows
        .partition_point(|&r| leaf_of(nodes, data, Some(&r)).is_ok_and(|l| l == leaf))
        .max(1);
    Ok((leaf, len))
}

/// Absolute loss: resets each leaf of `nodes` to `lr ×` the median residual `y - s` of the
/// sampled `rows` it holds (the builder leaves each leaf's rows contiguous in `rows`).
/// `scratch` holds at least `rows.len()` values.
fn renew_leaves_with_medians(
    nodes: &mut [Node],
    data: &BinnedData<'_>,
    rows: &[u32],
    targets: &[f32],
    scores: &[f64],
    lr: f32,
    scratch: &mut [f32],
) -> Result<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let (leaf, len) = leaf_run(nodes, data, rest)?;
        let (run, tail) = rest.split_at_checked(len).ok_or(Error::Empty)?;
        let group = super::prefix_mut(scratch, len)?;
        for (slot, &r) in group.iter_mut().zip(run) {
            let r = r as usize;
            let y = f64::from(targets.get(r).copied().unwrap_or(0.0));
            *slot = (y - scores.get(r).copied().unwrap_or(0.0)) as f32;
        }
        let value = median(group) * lr;
        if let Some(node) = nodes.get_mut(leaf) {
            node.value = value;
        }
        rest = tail;
    }
    Ok(())
}

/// Adds `tree`'s output to column `class` of `scores` (`k` per row) for every row of `data`.
fn add_tree(
    tree: Tree<'_>,
    data: &BinnedData<'_>,
    scores: &mut [f64],
    k: usize,
    class: usize,
) -> Result<()> {
    for (i, s) in scores.chunks_exact_mut(k).enumerate() {
        let v = tree.predict_binned(data.row(i), data.mapper())?;
        if let Some(s) = s.get_mut(class) {
            *s += f64::from(v);
        }
    }
    Ok(())
}

/// Adds `tree`'s output to column `class` of the training `scores` (`k` per row) for the rows
/// it was grown on (`grown`, each leaf's rows contiguous: one lookup per leaf) and for the
/// other rows (`others`, walked down the tree one by one). Each row must appear once.
fn add_tree_to_training(
    tree: Tree<'_>,
    data: &BinnedData<'_>,
    grown: &[u32],
    others: &[u32],
    scores: &mut [f64],
    k: usize,
    class: usize,
) -> Result<()> {
    let mut add = |rows: &[u32], v: f32| {
        for &r in rows {
            if let Some(s) = (r as usize)
                .checked_mul(k)
                .and_then(|i| i.checked_add(class))
                .and_then(|i| scores.get_mut(i))
            {
                *s += f64::from(v);
            }
        }
    };
    let mut rest = grown;
    while !rest.is_empty() {
        let (leaf, len) = leaf_run(tree.nodes, data, rest)?;
        let (run, tail) = rest.split_at_checked(len).ok_or(Error::Empty)?;
        add(run, tree.nodes.get(leaf).map_or(0.0, |n| n.value));
        rest = tail;
    }
    for &r in others {
        add(
            &[r],
            tree.predict_binned(data.row(r as usize), data.mapper())?,
        );
    }
    Ok(())
}

fn check_validation(
    v: &mut Validation<'_>,
    data: &BinnedData<'_>,
    loss: Loss,
    n_rounds: usize,
) -> Result<()> {
    let (train, valid) = (data.mapper(), v.data.mapper());
    if train.max_bins() != valid.max_bins() || train.cuts() != valid.cuts() {
        return Err(Error::InvalidParameter {
            name: "validation data must be binned with the training cuts",
        });
    }
    let n = v.data.n_rows();
    crate::error::ensure_len(n, v.targets.len())?;
    check_targets(loss, v.targets)?;
    crate::error::ensure_len(BoostWorkspace::per_row_len(n, loss)?, v.scores.len())?;
    crate::error::ensure_len(n_rounds, v.history.len())?;
    v.history.fill(f64::NAN);
    Ok(())
}

fn mean_loss(loss: Loss, targets: &[f32], scores: &[f64]) -> f64 {
    let k = loss.outputs();
    let total: f64 = targets
        .iter()
        .zip(scores.chunks_exact(k))
        .map(|(&y, s)| loss.value(y, s))
        .sum();
    total / targets.len().max(1) as f64
}

/// Trains a boosted model on `data` and `targets` (`n` values, see [`Loss`]) into `out`:
/// `nodes` (trees back to back; `CapacityExceeded` when short), `roots`
/// ([`boosted_trees`] entries) and `base` (`loss.outputs()` values). With `validation`, its
/// loss is recorded per round and training stops after `patience` rounds without
/// improvement; the model returned ends at the round with the lowest validation loss (even
/// with `patience == 0`), so the validation set is used for model selection and its loss
/// is an optimistic estimate: measure generalization on a separate test set.
pub fn train_boosted<'a>(
    data: &BinnedData<'_>,
    targets: &[f32],
    params: &BoostParams,
    workspace: &mut BoostWorkspace<'_>,
    rng: &mut Rng,
    mut validation: Option<&mut Validation<'_>>,
    out: ModelBuffers<'a>,
) -> Result<Model<'a>> {
    let n = data.n_rows();
    let loss = params.loss;
    let k = loss.outputs();
    if let Loss::Softmax { n_classes } = loss {
        if !(2..=MAX_CHANNELS).contains(&n_classes) {
            return Err(Error::InvalidParameter {
                name: "softmax needs 2..=64 classes",
            });
        }
    }
    crate::error::ensure_len(n, targets.len())?;
    check_targets(loss, targets)?;
    let lr = params.learning_rate;
    let in_unit = |v: f32| v > 0.0 && v <= 1.0;
    if !in_unit(lr) || !in_unit(params.row_subsample) {
        return Err(Error::InvalidParameter {
            name: "learning_rate and row_subsample must be in (0, 1]",
        });
    }
    if params.n_rounds == 0 {
        return Err(Error::InvalidParameter {
            name: "n_rounds must be >= 1",
        });
    }
    let per_row = BoostWorkspace::per_row_len(n, loss)?;
    crate::error::ensure_len(per_row, workspace.scores.len())?;
    crate::error::ensure_len(per_row, workspace.grad.len())?;
    crate::error::ensure_len(per_row, workspace.hess.len())?;
    crate::error::ensure_len(n, workspace.rows.len())?;
    let n_trees = boosted_trees(params)?;
    crate::error::ensure_len(n_trees, out.roots.len())?;
    crate::error::ensure_len(k, out.base.len())?;
    if let Some(v) = validation.as_deref_mut() {
        check_validation(v, data, loss, params.n_rounds)?;
    }
    if params.start_from_prior {
        prior(loss, targets, workspace.hess, out.base);
    } else {
        out.base.fill(0.0);
    }
    let init = |scores: &mut [f64], base: &[f32]| {
        for row in scores.chunks_exact_mut(k) {
            for (s, &b) in row.iter_mut().zip(base) {
                *s = f64::from(b);
            }
        }
    };
    init(workspace.scores, out.base);
    if let Some(v) = validation.as_deref_mut() {
        init(v.scores, out.base);
    }
    let sample = ((params.row_subsample as f64 * n as f64) as usize).clamp(1, n);
    let mut used = 0usize;
    let mut kept_nodes = 0usize;
    let mut kept_trees = 0usize;
    let mut best = f64::INFINITY;
    let mut best_round = 0usize;
    for round in 0..params.n_rounds {
        gradients(
            loss,
            targets,
            workspace.scores,
            workspace.grad,
            workspace.hess,
        );
        for (i, r) in workspace.rows.iter_mut().enumerate() {
            *r = i as u32;
        }
        if sample < n {
            for i in 0..sample {
                let j = i + rng.below_usize(n - i);
                workspace.rows.swap(i, j);
            }
        }
        for class in 0..k {
            let objective = Newton {
                grad: workspace.grad,
                hess: workspace.hess,
                stride: k,
                offset: class,
                lambda: params.lambda,
            };
            let free = out.nodes.get_mut(used..).unwrap_or(&mut []);
            let rows = workspace.rows.get_mut(..sample).ok_or(Error::Empty)?;
            let count = build_tree(
                data,
                &objective,
                &params.tree,
                rows,
                &mut workspace.tree,
                rng,
                free,
            )
            .map_err(|e| match e {
                Error::CapacityExceeded { requested, .. } => Error::CapacityExceeded {
                    requested: used + requested,
                    capacity: out.nodes.len(),
                },
                other => other,
            })?;
            let tree_nodes = out.nodes.get_mut(used..used + count).ok_or(Error::Empty)?;
            if loss == Loss::Absolute {
                let rows = workspace.rows.get(..sample).unwrap_or(&[]);
                renew_leaves_with_medians(
                    tree_nodes,
                    data,
                    rows,
                    targets,
                    workspace.scores,
                    lr,
                    workspace.grad,
                )?;
            } else {
                for node in tree_nodes.iter_mut().filter(|n| n.is_leaf()) {
                    node.value *= lr;
                }
            }
            let tree = Tree { nodes: tree_nodes };
            let (grown, others) = workspace
                .rows
                .get(..n)
                .and_then(|r| r.split_at_checked(sample))
                .ok_or(Error::Empty)?;
            add_tree_to_training(tree, data, grown, others, workspace.scores, k, class)?;
            if let Some(v) = validation.as_deref_mut() {
                add_tree(tree, &v.data, v.scores, k, class)?;
            }
            if let Some(root) = out.roots.get_mut(round * k + class) {
                *root = u32::try_from(used).map_err(|_| Error::SizeOverflow)?;
            }
            used += count;
        }
        let Some(v) = validation.as_deref_mut() else {
            kept_nodes = used;
            kept_trees = (round + 1) * k;
            continue;
        };
        let current = mean_loss(loss, v.targets, v.scores);
        if let Some(h) = v.history.get_mut(round) {
            *h = current;
        }
        if current < best || round == 0 {
            best = current;
            best_round = round;
            kept_nodes = used;
            kept_trees = (round + 1) * k;
        }
        if v.patience > 0 && round - best_round >= v.patience {
            break;
        }
    }
    let kind = match loss {
        Loss::Squared | Loss::Absolute => ModelKind::Regression,
        Loss::Logistic => ModelKind::Binary,
        Loss::Softmax { .. } => ModelKind::Multiclass,
    };
    let nodes: &'a [Node] = out.nodes;
    let roots: &'a [u32] = out.roots;
    Model::new(
        kind,
        data.n_features(),
        k,
        nodes.get(..kept_nodes).unwrap_or(&[]),
        roots.get(..kept_trees).unwrap_or(&[]),
        out.base,
    )
}
