//! The best split of one node: a scan over each candidate feature's value bins, keeping the
//! left sums as it goes and taking the right ones as totals minus left. When the node has
//! rows in a feature's missing bin, each threshold is scored twice, missing values sent right
//! first and then left (as LightGBM and XGBoost learn a default direction); the left
//! direction wins only with a strictly larger gain.

use super::binning::BinMapper;
use super::objective::{Objective, MAX_CHANNELS};

/// A split of a node: rows whose bin of `feature` is ≤ `bin` go left, and missing ones go
/// left when `default_left`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Split {
    /// Feature index.
    pub feature: usize,
    /// Last value bin sent left.
    pub bin: usize,
    /// The objective's gain for this split.
    pub gain: f64,
    /// Whether rows in the missing bin go left (else right).
    pub default_left: bool,
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
    let span = mapper.stride() * channels;
    let mut left_buf = [0.0f64; C];
    let mut right_buf = [0.0f64; C];
    let mut left_missing_buf = [0.0f64; C];
    let mut right_missing_buf = [0.0f64; C];
    let left = left_buf.get_mut(..channels)?;
    let right = right_buf.get_mut(..channels)?;
    let left_missing = left_missing_buf.get_mut(..channels)?;
    let right_missing = right_missing_buf.get_mut(..channels)?;
    let totals = totals.get(..channels)?;
    let min_samples = limits.min_samples.max(1.0);
    let mut best: Option<Split> = None;
    for &feature in features {
        let feature = feature as usize;
        let n_bins = mapper.n_bins(feature);
        let start = feature * span;
        let Some(block) = hist.get(start..start + span) else {
            continue;
        };
        // Occupancy is judged by the row count, which is exact in f64 (whole numbers), so
        // rounding residue left by histogram subtraction never counts as rows.
        let occupied = |stats: &[f64]| objective.count(stats) >= 0.5;
        let missing = block.get(max_bins * channels..span).filter(|m| occupied(m));
        // Thresholds lie below the node's last occupied value bin, so both sides always
        // hold values and a node never splits missing against present alone.
        let last = block
            .chunks_exact(channels)
            .take(n_bins)
            .rposition(occupied)
            .unwrap_or(0);
        left.fill(0.0);
        for (bin, stats) in block.chunks_exact(channels).take(last).enumerate() {
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
            let mut consider = |l: &[f64], r: &[f64], default_left: bool| {
                let fits = |side: &[f64]| {
                    objective.count(side) >= min_samples
                        && objective.hessian(side) >= limits.min_hessian
                };
                if !fits(l) || !fits(r) {
                    return;
                }
                let gain = objective.gain(l, r, totals);
                if gain.is_finite() && best.is_none_or(|b| gain > b.gain) {
                    best = Some(Split {
                        feature,
                        bin,
                        gain,
                        default_left,
                    });
                }
            };
            consider(left, right, false);
            if let Some(m) = missing {
                for ((lm, rm), ((l, r), s)) in left_missing
                    .iter_mut()
                    .zip(right_missing.iter_mut())
                    .zip(left.iter().zip(right.iter()).zip(m))
                {
                    *lm = l + s;
                    *rm = r - s;
                }
                consider(left_missing, right_missing, true);
            }
        }
    }
    best
}
