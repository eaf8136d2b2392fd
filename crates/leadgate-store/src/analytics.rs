//! Closed-loop analytics from the journey kept on each lead: keeps those journeys up to date
//! as moves and outcomes are stored, and groups the leads of a period and scope in SQL for
//! core's pure `analytics::build`.

use crate::change_log::ChangeLog;
use crate::time::Ts;
use crate::{on_read_pool, on_tx, Engine, Result, Store, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::{self, Analytics, Cell, Happening, Journey, ReasonRow, Stay, TIMED};
use leadgate_core::drift::{drift, DriftCell, DriftRow};
use leadgate_core::id::LeadId;
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
    lead_id: LeadId,
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

/// A lead's creation time and journey as stored.
#[derive(sqlx::FromRow)]
struct StoredJourney {
    id: LeadId,
    created_at: Ts,
    reached: i32,
    outcome: Option<String>,
    won_value: f64,
    disqualified_reason: Option<String>,
    recycled_reason: Option<String>,
    lost_reason: Option<String>,
    hours_lead: Option<f64>,
    hours_mql: Option<f64>,
    hours_sal: Option<f64>,
    hours_sql: Option<f64>,
    hours_opportunity: Option<f64>,
}

impl StoredJourney {
    fn journey(&self) -> Journey {
        Journey {
            reached: u8::try_from(self.reached).unwrap_or(0),
            outcome: self.outcome.as_deref().map(|o| o == "won"),
            won_value: self.won_value,
            disqualified_reason: self.disqualified_reason.clone(),
            recycled_reason: self.recycled_reason.clone(),
            lost_reason: self.lost_reason.clone(),
            hours: [
                self.hours_lead,
                self.hours_mql,
                self.hours_sal,
                self.hours_sql,
                self.hours_opportunity,
            ],
        }
    }
}

/// The columns a journey is stored in, in the order `push_journey!` binds them.
pub(crate) const JOURNEY_COLUMNS: &str = "reached, outcome, won_value, disqualified_reason,
    recycled_reason, lost_reason, hours_lead, hours_mql, hours_sal, hours_sql, hours_opportunity";

/// Binds a journey's `JOURNEY_COLUMNS` into a `Separated` list, on either engine.
macro_rules! push_journey {
    ($list:expr, $journey:expr) => {{
        let j: &leadgate_core::analytics::Journey = $journey;
        let [lead, mql, sal, sql, opportunity] = j.hours;
        $list
            .push_bind(i32::from(j.reached))
            .push_bind(j.outcome.map(|won| if won { "won" } else { "lost" }))
            .push_bind(j.won_value)
            .push_bind(j.disqualified_reason.as_deref())
            .push_bind(j.recycled_reason.as_deref())
            .push_bind(j.lost_reason.as_deref())
            .push_bind(lead)
            .push_bind(mql)
            .push_bind(sal)
            .push_bind(sql)
            .push_bind(opportunity);
    }};
}
pub(crate) use push_journey;

impl Tx {
    /// Recomputes the journeys of these leads from their stored moves and outcomes, and
    /// writes those that differ from what is stored (a lead imported with its outcome was
    /// stored with its journey).
    pub(crate) async fn refresh_journeys(&mut self, ids: &[LeadId]) -> Result<()> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(500) {
            let stored: Vec<StoredJourney> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(format!(
                    "SELECT id, created_at, {JOURNEY_COLUMNS} FROM leads WHERE id IN ("
                ));
                crate::push_in_list(&mut b, chunk.iter().copied());
                b.build_query_as().fetch_all(conn).await
            })?;
            let rows: Vec<MoveRow> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "SELECT lead_id, type, occurred_at, payload FROM events
                     WHERE type IN ('stage_changed', 'outcome_recorded') AND lead_id IN (",
                );
                crate::push_in_list(&mut b, chunk.iter().copied());
                b.push(" ORDER BY lead_id, occurred_at, id");
                b.build_query_as().fetch_all(conn).await
            })?;
            let mut happenings: HashMap<LeadId, Vec<Happening>> = HashMap::new();
            for row in &rows {
                if let Some(h) = happening(row) {
                    happenings.entry(row.lead_id).or_default().push(h);
                }
            }
            let journeys: Vec<(LeadId, Journey)> = stored
                .into_iter()
                .filter_map(|lead| {
                    let happened = happenings.get(&lead.id).map(Vec::as_slice);
                    let journey = Journey::of(lead.created_at.0, happened.unwrap_or_default());
                    (journey != lead.journey()).then_some((lead.id, journey))
                })
                .collect();
            self.save_journeys(&journeys).await?;
        }
        Ok(())
    }

    /// Writes leads' journeys, one statement for them all.
    async fn save_journeys(&mut self, journeys: &[(LeadId, Journey)]) -> Result<()> {
        if journeys.is_empty() {
            return Ok(());
        }
        let ids: Vec<LeadId> = journeys.iter().map(|(id, _)| *id).collect();
        let before = self.counted_before(&ids).await?;
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(format!("WITH v (id, {JOURNEY_COLUMNS}) AS ("));
            b.push_values(journeys, |mut row, (id, j)| {
                row.push_bind(*id);
                push_journey!(row, j);
            });
            b.push(
                ") UPDATE leads SET reached = v.reached, outcome = v.outcome, won_value = v.won_value,
                    disqualified_reason = v.disqualified_reason, recycled_reason = v.recycled_reason,
                    lost_reason = v.lost_reason, hours_lead = v.hours_lead, hours_mql = v.hours_mql,
                    hours_sal = v.hours_sal, hours_sql = v.hours_sql, hours_opportunity = v.hours_opportunity
                 FROM v WHERE leads.id = v.id",
            );
            b.build().execute(conn).await.map(|_| ())
        })?;
        let written: HashMap<LeadId, &Journey> = journeys.iter().map(|(id, j)| (*id, j)).collect();
        self.count_written(before, |lead| {
            if let Some(journey) = written.get(&lead.id) {
                lead.counted.journey = (*journey).clone();
            }
        })
        .await
    }
}

