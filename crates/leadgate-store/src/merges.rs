//! Duplicate people as stored: the match keys of people to compare (core's `dedupe`
//! compares them, the app's `dedupe` decides), merge records, and a merge applied, undone
//! or rejected.

use crate::leads::NewEvent;
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::dedupe::{Match, MergeStatus, PersonKeys};
use leadgate_core::id::{LeadId, PersonId};
use leadgate_core::{EventDraft, EventType};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashSet;

/// One merge, done or suggested.
#[derive(Debug, Clone, Serialize)]
pub struct MergeRecord {
    pub id: i64,
    pub kept_person: i64,
    pub merged_person: i64,
    pub score: f64,
    pub reasons: Vec<String>,
    pub status: MergeStatus,
    pub moved_leads: Vec<LeadId>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub actor: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MergeRow {
    id: i64,
    kept_person: i64,
    merged_person: i64,
    score: f64,
    reasons: String,
    #[sqlx(try_from = "String")]
    status: MergeStatus,
    moved_leads: String,
    created_at: Ts,
    decided_at: Option<Ts>,
    actor: Option<String>,
}

impl From<MergeRow> for MergeRecord {
    fn from(r: MergeRow) -> Self {
        MergeRecord {
            id: r.id,
            kept_person: r.kept_person,
            merged_person: r.merged_person,
            score: r.score,
            reasons: serde_json::from_str(&r.reasons).unwrap_or_default(),
            status: r.status,
            moved_leads: serde_json::from_str(&r.moved_leads).unwrap_or_default(),
            created_at: r.created_at.0,
            decided_at: r.decided_at.map(|t| t.0),
            actor: r.actor,
        }
    }
}

/// What matching reads of each person.
#[derive(sqlx::FromRow)]
struct PersonRow {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company: Option<String>,
}

impl PersonRow {
    fn keys(&self) -> PersonKeys {
        PersonKeys::new(
            self.id,
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            self.email.as_deref(),
            self.phone.as_deref(),
            self.company.as_deref(),
        )
    }
}

/// What a dedupe pass found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DedupeSummary {
    pub people: usize,
    pub pairs_found: usize,
    pub merged: usize,
    pub suggested: usize,
    /// Groups too large to compare, and people whose pairs were cut short (see
    /// `dedupe::MAX_BLOCK` and `MAX_MATCHES_PER_PERSON`).
    pub blocks_skipped: usize,
    pub people_capped: usize,
}

/// People with the name of a company they have a lead at; callers add WHERE and GROUP BY.
const SELECT_PERSON: &str = "SELECT p.id, p.first_name, p.last_name, p.email, p.phone, MIN(c.name) AS company
     FROM people p LEFT JOIN leads l ON l.person_id = p.id LEFT JOIN companies c ON c.id = l.company_id";

const SELECT_MERGE: &str = "SELECT id, kept_person, merged_person, score, reasons, status, moved_leads, created_at, decided_at, actor FROM merges";

/// The person fields a merge fills in, in `people` column order.
const PERSON_COLUMNS: [&str; 5] = ["first_name", "last_name", "phone", "job_title", "country"];

#[derive(sqlx::FromRow, Serialize, serde::Deserialize, Clone)]
struct PersonFields {
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    job_title: Option<String>,
    country: Option<String>,
    updated_at: Ts,
}

/// Which people arrived, to be matched against those they could be.
#[derive(Debug, Clone)]
pub enum Arrived {
    /// These people (just captured).
    People(Vec<PersonId>),
    /// Every person made after this one (an import's, whose start recorded the last id).
    After(PersonId),
}

