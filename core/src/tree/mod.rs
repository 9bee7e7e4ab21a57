//! Decision trees, gradient-boosted trees and random forests, trained and evaluated entirely in
//! caller-provided buffers.
//!
//! - [`binning`]: quantile cut points per feature and the `u8` bin matrix built from them.
//! - [`objective`]: what a row adds to a histogram bin and how a split is scored (Gini,
//!   entropy, variance, second-order gain).
//! - [`histogram`]: per-feature, per-bin statistic sums and the subtraction trick.
//! - [`split`]: the best split of one node from its histogram.
//! - [`builder`]: leaf-wise (best-first) or depth-wise tree growth into a flat [`Node`]
//!   array.
//! - [`node`]: the flat node layout and recursion-free inference over it.
//! - [`model`]: ensembles of flat trees (boosted sums, forest means and votes).
//! - [`loss`]: squared, absolute, logistic and softmax losses (values, gradients, priors).
//! - [`boost`]: gradient boosting with validation-based early stopping.
//! - [`forest`]: random forests and single CART trees.
//! - [`cascade`]: seed 003's cascade of boosted binary classifiers, routing events stage by
//!   stage.
//! - [`serial`]: the compact little-endian byte format with header and checksum.

pub mod binning;
pub mod boost;
pub mod builder;
pub mod cascade;
pub mod forest;
pub mod histogram;
pub mod loss;
pub mod model;
pub mod node;
pub mod objective;
pub mod serial;
pub mod split;

pub use binning::{BinMapper, BinnedData};
pub use boost::{train_boosted, BoostParams, BoostWorkspace, Validation};
pub use builder::{build_tree, Growth, Pending, TreeParams, TreeWorkspace};
pub use cascade::{Cascade, Stage};
pub use forest::{train_forest, ForestParams, ForestTask};
pub use loss::Loss;
pub use model::{Model, ModelBuffers, ModelKind};
pub use node::{Node, Tree};
pub use objective::{Classification, Impurity, Newton, Objective, Regression};

/// The first `needed` entries of a caller buffer, or `BufferTooSmall`.
fn prefix_mut<T>(buf: &mut [T], needed: usize) -> crate::Result<&mut [T]> {
    let available = buf.len();
    buf.get_mut(..needed)
        .ok_or(crate::Error::BufferTooSmall { needed, available })
}
