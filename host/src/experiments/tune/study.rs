//! `edgeml tune --storage URL --study NAME --worker`: this process joins a study as one
//! worker (started any number of times, on any machines), and `edgeml study
//! status|best|export|import` reads or fills a study in either backend.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::search::{self as mlp_search, tpe_for, MlpEvaluator};
use super::{data, Plan, TuneArgs};
use crate::cpu;
use crate::experiments::RunContext;
use crate::tune::file::load_space;
use crate::tune::storage::{State, Storage};
use crate::tune::store::{Store, Trial};
use crate::tune::{
    open_storage, worker_name, Config, Coordination, Direction, Evaluator, Measurement, Objective,
    Sampling, Search, Space, Strategy, Worker,
};

/// Default heartbeat timeout of a new study, seconds.
const DEFAULT_TIMEOUT_S: f64 = 60.0;
/// Longest heartbeat timeout accepted, seconds (a day).
const MAX_TIMEOUT_S: f64 = 86_400.0;
/// Most trials a worker trains at once.
const MAX_THREADS: usize = 256;
/// Most trials proposed together.
const MAX_BATCH: usize = 10_000;
/// Most trials in one study.
const MAX_TRIALS: usize = 1_000_000;
/// Most epochs per trial (Hyperband's first rungs grow with it).
const MAX_EPOCHS: usize = 10_000;
/// Longest spin or sleep of the quadratic objective, milliseconds.
const MAX_OBJECTIVE_MS: u64 = 60_000;

/// The tuner a worker runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum StrategyName {
    /// Independent random draws.
    Random,
    /// Every grid point (floats at 5 points), up to the trial count.
    Grid,
    /// The tree-structured Parzen estimator.
    #[default]
    Tpe,
    /// Hyperband with η = 3 over the epochs.
    Hyperband,
}

/// What a worker trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ObjectiveName {
    /// The MLP on Fashion-MNIST (validation accuracy).
    #[default]
    Mlp,
    /// A quadratic of the configuration with a known minimum, sleeping `--objective-ms` per
    /// trial: cheap and deterministic, for tests and coordination measurements.
    Quadratic,
}

/// The quadratic test objective: `(x − 1.3)² + (y + 0.7)² + 0.1·(k − 2)²` at the
/// configuration, after sleeping for `ms` milliseconds (a stand-in for training that leaves
/// the cores to the coordination being measured).
pub struct Quadratic {
    /// Milliseconds per evaluation.
    pub ms: u64,
}

impl Quadratic {
    /// Its space: `x`, `y` floats in [−5, 5], `k` an integer in 0..=4.
    pub fn space() -> Result<Space> {
        let mut space = Space::new();
        space
            .float("x", -5.0, 5.0, Sampling::Linear)?
            .float("y", -5.0, 5.0, Sampling::Linear)?
            .int("k", 0, 4, 1)?;
        Ok(space)
    }
}

impl Evaluator for Quadratic {
    fn evaluate(&self, config: &Config, epochs: usize, _seed: u64) -> Result<Measurement> {
        let get = |name: &str| {
            config
                .get(name)
                .and_then(|v| v.as_f64())
                .with_context(|| format!("quadratic objective: `{name}` is missing"))
        };
        let (x, y, k) = (get("x")?, get("y")?, get("k")?);
        std::thread::sleep(Duration::from_millis(self.ms.min(MAX_OBJECTIVE_MS)));
        Ok(Measurement {
            value: (x - 1.3).powi(2) + (y + 0.7).powi(2) + 0.1 * (k - 2.0).powi(2),
            epochs,
            best_epoch: None,
        })
    }
}

fn strategy(name: StrategyName, trials: usize) -> Strategy {
    match name {
        StrategyName::Random => Strategy::Random,
        StrategyName::Grid => Strategy::Grid { float_points: 5 },
        StrategyName::Tpe => Strategy::Tpe(tpe_for(trials)),
        StrategyName::Hyperband => Strategy::Hyperband { eta: 3 },
    }
}

