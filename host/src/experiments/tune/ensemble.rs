//! Tuned model families and their ensembles (`edgeml ensemble`): the same tuner (TPE) picks
//! an MLP, boosted trees and k-NN on Fashion-MNIST (classification, averaged probabilities,
//! with the tiny vision transformer as a fourth, untuned member) and on California Housing
//! (regression, averaged values); the members are combined with
//! equal weights and with weights chosen on validation data, and everything is scored once on
//! the test rows.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use edgeml_core::kernels::Dispatch;
use edgeml_core::rng::Rng;
use serde_json::{json, Value as Json};

use super::data::{california, fashion};
use super::mlp::{train, train_regressor, MlpSpec};
use super::models::{fit_boosted, knn_predict, push_softmax, BoostData, Table as Rows, Task};
use super::search::{tpe_for, with_dropout};
use crate::cpu;
use crate::experiments::attention::training::{fit_vit, Images, Schedule};
use crate::experiments::attention::vit::{Vit, VitShape, PIXELS};
use crate::experiments::{Experiment, ExperimentReport, Headline, RunContext};
use crate::report::format::{fixed, significant};
use crate::report::plot::{bar_plot, BarSeries};
use crate::report::progress;
use crate::report::table::Table;
use crate::tune::ensemble::{blend, equal_weights, optimize_weights, Metric};
use crate::tune::{Config, Measurement, Objective, Sampling, Search, Space, Strategy, Value};

/// Options of `edgeml ensemble`.
#[derive(Args, Clone, Debug, Default)]
pub struct EnsembleArgs {
    /// TPE trials per model family (default 10; 4 with --quick).
    #[arg(long)]
    pub trials: Option<usize>,
    /// Fashion-MNIST training rows (default 5000).
    #[arg(long)]
    pub train_rows: Option<usize>,
    /// Fashion-MNIST validation rows, for tuning and ensemble weights (default 2000).
    #[arg(long)]
    pub validation_rows: Option<usize>,
    /// Fashion-MNIST test rows (default 5000).
    #[arg(long)]
    pub test_rows: Option<usize>,
}

/// The ensemble experiment.
pub struct EnsembleExperiment {
    args: EnsembleArgs,
}

impl EnsembleExperiment {
    /// The experiment with the given options.
    pub fn new(args: EnsembleArgs) -> EnsembleExperiment {
        EnsembleExperiment { args }
    }
}

/// A feature table split three ways with its targets (class indices as f32, or values).
struct Splits {
    cols: usize,
    /// Train / validation / test features for the MLP.
    x: [Vec<f32>; 3],
    /// Train / validation / test features for trees and k-NN (raw scale).
    small: [Vec<f32>; 3],
    /// The same, standardized with the training rows' statistics.
    small_std: [Vec<f32>; 3],
    small_cols: usize,
    y: [Vec<f32>; 3],
    task: Task,
}

/// A tuned family's chosen model and its predictions.
struct Member {
    name: &'static str,
    config: Config,
    validation: Vec<f64>,
    test: Vec<f64>,
}

/// 2 × 2 average pooling of 28 × 28 images (`rows × 784`) to 14 × 14.
fn pool(x: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len() / 4);
    for img in x.chunks_exact(784) {
        for r in 0..14 {
            for c in 0..14 {
                let at = |dr: usize, dc: usize| img[(2 * r + dr) * 28 + 2 * c + dc];
                out.push((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0);
            }
        }
    }
    out
}

/// Features standardized with the mean and standard deviation of `parts[0]`'s columns.
fn standardize(parts: &[Vec<f32>; 3], cols: usize) -> [Vec<f32>; 3] {
    let n = (parts[0].len() / cols.max(1)).max(1) as f64;
    let mut out = parts.clone();
    for c in 0..cols {
        let col = || parts[0].iter().skip(c).step_by(cols).map(|&v| f64::from(v));
        let mean = col().sum::<f64>() / n;
        let sd = (col().map(|v| (v - mean).powi(2)).sum::<f64>() / n)
            .sqrt()
            .max(1e-6);
        for part in out.iter_mut() {
            for v in part.iter_mut().skip(c).step_by(cols) {
                *v = ((f64::from(*v) - mean) / sd) as f32;
            }
        }
    }
    out
}

