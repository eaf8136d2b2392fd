//! Follow-up: tasks on leads (each with a reminder job at its due time), interactions logged
//! as events, and the notifications people see in their list.

use crate::jobs::NewJob;
use crate::leads::NewEvent;
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::followup::{Interaction, NewTask, TaskState, TaskType};
use leadgate_core::id::{LeadId, TaskId};
use leadgate_core::job::JobKind;
use leadgate_core::{EventDraft, EventType};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// A follow-up task as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Task {
    pub id: TaskId,
    pub lead_id: LeadId,
    #[sqlx(rename = "type", try_from = "String")]
    #[serde(rename = "type")]
    pub task_type: TaskType,
    pub title: String,
    pub notes: Option<String>,
    pub owner: Option<String>,
    pub due_at: Ts,
    #[sqlx(try_from = "String")]
    pub state: TaskState,
    pub created_by: String,
    pub created_at: Ts,
    pub reminded_at: Option<Ts>,
    pub completed_at: Option<Ts>,
    pub completed_by: Option<String>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub owner: Option<String>,
    pub lead_id: Option<LeadId>,
    pub state: Option<TaskState>,
    /// Only tasks due before this time (overdue ones, given now).
    pub due_before: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// Something a person is told in the product.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub lead_id: Option<LeadId>,
    pub task_id: Option<TaskId>,
    pub message: String,
    pub created_at: Ts,
    pub read_at: Option<Ts>,
}

/// A logged interaction: the event that records it and the next-step task, if one was set.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedInteraction {
    pub event_id: i64,
    pub next_step: Option<Task>,
}

const TASK_COLUMNS: &str = "id, lead_id, type, title, notes, owner, due_at, state, created_by, \
                            created_at, reminded_at, completed_at, completed_by";

impl Tx {
    async fn task(&mut self, id: TaskId) -> Result<Task> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        let task: Option<Task> =
            on_tx!(self, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?;
        task.ok_or_else(|| StoreError::NotFound(format!("no task has id {id}")))
    }

    /// Stores a task on a lead (owned by the lead's owner unless it names one), records
    /// `task_created`, and enqueues its reminder for the due time. (The clocks a next step
    /// answers are the caller's: `leadgate_app::followup`.)
    pub async fn create_task(
        &mut self,
        lead_id: LeadId,
        task: &NewTask,
        actor: &str,
        now: Ts,
    ) -> Result<Task> {
        let lead = self
            .lead(lead_id, true)
            .await?
            .ok_or(StoreError::LeadNotFound(lead_id))?;
        let owner = task
            .owner
            .as_ref()
            .or(lead.lead.owner.as_ref())
            .map(|o| o.as_str().to_owned());
        let id: TaskId = on_tx!(self, conn => sqlx::query_scalar(
            "INSERT INTO tasks (lead_id, type, title, notes, owner, due_at, state, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8) RETURNING id",
        )
        .bind(lead_id)
        .bind(task.task_type.as_str())
        .bind(task.title.as_str())
        .bind(task.notes.as_ref().map(|n| n.as_str()))
        .bind(&owner)
        .bind(Ts(to_micros(task.due_at)))
        .bind(actor)
        .bind(now)
        .fetch_one(conn)
        .await)?;
        let event = EventDraft::new(
            EventType::TaskCreated,
            now.0,
            json!({"task_id": id, "type": task.task_type, "title": task.title.as_str(),
                   "due_at": task.due_at, "owner": owner}),
        )
        .with_actor(actor);
        self.insert_events(
            &[NewEvent {
                lead_id,
                draft: &event,
            }],
            now,
        )
        .await?;
        self.enqueue_job(
            &NewJob::new(JobKind::TaskReminder, json!({"task_id": id}), task.due_at)
                .keyed(format!("task-reminder:{id}")),
        )
        .await?;
        self.task(id).await
    }

    /// Records an interaction on a lead (its `_logged` event, the lead due for rescoring);
    /// returns the event's id.
    pub async fn record_interaction(
        &mut self,
        lead_id: LeadId,
        interaction: &Interaction,
        actor: &str,
        now: Ts,
    ) -> Result<i64> {
        if self.lead(lead_id, true).await?.is_none() {
            return Err(StoreError::LeadNotFound(lead_id));
        }
        let event = interaction.event(actor);
        let inserted = self
            .insert_events(
                &[NewEvent {
                    lead_id,
                    draft: &event,
                }],
                now,
            )
            .await?;
        self.set_rescore_due(&[lead_id], true).await?;
        Ok(inserted.first().map(|(id, _)| *id).unwrap_or_default())
    }

