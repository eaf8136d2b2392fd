//! Sales teams (calendar, manager) and reps (weight, daily cap, away), and assigning leads:
//! by the policy's routing rules, or by hand with a reason. Every assignment is an
//! `owner_assigned` event.

use crate::change_log::ChangeLog;
use crate::leads::{NewEvent, StoredLead};
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::id::{LeadId, TaskId};
use leadgate_core::routing::{Method, RepLoad};
use leadgate_core::{EventDraft, EventType, FieldError};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// A sales team.
#[derive(Debug, Clone, Serialize)]
pub struct Team {
    pub name: String,
    pub calendar: BusinessCalendar,
    pub manager: Option<String>,
}

/// A sales rep.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Rep {
    pub name: String,
    pub team: String,
    pub email: Option<String>,
    pub weight: f64,
    pub daily_cap: Option<i32>,
    pub away: bool,
    pub assigned_today: i32,
    pub last_assigned_at: Option<Ts>,
}

/// A rep to create or change.
#[derive(Debug, Clone)]
pub struct RepInput {
    pub team: String,
    pub email: Option<String>,
    pub weight: f64,
    pub daily_cap: Option<i32>,
    pub away: bool,
}

/// A lead given to a rep, as `Tx::assign_many` records it: the reason, and for routing the
/// rule and team (`detail`, added to the event's payload).
pub struct Handover<'a> {
    pub lead: &'a StoredLead,
    pub owner: &'a str,
    pub reason: &'a str,
    pub detail: Value,
}

/// Who got a lead, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub lead_id: LeadId,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub rule: Option<String>,
    pub reason: String,
}

/// A rep with their day's count and open leads, as read for routing.
#[derive(sqlx::FromRow)]
struct LoadRow(
    String,
    f64,
    Option<i32>,
    bool,
    Option<String>,
    i32,
    Option<i64>,
    i64,
);

const REP_COLUMNS: &str =
    "name, team, email, weight, daily_cap, away, assigned_today, last_assigned_at";

/// A team, rep or owner name: 1 to 100 characters without control characters.
pub fn check_name(field: &str, name: &str) -> Result<()> {
    let ok = !name.trim().is_empty()
        && name.chars().count() <= 100
        && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 1 to 100 characters without control characters",
        )
        .into())
    }
}

fn parse_calendar(text: &str) -> Result<BusinessCalendar> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))?;
    Ok(BusinessCalendar::parse(&value, "calendar.")?)
}