fn metric(task: Task) -> Metric {
    match task {
        Task::Classes(classes) => Metric::Accuracy { classes },
        Task::Regression => Metric::Rmse,
    }
}

fn targets(y: &[f32]) -> Vec<f64> {
    y.iter().map(|&v| f64::from(v)).collect()
}

/// Runs a TPE search of `space` scoring configurations by `score` (validation metric).
fn tune(
    space: Space,
    task: Task,
    trials: usize,
    seed: u64,
    label: &str,
    score: impl Fn(&Config, u64) -> Result<f64> + Sync,
) -> Result<Config> {
    let objective: Objective = metric(task).objective();
    let search = Search {
        space,
        objective,
        strategy: Strategy::Tpe(tpe_for(trials)),
        max_trials: trials,
        max_epochs: 1,
        executions_per_trial: 1,
        batch: 2,
        seed,
        store: None,
        label: label.into(),
    };
    let results = search.run(&|c: &Config, _: usize, s: u64| -> Result<Measurement> {
        Ok(Measurement {
            value: score(c, s)?,
            epochs: 1,
            best_epoch: None,
        })
    })?;
    results
        .best()
        .map(|t| t.config.clone())
        .context("the search ran no trial")
}

fn tree_space(task: Task) -> Result<Space> {
    let mut s = Space::new();
    match task {
        Task::Classes(_) => s.int("rounds", 10, 60, 10)?,
        Task::Regression => s.int("rounds", 50, 400, 50)?,
    };
    s.add(crate::tune::Param {
        name: "leaves".into(),
        domain: crate::tune::Domain::Int {
            min: 4,
            max: 64,
            step: 2,
            sampling: Sampling::Log,
        },
        condition: None,
    })?;
    s.float("lr", 0.03, 0.5, Sampling::Log)?;
    s.float("subsample", 0.5, 1.0, Sampling::Linear)?;
    Ok(s)
}

fn knn_space() -> Result<Space> {
    let mut s = Space::new();
    s.add(crate::tune::Param {
        name: "k".into(),
        domain: crate::tune::Domain::Int {
            min: 1,
            max: 40,
            step: 1,
            sampling: Sampling::Log,
        },
        condition: None,
    })?;
    s.choice("weights", &["uniform", "distance"])?;
    s.choice("scaling", &["raw", "standardized"])?;
    Ok(s)
}

fn mlp_space() -> Result<Space> {
    let mut s = Space::new();
    s.int("units", 16, 64, 16)?;
    s.choice("optimizer", &["adam", "rmsprop"])?;
    s.float("lr", 1e-4, 3e-2, Sampling::Log)?;
    s.int("depth", 1, 2, 1)?;
    s.boolean("dropout")?;
    s.float("rate", 0.1, 0.5, Sampling::Linear)?;
    s.when("dropout", &[Value::Bool(true)])?;
    Ok(s)
}

fn examples(x: &[f32], y: &[f32]) -> crate::experiments::mlp::Examples {
    crate::experiments::mlp::Examples {
        x: x.to_vec(),
        y: y.iter().map(|&v| v as u32).collect(),
        inputs: 784,
    }
}

/// The MLP family: TPE over the MLP space, members' predictions on validation and test.
fn mlp_member(
    d: &Splits,
    trials: usize,
    epochs: usize,
    seed: u64,
    dispatch: Dispatch,
) -> Result<Member> {
    let m = metric(d.task);
    let val_t = targets(&d.y[1]);
    let predict = |config: &Config, s: u64, parts: &[usize]| -> Result<Vec<Vec<f64>>> {
        let spec = MlpSpec::from_config(&with_dropout(config))?;
        match d.task {
            Task::Classes(_) => {
                let train_ex = examples(&d.x[0], &d.y[0]);
                let val_ex = examples(&d.x[1], &d.y[1]);
                let trained = train(&spec, &train_ex, Some(&val_ex), epochs, 3, s, dispatch)?;
                parts
                    .iter()
                    .map(|&p| trained.probabilities(&examples(&d.x[p], &d.y[p]), dispatch))
                    .collect()
            }
            Task::Regression => {
                let model = train_regressor(&spec, &d.x[0], d.cols, &d.y[0], epochs, s, dispatch)?;
                parts
                    .iter()
                    .map(|&p| model.predict(&d.x[p], dispatch))
                    .collect()
            }
        }
    };
    let config = tune(mlp_space()?, d.task, trials, seed, "MLP", |c, s| {
        let pred = predict(c, s, &[1])?;
        m.score(&pred[0], &val_t)
    })?;
    let mut preds = predict(&config, seed, &[1, 2])?.into_iter();
    Ok(Member {
        name: "MLP",
        config,
        validation: preds.next().unwrap_or_default(),
        test: preds.next().unwrap_or_default(),
    })
}

