//! Qualification on stored leads: scores computed from the event log under the policy in
//! force, lifecycle moves checked by the state machine, BANT confirmations, and rescoring.

use crate::change_log::CountedRow;
use crate::leads::{NewEvent, StoredLead};
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, ActivePolicy, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::band_of;
use leadgate_core::backtest::{Backtest, BacktestReport, History};
use leadgate_core::event::EventDraft;
use leadgate_core::lifecycle::{self, MoveRequest, Mover};
use leadgate_core::policy::{BantPart, Policy};
use leadgate_core::scoring::{self, EventFact, Score};
use leadgate_core::{EventType, Stage};
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

/// A lead's current score under the policy in force.
#[derive(Debug, Clone)]
pub struct LeadScore {
    pub lead_id: i64,
    pub product: String,
    pub policy_version: i64,
    pub score: Score,
}

/// What became of a lead, as a rep records it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Won { value: Option<f64> },
    Lost { reason: String, to: Stage },
}

/// What a rescoring pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RescoreSummary {
    pub scored: usize,
    pub became_mql: usize,
    pub left_mql: usize,
}

/// A lead's event as scoring and models read it (`facts` lends them out).
pub struct OwnedEvent {
    id: i64,
    event_type: EventType,
    occurred_at: DateTime<Utc>,
    payload: Value,
}

/// Events as core's scoring and the models' features read them.
pub fn facts(events: &[OwnedEvent]) -> Vec<EventFact<'_>> {
    events
        .iter()
        .map(|e| EventFact {
            id: e.id,
            event_type: e.event_type,
            occurred_at: e.occurred_at,
            payload: &e.payload,
        })
        .collect()
}

fn group_events(rows: Vec<(i64, i64, String, Ts, Json<Value>)>) -> HashMap<i64, Vec<OwnedEvent>> {
    let mut by_lead: HashMap<i64, Vec<OwnedEvent>> = HashMap::new();
    for (lead_id, id, kind, at, payload) in rows {
        // Types this version does not know (written by a newer one) do not score.
        if let Ok(event_type) = EventType::from_str(&kind) {
            by_lead.entry(lead_id).or_default().push(OwnedEvent {
                id,
                event_type,
                occurred_at: at.0,
                payload: payload.0,
            });
        }
    }
    by_lead
}

