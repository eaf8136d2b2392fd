//! Qualification: a person's move through the lifecycle, an outcome recorded, BANT confirmed
//! or withdrawn, a junk verdict, and the moves the policy makes by itself when a lead's
//! score changes. Core decides (the lifecycle, the policy's move); this layer holds the
//! transaction in which the lead is read, checked, moved and its clocks set.

use crate::rescore::standing_under;
use crate::{Models, Result};
use chrono::{DateTime, Utc};
use leadgate_core::event::EventDraft;
use leadgate_core::id::LeadId;
use leadgate_core::lifecycle::{self, policy_actor, MoveRequest, Mover, Standing};
use leadgate_core::policy::BantPart;
use leadgate_core::scoring::Score;
use leadgate_core::{EventType, FieldError, Stage};
use leadgate_store::{
    to_micros, ActivePolicy, Move, NewEvent, Store, StoreError, StoredLead, Ts, Tx,
};
use serde_json::{json, Value};

/// What became of a lead, as a rep records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Won { value: Option<f64> },
    Lost { reason: String, to: Stage },
}

/// A move as asked for, before the lead's stage and score are known.
struct Asked<'a> {
    to: Stage,
    reason: Option<&'a str>,
    override_bant: bool,
    mover: Mover,
}

/// Moves a lead to `to` if the lifecycle and the policy allow it (a reason where they ask
/// for one; `override_bant` to qualify as SQL although BANT does not pass); the move is a
/// `stage_changed` event with the actor, the reason and the policy version.
pub async fn transition(
    store: &Store,
    id: LeadId,
    to: Stage,
    reason: Option<&str>,
    override_bant: bool,
    actor: &str,
) -> Result<StoredLead> {
    let asked = Asked {
        to,
        reason,
        override_bant,
        mover: Mover::Person,
    };
    move_with(store, id, asked, None, actor).await
}

/// `transition`, then a fresh prediction.
pub async fn move_lead(
    store: &Store,
    models: &Models,
    id: LeadId,
    to: Stage,
    reason: Option<&str>,
    override_bant: bool,
    actor: &str,
) -> Result<StoredLead> {
    let lead = transition(store, id, to, reason, override_bant, actor).await?;
    models.repredicted(lead, Utc::now()).await
}

/// Records what became of a lead and moves it accordingly, in one transaction: won (with
/// its deal value) moves it to customer; lost moves it to `lost_to` (disqualified or
/// recycled) with a reason the policy allows. The `outcome_recorded` event is what source
/// analytics and the conversion model learn from.
pub async fn record_outcome(
    store: &Store,
    id: LeadId,
    outcome: Outcome,
    actor: &str,
) -> Result<StoredLead> {
    let (to, reason, payload) = match &outcome {
        Outcome::Won { value } => {
            if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(StoreError::from(FieldError::new(
                    "value",
                    "must be a number of at least 0",
                ))
                .into());
            }
            let mut payload = json!({"outcome": "won"});
            if let Some(v) = value {
                payload["value"] = json!(v);
            }
            (Stage::Customer, None, payload)
        }
        Outcome::Lost { reason, to } => {
            if !matches!(to, Stage::Disqualified | Stage::Recycled) {
                return Err(StoreError::from(FieldError::new(
                    "to",
                    "a lost lead is disqualified or recycled",
                ))
                .into());
            }
            (
                *to,
                Some(reason.as_str()),
                json!({"outcome": "lost", "reason": reason}),
            )
        }
    };
    let asked = Asked {
        to,
        reason,
        override_bant: false,
        mover: Mover::Person,
    };
    move_with(store, id, asked, Some(payload), actor).await
}