/// Runs `edgeml tune … --worker`: joins the study, trains trials until the search is
/// complete, prints a JSON summary (trials, trained here, best) on stdout.
pub fn work(args: &TuneArgs, ctx: &RunContext) -> Result<()> {
    let (Some(url), Some(study)) = (args.storage.as_deref(), args.study.as_deref()) else {
        bail!("--worker needs --storage URL and --study NAME");
    };
    let timeout_s = args.heartbeat_timeout.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(timeout_s > 0.0 && timeout_s <= MAX_TIMEOUT_S) {
        bail!("--heartbeat-timeout {timeout_s}: give seconds in (0, {MAX_TIMEOUT_S}]");
    }
    let threads = args.threads.unwrap_or(1);
    if threads == 0 || threads > MAX_THREADS {
        bail!("--threads {threads}: give 1 to {MAX_THREADS}");
    }
    let batch = args.batch.unwrap_or(8);
    if batch == 0 || batch > MAX_BATCH {
        bail!("--batch {batch}: give 1 to {MAX_BATCH}");
    }
    let plan = Plan::new(args, ctx.quick);
    if plan.trials > MAX_TRIALS {
        bail!("--trials {}: give at most {MAX_TRIALS}", plan.trials);
    }
    if plan.epochs > MAX_EPOCHS {
        bail!("--epochs {}: give at most {MAX_EPOCHS}", plan.epochs);
    }
    let storage = open_storage(url, study)?;
    let name = worker_name();
    let on_trial = |t: &Trial, here: Option<Coordination>| {
        if let Some(c) = here {
            eprintln!(
                "{name}: trained trial {} ({}) value {:.6} in {:.3} s; claim {:.3} ms, report \
                 {:.3} ms",
                t.index,
                t.tag,
                t.value,
                t.seconds,
                c.claim.as_secs_f64() * 1e3,
                c.report.as_secs_f64() * 1e3
            );
        }
    };
    let worker = Worker {
        storage: storage.as_ref(),
        name: name.clone(),
        threads,
        heartbeat_timeout_s: timeout_s,
        poll: Duration::from_millis(20),
        on_trial: &on_trial,
    };
    let strategy = strategy(args.strategy.unwrap_or_default(), plan.trials);
    let label = format!("study {study}");
    let results = match args.objective.unwrap_or_default() {
        ObjectiveName::Quadratic => {
            let mut search = mlp_search::search(
                &Quadratic::space()?,
                strategy,
                plan.trials,
                plan.epochs,
                ctx.seed,
                None,
                &label,
            )?;
            search.objective = Objective::new("quadratic", Direction::Min);
            search.batch = batch;
            let evaluator = Quadratic {
                ms: args.objective_ms.unwrap_or(50),
            };
            search.run_on(&evaluator, &worker)?
        }
        ObjectiveName::Mlp => {
            let data = data::fashion(
                &ctx.data,
                plan.train_rows,
                plan.validation_rows,
                plan.test_rows,
                ctx.seed,
            )?;
            let space = match &args.space {
                Some(path) => load_space(path)?,
                None => super::extended_space()?,
            };
            let mut search: Search = mlp_search::search(
                &space,
                strategy,
                plan.trials,
                plan.epochs,
                ctx.seed,
                None,
                &label,
            )?;
            search.batch = batch;
            search.executions_per_trial = plan.executions;
            let evaluator = MlpEvaluator {
                data: &data,
                patience: plan.search_patience,
                dispatch: cpu::selected_dispatch()?,
            };
            search.run_on(&evaluator, &worker)?
        }
    };
    let summary = json!({
        "study": study,
        "storage": storage.describe(),
        "worker": name,
        "trials": results.trials.len(),
        "trained_here": results.evaluated,
        "best": results.best(),
    });
    println!("{summary}");
    Ok(())
}

