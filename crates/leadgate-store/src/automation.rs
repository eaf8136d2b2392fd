//! Running the policy's automation rules on a stored event (inside the job's transaction,
//! each rule's doing recorded as an `automation_fired` event), and the dry run that shows
//! what rules would have done over past events.

use crate::leads::{NewEvent, StoredLead};
use crate::qualification::facts;
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, ActivePolicy, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::automation::{
    self, Action, Assignee, AutomationRule, EnrolmentState, Recipient,
};
use leadgate_core::followup::NewTask;
use leadgate_core::job::JobKind;
use leadgate_core::lifecycle::{self, MoveRequest, Mover};
use leadgate_core::policy::Policy;
use leadgate_core::routing::RoutingFacts;
use leadgate_core::{scoring, EventDraft, EventType, Text};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::HashMap;
use std::str::FromStr;

/// A stored event as rules read it.
#[derive(sqlx::FromRow)]
struct TriggerRow {
    id: i64,
    lead_id: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    payload: Json<Value>,
    actor: Option<String>,
    occurred_at: Ts,
}

/// What a rule would have done for one past event.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunHit {
    pub rule: String,
    pub event_id: i64,
    pub lead_id: i64,
    pub occurred_at: Ts,
    pub actions: Vec<String>,
}

/// A dry run over past events.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub since: Ts,
    pub events_scanned: usize,
    /// Per rule, how many times it would have fired.
    pub fired: Vec<(String, usize)>,
    /// The first hits, oldest first.
    pub hits: Vec<DryRunHit>,
}

impl Tx {
    async fn trigger(&mut self, event_id: i64) -> Result<Option<TriggerRow>> {
        Ok(on_tx!(self, conn => sqlx::query_as(
            "SELECT id, lead_id, type, payload, actor, occurred_at FROM events WHERE id = $1",
        )
        .bind(event_id)
        .fetch_optional(conn)
        .await)?)
    }

    /// Runs every rule of `active` that fires on the event, in order; the lead is read
    /// afresh after each rule, so a later rule sees what an earlier one did.
    pub(crate) async fn run_automation(
        &mut self,
        event_id: i64,
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(trigger) = self.trigger(event_id).await? else {
            return Ok(());
        };
        let Ok(event_type) = EventType::from_str(&trigger.event_type) else {
            return Ok(());
        };
        let depth = automation::origin(trigger.actor.as_deref()).map_or(1, |(d, _)| d + 1);
        for rule in &active.policy.automation {
            let Some(lead) = self.lead(trigger.lead_id, true).await? else {
                return Ok(());
            };
            if !rule.fires(
                event_type,
                &trigger.payload.0,
                trigger.actor.as_deref(),
                &lead.lead,
            ) {
                continue;
            }
            let actor = automation::actor(&rule.name, depth);
            let mut done = Vec::new();
            for action in &rule.actions {
                // Each action sees what the one before it did (a move, an owner).
                let Some(current) = self.lead(lead.id, true).await? else {
                    break;
                };
                let outcome = self
                    .act(
                        action,
                        &current,
                        rule,
                        active,
                        Some(trigger.id),
                        &actor,
                        now,
                    )
                    .await?;
                done.push(json!({"action": action.describe(), "outcome": outcome}));
            }
            let fired = EventDraft::new(
                EventType::AutomationFired,
                now,
                json!({"rule": rule.name, "trigger_event": trigger.id, "trigger_type": trigger.event_type,
                       "actions": done}),
            )
            .with_actor(&actor);
            self.insert_events(
                &[NewEvent {
                    lead_id: lead.id,
                    draft: &fired,
                }],
                Ts(to_micros(now)),
            )
            .await?;
        }
        Ok(())
    }

