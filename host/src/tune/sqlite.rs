//! The SQLite backend of [`Storage`]: one database file (WAL mode, a busy timeout) shared by
//! the worker processes of one machine; a claim is one `BEGIN IMMEDIATE` transaction, so two
//! processes never claim the same trial.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::storage::{
    parse_pending, parse_trial, pending_json, Claim, Pending, Row, State, Storage, StudySpec,
};
use super::store::{trial_key, Trial};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Seconds since the Unix epoch, by SQLite's clock.
const NOW: &str = "((julianday('now') - 2440587.5) * 86400.0)";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study TEXT NOT NULL,
    key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    proposal TEXT NOT NULL,
    state TEXT NOT NULL,
    worker TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    heartbeat_at REAL,
    value REAL,
    result TEXT,
    UNIQUE (study, key)
);
CREATE INDEX IF NOT EXISTS trials_by_state ON trials (study, state, idx);
";

/// One study in a SQLite file.
#[derive(Debug)]
pub struct Sqlite {
    conn: Mutex<Connection>,
    path: PathBuf,
    study: String,
}

impl Sqlite {
    /// Opens (or creates) the database at `path` for study `study`.
    pub fn open(path: &Path, study: &str) -> Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the folder of {}", path.display()))?;
        }
        let what = || format!("sqlite:{}", path.display());
        let conn = Connection::open(path).with_context(|| format!("{}: opening", what()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|()| conn.execute_batch(SCHEMA))
            .with_context(|| format!("{}: not a study database, or unwritable", what()))?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            study: study.into(),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| anyhow!("{}: connection lock poisoned", self.describe()))
    }

    fn what(&self, doing: &str) -> String {
        format!("{} (study {}): {doing}", self.describe(), self.study)
    }
}

/// A row read by `SELECT id, key, proposal, state, worker, attempt, result`.
fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        key: r.get(1)?,
        proposal: r.get(2)?,
        state: r.get(3)?,
        worker: r.get(4)?,
        attempt: r.get(5)?,
        result: r.get(6)?,
    })
}

/// A row's columns before parsing, shared with the PostgreSQL backend.
pub(crate) struct RawRow {
    pub(crate) id: i64,
    pub(crate) key: String,
    pub(crate) proposal: String,
    pub(crate) state: String,
    pub(crate) worker: Option<String>,
    pub(crate) attempt: i64,
    pub(crate) result: Option<String>,
}

impl RawRow {
    /// The parsed row; `what` names the storage in errors.
    pub(crate) fn parse(self, what: &str) -> Result<Row> {
        let at = format!("{what} row {}", self.id);
        Ok(Row {
            id: self.id,
            pending: parse_pending(&self.proposal, &at)?,
            key: self.key,
            state: State::parse(&self.state).with_context(|| at.clone())?,
            worker: self.worker,
            attempt: u32::try_from(self.attempt).unwrap_or(u32::MAX),
            trial: match self.result {
                Some(text) => Some(parse_trial(&text, &at)?),
                None => None,
            },
        })
    }
}