impl Arrived {
    /// Appends a test that `column` is an arrived person's id, its values bound.
    fn push_test<'a, DB>(&self, b: &mut sqlx::QueryBuilder<'a, DB>, column: &str)
    where
        DB: sqlx::Database,
        i64: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        b.push(column);
        match self {
            Arrived::People(ids) => {
                b.push(" IN (");
                crate::push_in_list(b, ids.iter().map(|id| id.get()));
            }
            Arrived::After(id) => {
                b.push(" > ").push_bind(id.get());
            }
        }
    }

    /// The people who arrived and those they could be: the same phone, or a lead at the
    /// same company.
    fn near<'a, DB>(&self) -> sqlx::QueryBuilder<'a, DB>
    where
        DB: sqlx::Database,
        i64: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    {
        let mut b = sqlx::QueryBuilder::new(format!(
            "{SELECT_PERSON} WHERE p.merged_into IS NULL AND p.erased_at IS NULL AND p.id IN (
                SELECT a.id FROM people a WHERE "
        ));
        self.push_test(&mut b, "a.id");
        b.push(
            " UNION SELECT b.id FROM people b WHERE b.phone IN
                (SELECT a.phone FROM people a WHERE a.phone IS NOT NULL AND ",
        );
        self.push_test(&mut b, "a.id");
        b.push(
            ") UNION SELECT b.person_id FROM leads b WHERE b.company_id IN
                (SELECT a.company_id FROM leads a WHERE a.company_id IS NOT NULL AND ",
        );
        self.push_test(&mut b, "a.person_id");
        b.push(")) GROUP BY p.id ORDER BY p.id");
        b
    }
}

impl Store {
    /// The match keys of every person not merged away or erased, made row by row as the
    /// rows arrive: a million people's rows are never held, only their keys.
    pub async fn person_keys_all(&self) -> Result<Vec<PersonKeys>> {
        use futures_util::TryStreamExt;
        let sql = format!(
            "{SELECT_PERSON} WHERE p.merged_into IS NULL AND p.erased_at IS NULL GROUP BY p.id ORDER BY p.id"
        );
        Ok(
            on_read_pool!(self, pool => sqlx::query_as::<_, PersonRow>(&sql)
            .fetch(pool)
            .map_ok(|row| row.keys())
            .try_collect()
            .await)?,
        )
    }

    /// The match keys of the arrived people and of those they could be, and which of them
    /// arrived.
    pub async fn person_keys_near(
        &self,
        arrived: &Arrived,
    ) -> Result<(Vec<PersonKeys>, HashSet<i64>)> {
        use futures_util::TryStreamExt;
        if matches!(arrived, Arrived::People(ids) if ids.is_empty()) {
            return Ok((Vec::new(), HashSet::new()));
        }
        let people: Vec<PersonKeys> = on_read_pool!(self, pool => {
            let mut b = arrived.near();
            b.build_query_as::<PersonRow>()
                .fetch(pool)
                .map_ok(|row| row.keys())
                .try_collect()
                .await
        })?;
        let ids: Vec<i64> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new("SELECT id FROM people WHERE ");
            arrived.push_test(&mut b, "id");
            b.build_query_scalar().fetch_all(pool).await
        })?;
        Ok((people, ids.into_iter().collect()))
    }

    /// The pairs among these that have a merge record, whatever its status.
    pub async fn known_pairs(&self, matches: &[&Match]) -> Result<HashSet<(i64, i64)>> {
        let mut kept: Vec<i64> = matches.iter().map(|m| m.a).collect();
        kept.sort_unstable();
        kept.dedup();
        let mut known = HashSet::new();
        for chunk in kept.chunks(1000) {
            let rows: Vec<(i64, i64)> = on_pool!(self, pool => {
                let mut b = sqlx::QueryBuilder::new(
                    "SELECT kept_person, merged_person FROM merges WHERE kept_person IN (",
                );
                crate::push_in_list(&mut b, chunk.iter().copied());
                b.build_query_as().fetch_all(pool).await
            })?;
            known.extend(rows);
        }
        Ok(known)
    }

    /// Stores suggestions in one transaction, a multi-row insert per thousand.
    pub async fn insert_suggestions(&self, matches: &[&Match]) -> Result<()> {
        if matches.is_empty() {
            return Ok(());
        }
        let now = Ts(to_micros(Utc::now()));
        let mut tx = self.begin().await?;
        for chunk in matches.chunks(1000) {
            on_tx!(&mut tx, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "INSERT INTO merges (kept_person, merged_person, score, reasons, status, created_at) ",
                );
                b.push_values(chunk, |mut row, m| {
                    row.push_bind(m.a)
                        .push_bind(m.b)
                        .push_bind(m.score)
                        .push_bind(serde_json::to_string(&m.reasons).unwrap_or_default())
                        .push_bind(MergeStatus::Suggested.as_str())
                        .push_bind(now);
                });
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        tx.commit().await
    }

    /// The newest merge of the pair and its status, if it was ever suggested or merged.
    pub async fn known_merge(&self, kept: i64, merged: i64) -> Result<Option<(i64, MergeStatus)>> {
        let row: Option<(i64, String)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT id, status FROM merges WHERE kept_person = $1 AND merged_person = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(kept)
        .bind(merged)
        .fetch_optional(pool)
        .await)?;
        row.map(|(id, status)| Ok((id, status.parse().map_err(StoreError::Internal)?)))
            .transpose()
    }

    pub async fn insert_merge(&self, m: &Match, status: MergeStatus) -> Result<i64> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO merges (kept_person, merged_person, score, reasons, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(m.a)
        .bind(m.b)
        .bind(m.score)
        .bind(serde_json::to_string(&m.reasons).unwrap_or_default())
        .bind(status.as_str())
        .bind(Ts(to_micros(Utc::now())))
        .fetch_one(pool)
        .await)?)
    }

    pub async fn merges(&self, status: Option<MergeStatus>) -> Result<Vec<MergeRecord>> {
        let sql = match status {
            Some(_) => format!("{SELECT_MERGE} WHERE status = $1 ORDER BY id"),
            None => format!("{SELECT_MERGE} ORDER BY id"),
        };
        let rows: Vec<MergeRow> = on_read_pool!(self, pool => {
            let mut q = sqlx::query_as(&sql);
            if let Some(s) = status {
                q = q.bind(s.as_str());
            }
            q.fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(MergeRecord::from).collect())
    }

    /// The merge, if it is in `status`; otherwise a conflict saying what `only` allows.
    async fn merge_in(&self, id: i64, status: MergeStatus, only: &str) -> Result<MergeRecord> {
        let record = self.merge(id).await?;
        if record.status != status {
            return Err(StoreError::Conflict {
                field: "status".into(),
                reason: format!("merge {id} is {}; only {only}", record.status),
            });
        }
        Ok(record)
    }

    pub async fn merge(&self, id: i64) -> Result<MergeRecord> {
        let sql = format!("{SELECT_MERGE} WHERE id = $1");
        let row: Option<MergeRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(MergeRecord::from)
            .ok_or_else(|| StoreError::NotFound(format!("merge {id} not found")))
    }

    /// Carries out a suggested merge: the merged person's leads move to the kept person,
    /// whose empty fields are filled from the merged one (a field both have takes the value
    /// of whichever was updated last; the email stays the kept person's), and every lead
    /// involved gets a `person_merged` event. Undo restores all of it.
    pub async fn apply_merge(&self, id: i64, actor: &str) -> Result<MergeRecord> {
        let record = self
            .merge_in(
                id,
                MergeStatus::Suggested,
                "a suggested merge can be applied",
            )
            .await?;
        let (kept, gone) = (record.kept_person, record.merged_person);
        let now = to_micros(Utc::now());
        let mut tx = self.begin().await?;
        let kept_fields = tx.person_fields(kept).await?;
        let gone_fields = tx.person_fields(gone).await?;
        let filled = PersonFields {
            first_name: pick(&kept_fields, &gone_fields, |p| &p.first_name),
            last_name: pick(&kept_fields, &gone_fields, |p| &p.last_name),
            phone: pick(&kept_fields, &gone_fields, |p| &p.phone),
            job_title: pick(&kept_fields, &gone_fields, |p| &p.job_title),
            country: pick(&kept_fields, &gone_fields, |p| &p.country),
            updated_at: Ts(now),
        };
        tx.set_person_fields(kept, &filled).await?;
        let moved: Vec<LeadId> = on_tx!(&mut tx, conn => sqlx::query_scalar("SELECT id FROM leads WHERE person_id = $1 ORDER BY id")
            .bind(gone)
            .fetch_all(conn)
            .await)?;
        on_tx!(&mut tx, conn => sqlx::query("UPDATE leads SET person_id = $1 WHERE person_id = $2")
            .bind(kept)
            .bind(gone)
            .execute(conn)
            .await
            .map(|_| ()))?;
        on_tx!(&mut tx, conn => sqlx::query("UPDATE people SET merged_into = $1 WHERE id = $2")
            .bind(kept)
            .bind(gone)
            .execute(conn)
            .await
            .map(|_| ()))?;
        on_tx!(&mut tx, conn => sqlx::query(
            "UPDATE merges SET status = 'merged', moved_leads = $1, kept_before = $2, decided_at = $3, actor = $4 WHERE id = $5",
        )
        .bind(serde_json::to_string(&moved).unwrap_or_default())
        .bind(serde_json::to_string(&kept_fields).unwrap_or_default())
        .bind(Ts(now))
        .bind(actor)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ()))?;
        tx.after_merge(
            kept,
            json!({"merge": id, "kept_person": kept, "merged_person": gone, "score": record.score,
                   "reasons": record.reasons, "moved_leads": moved}),
            now,
            actor,
        )
        .await?;
        tx.commit().await?;
        self.merge(id).await
    }

    /// Undoes a merge: the moved leads go back to their person, the kept person's fields are
    /// as before, and the leads get a `person_merged` event saying so.
    pub async fn undo_merge(&self, id: i64, actor: &str) -> Result<MergeRecord> {
        let record = self
            .merge_in(id, MergeStatus::Merged, "a done merge can be undone")
            .await?;
        let before: Option<String> = on_pool!(self, pool => sqlx::query_scalar("SELECT kept_before FROM merges WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await)?;
        let before: PersonFields = before
            .and_then(|b| serde_json::from_str(&b).ok())
            .ok_or_else(|| StoreError::NotFound(format!("merge {id} has nothing to undo")))?;
        let now = to_micros(Utc::now());
        let mut tx = self.begin().await?;
        tx.set_person_fields(record.kept_person, &before).await?;
        for lead in &record.moved_leads {
            on_tx!(&mut tx, conn => sqlx::query("UPDATE leads SET person_id = $1 WHERE id = $2")
                .bind(record.merged_person)
                .bind(lead)
                .execute(conn)
                .await
                .map(|_| ()))?;
        }
        on_tx!(&mut tx, conn => sqlx::query("UPDATE people SET merged_into = NULL WHERE id = $1")
            .bind(record.merged_person)
            .execute(conn)
            .await
            .map(|_| ()))?;
        on_tx!(&mut tx, conn => sqlx::query("UPDATE merges SET status = 'undone', decided_at = $1, actor = $2 WHERE id = $3")
            .bind(Ts(now))
            .bind(actor)
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let payload = json!({"merge": id, "undone": true, "kept_person": record.kept_person,
                             "merged_person": record.merged_person});
        tx.after_merge(record.kept_person, payload.clone(), now, actor)
            .await?;
        tx.after_merge(record.merged_person, payload, now, actor)
            .await?;
        tx.commit().await?;
        self.merge(id).await
    }

    /// A person decided two suggested records are different people.
    pub async fn reject_merge(&self, id: i64, actor: &str) -> Result<MergeRecord> {
        self.merge_in(id, MergeStatus::Suggested, "a suggestion can be rejected")
            .await?;
        on_pool!(self, pool => sqlx::query("UPDATE merges SET status = 'rejected', decided_at = $1, actor = $2 WHERE id = $3")
            .bind(Ts(to_micros(Utc::now())))
            .bind(actor)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        self.merge(id).await
    }
}

/// The kept value, unless empty; when both have one, the more recently updated person's.
fn pick(
    kept: &PersonFields,
    gone: &PersonFields,
    field: impl Fn(&PersonFields) -> &Option<String>,
) -> Option<String> {
    match (field(kept), field(gone)) {
        (Some(k), Some(g)) => Some(
            if gone.updated_at.0 > kept.updated_at.0 {
                g
            } else {
                k
            }
            .clone(),
        ),
        (Some(k), None) => Some(k.clone()),
        (None, g) => g.clone(),
    }
}

impl Tx {
    async fn person_fields(&mut self, id: i64) -> Result<PersonFields> {
        let sql = format!(
            "SELECT {}, updated_at FROM people WHERE id = $1 AND merged_into IS NULL",
            PERSON_COLUMNS.join(", ")
        );
        let row: Option<PersonFields> =
            on_tx!(self, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?;
        row.ok_or_else(|| {
            StoreError::NotFound(format!("person {id} not found (or merged already)"))
        })
    }

    async fn set_person_fields(&mut self, id: i64, f: &PersonFields) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "UPDATE people SET first_name = $1, last_name = $2, phone = $3, job_title = $4, country = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&f.first_name)
        .bind(&f.last_name)
        .bind(&f.phone)
        .bind(&f.job_title)
        .bind(&f.country)
        .bind(f.updated_at)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// Records the merge on every lead of `person` and refreshes their search text (the
    /// person's names may have changed).
    async fn after_merge(
        &mut self,
        person: i64,
        payload: Value,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<()> {
        let leads: Vec<LeadId> = on_tx!(self, conn => sqlx::query_scalar("SELECT id FROM leads WHERE person_id = $1")
            .bind(person)
            .fetch_all(conn)
            .await)?;
        let draft = EventDraft::new(EventType::PersonMerged, now, payload).with_actor(actor);
        let rows: Vec<NewEvent> = leads
            .iter()
            .map(|lead_id| NewEvent {
                lead_id: *lead_id,
                draft: &draft,
            })
            .collect();
        self.insert_events(&rows, Ts(now)).await?;
        for id in leads {
            if let Some(stored) = self.lead(id, true).await? {
                self.save_lead(&stored).await?;
            }
        }
        Ok(())
    }
}
