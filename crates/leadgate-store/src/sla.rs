//! SLA clocks on leads: started when a lead enters a timed stage (deadline in its owner's
//! team's working hours), answered by leaving the stage, a contact or a next step, checked
//! by a job at the deadline that marks a breach and escalates; compliance for reports.

use crate::jobs::NewJob;
use crate::leads::StoredLead;
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, ActivePolicy, Result, Store, StoreError, Tx};
use chrono::{DateTime, Duration, Utc};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::job::JobKind;
use leadgate_core::lifecycle::{self, MoveRequest, Mover};
use leadgate_core::routing::RoutingFacts;
use leadgate_core::scoring::Score;
use leadgate_core::sla::{self, ClockState, Escalation, SlaRule, Until};
use leadgate_core::temperature::Temperature;
use leadgate_core::{FieldError, Stage};
use serde::Serialize;
use serde_json::json;
use sqlx::types::Json;

/// A clock as stored, with where it stands now.
#[derive(Debug, Clone, Serialize)]
pub struct SlaClock {
    pub id: i64,
    pub lead_id: i64,
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
}

#[derive(sqlx::FromRow)]
struct ClockRow {
    id: i64,
    lead_id: i64,
    rule: String,
    stage: String,
    until_event: String,
    on_breach: Json<Vec<Escalation>>,
    recycle_after_days: Option<i32>,
    owner: Option<String>,
    team: Option<String>,
    started_at: Ts,
    due_at: Ts,
    met_at: Option<Ts>,
    breached_at: Option<Ts>,
    #[sqlx(try_from = "String")]
    state: ClockState,
    within: String,
    temperature: Option<String>,
    grade: Option<String>,
    policy_version: i64,
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
    async fn calendar_of(
        &mut self,
        owner: Option<&str>,
    ) -> Result<(Option<String>, BusinessCalendar)> {
        Ok(match self.team_of(owner).await? {
            Some(team) => (Some(team.name), team.calendar),
            None => (None, BusinessCalendar::always()),
        })
    }

