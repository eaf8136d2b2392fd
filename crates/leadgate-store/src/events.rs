//! The append-only event log: batched appends with idempotency keys, and timelines.

use crate::leads::NewEvent;
use crate::time::Ts;
use crate::{on_read_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use leadgate_core::event::LeadRef;
use leadgate_core::id::LeadId;
use leadgate_core::{EventDraft, FieldError, FieldErrors};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};

/// What became of one item of an appended batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AppendOutcome {
    Accepted {
        id: i64,
    },
    /// An event with this idempotency key is already stored (or came earlier in the batch).
    Duplicate,
    Rejected {
        errors: Vec<FieldError>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub lead_id: LeadId,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub event_type: String,
    #[serde(serialize_with = "serialize_ts")]
    pub occurred_at: Ts,
    #[serde(serialize_with = "serialize_ts")]
    pub recorded_at: Ts,
    pub source: Option<String>,
    pub actor: Option<String>,
    #[serde(serialize_with = "serialize_json")]
    pub payload: Json<Value>,
    pub idempotency_key: Option<String>,
}

fn serialize_ts<S: serde::Serializer>(ts: &Ts, s: S) -> Result<S::Ok, S::Error> {
    ts.0.serialize(s)
}

fn serialize_json<S: serde::Serializer>(json: &Json<Value>, s: S) -> Result<S::Ok, S::Error> {
    json.0.serialize(s)
}

impl StoredEvent {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.occurred_at.0
    }
}

/// One page of a lead's timeline.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub events: Vec<StoredEvent>,
    pub next_cursor: Option<String>,
}

/// Most items one append may carry.
pub const MAX_BATCH: usize = 1000;

impl Store {
    /// Appends a batch in one transaction. Items that failed validation (`Err`) or name a
    /// lead that does not exist are rejected one by one; the others are stored together.
    pub async fn append_events(
        &self,
        items: Vec<Result<(LeadRef, EventDraft), FieldErrors>>,
        actor: &str,
    ) -> Result<Vec<AppendOutcome>> {
        if items.len() > MAX_BATCH {
            return Err(StoreError::Invalid(
                FieldError::new(
                    "events",
                    format!("has {} items; at most {MAX_BATCH} per batch", items.len()),
                )
                .into(),
            ));
        }
        let mut ids: Vec<LeadId> = Vec::new();
        let mut externals: Vec<String> = Vec::new();
        for (lead, _) in items.iter().flatten() {
            match lead {
                LeadRef::Id(id) => ids.push(*id),
                LeadRef::External(e) => externals.push(e.as_str().to_owned()),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        externals.sort_unstable();
        externals.dedup();

        let mut tx = self.begin().await?;
        let known_ids: HashSet<LeadId> = tx.existing_lead_ids(&ids).await?.into_iter().collect();
        let by_external: HashMap<String, LeadId> = tx
            .lead_ids_by_external(&externals)
            .await?
            .into_iter()
            .collect();

        let mut outcomes: Vec<Option<AppendOutcome>> = vec![None; items.len()];
        let mut seen_keys: HashSet<&str> = HashSet::new();
        let mut drafts: Vec<EventDraft> = Vec::new();
        let mut rows: Vec<(usize, LeadId)> = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let (lead, draft) = match item {
                Ok(ok) => ok,
                Err(errors) => {
                    outcomes[index] = Some(AppendOutcome::Rejected {
                        errors: errors.0.clone(),
                    });
                    continue;
                }
            };
            let lead_id = match lead {
                LeadRef::Id(id) if known_ids.contains(id) => *id,
                LeadRef::Id(id) => {
                    outcomes[index] = Some(AppendOutcome::Rejected {
                        errors: vec![FieldError::new(
                            "lead_id",
                            format!("lead {id} does not exist"),
                        )],
                    });
                    continue;
                }
                LeadRef::External(e) => match by_external.get(e.as_str()) {
                    Some(id) => *id,
                    None => {
                        outcomes[index] = Some(AppendOutcome::Rejected {
                            errors: vec![FieldError::new(
                                "external_id",
                                format!("no lead has external_id '{}'", e.as_str()),
                            )],
                        });
                        continue;
                    }
                },
            };
            if let Some(key) = draft.idempotency_key.as_deref() {
                if !seen_keys.insert(key) {
                    outcomes[index] = Some(AppendOutcome::Duplicate);
                    continue;
                }
            }
            let mut draft = draft.clone();
            if draft.actor.is_none() {
                draft = draft.with_actor(actor);
            }
            drafts.push(draft);
            rows.push((index, lead_id));
        }
        let new_events: Vec<NewEvent> = rows
            .iter()
            .zip(&drafts)
            .map(|((_, lead_id), draft)| NewEvent {
                lead_id: *lead_id,
                draft,
            })
            .collect();
        let inserted = tx.insert_events(&new_events, Ts(Utc::now())).await?;
        // Their scores are now stale: flag them for the background rescoring pass, in the same
        // transaction, so no stored event is ever left unscored.
        let mut touched: Vec<LeadId> = rows.iter().map(|(_, lead_id)| *lead_id).collect();
        touched.sort_unstable();
        touched.dedup();
        tx.set_rescore_due(&touched, true).await?;
        tx.commit().await?;

        // One INSERT assigns increasing ids in VALUES order; rows it skipped for a known key
        // are the duplicates, and the remaining rows take the ids in order.
        let inserted_keys: HashSet<&str> =
            inserted.iter().filter_map(|(_, k)| k.as_deref()).collect();
        let mut ids = inserted.iter().map(|(id, _)| *id);
        for ((index, _), draft) in rows.iter().zip(&drafts) {
            let outcome = match draft.idempotency_key.as_deref() {
                Some(key) if !inserted_keys.contains(key) => AppendOutcome::Duplicate,
                _ => match ids.next() {
                    Some(id) => AppendOutcome::Accepted { id },
                    None => AppendOutcome::Duplicate,
                },
            };
            outcomes[*index] = Some(outcome);
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(AppendOutcome::Duplicate))
            .collect())
    }

