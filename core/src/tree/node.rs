//! The flat node array a tree lives in, and recursion-free inference over it.
//!
//! Node `i` is a leaf when `feature == LEAF` (its output is `value`); otherwise a row goes to
//! the left child when `x[feature] <= value` (the threshold) and to the one after it
//! otherwise. A missing value (NaN) goes left when the node's default-left flag (bit 31 of
//! `left`, [`DEFAULT_LEFT`]) is set and right otherwise; infinities compare as numbers. Child
//! indices are relative to the tree's first node and always greater than the parent's, so a
//! walk ends within `nodes.len()` steps.

use crate::{Error, Result};

/// `feature` value that marks a leaf.
pub const LEAF: u32 = u32::MAX;

/// Bit of [`Node::left`] that sends missing values (NaN) left; the other 31 bits are the
/// left child's index.
pub const DEFAULT_LEFT: u32 = 1 << 31;

/// One node of a flat tree (12 bytes): split feature (or [`LEAF`]), threshold (or leaf
/// output) and the index of the left child (the right child follows it) with the
/// [`DEFAULT_LEFT`] flag in its top bit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Node {
    /// Feature compared at this node, or [`LEAF`].
    pub feature: u32,
    /// Threshold of an internal node (`x <= value` goes left); output of a leaf.
    pub value: f32,
    /// Index of the left child within the tree (the right child follows it), or-ed with
    /// [`DEFAULT_LEFT`] when missing values go left.
    pub left: u32,
}

impl Node {
    /// A leaf with output `value`.
    pub const fn leaf(value: f32) -> Node {
        Node {
            feature: LEAF,
            value,
            left: 0,
        }
    }

    /// A split on `feature` at `threshold` whose children are `left_child` and
    /// `left_child + 1` (`left_child` < 2^31), missing values going left when `default_left`.
    pub const fn split(feature: u32, threshold: f32, left_child: u32, default_left: bool) -> Node {
        Node {
            feature,
            value: threshold,
            left: (left_child & !DEFAULT_LEFT) | if default_left { DEFAULT_LEFT } else { 0 },
        }
    }

    /// True for a leaf.
    pub const fn is_leaf(&self) -> bool {
        self.feature == LEAF
    }

    /// Index of the left child (the `left` field without its flag).
    pub const fn left_child(&self) -> u32 {
        self.left & !DEFAULT_LEFT
    }

    /// Whether missing values go left at this node.
    pub const fn default_left(&self) -> bool {
        self.left & DEFAULT_LEFT != 0
    }

    /// Whether feature value `v` goes left: `v <= threshold`, or the default direction for
    /// NaN.
    pub fn goes_left(&self, v: f32) -> bool {
        if v.is_nan() {
            self.default_left()
        } else {
            v <= self.value
        }
    }
}

/// One tree: a borrowed slice of nodes whose root is `nodes[0]` (usable straight from flash).
#[derive(Clone, Copy, Debug)]
pub struct Tree<'a> {
    /// The nodes, root first.
    pub nodes: &'a [Node],
}

const BAD_CHILD: Error = Error::Corrupt {
    reason: "child index out of order or range",
};

impl<'a> Tree<'a> {
    /// Checks the structure: non-empty, children after their parent and inside the slice,
    /// features below `n_features`, finite thresholds and leaf values.
    pub fn validate(&self, n_features: usize) -> Result<()> {
        if self.nodes.is_empty() {
            return Err(Error::Corrupt {
                reason: "empty tree",
            });
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if !node.value.is_finite() {
                return Err(Error::Corrupt {
                    reason: "non-finite threshold or leaf value",
                });
            }
            if node.is_leaf() {
                continue;
            }
            if node.feature as usize >= n_features {
                return Err(Error::Corrupt {
                    reason: "split feature out of range",
                });
            }
            let left = node.left_child() as usize;
            if left <= i || left.checked_add(1).is_none_or(|r| r >= self.nodes.len()) {
                return Err(BAD_CHILD);
            }
        }
        Ok(())
    }

    /// Index of the leaf that `x` (one row of features; NaN = missing) reaches.
    pub fn leaf_index(&self, x: &[f32]) -> Result<usize> {
        self.walk(|f| {
            x.get(f).copied().ok_or(Error::ShapeMismatch {
                expected: f + 1,
                found: x.len(),
            })
        })
    }

    /// Output of the leaf that `x` reaches.
    pub fn predict(&self, x: &[f32]) -> Result<f32> {
        let leaf = self.leaf_index(x)?;
        self.nodes.get(leaf).map(|n| n.value).ok_or(BAD_CHILD)
    }

    /// Index of the leaf that a binned row reaches: bin `b` of feature `f` goes where its
    /// upper edge `upper_edge(f, b)` goes (NaN for the missing bin), which is exactly where
    /// its raw values go.
    pub fn leaf_index_binned(
        &self,
        row_bins: &[u8],
        mapper: &super::binning::BinMapper<'_>,
    ) -> Result<usize> {
        self.walk(|f| {
            let b = *row_bins.get(f).ok_or(Error::ShapeMismatch {
                expected: f + 1,
                found: row_bins.len(),
            })?;
            Ok(mapper.upper_edge(f, usize::from(b)))
        })
    }

    /// Output of the leaf that a binned row reaches ([`Tree::leaf_index_binned`]).
    pub fn predict_binned(
        &self,
        row_bins: &[u8],
        mapper: &super::binning::BinMapper<'_>,
    ) -> Result<f32> {
        let leaf = self.leaf_index_binned(row_bins, mapper)?;
        self.nodes.get(leaf).map(|n| n.value).ok_or(BAD_CHILD)
    }

    fn walk(&self, mut feature_value: impl FnMut(usize) -> Result<f32>) -> Result<usize> {
        let mut i = 0usize;
        for _ in 0..self.nodes.len() {
            let node = self.nodes.get(i).ok_or(BAD_CHILD)?;
            if node.is_leaf() {
                return Ok(i);
            }
            let v = feature_value(node.feature as usize)?;
            let next = (node.left_child() as usize)
                .checked_add(usize::from(!node.goes_left(v)))
                .ok_or(BAD_CHILD)?;
            if next <= i {
                return Err(BAD_CHILD);
            }
            i = next;
        }
        Err(BAD_CHILD)
    }
}
