//! A kd-tree built into caller buffers: a permutation of the row indices and a preorder node
//! array. Exact: it returns the same neighbours as brute force, in the same order (see the tie
//! rule in [`crate::knn`]).
//!
//! Each inner node splits its index range at the median of the dimension with the widest
//! spread (ties between dimensions: the lowest), ordering by `(coordinate, row)`, so the left
//! half holds coordinates `≤ split` and the right half `≥ split`. The left child follows its
//! parent in the array; the parent stores where the right child is. A far subtree is skipped
//! only when the query's distance to the splitting plane — computed with the same rounding as
//! one distance term — exceeds the current k-th distance; since a distance is never below any
//! of its terms, nothing that could enter the top k is skipped, ties included.

use crate::error::{ensure_finite, Error, Result};
use crate::knn::distance::{distance, Metric};
use crate::knn::points::Points;
use crate::knn::topk::{Neighbor, TopK};
use heapless::Vec;

/// Marks a leaf in [`KdNode`]'s split dimension.
const LEAF: u32 = u32::MAX;

/// Capacity of the search's stack of far subtrees: one entry per level, and halving at most
/// `u32::MAX` rows down to one takes 32 levels.
const MAX_DEPTH: usize = 33;

/// One node of a [`KdTree`]: a leaf (a range of the permutation) or a split.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct KdNode {
    dimension: u32,
    split: f32,
    start: u32,
    end: u32,
    right: u32,
}

/// A kd-tree over borrowed [`Points`], its permutation and nodes in caller buffers.
#[derive(Debug, Clone, Copy)]
pub struct KdTree<'a> {
    points: Points<'a>,
    permutation: &'a [u32],
    nodes: &'a [KdNode],
}

impl<'a> KdTree<'a> {
    /// Default number of points per leaf.
    pub const DEFAULT_LEAF_SIZE: usize = 16;

    /// Nodes needed for `rows` points and leaves of at most `leaf_size` points (an upper
    /// bound: a range of identical points becomes a leaf early). `Err(InvalidParameter)` for a
    /// zero `leaf_size`.
    pub fn node_count(rows: usize, leaf_size: usize) -> Result<usize> {
        if leaf_size == 0 {
            return Err(Error::InvalidParameter { name: "leaf_size" });
        }
        Ok(count_nodes(rows, leaf_size))
    }

    /// Builds the tree over `points`: `permutation` must hold exactly `rows` entries and
    /// `nodes` at least [`KdTree::node_count`]`(rows, leaf_size)`; `Err(ShapeMismatch)` /
    /// `Err(BufferTooSmall)` otherwise, `Err(SizeOverflow)` beyond `u32::MAX` rows.
    pub fn build(
        points: Points<'a>,
        leaf_size: usize,
        permutation: &'a mut [u32],
        nodes: &'a mut [KdNode],
    ) -> Result<Self> {
        let rows = points.rows();
        let needed = Self::node_count(rows, leaf_size)?;
        if permutation.len() != rows {
            return Err(Error::ShapeMismatch {
                expected: rows,
                found: permutation.len(),
            });
        }
        if nodes.len() < needed {
            return Err(Error::BufferTooSmall {
                needed,
                available: nodes.len(),
            });
        }
        u32::try_from(rows).map_err(|_| Error::SizeOverflow)?;
        for (i, slot) in permutation.iter_mut().enumerate() {
            *slot = i as u32;
        }
        let mut builder = Builder {
            points,
            leaf_size,
            permutation,
            nodes,
            used: 0,
        };
        builder.build(0, rows)?;
        let used = builder.used;
        let Builder {
            permutation, nodes, ..
        } = builder;
        Ok(KdTree {
            points,
            permutation,
            nodes: nodes.get(..used).ok_or(Error::SizeOverflow)?,
        })
    }

