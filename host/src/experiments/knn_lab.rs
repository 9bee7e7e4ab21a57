//! The FMML k-NN lab on California Housing (`edgeml knn-lab`): the seed notebook's steps in its
//! order of draws — with numpy's generator the figures are the seed's to the last digit — then
//! its exercises (3-NN, a k sweep, the validation-fraction sweep, `AverageAccuracy` against the
//! number of splits, k-fold and stratified k-fold), standardized features, and timings of
//! brute force against the kd-tree.

mod classify;
mod data;
mod seed;
mod studies;
mod timing;

use std::path::Path;

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::{Digits, Experiment, ExperimentReport, Headline, RunContext};
use crate::report::format::fixed;
use crate::report::plot::{line_plot, line_plot_scaled, Scale, Series};
use crate::report::table::Align;
use crate::report::table::Table as MdTable;
use data::{LabData, Standardizer};
use seed::{LabFigures, LabRng, LabSplit, LAB_SEED, SEED};
use studies::{CvResult, Folds, FractionPoint, IterationPoint, KPoint, Stats};
use timing::Timing;

/// Options of `edgeml knn-lab`.
#[derive(Args, Clone, Debug, Default)]
pub struct KnnLabArgs {
    /// Draw splits from edgeml's xoshiro128++ instead of numpy's PCG64 (seed-exact mode, the
    /// default, reproduces the notebook's figures exactly with --seed 42).
    #[arg(long)]
    pub native_rng: bool,
    /// Only time fit + predict on the lab's split (for benches/peers/run.sh).
    #[arg(long)]
    pub timing_only: bool,
    /// Timed runs per configuration (default 9; 3 with --quick).
    #[arg(long)]
    pub timing_runs: Option<usize>,
    /// Random splits per validation fraction in the fraction sweep (default 10; 2 with --quick).
    #[arg(long)]
    pub splits: Option<usize>,
    /// Repeats of each `AverageAccuracy` call in the iterations study (default 5; 2 with
    /// --quick).
    #[arg(long)]
    pub repeats: Option<usize>,
}

/// The k-NN lab experiment.
pub struct KnnLab {
    args: KnnLabArgs,
}

impl KnnLab {
    /// The experiment with the given options.
    pub fn new(args: KnnLabArgs) -> KnnLab {
        KnnLab { args }
    }
}

/// The lab's cells alone (no studies, no timing) on `ctx`'s data and seed, 1-NN by edgeml's
/// kd-tree and, when `with_lab_arithmetic`, also by the lab's f64 loop: the JSON object the
/// full run stores under `figures["lab"]` (keys such as `test_accuracy_1nn_pct`), and whether
/// the seed's figures apply (seed-exact mode, seed 42, the real data).
pub fn lab_cells(
    ctx: &RunContext,
    seed_exact: bool,
    with_lab_arithmetic: bool,
) -> Result<(Value, bool)> {
    let data = data::load(&ctx.data, ctx.seed)?;
    let mut rng = LabRng::new(ctx.seed, seed_exact);
    let (_, lab) = seed::run_lab(&data, &mut rng, with_lab_arithmetic)?;
    let comparable = seed_exact && ctx.seed == LAB_SEED && !data.synthetic;
    Ok((lab.to_json(), comparable))
}

/// Validation fractions of the sweep, extremes included.
const FRACTIONS: [f64; 16] = [
    0.001, 0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999,
];
const QUICK_FRACTIONS: [f64; 3] = [0.001, 0.25, 0.999];
const ITERATIONS: [usize; 5] = [1, 2, 5, 10, 20];
const QUICK_ITERATIONS: [usize; 2] = [1, 5];

/// Everything the full run computes beyond the lab's own cells.
struct Studies {
    k_sweep: Vec<KPoint>,
    k_sweep_standardized: Vec<KPoint>,
    fractions: Vec<FractionPoint>,
    iterations: Vec<IterationPoint>,
    cross_validation: Vec<CvResult>,
}

