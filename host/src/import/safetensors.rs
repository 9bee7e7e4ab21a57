//! PyTorch MLP weights from a safetensors file (an `nn.Sequential` of `Linear` layers,
//! `BatchNorm1d` layers and activations) into the core's [`Mlp`] format.
//!
//! The file (an 8-byte little-endian header length, a JSON header naming each tensor's
//! `dtype`, `shape` and `data_offsets`, then the raw little-endian data) is read and checked by
//! the `safetensors` crate: header size bounded, offsets contiguous and inside the file, sizes
//! agreeing with shapes. Tensors may be F32, F16 or BF16 (widened to f32, exactly); NaN and
//! ±∞ are rejected with the key, as is batch-norm folding that overflows f32. Modules are the key
//! prefixes before `.weight` / `.running_mean` / `.running_var`, in increasing index (the last
//! `.`-separated part of the prefix). A module with running statistics or a 1-D `weight` is a
//! `BatchNorm1d` (module `batchnorm`); any other `<i>.weight` (`[out × in]`) with its
//! `<i>.bias` (`[out]`) is one dense layer; the core stores `W` as `[in × out]`, so weights are
//! transposed. Activations (one per dense layer, applied after its batch norm,
//! `identity|relu|sigmoid|tanh|gelu`) come from the command line or from the
//! `edgeml.activations` metadata entry (comma-separated); the batch-norm ε from the
//! `edgeml.bn_eps` metadata entry (PyTorch's default 1e-5 when absent).

mod batchnorm;

use std::path::Path;

use std::collections::HashMap;

use edgeml_core::nn::{Activation, Mlp, Topology};
use half::{bf16, f16};
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use super::{error, ImportError};
use batchnorm::BatchNorm;

/// An imported MLP: its topology and its model buffer ([`Topology::model_len`] `f32`s).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedMlp {
    /// Layer sizes and activations.
    pub topology: Topology,
    /// The model buffer: weights (`[in × out]` row-major) then biases (then γ and β with
    /// batch norm on the core's path), layer after layer; then the batch-norm running means
    /// and variances.
    pub params: Vec<f32>,
}

impl ImportedMlp {
    /// The core's serialized bytes ([`Mlp::save`]) with weights stored as `dtype`.
    pub fn to_bytes(&self, dtype: edgeml_core::nn::Dtype) -> edgeml_core::Result<Vec<u8>> {
        let mut buffer = self.params.clone();
        let mlp = Mlp::new(self.topology, &mut buffer)?;
        let mut out = vec![0u8; edgeml_core::nn::serialize::serialized_len(&self.topology, dtype)?];
        let n = mlp.save(dtype, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// Parses an activation name.
pub fn activation(name: &str) -> Option<Activation> {
    Some(match name.trim() {
        "identity" | "none" | "linear" => Activation::Identity,
        "relu" => Activation::Relu,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "gelu" => Activation::Gelu,
        _ => return None,
    })
}

/// One dense layer read from the file: `W` as `[in × out]`, the bias, and the batch norm
/// that follows it, if any.
struct Dense {
    /// Key of its weight tensor, which names it in errors.
    key: String,
    inputs: usize,
    outputs: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
    batch_norm: Option<BatchNorm>,
}

/// What a module of the `nn.Sequential` is, judged from the header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Linear,
    BatchNorm,
}

/// Parses safetensors `bytes` (`file` names it in errors); `activations`, when given,
/// overrides the file's `edgeml.activations` metadata. Batch norm after every hidden dense
/// layer (and none after the output layer) with ε equal to the core's maps onto the core's
/// batch-norm inference path; any other placement or ε is folded into the preceding dense
/// layer (`W·s`, `(b − μ)·s + β` with `s = γ/√(σ² + ε)`, computed in f64).
pub fn parse(
    file: &Path,
    bytes: &[u8],
    activations: Option<&str>,
) -> Result<ImportedMlp, ImportError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| format_error(file, &e))?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| format_error(file, &e))?;
    let metadata = metadata.metadata().clone().unwrap_or_default();
    let modules = modules(&tensors);
    let linear_count = modules.iter().filter(|m| m.2 == Kind::Linear).count();
    if linear_count == 0 {
        return Err(error(file, "header", "no `<i>.weight` tensors"));
    }
    let acts = parse_activations(file, &metadata, activations, linear_count)?;
    let eps = batchnorm::eps(file, &metadata)?;
    let mut layers: Vec<Dense> = Vec::new();
    let mut previous: Option<u64> = None;
    for (index, prefix, kind) in &modules {
        match kind {
            Kind::Linear => {
                let inputs = layers.last().map(|l| l.outputs);
                layers.push(dense(file, &tensors, prefix, inputs)?);
            }
            Kind::BatchNorm => {
                let last = layers.last_mut().filter(|l| {
                    l.batch_norm.is_none()
                        && previous.and_then(|p| p.checked_add(1)) == Some(*index)
                });
                let Some(last) = last else {
                    return Err(error(
                        file,
                        format!("key `{prefix}.running_mean`"),
                        "BatchNorm1d must directly follow a Linear layer \
                         (Linear → BatchNorm1d → activation)",
                    ));
                };
                last.batch_norm = Some(BatchNorm::read(file, &tensors, prefix, last.outputs, eps)?);
            }
        }
        previous = Some(*index);
    }
    assemble(file, layers, &acts)
}

