//! The edgeml detectors, fitted on normal rows and scoring calibration and test rows: an
//! autoencoder (reconstruction error), k-means (distance to the nearest centroid), k-NN
//! (distance to the k-th nearest normal row), and their ensemble (sum of scores standardized
//! by each detector's held-out normal mean and std, kept with Welford's update).

use anyhow::{anyhow, Result};
use edgeml_core::anomaly::{
    autoencoder_topology, train_step, CentroidDistance, Corruption, KnnDistance, Reconstruction,
    ScoreSource, Welford,
};
use edgeml_core::cluster::{greedy_trials, lloyd, seed_plus_plus, LloydParams, LloydWork};
use edgeml_core::kernels::Dispatch;
use edgeml_core::knn::{KnnIndex, Metric, Points, Search};
use edgeml_core::nn::{self, Activation, Loss, Optimizer, TrainConfig};
use edgeml_core::rng::Rng;

/// Row-major rows of `cols` features.
#[derive(Clone, Debug)]
pub struct Rows {
    /// `rows × cols` values.
    pub x: Vec<f32>,
    /// Features per row.
    pub cols: usize,
}

impl Rows {
    /// Number of rows.
    pub fn count(&self) -> usize {
        self.x.len().checked_div(self.cols).unwrap_or(0)
    }

    fn points(&self) -> Result<Points<'_>> {
        Ok(Points::new(&self.x, self.count(), self.cols)?)
    }
}

/// Autoencoder settings.
#[derive(Clone, Debug)]
pub struct AeSettings {
    /// Layer sizes `[d, …, bottleneck, …, d]`.
    pub sizes: Vec<usize>,
    /// Training epochs.
    pub epochs: usize,
    /// Minibatch rows.
    pub batch: usize,
    /// Adam learning rate.
    pub learning_rate: f32,
    /// Input corruption (denoising).
    pub corruption: Corruption,
    /// Output activation: `Sigmoid` for inputs in [0, 1], `Identity` for standardized ones.
    pub output: Activation,
}

/// Settings of every detector.
#[derive(Clone, Debug)]
pub struct DetectorSettings {
    /// The autoencoder.
    pub ae: AeSettings,
    /// Centroids of the k-means detector.
    pub clusters: usize,
    /// Neighbour rank of the k-NN detector.
    pub k: usize,
    /// Kernel variant.
    pub dispatch: Dispatch,
}

/// The names of the detectors, in report order.
pub const DETECTORS: [&str; 4] = ["autoencoder", "kmeans", "knn", "ensemble"];

/// One detector's scores of the calibration (held-out normal) and test rows.
#[derive(Clone, Debug, Default)]
pub struct Scores {
    /// Held-out normal rows.
    pub calibration: Vec<f32>,
    /// Test rows.
    pub test: Vec<f32>,
    /// Fit plus scoring, wall seconds.
    pub seconds: f64,
}

/// Parameters of the autoencoder with these layer sizes.
pub fn ae_params(sizes: &[usize]) -> Result<usize> {
    let topology = autoencoder_topology(sizes, Activation::Relu, Activation::Sigmoid)?;
    Ok(topology.param_len())
}

fn score_all(source: &mut impl ScoreSource, rows: &Rows) -> Result<Vec<f32>> {
    let mut scores = vec![0.0; rows.count()];
    source.score_batch(&rows.x, &mut scores)?;
    Ok(scores)
}

