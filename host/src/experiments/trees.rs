//! Decision trees, random forests and gradient boosting (`edgeml trees`): the seed's Gini
//! walk-through, California Housing regression (single tree, forest, boosting; RMSE per
//! round, feature importance, model bytes, prediction speed, early stopping), leaf-wise
//! against depth-wise growth and boosting with missing values, the lab's 6-class California
//! problem beside the k-NN figure, Fashion-MNIST softmax boosting, and seed 003's cascade of
//! BDTs on Fashion-MNIST.

mod california;
mod cascade;
mod fashion;
pub(crate) mod fit;
mod gini;

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::{Experiment, ExperimentReport, Headline, RunContext};
use crate::report::format::{fixed, percent, significant};
use crate::report::plot::{bar_plot, line_plot, BarSeries, Series};
use crate::report::progress;
use crate::report::table::Table;

pub use gini::{candidates, chosen, core_root, Candidate, EVENTS};

/// Options of `edgeml trees`.
#[derive(Args, Clone, Debug, Default)]
pub struct TreesArgs {
    /// Boosting rounds on California Housing (default 500; 40 with --quick).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Learning rate of the California boosting (default 0.05).
    #[arg(long)]
    pub learning_rate: Option<f32>,
    /// Leaves per boosted tree (default 31).
    #[arg(long)]
    pub leaves: Option<usize>,
    /// Trees per random forest (default 30; 4 with --quick).
    #[arg(long)]
    pub forest_trees: Option<usize>,
    /// Softmax rounds on the 6-class California problem (default 100; 10 with --quick).
    #[arg(long)]
    pub class_rounds: Option<usize>,
    /// Timed repetitions of the California boosted fit and of predictions (default 3; 1 with
    /// --quick); the median is reported.
    #[arg(long)]
    pub timing_runs: Option<usize>,
    /// Fashion-MNIST training images (default 20000; 1000 with --quick; 60000 for all).
    #[arg(long)]
    pub fashion_train: Option<usize>,
    /// Fashion-MNIST test images (default 10000, all; 1000 with --quick).
    #[arg(long)]
    pub fashion_test: Option<usize>,
    /// Fashion-MNIST boosting rounds (default 100; 5 with --quick).
    #[arg(long)]
    pub fashion_rounds: Option<usize>,
    /// Fashion-MNIST learning rate (default 0.2).
    #[arg(long)]
    pub fashion_learning_rate: Option<f32>,
    /// Fashion-MNIST training images of the BDT cascade (default 12000; 1000 with --quick).
    #[arg(long)]
    pub cascade_train: Option<usize>,
    /// Boosting rounds per cascade stage (default 60; 5 with --quick).
    #[arg(long)]
    pub cascade_rounds: Option<usize>,
    /// Only the California regression (for benches/peers/run.sh).
    #[arg(long)]
    pub regression_only: bool,
}

/// The trees experiment.
pub struct Trees {
    args: TreesArgs,
}

impl Trees {
    /// The experiment with the given options.
    pub fn new(args: TreesArgs) -> Trees {
        Trees { args }
    }

    fn california_settings(&self, quick: bool) -> california::Settings {
        let a = &self.args;
        california::Settings {
            rounds: a.rounds.unwrap_or(if quick { 40 } else { 500 }),
            learning_rate: a.learning_rate.unwrap_or(0.05),
            leaves: a.leaves.unwrap_or(31),
            forest_trees: a.forest_trees.unwrap_or(if quick { 4 } else { 30 }),
            class_rounds: a.class_rounds.unwrap_or(if quick { 10 } else { 100 }),
            timing_runs: a.timing_runs.unwrap_or(if quick { 1 } else { 3 }),
        }
    }

    fn fashion_settings(&self, quick: bool) -> fashion::Settings {
        let a = &self.args;
        fashion::Settings {
            train_rows: a.fashion_train.unwrap_or(if quick { 1000 } else { 20000 }),
            test_rows: a.fashion_test.unwrap_or(if quick { 1000 } else { 10000 }),
            rounds: a.fashion_rounds.unwrap_or(if quick { 5 } else { 100 }),
            learning_rate: a.fashion_learning_rate.unwrap_or(0.2),
            leaves: a.leaves.unwrap_or(31),
        }
    }
}

