//! `edgeml import`: tree ensembles trained elsewhere (LightGBM text models, XGBoost JSON
//! models, scikit-learn trees through benches/peers/sklearn_export.py) converted to the
//! core's validated [`Model`] and its byte format ([`edgeml_core::tree::serial`]), and
//! PyTorch MLP weights from safetensors ([`safetensors`]) converted to the core's MLP format.
//!
//! The core's node routes `x <= value` left and NaN by its default-left flag. Every import
//! keeps the exact routing of finite inputs and carries the source's NaN direction into the
//! flag (LightGBM's missing types and default-left bit, XGBoost's `default_left`); a split
//! whose finite routing depends on a missing-value rule (LightGBM's zero-as-missing against
//! its threshold) or on categories is rejected with the file, line or key, and reason.
//! scikit-learn exports carry no NaN direction: imported scikit-learn models send NaN right.

pub mod layout;
pub mod lightgbm;
pub mod safetensors;
pub mod sklearn;
pub mod xgboost;

use std::fmt;
use std::path::{Path, PathBuf};

use edgeml_core::tree::{serial, Model, ModelKind, Node};

/// An import failure: the file, where in it (`line N` or a JSON key path), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The file being imported.
    pub file: PathBuf,
    /// `line N`, a JSON key path, or `file` for whole-file problems.
    pub location: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file.display(),
            self.location,
            self.reason
        )
    }
}

impl std::error::Error for ImportError {}

/// Builds an [`ImportError`] for `file` at `location`.
pub fn error(file: &Path, location: impl Into<String>, reason: impl Into<String>) -> ImportError {
    ImportError {
        file: file.to_path_buf(),
        location: location.into(),
        reason: reason.into(),
    }
}

/// An owned tree ensemble in the core's layout (nodes of all trees back to back, the first
/// node of each tree, per-output base scores), checked by [`Model::new`] when built.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTrees {
    /// How the trees' outputs combine.
    pub kind: ModelKind,
    /// Features per input row.
    pub n_features: usize,
    /// Scores per row.
    pub n_outputs: usize,
    /// All nodes, tree after tree.
    pub nodes: Vec<Node>,
    /// First node of each tree.
    pub roots: Vec<u32>,
    /// Base scores (`n_outputs` for boosted kinds, empty for forests).
    pub base: Vec<f32>,
}

impl ImportedTrees {
    /// The borrowed core model over these arrays (validated again).
    pub fn model(&self) -> edgeml_core::Result<Model<'_>> {
        Model::new(
            self.kind,
            self.n_features,
            self.n_outputs,
            &self.nodes,
            &self.roots,
            &self.base,
        )
    }

    /// The core's serialized bytes of this model ([`serial::save`]).
    pub fn to_bytes(&self) -> edgeml_core::Result<Vec<u8>> {
        let model = self.model()?;
        let mut out = vec![0u8; serial::serialized_len(&model)?];
        serial::save(&model, &mut out)?;
        Ok(out)
    }

    /// Builds from trees already laid out, checking the result with [`Model::new`]; `file`
    /// names the source in the error.
    pub fn from_trees(
        file: &Path,
        kind: ModelKind,
        n_features: usize,
        n_outputs: usize,
        trees: Vec<Vec<Node>>,
        base: Vec<f32>,
    ) -> Result<Self, ImportError> {
        let mut nodes = Vec::new();
        let mut roots = Vec::with_capacity(trees.len());
        for tree in trees {
            let root = u32::try_from(nodes.len())
                .map_err(|_| error(file, "file", "more than 2^32 nodes"))?;
            roots.push(root);
            nodes.extend(tree);
        }
        let imported = ImportedTrees {
            kind,
            n_features,
            n_outputs,
            nodes,
            roots,
            base,
        };
        imported
            .model()
            .map_err(|e| error(file, "file", format!("not a valid core model: {e}")))?;
        Ok(imported)
    }
}

/// Source formats `edgeml import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// LightGBM `model.txt` (`Booster.save_model`).
    Lightgbm,
    /// XGBoost JSON (`Booster.save_model("m.json")`).
    Xgboost,
    /// scikit-learn trees, forests, gradient boosting (benches/peers/sklearn_export.py JSON).
    Sklearn,
    /// PyTorch MLP weights in safetensors (`nn.Sequential` of `Linear` + activations).
    Safetensors,
}

