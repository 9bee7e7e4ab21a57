//! The PostgreSQL backend of [`Storage`], for workers on many machines: a claim takes the
//! lowest waiting row with `FOR UPDATE SKIP LOCKED` in one `UPDATE … RETURNING`, so
//! concurrent workers never wait on or take the same trial; times are the server's clock.

use std::sync::{Mutex, MutexGuard};

use anyhow::{anyhow, Context, Result};
use postgres::{Client, NoTls};

use super::sqlite::{db_index, RawRow};
use super::storage::{parse_pending, pending_json, Claim, Pending, Row, Storage, StudySpec};
use super::store::{trial_key, Trial};

/// Seconds since the Unix epoch, by the server's clock.
const NOW: &str = "extract(epoch from clock_timestamp())::float8";

/// Key of the advisory lock held while creating the tables.
const SCHEMA_LOCK: i64 = 0x6564_6765_6d6c;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS edgeml_studies (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edgeml_trials (
    id BIGSERIAL PRIMARY KEY,
    study TEXT NOT NULL,
    key TEXT NOT NULL,
    idx BIGINT NOT NULL,
    proposal TEXT NOT NULL,
    state TEXT NOT NULL,
    worker TEXT,
    attempt BIGINT NOT NULL DEFAULT 0,
    heartbeat_at DOUBLE PRECISION,
    value DOUBLE PRECISION,
    result TEXT,
    UNIQUE (study, key)
);
CREATE INDEX IF NOT EXISTS edgeml_trials_by_state ON edgeml_trials (study, state, idx);
";

/// One study in a PostgreSQL database (tables `edgeml_studies`, `edgeml_trials`).
pub struct Postgres {
    client: Mutex<Client>,
    location: String,
    study: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Postgres({}, study {})", self.location, self.study)
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{scheme}://{user}@{host}")
        }
        None => url.into(),
    }
}

impl Postgres {
    /// Connects to `url` and creates the tables when missing.
    pub fn open(url: &str, study: &str) -> Result<Postgres> {
        let location = redact(url);
        let mut client =
            Client::connect(url, NoTls).with_context(|| format!("{location}: cannot connect"))?;
        let ready: bool = client
            .query_one(
                "SELECT to_regclass('edgeml_studies') IS NOT NULL AND \
                 to_regclass('edgeml_trials_by_state') IS NOT NULL",
                &[],
            )
            .with_context(|| format!("{location}: looking for the study tables"))?
            .get(0);
        if !ready {
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            tx.batch_execute(SCHEMA)?;
            tx.commit()
                .with_context(|| format!("{location}: creating the study tables"))?;
        }
        Ok(Postgres {
            client: Mutex::new(client),
            location,
            study: study.into(),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Client>> {
        self.client
            .lock()
            .map_err(|_| anyhow!("{}: connection lock poisoned", self.location))
    }

    fn what(&self, doing: &str) -> String {
        format!("{} (study {}): {doing}", self.location, self.study)
    }
}

fn attempt_of(a: i64) -> u32 {
    u32::try_from(a).unwrap_or(u32::MAX)
}

impl Storage for Postgres {
    fn describe(&self) -> String {
        self.location.clone()
    }

    fn ensure_study(&self, spec: &StudySpec) -> Result<StudySpec> {
        self.lock()?
            .execute(
                "INSERT INTO edgeml_studies (name, spec) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
                &[&self.study, &serde_json::to_string(spec)?],
            )
            .with_context(|| self.what("creating the study"))?;
        self.spec()?
            .ok_or_else(|| anyhow!(self.what("the study vanished")))
    }

    fn spec(&self) -> Result<Option<StudySpec>> {
        let row = self
            .lock()?
            .query_opt(
                "SELECT spec FROM edgeml_studies WHERE name = $1",
                &[&self.study],
            )
            .with_context(|| self.what("reading the study"))?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).with_context(|| self.what("unreadable spec"))
        })
        .transpose()
    }

    fn enqueue(&self, pending: &[Pending]) -> Result<()> {
        let keys: Vec<String> = pending.iter().map(Pending::key).collect();
        let indices: Vec<i64> = pending.iter().map(|p| db_index(p.index)).collect();
        let proposals = pending
            .iter()
            .map(pending_json)
            .collect::<Result<Vec<String>>>()?;
        // One statement for the whole batch: workers enqueuing the same batch at once wait
        // for one another's insert only once.
        self.lock()?
            .execute(
                "INSERT INTO edgeml_trials (study, key, idx, proposal, state) SELECT $1, k, i, p, \
                 'waiting' FROM unnest($2::text[], $3::bigint[], $4::text[]) AS b(k, i, p) \
                 ORDER BY i ON CONFLICT (study, key) DO NOTHING",
                &[&self.study, &keys, &indices, &proposals],
            )
            .with_context(|| self.what("enqueuing trials"))?;
        Ok(())
    }