    /// Does one action; returns what came of it in words ("done", or why not).
    #[allow(clippy::too_many_arguments)]
    async fn act(
        &mut self,
        action: &Action,
        lead: &StoredLead,
        rule: &AutomationRule,
        active: &ActivePolicy,
        trigger: Option<i64>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let owner = lead.lead.owner.as_ref().map(|o| o.as_str().to_owned());
        Ok(match action {
            Action::CreateTask {
                task_type,
                title,
                due_in,
            } => {
                let task = NewTask {
                    task_type: *task_type,
                    title: Text::parse(title, 200)
                        .map_err(|e| leadgate_core::FieldError::new("title", e.0))?,
                    due_at: now + *due_in,
                    owner: None,
                    notes: None,
                };
                let task = self
                    .create_task(lead.id, &task, actor, Ts(to_micros(now)))
                    .await?;
                format!("task {}", task.id)
            }
            Action::AddTag(tag) => {
                let mut stored = lead.clone();
                let tags = stored
                    .lead
                    .custom
                    .entry("tags")
                    .or_insert_with(|| json!([]));
                if !tags.is_array() {
                    *tags = json!([]);
                }
                let list = tags.as_array_mut().expect("made an array above");
                if list.iter().any(|t| t.as_str() == Some(tag)) {
                    return Ok("already tagged".into());
                }
                let old = json!(list.clone());
                list.push(json!(tag));
                let new = json!(list.clone());
                stored.updated_at = now;
                self.save_lead(&stored).await?;
                let change = EventDraft::new(
                    EventType::FieldChanged,
                    now,
                    json!({"field": "custom.tags", "old": old, "new": new}),
                )
                .with_actor(actor);
                self.insert_events(
                    &[NewEvent {
                        lead_id: lead.id,
                        draft: &change,
                    }],
                    Ts(to_micros(now)),
                )
                .await?;
                "done".into()
            }
            Action::Notify { to, message } => {
                let recipient = match to {
                    Recipient::Owner => owner.clone(),
                    Recipient::Manager => self
                        .team_of(owner.as_deref())
                        .await?
                        .and_then(|t| t.manager),
                    Recipient::Named(name) => Some(name.clone()),
                };
                match recipient {
                    Some(who) => {
                        self.notify(&who, "automation", Some(lead.id), None, message, now)
                            .await?;
                        format!("told {who}")
                    }
                    None => "nobody to tell".into(),
                }
            }
            Action::MoveTo { stage, reason } => {
                let events = self
                    .events_of(&[lead.id])
                    .await?
                    .remove(&lead.id)
                    .unwrap_or_default();
                let score = scoring::score_quick(
                    &lead.lead,
                    &facts(&events),
                    leadgate_core::scoring::Marks {
                        confirmed: &lead.bant_confirmed,
                        junk: &lead.junk,
                    },
                    &active.policy,
                    now,
                );
                let request = MoveRequest {
                    from: lead.lead.stage,
                    to: *stage,
                    reason: Some(reason),
                    override_bant: false,
                    mover: Mover::Person,
                    mql_rule_holds: score.mql,
                };
                match lifecycle::check(&request, &score.bant, &active.policy) {
                    Ok(()) => {
                        self.record_move(lead, *stage, reason, active.version, false, actor, now)
                            .await?;
                        self.after_move(lead, *stage, active, &score, now).await?;
                        "done".into()
                    }
                    Err(refused) => format!("refused: {refused}"),
                }
            }
            Action::Assign(Assignee::Route) => {
                let snapshot = lead.snapshot.as_ref();
                let facts = RoutingFacts {
                    channel: lead.first_touch.channel.as_str(),
                    grade: snapshot.map_or("", |s| s.grade.as_str()),
                    temperature: snapshot
                        .and_then(|s| s.temperature.parse().ok())
                        .unwrap_or(leadgate_core::temperature::Temperature::Cold),
                };
                let assignment = self
                    .route(lead, &active.policy.routing, facts, None, now)
                    .await?;
                match assignment.owner {
                    Some(rep) => {
                        self.restart_clocks(lead, &rep, now).await?;
                        format!("assigned to {rep}")
                    }
                    None => assignment.reason,
                }
            }
            Action::Assign(Assignee::Rep(rep)) => {
                if owner.as_deref() == Some(rep.as_str()) {
                    return Ok(format!("already {rep}'s"));
                }
                let reason = format!("automation rule '{}'", rule.name);
                self.assign(lead, rep, &reason, json!({}), actor, now)
                    .await?;
                self.restart_clocks(lead, rep, now).await?;
                format!("assigned to {rep}")
            }
            Action::Enrol(sequence) => self.enrol(lead.id, sequence, active, now).await?,
            Action::SendEmail(template) => {
                match self.queue_email(lead.id, template, actor, now).await {
                    Ok(email) => format!("email {} queued", email.id),
                    Err(StoreError::Conflict { reason, .. }) => format!("not sent: {reason}"),
                    Err(StoreError::NotFound(reason)) => format!("not sent: {reason}"),
                    Err(e) => return Err(e),
                }
            }
            Action::Webhook(id) => {
                let Some(event_id) = trigger else {
                    return Ok("no event to send (the rule fires on inactivity)".into());
                };
                let exists: Option<i64> = on_tx!(self, conn => sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1")
                    .bind(id)
                    .fetch_optional(conn)
                    .await)?;
                if exists.is_none() {
                    return Ok(format!("no webhook has id {id}"));
                }
                self.enqueue_job(
                    &crate::NewJob::new(
                        JobKind::WebhookDelivery,
                        json!({"webhook_id": id, "event_id": event_id}),
                        now,
                    )
                    .keyed(format!("webhook:{id}:{event_id}")),
                )
                .await?;
                format!("queued for webhook {id}")
            }
        })
    }
}

