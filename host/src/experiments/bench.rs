//! The kernel benchmark experiment (`edgeml bench`): gemm, dot and softmax timed per kernel
//! variant on one thread, with the variant the CPU detection picked named in the output.
//!
//! Criterion (`cargo bench`) gives the statistically careful numbers; this command gives the
//! same measurements in seconds, as JSON a peer script can put beside numpy's.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use edgeml_core::kernels::{dot, gemm, softmax, Dispatch, Isa};
use edgeml_core::rng::Rng;
use edgeml_core::{Scalar, TensorView, TensorViewMut};
use half::{bf16, f16};
use serde_json::{json, Value};

use super::{Experiment, ExperimentReport, Headline, RunContext};
use crate::cpu;
use crate::report::format::significant;
use crate::report::terminal::note;

#[cfg(feature = "gpu")]
mod gpu;

/// Options of `edgeml bench`.
#[derive(Args, Clone, Debug, Default)]
pub struct BenchArgs {
    /// Square gemm sizes to time (default 64,256,512,1024; 64,128 with --quick).
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// Minimum time spent measuring each kernel and size, in milliseconds (default 300; 20
    /// with --quick).
    #[arg(long)]
    pub min_time_ms: Option<u64>,
}

/// The kernel benchmark experiment.
pub struct Bench {
    args: BenchArgs,
}

impl Bench {
    /// The experiment with the given options.
    pub fn new(args: BenchArgs) -> Bench {
        Bench { args }
    }
}

/// A kernel variant as the tables name it: an ISA, or a mixed-precision storage type.
#[derive(Clone, Copy)]
enum Variant {
    Reference,
    Isa(Dispatch),
    MixedF16(Dispatch),
    MixedBf16(Dispatch),
}

impl Variant {
    fn name(self) -> String {
        match self {
            Variant::Reference => "reference".into(),
            Variant::Isa(dispatch) => dispatch.isa().name().into(),
            Variant::MixedF16(_) => "mixed-f16".into(),
            Variant::MixedBf16(_) => "mixed-bf16".into(),
        }
    }
}

/// Seconds per call of `f`: the median over batches after one warm-up call, where a batch runs
/// enough calls to last about a tenth of `min_time`.
fn seconds_per_call(min_time: Duration, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    let once = start.elapsed().max(Duration::from_nanos(1));
    let per_batch = ((min_time.as_secs_f64() / 10.0) / once.as_secs_f64()).ceil() as usize;
    let per_batch = per_batch.clamp(1, 1_000_000);
    let mut batches = Vec::new();
    let started = Instant::now();
    while batches.len() < 3 || (started.elapsed() < min_time && batches.len() < 50) {
        let batch_start = Instant::now();
        for _ in 0..per_batch {
            f()?;
        }
        batches.push(batch_start.elapsed().as_secs_f64() / per_batch as f64);
    }
    batches.sort_by(f64::total_cmp);
    Ok(batches[batches.len() / 2])
}