/// Closes a lead that an import's outcome says was won (customer) or lost (disqualified),
/// with the reason the file gives: the outcome event is the import's own, this is the move
/// it implies, with its clocks stopped like any other. A lead already closed is left as it
/// is (`None`).
pub async fn settle_outcome(
    store: &Store,
    id: LeadId,
    won: bool,
    reason: &str,
    actor: &str,
) -> Result<Option<StoredLead>> {
    let to = if won {
        Stage::Customer
    } else {
        Stage::Disqualified
    };
    let asked = Asked {
        to,
        reason: Some(reason),
        override_bant: false,
        mover: Mover::Record,
    };
    match move_with(store, id, asked, None, actor).await {
        Ok(lead) => Ok(Some(lead)),
        Err(crate::AppError::Refused(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One move in one transaction: the lead read and held, scored now, the move checked by the
/// lifecycle, the outcome (if any) and the move recorded, clocks and routing set off, and
/// the score stored.
async fn move_with(
    store: &Store,
    id: LeadId,
    asked: Asked<'_>,
    outcome: Option<Value>,
    actor: &str,
) -> Result<StoredLead> {
    let Asked {
        to,
        reason,
        override_bant,
        mover,
    } = asked;
    let now = to_micros(Utc::now());
    let (mut tx, lead, score, _, active) = lock_and_score(store, id, now).await?;
    let request = MoveRequest {
        from: lead.lead.stage,
        to,
        reason,
        override_bant,
        mover,
        mql_rule_holds: score.mql,
    };
    lifecycle::check(&request, &score.bant, &active.policy)?;
    let reason = lifecycle::reason_of_move(reason, to, &score, &active.policy, actor);
    if let Some(payload) = outcome {
        let draft = EventDraft::new(EventType::OutcomeRecorded, now, payload).with_actor(actor);
        tx.insert_events(
            &[NewEvent {
                lead_id: id,
                draft: &draft,
            }],
            Ts(now),
        )
        .await?;
    }
    tx.record_move(
        &lead,
        to,
        &reason,
        active.version,
        override_bant,
        actor,
        now,
    )
    .await?;
    crate::route::after_move(&mut tx, &lead, to, &active, &score, now).await?;
    tx.save_scores(&[(&lead, &score, active.version)], now, None)
        .await?;
    tx.commit().await?;
    Ok(store.lead(id).await?)
}

/// Opens a write transaction holding the lead, and scores it at `now` under its product's
/// policy.
async fn lock_and_score(
    store: &Store,
    id: LeadId,
    now: DateTime<Utc>,
) -> Result<(Tx, StoredLead, Score, Standing, ActivePolicy)> {
    let product = store.lead(id).await?.lead.product_line();
    let active = store.active_policy(&product).await?;
    let mut tx = store.begin().await?;
    let lead = tx
        .lead(id, true)
        .await?
        .ok_or(StoreError::LeadNotFound(id))?;
    let events = tx.events_of(&[id]).await?.remove(&id).unwrap_or_default();
    let (score, standing) = standing_under(&lead, &events, &active, now);
    Ok((tx, lead, score, standing, active))
}

/// Rescores one lead now, stores the score, and moves it if its MQL status changed (a lead
/// that arrives or is edited into the MQL rule becomes an MQL at once).
pub async fn refresh_lead(store: &Store, id: LeadId, now: DateTime<Utc>) -> Result<StoredLead> {
    let now = to_micros(now);
    let (mut tx, lead, score, standing, active) = lock_and_score(store, id, now).await?;
    tx.save_scores(&[(&lead, &score, active.version)], now, None)
        .await?;
    move_by_score(&mut tx, &lead, &standing, &score, &active, now).await?;
    tx.commit().await?;
    Ok(store.lead(id).await?)
}

/// When the policy moves MQLs by itself, moves a lead (its new score stored) whose MQL
/// status changed (core's `policy_move`). Returns the stage it moved to, if it moved.
pub(crate) async fn move_by_score(
    tx: &mut Tx,
    lead: &StoredLead,
    standing: &Standing,
    score: &Score,
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Result<Option<Stage>> {
    let moved = moves_by_score(tx, &[(lead, standing, score)], active, now).await?;
    Ok(moved.into_iter().next().map(|(_, to)| to))
}

/// `move_by_score` for many leads at once, their moves recorded together; then each move
/// sets off its clocks and routing. Returns the leads moved and where to; a lead moved by a
/// person since it was read is not among them (theirs stands).
pub(crate) async fn moves_by_score(
    tx: &mut Tx,
    scored: &[(&StoredLead, &Standing, &Score)],
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Result<Vec<(LeadId, Stage)>> {
    let wanted: Vec<(&StoredLead, &Score, Stage, lifecycle::MoveReason)> = scored
        .iter()
        .filter_map(|(lead, standing, score)| {
            lifecycle::policy_move(standing, score, &active.policy, active.version, now)
                .map(|(to, reason)| (*lead, *score, to, reason))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let moves: Vec<Move> = wanted
        .iter()
        .map(|(lead, _, to, reason)| Move {
            lead,
            to: *to,
            reason,
        })
        .collect();
    let actor = policy_actor(active.version);
    let moved = tx
        .record_moves(&moves, active.version, false, &actor, now)
        .await?;
    let mut done = Vec::with_capacity(moved.len());
    for (lead, score, to, _) in &wanted {
        if moved.contains(&lead.id) {
            crate::route::after_move(tx, lead, *to, active, score, now).await?;
            done.push((lead.id, *to));
        }
    }
    Ok(done)
}

/// Records which BANT parts a rep confirmed (`true`) or withdrew (`false`) as one
/// `field_changed` event (field `bant`, the confirmed parts before and after); then rescores
/// and predicts the lead.
pub async fn confirm_bant(
    store: &Store,
    models: &Models,
    id: LeadId,
    changes: &[(BantPart, bool)],
    actor: &str,
) -> Result<StoredLead> {
    let now = to_micros(Utc::now());
    let mut tx = store.begin().await?;
    let lead = tx
        .lead(id, true)
        .await?
        .ok_or(StoreError::LeadNotFound(id))?;
    let mut confirmed = lead.bant_confirmed.clone();
    for (part, wanted) in changes {
        if *wanted {
            confirmed.insert(*part);
        } else {
            confirmed.remove(part);
        }
    }
    if confirmed != lead.bant_confirmed {
        tx.set_bant(id, &confirmed, now).await?;
        // One save is one event, however many parts it changed.
        let names = |parts: &std::collections::BTreeSet<BantPart>| -> Vec<&str> {
            parts.iter().map(|p| p.name()).collect()
        };
        let draft = EventDraft::new(
            EventType::FieldChanged,
            now,
            json!({"field": "bant", "old": names(&lead.bant_confirmed), "new": names(&confirmed)}),
        )
        .with_actor(actor);
        tx.insert_events(
            &[NewEvent {
                lead_id: id,
                draft: &draft,
            }],
            Ts(now),
        )
        .await?;
    }
    tx.commit().await?;
    models.refresh(id, Utc::now()).await
}

/// A person's junk verdict (flag it, or clear every flag) with why; the lead is then
/// rescored (a flag may block its MQL) and predicted afresh.
pub async fn review_junk(
    store: &Store,
    models: &Models,
    id: LeadId,
    junk: bool,
    reason: &str,
    actor: &str,
) -> Result<StoredLead> {
    // The reason is kept in the lead's history: text a person wrote, no control bytes.
    leadgate_core::values::Text::parse(reason, 500)
        .map_err(|e| StoreError::from(FieldError::new("reason", e.to_string())))?;
    store.review_junk(id, junk, reason, actor).await?;
    models.refresh(id, Utc::now()).await
}
