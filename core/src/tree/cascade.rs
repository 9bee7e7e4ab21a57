//! A cascade of boosted binary classifiers (seed 003's "cascading BDTs"): stage `k` separates
//! the signal from one background; an event it scores below its cut is assigned to that
//! background's purified sample and leaves the cascade, the rest go on to stage `k + 1`, and an
//! event that passes every stage is a signal candidate. Later stages are trained only on the
//! events the earlier ones pass, which is what makes the composition more than a vote.

use super::model::{Model, ModelKind};
use crate::{Error, Result, TensorView};

/// One stage: a [`ModelKind::Binary`] model giving `P(signal)` and the cut below which an
/// event is rejected into this stage's background sample.
#[derive(Clone, Copy, Debug)]
pub struct Stage<'a> {
    /// Binary model over the cascade's features; its prediction is `P(signal)`.
    pub model: Model<'a>,
    /// Events with `P(signal) < cut` stop at this stage.
    pub cut: f32,
}

/// A validated cascade over borrowed stages, applied in order.
#[derive(Clone, Copy, Debug)]
pub struct Cascade<'s, 'a> {
    stages: &'s [Stage<'a>],
}

impl<'s, 'a> Cascade<'s, 'a> {
    /// Checks that there is at least one stage, every model is `Binary` over the same number
    /// of features, and every cut is finite.
    pub fn new(stages: &'s [Stage<'a>]) -> Result<Self> {
        let first = stages.first().ok_or(Error::Empty)?;
        let d = first.model.n_features();
        for s in stages {
            if s.model.kind() != ModelKind::Binary {
                return Err(Error::InvalidParameter {
                    name: "cascade stages must be binary models",
                });
            }
            crate::error::ensure_len(d, s.model.n_features())?;
            if !s.cut.is_finite() {
                return Err(Error::InvalidParameter {
                    name: "cascade cuts must be finite",
                });
            }
        }
        Ok(Cascade { stages })
    }

    /// Number of stages.
    pub fn n_stages(&self) -> usize {
        self.stages.len()
    }

    /// Features per event.
    pub fn n_features(&self) -> usize {
        self.stages.first().map_or(0, |s| s.model.n_features())
    }

    /// Where event `x` (`n_features` values, NaN = missing) ends: the index of the first
    /// stage that scores it below its cut, or `n_stages()` when it passes them all.
    pub fn route(&self, x: &[f32]) -> Result<usize> {
        for (k, s) in self.stages.iter().enumerate() {
            if s.model.predict(x)? < s.cut {
                return Ok(k);
            }
        }
        Ok(self.stages.len())
    }

    /// [`Cascade::route`] for each row of the `n × n_features` matrix `x` into `out` (`n`).
    pub fn route_batch(&self, x: &TensorView<'_, f32>, out: &mut [u32]) -> Result<()> {
        let (n, d) = x.shape().as_matrix()?;
        crate::error::ensure_len(self.n_features(), d)?;
        crate::error::ensure_len(n, out.len())?;
        for (i, o) in out.iter_mut().enumerate() {
            *o = u32::try_from(self.route(x.row(i)?)?).map_err(|_| Error::SizeOverflow)?;
        }
        Ok(())
    }
}
