//! The best split of one node: a scan over each candidate feature's bins, keeping the left
//! sums as it goes and taking the right ones as totals minus left.

use super::binning::BinMapper;
use super::objective::{Objective, MAX_CHANNELS};

/// A split of a node: rows whose bin of `feature` is ≤ `bin` go left.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Split {
    /// Feature index.
    pub feature: usize,
    /// Last bin sent left.
    pub bin: usize,
    /// The objective's gain for this split.
    pub gain: f64,
}

/// Smallest child a split may create.
#[derive(Clone, Copy, Debug)]
pub struct ChildLimits {
    /// Rows (with multiplicity) each child needs, at least 1.
    pub min_samples: f64,
    /// Hessian sum each child needs.
    pub min_hessian: f64,
}

/// Best split over `features` (indices) of a node whose histogram is `hist` (layout of
/// [`super::histogram`]) and whose totals are `totals`; `None` when no split leaves both
/// children within `limits`. Ties keep the first candidate in `features` order.
pub fn best_split<O: Objective>(
    objective: &O,
    mapper: &BinMapper<'_>,
    hist: &[f64],
    totals: &[f64],
    features: &[u32],
    limits: ChildLimits,
) -> Option<Split> {
    match objective.channels() {
        2 => scan::<O, 2>(objective, mapper, hist, totals, features, limits),
        3 => scan::<O, 3>(objective, mapper, hist, totals, features, limits),
        _ => scan::<O, MAX_CHANNELS>(objective, mapper, hist, totals, features, limits),
    }
}

/// [`best_split`] with sums held in `[f64; C]`: `C` channels exactly, or up to `C` when `C`
/// is [`MAX_CHANNELS`] (fixed sizes let the compiler unroll the channel loops).
fn scan<O: Objective, const C: usize>(
    objective: &O,
    mapper: &BinMapper<'_>,
    hist: &[f64],
    totals: &[f64],
    features: &[u32],
    limits: ChildLimits,
) -> Option<Split> {
    let channels = if C == MAX_CHANNELS {
        objective.channels()
    } else {
        C
    };
    let max_bins = mapper.max_bins();
    let mut left_buf = [0.0f64; C];
    let mut right_buf = [0.0f64; C];
    let left = left_buf.get_mut(..channels)?;
    let right = right_buf.get_mut(..channels)?;
    let totals = totals.get(..channels)?;
    let min_samples = limits.min_samples.max(1.0);
    let mut best: Option<Split> = None;
    for &feature in features {
        let feature = feature as usize;
        let n_bins = mapper.n_bins(feature);
        let start = feature * max_bins * channels;
        let Some(block) = hist.get(start..start + max_bins * channels) else {
            continue;
        };
        left.fill(0.0);
        for (bin, stats) in block
            .chunks_exact(channels)
            .take(n_bins.saturating_sub(1))
            .enumerate()
        {
            // An empty bin leaves both sides as they were, so its split scores exactly
            // like the previous bin's, which never beats the best so far.
            if stats.iter().all(|&s| s == 0.0) {
                continue;
            }
            for ((l, r), (s, t)) in left
                .iter_mut()
                .zip(right.iter_mut())
                .zip(stats.iter().zip(totals))
            {
                *l += s;
                *r = t - *l;
            }
            let fits = |side: &[f64]| {
                objective.count(side) >= min_samples
                    && objective.hessian(side) >= limits.min_hessian
            };
            if !fits(left) || !fits(right) {
                continue;
            }
            let gain = objective.gain(left, right, totals);
            if gain.is_finite() && best.is_none_or(|b| gain > b.gain) {
                best = Some(Split { feature, bin, gain });
            }
        }
    }
    best
}
