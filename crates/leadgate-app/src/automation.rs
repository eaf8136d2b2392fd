//! Automation: the policy's rules run on a stored event (inside the job's transaction, each
//! rule's doing recorded as an `automation_fired` event), on leads gone quiet, and nurture
//! sequences a step at a time; and the dry run that shows what rules would have done over
//! past events. Core says when a rule fires and what counts as a reply; this layer does each
//! action through the store's writes.

use crate::rescore::score_under;
use crate::Result;
use chrono::{DateTime, Utc};
use leadgate_core::automation::{
    self, Action, Assignee, AutomationRule, EnrolmentState, Recipient,
};
use leadgate_core::followup::NewTask;
use leadgate_core::id::LeadId;
use leadgate_core::lifecycle::{self, MoveReason, MoveRequest, Mover};
use leadgate_core::policy::Policy;
use leadgate_core::{EventDraft, EventType, FieldError, Text};
use leadgate_store::{to_micros, ActivePolicy, NewEvent, Store, StoreError, StoredLead, Ts, Tx};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::hash_map::{Entry, HashMap};
use std::str::FromStr;

/// Records what a rule or a sequence step did to a lead, as `automation_fired`.
async fn record_fired(
    tx: &mut Tx,
    lead_id: LeadId,
    payload: Value,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let fired = EventDraft::new(EventType::AutomationFired, now, payload).with_actor(actor);
    tx.insert_events(
        &[NewEvent {
            lead_id,
            draft: &fired,
        }],
        Ts(to_micros(now)),
    )
    .await?;
    Ok(())
}

/// Does a rule's actions in order, each on the lead as the one before left it (a move, an
/// owner); what came of each, in words, for the `automation_fired` event.
#[allow(clippy::too_many_arguments)]
async fn act_all(
    tx: &mut Tx,
    lead_id: LeadId,
    rule: &AutomationRule,
    active: &ActivePolicy,
    trigger: Option<i64>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Value>> {
    let mut done = Vec::new();
    for action in &rule.actions {
        let Some(current) = tx.lead(lead_id, true).await? else {
            break;
        };
        let outcome = act(
            tx, action, &current, &rule.name, active, trigger, actor, now,
        )
        .await?;
        done.push(json!({"action": action.describe(), "outcome": outcome}));
    }
    Ok(done)
}

/// Runs every rule of `active` that fires on the event, in order; the lead is read afresh
/// before each rule, so a later rule sees what an earlier one did.
pub async fn run_on_event(
    tx: &mut Tx,
    event_id: i64,
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(trigger) = tx.event(event_id).await? else {
        return Ok(());
    };
    let Ok(event_type) = EventType::from_str(&trigger.event_type) else {
        return Ok(());
    };
    let depth = automation::origin(trigger.actor.as_deref()).map_or(1, |(d, _)| d + 1);
    for rule in &active.policy.automation {
        let Some(lead) = tx.lead(trigger.lead_id, true).await? else {
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
        let done = act_all(tx, lead.id, rule, active, Some(trigger.id), &actor, now).await?;
        let payload = json!({"rule": rule.name, "trigger_event": trigger.id,
                             "trigger_type": trigger.event_type, "actions": done});
        record_fired(tx, lead.id, payload, &actor, now).await?;
    }
    Ok(())
}

/// Does one action; returns what came of it in words ("done", or why not).
#[allow(clippy::too_many_arguments)]
async fn act(
    tx: &mut Tx,
    action: &Action,
    lead: &StoredLead,
    rule: &str,
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
                    .map_err(|e| StoreError::from(FieldError::new("title", e.0)))?,
                due_at: now + *due_in,
                owner: None,
                notes: None,
            };
            let task =
                crate::followup::add_task(tx, lead.id, &task, actor, Ts(to_micros(now))).await?;
            format!("task {}", task.id)
        }
        Action::AddTag(tag) => add_tag(tx, lead, tag, actor, now).await?,
        Action::Notify { to, message } => {
            let recipient = match to {
                Recipient::Owner => owner.clone(),
                Recipient::Manager => tx.team_of(owner.as_deref()).await?.and_then(|t| t.manager),
                Recipient::Named(name) => Some(name.clone()),
            };
            match recipient {
                Some(who) => {
                    tx.notify(&who, "automation", Some(lead.id), None, message, now)
                        .await?;
                    format!("told {who}")
                }
                None => "nobody to tell".into(),
            }
        }
        Action::MoveTo { stage, reason } => {
            let events = tx
                .events_of(&[lead.id])
                .await?
                .remove(&lead.id)
                .unwrap_or_default();
            let score = score_under(lead, &events, active, now);
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
                    let reason = MoveReason::Given {
                        text: reason.clone(),
                    };
                    tx.record_move(lead, *stage, &reason, active.version, false, actor, now)
                        .await?;
                    crate::route::after_move(tx, lead, *stage, active, &score, now).await?;
                    "done".into()
                }
                Err(refused) => format!("refused: {refused}"),
            }
        }
        Action::Assign(Assignee::Route) => {
            let facts = crate::route::facts_of(lead);
            let assignment =
                crate::route::route(tx, lead, &active.policy.routing, facts, None, now).await?;
            match assignment.owner {
                Some(rep) => {
                    crate::route::restart_clocks(tx, lead, &rep, now).await?;
                    format!("assigned to {rep}")
                }
                None => assignment.reason,
            }
        }
        Action::Assign(Assignee::Rep(rep)) => {
            if owner.as_deref() == Some(rep.as_str()) {
                return Ok(format!("already {rep}'s"));
            }
            let reason = format!("automation rule '{rule}'");
            tx.assign(lead, rep, &reason, json!({}), actor, now).await?;
            crate::route::restart_clocks(tx, lead, rep, now).await?;
            format!("assigned to {rep}")
        }
        Action::Enrol(name) => {
            let Some(sequence) = active.policy.sequences.iter().find(|s| &s.name == name) else {
                return Ok(format!("no sequence is named '{name}'"));
            };
            let first_due = now + sequence.steps[0].0;
            match tx.enrol(lead.id, name, first_due, now).await? {
                Some(_) => format!("enrolled ({} steps)", sequence.steps.len()),
                None => "already enrolled".into(),
            }
        }
        Action::SendEmail(template) => match tx.queue_email(lead.id, template, actor, now).await {
            Ok(email) => format!("email {} queued", email.id),
            Err(StoreError::Conflict { reason, .. }) => format!("not sent: {reason}"),
            Err(StoreError::NotFound(reason)) => format!("not sent: {reason}"),
            Err(e) => return Err(e.into()),
        },
        Action::Webhook(id) => {
            let Some(event_id) = trigger else {
                return Ok("no event to send (the rule fires on inactivity)".into());
            };
            if !tx.webhook_exists(*id).await? {
                return Ok(format!("no webhook has id {id}"));
            }
            tx.queue_delivery(*id, event_id, now).await?;
            format!("queued for webhook {id}")
        }
    })
}

