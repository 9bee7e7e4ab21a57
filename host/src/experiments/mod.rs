//! Experiments: each reproduces one piece of the seeds and runs alone (`edgeml <name>`) or as
//! part of `edgeml reproduce`, writing a Markdown section, key figures as JSON, plots, and a
//! few headline figures for the terminal summary.

use std::path::PathBuf;

use crate::datasets::DataConfig;
pub use crate::report::summary::{Digits, Headline};

/// Everything an experiment needs from the command line and the report being written.
pub struct RunContext {
    /// Where the datasets are looked for.
    pub data: DataConfig,
    /// The report folder (`report/` by default); plots are written here.
    pub out_dir: PathBuf,
    /// Smaller sizes and fewer repetitions, for tests and smoke runs.
    pub quick: bool,
    /// Seed for every random choice the experiment makes.
    pub seed: u64,
}

/// What an experiment hands back to the report writer.
pub struct ExperimentReport {
    /// Markdown body of the experiment's section in REPORT.md (without its heading).
    pub markdown: String,
    /// Key figures under stable keys, written to `report/<name>.json`.
    pub figures: serde_json::Value,
    /// Plot files written into `out_dir`, relative to it.
    pub plots: Vec<PathBuf>,
    /// Which data it ran on, in words (e.g. "Fashion-MNIST (/usr/share/...)" or "synthetic").
    pub data_source: String,
    /// A few headline figures (2 to 5), each beside the seed's or a peer's figure where one
    /// exists, for the terminal summary and `--json`.
    pub headline: Vec<Headline>,
}

/// One reproducible experiment.
pub trait Experiment {
    /// Short name: the subcommand, and the JSON file name `report/<name>.json`.
    fn name(&self) -> &'static str;
    /// Section heading in REPORT.md.
    fn title(&self) -> &'static str;
    /// Runs the experiment, showing progress on stderr.
    fn run(&self, ctx: &RunContext) -> anyhow::Result<ExperimentReport>;
}

pub mod anomaly;
pub mod attention;
pub mod bench;
#[cfg(feature = "gpu")]
pub mod gpu_mlp;
pub mod knn_lab;
pub mod mlp;
pub mod trees;
pub mod tune;

/// Every registered experiment, in the order `edgeml reproduce` runs them, with default
/// options (each reads `RunContext::quick` for its smaller sizes).
pub fn registry() -> Vec<Box<dyn Experiment>> {
    let mut experiments: Vec<Box<dyn Experiment>> = vec![
        Box::new(bench::Bench::new(bench::BenchArgs::default())),
        Box::new(knn_lab::KnnLab::new(knn_lab::KnnLabArgs::default())),
        Box::new(trees::Trees::new(trees::TreesArgs::default())),
        Box::new(mlp::MlpExperiment::new(mlp::MlpArgs::default())),
        Box::new(attention::AttentionExperiment::new(
            attention::AttentionArgs::default(),
        )),
        Box::new(tune::TuneExperiment::new(tune::TuneArgs::default())),
        Box::new(tune::EnsembleExperiment::new(tune::EnsembleArgs::default())),
        Box::new(anomaly::AnomalyExperiment::new(
            anomaly::AnomalyArgs::default(),
        )),
    ];
    experiments.extend(gpu_experiments());
    experiments
}

/// The experiments that need the `gpu` feature, in `edgeml reproduce`'s order; each reports a
/// missing adapter instead of failing. `gpu-mlp` runs 2 epochs instead of its default 3: on
/// lavapipe one GPU epoch of 60 000 rows takes ≈ 11 s.
#[cfg(feature = "gpu")]
fn gpu_experiments() -> Vec<Box<dyn Experiment>> {
    let args = gpu_mlp::GpuMlpArgs {
        epochs: Some(2),
        rows: None,
    };
    vec![Box::new(gpu_mlp::GpuMlp::new(args))]
}

/// None: this build has no `gpu` feature.
#[cfg(not(feature = "gpu"))]
fn gpu_experiments() -> Vec<Box<dyn Experiment>> {
    Vec::new()
}
