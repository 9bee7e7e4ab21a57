//! PyTorch `BatchNorm1d` layers in a safetensors MLP: reading and checking their tensors
//! (`weight` γ, `bias` β, `running_mean`, `running_var`, each `[features]`; ε from the
//! `edgeml.bn_eps` metadata), then either the core's batch-norm layout or folding into the
//! preceding dense layer.

use std::path::Path;

use std::collections::HashMap;

use edgeml_core::nn::BATCH_NORM_EPS;
use safetensors::SafeTensors;

use super::{finite_tensor, Dense};
use crate::import::{error, ImportError};

/// PyTorch's default ε of `BatchNorm1d`.
const TORCH_EPS: f64 = 1e-5;

/// One batch-norm layer at inference: `y = γ·(x − μ)/√(σ² + ε) + β` per feature.
pub(super) struct BatchNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    var: Vec<f32>,
    eps: f64,
}

/// ε of every batch-norm layer: the `edgeml.bn_eps` metadata entry (a decimal string), else
/// PyTorch's default 1e-5. Rejects a non-numeric, non-finite or non-positive value.
pub(super) fn eps(file: &Path, metadata: &HashMap<String, String>) -> Result<f64, ImportError> {
    let Some(text) = metadata.get("edgeml.bn_eps") else {
        return Ok(TORCH_EPS);
    };
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|e| e.is_finite() && *e > 0.0)
        .ok_or_else(|| {
            error(
                file,
                "key `__metadata__.edgeml.bn_eps`",
                format!("{text} is not a positive finite number"),
            )
        })
}

/// Whether the core's own batch-norm path can hold `layers`' batch norms: some exist, they
/// sit on every hidden layer and not on the output layer, and their ε is the core's.
pub(super) fn fits_core(layers: &[Dense]) -> bool {
    let Some((last, hidden)) = layers.split_last() else {
        return false;
    };
    !hidden.is_empty()
        && last.batch_norm.is_none()
        && hidden.iter().all(|l| {
            l.batch_norm
                .as_ref()
                .is_some_and(|bn| bn.eps as f32 == BATCH_NORM_EPS)
        })
}

impl BatchNorm {
    /// Reads and checks batch-norm module `prefix` after a layer of `features` outputs:
    /// every tensor `[features]` and finite, the variances non-negative; `weight` and `bias`
    /// may both be absent (`affine=False`: γ = 1, β = 0).
    pub(super) fn read(
        file: &Path,
        tensors: &SafeTensors<'_>,
        prefix: &str,
        features: usize,
        eps: f64,
    ) -> Result<BatchNorm, ImportError> {
        let vector = |name: &str| -> Result<Vec<f32>, ImportError> {
            let key = format!("{prefix}.{name}");
            let (shape, values) = finite_tensor(file, tensors, &key)?;
            if shape != [features] {
                return Err(error(
                    file,
                    format!("key `{key}`"),
                    format!("shape mismatch: {shape:?}, expected [{features}] (the preceding Linear's outputs)"),
                ));
            }
            Ok(values)
        };
        let affine = [".weight", ".bias"].map(|s| tensors.tensor(&format!("{prefix}{s}")).is_ok());
        let (gamma, beta) = match affine {
            [false, false] => (vec![1.0; features], vec![0.0; features]),
            _ => (vector("weight")?, vector("bias")?),
        };
        let mean = vector("running_mean")?;
        let var = vector("running_var")?;
        if let Some((i, v)) = var.iter().enumerate().find(|(_, v)| **v < 0.0) {
            return Err(error(
                file,
                format!("key `{prefix}.running_var`"),
                format!("negative variance {v} at [{i}]"),
            ));
        }
        Ok(BatchNorm {
            gamma,
            beta,
            mean,
            var,
            eps,
        })
    }

    /// Appends γ and β to `params` and the running means then variances to `running`, as the
    /// core's model buffer lays them out.
    pub(super) fn push_core(self, params: &mut Vec<f32>, running: &mut Vec<f32>) {
        params.extend(self.gamma);
        params.extend(self.beta);
        running.extend(self.mean);
        running.extend(self.var);
    }

    /// Folds the batch norm into the dense layer before it (`weights` `[in × out]`, `bias`
    /// `[out]`): with `s = γ/√(σ² + ε)`, `W ← W·s` per output column and `b ← (b − μ)·s + β`,
    /// in f64.
    pub(super) fn fold(&self, weights: &mut [f32], bias: &mut [f32]) {
        let scale: Vec<f64> = self
            .gamma
            .iter()
            .zip(&self.var)
            .map(|(&g, &v)| f64::from(g) / (f64::from(v) + self.eps).sqrt())
            .collect();
        for row in weights.chunks_exact_mut(scale.len().max(1)) {
            for (w, &s) in row.iter_mut().zip(&scale) {
                *w = (f64::from(*w) * s) as f32;
            }
        }
        for (((b, &s), &m), &beta) in bias.iter_mut().zip(&scale).zip(&self.mean).zip(&self.beta) {
            *b = ((f64::from(*b) - f64::from(m)) * s + f64::from(beta)) as f32;
        }
    }
}
