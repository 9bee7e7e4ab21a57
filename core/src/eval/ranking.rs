//! ROC AUC of a binary scorer, by ranks (the Mann–Whitney statistic) after sorting a
//! caller-provided index buffer.

use crate::error::{ensure_finite, Error, Result};

/// Area under the ROC curve of `scores` for binary `positive` labels: the probability that a
/// random positive scores above a random negative, ties counting one half. `order` is scratch
/// of `scores.len()` entries (sorted in place by score). `Err(InvalidParameter)` unless both
/// classes occur; `Err(NonFinite)` for NaN/infinite scores.
pub fn roc_auc(positive: &[bool], scores: &[f32], order: &mut [u32]) -> Result<f64> {
    if positive.len() != scores.len() {
        return Err(Error::ShapeMismatch {
            expected: positive.len(),
            found: scores.len(),
        });
    }
    if order.len() != scores.len() {
        return Err(Error::ShapeMismatch {
            expected: scores.len(),
            found: order.len(),
        });
    }
    if scores.is_empty() {
        return Err(Error::Empty);
    }
    u32::try_from(scores.len()).map_err(|_| Error::SizeOverflow)?;
    ensure_finite(scores)?;
    let positives = positive.iter().filter(|&&p| p).count();
    let negatives = positive.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(Error::InvalidParameter {
            name: "positive (needs both classes)",
        });
    }
    for (i, slot) in order.iter_mut().enumerate() {
        *slot = i as u32;
    }
    let score = |i: u32| scores.get(i as usize).copied().unwrap_or(0.0);
    order.sort_unstable_by(|&a, &b| score(a).total_cmp(&score(b)));
    // Sum of the (1-based, tie-averaged) ranks of the positives.
    let mut positive_ranks = 0.0f64;
    let mut start = 0usize;
    while start < order.len() {
        let value = order.get(start).map_or(0.0, |&i| score(i));
        let mut end = start + 1;
        while order.get(end).is_some_and(|&i| score(i) == value) {
            end += 1;
        }
        let average_rank = (start + end + 1) as f64 / 2.0;
        let group = order.get(start..end).unwrap_or(&[]);
        let in_group = group
            .iter()
            .filter(|&&i| positive.get(i as usize).copied().unwrap_or(false))
            .count();
        positive_ranks += average_rank * in_group as f64;
        start = end;
    }
    let p = positives as f64;
    let n = negatives as f64;
    Ok((positive_ranks - p * (p + 1.0) / 2.0) / (p * n))
}
