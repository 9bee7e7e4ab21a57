//! The attention experiment (`edgeml attention`): the seed's Q, K, V worked example, a tiny
//! vision transformer trained on Fashion-MNIST beside an MLP, the forward throughput of
//! multi-head attention by sequence length and kernel variant (one thread), and the scratch
//! memory of the streaming kernel against the materialized reference.

pub mod throughput;
pub mod training;
pub mod vit;
pub mod worked;

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use serde_json::{json, Value};

use super::{Digits, Experiment, ExperimentReport, Headline, RunContext};
use crate::cpu;
use crate::datasets::{self, Dataset, Targets};
use crate::report::format::{fixed, percent, significant};
use crate::report::plot::{line_plot, Series};
use crate::report::progress;
use crate::report::terminal::note;
use throughput::{Table, Variant, HEADS, HEAD_DIM};
use training::{Images, Schedule, Trained};
use vit::{Vit, VitShape};

/// Options of `edgeml attention`.
#[derive(Args, Clone, Debug, Default)]
pub struct AttentionArgs {
    /// Sequence lengths of the throughput table (default 64,128,512,2048; 64,128 with --quick).
    #[arg(long, value_delimiter = ',')]
    pub lengths: Vec<usize>,
    /// Minimum measuring time per throughput figure, in milliseconds (default 200; 20 with
    /// --quick).
    #[arg(long)]
    pub min_time_ms: Option<u64>,
    /// Longest sequence the materialized reference is timed at (default 2048).
    #[arg(long)]
    pub reference_max_len: Option<usize>,
    /// Training epochs of both models (default 3; 1 with --quick).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Training images used, the first of the shipped training set (default 60000; 1000 with
    /// --quick).
    #[arg(long)]
    pub train_images: Option<usize>,
    /// Test images used (default all 10000; 500 with --quick).
    #[arg(long)]
    pub test_images: Option<usize>,
    /// Token width of the vision transformer (default 32; 4 heads).
    #[arg(long)]
    pub width: Option<usize>,
    /// Only the worked example and the throughput and memory tables (for
    /// benches/peers/run.sh).
    #[arg(long)]
    pub throughput_only: bool,
}

/// The attention experiment.
pub struct AttentionExperiment {
    args: AttentionArgs,
}

impl AttentionExperiment {
    /// The experiment with the given options.
    pub fn new(args: AttentionArgs) -> AttentionExperiment {
        AttentionExperiment { args }
    }
}

/// Settings resolved from the options and `--quick`.
struct Settings {
    lengths: Vec<usize>,
    min_time: Duration,
    reference_max_len: usize,
    schedule: Schedule,
    train_images: usize,
    test_images: usize,
    shape: VitShape,
    mlp_hidden: usize,
}

impl AttentionArgs {
    fn settings(&self, quick: bool) -> Settings {
        let lengths = match (&self.lengths[..], quick) {
            ([], true) => vec![64, 128],
            ([], false) => vec![64, 128, 512, 2048],
            (given, _) => given.to_vec(),
        };
        let pick = |value: Option<usize>, quick_value, full_value| {
            value.unwrap_or(if quick { quick_value } else { full_value })
        };
        let d_model = self.width.unwrap_or(32);
        Settings {
            lengths,
            min_time: Duration::from_millis(self.min_time_ms.unwrap_or(if quick {
                20
            } else {
                200
            })),
            reference_max_len: self.reference_max_len.unwrap_or(2048),
            schedule: Schedule {
                epochs: pick(self.epochs, 1, 3),
                batch: 32,
                lr: 3e-3,
            },
            train_images: pick(self.train_images, 1000, 60_000),
            test_images: pick(self.test_images, 500, 10_000),
            shape: VitShape {
                d_model,
                heads: 4,
                d_ff: 2 * d_model,
                classes: 10,
            },
            mlp_hidden: 128,
        }
    }
}

impl Experiment for AttentionExperiment {
    fn name(&self) -> &'static str {
        "attention"
    }

    fn title(&self) -> &'static str {
        "Attention: worked example, tiny vision transformer, throughput"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let settings = self.args.settings(ctx.quick);
        let dispatch = cpu::selected_dispatch()?;
        note(format!(
            "attention: cpu {}; kernel variant {}",
            cpu::model_name(),
            dispatch.isa().name()
        ));
        let mut rng = Rng::new(ctx.seed);

        let worked = worked::run(dispatch)?;
        let mut markdown = String::from("### The seed's worked example\n\n");
        markdown.push_str(&worked.markdown());

        let (speed, speed_json, speed_plot) = throughput_section(&settings, dispatch, ctx)?;
        markdown.push_str(&speed);
        let mut plots = vec![speed_plot];

        let mut figures = json!({
            "cpu": cpu::model_name(),
            "dispatched_variant": dispatch.isa().name(),
            "worked_example": {
                "tokens": worked::TOKENS,
                "query": worked::TOKENS[worked::QUERY],
                "weights": worked.weights,
                "output": worked.output,
                "max_abs_diff_vs_f64": worked.max_abs_diff,
            },
        });
        merge(&mut figures, speed_json);
        let mut data_source = "fixed embeddings and random Q, K, V".to_string();
        if !self.args.throughput_only {
            let (text, json, plot, source) = training_section(&settings, dispatch, ctx, &mut rng)?;
            markdown.push_str(&text);
            merge(&mut figures, json);
            plots.push(plot);
            data_source = source;
        }
        Ok(ExperimentReport {
            markdown,
            headline: headline(&figures),
            figures,
            plots: plots.into_iter().map(Into::into).collect(),
            data_source,
        })
    }
}

