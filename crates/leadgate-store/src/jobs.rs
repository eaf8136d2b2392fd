//! The durable job queue: enqueue, claim under a lease, finish (with the job's effects in the
//! same transaction), fail with backoff into a dead letter, list and retry.

use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Duration, Utc};
use leadgate_core::id::JobId;
use leadgate_core::job::{retry_delay, JobKind, JobState, DEFAULT_MAX_ATTEMPTS};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;

/// Work to do at a time.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub payload: Value,
    pub due_at: DateTime<Utc>,
    /// At most one job per key ever exists: enqueueing again is a no-op.
    pub key: Option<String>,
    pub max_attempts: i32,
}

impl NewJob {
    pub fn new(kind: JobKind, payload: Value, due_at: DateTime<Utc>) -> Self {
        NewJob {
            kind,
            payload,
            due_at,
            key: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn keyed(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// A job as stored, for lists and the API.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    #[sqlx(json)]
    pub payload: Value,
    pub key: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: JobState,
    pub due_at: Ts,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<Ts>,
    pub created_at: Ts,
    pub finished_at: Option<Ts>,
}

/// One attempt at a job.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct JobRun {
    pub job_id: JobId,
    pub attempt: i32,
    pub worker: String,
    pub finished_at: Ts,
    /// done, failed or dead.
    pub outcome: String,
    pub error: Option<String>,
}

/// A job a worker holds: only the holder of the token may finish or fail it, and only
/// while no other worker has taken it over after the lease ran out.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: JobId,
    /// As stored; a kind this build does not know fails the job with a clear error.
    pub kind: String,
    pub payload: Value,
    /// Which attempt this is, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
    pub worker: String,
    token: i64,
}

impl ClaimedJob {
    pub fn kind(&self) -> std::result::Result<JobKind, String> {
        self.kind.parse()
    }
}

const JOB_COLUMNS: &str = "id, kind, payload, key, state, due_at, attempts, max_attempts, \
                           last_error, claimed_by, lease_until, created_at, finished_at";

impl Tx {
    /// Enqueues a job inside a larger write. Returns its id, or None when its key exists.
    pub(crate) async fn enqueue_job(&mut self, job: &NewJob) -> Result<Option<JobId>> {
        let id: Option<JobId> = on_tx!(self, conn => sqlx::query_scalar(
            "INSERT INTO jobs (kind, payload, key, state, due_at, max_attempts, created_at)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6)
             ON CONFLICT (key) DO NOTHING RETURNING id",
        )
        .bind(job.kind.as_str())
        .bind(Json(&job.payload))
        .bind(job.key.as_deref())
        .bind(Ts(to_micros(job.due_at)))
        .bind(job.max_attempts.max(1))
        .bind(Ts(to_micros(Utc::now())))
        .fetch_optional(conn)
        .await)?;
        Ok(id)
    }

    /// Marks a claimed job done if this claim still holds it. Call first in the transaction
    /// that stores the job's effects: false means another worker took the job over, and the
    /// transaction must be dropped so the effects are not stored twice.
    pub async fn finish_claim(&mut self, job: &ClaimedJob, now: Ts) -> Result<bool> {
        let held = self.finish_claims(std::slice::from_ref(job), now).await?;
        Ok(held.contains(&job.id))
    }