impl Experiment for KnnLab {
    fn name(&self) -> &'static str {
        "knn_lab"
    }

    fn title(&self) -> &'static str {
        "k-NN lab on California Housing (FMML M1L2)"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let data = data::load(&ctx.data, ctx.seed)?;
        let seed_exact = !self.args.native_rng;
        let mut rng = LabRng::new(ctx.seed, seed_exact);
        let comparable = seed_exact && ctx.seed == LAB_SEED && !data.synthetic;
        let runs = self
            .args
            .timing_runs
            .unwrap_or(if ctx.quick { 3 } else { 9 });
        let header = json!({
            "rng": rng.name(),
            "seed": ctx.seed,
            "seed_exact": seed_exact,
            "seed_figures_apply": comparable,
            "data": {"rows": data.table.rows(), "classes": data.n_classes, "synthetic": data.synthetic},
        });

        if self.args.timing_only {
            let split = seed::lab_split(&data, &mut rng)?;
            let timings = self.timings(&data, &split, runs, false)?;
            let markdown = timing_markdown(&split, &timings);
            let mut figures = header;
            figures["timing"] = timing_json(&split, &timings);
            return Ok(ExperimentReport {
                markdown,
                headline: headline(&figures),
                figures,
                plots: Vec::new(),
                data_source: data.source,
            });
        }

        let (split, lab) = seed::run_lab(&data, &mut rng, true)?;
        let lab_table = lab_markdown(&lab, comparable);
        let studies = self.studies(ctx, &data, &split, &mut rng)?;
        let timings = self.timings(&data, &split, runs, true)?;
        let plots = write_plots(&ctx.out_dir, &studies)?;

        let mut markdown = format!(
            "{} rows, {} classes ({}). Splits drawn by {} with seed {}{}.\n\n",
            data.table.rows(),
            data.n_classes,
            if data.synthetic {
                "the stand-in's target cut into six equal bands"
            } else {
                "target in $100k truncated to an integer"
            },
            rng.name(),
            ctx.seed,
            if comparable {
                " — the lab's own generator and seed, so its figures are reproduced exactly"
            } else {
                " — the seed's figures do not apply digit for digit"
            }
        );
        markdown.push_str("### The lab's cells\n\n");
        markdown.push_str(&lab_table);
        markdown.push_str(LAB_NOTE);
        markdown.push_str(&studies_markdown(&studies, &plots));
        markdown.push_str(&timing_markdown(&split, &timings));

        let mut figures = header;
        figures["lab"] = lab.to_json();
        figures["k_sweep"] = json!(studies.k_sweep);
        figures["k_sweep_standardized"] = json!(studies.k_sweep_standardized);
        figures["test_accuracy_3nn_pct"] = json!(studies.k_sweep.get(2).map(|p| p.test_pct));
        figures["fraction_sweep"] = json!(studies.fractions);
        figures["average_accuracy_vs_iterations"] = json!(studies.iterations);
        figures["cross_validation"] = json!(studies.cross_validation);
        figures["timing"] = timing_json(&split, &timings);
        Ok(ExperimentReport {
            markdown,
            headline: headline(&figures),
            figures,
            plots: plots.iter().map(Into::into).collect(),
            data_source: data.source,
        })
    }
}

const LAB_NOTE: &str = "\n\"Lab arithmetic\" is the notebook's 1-NN as it computes it (f64 \
squared distances summed in numpy's order, first minimum on ties), over the splits and \
random-classifier draws of the same generator; \"edgeml\" is the core's f32 kd-tree 1-NN on the \
same splits. The random classifier's figures are the same draws in both columns.\n\n";