    /// A task's reminder (the reminder job): an open task not reminded yet is marked, its
    /// owner told, a rep with an address emailed, and `task_due` put on the lead. A task
    /// gone (erased with its person) or closed is left alone.
    pub async fn remind(&mut self, task_id: TaskId, now: Ts) -> Result<()> {
        self.remind_many(&[task_id], now).await
    }

    /// `remind` for many tasks (a batch of reminder jobs), one statement of each kind for
    /// all of them: read, marked, notified, their leads' `task_due` events.
    pub async fn remind_many(&mut self, ids: &[TaskId], now: Ts) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let read: Vec<Task> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id IN ("));
            crate::push_in_list(&mut b, ids.iter().copied());
            b.build_query_as().fetch_all(conn).await
        })?;
        // In the order asked, each once.
        let mut by_id: HashMap<TaskId, Task> = read.into_iter().map(|t| (t.id, t)).collect();
        let tasks: Vec<Task> = ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .filter(|t| t.state == TaskState::Open && t.reminded_at.is_none())
            .collect();
        if tasks.is_empty() {
            return Ok(());
        }
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("UPDATE tasks SET reminded_at = ");
            b.push_bind(now).push(" WHERE id IN (");
            crate::push_in_list(&mut b, tasks.iter().map(|t| t.id));
            b.build().execute(conn).await.map(|_| ())
        })?;
        let recipient = |task: &Task| task.owner.clone().unwrap_or_else(|| "unassigned".into());
        let notices: Vec<(String, String, &Task)> = tasks
            .iter()
            .map(|task| {
                let message = format!(
                    "{} ({}) on lead {} is due",
                    task.title, task.task_type, task.lead_id
                );
                (recipient(task), message, task)
            })
            .collect();
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "INSERT INTO notifications (recipient, kind, lead_id, task_id, message, created_at) ",
            );
            b.push_values(&notices, |mut row, (to, message, task)| {
                row.push_bind(to.as_str())
                    .push_bind("task_due")
                    .push_bind(task.lead_id)
                    .push_bind(task.id)
                    .push_bind(message.as_str())
                    .push_bind(now);
            });
            b.build().execute(conn).await.map(|_| ())
        })?;
        // By email too, to a rep whose address is known.
        let addresses: HashMap<String, String> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT name, email FROM reps WHERE email IS NOT NULL AND name IN (",
            );
            crate::push_in_list(&mut b, notices.iter().map(|(to, _, _)| to.as_str()));
            b.build_query_as::<(String, String)>().fetch_all(conn).await
        })?
        .into_iter()
        .collect();
        for (to, _, task) in &notices {
            let Some(address) = addresses.get(to) else {
                continue;
            };
            let subject = format!("Reminder: {} (lead {})", task.title, task.lead_id);
            let body = format!(
                "{}\n\nThe {} task \"{}\" on lead {} was due at {}.\n",
                subject,
                task.task_type,
                task.title,
                task.lead_id,
                task.due_at.0.format("%Y-%m-%d %H:%M UTC")
            );
            self.outbox(
                task.lead_id,
                None,
                address,
                &subject,
                &body,
                "reminder",
                now.0,
            )
            .await?;
        }
        // On the lead's timeline too, so webhooks subscribed to task_due carry the reminder.
        let drafts: Vec<EventDraft> = tasks
            .iter()
            .map(|task| {
                EventDraft::new(
                    EventType::TaskDue,
                    now.0,
                    json!({"task_id": task.id, "type": task.task_type, "title": task.title,
                           "owner": task.owner, "due_at": task.due_at}),
                )
                .with_actor("reminder")
            })
            .collect();
        let events: Vec<NewEvent> = tasks
            .iter()
            .zip(&drafts)
            .map(|(task, draft)| NewEvent {
                lead_id: task.lead_id,
                draft,
            })
            .collect();
        self.insert_events(&events, now).await?;
        Ok(())
    }
}