/// One row of the rollup's shape (see migration 0022): a cell, a stay or a reason count,
/// with '' / -1 / 0 in the columns its kind does not use. Read from a JSON array of the
/// columns in this order (see `as_json`).
#[derive(serde::Deserialize)]
struct FactRow {
    month: String,
    kind: String,
    channel: String,
    source_class: String,
    campaign: String,
    junk: i32,
    band: i32,
    stage: String,
    reached: i32,
    outcome: String,
    reason: String,
    hours: f64,
    leads: i64,
    won_value: f64,
}

impl FactRow {
    /// What tells rollup rows apart (`FACT_KEY`).
    #[allow(clippy::type_complexity)]
    fn key(
        &self,
    ) -> (
        &str,
        &str,
        &str,
        &str,
        &str,
        i32,
        i32,
        &str,
        i32,
        &str,
        &str,
        u64,
    ) {
        (
            &self.month,
            &self.kind,
            &self.channel,
            &self.source_class,
            &self.campaign,
            self.junk,
            self.band,
            &self.stage,
            self.reached,
            &self.outcome,
            &self.reason,
            self.hours.to_bits(),
        )
    }
}

/// The rollup's columns that tell its rows apart.
const FACT_KEY: &str = "month, kind, channel, source_class, campaign, junk, band, stage, \
    reached, outcome, reason, hours";

/// Around a query of rollup-shaped rows: all its rows as one JSON array in one value. sqlx
/// hands SQLite rows over one at a time (about 8 µs for a row this wide: 40 ms for the
/// 5,000 rows of a 20,000-lead rollup), where the database builds the JSON and serde reads
/// it in a tenth of that.
/// Leads (`l`) within the scope: created in its period, owned by its team.
fn restrict<'a, DB: sqlx::Database>(b: &mut sqlx::QueryBuilder<'a, DB>, scope: &'a AnalyticsScope)
where
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

/// The `YYYY-MM` a lead (`l`) was created, in SQL.
fn month_of_created(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "strftime('%Y-%m', l.created_at / 1000000, 'unixepoch')",
        Engine::Postgres => "to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM')",
    }
}

