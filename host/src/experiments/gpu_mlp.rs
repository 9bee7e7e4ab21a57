//! `edgeml gpu-mlp`: the seed's 784-128(ReLU)-10 trained on Fashion-MNIST with the same
//! initial weights and batch order on the CPU (the core's trainer) and on the GPU (edgeml-gpu's
//! resident trainer), side by side: loss curves, time per epoch and test accuracy.

use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use edgeml_core::nn::{inference_scratch_len, Topology};
use edgeml_core::nn::{split_workspace, Activation, Loss, Optimizer, Targets, TrainConfig};
use edgeml_core::rng::Rng;
use edgeml_gpu::{Gpu, GpuError, GpuTrainer};
use serde_json::{json, Value};

use crate::cpu;
use crate::datasets::{self, Dataset};
use crate::experiments::{Digits, Experiment, ExperimentReport, Headline, RunContext};
use crate::report::format::{percent, significant};
use crate::report::plot::{line_plot, Series};
use crate::report::progress;
use crate::report::table::Table;
use crate::report::terminal::note;

/// Layer sizes of the seed's network.
const SIZES: [usize; 3] = [784, 128, 10];
/// Minibatch rows (the seed's).
const BATCH: usize = 64;
/// SGD learning rate (the seed's).
const LR: f32 = 0.01;
/// Loss points per epoch on the curves.
const POINTS_PER_EPOCH: usize = 10;

/// Options of `edgeml gpu-mlp`.
#[derive(Args, Clone, Debug, Default)]
pub struct GpuMlpArgs {
    /// Epochs (default 3; 1 with --quick).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Training rows used (default all 60 000; 2 000 with --quick).
    #[arg(long)]
    pub rows: Option<usize>,
}

/// The experiment.
pub struct GpuMlp {
    args: GpuMlpArgs,
}

impl GpuMlp {
    /// The experiment with these options.
    pub fn new(args: GpuMlpArgs) -> Self {
        GpuMlp { args }
    }
}

/// Pixels as (x − 0.5)/0.5 and labels, the first `rows` rows of `data`.
fn examples(data: &Dataset, rows: usize) -> Result<(Vec<f32>, Vec<u32>)> {
    let datasets::Targets::Classes(labels) = &data.targets else {
        return Err(anyhow!("{} has no class labels", data.source));
    };
    let rows = rows.min(data.rows());
    let features = data.features.ncols();
    if features != SIZES[0] {
        return Err(anyhow!("{} has {features} features, not 784", data.source));
    }
    let x = data
        .features
        .rows()
        .into_iter()
        .take(rows)
        .flat_map(|row| row.iter().map(|&v| (v - 0.5) / 0.5).collect::<Vec<_>>())
        .collect();
    let y = labels.iter().take(rows).map(|&l| u32::from(l)).collect();
    Ok((x, y))
}

/// The report of a run that found no GPU adapter: one line saying why, `available: false`.
fn skipped(error: &GpuError) -> ExperimentReport {
    note(format!("no GPU adapter: {error}; gpu-mlp skipped"));
    ExperimentReport {
        headline: Vec::new(),
        markdown: format!("Skipped — no GPU adapter: {error}.\n"),
        figures: json!({ "available": false, "reason": error.to_string() }),
        plots: Vec::new(),
        data_source: "none (skipped)".into(),
    }
}

/// Headline: median seconds per epoch on the GPU beside the CPU, the GPU's test accuracy beside
/// the CPU's, and the largest per-epoch loss difference between the two paths.
fn headline(figures: &Value) -> Vec<Headline> {
    let median = |key: &str| {
        let mut values: Vec<f64> = figures[key]
            .as_array()?
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied()
    };
    let seconds = median("gpu_epoch_seconds").map(|gpu| {
        let headline = Headline::new("seconds per epoch, GPU (median)", gpu, "s");
        match median("cpu_epoch_seconds") {
            Some(cpu) => headline.reference(format!("CPU {} s", significant(cpu, 3))),
            None => headline,
        }
    });
    let accuracy = figures["gpu_test_accuracy"].as_f64().map(|gpu| {
        let headline =
            Headline::new("test accuracy, GPU", 100.0 * gpu, "%").digits(Digits::Decimals(2));
        match figures["cpu_test_accuracy"].as_f64() {
            Some(cpu) => headline.reference(format!("CPU {}", percent(cpu, 2))),
            None => headline,
        }
    });
    let diff = Headline::at(
        figures,
        "/max_epoch_loss_diff",
        "largest epoch loss difference",
        "",
    )
    .map(|h| h.digits(Digits::Significant(2)));
    [seconds, accuracy, diff].into_iter().flatten().collect()
}

