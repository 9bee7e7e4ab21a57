//! Where a study's trials live while workers share them: the [`Storage`] interface, its
//! in-memory backend (optionally appending finished trials to a JSON-lines file), and
//! [`open`], which picks a backend from a URL (`memory`, `jsonl:PATH`, `sqlite:PATH`,
//! `postgres://…`).
//!
//! A trial row goes `waiting` → `running` (claimed by one worker, which heartbeats) → `done`
//! (recorded only by the worker that still owns it). A `running` row whose heartbeat is older
//! than the study's timeout goes back to `waiting` with its attempt counted, so a killed
//! worker loses nothing and no trial is recorded twice.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::objective::Objective;
use super::space::Config;
use super::store::{trial_key, Store, Trial};

/// Longest study name accepted (it is stored and echoed, so it stays short).
pub const MAX_STUDY_NAME: usize = 128;

/// What a study was created with; every worker joining it must propose the same trials, so
/// it must agree on all of this except the heartbeat timeout, which the creator decides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudySpec {
    /// What is optimized.
    pub objective: Objective,
    /// The tuner and its settings, in words (e.g. `Tpe(Tpe { startup: 10, .. })`).
    pub strategy: String,
    /// The search space's summary.
    pub space: String,
    /// Seed of the tuner and of the executions.
    pub seed: u64,
    /// Trials to run (grid, random, TPE).
    pub max_trials: usize,
    /// Most epochs per trial.
    pub max_epochs: usize,
    /// Executions averaged per trial.
    pub executions_per_trial: usize,
    /// Trials proposed together.
    pub batch: usize,
    /// Seconds without a heartbeat after which a running trial is re-queued.
    pub heartbeat_timeout_s: f64,
}

impl StudySpec {
    /// Whether `other` proposes the same trials (everything but the heartbeat timeout).
    pub fn same_search(&self, other: &StudySpec) -> bool {
        let mut a = self.clone();
        a.heartbeat_timeout_s = other.heartbeat_timeout_s;
        a == *other
    }
}

/// Where a trial row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Proposed, not claimed (or re-queued after its worker stopped heartbeating).
    Waiting,
    /// Claimed by a worker that heartbeats while training it.
    Running,
    /// Finished and recorded.
    Done,
}

impl State {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Running => "running",
            State::Done => "done",
        }
    }

    /// The state stored as `name`; an error naming it otherwise.
    pub fn parse(name: &str) -> Result<State> {
        Ok(match name {
            "waiting" => State::Waiting,
            "running" => State::Running,
            "done" => State::Done,
            _ => bail!("unknown trial state `{name}`"),
        })
    }
}

/// A trial proposed by the tuner, not yet trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// Position in the search (0-based).
    pub index: usize,
    /// Which tuner step proposed it.
    pub tag: String,
    /// The configuration.
    pub config: Config,
    /// Most epochs each execution may train.
    pub budget_epochs: usize,
}

impl Pending {
    /// The key it is stored under ([`trial_key`]).
    pub fn key(&self) -> String {
        trial_key(self.index, self.budget_epochs, &self.config)
    }
}

/// A trial claimed by one worker.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// The row's id in the storage.
    pub id: i64,
    /// Which attempt this is (1 for the first claim, more after re-queues).
    pub attempt: u32,
    /// What to train.
    pub pending: Pending,
}

/// One trial row as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The row's id.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// The proposal.
    pub pending: Pending,
    /// Where it stands.
    pub state: State,
    /// The worker that claimed it last.
    pub worker: Option<String>,
    /// Claims so far.
    pub attempt: u32,
    /// The result, once done.
    pub trial: Option<Trial>,
}

