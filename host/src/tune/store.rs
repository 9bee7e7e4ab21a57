//! The results store: one JSON line per finished trial, appended as trials finish, so an
//! interrupted search reloads them and runs only the trials still missing.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::space::{config_key, Config};

/// One finished trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the search (0-based).
    pub index: usize,
    /// Which tuner step proposed it (e.g. `random`, `tpe`, `hyperband s=2 rung 0`).
    pub tag: String,
    /// The configuration.
    pub config: Config,
    /// Most epochs each execution could train.
    pub budget_epochs: usize,
    /// Objective value, mean over the executions.
    pub value: f64,
    /// Objective value of each execution.
    pub values: Vec<f64>,
    /// Epochs actually trained, summed over the executions (early stopping may cut them).
    pub epochs_run: usize,
    /// Best epoch of the first execution, when the model reports one.
    pub best_epoch: Option<usize>,
    /// Wall-clock seconds of the trial.
    pub seconds: f64,
}

/// The key a trial is stored and looked up under: position, budget and configuration.
pub fn trial_key(index: usize, budget_epochs: usize, config: &Config) -> String {
    format!("{index}|{budget_epochs}|{}", config_key(config))
}

/// Finished trials by key, backed by an optional JSON-lines file.
#[derive(Debug, Default)]
pub struct Store {
    path: Option<PathBuf>,
    done: HashMap<String, Trial>,
    cut_line: bool,
}

impl Store {
    /// A store kept in memory only.
    pub fn memory() -> Store {
        Store::default()
    }

    /// Opens (or starts) the JSON-lines file at `path`, loading its trials. A line cut short
    /// by an interruption (not ending in `}`) is skipped; any other unreadable line is an
    /// error naming it.
    pub fn open(path: &Path) -> Result<Store> {
        let mut done = HashMap::new();
        let mut cut_line = false;
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            cut_line = !text.is_empty() && !text.ends_with('\n');
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            for (i, line) in lines.iter().enumerate() {
                match serde_json::from_str::<Trial>(line) {
                    Ok(t) => {
                        done.insert(trial_key(t.index, t.budget_epochs, &t.config), t);
                    }
                    Err(_) if !line.trim_end().ends_with('}') => {}
                    Err(err) => {
                        return Err(err)
                            .with_context(|| format!("{}: line {}", path.display(), i + 1))
                    }
                }
            }
        }
        Ok(Store {
            path: Some(path.to_path_buf()),
            done,
            cut_line,
        })
    }

    /// The finished trial stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Trial> {
        self.done.get(key)
    }

    /// The finished trials held, in no particular order.
    pub fn trials(&self) -> impl Iterator<Item = &Trial> {
        self.done.values()
    }

    /// Number of finished trials held.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// Whether no trial is held.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// Records a finished trial, appending it to the file (a complete line, flushed; after a
    /// line cut short, on a fresh line).
    pub fn record(&mut self, trial: &Trial) -> Result<()> {
        if let Some(path) = &self.path {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            if self.cut_line {
                writeln!(file)?;
                self.cut_line = false;
            }
            writeln!(file, "{}", serde_json::to_string(trial)?)?;
            file.flush()?;
        }
        self.done.insert(
            trial_key(trial.index, trial.budget_epochs, &trial.config),
            trial.clone(),
        );
        Ok(())
    }
}