/// The materialized reference kernel's row name in the throughput table.
const REFERENCE_KERNEL: &str = "reference (materialized)";

/// Headline: the worked example's error against f64, the fastest kernel's throughput at the
/// longest sequence beside the materialized reference's, and the ViT's test accuracy beside
/// the MLP with its parameter count.
fn headline(figures: &Value) -> Vec<Headline> {
    let worked = Headline::at(
        figures,
        "/worked_example/max_abs_diff_vs_f64",
        "worked example, largest difference to f64",
        "",
    )
    .map(|h| h.digits(Digits::Significant(2)));
    let throughput = figures["throughput_gflops"]
        .as_object()
        .and_then(|kernels| {
            let longest = kernels
                .values()
                .filter_map(Value::as_object)
                .flat_map(|by_length| by_length.keys().filter_map(|l| l.parse::<usize>().ok()))
                .max()?;
            let at = |kernel: &Value| kernel.get(longest.to_string())?.as_f64();
            let (best, gflops) = kernels
                .iter()
                .filter_map(|(name, by_length)| Some((name, at(by_length)?)))
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let headline = Headline::new(
                format!("attention at L = {longest}, {best}"),
                gflops,
                "GFLOP/s",
            );
            Some(match kernels.get(REFERENCE_KERNEL).and_then(at) {
                Some(reference) if !best.starts_with("reference") => headline.reference(format!(
                    "materialized reference {} GFLOP/s",
                    significant(reference, 3)
                )),
                _ => headline,
            })
        });
    let accuracy = |run: &str| {
        figures
            .pointer(&format!("/training/{run}/test_accuracy"))
            .and_then(Value::as_f64)
    };
    let vit = accuracy("vit").map(|a| {
        let headline =
            Headline::new("tiny ViT test accuracy", 100.0 * a, "%").digits(Digits::Decimals(2));
        match accuracy("mlp_param_matched") {
            Some(m) => headline.reference(format!("MLP of its size {}", percent(m, 2))),
            None => headline,
        }
    });
    [worked, throughput, vit].into_iter().flatten().collect()
}

/// Copies the keys of the object `extra` into the object `figures`.
fn merge(figures: &mut Value, extra: Value) {
    if let (Value::Object(into), Value::Object(from)) = (figures, extra) {
        into.extend(from);
    }
}

fn variants(dispatch: Dispatch) -> Result<Vec<Variant>> {
    let mut variants = vec![Variant::Reference];
    for isa in cpu::supported() {
        variants.push(Variant::Streaming(cpu::dispatch_for(isa)?));
    }
    variants.push(Variant::StreamingF16(dispatch));
    variants.push(Variant::StreamingBf16(dispatch));
    Ok(variants)
}

fn table_json(table: &Table) -> Value {
    let object: serde_json::Map<String, Value> = table
        .iter()
        .map(|(variant, row)| {
            let row = row
                .iter()
                .map(|(len, value)| (len.to_string(), json!(value)))
                .collect();
            (variant.clone(), Value::Object(row))
        })
        .collect();
    Value::Object(object)
}

