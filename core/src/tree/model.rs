//! Ensembles of flat trees: one node array holding every tree back to back, the offset of each
//! tree's root, and per-output base scores. Everything is borrowed, so a model can be a set of
//! `static` arrays in flash.

use super::node::{Node, Tree};
use crate::{Error, Result, TensorView};

/// How the trees' outputs combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Boosted regression: `base[0] + Σ trees`.
    Regression,
    /// Boosted binary classification: logit `base[0] + Σ trees`; prediction is `P(class 1)`.
    Binary,
    /// Boosted softmax: tree `t` adds to class `t % n_outputs`; prediction is the top class.
    Multiclass,
    /// Forest regression: mean of the trees (no base scores).
    ForestMean,
    /// Forest classification: each tree's leaf is a class index, prediction is the majority.
    ForestVote,
}

impl ModelKind {
    /// Code used by the byte format.
    pub fn code(self) -> u8 {
        match self {
            ModelKind::Regression => 0,
            ModelKind::Binary => 1,
            ModelKind::Multiclass => 2,
            ModelKind::ForestMean => 3,
            ModelKind::ForestVote => 4,
        }
    }

    /// Kind of a byte-format code.
    pub fn from_code(code: u8) -> Option<ModelKind> {
        match code {
            0 => Some(ModelKind::Regression),
            1 => Some(ModelKind::Binary),
            2 => Some(ModelKind::Multiclass),
            3 => Some(ModelKind::ForestMean),
            4 => Some(ModelKind::ForestVote),
            _ => None,
        }
    }

    /// True for the boosted kinds, which carry one base score per output.
    pub fn has_base(self) -> bool {
        matches!(
            self,
            ModelKind::Regression | ModelKind::Binary | ModelKind::Multiclass
        )
    }
}

/// Caller-owned storage a trainer writes a model into.
#[derive(Debug)]
pub struct ModelBuffers<'a> {
    /// Nodes of all trees.
    pub nodes: &'a mut [Node],
    /// First node of each tree.
    pub roots: &'a mut [u32],
    /// Base scores (one per output for boosted models).
    pub base: &'a mut [f32],
}

/// True unless `node` is a leaf whose value is not a class index below `classes`.
fn is_class_leaf(node: &Node, classes: usize) -> bool {
    !node.is_leaf()
        || (node.value >= 0.0
            && node.value == libm::floorf(node.value)
            && (node.value as usize) < classes)
}

/// A validated tree ensemble over `n_features` inputs with `n_outputs` scores.
#[derive(Clone, Copy, Debug)]
pub struct Model<'a> {
    kind: ModelKind,
    n_features: usize,
    n_outputs: usize,
    nodes: &'a [Node],
    roots: &'a [u32],
    base: &'a [f32],
}

impl<'a> Model<'a> {
    /// Checks and wraps an ensemble: tree `t` is `nodes[roots[t]..roots[t + 1]]` (the last
    /// runs to the end), `roots[0] == 0`, each tree valid ([`Tree::validate`]); `base` has
    /// `n_outputs` finite values for boosted kinds and none for forests; `n_outputs` is 1
    /// except for `Multiclass` (2..=64) and `ForestVote` (the number of classes, 1..=64), whose
    /// leaves must hold class indices (whole numbers in `0..n_outputs`).
    pub fn new(
        kind: ModelKind,
        n_features: usize,
        n_outputs: usize,
        nodes: &'a [Node],
        roots: &'a [u32],
        base: &'a [f32],
    ) -> Result<Self> {
        let outputs_ok = match kind {
            ModelKind::Multiclass => n_outputs >= 2,
            ModelKind::ForestVote => n_outputs >= 1,
            _ => n_outputs == 1,
        };
        if !outputs_ok || n_outputs > super::objective::MAX_CHANNELS || n_features == 0 {
            return Err(Error::Corrupt {
                reason: "output or feature count does not fit the model kind",
            });
        }
        let base_len = if kind.has_base() { n_outputs } else { 0 };
        if base.len() != base_len || base.iter().any(|b| !b.is_finite()) {
            return Err(Error::Corrupt {
                reason: "base scores do not fit the model kind",
            });
        }
        if roots.is_empty() || roots.first() != Some(&0) {
            return Err(Error::Corrupt {
                reason: "model needs trees starting at node 0",
            });
        }
        let model = Model {
            kind,
            n_features,
            n_outputs,
            nodes,
            roots,
            base,
        };
        for t in 0..roots.len() {
            model.tree(t)?.validate(n_features)?;
        }
        if kind == ModelKind::ForestVote && nodes.iter().any(|n| !is_class_leaf(n, n_outputs)) {
            return Err(Error::Corrupt {
                reason: "forest-vote leaf is not a class index",
            });
        }
        Ok(model)
    }

