//! Routing and response clocks: a lead that becomes an MQL without an owner goes to a rep by
//! the policy's rules (core's `RoutingRule::holds` and `pick`), a stage the policy times
//! starts a clock in the owner's team's hours, the deadline job breaches and escalates, an
//! untouched breached lead is recycled, and a manager hands a lead to another rep.

use crate::Result;
use chrono::{DateTime, Duration, Utc};
use leadgate_core::access::LeadScope;
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::id::{ClockId, LeadId};
use leadgate_core::lifecycle::{self, MoveReason, MoveRequest, Mover};
use leadgate_core::routing::{self, Method, RepLoad, RoutingFacts, RoutingRule};
use leadgate_core::scoring::{self, Marks, Score};
use leadgate_core::sla::{self, ClockState, Escalation, SlaRule};
use leadgate_core::temperature::Temperature;
use leadgate_core::{EventDraft, EventType, FieldError, Stage};
use leadgate_store::{
    check_name, to_micros, ActivePolicy, Assignment, Handover, NewClock, NewEvent, Store,
    StoreError, StoredClock, StoredLead, Team, Ts, Tx,
};
use serde_json::json;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// What routing rules test on a stored lead: its first channel and its last stored grade and
/// temperature.
pub(crate) fn facts_of(lead: &StoredLead) -> RoutingFacts<'_> {
    let snapshot = lead.snapshot.as_ref();
    RoutingFacts {
        channel: lead.first_touch.channel.as_str(),
        grade: snapshot.map_or("", |s| s.grade.as_str()),
        temperature: snapshot
            .and_then(|s| s.temperature.parse().ok())
            .unwrap_or(Temperature::Cold),
    }
}

/// After a lead moved from its stage to `to`: the old stage's clocks end, a new MQL without
/// an owner is routed, and the new stage's clock starts.
pub async fn after_move(
    tx: &mut Tx,
    lead: &StoredLead,
    to: Stage,
    active: &ActivePolicy,
    score: &Score,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.answer_stage(lead.id, lead.lead.stage.as_str(), at)
        .await?;
    let policy = &active.policy;
    let mut owner = lead.lead.owner.as_ref().map(|o| o.as_str().to_owned());
    if to == Stage::Mql && owner.is_none() && !policy.routing.is_empty() {
        let facts = RoutingFacts {
            channel: lead.first_touch.channel.as_str(),
            grade: &score.grade,
            temperature: score.temperature,
        };
        owner = route(tx, lead, &policy.routing, facts, None, at)
            .await?
            .owner;
    }
    if let Some(rule) = sla::rule_for(&policy.sla, to, score.temperature, &score.grade) {
        let entered = (Some(score.temperature), Some(score.grade.as_str()));
        start_clock(
            tx,
            lead,
            rule,
            owner.as_deref(),
            entered,
            active.version,
            at,
        )
        .await?;
    }
    Ok(())
}

/// Starts the clock `rule` for a lead owned by `owner`, from `at`, its deadline in the
/// owner's team's working hours (around the clock for an owner in no team);
/// `(temperature, grade)` as the lead was when it entered the stage, for reports.
async fn start_clock(
    tx: &mut Tx,
    lead: &StoredLead,
    rule: &SlaRule,
    owner: Option<&str>,
    (temperature, grade): (Option<Temperature>, Option<&str>),
    policy_version: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    let (team, calendar) = match tx.team_of(owner).await? {
        Some(team) => (Some(team.name), team.calendar),
        None => (None, BusinessCalendar::always()),
    };
    let Some(due_at) = rule.within.deadline(&calendar, at) else {
        tracing::warn!(lead = %lead.id, rule = %rule.name, "the team's calendar has no working time ahead; no clock started");
        return Ok(());
    };
    let clock = NewClock {
        rule,
        owner,
        team: team.as_deref(),
        temperature,
        grade,
        policy_version,
        started_at: at,
        due_at,
    };
    tx.start_clock(lead, &clock).await?;
    Ok(())
}

/// Routes a lead by the policy's rules: the first rule that holds names the team, and the
/// team's method picks the rep (never `except`). Returns who got it; nobody when no rule
/// holds, the team does not exist, or all its reps are away or at their cap (then the
/// team's manager is told). The one-lead case of `route_many`.
pub async fn route(
    tx: &mut Tx,
    lead: &StoredLead,
    rules: &[RoutingRule],
    facts: RoutingFacts<'_>,
    except: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Assignment> {
    let request = ToRoute {
        lead,
        rules,
        facts,
        except,
    };
    let mut assignments = route_many(tx, std::slice::from_ref(&request), now).await?;
    assignments
        .pop()
        .ok_or_else(|| StoreError::Internal("routing answered for no lead".into()).into())
}

/// A lead to route: the rules that apply to it, what they test, and a rep it must not go
/// to (the owner it is being taken from).
pub struct ToRoute<'a> {
    pub lead: &'a StoredLead,
    pub rules: &'a [RoutingRule],
    pub facts: RoutingFacts<'a>,
    pub except: Option<&'a str>,
}