/// Per-epoch results of one path.
#[derive(Default)]
struct Curve {
    /// (epoch position, mean loss over the points' steps).
    points: Vec<(f64, f64)>,
    /// Mean loss per epoch.
    epoch_loss: Vec<f64>,
    /// Seconds per epoch.
    epoch_seconds: Vec<f64>,
}

impl Curve {
    fn record(&mut self, epoch: usize, losses: &[f32], seconds: f64) {
        let chunk = losses.len().div_ceil(POINTS_PER_EPOCH).max(1);
        for (i, part) in losses.chunks(chunk).enumerate() {
            let at = epoch as f64 + (i + 1) as f64 * part.len() as f64 / losses.len() as f64;
            self.points.push((at, mean(part)));
        }
        self.epoch_loss.push(mean(losses));
        self.epoch_seconds.push(seconds);
    }
}

fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64
}

/// Fraction of `labels` predicted by the parameters `params` on `x`.
fn accuracy(params: &[f32], x: &[f32], labels: &[u32]) -> Result<f64> {
    let topology = Topology::new(&SIZES, &[Activation::Relu, Activation::Identity])?;
    let mut model = params.to_vec();
    let mlp = edgeml_core::nn::Mlp::new(topology, &mut model)?;
    let rows = labels.len();
    let mut scratch = vec![0.0f32; inference_scratch_len(&SIZES, rows)];
    let mut out = vec![0.0f32; rows * SIZES[2]];
    mlp.forward(cpu::selected_dispatch()?, x, &mut scratch, &mut out)?;
    let correct = out
        .chunks_exact(SIZES[2])
        .zip(labels)
        .filter(|(row, &label)| {
            let best = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &v)| if v > b.1 { (i, v) } else { b },
                );
            best.0 == label as usize
        })
        .count();
    Ok(correct as f64 / rows.max(1) as f64)
}

