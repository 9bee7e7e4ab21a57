//! Fuzzing support for every byte-level entry point: the core's tree (`EMLT`) and MLP (`EDML`)
//! loaders, the LightGBM, XGBoost, scikit-learn and safetensors importers, and the IDX loader.
//!
//! [`check`] feeds one input to one [`Target`] and verifies what comes back: an error, or a
//! result whose every value is finite and that the core accepts and runs (a model that
//! predicts finite scores or reports `NonFinite`, never a silent NaN). A panic inside is a
//! bug the caller's harness reports. [`mutate`] is a structure-aware mutator: numbers in text
//! formats are swapped for boundary values (0, −1, 2³¹, 2⁶², 1e39, NaN, ...), binary formats
//! get boundary words at field-aligned offsets, and [`fix_checksum`] recomputes the core
//! formats' CRC-32 so mutations reach the structural checks behind it. The proptest smoke in
//! `host/tests/fuzz_smoke.rs`, the campaign driver `host/examples/fuzz_campaign.rs` and the
//! cargo-afl target in `fuzz/` all drive these, from the [`seeds`].

mod seeds;

use std::path::Path;

use edgeml_core::kernels::Dispatch;
use edgeml_core::nn::{inference_scratch_len, serialize, Mlp};
use edgeml_core::rng::Rng;
use edgeml_core::tree::{serial, Model, Node};

use crate::datasets::idx;
use crate::import::{lightgbm, safetensors, sklearn, xgboost, ImportedTrees};

pub use seeds::seeds;

/// A byte-level entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The core's tree-ensemble format ([`serial::load`]).
    TreeModel,
    /// The core's MLP format ([`Mlp::load`]).
    Mlp,
    /// LightGBM text models.
    Lightgbm,
    /// XGBoost JSON models.
    Xgboost,
    /// scikit-learn exporter JSON.
    Sklearn,
    /// PyTorch safetensors MLPs.
    Safetensors,
    /// IDX images or labels, raw or gzipped.
    Idx,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 7] = [
        Target::TreeModel,
        Target::Mlp,
        Target::Lightgbm,
        Target::Xgboost,
        Target::Sklearn,
        Target::Safetensors,
        Target::Idx,
    ];

    /// The target's name on the command line of the fuzz drivers (`tree-model`, `lightgbm`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Target::TreeModel => "tree-model",
            Target::Mlp => "mlp",
            Target::Lightgbm => "lightgbm",
            Target::Xgboost => "xgboost",
            Target::Sklearn => "sklearn",
            Target::Safetensors => "safetensors",
            Target::Idx => "idx",
        }
    }

    /// The target named `name` ([`Target::name`]).
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// True for the text formats, which [`mutate`] edits token by token.
    pub fn is_text(self) -> bool {
        matches!(self, Target::Lightgbm | Target::Xgboost | Target::Sklearn)
    }
}

/// What [`check`] found wrong with an accepted input (a panic is reported by the harness).
pub type Finding = String;

/// How an entry point treated an input that [`check`] found no fault with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Refused with an error.
    Rejected,
    /// Accepted, and the result passed every check.
    Accepted,
}

