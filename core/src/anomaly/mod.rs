//! Anomaly detection: learn what normal data looks like, score new samples, flag those above
//! a threshold chosen from held-out normal scores.
//!
//! - [`ScoreSource`]: anything that maps a sample to a score (higher = more anomalous):
//!   [`Reconstruction`] error of an autoencoder, [`KnnDistance`] to the k-th nearest normal
//!   sample, [`CentroidDistance`] to the nearest k-means centroid.
//! - [`stats`]: Welford's online mean and variance, percentiles of a score buffer.
//! - [`Threshold`]: a percentile of held-out normal scores, or `mean + z·std` kept online so a
//!   device can recalibrate without storing scores; [`Detector`] pairs it with a source.
//! - [`autoencoder`]: an MLP with a bottleneck trained on its own input through the MLP trainer
//!   (mean squared error, or binary cross-entropy for inputs in `[0, 1]`), optionally
//!   denoising.

pub mod autoencoder;
pub mod sources;
pub mod stats;
pub mod threshold;

pub use autoencoder::{autoencoder_topology, corrupt, train_step, Corruption};
pub use sources::{CentroidDistance, KnnDistance, Reconstruction, ScoreSource};
pub use stats::{percentile, Welford};
pub use threshold::{Detector, Threshold};
