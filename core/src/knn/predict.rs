//! k-NN prediction: majority (or distance-weighted) vote for classes, (weighted) mean for
//! regression targets. Sums are taken in f64, in neighbour order.

use crate::error::{ensure_finite, Error, Result};
use crate::knn::distance::Metric;
use crate::knn::index::KnnIndex;
use crate::knn::points::Points;
use crate::knn::topk::{Neighbor, TopK};

/// How neighbours' votes (or targets) are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weighting {
    /// Every neighbour counts 1.
    Uniform,
    /// A neighbour counts `1 / length` ([`Metric::length`]: Euclidean or L1 distance). If
    /// some neighbours are at distance 0, only they count (1 each); if every weight is 0
    /// (all distances infinite), every neighbour counts 1.
    Distance,
}

/// Parameters of one prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnnParams {
    /// Neighbours consulted, `1 ≤ k ≤ rows` and `k ≤` the const capacity `K`.
    pub k: usize,
    /// Distance ranking the neighbours.
    pub metric: Metric,
    /// Vote weighting.
    pub weighting: Weighting,
}

/// Weight of neighbour `n` among `neighbors` (see [`Weighting`]).
fn weight(params: &KnnParams, neighbors: &[Neighbor], n: &Neighbor) -> f64 {
    match params.weighting {
        Weighting::Uniform => 1.0,
        Weighting::Distance => {
            let any_zero = neighbors.iter().any(|m| m.distance == 0.0);
            let all_infinite = neighbors.iter().all(|m| m.distance == f32::INFINITY);
            if all_infinite {
                1.0
            } else if any_zero {
                if n.distance == 0.0 {
                    1.0
                } else {
                    0.0
                }
            } else {
                1.0 / params.metric.length(n.distance)
            }
        }
    }
}

/// A k-NN classifier over an index and labels `0..n_classes`, one per training row.
#[derive(Debug, Clone, Copy)]
pub struct KnnClassifier<'a> {
    index: KnnIndex<'a>,
    labels: &'a [u32],
    n_classes: usize,
}

impl<'a> KnnClassifier<'a> {
    /// A classifier; `labels` must have one entry per training row (`Err(ShapeMismatch)`),
    /// each below `n_classes` (`Err(InvalidParameter)`); `n_classes == 0` is `Err(Empty)`.
    pub fn new(index: KnnIndex<'a>, labels: &'a [u32], n_classes: usize) -> Result<Self> {
        if n_classes == 0 {
            return Err(Error::Empty);
        }
        let rows = index.points().rows();
        if labels.len() != rows {
            return Err(Error::ShapeMismatch {
                expected: rows,
                found: labels.len(),
            });
        }
        if labels.iter().any(|&l| l as usize >= n_classes) {
            return Err(Error::InvalidParameter {
                name: "labels (each must be below n_classes)",
            });
        }
        Ok(KnnClassifier {
            index,
            labels,
            n_classes,
        })
    }

    /// The search index.
    pub fn index(&self) -> &KnnIndex<'a> {
        &self.index
    }

    /// The class of `query`: the label with the largest (weighted) vote among its `params.k`
    /// nearest rows, the smallest label on ties. `votes` is scratch of `n_classes` entries.
    pub fn predict<const K: usize>(
        &self,
        query: &[f32],
        params: KnnParams,
        votes: &mut [f64],
    ) -> Result<u32> {
        let mut top = TopK::<K>::new(params.k)?;
        self.index.search(query, params.metric, &mut top)?;
        self.vote(top.as_slice(), &params, votes)
    }

    /// Classes of every row of `queries` into `out` (one per query, `Err(ShapeMismatch)`
    /// otherwise); `votes` as in [`KnnClassifier::predict`].
    pub fn predict_batch<const K: usize>(
        &self,
        queries: Points<'_>,
        params: KnnParams,
        votes: &mut [f64],
        out: &mut [u32],
    ) -> Result<()> {
        if out.len() != queries.rows() {
            return Err(Error::ShapeMismatch {
                expected: queries.rows(),
                found: out.len(),
            });
        }
        self.check_votes(votes)?;
        self.index
            .search_batch::<K>(queries, params.metric, params.k, |i, neighbors| {
                let class = self.vote(neighbors, &params, votes)?;
                *out.get_mut(i).ok_or(Error::SizeOverflow)? = class;
                Ok(())
            })
    }

    fn check_votes(&self, votes: &[f64]) -> Result<()> {
        if votes.len() != self.n_classes {
            return Err(Error::ShapeMismatch {
                expected: self.n_classes,
                found: votes.len(),
            });
        }
        Ok(())
    }

    fn vote(&self, neighbors: &[Neighbor], params: &KnnParams, votes: &mut [f64]) -> Result<u32> {
        self.check_votes(votes)?;
        votes.fill(0.0);
        for n in neighbors {
            let label = *self.labels.get(n.index).ok_or(Error::SizeOverflow)?;
            let slot = votes.get_mut(label as usize).ok_or(Error::SizeOverflow)?;
            *slot += weight(params, neighbors, n);
        }
        let mut best = 0usize;
        for (class, &v) in votes.iter().enumerate() {
            if votes.get(best).is_some_and(|&b| v > b) {
                best = class;
            }
        }
        Ok(best as u32)
    }
}

/// A k-NN regressor over an index and one finite target per training row.
#[derive(Debug, Clone, Copy)]
pub struct KnnRegressor<'a> {
    index: KnnIndex<'a>,
    targets: &'a [f32],
}

impl<'a> KnnRegressor<'a> {
    /// A regressor; `targets` must have one finite entry per training row
    /// (`Err(ShapeMismatch)`, `Err(NonFinite)`).
    pub fn new(index: KnnIndex<'a>, targets: &'a [f32]) -> Result<Self> {
        let rows = index.points().rows();
        if targets.len() != rows {
            return Err(Error::ShapeMismatch {
                expected: rows,
                found: targets.len(),
            });
        }
        ensure_finite(targets)?;
        Ok(KnnRegressor { index, targets })
    }

    /// The (weighted) mean target of the `params.k` nearest rows to `query`.
    pub fn predict<const K: usize>(&self, query: &[f32], params: KnnParams) -> Result<f32> {
        let mut top = TopK::<K>::new(params.k)?;
        self.index.search(query, params.metric, &mut top)?;
        self.mean(top.as_slice(), &params)
    }

    /// Predictions for every row of `queries` into `out` (one per query).
    pub fn predict_batch<const K: usize>(
        &self,
        queries: Points<'_>,
        params: KnnParams,
        out: &mut [f32],
    ) -> Result<()> {
        if out.len() != queries.rows() {
            return Err(Error::ShapeMismatch {
                expected: queries.rows(),
                found: out.len(),
            });
        }
        self.index
            .search_batch::<K>(queries, params.metric, params.k, |i, neighbors| {
                let value = self.mean(neighbors, &params)?;
                *out.get_mut(i).ok_or(Error::SizeOverflow)? = value;
                Ok(())
            })
    }

    fn mean(&self, neighbors: &[Neighbor], params: &KnnParams) -> Result<f32> {
        let mut total = 0.0f64;
        let mut weights = 0.0f64;
        for n in neighbors {
            let target = *self.targets.get(n.index).ok_or(Error::SizeOverflow)?;
            let w = weight(params, neighbors, n);
            total += w * f64::from(target);
            weights += w;
        }
        if weights > 0.0 {
            Ok((total / weights) as f32)
        } else {
            Err(Error::Empty)
        }
    }
}
