//! Consent and privacy: consent per purpose, Do Not Email / Do Not Call, and the GDPR
//! requests of a person (export all their data; erase it everywhere, event payloads included,
//! keeping anonymous counts), each audited.

use crate::events::StoredEvent;
use crate::leads::NewEvent;
use crate::time::{to_micros, Ts};
use crate::{on_read_pool, on_tx, Pool, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::id::{LeadId, PersonId};
use leadgate_core::{EventDraft, EventType, FieldError};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::types::Json;

/// Consent purposes that switch contact off when refused: `email` is Do Not Email, `call`
/// Do Not Call.
pub const EMAIL: &str = "email";
pub const CALL: &str = "call";
/// The purpose a web form's consent box grants: being contacted about the request.
pub const CONTACT: &str = "contact";

/// One consent given or withdrawn.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Consent {
    pub purpose: String,
    pub granted: bool,
    /// The text the person agreed to.
    pub wording: Option<String>,
    /// Where: `form:demo`, `api`, `import:3`...
    pub source: String,
    pub ip: Option<String>,
    pub actor: String,
    #[serde(serialize_with = "serialize_ts")]
    pub recorded_at: Ts,
}

fn serialize_ts<S: serde::Serializer>(ts: &Ts, s: S) -> std::result::Result<S::Ok, S::Error> {
    ts.0.serialize(s)
}

/// A person's consents: the one in force per purpose, and every change.
#[derive(Debug, Clone, Serialize)]
pub struct Consents {
    pub person_id: PersonId,
    pub do_not_email: bool,
    pub do_not_call: bool,
    pub current: Vec<Consent>,
    pub history: Vec<Consent>,
}

/// A new consent record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub purpose: String,
    pub granted: bool,
    pub wording: Option<String>,
    pub source: String,
    pub ip: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    job_title: Option<String>,
    country: Option<String>,
    created_at: Ts,
}

/// What an erasure removed.
#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    pub person_id: PersonId,
    pub leads: usize,
    pub events: usize,
    pub consents: usize,
    pub at: DateTime<Utc>,
}

/// Payload keys that carry no personal data and keep the counts (outcomes, values, moves)
/// true after an erasure.
const ANONYMOUS_KEYS: [&str; 8] = [
    "outcome",
    "value",
    "currency",
    "from",
    "to",
    "policy_version",
    "field",
    "created",
];

/// Checks a purpose name: lower-case letters, digits and underscores.
pub fn check_purpose(purpose: &str) -> std::result::Result<(), FieldError> {
    let ok = (1..=64).contains(&purpose.len())
        && purpose
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "purpose",
            "must be 1 to 64 lower-case letters, digits or underscores (email and call switch contact off when refused)",
        ))
    }
}

