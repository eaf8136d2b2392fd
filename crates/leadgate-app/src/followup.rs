//! Follow-up: a task set on a lead and a call, email, meeting or note logged, each in one
//! transaction with the response clocks it answers (a next step, a contact).

use crate::Result;
use chrono::{DateTime, Utc};
use leadgate_core::followup::{Interaction, NewTask};
use leadgate_core::id::LeadId;
use leadgate_core::sla::Until;
use leadgate_store::{to_micros, LoggedInteraction, Store, Task, Ts, Tx};

/// Sets a task on a lead inside `tx` (stored with its reminder) and answers the lead's
/// clocks waiting for a next step: automation's task action uses it too.
pub async fn add_task(
    tx: &mut Tx,
    lead: LeadId,
    task: &NewTask,
    actor: &str,
    now: Ts,
) -> Result<Task> {
    let task = tx.create_task(lead, task, actor, now).await?;
    tx.answer_clocks(lead, Until::NextStep, now.0).await?;
    Ok(task)
}

/// Sets a task on a lead (owned by the lead's owner unless it names one).
pub async fn create_task(
    store: &Store,
    lead: LeadId,
    task: &NewTask,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Task> {
    let mut tx = store.begin().await?;
    let task = add_task(&mut tx, lead, task, actor, Ts(to_micros(now))).await?;
    tx.commit().await?;
    Ok(task)
}

/// Logs a call, email, meeting or note on a lead, and its next step as a task, in one
/// transaction: a contact answers the clocks waiting for one, a next step those waiting
/// for a next step.
pub async fn log_interaction(
    store: &Store,
    lead: LeadId,
    interaction: &Interaction,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<LoggedInteraction> {
    let now = Ts(to_micros(now));
    let mut tx = store.begin().await?;
    let event_id = tx.record_interaction(lead, interaction, actor, now).await?;
    if interaction.is_contact() {
        tx.answer_clocks(lead, Until::Contacted, interaction.occurred_at)
            .await?;
    }
    let next_step = match &interaction.next_step {
        Some(step) => Some(add_task(&mut tx, lead, step, actor, now).await?),
        None => None,
    };
    tx.commit().await?;
    Ok(LoggedInteraction {
        event_id,
        next_step,
    })
}
