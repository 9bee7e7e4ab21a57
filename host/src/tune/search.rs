//! Running a search: the tuner proposes trials in batches, the batch trains in parallel on
//! rayon's threads (each trial averaged over `executions_per_trial` seeds), finished trials go
//! to the store, and a progress bar counts them.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, Result};
use edgeml_core::rng::Rng;
use rayon::prelude::*;

use super::grid::grid;
use super::hyperband::schedule;
use super::objective::Objective;
use super::sample::random_config;
use super::space::{Config, Space};
use super::store::{trial_key, Store, Trial};
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

/// A trial waiting to run.
struct Proposal {
    index: usize,
    tag: String,
    config: Config,
    epochs: usize,
}

impl Search {
    fn run_one(&self, p: &Proposal, evaluator: &dyn Evaluator) -> Result<Trial> {
        let start = Instant::now();
        let mut values = Vec::new();
        let (mut epochs_run, mut best_epoch) = (0usize, None);
        for j in 0..self.executions_per_trial.max(1) {
            let m =
                evaluator.evaluate(&p.config, p.epochs, execution_seed(self.seed, p.index, j))?;
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
            budget_epochs: p.epochs,
            value: values.iter().sum::<f64>() / values.len() as f64,
            values,
            epochs_run,
            best_epoch,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// Runs (or loads from the store) the proposals, in parallel, returning them in order.
    fn run_batch(
        &self,
        batch: Vec<Proposal>,
        evaluator: &dyn Evaluator,
        store: &Mutex<Store>,
        evaluated: &Mutex<usize>,
        bar: &indicatif::ProgressBar,
    ) -> Result<Vec<Trial>> {
        batch
            .par_iter()
            .map(|p| {
                let key = trial_key(p.index, p.epochs, &p.config);
                let cached = store
                    .lock()
                    .map_err(|_| anyhow!("store lock poisoned"))?
                    .get(&key)
                    .cloned();
                let trial = match cached {
                    Some(t) => t,
                    None => {
                        let t = self.run_one(p, evaluator)?;
                        store
                            .lock()
                            .map_err(|_| anyhow!("store lock poisoned"))?
                            .record(&t)?;
                        *evaluated.lock().map_err(|_| anyhow!("lock poisoned"))? += 1;
                        t
                    }
                };
                bar.inc(1);
                bar.set_message(format!("last {:.4}", trial.value));
                Ok(trial)
            })
            .collect()
    }

    /// Runs the search with `evaluator`, resuming from the store when one is set.
    pub fn run(&self, evaluator: &dyn Evaluator) -> Result<Results> {
        let store = Mutex::new(match &self.store {
            Some(path) => Store::open(path)?,
            None => Store::memory(),
        });
        let evaluated = Mutex::new(0usize);
        let mut rng = Rng::new(self.seed);
        let mut trials: Vec<Trial> = Vec::new();
        let batch = self.batch.max(1);
        match self.strategy {
            Strategy::Hyperband { eta } => {
                let brackets = schedule(self.max_epochs, eta)?;
                let count: usize = brackets
                    .iter()
                    .flat_map(|b| &b.rungs)
                    .map(|r| r.configs)
                    .sum();
                let bar = progress::bar(count as u64, &self.label);
                for bracket in &brackets {
                    let first = bracket.rungs.first().map_or(0, |r| r.configs);
                    let mut alive: Vec<Config> = (0..first)
                        .map(|_| random_config(&self.space, &mut rng))
                        .collect();
                    for (i, rung) in bracket.rungs.iter().enumerate() {
                        alive.truncate(rung.configs);
                        let proposals: Vec<Proposal> = alive
                            .iter()
                            .map(|c| Proposal {
                                index: trials.len(),
                                tag: format!("hyperband s={} rung {i}", bracket.s),
                                config: c.clone(),
                                epochs: rung.epochs,
                            })
                            .enumerate()
                            .map(|(k, mut p)| {
                                p.index += k;
                                p
                            })
                            .collect();
                        let mut done =
                            self.run_batch(proposals, evaluator, &store, &evaluated, &bar)?;
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
                bar.finish_and_clear();
            }
            strategy => {
                let grid_configs = match strategy {
                    Strategy::Grid { float_points } => Some(grid(
                        &self.space,
                        float_points,
                        self.max_trials.max(1) * 1000,
                    )?),
                    _ => None,
                };
                let total = grid_configs
                    .as_ref()
                    .map_or(self.max_trials, |g| g.len().min(self.max_trials));
                let bar = progress::bar(total as u64, &self.label);
                while trials.len() < total {
                    let history: Vec<(Config, f64)> = trials
                        .iter()
                        .map(|t| (t.config.clone(), self.objective.loss(t.value)))
                        .collect();
                    let n = batch.min(total - trials.len());
                    let proposals: Vec<Proposal> = (0..n)
                        .map(|k| {
                            let index = trials.len() + k;
                            let config = match (&grid_configs, strategy) {
                                (Some(g), _) => g.get(index).cloned().unwrap_or_default(),
                                (None, Strategy::Tpe(tpe)) => {
                                    tpe.suggest(&self.space, &history, &mut rng)
                                }
                                _ => random_config(&self.space, &mut rng),
                            };
                            Proposal {
                                index,
                                tag: strategy.name().into(),
                                config,
                                epochs: self.max_epochs,
                            }
                        })
                        .collect();
                    trials.extend(self.run_batch(proposals, evaluator, &store, &evaluated, &bar)?);
                }
                bar.finish_and_clear();
            }
        }
        let evaluated = evaluated
            .into_inner()
            .map_err(|_| anyhow!("lock poisoned"))?;
        Ok(Results {
            objective: self.objective.clone(),
            trials,
            evaluated,
        })
    }
}
