//! `edgeml inspect`: what a model file in one of the core's byte formats holds (an MLP,
//! [`edgeml_core::nn::serialize`], or a tree ensemble, [`edgeml_core::tree::serial`]), checked
//! by the core's own loaders, with the flash bytes a firmware embeds and the RAM it needs to
//! run one row.

use std::mem::size_of;
use std::path::Path;

use edgeml_core::nn::{self, serialize, Mlp};
use edgeml_core::tree::{objective::MAX_CHANNELS, serial, ModelKind, Node};
use serde::Serialize;

use crate::input;

/// What the file holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum Contents {
    /// A multilayer perceptron.
    Mlp {
        /// Storage precision of the weights (`f32`, `f16`, `bf16`).
        precision: String,
        /// Layer sizes, inputs first.
        sizes: Vec<usize>,
        /// Activation of each layer.
        activations: Vec<String>,
        /// Whether hidden layers carry batch norm.
        batch_norm: bool,
        /// Trainable parameters.
        parameters: usize,
    },
    /// A tree ensemble.
    Trees {
        /// `tree`, `forest` or `boosted`, with the task (`regression`, `binary`, ...).
        kind: String,
        /// Features per input row.
        features: usize,
        /// Scores per row (classes for classifiers).
        outputs: usize,
        /// Trees.
        trees: usize,
        /// Nodes of all trees.
        nodes: usize,
        /// Leaves of all trees.
        leaves: usize,
        /// Format version.
        version: u16,
    },
}

/// One RAM buffer the model needs to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Buffer {
    /// What it holds.
    pub name: String,
    /// Its size in bytes.
    pub bytes: usize,
}

/// The description of one model file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    /// The file (`stdin` for `-`).
    pub file: String,
    /// Bytes read (after decompression when the file is gzip).
    pub file_bytes: usize,
    /// What it holds.
    pub contents: Contents,
    /// Bytes a firmware embeds (`include_bytes!` of the file).
    pub flash_bytes: usize,
    /// The RAM buffers to load it and run one row, as the core's sizes give them.
    pub ram: Vec<Buffer>,
    /// Their total.
    pub ram_bytes: usize,
}

/// An inspection failure: the file and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct InspectError {
    /// The file (`stdin` for `-`).
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads `path` (`-`: stdin; gzip accepted) and describes it.
pub fn inspect_file(path: &Path) -> Result<Inspection, InspectError> {
    let bytes = input::read(path).map_err(|e| InspectError {
        file: e.source_name,
        reason: e.reason,
    })?;
    describe(&input::display_name(path), &bytes)
}

/// Describes the model `bytes` read from `file` (the name errors carry), validated by the
/// core's loader for its format.
pub fn describe(file: &str, bytes: &[u8]) -> Result<Inspection, InspectError> {
    let fail = |reason: String| InspectError {
        file: file.to_string(),
        reason,
    };
    let (contents, ram) = match bytes.get(..4) {
        Some(b"EDML") => mlp(bytes).map_err(|e| fail(format!("not a valid MLP file: {e}")))?,
        Some(magic) if magic == serial::MAGIC => {
            trees(bytes).map_err(|e| fail(format!("not a valid tree model file: {e}")))?
        }
        _ => {
            return Err(fail(format!(
                "not an edgeml model: starts with `{}`, not `EDML` (MLP) or `EMLT` (trees)",
                bytes[..bytes.len().min(4)].escape_ascii()
            )))
        }
    };
    let ram_bytes = ram.iter().map(|b| b.bytes).sum();
    Ok(Inspection {
        file: file.to_string(),
        file_bytes: bytes.len(),
        contents,
        flash_bytes: bytes.len(),
        ram,
        ram_bytes,
    })
}

fn buffer(name: &str, elements: usize, element_bytes: usize) -> Buffer {
    Buffer {
        name: name.into(),
        bytes: elements.saturating_mul(element_bytes),
    }
}

