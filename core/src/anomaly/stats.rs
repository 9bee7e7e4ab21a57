//! Score statistics: Welford's online mean and variance (no stored scores) and percentiles of
//! a score buffer.

use crate::error::{ensure_finite, Error, Result};

/// Running count, mean and sum of squared deviations (Welford 1962), in f64: numerically
/// stable where the naive `Σx² − n·mean²` cancels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Welford {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    /// No observations yet.
    pub const fn new() -> Self {
        Welford {
            count: 0,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// Adds one observation. `Err(NonFinite)` for NaN/inf (the state is left unchanged).
    pub fn push(&mut self, value: f32) -> Result<()> {
        if !value.is_finite() {
            return Err(Error::NonFinite { index: 0 });
        }
        let x = f64::from(value);
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        Ok(())
    }

    /// Adds every value of `values`; `Err(NonFinite)` at the first NaN/inf (those before it
    /// are kept).
    pub fn extend(&mut self, values: &[f32]) -> Result<()> {
        for (index, &v) in values.iter().enumerate() {
            self.push(v).map_err(|_| Error::NonFinite { index })?;
        }
        Ok(())
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Mean of the observations; `Err(Empty)` before the first.
    pub fn mean(&self) -> Result<f64> {
        if self.count == 0 {
            return Err(Error::Empty);
        }
        Ok(self.mean)
    }

    /// Population variance (divided by `n`); `Err(Empty)` before the first observation.
    pub fn variance(&self) -> Result<f64> {
        if self.count == 0 {
            return Err(Error::Empty);
        }
        Ok(self.m2 / self.count as f64)
    }

    /// Sample variance (divided by `n − 1`); `Err(Empty)` with fewer than two observations.
    pub fn sample_variance(&self) -> Result<f64> {
        if self.count < 2 {
            return Err(Error::Empty);
        }
        Ok(self.m2 / (self.count - 1) as f64)
    }

    /// Population standard deviation.
    pub fn std(&self) -> Result<f64> {
        Ok(libm::sqrt(self.variance()?))
    }
}

/// The `q`-th percentile (`q` in `[0, 100]`) of `scores` by linear interpolation between the
/// two nearest ranks (numpy's default rule: position `q/100 · (n − 1)` in the sorted values).
/// Sorts `scores` in place. Errors: `Empty`, `NonFinite`, `InvalidParameter` for `q` outside
/// `[0, 100]`.
pub fn percentile(scores: &mut [f32], q: f32) -> Result<f32> {
    if scores.is_empty() {
        return Err(Error::Empty);
    }
    if !(0.0..=100.0).contains(&q) {
        return Err(Error::InvalidParameter {
            name: "percentile must lie in [0, 100]",
        });
    }
    ensure_finite(scores)?;
    scores.sort_unstable_by(f32::total_cmp);
    let position = f64::from(q) / 100.0 * (scores.len() - 1) as f64;
    let below = libm::floor(position) as usize;
    let fraction = position - below as f64;
    let low = f64::from(scores.get(below).copied().unwrap_or(0.0));
    let high = f64::from(scores.get(below + 1).copied().unwrap_or(low as f32));
    Ok((low + fraction * (high - low)) as f32)
}