/// A trial's index as a database integer.
pub(crate) fn db_index(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

impl Storage for Sqlite {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn ensure_study(&self, spec: &StudySpec) -> Result<StudySpec> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO studies (name, spec) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![self.study, serde_json::to_string(spec)?],
        )
        .with_context(|| self.what("creating the study"))?;
        drop(conn);
        self.spec()?
            .ok_or_else(|| anyhow!(self.what("the study vanished")))
    }

    fn spec(&self) -> Result<Option<StudySpec>> {
        let text: Option<String> = self
            .lock()?
            .query_row(
                "SELECT spec FROM studies WHERE name = ?1",
                params![self.study],
                |r| r.get(0),
            )
            .optional()
            .with_context(|| self.what("reading the study"))?;
        text.map(|t| serde_json::from_str(&t).with_context(|| self.what("unreadable spec")))
            .transpose()
    }

    fn enqueue(&self, pending: &[Pending]) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO trials (study, key, idx, proposal, state) VALUES (?1, ?2, ?3, ?4, \
                 'waiting') ON CONFLICT (study, key) DO NOTHING",
            )?;
            for p in pending {
                insert.execute(params![
                    self.study,
                    p.key(),
                    db_index(p.index),
                    pending_json(p)?
                ])?;
            }
        }
        tx.commit().with_context(|| self.what("enqueuing trials"))
    }

    fn claim(
        &self,
        (start, end): (usize, usize),
        worker: &str,
        timeout_s: f64,
    ) -> Result<Option<Claim>> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| self.what("starting a claim"))?;
        let claim = format!(
            "UPDATE trials SET state = 'running', worker = ?4, attempt = attempt + 1, \
             heartbeat_at = {NOW} WHERE id = (SELECT id FROM trials WHERE study = ?1 AND state = \
             'waiting' AND idx >= ?2 AND idx < ?3 ORDER BY idx LIMIT 1) \
             RETURNING id, attempt, proposal"
        );
        let params = params![self.study, db_index(start), db_index(end), worker];
        let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, i64, String)> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        };
        let mut claimed = tx.query_row(&claim, params, read).optional()?;
        if claimed.is_none() {
            // Nothing waiting: re-queue the trials of workers that stopped heartbeating.
            let requeued = tx.execute(
                &format!(
                    "UPDATE trials SET state = 'waiting' WHERE study = ?1 AND state = 'running' \
                     AND heartbeat_at < {NOW} - ?2"
                ),
                params![self.study, timeout_s],
            )?;
            if requeued > 0 {
                claimed = tx.query_row(&claim, params, read).optional()?;
            }
        }
        tx.commit().with_context(|| self.what("claiming a trial"))?;
        claimed
            .map(|(id, attempt, proposal)| {
                Ok(Claim {
                    id,
                    attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    pending: parse_pending(&proposal, &self.what(&format!("row {id}")))?,
                })
            })
            .transpose()
    }

    fn heartbeat(&self, claim: &Claim, worker: &str) -> Result<bool> {
        let n = self
            .lock()?
            .execute(
                &format!(
                    "UPDATE trials SET heartbeat_at = {NOW} WHERE id = ?1 AND worker = ?2 AND \
                     attempt = ?3 AND state = 'running'"
                ),
                params![claim.id, worker, claim.attempt],
            )
            .with_context(|| self.what("heartbeat"))?;
        Ok(n == 1)
    }

    fn complete(&self, claim: &Claim, worker: &str, trial: &Trial) -> Result<bool> {
        let n = self
            .lock()?
            .execute(
                "UPDATE trials SET state = 'done', value = ?4, result = ?5 WHERE id = ?1 AND \
                 worker = ?2 AND attempt = ?3 AND state = 'running'",
                params![
                    claim.id,
                    worker,
                    claim.attempt,
                    trial.value,
                    serde_json::to_string(trial)?
                ],
            )
            .with_context(|| self.what("recording a trial"))?;
        Ok(n == 1)
    }

    fn rows(&self, indices: Option<(usize, usize)>) -> Result<Vec<Row>> {
        let (start, end) = indices.unwrap_or((0, usize::MAX));
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT id, key, proposal, state, worker, attempt, result FROM trials WHERE study = \
             ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx, id",
        )?;
        let raw = stmt
            .query_map(
                params![self.study, db_index(start), db_index(end)],
                read_row,
            )?
            .collect::<rusqlite::Result<Vec<RawRow>>>()
            .with_context(|| self.what("reading trials"))?;
        let what = self.what("");
        raw.into_iter().map(|r| r.parse(&what)).collect()
    }

    fn import(&self, trials: &[Trial]) -> Result<usize> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO trials (study, key, idx, proposal, state, value, result) VALUES \
                 (?1, ?2, ?3, ?4, 'done', ?5, ?6) ON CONFLICT (study, key) DO NOTHING",
            )?;
            for t in trials {
                let p = Pending {
                    index: t.index,
                    tag: t.tag.clone(),
                    config: t.config.clone(),
                    budget_epochs: t.budget_epochs,
                };
                added += insert.execute(params![
                    self.study,
                    trial_key(t.index, t.budget_epochs, &t.config),
                    db_index(t.index),
                    pending_json(&p)?,
                    t.value,
                    serde_json::to_string(t)?
                ])?;
            }
        }
        tx.commit().with_context(|| self.what("importing trials"))?;
        Ok(added)
    }
}
