//! PyTorch MLP weights from a safetensors file (an `nn.Sequential` of `Linear` layers,
//! `BatchNorm1d` layers and activations) into the core's [`Mlp`] format.
//!
//! The file is an 8-byte little-endian header length, a JSON header naming each tensor's
//! `dtype`, `shape` and `data_offsets`, then the raw little-endian data. Modules are the key
//! prefixes before `.weight` / `.running_mean` / `.running_var`, in increasing index (the last
//! `.`-separated part of the prefix). A module with running statistics or a 1-D `weight` is a
//! `BatchNorm1d` (module `batchnorm`); any other `<i>.weight` (`[out × in]`, F32) with its
//! `<i>.bias` (`[out]`) is one dense layer; the core stores `W` as `[in × out]`, so weights are
//! transposed. Activations (one per dense layer, applied after its batch norm,
//! `identity|relu|sigmoid|tanh|gelu`) come from the command line or from the
//! `edgeml.activations` metadata entry (comma-separated); the batch-norm ε from the
//! `edgeml.bn_eps` metadata entry (PyTorch's default 1e-5 when absent).

mod batchnorm;

use std::path::Path;

use edgeml_core::nn::{Activation, Dtype, Mlp, Topology};
use serde_json::Value;

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
    pub fn to_bytes(&self, dtype: Dtype) -> edgeml_core::Result<Vec<u8>> {
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
    let len = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| error(file, "byte 0", "truncated: no header length"))?;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(8))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            error(
                file,
                "byte 0",
                format!("header length {len} exceeds the file"),
            )
        })?;
    let header: Value = serde_json::from_slice(bytes.get(8..end).unwrap_or(&[]))
        .map_err(|e| error(file, "header", format!("invalid JSON: {e}")))?;
    let data = bytes.get(end..).unwrap_or(&[]);
    let map = header
        .as_object()
        .ok_or_else(|| error(file, "header", "not a JSON object"))?;
    let modules = modules(map);
    let linear_count = modules.iter().filter(|m| m.2 == Kind::Linear).count();
    if linear_count == 0 {
        return Err(error(file, "header", "no `<i>.weight` tensors"));
    }
    let acts = parse_activations(file, &header, activations, linear_count)?;
    let eps = batchnorm::eps(file, &header)?;
    let mut layers: Vec<Dense> = Vec::new();
    let mut previous: Option<u64> = None;
    for (index, prefix, kind) in &modules {
        match kind {
            Kind::Linear => {
                let inputs = layers.last().map(|l| l.outputs);
                layers.push(dense(file, map, data, prefix, inputs)?);
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
                last.batch_norm =
                    Some(BatchNorm::read(file, map, data, prefix, last.outputs, eps)?);
            }
        }
        previous = Some(*index);
    }
    assemble(file, layers, &acts)
}

/// `(index, prefix, kind)` of every module with parameters, in increasing index.
fn modules(map: &serde_json::Map<String, Value>) -> Vec<(u64, String, Kind)> {
    let mut found: Vec<(u64, String, Kind)> = Vec::new();
    for key in map.keys() {
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
        let one_d = map
            .get(&format!("{prefix}.weight"))
            .and_then(|t| t.get("shape"))
            .and_then(Value::as_array)
            .is_some_and(|shape| shape.len() == 1);
        let stats = map.contains_key(&format!("{prefix}.running_mean"))
            || map.contains_key(&format!("{prefix}.running_var"));
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
    header: &Value,
    given: Option<&str>,
    layers: usize,
) -> Result<Vec<Activation>, ImportError> {
    let acts_text = match given {
        Some(a) => a.to_string(),
        None => header
            .pointer("/__metadata__/edgeml.activations")
            .and_then(Value::as_str)
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
    map: &serde_json::Map<String, Value>,
    data: &[u8],
    prefix: &str,
    inputs: Option<usize>,
) -> Result<Dense, ImportError> {
    let wkey = format!("{prefix}.weight");
    let (shape, w) = tensor(file, map, data, &wkey)?;
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
    let (bshape, bias) = tensor(file, map, data, &bkey)?;
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

/// The shape and `f32` values of tensor `key`.
fn tensor(
    file: &Path,
    map: &serde_json::Map<String, Value>,
    data: &[u8],
    key: &str,
) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    let at = || format!("key `{key}`");
    let t = map.get(key).ok_or_else(|| error(file, at(), "missing"))?;
    let dtype = t.get("dtype").and_then(Value::as_str).unwrap_or("");
    if dtype != "F32" {
        return Err(error(
            file,
            at(),
            format!("dtype `{dtype}` is not supported (F32 only)"),
        ));
    }
    let shape: Vec<usize> = t
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
        .ok_or_else(|| error(file, at(), "bad `shape`"))?;
    let offs: Vec<usize> = t
        .get("data_offsets")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
        .ok_or_else(|| error(file, at(), "bad `data_offsets`"))?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let raw = match offs[..] {
        [s, e] => data.get(s..e),
        _ => None,
    }
    .ok_or_else(|| error(file, at(), "data_offsets outside the file (truncated?)"))?;
    if count.and_then(|c| c.checked_mul(4)) != Some(raw.len()) {
        return Err(error(
            file,
            at(),
            "shape mismatch: data length disagrees with shape",
        ));
    }
    let values = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((shape, values))
}
