//! Webhook subscriptions, the fan-out of stored events into delivery jobs (in the
//! transaction that stores the events), the delivery log, and replays.

use crate::jobs::{ClaimedJob, NewJob};
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::automation;
use leadgate_core::job::JobKind;
use leadgate_core::webhook::WebhookInput;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::types::Json;

/// A subscription.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// Signs every delivery; shown in full when the subscription is made.
    #[serde(skip)]
    pub secret: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: Ts,
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    url: String,
    events: String,
    secret: String,
    description: Option<String>,
    active: bool,
    created_at: Ts,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Self {
        Webhook {
            id: row.id,
            url: row.url,
            events: serde_json::from_str(&row.events).unwrap_or_default(),
            secret: row.secret,
            description: row.description,
            active: row.active,
            created_at: row.created_at,
        }
    }
}

/// One attempt to deliver an event to a subscription.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub job_id: Option<i64>,
    pub attempt: i32,
    pub ok: bool,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i32>,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response: Option<String>,
    pub duration_ms: i64,
    pub attempted_at: Ts,
}

/// What a delivery attempt came to, for the log.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    pub ok: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response: Option<String>,
    pub duration_ms: i64,
}

const WEBHOOK_COLUMNS: &str = "id, url, events, secret, description, active, created_at";

impl Tx {
    /// Whether a webhook subscription `id` exists.
    pub async fn webhook_exists(&mut self, id: i64) -> Result<bool> {
        let found: Option<i64> = on_tx!(self, conn => sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await)?;
        Ok(found.is_some())
    }