fn trees_member(d: &Splits, trials: usize, seed: u64) -> Result<Member> {
    let m = metric(d.task);
    let val_t = targets(&d.y[1]);
    let train_rows = BoostData::new(&Rows {
        x: &d.small[0],
        cols: d.small_cols,
        y: &d.y[0],
    })?;
    let config = tune(
        tree_space(d.task)?,
        d.task,
        trials,
        seed,
        "boosted trees",
        |c, s| {
            let model = fit_boosted(&train_rows, d.task, c, s)?;
            m.score(&model.predict(&d.small[1])?, &val_t)
        },
    )?;
    let model = fit_boosted(&train_rows, d.task, &config, seed)?;
    Ok(Member {
        name: "boosted trees",
        validation: model.predict(&d.small[1])?,
        test: model.predict(&d.small[2])?,
        config,
    })
}

fn knn_member(d: &Splits, trials: usize, seed: u64) -> Result<Member> {
    let m = metric(d.task);
    let val_t = targets(&d.y[1]);
    let predict = |c: &Config, part: usize| -> Result<Vec<f64>> {
        let x = match c.get("scaling").and_then(|v| v.as_str()) {
            Some("standardized") => &d.small_std,
            _ => &d.small,
        };
        let rows = Rows {
            x: &x[0],
            cols: d.small_cols,
            y: &d.y[0],
        };
        knn_predict(&rows, d.task, c, &x[part])
    };
    let config = tune(knn_space()?, d.task, trials, seed, "k-NN", |c, _| {
        m.score(&predict(c, 1)?, &val_t)
    })?;
    Ok(Member {
        name: "k-NN",
        validation: predict(&config, 1)?,
        test: predict(&config, 2)?,
        config,
    })
}

/// The fixed (untuned) configuration of the tiny vision transformer member.
#[derive(Clone, Copy, Debug)]
struct VitPlan {
    shape: VitShape,
    schedule: Schedule,
}

impl VitPlan {
    /// d = 32, 4 heads, d_ff = 64, 12 epochs of batch 32 at peak lr 3e-3 (cosine decay);
    /// with `quick`, d = 16, 2 heads, d_ff = 32, 1 epoch.
    fn new(quick: bool) -> VitPlan {
        let (d_model, heads, epochs) = if quick { (16, 2, 1) } else { (32, 4, 12) };
        VitPlan {
            shape: VitShape {
                d_model,
                heads,
                d_ff: 2 * d_model,
                classes: 10,
            },
            schedule: Schedule {
                epochs,
                batch: 32,
                lr: 3e-3,
            },
        }
    }

    fn config(&self) -> Config {
        let int = |v: usize| Value::Int(i64::try_from(v).unwrap_or(i64::MAX));
        Config::from([
            ("d_model".to_string(), int(self.shape.d_model)),
            ("heads".to_string(), int(self.shape.heads)),
            ("d_ff".to_string(), int(self.shape.d_ff)),
            ("epochs".to_string(), int(self.schedule.epochs)),
            ("batch".to_string(), int(self.schedule.batch)),
            ("lr".to_string(), Value::Float(f64::from(self.schedule.lr))),
        ])
    }
}

/// Full images with pixels back in [0, 1] (the MLP features are scaled to [-1, 1]).
fn vit_images(x: &[f32], y: &[f32]) -> Images {
    Images {
        pixels: x.iter().map(|&v| v * 0.5 + 0.5).collect(),
        labels: y.iter().map(|&v| v as u32).collect(),
    }
}

