//! [`KnnIndex`]: nearest-neighbour search over training [`Points`], by brute force or through
//! a [`KdTree`], one query at a time or in batches.

use crate::error::{Error, Result};
use crate::kernels::distance::squared_l2_rows;
use crate::knn::distance::{distance, Metric};
use crate::knn::kdtree::{KdNode, KdTree};
use crate::knn::points::Points;
use crate::knn::topk::{Neighbor, TopK};
use crate::tensor::{TensorView, TensorViewMut};

/// Queries handled together by the brute-force batch search: each training row is loaded
/// once per block and compared against all of its queries.
pub const QUERY_BLOCK: usize = 8;

/// Training rows per tile of the batched brute-force search; the tile of
/// `QUERY_BLOCK × POINT_BLOCK` distances lives on the stack (2 KiB).
pub const POINT_BLOCK: usize = 64;

/// Fills `tops` (one per query of `queries`, row-major) with the nearest rows of `points`,
/// a tile of distances at a time.
fn brute_force_block<const K: usize>(
    points: Points<'_>,
    metric: Metric,
    queries: &[f32],
    tops: &mut [TopK<K>],
) -> Result<()> {
    tops.iter_mut().for_each(TopK::clear);
    let cols = points.cols();
    let query_view = TensorView::matrix(queries, tops.len(), cols)?;
    let mut tile = [0.0f32; QUERY_BLOCK * POINT_BLOCK];
    for (block, rows) in points.data().chunks(POINT_BLOCK * cols).enumerate() {
        let n = rows.len() / cols;
        let tile = tile.get_mut(..tops.len() * n).ok_or(Error::SizeOverflow)?;
        match metric {
            Metric::SquaredL2 => squared_l2_rows(
                query_view,
                TensorView::matrix(rows, n, cols)?,
                TensorViewMut::matrix(tile, tops.len(), n)?,
            )?,
            Metric::L1 => {
                for (out, query) in tile.chunks_exact_mut(n).zip(queries.chunks_exact(cols)) {
                    for (slot, row) in out.iter_mut().zip(rows.chunks_exact(cols)) {
                        *slot = distance(metric, query, row)?;
                    }
                }
            }
        }
        for (top, distances) in tops.iter_mut().zip(tile.chunks_exact(n)) {
            for (offset, &distance) in distances.iter().enumerate() {
                top.push(Neighbor {
                    index: block * POINT_BLOCK + offset,
                    distance,
                });
            }
        }
    }
    Ok(())
}

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Compare the query with every training row.
    BruteForce,
    /// Build a kd-tree and search it (exact; wins in low dimensions).
    KdTree,
    /// Choose by [`Search::resolve`].
    Auto,
}

impl Search {
    /// The concrete strategy: `Auto` becomes `KdTree` when `cols ≤ 12` and
    /// `rows ≥ 16 · 2^cols` (enough points per cell for pruning to pay), else `BruteForce`.
    pub fn resolve(self, rows: usize, cols: usize) -> Search {
        match self {
            Search::Auto => {
                let enough = cols <= 12 && rows >= (16usize << cols);
                if enough {
                    Search::KdTree
                } else {
                    Search::BruteForce
                }
            }
            other => other,
        }
    }
}

/// Exact k-NN search over training points.
#[derive(Debug, Clone, Copy)]
pub enum KnnIndex<'a> {
    /// Brute force over the points.
    BruteForce(Points<'a>),
    /// A kd-tree over the points.
    KdTree(KdTree<'a>),
}

impl<'a> KnnIndex<'a> {
    /// An index over `points` by `search` (resolved with [`Search::resolve`]). A kd-tree is
    /// built into `permutation` (`rows` entries) and `nodes` (at least
    /// [`KdTree::node_count`]`(rows, KdTree::DEFAULT_LEAF_SIZE)`); brute force leaves both
    /// untouched and accepts empty ones.
    pub fn new(
        points: Points<'a>,
        search: Search,
        permutation: &'a mut [u32],
        nodes: &'a mut [KdNode],
    ) -> Result<Self> {
        match search.resolve(points.rows(), points.cols()) {
            Search::KdTree => Ok(KnnIndex::KdTree(KdTree::build(
                points,
                KdTree::DEFAULT_LEAF_SIZE,
                permutation,
                nodes,
            )?)),
            _ => Ok(KnnIndex::BruteForce(points)),
        }
    }

    /// The training points.
    pub fn points(&self) -> Points<'a> {
        match self {
            KnnIndex::BruteForce(points) => *points,
            KnnIndex::KdTree(tree) => tree.points(),
        }
    }

    /// Clears `top` and fills it with the `top.k()` nearest training rows to `query` (`cols`
    /// values, finite). `Err(InvalidParameter)` when k exceeds the number of rows,
    /// `Err(ShapeMismatch)` / `Err(NonFinite)` for a bad query.
    pub fn search<const K: usize>(
        &self,
        query: &[f32],
        metric: Metric,
        top: &mut TopK<K>,
    ) -> Result<()> {
        self.check_query(query, top.k())?;
        top.clear();
        match self {
            KnnIndex::BruteForce(points) => {
                for (index, row) in points.iter_rows().enumerate() {
                    top.push(Neighbor {
                        index,
                        distance: distance(metric, query, row)?,
                    });
                }
                Ok(())
            }
            KnnIndex::KdTree(tree) => tree.search(query, metric, top),
        }
    }

    /// Searches every row of `queries` (same `cols` as the training points) and calls
    /// `visit(query_row, neighbours)` in query order. Brute force compares blocks of
    /// [`QUERY_BLOCK`] queries with tiles of [`POINT_BLOCK`] training rows, squared-L2 tiles
    /// through the kernel [`squared_l2_rows`].
    pub fn search_batch<const K: usize>(
        &self,
        queries: Points<'_>,
        metric: Metric,
        k: usize,
        mut visit: impl FnMut(usize, &[Neighbor]) -> Result<()>,
    ) -> Result<()> {
        let prototype = TopK::<K>::new(k)?;
        let mut tops: [TopK<K>; QUERY_BLOCK] = core::array::from_fn(|_| prototype.clone());
        let cols = self.points().cols();
        if queries.cols() != cols {
            return Err(Error::ShapeMismatch {
                expected: cols,
                found: queries.cols(),
            });
        }
        self.check_k(k)?;
        let block_len = QUERY_BLOCK * cols;
        for (block, block_queries) in queries.data().chunks(block_len).enumerate() {
            let first = block * QUERY_BLOCK;
            let count = block_queries.len() / cols;
            let active = tops.get_mut(..count).ok_or(Error::SizeOverflow)?;
            match self {
                KnnIndex::BruteForce(points) => {
                    brute_force_block(*points, metric, block_queries, active)?;
                }
                KnnIndex::KdTree(tree) => {
                    for (top, query) in active.iter_mut().zip(block_queries.chunks_exact(cols)) {
                        top.clear();
                        tree.search(query, metric, top)?;
                    }
                }
            }
            for (offset, top) in active.iter().enumerate() {
                visit(first + offset, top.as_slice())?;
            }
        }
        Ok(())
    }

    fn check_k(&self, k: usize) -> Result<()> {
        if k > self.points().rows() {
            return Err(Error::InvalidParameter {
                name: "k (must not exceed the training rows)",
            });
        }
        Ok(())
    }

    fn check_query(&self, query: &[f32], k: usize) -> Result<()> {
        let cols = self.points().cols();
        if query.len() != cols {
            return Err(Error::ShapeMismatch {
                expected: cols,
                found: query.len(),
            });
        }
        crate::error::ensure_finite(query)?;
        self.check_k(k)
    }
}
