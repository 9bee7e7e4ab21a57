//! Ensembles of fitted models: a weighted average of the members' predictions (class
//! probabilities or regression values), with weights equal or chosen on validation data by
//! random search over the probability simplex.

use anyhow::{bail, Result};
use edgeml_core::rng::Rng;

use super::objective::{Direction, Objective};

/// How predictions are scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Predictions are `rows × classes` probabilities; the score is the fraction of rows whose
    /// largest probability is the target class (ties: lowest class).
    Accuracy {
        /// Number of classes.
        classes: usize,
    },
    /// Predictions are one value per row; the score is the root-mean-square error.
    Rmse,
}

impl Metric {
    /// The objective this metric is (accuracy: max, RMSE: min).
    pub fn objective(self) -> Objective {
        match self {
            Metric::Accuracy { .. } => Objective::new("accuracy", Direction::Max),
            Metric::Rmse => Objective::new("rmse", Direction::Min),
        }
    }

    /// Values per row of a prediction.
    pub fn width(self) -> usize {
        match self {
            Metric::Accuracy { classes } => classes.max(1),
            Metric::Rmse => 1,
        }
    }

    /// The score of `pred` (`rows × width`) against `targets` (class indices or values).
    pub fn score(self, pred: &[f64], targets: &[f64]) -> Result<f64> {
        let w = self.width();
        if pred.len() != targets.len() * w || targets.is_empty() {
            bail!(
                "{} predictions for {} targets of width {w}",
                pred.len(),
                targets.len()
            );
        }
        Ok(match self {
            Metric::Accuracy { .. } => {
                let correct = pred
                    .chunks_exact(w)
                    .zip(targets)
                    .filter(|(row, &t)| {
                        let mut best = 0usize;
                        for (c, v) in row.iter().enumerate() {
                            if row.get(best).is_some_and(|b| v > b) {
                                best = c;
                            }
                        }
                        best as f64 == t
                    })
                    .count();
                correct as f64 / targets.len() as f64
            }
            Metric::Rmse => {
                let sse: f64 = pred
                    .iter()
                    .zip(targets)
                    .map(|(p, t)| (p - t) * (p - t))
                    .sum();
                (sse / targets.len() as f64).sqrt()
            }
        })
    }
}

/// `Σ_m weights[m] · members[m]`, element by element (all members the same length).
pub fn blend(members: &[Vec<f64>], weights: &[f64]) -> Result<Vec<f64>> {
    let Some(first) = members.first() else {
        bail!("an ensemble needs at least one member");
    };
    if weights.len() != members.len() || members.iter().any(|m| m.len() != first.len()) {
        bail!("members and weights disagree in length");
    }
    let mut out = vec![0.0; first.len()];
    for (m, &w) in members.iter().zip(weights) {
        for (o, v) in out.iter_mut().zip(m) {
            *o += w * v;
        }
    }
    Ok(out)
}

/// Equal weights `1/M` for `M` members.
pub fn equal_weights(members: usize) -> Vec<f64> {
    vec![1.0 / members.max(1) as f64; members]
}

/// Weights on the simplex chosen on validation data: equal weights, the `M` one-member
/// vertices and `draws` uniform (Dirichlet(1)) points are scored, then the best is refined by
/// moving weight between pairs of members in shrinking steps; returns the best weights and
/// their validation score. The result is never worse on this data than equal weights, which
/// are among the candidates.
pub fn optimize_weights(
    metric: Metric,
    members: &[Vec<f64>],
    targets: &[f64],
    draws: usize,
    rng: &mut Rng,
) -> Result<(Vec<f64>, f64)> {
    let m = members.len();
    let objective = metric.objective();
    let score = |w: &[f64]| -> Result<f64> { metric.score(&blend(members, w)?, targets) };
    let mut best_w = equal_weights(m);
    let mut best = score(&best_w)?;
    let consider = |w: Vec<f64>, best_w: &mut Vec<f64>, best: &mut f64| -> Result<()> {
        let s = score(&w)?;
        if objective.better(s, *best) {
            *best = s;
            *best_w = w;
        }
        Ok(())
    };
    for i in 0..m {
        let vertex = (0..m).map(|j| f64::from(u8::from(i == j))).collect();
        consider(vertex, &mut best_w, &mut best)?;
    }
    for _ in 0..draws {
        let raw: Vec<f64> = (0..m).map(|_| -(1.0 - rng.uniform_f64()).ln()).collect();
        let total: f64 = raw.iter().sum();
        consider(
            raw.iter().map(|r| r / total).collect(),
            &mut best_w,
            &mut best,
        )?;
    }
    let mut step: f64 = 0.1;
    while step > 0.005 {
        for from in 0..m {
            for to in 0..m {
                let mut w = best_w.clone();
                let moved = step.min(w.get(from).copied().unwrap_or(0.0));
                if from == to || moved <= 0.0 {
                    continue;
                }
                w[from] -= moved;
                w[to] += moved;
                consider(w, &mut best_w, &mut best)?;
            }
        }
        step /= 2.0;
    }
    Ok((best_w, best))
}
