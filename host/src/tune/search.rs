//! Running a search: the tuner proposes trials in batches from the finished history; each
//! batch goes into a [`Storage`], from which this process's threads (and any other workers of
//! the study) claim its trials and train them (each averaged over `executions_per_trial`
//! seeds); the next batch is proposed once every trial of this one is done.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use edgeml_core::rng::Rng;

use super::grid::grid;
use super::hyperband::schedule;
use super::objective::Objective;
use super::sample::random_config;
use super::space::{Config, Space};
use super::storage::{Claim, Memory, Pending, State, Storage, StudySpec};
use super::store::Trial;
use super::tpe::Tpe;
use crate::report::progress;

/// What one execution of a trial measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// The objective's value.
    pub value: f64,
    /// Epochs trained (fewer than the budget after early stopping).
    pub epochs: usize,
    /// The epoch with the best validation value, when the model reports one.
    pub best_epoch: Option<usize>,
}

/// Trains and scores one configuration for at most `epochs` epochs with `seed`.
pub trait Evaluator: Sync {
    /// One execution of `config`.
    fn evaluate(&self, config: &Config, epochs: usize, seed: u64) -> Result<Measurement>;
}

impl<F> Evaluator for F
where
    F: Fn(&Config, usize, u64) -> Result<Measurement> + Sync,
{
    fn evaluate(&self, config: &Config, epochs: usize, seed: u64) -> Result<Measurement> {
        self(config, epochs, seed)
    }
}

/// Which tuner proposes the trials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// Every grid point (floats at this many points), up to `max_trials`.
    Grid {
        /// Points per float parameter.
        float_points: usize,
    },
    /// Independent random draws.
    Random,
    /// The tree-structured Parzen estimator.
    Tpe(Tpe),
    /// Hyperband with halving factor `eta` (`max_trials` is ignored: the schedule decides).
    Hyperband {
        /// Halving factor η ≥ 2.
        eta: usize,
    },
}

impl Strategy {
    /// Short name for tables and tags.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Grid { .. } => "grid",
            Strategy::Random => "random",
            Strategy::Tpe(_) => "tpe",
            Strategy::Hyperband { .. } => "hyperband",
        }
    }
}

/// A search to run.
#[derive(Clone, Debug)]
pub struct Search {
    /// The parameters.
    pub space: Space,
    /// What to optimize.
    pub objective: Objective,
    /// The tuner.
    pub strategy: Strategy,
    /// Trials to run (grid, random, TPE).
    pub max_trials: usize,
    /// Most epochs per trial (Hyperband's `R`).
    pub max_epochs: usize,
    /// Executions (seeds) averaged per trial.
    pub executions_per_trial: usize,
    /// Trials proposed and trained together (in parallel); results do not depend on the
    /// thread count, only on this.
    pub batch: usize,
    /// Seed of the tuner and of the executions.
    pub seed: u64,
    /// JSON-lines results file to resume from and append to (`None`: memory only).
    pub store: Option<PathBuf>,
    /// Label of the progress bar.
    pub label: String,
}

/// The finished trials of a search.
#[derive(Clone, Debug)]
pub struct Results {
    /// The objective.
    pub objective: Objective,
    /// Every trial, in proposal order.
    pub trials: Vec<Trial>,
    /// Trials trained in this run (the rest came from the store).
    pub evaluated: usize,
}

impl Results {
    /// The `n` best trials, best first.
    pub fn top_n(&self, n: usize) -> Vec<&Trial> {
        let mut order: Vec<&Trial> = self.trials.iter().collect();
        order.sort_by(|a, b| {
            self.objective
                .loss(a.value)
                .total_cmp(&self.objective.loss(b.value))
        });
        order.truncate(n);
        order
    }

    /// The best trial.
    pub fn best(&self) -> Option<&Trial> {
        self.top_n(1).into_iter().next()
    }

    /// Best value so far after each trial, in proposal order.
    pub fn best_so_far(&self) -> Vec<f64> {
        let mut best: Option<f64> = None;
        self.trials
            .iter()
            .map(|t| {
                let b = match best {
                    Some(b) if !self.objective.better(t.value, b) => b,
                    _ => t.value,
                };
                best = Some(b);
                b
            })
            .collect()
    }