impl Trees {
    fn cascade_settings(&self, quick: bool) -> cascade::Settings {
        let a = &self.args;
        cascade::Settings {
            train_rows: a.cascade_train.unwrap_or(if quick { 1000 } else { 12000 }),
            test_rows: a.fashion_test.unwrap_or(if quick { 1000 } else { 10000 }),
            rounds: a.cascade_rounds.unwrap_or(if quick { 5 } else { 60 }),
            leaves: 15,
        }
    }
}

impl Experiment for Trees {
    fn name(&self) -> &'static str {
        "trees"
    }

    fn title(&self) -> &'static str {
        "Decision trees, random forests and gradient boosting"
    }

    fn run(&self, ctx: &RunContext) -> Result<ExperimentReport> {
        let steps = if self.args.regression_only { 5 } else { 10 };
        let bar = progress::bar(steps, "trees");
        let tick = |msg: &str| {
            bar.set_message(msg.to_string());
            bar.inc(1);
        };
        let mut md = String::new();
        let mut figures = json!({"seed": ctx.seed});
        let mut plots = Vec::new();

        if !self.args.regression_only {
            bar.set_message("gini");
            let (text, value) = gini_section()?;
            md.push_str(&text);
            figures["gini"] = value;
        }
        tick("california");
        let housing = california::load(&ctx.data, ctx.seed)?;
        let cs = self.california_settings(ctx.quick);
        let reg = california::regression(&housing, &cs, ctx.seed, &tick)?;
        tick("plots");
        let (text, value) = regression_section(&housing, &cs, &reg);
        md.push_str(&text);
        figures["california_regression"] = value;
        plots.extend(regression_plots(ctx, &housing, &reg)?);

        if !self.args.regression_only {
            tick("growth orders");
            let orders = california::growth_orders(&housing, &cs, ctx.seed)?;
            tick("missing values");
            let missing = california::missing_values(&housing, &cs, ctx.seed)?;
            let (text, value) = variants_section(&cs, &orders, &missing);
            md.push_str(&text);
            figures["california_growth"] = value["growth"].clone();
            figures["california_missing"] = value["missing"].clone();
            tick("6 classes");
            let classes = california::six_classes(&housing, &cs, ctx.seed)?;
            let knn = super::knn_lab::lab_cells(ctx, true, false).ok();
            let (text, value) = classes_section(&classes, knn.as_ref());
            md.push_str(&text);
            figures["california_classes"] = value;
            tick("fashion-mnist");
            let fs = self.fashion_settings(ctx.quick);
            let outcome = fashion::run(&ctx.data, &fs, ctx.seed)?;
            let (text, value) = fashion_section(&fs, &outcome);
            md.push_str(&text);
            figures["fashion"] = value;
            let path = ctx.out_dir.join("trees_fashion_accuracy.png");
            line_plot(
                &path,
                "Fashion-MNIST softmax boosting: test accuracy per round",
                "round",
                "test accuracy",
                &[Series {
                    name: format!("{} training images", outcome.rows.0),
                    points: outcome.curve.clone(),
                }],
            )?;
            plots.push("trees_fashion_accuracy.png".into());
            tick("cascade");
            let cas = self.cascade_settings(ctx.quick);
            let outcome = cascade::run(&ctx.data, &cas, ctx.seed)?;
            let (text, value) = cascade_section(&cas, &outcome);
            md.push_str(&text);
            figures["cascade"] = value;
            let path = ctx.out_dir.join("trees_cascade_stages.png");
            bar_plot(
                &path,
                "BDT cascade on Fashion-MNIST: purified background samples (test)",
                "share",
                &outcome
                    .stages
                    .iter()
                    .map(|st| st.background.join("/"))
                    .collect::<Vec<_>>(),
                &[
                    BarSeries {
                        name: "purity of the rejected sample".into(),
                        values: outcome.stages.iter().map(|st| st.purity).collect(),
                    },
                    BarSeries {
                        name: "share of the background captured".into(),
                        values: outcome.stages.iter().map(|st| st.captured).collect(),
                    },
                ],
            )?;
            plots.push("trees_cascade_stages.png".into());
        }
        bar.finish_and_clear();
        Ok(ExperimentReport {
            markdown: md,
            headline: headline(&figures),
            figures,
            plots,
            data_source: housing.source.clone(),
        })
    }
}