    fn claim(
        &self,
        (start, end): (usize, usize),
        worker: &str,
        timeout_s: f64,
    ) -> Result<Option<Claim>> {
        let mut client = self.lock()?;
        let claim = format!(
            "UPDATE edgeml_trials SET state = 'running', worker = $4, attempt = attempt + 1, \
             heartbeat_at = {NOW} WHERE id = (SELECT id FROM edgeml_trials WHERE study = $1 AND \
             state = 'waiting' AND idx >= $2 AND idx < $3 ORDER BY idx FOR UPDATE SKIP LOCKED \
             LIMIT 1) RETURNING id, attempt, proposal"
        );
        let (start, end) = (db_index(start), db_index(end));
        let params: [&(dyn postgres::types::ToSql + Sync); 4] =
            [&self.study, &start, &end, &worker];
        let mut row = client
            .query_opt(&claim, &params)
            .with_context(|| self.what("claiming a trial"))?;
        if row.is_none() {
            // Nothing waiting: re-queue the trials of workers that stopped heartbeating.
            let requeued = client
                .execute(
                    &format!(
                        "UPDATE edgeml_trials SET state = 'waiting' WHERE study = $1 AND state = \
                         'running' AND heartbeat_at < {NOW} - $2"
                    ),
                    &[&self.study, &timeout_s],
                )
                .with_context(|| self.what("re-queuing stale trials"))?;
            if requeued > 0 {
                row = client
                    .query_opt(&claim, &params)
                    .with_context(|| self.what("claiming a trial"))?;
            }
        }
        row.map(|r| {
            let id: i64 = r.get(0);
            Ok(Claim {
                id,
                attempt: attempt_of(r.get(1)),
                pending: parse_pending(r.get(2), &self.what(&format!("row {id}")))?,
            })
        })
        .transpose()
    }

    fn heartbeat(&self, claim: &Claim, worker: &str) -> Result<bool> {
        let n = self
            .lock()?
            .execute(
                &format!(
                    "UPDATE edgeml_trials SET heartbeat_at = {NOW} WHERE id = $1 AND worker = $2 \
                     AND attempt = $3 AND state = 'running'"
                ),
                &[&claim.id, &worker, &i64::from(claim.attempt)],
            )
            .with_context(|| self.what("heartbeat"))?;
        Ok(n == 1)
    }

    fn complete(&self, claim: &Claim, worker: &str, trial: &Trial) -> Result<bool> {
        let n = self
            .lock()?
            .execute(
                "UPDATE edgeml_trials SET state = 'done', value = $4, result = $5 WHERE id = $1 \
                 AND worker = $2 AND attempt = $3 AND state = 'running'",
                &[
                    &claim.id,
                    &worker,
                    &i64::from(claim.attempt),
                    &trial.value,
                    &serde_json::to_string(trial)?,
                ],
            )
            .with_context(|| self.what("recording a trial"))?;
        Ok(n == 1)
    }

    fn rows(&self, indices: Option<(usize, usize)>) -> Result<Vec<Row>> {
        let (start, end) = indices.unwrap_or((0, usize::MAX));
        let rows = self
            .lock()?
            .query(
                "SELECT id, key, proposal, state, worker, attempt, result FROM edgeml_trials \
                 WHERE study = $1 AND idx >= $2 AND idx < $3 ORDER BY idx, id",
                &[&self.study, &db_index(start), &db_index(end)],
            )
            .with_context(|| self.what("reading trials"))?;
        let what = self.what("");
        rows.into_iter()
            .map(|r| {
                RawRow {
                    id: r.get(0),
                    key: r.get(1),
                    proposal: r.get(2),
                    state: r.get(3),
                    worker: r.get(4),
                    attempt: r.get(5),
                    result: r.get(6),
                }
                .parse(&what)
            })
            .collect()
    }

    fn import(&self, trials: &[Trial]) -> Result<usize> {
        let mut client = self.lock()?;
        let mut tx = client.transaction()?;
        let insert = tx.prepare(
            "INSERT INTO edgeml_trials (study, key, idx, proposal, state, value, result) VALUES \
             ($1, $2, $3, $4, 'done', $5, $6) ON CONFLICT (study, key) DO NOTHING",
        )?;
        let mut added = 0;
        for t in trials {
            let p = Pending {
                index: t.index,
                tag: t.tag.clone(),
                config: t.config.clone(),
                budget_epochs: t.budget_epochs,
            };
            added += tx.execute(
                &insert,
                &[
                    &self.study,
                    &trial_key(t.index, t.budget_epochs, &t.config),
                    &db_index(t.index),
                    &pending_json(&p)?,
                    &t.value,
                    &serde_json::to_string(t)?,
                ],
            )?;
        }
        tx.commit().with_context(|| self.what("importing trials"))?;
        Ok(usize::try_from(added).unwrap_or(usize::MAX))
    }
}
