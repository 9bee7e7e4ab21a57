//! `edgeml`: inspect datasets, run experiments, and write the report.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use edgeml_host::datasets::{inventory, DataConfig};
use edgeml_host::experiments::trees;
use edgeml_host::experiments::{self, bench, knn_lab, mlp, Experiment, RunContext};
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
    #[command(flatten)]
    data: DataConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List each dataset: where it was looked for, found or not, rows, SHA-256 of its files.
    Datasets {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
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
    /// A shared tuning study (SQLite or PostgreSQL): status, best trial, export, import.
    Study(experiments::tune::study::StudyArgs),
    /// The seed's MLP trained on the GPU beside the CPU: loss curves and time per epoch.
    #[cfg(feature = "gpu")]
    GpuMlp(experiments::gpu_mlp::GpuMlpArgs),
}

fn run(cli: Cli) -> Result<()> {
    let ctx = RunContext {
        data: cli.data,
        out_dir: cli.out,
        quick: cli.quick,
        seed: cli.seed,
    };
    let chosen: Vec<Box<dyn Experiment>> = match cli.command {
        Command::Datasets { json } => {
            let entries = inventory::survey(&ctx.data);
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print!("{}", inventory::render(&entries));
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
        #[cfg(feature = "gpu")]
        Command::GpuMlp(args) => vec![Box::new(experiments::gpu_mlp::GpuMlp::new(args))],
    };
    let outcomes = writer::run_all(&chosen, &ctx)?;
    eprintln!(
        "report written to {}",
        ctx.out_dir.join("REPORT.md").display()
    );
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
