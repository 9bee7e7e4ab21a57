//! Hyperparameter search on Fashion-MNIST (`edgeml tune`), the seed notebook's workflow: its
//! space (units × optimizer) extended with learning rate, depth and dropout; TPE against
//! random search over seeds; Hyperband against full random search; the best epoch of each
//! top configuration (patience 10), retraining on train + validation for 1.2 × that many
//! epochs, the untouched test set and the validation-vs-test gap; and the best configuration
//! repeated over seeds (noise against signal). `edgeml ensemble` is in [`ensemble`].

mod data;
pub mod ensemble;
mod mlp;
mod models;
mod search;
pub mod study;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value as Json};

use super::{Digits, Experiment, ExperimentReport, Headline, RunContext};
use crate::cpu;
use crate::experiments::mlp::Examples;
use crate::report::format::{fixed, percent};
use crate::report::plot::{bar_plot, line_plot, BarSeries, Series};
use crate::report::progress;
use crate::report::table::Table;
use crate::tune::file::load_space;
use crate::tune::{Config, Results, Space, Strategy};
pub use ensemble::{EnsembleArgs, EnsembleExperiment};
pub use search::{extended_space, seed_space};
use search::{tpe_for, with_dropout, MlpEvaluator, Pair};

/// Options of `edgeml tune`.
#[derive(Args, Clone, Debug, Default)]
pub struct TuneArgs {
    /// Search-space TOML replacing the extended MLP space (tables of `type`, `min`, `max`,
    /// `step`, `sampling`, `values`, `when`; needs `units` and `optimizer`).
    #[arg(long)]
    pub space: Option<PathBuf>,
    /// Trials per search (default 30; 6 with --quick).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Seeds the TPE-against-random comparison is averaged over (default 5; 2 with --quick).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Most epochs per trial, also Hyperband's R (default 9; 3 with --quick).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Training rows of the search, drawn from Fashion-MNIST's 60k (default 10000).
    #[arg(long)]
    pub train_rows: Option<usize>,
    /// Validation rows, disjoint from the training rows (default 5000).
    #[arg(long)]
    pub validation_rows: Option<usize>,
    /// Top configurations taken through the best-epoch workflow (default 3; 2 with --quick).
    #[arg(long)]
    pub top_n: Option<usize>,
    /// Executions (seeds) averaged per trial (default 1).
    #[arg(long)]
    pub executions_per_trial: Option<usize>,
    /// Keep the JSON-lines stores in the report folder's tune/ and resume from them
    /// (default: start afresh).
    #[arg(long)]
    pub resume: bool,
    /// Join a study as one worker instead of running the experiment: the storage shared by
    /// the study's workers, sqlite:PATH, postgres://…, jsonl:PATH (one process) or memory.
    #[arg(long, requires_all = ["study", "worker"])]
    pub storage: Option<String>,
    /// The study's name (letters, digits, `-`, `_`, `.`).
    #[arg(long, requires = "storage")]
    pub study: Option<String>,
    /// Run as a worker of `--study` in `--storage`: claim trials until the search is done,
    /// then print a JSON summary.
    #[arg(long, requires = "storage")]
    pub worker: bool,
    /// The worker's tuner (default tpe).
    #[arg(long, value_enum)]
    pub strategy: Option<study::StrategyName>,
    /// What the worker trains (default mlp).
    #[arg(long, value_enum)]
    pub objective: Option<study::ObjectiveName>,
    /// Trials proposed together in a study (default 8); every worker must give the same.
    #[arg(long)]
    pub batch: Option<usize>,
    /// Trials this worker trains at once (default 1).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds without a heartbeat before a running trial is re-queued; decided by the
    /// worker that creates the study (default 60).
    #[arg(long)]
    pub heartbeat_timeout: Option<f64>,
    /// Milliseconds the quadratic objective sleeps per trial (default 50).
    #[arg(long, hide = true)]
    pub objective_ms: Option<u64>,
}

/// The tuning experiment.
pub struct TuneExperiment {
    args: TuneArgs,
}