fn markdown_table(table: &Table, lengths: &[usize], digits: usize) -> String {
    let mut text = String::from("| variant |");
    for len in lengths {
        text.push_str(&format!(" L = {len} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---:|".repeat(lengths.len()));
    text.push('\n');
    for (variant, row) in table {
        text.push_str(&format!("| {variant} |"));
        for len in lengths {
            match row.get(len) {
                Some(value) => text.push_str(&format!(" {} |", fixed(*value, digits))),
                None => text.push_str(" – |"),
            }
        }
        text.push('\n');
    }
    text.push('\n');
    text
}

fn throughput_section(
    settings: &Settings,
    dispatch: Dispatch,
    ctx: &RunContext,
) -> Result<(String, Value, String)> {
    let variants = variants(dispatch)?;
    let mut rng = Rng::new(ctx.seed ^ 0xa77e);
    let steps = (variants.len() * settings.lengths.len()) as u64;
    let bar = progress::bar(steps, "attention");
    let (mut gflops, mut millis) = (Table::new(), Table::new());
    for &variant in &variants {
        for &len in &settings.lengths {
            bar.set_message(format!("{} L={len}", variant.name()));
            if matches!(variant, Variant::Reference) && len > settings.reference_max_len {
                bar.inc(1);
                continue;
            }
            let seconds = throughput::time_variant(variant, len, settings.min_time, &mut rng)?;
            let name = variant.name();
            gflops
                .entry(name.clone())
                .or_default()
                .insert(len, throughput::flops(len) / seconds / 1e9);
            millis.entry(name).or_default().insert(len, seconds * 1e3);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();

    let plot = "attention_throughput.png";
    let series: Vec<Series> = gflops
        .iter()
        .map(|(name, row)| Series {
            name: name.clone(),
            points: row.iter().map(|(&l, &g)| (l as f64, g)).collect(),
        })
        .collect();
    line_plot(
        &ctx.out_dir.join(plot),
        "multi-head attention forward, one thread",
        "sequence length L",
        "GFLOP/s (4·L²·d·heads)",
        &series,
    )?;

    let mut memory = Table::new();
    let mut memory_json = serde_json::Map::new();
    for &len in &settings.lengths {
        let (streaming, reference) = throughput::workspace_bytes(len);
        memory
            .entry("streaming".into())
            .or_default()
            .insert(len, streaming as f64 / 1024.0);
        memory
            .entry(REFERENCE_KERNEL.into())
            .or_default()
            .insert(len, reference as f64 / 1024.0);
        memory_json.insert(
            len.to_string(),
            json!({ "streaming": streaming, "reference": reference }),
        );
    }

    let mut text = format!(
        "### Forward throughput\n\nBatch 1, {HEADS} heads, head dim {HEAD_DIM}, fp32 unless \
         named, no mask, one thread; FLOPs counted as 4·L²·d·heads; median of batches, at \
         least {} ms per figure. Dispatched variant: **{}**. PyTorch's \
         `scaled_dot_product_attention` on the same machine in the same run: \
         `benches/peers/run.sh` (report/peers_attention.md).\n\n**GFLOP/s**\n\n",
        settings.min_time.as_millis(),
        dispatch.isa().name()
    );
    text.push_str(&markdown_table(&gflops, &settings.lengths, 1));
    text.push_str("**milliseconds per call**\n\n");
    text.push_str(&markdown_table(&millis, &settings.lengths, 3));
    text.push_str(&format!(
        "![attention GFLOP/s by sequence length]({plot})\n\n"
    ));
    text.push_str(
        "### Scratch memory\n\nThe core allocates nothing: this is the whole workspace each \
         kernel asks of the caller (KiB), for all heads (the streaming kernel reuses one \
         head's workspace). The streaming kernel's does not grow with L; the reference keeps \
         the L×L probabilities.\n\n",
    );
    text.push_str(&markdown_table(&memory, &settings.lengths, 1));
    let json = json!({
        "heads": HEADS,
        "head_dim": HEAD_DIM,
        "min_time_ms": settings.min_time.as_millis() as u64,
        "throughput_gflops": table_json(&gflops),
        "throughput_ms": table_json(&millis),
        "workspace_bytes": Value::Object(memory_json),
    });
    Ok((text, json, plot.into()))
}

/// The first `limit` images of `data` as pixels and labels.
fn images(data: &Dataset, limit: usize) -> Result<Images> {
    let rows = data.rows().min(limit);
    anyhow::ensure!(
        data.features.ncols() == vit::PIXELS,
        "expected 28×28 images, got {} features",
        data.features.ncols()
    );
    let Targets::Classes(labels) = &data.targets else {
        anyhow::bail!("expected class labels");
    };
    let pixels = data
        .features
        .slice(ndarray::s![..rows, ..])
        .iter()
        .copied()
        .collect();
    Ok(Images {
        pixels,
        labels: labels[..rows].iter().map(|&c| u32::from(c)).collect(),
    })
}

fn training_section(
    settings: &Settings,
    dispatch: Dispatch,
    ctx: &RunContext,
    rng: &mut Rng,
) -> Result<(String, Value, String, String)> {
    let split = datasets::load_fashion_mnist_or_synthetic(
        &ctx.data,
        settings.train_images,
        settings.test_images,
        ctx.seed,
    )?;
    let train = images(&split.train, settings.train_images)?;
    let test = images(&split.test, settings.test_images)?;
    let schedule = settings.schedule;
    let vit = Vit::new(settings.shape)?;
    let samples = (schedule.epochs * train.len()) as u64;

    let bar = progress::bar(samples, "vit");
    let (vit_run, _) = training::fit_vit(&vit, dispatch, &train, &test, schedule, rng, &bar)
        .context("training the vision transformer")?;
    bar.finish_and_clear();
    let bar = progress::bar(samples, "mlp");
    let mlp_run = training::train_mlp(
        settings.mlp_hidden,
        dispatch,
        &train,
        &test,
        schedule,
        rng,
        &bar,
    )
    .context("training the MLP")?;
    bar.finish_and_clear();
    let small_hidden = training::hidden_for_params(vit.param_len());
    let bar = progress::bar(samples, "small mlp");
    let small_run = training::train_mlp(small_hidden, dispatch, &train, &test, schedule, rng, &bar)
        .context("training the parameter-matched MLP")?;
    bar.finish_and_clear();

    let shape = vit.shape();
    let mut text = format!(
        "### A tiny vision transformer on {}\n\nEach 28×28 image is a sequence of {} patches of \
         7×7 pixels: linear patch embedding (49 → {d}) plus a learned position embedding, one \
         pre-norm encoder block (LayerNorm, {h}-head self-attention, LayerNorm, MLP {d} → {f} \
         → {d} with GELU, residuals; the core's `EncoderBlock`), mean pooling over tokens, and a \
         linear classifier. Baselines: the MLP 784 → {m} → 10 (ReLU) from the core trainer, and \
         an MLP 784 → {small_hidden} → 10 with about as many parameters as the transformer. All \
         trained on the first {} training images for {} epochs, batch {}, Adam with peak \
         learning rate {} and cosine decay, and evaluated on {} held-out test images after each \
         epoch.\n\n| model | parameters | train time | test accuracy |\n|---|---:|---:|---:|\n",
        split.train.source,
        vit::TOKENS,
        train.len(),
        schedule.epochs,
        schedule.batch,
        schedule.lr,
        test.len(),
        d = shape.d_model,
        h = shape.heads,
        f = shape.d_ff,
        m = settings.mlp_hidden,
    );
    let small_name = format!("MLP 784-{small_hidden}-10");
    let rows = [
        ("tiny ViT", &vit_run),
        ("MLP", &mlp_run),
        (small_name.as_str(), &small_run),
    ];
    for (name, run) in rows {
        text.push_str(&format!(
            "| {name} | {} | {} s | {} |\n",
            run.params,
            fixed(run.train_seconds, 1),
            percent(run.test_accuracy(), 2)
        ));
    }
    text.push_str("\n| epoch | ViT train loss | ViT test accuracy | MLP train loss | MLP test accuracy |\n|---:|---:|---:|---:|---:|\n");
    for (v, m) in vit_run.curve.iter().zip(&mlp_run.curve) {
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            v.epoch,
            fixed(v.train_loss, 4),
            percent(v.test_accuracy, 2),
            fixed(m.train_loss, 4),
            percent(m.test_accuracy, 2)
        ));
    }
    let plot = "attention_training.png";
    let series: Vec<Series> = rows
        .iter()
        .map(|(name, run)| Series {
            name: (*name).into(),
            points: run
                .curve
                .iter()
                .map(|p| (p.epoch as f64, 100.0 * p.test_accuracy))
                .collect(),
        })
        .collect();
    line_plot(
        &ctx.out_dir.join(plot),
        "Fashion-MNIST test accuracy",
        "epoch",
        "test accuracy (%)",
        &series,
    )?;
    text.push_str(&format!("\n![test accuracy by epoch]({plot})\n\n"));
    let json = json!({
        "training": {
            "data": split.train.source,
            "synthetic": split.train.synthetic,
            "train_images": train.len(),
            "test_images": test.len(),
            "epochs": schedule.epochs,
            "batch": schedule.batch,
            "peak_lr": schedule.lr,
            "vit": trained_json(&vit_run),
            "mlp": trained_json(&mlp_run),
            "vit_shape": {
                "tokens": vit::TOKENS,
                "d_model": shape.d_model,
                "heads": shape.heads,
                "d_ff": shape.d_ff,
            },
            "mlp_hidden": settings.mlp_hidden,
            "mlp_param_matched": trained_json(&small_run),
            "mlp_param_matched_hidden": small_hidden,
        }
    });
    Ok((text, json, plot.into(), split.train.source.clone()))
}

fn trained_json(run: &Trained) -> Value {
    json!({
        "params": run.params,
        "train_seconds": run.train_seconds,
        "test_accuracy": run.test_accuracy(),
        "test_accuracy_by_epoch": run.curve.iter().map(|p| p.test_accuracy).collect::<Vec<_>>(),
        "train_loss_by_epoch": run.curve.iter().map(|p| p.train_loss).collect::<Vec<_>>(),
    })
}
