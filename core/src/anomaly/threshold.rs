//! Thresholds chosen from held-out normal scores, and [`Detector`]: a score source with its
//! threshold.

use crate::anomaly::sources::ScoreSource;
use crate::anomaly::stats::{percentile, Welford};
use crate::error::{Error, Result};

/// How a threshold is chosen from the scores of held-out normal samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// The given percentile (`[0, 100]`) of the normal scores: e.g. 99 flags about 1 % of
    /// normal data.
    Percentile(f32),
    /// `mean + z·std` (population std) of the normal scores, kept with [`Welford`] so no score
    /// is stored.
    MeanStd {
        /// Standard deviations above the mean (finite).
        z: f32,
    },
}

impl Threshold {
    /// The threshold for held-out normal `scores` (sorted in place for a percentile). Errors:
    /// `Empty`, `NonFinite`, `InvalidParameter` for a bad percentile or z.
    pub fn from_scores(self, scores: &mut [f32]) -> Result<f32> {
        match self {
            Threshold::Percentile(q) => percentile(scores, q),
            Threshold::MeanStd { z } => {
                let mut stats = Welford::new();
                stats.extend(scores)?;
                Threshold::from_welford(z, &stats)
            }
        }
    }

    /// `mean + z·std` of the observations in `stats`. Errors: `Empty` before the first,
    /// `InvalidParameter` for a non-finite z.
    pub fn from_welford(z: f32, stats: &Welford) -> Result<f32> {
        if !z.is_finite() {
            return Err(Error::InvalidParameter {
                name: "z must be finite",
            });
        }
        let value = stats.mean()? + f64::from(z) * stats.std()?;
        Ok(value as f32)
    }
}

/// A [`ScoreSource`] and a threshold above which a sample is anomalous, recalibrated from
/// normal samples through [`Welford`] (`mean + z·std`) without storing their scores.
#[derive(Debug)]
pub struct Detector<S> {
    source: S,
    z: f32,
    stats: Welford,
    threshold: f32,
}

impl<S: ScoreSource> Detector<S> {
    /// A detector flagging scores above `mean + z·std` of the normal samples it is
    /// calibrated on; until then every score is below the (infinite) threshold.
    /// `Err(InvalidParameter)` for a non-finite z.
    pub fn new(source: S, z: f32) -> Result<Self> {
        if !z.is_finite() {
            return Err(Error::InvalidParameter {
                name: "z must be finite",
            });
        }
        Ok(Detector {
            source,
            z,
            stats: Welford::new(),
            threshold: f32::INFINITY,
        })
    }

    /// The score source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The score source, mutably (e.g. to fine-tune an autoencoder).
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The current threshold (infinite before calibration).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Replaces the threshold (e.g. a percentile computed on the host).
    /// `Err(InvalidParameter)` for NaN.
    pub fn set_threshold(&mut self, threshold: f32) -> Result<()> {
        if threshold.is_nan() {
            return Err(Error::InvalidParameter {
                name: "threshold must not be NaN",
            });
        }
        self.threshold = threshold;
        Ok(())
    }

    /// Forgets the calibration statistics (the threshold stays until the next calibration).
    pub fn reset_calibration(&mut self) {
        self.stats = Welford::new();
    }

    /// Scores one normal sample `x`, folds the score into the running statistics and updates
    /// the threshold; returns the score. Errors from the source, `NonFinite` for a NaN score.
    pub fn calibrate(&mut self, x: &[f32]) -> Result<f32> {
        let score = self.source.score(x)?;
        self.stats.push(score)?;
        self.threshold = Threshold::from_welford(self.z, &self.stats)?;
        Ok(score)
    }

    /// The statistics of the calibration scores so far.
    pub fn calibration(&self) -> &Welford {
        &self.stats
    }

    /// The score of `x` and whether it lies above the threshold.
    pub fn check(&mut self, x: &[f32]) -> Result<(f32, bool)> {
        let score = self.source.score(x)?;
        Ok((score, score > self.threshold))
    }
}
