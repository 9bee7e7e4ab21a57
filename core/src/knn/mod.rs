//! k-nearest neighbours over caller-owned, row-major training data: exact brute-force search
//! or a kd-tree built into caller buffers, fixed-capacity top-k selection, and majority-vote
//! classification or weighted-mean regression on top.
//!
//! **Tie rule** (everywhere): neighbours are ordered by `(distance, training row index)`, so
//! of two rows at the same distance the one with the smaller index is nearer. Brute force and
//! the kd-tree compute every distance with the same per-pair function ([`distance::distance`];
//! for squared L2 the kernel [`crate::kernels::distance::squared_l2`], which the batched
//! brute force reaches through [`crate::kernels::distance::squared_l2_rows`]) and keep
//! candidates under this total order, so they return identical neighbours in identical order.
//! Class votes that tie go to the smallest class label.

pub mod distance;
pub mod index;
pub mod kdtree;
pub mod points;
pub mod predict;
pub mod topk;

pub use distance::{distance, Metric};
pub use index::{KnnIndex, Search};
pub use kdtree::{KdNode, KdTree};
pub use points::Points;
pub use predict::{KnnClassifier, KnnParams, KnnRegressor, Weighting};
pub use topk::{Neighbor, TopK};