/// The file's structural fault as an [`ImportError`]: where (`byte 0` for the length prefix,
/// the tensor's key, `header`, or `file` for a size that disagrees with the header) and why.
fn format_error(file: &Path, e: &SafeTensorError) -> ImportError {
    let location = match e {
        SafeTensorError::HeaderTooSmall
        | SafeTensorError::HeaderTooLarge
        | SafeTensorError::InvalidHeaderLength => "byte 0".to_string(),
        SafeTensorError::InvalidOffset(name) | SafeTensorError::TensorNotFound(name) => {
            format!("key `{name}`")
        }
        SafeTensorError::MetadataIncompleteBuffer => "file".to_string(),
        _ => "header".to_string(),
    };
    let reason = match e {
        SafeTensorError::HeaderTooSmall => "truncated: no header length".to_string(),
        SafeTensorError::InvalidHeaderLength => "header length exceeds the file".to_string(),
        SafeTensorError::MetadataIncompleteBuffer => {
            "truncated or padded: the data size disagrees with the header's data_offsets"
                .to_string()
        }
        other => format!("invalid safetensors: {other}"),
    };
    error(file, location, reason)
}

/// `(index, prefix, kind)` of every module with parameters, in increasing index.
fn modules(tensors: &SafeTensors<'_>) -> Vec<(u64, String, Kind)> {
    let mut found: Vec<(u64, String, Kind)> = Vec::new();
    for key in tensors.names() {
        let Some(prefix) = [".weight", ".running_mean", ".running_var"]
            .iter()
            .find_map(|suffix| key.strip_suffix(suffix))
        else {
            continue;
        };
        let Some(index) = prefix.rsplit('.').next().and_then(|i| i.parse().ok()) else {
            continue;
        };
        if found.iter().any(|(_, p, _)| p == prefix) {
            continue;
        }
        let one_d = tensors
            .tensor(&format!("{prefix}.weight"))
            .is_ok_and(|t| t.shape().len() == 1);
        let stats = [".running_mean", ".running_var"]
            .iter()
            .any(|s| tensors.tensor(&format!("{prefix}{s}")).is_ok());
        let kind = if one_d || stats {
            Kind::BatchNorm
        } else {
            Kind::Linear
        };
        found.push((index, prefix.to_string(), kind));
    }
    found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    found
}