/// Softmax of the ViT's logits, `rows × classes`, for every image of `images`.
fn vit_probabilities(
    vit: &Vit,
    params: &[f32],
    images: &Images,
    dispatch: Dispatch,
) -> Result<Vec<f64>> {
    let mut scratch = vit.scratch();
    let mut out = Vec::with_capacity(images.len() * vit.shape().classes);
    for image in images.pixels.chunks_exact(PIXELS) {
        push_softmax(vit.logits(dispatch, params, image, &mut scratch)?, &mut out);
    }
    Ok(out)
}

/// The tiny vision transformer of `edgeml attention`, trained with its trainer on the full
/// 28 × 28 training images in the fixed configuration `plan` (no search).
fn vit_member(d: &Splits, plan: VitPlan, seed: u64, dispatch: Dispatch) -> Result<Member> {
    let [train, validation, test] = [0, 1, 2].map(|p| vit_images(&d.x[p], &d.y[p]));
    let vit = Vit::new(plan.shape)?;
    let bar = progress::bar((plan.schedule.epochs * train.len()) as u64, "ensemble vit");
    let (_, params) = fit_vit(
        &vit,
        dispatch,
        &train,
        &validation,
        plan.schedule,
        &mut Rng::new(seed),
        &bar,
    )
    .context("training the vision transformer member")?;
    bar.finish_and_clear();
    Ok(Member {
        name: "ViT",
        config: plan.config(),
        validation: vit_probabilities(&vit, &params, &validation, dispatch)?,
        test: vit_probabilities(&vit, &params, &test, dispatch)?,
    })
}

/// Figures of the ensembles on one dataset.
struct Outcome {
    dataset: &'static str,
    members: Vec<(String, Config, f64, f64)>,
    equal: (f64, f64),
    weighted: (f64, f64),
    weights: Vec<f64>,
    best_member: (String, f64),
}

fn ensemble(dataset: &'static str, d: &Splits, members: &[Member], seed: u64) -> Result<Outcome> {
    let m = metric(d.task);
    let (val_t, test_t) = (targets(&d.y[1]), targets(&d.y[2]));
    let vals: Vec<Vec<f64>> = members.iter().map(|x| x.validation.clone()).collect();
    let tests: Vec<Vec<f64>> = members.iter().map(|x| x.test.clone()).collect();
    let eq = equal_weights(members.len());
    let equal = (
        m.score(&blend(&vals, &eq)?, &val_t)?,
        m.score(&blend(&tests, &eq)?, &test_t)?,
    );
    let (weights, w_val) = optimize_weights(m, &vals, &val_t, 300, &mut Rng::new(seed))?;
    let weighted = (w_val, m.score(&blend(&tests, &weights)?, &test_t)?);
    let mut rows = Vec::new();
    for x in members {
        rows.push((
            x.name.to_string(),
            x.config.clone(),
            m.score(&x.validation, &val_t)?,
            m.score(&x.test, &test_t)?,
        ));
    }
    let objective = m.objective();
    let best = rows
        .iter()
        .fold(None::<&(String, Config, f64, f64)>, |b, r| match b {
            Some(b) if !objective.better(r.2, b.2) => Some(b),
            _ => Some(r),
        })
        .map(|r| (r.0.clone(), r.3))
        .unwrap_or_default();
    Ok(Outcome {
        dataset,
        members: rows,
        equal,
        weighted,
        weights,
        best_member: best,
    })
}

