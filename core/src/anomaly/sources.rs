//! Score sources: an autoencoder's reconstruction error, the distance to the k-th nearest
//! normal sample, the distance to the nearest k-means centroid. Higher means more anomalous.

use crate::cluster::kmeans::nearest;
use crate::error::{ensure_finite, ensure_len, Error, Result};
use crate::kernels::Dispatch;
use crate::knn::{KnnIndex, Metric, Points, TopK};
use crate::math::{Exact, Math};
use crate::nn::topology::inference_scratch_len;
use crate::nn::{Loss, Mlp};

/// Maps a sample of [`ScoreSource::dim`] features to an anomaly score.
pub trait ScoreSource {
    /// Features per sample.
    fn dim(&self) -> usize;

    /// The score of one sample `x` (`dim` values). Errors: `ShapeMismatch`, `NonFinite`, or
    /// the underlying model's.
    fn score(&mut self, x: &[f32]) -> Result<f32>;

    /// The scores of the rows of `x` (`rows × dim`, row-major) into `scores` (`rows`).
    /// Errors as [`ScoreSource::score`], and `ShapeMismatch` for inconsistent lengths.
    fn score_batch(&mut self, x: &[f32], scores: &mut [f32]) -> Result<()> {
        let d = self.dim();
        ensure_len(scores.len() * d, x.len())?;
        for (row, slot) in x.chunks_exact(d.max(1)).zip(scores.iter_mut()) {
            *slot = self.score(row)?;
        }
        Ok(())
    }
}

/// Mean squared reconstruction error `mean((r − x)²)` of an autoencoder, `r` being the network
/// output (for [`Loss::MeanSquaredError`]) or its sigmoid (for
/// [`Loss::BinaryCrossEntropyWithLogits`], whose outputs are logits). Scores up to `rows` samples
/// per forward pass.
#[derive(Debug)]
pub struct Reconstruction<'a, 'm> {
    mlp: &'a Mlp<'m>,
    sigmoid: bool,
    dispatch: Dispatch,
    rows: usize,
    scratch: &'a mut [f32],
    out: &'a mut [f32],
}

impl<'a, 'm> Reconstruction<'a, 'm> {
    /// The source over `mlp` (inputs = outputs) trained with `loss`, scoring `rows` samples a
    /// pass. `scratch` needs [`Reconstruction::scratch_len`]`(sizes, rows)` elements and `out`
    /// `rows × inputs`. Errors: `InvalidParameter` for a model whose outputs differ from its
    /// inputs, a loss other than MSE/BCE or zero rows, `BufferTooSmall`.
    pub fn new(
        mlp: &'a Mlp<'m>,
        loss: Loss,
        dispatch: Dispatch,
        rows: usize,
        scratch: &'a mut [f32],
        out: &'a mut [f32],
    ) -> Result<Self> {
        let topology = mlp.topology();
        if topology.inputs() != topology.outputs() {
            return Err(Error::InvalidParameter {
                name: "an autoencoder's outputs must equal its inputs",
            });
        }
        let sigmoid = match loss {
            Loss::MeanSquaredError => false,
            Loss::BinaryCrossEntropyWithLogits => true,
            _ => {
                return Err(Error::InvalidParameter {
                    name: "reconstruction loss must be MSE or BCE",
                })
            }
        };
        if rows == 0 {
            return Err(Error::InvalidParameter {
                name: "rows must be positive",
            });
        }
        let needed = Self::scratch_len(topology.sizes(), rows);
        if scratch.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: scratch.len(),
            });
        }
        let out_len = rows
            .checked_mul(topology.outputs())
            .ok_or(Error::SizeOverflow)?;
        if out.len() < out_len {
            return Err(Error::BufferTooSmall {
                needed: out_len,
                available: out.len(),
            });
        }
        Ok(Reconstruction {
            mlp,
            sigmoid,
            dispatch,
            rows,
            scratch,
            out,
        })
    }

    /// Scratch elements for `rows` samples a pass (the MLP's inference scratch).
    pub const fn scratch_len(sizes: &[usize], rows: usize) -> usize {
        inference_scratch_len(sizes, rows)
    }

    fn score_rows(&mut self, x: &[f32], scores: &mut [f32]) -> Result<()> {
        let d = self.dim();
        let out = self.out.get_mut(..x.len()).ok_or(Error::SizeOverflow)?;
        self.mlp.forward(self.dispatch, x, self.scratch, out)?;
        for ((input, recon), slot) in x.chunks_exact(d).zip(out.chunks_exact(d)).zip(&mut *scores) {
            let mut total = 0.0f32;
            for (&t, &y) in input.iter().zip(recon) {
                let r = if self.sigmoid { Exact::sigmoid(y) } else { y };
                total += (r - t) * (r - t);
            }
            *slot = total / d as f32;
        }
        ensure_finite(scores)
    }
}