impl Tx {
    /// Records a consent for a person (see `Store::record_consent`). With `if_changed`, a
    /// consent the same as the one in force is not recorded again (imports run twice).
    /// Returns whether it was recorded.
    pub(crate) async fn record_consent(
        &mut self,
        person_id: PersonId,
        consent: &NewConsent,
        actor: &str,
        if_changed: bool,
    ) -> Result<bool> {
        if if_changed {
            let in_force: Option<bool> = on_tx!(self, conn => sqlx::query_scalar(
                "SELECT granted FROM consents WHERE person_id = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(person_id)
            .bind(&consent.purpose)
            .fetch_optional(conn)
            .await)?;
            if in_force == Some(consent.granted) {
                return Ok(false);
            }
        }
        let now = to_micros(Utc::now());
        on_tx!(self, conn => sqlx::query(
            "INSERT INTO consents (person_id, purpose, granted, wording, source, ip, actor, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(person_id)
        .bind(&consent.purpose)
        .bind(consent.granted)
        .bind(&consent.wording)
        .bind(&consent.source)
        .bind(&consent.ip)
        .bind(actor)
        .bind(Ts(now))
        .execute(conn)
        .await
        .map(|_| ()))?;
        let column = match consent.purpose.as_str() {
            EMAIL => Some("do_not_email"),
            CALL => Some("do_not_call"),
            _ => None,
        };
        if let Some(column) = column {
            on_tx!(self, conn => sqlx::query(&format!("UPDATE people SET {column} = $1 WHERE id = $2"))
                .bind(!consent.granted)
                .bind(person_id)
                .execute(conn)
                .await
                .map(|_| ()))?;
        }
        let draft = EventDraft::new(
            EventType::FieldChanged,
            now,
            json!({"field": format!("consent.{}", consent.purpose), "new": consent.granted,
                   "source": consent.source}),
        )
        .with_actor(actor);
        let leads = self.leads_of_person(person_id).await?;
        let rows: Vec<NewEvent> = leads
            .iter()
            .map(|lead_id| NewEvent {
                lead_id: *lead_id,
                draft: &draft,
            })
            .collect();
        self.insert_events(&rows, Ts(now)).await?;
        Ok(true)
    }
}

impl Store {
    /// The person behind a lead.
    pub async fn person_of_lead(&self, lead_id: LeadId) -> Result<PersonId> {
        on_read_pool!(self, pool => sqlx::query_scalar("SELECT person_id FROM leads WHERE id = $1")
            .bind(lead_id)
            .fetch_optional(pool)
            .await)?
        .ok_or(StoreError::LeadNotFound(lead_id))
    }

    /// The person with this email (any case), if any.
    pub async fn person_by_email(&self, email: &leadgate_core::Email) -> Result<PersonId> {
        on_read_pool!(self, pool => sqlx::query_scalar("SELECT COALESCE(merged_into, id) FROM people WHERE email_key = $1")
            .bind(email.match_key())
            .fetch_optional(pool)
            .await)?
        .ok_or_else(|| StoreError::NotFound(format!("no person has the email {}", email.as_str())))
    }

    /// Records a consent for the person behind `lead_id`; refusing `email` or `call` sets
    /// Do Not Email or Do Not Call (granting it again clears it). Each lead of the person
    /// gets a `field_changed` event.
    pub async fn record_consent(
        &self,
        lead_id: LeadId,
        consent: &NewConsent,
        actor: &str,
    ) -> Result<Consents> {
        check_purpose(&consent.purpose).map_err(leadgate_core::FieldErrors::from)?;
        let person_id = self.person_of_lead(lead_id).await?;
        let mut tx = self.begin().await?;
        tx.record_consent(person_id, consent, actor, false).await?;
        tx.commit().await?;
        self.consents(person_id).await
    }

    /// `record_consent` where it changes the consent in force only (a one-click
    /// unsubscribe sent again records nothing); whether it was recorded.
    pub async fn record_consent_change(
        &self,
        lead_id: LeadId,
        consent: &NewConsent,
        actor: &str,
    ) -> Result<bool> {
        check_purpose(&consent.purpose).map_err(leadgate_core::FieldErrors::from)?;
        let person_id = self.person_of_lead(lead_id).await?;
        let mut tx = self.begin().await?;
        let recorded = tx.record_consent(person_id, consent, actor, true).await?;
        tx.commit().await?;
        Ok(recorded)
    }

    /// A person's consents and contact flags.
    pub async fn consents(&self, person_id: PersonId) -> Result<Consents> {
        let history: Vec<Consent> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT purpose, granted, wording, source, ip, actor, recorded_at FROM consents
             WHERE person_id = $1 ORDER BY id",
        )
        .bind(person_id)
        .fetch_all(pool)
        .await)?;
        let flags: Option<(bool, bool)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT do_not_email, do_not_call FROM people WHERE id = $1",
        )
        .bind(person_id)
        .fetch_optional(pool)
        .await)?;
        let (do_not_email, do_not_call) =
            flags.ok_or_else(|| StoreError::NotFound(format!("person {person_id} not found")))?;
        let mut current: Vec<Consent> = Vec::new();
        for consent in history.iter().rev() {
            if !current.iter().any(|c| c.purpose == consent.purpose) {
                current.push(consent.clone());
            }
        }
        current.sort_by(|a, b| a.purpose.cmp(&b.purpose));
        Ok(Consents {
            person_id,
            do_not_email,
            do_not_call,
            current,
            history,
        })
    }

    /// Everything stored about a person, as one JSON document (GDPR access request). The
    /// export itself is audited.
    pub async fn gdpr_export(&self, person_id: PersonId, actor: &str) -> Result<Value> {
        let person: Option<PersonRow> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT first_name, last_name, email, phone, job_title, country, created_at FROM people WHERE id = $1",
        )
        .bind(person_id)
        .fetch_optional(pool)
        .await)?;
        let person =
            person.ok_or_else(|| StoreError::NotFound(format!("person {person_id} not found")))?;
        let mut tx = self.begin_read().await?;
        let lead_ids = tx.leads_of_person(person_id).await?;
        let mut leads = Vec::new();
        for id in &lead_ids {
            if let Some(stored) = tx.lead(*id, false).await? {
                let mut fields = stored.lead.to_json_fields();
                fields.insert("id".into(), json!(stored.id));
                fields.insert("first_touch".into(), json!(stored.first_touch));
                fields.insert("last_touch".into(), json!(stored.last_touch));
                fields.insert("created_at".into(), json!(stored.created_at));
                leads.push(Value::Object(fields));
            }
        }
        let events = tx.all_events_of(&lead_ids).await?;
        let visitors = tx.visitors_of_leads(&lead_ids).await?;
        drop(tx);
        let consents = self.consents(person_id).await?;
        let document = json!({
            "person": {"id": person_id, "first_name": person.first_name, "last_name": person.last_name,
                       "email": person.email, "phone": person.phone, "job_title": person.job_title,
                       "country": person.country, "created_at": person.created_at.0},
            "consents": consents,
            "leads": leads,
            "events": events,
            "site_visitors": visitors,
            "exported_at": Utc::now(),
        });
        self.audit(
            "export",
            person_id,
            actor,
            &json!({"leads": lead_ids.len(), "events": events.len()}),
        )
        .await?;
        Ok(document)
    }

    /// Erases a person's data everywhere (GDPR erasure): the person's fields, their leads'
    /// own fields, identifiers and free text, the personal parts of their touches, and every
    /// event payload but its anonymous keys (outcomes, values, stage moves). Rows stay, so
    /// counts and conversion figures stay true. One transaction; audited.
    pub async fn gdpr_erase(&self, person_id: PersonId, actor: &str) -> Result<Erasure> {
        let now = to_micros(Utc::now());
        let mut tx = self.begin().await?;
        let exists: Option<i64> = on_tx!(&mut tx, conn => sqlx::query_scalar("SELECT id FROM people WHERE id = $1")
            .bind(person_id)
            .fetch_optional(conn)
            .await)?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!(
                "person {person_id} not found"
            )));
        }
        // Lets this transaction, and only it, rewrite event payloads.
        on_tx!(&mut tx, conn => sqlx::query("INSERT INTO erasing (person_id) VALUES ($1)")
            .bind(person_id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let lead_ids = tx.leads_of_person(person_id).await?;
        let events = tx.all_events_of(&lead_ids).await?;
        for event in &events {
            let kept: Map<String, Value> = event
                .payload
                .0
                .as_object()
                .map(|payload| {
                    payload
                        .iter()
                        .filter(|(k, _)| ANONYMOUS_KEYS.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let mut kept = kept;
            kept.insert("erased".into(), Value::Bool(true));
            on_tx!(&mut tx, conn => sqlx::query("UPDATE events SET payload = $1, idempotency_key = NULL WHERE id = $2")
                .bind(Json(Value::Object(kept)))
                .bind(event.id)
                .execute(conn)
                .await
                .map(|_| ()))?;
            // On PostgreSQL a key also sits in `event_keys` (the log is partitioned): a
            // client's key may hold what it knew of the person.
            if let crate::Conn::Postgres(conn) = &mut tx.conn {
                sqlx::query("DELETE FROM event_keys WHERE event_id = $1")
                    .bind(event.id)
                    .execute(&mut **conn)
                    .await?;
            }
        }
        let own_companies = tx.companies_only_of(person_id, &lead_ids).await?;
        // What identifies the person, for the texts that may quote it (import rejects).
        let mut quoted: Vec<String> = Vec::new();
        for id in &lead_ids {
            let Some(mut stored) = tx.lead(*id, true).await? else {
                continue;
            };
            let own_company = stored
                .company_id
                .is_some_and(|c| own_companies.contains(&c));
            quoted.extend(stored.lead.identifying_texts(own_company));
            if own_company {
                stored.lead.company = None;
                stored.lead.website = None;
            }
            let lead = &mut stored.lead;
            lead.external_id = None;
            lead.first_name = None;
            lead.last_name = None;
            lead.email = None;
            lead.phone = None;
            lead.job_title = None;
            lead.country = None;
            lead.product_need = None;
            lead.purchase_timeframe = None;
            lead.current_solution = None;
            lead.pains = None;
            lead.custom = Map::new();
            for touch in [&mut stored.first_touch, &mut stored.last_touch] {
                touch.utm_term = None;
                touch.utm_content = None;
                touch.referrer = None;
                touch.landing_page = None;
            }
            stored.updated_at = now;
            tx.save_lead(&stored).await?;
            // Reps write names and circumstances into task titles, notes and reminders.
            on_tx!(&mut tx, conn => sqlx::query(
                "UPDATE tasks SET title = '(erased)', notes = NULL WHERE lead_id = $1",
            )
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
            on_tx!(&mut tx, conn => sqlx::query(
                "UPDATE emails SET to_address = '(erased)', subject = '(erased)', body = '' WHERE lead_id = $1",
            )
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
            on_tx!(&mut tx, conn => sqlx::query(
                "UPDATE notifications SET message = '(erased)' WHERE lead_id = $1",
            )
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        }
        // Reasons written on moves and outcomes went with the payloads; so do their copies.
        tx.refresh_journeys(&lead_ids).await?;
        // What receivers answered to the person's events may quote them.
        if !events.is_empty() {
            on_tx!(&mut tx, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "UPDATE webhook_deliveries SET response = NULL, error = NULL WHERE event_id IN (",
                );
                crate::push_in_list(&mut b, events.iter().map(|e| e.id));
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        // A mail server's refusal often quotes the address it refused.
        tx.forget_send_errors(&lead_ids).await?;
        // The browsers the person was known by, and any history of theirs still kept apart.
        tx.forget_visitors_of(&lead_ids).await?;
        // The person is also every record merged into them (other addresses of theirs), and
        // a merge kept their fields from before it (for undo).
        let people = tx.merged_cluster(person_id).await?;
        let texts = tx.texts_of_people(&people).await?;
        quoted.extend(
            texts
                .iter()
                .flat_map(|(first, last, email, phone)| [first, last, email, phone])
                .flatten()
                .cloned(),
        );
        tx.forget_rejects_quoting(&quoted).await?;
        tx.forget_saved_views_quoting(&searches_for(&texts)).await?;
        on_tx!(&mut tx, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "UPDATE people SET first_name = NULL, last_name = NULL, email = NULL, email_key = NULL, phone = NULL,
                 job_title = NULL, country = NULL, erased_at = ",
            );
            b.push_bind(Ts(now)).push(", updated_at = ").push_bind(Ts(now));
            b.push(" WHERE id IN (");
            crate::push_in_list(&mut b, people.iter().copied());
            b.build().execute(conn).await.map(|_| ())
        })?;
        on_tx!(&mut tx, conn => {
            let mut b = sqlx::QueryBuilder::new("UPDATE merges SET kept_before = NULL WHERE kept_person IN (");
            crate::push_in_list(&mut b, people.iter().copied());
            b.push(" OR merged_person IN (");
            crate::push_in_list(&mut b, people.iter().copied());
            b.build().execute(conn).await.map(|_| ())
        })?;
        // A company no one else has a lead at is the person's own (a sole trader, a company
        // named after them, its web domain taken from their email): erased with them.
        if !own_companies.is_empty() {
            on_tx!(&mut tx, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "UPDATE companies SET name = NULL, name_key = NULL, domain = NULL, website = NULL WHERE id IN (",
                );
                crate::push_in_list(&mut b, own_companies.iter().copied());
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        let consents = on_tx!(&mut tx, conn => sqlx::query("UPDATE consents SET ip = NULL, wording = NULL WHERE person_id = $1")
            .bind(person_id)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))? as usize;
        on_tx!(&mut tx, conn => sqlx::query("DELETE FROM erasing WHERE person_id = $1")
            .bind(person_id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let erasure = Erasure {
            person_id,
            leads: lead_ids.len(),
            events: events.len(),
            consents,
            at: now,
        };
        tx.audit("erase", person_id, actor, &json!(erasure), now)
            .await?;
        if self.engine() == crate::Engine::Postgres {
            tx.enqueue_job(&crate::NewJob::new(
                leadgate_core::job::JobKind::VacuumErased,
                json!({"person_id": person_id}),
                Utc::now(),
            ))
            .await?;
        }
        tx.commit().await?;
        // The analytics change log holds the reasons of the person's journeys as group keys
        // (+1 then -1): folded now, their groups vanish instead of waiting for the next fold.
        if let Err(e) = self.fold_analytics().await {
            tracing::warn!(error = %e, "cannot fold the analytics rollup after an erasure");
        }
        self.flush_erased_pages().await;
        Ok(erasure)
    }

    /// The tables an erasure rewrites, vacuumed after it on PostgreSQL (the job
    /// `vacuum_erased`): the dead row versions holding the erased values are reclaimed, so
    /// their space is reused. Outside any transaction, as VACUUM must be; nothing on SQLite,
    /// where `secure_delete` and the checkpoint already did more.
    pub async fn vacuum_erased(&self) -> Result<()> {
        self.vacuum_erased_tables("VACUUM").await
    }

    /// Rewrites the tables erasures touch into new files (`VACUUM FULL`, PostgreSQL), taking
    /// each one's exclusive lock while it is rewritten: PostgreSQL does not zero the space
    /// VACUUM frees, so only this guarantees no table file still holds an erased value.
    pub async fn compact_erased(&self) -> Result<()> {
        self.vacuum_erased_tables("VACUUM FULL").await
    }

    async fn vacuum_erased_tables(&self, vacuum: &str) -> Result<()> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query(&format!(
                "{vacuum} people, leads, events, event_keys, tasks, emails, notifications, merges,
                 webhook_deliveries, consents, companies, import_rejects, analytics_changes,
                 analytics_rollup, jobs, job_runs, saved_views, visitors, page_views"
            ))
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// After an erasure: on SQLite, the pages it rewrote are copied into the database file
    /// and the write-ahead log is emptied, so no earlier version of them stays in the log.
    /// (`secure_delete` already zeroed the old values on the rewritten pages.) A reader
    /// holding an old snapshot can keep the checkpoint from finishing: it is tried a few
    /// times, then left to the next automatic one, and logged.
    async fn flush_erased_pages(&self) {
        let Pool::Sqlite { write, .. } = &self.pool else {
            return;
        };
        for attempt in 0..5 {
            let busy: std::result::Result<(i64, i64, i64), sqlx::Error> =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(write)
                    .await;
            match busy {
                Ok((0, _, _)) => return,
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot checkpoint after an erasure");
                    return;
                }
            }
        }
        tracing::warn!("an erasure's pages stay in the write-ahead log until the next checkpoint: readers held old snapshots");
    }

    async fn audit(
        &self,
        kind: &str,
        person_id: PersonId,
        actor: &str,
        summary: &Value,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.audit(kind, person_id, actor, summary, to_micros(Utc::now()))
            .await?;
        tx.commit().await
    }

    /// The audit trail of GDPR requests: (kind, person, actor, summary, when), newest first.
    pub async fn gdpr_requests(&self) -> Result<Vec<(String, i64, String, String, DateTime<Utc>)>> {
        let rows: Vec<(String, i64, String, String, Ts)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT kind, person_id, actor, summary, at FROM gdpr_requests ORDER BY id DESC",
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(k, p, a, s, at)| (k, p, a, s, at.0))
            .collect())
    }
}

/// A person's first and last name, email and phone.
/// What a search for a person would hold, lower-cased: their addresses and phones, and their
/// full name in either order (with and without a space: 刘军 as well as "Jun Liu"). One name
/// alone (a family name many share) does not single them out, so it is not taken.
fn searches_for(people: &[PersonTexts]) -> Vec<String> {
    let mut texts = Vec::new();
    for (first, last, email, phone) in people {
        texts.extend(email.iter().chain(phone).map(|t| t.to_lowercase()));
        if let (Some(first), Some(last)) = (first, last) {
            let (first, last) = (first.to_lowercase(), last.to_lowercase());
            for name in [
                format!("{first} {last}"),
                format!("{last} {first}"),
                format!("{last}{first}"),
                format!("{first}{last}"),
            ] {
                texts.push(name);
            }
        }
    }
    texts.retain(|t| t.chars().count() >= 3);
    texts.sort_unstable();
    texts.dedup();
    texts
}

type PersonTexts = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Tx {
    /// Clears the errors recorded for sending the emails of these leads (the job's last
    /// error and each attempt's).
    async fn forget_send_errors(&mut self, lead_ids: &[LeadId]) -> Result<()> {
        if lead_ids.is_empty() {
            return Ok(());
        }
        let emails: Vec<i64> = on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new("SELECT id FROM emails WHERE lead_id IN (");
            crate::push_in_list(&mut b, lead_ids.iter().copied());
            b.build_query_scalar().fetch_all(conn).await
        })?;
        if emails.is_empty() {
            return Ok(());
        }
        // Failed sends are few: read them, and pick this person's by the email they name.
        let failed: Vec<(i64, Json<Value>)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT DISTINCT j.id, j.payload FROM jobs j LEFT JOIN job_runs r ON r.job_id = j.id
             WHERE j.kind = 'send_email' AND (j.last_error IS NOT NULL OR r.error IS NOT NULL)",
        )
        .fetch_all(conn)
        .await)?;
        let jobs: Vec<i64> = failed
            .into_iter()
            .filter(|(_, payload)| {
                payload.0["email_id"]
                    .as_i64()
                    .is_some_and(|id| emails.contains(&id))
            })
            .map(|(id, _)| id)
            .collect();
        if jobs.is_empty() {
            return Ok(());
        }
        for table in [
            ("jobs", "last_error", "id"),
            ("job_runs", "error", "job_id"),
        ] {
            let (name, column, key) = table;
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(format!(
                    "UPDATE {name} SET {column} = '(erased)' WHERE {column} IS NOT NULL AND {key} IN ("
                ));
                crate::push_in_list(&mut b, jobs.iter().copied());
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The names, addresses and phone numbers of these people.
    async fn texts_of_people(&mut self, people: &[PersonId]) -> Result<Vec<PersonTexts>> {
        Ok(on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT first_name, last_name, email, phone FROM people WHERE id IN (",
            );
            crate::push_in_list(&mut b, people.iter().copied());
            b.build_query_as().fetch_all(conn).await
        })?)
    }

    /// Clears the reasons of import rejects that quote one of these texts: a refused row's
    /// reason quotes its bad cell (its first 40 characters), which may be a name or an
    /// address. A row that was refused was never anyone's lead, so its reason is the only
    /// place it names them. Texts under three characters would match too much to mean the
    /// person; case is folded (ASCII only on SQLite).
    async fn forget_rejects_quoting(&mut self, texts: &[String]) -> Result<()> {
        let mut patterns: Vec<String> = texts
            .iter()
            .map(|t| t.chars().take(40).collect::<String>().to_lowercase())
            .filter(|t| t.chars().count() >= 3)
            .map(|t| {
                let escaped = t
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            })
            .collect();
        patterns.sort_unstable();
        patterns.dedup();
        if patterns.is_empty() {
            return Ok(());
        }
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "UPDATE import_rejects SET reason = '(erased)' WHERE ",
            );
            let mut any = b.separated(" OR ");
            for pattern in &patterns {
                any.push("lower(reason) LIKE ");
                any.push_bind_unseparated(pattern.clone());
                any.push_unseparated(" ESCAPE '\\'");
            }
            b.build().execute(conn).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Deletes the saved lead lists whose filters search for one of these texts (the
    /// person's address, phone or full name: `searches_for`): the list is its owner's, what
    /// it searched for is the person's. The filters are a query string, decoded before they
    /// are compared.
    async fn forget_saved_views_quoting(&mut self, texts: &[String]) -> Result<()> {
        if texts.is_empty() {
            return Ok(());
        }
        let views: Vec<(i64, String)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT id, query FROM saved_views",
        )
        .fetch_all(conn)
        .await)?;
        let quoting: Vec<i64> = views
            .into_iter()
            .filter(|(_, query)| {
                form_urlencoded::parse(query.as_bytes()).any(|(_, value)| {
                    let value = value.to_lowercase();
                    texts.iter().any(|t| value.contains(t.as_str()))
                })
            })
            .map(|(id, _)| id)
            .collect();
        if !quoting.is_empty() {
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new("DELETE FROM saved_views WHERE id IN (");
                crate::push_in_list(&mut b, quoting.iter().copied());
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// A person and everyone merged into them, at any depth.
    async fn merged_cluster(&mut self, person_id: PersonId) -> Result<Vec<PersonId>> {
        let mut cluster = vec![person_id];
        let mut frontier = vec![person_id];
        while !frontier.is_empty() {
            let found: Vec<PersonId> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new("SELECT id FROM people WHERE merged_into IN (");
                crate::push_in_list(&mut b, frontier.iter().copied());
                b.build_query_scalar().fetch_all(conn).await
            })?;
            frontier = found
                .into_iter()
                .filter(|id| !cluster.contains(id))
                .collect();
            cluster.extend(&frontier);
        }
        Ok(cluster)
    }

    /// The companies of these leads at which no one but this person has a lead.
    async fn companies_only_of(
        &mut self,
        person_id: PersonId,
        lead_ids: &[LeadId],
    ) -> Result<Vec<i64>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT DISTINCT l.company_id FROM leads l WHERE l.company_id IS NOT NULL AND l.id IN (",
            );
            crate::push_in_list(&mut b, lead_ids.iter().copied());
            b.push(" AND NOT EXISTS (SELECT 1 FROM leads o JOIN people p ON p.id = o.person_id
                 WHERE o.company_id = l.company_id AND o.person_id <> ");
            b.push_bind(person_id);
            b.push(" AND p.erased_at IS NULL)");
            b.build_query_scalar().fetch_all(conn).await
        })?)
    }

    async fn leads_of_person(&mut self, person_id: PersonId) -> Result<Vec<LeadId>> {
        Ok(
            on_tx!(self, conn => sqlx::query_scalar("SELECT id FROM leads WHERE person_id = $1 ORDER BY id")
            .bind(person_id)
            .fetch_all(conn)
            .await)?,
        )
    }

    async fn all_events_of(&mut self, lead_ids: &[LeadId]) -> Result<Vec<StoredEvent>> {
        if lead_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT id, lead_id, type, occurred_at, recorded_at, source, actor, payload, idempotency_key FROM events WHERE lead_id IN (",
            );
            crate::push_in_list(&mut b, lead_ids.iter().copied());
            b.push(" ORDER BY lead_id, id");
            b.build_query_as().fetch_all(conn).await
        })?)
    }

    async fn audit(
        &mut self,
        kind: &str,
        person_id: PersonId,
        actor: &str,
        summary: &Value,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "INSERT INTO gdpr_requests (kind, person_id, actor, summary, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(kind)
        .bind(person_id)
        .bind(actor)
        .bind(summary.to_string())
        .bind(Ts(at))
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_for_a_person_is_their_address_phone_or_full_name_not_one_name() {
        let people: Vec<PersonTexts> = vec![
            (
                Some("Jun".into()),
                Some("刘".into()),
                Some("Jun.Liu@Example.com".into()),
                None,
            ),
            (Some("Bo".into()), None, None, Some("+84901234567".into())),
        ];
        let texts = searches_for(&people);
        for expected in [
            "jun.liu@example.com",
            "+84901234567",
            "jun 刘",
            "刘 jun",
            "刘jun",
        ] {
            assert!(
                texts.contains(&expected.to_owned()),
                "{expected}: {texts:?}"
            );
        }
        assert!(
            !texts.iter().any(|t| t == "jun" || t == "刘" || t == "bo"),
            "one name alone is not the person: {texts:?}"
        );
    }
}
