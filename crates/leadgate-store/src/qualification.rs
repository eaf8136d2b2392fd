//! Qualification as stored: a lead's events read for scoring, its scores, stage moves and
//! BANT marks written, and which leads are due for rescoring. The use cases decide.

use crate::change_log::CountedRow;
use crate::leads::{LeadRow, StoredLead, SELECT_LEAD};
use crate::time::Ts;
use crate::{on_tx, Conn, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::band_of;
use leadgate_core::event::EventDraft;
use leadgate_core::id::LeadId;
use leadgate_core::lifecycle::{policy_actor, MoveReason};
use leadgate_core::policy::BantPart;
use leadgate_core::scoring::{EventFact, Score};
use leadgate_core::{EventType, Stage};
use serde_json::{json, Value};
use sqlx::types::Json;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

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

/// One lead's events as the database folds them into a JSON array, in the order they
/// happened: `[id, type, occurred_at in microseconds, payload]` each.
fn unfold_events(folded: &str) -> Result<Vec<OwnedEvent>> {
    let rows: Vec<(i64, String, i64, Value)> = serde_json::from_str(folded)
        .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))?;
    let mut events = Vec::with_capacity(rows.len());
    for (id, kind, micros, payload) in rows {
        // Types this version does not know (written by a newer one) do not score.
        let Ok(event_type) = EventType::from_str(&kind) else {
            continue;
        };
        let occurred_at = DateTime::from_timestamp_micros(micros).ok_or_else(|| {
            StoreError::from(sqlx::Error::Decode(
                format!("timestamp {micros} is out of range").into(),
            ))
        })?;
        events.push(OwnedEvent {
            id,
            event_type,
            occurred_at,
            payload,
        });
    }
    Ok(events)
}

// Each lead's events come back folded into one value: a row per event costs more to hand
// over (on SQLite a channel message between threads each) than the scoring of it.
const FOLD_SQLITE: &str = "json_group_array(json_array(e.id, e.type, e.occurred_at, json(e.payload)) ORDER BY e.occurred_at, e.id)";
const FOLD_POSTGRES: &str = "json_agg(json_build_array(e.id, e.type, (EXTRACT(EPOCH FROM e.occurred_at) * 1000000)::BIGINT, e.payload) ORDER BY e.occurred_at, e.id)::TEXT";

/// A lead's row with its events folded (`None` on PostgreSQL when it has none).
#[derive(sqlx::FromRow)]
struct LeadWithEvents {
    #[sqlx(flatten)]
    lead: LeadRow,
    events: Option<String>,
}