/// A lead's score from its events under a policy, for passes over many leads.
fn score_under(
    lead: &StoredLead,
    events: &[OwnedEvent],
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Score {
    scoring::score_quick(
        &lead.lead,
        &facts(events),
        leadgate_core::scoring::Marks {
            confirmed: &lead.bant_confirmed,
            junk: &lead.junk,
        },
        &active.policy,
        now,
    )
}

const EVENTS_OF: &str =
    "SELECT lead_id, id, type, occurred_at, payload FROM events WHERE lead_id IN (";

impl Tx {
    pub(crate) async fn events_of(&mut self, ids: &[i64]) -> Result<HashMap<i64, Vec<OwnedEvent>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(EVENTS_OF);
            crate::push_in_list(&mut b, ids.iter().copied());
            b.push(" ORDER BY lead_id, occurred_at, id");
            b.build_query_as().fetch_all(conn).await
        })?;
        Ok(group_events(rows))
    }

    /// Stores leads' scores under policy versions (one statement per thousand), and no
    /// longer `due` to be rescored if so asked; where a lead's grade or temperature changed
    /// from the one stored before, records `grade_changed` (automation can start on a lead
    /// turning hot).
    async fn save_scores(
        &mut self,
        scored: &[(&StoredLead, &Score, i64)],
        at: DateTime<Utc>,
        due: Option<bool>,
    ) -> Result<()> {
        let changes: Vec<(i64, EventDraft)> = scored
            .iter()
            .filter_map(|(lead, score, version)| {
                let before = lead.snapshot.as_ref()?;
                let temperature = score.temperature.as_str();
                (before.grade != score.grade || before.temperature != temperature).then(|| {
                    let event = EventDraft::new(
                        EventType::GradeChanged,
                        at,
                        json!({"from_grade": before.grade, "to_grade": score.grade,
                               "from_temperature": before.temperature, "temperature": temperature,
                               "score": (score.score * 10.0).round() / 10.0, "policy_version": version}),
                    )
                    .with_actor("scoring");
                    (lead.id, event)
                })
            })
            .collect();
        let events: Vec<NewEvent> = changes
            .iter()
            .map(|(lead_id, draft)| NewEvent {
                lead_id: *lead_id,
                draft,
            })
            .collect();
        if !events.is_empty() {
            self.insert_events(&events, Ts(at)).await?;
        }
        for chunk in scored.chunks(1000) {
            let bands: HashMap<i64, usize> = chunk
                .iter()
                .map(|(lead, score, _)| (lead.id, band_of(score.score)))
                .collect();
            let ids: Vec<i64> = bands.keys().copied().collect();
            let before = self.counted_before(&ids).await?;
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "WITH v (id, score, score_band, grade, temperature, policy_version) AS (",
                );
                b.push_values(chunk, |mut row, (lead, score, version)| {
                    row.push_bind(lead.id)
                        .push_bind(score.score)
                        .push_bind(band_of(score.score) as i64)
                        .push_bind(&score.grade)
                        .push_bind(score.temperature.as_str())
                        .push_bind(*version);
                });
                b.push(") UPDATE leads SET score = v.score, score_band = v.score_band, grade = v.grade, temperature = v.temperature, policy_version = v.policy_version, scored_at = ")
                    .push_bind(Ts(at));
                if let Some(due) = due {
                    b.push(", rescore_due = ").push_bind(due);
                }
                b.push(" FROM v WHERE leads.id = v.id");
                b.build().execute(conn).await.map(|_| ())
            })?;
            self.count_written(before, |lead| {
                lead.counted.band = bands.get(&lead.id).copied();
            })
            .await?;
        }
        Ok(())
    }

    /// Moves the lead from `from` to `to` (by the policy itself or not); `false` when it is
    /// no longer in `from` (someone moved it since it was read), so a move is never made on a
    /// stale reading.
    async fn set_stage(
        &mut self,
        lead_id: i64,
        (from, to): (Stage, Stage),
        by_policy: bool,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        // The row as written comes back; before, it differed only in its stage.
        let sql = format!(
            "UPDATE leads SET stage = $1, stage_by_policy = $2, updated_at = $3
             WHERE id = $4 AND stage = $5 RETURNING {}",
            self.counted_array()
        );
        let written: Option<Json<CountedRow>> = on_tx!(self, conn => sqlx::query_scalar(&sql)
            .bind(to.as_str())
            .bind(by_policy)
            .bind(Ts(at))
            .bind(lead_id)
            .bind(from.as_str())
            .fetch_optional(conn)
            .await)?;
        let Some(Json(row)) = written else {
            return Ok(false);
        };
        self.count_returned(vec![row], |lead| lead.counted.stage = from)
            .await?;
        Ok(true)
    }

    async fn set_bant(
        &mut self,
        lead_id: i64,
        confirmed: &BTreeSet<BantPart>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let names: Vec<&str> = confirmed.iter().map(|p| p.name()).collect();
        on_tx!(self, conn => sqlx::query("UPDATE leads SET bant_confirmed = $1, updated_at = $2 WHERE id = $3")
            .bind(Json(names))
            .bind(Ts(at))
            .bind(lead_id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Moves a lead and records the move; the caller has checked it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_move(
        &mut self,
        lead: &StoredLead,
        to: Stage,
        reason: &str,
        version: i64,
        override_bant: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let by_policy = actor == policy_actor(version);
        if !self
            .set_stage(lead.id, (lead.lead.stage, to), by_policy, at)
            .await?
        {
            return Err(StoreError::Conflict {
                field: "stage".into(),
                reason: format!(
                    "lead {} was moved by someone else meanwhile; read it again",
                    lead.id
                ),
            });
        }
        let mut payload =
            json!({"from": lead.lead.stage, "to": to, "reason": reason, "policy_version": version});
        if override_bant {
            payload["override_bant"] = json!(true);
        }
        let draft = EventDraft::new(EventType::StageChanged, at, payload).with_actor(actor);
        self.insert_events(
            &[NewEvent {
                lead_id: lead.id,
                draft: &draft,
            }],
            Ts(Utc::now()),
        )
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Stores a lead's new score and, when the policy moves MQLs by itself, moves the lead
    /// whose MQL status changed. Returns the stage it moved to, if it moved.
    async fn settle(
        &mut self,
        lead: &StoredLead,
        score: &Score,
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<Stage>> {
        self.save_scores(&[(lead, score, active.version)], now, None)
            .await?;
        self.move_by_score(lead, score, active, now).await
    }

    /// When the policy moves MQLs by itself, moves a lead (its new score stored) whose MQL
    /// status changed. Returns the stage it moved to, if it moved.
    async fn move_by_score(
        &mut self,
        lead: &StoredLead,
        score: &Score,
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<Stage>> {
        let entered = if lead.stage_by_policy {
            Mover::Policy
        } else {
            Mover::Person
        };
        let Some((to, reason)) = lifecycle::policy_move(
            (lead.lead.stage, entered),
            score,
            &active.policy,
            active.version,
        ) else {
            return Ok(None);
        };
        let actor = policy_actor(active.version);
        match self
            .record_move(lead, to, &reason, active.version, false, &actor, now)
            .await
        {
            Ok(()) => {
                self.after_move(lead, to, active, score, now).await?;
                Ok(Some(to))
            }
            // Moved by a person since it was read: theirs stands.
            Err(StoreError::Conflict { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Who the policy's own moves are recorded as: the policy and its version.
fn policy_actor(version: i64) -> String {
    format!("policy:v{version}")
}

/// A move as asked for, before the lead's stage and score are known.
struct Asked<'a> {
    to: Stage,
    reason: Option<&'a str>,
    override_bant: bool,
    mover: Mover,
}

impl Store {
    /// The lead's score now, computed from its events under its product's policy.
    pub async fn score_lead(&self, id: i64, now: DateTime<Utc>) -> Result<LeadScore> {
        let lead = self.lead(id).await?;
        let product = lead.lead.product_line();
        let active = self.active_policy(&product).await?;
        let rows = on_read_pool!(self, pool => sqlx::query_as(&format!("{EVENTS_OF}$1) ORDER BY lead_id, occurred_at, id"))
            .bind(id)
            .fetch_all(pool)
            .await)?;
        let events = group_events(rows).remove(&id).unwrap_or_default();
        let score = scoring::score(
            &lead.lead,
            &facts(&events),
            leadgate_core::scoring::Marks {
                confirmed: &lead.bant_confirmed,
                junk: &lead.junk,
            },
            &active.policy,
            now,
        );
        Ok(LeadScore {
            lead_id: id,
            product,
            policy_version: active.version,
            score,
        })
    }

    /// Rescores one lead now, stores the score, and moves it if its MQL status changed (a
    /// lead that arrives or is edited into the MQL rule becomes an MQL at once).
    pub async fn refresh_lead(&self, id: i64, now: DateTime<Utc>) -> Result<StoredLead> {
        let now = to_micros(now);
        let (mut tx, lead, score, active) = self.lock_and_score(id, now).await?;
        tx.settle(&lead, &score, &active, now).await?;
        tx.commit().await?;
        self.lead(id).await
    }

    /// Opens a write transaction holding the lead, and scores it at `now` under its product's
    /// policy.
    async fn lock_and_score(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(Tx, StoredLead, Score, ActivePolicy)> {
        let product = self.lead(id).await?.lead.product_line();
        let active = self.active_policy(&product).await?;
        let mut tx = self.begin().await?;
        let lead = tx
            .lead(id, true)
            .await?
            .ok_or(StoreError::LeadNotFound(id))?;
        let events = tx.events_of(&[id]).await?.remove(&id).unwrap_or_default();
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
        Ok((tx, lead, score, active))
    }

    /// Moves a lead to `to` if the lifecycle and the policy allow it; the move is a
    /// `stage_changed` event with the actor, the reason and the policy version.
    pub async fn transition(
        &self,
        id: i64,
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
        self.move_with(id, asked, None, actor).await
    }

    /// Records what became of a lead and moves it accordingly, in one transaction: won
    /// (with its deal value) moves it to customer; lost moves it to `lost_to` (disqualified
    /// or recycled) with a reason the policy allows. The `outcome_recorded` event is what
    /// source analytics and the conversion model learn from.
    pub async fn record_outcome(
        &self,
        id: i64,
        outcome: Outcome,
        actor: &str,
    ) -> Result<StoredLead> {
        let (to, reason, payload) = match &outcome {
            Outcome::Won { value } => {
                if let Some(v) = value {
                    if !v.is_finite() || *v < 0.0 {
                        return Err(leadgate_core::FieldError::new(
                            "value",
                            "must be a number of at least 0",
                        )
                        .into());
                    }
                }
                let mut payload = json!({"outcome": "won"});
                if let Some(v) = value {
                    payload["value"] = json!(v);
                }
                (Stage::Customer, None, payload)
            }
            Outcome::Lost { reason, to } => {
                if !matches!(to, Stage::Disqualified | Stage::Recycled) {
                    return Err(leadgate_core::FieldError::new(
                        "to",
                        "a lost lead is disqualified or recycled",
                    )
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
        self.move_with(id, asked, Some(payload), actor).await
    }

    /// Closes a lead that an import's outcome says was won (customer) or lost
    /// (disqualified), with the reason the file gives: the outcome event is the import's own,
    /// this is the move it implies, with its clocks stopped like any other. A lead already
    /// closed is left as it is (`None`).
    pub async fn settle_outcome(
        &self,
        id: i64,
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
        match self.move_with(id, asked, None, actor).await {
            Ok(lead) => Ok(Some(lead)),
            Err(StoreError::Refused(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn move_with(
        &self,
        id: i64,
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
        let (mut tx, lead, score, active) = self.lock_and_score(id, now).await?;
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
        tx.after_move(&lead, to, &active, &score, now).await?;
        tx.save_scores(&[(&lead, &score, active.version)], now, None)
            .await?;
        tx.commit().await?;
        self.lead(id).await
    }

    /// Records which BANT parts a rep confirmed (`true`) or withdrew (`false`); each change
    /// is a `field_changed` event.
    pub async fn confirm_bant(
        &self,
        id: i64,
        changes: &[(BantPart, bool)],
        actor: &str,
    ) -> Result<StoredLead> {
        let now = to_micros(Utc::now());
        let mut tx = self.begin().await?;
        let lead = tx
            .lead(id, true)
            .await?
            .ok_or(StoreError::LeadNotFound(id))?;
        let mut confirmed = lead.bant_confirmed.clone();
        let mut drafts = Vec::new();
        for (part, wanted) in changes {
            let had = confirmed.contains(part);
            if had != *wanted {
                if *wanted {
                    confirmed.insert(*part);
                } else {
                    confirmed.remove(part);
                }
                drafts.push(
                    EventDraft::new(
                        EventType::FieldChanged,
                        now,
                        json!({"field": format!("bant.{}", part.name()), "old": had, "new": wanted}),
                    )
                    .with_actor(actor),
                );
            }
        }
        if !drafts.is_empty() {
            tx.set_bant(id, &confirmed, now).await?;
            let rows: Vec<NewEvent> = drafts
                .iter()
                .map(|draft| NewEvent { lead_id: id, draft })
                .collect();
            tx.insert_events(&rows, Ts(Utc::now())).await?;
        }
        tx.commit().await?;
        self.lead(id).await
    }

    /// Rescores every lead of a product under the policy in force, stores the scores, and
    /// moves leads whose MQL status changed (when the policy moves MQLs automatically).
    /// `progress` hears how many leads were done after each page.
    pub async fn rescore(
        &self,
        product: &str,
        now: DateTime<Utc>,
        mut progress: impl FnMut(usize),
    ) -> Result<RescoreSummary> {
        let now = to_micros(now);
        let active = self.active_policy(product).await?;
        let mut summary = RescoreSummary::default();
        let mut after = 0i64;
        loop {
            let mut tx = self.begin().await?;
            let page = tx.leads_of_product(product, after, 500).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let ids: Vec<i64> = page.iter().map(|l| l.id).collect();
            let mut events = tx.events_of(&ids).await?;
            let scores: Vec<Score> = page
                .iter()
                .map(|lead| {
                    let own = events.remove(&lead.id).unwrap_or_default();
                    score_under(lead, &own, &active, now)
                })
                .collect();
            let scored: Vec<(&StoredLead, &Score, i64)> = page
                .iter()
                .zip(&scores)
                .map(|(lead, score)| (lead, score, active.version))
                .collect();
            tx.save_scores(&scored, now, Some(false)).await?;
            for (lead, score, _) in scored {
                summary.scored += 1;
                match tx.move_by_score(lead, score, &active, now).await? {
                    Some(Stage::Mql) => summary.became_mql += 1,
                    Some(_) => summary.left_mql += 1,
                    None => {}
                }
            }
            tx.commit().await?;
            // Routing a page's new MQLs least-loaded reads the changes since the last fold.
            self.fold_open_leads().await?;
            progress(page.len());
        }
        Ok(summary)
    }
}

impl Tx {
    /// Up to `limit` leads due for rescoring, held so that two servers take different ones.
    async fn due_leads(&mut self, limit: i64) -> Result<Vec<StoredLead>> {
        let ids: Vec<i64> = match self {
            Tx::Postgres(tx) => {
                sqlx::query_scalar(
                    "SELECT id FROM leads WHERE rescore_due = TRUE ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                )
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?
            }
            Tx::Sqlite(tx) => {
                sqlx::query_scalar("SELECT id FROM leads WHERE rescore_due = TRUE ORDER BY id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        self.leads_by_id(&ids).await
    }
}

impl Store {
    /// Rescores up to `limit` leads whose events arrived since they were last scored, and
    /// moves those whose MQL status changed. Returns how many were rescored (0: none due).
    pub async fn rescore_due(&self, limit: i64, now: DateTime<Utc>) -> Result<usize> {
        let now = to_micros(now);
        let mut tx = self.begin().await?;
        let leads = tx.due_leads(limit).await?;
        if leads.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = leads.iter().map(|l| l.id).collect();
        let mut events = tx.events_of(&ids).await?;
        let mut policies: HashMap<String, ActivePolicy> = HashMap::new();
        for lead in &leads {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                policies.entry(lead.lead.product_line())
            {
                let active = self.active_policy(slot.key()).await?;
                slot.insert(active);
            }
        }
        let mut scores = Vec::with_capacity(leads.len());
        for lead in &leads {
            if let Some(active) = policies.get(&lead.lead.product_line()) {
                let own = events.remove(&lead.id).unwrap_or_default();
                scores.push((lead, score_under(lead, &own, active, now), active));
            }
        }
        let scored: Vec<(&StoredLead, &Score, i64)> = scores
            .iter()
            .map(|(lead, score, active)| (*lead, score, active.version))
            .collect();
        // Every lead read has a policy, so this clears the flag of each.
        tx.save_scores(&scored, now, Some(false)).await?;
        for (lead, score, active) in &scores {
            tx.move_by_score(lead, score, active, now).await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    /// Marks leads scored before `before` (or never) as due, so that decay and the passing of
    /// time move leads out of (or into) MQL without a nightly job. Returns how many.
    pub async fn flag_stale_scores(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(crate::on_pool!(self, pool => sqlx::query(
            "UPDATE leads SET rescore_due = TRUE WHERE rescore_due = FALSE AND (scored_at IS NULL OR scored_at < $1)",
        )
        .bind(Ts(before))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// Replays every lead of the candidate's product under it and under the policy in force.
    /// `capacity_per_week` asks for the threshold that fits sales capacity.
    pub async fn backtest(
        &self,
        candidate: &Policy,
        capacity_per_week: Option<f64>,
        now: DateTime<Utc>,
        mut progress: impl FnMut(usize),
    ) -> Result<BacktestReport> {
        let active = self.active_policy(&candidate.product).await?;
        let mut backtest = Backtest::new(&active.policy, candidate, now);
        let mut tx = self.begin_read().await?;
        let mut after = 0i64;
        loop {
            let page = tx.leads_of_product(&candidate.product, after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let ids: Vec<i64> = page.iter().map(|l| l.id).collect();
            let mut events = tx.events_of(&ids).await?;
            for lead in &page {
                let own = events.remove(&lead.id).unwrap_or_default();
                let facts = facts(&own);
                backtest.add(&History {
                    lead: &lead.lead,
                    events: &facts,
                    confirmed: &lead.bant_confirmed,
                    junk: &lead.junk,
                    channel: lead.first_touch.channel,
                    source_class: lead.first_touch.source_class,
                    created_at: lead.created_at,
                });
            }
            progress(page.len());
        }
        Ok(backtest.report(capacity_per_week))
    }
}