/// Runs `target` on `bytes` and checks the outcome: a [`Verdict`] for a clean rejection or a
/// result whose values are all finite and which the core loads and runs; `Err` describing an
/// accepted input that is not (a NaN weight, a model the core then refuses, ...).
pub fn check(target: Target, bytes: &[u8]) -> Result<Verdict, Finding> {
    let file = Path::new("fuzz.input");
    match target {
        Target::TreeModel => check_tree_bytes(bytes),
        Target::Mlp => check_mlp_bytes(bytes),
        Target::Lightgbm | Target::Xgboost | Target::Sklearn => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Ok(Verdict::Rejected);
            };
            let parsed = match target {
                Target::Lightgbm => lightgbm::parse(file, text),
                Target::Xgboost => xgboost::parse(file, text),
                _ => sklearn::parse(file, text),
            };
            match parsed {
                Ok(trees) => check_imported_trees(&trees),
                Err(e) if e.file == file && !e.reason.is_empty() => Ok(Verdict::Rejected),
                Err(e) => Err(format!("error without file or reason: {e}")),
            }
        }
        Target::Safetensors => match safetensors::parse(file, bytes, None) {
            Ok(mlp) => {
                if let Some(i) = mlp.params.iter().position(|v| !v.is_finite()) {
                    return Err(format!("imported MLP has non-finite parameter {i}"));
                }
                let out = mlp
                    .to_bytes(edgeml_core::nn::Dtype::F32)
                    .map_err(|e| format!("imported MLP does not serialize: {e}"))?;
                check_mlp_bytes(&out)?;
                let mut buffer = vec![0f32; mlp.topology.model_len()];
                Mlp::load(&out, &mut buffer)
                    .map(|_| Verdict::Accepted)
                    .map_err(|e| format!("the core refuses an imported MLP: {e}"))
            }
            Err(_) => Ok(Verdict::Rejected),
        },
        Target::Idx => check_idx(file, bytes),
    }
}

/// An accepted tree import must be a valid core model with finite values that round-trips
/// through the byte format.
fn check_imported_trees(trees: &ImportedTrees) -> Result<Verdict, Finding> {
    let values = trees
        .nodes
        .iter()
        .map(|n| n.value)
        .chain(trees.base.iter().copied());
    if values.clone().any(|v| !v.is_finite()) {
        return Err("imported trees hold a non-finite value".into());
    }
    let bytes = trees
        .to_bytes()
        .map_err(|e| format!("imported trees do not serialize: {e}"))?;
    check_tree_bytes(&bytes)?;
    let mut nodes = vec![Node::default(); trees.nodes.len()];
    let mut roots = vec![0u32; trees.roots.len()];
    let mut base = vec![0f32; trees.base.len()];
    serial::load(&bytes, &mut nodes, &mut roots, &mut base)
        .map(|_| Verdict::Accepted)
        .map_err(|e| format!("the core refuses imported trees: {e}"))
}

/// Rows every accepted model is run on: zeros, NaN (missing), and large finite values.
fn probe_rows(n_features: usize) -> [Vec<f32>; 3] {
    [
        vec![0.0; n_features],
        vec![f32::NAN; n_features],
        vec![3e38; n_features],
    ]
}

fn check_tree_bytes(bytes: &[u8]) -> Result<Verdict, Finding> {
    let Ok(h) = serial::header(bytes) else {
        return Ok(Verdict::Rejected);
    };
    // The header matched the length exactly, so these sizes are bounded by the input.
    let mut nodes = vec![Node::default(); h.n_nodes];
    let mut roots = vec![0u32; h.n_trees];
    let mut base = vec![0f32; h.n_base];
    let Ok(model) = serial::load(bytes, &mut nodes, &mut roots, &mut base) else {
        return Ok(Verdict::Rejected);
    };
    // Rows wider than the input cannot be accepted models of real data; skip their probes.
    if model.n_features() > bytes.len() {
        return Ok(Verdict::Accepted);
    }
    check_tree_model(&model)
}

fn check_tree_model(model: &Model<'_>) -> Result<Verdict, Finding> {
    if model.nodes().iter().any(|n| !n.value.is_finite()) {
        return Err("loaded tree model holds a non-finite value".into());
    }
    for row in probe_rows(model.n_features()) {
        match model.predict(&row) {
            Ok(p) if !p.is_finite() => {
                return Err(format!("tree model predicts {p} without an error"));
            }
            _ => {}
        }
    }
    Ok(Verdict::Accepted)
}