    /// Starts the clock `rule` for a lead owned by `owner`, from `at`, with its check job;
    /// `(temperature, grade)` as the lead was when it entered the stage, for reports.
    async fn start_clock(
        &mut self,
        lead: &StoredLead,
        rule: &SlaRule,
        owner: Option<&str>,
        (temperature, grade): (Option<Temperature>, Option<&str>),
        version: i64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let (team, calendar) = self.calendar_of(owner).await?;
        let Some(due) = rule.within.deadline(&calendar, at) else {
            tracing::warn!(lead = lead.id, rule = %rule.name, "the team's calendar has no working time ahead; no clock started");
            return Ok(());
        };
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
        .bind(owner)
        .bind(&team)
        .bind(temperature.map(Temperature::as_str))
        .bind(lead.first_touch.channel.as_str())
        .bind(version)
        .bind(Ts(to_micros(at)))
        .bind(Ts(to_micros(due)))
        .bind(rule.within.to_string())
        .bind(grade)
        .fetch_one(conn)
        .await)?;
        self.enqueue_job(
            &NewJob::new(JobKind::SlaCheck, json!({"clock_id": id}), due)
                .keyed(format!("sla:{id}")),
        )
        .await?;
        Ok(())
    }

    /// Ends the clocks of a lead that `condition` selects, answered at `at`: met when on
    /// time, breached (with the answer time) when late.
    async fn answer(
        &mut self,
        lead_id: i64,
        condition: &str,
        value: &str,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let sql = format!(
            "UPDATE sla_clocks SET met_at = $1,
                    state = CASE WHEN state = 'breached' OR due_at < $1 THEN 'breached' ELSE 'met' END
             WHERE lead_id = $2 AND met_at IS NULL AND state IN ('running', 'breached') AND {condition} = $3"
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
    pub(crate) async fn answer_clocks(
        &mut self,
        lead_id: i64,
        until: Until,
        at: DateTime<Utc>,
    ) -> Result<u64> {
        let until = serde_json::to_value(until).unwrap_or_default();
        self.answer(
            lead_id,
            "until_event",
            until.as_str().unwrap_or_default(),
            at,
        )
        .await
    }

    /// After a lead moved from its stage to `to`: the old stage's clocks end, a new MQL
    /// without an owner is routed, and the new stage's clock starts. (Routing and clocks are
    /// still a workflow inside the store; the moves that set them off are the use cases'.)
    pub async fn after_move(
        &mut self,
        lead: &StoredLead,
        to: Stage,
        active: &ActivePolicy,
        score: &Score,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.answer(lead.id, "stage", lead.lead.stage.as_str(), at)
            .await?;
        let policy = &active.policy;
        let mut owner = lead.lead.owner.as_ref().map(|o| o.as_str().to_owned());
        if to == Stage::Mql && owner.is_none() && !policy.routing.is_empty() {
            let facts = RoutingFacts {
                channel: lead.first_touch.channel.as_str(),
                grade: &score.grade,
                temperature: score.temperature,
            };
            owner = self
                .route(lead, &policy.routing, facts, None, at)
                .await?
                .owner;
        }
        if let Some(rule) = sla::rule_for(&policy.sla, to, score.temperature, &score.grade) {
            self.start_clock(
                lead,
                rule,
                owner.as_deref(),
                (Some(score.temperature), Some(&score.grade)),
                active.version,
                at,
            )
            .await?;
        }
        Ok(())
    }

    /// A lead given to another rep: its open clocks end as reassigned and start afresh for
    /// the new owner, in their team's hours.
    pub async fn restart_clocks(
        &mut self,
        lead: &StoredLead,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let sql = format!("SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE lead_id = $1 AND met_at IS NULL AND state = 'running'");
        let open: Vec<ClockRow> =
            on_tx!(self, conn => sqlx::query_as(&sql).bind(lead.id).fetch_all(conn).await)?;
        for clock in open {
            on_tx!(self, conn => sqlx::query("UPDATE sla_clocks SET state = 'reassigned', met_at = $1 WHERE id = $2")
                .bind(Ts(to_micros(at)))
                .bind(clock.id)
                .execute(conn)
                .await
                .map(|_| ()))?;
            self.restart(lead, &clock, owner, at).await?;
        }
        Ok(())
    }

    /// Starts a clock like `clock` (its rule as it was) for `owner` from `at`.
    async fn restart(
        &mut self,
        lead: &StoredLead,
        clock: &ClockRow,
        owner: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let corrupt = |what: &str, reason: String| StoreError::Conflict {
            field: format!("sla_clocks.{what}"),
            reason,
        };
        let rule = SlaRule {
            name: clock.rule.clone(),
            stage: clock
                .stage
                .parse()
                .map_err(|e: leadgate_core::stage::UnknownStage| corrupt("stage", e.to_string()))?,
            temperatures: Vec::new(),
            grades: Vec::new(),
            within: clock.within.parse().map_err(|e| corrupt("within", e))?,
            until: serde_json::from_value(json!(clock.until_event))
                .map_err(|e| corrupt("until_event", e.to_string()))?,
            on_breach: clock.on_breach.0.clone(),
            recycle_after_days: clock.recycle_after_days.map(|d| d.max(1) as u32),
        };
        let temperature = clock.temperature.as_deref().and_then(|t| t.parse().ok());
        self.start_clock(
            lead,
            &rule,
            Some(owner),
            (temperature, clock.grade.as_deref()),
            clock.policy_version,
            at,
        )
        .await
    }

    async fn clock(&mut self, id: i64) -> Result<Option<ClockRow>> {
        let sql = format!("SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE id = $1");
        Ok(on_tx!(self, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?)
    }

    /// The deadline job: a clock still unanswered is breached, and its escalations run.
    pub async fn check_clock(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let Some(clock) = self.clock(id).await? else {
            return Ok(());
        };
        if clock.met_at.is_some() || clock.state != ClockState::Running || now < clock.due_at.0 {
            return Ok(());
        }
        on_tx!(self, conn => sqlx::query("UPDATE sla_clocks SET state = 'breached', breached_at = $1 WHERE id = $2")
            .bind(Ts(to_micros(now)))
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let Some(lead) = self.lead(clock.lead_id, true).await? else {
            return Ok(());
        };
        let event = leadgate_core::EventDraft::new(
            leadgate_core::EventType::SlaBreached,
            now,
            json!({"clock_id": clock.id, "rule": clock.rule, "stage": clock.stage, "owner": clock.owner,
                   "team": clock.team, "due_at": clock.due_at}),
        )
        .with_actor("sla");
        self.insert_events(
            &[crate::leads::NewEvent {
                lead_id: lead.id,
                draft: &event,
            }],
            Ts(to_micros(now)),
        )
        .await?;
        let message = format!(
            "SLA '{}' breached on lead {}: due {}",
            clock.rule,
            lead.id,
            clock.due_at.0.format("%Y-%m-%d %H:%M UTC")
        );
        for escalation in &clock.on_breach.0 {
            match escalation {
                Escalation::NotifyOwner => {
                    if let Some(owner) = &clock.owner {
                        self.notify(owner, "sla_breached", Some(lead.id), None, &message, now)
                            .await?;
                    }
                }
                Escalation::NotifyManager => {
                    let manager = match &clock.team {
                        Some(team) => self.team(team).await?.and_then(|t| t.manager),
                        None => None,
                    };
                    if let Some(manager) = manager {
                        self.notify(&manager, "sla_breached", Some(lead.id), None, &message, now)
                            .await?;
                    }
                }
                Escalation::Reassign => self.reassign_breached(&lead, &clock, now).await?,
            }
        }
        if let Some(days) = clock.recycle_after_days {
            self.enqueue_job(
                &NewJob::new(
                    JobKind::SlaRecycle,
                    json!({"clock_id": id}),
                    now + Duration::days(days.max(1).into()),
                )
                .keyed(format!("sla-recycle:{id}")),
            )
            .await?;
        }
        Ok(())
    }

    /// Gives a breached lead to another rep of its owner's team, by the team's round-robin.
    async fn reassign_breached(
        &mut self,
        lead: &StoredLead,
        clock: &ClockRow,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(team) = &clock.team else {
            return Ok(());
        };
        let Some(team) = self.team(team).await? else {
            return Ok(());
        };
        let rule = leadgate_core::routing::RoutingRule {
            name: format!("SLA '{}' breached", clock.rule),
            team: team.name.clone(),
            ..Default::default()
        };
        let facts = RoutingFacts {
            channel: "",
            grade: "",
            temperature: Temperature::Cold,
        };
        let assignment = self
            .route(
                lead,
                std::slice::from_ref(&rule),
                facts,
                clock.owner.as_deref(),
                now,
            )
            .await?;
        if let Some(owner) = assignment.owner {
            self.restart(lead, clock, &owner, now).await?;
        }
        Ok(())
    }

    /// Recycles a lead still untouched in the stage of a breached clock.
    pub async fn recycle_untouched(
        &mut self,
        id: i64,
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(clock) = self.clock(id).await? else {
            return Ok(());
        };
        let Some(lead) = self.lead(clock.lead_id, true).await? else {
            return Ok(());
        };
        if clock.met_at.is_some() || lead.lead.stage.as_str() != clock.stage {
            return Ok(());
        }
        let touched: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE lead_id = $1 AND occurred_at > $2
               AND type IN ('call_logged', 'email_logged', 'meeting_logged', 'note_added', 'task_created', 'stage_changed')",
        )
        .bind(lead.id)
        .bind(clock.started_at)
        .fetch_one(conn)
        .await)?;
        if touched > 0 {
            return Ok(());
        }
        let reason = "no response";
        let request = MoveRequest {
            from: lead.lead.stage,
            to: Stage::Recycled,
            reason: Some(reason),
            override_bant: false,
            mover: Mover::Policy,
            mql_rule_holds: false,
        };
        let bant = leadgate_core::scoring::score_quick(
            &lead.lead,
            &[],
            leadgate_core::scoring::Marks {
                confirmed: &lead.bant_confirmed,
                junk: &lead.junk,
            },
            &active.policy,
            now,
        )
        .bant;
        if let Err(refused) = lifecycle::check(&request, &bant, &active.policy) {
            tracing::warn!(lead = lead.id, %refused, "cannot recycle the untouched lead");
            return Ok(());
        }
        self.record_move(
            &lead,
            Stage::Recycled,
            reason,
            active.version,
            false,
            &format!("sla:{}", clock.rule),
            now,
        )
        .await?;
        self.answer(lead.id, "stage", &clock.stage, now).await?;
        Ok(())
    }
}

fn view(row: ClockRow, calendar: &BusinessCalendar, now: DateTime<Utc>) -> SlaClock {
    let minutes_left = (row.state == ClockState::Running).then(|| {
        let (_, left) = sla::standing(calendar, row.due_at.0, None, now);
        left.num_minutes()
    });
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
    }
}