impl Tx {
    fn fold(&self) -> &'static str {
        match self.conn {
            Conn::Sqlite(_) => FOLD_SQLITE,
            Conn::Postgres(_) => FOLD_POSTGRES,
        }
    }

    /// The events of these leads, each lead's in the order they happened.
    pub async fn events_of(&mut self, ids: &[LeadId]) -> Result<HashMap<LeadId, Vec<OwnedEvent>>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT e.lead_id, {} FROM events e WHERE e.lead_id IN (",
            self.fold()
        );
        let rows: Vec<(LeadId, String)> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(sql);
            crate::push_in_list(&mut b, ids.iter().copied());
            b.push(" GROUP BY e.lead_id");
            b.build_query_as().fetch_all(conn).await
        })?;
        rows.into_iter()
            .map(|(id, folded)| Ok((id, unfold_events(&folded)?)))
            .collect()
    }

    /// The lowest and highest id of a product's leads (`None` when it has none): the span
    /// a read in ranges divides.
    pub async fn lead_span_of_product(
        &mut self,
        product: &str,
    ) -> Result<Option<(LeadId, LeadId)>> {
        let span: (Option<LeadId>, Option<LeadId>) = on_tx!(self, conn => sqlx::query_as(
            "SELECT MIN(id), MAX(id) FROM leads WHERE product = $1",
        )
        .bind(product)
        .fetch_one(conn)
        .await)?;
        Ok(span.0.zip(span.1))
    }

    /// Holds (until the transaction ends) the leads `each_lead_of_product` will read with the
    /// same arguments, so their scores are written from every event appended before:
    /// appending an event locks its lead's row (the foreign key), so an append that began
    /// first is waited for, and one that comes after waits for this transaction, then marks
    /// the lead due again. A separate statement, since the read's own snapshot would not
    /// see what it waited for. SQLite's one writer needs none.
    pub async fn hold_leads_of_product(
        &mut self,
        product: &str,
        (after, through): (LeadId, LeadId),
        limit: i64,
    ) -> Result<()> {
        if let Conn::Postgres(tx) = &mut self.conn {
            sqlx::query(
                "SELECT id FROM leads WHERE product = $1 AND id > $2 AND id <= $3 ORDER BY id LIMIT $4 FOR UPDATE",
            )
            .bind(product)
            .bind(after)
            .bind(through)
            .bind(limit)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Up to `limit` leads of a product after `after` and up to `through`, in id order, each
    /// handed to `each` with its events as its row arrives: the database reads and folds the
    /// next lead while this one is scored. Returns how many.
    pub async fn each_lead_of_product(
        &mut self,
        product: &str,
        (after, through): (LeadId, LeadId),
        limit: i64,
        mut each: impl FnMut(StoredLead, Vec<OwnedEvent>),
    ) -> Result<usize> {
        use futures_util::TryStreamExt;
        let sql = format!(
            "SELECT s.*, (SELECT {} FROM events e WHERE e.lead_id = s.id) AS events
             FROM ({SELECT_LEAD} WHERE l.product = $1 AND l.id > $2 AND l.id <= $3 ORDER BY l.id LIMIT $4) s
             ORDER BY s.id",
            self.fold()
        );
        let mut count = 0;
        on_tx!(self, conn => {
            let mut rows = sqlx::query_as::<_, LeadWithEvents>(&sql)
                .bind(product)
                .bind(after)
                .bind(through)
                .bind(limit)
                .fetch(conn);
            while let Some(row) = rows.try_next().await? {
                let events = match &row.events {
                    Some(folded) => unfold_events(folded)?,
                    None => Vec::new(),
                };
                each(StoredLead::try_from(row.lead)?, events);
                count += 1;
            }
            Ok::<_, StoreError>(())
        })?;
        Ok(count)
    }

    /// Stores leads' scores under policy versions (one statement per thousand), and no
    /// longer `due` to be rescored if so asked; where a lead's grade or temperature changed
    /// from the one stored before, records `grade_changed` (automation can start on a lead
    /// turning hot).
    pub async fn save_scores(
        &mut self,
        scored: &[(&StoredLead, &Score, i64)],
        at: DateTime<Utc>,
        due: Option<bool>,
    ) -> Result<()> {
        let changes: Vec<(LeadId, EventDraft)> = scored
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
        self.insert_drafts(&changes, Ts(at)).await?;
        for chunk in scored.chunks(1000) {
            let bands: HashMap<LeadId, usize> = chunk
                .iter()
                .map(|(lead, score, _)| (lead.id, band_of(score.score)))
                .collect();
            let ids: Vec<LeadId> = bands.keys().copied().collect();
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
    /// Moves leads `(id, from, to)` still at `from`; returns those moved.
    async fn set_stages(
        &mut self,
        moves: &[(LeadId, Stage, Stage)],
        by_policy: bool,
        at: DateTime<Utc>,
    ) -> Result<HashSet<LeadId>> {
        if moves.is_empty() {
            return Ok(HashSet::new());
        }
        // The rows as written come back; before, each differed only in its stage.
        let counted = self.counted_array();
        let written: Vec<Json<CountedRow>> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("WITH v (lead, from_stage, to_stage) AS (");
            b.push_values(moves, |mut row, (id, from, to)| {
                row.push_bind(*id).push_bind(from.as_str()).push_bind(to.as_str());
            });
            b.push(") UPDATE leads SET stage = v.to_stage, stage_by_policy = ")
                .push_bind(by_policy)
                .push(", updated_at = ")
                .push_bind(Ts(at))
                .push(" FROM v WHERE leads.id = v.lead AND leads.stage = v.from_stage RETURNING ")
                .push(counted);
            b.build_query_scalar().fetch_all(conn).await
        })?;
        let from: HashMap<LeadId, Stage> = moves.iter().map(|(id, from, _)| (*id, *from)).collect();
        let rows: Vec<CountedRow> = written.into_iter().map(|Json(row)| row).collect();
        let moved = rows.iter().map(|row| row.id).collect();
        self.count_returned(rows, |lead| {
            if let Some(stage) = from.get(&lead.id) {
                lead.counted.stage = *stage;
            }
        })
        .await?;
        Ok(moved)
    }

    /// Stores which BANT parts a rep has confirmed.
    pub async fn set_bant(
        &mut self,
        lead_id: LeadId,
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

    /// Moves a lead and records the move (a `stage_changed` event with the reason and the
    /// policy version); the caller has checked it. A lead moved by someone else since it was
    /// read is a conflict.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_move(
        &mut self,
        lead: &StoredLead,
        to: Stage,
        reason: &MoveReason,
        version: i64,
        override_bant: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let moves = [Move { lead, to, reason }];
        if self
            .record_moves(&moves, version, override_bant, actor, at)
            .await?
            .is_empty()
        {
            return Err(StoreError::Conflict {
                field: "stage".into(),
                reason: format!(
                    "lead {} was moved by someone else meanwhile; read it again",
                    lead.id
                ),
            });
        }
        Ok(())
    }

    /// `record_move` for many leads at once (a rescoring page's moves: one statement for the
    /// stages, one for the events). Returns the leads moved; one moved by someone else since
    /// it was read is left as they put it.
    pub async fn record_moves(
        &mut self,
        moves: &[Move<'_>],
        version: i64,
        override_bant: bool,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<HashSet<LeadId>> {
        let by_policy = actor == policy_actor(version);
        let stages: Vec<(LeadId, Stage, Stage)> = moves
            .iter()
            .map(|m| (m.lead.id, m.lead.lead.stage, m.to))
            .collect();
        let moved = self.set_stages(&stages, by_policy, at).await?;
        let drafts: Vec<(LeadId, EventDraft)> = moves
            .iter()
            .filter(|m| moved.contains(&m.lead.id))
            .map(|m| {
                // `reason` in English for the API and the reports; `why` as data, so a page
                // words a rule's reason in its reader's language (a person's own words are
                // the reason).
                let mut payload = json!({"from": m.lead.lead.stage, "to": m.to, "reason": m.reason.to_string(), "policy_version": version});
                if !matches!(m.reason, MoveReason::Given { .. }) {
                    // Plain data: it cannot fail to serialise; were it to, `reason` says it.
                    payload["why"] = serde_json::to_value(m.reason).unwrap_or_default();
                }
                if override_bant {
                    payload["override_bant"] = json!(true);
                }
                let draft = EventDraft::new(EventType::StageChanged, at, payload).with_actor(actor);
                (m.lead.id, draft)
            })
            .collect();
        self.insert_drafts(&drafts, Ts(Utc::now())).await?;
        Ok(moved)
    }
}

/// A move the caller has checked: the lead as it was read, its new stage and why.
pub struct Move<'a> {
    pub lead: &'a StoredLead,
    pub to: Stage,
    pub reason: &'a MoveReason,
}

impl Tx {
    /// Up to `limit` leads due for rescoring, held so that two servers take different ones.
    pub async fn due_leads(&mut self, limit: i64) -> Result<Vec<StoredLead>> {
        let ids: Vec<i64> = match &mut self.conn {
            Conn::Postgres(tx) => {
                sqlx::query_scalar(
                    "SELECT id FROM leads WHERE rescore_due = TRUE ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                )
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?
            }
            Conn::Sqlite(tx) => {
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
}