fn check_mlp_bytes(bytes: &[u8]) -> Result<Verdict, Finding> {
    let Ok((topology, _, _)) = serialize::read_header(bytes) else {
        return Ok(Verdict::Rejected);
    };
    // The header matched the length exactly, so the model is bounded by the input.
    let mut buffer = vec![0f32; topology.model_len()];
    let Ok(mlp) = Mlp::load(bytes, &mut buffer) else {
        return Ok(Verdict::Rejected);
    };
    if let Some(i) = mlp.buffer().iter().position(|v| !v.is_finite()) {
        return Err(format!("loaded MLP holds non-finite value {i}"));
    }
    let mut scratch = vec![0f32; inference_scratch_len(topology.sizes(), 1)];
    let mut out = vec![0f32; topology.outputs()];
    let dispatch = Dispatch::PORTABLE;
    for row in probe_rows(topology.inputs())
        .iter()
        .take(1)
        .chain([&vec![1e30; topology.inputs()]])
    {
        if mlp.forward(dispatch, row, &mut scratch, &mut out).is_ok() {
            if let Some(i) = out.iter().position(|v| !v.is_finite()) {
                return Err(format!("MLP output {i} is {} without an error", out[i]));
            }
        }
    }
    Ok(Verdict::Accepted)
}

fn check_idx(file: &Path, bytes: &[u8]) -> Result<Verdict, Finding> {
    let Ok(decoded) = idx::decode_maybe_gz(file, bytes.to_vec()) else {
        return Ok(Verdict::Rejected);
    };
    if let Ok(images) = idx::parse_images(file, &decoded) {
        let expected = images.count * images.rows * images.cols;
        if images.pixels.len() != expected {
            return Err(format!("{} pixels for {expected}", images.pixels.len()));
        }
        return Ok(Verdict::Accepted);
    }
    if let Ok(labels) = idx::parse_labels(file, &decoded) {
        if labels.iter().any(|&l| usize::from(l) >= idx::CLASSES) {
            return Err("a label out of range was accepted".into());
        }
        return Ok(Verdict::Accepted);
    }
    Ok(Verdict::Rejected)
}

/// Number strings that sit on the boundaries the importers must check.
const TEXT_VALUES: [&str; 16] = [
    "0",
    "-1",
    "1",
    "2",
    "65",
    "2147483648",
    "4294967296",
    "4611686018427387904",
    "18446744073709551615",
    "1000000000000",
    "1e39",
    "-1e39",
    "nan",
    "inf",
    "1e-45",
    "-0",
];

/// 32-bit words on the binary formats' boundaries (counts, flags, f32 specials).
const WORDS: [u32; 14] = [
    0,
    1,
    2,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_fffe,
    0x7fc0_0000, // NaN
    0x7f80_0000, // +inf
    0xff80_0000, // -inf
    0x7f7f_ffff, // f32::MAX
    0x0000_0001, // smallest subnormal
    0xc040_0000, // -3.0
    0x4040_0000, // 3.0
];

/// One to four structure-aware mutations of `input` drawn with `rng`; the core formats'
/// checksums are recomputed afterwards ([`fix_checksum`]).
pub fn mutate(target: Target, input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..=rng.below(4) {
        match target {
            _ if target.is_text() => mutate_text(&mut bytes, rng),
            Target::Safetensors if rng.below(4) != 0 => mutate_safetensors_header(&mut bytes, rng),
            _ => mutate_binary(&mut bytes, rng),
        }
    }
    fix_checksum(target, &mut bytes);
    bytes
}

/// Edits a safetensors file's JSON header as text (shapes, offsets, dtypes, metadata) and
/// rewrites the 8-byte length prefix to match, so the edit reaches the checks past the JSON.
fn mutate_safetensors_header(bytes: &mut Vec<u8>, rng: &mut Rng) {
    let Some(len) = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .and_then(|l| usize::try_from(l).ok())
        .filter(|&l| l <= bytes.len() - 8)
    else {
        return mutate_binary(bytes, rng);
    };
    let mut header = bytes[8..8 + len].to_vec();
    if rng.below(4) == 0 {
        let dtypes: [&[u8]; 5] = [b"F32", b"F16", b"BF16", b"F64", b"I8"];
        let spot = header.windows(5).position(|w| w == b"dtype");
        if let Some(at) =
            spot.and_then(|p| header[p..].iter().position(|&b| b == b'F').map(|q| p + q))
        {
            let end = header[at..]
                .iter()
                .position(|&b| b == b'"')
                .map_or(at, |q| at + q);
            header.splice(
                at..end,
                dtypes[rng.below_usize(dtypes.len())].iter().copied(),
            );
        }
    } else {
        mutate_text(&mut header, rng);
    }
    let data = bytes.split_off(8 + len);
    bytes.clear();
    bytes.extend((header.len() as u64).to_le_bytes());
    bytes.extend(header);
    bytes.extend(data);
}