    /// The indexed points.
    pub fn points(&self) -> Points<'a> {
        self.points
    }

    /// Offers every point that can be among the `top.k()` nearest to `query` to `top` (which
    /// is not cleared first). `query` must have `cols` finite values (`Err(ShapeMismatch)`,
    /// `Err(NonFinite)`).
    pub fn search<const K: usize>(
        &self,
        query: &[f32],
        metric: Metric,
        top: &mut TopK<K>,
    ) -> Result<()> {
        self.search_counted(query, metric, top).map(|_| ())
    }

    /// [`KdTree::search`], returning how many points it measured a distance to: on spread-out
    /// data the pruning keeps this far below the row count.
    pub fn search_counted<const K: usize>(
        &self,
        query: &[f32],
        metric: Metric,
        top: &mut TopK<K>,
    ) -> Result<usize> {
        if query.len() != self.points.cols() {
            return Err(Error::ShapeMismatch {
                expected: self.points.cols(),
                found: query.len(),
            });
        }
        ensure_finite(query)?;
        if self.nodes.is_empty() {
            return Ok(0);
        }
        self.visit(0, query, metric, top)
    }

    /// The number of points in each leaf, in node order; the leaves partition the rows.
    pub fn leaf_sizes(&self) -> impl Iterator<Item = usize> + 'a {
        self.nodes
            .iter()
            .filter(|node| node.dimension == LEAF)
            .map(|node| node.end.saturating_sub(node.start) as usize)
    }

    /// Depth-first walk with an explicit stack of far subtrees, each with its plane bound. A
    /// far subtree is entered after the near one is done, exactly as in recursion, so it is
    /// skipped under the same k-th distance.
    fn visit<const K: usize>(
        &self,
        root: usize,
        query: &[f32],
        metric: Metric,
        top: &mut TopK<K>,
    ) -> Result<usize> {
        let mut measured = 0usize;
        let mut far_stack: Vec<(usize, f32), MAX_DEPTH> = Vec::new();
        let mut next = Some(root);
        loop {
            let node_index = match next.take() {
                Some(index) => index,
                None => match far_stack.pop() {
                    None => return Ok(measured),
                    Some((index, bound)) => match top.worst_distance() {
                        Some(worst) if bound > worst => continue,
                        _ => index,
                    },
                },
            };
            let node = *self.nodes.get(node_index).ok_or(Error::Corrupt {
                reason: "kd-tree node index out of range",
            })?;
            if node.dimension == LEAF {
                let members = self
                    .permutation
                    .get(node.start as usize..node.end as usize)
                    .ok_or(Error::Corrupt {
                        reason: "kd-tree leaf range out of range",
                    })?;
                for &row in members {
                    let point = self.points.row(row as usize).ok_or(Error::Corrupt {
                        reason: "kd-tree row out of range",
                    })?;
                    top.push(Neighbor {
                        index: row as usize,
                        distance: distance(metric, query, point)?,
                    });
                }
                measured += members.len();
                continue;
            }
            let coordinate = *query.get(node.dimension as usize).ok_or(Error::Corrupt {
                reason: "kd-tree split dimension out of range",
            })?;
            let offset = coordinate - node.split;
            let left = node_index + 1;
            let right = node.right as usize;
            let (near, far) = if offset < 0.0 {
                (left, right)
            } else {
                (right, left)
            };
            far_stack
                .push((far, metric.term(offset)))
                .map_err(|_| Error::Corrupt {
                    reason: "kd-tree deeper than its row count allows",
                })?;
            next = Some(near);
        }
    }
}

fn count_nodes(rows: usize, leaf_size: usize) -> usize {
    if rows <= leaf_size {
        1
    } else {
        let half = rows / 2;
        1 + count_nodes(half, leaf_size) + count_nodes(rows - half, leaf_size)
    }
}

struct Builder<'a, 'b> {
    points: Points<'b>,
    leaf_size: usize,
    permutation: &'a mut [u32],
    nodes: &'a mut [KdNode],
    used: usize,
}

impl Builder<'_, '_> {
    fn allocate(&mut self) -> Result<usize> {
        let index = self.used;
        if index >= self.nodes.len() {
            return Err(Error::CapacityExceeded {
                requested: index + 1,
                capacity: self.nodes.len(),
            });
        }
        self.used += 1;
        Ok(index)
    }

    fn coordinate(&self, row: u32, dimension: usize) -> f32 {
        self.points
            .row(row as usize)
            .and_then(|r| r.get(dimension))
            .copied()
            .unwrap_or(0.0)
    }

    /// The dimension of widest spread over `permutation[start..end]` and that spread.
    fn widest_dimension(&self, start: usize, end: usize) -> (usize, f32) {
        let members = self.permutation.get(start..end).unwrap_or(&[]);
        let mut best = (0usize, 0.0f32);
        for dimension in 0..self.points.cols() {
            let mut low = f32::INFINITY;
            let mut high = f32::NEG_INFINITY;
            for &row in members {
                let value = self.coordinate(row, dimension);
                low = low.min(value);
                high = high.max(value);
            }
            let spread = high - low;
            if spread > best.1 {
                best = (dimension, spread);
            }
        }
        best
    }

    fn build(&mut self, start: usize, end: usize) -> Result<usize> {
        let index = self.allocate()?;
        let (dimension, spread) = self.widest_dimension(start, end);
        let leaf = KdNode {
            dimension: LEAF,
            split: 0.0,
            start: start as u32,
            end: end as u32,
            right: 0,
        };
        if end - start <= self.leaf_size || spread <= 0.0 {
            *self.nodes.get_mut(index).ok_or(Error::SizeOverflow)? = leaf;
            return Ok(index);
        }
        let middle = start + (end - start) / 2;
        let points = self.points;
        let key = |row: u32| {
            points
                .row(row as usize)
                .and_then(|r| r.get(dimension))
                .copied()
                .unwrap_or(0.0)
        };
        let range = self
            .permutation
            .get_mut(start..end)
            .ok_or(Error::SizeOverflow)?;
        range.select_nth_unstable_by(middle - start, |&a, &b| {
            key(a).total_cmp(&key(b)).then(a.cmp(&b))
        });
        let split = range.get(middle - start).map_or(0.0, |&row| key(row));
        self.build(start, middle)?;
        let right = self.build(middle, end)?;
        *self.nodes.get_mut(index).ok_or(Error::SizeOverflow)? = KdNode {
            dimension: dimension as u32,
            split,
            start: start as u32,
            end: end as u32,
            right: right as u32,
        };
        Ok(index)
    }
}
