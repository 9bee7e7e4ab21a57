//! Tree growth from histograms into a caller's flat node array, best-first (leaf-wise) or
//! depth-wise ([`Growth`]).
//!
//! Leaf-wise growth splits the leaf with the largest gain next; depth-wise growth splits the
//! shallowest open leaf next (the largest gain first within a level), so each level is
//! complete before the next starts. Both stop when no leaf can split, `max_leaves` is
//! reached, or every open leaf is at `max_depth`; with `max_leaves ≥ 2^max_depth` they grow
//! the same tree. Each split builds the histogram of the smaller child from its rows and gets
//! the larger child's by subtraction from the parent's.
//!
//! The open leaves live in the caller's [`TreeWorkspace::pending`] slice, whose length
//! (`max_leaves`) is a run-time parameter, so a const-capacity `heapless` queue does not fit;
//! the next leaf is found by a linear scan in which the earliest entry wins ties, an order a
//! binary heap would not keep.

use super::binning::BinnedData;
use super::histogram::{build_histogram, hist_len, node_totals, subtract};
use super::node::{Node, DEFAULT_LEFT};
use super::objective::{Objective, MAX_CHANNELS};
use super::split::{best_split, ChildLimits, Split};
use crate::rng::Rng;
use crate::{Error, Result};

/// Order in which open leaves are split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Growth {
    /// Best-first: the open leaf with the largest gain (LightGBM's default).
    #[default]
    LeafWise,
    /// Level by level: the shallowest open leaf, largest gain first within a level
    /// (XGBoost's default).
    DepthWise,
}

/// Growth limits of one tree.
#[derive(Clone, Copy, Debug)]
pub struct TreeParams {
    /// Deepest level a split may create (0: the tree is one leaf).
    pub max_depth: usize,
    /// Most leaves (≥ 1); also the number of histogram slots the workspace needs.
    pub max_leaves: usize,
    /// Fewest rows (with bootstrap multiplicity) per leaf (values below 1 act as 1).
    pub min_samples_leaf: usize,
    /// Smallest hessian sum per leaf (boosting; 0 for CART).
    pub min_hessian_leaf: f64,
    /// Smallest gain a split needs (in the objective's units); an impure CART node also
    /// takes a split whose gain is exactly this.
    pub min_gain: f64,
    /// Features drawn at random per node as split candidates (0 or ≥ d: all of them).
    pub max_features: usize,
    /// Which open leaf is split next.
    pub growth: Growth,
}

impl Default for TreeParams {
    /// Depth 6, 64 leaves, 1 row per leaf, no hessian or gain floor, all features,
    /// leaf-wise.
    fn default() -> Self {
        TreeParams {
            max_depth: 6,
            max_leaves: 64,
            min_samples_leaf: 1,
            min_hessian_leaf: 0.0,
            min_gain: 0.0,
            max_features: 0,
            growth: Growth::LeafWise,
        }
    }
}

/// A leaf waiting to be split (workspace entry; contents are private to the builder).
#[derive(Clone, Copy, Debug, Default)]
pub struct Pending {
    node: u32,
    start: u32,
    end: u32,
    depth: u32,
    slot: u32,
    split: Split,
}

/// Scratch memory of the builder: `max_leaves` histogram slots, `max_leaves` pending
/// entries, one feature index per feature, and the optional gain-importance accumulator.
#[derive(Debug)]
pub struct TreeWorkspace<'a> {
    /// `hist_len(data, channels, max_leaves)` values.
    pub hist: &'a mut [f64],
    /// `max_leaves` entries.
    pub pending: &'a mut [Pending],
    /// `n_features` entries.
    pub features: &'a mut [u32],
    /// Gain importance: each split adds its gain to its feature's entry (`n_features`
    /// entries, accumulated across trees; the caller zeroes it), or empty to skip.
    pub gains: &'a mut [f64],
}

impl TreeWorkspace<'_> {
    /// Length of [`TreeWorkspace::hist`]: `max_leaves * n_features * max_bins * channels`.
    pub fn hist_len(
        n_features: usize,
        max_bins: usize,
        channels: usize,
        max_leaves: usize,
    ) -> Result<usize> {
        hist_len(n_features, max_bins, channels)?
            .checked_mul(max_leaves)
            .ok_or(Error::SizeOverflow)
    }
}

struct Grower<'d, 'o, 'w, O: Objective> {
    data: &'d BinnedData<'d>,
    objective: &'o O,
    params: TreeParams,
    hist: &'w mut [f64],
    features: &'w mut [u32],
    slot_len: usize,
}