    /// Trials needed (1-based count) until the best so far is at least as good as `target`.
    pub fn trials_to_reach(&self, target: f64) -> Option<usize> {
        self.best_so_far()
            .iter()
            .position(|&b| self.objective.loss(b) <= self.objective.loss(target))
            .map(|i| i + 1)
    }

    /// Epochs trained over all trials and executions.
    pub fn total_epochs(&self) -> usize {
        self.trials.iter().map(|t| t.epochs_run).sum()
    }
}

/// Seed of execution `j` of trial `index` in a search seeded `seed` (SplitMix64 of the three).
pub fn execution_seed(seed: u64, index: usize, j: usize) -> u64 {
    let mut z = seed
        .wrapping_add((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add((j as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How this process takes part in a study: the storage it shares, its name, and how many
/// trials it trains at once.
pub struct Worker<'a> {
    /// The study's trials.
    pub storage: &'a dyn Storage,
    /// This worker's name (unique among the study's workers; threads add `#k`).
    pub name: String,
    /// Trials trained at once in this process.
    pub threads: usize,
    /// Heartbeat timeout of the study when this worker creates it (seconds).
    pub heartbeat_timeout_s: f64,
    /// Wait between looks at the storage while other workers finish a batch.
    pub poll: Duration,
    /// Called once per trial of each batch: with the coordination times when this worker
    /// trained it, `None` when it was found finished (by another worker, or before).
    pub on_trial: &'a (dyn Fn(&Trial, Option<Coordination>) + Sync),
}

/// Time a worker spent on the storage for one trial it trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordination {
    /// The claim that returned the trial (re-queuing stale trials included).
    pub claim: Duration,
    /// Recording the result.
    pub report: Duration,
}

/// The default name of a worker: host name and process id.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}:{}", std::process::id())
}

impl Search {
    /// The study settings this search proposes its trials from.
    pub fn spec(&self, heartbeat_timeout_s: f64) -> StudySpec {
        StudySpec {
            objective: self.objective.clone(),
            strategy: format!("{:?}", self.strategy),
            space: self.space.summary(),
            seed: self.seed,
            max_trials: self.max_trials,
            max_epochs: self.max_epochs,
            executions_per_trial: self.executions_per_trial.max(1),
            batch: self.batch.max(1),
            heartbeat_timeout_s,
        }
    }

    /// Trials the search will run in all.
    pub fn planned_trials(&self) -> Result<usize> {
        Ok(match self.strategy {
            Strategy::Hyperband { eta } => schedule(self.max_epochs, eta)?
                .iter()
                .flat_map(|b| &b.rungs)
                .map(|r| r.configs)
                .sum(),
            Strategy::Grid { float_points } => {
                self.grid_configs(float_points)?.len().min(self.max_trials)
            }
            _ => self.max_trials,
        })
    }

    fn grid_configs(&self, float_points: usize) -> Result<Vec<Config>> {
        grid(&self.space, float_points, self.max_trials.max(1) * 1000)
    }

    /// Trains one claimed trial, heartbeating on a side thread every quarter timeout.
    fn run_claimed(
        &self,
        claim: &Claim,
        evaluator: &dyn Evaluator,
        storage: &dyn Storage,
        me: &str,
        timeout_s: f64,
    ) -> Result<Trial> {
        let every = Duration::from_secs_f64((timeout_s / 4.0).clamp(0.01, 3600.0));
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    if let Err(err) = storage.heartbeat(claim, me) {
                        eprintln!("warning: {err:#}");
                    }
                }
            });
            let trial = self.run_one(&claim.pending, evaluator);
            drop(stop);
            trial
        })
    }

    fn run_one(&self, p: &Pending, evaluator: &dyn Evaluator) -> Result<Trial> {
        let start = Instant::now();
        let mut values = Vec::new();
        let (mut epochs_run, mut best_epoch) = (0usize, None);
        for j in 0..self.executions_per_trial.max(1) {
            let m = evaluator.evaluate(
                &p.config,
                p.budget_epochs,
                execution_seed(self.seed, p.index, j),
            )?;
            values.push(m.value);
            epochs_run += m.epochs;
            if j == 0 {
                best_epoch = m.best_epoch;
            }
        }
        Ok(Trial {
            index: p.index,
            tag: p.tag.clone(),
            config: p.config.clone(),
            budget_epochs: p.budget_epochs,
            value: values.iter().sum::<f64>() / values.len() as f64,
            values,
            epochs_run,
            best_epoch,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Runs one batch through the storage: enqueue it (idempotently), claim and train its
    /// waiting trials on the worker's threads, then wait until every trial of the batch is
    /// done (re-queuing stale ones through the claims); returns them in proposal order.
    fn run_batch(
        &self,
        batch: &[Pending],
        evaluator: &dyn Evaluator,
        worker: &Worker<'_>,
        timeout_s: f64,
        evaluated: &AtomicUsize,
    ) -> Result<Vec<Trial>> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(Vec::new());
        };
        let range = (first.index, last.index + 1);
        let keys: Vec<String> = batch.iter().map(Pending::key).collect();
        let wanted: HashSet<&str> = keys.iter().map(String::as_str).collect();
        let storage = worker.storage;
        storage.enqueue(batch)?;
        let trained_here = Mutex::new(Vec::new());
        let trained_here = &trained_here;
        loop {
            std::thread::scope(|scope| -> Result<()> {
                let handles: Vec<_> = (0..worker.threads.clamp(1, batch.len()))
                    .map(|k| {
                        scope.spawn(move || -> Result<()> {
                            let me = format!("{}#{k}", worker.name);
                            loop {
                                let asked = Instant::now();
                                let Some(claim) = storage.claim(range, &me, timeout_s)? else {
                                    break;
                                };
                                let claimed = asked.elapsed();
                                let trial =
                                    self.run_claimed(&claim, evaluator, storage, &me, timeout_s)?;
                                let reporting = Instant::now();
                                if storage.complete(&claim, &me, &trial)? {
                                    let times = Coordination {
                                        claim: claimed,
                                        report: reporting.elapsed(),
                                    };
                                    evaluated.fetch_add(1, Ordering::Relaxed);
                                    trained_here
                                        .lock()
                                        .map_err(|_| anyhow!("lock poisoned"))?
                                        .push(trial.index);
                                    (worker.on_trial)(&trial, Some(times));
                                }
                            }
                            Ok(())
                        })
                    })
                    .collect();
                for h in handles {
                    h.join()
                        .map_err(|_| anyhow!("a worker thread panicked"))??;
                }
                Ok(())
            })?;
            let mut done: HashMap<String, Trial> = HashMap::new();
            let mut present = 0usize;
            for row in storage.rows(Some(range))? {
                if wanted.contains(row.key.as_str()) {
                    present += 1;
                    if let (State::Done, Some(t)) = (row.state, row.trial) {
                        done.insert(row.key, t);
                    }
                }
            }
            if done.len() == keys.len() {
                let here: HashSet<usize> = trained_here
                    .lock()
                    .map_err(|_| anyhow!("lock poisoned"))?
                    .iter()
                    .copied()
                    .collect();
                let trials = keys
                    .iter()
                    .map(|k| {
                        done.remove(k)
                            .ok_or_else(|| anyhow!("{}: trial {k} missing", storage.describe()))
                    })
                    .collect::<Result<Vec<Trial>>>()?;
                for t in trials.iter().filter(|t| !here.contains(&t.index)) {
                    (worker.on_trial)(t, None);
                }
                return Ok(trials);
            }
            if present < keys.len() {
                storage.enqueue(batch)?;
            }
            std::thread::sleep(worker.poll);
        }
    }

    /// Runs the search as one worker of the study in `worker.storage`: every worker computes
    /// the same proposals from the finished trials it reads there, so any number of them,
    /// started anywhere, share the trials and end with the same results. Errors when the
    /// study was created with a different search.
    pub fn run_on(&self, evaluator: &dyn Evaluator, worker: &Worker<'_>) -> Result<Results> {
        let ours = self.spec(worker.heartbeat_timeout_s);
        let spec = worker.storage.ensure_study(&ours)?;
        if !spec.same_search(&ours) {
            bail!(
                "{}: the study was created for another search ({} seed {} trials {} batch {}); \
                 this worker runs {} seed {} trials {} batch {}",
                worker.storage.describe(),
                spec.strategy,
                spec.seed,
                spec.max_trials,
                spec.batch,
                ours.strategy,
                ours.seed,
                ours.max_trials,
                ours.batch
            );
        }
        let timeout_s = spec.heartbeat_timeout_s;
        let evaluated = AtomicUsize::new(0);
        let mut rng = Rng::new(self.seed);
        let mut trials: Vec<Trial> = Vec::new();
        let batch = self.batch.max(1);
        match self.strategy {
            Strategy::Hyperband { eta } => {
                for bracket in &schedule(self.max_epochs, eta)? {
                    let first = bracket.rungs.first().map_or(0, |r| r.configs);
                    let mut alive: Vec<Config> = (0..first)
                        .map(|_| random_config(&self.space, &mut rng))
                        .collect();
                    for (i, rung) in bracket.rungs.iter().enumerate() {
                        alive.truncate(rung.configs);
                        let proposals: Vec<Pending> = alive
                            .iter()
                            .enumerate()
                            .map(|(k, c)| Pending {
                                index: trials.len() + k,
                                tag: format!("hyperband s={} rung {i}", bracket.s),
                                config: c.clone(),
                                budget_epochs: rung.epochs,
                            })
                            .collect();
                        let mut done =
                            self.run_batch(&proposals, evaluator, worker, timeout_s, &evaluated)?;
                        done.sort_by(|a, b| {
                            self.objective
                                .loss(a.value)
                                .total_cmp(&self.objective.loss(b.value))
                                .then(a.index.cmp(&b.index))
                        });
                        alive = done.iter().map(|t| t.config.clone()).collect();
                        done.sort_by_key(|t| t.index);
                        trials.extend(done);
                    }
                }
            }
            strategy => {
                let grid_configs = match strategy {
                    Strategy::Grid { float_points } => Some(self.grid_configs(float_points)?),
                    _ => None,
                };
                let total = self.planned_trials()?;
                while trials.len() < total {
                    let history: Vec<(Config, f64)> = trials
                        .iter()
                        .map(|t| (t.config.clone(), self.objective.loss(t.value)))
                        .collect();
                    let n = batch.min(total - trials.len());
                    let proposals: Vec<Pending> = (0..n)
                        .map(|k| {
                            let index = trials.len() + k;
                            let config = match (&grid_configs, strategy) {
                                (Some(g), _) => g.get(index).cloned().unwrap_or_default(),
                                (None, Strategy::Tpe(tpe)) => {
                                    tpe.suggest(&self.space, &history, &mut rng)
                                }
                                _ => random_config(&self.space, &mut rng),
                            };
                            Pending {
                                index,
                                tag: strategy.name().into(),
                                config,
                                budget_epochs: self.max_epochs,
                            }
                        })
                        .collect();
                    let done =
                        self.run_batch(&proposals, evaluator, worker, timeout_s, &evaluated)?;
                    trials.extend(done);
                }
            }
        }
        Ok(Results {
            objective: self.objective.clone(),
            trials,
            evaluated: evaluated.into_inner(),
        })
    }

    /// Runs the search in this process with `evaluator` (batches on rayon's thread count),
    /// resuming from and appending to the JSON-lines store when one is set.
    pub fn run(&self, evaluator: &dyn Evaluator) -> Result<Results> {
        let storage = Memory::new(self.store.as_deref())?;
        let bar = progress::bar(self.planned_trials()? as u64, &self.label);
        let on_trial = |t: &Trial, _: Option<Coordination>| {
            bar.inc(1);
            bar.set_message(format!("last {:.4}", t.value));
        };
        let worker = Worker {
            storage: &storage,
            name: "local".into(),
            threads: rayon::current_num_threads(),
            heartbeat_timeout_s: LOCAL_TIMEOUT_S,
            poll: Duration::from_millis(1),
            on_trial: &on_trial,
        };
        let results = self.run_on(evaluator, &worker);
        bar.finish_and_clear();
        results
    }
}

/// Heartbeat timeout of a search within one process (its trials are never abandoned).
const LOCAL_TIMEOUT_S: f64 = 1e9;