/// Trains the autoencoder on `fit` (MSE, ReLU hidden layers, Adam) and
/// returns its reconstruction errors.
pub fn autoencoder(
    fit: &Rows,
    eval: [&Rows; 2],
    s: &AeSettings,
    d: Dispatch,
    seed: u64,
) -> Result<Scores> {
    let start = std::time::Instant::now();
    let topology = autoencoder_topology(&s.sizes, Activation::Relu, s.output)?;
    let mut config = TrainConfig::new(
        s.batch,
        Loss::MeanSquaredError,
        Optimizer::adam(s.learning_rate),
    );
    config.dispatch = d;
    let mut workspace = vec![0.0; nn::workspace_len(&s.sizes, false, s.batch, 2, false)];
    let (mut mlp, mut trainer) = nn::split_workspace(topology, config, &mut workspace)?;
    let mut rng = Rng::new(seed);
    mlp.init(&mut rng);
    let mut order: Vec<usize> = (0..fit.count()).collect();
    let (mut batch, mut noisy) = (Vec::new(), Vec::new());
    for _ in 0..s.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(s.batch) {
            batch.clear();
            for &i in chunk {
                batch.extend_from_slice(&fit.x[i * fit.cols..(i + 1) * fit.cols]);
            }
            noisy.resize(batch.len(), 0.0);
            train_step(
                &mut trainer,
                &mut mlp,
                &batch,
                &mut noisy,
                s.corruption,
                &mut rng,
            )?;
        }
    }
    const ROWS: usize = 256;
    let mut scratch = vec![0.0; Reconstruction::scratch_len(&s.sizes, ROWS)];
    let mut out = vec![0.0; ROWS * fit.cols];
    let mut source = Reconstruction::new(
        &mlp,
        Loss::MeanSquaredError,
        d,
        ROWS,
        &mut scratch,
        &mut out,
    )?;
    Ok(Scores {
        calibration: score_all(&mut source, eval[0])?,
        test: score_all(&mut source, eval[1])?,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// k-means (greedy k-means++, Lloyd with gemm-ranked assignments) on `fit`; scores are squared distances to the nearest
/// centroid.
pub fn kmeans(
    fit: &Rows,
    eval: [&Rows; 2],
    clusters: usize,
    dispatch: Dispatch,
    seed: u64,
) -> Result<Scores> {
    let start = std::time::Instant::now();
    let points = fit.points()?;
    let k = clusters.min(fit.count());
    let mut centroids = vec![0.0; k * fit.cols];
    let mut closest = vec![0.0; fit.count()];
    let mut rng = Rng::new(seed);
    seed_plus_plus(
        points,
        greedy_trials(k),
        &mut rng,
        &mut centroids,
        &mut closest,
    )?;
    let (mut sums, mut counts, mut assignment) =
        (vec![0.0; centroids.len()], vec![0; k], vec![0; fit.count()]);
    let mut tile = vec![0.0; LloydWork::tile_len(k)];
    let work = LloydWork {
        sums: &mut sums,
        counts: &mut counts,
        tile: &mut tile,
    };
    let params = LloydParams {
        dispatch: Some(dispatch),
        ..LloydParams::default()
    };
    lloyd(points, params, &mut centroids, &mut assignment, work)?;
    let mut source = CentroidDistance::new(&centroids, fit.cols)?;
    Ok(Scores {
        calibration: score_all(&mut source, eval[0])?,
        test: score_all(&mut source, eval[1])?,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Squared L2 distance to the k-th nearest row of `fit`, by brute force.
pub fn knn(fit: &Rows, eval: [&Rows; 2], k: usize) -> Result<Scores> {
    let start = std::time::Instant::now();
    let index = KnnIndex::new(fit.points()?, Search::BruteForce, &mut [], &mut [])?;
    let mut source = KnnDistance::<16>::new(index, Metric::SquaredL2, k)?;
    Ok(Scores {
        calibration: score_all(&mut source, eval[0])?,
        test: score_all(&mut source, eval[1])?,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The sum over `members` of `(score − mean) / std`, mean and std of each member's
/// calibration scores (Welford).
pub fn ensemble(members: &[&Scores]) -> Result<Scores> {
    let first = members
        .first()
        .ok_or_else(|| anyhow!("an ensemble needs members"))?;
    let mut out = Scores {
        calibration: vec![0.0; first.calibration.len()],
        test: vec![0.0; first.test.len()],
        seconds: members.iter().map(|m| m.seconds).sum(),
    };
    for member in members {
        let mut stats = Welford::new();
        stats.extend(&member.calibration)?;
        let (mean, std) = (stats.mean()?, stats.std()?.max(1e-12));
        let z = |s: f32| ((f64::from(s) - mean) / std) as f32;
        for (o, &s) in out.calibration.iter_mut().zip(&member.calibration) {
            *o += z(s);
        }
        for (o, &s) in out.test.iter_mut().zip(&member.test) {
            *o += z(s);
        }
    }
    Ok(out)
}

/// Every detector on one normal class: `[autoencoder, kmeans, knn, ensemble]`.
pub fn all(fit: &Rows, eval: [&Rows; 2], s: &DetectorSettings, seed: u64) -> Result<Vec<Scores>> {
    let ae = autoencoder(fit, eval, &s.ae, s.dispatch, seed)?;
    let km = kmeans(fit, eval, s.clusters, s.dispatch, seed)?;
    let nn = knn(fit, eval, s.k)?;
    let en = ensemble(&[&ae, &nn])?;
    Ok(vec![ae, km, nn, en])
}
