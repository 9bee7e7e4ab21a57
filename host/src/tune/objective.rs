//! The objective of a search: a metric's name and whether it is minimized or maximized.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Whether lower or higher values are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Lower is better (losses, errors).
    Min,
    /// Higher is better (accuracies, scores).
    Max,
}

/// A named metric and its direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// The metric's name, e.g. `val_accuracy`.
    pub name: String,
    /// Its direction.
    pub direction: Direction,
}

impl Objective {
    /// An objective with an explicit direction.
    pub fn new(name: &str, direction: Direction) -> Objective {
        Objective {
            name: name.into(),
            direction,
        }
    }

    /// The direction inferred from a known metric name (an optional `val_` prefix, then
    /// accuracy/acc/auc/r2/f1/precision/recall → max; loss/rmse/mse/mae/error → min); an error
    /// naming the metric otherwise, asking for an explicit direction.
    pub fn infer(name: &str) -> Result<Objective> {
        let base = name.strip_prefix("val_").unwrap_or(name);
        let direction = match base {
            "accuracy" | "acc" | "auc" | "r2" | "f1" | "precision" | "recall" => Direction::Max,
            "loss" | "rmse" | "mse" | "mae" | "error" | "log_loss" | "cross_entropy" => {
                Direction::Min
            }
            _ => bail!("cannot infer whether to minimize or maximize `{name}`: give a direction"),
        };
        Ok(Objective::new(name, direction))
    }

    /// The value as a loss (lower is better): negated for `Max`; NaN becomes +∞.
    pub fn loss(&self, value: f64) -> f64 {
        let l = match self.direction {
            Direction::Min => value,
            Direction::Max => -value,
        };
        if l.is_nan() {
            f64::INFINITY
        } else {
            l
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        self.loss(a) < self.loss(b)
    }
}

/// Early stopping on a metric: stop when it has not improved for `patience` updates.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    direction: Direction,
    patience: usize,
    best: Option<(usize, f64)>,
    seen: usize,
}

impl EarlyStopping {
    /// Watches a metric in `direction`, stopping after `patience` updates without a strict
    /// improvement (0: never stops).
    pub fn new(direction: Direction, patience: usize) -> EarlyStopping {
        EarlyStopping {
            direction,
            patience,
            best: None,
            seen: 0,
        }
    }

    /// Records the next value; returns whether to stop now.
    pub fn update(&mut self, value: f64) -> bool {
        self.seen += 1;
        let objective = Objective::new("", self.direction);
        if self.best.is_none_or(|(_, b)| objective.better(value, b)) {
            self.best = Some((self.seen, value));
        }
        self.patience > 0
            && self
                .best
                .is_some_and(|(e, _)| self.seen - e >= self.patience)
    }

    /// The best update so far: its 1-based index and value.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}
