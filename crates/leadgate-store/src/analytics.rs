//! Reads what closed-loop analytics needs (leads, their moves and outcomes) for a period and
//! scope, and hands it to core's pure `analytics::build`.

use crate::time::Ts;
use crate::{on_read_pool, Result, Store};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::{self, Analytics, Happening, LeadFacts};
use leadgate_core::Stage;
use serde_json::Value;
use sqlx::types::Json;

/// Which leads the analytics cover: created in [from, to), owned by a team's members.
#[derive(Debug, Clone, Default)]
pub struct AnalyticsScope {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub team: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: i64,
    created_at: Ts,
    stage: String,
    channel: String,
    source_class: String,
    campaign: Option<String>,
    junk: String,
    score: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    lead_id: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    occurred_at: Ts,
    payload: Json<Value>,
}

fn text(payload: &Value, key: &str) -> Option<String> {
    payload.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn stage(payload: &Value, key: &str) -> Option<Stage> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

impl Store {
    /// The funnel, sources, reasons, score bands and stage times of the leads in `scope`.
    pub async fn analytics(&self, scope: &AnalyticsScope) -> Result<Analytics> {
        fn restrict<'a, DB: sqlx::Database>(
            b: &mut sqlx::QueryBuilder<'a, DB>,
            scope: &'a AnalyticsScope,
        ) where
            Ts: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
            String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        {
            if let Some(from) = scope.from {
                b.push(" AND l.created_at >= ").push_bind(Ts(from));
            }
            if let Some(to) = scope.to {
                b.push(" AND l.created_at < ").push_bind(Ts(to));
            }
            if let Some(team) = &scope.team {
                b.push(" AND l.owner IN (SELECT name FROM reps WHERE team = ")
                    .push_bind(team.clone())
                    .push(")");
            }
        }
        let leads: Vec<LeadRow> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT l.id, l.created_at, l.stage, l.channel, l.source_class, l.campaign, l.junk, l.score
                 FROM leads l WHERE 1 = 1",
            );
            restrict(&mut b, scope);
            b.build_query_as().fetch_all(pool).await
        })?;
        let events: Vec<EventRow> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT e.lead_id, e.type, e.occurred_at, e.payload FROM events e
                 JOIN leads l ON l.id = e.lead_id
                 WHERE e.type IN ('stage_changed', 'outcome_recorded')",
            );
            restrict(&mut b, scope);
            b.push(" ORDER BY e.lead_id, e.occurred_at, e.id");
            b.build_query_as().fetch_all(pool).await
        })?;
        let facts: Vec<LeadFacts> = leads
            .into_iter()
            .filter_map(|row| {
                Some(LeadFacts {
                    id: row.id,
                    created_at: row.created_at.0,
                    stage: row.stage.parse().ok()?,
                    channel: row.channel,
                    source_class: row.source_class,
                    campaign: row.campaign,
                    junk: !row.junk.is_empty(),
                    score: row.score,
                })
            })
            .collect();
        let happenings: Vec<Happening> = events
            .into_iter()
            .filter_map(|row| {
                let payload = &row.payload.0;
                match row.event_type.as_str() {
                    "stage_changed" => Some(Happening::Moved {
                        lead_id: row.lead_id,
                        at: row.occurred_at.0,
                        from: stage(payload, "from"),
                        to: stage(payload, "to")?,
                        reason: text(payload, "reason"),
                    }),
                    _ => Some(Happening::Outcome {
                        lead_id: row.lead_id,
                        won: text(payload, "outcome")? == "won",
                        value: payload.get("value").and_then(Value::as_f64),
                        reason: text(payload, "reason"),
                    }),
                }
            })
            .collect();
        Ok(analytics::build(&facts, &happenings))
    }
}
