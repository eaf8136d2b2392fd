//! Background work a server does beside answering requests.
//!
//! Durable jobs: every server runs a worker that claims due jobs from the store under a
//! lease, performs them and marks them done in the transaction that stores their effects, or
//! records the failure (retried with backoff, then dead). A server that dies holding jobs
//! loses its lease and another server takes them over.
//!
//! Rescoring: a policy applied from the dashboard or the API rescores its product here, a
//! page of leads per transaction that also advances the pass's stored progress
//! (`RescoreRun`), so a server that stops leaves the rest to the others. Events arrive in
//! batches and flag their leads as due (in the same transaction as the events, so the flag
//! survives a crash); this loop rescores due leads and moves those whose MQL status changed.
//! Several servers on one PostgreSQL database share the due leads without taking the same
//! one twice. Leads whose stored score is a day old are marked due now and then, so decay
//! alone moves them too.

use leadgate_core::job::JobKind;
use leadgate_store::{ClaimedJob, Store};
use std::time::Duration;

pub mod email;
pub mod model;
pub mod visits;
pub mod webhook;

pub use webhook::DeliverySettings;

/// The background work of one server: stopped when dropped.
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    /// The same work and one more task, stopped with the rest.
    pub fn and(mut self, task: tokio::task::JoinHandle<()>) -> Self {
        self.0.push(task);
        self
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Starts the rescoring loop and the job worker; `lease` as for `run_jobs`.
pub fn start(store: &Store, lease: chrono::Duration, delivery: DeliverySettings) -> Background {
    let worker = worker_name();
    tracing::info!(worker, "running due jobs");
    let models = leadgate_app::Models::new(store.clone());
    Background(vec![
        tokio::spawn(rescore_due_leads(store.clone())),
        tokio::spawn(run_jobs(store.clone(), models, worker, lease, delivery)),
        tokio::spawn(check_inactivity(store.clone())),
        tokio::spawn(fold_change_logs(store.clone())),
        tokio::spawn(make_event_months(store.clone())),
        tokio::spawn(model::retrain_when_due(
            store.clone(),
            chrono::Duration::days(RETRAIN_AFTER_DAYS),
        )),
    ])
}

/// An active conversion model older than this is retrained on the outcomes recorded since.
const RETRAIN_AFTER_DAYS: i64 = 7;

/// How long a claimed job stays a worker's unless configured.
pub const DEFAULT_LEASE_SECS: u32 = 120;

/// How many due jobs one claim takes.
const CLAIM: i64 = 20;

/// A name for this process in the job log: host and process id.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Runs until the task is dropped: claims due jobs, performs each, rests a second when none
/// are due. `lease` is how long a claimed job is this worker's before another may take it.
async fn run_jobs(
    store: Store,
    models: leadgate_app::Models,
    worker: String,
    lease: chrono::Duration,
    delivery: DeliverySettings,
) {
    loop {
        let claimed = match store
            .claim_jobs(&worker, CLAIM, lease, chrono::Utc::now())
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim jobs; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Jobs whose effects lie in the store run together (one commit); the others reach
        // outside it, each on its own.
        let mut in_store = Vec::new();
        for job in claimed {
            match job.kind().ok() {
                Some(JobKind::WebhookDelivery) => webhook::deliver(&store, &job, &delivery).await,
                Some(JobKind::SendEmail) => email::send(&store, &job, &delivery).await,
                Some(JobKind::TrainModel | JobKind::PredictLeads) => {
                    model::perform(&store, &models, &job).await
                }
                Some(JobKind::VacuumErased) => vacuum_erased(&store, &job).await,
                _ => in_store.push(job),
            }
        }
        perform(&store, &in_store).await;
    }
}

/// Vacuums what an erasure rewrote (PostgreSQL), outside a transaction as VACUUM must be.
async fn vacuum_erased(store: &Store, job: &ClaimedJob) {
    let recorded = match store.vacuum_erased().await {
        Ok(()) => store.finish_job(job, chrono::Utc::now()).await.map(|_| ()),
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "cannot vacuum after an erasure");
            store
                .fail_job(job, &e.to_string(), chrono::Utc::now())
                .await
                .map(|_| ())
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(job = %job.id, error = %e, "cannot record the vacuum job's end");
    }
}