impl ScoreSource for Reconstruction<'_, '_> {
    fn dim(&self) -> usize {
        self.mlp.topology().inputs()
    }

    fn score(&mut self, x: &[f32]) -> Result<f32> {
        ensure_len(self.dim(), x.len())?;
        let mut score = [0.0f32];
        self.score_rows(x, &mut score)?;
        Ok(score[0])
    }

    fn score_batch(&mut self, x: &[f32], scores: &mut [f32]) -> Result<()> {
        let d = self.dim();
        ensure_len(scores.len() * d, x.len())?;
        for (block, slots) in x.chunks(self.rows * d).zip(scores.chunks_mut(self.rows)) {
            self.score_rows(block, slots)?;
        }
        Ok(())
    }
}

/// Distance from a sample to its k-th nearest normal sample under a metric (squared L2 gives
/// squared distances: the same ranking as L2). `K` is the capacity of the neighbour list.
#[derive(Debug, Clone, Copy)]
pub struct KnnDistance<'a, const K: usize> {
    index: KnnIndex<'a>,
    metric: Metric,
    k: usize,
}

impl<'a, const K: usize> KnnDistance<'a, K> {
    /// The source over `index` (the normal samples). Errors: `InvalidParameter` for `k == 0`
    /// or `k` above the number of normal samples, `CapacityExceeded` for `k > K`.
    pub fn new(index: KnnIndex<'a>, metric: Metric, k: usize) -> Result<Self> {
        TopK::<K>::new(k)?;
        if k > index.points().rows() {
            return Err(Error::InvalidParameter {
                name: "k (must not exceed the normal samples)",
            });
        }
        Ok(KnnDistance { index, metric, k })
    }
}

impl<const K: usize> ScoreSource for KnnDistance<'_, K> {
    fn dim(&self) -> usize {
        self.index.points().cols()
    }

    fn score(&mut self, x: &[f32]) -> Result<f32> {
        let mut top = TopK::<K>::new(self.k)?;
        self.index.search(x, self.metric, &mut top)?;
        top.as_slice()
            .last()
            .map(|n| n.distance)
            .ok_or(Error::Empty)
    }

    fn score_batch(&mut self, x: &[f32], scores: &mut [f32]) -> Result<()> {
        let d = self.dim();
        ensure_len(scores.len() * d, x.len())?;
        if scores.is_empty() {
            return Ok(());
        }
        let queries = Points::new(x, scores.len(), d)?;
        self.index
            .search_batch::<K>(queries, self.metric, self.k, |row, neighbours| {
                let last = neighbours.last().ok_or(Error::Empty)?;
                let slot = scores.get_mut(row).ok_or(Error::SizeOverflow)?;
                *slot = last.distance;
                Ok(())
            })
    }
}

/// Squared distance from a sample to the nearest of `k` centroids (`k × dim`, row-major).
#[derive(Debug, Clone, Copy)]
pub struct CentroidDistance<'a> {
    centroids: &'a [f32],
    dim: usize,
}

impl<'a> CentroidDistance<'a> {
    /// The source over `centroids` (`k × dim`). Errors: `Empty` for no centroid or `dim == 0`,
    /// `ShapeMismatch` when the length is not a multiple of `dim`, `NonFinite`.
    pub fn new(centroids: &'a [f32], dim: usize) -> Result<Self> {
        if dim == 0 || centroids.is_empty() {
            return Err(Error::Empty);
        }
        ensure_len(centroids.len() / dim * dim, centroids.len())?;
        ensure_finite(centroids)?;
        Ok(CentroidDistance { centroids, dim })
    }
}

impl ScoreSource for CentroidDistance<'_> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn score(&mut self, x: &[f32]) -> Result<f32> {
        ensure_len(self.dim, x.len())?;
        ensure_finite(x)?;
        Ok(nearest(self.centroids, x)?.1)
    }
}
