//! k-means on Fashion-MNIST's training images, as scikit-learn's `KMeans` runs it (greedy
//! k-means++ seeding, Lloyd to tolerance 1e-4 relative to the mean feature variance, one
//! initialization; assignments ranked by one gemm per block of rows), and mini-batch k-means from the same seeding: inertia and time.

use anyhow::Result;
use edgeml_core::cluster::{
    greedy_trials, lloyd, mini_batch, seed_plus_plus, LloydParams, LloydWork, MiniBatchParams,
};
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::Points;
use edgeml_core::rng::Rng;

use crate::datasets::{self, DataConfig};
use crate::experiments::trees::fit::{timed, Timing};

/// Sizes of the run.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Training images clustered (the first ones).
    pub rows: usize,
    /// Clusters.
    pub k: usize,
    /// Mini-batch rows.
    pub batch: usize,
    /// Mini-batch steps.
    pub steps: usize,
    /// Kernel variant of Lloyd's gemm-ranked assignments.
    pub dispatch: Dispatch,
}

/// One algorithm's result.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Sum of squared distances to the nearest centroid.
    pub inertia: f64,
    /// Lloyd iterations or mini-batch steps.
    pub iterations: usize,
    /// Seeding plus iterations.
    pub time: Timing,
}

/// What the run measured: rows, features, Lloyd, mini-batch.
pub struct Outcome {
    /// Rows and features clustered.
    pub shape: (usize, usize),
    /// Greedy k-means++ then Lloyd.
    pub lloyd: Run,
    /// Greedy k-means++ then mini-batch steps.
    pub mini_batch: Run,
}

/// Loads the images and runs both algorithms once each (single thread).
pub fn run(config: &DataConfig, s: &Settings, seed: u64) -> Result<Outcome> {
    let split = datasets::load_fashion_mnist_or_synthetic(config, s.rows, 100, seed)?;
    let cols = split.train.features.ncols();
    let rows = s.rows.min(split.train.rows());
    let data: Vec<f32> = split
        .train
        .features
        .iter()
        .copied()
        .take(rows * cols)
        .collect();
    let points = Points::new(&data, rows, cols)?;
    let k = s.k.min(rows);
    let seed_into = |centroids: &mut Vec<f32>| -> Result<()> {
        let mut closest = vec![0.0; rows];
        let mut rng = Rng::new(seed);
        seed_plus_plus(points, greedy_trials(k), &mut rng, centroids, &mut closest)?;
        Ok(())
    };
    let (time, fit) = timed(1, || {
        let mut centroids = vec![0.0; k * cols];
        seed_into(&mut centroids)?;
        let (mut sums, mut counts, mut assignment) =
            (vec![0.0; k * cols], vec![0; k], vec![0; rows]);
        let mut tile = vec![0.0; LloydWork::tile_len(k)];
        let work = LloydWork {
            sums: &mut sums,
            counts: &mut counts,
            tile: &mut tile,
        };
        let params = LloydParams {
            dispatch: Some(s.dispatch),
            ..LloydParams::default()
        };
        Ok(lloyd(
            points,
            params,
            &mut centroids,
            &mut assignment,
            work,
        )?)
    })?;
    let lloyd_run = Run {
        inertia: fit.inertia,
        iterations: fit.iterations,
        time,
    };
    let (time, fit) = timed(1, || {
        let mut centroids = vec![0.0; k * cols];
        seed_into(&mut centroids)?;
        let (mut counts, mut assignment) = (vec![0; k], vec![0; rows]);
        let (mut picks, mut near) = (vec![0; s.batch], vec![0; s.batch]);
        let params = MiniBatchParams {
            batch: s.batch,
            steps: s.steps,
        };
        let mut rng = Rng::new(seed ^ 0x5eed);
        Ok(mini_batch(
            points,
            params,
            &mut rng,
            &mut centroids,
            &mut counts,
            &mut picks,
            &mut near,
            &mut assignment,
        )?)
    })?;
    let mini = Run {
        inertia: fit.inertia,
        iterations: fit.iterations,
        time,
    };
    Ok(Outcome {
        shape: (rows, cols),
        lloyd: lloyd_run,
        mini_batch: mini,
    })
}
