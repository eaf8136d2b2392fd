//! Automation as stored: the event a rule runs on, nurture enrolments and their step jobs,
//! the leads gone quiet, and the past events a dry run replays. What the rules do is
//! `leadgate-app`'s.

use crate::events::StoredEvent;
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::automation::{self, EnrolmentState};
use leadgate_core::id::LeadId;
use leadgate_core::job::JobKind;
use leadgate_core::Stage;
use serde_json::{json, Value};
use sqlx::types::Json;

/// A lead's place in a nurture sequence.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub id: i64,
    pub lead_id: LeadId,
    pub sequence: String,
    pub next_step: usize,
    pub state: EnrolmentState,
    pub enrolled_at: DateTime<Utc>,
}

impl Tx {
    /// The stored event `id`, if there is one.
    pub async fn event(&mut self, id: i64) -> Result<Option<StoredEvent>> {
        Ok(on_tx!(self, conn => sqlx::query_as(
            "SELECT id, lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key
             FROM events WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(conn)
        .await)?)
    }

    /// Enrols a lead in sequence `name`, its first step due at `first_due`. `None`: the lead
    /// is in it already (and stays where it is).
    pub async fn enrol(
        &mut self,
        lead_id: LeadId,
        name: &str,
        first_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let active_already: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT COUNT(*) FROM sequence_enrolments WHERE lead_id = $1 AND sequence = $2 AND state = 'active'",
        )
        .bind(lead_id)
        .bind(name)
        .fetch_one(conn)
        .await)?;
        if active_already > 0 {
            return Ok(None);
        }
        let at = Ts(to_micros(now));
        let id: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "INSERT INTO sequence_enrolments (lead_id, sequence, next_step, state, enrolled_at, updated_at)
             VALUES ($1, $2, 0, 'active', $3, $3) RETURNING id",
        )
        .bind(lead_id)
        .bind(name)
        .bind(at)
        .fetch_one(conn)
        .await)?;
        self.schedule_step(id, lead_id, 0, first_due).await?;
        Ok(Some(id))
    }

    async fn schedule_step(
        &mut self,
        enrolment: i64,
        lead_id: LeadId,
        step: usize,
        due: DateTime<Utc>,
    ) -> Result<()> {
        self.enqueue_job(
            &crate::NewJob::new(
                JobKind::SequenceStep,
                json!({"enrolment_id": enrolment, "lead_id": lead_id, "step": step}),
                due,
            )
            .keyed(format!("sequence:{enrolment}:{step}")),
        )
        .await?;
        Ok(())
    }

    /// The enrolment `id`, if there is one.
    pub async fn enrolment(&mut self, id: i64) -> Result<Option<Enrolment>> {
        let row: Option<(i64, LeadId, String, i32, String, Ts)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT id, lead_id, sequence, next_step, state, enrolled_at FROM sequence_enrolments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(conn)
        .await)?;
        row.map(|(id, lead_id, sequence, next_step, state, enrolled_at)| {
            Ok(Enrolment {
                id,
                lead_id,
                sequence,
                next_step: usize::try_from(next_step).map_err(|_| {
                    StoreError::Internal(format!("enrolment {id} is at step {next_step}"))
                })?,
                state: EnrolmentState::try_from(state).map_err(StoreError::Internal)?,
                enrolled_at: enrolled_at.0,
            })
        })
        .transpose()
    }

    /// Moves an enrolment on to `step`, due at `due`.
    pub async fn advance_enrolment(
        &mut self,
        id: i64,
        lead_id: LeadId,
        step: usize,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "UPDATE sequence_enrolments SET next_step = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(step as i32)
        .bind(Ts(to_micros(now)))
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ()))?;
        self.schedule_step(id, lead_id, step, due).await
    }

    /// Ends an enrolment: finished, or stopped with why.
    pub async fn end_enrolment(
        &mut self,
        id: i64,
        state: EnrolmentState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "UPDATE sequence_enrolments SET state = $1, stopped_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(Ts(to_micros(now)))
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The contacts logged or booked on a lead since `since` (type and payload), among which
    /// core's `automation::is_reply` finds replies.
    pub async fn contacts_since(
        &mut self,
        lead_id: LeadId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, Value)>> {
        let rows: Vec<(String, Json<Value>)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT type, payload FROM events WHERE lead_id = $1 AND occurred_at >= $2
               AND type IN ('call_logged', 'email_logged', 'meeting_logged', 'meeting_booked')",
        )
        .bind(lead_id)
        .bind(Ts(since))
        .fetch_all(conn)
        .await)?;
        Ok(rows.into_iter().map(|(t, p)| (t, p.0)).collect())
    }

    /// Whether `actor` (a rule) has fired on the lead since `since`.
    pub async fn fired_since(
        &mut self,
        lead_id: LeadId,
        actor: &str,
        since: DateTime<Utc>,
    ) -> Result<bool> {
        let fired: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE lead_id = $1 AND type = 'automation_fired'
               AND actor = $2 AND occurred_at >= $3",
        )
        .bind(lead_id)
        .bind(actor)
        .bind(Ts(to_micros(since)))
        .fetch_one(conn)
        .await)?;
        Ok(fired > 0)
    }
}

impl Store {
    /// The products whose policy has a rule that fires on inactivity.
    pub async fn products_with_inactivity_rules(&self) -> Result<Vec<String>> {
        Ok(on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT DISTINCT product FROM automation_triggers WHERE event_type = 'inactive'",
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Up to 200 leads of a product after id `after` (in `stages`, all when empty) with no
    /// activity (core's `automation::NOT_ACTIVITY` does not count) since `cutoff`, on which
    /// `actor` has not fired since then.
    pub async fn quiet_leads(
        &self,
        product: &str,
        stages: &[Stage],
        cutoff: DateTime<Utc>,
        actor: &str,
        after: LeadId,
    ) -> Result<Vec<LeadId>> {
        // Stage and event type names are [a-z_] only.
        let quiet = automation::NOT_ACTIVITY
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(",");
        let stages = if stages.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = stages.iter().map(|s| format!("'{}'", s.as_str())).collect();
            format!("AND l.stage IN ({})", names.join(","))
        };
        let sql = format!(
            "SELECT l.id FROM leads l
             WHERE l.product = $1 AND l.id > $4 {stages}
               AND COALESCE((SELECT MAX(e.occurred_at) FROM events e
                             WHERE e.lead_id = l.id AND e.type NOT IN ({quiet})), l.created_at) < $2
               AND NOT EXISTS (SELECT 1 FROM events f WHERE f.lead_id = l.id
                               AND f.type = 'automation_fired' AND f.actor = $3 AND f.occurred_at >= $2)
             ORDER BY l.id LIMIT 200"
        );
        Ok(on_read_pool!(self, pool => sqlx::query_scalar(&sql)
            .bind(product)
            .bind(Ts(to_micros(cutoff)))
            .bind(actor)
            .bind(after)
            .fetch_all(pool)
            .await)?)
    }

    /// Up to `limit` events of these types since `since`, oldest first (what an automation
    /// dry run replays).
    pub async fn events_of_types_since(
        &self,
        types: &[&str],
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT id, lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key
                 FROM events WHERE occurred_at >= ",
            );
            b.push_bind(Ts(to_micros(since))).push(" AND type IN (");
            crate::push_in_list(&mut b, types.iter().copied());
            b.push(" ORDER BY occurred_at, id LIMIT ").push_bind(limit);
            b.build_query_as().fetch_all(pool).await
        })?)
    }
}