fn mlp(bytes: &[u8]) -> edgeml_core::Result<(Contents, Vec<Buffer>)> {
    let (topology, dtype, _) = serialize::read_header(bytes)?;
    // The header matched the file's length, so the buffer is bounded by the file's size.
    let mut model = vec![0.0f32; topology.model_len()];
    Mlp::load(bytes, &mut model)?;
    let sizes = topology.sizes();
    let f32_bytes = size_of::<f32>();
    let ram = vec![
        buffer("model (f32)", topology.model_len(), f32_bytes),
        buffer(
            "inference scratch, 1 row",
            nn::inference_scratch_len(sizes, 1),
            f32_bytes,
        ),
        buffer("input row", topology.inputs(), f32_bytes),
        buffer("output row", topology.outputs(), f32_bytes),
    ];
    let precision = match dtype {
        serialize::Dtype::F32 => "f32",
        serialize::Dtype::F16 => "f16",
        serialize::Dtype::Bf16 => "bf16",
    };
    let contents = Contents::Mlp {
        precision: precision.into(),
        sizes: sizes.to_vec(),
        activations: topology
            .activations()
            .iter()
            .map(|a| format!("{a:?}").to_lowercase())
            .collect(),
        batch_norm: topology.batch_norm(),
        parameters: topology.param_len(),
    };
    Ok((contents, ram))
}

fn kind_name(kind: ModelKind, trees: usize) -> &'static str {
    match (kind, trees) {
        (ModelKind::Regression, 1) => "tree, regression",
        (ModelKind::Binary, 1) => "tree, binary",
        (ModelKind::Multiclass, _) if trees == 1 => "tree, multiclass",
        (ModelKind::Regression, _) => "boosted, regression",
        (ModelKind::Binary, _) => "boosted, binary",
        (ModelKind::Multiclass, _) => "boosted, multiclass",
        (ModelKind::ForestMean, 1) => "tree, regression (mean)",
        (ModelKind::ForestVote, 1) => "tree, classification (vote)",
        (ModelKind::ForestMean, _) => "forest, regression (mean)",
        (ModelKind::ForestVote, _) => "forest, classification (vote)",
    }
}

fn trees(bytes: &[u8]) -> edgeml_core::Result<(Contents, Vec<Buffer>)> {
    let h = serial::header(bytes)?;
    // The header matched the file's length: each count is bounded by the file's size.
    let mut nodes = vec![Node::leaf(0.0); h.n_nodes];
    let mut roots = vec![0u32; h.n_trees];
    let mut base = vec![0.0f32; h.n_base];
    let model = serial::load(bytes, &mut nodes, &mut roots, &mut base)?;
    let leaves = model.nodes().iter().filter(|n| n.is_leaf()).count();
    let ram = vec![
        buffer("nodes", h.n_nodes, size_of::<Node>()),
        buffer("tree roots", h.n_trees, size_of::<u32>()),
        buffer("base scores", h.n_base, size_of::<f32>()),
        buffer("input row", h.n_features, size_of::<f32>()),
        buffer(
            "predict's score sums (stack)",
            MAX_CHANNELS,
            size_of::<f32>() + size_of::<f64>(),
        ),
    ];
    let contents = Contents::Trees {
        kind: kind_name(h.kind, h.n_trees).into(),
        features: h.n_features,
        outputs: h.n_outputs,
        trees: h.n_trees,
        nodes: h.n_nodes,
        leaves,
        version: h.version,
    };
    Ok((contents, ram))
}

