//! Jobs whose effects all lie in the store: a job's work done in one transaction with
//! marking it done, so a job taken over by another worker stores nothing twice. (Sending
//! webhooks and emails, training models and vacuuming are the server's worker's.)

use crate::Result;
use chrono::{DateTime, Utc};
use leadgate_core::id::{ClockId, LeadId, TaskId};
use leadgate_core::job::JobKind;
use leadgate_store::{to_micros, ActivePolicy, ClaimedJob, Store, StoreError, Ts, Tx};

/// What a job asks of the store, read from its kind and payload.
enum Work {
    SlaCheck {
        clock: ClockId,
    },
    SlaRecycle {
        clock: ClockId,
    },
    TaskReminder {
        task: TaskId,
    },
    Automation {
        event: i64,
    },
    SequenceStep {
        enrolment: i64,
        step: usize,
        lead: LeadId,
    },
}

impl Work {
    fn of(job: &ClaimedJob) -> Result<Work, StoreError> {
        let kind = job.kind().map_err(|reason| StoreError::Conflict {
            field: "kind".into(),
            reason,
        })?;
        let id_in = |key: &str| {
            job.payload[key]
                .as_i64()
                .ok_or_else(|| StoreError::Conflict {
                    field: format!("payload.{key}"),
                    reason: format!("a {kind} job names its {}", key.trim_end_matches("_id")),
                })
        };
        Ok(match kind {
            JobKind::SlaCheck => Work::SlaCheck {
                clock: ClockId(id_in("clock_id")?),
            },
            JobKind::SlaRecycle => Work::SlaRecycle {
                clock: ClockId(id_in("clock_id")?),
            },
            JobKind::TaskReminder => Work::TaskReminder {
                task: TaskId(id_in("task_id")?),
            },
            JobKind::Automation => Work::Automation {
                event: id_in("event_id")?,
            },
            JobKind::SequenceStep => Work::SequenceStep {
                enrolment: id_in("enrolment_id")?,
                step: id_in("step")? as usize,
                lead: LeadId(id_in("lead_id")?),
            },
            JobKind::WebhookDelivery
            | JobKind::SendEmail
            | JobKind::TrainModel
            | JobKind::PredictLeads
            | JobKind::VacuumErased => {
                return Err(StoreError::Conflict {
                    field: "kind".into(),
                    reason: format!("{kind} jobs are sent by the server's worker"),
                })
            }
        })
    }

    /// The lead whose product's policy the work is judged by, where it needs one.
    async fn lead(&self, store: &Store) -> Result<Option<LeadId>> {
        Ok(match *self {
            Work::SlaRecycle { clock } => store.lead_of_clock(clock).await?,
            Work::Automation { event } => store.lead_of_event(event).await?,
            Work::SequenceStep { lead, .. } => Some(lead),
            Work::SlaCheck { .. } | Work::TaskReminder { .. } => None,
        })
    }
}

/// The policy in force for a lead's product; `None` when the lead is gone (erased).
async fn policy_of_lead(store: &Store, lead: LeadId) -> Result<Option<ActivePolicy>> {
    match store.lead(lead).await {
        Ok(lead) => Ok(Some(store.active_policy(&lead.lead.product_line()).await?)),
        Err(StoreError::LeadNotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Runs a job whose effects all lie in the store, in one transaction with marking it done.
/// Returns false when another worker had taken the job over (nothing is stored then).
pub async fn perform(store: &Store, job: &ClaimedJob, now: DateTime<Utc>) -> Result<bool> {
    let (work, active) = prepare(store, job).await?;
    let now = to_micros(now);
    let mut tx = store.begin().await?;
    if !tx.finish_claim(job, Ts(now)).await? {
        return Ok(false);
    }
    run(&mut tx, work, active.as_ref(), now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Runs claimed jobs whose effects all lie in the store, each as `perform` would: first
/// together, in one transaction that marks them all done (one commit for the batch); when
/// one of them fails, that transaction stores nothing and each job runs alone, so the
/// failing job fails by itself. Each job's outcome, in order.
pub async fn perform_all(
    store: &Store,
    jobs: &[ClaimedJob],
    now: DateTime<Utc>,
) -> Vec<Result<bool>> {
    if jobs.len() > 1 {
        match perform_together(store, jobs, now).await {
            Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "a job of the batch failed; running each alone")
            }
        }
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(perform(store, job, now).await);
    }
    outcomes
}

async fn perform_together(
    store: &Store,
    jobs: &[ClaimedJob],
    now: DateTime<Utc>,
) -> Result<Vec<bool>> {
    let mut prepared = Vec::with_capacity(jobs.len());
    for job in jobs {
        prepared.push(prepare(store, job).await?);
    }
    let now = to_micros(now);
    let mut tx = store.begin().await?;
    let held = tx.finish_claims(jobs, Ts(now)).await?;
    // Reminders are sent together (`Tx::remind_many`); the rest one by one.
    let mut reminders = Vec::new();
    for (job, (work, active)) in jobs.iter().zip(prepared) {
        match work {
            _ if !held.contains(&job.id) => {}
            Work::TaskReminder { task } => reminders.push(task),
            work => run(&mut tx, work, active.as_ref(), now).await?,
        }
    }
    tx.remind_many(&reminders, Ts(now)).await?;
    tx.commit().await?;
    Ok(jobs.iter().map(|job| held.contains(&job.id)).collect())
}

/// A job's work, and the policy it is judged by (read before the write transaction).
async fn prepare(store: &Store, job: &ClaimedJob) -> Result<(Work, Option<ActivePolicy>)> {
    let work = Work::of(job)?;
    let active = match work.lead(store).await? {
        Some(lead) => policy_of_lead(store, lead).await?,
        None => None,
    };
    Ok((work, active))
}

/// Does a job's work in the transaction that marked it done.
async fn run(
    tx: &mut Tx,
    work: Work,
    active: Option<&ActivePolicy>,
    now: DateTime<Utc>,
) -> Result<()> {
    match (work, active) {
        (Work::SlaCheck { clock }, _) => crate::route::check_clock(tx, clock, now).await?,
        (Work::SlaRecycle { clock }, Some(active)) => {
            crate::route::recycle_untouched(tx, clock, active, now).await?
        }
        (Work::TaskReminder { task }, _) => tx.remind(task, Ts(now)).await?,
        (Work::Automation { event }, Some(active)) => {
            crate::automation::run_on_event(tx, event, active, now).await?
        }
        (
            Work::SequenceStep {
                enrolment, step, ..
            },
            Some(active),
        ) => crate::automation::run_step(tx, enrolment, step, active, now).await?,
        // The lead is gone: nothing to do, and the job is done.
        (Work::SlaRecycle { .. } | Work::Automation { .. } | Work::SequenceStep { .. }, None) => {}
    }
    Ok(())
}