/// A study's trials, shared by the workers of one or many processes.
pub trait Storage: Send + Sync {
    /// The backend and location, in words, for messages.
    fn describe(&self) -> String;
    /// Creates the study with `spec` when it is new; returns the spec it was created with.
    fn ensure_study(&self, spec: &StudySpec) -> Result<StudySpec>;
    /// The spec the study was created with, if a worker has created it.
    fn spec(&self) -> Result<Option<StudySpec>>;
    /// Adds the proposals that are not stored yet (by key); existing rows are left alone.
    fn enqueue(&self, pending: &[Pending]) -> Result<()>;
    /// Claims the waiting trial with the lowest index in `indices` (`start..end`) for
    /// `worker`; when none is waiting, first re-queues the running trials whose heartbeat is
    /// older than `timeout_s`.
    fn claim(&self, indices: (usize, usize), worker: &str, timeout_s: f64)
        -> Result<Option<Claim>>;
    /// Refreshes the claim's heartbeat; false when the worker no longer owns it.
    fn heartbeat(&self, claim: &Claim, worker: &str) -> Result<bool>;
    /// Records the finished trial if `worker` still owns the claim; false (nothing recorded)
    /// otherwise.
    fn complete(&self, claim: &Claim, worker: &str, trial: &Trial) -> Result<bool>;
    /// The rows whose index is in `start..end` (every row: `None`), by index.
    fn rows(&self, indices: Option<(usize, usize)>) -> Result<Vec<Row>>;
    /// Stores finished trials (e.g. read from a JSON-lines file) as done; rows already stored
    /// under the same key are left alone. Returns how many were added.
    fn import(&self, trials: &[Trial]) -> Result<usize>;
}

/// Checks a study name: 1 to [`MAX_STUDY_NAME`] characters of letters, digits, `-`, `_`, `.`.
pub fn check_study_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_STUDY_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        bail!("study name `{name}`: use 1 to {MAX_STUDY_NAME} letters, digits, `-`, `_` or `.`");
    }
    Ok(())
}

