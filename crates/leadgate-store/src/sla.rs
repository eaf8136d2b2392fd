//! SLA clocks on leads: started when a lead enters a timed stage (deadline in its owner's
//! team's working hours), answered by leaving the stage, a contact or a next step, checked
//! by a job at the deadline that marks a breach and escalates; compliance for reports.

use crate::jobs::NewJob;
use crate::leads::StoredLead;
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::id::{ClockId, LeadId};
use leadgate_core::job::JobKind;
use leadgate_core::sla::{self, ClockState, Escalation, SlaRule, Until};
use leadgate_core::temperature::Temperature;
use leadgate_core::FieldError;
use serde::Serialize;
use serde_json::json;
use sqlx::types::Json;

/// A clock as stored, with where it stands now.
#[derive(Debug, Clone, Serialize)]
pub struct SlaClock {
    pub id: ClockId,
    pub lead_id: LeadId,
    pub rule: String,
    pub stage: String,
    pub until: String,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub started_at: Ts,
    pub due_at: Ts,
    pub met_at: Option<Ts>,
    pub breached_at: Option<Ts>,
    pub state: ClockState,
    /// Working time left (negative: overdue), in minutes, for running clocks.
    pub minutes_left: Option<i64>,
    /// A running clock outside its team's working hours stands still until then.
    pub paused_until: Option<Ts>,
}

/// A clock as stored, for the use cases that check, restart and recycle by it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredClock {
    pub id: ClockId,
    pub lead_id: LeadId,
    pub rule: String,
    pub stage: String,
    pub until_event: String,
    pub on_breach: Json<Vec<Escalation>>,
    pub recycle_after_days: Option<i32>,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub started_at: Ts,
    pub due_at: Ts,
    pub met_at: Option<Ts>,
    pub breached_at: Option<Ts>,
    #[sqlx(try_from = "String")]
    pub state: ClockState,
    pub within: String,
    pub temperature: Option<String>,
    pub grade: Option<String>,
    pub policy_version: i64,
}

impl StoredClock {
    /// The rule the clock was started by, as it was then (the policy may have changed).
    pub fn rule(&self) -> Result<SlaRule> {
        let corrupt = |what: &str, reason: String| StoreError::Conflict {
            field: format!("sla_clocks.{what}"),
            reason,
        };
        Ok(SlaRule {
            name: self.rule.clone(),
            stage: self
                .stage
                .parse()
                .map_err(|e: leadgate_core::stage::UnknownStage| corrupt("stage", e.to_string()))?,
            temperatures: Vec::new(),
            grades: Vec::new(),
            within: self.within.parse().map_err(|e| corrupt("within", e))?,
            until: serde_json::from_value(json!(self.until_event))
                .map_err(|e| corrupt("until_event", e.to_string()))?,
            on_breach: self.on_breach.0.clone(),
            recycle_after_days: self.recycle_after_days.map(|d| d.max(1) as u32),
        })
    }
}

/// A clock to start: its rule, for whom, in which team's hours, and when it is due.
pub struct NewClock<'a> {
    pub rule: &'a SlaRule,
    pub owner: Option<&'a str>,
    pub team: Option<&'a str>,
    /// The lead's temperature and grade when it entered the stage, for reports.
    pub temperature: Option<Temperature>,
    pub grade: Option<&'a str>,
    pub policy_version: i64,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// Which of a lead's open clocks an answer ends.
enum Answered<'a> {
    /// The clocks of the stage it left.
    Stage(&'a str),
    /// The clocks waiting for a contact or a next step.
    Until(&'a str),
}

const CLOCK_COLUMNS: &str =
    "id, lead_id, rule, stage, until_event, on_breach, recycle_after_days, \
                             owner, team, started_at, due_at, met_at, breached_at, state, within, \
                             temperature, grade, policy_version";

/// Compliance of one group of clocks (one owner, team, stage, rule, channel or temperature).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Compliance {
    pub key: Option<String>,
    pub clocks: i64,
    pub met: i64,
    pub breached: i64,
    pub running: i64,
    /// met / (met + breached); None before any clock ended.
    pub compliance: Option<f64>,
}

/// What compliance can be grouped by.
pub const COMPLIANCE_GROUPS: [&str; 7] = [
    "owner",
    "team",
    "stage",
    "rule",
    "channel",
    "temperature",
    "grade",
];