impl<O: Objective> Grower<'_, '_, '_, O> {
    fn slot(&self, slot: u32) -> &[f64] {
        let start = slot as usize * self.slot_len;
        self.hist.get(start..start + self.slot_len).unwrap_or(&[])
    }

    fn slot_mut(&mut self, slot: u32) -> &mut [f64] {
        let start = slot as usize * self.slot_len;
        self.hist
            .get_mut(start..start + self.slot_len)
            .unwrap_or(&mut [])
    }

    /// Leaf value of the node in `slot`, and its best acceptable split when it may split.
    fn evaluate(&mut self, slot: u32, depth: usize, rng: &mut Rng) -> (f32, Option<Split>) {
        let channels = self.objective.channels();
        let mut totals_buf = [0.0f64; MAX_CHANNELS];
        let totals = totals_buf.get_mut(..channels).unwrap_or(&mut []);
        node_totals(self.slot(slot), self.data.mapper().max_bins(), totals);
        let value = self.objective.leaf_value(totals);
        if depth >= self.params.max_depth {
            return (value, None);
        }
        let d = self.features.len();
        let k = match self.params.max_features {
            0 => d,
            k => k.min(d),
        };
        for (i, f) in self.features.iter_mut().enumerate() {
            *f = i as u32;
        }
        if k < d {
            for i in 0..k {
                let j = i + rng.below_usize(d - i);
                self.features.swap(i, j);
            }
        }
        let limits = ChildLimits {
            min_samples: self.params.min_samples_leaf as f64,
            min_hessian: self.params.min_hessian_leaf,
        };
        let candidates = self.features.get(..k).unwrap_or(&[]);
        let split = best_split(
            self.objective,
            self.data.mapper(),
            self.slot(slot),
            totals,
            candidates,
            limits,
        );
        let min_gain = self.params.min_gain;
        let accept = |s: &Split| {
            s.gain > min_gain
                || (self.objective.impure(totals)
                    && s.gain >= min_gain - 1e-9 * self.objective.count(totals).max(1.0))
        };
        (value, split.filter(accept))
    }
}