/// Opens study `study` in the storage named by `url`: `memory`, `jsonl:PATH` (one process;
/// finished trials appended to PATH), `sqlite:PATH` (processes on one machine), or
/// `postgres://…` / `postgresql://…` (workers anywhere).
pub fn open(url: &str, study: &str) -> Result<Box<dyn Storage>> {
    check_study_name(study)?;
    if url == "memory" {
        return Ok(Box::new(Memory::new(None)?));
    }
    if let Some(path) = url.strip_prefix("jsonl:") {
        return Ok(Box::new(Memory::new(Some(Path::new(path)))?));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        return Ok(Box::new(super::sqlite::Sqlite::open(
            Path::new(path),
            study,
        )?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(super::postgres::Postgres::open(url, study)?));
    }
    bail!("storage `{url}`: expected memory, jsonl:PATH, sqlite:PATH or postgres://…")
}

/// Seconds since the Unix epoch on this machine's clock.
pub fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The JSON text a proposal is stored as.
pub fn pending_json(p: &Pending) -> Result<String> {
    Ok(serde_json::to_string(p)?)
}

/// A proposal read back from `text`, or an error naming the storage and row.
pub fn parse_pending(text: &str, what: &str) -> Result<Pending> {
    serde_json::from_str(text).with_context(|| format!("{what}: unreadable proposal"))
}

/// A finished trial read back from `text`, or an error naming the storage and row.
pub fn parse_trial(text: &str, what: &str) -> Result<Trial> {
    serde_json::from_str(text).with_context(|| format!("{what}: unreadable trial"))
}

/// A row in memory, with its heartbeat time.
#[derive(Clone, Debug)]
struct MemRow {
    row: Row,
    heartbeat_at: f64,
}

#[derive(Debug, Default)]
struct Inner {
    spec: Option<StudySpec>,
    rows: Vec<MemRow>,
    by_key: HashMap<String, usize>,
    file: Option<Store>,
}

impl Inner {
    fn insert(&mut self, row: Row) -> bool {
        if self.by_key.contains_key(&row.key) {
            return false;
        }
        self.by_key.insert(row.key.clone(), self.rows.len());
        self.rows.push(MemRow {
            row,
            heartbeat_at: 0.0,
        });
        true
    }

    fn owned(&mut self, claim: &Claim, worker: &str) -> Option<&mut MemRow> {
        self.rows
            .get_mut(usize::try_from(claim.id).ok()?)
            .filter(|r| {
                r.row.state == State::Running
                    && r.row.attempt == claim.attempt
                    && r.row.worker.as_deref() == Some(worker)
            })
    }
}

/// Trials in this process's memory, optionally backed by a JSON-lines file of the finished
/// ones (the format of [`Store`]): threads of one process share it; processes cannot.
#[derive(Debug)]
pub struct Memory {
    inner: Mutex<Inner>,
    path: Option<String>,
}

impl Memory {
    /// A memory study, loading (and appending to) the JSON-lines file at `path` when given.
    pub fn new(path: Option<&Path>) -> Result<Memory> {
        let mut inner = Inner::default();
        if let Some(path) = path {
            let store = Store::open(path)?;
            for t in store.trials() {
                inner.insert(done_row(t));
            }
            inner.file = Some(store);
        }
        Ok(Memory {
            inner: Mutex::new(inner),
            path: path.map(|p| p.display().to_string()),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| anyhow!("{}: lock poisoned", self.describe()))
    }
}

/// A done row for a finished trial.
fn done_row(t: &Trial) -> Row {
    Row {
        id: 0,
        key: trial_key(t.index, t.budget_epochs, &t.config),
        pending: Pending {
            index: t.index,
            tag: t.tag.clone(),
            config: t.config.clone(),
            budget_epochs: t.budget_epochs,
        },
        state: State::Done,
        worker: None,
        attempt: 0,
        trial: Some(t.clone()),
    }
}

impl Storage for Memory {
    fn describe(&self) -> String {
        match &self.path {
            Some(p) => format!("jsonl:{p}"),
            None => "memory".into(),
        }
    }

    fn ensure_study(&self, spec: &StudySpec) -> Result<StudySpec> {
        let mut inner = self.lock()?;
        Ok(inner.spec.get_or_insert_with(|| spec.clone()).clone())
    }

    fn spec(&self) -> Result<Option<StudySpec>> {
        Ok(self.lock()?.spec.clone())
    }

    fn enqueue(&self, pending: &[Pending]) -> Result<()> {
        let mut inner = self.lock()?;
        for p in pending {
            let id = inner.rows.len() as i64;
            inner.insert(Row {
                id,
                key: p.key(),
                pending: p.clone(),
                state: State::Waiting,
                worker: None,
                attempt: 0,
                trial: None,
            });
        }
        Ok(())
    }

    fn claim(
        &self,
        (start, end): (usize, usize),
        worker: &str,
        timeout_s: f64,
    ) -> Result<Option<Claim>> {
        let mut inner = self.lock()?;
        let now = now_s();
        let lowest_waiting = |rows: &[MemRow]| {
            rows.iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.row.state == State::Waiting && (start..end).contains(&r.row.pending.index)
                })
                .min_by_key(|(_, r)| r.row.pending.index)
                .map(|(i, _)| i)
        };
        let mut best = lowest_waiting(&inner.rows);
        if best.is_none() {
            // Nothing waiting: re-queue the trials of workers that stopped heartbeating.
            for r in inner.rows.iter_mut() {
                if r.row.state == State::Running && now - r.heartbeat_at > timeout_s {
                    r.row.state = State::Waiting;
                }
            }
            best = lowest_waiting(&inner.rows);
        }
        let Some(i) = best else { return Ok(None) };
        let Some(r) = inner.rows.get_mut(i) else {
            return Ok(None);
        };
        r.row.state = State::Running;
        r.row.attempt += 1;
        r.row.worker = Some(worker.into());
        r.heartbeat_at = now;
        Ok(Some(Claim {
            id: i as i64,
            attempt: r.row.attempt,
            pending: r.row.pending.clone(),
        }))
    }

    fn heartbeat(&self, claim: &Claim, worker: &str) -> Result<bool> {
        let mut inner = self.lock()?;
        Ok(match inner.owned(claim, worker) {
            Some(r) => {
                r.heartbeat_at = now_s();
                true
            }
            None => false,
        })
    }

    fn complete(&self, claim: &Claim, worker: &str, trial: &Trial) -> Result<bool> {
        let mut inner = self.lock()?;
        match inner.owned(claim, worker) {
            Some(r) => {
                r.row.state = State::Done;
                r.row.trial = Some(trial.clone());
            }
            None => return Ok(false),
        }
        if let Some(file) = inner.file.as_mut() {
            file.record(trial)?;
        }
        Ok(true)
    }

    fn rows(&self, indices: Option<(usize, usize)>) -> Result<Vec<Row>> {
        let inner = self.lock()?;
        let mut rows: Vec<Row> = inner
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| indices.is_none_or(|(s, e)| (s..e).contains(&r.row.pending.index)))
            .map(|(i, r)| Row {
                id: i as i64,
                ..r.row.clone()
            })
            .collect();
        rows.sort_by_key(|r| (r.pending.index, r.id));
        Ok(rows)
    }

    fn import(&self, trials: &[Trial]) -> Result<usize> {
        let mut inner = self.lock()?;
        let mut added = 0;
        for t in trials {
            if inner.insert(done_row(t)) {
                if let Some(file) = inner.file.as_mut() {
                    file.record(t)?;
                }
                added += 1;
            }
        }
        Ok(added)
    }
}