/// The activation of each of `layers` dense layers, from `given` or the metadata.
fn parse_activations(
    file: &Path,
    metadata: &HashMap<String, String>,
    given: Option<&str>,
    layers: usize,
) -> Result<Vec<Activation>, ImportError> {
    let acts_text = match given {
        Some(a) => a.to_string(),
        None => metadata
            .get("edgeml.activations")
            .ok_or_else(|| {
                error(
                    file,
                    "key `__metadata__.edgeml.activations`",
                    "missing: give --activations",
                )
            })?
            .to_string(),
    };
    let acts = acts_text
        .split(',')
        .map(|a| {
            activation(a)
                .ok_or_else(|| error(file, "activations", format!("unknown activation `{a}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if acts.len() != layers {
        return Err(error(
            file,
            "activations",
            format!("{} activations for {} layers", acts.len(), layers),
        ));
    }
    Ok(acts)
}

/// Reads dense layer `prefix` (`inputs`: the previous layer's outputs, if any).
fn dense(
    file: &Path,
    tensors: &SafeTensors<'_>,
    prefix: &str,
    inputs: Option<usize>,
) -> Result<Dense, ImportError> {
    let wkey = format!("{prefix}.weight");
    let (shape, w) = finite_tensor(file, tensors, &wkey)?;
    let [out, inp] = shape[..] else {
        return Err(error(
            file,
            format!("key `{wkey}`"),
            format!("shape {shape:?} is not 2-D"),
        ));
    };
    if let Some(prev) = inputs.filter(|&prev| prev != inp) {
        return Err(error(
            file,
            format!("key `{wkey}`"),
            format!("shape mismatch: {inp} inputs after a layer of {prev} outputs"),
        ));
    }
    let bkey = format!("{prefix}.bias");
    let (bshape, bias) = finite_tensor(file, tensors, &bkey)?;
    if bshape != [out] {
        return Err(error(
            file,
            format!("key `{bkey}`"),
            format!("shape mismatch: {bshape:?}, expected [{out}]"),
        ));
    }
    let mut weights = vec![0f32; inp * out];
    for (o, row) in w.chunks_exact(inp.max(1)).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            if let Some(dst) = weights.get_mut(i * out + o) {
                *dst = v;
            }
        }
    }
    Ok(Dense {
        key: wkey,
        inputs: inp,
        outputs: out,
        weights,
        bias,
        batch_norm: None,
    })
}

/// The core model of `layers`: batch norm on the core's path when it sits on exactly the
/// hidden layers with the core's ε, folded into the dense layers otherwise.
fn assemble(
    file: &Path,
    layers: Vec<Dense>,
    acts: &[Activation],
) -> Result<ImportedMlp, ImportError> {
    let mut sizes = vec![layers.first().map_or(0, |l| l.inputs)];
    sizes.extend(layers.iter().map(|l| l.outputs));
    let core_path = batchnorm::fits_core(&layers);
    let topology = Topology::new(&sizes, acts)
        .and_then(|t| t.with_batch_norm(core_path))
        .map_err(|e| error(file, "header", format!("not a valid core topology: {e}")))?;
    let mut params = Vec::with_capacity(topology.model_len());
    let mut running = Vec::new();
    for mut layer in layers {
        match layer.batch_norm.take() {
            Some(bn) if core_path => {
                params.extend(&layer.weights);
                params.extend(&layer.bias);
                bn.push_core(&mut params, &mut running);
            }
            Some(bn) => {
                bn.fold(&mut layer.weights, &mut layer.bias);
                if layer
                    .weights
                    .iter()
                    .chain(&layer.bias)
                    .any(|v| !v.is_finite())
                {
                    return Err(error(
                        file,
                        format!("key `{}`", layer.key),
                        "folding the following batch norm overflows f32",
                    ));
                }
                params.extend(&layer.weights);
                params.extend(&layer.bias);
            }
            None => {
                params.extend(&layer.weights);
                params.extend(&layer.bias);
            }
        }
    }
    params.extend(running);
    if params.len() != topology.model_len() {
        return Err(error(
            file,
            "header",
            "parameter count disagrees with the topology",
        ));
    }
    Ok(ImportedMlp { topology, params })
}

/// The shape and values of tensor `key` (F32, or F16 / BF16 widened to f32, which is exact).
fn tensor(
    file: &Path,
    tensors: &SafeTensors<'_>,
    key: &str,
) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    let at = || format!("key `{key}`");
    let t = tensors
        .tensor(key)
        .map_err(|_| error(file, at(), "missing"))?;
    let raw = t.data();
    let values: Vec<f32> = match t.dtype() {
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => raw
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => raw
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        other => {
            return Err(error(
                file,
                at(),
                format!("dtype {other:?} is not supported (F32, F16, BF16)"),
            ))
        }
    };
    Ok((t.shape().to_vec(), values))
}

/// [`tensor`], rejecting NaN and ±∞ with the key and the flat index of the first one.
pub(super) fn finite_tensor(
    file: &Path,
    tensors: &SafeTensors<'_>,
    key: &str,
) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    let (shape, values) = tensor(file, tensors, key)?;
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(error(
            file,
            format!("key `{key}`"),
            format!("non-finite value {v} at [{i}]"),
        ));
    }
    Ok((shape, values))
}