/// An enrolment as a step reads it.
#[derive(sqlx::FromRow)]
struct EnrolmentRow {
    id: i64,
    lead_id: i64,
    sequence: String,
    next_step: i32,
    #[sqlx(try_from = "String")]
    state: EnrolmentState,
    enrolled_at: Ts,
}

impl Tx {
    /// Enrols a lead in a sequence of the policy, its first step due after its wait. A lead
    /// already in it stays where it is.
    async fn enrol(
        &mut self,
        lead_id: i64,
        name: &str,
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let Some(sequence) = active.policy.sequences.iter().find(|s| s.name == name) else {
            return Ok(format!("no sequence is named '{name}'"));
        };
        let active_already: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT COUNT(*) FROM sequence_enrolments WHERE lead_id = $1 AND sequence = $2 AND state = 'active'",
        )
        .bind(lead_id)
        .bind(name)
        .fetch_one(conn)
        .await)?;
        if active_already > 0 {
            return Ok("already enrolled".into());
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
        self.schedule_step(id, lead_id, 0, now + sequence.steps[0].0)
            .await?;
        Ok(format!("enrolled ({} steps)", sequence.steps.len()))
    }

    async fn schedule_step(
        &mut self,
        enrolment: i64,
        lead_id: i64,
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

    async fn end_enrolment(
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

    /// Runs step `step` of an enrolment, unless the lead replied since enrolling or is no
    /// longer nurtured (then the sequence stops), and schedules the next.
    pub(crate) async fn run_step(
        &mut self,
        enrolment: i64,
        step: usize,
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let row: Option<EnrolmentRow> = on_tx!(self, conn => sqlx::query_as(
            "SELECT id, lead_id, sequence, next_step, state, enrolled_at FROM sequence_enrolments WHERE id = $1",
        )
        .bind(enrolment)
        .fetch_optional(conn)
        .await)?;
        let Some(row) =
            row.filter(|r| r.state == EnrolmentState::Active && r.next_step as usize == step)
        else {
            return Ok(());
        };
        let Some(lead) = self.lead(row.lead_id, true).await? else {
            return Ok(());
        };
        let Some(sequence) = active
            .policy
            .sequences
            .iter()
            .find(|s| s.name == row.sequence)
        else {
            return self
                .end_enrolment(
                    row.id,
                    EnrolmentState::Stopped,
                    Some("the sequence is no longer in the policy"),
                    now,
                )
                .await;
        };
        if !automation::nurtured(lead.lead.stage) {
            let reason = format!("the lead is {}", lead.lead.stage);
            return self
                .end_enrolment(row.id, EnrolmentState::Stopped, Some(&reason), now)
                .await;
        }
        let answers: Vec<(String, Json<Value>)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT type, payload FROM events WHERE lead_id = $1 AND occurred_at >= $2
               AND type IN ('call_logged', 'email_logged', 'meeting_logged', 'meeting_booked')",
        )
        .bind(row.lead_id)
        .bind(row.enrolled_at)
        .fetch_all(conn)
        .await)?;
        if answers.iter().any(|(t, p)| automation::is_reply(t, &p.0)) {
            return self
                .end_enrolment(
                    row.id,
                    EnrolmentState::Stopped,
                    Some("the lead replied"),
                    now,
                )
                .await;
        }
        let Some((_, action)) = sequence.steps.get(step) else {
            return self
                .end_enrolment(row.id, EnrolmentState::Finished, None, now)
                .await;
        };
        let actor = automation::actor(&sequence.name, 1);
        let placeholder = AutomationRule {
            name: sequence.name.clone(),
            on: automation::Trigger::Inactive { days: 1 },
            when: Default::default(),
            stages: Vec::new(),
            conditions: Vec::new(),
            actions: Vec::new(),
        };
        let outcome = self
            .act(action, &lead, &placeholder, active, None, &actor, now)
            .await?;
        let event = EventDraft::new(
            EventType::AutomationFired,
            now,
            json!({"sequence": sequence.name, "step": step + 1, "of": sequence.steps.len(),
                   "actions": [{"action": action.describe(), "outcome": outcome}]}),
        )
        .with_actor(&actor);
        self.insert_events(
            &[NewEvent {
                lead_id: lead.id,
                draft: &event,
            }],
            Ts(to_micros(now)),
        )
        .await?;
        match sequence.steps.get(step + 1) {
            Some((wait, _)) => {
                on_tx!(self, conn => sqlx::query(
                    "UPDATE sequence_enrolments SET next_step = $1, updated_at = $2 WHERE id = $3",
                )
                .bind((step + 1) as i32)
                .bind(Ts(to_micros(now)))
                .bind(row.id)
                .execute(conn)
                .await
                .map(|_| ()))?;
                self.schedule_step(row.id, lead.id, step + 1, now + *wait)
                    .await
            }
            None => {
                self.end_enrolment(row.id, EnrolmentState::Finished, None, now)
                    .await
            }
        }
    }
}