impl Experiment for GpuMlp {
    fn name(&self) -> &'static str {
        "gpu-mlp"
    }

    fn title(&self) -> &'static str {
        "MLP training on the GPU beside the CPU"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let epochs = self.args.epochs.unwrap_or(if ctx.quick { 1 } else { 3 });
        let rows = self
            .args
            .rows
            .unwrap_or(if ctx.quick { 2_000 } else { 60_000 });
        let gpu = match Gpu::new() {
            Ok(gpu) => gpu,
            Err(e @ GpuError::NoAdapter { .. }) => return Ok(skipped(&e)),
            Err(e) => return Err(e).context("edgeml gpu-mlp needs a GPU adapter"),
        };
        let adapter = gpu.adapter_info().clone();
        let split = datasets::load_fashion_mnist_or_synthetic(&ctx.data, rows, 1000, ctx.seed)?;
        let (x, y) = examples(&split.train, rows)?;
        let (test_x, test_y) = examples(&split.test, 10_000)?;
        let rows = y.len();
        let dispatch = cpu::selected_dispatch()?;
        let topology = Topology::new(&SIZES, &[Activation::Relu, Activation::Identity])?;
        let mut config = TrainConfig::new(BATCH, Loss::SoftmaxCrossEntropy, Optimizer::sgd(LR));
        config.dispatch = dispatch;
        let mut workspace = vec![0.0f32; topology.model_len() + config.trainer_len(&topology)];
        let (mut mlp, mut trainer) = split_workspace(topology, config, &mut workspace)?;
        let mut rng = Rng::new(ctx.seed);
        mlp.init(&mut rng);
        let upload = Instant::now();
        let mut gpu_trainer = GpuTrainer::new(
            &gpu,
            &SIZES,
            &[Activation::Relu, Activation::Identity],
            &config,
            mlp.params(),
        )?;
        let setup_seconds = upload.elapsed().as_secs_f64();
        let (mut cpu_curve, mut gpu_curve) = (Curve::default(), Curve::default());
        let steps = rows.div_ceil(BATCH);
        let bar = progress::bar((epochs * steps * 2) as u64, "gpu-mlp");
        let mut order: Vec<usize> = (0..rows).collect();
        let (mut xb, mut yb) = (Vec::new(), Vec::new());
        let features = SIZES[0];
        for epoch in 0..epochs {
            rng.shuffle(&mut order);
            let batches: Vec<(Vec<f32>, Vec<u32>)> = order
                .chunks(BATCH)
                .map(|chunk| {
                    xb.clear();
                    yb.clear();
                    for &r in chunk {
                        xb.extend_from_slice(&x[r * features..(r + 1) * features]);
                        yb.push(y[r]);
                    }
                    (xb.clone(), yb.clone())
                })
                .collect();
            let start = Instant::now();
            let mut losses = Vec::with_capacity(steps);
            let mut dropout_rng = Rng::new(0);
            for (bx, by) in &batches {
                let report = trainer.step(&mut mlp, bx, Targets::Classes(by), &mut dropout_rng)?;
                losses.push(report.loss);
                bar.inc(1);
            }
            cpu_curve.record(epoch, &losses, start.elapsed().as_secs_f64());
            let start = Instant::now();
            losses.clear();
            for (bx, by) in &batches {
                losses.push(gpu_trainer.step(bx, by)?);
                bar.inc(1);
            }
            gpu_curve.record(epoch, &losses, start.elapsed().as_secs_f64());
        }
        bar.finish_and_clear();
        let gpu_params = gpu_trainer.params()?;
        let cpu_accuracy = accuracy(mlp.params(), &test_x, &test_y)?;
        let gpu_accuracy = accuracy(&gpu_params, &test_x, &test_y)?;
        let max_diff = cpu_curve
            .epoch_loss
            .iter()
            .zip(&gpu_curve.epoch_loss)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f64, f64::max);
        let plot = std::path::PathBuf::from("gpu_mlp_loss.png");
        line_plot(
            &ctx.out_dir.join(&plot),
            "784-128-10 training loss: CPU vs GPU (same weights and batches)",
            "epoch",
            "mean minibatch loss",
            &[
                Series {
                    name: format!("CPU ({})", dispatch.isa().name()),
                    points: cpu_curve.points.clone(),
                },
                Series {
                    name: format!("GPU ({})", adapter.name),
                    points: gpu_curve.points.clone(),
                },
            ],
        )?;
        let mut table = Table::new(["epoch", "CPU loss", "GPU loss", "CPU s", "GPU s"]);
        for e in 0..epochs {
            table.row([
                (e + 1).to_string(),
                format!("{:.6}", cpu_curve.epoch_loss[e]),
                format!("{:.6}", gpu_curve.epoch_loss[e]),
                format!("{:.2}", cpu_curve.epoch_seconds[e]),
                format!("{:.2}", gpu_curve.epoch_seconds[e]),
            ]);
        }
        let markdown = format!(
            "{rows} training rows, batch {BATCH}, SGD lr {LR}, {epochs} epochs, the same initial \
             weights and batch order on both paths. GPU: {adapter}{}. CPU kernels: `{}`, one \
             thread. The GPU path keeps weights, gradients and activations resident and uploads \
             one minibatch per step (setup and weight upload {setup_seconds:.3} s).\n\n{}\n\
             Largest per-epoch loss difference: {max_diff:.2e}. Test accuracy ({} rows): CPU \
             {:.4}, GPU {:.4}.\n\n![loss]({})\n",
            if adapter.is_software() {
                " — a software rasterizer: the CPU emulating a GPU, so its times say nothing \
                 about real GPUs"
            } else {
                ""
            },
            dispatch.isa().name(),
            table.render(),
            test_y.len(),
            cpu_accuracy,
            gpu_accuracy,
            plot.display()
        );
        let figures = json!({
            "available": true,
            "adapter": adapter.to_string(),
            "software_adapter": adapter.is_software(),
            "isa": dispatch.isa().name(),
            "epochs": epochs,
            "train_rows": rows,
            "cpu_epoch_loss": cpu_curve.epoch_loss,
            "gpu_epoch_loss": gpu_curve.epoch_loss,
            "cpu_epoch_seconds": cpu_curve.epoch_seconds,
            "gpu_epoch_seconds": gpu_curve.epoch_seconds,
            "max_epoch_loss_diff": max_diff,
            "cpu_test_accuracy": cpu_accuracy,
            "gpu_test_accuracy": gpu_accuracy,
            "synthetic": split.train.synthetic,
        });
        Ok(ExperimentReport {
            markdown,
            headline: headline(&figures),
            figures,
            plots: vec![plot],
            data_source: split.train.source.clone(),
        })
    }
}