/// Routes leads in order, each as `route` would after the ones before it: a team and its
/// reps' loads are read once, each pick is made on the loads the earlier picks left
/// (`routing::hand_over`), and the handovers are written together. One assignment per
/// lead, in order.
pub async fn route_many(
    tx: &mut Tx,
    leads: &[ToRoute<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Assignment>> {
    let mut teams: HashMap<String, Option<Team>> = HashMap::new();
    let mut loads: HashMap<(String, Method), Vec<RepLoad>> = HashMap::new();
    let mut assignments = Vec::with_capacity(leads.len());
    let mut handovers: Vec<(usize, String, serde_json::Value)> = Vec::new();
    for (index, item) in leads.iter().enumerate() {
        let lead = item.lead;
        let unassigned = |team: Option<&str>, rule: Option<&str>, reason: String| Assignment {
            lead_id: lead.id,
            owner: None,
            team: team.map(str::to_owned),
            rule: rule.map(str::to_owned),
            reason,
        };
        // The first rule that holds, skipping rules for teams outside their working hours
        // when the rule says so (follow the sun).
        let mut chosen = None;
        let mut missing = None;
        for rule in item
            .rules
            .iter()
            .filter(|r| r.holds(&lead.lead, item.facts))
        {
            if !teams.contains_key(&rule.team) {
                let team = tx.team(&rule.team).await?;
                teams.insert(rule.team.clone(), team);
            }
            let Some(Some(team)) = teams.get(&rule.team) else {
                missing = Some(rule);
                break;
            };
            if rule.when_open && !team.calendar.is_open(now) {
                continue;
            }
            chosen = Some((rule, team.clone()));
            break;
        }
        if let Some(rule) = missing {
            tracing::warn!(team = %rule.team, rule = %rule.name, "routing names a team that does not exist");
            assignments.push(unassigned(
                Some(&rule.team),
                Some(&rule.name),
                format!("team '{}' does not exist", rule.team),
            ));
            continue;
        }
        let Some((rule, team)) = chosen else {
            assignments.push(unassigned(None, None, "no routing rule holds".into()));
            continue;
        };
        let key = (team.name.clone(), rule.method);
        if !loads.contains_key(&key) {
            let read = tx.loads(&team, rule.method, now).await?;
            loads.insert(key.clone(), read);
        }
        let picked = loads
            .get(&key)
            .and_then(|reps| routing::pick(rule.method, reps, item.except))
            .map(|rep| rep.name.clone());
        let Some(rep) = picked else {
            let reason = format!(
                "every rep of team '{}' is away or at their daily cap",
                team.name
            );
            if let Some(manager) = &team.manager {
                let message = format!("Lead {} could not be routed: {reason}", lead.id);
                tx.notify(manager, "unassigned", Some(lead.id), None, &message, now)
                    .await?;
            }
            assignments.push(unassigned(Some(&team.name), Some(&rule.name), reason));
            continue;
        };
        // Every method's view of the team sees the handover.
        let from = lead.lead.owner.as_ref().map(|o| o.as_str());
        for ((name, _), reps) in loads.iter_mut() {
            if *name == team.name {
                routing::hand_over(reps, &rep, from);
            }
        }
        let method = match rule.method {
            Method::RoundRobin => "round_robin",
            Method::LeastLoaded => "least_loaded",
            Method::Weighted => "weighted",
        };
        let reason = format!(
            "routing rule '{}' to team {} ({method})",
            rule.name, team.name
        );
        handovers.push((
            index,
            reason.clone(),
            json!({"team": team.name, "rule": rule.name}),
        ));
        assignments.push(Assignment {
            lead_id: lead.id,
            owner: Some(rep),
            team: Some(team.name),
            rule: Some(rule.name.clone()),
            reason,
        });
    }
    let writes: Vec<Handover> = handovers
        .iter()
        .filter_map(|(index, reason, detail)| {
            Some(Handover {
                lead: leads[*index].lead,
                owner: assignments[*index].owner.as_deref()?,
                reason,
                detail: detail.clone(),
            })
        })
        .collect();
    tx.assign_many(&writes, "routing", now).await?;
    Ok(assignments)
}

/// A lead given to another rep: its running clocks end as reassigned and start afresh for
/// the new owner, in their team's hours.
pub async fn restart_clocks(
    tx: &mut Tx,
    lead: &StoredLead,
    owner: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    restart_clocks_of(tx, &[(lead, owner)], at).await
}

/// `restart_clocks` for many leads, their running clocks read at once.
async fn restart_clocks_of(
    tx: &mut Tx,
    given: &[(&StoredLead, &str)],
    at: DateTime<Utc>,
) -> Result<()> {
    let ids: Vec<LeadId> = given.iter().map(|(lead, _)| lead.id).collect();
    let clocks = tx.running_clocks_of_leads(&ids).await?;
    let by_id: HashMap<LeadId, &(&StoredLead, &str)> = given.iter().map(|g| (g.0.id, g)).collect();
    for clock in clocks {
        let Some((lead, owner)) = by_id.get(&clock.lead_id) else {
            continue;
        };
        tx.end_reassigned(clock.id, at).await?;
        restart(tx, lead, &clock, owner, at).await?;
    }
    Ok(())
}

/// Starts a clock like `clock` (its rule as it was) for `owner` from `at`.
async fn restart(
    tx: &mut Tx,
    lead: &StoredLead,
    clock: &StoredClock,
    owner: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let rule = clock.rule()?;
    let temperature = clock.temperature.as_deref().and_then(|t| t.parse().ok());
    let entered = (temperature, clock.grade.as_deref());
    start_clock(
        tx,
        lead,
        &rule,
        Some(owner),
        entered,
        clock.policy_version,
        at,
    )
    .await
}

/// The deadline job: a clock still unanswered is breached (an `sla_breached` event), and its
/// escalations run: the owner or the team's manager told, the lead handed to another rep of
/// the team, a recycle job queued.
pub async fn check_clock(tx: &mut Tx, id: ClockId, now: DateTime<Utc>) -> Result<()> {
    let Some(clock) = tx.clock(id).await? else {
        return Ok(());
    };
    if clock.met_at.is_some() || clock.state != ClockState::Running || now < clock.due_at.0 {
        return Ok(());
    }
    tx.breach_clock(id, now).await?;
    let Some(lead) = tx.lead(clock.lead_id, true).await? else {
        return Ok(());
    };
    let event = EventDraft::new(
        EventType::SlaBreached,
        now,
        json!({"clock_id": clock.id, "rule": clock.rule, "stage": clock.stage, "owner": clock.owner,
               "team": clock.team, "due_at": clock.due_at}),
    )
    .with_actor("sla");
    tx.insert_events(
        &[NewEvent {
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
                    tx.notify(owner, "sla_breached", Some(lead.id), None, &message, now)
                        .await?;
                }
            }
            Escalation::NotifyManager => {
                let manager = match &clock.team {
                    Some(team) => tx.team(team).await?.and_then(|t| t.manager),
                    None => None,
                };
                if let Some(manager) = manager {
                    tx.notify(&manager, "sla_breached", Some(lead.id), None, &message, now)
                        .await?;
                }
            }
            Escalation::Reassign => reassign_breached(tx, &lead, &clock, now).await?,
        }
    }
    if let Some(days) = clock.recycle_after_days {
        tx.queue_recycle(id, now + Duration::days(days.max(1).into()))
            .await?;
    }
    Ok(())
}

/// Gives a breached lead to another rep of its owner's team, by the team's round-robin.
async fn reassign_breached(
    tx: &mut Tx,
    lead: &StoredLead,
    clock: &StoredClock,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(team) = &clock.team else {
        return Ok(());
    };
    let Some(team) = tx.team(team).await? else {
        return Ok(());
    };
    let rule = RoutingRule {
        name: format!("SLA '{}' breached", clock.rule),
        team: team.name.clone(),
        ..Default::default()
    };
    let facts = RoutingFacts {
        channel: "",
        grade: "",
        temperature: Temperature::Cold,
    };
    let except = clock.owner.as_deref();
    let assignment = route(tx, lead, std::slice::from_ref(&rule), facts, except, now).await?;
    if let Some(owner) = assignment.owner {
        restart(tx, lead, clock, &owner, now).await?;
    }
    Ok(())
}

/// Recycles a lead still untouched in the stage of a breached clock (the recycle job).
pub async fn recycle_untouched(
    tx: &mut Tx,
    id: ClockId,
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(clock) = tx.clock(id).await? else {
        return Ok(());
    };
    let Some(lead) = tx.lead(clock.lead_id, true).await? else {
        return Ok(());
    };
    if clock.met_at.is_some() || lead.lead.stage.as_str() != clock.stage {
        return Ok(());
    }
    if tx.touched_since(lead.id, clock.started_at.0).await? {
        return Ok(());
    }
    let reason = MoveReason::NoResponse.to_string();
    let request = MoveRequest {
        from: lead.lead.stage,
        to: Stage::Recycled,
        reason: Some(&reason),
        override_bant: false,
        mover: Mover::Policy,
        mql_rule_holds: false,
    };
    let marks = Marks {
        confirmed: &lead.bant_confirmed,
        junk: &lead.junk,
    };
    let bant = scoring::score_quick(&lead.lead, &[], marks, &active.policy, now).bant;
    if let Err(refused) = lifecycle::check(&request, &bant, &active.policy) {
        tracing::warn!(lead = %lead.id, %refused, "cannot recycle the untouched lead");
        return Ok(());
    }
    let actor = format!("sla:{}", clock.rule);
    tx.record_move(
        &lead,
        Stage::Recycled,
        &MoveReason::NoResponse,
        active.version,
        false,
        &actor,
        now,
    )
    .await?;
    tx.answer_stage(lead.id, &clock.stage, now).await?;
    Ok(())
}

/// Gives a lead to `owner` by hand; the reason is required and recorded, and the lead's
/// running clocks start afresh for the new owner. Whoever assigns within a team's `scope`
/// (a sales manager) gives leads only to reps of that team.
pub async fn reassign(
    store: &Store,
    lead_id: LeadId,
    owner: &str,
    reason: &str,
    actor: &str,
    scope: &LeadScope,
) -> Result<StoredLead> {
    check_name("owner", owner)?;
    if reason.trim().is_empty() {
        return Err(
            StoreError::from(FieldError::new("reason", "is required for a reassignment")).into(),
        );
    }
    let owner = owner.trim();
    let now = to_micros(Utc::now());
    let mut tx = store.begin().await?;
    let lead = tx
        .lead(lead_id, true)
        .await?
        .ok_or(StoreError::LeadNotFound(lead_id))?;
    if *scope != LeadScope::All {
        let team = tx.rep_team(owner).await?;
        if !scope.covers(team.as_deref()) {
            return Err(StoreError::OutOfScope(format!(
                "owner: '{owner}' is not a rep of team '{}'",
                scope.team().unwrap_or("-")
            ))
            .into());
        }
    }
    if lead.lead.owner.as_ref().map(|o| o.as_str()) == Some(owner) {
        return Err(StoreError::Conflict {
            field: "owner".into(),
            reason: format!("lead {lead_id} is already {owner}'s"),
        }
        .into());
    }
    tx.assign(&lead, owner, reason.trim(), json!({}), actor, now)
        .await?;
    restart_clocks(&mut tx, &lead, owner, now).await?;
    tx.commit().await?;
    Ok(store.lead(lead_id).await?)
}

/// Routes every MQL that has no owner (after teams were created, or reps came back), a page
/// at a time, under the policy of each lead's product. Returns (routed, left).
pub async fn route_waiting(store: &Store, now: DateTime<Utc>) -> Result<(usize, usize)> {
    let (mut routed, mut left, mut after) = (0, 0, LeadId(0));
    let mut policies: HashMap<String, ActivePolicy> = HashMap::new();
    loop {
        let mut tx = store.begin().await?;
        let page = tx.unowned_mqls(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for lead in &page {
            if let Entry::Vacant(slot) = policies.entry(lead.lead.product_line()) {
                let active = store.active_policy(slot.key()).await?;
                slot.insert(active);
            }
        }
        let requests: Vec<ToRoute> = page
            .iter()
            .filter_map(|lead| {
                Some(ToRoute {
                    lead,
                    rules: &policies.get(&lead.lead.product_line())?.policy.routing,
                    facts: facts_of(lead),
                    except: None,
                })
            })
            .collect();
        let assignments = route_many(&mut tx, &requests, now).await?;
        let given: Vec<(&StoredLead, &str)> = requests
            .iter()
            .zip(&assignments)
            .filter_map(|(request, a)| Some((request.lead, a.owner.as_deref()?)))
            .collect();
        routed += given.len();
        left += page.len() - given.len();
        restart_clocks_of(&mut tx, &given, now).await?;
        tx.commit().await?;
    }
    Ok((routed, left))
}
