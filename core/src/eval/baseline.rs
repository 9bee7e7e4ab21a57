//! Baseline classifiers: the majority class, and the lab's random classifier (uniform over the
//! classes seen in training).

use crate::error::{Error, Result};
use crate::rng::UniformSource;

/// Predicts the most frequent training label (the smallest label on ties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MajorityClass {
    class: u32,
}

impl MajorityClass {
    /// Counts `labels` into `counts` (one entry per class; labels must be below
    /// `counts.len()`) and keeps the most frequent.
    pub fn fit(labels: &[u32], counts: &mut [u32]) -> Result<Self> {
        if labels.is_empty() || counts.is_empty() {
            return Err(Error::Empty);
        }
        counts.fill(0);
        for &label in labels {
            let count = counts
                .get_mut(label as usize)
                .ok_or(Error::InvalidParameter {
                    name: "labels (each must be below counts.len())",
                })?;
            *count += 1;
        }
        let mut best = 0usize;
        for (class, &count) in counts.iter().enumerate() {
            if counts.get(best).is_some_and(|&b| count > b) {
                best = class;
            }
        }
        Ok(MajorityClass { class: best as u32 })
    }

    /// The majority class.
    pub fn class(&self) -> u32 {
        self.class
    }

    /// Fills `out` with the majority class.
    pub fn predict(&self, out: &mut [u32]) {
        out.fill(self.class);
    }
}

/// The lab's `RandomClassifier`: `classes = np.unique(train_labels)`, then each prediction is
/// `classes[rng.integers(0, len(classes))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomClassifier<'a> {
    classes: &'a [u32],
}

impl<'a> RandomClassifier<'a> {
    /// Collects the distinct labels of `labels`, ascending, into the front of `classes`
    /// (one entry per possible class; labels must be below `classes.len()`).
    pub fn fit(labels: &[u32], classes: &'a mut [u32]) -> Result<Self> {
        if labels.is_empty() || classes.is_empty() {
            return Err(Error::Empty);
        }
        classes.fill(0);
        for &label in labels {
            *classes
                .get_mut(label as usize)
                .ok_or(Error::InvalidParameter {
                    name: "labels (each must be below classes.len())",
                })? = 1;
        }
        let mut seen = 0usize;
        for class in 0..classes.len() {
            if classes.get(class) == Some(&1) {
                if let Some(slot) = classes.get_mut(seen) {
                    *slot = class as u32;
                }
                seen += 1;
            }
        }
        Ok(RandomClassifier {
            classes: classes.get(..seen).ok_or(Error::SizeOverflow)?,
        })
    }

    /// The distinct training labels, ascending.
    pub fn classes(&self) -> &[u32] {
        self.classes
    }

    /// Fills `out` with `classes[rng.index_below(classes.len())]`, one draw per entry in
    /// order.
    pub fn predict<R: UniformSource>(&self, rng: &mut R, out: &mut [u32]) {
        for slot in out.iter_mut() {
            let pick = rng.index_below(self.classes.len());
            *slot = self.classes.get(pick).copied().unwrap_or(0);
        }
    }
}