fn random_vec(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

fn time_gemm(variant: Variant, n: usize, min_time: Duration, rng: &mut Rng) -> Result<f64> {
    let a = random_vec(rng, n * n);
    let b = random_vec(rng, n * n);
    let mut c = vec![0.0f32; n * n];
    let seconds = match variant {
        Variant::Reference => time_product(min_time, &a, &b, &mut c, n, |a, b, c| {
            gemm::gemm_reference(1.0, a, b, 0.0, c)
        })?,
        Variant::Isa(dispatch) => time_product(min_time, &a, &b, &mut c, n, |a, b, c| {
            gemm::gemm(dispatch, 1.0, a, b, 0.0, c)
        })?,
        Variant::MixedF16(dispatch) => {
            let (a, b) = (narrow::<f16>(&a), narrow::<f16>(&b));
            time_product(min_time, &a, &b, &mut c, n, |a, b, c| {
                gemm::gemm_mixed(dispatch, 1.0, a, b, 0.0, c)
            })?
        }
        Variant::MixedBf16(dispatch) => {
            let (a, b) = (narrow::<bf16>(&a), narrow::<bf16>(&b));
            time_product(min_time, &a, &b, &mut c, n, |a, b, c| {
                gemm::gemm_mixed(dispatch, 1.0, a, b, 0.0, c)
            })?
        }
    };
    Ok(2.0 * (n as f64).powi(3) / seconds / 1e9)
}

/// `values` rounded to the storage type `S`.
fn narrow<S: Scalar>(values: &[f32]) -> Vec<S> {
    values.iter().map(|&x| S::from_f32(x)).collect()
}

/// Seconds per call of one n×n×n `product` of `a` and `b` into `c`.
fn time_product<S>(
    min_time: Duration,
    a: &[S],
    b: &[S],
    c: &mut [f32],
    n: usize,
    product: impl Fn(
        TensorView<'_, S>,
        TensorView<'_, S>,
        TensorViewMut<'_, f32>,
    ) -> edgeml_core::Result<()>,
) -> Result<f64> {
    seconds_per_call(min_time, || {
        product(
            TensorView::matrix(a, n, n)?,
            TensorView::matrix(b, n, n)?,
            TensorViewMut::matrix(c, n, n)?,
        )?;
        black_box(&mut *c);
        Ok(())
    })
}

fn time_dot(variant: Variant, n: usize, min_time: Duration, rng: &mut Rng) -> Result<f64> {
    let a = random_vec(rng, n);
    let b = random_vec(rng, n);
    let (a16, b16) = (narrow::<f16>(&a), narrow::<f16>(&b));
    let (ab, bb) = (narrow::<bf16>(&a), narrow::<bf16>(&b));
    let seconds = seconds_per_call(min_time, || {
        let value = match variant {
            Variant::Reference => dot::dot_reference(black_box(&a), black_box(&b))?,
            Variant::Isa(dispatch) => dot::dot_dispatch(dispatch, black_box(&a), black_box(&b))?,
            Variant::MixedF16(dispatch) => {
                dot::dot_mixed(dispatch, black_box(&a16), black_box(&b16))?
            }
            Variant::MixedBf16(dispatch) => {
                dot::dot_mixed(dispatch, black_box(&ab), black_box(&bb))?
            }
        };
        black_box(value);
        Ok(())
    })?;
    Ok(2.0 * n as f64 / seconds / 1e9)
}

/// Nanoseconds per row of a row-wise softmax over `rows × width` logits.
fn time_softmax(
    optimized: bool,
    rows: usize,
    width: usize,
    min_time: Duration,
    rng: &mut Rng,
) -> Result<f64> {
    let x: Vec<f32> = (0..rows * width).map(|_| 4.0 * rng.normal()).collect();
    let mut out = vec![0.0f32; rows * width];
    let seconds = seconds_per_call(min_time, || {
        if optimized {
            softmax::softmax_rows(
                TensorView::matrix(black_box(&x), rows, width)?,
                TensorViewMut::matrix(&mut out, rows, width)?,
            )?;
        } else {
            for (row, dst) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
                softmax::softmax_reference(black_box(row), dst)?;
            }
        }
        black_box(&mut out);
        Ok(())
    })?;
    Ok(seconds * 1e9 / rows as f64)
}

/// One table of figures: variant name → size → value.
type Table = BTreeMap<String, BTreeMap<usize, f64>>;

fn markdown_table(title: &str, unit: &str, table: &Table, sizes: &[usize]) -> String {
    let mut text = format!("**{title}** ({unit})\n\n| variant |");
    for size in sizes {
        text.push_str(&format!(" {size} |"));
    }
    text.push_str("\n|---|");
    text.push_str(&"---:|".repeat(sizes.len()));
    text.push('\n');
    for (variant, row) in table {
        text.push_str(&format!("| {variant} |"));
        for size in sizes {
            match row.get(size) {
                Some(value) => text.push_str(&format!(" {value:.2} |")),
                None => text.push_str(" – |"),
            }
        }
        text.push('\n');
    }
    text.push('\n');
    text
}

fn table_json(table: &Table) -> Value {
    let mut object = serde_json::Map::new();
    for (variant, row) in table {
        let row: serde_json::Map<String, Value> = row
            .iter()
            .map(|(size, value)| (size.to_string(), json!(value)))
            .collect();
        object.insert(variant.clone(), Value::Object(row));
    }
    Value::Object(object)
}

