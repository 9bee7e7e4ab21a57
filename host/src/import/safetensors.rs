//! PyTorch MLP weights from a safetensors file (an `nn.Sequential` of `Linear` layers and
//! activations) into the core's [`Mlp`] format.
//!
//! The file is an 8-byte little-endian header length, a JSON header naming each tensor's
//! `dtype`, `shape` and `data_offsets`, then the raw little-endian data. Every `<i>.weight`
//! (`[out × in]`, F32) with its `<i>.bias` (`[out]`) is one dense layer, in increasing `<i>`;
//! the core stores `W` as `[in × out]`, so weights are transposed. Activations (one per
//! layer, `identity|relu|sigmoid|tanh|gelu`) come from the command line or from the
//! `edgeml.activations` metadata entry (comma-separated).

use std::path::Path;

use edgeml_core::nn::{Activation, Dtype, Mlp, Topology};
use serde_json::Value;

use super::{error, ImportError};

/// An imported MLP: its topology and its model buffer ([`Topology::model_len`] `f32`s).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedMlp {
    /// Layer sizes and activations.
    pub topology: Topology,
    /// Weights (`[in × out]` row-major) then biases, layer after layer.
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

/// Parses safetensors `bytes` (`file` names it in errors); `activations`, when given,
/// overrides the file's `edgeml.activations` metadata.
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
    let mut layers: Vec<(u64, String)> = map
        .keys()
        .filter_map(|k| {
            let prefix = k.strip_suffix(".weight")?;
            let index = prefix.rsplit('.').next()?.parse().ok()?;
            Some((index, prefix.to_string()))
        })
        .collect();
    layers.sort();
    if layers.is_empty() {
        return Err(error(file, "header", "no `<i>.weight` tensors"));
    }
    let acts_text = match activations {
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
    if acts.len() != layers.len() {
        return Err(error(
            file,
            "activations",
            format!("{} activations for {} layers", acts.len(), layers.len()),
        ));
    }
    let mut sizes = Vec::new();
    let mut weights = Vec::new();
    for (_, prefix) in &layers {
        let wkey = format!("{prefix}.weight");
        let (shape, w) = tensor(file, map, data, &wkey)?;
        let [out, inp] = shape[..] else {
            return Err(error(
                file,
                format!("key `{wkey}`"),
                format!("shape {shape:?} is not 2-D"),
            ));
        };
        match sizes.last() {
            None => sizes.push(inp),
            Some(&prev) if prev == inp => {}
            Some(&prev) => {
                return Err(error(
                    file,
                    format!("key `{wkey}`"),
                    format!("shape mismatch: {inp} inputs after a layer of {prev} outputs"),
                ))
            }
        }
        sizes.push(out);
        let bkey = format!("{prefix}.bias");
        let (bshape, b) = tensor(file, map, data, &bkey)?;
        if bshape != [out] {
            return Err(error(
                file,
                format!("key `{bkey}`"),
                format!("shape mismatch: {bshape:?}, expected [{out}]"),
            ));
        }
        let mut t = vec![0f32; inp * out];
        for (o, row) in w.chunks_exact(inp).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                if let Some(dst) = t.get_mut(i * out + o) {
                    *dst = v;
                }
            }
        }
        weights.extend(t);
        weights.extend(b);
    }
    let topology = Topology::new(&sizes, &acts)
        .map_err(|e| error(file, "header", format!("not a valid core topology: {e}")))?;
    if weights.len() != topology.model_len() {
        return Err(error(
            file,
            "header",
            "parameter count disagrees with the topology",
        ));
    }
    Ok(ImportedMlp {
        topology,
        params: weights,
    })
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