/// Options of `edgeml study`.
#[derive(Args, Clone, Debug)]
pub struct StudyArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: StudyAction,
    /// The storage: sqlite:PATH, postgres://…, jsonl:PATH.
    #[arg(long, global = true)]
    pub storage: Option<String>,
    /// The study's name.
    #[arg(long, global = true)]
    pub study: Option<String>,
}

/// What `edgeml study` does.
#[derive(Subcommand, Clone, Debug)]
pub enum StudyAction {
    /// Trials per state, and who runs what.
    Status,
    /// The best finished trial, as one JSON line.
    Best,
    /// Every finished trial as JSON lines (the `edgeml tune` store format).
    Export {
        /// File to write (default: standard output).
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Finished trials from a JSON-lines store into the study (already stored keys are kept).
    Import {
        /// The JSON-lines file.
        #[arg(long)]
        from: PathBuf,
    },
}

fn finished(storage: &dyn Storage) -> Result<Vec<Trial>> {
    Ok(storage
        .rows(None)?
        .into_iter()
        .filter(|r| r.state == State::Done)
        .filter_map(|r| r.trial)
        .collect())
}

/// Runs `edgeml study …`.
pub fn command(args: &StudyArgs) -> Result<()> {
    let (Some(url), Some(study)) = (args.storage.as_deref(), args.study.as_deref()) else {
        bail!("edgeml study needs --storage URL and --study NAME");
    };
    let storage = open_storage(url, study)?;
    let storage = storage.as_ref();
    match &args.action {
        StudyAction::Status => {
            let rows = storage.rows(None)?;
            let count = |s: State| rows.iter().filter(|r| r.state == s).count();
            let spec = storage.spec()?;
            println!(
                "study {study} in {}: {} trials: {} done, {} running, {} waiting; {} re-queued \
                 at least once{}",
                storage.describe(),
                rows.len(),
                count(State::Done),
                count(State::Running),
                count(State::Waiting),
                rows.iter().filter(|r| r.attempt > 1).count(),
                spec.map_or(String::new(), |s| format!(
                    "; {} seed {} heartbeat timeout {} s",
                    s.strategy, s.seed, s.heartbeat_timeout_s
                ))
            );
            for r in rows.iter().filter(|r| r.state == State::Running) {
                println!(
                    "running trial {} attempt {} on {}",
                    r.pending.index,
                    r.attempt,
                    r.worker.as_deref().unwrap_or("?")
                );
            }
        }
        StudyAction::Best => {
            let Some(spec) = storage.spec()? else {
                bail!(
                    "{}: study {study} has no objective yet (no worker has joined it)",
                    storage.describe()
                );
            };
            let trials = finished(storage)?;
            let best = trials
                .iter()
                .min_by(|a, b| {
                    spec.objective
                        .loss(a.value)
                        .total_cmp(&spec.objective.loss(b.value))
                        .then(a.index.cmp(&b.index))
                })
                .with_context(|| {
                    format!(
                        "{}: study {study} has no finished trial",
                        storage.describe()
                    )
                })?;
            println!("{}", serde_json::to_string(best)?);
        }
        StudyAction::Export { to } => {
            let mut trials = finished(storage)?;
            trials.sort_by_key(|t| t.index);
            let mut text = String::new();
            for t in &trials {
                text.push_str(&serde_json::to_string(t)?);
                text.push('\n');
            }
            match to {
                Some(path) => {
                    std::fs::write(path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("{} trials written to {}", trials.len(), path.display());
                }
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
        }
        StudyAction::Import { from } => {
            if !from.exists() {
                bail!("{}: no such file", from.display());
            }
            let store = Store::open(from)?;
            let trials: Vec<Trial> = store.trials().cloned().collect();
            let added = storage.import(&trials)?;
            println!(
                "{added} of {} trials from {} added to study {study}",
                trials.len(),
                from.display()
            );
        }
    }
    Ok(())
}