/// Arguments of `edgeml import`.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// Format of the input model.
    #[arg(value_enum)]
    pub format: Format,
    /// The model file to read, gzip-compressed or not (told by its first bytes); `-` reads
    /// stdin.
    pub input: PathBuf,
    /// Where to write the core's byte format (EMLT for trees, the MLP format for weights); `-`
    /// writes stdout (the summary then goes to stderr).
    pub output: PathBuf,
    /// Safetensors only: one activation per layer, comma-separated
    /// (`identity|relu|sigmoid|tanh|gelu`); default: the `edgeml.activations` metadata.
    #[arg(long)]
    pub activations: Option<String>,
}

/// The bytes of `path` (`-`: stdin), decompressed when gzip, at most
/// [`crate::input::MAX_BYTES`] before and after.
pub fn read_input(path: &Path) -> Result<Vec<u8>, ImportError> {
    crate::input::read(path).map_err(|e| error(Path::new(&e.source_name), "file", e.reason))
}

/// Reads `path` (`-`: stdin; gzip accepted) as `format` and converts it.
pub fn import_file(format: Format, path: &Path) -> Result<ImportedTrees, ImportError> {
    let name = PathBuf::from(crate::input::display_name(path));
    let text = String::from_utf8(read_input(path)?)
        .map_err(|e| error(&name, "file", format!("not UTF-8 text: {e}")))?;
    let path = name.as_path();
    match format {
        Format::Lightgbm => lightgbm::parse(path, &text),
        Format::Xgboost => xgboost::parse(path, &text),
        Format::Sklearn => sklearn::parse(path, &text),
        Format::Safetensors => Err(error(path, "file", "safetensors holds an MLP, not trees")),
    }
}

/// Converts `args.input` and returns the output bytes and a one-line description of them.
fn convert(args: &ImportArgs) -> anyhow::Result<(Vec<u8>, String)> {
    let name = PathBuf::from(crate::input::display_name(&args.input));
    if args.format == Format::Safetensors {
        let bytes = read_input(&args.input)?;
        let mlp = safetensors::parse(&name, &bytes, args.activations.as_deref())?;
        let out = mlp
            .to_bytes(edgeml_core::nn::Dtype::F32)
            .map_err(|e| anyhow::anyhow!("{}: serializing: {e}", name.display()))?;
        let what = format!("MLP {:?}", mlp.topology.sizes());
        return Ok((out, what));
    }
    let imported = import_file(args.format, &args.input)?;
    let bytes = imported
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("{}: serializing: {e}", name.display()))?;
    let what = format!(
        "{:?}, {} trees, {} nodes, {} features, {} outputs",
        imported.kind,
        imported.roots.len(),
        imported.nodes.len(),
        imported.n_features,
        imported.n_outputs,
    );
    Ok((bytes, what))
}

/// Runs `edgeml import`: converts, writes the bytes (`-`: stdout), and prints a one-line
/// summary as [`crate::report::terminal::mode`] says (text or a JSON line; on stderr when the
/// bytes go to stdout; nothing with `--quiet`).
pub fn run(args: &ImportArgs) -> anyhow::Result<()> {
    use crate::report::terminal::{self, Mode};
    let started = std::time::Instant::now();
    let (bytes, what) = convert(args)?;
    crate::input::write(&args.output, &bytes)?;
    let input = crate::input::display_name(&args.input);
    let output = if crate::input::is_stdio(&args.output) {
        "stdout".to_string()
    } else {
        args.output.display().to_string()
    };
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let line = match terminal::mode() {
        Mode::Quiet => return Ok(()),
        Mode::Text => format!(
            "{input} -> {output}: {what}, {} bytes, {ms:.1} ms",
            bytes.len()
        ),
        Mode::Json => serde_json::json!({
            "input": input, "output": output, "model": what, "bytes": bytes.len(), "ms": ms,
        })
        .to_string(),
    };
    if crate::input::is_stdio(&args.output) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(())
}