/// Headline: California test RMSE of boosting beside the single tree and the forest, the
/// six-class boosting accuracy beside the lab's 1-NN, and Fashion-MNIST boosting accuracy.
fn headline(figures: &Value) -> Vec<Headline> {
    let models = "/california_regression/models";
    let rmse = |model: &str| {
        figures
            .pointer(&format!("{models}/{model}/test_rmse"))
            .and_then(Value::as_f64)
    };
    let boosting = Headline::at(
        figures,
        &format!("{models}/boosting/test_rmse"),
        "California test RMSE, boosting",
        "",
    )
    .map(|h| {
        let others: Vec<String> = [("single tree", "single_tree"), ("forest", "random_forest")]
            .iter()
            .filter_map(|(name, key)| rmse(key).map(|v| format!("{name} {}", significant(v, 3))))
            .collect();
        h.reference(others.join(", "))
    });
    let classes = &figures["california_classes"];
    let six = classes["models"].as_array().and_then(|list| {
        let boosted = list.iter().find(|m| {
            m["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().contains("boost"))
        })?;
        let accuracy = boosted["test_accuracy"].as_f64()?;
        let headline = Headline::new("California 6 classes, boosting", 100.0 * accuracy, "%");
        Some(match classes["knn_lab_test_accuracy_1nn_pct"].as_f64() {
            Some(knn) => headline.reference(format!("k-NN lab's 1-NN {}%", fixed(knn, 1))),
            None => headline,
        })
    });
    let fashion = Headline::at(
        figures,
        "/fashion/test_accuracy",
        "Fashion-MNIST test accuracy, boosting",
        "",
    )
    .map(|h| Headline::new(h.name, 100.0 * h.value, "%"));
    [boosting, six, fashion].into_iter().flatten().collect()
}

/// `wall s (CPU s)` with `digits` decimals; the CPU part only where it was measured.
fn seconds(t: &fit::Timing, digits: usize) -> String {
    match t.cpu_s {
        Some(cpu) => format!("{} s ({} s)", fixed(t.wall_s, digits), fixed(cpu, digits)),
        None => format!("{} s", fixed(t.wall_s, digits)),
    }
}

fn gini_section() -> Result<(String, Value)> {
    let all = candidates(&EVENTS);
    let best = chosen(&all).cloned();
    let (core_feature, core_threshold, core_gini) = core_root(&EVENTS)?;
    let mut table = Table::new([
        "feature",
        "split at (GeV)",
        "left (sig, bkg)",
        "right (sig, bkg)",
        "weighted Gini",
    ]);
    for c in &all {
        table.row([
            gini::FEATURES[c.feature].to_string(),
            fixed(c.threshold, 1),
            format!("{:?}", c.left),
            format!("{:?}", c.right),
            fixed(c.weighted_gini, 4),
        ]);
    }
    let mut md = String::from(
        "### Gini walk-through (seed 003)\n\nThree events: photon pT 20 (signal), 30, 50 \
         (background); lepton pT 20 (signal), 14, 16 (background). Every candidate split:\n\n",
    );
    md.push_str(&table.render());
    let chosen_json = best.as_ref().map(|b| {
        md.push_str(&format!(
            "\nChosen: {} < {} GeV, weighted Gini {} (the seed: 1/3 at 40 GeV, 0 at 25 GeV). \
             The core's CART root: {} ≤ {} GeV, weighted Gini {}.\n\n",
            gini::FEATURES[b.feature],
            fixed(b.threshold, 1),
            fixed(b.weighted_gini, 4),
            gini::FEATURES.get(core_feature).unwrap_or(&"?"),
            fixed(f64::from(core_threshold), 1),
            fixed(core_gini, 4),
        ));
        json!({"feature": gini::FEATURES[b.feature], "threshold_gev": b.threshold, "weighted_gini": b.weighted_gini})
    });
    let value = json!({
        "candidates": all.iter().map(|c| json!({
            "feature": gini::FEATURES[c.feature], "threshold_gev": c.threshold, "weighted_gini": c.weighted_gini,
        })).collect::<Vec<_>>(),
        "chosen": chosen_json,
        "core_root": {"feature": gini::FEATURES.get(core_feature).unwrap_or(&"?"), "threshold_gev": core_threshold, "weighted_gini": core_gini},
    });
    Ok((md, value))
}

fn regression_section(
    h: &california::Housing,
    s: &california::Settings,
    reg: &california::Regression,
) -> (String, Value) {
    let n_test = h.test.rows();
    let mut table = Table::new([
        "model",
        "test RMSE",
        "MAE",
        "R²",
        "fit, wall (CPU)",
        "predict / row",
        "trees",
        "nodes",
        "bytes",
    ]);
    let mut models = serde_json::Map::new();
    for sc in &reg.scores {
        let per_row_ns = sc.predict.wall_s / n_test.max(1) as f64 * 1e9;
        table.row([
            sc.name.to_string(),
            fixed(sc.rmse, 4),
            fixed(sc.mae, 4),
            fixed(sc.r2, 4),
            seconds(&sc.fit, 3),
            format!("{} ns", fixed(per_row_ns, 0)),
            sc.trees.to_string(),
            sc.nodes.to_string(),
            sc.bytes.to_string(),
        ]);
        let key = match sc.name {
            n if n.starts_with("CART") => "single_tree",
            n if n.starts_with("random") => "random_forest",
            _ => "boosting",
        };
        models.insert(
            key.into(),
            json!({
                "test_rmse": sc.rmse, "test_mae": sc.mae, "test_r2": sc.r2,
                "fit_s": sc.fit.wall_s, "fit_cpu_s": sc.fit.cpu_s,
                "predict_s": sc.predict.wall_s, "predict_cpu_s": sc.predict.cpu_s,
                "predict_ns_per_row": per_row_ns,
                "trees": sc.trees, "nodes": sc.nodes, "bytes": sc.bytes,
            }),
        );
    }
    let mut md = format!(
        "### California Housing regression\n\n{} training and {} test rows (numpy \
         `default_rng(seed).random(n) < 0.2` is the test set), {} bins per feature. Boosting: \
         {} rounds, learning rate {}, {} leaves, ≥ 20 rows per leaf, one thread; fit and \
         prediction times are medians of {} runs (boosting's fit includes binning).\n\n",
        h.train.rows(),
        n_test,
        california::MAX_BINS,
        s.rounds,
        s.learning_rate,
        s.leaves,
        s.timing_runs,
    );
    md.push_str(&table.render());
    let mut imp = Table::new(["feature", "gain share", "splits"]);
    for ((name, g), c) in h
        .feature_names
        .iter()
        .zip(&reg.gain_share)
        .zip(&reg.split_counts)
    {
        imp.row([name.clone(), percent(*g, 1), c.to_string()]);
    }
    md.push_str("\nFeature importance of the boosted model:\n\n");
    md.push_str(&imp.render());
    let best = reg
        .test_curve
        .iter()
        .fold((0.0, f64::INFINITY), |b, &p| if p.1 < b.1 { p } else { b });
    md.push_str(&format!(
        "\nLowest test RMSE over the rounds: {} at round {}. Serialized model loads back to \
         bit-identical predictions: {}.\n",
        fixed(best.1, 4),
        best.0,
        reg.round_trip_identical
    ));
    let early = reg.early_stop.map(|(run, best_round, test)| {
        md.push_str(&format!(
            "Early stopping (every fifth training row held out, patience 50, up to {} rounds): \
             stopped after {run} rounds, kept {best_round}, test RMSE {}.\n\n",
            s.rounds * 2,
            fixed(test, 4)
        ));
        json!({"rounds_run": run, "best_rounds": best_round, "test_rmse": test})
    });
    let value = json!({
        "train_rows": h.train.rows(), "test_rows": n_test, "synthetic": h.synthetic,
        "rounds": s.rounds, "learning_rate": s.learning_rate, "leaves": s.leaves,
        "max_bins": california::MAX_BINS, "timing_runs": s.timing_runs,
        "models": models,
        "importance": h.feature_names.iter().zip(&reg.gain_share).zip(&reg.split_counts)
            .map(|((n, g), c)| (n.clone(), json!({"gain_share": g, "splits": c})))
            .collect::<serde_json::Map<_, _>>(),
        "best_test_rmse": best.1, "best_round": best.0,
        "test_rmse_per_round": reg.test_curve.iter().map(|p| p.1).collect::<Vec<_>>(),
        "round_trip_identical": reg.round_trip_identical,
        "early_stopping": early,
    });
    (md, value)
}

fn regression_plots(
    ctx: &RunContext,
    h: &california::Housing,
    reg: &california::Regression,
) -> Result<Vec<std::path::PathBuf>> {
    let curve = "trees_california_rmse.png";
    line_plot(
        &ctx.out_dir.join(curve),
        "California Housing boosting: RMSE per round",
        "round",
        "RMSE ($100k)",
        &[
            Series {
                name: "test".into(),
                points: reg.test_curve.clone(),
            },
            Series {
                name: "train".into(),
                points: reg.train_curve.clone(),
            },
        ],
    )?;
    let importance = "trees_california_importance.png";
    let total: f64 = reg.split_counts.iter().map(|&c| f64::from(c)).sum();
    bar_plot(
        &ctx.out_dir.join(importance),
        "California Housing boosting: feature importance",
        "share",
        &h.feature_names,
        &[
            BarSeries {
                name: "gain".into(),
                values: reg.gain_share.clone(),
            },
            BarSeries {
                name: "split count".into(),
                values: reg
                    .split_counts
                    .iter()
                    .map(|&c| f64::from(c) / total.max(1.0))
                    .collect(),
            },
        ],
    )?;
    Ok(vec![curve.into(), importance.into()])
}

fn classes_section(
    classes: &[california::ClassScore],
    knn: Option<&(Value, bool)>,
) -> (String, Value) {
    let mut table = Table::new(["model", "test accuracy", "fit, wall (CPU)"]);
    for c in classes {
        table.row([
            c.name.to_string(),
            percent(c.accuracy, 2),
            seconds(&c.fit, 2),
        ]);
    }
    let knn_pct = knn.and_then(|(v, _)| v["edgeml_kd_tree"]["test_accuracy_1nn_pct"].as_f64());
    if let Some(p) = knn_pct {
        table.row([
            "1-NN (k-NN lab, trained on 60 % of the rows)".to_string(),
            format!("{}%", fixed(p, 2)),
            "-".into(),
        ]);
    }
    let mut md = String::from(
        "### California Housing as the lab's 6-class problem\n\nClass = median house value \
         in $100k truncated to an integer; same test rows as the k-NN lab (its first 20 % \
         split).\n\n",
    );
    md.push_str(&table.render());
    md.push('\n');
    let value = json!({
        "models": classes.iter().map(|c| json!({"name": c.name, "test_accuracy": c.accuracy, "fit_s": c.fit.wall_s, "fit_cpu_s": c.fit.cpu_s})).collect::<Vec<_>>(),
        "knn_lab_test_accuracy_1nn_pct": knn_pct,
    });
    (md, value)
}

fn fashion_section(s: &fashion::Settings, o: &fashion::Outcome) -> (String, Value) {
    let per_row_ns = o.predict.wall_s / o.rows.1.max(1) as f64 * 1e9;
    let md = format!(
        "### Fashion-MNIST softmax boosting\n\n{} training images (the first of the training \
         file), {} test images, {} bins per pixel, {} rounds × 10 trees, learning rate {}, {} \
         leaves, one thread. Data: {}.\n\n| test accuracy | fit, wall (CPU) | predict / row | trees | \
         nodes | bytes |\n|---|---|---|---|---|---|\n| {} | {} | {} µs | {} | {} | {} |\n\n",
        o.rows.0,
        o.rows.1,
        fashion::MAX_BINS,
        s.rounds,
        s.learning_rate,
        s.leaves,
        o.source,
        percent(o.accuracy, 2),
        seconds(&o.fit, 1),
        fixed(per_row_ns / 1e3, 2),
        o.trees,
        o.nodes,
        o.bytes,
    );
    let value = json!({
        "train_rows": o.rows.0, "test_rows": o.rows.1, "rounds": s.rounds,
        "learning_rate": s.learning_rate, "leaves": s.leaves, "max_bins": fashion::MAX_BINS,
        "test_accuracy": o.accuracy, "fit_s": o.fit.wall_s, "fit_cpu_s": o.fit.cpu_s,
        "predict_ns_per_row": per_row_ns,
        "trees": o.trees, "nodes": o.nodes, "bytes": o.bytes, "synthetic": o.synthetic,
    });
    (md, value)
}

fn variants_section(
    s: &california::Settings,
    orders: &[california::VariantScore],
    missing: &[california::VariantScore],
) -> (String, Value) {
    let mut table = Table::new([
        "boosting",
        "missing",
        "test RMSE",
        "fit, wall (CPU)",
        "nodes",
        "splits sending missing left",
    ]);
    for v in orders.iter().chain(missing) {
        table.row([
            v.name.clone(),
            percent(v.missing_rate, 0),
            fixed(v.rmse, 4),
            seconds(&v.fit, 3),
            v.nodes.to_string(),
            percent(v.default_left_share, 1),
        ]);
    }
    let mut md = format!(
        "### Growth order and missing values (California regression)\n\n{} rounds, learning \
         rate {}, ≥ 20 rows per leaf. Leaf-wise growth splits the leaf of largest gain next; \
         depth-wise growth completes each level first. With missing values, a share of the \
         feature entries of the training and test rows is replaced by NaN at random: NaN gets \
         its own bin and every split learns whether it goes left or right.\n\n",
        s.rounds, s.learning_rate,
    );
    md.push_str(&table.render());
    md.push('\n');
    let entry = |v: &california::VariantScore| {
        json!({"name": v.name, "missing_rate": v.missing_rate, "test_rmse": v.rmse,
               "fit_s": v.fit.wall_s, "fit_cpu_s": v.fit.cpu_s, "nodes": v.nodes,
               "default_left_share": v.default_left_share})
    };
    let value = json!({
        "growth": orders.iter().map(entry).collect::<Vec<_>>(),
        "missing": missing.iter().map(entry).collect::<Vec<_>>(),
    });
    (md, value)
}

fn cascade_section(s: &cascade::Settings, o: &cascade::Outcome) -> (String, Value) {
    let mut table = Table::new([
        "stage",
        "background",
        "trained on",
        "cut P(signal)",
        "test events rejected",
        "purity",
        "background captured",
    ]);
    for (k, st) in o.stages.iter().enumerate() {
        table.row([
            (k + 1).to_string(),
            st.background.join(", "),
            st.train_rows.to_string(),
            fixed(f64::from(st.cut), 4),
            st.rejected.to_string(),
            percent(st.purity, 1),
            percent(st.captured, 1),
        ]);
    }
    let mut md = format!(
        "### Cascade of BDTs (seed 003) on Fashion-MNIST\n\nSignal: {}. {} training and {} \
         test images, {} rounds of 15-leaf logistic boosting per stage; each stage is trained \
         on the events the earlier stages passed (signal against its own background) and cut \
         to keep {} of the signal among the held-out calibration images (every fifth training \
         image) that reach it. The test events a stage rejects form that background's \
         purified sample.\n\n",
        o.signal,
        o.rows.0,
        o.rows.1,
        s.rounds,
        percent(cascade::STAGE_EFFICIENCY, 0),
    );
    md.push_str(&table.render());
    md.push_str(&format!(
        "\nPassing every stage: {} of the test signal, signal purity {} ({} background \
         events). A single signal-vs-all model with {} rounds, cut at the same signal \
         efficiency: purity {} ({} background events). Fit: cascade {}, single model {}.\n\n",
        percent(o.efficiency, 1),
        percent(o.purity, 1),
        o.background_passed,
        s.rounds * cascade::STAGES.len(),
        percent(o.baseline_purity, 1),
        o.baseline_background_passed,
        seconds(&o.fit, 1),
        seconds(&o.baseline_fit, 1),
    ));
    let value = json!({
        "signal": o.signal, "train_rows": o.rows.0, "test_rows": o.rows.1,
        "rounds_per_stage": s.rounds, "stage_efficiency": cascade::STAGE_EFFICIENCY,
        "stages": o.stages.iter().map(|st| json!({
            "background": st.background, "train_rows": st.train_rows, "cut": st.cut,
            "rejected": st.rejected, "purity": st.purity, "captured": st.captured,
        })).collect::<Vec<_>>(),
        "signal_efficiency": o.efficiency, "signal_purity": o.purity,
        "background_passed": o.background_passed,
        "baseline_signal_purity": o.baseline_purity,
        "baseline_background_passed": o.baseline_background_passed,
        "fit_s": o.fit.wall_s, "baseline_fit_s": o.baseline_fit.wall_s,
    });
    (md, value)
}