impl Experiment for Bench {
    fn name(&self) -> &'static str {
        "bench"
    }

    fn title(&self) -> &'static str {
        "Kernel benchmarks"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let sizes = match (&self.args.sizes[..], ctx.quick) {
            ([], true) => vec![64, 128],
            ([], false) => vec![64, 256, 512, 1024],
            (given, _) => given.to_vec(),
        };
        let default_ms = if ctx.quick { 20 } else { 300 };
        let min_time = Duration::from_millis(self.args.min_time_ms.unwrap_or(default_ms));
        let selected = cpu::selected_dispatch()?;
        let supported = cpu::supported();
        let mut variants = vec![Variant::Reference];
        for &isa in &supported {
            variants.push(Variant::Isa(cpu::dispatch_for(isa)?));
        }
        variants.push(Variant::MixedF16(selected));
        variants.push(Variant::MixedBf16(selected));
        note(format!(
            "cpu: {}; variants this CPU runs: {}; selected: {}",
            cpu::model_name(),
            isa_names(&supported).join(", "),
            selected.isa().name()
        ));

        let mut rng = Rng::new(ctx.seed);
        let dot_sizes = [4096usize, 65536];
        let softmax_widths = [10usize, 1000];
        let steps = variants.len() * (sizes.len() + dot_sizes.len()) + 2 * softmax_widths.len();
        let progress = crate::report::progress::bar(steps as u64, "bench");
        let mut gemm_table = Table::new();
        let mut dot_table = Table::new();
        for &variant in &variants {
            for &n in &sizes {
                progress.set_message(format!("gemm {} {n}", variant.name()));
                let gflops = time_gemm(variant, n, min_time, &mut rng)
                    .with_context(|| format!("gemm {} at {n}", variant.name()))?;
                gemm_table
                    .entry(variant.name())
                    .or_default()
                    .insert(n, gflops);
                progress.inc(1);
            }
            for &n in &dot_sizes {
                progress.set_message(format!("dot {} {n}", variant.name()));
                let gflops = time_dot(variant, n, min_time, &mut rng)
                    .with_context(|| format!("dot {} at {n}", variant.name()))?;
                dot_table
                    .entry(variant.name())
                    .or_default()
                    .insert(n, gflops);
                progress.inc(1);
            }
        }
        let mut softmax_table = Table::new();
        for (name, optimized) in [("reference", false), ("optimized", true)] {
            for &width in &softmax_widths {
                progress.set_message(format!("softmax {name} {width}"));
                let rows = (1 << 16) / width;
                let ns = time_softmax(optimized, rows, width, min_time, &mut rng)?;
                softmax_table
                    .entry(name.into())
                    .or_default()
                    .insert(width, ns);
                progress.inc(1);
            }
        }
        progress.finish_and_clear();

        #[cfg(feature = "gpu")]
        let gpu_section = gpu::run(
            &ctx.out_dir,
            ctx.quick,
            &sizes,
            min_time,
            selected,
            &mut rng,
        )?;
        #[cfg(not(feature = "gpu"))]
        let gpu_section = without_gpu();

        let speedup = speedup_over_reference(&gemm_table);
        let plot = "bench_gemm.png";
        plot_gemm(&ctx.out_dir.join(plot), &gemm_table)?;

        let mut markdown = format!(
            "CPU: {}. Variants this CPU runs: {}; dispatched variant: **{}** (override with \
             `{}`). AMX advertised: {} (never used). One thread, median of batches, at least \
             {} ms per figure.\n\n",
            cpu::model_name(),
            isa_names(&supported).join(", "),
            selected.isa().name(),
            cpu::KERNEL_ENV,
            if cpu::advertises_amx() { "yes" } else { "no" },
            min_time.as_millis()
        );
        markdown.push_str(&markdown_table(
            "gemm, n×n×n",
            "GFLOP/s",
            &gemm_table,
            &sizes,
        ));
        markdown.push_str(&markdown_table(
            "gemm speed-up over the scalar reference",
            "×",
            &speedup,
            &sizes,
        ));
        markdown.push_str(&format!("![gemm GFLOP/s by size]({plot})\n\n"));
        markdown.push_str(&markdown_table("dot", "GFLOP/s", &dot_table, &dot_sizes));
        markdown.push_str(&markdown_table(
            "softmax, row-wise, by row width",
            "ns per row",
            &softmax_table,
            &softmax_widths,
        ));
        markdown.push_str(&gpu_section.markdown);

        let figures = json!({
            "cpu": cpu::model_name(),
            "supported_variants": isa_names(&supported),
            "dispatched_variant": selected.isa().name(),
            "amx_advertised": cpu::advertises_amx(),
            "min_time_ms": min_time.as_millis() as u64,
            "gemm_gflops": table_json(&gemm_table),
            "gemm_speedup_vs_reference": table_json(&speedup),
            "dot_gflops": table_json(&dot_table),
            "softmax_ns_per_row": table_json(&softmax_table),
            "gpu": gpu_section.figures,
        });
        let mut plots = vec![plot.into()];
        plots.extend(gpu_section.plots.iter().map(Into::into));
        Ok(ExperimentReport {
            markdown,
            headline: headline(&figures),
            figures,
            plots,
            data_source: "random matrices (no dataset needed)".into(),
        })
    }
}

