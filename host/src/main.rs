//! `edgeml`: inspect datasets and model files, run experiments, and write the report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use edgeml_host::datasets::{inventory, DataConfig};
use edgeml_host::experiments::trees;
use edgeml_host::experiments::{self, bench, knn_lab, mlp, Experiment, RunContext};
use edgeml_host::report::terminal::{self, Mode};
use edgeml_host::report::writer;

/// Edge-ML workspace tool: datasets, experiments and reports.
#[derive(Parser, Debug)]
#[command(name = "edgeml", version, about)]
struct Cli {
    /// Report folder (REPORT.md, <experiment>.json, plots).
    #[arg(long, global = true, default_value = "report")]
    out: PathBuf,
    /// Smaller sizes and fewer repetitions.
    #[arg(long, global = true)]
    quick: bool,
    /// Seed for every random choice.
    #[arg(long, global = true, default_value_t = 42)]
    seed: u64,
    /// Nothing on stdout and no progress on stderr; only errors and warnings.
    #[arg(long, global = true, conflicts_with = "json")]
    quiet: bool,
    /// Results as JSON on stdout (one line per experiment); progress stays on stderr.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    data: DataConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List each dataset: where it was looked for, found or not, rows, SHA-256 of its files
    /// (`--json` for scripts).
    Datasets,
    /// A model file's kind, shapes, file size, flash bytes and the RAM it needs to run (MLP or
    /// tree ensemble in the core's formats; `-` reads stdin, gzip accepted).
    Inspect {
        /// The model file.
        model: PathBuf,
    },
    /// Run every experiment in order and write the full report.
    Reproduce,
    /// Kernel benchmarks per variant (gemm, dot, softmax), and scalar / SIMD / GPU side by side.
    Bench(bench::BenchArgs),
    /// The FMML k-NN lab on California Housing, seed-exact, with its exercises and timings.
    KnnLab(knn_lab::KnnLabArgs),
    /// Decision trees, random forests and gradient boosting on California Housing and
    /// Fashion-MNIST.
    Trees(trees::TreesArgs),
    /// Attention: the seed's Q, K, V example, a tiny vision transformer, throughput by length.
    Attention(experiments::attention::AttentionArgs),
    /// MLP on Fashion-MNIST: the seed's 784-128-10 for 100 epochs, and its studies.
    Mlp(mlp::MlpArgs),
    /// Firmware (firmware/): export the trained models, check QEMU's output, footprint report.
    Export(edgeml_host::firmware::ExportArgs),
    /// Convert LightGBM, XGBoost, scikit-learn trees or a PyTorch MLP to the core's formats.
    Import(edgeml_host::import::ImportArgs),
    /// Hyperparameter search on Fashion-MNIST: TPE, random, Hyperband, the best-epoch workflow.
    Tune(experiments::tune::TuneArgs),
    /// Tuned MLP, boosted trees and k-NN (plus a tiny ViT on Fashion-MNIST) and their ensembles.
    Ensemble(experiments::tune::EnsembleArgs),
    /// Anomaly detection: one-class Fashion-MNIST (autoencoder, k-means, k-NN), k-means beside
    /// scikit-learn's, a vibration-monitoring demonstration.
    Anomaly(experiments::anomaly::AnomalyArgs),
    /// A shared tuning study (SQLite or PostgreSQL): status, best trial, export, import.
    Study(experiments::tune::study::StudyArgs),
    /// The seed's MLP trained on the GPU beside the CPU: loss curves and time per epoch.
    #[cfg(feature = "gpu")]
    GpuMlp(experiments::gpu_mlp::GpuMlpArgs),
}

fn run(cli: Cli) -> Result<()> {
    let mode = if cli.quiet {
        Mode::Quiet
    } else if cli.json {
        Mode::Json
    } else {
        Mode::Text
    };
    terminal::set_mode(mode);
    let ctx = RunContext {
        data: cli.data,
        out_dir: cli.out,
        quick: cli.quick,
        seed: cli.seed,
    };
    let chosen: Vec<Box<dyn Experiment>> = match cli.command {
        Command::Datasets => {
            let entries = inventory::survey(&ctx.data);
            match mode {
                Mode::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
                Mode::Text => print!("{}", inventory::render(&entries)),
                Mode::Quiet => {}
            }
            return Ok(());
        }
        Command::Inspect { model } => {
            let inspection = edgeml_host::inspect::inspect_file(&model)?;
            match mode {
                Mode::Json => println!("{}", serde_json::to_string(&inspection)?),
                Mode::Text => print!("{}", edgeml_host::inspect::render(&inspection)),
                Mode::Quiet => {}
            }
            return Ok(());
        }
        Command::Reproduce => experiments::registry(),
        Command::Bench(args) => vec![Box::new(bench::Bench::new(args))],
        Command::KnnLab(args) => vec![Box::new(knn_lab::KnnLab::new(args))],
        Command::Trees(args) => vec![Box::new(trees::Trees::new(args))],
        Command::Attention(args) => {
            vec![Box::new(experiments::attention::AttentionExperiment::new(
                args,
            ))]
        }
        Command::Mlp(args) => vec![Box::new(mlp::MlpExperiment::new(args))],
        Command::Export(args) => return edgeml_host::firmware::run(&args, &ctx.data),
        Command::Import(args) => return edgeml_host::import::run(&args),
        Command::Tune(args) if args.worker => return experiments::tune::study::work(&args, &ctx),
        Command::Study(args) => return experiments::tune::study::command(&args),
        Command::Tune(args) => vec![Box::new(experiments::tune::TuneExperiment::new(args))],
        Command::Ensemble(args) => {
            vec![Box::new(experiments::tune::EnsembleExperiment::new(args))]
        }
        Command::Anomaly(args) => {
            vec![Box::new(experiments::anomaly::AnomalyExperiment::new(args))]
        }
        #[cfg(feature = "gpu")]
        Command::GpuMlp(args) => vec![Box::new(experiments::gpu_mlp::GpuMlp::new(args))],
    };
    let outcomes = writer::run_all(&chosen, &ctx)?;
    terminal::note(format!(
        "report written to {}",
        ctx.out_dir.join("REPORT.md").display()
    ));
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.name)
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} experiments failed: {}",
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Mesa's device-select Vulkan layer prints `XDG_RUNTIME_DIR is invalid` lines on headless
/// machines; `NODEVICE_SELECT=1` turns the layer off. Set before anything opens a GPU, unless
/// the user set it.
fn quiet_vulkan_loader() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY of the environment write: it runs first in `main`, before any thread (rayon,
        // wgpu, progress bars) exists, so nothing reads the environment concurrently.
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

fn main() -> ExitCode {
    quiet_vulkan_loader();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