/// The inspection as a few lines of text for the terminal.
pub fn render(i: &Inspection) -> String {
    let mut text = format!("{}\n", i.file);
    match &i.contents {
        Contents::Mlp {
            precision,
            sizes,
            activations,
            batch_norm,
            parameters,
        } => {
            let sizes: Vec<String> = sizes.iter().map(ToString::to_string).collect();
            text.push_str(&format!(
                "  kind        MLP, {precision} weights{}\n",
                if *batch_norm { ", batch norm" } else { "" }
            ));
            text.push_str(&format!("  layers      {}\n", sizes.join("-")));
            text.push_str(&format!("  activations {}\n", activations.join(", ")));
            text.push_str(&format!("  parameters  {parameters}\n"));
        }
        Contents::Trees {
            kind,
            features,
            outputs,
            trees,
            nodes,
            leaves,
            version,
        } => {
            text.push_str(&format!("  kind        {kind} (format v{version})\n"));
            text.push_str(&format!("  features    {features}\n"));
            text.push_str(&format!("  outputs     {outputs}\n"));
            text.push_str(&format!("  trees       {trees}\n"));
            text.push_str(&format!("  nodes       {nodes} ({leaves} leaves)\n"));
        }
    }
    text.push_str(&format!("  file        {} bytes\n", i.file_bytes));
    text.push_str(&format!("  flash       {} bytes\n", i.flash_bytes));
    let parts: Vec<String> = i
        .ram
        .iter()
        .filter(|b| b.bytes > 0)
        .map(|b| format!("{} {}", b.name, b.bytes))
        .collect();
    text.push_str(&format!(
        "  RAM to run  {} bytes ({})\n",
        i.ram_bytes,
        parts.join(", ")
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeml_core::nn::{Activation, Topology};
    use edgeml_core::tree::Model;

    #[test]
    fn describes_a_saved_mlp_by_hand_counts() {
        let sizes = [4usize, 3, 2];
        let topology =
            Topology::new(&sizes, &[Activation::Relu, Activation::Identity]).expect("topology");
        let mut buffer = vec![0.5f32; topology.model_len()];
        let mlp = Mlp::new(topology, &mut buffer).expect("mlp");
        let mut bytes = vec![
            0u8;
            serialize::serialized_len(mlp.topology(), serialize::Dtype::F16)
                .expect("len")
        ];
        mlp.save(serialize::Dtype::F16, &mut bytes).expect("save");
        let i = describe("m.bin", &bytes).expect("valid");
        // 4·3 + 3 + 3·2 + 2 = 23 parameters; scratch 2 × widest output (3) for one row.
        assert_eq!(
            i.contents,
            Contents::Mlp {
                precision: "f16".into(),
                sizes: sizes.to_vec(),
                activations: vec!["relu".into(), "identity".into()],
                batch_norm: false,
                parameters: 23,
            }
        );
        assert_eq!(i.flash_bytes, bytes.len());
        assert_eq!(i.ram_bytes, 4 * (23 + 6 + 4 + 2));
        let mut corrupt = bytes.clone();
        corrupt[20] ^= 1;
        let err = describe("m.bin", &corrupt).expect_err("checksum");
        assert!(err.to_string().starts_with("m.bin: "), "{err}");
    }

    #[test]
    fn describes_a_saved_forest_and_rejects_junk() {
        // Two stumps voting between classes 0 and 1 on feature 1.
        let nodes = [
            Node::split(1, 0.5, 1, false),
            Node::leaf(0.0),
            Node::leaf(1.0),
            Node::split(1, 0.25, 1, true),
            Node::leaf(1.0),
            Node::leaf(0.0),
        ];
        let roots = [0u32, 3];
        let model = Model::new(ModelKind::ForestVote, 3, 2, &nodes, &roots, &[]).expect("model");
        let mut bytes = vec![0u8; serial::serialized_len(&model).expect("len")];
        serial::save(&model, &mut bytes).expect("save");
        let i = describe("f.emlt", &bytes).expect("valid");
        assert_eq!(
            i.contents,
            Contents::Trees {
                kind: "forest, classification (vote)".into(),
                features: 3,
                outputs: 2,
                trees: 2,
                nodes: 6,
                leaves: 4,
                version: serial::VERSION,
            }
        );
        // 24-byte header, 2 roots, 6 nodes of 12 bytes, CRC.
        assert_eq!(i.flash_bytes, 24 + 8 + 72 + 4);
        assert_eq!(i.ram_bytes, 72 + 8 + 3 * 4 + MAX_CHANNELS * 12);
        for junk in [
            &b""[..],
            b"EML",
            b"PK\x03\x04rest",
            &bytes[..bytes.len() - 1],
        ] {
            let err = describe("junk", junk).expect_err("junk");
            assert!(err.to_string().starts_with("junk: "), "{err}");
        }
    }
}