/// Adds a tag to the lead's `custom.tags` list (a `field_changed` event), unless it has it.
/// Automation's tag action and a person's tag (`capture::tag`) both use it.
pub(crate) async fn add_tag(
    tx: &mut Tx,
    lead: &StoredLead,
    tag: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let mut stored = lead.clone();
    let tags = stored
        .lead
        .custom
        .entry("tags")
        .or_insert_with(|| json!([]));
    if !tags.is_array() {
        *tags = json!([]);
    }
    let Some(list) = tags.as_array_mut() else {
        return Ok("tags are not a list".into());
    };
    if list.iter().any(|t| t.as_str() == Some(tag)) {
        return Ok("already tagged".into());
    }
    let old = json!(list.clone());
    list.push(json!(tag));
    let new = json!(list.clone());
    stored.updated_at = now;
    tx.save_lead(&stored).await?;
    let change = EventDraft::new(
        EventType::FieldChanged,
        now,
        json!({"field": "custom.tags", "old": old, "new": new}),
    )
    .with_actor(actor);
    tx.insert_events(
        &[NewEvent {
            lead_id: lead.id,
            draft: &change,
        }],
        Ts(to_micros(now)),
    )
    .await?;
    Ok("done".into())
}

/// Runs step `step` of an enrolment, unless the lead replied since enrolling or is no
/// longer nurtured (then the sequence stops), and schedules the next.
pub async fn run_step(
    tx: &mut Tx,
    enrolment: i64,
    step: usize,
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(row) = tx
        .enrolment(enrolment)
        .await?
        .filter(|r| r.state == EnrolmentState::Active && r.next_step == step)
    else {
        return Ok(());
    };
    let Some(lead) = tx.lead(row.lead_id, true).await? else {
        return Ok(());
    };
    let stop = |reason: String| (EnrolmentState::Stopped, Some(reason));
    let Some(sequence) = active
        .policy
        .sequences
        .iter()
        .find(|s| s.name == row.sequence)
    else {
        let (state, reason) = stop("the sequence is no longer in the policy".into());
        return Ok(tx
            .end_enrolment(row.id, state, reason.as_deref(), now)
            .await?);
    };
    if !automation::nurtured(lead.lead.stage) {
        let (state, reason) = stop(format!("the lead is {}", lead.lead.stage));
        return Ok(tx
            .end_enrolment(row.id, state, reason.as_deref(), now)
            .await?);
    }
    let answers = tx.contacts_since(row.lead_id, row.enrolled_at).await?;
    if answers.iter().any(|(t, p)| automation::is_reply(t, p)) {
        let (state, reason) = stop("the lead replied".into());
        return Ok(tx
            .end_enrolment(row.id, state, reason.as_deref(), now)
            .await?);
    }
    let Some((_, action)) = sequence.steps.get(step) else {
        return Ok(tx
            .end_enrolment(row.id, EnrolmentState::Finished, None, now)
            .await?);
    };
    let actor = automation::actor(&sequence.name, 1);
    let outcome = act(tx, action, &lead, &sequence.name, active, None, &actor, now).await?;
    let payload = json!({"sequence": sequence.name, "step": step + 1, "of": sequence.steps.len(),
                         "actions": [{"action": action.describe(), "outcome": outcome}]});
    record_fired(tx, lead.id, payload, &actor, now).await?;
    match sequence.steps.get(step + 1) {
        Some((wait, _)) => {
            tx.advance_enrolment(row.id, lead.id, step + 1, now + *wait, now)
                .await?
        }
        None => {
            tx.end_enrolment(row.id, EnrolmentState::Finished, None, now)
                .await?
        }
    }
    Ok(())
}