impl Tx {
    /// The team `name`, if there is one.
    pub async fn team(&mut self, name: &str) -> Result<Option<Team>> {
        let row: Option<(String, String, Option<String>)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT name, calendar, manager FROM teams WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(conn)
        .await)?;
        row.map(|(name, calendar, manager)| {
            Ok(Team {
                name,
                calendar: parse_calendar(&calendar)?,
                manager,
            })
        })
        .transpose()
    }

    /// The team of a rep (None for an owner who is not a rep).
    pub async fn team_of(&mut self, owner: Option<&str>) -> Result<Option<Team>> {
        let Some(owner) = owner else { return Ok(None) };
        let team: Option<String> = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT team FROM reps WHERE name = $1",
        )
        .bind(owner)
        .fetch_optional(conn)
        .await)?;
        match team {
            Some(team) => self.team(&team).await,
            None => Ok(None),
        }
    }

    /// The reps of a team as routing weighs them, at `now` in the team's time zone. Open
    /// leads are counted only when `method` needs them (least-loaded).
    pub async fn loads(
        &mut self,
        team: &Team,
        method: Method,
        now: DateTime<Utc>,
    ) -> Result<Vec<RepLoad>> {
        let today = now
            .with_timezone(&team.calendar.timezone)
            .date_naive()
            .to_string();
        // Kept by change_log.rs: the folded count plus what changed since, this
        // transaction's changes included.
        let open = if method == Method::LeastLoaded {
            self.flush_counts().await?;
            "COALESCE((SELECT o.leads FROM open_leads o WHERE o.owner = r.name), 0)
                + COALESCE((SELECT SUM(c.leads) FROM open_lead_changes c WHERE c.owner = r.name), 0)"
        } else {
            "0"
        };
        let sql = format!(
            "SELECT r.name, r.weight, r.daily_cap, r.away, r.assigned_day, r.assigned_today,
                    CASE WHEN r.turn > 0 THEN r.turn END, CAST({open} AS BIGINT)
             FROM reps r WHERE r.team = $1 ORDER BY r.name"
        );
        let rows: Vec<LoadRow> = on_tx!(self, conn => sqlx::query_as(&sql)
            .bind(&team.name)
            .fetch_all(conn)
            .await)?;
        Ok(rows
            .into_iter()
            .map(
                |LoadRow(name, weight, cap, away, day, today_count, last, open)| RepLoad {
                    name,
                    weight,
                    daily_cap: cap.map(|c| c.max(0) as u32),
                    away,
                    assigned_today: if day.as_deref() == Some(today.as_str()) {
                        today_count.max(0) as u32
                    } else {
                        0
                    },
                    open_leads: open.max(0) as u32,
                    last_turn: last,
                },
            )
            .collect())
    }

    /// Makes `owner` the lead's owner and records it (`owner_assigned` with the reason and,
    /// for routing, the rule and team). Counts the assignment against the rep's day.
    pub async fn assign(
        &mut self,
        lead: &StoredLead,
        owner: &str,
        reason: &str,
        detail: Value,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let handover = Handover {
            lead,
            owner,
            reason,
            detail,
        };
        self.assign_many(std::slice::from_ref(&handover), actor, now)
            .await
    }

    /// `assign` for many leads (each at most once) in a few statements: the owners with one
    /// UPDATE, each rep's day and turn once (in the order of their last lead, so the
    /// team's turns keep the order of the handovers), the events with one insert.
    pub async fn assign_many(
        &mut self,
        handovers: &[Handover<'_>],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if handovers.is_empty() {
            return Ok(());
        }
        let at = Ts(to_micros(now));
        let ids: Vec<LeadId> = handovers.iter().map(|h| h.lead.id).collect();
        let before = self.counted_before(&ids).await?;
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("WITH v (lead, owner) AS (");
            b.push_values(handovers, |mut row, h| {
                row.push_bind(h.lead.id).push_bind(h.owner);
            });
            b.push(") UPDATE leads SET owner = v.owner, updated_at = ")
                .push_bind(at)
                .push(" FROM v WHERE leads.id = v.lead");
            b.build().execute(conn).await.map(|_| ())
        })?;
        let owners: HashMap<LeadId, &str> =
            handovers.iter().map(|h| (h.lead.id, h.owner)).collect();
        self.count_written(before, |lead| {
            if let Some(owner) = owners.get(&lead.id) {
                lead.owner = Some((*owner).to_owned());
            }
        })
        .await?;
        // Each rep's count of leads, in the order of the last lead each got.
        let mut reps: Vec<(&str, i64, usize)> = Vec::new();
        for (index, h) in handovers.iter().enumerate() {
            match reps.iter_mut().find(|(name, _, _)| *name == h.owner) {
                Some(rep) => {
                    rep.1 += 1;
                    rep.2 = index;
                }
                None => reps.push((h.owner, 1, index)),
            }
        }
        reps.sort_by_key(|(_, _, last)| *last);
        for (owner, count, _) in reps {
            let Some(team) = self.team_of(Some(owner)).await? else {
                continue;
            };
            let today = now
                .with_timezone(&team.calendar.timezone)
                .date_naive()
                .to_string();
            on_tx!(self, conn => sqlx::query(
                "UPDATE reps SET assigned_today = CASE WHEN assigned_day = $1 THEN assigned_today + $5 ELSE $5 END,
                        assigned_day = $1, last_assigned_at = $2,
                        turn = (SELECT COALESCE(MAX(turn), 0) + 1 FROM reps WHERE team = $4)
                 WHERE name = $3",
            )
            .bind(&today)
            .bind(at)
            .bind(owner)
            .bind(&team.name)
            .bind(count)
            .execute(conn)
            .await
            .map(|_| ()))?;
        }
        let events: Vec<EventDraft> = handovers
            .iter()
            .map(|h| {
                let mut payload = json!({"from": h.lead.lead.owner.as_ref().map(|o| o.as_str()), "to": h.owner, "reason": h.reason});
                if let (Value::Object(payload), Value::Object(detail)) = (&mut payload, &h.detail) {
                    payload.extend(detail.clone());
                }
                EventDraft::new(EventType::OwnerAssigned, at.0, payload).with_actor(actor)
            })
            .collect();
        let new_events: Vec<NewEvent> = handovers
            .iter()
            .zip(&events)
            .map(|(h, draft)| NewEvent {
                lead_id: h.lead.id,
                draft,
            })
            .collect();
        self.insert_events(&new_events, at).await?;
        Ok(())
    }

    /// Puts a message in a person's notifications.
    pub async fn notify(
        &mut self,
        recipient: &str,
        kind: &str,
        lead_id: Option<LeadId>,
        task_id: Option<TaskId>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "INSERT INTO notifications (recipient, kind, lead_id, task_id, message, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(recipient)
        .bind(kind)
        .bind(lead_id)
        .bind(task_id)
        .bind(message)
        .bind(Ts(to_micros(now)))
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    /// Folds the open-lead counts' pending changes into them (as `fold_analytics` does for
    /// the rollup); returns how many were folded. Reads are right either way; routing reads
    /// the changes of each rep it weighs, so fewer read faster.
    pub async fn fold_open_leads(&self) -> Result<u64> {
        self.fold(&ChangeLog {
            counts: "open_leads",
            changes: "open_lead_changes",
            upsert: "INSERT INTO open_leads (owner, leads)
                 SELECT owner, SUM(leads) FROM CHANGES WHERE 1 = 1 GROUP BY owner
                 ON CONFLICT (owner) DO UPDATE SET leads = open_leads.leads + excluded.leads"
                .to_owned(),
        })
        .await
    }

    /// Creates or replaces a team. Returns whether it is new.
    pub async fn put_team(
        &self,
        name: &str,
        calendar: &BusinessCalendar,
        manager: Option<&str>,
    ) -> Result<bool> {
        check_name("name", name)?;
        if let Some(manager) = manager {
            check_name("manager", manager)?;
        }
        let text = serde_json::to_string(calendar)
            .map_err(|e| StoreError::from(sqlx::Error::Encode(Box::new(e))))?;
        let now = Ts(to_micros(Utc::now()));
        let created: bool = crate::on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO teams (name, calendar, manager, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (name) DO UPDATE SET calendar = excluded.calendar, manager = excluded.manager,
                 updated_at = excluded.updated_at
             RETURNING created_at = updated_at",
        )
        .bind(name.trim())
        .bind(text)
        .bind(manager.map(str::trim))
        .bind(now)
        .fetch_one(pool)
        .await)?;
        Ok(created)
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        let rows: Vec<(String, String, Option<String>)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT name, calendar, manager FROM teams ORDER BY name",
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(name, calendar, manager)| {
                Ok(Team {
                    name,
                    calendar: parse_calendar(&calendar)?,
                    manager,
                })
            })
            .collect()
    }

    /// Creates or changes a rep of an existing team. Returns whether it is new.
    pub async fn put_rep(&self, name: &str, rep: &RepInput) -> Result<bool> {
        check_name("name", name)?;
        if !(rep.weight.is_finite() && rep.weight >= 0.0 && rep.weight <= 1000.0) {
            return Err(FieldError::new("weight", "must be a number from 0 to 1000").into());
        }
        if rep.daily_cap.is_some_and(|c| c < 0) {
            return Err(FieldError::new("daily_cap", "must not be negative").into());
        }
        let mut tx = self.begin().await?;
        if tx.team(&rep.team).await?.is_none() {
            return Err(FieldError::new("team", format!("no team is named '{}'", rep.team)).into());
        }
        let now = Ts(to_micros(Utc::now()));
        let created: bool = on_tx!(&mut tx, conn => sqlx::query_scalar(
            "INSERT INTO reps (name, team, email, weight, daily_cap, away, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (name) DO UPDATE SET team = excluded.team, email = excluded.email,
                 weight = excluded.weight, daily_cap = excluded.daily_cap, away = excluded.away,
                 updated_at = excluded.updated_at
             RETURNING created_at = updated_at",
        )
        .bind(name.trim())
        .bind(&rep.team)
        .bind(&rep.email)
        .bind(rep.weight)
        .bind(rep.daily_cap)
        .bind(rep.away)
        .bind(now)
        .fetch_one(conn)
        .await)?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn reps(&self, team: Option<&str>) -> Result<Vec<Rep>> {
        let sql = format!(
            "SELECT {REP_COLUMNS} FROM reps WHERE ($1 IS NULL OR team = $1) ORDER BY team, name"
        );
        Ok(on_read_pool!(self, pool => sqlx::query_as(&sql).bind(team).fetch_all(pool).await)?)
    }

    /// Checks that every team the policy routes to exists.
    pub async fn check_routing_teams(&self, policy: &leadgate_core::policy::Policy) -> Result<()> {
        let known: Vec<String> = self.teams().await?.into_iter().map(|t| t.name).collect();
        let mut errors = leadgate_core::FieldErrors::default();
        for rule in &policy.routing {
            if !known.contains(&rule.team) {
                errors.push(FieldError::new(
                    format!("routing '{}'", rule.name),
                    format!(
                        "no team is named '{}'; create it first (leadgate team put)",
                        rule.team
                    ),
                ));
            }
        }
        errors.into_result(()).map_err(StoreError::Invalid)
    }
}
