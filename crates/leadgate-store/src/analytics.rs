//! Closed-loop analytics from the journey kept on each lead: keeps those journeys up to date
//! as moves and outcomes are stored, and groups the leads of a period and scope in SQL for
//! core's pure `analytics::build`.

use crate::time::Ts;
use crate::{on_read_pool, on_tx, Engine, Result, Store, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::{self, Analytics, Cell, Happening, Journey, ReasonRow, Stay, TIMED};
use leadgate_core::{EventType, Stage};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::HashMap;

/// Which leads the analytics cover: created in [from, to), owned by a team's members.
#[derive(Debug, Clone, Default)]
pub struct AnalyticsScope {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub team: Option<String>,
}

/// Whether an event of this type changes a lead's journey.
pub(crate) fn shapes_journey(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::StageChanged | EventType::OutcomeRecorded
    )
}

#[derive(sqlx::FromRow)]
struct MoveRow {
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

fn happening(row: &MoveRow) -> Option<Happening> {
    let payload = &row.payload.0;
    match row.event_type.as_str() {
        "stage_changed" => Some(Happening::Moved {
            at: row.occurred_at.0,
            from: stage(payload, "from"),
            to: stage(payload, "to")?,
            reason: text(payload, "reason"),
        }),
        "outcome_recorded" => Some(Happening::Outcome {
            won: text(payload, "outcome")? == "won",
            value: payload.get("value").and_then(Value::as_f64),
            reason: text(payload, "reason"),
        }),
        _ => None,
    }
}

impl Tx {
    /// Recomputes the journeys of these leads from their stored moves and outcomes.
    pub(crate) async fn refresh_journeys(&mut self, ids: &[i64]) -> Result<()> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(500) {
            let created: Vec<(i64, Ts)> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new("SELECT id, created_at FROM leads WHERE id IN (");
                let mut list = b.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                b.push(")");
                b.build_query_as().fetch_all(conn).await
            })?;
            let rows: Vec<MoveRow> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "SELECT lead_id, type, occurred_at, payload FROM events
                     WHERE type IN ('stage_changed', 'outcome_recorded') AND lead_id IN (",
                );
                let mut list = b.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                b.push(") ORDER BY lead_id, occurred_at, id");
                b.build_query_as().fetch_all(conn).await
            })?;
            let mut happenings: HashMap<i64, Vec<Happening>> = HashMap::new();
            for row in &rows {
                if let Some(h) = happening(row) {
                    happenings.entry(row.lead_id).or_default().push(h);
                }
            }
            for (id, created_at) in created {
                let journey = Journey::of(
                    created_at.0,
                    happenings.get(&id).map(Vec::as_slice).unwrap_or_default(),
                );
                self.save_journey(id, &journey).await?;
            }
        }
        Ok(())
    }

    async fn save_journey(&mut self, id: i64, j: &Journey) -> Result<()> {
        let outcome = j.outcome.map(|won| if won { "won" } else { "lost" });
        let [lead, mql, sal, sql, opportunity] = j.hours;
        on_tx!(self, conn => sqlx::query(
            "UPDATE leads SET reached = $1, outcome = $2, won_value = $3, disqualified_reason = $4,
                recycled_reason = $5, lost_reason = $6, hours_lead = $7, hours_mql = $8,
                hours_sal = $9, hours_sql = $10, hours_opportunity = $11
             WHERE id = $12",
        )
        .bind(i32::from(j.reached))
        .bind(outcome)
        .bind(j.won_value)
        .bind(j.disqualified_reason.as_deref())
        .bind(j.recycled_reason.as_deref())
        .bind(j.lost_reason.as_deref())
        .bind(lead)
        .bind(mql)
        .bind(sal)
        .bind(sql)
        .bind(opportunity)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct CellRow {
    month: String,
    channel: String,
    source_class: String,
    campaign: Option<String>,
    junk: i32,
    band: i32,
    stage: String,
    reached: i32,
    outcome: Option<String>,
    leads: i64,
    won_value: f64,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    kind: String,
    value: Option<String>,
    hours: Option<f64>,
    leads: i64,
}

/// The score band in SQL, as `analytics::band_of` says it (-1: not scored).
const BAND: &str =
    "CASE WHEN l.score IS NULL THEN -1 WHEN l.score < 20 THEN 0 WHEN l.score < 40 THEN 1
    WHEN l.score < 60 THEN 2 WHEN l.score < 80 THEN 3 ELSE 4 END";

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
        let month = match self.engine() {
            Engine::Sqlite => "strftime('%Y-%m', l.created_at / 1000000, 'unixepoch')",
            Engine::Postgres => "to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM')",
        };
        // Leads alike in everything the tables tell apart, counted in the database: a few
        // thousand cells come back however many leads there are.
        let cells: Vec<CellRow> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(format!(
                "SELECT {month} AS month, l.channel, l.source_class, l.campaign,
                    CASE WHEN l.junk = '' THEN 0 ELSE 1 END AS junk, {BAND} AS band, l.stage,
                    l.reached, l.outcome, COUNT(*) AS leads, SUM(l.won_value) AS won_value
                 FROM leads l WHERE 1 = 1"
            ));
            restrict(&mut b, scope);
            b.push(" GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9");
            b.build_query_as().fetch_all(pool).await
        })?;
        // Hours in each timed stage, and reasons given, each counted per distinct value.
        let counts: Vec<CountRow> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new("");
            let timed = TIMED.iter().map(|s| (s.as_str(), format!("hours_{}", s.as_str()), true));
            let reasons = ["disqualified", "recycled", "lost"]
                .into_iter()
                .map(|kind| (kind, format!("{kind}_reason"), false));
            for (i, (kind, column, is_hours)) in timed.chain(reasons).enumerate() {
                if i > 0 {
                    b.push(" UNION ALL ");
                }
                let (value, hours) = if is_hours {
                    ("NULL".to_owned(), format!("l.{column}"))
                } else {
                    (format!("l.{column}"), "NULL".to_owned())
                };
                // Each part reads its own partial index, in the order it groups by.
                b.push(format!(
                    "SELECT '{kind}' AS kind, {value} AS value, {hours} AS hours, COUNT(*) AS leads
                     FROM leads l WHERE l.{column} IS NOT NULL"
                ));
                restrict(&mut b, scope);
                b.push(format!(" GROUP BY l.{column}"));
            }
            b.build_query_as().fetch_all(pool).await
        })?;
        let cells: Vec<Cell> = cells
            .into_iter()
            .filter_map(|row| {
                Some(Cell {
                    stage: row.stage.parse().ok()?,
                    month: row.month,
                    channel: row.channel,
                    source_class: row.source_class,
                    campaign: row.campaign,
                    junk: row.junk != 0,
                    band: usize::try_from(row.band).ok(),
                    reached: u8::try_from(row.reached).unwrap_or(0),
                    outcome: row.outcome.map(|o| o == "won"),
                    leads: row.leads as u64,
                    won_value: row.won_value,
                })
            })
            .collect();
        let mut stays = Vec::new();
        let mut reasons = Vec::new();
        for row in counts {
            let leads = row.leads as u64;
            match (row.kind.parse::<Stage>(), row.hours, row.value) {
                (Ok(stage), Some(hours), _) => stays.push(Stay {
                    stage,
                    hours,
                    leads,
                }),
                (_, _, Some(reason)) => reasons.push(ReasonRow {
                    kind: match row.kind.as_str() {
                        "disqualified" => "disqualified",
                        "recycled" => "recycled",
                        _ => "lost",
                    },
                    reason,
                    count: leads,
                }),
                _ => {}
            }
        }
        Ok(analytics::build(&cells, &stays, &reasons))
    }

    /// Recomputes every lead's journey from its events (after the migration that added
    /// them, or to repair), a page of leads per transaction. Returns how many.
    pub async fn rebuild_journeys(&self) -> Result<usize> {
        let mut after = 0i64;
        let mut done = 0;
        loop {
            let mut tx = self.begin().await?;
            let ids: Vec<i64> = on_tx!(&mut tx, conn => sqlx::query_scalar(
                "SELECT id FROM leads WHERE id > $1 ORDER BY id LIMIT 1000",
            )
            .bind(after)
            .fetch_all(conn)
            .await)?;
            let Some(last) = ids.last() else { break };
            after = *last;
            tx.refresh_journeys(&ids).await?;
            tx.commit().await?;
            done += ids.len();
        }
        Ok(done)
    }
}