impl Store {
    /// Runs the rules that fire on inactivity: every lead of their product (in their stages,
    /// meeting their conditions) with no activity for their days, and no firing of the rule
    /// since, gets the rule's actions. Returns how many times rules fired.
    pub async fn run_inactivity(&self, now: DateTime<Utc>) -> Result<usize> {
        let products: Vec<String> = on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT DISTINCT product FROM automation_triggers WHERE event_type = 'inactive'",
        )
        .fetch_all(pool)
        .await)?;
        let quiet = automation::NOT_ACTIVITY
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(",");
        let mut fired = 0;
        for product in products {
            let active = self.active_policy(&product).await?;
            for rule in &active.policy.automation {
                let automation::Trigger::Inactive { days } = rule.on else {
                    continue;
                };
                let cutoff = Ts(to_micros(now - chrono::Duration::days(days.into())));
                let actor = automation::actor(&rule.name, 1);
                let stages = if rule.stages.is_empty() {
                    String::new()
                } else {
                    let names: Vec<String> = rule
                        .stages
                        .iter()
                        .map(|s| format!("'{}'", s.as_str()))
                        .collect();
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
                let mut after = 0_i64;
                loop {
                    let ids: Vec<i64> = on_read_pool!(self, pool => sqlx::query_scalar(&sql)
                        .bind(&product)
                        .bind(cutoff)
                        .bind(&actor)
                        .bind(after)
                        .fetch_all(pool)
                        .await)?;
                    let Some(last) = ids.last() else { break };
                    after = *last;
                    for id in ids {
                        let mut tx = self.begin().await?;
                        let Some(lead) = tx.lead(id, true).await? else {
                            continue;
                        };
                        // Another server may have fired it while this one waited for the lock.
                        let fired_since: i64 = on_tx!(&mut tx, conn => sqlx::query_scalar(
                            "SELECT COUNT(*) FROM events WHERE lead_id = $1 AND type = 'automation_fired'
                               AND actor = $2 AND occurred_at >= $3",
                        )
                        .bind(id)
                        .bind(&actor)
                        .bind(cutoff)
                        .fetch_one(conn)
                        .await)?;
                        if fired_since > 0 || !rule.holds_for(&lead.lead) {
                            continue;
                        }
                        let mut done = Vec::new();
                        for action in &rule.actions {
                            let Some(current) = tx.lead(id, true).await? else {
                                break;
                            };
                            let outcome = tx
                                .act(action, &current, rule, &active, None, &actor, now)
                                .await?;
                            done.push(json!({"action": action.describe(), "outcome": outcome}));
                        }
                        let event = EventDraft::new(
                            EventType::AutomationFired,
                            now,
                            json!({"rule": rule.name, "trigger_type": "inactive", "days": days, "actions": done}),
                        )
                        .with_actor(&actor);
                        tx.insert_events(
                            &[NewEvent {
                                lead_id: id,
                                draft: &event,
                            }],
                            Ts(to_micros(now)),
                        )
                        .await?;
                        tx.commit().await?;
                        fired += 1;
                    }
                }
            }
        }
        Ok(fired)
    }

    /// The policy in force for a lead (read before a job's transaction).
    pub(crate) async fn policy_of_lead(&self, lead_id: i64) -> Result<Option<ActivePolicy>> {
        match self.lead(lead_id).await {
            Ok(lead) => Ok(Some(self.active_policy(&lead.lead.product_line()).await?)),
            Err(StoreError::LeadNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The policy in force for the lead a row of `table` (events, sla_clocks) belongs to,
    /// read before a job's transaction.
    pub(crate) async fn policy_of_row(&self, table: &str, id: i64) -> Result<Option<ActivePolicy>> {
        let lead: Option<i64> = on_read_pool!(self, pool => sqlx::query_scalar(
            &format!("SELECT lead_id FROM {table} WHERE id = $1"),
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        match lead {
            Some(lead) => self.policy_of_lead(lead).await,
            None => Ok(None),
        }
    }

    /// What `policy`'s automation rules would have done on the events since `since` (at most
    /// `limit` events of the types they start on), judged on each lead as it is now. Writes
    /// nothing.
    pub async fn automation_dry_run(
        &self,
        policy: &Policy,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<DryRun> {
        let mut types: Vec<&str> = policy.automation.iter().map(|r| r.on.name()).collect();
        types.sort_unstable();
        types.dedup();
        let since = Ts(to_micros(since));
        let mut dry = DryRun {
            since,
            events_scanned: 0,
            fired: policy
                .automation
                .iter()
                .map(|r| (r.name.clone(), 0))
                .collect(),
            hits: Vec::new(),
        };
        if types.is_empty() {
            return Ok(dry);
        }
        let list = types
            .iter()
            .map(|t| format!("'{t}'")) // event type names are [a-z_] only
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT id, lead_id, type, payload, actor, occurred_at FROM events
             WHERE type IN ({list}) AND occurred_at >= $1 ORDER BY occurred_at, id LIMIT $2"
        );
        let rows: Vec<TriggerRow> = on_read_pool!(self, pool => sqlx::query_as(&sql)
            .bind(since)
            .bind(limit.clamp(1, 1_000_000))
            .fetch_all(pool)
            .await)?;
        dry.events_scanned = rows.len();
        let mut leads: HashMap<i64, Option<StoredLead>> = HashMap::new();
        for row in &rows {
            if let std::collections::hash_map::Entry::Vacant(slot) = leads.entry(row.lead_id) {
                slot.insert(match self.lead(row.lead_id).await {
                    Ok(lead) => Some(lead),
                    Err(StoreError::LeadNotFound(_)) => None,
                    Err(e) => return Err(e),
                });
            }
            let Some(Some(lead)) = leads.get(&row.lead_id) else {
                continue;
            };
            let Ok(event_type) = EventType::from_str(&row.event_type) else {
                continue;
            };
            for (i, rule) in policy.automation.iter().enumerate() {
                if rule.fires(event_type, &row.payload.0, row.actor.as_deref(), &lead.lead) {
                    dry.fired[i].1 += 1;
                    if dry.hits.len() < 1000 {
                        dry.hits.push(DryRunHit {
                            rule: rule.name.clone(),
                            event_id: row.id,
                            lead_id: row.lead_id,
                            occurred_at: row.occurred_at,
                            actions: rule.actions.iter().map(Action::describe).collect(),
                        });
                    }
                }
            }
        }
        Ok(dry)
    }
}
