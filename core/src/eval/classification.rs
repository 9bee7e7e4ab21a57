//! Classification metrics: accuracy, confusion matrix, per-class precision / recall / F1 with
//! macro and weighted averages, and log-loss.

use crate::error::{Error, Result};

/// Checks that two label slices pair up and are not empty.
fn check_pair(truth: &[u32], predicted: &[u32]) -> Result<()> {
    if truth.len() != predicted.len() {
        return Err(Error::ShapeMismatch {
            expected: truth.len(),
            found: predicted.len(),
        });
    }
    if truth.is_empty() {
        return Err(Error::Empty);
    }
    Ok(())
}

/// Fraction of positions where `predicted` equals `truth` (equal lengths, not empty).
pub fn accuracy(truth: &[u32], predicted: &[u32]) -> Result<f64> {
    check_pair(truth, predicted)?;
    let correct = truth.iter().zip(predicted).filter(|(t, p)| t == p).count();
    Ok(correct as f64 / truth.len() as f64)
}

/// Counts into `out` (`n_classes × n_classes`, row-major): `out[t * n_classes + p]` is the
/// number of samples of true class `t` predicted as `p`. Labels must be below `n_classes`
/// (`Err(InvalidParameter)`).
pub fn confusion_matrix(
    truth: &[u32],
    predicted: &[u32],
    n_classes: usize,
    out: &mut [u32],
) -> Result<()> {
    check_pair(truth, predicted)?;
    let cells = n_classes
        .checked_mul(n_classes)
        .ok_or(Error::SizeOverflow)?;
    if out.len() != cells {
        return Err(Error::ShapeMismatch {
            expected: cells,
            found: out.len(),
        });
    }
    out.fill(0);
    for (&t, &p) in truth.iter().zip(predicted) {
        let (t, p) = (t as usize, p as usize);
        if t >= n_classes || p >= n_classes {
            return Err(Error::InvalidParameter {
                name: "labels (each must be below n_classes)",
            });
        }
        let cell = out.get_mut(t * n_classes + p).ok_or(Error::SizeOverflow)?;
        *cell = cell.saturating_add(1);
    }
    Ok(())
}

/// Precision, recall and F1 of one class (or their average), each 0 where its denominator is
/// 0 (as scikit-learn's `zero_division=0`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// True positives over predicted positives.
    pub precision: f64,
    /// True positives over actual positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// [`Scores`] of one class with its support (number of true samples).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClassScores {
    /// Precision, recall, F1.
    pub scores: Scores,
    /// Samples whose true class is this one.
    pub support: u64,
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// Per-class scores from a confusion matrix (`n_classes × n_classes`, rows = truth) into
/// `out` (`n_classes` entries).
pub fn class_scores(confusion: &[u32], n_classes: usize, out: &mut [ClassScores]) -> Result<()> {
    if n_classes == 0 {
        return Err(Error::Empty);
    }
    let cells = n_classes
        .checked_mul(n_classes)
        .ok_or(Error::SizeOverflow)?;
    if confusion.len() != cells {
        return Err(Error::ShapeMismatch {
            expected: cells,
            found: confusion.len(),
        });
    }
    if out.len() != n_classes {
        return Err(Error::ShapeMismatch {
            expected: n_classes,
            found: out.len(),
        });
    }
    for (class, slot) in out.iter_mut().enumerate() {
        let cell =
            |t: usize, p: usize| u64::from(confusion.get(t * n_classes + p).copied().unwrap_or(0));
        let true_positive = cell(class, class);
        let actual: u64 = (0..n_classes).map(|p| cell(class, p)).sum();
        let predicted: u64 = (0..n_classes).map(|t| cell(t, class)).sum();
        let precision = ratio(true_positive, predicted);
        let recall = ratio(true_positive, actual);
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        *slot = ClassScores {
            scores: Scores {
                precision,
                recall,
                f1,
            },
            support: actual,
        };
    }
    Ok(())
}

/// `(macro, weighted)` averages of per-class scores: the plain mean over classes, and the mean
/// weighted by support (all zero when no class has support). `Err(Empty)` for no classes.
pub fn average_scores(per_class: &[ClassScores]) -> Result<(Scores, Scores)> {
    if per_class.is_empty() {
        return Err(Error::Empty);
    }
    let classes = per_class.len() as f64;
    let total: u64 = per_class.iter().map(|c| c.support).sum();
    let mut macro_avg = Scores::default();
    let mut weighted = Scores::default();
    for c in per_class {
        let w = ratio(c.support, total);
        macro_avg.precision += c.scores.precision / classes;
        macro_avg.recall += c.scores.recall / classes;
        macro_avg.f1 += c.scores.f1 / classes;
        weighted.precision += c.scores.precision * w;
        weighted.recall += c.scores.recall * w;
        weighted.f1 += c.scores.f1 * w;
    }
    Ok((macro_avg, weighted))
}

/// Mean negative log-likelihood `−(1/n) Σ ln p[i][label_i]` of `probabilities`
/// (`n × n_classes`, row-major, each in `[0, 1]`), each probability clipped to
/// `[ε, 1 − ε]` with ε = 1e-15 first. `Err(NonFinite)` / `Err(InvalidParameter)` for values
/// outside `[0, 1]` or labels ≥ `n_classes`.
pub fn log_loss(labels: &[u32], probabilities: &[f32], n_classes: usize) -> Result<f64> {
    const EPSILON: f64 = 1e-15;
    if labels.is_empty() || n_classes == 0 {
        return Err(Error::Empty);
    }
    let cells = labels
        .len()
        .checked_mul(n_classes)
        .ok_or(Error::SizeOverflow)?;
    if probabilities.len() != cells {
        return Err(Error::ShapeMismatch {
            expected: cells,
            found: probabilities.len(),
        });
    }
    crate::error::ensure_finite(probabilities)?;
    if probabilities.iter().any(|&p| !(0.0..=1.0).contains(&p)) {
        return Err(Error::InvalidParameter {
            name: "probabilities (each must be in [0, 1])",
        });
    }
    let mut total = 0.0f64;
    for (&label, row) in labels.iter().zip(probabilities.chunks_exact(n_classes)) {
        let p = row.get(label as usize).ok_or(Error::InvalidParameter {
            name: "labels (each must be below n_classes)",
        })?;
        total -= libm::log(f64::from(*p).clamp(EPSILON, 1.0 - EPSILON));
    }
    Ok(total / labels.len() as f64)
}