impl TuneExperiment {
    /// The experiment with the given options.
    pub fn new(args: TuneArgs) -> TuneExperiment {
        TuneExperiment { args }
    }
}

struct Plan {
    trials: usize,
    seeds: usize,
    epochs: usize,
    train_rows: usize,
    validation_rows: usize,
    test_rows: usize,
    top_n: usize,
    executions: usize,
    workflow_max_epochs: usize,
    workflow_patience: usize,
    search_patience: usize,
}

impl Plan {
    fn new(args: &TuneArgs, quick: bool) -> Plan {
        let pick = |given: Option<usize>, full: usize, small: usize| {
            given.unwrap_or(if quick { small } else { full }).max(1)
        };
        Plan {
            trials: pick(args.trials, 30, 6),
            seeds: pick(args.seeds, 5, 2),
            epochs: pick(args.epochs, 9, 3),
            train_rows: pick(args.train_rows, 10_000, 1000),
            validation_rows: pick(args.validation_rows, 5000, 500),
            test_rows: if quick { 1000 } else { 10_000 },
            top_n: pick(args.top_n, 3, 2),
            executions: pick(args.executions_per_trial, 1, 1),
            workflow_max_epochs: if quick { 4 } else { 40 },
            workflow_patience: 10,
            search_patience: 3,
        }
    }
}

fn describe(config: &Config) -> String {
    config
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn std_dev(values: &[f64]) -> f64 {
    let m = mean(values);
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
}

/// Mean over the searches of the best-so-far value after each trial.
fn mean_curve(results: &[&Results]) -> Vec<f64> {
    let curves: Vec<Vec<f64>> = results.iter().map(|r| r.best_so_far()).collect();
    let len = curves.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|i| mean(&curves.iter().map(|c| c[i]).collect::<Vec<_>>()))
        .collect()
}

fn series(name: &str, ys: &[f64], scale: f64) -> Series {
    Series {
        name: name.into(),
        points: ys
            .iter()
            .enumerate()
            .map(|(i, &y)| ((i + 1) as f64, y * scale))
            .collect(),
    }
}

/// Best-so-far value against cumulative epochs trained.
fn epoch_curve(name: &str, results: &Results) -> Series {
    let mut epochs = 0usize;
    let best = results.best_so_far();
    Series {
        name: name.into(),
        points: results
            .trials
            .iter()
            .zip(best)
            .map(|(t, b)| {
                epochs += t.epochs_run;
                (epochs as f64, b * 100.0)
            })
            .collect(),
    }
}

/// The store file of one search, removed first unless resuming.
fn store(dir: &Path, name: &str, resume: bool) -> Result<Option<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{name}.jsonl"));
    if !resume && path.exists() {
        std::fs::remove_file(&path)?;
    }
    Ok(Some(path))
}

/// One top configuration through the seed's best-epoch workflow.
struct Workflow {
    config: Config,
    search_value: f64,
    best_epoch: usize,
    retrain_epochs: usize,
    validation_accuracy: f64,
    test_accuracy: f64,
}