impl KnnLab {
    fn studies(
        &self,
        ctx: &RunContext,
        data: &LabData,
        split: &LabSplit,
        rng: &mut LabRng,
    ) -> Result<Studies> {
        let classes = data.n_classes;
        let train = split.all_train.gather(&split.train_rows);
        let validation = split.all_train.gather(&split.validation_rows);
        let fractions: &[f64] = if ctx.quick {
            &QUICK_FRACTIONS
        } else {
            &FRACTIONS
        };
        let counts: &[usize] = if ctx.quick {
            &QUICK_ITERATIONS
        } else {
            &ITERATIONS
        };
        let fold_counts: &[usize] = if ctx.quick { &[5] } else { &[5, 10] };
        let splits = self.args.splits.unwrap_or(if ctx.quick { 2 } else { 10 });
        let repeats = self.args.repeats.unwrap_or(if ctx.quick { 2 } else { 5 });
        let steps = 2 + fractions.len() + 2 * counts.len() + 2 * fold_counts.len();
        let progress = crate::report::progress::bar(steps as u64, "knn-lab");

        let ks: Vec<usize> = (1..=15).collect();
        progress.set_message("k sweep");
        let k_sweep = studies::k_sweep(
            &train,
            &validation,
            &split.all_train,
            &split.test,
            &ks,
            classes,
        )?;
        progress.inc(1);
        progress.set_message("k sweep, standardized");
        let scaler = Standardizer::fit(&train);
        let full_scaler = Standardizer::fit(&split.all_train);
        let k_sweep_standardized = studies::k_sweep(
            &scaler.apply(&train),
            &scaler.apply(&validation),
            &full_scaler.apply(&split.all_train),
            &full_scaler.apply(&split.test),
            &ks,
            classes,
        )?;
        progress.inc(1);

        progress.set_message("validation fractions");
        let fraction_points = studies::fraction_sweep(
            &split.all_train,
            &split.test,
            fractions,
            splits,
            classes,
            rng,
            || progress.inc(1),
        )?;

        progress.set_message("AverageAccuracy vs iterations");
        let test_pct = [k_sweep[0].test_pct, k_sweep[2].test_pct];
        let iterations = studies::iteration_study(
            &split.all_train,
            counts,
            repeats,
            test_pct,
            classes,
            rng,
            || progress.inc(1),
        )?;

        let mut cross_validation = Vec::new();
        for &folds in fold_counts {
            for kind in [Folds::Plain, Folds::Stratified] {
                progress.set_message(format!("{folds}-fold {kind:?}"));
                let assignment =
                    studies::assign_folds(&split.all_train, folds, kind, classes, rng)?;
                for standardized in [false, true] {
                    for k in [1usize, 3] {
                        let per_fold = studies::cross_validate(
                            &split.all_train,
                            &assignment,
                            folds,
                            k,
                            standardized,
                            classes,
                        )?;
                        cross_validation.push(CvResult {
                            folds,
                            kind,
                            k,
                            standardized,
                            accuracy: Stats::of(&per_fold),
                            per_fold,
                        });
                    }
                }
                progress.inc(1);
            }
        }
        progress.finish_and_clear();
        Ok(Studies {
            k_sweep,
            k_sweep_standardized,
            fractions: fraction_points,
            iterations,
            cross_validation,
        })
    }

    fn timings(
        &self,
        data: &LabData,
        split: &LabSplit,
        runs: usize,
        with_lab_loop: bool,
    ) -> Result<Vec<Timing>> {
        let spinner = crate::report::progress::spinner("timing k-NN fit + predict");
        let timings = timing::time_all(
            &split.all_train,
            &split.test,
            data.n_classes,
            runs,
            with_lab_loop,
        );
        spinner.finish_and_clear();
        timings
    }
}

/// Prints a figure the way Python's `repr` does (shortest round-trip digits), counts as
/// integers.
fn repr(key: &str, value: f64) -> String {
    if key.ends_with("_pct") {
        format!("{value:?}")
    } else {
        format!("{}", value.round() as i64)
    }
}

fn lab_markdown(lab: &LabFigures, comparable: bool) -> String {
    let mut table = MdTable::new([
        "figure",
        "seed notebook",
        "ours, lab arithmetic",
        "ours, edgeml kd-tree",
        "lab arithmetic = seed",
    ]);
    for ((key, ours, edgeml), (_, seed)) in lab.named().into_iter().zip(SEED) {
        let verdict = if !comparable {
            "n/a".to_string()
        } else if ours == seed {
            "exact".to_string()
        } else {
            format!("differs by {:e}", ours - seed)
        };
        table.row([
            key.to_string(),
            repr(key, seed),
            repr(key, ours),
            repr(key, edgeml),
            verdict,
        ]);
    }
    let mut text = table.render();
    text.push_str(&format!(
        "\nPredictions where edgeml's f32 kd-tree and the lab's f64 arithmetic disagree: train \
         {}, validation {}, second validation {}, test {}, AverageAccuracy's 10 splits {}.\n",
        lab.train_nn.differing,
        lab.validation_nn.differing,
        lab.validation_nn_second.differing,
        lab.test_nn.differing,
        lab.average_validation.differing
    ));
    text
}

fn pct(value: f64) -> String {
    fixed(value, 2)
}