/// Runs jobs whose effects lie in the store (together, see `perform_all`), and records
/// each one's outcome.
async fn perform(store: &Store, jobs: &[ClaimedJob]) {
    let outcomes = leadgate_app::jobs::perform_all(store, jobs, chrono::Utc::now()).await;
    for (job, outcome) in jobs.iter().zip(outcomes) {
        match outcome {
            Ok(true) => metrics::counter!("leadgate_jobs_done_total", "kind" => job.kind.clone())
                .increment(1),
            Ok(false) => tracing::info!(job = %job.id, "another worker took this job over"),
            Err(e) => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempt, error = %e, "job failed");
                metrics::counter!("leadgate_jobs_failed_total", "kind" => job.kind.clone())
                    .increment(1);
                if let Err(e) = store
                    .fail_job(job, &e.to_string(), chrono::Utc::now())
                    .await
                {
                    // The lease runs out and the job is tried again.
                    tracing::warn!(job = %job.id, error = %e, "cannot record the failure");
                }
            }
        }
    }
}

/// How often leads are checked for the policy's inactivity rules.
const INACTIVITY_CHECK: Duration = Duration::from_secs(300);

/// Runs until dropped: every few minutes, the automation rules that fire on inactivity.
async fn check_inactivity(store: Store) {
    loop {
        match leadgate_app::automation::run_inactivity(&store, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(fired = n, "inactivity rules fired"),
            Err(e) => tracing::warn!(error = %e, "cannot check for inactive leads"),
        }
        tokio::time::sleep(INACTIVITY_CHECK).await;
    }
}

/// How often the counts kept as change logs take in their pending changes.
const FOLD_EVERY: Duration = Duration::from_secs(15);

/// Runs until dropped: folds the changes appended to the analytics rollup and to reps'
/// open-lead counts into them, so the analytics page and least-loaded routing read small
/// tables (they are right without folding, only slower), and drops rate-limit counts of
/// windows that have ended.
async fn fold_change_logs(store: Store) {
    loop {
        for (what, folded) in [
            ("analytics rollup", store.fold_analytics().await),
            ("open leads", store.fold_open_leads().await),
            (
                "ended rate-limit windows",
                store.forget_ended_hits(chrono::Utc::now()).await,
            ),
        ] {
            match folded {
                Ok(0) => {}
                Ok(n) => tracing::debug!(changes = n, "{what} folded"),
                Err(e) => tracing::warn!(error = %e, "cannot fold the {what}"),
            }
        }
        tokio::time::sleep(FOLD_EVERY).await;
    }
}

/// How often the event log's coming months are checked for their partition.
const MONTHS_CHECK: Duration = Duration::from_secs(3600);

/// Runs until dropped: makes the event log's partitions of this month and the next few
/// (PostgreSQL), so a server running for months never writes into the default partition.
async fn make_event_months(store: Store) {
    loop {
        match store.ensure_event_partitions(chrono::Utc::now()).await {
            Ok(made) if made.is_empty() => {}
            Ok(made) => tracing::info!(?made, "made the event log's coming months"),
            Err(e) => tracing::warn!(error = %e, "cannot make the event log's coming months"),
        }
        tokio::time::sleep(MONTHS_CHECK).await;
    }
}

/// How many due leads one pass takes.
const PASS: i64 = 500;
/// How old a stored score may grow before its lead is rescored anyway (decay moves leads
/// out of MQL with no new event).
const STALE_AFTER_HOURS: i64 = 24;
/// How often to look for such leads.
const STALE_CHECK: Duration = Duration::from_secs(600);

/// Runs until the task is dropped: rescores due leads, resting a second when none are due,
/// and now and then marks leads with day-old scores as due.
pub async fn rescore_due_leads(store: Store) {
    let mut last_stale_check: Option<std::time::Instant> = None;
    loop {
        if last_stale_check.is_none_or(|at| at.elapsed() >= STALE_CHECK) {
            last_stale_check = Some(std::time::Instant::now());
            let before = chrono::Utc::now() - chrono::Duration::hours(STALE_AFTER_HOURS);
            match store.flag_stale_scores(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(leads = n, "scores older than a day marked for rescoring"),
                Err(e) => tracing::warn!(error = %e, "cannot mark stale scores"),
            }
        }
        let now = chrono::Utc::now();
        let paged = match leadgate_app::rescore::rescore_page(&store, None, now).await {
            Ok(run) => run.is_some(),
            Err(e) => {
                tracing::warn!(error = %e, "rescoring a page of an applied policy failed; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        match leadgate_app::rescore::rescore_due(&store, PASS, now).await {
            Ok(0) if !paged => tokio::time::sleep(Duration::from_secs(1)).await,
            Ok(n) => tracing::debug!(leads = n, "rescored leads with new events"),
            Err(e) => {
                tracing::warn!(error = %e, "rescoring due leads failed; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