impl Store {
    /// A lead's clocks, newest first, with working time left on running ones.
    /// The lead an SLA clock times (`None`: no such clock).
    pub async fn lead_of_clock(&self, clock_id: i64) -> Result<Option<i64>> {
        Ok(
            on_read_pool!(self, pool => sqlx::query_scalar("SELECT lead_id FROM sla_clocks WHERE id = $1")
            .bind(clock_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    pub async fn lead_clocks(&self, lead_id: i64, now: DateTime<Utc>) -> Result<Vec<SlaClock>> {
        let sql =
            format!("SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE lead_id = $1 ORDER BY id DESC");
        let rows: Vec<ClockRow> =
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
        let rows: Vec<ClockRow> = on_read_pool!(self, pool => sqlx::query_as(&sql).bind(limit.clamp(1, 1000)).bind(owner).fetch_all(pool).await)?;
        self.views(rows, now).await
    }

    /// The running clocks of these leads (the countdowns of the leads a page shows).
    pub async fn running_clocks_of(
        &self,
        lead_ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<SlaClock>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ClockRow> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(format!(
                "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE state = 'running' AND lead_id IN ("
            ));
            crate::push_in_list(&mut b, lead_ids.iter().take(1000).copied());
            b.push(" ORDER BY due_at, id");
            b.build_query_as().fetch_all(pool).await
        })?;
        self.views(rows, now).await
    }

    async fn views(&self, rows: Vec<ClockRow>, now: DateTime<Utc>) -> Result<Vec<SlaClock>> {
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