    /// How outputs combine.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Features per input row.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Scores per row (classes for `Multiclass` / `ForestVote`, else 1).
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// All nodes, tree after tree.
    pub fn nodes(&self) -> &'a [Node] {
        self.nodes
    }

    /// First node of each tree.
    pub fn roots(&self) -> &'a [u32] {
        self.roots
    }

    /// Base scores.
    pub fn base(&self) -> &'a [f32] {
        self.base
    }

    /// Tree `t`.
    pub fn tree(&self, t: usize) -> Result<Tree<'a>> {
        let bad = Error::Corrupt {
            reason: "tree offsets out of order or range",
        };
        let start = *self.roots.get(t).ok_or(bad)? as usize;
        let end = match self.roots.get(t + 1) {
            Some(&e) => e as usize,
            None => self.nodes.len(),
        };
        if start >= end {
            return Err(bad);
        }
        let nodes = self.nodes.get(start..end).ok_or(bad)?;
        Ok(Tree { nodes })
    }

    /// Writes the `n_outputs` scores of row `x` (NaN = missing, routed by each node's
    /// default direction) to `out`: raw sums for boosted models (logit or per-class logits),
    /// the mean for `ForestMean`, vote fractions for `ForestVote`. Sums are taken in f64,
    /// base first, trees in order. `Err(NonFinite)` when a score overflows f32 (a boosted sum
    /// of large leaves).
    pub fn predict_scores(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        crate::error::ensure_len(self.n_features, x.len())?;
        crate::error::ensure_len(self.n_outputs, out.len())?;
        let mut acc = [0.0f64; super::objective::MAX_CHANNELS];
        let k = self.n_outputs;
        let acc = acc.get_mut(..k).ok_or(Error::InvalidParameter {
            name: "more than 64 outputs",
        })?;
        for (a, &b) in acc.iter_mut().zip(self.base) {
            *a = f64::from(b);
        }
        for t in 0..self.n_trees() {
            let v = self.tree(t)?.predict(x)?;
            let slot = match self.kind {
                ModelKind::Multiclass => acc.get_mut(t % k),
                ModelKind::ForestVote => acc.get_mut(v as usize),
                _ => acc.first_mut(),
            };
            if let Some(slot) = slot {
                *slot += if self.kind == ModelKind::ForestVote {
                    1.0
                } else {
                    f64::from(v)
                };
            }
        }
        let trees = self.n_trees() as f64;
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            *o = match self.kind {
                ModelKind::ForestMean | ModelKind::ForestVote => (a / trees) as f32,
                _ => *a as f32,
            };
        }
        crate::error::ensure_finite(out)
    }

    /// Prediction for row `x`: the value (regression kinds), `P(class 1)` (`Binary`), or the
    /// top class index (`Multiclass`, `ForestVote`; ties go to the lowest index).
    pub fn predict(&self, x: &[f32]) -> Result<f32> {
        let mut scores = [0.0f32; super::objective::MAX_CHANNELS];
        let scores = scores
            .get_mut(..self.n_outputs)
            .ok_or(Error::InvalidParameter {
                name: "more than 64 outputs",
            })?;
        self.predict_scores(x, scores)?;
        let first = scores.first().copied().unwrap_or(0.0);
        Ok(match self.kind {
            ModelKind::Regression | ModelKind::ForestMean => first,
            ModelKind::Binary => 1.0 / (1.0 + libm::expf(-first)),
            ModelKind::Multiclass | ModelKind::ForestVote => {
                let mut best = 0usize;
                for (k, &s) in scores.iter().enumerate() {
                    if s > scores.get(best).copied().unwrap_or(f32::NEG_INFINITY) {
                        best = k;
                    }
                }
                best as f32
            }
        })
    }

    /// [`Model::predict`] for each row of the `n × n_features` matrix `x` into `out` (`n`).
    pub fn predict_batch(&self, x: &TensorView<'_, f32>, out: &mut [f32]) -> Result<()> {
        let (n, d) = x.shape().as_matrix()?;
        crate::error::ensure_len(self.n_features, d)?;
        crate::error::ensure_len(n, out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.predict(x.row(i)?)?;
        }
        Ok(())
    }

    /// Number of splits on each feature over all trees, written to `out` (`n_features`).
    pub fn split_counts(&self, out: &mut [u32]) -> Result<()> {
        crate::error::ensure_len(self.n_features, out.len())?;
        out.fill(0);
        for node in self.nodes.iter().filter(|n| !n.is_leaf()) {
            if let Some(c) = out.get_mut(node.feature as usize) {
                *c = c.saturating_add(1);
            }
        }
        Ok(())
    }
}