impl Store {
    pub async fn task(&self, id: TaskId) -> Result<Task> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        let task: Option<Task> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        task.ok_or_else(|| StoreError::NotFound(format!("no task has id {id}")))
    }

    /// Closes an open task as done or cancelled, recorded as `task_completed` on its lead.
    pub async fn close_task(
        &self,
        id: TaskId,
        state: TaskState,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Task> {
        if state == TaskState::Open {
            return Err(StoreError::Conflict {
                field: "state".into(),
                reason: "a task is closed as done or cancelled".into(),
            });
        }
        let now = Ts(to_micros(now));
        let mut tx = self.begin().await?;
        let task = tx.task(id).await?;
        let closed = on_tx!(&mut tx, conn => sqlx::query(
            "UPDATE tasks SET state = $1, completed_at = $2, completed_by = $3
             WHERE id = $4 AND state = 'open'",
        )
        .bind(state.as_str())
        .bind(now)
        .bind(actor)
        .bind(id)
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
        if closed == 0 {
            return Err(StoreError::Conflict {
                field: "state".into(),
                reason: format!("task {id} is already {}", task.state),
            });
        }
        let event = EventDraft::new(
            EventType::TaskCompleted,
            now.0,
            json!({"task_id": id, "type": task.task_type, "state": state}),
        )
        .with_actor(actor);
        tx.insert_events(
            &[NewEvent {
                lead_id: task.lead_id,
                draft: &event,
            }],
            now,
        )
        .await?;
        let task = tx.task(id).await?;
        tx.commit().await?;
        Ok(task)
    }

    /// Tasks by due time (the most overdue first).
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks
             WHERE ($1 IS NULL OR owner = $1) AND ($2 IS NULL OR lead_id = $2)
               AND ($3 IS NULL OR state = $3) AND ($4 IS NULL OR due_at < $4)
             ORDER BY due_at, id LIMIT $5"
        );
        let rows = on_read_pool!(self, pool => sqlx::query_as(&sql)
            .bind(filter.owner.as_deref())
            .bind(filter.lead_id)
            .bind(filter.state.map(TaskState::as_str))
            .bind(filter.due_before.map(|t| Ts(to_micros(t))))
            .bind(filter.limit.clamp(1, 1000))
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }

    /// A person's notifications, newest first.
    pub async fn notifications(
        &self,
        recipient: &str,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<Notification>> {
        let rows = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, recipient, kind, lead_id, task_id, message, created_at, read_at
             FROM notifications WHERE recipient = $1 AND (NOT $2 OR read_at IS NULL)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(recipient)
        .bind(unread_only)
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// How many of a person's notifications are unread, counted up to 100 (a page shows
    /// "99+" beyond, and the count stays cheap for someone who never reads them).
    pub async fn unread_notifications(&self, recipient: &str) -> Result<i64> {
        Ok(on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT 1 FROM notifications
               WHERE recipient = $1 AND read_at IS NULL LIMIT 100) AS unread",
        )
        .bind(recipient)
        .fetch_one(pool)
        .await)?)
    }

    /// Marks every unread notification of a person read; returns how many were.
    pub async fn read_all_notifications(&self, recipient: &str, now: DateTime<Utc>) -> Result<u64> {
        Ok(on_pool!(self, pool => sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE recipient = $2 AND read_at IS NULL",
        )
        .bind(Ts(to_micros(now)))
        .bind(recipient)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// Whom a notification is for.
    pub async fn notification_recipient(&self, id: i64) -> Result<String> {
        let recipient: Option<String> = on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT recipient FROM notifications WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        recipient.ok_or_else(|| StoreError::NotFound(format!("no notification has id {id}")))
    }

    /// Marks a notification read. False when it was already read.
    pub async fn read_notification(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let changed = on_pool!(self, pool => sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE id = $2 AND read_at IS NULL",
        )
        .bind(Ts(to_micros(now)))
        .bind(id)
        .execute(pool)
        .await.map(|r| r.rows_affected()))?;
        if changed == 0 {
            let exists: Option<i64> = on_read_pool!(self, pool => sqlx::query_scalar(
                "SELECT id FROM notifications WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await)?;
            exists.ok_or_else(|| StoreError::NotFound(format!("no notification has id {id}")))?;
        }
        Ok(changed == 1)
    }
}