fn as_json(engine: Engine) -> (String, &'static str) {
    let columns = format!("{FACT_KEY}, leads, won_value");
    match engine {
        Engine::Sqlite => (
            format!("SELECT json_group_array(json_array({columns})) FROM ("),
            ") f",
        ),
        Engine::Postgres => (
            format!("SELECT COALESCE(json_agg(json_build_array({columns})), '[]') FROM ("),
            ") f",
        ),
    }
}

/// What the tables are built from, gathered from the rollup and from lead rows alike.
#[derive(Default)]
struct Facts {
    cells: Vec<Cell>,
    stays: Vec<Stay>,
    reasons: Vec<ReasonRow>,
}

impl Facts {
    fn add(&mut self, rows: Vec<FactRow>) {
        for row in rows {
            // Counts netted to nothing (every lead of a cell moved on) are no row at all.
            let Ok(leads @ 1..) = u64::try_from(row.leads) else {
                continue;
            };
            match row.kind.as_str() {
                "cell" => {
                    let Ok(stage) = row.stage.parse() else {
                        continue;
                    };
                    self.cells.push(Cell {
                        stage,
                        month: row.month,
                        channel: row.channel,
                        source_class: row.source_class,
                        campaign: Some(row.campaign).filter(|c| !c.is_empty()),
                        junk: row.junk != 0,
                        band: usize::try_from(row.band).ok(),
                        reached: u8::try_from(row.reached).unwrap_or(0),
                        outcome: match row.outcome.as_str() {
                            "" => None,
                            outcome => Some(outcome == "won"),
                        },
                        leads,
                        won_value: row.won_value,
                    });
                }
                "stay" => {
                    if let Ok(stage) = row.stage.parse() {
                        self.stays.push(Stay {
                            stage,
                            hours: row.hours,
                            leads,
                        });
                    }
                }
                kind => {
                    let kind = match kind {
                        "disqualified" => "disqualified",
                        "recycled" => "recycled",
                        "lost" => "lost",
                        _ => continue,
                    };
                    self.reasons.push(ReasonRow {
                        kind,
                        reason: row.reason,
                        count: leads,
                    });
                }
            }
        }
    }
}

/// The first instant of the month `at` falls in (UTC).
fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{Datelike, TimeZone};
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at)
}

/// The first instant of the month after the one `at` falls in.
fn next_month(at: DateTime<Utc>) -> DateTime<Utc> {
    let start = month_start(at);
    start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(start)
}

/// A period cut into the whole months the rollup answers for (`YYYY-MM` bounds, either
/// open) and the partial months at its ends, read from the leads themselves.
struct Split {
    months: Option<(Option<String>, Option<String>)>,
    edges: Vec<AnalyticsScope>,
}

