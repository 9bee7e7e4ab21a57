//! Random forests (bootstrap rows + random feature candidates per node, vote or mean) and
//! single CART trees (a forest of one tree on all rows with all features).

use super::binning::BinnedData;
use super::builder::{build_tree, TreeParams, TreeWorkspace};
use super::model::{Model, ModelBuffers, ModelKind};
use super::node::Node;
use super::objective::{Classification, Impurity, Objective, Regression};
use crate::rng::Rng;
use crate::{Error, Result};

/// What a forest predicts.
#[derive(Clone, Copy, Debug)]
pub enum ForestTask<'a> {
    /// Classes `labels[i] < n_classes`, split by `impurity`, majority vote.
    Classify {
        /// Class of each row.
        labels: &'a [u32],
        /// Number of classes.
        n_classes: usize,
        /// Gini or entropy.
        impurity: Impurity,
    },
    /// Real targets, split by variance reduction, mean of the trees.
    Regress {
        /// Target of each row.
        targets: &'a [f32],
    },
}

/// Forest settings.
#[derive(Clone, Copy, Debug)]
pub struct ForestParams {
    /// Number of trees (≥ 1).
    pub n_trees: usize,
    /// Per-tree limits; `max_features` sets the random candidates per node.
    pub tree: TreeParams,
    /// Draw `n` rows with replacement per tree (else use every row once).
    pub bootstrap: bool,
}

/// Trains a forest on `data` into `out` (`roots`: `n_trees` entries, `base`: empty), using
/// `rows` (`n` entries) and the tree workspace (channels: `n_classes` or 3).
pub fn train_forest<'a>(
    data: &BinnedData<'_>,
    task: ForestTask<'_>,
    params: &ForestParams,
    rows: &mut [u32],
    workspace: &mut TreeWorkspace<'_>,
    rng: &mut Rng,
    out: ModelBuffers<'a>,
) -> Result<Model<'a>> {
    match task {
        ForestTask::Classify {
            labels,
            n_classes,
            impurity,
        } => {
            let objective = Classification {
                labels,
                n_classes,
                impurity,
            };
            grow(
                data,
                &objective,
                params,
                rows,
                workspace,
                rng,
                out,
                ModelKind::ForestVote,
                n_classes,
            )
        }
        ForestTask::Regress { targets } => {
            let objective = Regression { targets };
            grow(
                data,
                &objective,
                params,
                rows,
                workspace,
                rng,
                out,
                ModelKind::ForestMean,
                1,
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn grow<'a, O: Objective>(
    data: &BinnedData<'_>,
    objective: &O,
    params: &ForestParams,
    rows: &mut [u32],
    workspace: &mut TreeWorkspace<'_>,
    rng: &mut Rng,
    out: ModelBuffers<'a>,
    kind: ModelKind,
    n_outputs: usize,
) -> Result<Model<'a>> {
    let n = data.n_rows();
    objective.check(n)?;
    if params.n_trees == 0 {
        return Err(Error::InvalidParameter {
            name: "n_trees must be >= 1",
        });
    }
    crate::error::ensure_len(n, rows.len())?;
    crate::error::ensure_len(params.n_trees, out.roots.len())?;
    let mut used = 0usize;
    for t in 0..params.n_trees {
        for (i, r) in rows.iter_mut().enumerate() {
            *r = if params.bootstrap {
                rng.below_usize(n) as u32
            } else {
                i as u32
            };
        }
        let free = out.nodes.get_mut(used..).unwrap_or(&mut []);
        let count =
            build_tree(data, objective, &params.tree, rows, workspace, rng, free).map_err(|e| {
                match e {
                    Error::CapacityExceeded { requested, .. } => Error::CapacityExceeded {
                        requested: used + requested,
                        capacity: out.nodes.len(),
                    },
                    other => other,
                }
            })?;
        if let Some(root) = out.roots.get_mut(t) {
            *root = u32::try_from(used).map_err(|_| Error::SizeOverflow)?;
        }
        used += count;
    }
    let nodes: &'a [Node] = out.nodes;
    Model::new(
        kind,
        data.n_features(),
        n_outputs,
        nodes.get(..used).unwrap_or(&[]),
        out.roots,
        &[],
    )
}