    /// Queues the delivery of one event to one subscription (once: a second ask is ignored).
    pub async fn queue_delivery(
        &mut self,
        webhook_id: i64,
        event_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.enqueue_job(
            &NewJob::new(
                JobKind::WebhookDelivery,
                json!({"webhook_id": webhook_id, "event_id": event_id}),
                now,
            )
            .keyed(format!("webhook:{webhook_id}:{event_id}")),
        )
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Enqueues a delivery of each event to each active subscription that wants its type,
    /// and an automation run for each event of a type that starts a rule (unless it was
    /// made by a chain of rules already `MAX_DEPTH` deep).
    pub(crate) async fn fan_out(&mut self, event_ids: &[i64]) -> Result<()> {
        if event_ids.is_empty() {
            return Ok(());
        }
        // Most stores have neither: one cheap probe on the hot path of every append.
        let wanted: bool = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM webhooks WHERE active = TRUE)
                 OR EXISTS (SELECT 1 FROM automation_triggers)",
        )
        .fetch_one(conn)
        .await)?;
        if !wanted {
            return Ok(());
        }
        let hooks: Vec<(i64, String)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT id, events FROM webhooks WHERE active = TRUE",
        )
        .fetch_all(conn)
        .await)?;
        let triggers: Vec<String> = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT DISTINCT event_type FROM automation_triggers",
        )
        .fetch_all(conn)
        .await)?;
        if hooks.is_empty() && triggers.is_empty() {
            return Ok(());
        }
        let hooks: Vec<(i64, Vec<String>)> = hooks
            .into_iter()
            .map(|(id, events)| (id, serde_json::from_str(&events).unwrap_or_default()))
            .collect();
        // Ids are integers, so the list is written into the query.
        let list = event_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let events: Vec<(i64, String, Option<String>)> = on_tx!(self, conn => sqlx::query_as(
            &format!("SELECT id, type, actor FROM events WHERE id IN ({list})"),
        )
        .fetch_all(conn)
        .await)?;
        let now = Utc::now();
        for (event_id, event_type, actor) in &events {
            for (hook, wanted) in &hooks {
                if WebhookInput::wants(wanted, event_type) {
                    self.queue_delivery(*hook, *event_id, now).await?;
                }
            }
            let too_deep = automation::origin(actor.as_deref())
                .is_some_and(|(depth, _)| depth >= automation::MAX_DEPTH);
            if triggers.contains(event_type) && !too_deep {
                self.enqueue_job(
                    &NewJob::new(JobKind::Automation, json!({"event_id": event_id}), now)
                        .keyed(format!("automation:{event_id}")),
                )
                .await?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Makes a subscription with a new random secret (returned; shown once).
    pub async fn create_webhook(&self, input: &WebhookInput) -> Result<(Webhook, String)> {
        let secret: String = format!(
            "whsec_{}",
            rand::thread_rng()
                .sample_iter(Alphanumeric)
                .take(32)
                .map(char::from)
                .collect::<String>()
        );
        let now = Ts(to_micros(Utc::now()));
        let events = serde_json::to_string(&input.events)
            .map_err(|e| StoreError::from(sqlx::Error::Encode(Box::new(e))))?;
        let sql = format!(
            "INSERT INTO webhooks (url, events, secret, description, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, TRUE, $5, $5) RETURNING {WEBHOOK_COLUMNS}"
        );
        let row: WebhookRow = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(&input.url)
            .bind(events)
            .bind(&secret)
            .bind(&input.description)
            .bind(now)
            .fetch_one(pool)
            .await)?;
        Ok((row.into(), secret))
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        let rows: Vec<WebhookRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    pub async fn webhook(&self, id: i64) -> Result<Webhook> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let row: Option<WebhookRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(Webhook::from)
            .ok_or_else(|| StoreError::NotFound(format!("no webhook has id {id}")))
    }

    /// Pauses (false) or resumes (true) a subscription.
    pub async fn set_webhook_active(&self, id: i64, active: bool) -> Result<Webhook> {
        on_pool!(self, pool => sqlx::query("UPDATE webhooks SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(active)
            .bind(Ts(to_micros(Utc::now())))
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        self.webhook(id).await
    }

    /// What a delivery job sends: the subscription, and the event as the body.
    pub async fn delivery(&self, job: &ClaimedJob) -> Result<(Webhook, Value)> {
        let id_in = |key: &str| {
            job.payload[key]
                .as_i64()
                .ok_or_else(|| StoreError::Conflict {
                    field: format!("payload.{key}"),
                    reason: "a webhook delivery names its webhook and event".into(),
                })
        };
        let webhook = self.webhook(id_in("webhook_id")?).await?;
        let event_id = id_in("event_id")?;
        type EventRow = (
            i64,
            i64,
            String,
            Ts,
            Ts,
            Option<String>,
            Option<String>,
            Json<Value>,
        );
        let row: Option<EventRow> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, lead_id, type, occurred_at, recorded_at, source, actor, payload FROM events WHERE id = $1",
        )
        .bind(event_id)
        .fetch_optional(pool)
        .await)?;
        let (id, lead_id, event_type, occurred_at, recorded_at, source, actor, payload) =
            row.ok_or_else(|| StoreError::NotFound(format!("no event has id {event_id}")))?;
        Ok((
            webhook,
            json!({"id": id, "type": event_type, "lead_id": lead_id, "occurred_at": occurred_at,
                   "recorded_at": recorded_at, "source": source, "actor": actor, "payload": payload.0}),
        ))
    }

    /// Logs an attempt; when it succeeded, also marks the job done (false: another worker
    /// had taken the job over, and this attempt is only logged).
    pub async fn record_delivery(
        &self,
        job: &ClaimedJob,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let now = Ts(to_micros(now));
        let mut tx = self.begin().await?;
        let held = if outcome.ok {
            tx.finish_claim(job, now).await?
        } else {
            true
        };
        let response: Option<String> = outcome
            .response
            .as_ref()
            .map(|r| r.chars().take(1000).collect());
        on_tx!(&mut tx, conn => sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, job_id, attempt, ok, status, error, response, duration_ms, attempted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(job.payload["webhook_id"].as_i64())
        .bind(job.payload["event_id"].as_i64())
        .bind(job.id)
        .bind(job.attempt)
        .bind(outcome.ok)
        .bind(outcome.status.map(i32::from))
        .bind(&outcome.error)
        .bind(response)
        .bind(outcome.duration_ms)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ()))?;
        tx.commit().await?;
        Ok(held)
    }

    /// A subscription's delivery attempts, newest first.
    pub async fn deliveries(&self, webhook_id: i64, limit: i64) -> Result<Vec<Delivery>> {
        let rows = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, webhook_id, event_id, job_id, attempt, ok, status, error, response, duration_ms, attempted_at
             FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(webhook_id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Sends an event to a subscription again (a new job, due now). Returns the job id.
    pub async fn replay_delivery(
        &self,
        webhook_id: i64,
        event_id: i64,
    ) -> Result<leadgate_core::id::JobId> {
        self.webhook(webhook_id).await?;
        let exists: Option<i64> = on_read_pool!(self, pool => sqlx::query_scalar("SELECT id FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(pool)
            .await)?;
        exists.ok_or_else(|| StoreError::NotFound(format!("no event has id {event_id}")))?;
        let job = NewJob::new(
            JobKind::WebhookDelivery,
            json!({"webhook_id": webhook_id, "event_id": event_id, "replay": true}),
            Utc::now(),
        );
        let id = self.enqueue_job(&job).await?;
        id.ok_or_else(|| StoreError::Conflict {
            field: "event_id".into(),
            reason: "the replay could not be queued".into(),
        })
    }
}
