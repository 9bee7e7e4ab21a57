//! Clustering: k-means with k-means++ seeding, Lloyd iterations and mini-batch updates, every
//! buffer (centroids, assignment, sums, counts) owned by the caller.

pub mod kmeans;

pub use kmeans::{
    assign, greedy_trials, lloyd, mini_batch, nearest, seed_plus_plus, Fit, LloydParams, LloydWork,
    MiniBatchParams, ROW_BLOCK,
};