/// Grows one tree on the rows listed in `rows` (indices into `data`, repeats allowed; the
/// list is reordered) and writes it to `nodes`, returning the number of nodes used.
/// `Err(CapacityExceeded)` when `nodes` cannot hold the tree the limits allow.
pub fn build_tree<O: Objective>(
    data: &BinnedData<'_>,
    objective: &O,
    params: &TreeParams,
    rows: &mut [u32],
    workspace: &mut TreeWorkspace<'_>,
    rng: &mut Rng,
    nodes: &mut [Node],
) -> Result<usize> {
    objective.check(data.n_rows())?;
    if rows.is_empty() {
        return Err(Error::Empty);
    }
    if rows.iter().any(|&r| r as usize >= data.n_rows()) {
        return Err(Error::InvalidParameter {
            name: "row index >= n_rows",
        });
    }
    if params.max_leaves == 0 {
        return Err(Error::InvalidParameter {
            name: "max_leaves must be >= 1",
        });
    }
    if !(params.min_gain.is_finite() && params.min_hessian_leaf.is_finite()) {
        return Err(Error::InvalidParameter {
            name: "min_gain and min_hessian_leaf must be finite",
        });
    }
    let n_rows_u32 = u32::try_from(rows.len()).map_err(|_| Error::SizeOverflow)?;
    let slot_len = hist_len(
        data.n_features(),
        data.mapper().max_bins(),
        objective.channels(),
    )?;
    let needed = TreeWorkspace::hist_len(
        data.n_features(),
        data.mapper().max_bins(),
        objective.channels(),
        params.max_leaves,
    )?;
    let hist = super::prefix_mut(workspace.hist, needed)?;
    let pending = super::prefix_mut(workspace.pending, params.max_leaves)?;
    let features = super::prefix_mut(workspace.features, data.n_features())?;
    let gains = &mut *workspace.gains;
    if !gains.is_empty() {
        crate::error::ensure_len(data.n_features(), gains.len())?;
    }
    let capacity = nodes.len();
    let root = nodes.first_mut().ok_or(Error::CapacityExceeded {
        requested: 1,
        capacity,
    })?;
    let mut grower = Grower {
        data,
        objective,
        params: *params,
        hist,
        features,
        slot_len,
    };
    build_histogram(data, objective, rows, grower.slot_mut(0))?;
    let (value, split) = grower.evaluate(0, 0, rng);
    *root = Node::leaf(value);
    let mut n_pending = 0usize;
    if let (Some(split), Some(entry)) = (split, pending.first_mut()) {
        *entry = Pending {
            node: 0,
            start: 0,
            end: n_rows_u32,
            depth: 0,
            slot: 0,
            split,
        };
        n_pending = 1;
    }
    let mut used = 1usize;
    let mut leaves = 1usize;
    while leaves < params.max_leaves && n_pending > 0 {
        let open = pending.get(..n_pending).unwrap_or(&[]);
        let before = |p: &Pending, b: &Pending| match params.growth {
            Growth::LeafWise => p.split.gain > b.split.gain,
            Growth::DepthWise => {
                p.depth < b.depth || (p.depth == b.depth && p.split.gain > b.split.gain)
            }
        };
        let mut pick = 0usize;
        for (i, p) in open.iter().enumerate() {
            if open.get(pick).is_some_and(|b| before(p, b)) {
                pick = i;
            }
        }
        let parent = *pending.get(pick).ok_or(Error::Empty)?;
        pending.swap(pick, n_pending - 1);
        n_pending -= 1;
        let requested = used + 2;
        if requested > capacity {
            return Err(Error::CapacityExceeded {
                requested,
                capacity,
            });
        }
        let Split {
            feature,
            bin,
            default_left,
            ..
        } = parent.split;
        let missing = data.mapper().missing_bin();
        let range = rows
            .get_mut(parent.start as usize..parent.end as usize)
            .ok_or(Error::Empty)?;
        let mid = parent.start
            + partition(range, |r| {
                data.row(r as usize).get(feature).is_some_and(|&b| {
                    if b == missing {
                        default_left
                    } else {
                        usize::from(b) <= bin
                    }
                })
            });
        let left_node = u32::try_from(used)
            .ok()
            .filter(|&l| l < DEFAULT_LEFT - 1)
            .ok_or(Error::SizeOverflow)?;
        if let Some(g) = gains.get_mut(feature) {
            *g += parent.split.gain;
        }
        if let Some(node) = nodes.get_mut(parent.node as usize) {
            *node = Node::split(
                feature as u32,
                data.mapper().upper_edge(feature, bin),
                left_node,
                default_left,
            );
        }
        used += 2;
        leaves += 1;
        let left = (left_node, parent.start, mid);
        let right = (
            left_node.checked_add(1).ok_or(Error::SizeOverflow)?,
            mid,
            parent.end,
        );
        let (small, large) = if mid - parent.start <= parent.end - mid {
            (left, right)
        } else {
            (right, left)
        };
        // Slot 0 holds the root; the split that makes leaf number `leaves` (2..=max_leaves)
        // takes slot `leaves - 1`, so no two live histograms ever share a slot.
        let free = u32::try_from(leaves - 1).map_err(|_| Error::SizeOverflow)?;
        let small_rows = rows.get(small.1 as usize..small.2 as usize).unwrap_or(&[]);
        build_histogram(data, objective, small_rows, grower.slot_mut(free))?;
        {
            let start = free as usize * slot_len;
            let (a, b) = (parent.slot as usize * slot_len, start);
            let (parent_hist, small_hist) = if a < b {
                let (lo, hi) = grower.hist.split_at_mut(b);
                (lo.get_mut(a..a + slot_len), hi.get(..slot_len))
            } else {
                let (lo, hi) = grower.hist.split_at_mut(a);
                (hi.get_mut(..slot_len), lo.get(b..b + slot_len))
            };
            if let (Some(p), Some(s)) = (parent_hist, small_hist) {
                subtract(p, s)?;
            }
        }
        let depth = parent.depth as usize + 1;
        for ((node, start, end), slot) in [(small, free), (large, parent.slot)] {
            let (value, split) = grower.evaluate(slot, depth, rng);
            if let Some(n) = nodes.get_mut(node as usize) {
                *n = Node::leaf(value);
            }
            if let (Some(split), Some(entry)) = (split, pending.get_mut(n_pending)) {
                *entry = Pending {
                    node,
                    start,
                    end,
                    depth: depth as u32,
                    slot,
                    split,
                };
                n_pending += 1;
            }
        }
    }
    Ok(used)
}

/// Moves the entries satisfying `goes_left` to the front of `rows`; returns how many there are.
fn partition(rows: &mut [u32], goes_left: impl Fn(u32) -> bool) -> u32 {
    let mut boundary = 0usize;
    for i in 0..rows.len() {
        if rows.get(i).is_some_and(|&r| goes_left(r)) {
            rows.swap(i, boundary);
            boundary += 1;
        }
    }
    boundary as u32
}