fn describe(config: &Config) -> String {
    config
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn render(o: &Outcome, task: Task, rows: [usize; 3]) -> String {
    let classification = matches!(task, Task::Classes(_));
    let (unit, fmt): (&str, fn(f64) -> String) = if classification {
        ("accuracy (%)", |v| fixed(v * 100.0, 2))
    } else {
        ("RMSE", |v| fixed(v, 4))
    };
    let mut t = Table::new([
        "model",
        "tuned configuration",
        &format!("validation {unit}"),
        &format!("test {unit}"),
    ]);
    for (name, config, v, te) in &o.members {
        t.row([name.clone(), describe(config), fmt(*v), fmt(*te)]);
    }
    t.row([
        "equal-weight ensemble".into(),
        "—".into(),
        fmt(o.equal.0),
        fmt(o.equal.1),
    ]);
    let w: Vec<String> = o.weights.iter().map(|w| fixed(*w, 2)).collect();
    t.row([
        "validation-weighted ensemble".into(),
        format!("weights {}", w.join(" / ")),
        fmt(o.weighted.0),
        fmt(o.weighted.1),
    ]);
    let objective = metric(task).objective();
    // The ensemble chosen without looking at the test rows: the validation-weighted one
    // (never worse than equal weights on validation).
    let chosen = o.weighted.1;
    let (best_name, best_test) = &o.best_member;
    let margin = if classification {
        format!("{} points", fixed((chosen - best_test).abs() * 100.0, 2))
    } else {
        format!("{} RMSE", fixed((chosen - best_test).abs(), 4))
    };
    let verdict = if objective.better(chosen, *best_test) {
        format!(
            "The validation-weighted ensemble beats the best single member ({best_name}, picked \
             on validation) on the test rows by {margin}."
        )
    } else {
        format!(
            "The validation-weighted ensemble does not beat the best single member ({best_name}, \
             picked on validation) on the test rows: it falls short by {margin}. Averaging \
             helps when members are about equally good and err on different rows; here the \
             weaker members are far enough behind that mixing them in adds more of their errors \
             than it removes of the best member's, and the validation-chosen weights, fitted \
             on {} rows, carry their own noise to the test set.",
            rows[1]
        )
    };
    format!(
        "{} — {} train / {} validation / {} test rows:\n\n{}\n{verdict}\n\n",
        o.dataset,
        rows[0],
        rows[1],
        rows[2],
        t.render()
    )
}

fn outcome_json(o: &Outcome) -> Json {
    json!({
        "members": o.members.iter().map(|(n, c, v, t)| json!({
            "model": n, "config": c, "validation": v, "test": t,
        })).collect::<Vec<_>>(),
        "equal_weight": {"validation": o.equal.0, "test": o.equal.1},
        "weighted": {"validation": o.weighted.0, "test": o.weighted.1, "weights": o.weights},
        "best_member": {"model": o.best_member.0, "test": o.best_member.1},
    })
}

/// Headline: each dataset's validation-weighted ensemble on the test rows beside its best
/// member (accuracy on Fashion-MNIST, RMSE on California Housing).
fn headline(figures: &Json) -> Vec<Headline> {
    [
        (
            "fashion_mnist",
            "Fashion-MNIST ensemble test accuracy",
            100.0,
            "%",
        ),
        ("california", "California ensemble test RMSE", 1.0, ""),
    ]
    .into_iter()
    .filter_map(|(key, name, scale, unit)| {
        let d = &figures[key];
        let test = d["weighted"]["test"].as_f64().filter(|v| v.is_finite())?;
        let headline = Headline::new(name, scale * test, unit);
        Some(
            match (
                d["best_member"]["model"].as_str(),
                d["best_member"]["test"].as_f64(),
            ) {
                (Some(model), Some(best)) => headline.reference(format!(
                    "best member, {model}, {}{unit}",
                    significant(scale * best, 3)
                )),
                _ => headline,
            },
        )
    })
    .collect()
}

impl Experiment for EnsembleExperiment {
    fn name(&self) -> &'static str {
        "ensemble"
    }

    fn title(&self) -> &'static str {
        "Tuned model families and their ensembles: Fashion-MNIST and California Housing"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let start = Instant::now();
        let quick = ctx.quick;
        let pick = |given: Option<usize>, full: usize, small: usize| {
            given.unwrap_or(if quick { small } else { full }).max(1)
        };
        let trials = pick(self.args.trials, 10, 4);
        let epochs = if quick { 3 } else { 12 };
        let dispatch = cpu::selected_dispatch()?;
        let vit_plan = VitPlan::new(quick);
        let f = fashion(
            &ctx.data,
            pick(self.args.train_rows, 5000, 600),
            pick(self.args.validation_rows, 2000, 300),
            pick(self.args.test_rows, 5000, 300),
            ctx.seed,
        )?;
        let fx = [f.train.x.clone(), f.validation.x.clone(), f.test.x.clone()];
        let small = [pool(&fx[0]), pool(&fx[1]), pool(&fx[2])];
        let fashion_splits = Splits {
            cols: 784,
            small_std: standardize(&small, 196),
            small,
            small_cols: 196,
            x: fx,
            y: [&f.train, &f.validation, &f.test].map(|e| e.y.iter().map(|&v| v as f32).collect()),
            task: Task::Classes(10),
        };
        let c = california(&ctx.data, if quick { 3000 } else { usize::MAX }, ctx.seed)?;
        let california_splits = Splits {
            cols: c.cols,
            x: c.x.clone(),
            small: c.raw.clone(),
            small_std: c.x.clone(),
            small_cols: c.cols,
            y: c.y.clone(),
            task: Task::Regression,
        };
        let mut md = format!(
            "One tuner (TPE, {trials} trials per family, validation score as objective) picks an \
             MLP, boosted trees and k-NN on each dataset; the ensembles average the members' \
             class probabilities (Fashion-MNIST) or values (California Housing) with equal \
             weights or with weights chosen on the validation rows (random search over the \
             simplex, then pairwise refinement). Fashion-MNIST: documented subsets of {} \
             (trees and k-NN see 2 × 2-pooled 14 × 14 images; the MLP trains at most {epochs} \
             epochs with patience 3; a fourth member, the tiny vision transformer of `edgeml \
             attention`, is trained untuned on the full 28 × 28 training images: {}). \
             California Housing: {} shuffled 60/20/20; the MLP sees \
             standardized features.\n\n",
            f.source,
            describe(&vit_plan.config()),
            c.source
        );
        let mut figures = serde_json::Map::new();
        let mut plots = Vec::new();
        for (name, key, d) in [
            ("Fashion-MNIST", "fashion_mnist", &fashion_splits),
            ("California Housing", "california", &california_splits),
        ] {
            let mut members = vec![
                mlp_member(d, trials, epochs, ctx.seed, dispatch)?,
                trees_member(d, trials, ctx.seed)?,
                knn_member(d, trials, ctx.seed)?,
            ];
            if matches!(d.task, Task::Classes(_)) {
                members.push(vit_member(d, vit_plan, ctx.seed, dispatch)?);
            }
            let o = ensemble(name, d, &members, ctx.seed)?;
            let rows = [d.y[0].len(), d.y[1].len(), d.y[2].len()];
            md.push_str(&render(&o, d.task, rows));
            let (scale, unit) = match d.task {
                Task::Classes(_) => (100.0, "accuracy (%)"),
                Task::Regression => (1.0, "RMSE (lower is better)"),
            };
            let mut groups: Vec<String> = o.members.iter().map(|m| m.0.clone()).collect();
            groups.extend(["equal weights".to_string(), "weighted".to_string()]);
            let column = |pick: fn(&(String, Config, f64, f64)) -> f64, eq: f64, w: f64| {
                let mut v: Vec<f64> = o.members.iter().map(|m| pick(m) * scale).collect();
                v.extend([eq * scale, w * scale]);
                v
            };
            let file = format!("ensemble_{key}.png");
            bar_plot(
                &ctx.out_dir.join(&file),
                &format!("{name}: tuned members and their ensembles"),
                unit,
                &groups,
                &[
                    BarSeries {
                        name: "validation".into(),
                        values: column(|m| m.2, o.equal.0, o.weighted.0),
                    },
                    BarSeries {
                        name: "test".into(),
                        values: column(|m| m.3, o.equal.1, o.weighted.1),
                    },
                ],
            )?;
            plots.push(PathBuf::from(file));
            let mut j = outcome_json(&o);
            j["rows"] = json!(rows);
            figures.insert(key.into(), j);
        }
        figures.insert("trials_per_family".into(), json!(trials));
        figures.insert("seconds".into(), json!(start.elapsed().as_secs_f64()));
        let figures = Json::Object(figures);
        Ok(ExperimentReport {
            markdown: md,
            headline: headline(&figures),
            figures,
            plots,
            data_source: format!("{}; {}", f.source, c.source),
        })
    }
}
