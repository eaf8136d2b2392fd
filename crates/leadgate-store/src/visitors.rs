//! The website tracker as stored: trackers by key, anonymous visitors (linked to a lead once
//! known), and the page views of visitors not linked yet.

use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::id::LeadId;
use leadgate_core::visits::{PageView, TrackerDefinition};
use serde_json::{json, Value};

/// A stored tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTracker {
    pub id: i64,
    /// The public key a site's snippet names.
    pub key: String,
    pub definition: TrackerDefinition,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TrackerRow {
    id: i64,
    key: String,
    definition: String,
    created_at: Ts,
    updated_at: Ts,
}

impl TryFrom<TrackerRow> for StoredTracker {
    type Error = StoreError;
    fn try_from(row: TrackerRow) -> Result<Self> {
        let definition: TrackerDefinition = serde_json::from_str(&row.definition)
            .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))?;
        Ok(StoredTracker {
            id: row.id,
            key: row.key,
            definition,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

/// A visitor as a batch of views finds it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Visitor {
    pub id: i64,
    pub visitor_key: String,
    /// The lead the visitor is known to be (their views become its events).
    pub lead_id: Option<LeadId>,
    /// Found to be a robot: nothing of theirs is kept.
    pub robot: bool,
}

/// What a retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub visitors: u64,
    pub views: u64,
}

const TRACKER_COLUMNS: &str = "id, key, definition, created_at, updated_at";

/// The most rows one statement of a retention pass deletes (a pass repeats until none are
/// left), so a first pass over a year of views does not hold the writer for long.
const FORGET_CHUNK: i64 = 5_000;

fn definition_text(definition: &TrackerDefinition) -> Result<String> {
    serde_json::to_string(definition)
        .map_err(|e| StoreError::from(sqlx::Error::Encode(Box::new(e))))
}

impl Store {
    /// Stores a new tracker (its definition checked) under a new random key.
    pub async fn create_tracker(&self, definition: &TrackerDefinition) -> Result<StoredTracker> {
        let definition = definition.checked()?;
        let text = definition_text(&definition)?;
        let now = Ts(to_micros(Utc::now()));
        let key = new_tracker_key();
        let row: TrackerRow = on_pool!(self, pool => sqlx::query_as(
            "INSERT INTO trackers (key, definition, created_at, updated_at) VALUES ($1, $2, $3, $3)
             RETURNING id, key, definition, created_at, updated_at",
        )
        .bind(&key)
        .bind(text)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        row.try_into()
    }

    /// Replaces a tracker's definition (its sites, name, consent mode).
    pub async fn update_tracker(
        &self,
        key: &str,
        definition: &TrackerDefinition,
    ) -> Result<StoredTracker> {
        let definition = definition.checked()?;
        let text = definition_text(&definition)?;
        let now = Ts(to_micros(Utc::now()));
        let row: Option<TrackerRow> = on_pool!(self, pool => sqlx::query_as(
            "UPDATE trackers SET definition = $1, updated_at = $2 WHERE key = $3
             RETURNING id, key, definition, created_at, updated_at",
        )
        .bind(text)
        .bind(now)
        .bind(key)
        .fetch_optional(pool)
        .await)?;
        row.ok_or_else(|| StoreError::NotFound(format!("no tracker has key '{key}'")))?
            .try_into()
    }

    pub async fn tracker(&self, key: &str) -> Result<StoredTracker> {
        let sql = format!("SELECT {TRACKER_COLUMNS} FROM trackers WHERE key = $1");
        let row: Option<TrackerRow> = on_read_pool!(self, pool => sqlx::query_as(&sql)
            .bind(key)
            .fetch_optional(pool)
            .await)?;
        row.ok_or_else(|| StoreError::NotFound(format!("no tracker has key '{key}'")))?
            .try_into()
    }

    pub async fn trackers(&self) -> Result<Vec<StoredTracker>> {
        let sql = format!("SELECT {TRACKER_COLUMNS} FROM trackers ORDER BY id");
        let rows: Vec<TrackerRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(StoredTracker::try_from).collect()
    }

    /// Deletes the page views shown before `cutoff` and the visitors no lead is linked to
    /// who were last seen before it (the retention of anonymous history).
    pub async fn forget_visitors_before(&self, cutoff: DateTime<Utc>) -> Result<Forgotten> {
        let cutoff = Ts(to_micros(cutoff));
        let mut forgotten = Forgotten::default();
        loop {
            let views = on_pool!(self, pool => sqlx::query(
                "DELETE FROM page_views WHERE id IN (SELECT id FROM page_views WHERE viewed_at < $1 LIMIT $2)",
            )
            .bind(cutoff)
            .bind(FORGET_CHUNK)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
            forgotten.views += views;
            if views < FORGET_CHUNK as u64 {
                break;
            }
        }
        loop {
            // Their views go with them (ON DELETE CASCADE).
            let done = on_pool!(self, pool => sqlx::query(
                "DELETE FROM visitors WHERE id IN
                 (SELECT id FROM visitors WHERE lead_id IS NULL AND last_seen < $1 LIMIT $2)",
            )
            .bind(cutoff)
            .bind(FORGET_CHUNK)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
            forgotten.visitors += done;
            if done < FORGET_CHUNK as u64 {
                break;
            }
        }
        Ok(forgotten)
    }

    /// How many visitors and kept (unlinked) page views the store holds.
    pub async fn count_visitors(&self) -> Result<(i64, i64)> {
        Ok(on_read_pool!(self, pool => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM visitors), (SELECT COUNT(*) FROM page_views)",
        )
        .fetch_one(pool)
        .await)?)
    }
}

/// A new tracker key: `t_` and 20 random lower-case letters and digits.
fn new_tracker_key() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "t_{}",
        Alphanumeric
            .sample_string(&mut rand::thread_rng(), 20)
            .to_ascii_lowercase()
    )
}