/// Byte ranges of the numbers (digits, sign, point, exponent) in `bytes`.
fn number_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, &b) in bytes.iter().enumerate() {
        let part = b.is_ascii_digit()
            || (start.is_some() && matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        match (part, start) {
            (true, None) => {
                start = Some(if i > 0 && bytes[i - 1] == b'-' {
                    i - 1
                } else {
                    i
                })
            }
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, bytes.len()));
    }
    spans
}

fn mutate_text(bytes: &mut Vec<u8>, rng: &mut Rng) {
    let spans = number_spans(bytes);
    match rng.below(8) {
        // Most mutations swap a number for a boundary value: that reaches the counts.
        0..=4 if !spans.is_empty() => {
            // Half the time one of the first 24 numbers: the header's counts live there.
            let pool = if rng.below(2) == 0 {
                spans.len().min(24)
            } else {
                spans.len()
            };
            let (s, e) = spans[rng.below_usize(pool)];
            let value = TEXT_VALUES[rng.below_usize(TEXT_VALUES.len())];
            bytes.splice(s..e, value.bytes());
        }
        5 => {
            // Drop or duplicate a line.
            let lines: Vec<usize> = bytes
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i)
                .collect();
            if lines.len() >= 2 {
                let k = rng.below_usize(lines.len() - 1);
                let (s, e) = (lines[k] + 1, lines[k + 1] + 1);
                if rng.below(2) == 0 {
                    bytes.drain(s..e);
                } else {
                    let line = bytes[s..e].to_vec();
                    bytes.splice(s..s, line);
                }
            }
        }
        6 => {
            let at = rng.below_usize(bytes.len() + 1);
            bytes.truncate(at);
        }
        _ => {
            if !bytes.is_empty() {
                let at = rng.below_usize(bytes.len());
                bytes[at] = b"{}[],:\"-0123456789en"[rng.below_usize(20)];
            }
        }
    }
}

fn mutate_binary(bytes: &mut Vec<u8>, rng: &mut Rng) {
    if bytes.is_empty() {
        bytes.extend_from_slice(&WORDS[rng.below_usize(WORDS.len())].to_le_bytes());
        return;
    }
    match rng.below(8) {
        0..=3 => {
            // A boundary word at a 4-byte-aligned offset, in either byte order (IDX is
            // big-endian).
            let at = rng.below_usize(bytes.len().div_ceil(4)) * 4;
            let word = WORDS[rng.below_usize(WORDS.len())];
            let le = if rng.below(2) == 0 {
                word.to_le_bytes()
            } else {
                word.to_be_bytes()
            };
            for (i, b) in le.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + i) {
                    *slot = *b;
                }
            }
        }
        4 => {
            let at = rng.below_usize(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        5 => {
            let at = rng.below_usize(bytes.len() + 1);
            bytes.truncate(at);
        }
        6 => {
            let at = rng.below_usize(bytes.len());
            let len = (rng.below_usize(16) + 1).min(bytes.len() - at);
            let chunk = bytes[at..at + len].to_vec();
            bytes.splice(at..at, chunk);
        }
        _ => {
            let at = rng.below_usize(bytes.len());
            bytes[at] = rng.next_u32() as u8;
        }
    }
}

/// Recomputes the trailing CRC-32 of the core's formats (`EMLT`, `EDML`) so a mutated file
/// reaches the checks behind the checksum; other targets are left as they are.
pub fn fix_checksum(target: Target, bytes: &mut [u8]) {
    if !matches!(target, Target::TreeModel | Target::Mlp) || bytes.len() < 4 {
        return;
    }
    let body = bytes.len() - 4;
    let crc = match target {
        Target::TreeModel => serial::crc32(&bytes[..body]),
        _ => serialize::crc32(&bytes[..body]),
    };
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}