impl Experiment for TuneExperiment {
    fn name(&self) -> &'static str {
        "tune"
    }

    fn title(&self) -> &'static str {
        "Hyperparameter search on Fashion-MNIST: TPE, random, Hyperband, best-epoch workflow"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let start = Instant::now();
        let plan = Plan::new(&self.args, ctx.quick);
        let dispatch = cpu::selected_dispatch()?;
        let data = data::fashion(
            &ctx.data,
            plan.train_rows,
            plan.validation_rows,
            plan.test_rows,
            ctx.seed,
        )?;
        let space: Space = match &self.args.space {
            Some(path) => load_space(path)?,
            None => extended_space()?,
        };
        let stores = ctx.out_dir.join("tune");
        let evaluator = MlpEvaluator {
            data: &data,
            patience: plan.search_patience,
            dispatch,
        };
        let mut md = format!(
            "Data: {} — documented subsets: {} training and {} validation rows drawn (seed {}) \
             from the 60k training images, the first {} test images untouched until the end. \
             Each trial trains at most {} epochs (batch 128) with early stopping (patience {} \
             on the validation loss, the seed's search callback); its value is the best \
             validation accuracy over its epochs. Trials run two at a time (rayon); results \
             are stored as JSON lines under `{}`.\n\n",
            data.source,
            data.train.rows(),
            data.validation.rows(),
            ctx.seed,
            data.test.rows(),
            plan.epochs,
            plan.search_patience,
            stores.display()
        );
        md.push_str(&format!(
            "The seed's space:\n\n```text\n{}```\n\nThe space searched (extended):\n\n```text\n{}```\n\n",
            seed_space()?.summary(),
            space.summary()
        ));

        // TPE against random search, over seeds.
        let mut pairs = Vec::new();
        for s in 0..plan.seeds {
            let seed = ctx.seed + s as u64;
            let run = |strategy: Strategy, name: &str| -> Result<Results> {
                let mut search = search::search(
                    &space,
                    strategy,
                    plan.trials,
                    plan.epochs,
                    seed,
                    store(&stores, &format!("{name}_seed{seed}"), self.args.resume)?,
                    &format!("{name} {}/{}", s + 1, plan.seeds),
                )?;
                search.executions_per_trial = plan.executions;
                search.run(&evaluator)
            };
            let random = run(Strategy::Random, "random")?;
            let tpe = run(Strategy::Tpe(tpe_for(plan.trials)), "tpe")?;
            pairs.push(Pair { random, tpe });
        }
        let reach: Vec<Option<usize>> = pairs.iter().map(Pair::tpe_trials_to_reach).collect();
        // A seed where TPE never reaches the target counts as the whole budget plus one.
        let reach_counted: Vec<f64> = reach
            .iter()
            .map(|r| r.map_or(plan.trials as f64 + 1.0, |n| n as f64))
            .collect();
        let mean_reach = mean(&reach_counted);
        let randoms: Vec<&Results> = pairs.iter().map(|p| &p.random).collect();
        let tpes: Vec<&Results> = pairs.iter().map(|p| &p.tpe).collect();
        let (random_curve, tpe_curve) = (mean_curve(&randoms), mean_curve(&tpes));
        let mut t = Table::new([
            "seed",
            "random best",
            "TPE best",
            "TPE trials to reach random's best",
        ]);
        for (s, (p, r)) in pairs.iter().zip(&reach).enumerate() {
            t.row([
                (ctx.seed + s as u64).to_string(),
                percent(p.random_best(), 2),
                percent(p.tpe.best().map_or(f64::NAN, |b| b.value), 2),
                r.map_or(format!("not within {}", plan.trials), |n| n.to_string()),
            ]);
        }
        let reached_half = mean_reach <= plan.trials as f64 / 2.0;
        md.push_str(&format!(
            "### TPE against random search ({} trials each, {} seeds)\n\n{}\nTPE needs {} trials \
             on average (never-reached seeds counted as {}) to match random search's best \
             validation accuracy over {} trials: {} (target ≤ {}).\n\n",
            plan.trials,
            plan.seeds,
            t.render(),
            fixed(mean_reach, 1),
            plan.trials + 1,
            plan.trials,
            if reached_half {
                "reached"
            } else {
                "NOT reached"
            },
            plan.trials / 2
        ));
        let mut plots = Vec::new();
        let file = "tune_best_so_far.png";
        line_plot(
            &ctx.out_dir.join(file),
            "Best validation accuracy so far (mean over seeds)",
            "trial",
            "validation accuracy (%)",
            &[
                series("random", &random_curve, 100.0),
                series("TPE", &tpe_curve, 100.0),
            ],
        )?;
        plots.push(PathBuf::from(file));

        // Hyperband against the first seed's full random search.
        let mut hb_search = search::search(
            &space,
            Strategy::Hyperband { eta: 3 },
            0,
            plan.epochs,
            ctx.seed,
            store(
                &stores,
                &format!("hyperband_seed{}", ctx.seed),
                self.args.resume,
            )?,
            "hyperband",
        )?;
        hb_search.executions_per_trial = plan.executions;
        let hyperband = hb_search.run(&evaluator)?;
        let reference = &pairs[0].random;
        let hb_best = hyperband.best().map_or(f64::NAN, |t| t.value);
        let random_best = pairs[0].random_best();
        let gap_points = (random_best - hb_best) * 100.0;
        let epoch_fraction =
            hyperband.total_epochs() as f64 / reference.total_epochs().max(1) as f64;
        let scheduled: usize = hyperband.trials.iter().map(|t| t.budget_epochs).sum();
        let budget_fraction = scheduled as f64 / (plan.trials * plan.epochs) as f64;
        md.push_str(&format!(
            "### Hyperband against full random search (seed {})\n\nHyperband (R = {} epochs, η = 3, \
             {} trials over its brackets) reaches {} validation accuracy against random search's \
             {} ({} trials × up to {} epochs), a gap (random − Hyperband) of {} points, training {} epochs against {} \
             ({} of them; scheduled budgets {} against {}, {}). Targets: within 0.5 points — {}; \
             ≤ 1/3 of the epochs — {}.\n\n",
            ctx.seed,
            plan.epochs,
            hyperband.trials.len(),
            percent(hb_best, 2),
            percent(random_best, 2),
            plan.trials,
            plan.epochs,
            fixed(gap_points, 2),
            hyperband.total_epochs(),
            reference.total_epochs(),
            percent(epoch_fraction, 1),
            scheduled,
            plan.trials * plan.epochs,
            percent(budget_fraction, 1),
            if gap_points <= 0.5 { "reached" } else { "NOT reached" },
            if epoch_fraction <= 1.0 / 3.0 { "reached" } else { "NOT reached" },
        ));
        let file = "tune_hyperband.png";
        line_plot(
            &ctx.out_dir.join(file),
            "Best validation accuracy so far against epochs trained",
            "epochs trained",
            "validation accuracy (%)",
            &[
                epoch_curve("random search", reference),
                epoch_curve("Hyperband", &hyperband),
            ],
        )?;
        plots.push(PathBuf::from(file));

        // The seed's workflow on the top configurations of the first TPE search.
        let top: Vec<(Config, f64)> = pairs[0]
            .tpe
            .top_n(plan.top_n)
            .into_iter()
            .map(|t| (t.config.clone(), t.value))
            .collect();
        let full_train = concat(&data.train, &data.validation);
        let bar = progress::bar(top.len() as u64, "best epochs");
        let mut workflows = Vec::new();
        for (config, search_value) in &top {
            let spec = mlp::MlpSpec::from_config(&with_dropout(config))?;
            let probe = mlp::train(
                &spec,
                &data.train,
                Some(&data.validation),
                plan.workflow_max_epochs,
                plan.workflow_patience,
                ctx.seed,
                dispatch,
            )?;
            let retrain_epochs = ((probe.best_epoch as f64) * 1.2).round().max(1.0) as usize;
            let final_model = mlp::train(
                &spec,
                &full_train,
                None,
                retrain_epochs,
                0,
                ctx.seed,
                dispatch,
            )?;
            let (test_accuracy, _) = final_model.evaluate(&data.test, dispatch)?;
            let validation_accuracy = probe
                .val_accuracy
                .get(probe.best_epoch.saturating_sub(1))
                .copied()
                .unwrap_or(f64::NAN);
            workflows.push(Workflow {
                config: config.clone(),
                search_value: *search_value,
                best_epoch: probe.best_epoch,
                retrain_epochs,
                validation_accuracy,
                test_accuracy,
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        let mut t = Table::new([
            "configuration",
            "search val acc",
            "best epoch",
            "val acc there",
            "retrain epochs",
            "test acc",
            "val − test (points)",
        ]);
        for w in &workflows {
            t.row([
                describe(&w.config),
                percent(w.search_value, 2),
                w.best_epoch.to_string(),
                percent(w.validation_accuracy, 2),
                w.retrain_epochs.to_string(),
                percent(w.test_accuracy, 2),
                fixed((w.search_value - w.test_accuracy) * 100.0, 2),
            ]);
        }
        md.push_str(&format!(
            "### The seed's workflow: best epoch, retrain on train + validation, test\n\nTop {} \
             configurations of the first TPE search: best epoch by validation loss (patience {}, \
             at most {} epochs), retrained from scratch on the {} train + validation rows for \
             round(1.2 × best epoch) epochs, then scored once on the untouched test set. The \
             last column is the validation-vs-test gap the seed warns about: the search picked \
             these configurations for their validation score, so that score is optimistic.\n\n{}\n",
            top.len(),
            plan.workflow_patience,
            plan.workflow_max_epochs,
            full_train.rows(),
            t.render()
        ));
        let file = "tune_val_vs_test.png";
        let groups: Vec<String> = (1..=workflows.len()).map(|i| format!("#{i}")).collect();
        bar_plot(
            &ctx.out_dir.join(file),
            "Top configurations: search validation accuracy against test accuracy",
            "accuracy (%)",
            &groups,
            &[
                BarSeries {
                    name: "validation (search)".into(),
                    values: workflows.iter().map(|w| w.search_value * 100.0).collect(),
                },
                BarSeries {
                    name: "test (after retraining)".into(),
                    values: workflows.iter().map(|w| w.test_accuracy * 100.0).collect(),
                },
            ],
        )?;
        plots.push(PathBuf::from(file));

        // Noise against signal: the top two configurations over seeds.
        let bar = progress::bar((top.len().min(2) * plan.seeds) as u64, "seed repeats");
        let mut repeats = Vec::new();
        for (config, _) in top.iter().take(2) {
            let mut values = Vec::new();
            for s in 0..plan.seeds {
                let m = crate::tune::Evaluator::evaluate(
                    &evaluator,
                    config,
                    plan.epochs,
                    ctx.seed + 1000 + s as u64,
                )?;
                values.push(m.value);
                bar.inc(1);
            }
            repeats.push((config.clone(), values));
        }
        bar.finish_and_clear();
        let mut t = Table::new(["configuration", "val acc mean ± std", "runs"]);
        for (config, values) in &repeats {
            t.row([
                describe(config),
                format!(
                    "{} ± {}",
                    percent(mean(values), 2),
                    fixed(std_dev(values) * 100.0, 2)
                ),
                values.len().to_string(),
            ]);
        }
        let difference = match repeats.as_slice() {
            [(_, a), (_, b)] => Some((mean(a) - mean(b)) * 100.0),
            _ => None,
        };
        let pooled = repeats.iter().map(|(_, v)| std_dev(v)).fold(0.0, f64::max) * 100.0;
        let noise_bound = 2.0 * pooled * (2.0 / plan.seeds as f64).sqrt();
        md.push_str(&format!(
            "### Noise against signal\n\nThe two best configurations retrained with {} fresh seeds \
             each (same data, {} epochs):\n\n{}\n{}\n",
            plan.seeds,
            plan.epochs,
            t.render(),
            match difference {
                Some(d) => format!(
                    "Their means differ by {} points while one run's seed-to-seed standard \
                     deviation is up to {} points: a difference smaller than about two standard \
                     errors of the difference ({} points here) is noise, not a better \
                     configuration. This one is {}.\n",
                    fixed(d, 2),
                    fixed(pooled, 2),
                    fixed(noise_bound, 2),
                    if d.abs() > noise_bound { "larger: signal" } else { "within it: noise" }
                ),
                None => String::new(),
            }
        ));

        let figures = json!({
            "data_source": data.source,
            "train_rows": data.train.rows(),
            "validation_rows": data.validation.rows(),
            "test_rows": data.test.rows(),
            "trials": plan.trials,
            "seeds": plan.seeds,
            "epochs_per_trial": plan.epochs,
            "executions_per_trial": plan.executions,
            "random_best_val_accuracy": pairs.iter().map(Pair::random_best).collect::<Vec<_>>(),
            "tpe_best_val_accuracy": tpes.iter().map(|r| r.best().map_or(f64::NAN, |t| t.value)).collect::<Vec<_>>(),
            "tpe_trials_to_reach_random_best": reach,
            "tpe_mean_trials_to_reach": mean_reach,
            "tpe_reaches_in_half_the_trials": reached_half,
            "best_so_far_random_mean": random_curve,
            "best_so_far_tpe_mean": tpe_curve,
            "hyperband_best_val_accuracy": hb_best,
            "hyperband_random_best_val_accuracy": random_best,
            "hyperband_gap_points": gap_points,
            "hyperband_epochs": hyperband.total_epochs(),
            "hyperband_random_epochs": reference.total_epochs(),
            "hyperband_epoch_fraction": epoch_fraction,
            "hyperband_budget_fraction": budget_fraction,
            "hyperband_within_half_point": gap_points <= 0.5,
            "hyperband_within_third_of_epochs": epoch_fraction <= 1.0 / 3.0,
            "workflow": workflows.iter().map(|w| json!({
                "config": w.config,
                "search_val_accuracy": w.search_value,
                "best_epoch": w.best_epoch,
                "val_accuracy_at_best_epoch": w.validation_accuracy,
                "retrain_epochs": w.retrain_epochs,
                "test_accuracy": w.test_accuracy,
                "val_test_gap_points": (w.search_value - w.test_accuracy) * 100.0,
            })).collect::<Vec<Json>>(),
            "seed_repeats": repeats.iter().map(|(c, v)| json!({
                "config": c,
                "val_accuracy": v,
                "mean": mean(v),
                "std": std_dev(v),
            })).collect::<Vec<Json>>(),
            "seed_repeat_difference_points": difference,
            "seed_repeat_noise_bound_points": noise_bound,
            "seconds": start.elapsed().as_secs_f64(),
        });
        Ok(ExperimentReport {
            markdown: md,
            headline: headline(&figures),
            figures,
            plots,
            data_source: data.source.clone(),
        })
    }
}

/// Headline: TPE's best validation accuracy beside random search's (means over the seeds),
/// Hyperband's beside full random search's with its share of the epochs, and the top
/// configuration's test accuracy after the best-epoch workflow.
fn headline(figures: &Json) -> Vec<Headline> {
    let mean_of = |key: &str| {
        let values: Vec<f64> = figures[key]
            .as_array()?
            .iter()
            .filter_map(Json::as_f64)
            .filter(|v| v.is_finite())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let accuracy = |name: &str, value: f64| {
        Headline::new(name, 100.0 * value, "%").digits(Digits::Decimals(2))
    };
    let tpe = mean_of("tpe_best_val_accuracy").map(|v| {
        let headline = accuracy("TPE best validation accuracy, mean", v);
        match mean_of("random_best_val_accuracy") {
            Some(r) => headline.reference(format!("random search {}", percent(r, 2))),
            None => headline,
        }
    });
    let number = |key: &str| figures[key].as_f64();
    let hyperband = number("hyperband_best_val_accuracy").map(|v| {
        let headline = accuracy("Hyperband best validation accuracy", v);
        match (
            number("hyperband_random_best_val_accuracy"),
            number("hyperband_epoch_fraction"),
        ) {
            (Some(r), Some(f)) => headline.reference(format!(
                "random search {} with {} as many epochs",
                percent(r, 2),
                fixed(1.0 / f, 1)
            )),
            _ => headline,
        }
    });
    let workflow = figures
        .pointer("/workflow/0/test_accuracy")
        .and_then(Json::as_f64)
        .map(|v| accuracy("top configuration, test accuracy", v));
    [tpe, hyperband, workflow].into_iter().flatten().collect()
}

/// The rows of `a` followed by those of `b`.
fn concat(a: &Examples, b: &Examples) -> Examples {
    let mut x = a.x.clone();
    x.extend_from_slice(&b.x);
    let mut y = a.y.clone();
    y.extend_from_slice(&b.y);
    Examples {
        x,
        y,
        inputs: a.inputs,
    }
}
