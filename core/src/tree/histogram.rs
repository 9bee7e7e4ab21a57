//! Histograms: for every feature and bin, the sum of the rows' objective statistics.
//!
//! Layout: `hist[(f * (max_bins + 1) + b) * channels + c]`, where bin `max_bins` is the
//! feature's missing bin. A child's histogram is its parent's minus its sibling's
//! ([`subtract`]), so only the smaller child is ever built from rows.

use super::binning::BinnedData;
use super::objective::Objective;
use crate::{Error, Result};

/// Values in one node's histogram: `n_features * (max_bins + 1) * channels` (value bins and
/// the missing bin).
pub fn hist_len(n_features: usize, max_bins: usize, channels: usize) -> Result<usize> {
    n_features
        .checked_mul(max_bins.checked_add(1).ok_or(Error::SizeOverflow)?)
        .and_then(|v| v.checked_mul(channels))
        .ok_or(Error::SizeOverflow)
}

/// Fills `hist` (`hist_len(..)` values) with the statistics of `rows` (indices into `data`).
pub fn build_histogram<O: Objective>(
    data: &BinnedData<'_>,
    objective: &O,
    rows: &[u32],
    hist: &mut [f64],
) -> Result<()> {
    let channels = objective.channels();
    let stride = data.mapper().stride();
    let len = hist_len(data.n_features(), data.mapper().max_bins(), channels)?;
    crate::error::ensure_len(len, hist.len())?;
    hist.fill(0.0);
    let mut row_stats = [0.0f64; super::objective::MAX_CHANNELS];
    let row_stats = row_stats
        .get_mut(..channels)
        .ok_or(Error::InvalidParameter {
            name: "objective uses more than 64 channels",
        })?;
    for &row in rows {
        let row = row as usize;
        row_stats.fill(0.0);
        objective.add_row(row, row_stats);
        for (f, &b) in data.row(row).iter().enumerate() {
            let start = (f * stride + usize::from(b)) * channels;
            if let Some(slot) = hist.get_mut(start..start + channels) {
                for (h, s) in slot.iter_mut().zip(row_stats.iter()) {
                    *h += s;
                }
            }
        }
    }
    Ok(())
}

/// `parent -= child`, element-wise: turns a parent's histogram into its other child's.
pub fn subtract(parent: &mut [f64], child: &[f64]) -> Result<()> {
    crate::error::ensure_len(parent.len(), child.len())?;
    for (p, c) in parent.iter_mut().zip(child) {
        *p -= c;
    }
    Ok(())
}

/// Node totals (`channels` values, written to `out`): the sum over the bins of feature 0,
/// its missing bin included.
pub fn node_totals(hist: &[f64], max_bins: usize, out: &mut [f64]) {
    out.fill(0.0);
    let channels = out.len();
    let span = (max_bins + 1) * channels;
    for bin in hist
        .get(..span)
        .unwrap_or(&[])
        .chunks_exact(channels.max(1))
    {
        for (o, v) in out.iter_mut().zip(bin) {
            *o += v;
        }
    }
}