impl Tx {
    /// The visitors with these keys (made when new, first seen by `tracker_id`), each
    /// marked seen `now`.
    pub async fn visitors(
        &mut self,
        tracker_id: i64,
        keys: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<Visitor>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let now = Ts(to_micros(now));
        Ok(on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "INSERT INTO visitors (tracker_id, visitor_key, first_seen, last_seen) ",
            );
            b.push_values(keys, |mut row, key| {
                row.push_bind(tracker_id).push_bind(*key).push_bind(now).push_bind(now);
            });
            b.push(
                " ON CONFLICT (visitor_key) DO UPDATE SET last_seen = excluded.last_seen,
                     tracker_id = COALESCE(visitors.tracker_id, excluded.tracker_id)
                 RETURNING id, visitor_key, lead_id, robot",
            );
            b.build_query_as().fetch_all(conn).await
        })?)
    }

    /// Marks visitors as robots and drops what was kept of them.
    pub async fn mark_robots(&mut self, visitor_ids: &[i64]) -> Result<()> {
        if visitor_ids.is_empty() {
            return Ok(());
        }
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("UPDATE visitors SET robot = TRUE WHERE id IN (");
            crate::push_in_list(&mut b, visitor_ids.iter().copied());
            b.build().execute(&mut *conn).await?;
            let mut b = sqlx::QueryBuilder::new("DELETE FROM page_views WHERE visitor_id IN (");
            crate::push_in_list(&mut b, visitor_ids.iter().copied());
            b.build().execute(conn).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Keeps page views of visitors not linked to a lead (a view kept before is skipped).
    pub async fn keep_views(&mut self, views: &[(i64, &PageView)]) -> Result<()> {
        for chunk in views.chunks(1000) {
            let rows: Vec<(i64, &str, Ts, String)> = chunk
                .iter()
                .map(|(visitor, view)| {
                    let text = serde_json::to_string(view)
                        .map_err(|e| StoreError::from(sqlx::Error::Encode(Box::new(e))))?;
                    Ok((
                        *visitor,
                        view.id.as_str(),
                        Ts(to_micros(view.viewed_at)),
                        text,
                    ))
                })
                .collect::<Result<_>>()?;
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "INSERT INTO page_views (visitor_id, view_key, viewed_at, view) ",
                );
                b.push_values(&rows, |mut row, (visitor, key, at, text)| {
                    row.push_bind(*visitor).push_bind(*key).push_bind(*at).push_bind(text.as_str());
                });
                b.push(" ON CONFLICT (visitor_id, view_key) DO NOTHING");
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Links a visitor to the lead they turned out to be (made when not seen yet: a form
    /// can arrive before the views the server still holds) and hands over the views kept of
    /// them, oldest first, no longer kept apart. A robot is never linked: `None`.
    pub async fn link_visitor(
        &mut self,
        visitor_key: &str,
        lead_id: LeadId,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<PageView>>> {
        let now = Ts(to_micros(now));
        let visitor: Option<(i64, bool)> = on_tx!(self, conn => sqlx::query_as(
            "INSERT INTO visitors (visitor_key, lead_id, first_seen, last_seen) VALUES ($1, $2, $3, $3)
             ON CONFLICT (visitor_key) DO UPDATE SET lead_id = excluded.lead_id
             RETURNING id, robot",
        )
        .bind(visitor_key)
        .bind(lead_id)
        .bind(now)
        .fetch_optional(conn)
        .await)?;
        let Some((id, robot)) = visitor else {
            return Ok(None);
        };
        if robot {
            on_tx!(self, conn => sqlx::query("UPDATE visitors SET lead_id = NULL WHERE id = $1")
                .bind(id)
                .execute(conn)
                .await
                .map(|_| ()))?;
            return Ok(None);
        }
        let texts: Vec<(Ts, String)> = on_tx!(self, conn => sqlx::query_as(
            "DELETE FROM page_views WHERE visitor_id = $1 RETURNING viewed_at, view",
        )
        .bind(id)
        .fetch_all(conn)
        .await)?;
        let mut views = texts
            .into_iter()
            .map(|(_, text)| {
                serde_json::from_str::<PageView>(&text)
                    .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))
            })
            .collect::<Result<Vec<_>>>()?;
        views.sort_by(|a, b| a.viewed_at.cmp(&b.viewed_at).then(a.id.cmp(&b.id)));
        Ok(Some(views))
    }

    /// The visitors linked to these leads and any views still kept of them, for a GDPR
    /// export.
    pub(crate) async fn visitors_of_leads(&mut self, lead_ids: &[LeadId]) -> Result<Vec<Value>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, String, Option<i64>, Ts, Ts)> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT v.id, v.visitor_key, v.tracker_id, v.first_seen, v.last_seen FROM visitors v WHERE v.lead_id IN (",
            );
            crate::push_in_list(&mut b, lead_ids.iter().copied());
            b.push(" ORDER BY v.id");
            b.build_query_as().fetch_all(conn).await
        })?;
        let mut visitors = Vec::with_capacity(rows.len());
        for (id, key, tracker, first, last) in rows {
            let views: Vec<String> = on_tx!(self, conn => sqlx::query_scalar(
                "SELECT view FROM page_views WHERE visitor_id = $1 ORDER BY viewed_at, id",
            )
            .bind(id)
            .fetch_all(conn)
            .await)?;
            let views: Vec<Value> = views
                .iter()
                .filter_map(|v| serde_json::from_str(v).ok())
                .collect();
            visitors.push(
                json!({"visitor": key, "tracker_id": tracker, "first_seen": first.0,
                                 "last_seen": last.0, "page_views": views}),
            );
        }
        Ok(visitors)
    }

    /// Deletes the visitors linked to these leads and what is kept of them (a GDPR erasure):
    /// their views as events are erased with the lead's other events.
    pub(crate) async fn forget_visitors_of(&mut self, lead_ids: &[LeadId]) -> Result<u64> {
        if lead_ids.is_empty() {
            return Ok(0);
        }
        Ok(on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("DELETE FROM visitors WHERE lead_id IN (");
            crate::push_in_list(&mut b, lead_ids.iter().copied());
            b.build().execute(conn).await.map(|r| r.rows_affected())
        })?)
    }

    /// Appends events of activity that arrived by itself (a site's page views) and marks
    /// their leads due for rescoring, as any append does.
    pub async fn append_activity(
        &mut self,
        drafts: &[(LeadId, leadgate_core::EventDraft)],
    ) -> Result<usize> {
        let inserted = self.insert_drafts(drafts, Ts(Utc::now())).await?;
        let mut leads: Vec<LeadId> = drafts.iter().map(|(lead, _)| *lead).collect();
        leads.sort_unstable();
        leads.dedup();
        self.set_rescore_due(&leads, true).await?;
        Ok(inserted.len())
    }
}