impl Tx {
    /// Starts a clock on a lead, with the job that checks it at its deadline.
    pub async fn start_clock(&mut self, lead: &StoredLead, clock: &NewClock<'_>) -> Result<()> {
        let rule = clock.rule;
        let until = serde_json::to_value(rule.until).unwrap_or_default();
        let id: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "INSERT INTO sla_clocks (lead_id, rule, stage, until_event, on_breach, recycle_after_days, owner, team,
                                     temperature, channel, policy_version, started_at, due_at, within, grade, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'running') RETURNING id",
        )
        .bind(lead.id)
        .bind(&rule.name)
        .bind(rule.stage.as_str())
        .bind(until.as_str().unwrap_or_default())
        .bind(Json(&rule.on_breach))
        .bind(rule.recycle_after_days.map(|d| d as i32))
        .bind(clock.owner)
        .bind(clock.team)
        .bind(clock.temperature.map(Temperature::as_str))
        .bind(lead.first_touch.channel.as_str())
        .bind(clock.policy_version)
        .bind(Ts(to_micros(clock.started_at)))
        .bind(Ts(to_micros(clock.due_at)))
        .bind(rule.within.to_string())
        .bind(clock.grade)
        .fetch_one(conn)
        .await)?;
        self.enqueue_job(
            &NewJob::new(JobKind::SlaCheck, json!({"clock_id": id}), clock.due_at)
                .keyed(format!("sla:{id}")),
        )
        .await?;
        Ok(())
    }

    /// Ends the lead's open clocks that `answered` selects, at `at`: met when on time,
    /// breached (with the answer time) when late.
    async fn answer(
        &mut self,
        lead_id: LeadId,
        answered: Answered<'_>,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let (column, value) = match answered {
            Answered::Stage(stage) => ("stage", stage),
            Answered::Until(until) => ("until_event", until),
        };
        let sql = format!(
            "UPDATE sla_clocks SET met_at = $1,
                    state = CASE WHEN state = 'breached' OR due_at < $1 THEN 'breached' ELSE 'met' END
             WHERE lead_id = $2 AND met_at IS NULL AND state IN ('running', 'breached') AND {column} = $3"
        );
        let at = Ts(to_micros(at));
        Ok(on_tx!(self, conn => sqlx::query(&sql)
            .bind(at)
            .bind(lead_id)
            .bind(value)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?)
    }

    /// A contact or a next step answers the clocks waiting for it.
    pub async fn answer_clocks(
        &mut self,
        lead_id: LeadId,
        until: Until,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let until = serde_json::to_value(until).unwrap_or_default();
        self.answer(
            lead_id,
            Answered::Until(until.as_str().unwrap_or_default()),
            at,
        )
        .await
    }

    /// Leaving a stage answers the clocks of that stage.
    pub async fn answer_stage(
        &mut self,
        lead_id: LeadId,
        stage: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        self.answer(lead_id, Answered::Stage(stage), at).await
    }

    /// The lead's clocks still running.
    pub async fn running_clocks_of_lead(&mut self, lead_id: LeadId) -> Result<Vec<StoredClock>> {
        self.running_clocks_of_leads(&[lead_id]).await
    }

    /// The running clocks of these leads, by lead and then start.
    pub async fn running_clocks_of_leads(&mut self, ids: &[LeadId]) -> Result<Vec<StoredClock>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(format!(
                "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE met_at IS NULL AND state = 'running' AND lead_id IN ("
            ));
            crate::push_in_list(&mut b, ids.iter().copied());
            b.push(" ORDER BY lead_id, started_at, id");
            b.build_query_as().fetch_all(conn).await
        })?)
    }

    /// Ends a running clock because its lead went to another rep.
    pub async fn end_reassigned(&mut self, clock_id: ClockId, at: DateTime<Utc>) -> Result<()> {
        on_tx!(self, conn => sqlx::query("UPDATE sla_clocks SET state = 'reassigned', met_at = $1 WHERE id = $2")
            .bind(Ts(to_micros(at)))
            .bind(clock_id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The clock `id`, if there is one.
    pub async fn clock(&mut self, id: ClockId) -> Result<Option<StoredClock>> {
        let sql = format!("SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE id = $1");
        Ok(on_tx!(self, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?)
    }

    /// Marks a clock breached at `at`.
    pub async fn breach_clock(&mut self, id: ClockId, at: DateTime<Utc>) -> Result<()> {
        on_tx!(self, conn => sqlx::query("UPDATE sla_clocks SET state = 'breached', breached_at = $1 WHERE id = $2")
            .bind(Ts(to_micros(at)))
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Queues the job that recycles a breached clock's lead at `due` if nobody touched it.
    pub async fn queue_recycle(&mut self, clock_id: ClockId, due: DateTime<Utc>) -> Result<()> {
        self.enqueue_job(
            &NewJob::new(JobKind::SlaRecycle, json!({"clock_id": clock_id}), due)
                .keyed(format!("sla-recycle:{clock_id}")),
        )
        .await?;
        Ok(())
    }

    /// Whether anyone worked the lead after `since` (a contact, a note, a task or a move).
    pub async fn touched_since(&mut self, lead_id: LeadId, since: DateTime<Utc>) -> Result<bool> {
        let touched: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE lead_id = $1 AND occurred_at > $2
               AND type IN ('call_logged', 'email_logged', 'meeting_logged', 'note_added', 'task_created', 'stage_changed')",
        )
        .bind(lead_id)
        .bind(Ts(since))
        .fetch_one(conn)
        .await)?;
        Ok(touched > 0)
    }
}

fn view(row: StoredClock, calendar: &BusinessCalendar, now: DateTime<Utc>) -> SlaClock {
    let running = row.state == ClockState::Running;
    let minutes_left = running.then(|| {
        let (_, left) = sla::standing(calendar, row.due_at.0, None, now);
        left.num_minutes()
    });
    let paused_until = running
        .then(|| calendar.resumes_at(now))
        .flatten()
        .filter(|resumes| *resumes > now)
        .map(Ts);
    SlaClock {
        id: row.id,
        lead_id: row.lead_id,
        rule: row.rule,
        stage: row.stage,
        until: row.until_event,
        owner: row.owner,
        team: row.team,
        started_at: row.started_at,
        due_at: row.due_at,
        met_at: row.met_at,
        breached_at: row.breached_at,
        state: row.state,
        minutes_left,
        paused_until,
    }
}

impl Store {
    /// The lead an SLA clock times (`None`: no such clock).
    pub async fn lead_of_clock(&self, clock_id: ClockId) -> Result<Option<LeadId>> {
        Ok(
            on_read_pool!(self, pool => sqlx::query_scalar("SELECT lead_id FROM sla_clocks WHERE id = $1")
            .bind(clock_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// A lead's clocks, newest first, with working time left on running ones.
    pub async fn lead_clocks(&self, lead_id: LeadId, now: DateTime<Utc>) -> Result<Vec<SlaClock>> {
        let sql =
            format!("SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE lead_id = $1 ORDER BY id DESC");
        let rows: Vec<StoredClock> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(lead_id).fetch_all(pool).await)?;
        self.views(rows, now).await
    }

    /// Running clocks by deadline (an owner's, or everyone's): the countdowns of an inbox.
    pub async fn running_clocks(
        &self,
        owner: Option<&str>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<SlaClock>> {
        // Two texts rather than "($1 IS NULL OR owner = $1)", which keeps the owner index
        // out of use.
        let owned = if owner.is_some() {
            "AND owner = $2"
        } else {
            "AND $2 IS NULL"
        };
        let sql = format!(
            "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE state = 'running' {owned}
             ORDER BY due_at, id LIMIT $1"
        );
        let rows: Vec<StoredClock> = on_read_pool!(self, pool => sqlx::query_as(&sql).bind(limit.clamp(1, 1000)).bind(owner).fetch_all(pool).await)?;
        self.views(rows, now).await
    }

    /// The running clocks of these leads (the countdowns of the leads a page shows).
    pub async fn running_clocks_of(
        &self,
        lead_ids: &[LeadId],
        now: DateTime<Utc>,
    ) -> Result<Vec<SlaClock>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<StoredClock> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(format!(
                "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE state = 'running' AND lead_id IN ("
            ));
            crate::push_in_list(&mut b, lead_ids.iter().take(1000).copied());
            b.push(" ORDER BY due_at, id");
            b.build_query_as().fetch_all(pool).await
        })?;
        self.views(rows, now).await
    }

    async fn views(&self, rows: Vec<StoredClock>, now: DateTime<Utc>) -> Result<Vec<SlaClock>> {
        let teams = self.teams().await?;
        let always = BusinessCalendar::always();
        Ok(rows
            .into_iter()
            .map(|row| {
                let calendar = row
                    .team
                    .as_ref()
                    .and_then(|name| teams.iter().find(|t| &t.name == name))
                    .map_or(&always, |t| &t.calendar);
                view(row, calendar, now)
            })
            .collect())
    }

    /// SLA compliance grouped by `group` (one of `COMPLIANCE_GROUPS`), over clocks started
    /// in [from, to).
    pub async fn sla_compliance(
        &self,
        group: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<Compliance>> {
        if !COMPLIANCE_GROUPS.contains(&group) {
            return Err(FieldError::new(
                "by",
                format!("is one of {}", COMPLIANCE_GROUPS.join(", ")),
            )
            .into());
        }
        let column = if group == "rule" { "rule" } else { group };
        let sql = format!(
            "SELECT {column} AS key, COUNT(*) AS clocks,
                    SUM(CASE WHEN state = 'met' THEN 1 ELSE 0 END) AS met,
                    SUM(CASE WHEN state = 'breached' THEN 1 ELSE 0 END) AS breached,
                    SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running,
                    CAST(SUM(CASE WHEN state = 'met' THEN 1 ELSE 0 END) AS DOUBLE PRECISION)
                      / NULLIF(SUM(CASE WHEN state IN ('met', 'breached') THEN 1 ELSE 0 END), 0) AS compliance
             FROM sla_clocks
             WHERE state <> 'reassigned' AND ($1 IS NULL OR started_at >= $1) AND ($2 IS NULL OR started_at < $2)
             GROUP BY {column} ORDER BY {column}"
        );
        let rows = on_read_pool!(self, pool => sqlx::query_as(&sql)
            .bind(from.map(|t| Ts(to_micros(t))))
            .bind(to.map(|t| Ts(to_micros(t))))
            .fetch_all(pool)
            .await)?;
        Ok(rows)
    }
}