    /// A lead's events, newest first; `cursor` (a page's `next_cursor`) continues a listing.
    pub async fn timeline(
        &self,
        lead_id: LeadId,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Timeline> {
        let after = cursor.map(crate::leads::decode_cursor).transpose()?;
        if !self.lead_exists(lead_id).await? {
            return Err(StoreError::LeadNotFound(lead_id));
        }
        let limit = i64::from(limit.clamp(1, 1000));
        let (at, id) = match after {
            Some((micros, id)) => (
                DateTime::from_timestamp_micros(micros).unwrap_or_default(),
                id,
            ),
            None => (DateTime::<Utc>::MAX_UTC, i64::MAX),
        };
        let sql = "SELECT id, lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key
                   FROM events WHERE lead_id = $1 AND (occurred_at < $2 OR (occurred_at = $2 AND id < $3))
                   ORDER BY occurred_at DESC, id DESC LIMIT $4";
        let mut events: Vec<StoredEvent> = on_read_pool!(self, pool => sqlx::query_as(sql)
            .bind(lead_id)
            .bind(Ts(at))
            .bind(id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await)?;
        let next_cursor = if events.len() as i64 > limit {
            events.truncate(limit as usize);
            events
                .last()
                .map(|e| crate::leads::encode_cursor(e.occurred_at.0.timestamp_micros(), e.id))
        } else {
            None
        };
        Ok(Timeline {
            events,
            next_cursor,
        })
    }

    /// The lead an event is about (`None`: no such event).
    pub async fn lead_of_event(&self, event_id: i64) -> Result<Option<LeadId>> {
        Ok(
            on_read_pool!(self, pool => sqlx::query_scalar("SELECT lead_id FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// The lead of the event stored under this idempotency key (`None`: none is). Read
    /// from the store itself, so a writer sees what it just wrote.
    pub async fn lead_of_event_key(&self, key: &str) -> Result<Option<LeadId>> {
        let sql = match self.engine() {
            // The partitioned log keeps its keys' uniqueness in `event_keys`.
            crate::Engine::Postgres => {
                "SELECT e.lead_id FROM event_keys k JOIN events e ON e.id = k.event_id
                 WHERE k.idempotency_key = $1"
            }
            crate::Engine::Sqlite => "SELECT lead_id FROM events WHERE idempotency_key = $1",
        };
        Ok(crate::on_pool!(self, pool => sqlx::query_scalar(sql)
            .bind(key)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn lead_exists(&self, lead_id: LeadId) -> Result<bool> {
        let found: Option<i64> = on_read_pool!(self, pool => sqlx::query_scalar("SELECT id FROM leads WHERE id = $1")
            .bind(lead_id)
            .fetch_optional(pool)
            .await)?;
        Ok(found.is_some())
    }

    pub async fn count_events(&self) -> Result<i64> {
        Ok(
            on_read_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(pool).await)?,
        )
    }
}

impl crate::Tx {
    /// Appends events; rows whose idempotency key is already stored are skipped. Returns the
    /// (id, key) of each row inserted, in insertion order. Callers pass distinct keys.
    /// Webhook subscriptions that want them get delivery jobs in the same transaction.
    pub async fn insert_events(
        &mut self,
        events: &[NewEvent<'_>],
        recorded_at: Ts,
    ) -> Result<Vec<(i64, Option<String>)>> {
        let inserted = self.insert_rows(events, recorded_at).await?;
        if !inserted.is_empty() {
            let moved: Vec<LeadId> = events
                .iter()
                .filter(|e| crate::analytics::shapes_journey(e.draft.event_type))
                .map(|e| e.lead_id)
                .collect();
            if !moved.is_empty() {
                self.refresh_journeys(&moved).await?;
            }
        }
        let ids: Vec<i64> = inserted.iter().map(|(id, _)| *id).collect();
        self.fan_out(&ids).await?;
        Ok(inserted)
    }

    /// `insert_events` for drafts of several leads (nothing when there are none).
    pub(crate) async fn insert_drafts(
        &mut self,
        drafts: &[(LeadId, EventDraft)],
        recorded_at: Ts,
    ) -> Result<Vec<(i64, Option<String>)>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let events: Vec<NewEvent> = drafts
            .iter()
            .map(|(lead_id, draft)| NewEvent {
                lead_id: *lead_id,
                draft,
            })
            .collect();
        self.insert_events(&events, recorded_at).await
    }

    async fn insert_rows(
        &mut self,
        events: &[NewEvent<'_>],
        recorded_at: Ts,
    ) -> Result<Vec<(i64, Option<String>)>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        /// The rows' values, each led by its id when `ids` gives them.
        fn values<'a, DB: sqlx::Database>(
            builder: &mut sqlx::QueryBuilder<'a, DB>,
            events: &[&'a NewEvent<'a>],
            ids: Option<&[i64]>,
            recorded_at: Ts,
        ) where
            i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
            &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
            Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
            Ts: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
            Json<&'a Value>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
        {
            builder.push_values(events.iter().enumerate(), |mut row, (i, event)| {
                if let Some(id) = ids.and_then(|ids| ids.get(i)) {
                    row.push_bind(*id);
                }
                let draft = event.draft;
                row.push_bind(event.lead_id)
                    .push_bind(draft.event_type.as_str())
                    .push_bind(Ts(draft.occurred_at))
                    .push_bind(recorded_at)
                    .push_bind(draft.source.as_ref().map(|s| s.as_str()))
                    .push_bind(draft.actor.as_ref().map(|s| s.as_str()))
                    .push_bind(Json(&draft.payload))
                    .push_bind(draft.idempotency_key.as_deref());
            });
        }
        const INSERT: &str =
            "INSERT INTO events (lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key) ";
        match &mut self.conn {
            crate::Conn::Postgres(tx) => {
                // The log is partitioned by month, so a key's uniqueness lives in
                // `event_keys` (migration 0043). Ids are taken first, increasing in the
                // batch's order; one statement then claims the keys and inserts the events
                // whose key it claimed (or that have none).
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT nextval('events_id_seq') FROM generate_series(1, $1)",
                )
                .bind(events.len() as i64)
                .fetch_all(&mut **tx)
                .await?;
                let mut builder = sqlx::QueryBuilder::new(
                    "WITH input (id, lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key) AS (",
                );
                let all: Vec<&NewEvent> = events.iter().collect();
                values(&mut builder, &all, Some(&ids), recorded_at);
                builder.push(
                    "), claimed AS (
                        INSERT INTO event_keys (idempotency_key, event_id)
                        SELECT idempotency_key, id FROM input WHERE idempotency_key IS NOT NULL
                        ON CONFLICT DO NOTHING RETURNING event_id)
                    INSERT INTO events (id, lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key)
                    SELECT * FROM input
                    WHERE idempotency_key IS NULL OR id IN (SELECT event_id FROM claimed)
                    RETURNING id, idempotency_key",
                );
                let mut rows: Vec<(i64, Option<String>)> =
                    builder.build_query_as().fetch_all(&mut **tx).await?;
                rows.sort_unstable_by_key(|(id, _)| *id);
                Ok(rows)
            }
            crate::Conn::Sqlite(tx) => {
                // Rows come back from the SQLite worker one message each; returning a
                // thousand ids costs more than the insert. So look up the (usually absent)
                // known keys, insert the rest, and count the ids: one INSERT by the only
                // writer takes consecutive rowids.
                let keys: Vec<&str> = events
                    .iter()
                    .filter_map(|e| e.draft.idempotency_key.as_deref())
                    .collect();
                let known: HashSet<String> = if keys.is_empty() {
                    HashSet::new()
                } else {
                    let mut b = sqlx::QueryBuilder::new(
                        "SELECT idempotency_key FROM events WHERE idempotency_key IN (",
                    );
                    crate::push_in_list(&mut b, keys.iter().copied());
                    b.build_query_scalar()
                        .fetch_all(&mut **tx)
                        .await?
                        .into_iter()
                        .collect()
                };
                let fresh: Vec<&NewEvent> = events
                    .iter()
                    .filter(|e| {
                        e.draft
                            .idempotency_key
                            .as_ref()
                            .is_none_or(|k| !known.contains(k))
                    })
                    .collect();
                if fresh.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = sqlx::QueryBuilder::new(INSERT);
                values(&mut builder, &fresh, None, recorded_at);
                let done = builder.build().execute(&mut **tx).await?;
                let count = fresh.len() as i64;
                if done.rows_affected() != count as u64 {
                    return Err(StoreError::from(sqlx::Error::Protocol(format!(
                        "inserted {} events of {count}",
                        done.rows_affected()
                    ))));
                }
                let first = done.last_insert_rowid() - count + 1;
                Ok(fresh
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (first + i as i64, e.draft.idempotency_key.clone()))
                    .collect())
            }
        }
    }

    /// Marks leads as due for rescoring, or not; rows already so are left alone.
    pub(crate) async fn set_rescore_due(&mut self, ids: &[LeadId], due: bool) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        crate::on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("UPDATE leads SET rescore_due = ");
            b.push_bind(due).push(" WHERE rescore_due <> ").push_bind(due).push(" AND id IN (");
            crate::push_in_list(&mut b, ids.iter().copied());
            b.build().execute(conn).await.map(|_| ())
        })?;
        Ok(())
    }

    async fn existing_lead_ids(&mut self, ids: &[LeadId]) -> Result<Vec<LeadId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Usually every lead exists: one counted row answers that without listing them.
        let found: i64 = crate::on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM leads WHERE id IN (");
            crate::push_in_list(&mut b, ids.iter().copied());
            b.build_query_scalar().fetch_one(conn).await
        })?;
        if found == ids.len() as i64 {
            return Ok(ids.to_vec());
        }
        Ok(crate::on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("SELECT id FROM leads WHERE id IN (");
            crate::push_in_list(&mut b, ids.iter().copied());
            b.build_query_scalar().fetch_all(conn).await
        })?)
    }

    async fn lead_ids_by_external(
        &mut self,
        externals: &[String],
    ) -> Result<Vec<(String, LeadId)>> {
        if externals.is_empty() {
            return Ok(Vec::new());
        }
        Ok(crate::on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("SELECT external_id, id FROM leads WHERE external_id IN (");
            crate::push_in_list(&mut b, externals.iter().cloned());
            b.build_query_as().fetch_all(conn).await
        })?)
    }
}