    /// `finish_claim` for a batch: one UPDATE marks done the jobs these claims still hold,
    /// one INSERT logs their runs. Returns the jobs held; the others were taken over, and
    /// their effects must not be stored in this transaction.
    pub async fn finish_claims(
        &mut self,
        jobs: &[ClaimedJob],
        now: Ts,
    ) -> Result<std::collections::HashSet<JobId>> {
        if jobs.is_empty() {
            return Ok(Default::default());
        }
        let held: Vec<JobId> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "UPDATE jobs SET state = 'done', lease_until = NULL, claim_token = NULL, finished_at = ",
            );
            b.push_bind(now)
                .push(" WHERE state = 'running' AND (id, claim_token) IN (");
            b.push_values(jobs, |mut row, job| {
                row.push_bind(job.id).push_bind(job.token);
            });
            b.push(") RETURNING id");
            b.build_query_scalar().fetch_all(conn).await
        })?;
        let held: std::collections::HashSet<JobId> = held.into_iter().collect();
        let runs: Vec<&ClaimedJob> = jobs.iter().filter(|j| held.contains(&j.id)).collect();
        if !runs.is_empty() {
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "INSERT INTO job_runs (job_id, attempt, worker, finished_at, outcome, error) ",
                );
                b.push_values(&runs, |mut row, job| {
                    row.push_bind(job.id)
                        .push_bind(job.attempt)
                        .push_bind(&job.worker)
                        .push_bind(now)
                        .push_bind("done")
                        .push_bind(None::<&str>);
                });
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(held)
    }

    async fn record_run(
        &mut self,
        job: &ClaimedJob,
        now: Ts,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "INSERT INTO job_runs (job_id, attempt, worker, finished_at, outcome, error)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(job.id)
        .bind(job.attempt)
        .bind(&job.worker)
        .bind(now)
        .bind(outcome)
        .bind(error)
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

impl Store {
    /// Enqueues a job. Returns its id, or None when a job with its key already exists.
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Option<JobId>> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue_job(job).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims up to `limit` jobs that are due (or whose worker's lease ran out) for `worker`,
    /// each held for `lease`. Jobs whose workers kept dying go to the dead letter instead.
    /// On PostgreSQL, workers claiming at once skip each other's rows.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        limit: i64,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedJob>> {
        let now = Ts(to_micros(now));
        let token: i64 = rand::random::<i64>().abs().max(1);
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, conn => sqlx::query(
            "UPDATE jobs SET state = 'dead', finished_at = $1, lease_until = NULL, claim_token = NULL,
                    last_error = 'the worker ' || claimed_by || ' stopped before finishing (its lease ran out) on the last attempt'
             WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
        let skip_locked = match tx.engine() {
            crate::Engine::Postgres => "FOR UPDATE SKIP LOCKED",
            crate::Engine::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, claimed_by = $1,
                    claim_token = $2, lease_until = $3,
                    last_error = CASE WHEN state = 'running'
                        THEN 'the worker ' || claimed_by || ' stopped before finishing (its lease ran out)'
                        ELSE last_error END
             WHERE id IN (SELECT id FROM jobs
                          WHERE (state = 'queued' AND due_at <= $4) OR (state = 'running' AND lease_until < $4)
                          ORDER BY due_at, id LIMIT $5 {skip_locked})
             RETURNING id, kind, payload, attempts, max_attempts"
        );
        let lease_until = Ts(to_micros(now.0 + lease));
        let mut rows: Vec<(JobId, String, Json<Value>, i32, i32)> = on_tx!(&mut tx, conn => sqlx::query_as(&sql)
            .bind(worker)
            .bind(token)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(conn)
            .await)?;
        tx.commit().await?;
        rows.sort_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, Json(payload), attempt, max_attempts)| ClaimedJob {
                    id,
                    kind,
                    payload,
                    attempt,
                    max_attempts,
                    worker: worker.to_owned(),
                    token,
                },
            )
            .collect())
    }

    /// Marks a claimed job done (for jobs whose effects lie outside the store, such as a
    /// delivery). False when another worker had taken it over.
    pub async fn finish_job(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.begin().await?;
        let held = tx.finish_claim(job, Ts(to_micros(now))).await?;
        tx.commit().await?;
        Ok(held)
    }

    /// Records a failed attempt: the job waits (exponential backoff) for its next attempt, or
    /// goes to the dead letter after its last. Returns the state it is in now (None: another
    /// worker had taken it over, and this failure changes nothing).
    pub async fn fail_job(
        &self,
        job: &ClaimedJob,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<JobState>> {
        let now = Ts(to_micros(now));
        let error: String = error.chars().take(2000).collect();
        let (state, due_at, finished_at) = if job.attempt >= job.max_attempts {
            (JobState::Dead, now, Some(now))
        } else {
            let due = Ts(to_micros(now.0 + retry_delay(job.attempt, job.id.get())));
            (JobState::Queued, due, None)
        };
        let mut tx = self.begin().await?;
        let held = on_tx!(&mut tx, conn => sqlx::query(
            "UPDATE jobs SET state = $1, due_at = $2, finished_at = $3, last_error = $4,
                    lease_until = NULL, claim_token = NULL
             WHERE id = $5 AND claim_token = $6 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(due_at)
        .bind(finished_at)
        .bind(&error)
        .bind(job.id)
        .bind(job.token)
        .execute(conn)
        .await.map(|r| r.rows_affected()))?
            == 1;
        if !held {
            return Ok(None);
        }
        let outcome = if state == JobState::Dead {
            "dead"
        } else {
            "failed"
        };
        tx.record_run(job, now, outcome, Some(&error)).await?;
        tx.commit().await?;
        Ok(Some(state))
    }

    /// Jobs, newest first, optionally only in one state or of one kind.
    pub async fn jobs(
        &self,
        state: Option<JobState>,
        kind: Option<JobKind>,
        limit: i64,
    ) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR kind = $2)
             ORDER BY id DESC LIMIT $3"
        );
        let rows = on_read_pool!(self, pool => sqlx::query_as(&sql)
            .bind(state.map(JobState::as_str))
            .bind(kind.map(JobKind::as_str))
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    pub async fn job(&self, id: JobId) -> Result<Job> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<Job> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.ok_or_else(|| StoreError::NotFound(format!("no job has id {id}")))
    }

    /// Every attempt at a job, oldest first.
    pub async fn job_runs(&self, id: JobId) -> Result<Vec<JobRun>> {
        let rows = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT job_id, attempt, worker, finished_at, outcome, error FROM job_runs
             WHERE job_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Counts of jobs per state, for health checks and metrics.
    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state",
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Sends a dead job back to the queue, due now, with its attempts counted afresh.
    pub async fn retry_job(&self, id: JobId, now: DateTime<Utc>) -> Result<Job> {
        let changed = on_pool!(self, pool => sqlx::query(
            "UPDATE jobs SET state = 'queued', due_at = $1, attempts = 0, finished_at = NULL
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(Ts(to_micros(now)))
        .bind(id)
        .execute(pool)
        .await.map(|r| r.rows_affected()))?;
        let job = self.job(id).await?;
        if changed == 0 {
            return Err(StoreError::Conflict {
                field: "state".into(),
                reason: format!("job {id} is {}; only a dead job can be retried", job.state),
            });
        }
        Ok(job)
    }
}