/// The entry of `table` (variant → size → value) for `variant` at its largest size.
fn at_largest(table: &Value, variant: &str) -> Option<(usize, f64)> {
    table
        .get(variant)?
        .as_object()?
        .iter()
        .filter_map(|(size, v)| Some((size.parse::<usize>().ok()?, v.as_f64()?)))
        .max_by_key(|(size, _)| *size)
}

/// Headline: gemm GFLOP/s of the dispatched variant at the largest size beside the scalar
/// reference, the dot product's, and with an adapter the GPU's gemm (end to end) beside SIMD.
fn headline(figures: &Value) -> Vec<Headline> {
    let variant = figures["dispatched_variant"].as_str().unwrap_or_default();
    let gemm = at_largest(&figures["gemm_gflops"], variant).map(|(n, v)| {
        let headline = Headline::new(format!("gemm {n}³, {variant}"), v, "GFLOP/s");
        match figures["gemm_gflops"]["reference"][n.to_string()].as_f64() {
            Some(r) => headline.reference(format!("scalar reference {}", significant(r, 3))),
            None => headline,
        }
    });
    let dot = at_largest(&figures["dot_gflops"], variant)
        .map(|(n, v)| Headline::new(format!("dot {n}, {variant}"), v, "GFLOP/s"));
    let gpu = figures
        .pointer("/gpu/kernels/gemm/sizes")
        .and_then(Value::as_object)
        .and_then(|sizes| {
            let (n, row) = sizes
                .iter()
                .filter_map(|(size, row)| Some((size.parse::<usize>().ok()?, row)))
                .max_by_key(|(size, _)| *size)?;
            let end_to_end = row["gpu_end_to_end"].as_f64().filter(|v| v.is_finite())?;
            let headline =
                Headline::new(format!("GPU gemm {n}³, end to end"), end_to_end, "GFLOP/s");
            Some(match row["simd"].as_f64() {
                Some(simd) => headline.reference(format!("SIMD {}", significant(simd, 3))),
                None => headline,
            })
        });
    [gemm, dot, gpu].into_iter().flatten().collect()
}

/// What the GPU part adds to the bench's report.
struct GpuSection {
    /// Markdown: the adapter line and, with an adapter, the table and plot links.
    markdown: String,
    /// The `gpu` object of `report/bench.json`.
    figures: Value,
    /// Plot files written into the report folder.
    plots: Vec<String>,
}

/// The GPU section of a host built without the `gpu` feature.
#[cfg(not(feature = "gpu"))]
fn without_gpu() -> GpuSection {
    let reason = "this edgeml was built without the `gpu` feature";
    note(format!("no GPU adapter: {reason}; GPU columns skipped"));
    GpuSection {
        markdown: format!("**GPU:** none — {reason}; GPU columns skipped.\n\n"),
        figures: json!({ "available": false, "reason": reason }),
        plots: Vec::new(),
    }
}

fn speedup_over_reference(gemm_table: &Table) -> Table {
    let Some(reference) = gemm_table.get("reference") else {
        return Table::new();
    };
    gemm_table
        .iter()
        .filter(|(variant, _)| variant.as_str() != "reference")
        .map(|(variant, row)| {
            let ratios = row
                .iter()
                .filter_map(|(size, gflops)| reference.get(size).map(|r| (*size, gflops / r)))
                .collect();
            (variant.clone(), ratios)
        })
        .collect()
}

fn plot_gemm(path: &std::path::Path, gemm_table: &Table) -> Result<()> {
    let series: Vec<crate::report::plot::Series> = gemm_table
        .iter()
        .map(|(variant, row)| crate::report::plot::Series {
            name: variant.clone(),
            points: row.iter().map(|(&n, &g)| (n as f64, g)).collect(),
        })
        .collect();
    crate::report::plot::line_plot(
        path,
        "gemm throughput, one thread",
        "n (n×n times n×n)",
        "GFLOP/s",
        &series,
    )
}

fn isa_names(isas: &[Isa]) -> Vec<&'static str> {
    isas.iter().map(|isa| isa.name()).collect()
}
