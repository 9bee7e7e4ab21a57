//! Losses over a minibatch of network outputs `[rows × k]`, each returning the mean loss and
//! writing its gradient with respect to the outputs.

use crate::error::{ensure_len, Error, Result};
use crate::kernels::softmax::{log_softmax, softmax};
use crate::math::{Exact, Math};

/// Training objective, averaged over the minibatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Cross-entropy of class labels against `softmax(outputs)`, computed from the logits
    /// through log-softmax (numerically stable); mean over rows.
    SoftmaxCrossEntropy,
    /// The seed notebook's bug, kept to reproduce it: a softmax layer whose probabilities are
    /// then fed to cross-entropy *as if they were logits*, i.e. `CE(softmax(softmax(outputs)))`.
    /// Its loss cannot fall below `ln(1 + (k−1)/e)` (≈1.46 for 10 classes); mean over rows.
    CrossEntropyAfterSoftmax,
    /// Mean over all elements of `(output − target)²`.
    MeanSquaredError,
    /// Binary cross-entropy of targets in `[0, 1]` against `sigmoid(output)`, computed from the
    /// logits (stable form `max(y,0) − y·t + ln(1 + e^−|y|)`); mean over all elements.
    BinaryCrossEntropyWithLogits,
}

/// What the outputs are compared with.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// One class index per row (for the cross-entropy losses), each `< k`.
    Classes(&'a [u32]),
    /// One value per output element, `[rows × k]` row-major (for MSE and BCE).
    Values(&'a [f32]),
}

impl Targets<'_> {
    /// Number of rows these targets describe for outputs of width `k` (`k > 0`).
    pub fn rows(&self, k: usize) -> usize {
        match self {
            Targets::Classes(c) => c.len(),
            Targets::Values(v) => v.len().checked_div(k).unwrap_or(0),
        }
    }
}