fn period(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> AnalyticsScope {
    AnalyticsScope {
        from,
        to,
        team: None,
    }
}

fn split(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Split {
    let first = from.map(|f| {
        if month_start(f) == f {
            f
        } else {
            next_month(f)
        }
    });
    let end = to.map(month_start);
    if let (Some(first), Some(end)) = (first, end) {
        if first >= end {
            return Split {
                months: None,
                edges: vec![period(from, to)],
            };
        }
    }
    let mut edges = Vec::new();
    if let (Some(from), Some(first)) = (from, first) {
        if from < first {
            edges.push(period(Some(from), Some(first)));
        }
    }
    if let (Some(end), Some(to)) = (end, to) {
        if end < to {
            edges.push(period(Some(end), Some(to)));
        }
    }
    let label = |at: DateTime<Utc>| at.format("%Y-%m").to_string();
    Split {
        months: Some((first.map(label), end.map(label))),
        edges,
    }
}

impl Store {
    /// The funnel, sources, reasons, score bands and stage times of the leads in `scope`.
    ///
    /// Whole months come from the monthly rollup (plus its changes not yet folded); a
    /// period's partial months at either end, and a team's analytics (the rollup is not kept
    /// per owner), are counted from the lead rows.
    pub async fn analytics(&self, scope: &AnalyticsScope) -> Result<Analytics> {
        let mut facts = Facts::default();
        if scope.team.is_some() {
            facts.add(self.facts_from_leads(scope).await?);
        } else {
            let split = split(scope.from, scope.to);
            if let Some((first, end)) = &split.months {
                facts.add(
                    self.facts_from_rollup(first.as_deref(), end.as_deref())
                        .await?,
                );
            }
            for edge in &split.edges {
                facts.add(self.facts_from_leads(edge).await?);
            }
        }
        Ok(analytics::build(&facts.cells, &facts.stays, &facts.reasons))
    }

    /// The conversion model's predicted won rate against the actual one, per month the leads
    /// arrived and per channel, over closed leads that were predicted while open.
    pub async fn model_drift(&self, scope: &AnalyticsScope) -> Result<Vec<DriftRow>> {
        let month = month_of_created(self.engine());
        let cells: Vec<(String, String, String, i64, f64, f64)> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(format!(
                "SELECT {month} AS month, l.channel, l.outcome, COUNT(*) AS leads,
                    SUM(l.probability) AS predicted,
                    SUM(l.probability * (1 - l.probability)) AS variance
                 FROM leads l
                 WHERE l.probability IS NOT NULL AND l.outcome IN ('won', 'lost')"
            ));
            restrict(&mut b, scope);
            b.push(" GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
            b.build_query_as().fetch_all(pool).await
        })?;
        let cells: Vec<DriftCell> = cells
            .into_iter()
            .map(
                |(month, channel, outcome, leads, predicted, variance)| DriftCell {
                    month,
                    channel,
                    won: outcome == "won",
                    leads: leads.max(0) as u64,
                    predicted,
                    variance,
                },
            )
            .collect();
        Ok(drift(&cells))
    }

    /// The same analytics counted from every lead row in `scope`, bypassing the rollup:
    /// what the rollup must always agree with.
    pub async fn analytics_from_leads(&self, scope: &AnalyticsScope) -> Result<Analytics> {
        let mut facts = Facts::default();
        facts.add(self.facts_from_leads(scope).await?);
        Ok(analytics::build(&facts.cells, &facts.stays, &facts.reasons))
    }

    /// The rollup's rows for whole months from `first` to before `end`, with the changes not
    /// yet folded added in. Rollup rows are unique, so only the (few) changes are grouped:
    /// sorting every rollup row to group it costs more than the rest of the page.
    async fn facts_from_rollup(
        &self,
        first: Option<&str>,
        end: Option<&str>,
    ) -> Result<Vec<FactRow>> {
        // Open ends as bounds every `YYYY-MM` falls within.
        let first = first.unwrap_or("0000-00");
        let end = end.unwrap_or("9999-99");
        let (open, close) = as_json(self.engine());
        let read = |table: &str, grouped: bool| {
            let rows = if grouped {
                format!(
                    "SELECT {FACT_KEY}, CAST(SUM(leads) AS BIGINT) AS leads,
                        SUM(won_value) AS won_value FROM {table}
                     WHERE month >= $1 AND month < $2 GROUP BY {FACT_KEY}"
                )
            } else {
                format!(
                    "SELECT {FACT_KEY}, leads, won_value FROM {table}
                     WHERE month >= $1 AND month < $2"
                )
            };
            format!("{open}{rows}{close}")
        };
        let (rollup, changes) = (
            read("analytics_rollup", false),
            read("analytics_changes", true),
        );
        let (Json(mut rows), Json(changes)): (Json<Vec<FactRow>>, Json<Vec<FactRow>>) = on_read_pool!(self, pool => {
            let rows = sqlx::query_scalar(&rollup).bind(first).bind(end).fetch_one(pool).await?;
            let changes =
                sqlx::query_scalar(&changes).bind(first).bind(end).fetch_one(pool).await?;
            Ok::<_, sqlx::Error>((rows, changes))
        })?;
        let index: HashMap<_, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key(), i))
            .collect();
        let mut folded = vec![false; changes.len()];
        for row in &mut rows {
            let found = index.get(&row.key()).copied();
            if let Some(i) = found {
                folded[i] = true;
                row.leads += changes[i].leads;
                row.won_value += changes[i].won_value;
            }
        }
        drop(index);
        rows.extend(
            changes
                .into_iter()
                .zip(folded)
                .filter_map(|(change, folded)| (!folded).then_some(change)),
        );
        Ok(rows)
    }

    /// Rollup-shaped rows counted from the lead rows of `scope`.
    async fn facts_from_leads(&self, scope: &AnalyticsScope) -> Result<Vec<FactRow>> {
        let month = month_of_created(self.engine());
        let (open, close) = as_json(self.engine());
        let Json(rows) = on_read_pool!(self, pool => {
            // Leads alike in everything the tables tell apart, counted in the database: a few
            // thousand cells come back however many leads there are.
            let mut b = sqlx::QueryBuilder::new(format!(
                "{open}SELECT {month} AS month, 'cell' AS kind, l.channel, l.source_class,
                    COALESCE(l.campaign, '') AS campaign,
                    CASE WHEN l.junk = '' THEN 0 ELSE 1 END AS junk, l.score_band AS band, l.stage,
                    l.reached, COALESCE(l.outcome, '') AS outcome, '' AS reason,
                    0.0 AS hours, COUNT(*) AS leads,
                    SUM(l.won_value) AS won_value
                 FROM leads l WHERE 1 = 1"
            ));
            restrict(&mut b, scope);
            b.push(" GROUP BY 1, 3, 4, 5, 6, 7, 8, 9, 10");
            // Hours in each timed stage, and reasons given, each counted per distinct value;
            // each part reads its own partial index, in the order it groups by.
            for stage in TIMED {
                let stage = stage.as_str();
                b.push(format!(
                    " UNION ALL SELECT {month}, 'stay', '', '', '', 0, -1, '{stage}', 0, '', '',
                        l.hours_{stage}, COUNT(*), 0.0 FROM leads l
                     WHERE l.hours_{stage} IS NOT NULL"
                ));
                restrict(&mut b, scope);
                b.push(format!(" GROUP BY l.hours_{stage}, 1"));
            }
            for kind in ["disqualified", "recycled", "lost"] {
                b.push(format!(
                    " UNION ALL SELECT {month}, '{kind}', '', '', '', 0, -1, '', 0, '',
                        l.{kind}_reason, 0.0, COUNT(*), 0.0 FROM leads l
                     WHERE l.{kind}_reason IS NOT NULL"
                ));
                restrict(&mut b, scope);
                b.push(format!(" GROUP BY l.{kind}_reason, 1"));
            }
            b.push(close);
            b.build_query_scalar::<Json<Vec<FactRow>>>().fetch_one(pool).await
        })?;
        Ok(rows)
    }

    /// Folds the rollup's pending changes into it; returns how many were folded. Run now and
    /// then by every server (reads are right either way; fewer changes read faster).
    pub async fn fold_analytics(&self) -> Result<u64> {
        self.fold(&ChangeLog {
            counts: "analytics_rollup",
            changes: "analytics_changes",
            upsert: format!(
                "INSERT INTO analytics_rollup ({FACT_KEY}, leads, won_value)
                 SELECT {FACT_KEY}, SUM(leads), SUM(won_value) FROM CHANGES WHERE 1 = 1
                 GROUP BY {FACT_KEY}
                 ON CONFLICT ({FACT_KEY}) DO UPDATE SET leads = analytics_rollup.leads + excluded.leads,
                    won_value = analytics_rollup.won_value + excluded.won_value"
            ),
        })
        .await
    }

    /// Recomputes every lead's journey from its events (after the migration that added
    /// them, or to repair), a page of leads per transaction. Returns how many.
    pub async fn rebuild_journeys(&self) -> Result<usize> {
        let mut after = LeadId(0);
        let mut done = 0;
        loop {
            let mut tx = self.begin().await?;
            let ids: Vec<LeadId> = on_tx!(&mut tx, conn => sqlx::query_scalar(
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