/// Runs the rules that fire on inactivity: every lead of their product (in their stages,
/// meeting their conditions) with no activity for their days, and no firing of the rule
/// since, gets the rule's actions, a lead per transaction. Returns how many times rules
/// fired.
pub async fn run_inactivity(store: &Store, now: DateTime<Utc>) -> Result<usize> {
    let mut fired = 0;
    for product in store.products_with_inactivity_rules().await? {
        let active = store.active_policy(&product).await?;
        for rule in &active.policy.automation {
            let automation::Trigger::Inactive { days } = rule.on else {
                continue;
            };
            let cutoff = now - chrono::Duration::days(days.into());
            let actor = automation::actor(&rule.name, 1);
            let mut after = LeadId(0);
            loop {
                let ids = store
                    .quiet_leads(&product, &rule.stages, cutoff, &actor, after)
                    .await?;
                let Some(last) = ids.last() else { break };
                after = *last;
                for id in ids {
                    let mut tx = store.begin().await?;
                    let Some(lead) = tx.lead(id, true).await? else {
                        continue;
                    };
                    // Another server may have fired it while this one waited for the lock.
                    if tx.fired_since(id, &actor, cutoff).await? || !rule.holds_for(&lead.lead) {
                        continue;
                    }
                    let done = act_all(&mut tx, id, rule, &active, None, &actor, now).await?;
                    let payload = json!({"rule": rule.name, "trigger_type": "inactive",
                                         "days": days, "actions": done});
                    record_fired(&mut tx, id, payload, &actor, now).await?;
                    tx.commit().await?;
                    fired += 1;
                }
            }
        }
    }
    Ok(fired)
}

/// What a rule would have done for one past event.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunHit {
    pub rule: String,
    pub event_id: i64,
    pub lead_id: LeadId,
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

/// What `policy`'s automation rules would have done on the events since `since` (at most
/// `limit` events of the types they start on), judged on each lead as it is now. Writes
/// nothing.
pub async fn dry_run(
    store: &Store,
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
    let events = store
        .events_of_types_since(&types, since.0, limit.clamp(1, 1_000_000))
        .await?;
    dry.events_scanned = events.len();
    let mut leads: HashMap<LeadId, Option<StoredLead>> = HashMap::new();
    for event in &events {
        if let Entry::Vacant(slot) = leads.entry(event.lead_id) {
            slot.insert(match store.lead(event.lead_id).await {
                Ok(lead) => Some(lead),
                Err(StoreError::LeadNotFound(_)) => None,
                Err(e) => return Err(e.into()),
            });
        }
        let Some(Some(lead)) = leads.get(&event.lead_id) else {
            continue;
        };
        let Ok(event_type) = EventType::from_str(&event.event_type) else {
            continue;
        };
        for (i, rule) in policy.automation.iter().enumerate() {
            if !rule.fires(
                event_type,
                &event.payload.0,
                event.actor.as_deref(),
                &lead.lead,
            ) {
                continue;
            }
            dry.fired[i].1 += 1;
            if dry.hits.len() < 1000 {
                dry.hits.push(DryRunHit {
                    rule: rule.name.clone(),
                    event_id: event.id,
                    lead_id: event.lead_id,
                    occurred_at: event.occurred_at,
                    actions: rule.actions.iter().map(Action::describe).collect(),
                });
            }
        }
    }
    Ok(dry)
}