impl Loss {
    /// Mean loss of `outputs` (`[rows × k]`, row-major) against `targets`; writes
    /// `scale · ∂loss/∂outputs` into `grad` (same shape). `scratch` needs `k` elements (used
    /// by [`Loss::CrossEntropyAfterSoftmax`]). Errors: `ShapeMismatch` for inconsistent
    /// lengths or the wrong kind of targets, `Empty` for zero rows, `InvalidParameter` for a
    /// class index `≥ k`, `NonFinite` for NaN/inf outputs or targets.
    pub fn evaluate(
        self,
        outputs: &[f32],
        k: usize,
        targets: Targets<'_>,
        scale: f32,
        grad: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<f32> {
        if k == 0 || outputs.is_empty() {
            return Err(Error::Empty);
        }
        ensure_len(outputs.len(), grad.len())?;
        let rows = outputs.len() / k;
        ensure_len(rows * k, outputs.len())?;
        crate::nn::finite::ensure_finite(outputs)?;
        let loss = match (self, targets) {
            (Loss::SoftmaxCrossEntropy, Targets::Classes(labels)) => {
                check_labels(labels, rows, k)?;
                softmax_ce(outputs, k, labels, scale, grad)?
            }
            (Loss::CrossEntropyAfterSoftmax, Targets::Classes(labels)) => {
                check_labels(labels, rows, k)?;
                let available = scratch.len();
                let scratch = scratch.get_mut(..k).ok_or(Error::BufferTooSmall {
                    needed: k,
                    available,
                })?;
                ce_after_softmax(outputs, k, labels, scale, grad, scratch)?
            }
            (Loss::MeanSquaredError, Targets::Values(values)) => {
                check_values(values, outputs.len())?;
                mse(outputs, values, scale, grad)
            }
            (Loss::BinaryCrossEntropyWithLogits, Targets::Values(values)) => {
                check_values(values, outputs.len())?;
                bce(outputs, values, scale, grad)
            }
            _ => return Err(Error::InvalidParameter {
                name: "targets do not match the loss (classes for cross-entropy, values otherwise)",
            }),
        };
        if loss.is_finite() {
            Ok(loss)
        } else {
            Err(Error::NonFinite { index: 0 })
        }
    }

    /// Whether the loss takes class labels ([`Targets::Classes`]).
    pub fn takes_classes(self) -> bool {
        matches!(
            self,
            Loss::SoftmaxCrossEntropy | Loss::CrossEntropyAfterSoftmax
        )
    }
}

fn check_labels(labels: &[u32], rows: usize, k: usize) -> Result<()> {
    ensure_len(rows, labels.len())?;
    if labels.iter().any(|&c| c as usize >= k) {
        return Err(Error::InvalidParameter {
            name: "class label out of range",
        });
    }
    Ok(())
}

fn check_values(values: &[f32], len: usize) -> Result<()> {
    ensure_len(len, values.len())?;
    crate::error::ensure_finite(values)
}

fn softmax_ce(
    outputs: &[f32],
    k: usize,
    labels: &[u32],
    scale: f32,
    grad: &mut [f32],
) -> Result<f32> {
    let inv_rows = 1.0 / labels.len() as f32;
    let mut total = 0.0f32;
    for ((row, g), &label) in outputs
        .chunks_exact(k)
        .zip(grad.chunks_exact_mut(k))
        .zip(labels)
    {
        log_softmax(row, g)?;
        total -= g.get(label as usize).copied().unwrap_or(0.0);
        for v in g.iter_mut() {
            *v = Exact::exp(*v);
        }
        if let Some(v) = g.get_mut(label as usize) {
            *v -= 1.0;
        }
        for v in g.iter_mut() {
            *v *= scale * inv_rows;
        }
    }
    Ok(total * inv_rows)
}

fn ce_after_softmax(
    outputs: &[f32],
    k: usize,
    labels: &[u32],
    scale: f32,
    grad: &mut [f32],
    probs: &mut [f32],
) -> Result<f32> {
    let inv_rows = 1.0 / labels.len() as f32;
    let mut total = 0.0f32;
    for ((row, g), &label) in outputs
        .chunks_exact(k)
        .zip(grad.chunks_exact_mut(k))
        .zip(labels)
    {
        softmax(row, probs)?;
        // g ← ∂CE/∂p = softmax(p) − onehot, then through the softmax Jacobian:
        // ∂/∂y = p ⊙ (g − ⟨g, p⟩).
        log_softmax(probs, g)?;
        total -= g.get(label as usize).copied().unwrap_or(0.0);
        for v in g.iter_mut() {
            *v = Exact::exp(*v);
        }
        if let Some(v) = g.get_mut(label as usize) {
            *v -= 1.0;
        }
        let dot: f32 = g.iter().zip(probs.iter()).map(|(a, b)| a * b).sum();
        for (v, &p) in g.iter_mut().zip(probs.iter()) {
            *v = p * (*v - dot) * scale * inv_rows;
        }
    }
    Ok(total * inv_rows)
}

fn mse(outputs: &[f32], values: &[f32], scale: f32, grad: &mut [f32]) -> f32 {
    let inv = 1.0 / outputs.len() as f32;
    let mut total = 0.0f32;
    for ((g, &y), &t) in grad.iter_mut().zip(outputs).zip(values) {
        let diff = y - t;
        total += diff * diff;
        *g = 2.0 * diff * inv * scale;
    }
    total * inv
}

fn bce(outputs: &[f32], values: &[f32], scale: f32, grad: &mut [f32]) -> f32 {
    let inv = 1.0 / outputs.len() as f32;
    let mut total = 0.0f32;
    for ((g, &y), &t) in grad.iter_mut().zip(outputs).zip(values) {
        total += y.max(0.0) - y * t + libm::log1pf(Exact::exp(-y.abs()));
        *g = (Exact::sigmoid(y) - t) * inv * scale;
    }
    total * inv
}