/// A percentage with up to one decimal, without a trailing `.0`.
fn trimmed(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

fn pm(stats: Stats) -> String {
    format!("{} ± {}", fixed(stats.mean, 2), fixed(stats.std, 2))
}

fn studies_markdown(studies: &Studies, plots: &[String]) -> String {
    let mut text = String::from("### 3-NN against 1-NN, and the k sweep\n\n");
    if let (Some(one), Some(three)) = (studies.k_sweep.first(), studies.k_sweep.get(2)) {
        text.push_str(&format!(
            "Test accuracy (trained on every non-test row): 3-NN {:?} %, 1-NN {:?} %. Votes \
             that tie go to the smallest class, neighbours at equal distance to the smaller \
             row index.\n\n",
            three.test_pct, one.test_pct
        ));
    }
    let best = |points: &[KPoint]| {
        points
            .iter()
            .copied()
            .max_by(|a, b| a.validation_pct.total_cmp(&b.validation_pct))
    };
    let mut table = MdTable::new([
        "k",
        "validation % (raw)",
        "test % (raw)",
        "validation % (standardized)",
        "test % (standardized)",
    ]);
    for (raw, std) in studies.k_sweep.iter().zip(&studies.k_sweep_standardized) {
        table.row([
            raw.k.to_string(),
            pct(raw.validation_pct),
            pct(raw.test_pct),
            pct(std.validation_pct),
            pct(std.test_pct),
        ]);
    }
    text.push_str(&table.render());
    if let (Some(raw), Some(std)) = (best(&studies.k_sweep), best(&studies.k_sweep_standardized)) {
        text.push_str(&format!(
            "\nk chosen on validation: raw features k = {} (test {} %), standardized k = {} \
             (test {} %). Standardization is fitted on the training part only (the validation \
             columns) or on all non-test rows (the test columns), never on the rows scored.\n\n",
            raw.k,
            pct(raw.test_pct),
            std.k,
            pct(std.test_pct)
        ));
    }
    text.push_str(&format!("![k sweep]({})\n\n", plots[0]));

    text.push_str("### Validation fraction\n\n");
    let mut table = MdTable::new([
        "validation %",
        "splits",
        "train rows",
        "1-NN val",
        "1-NN test",
        "3-NN val",
        "3-NN test",
        "random val",
        "random test",
    ]);
    for p in &studies.fractions {
        table.row([
            trimmed(p.validation_fraction * 100.0),
            p.splits.to_string(),
            fixed(p.mean_train_rows, 0),
            pm(p.nn1.validation),
            pm(p.nn1.test),
            pm(p.nn3.validation),
            pm(p.nn3.test),
            pm(p.random.validation),
            pm(p.random.test),
        ]);
    }
    text.push_str(&table.render());
    text.push_str(FRACTION_NOTE);
    text.push_str(&format!(
        "![validation fraction]({})\n\n![spread]({})\n\n",
        plots[1], plots[2]
    ));

    text.push_str("### AverageAccuracy against the number of splits (75/25)\n\n");
    let mut table = MdTable::new([
        "k",
        "splits averaged",
        "estimate % (mean ± std over repeats)",
        "mean |estimate − test| (points)",
    ]);
    for p in &studies.iterations {
        table.row([
            p.k.to_string(),
            p.iterations.to_string(),
            pm(p.estimate),
            fixed(p.mean_abs_error_vs_test, 2),
        ]);
    }
    text.push_str(&table.render());
    text.push_str(ITERATIONS_NOTE);
    text.push_str(&format!("![iterations]({})\n\n", plots[3]));

    text.push_str("### k-fold cross-validation on the non-test rows\n\n");
    let mut table = MdTable::new(["folds", "kind", "k", "features", "accuracy % (mean ± std)"])
        .align(1, Align::Left)
        .align(3, Align::Left);
    for cv in &studies.cross_validation {
        table.row([
            cv.folds.to_string(),
            format!("{:?}", cv.kind).to_lowercase(),
            cv.k.to_string(),
            if cv.standardized {
                "standardized"
            } else {
                "raw"
            }
            .to_string(),
            pm(cv.accuracy),
        ]);
    }
    text.push_str(&table.render());
    text.push('\n');
    text
}

const FRACTION_NOTE: &str = "\nEach row: the non-test rows split the lab's way with \
`split(alltrain, 1 − fraction)`, repeated; mean ± std (population) over the splits. \"test\" is \
the same model scored on the fixed test set. Small validation sets give estimates with a wide \
spread; small training sets give worse models (test accuracy falls); the random classifier \
stays near 1/6 throughout.\n\n";

const ITERATIONS_NOTE: &str = "\nAveraging more splits shrinks the spread of the estimate \
(roughly as 1/√splits), but not its distance from the test accuracy: every split trains on 75 % \
of the non-test rows, a smaller training set than the final model's, so the estimate stays \
biased low by about the gap the validation-fraction sweep shows between 25 % and 0 % \
held out. More iterations cannot remove that bias, nor make up for a very small training or \
validation part (see the extremes above).\n\n";

fn timing_markdown(split: &LabSplit, timings: &[Timing]) -> String {
    let mut text = format!(
        "### Timing: fit + predict, {} test rows against {} training rows, d = {}, one \
         thread\n\n",
        split.test.rows(),
        split.all_train.rows(),
        split.test.cols
    );
    let mut table = MdTable::new(["configuration", "k", "median", "min", "runs"]);
    for t in timings {
        table.row([
            t.algorithm.clone(),
            t.k.to_string(),
            crate::report::format::duration(t.median_s),
            crate::report::format::duration(t.min_s),
            t.runs.to_string(),
        ]);
    }
    text.push_str(&table.render());
    let find = |key: &str| timings.iter().find(|t| t.key == key).map(|t| t.median_s);
    if let (Some(brute), Some(tree)) = (find("brute_k1"), find("kd_tree_k1")) {
        text.push_str(&format!(
            "\nkd-tree over brute force (1-NN): {:.1}×.\n\n",
            brute / tree
        ));
    }
    text
}

fn timing_json(split: &LabSplit, timings: &[Timing]) -> Value {
    let mut object = serde_json::Map::new();
    object.insert("test_rows".into(), json!(split.test.rows()));
    object.insert("train_rows".into(), json!(split.all_train.rows()));
    object.insert("features".into(), json!(split.test.cols));
    for t in timings {
        object.insert(
            t.key.clone(),
            json!({"median_s": t.median_s, "min_s": t.min_s, "runs": t.runs}),
        );
    }
    Value::Object(object)
}

/// Headline: the lab's test and average validation accuracy by the kd-tree, printed in full
/// beside the notebook's (whose figures apply only to the seed-exact run on the real data), the
/// 3-NN test accuracy, and the kd-tree's time beside the lab's f64 loop.
fn headline(figures: &Value) -> Vec<Headline> {
    let applies = figures["seed_figures_apply"] == json!(true);
    let seed_exact = |key: &str, name: &str| {
        let seed = figures["lab"]["seed"][key].as_f64()?;
        let reference = if applies {
            format!("seed {seed}")
        } else {
            format!("seed {seed}, not comparable: other data, seed or generator")
        };
        let pointer = format!("/lab/edgeml_kd_tree/{key}");
        Headline::at(figures, &pointer, name, "%")
            .map(|h| h.digits(Digits::Exact).reference(reference))
    };
    let lab_loop = figures
        .pointer("/timing/lab_f64_loop_k1/median_s")
        .and_then(Value::as_f64)
        .map(|s| format!("lab's f64 loop {}", crate::report::format::duration(s)));
    let kd_tree = Headline::at(
        figures,
        "/timing/kd_tree_k1/median_s",
        "1-NN fit + predict, kd-tree",
        "s",
    )
    .map(|h| match &lab_loop {
        Some(r) => h.reference(r.clone()),
        None => h,
    });
    [
        seed_exact("test_accuracy_1nn_pct", "test accuracy, 1-NN"),
        seed_exact(
            "average_validation_accuracy_10_splits_pct",
            "average validation accuracy, 10 splits",
        ),
        Headline::at(
            figures,
            "/test_accuracy_3nn_pct",
            "test accuracy, 3-NN",
            "%",
        )
        .map(|h| h.digits(Digits::Decimals(2))),
        kd_tree,
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn write_plots(out_dir: &Path, studies: &Studies) -> Result<Vec<String>> {
    let names = [
        "knn_lab_k_sweep.png",
        "knn_lab_fraction_sweep.png",
        "knn_lab_fraction_spread.png",
        "knn_lab_iterations.png",
    ];
    let series = |name: &str, points: Vec<(f64, f64)>| Series {
        name: name.into(),
        points,
    };
    let k_points = |points: &[KPoint], pick: fn(&KPoint) -> f64| {
        points.iter().map(|p| (p.k as f64, pick(p))).collect()
    };
    line_plot(
        &out_dir.join(names[0]),
        "k-NN accuracy against k",
        "k (neighbours)",
        "accuracy %",
        &[
            series(
                "validation, raw",
                k_points(&studies.k_sweep, |p| p.validation_pct),
            ),
            series("test, raw", k_points(&studies.k_sweep, |p| p.test_pct)),
            series(
                "validation, standardized",
                k_points(&studies.k_sweep_standardized, |p| p.validation_pct),
            ),
            series(
                "test, standardized",
                k_points(&studies.k_sweep_standardized, |p| p.test_pct),
            ),
        ],
    )?;
    let by_fraction = |pick: &dyn Fn(&FractionPoint) -> f64| -> Vec<(f64, f64)> {
        studies
            .fractions
            .iter()
            .map(|p| (p.validation_fraction * 100.0, pick(p)))
            .collect()
    };
    line_plot(
        &out_dir.join(names[1]),
        "Validation accuracy (mean over splits) and test accuracy",
        "validation fraction of the non-test rows, %",
        "accuracy %",
        &[
            series("1-NN validation", by_fraction(&|p| p.nn1.validation.mean)),
            series("1-NN test", by_fraction(&|p| p.nn1.test.mean)),
            series("3-NN validation", by_fraction(&|p| p.nn3.validation.mean)),
            series("3-NN test", by_fraction(&|p| p.nn3.test.mean)),
            series(
                "random validation",
                by_fraction(&|p| p.random.validation.mean),
            ),
        ],
    )?;
    line_plot_scaled(
        &out_dir.join(names[2]),
        "Spread of the validation estimate over splits",
        "validation fraction of the non-test rows, %",
        "std of validation accuracy, points (log)",
        &[
            series("1-NN", by_fraction(&|p| p.nn1.validation.std)),
            series("3-NN", by_fraction(&|p| p.nn3.validation.std)),
            series("random", by_fraction(&|p| p.random.validation.std)),
        ],
        Scale::Log,
    )?;
    let by_iterations = |k: usize, pick: fn(&IterationPoint) -> f64| -> Vec<(f64, f64)> {
        studies
            .iterations
            .iter()
            .filter(|p| p.k == k)
            .map(|p| (p.iterations as f64, pick(p)))
            .collect()
    };
    line_plot(
        &out_dir.join(names[3]),
        "AverageAccuracy: spread and error against the number of splits",
        "splits averaged",
        "percentage points",
        &[
            series("1-NN std of estimate", by_iterations(1, |p| p.estimate.std)),
            series("3-NN std of estimate", by_iterations(3, |p| p.estimate.std)),
            series(
                "1-NN mean |estimate − test|",
                by_iterations(1, |p| p.mean_abs_error_vs_test),
            ),
            series(
                "3-NN mean |estimate − test|",
                by_iterations(3, |p| p.mean_abs_error_vs_test),
            ),
        ],
    )?;
    Ok(names.iter().map(|n| n.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_prints_the_seed_exact_figures_in_full() {
        let lab = json!({
            "seed": {"test_accuracy_1nn_pct": 34.91795366795367,
                     "average_validation_accuracy_10_splits_pct": 33.58463539517022},
            "edgeml_kd_tree": {"test_accuracy_1nn_pct": 34.91795366795367,
                               "average_validation_accuracy_10_splits_pct": 33.58463539517022},
        });
        let mut figures = json!({"seed_figures_apply": true, "lab": lab,
                                 "test_accuracy_3nn_pct": 36.123456});
        let lines = headline(&figures);
        let texts: Vec<(String, Option<String>)> = lines
            .iter()
            .map(|h| (h.value_text(), h.reference.clone()))
            .collect();
        assert_eq!(
            texts,
            [
                (
                    "34.91795366795367".into(),
                    Some("seed 34.91795366795367".into())
                ),
                (
                    "33.58463539517022".into(),
                    Some("seed 33.58463539517022".into())
                ),
                ("36.12".into(), None),
            ]
        );
        figures["seed_figures_apply"] = json!(false);
        let reference = headline(&figures)[0].reference.clone().unwrap_or_default();
        assert!(reference.contains("not comparable"), "{reference}");
    }
}
