//! New leads made: a batch of captures (an import's, or one capture as a batch of one)
//! matched against the stored people and companies with a few queries and written with
//! multi-row inserts, to the same result as capturing them one by one.

use crate::analytics::{push_journey, JOURNEY_COLUMNS};
use crate::change_log::Before;
use crate::leads::{assessed_junk, capture_events, company_key, field_changes, junk_text, text_of};
use crate::leads::{capture_in, Capture, CaptureOutcome};
use crate::leads::{stored_text, StoredLead};
use crate::time::{to_micros, Ts};
use crate::{conflict_on, on_tx, Conn, Result, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::{Happening, Journey};
use leadgate_core::id::{LeadId, PersonId};
use leadgate_core::lead::FieldChange;
use leadgate_core::{Channel, Email, EventDraft, ExternalId, Lead, LeadField, Phone, Source};
use sqlx::types::Json;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Rows per multi-row statement: SQLite allows 32,766 bound values, PostgreSQL 65,535; a
/// lead row binds 35.
const ROWS_PER_STATEMENT: usize = 900;

/// A person as the batch will leave them.
struct PersonDraft {
    /// Stored already (`None`: new).
    id: Option<i64>,
    /// Their fields (the person fields of a `Lead`), and as stored.
    lead: Lead,
    stored: Option<Lead>,
    /// They have a lead with no external id, which a capture of their email would update.
    has_unkeyed: bool,
    /// When they were first and last saved.
    created: DateTime<Utc>,
    at: DateTime<Utc>,
}

/// A company under a name key or web domain. The one-by-one capture takes the first
/// company by id, so stored ones come first, then new ones in the order they were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum CompanyRef {
    Stored(i64),
    New(usize),
}

/// A company as the batch will leave it.
struct CompanyDraft {
    id: Option<i64>,
    me: CompanyRef,
    /// Its fields (the company fields of a `Lead`) and web domain, and as stored.
    lead: Lead,
    domain: Option<String>,
    stored: Option<(Lead, Option<String>)>,
    /// When a capture of the batch first and last saved it (`None`: none did).
    created: Option<DateTime<Utc>>,
    at: Option<DateTime<Utc>>,
}

impl CompanyDraft {
    fn name_key(&self) -> Option<String> {
        company_key(&self.lead.company)
    }

    fn changed(&self) -> bool {
        self.stored.as_ref().is_none_or(|(lead, domain)| {
            Lead::COMPANY_FIELDS
                .iter()
                .any(|f| lead.get(*f) != self.lead.get(*f))
                || *domain != self.domain
        })
    }
}

/// A stored person found by an email of the batch (`value`: its match key).
#[derive(sqlx::FromRow)]
struct KnownPerson {
    value: String,
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    job_title: Option<String>,
    country: Option<String>,
    updated_at: Ts,
    has_lead: bool,
    has_unkeyed: bool,
}

/// A stored company found by a name key or web domain of the batch.
#[derive(sqlx::FromRow)]
struct KnownCompany {
    id: i64,
    name_key: Option<String>,
    domain: Option<String>,
    name: Option<String>,
    industry: Option<String>,
    size: Option<i64>,
    website: Option<String>,
    has_lead: bool,
}

/// A new lead waiting for its person's and company's ids.
struct LeadDraft {
    stored: StoredLead,
    person: usize,
    company: Option<usize>,
    changes: Vec<FieldChange>,
    events: Vec<EventDraft>,
    journey: Journey,
}

/// What the batch is about to write.
#[derive(Default)]
struct Plan {
    people: Vec<PersonDraft>,
    companies: Vec<CompanyDraft>,
    leads: Vec<LeadDraft>,
    person_by_email: HashMap<String, usize>,
    company_by_key: HashMap<String, BTreeSet<CompanyRef>>,
    company_by_domain: HashMap<String, BTreeSet<CompanyRef>>,
    /// The draft of each company that can be found (a stored company with no lead cannot).
    company_slot: HashMap<CompanyRef, usize>,
    external_ids: HashSet<String>,
}

/// Captures stored one by one after a short run of new leads before the next try (doubling
/// while runs stay short): each try reads what the store knows of the rest of the batch.
const ONE_BY_ONE: usize = 100;

/// Stores captures in order, their events going to `events`: runs of new leads a table at a
/// time, a capture that updates a lead (stored, or made earlier in the batch) on its own.
/// `fresh` holds each capture's patch applied to an empty lead when the caller made it
/// already (an import's reader thread does; a capture past its end is applied here).
/// `outcomes` (one per capture) are the outcomes the caller will record on their leads: a
/// new lead is stored with the journey they give it.
pub(crate) async fn capture_all(
    tx: &mut Tx,
    captures: &[Capture],
    fresh: &[&Lead],
    outcomes: &[Option<Happening>],
    events: &mut Vec<(LeadId, EventDraft)>,
) -> Result<Vec<CaptureOutcome>> {
    let mut stored = Vec::with_capacity(captures.len());
    let mut alone = 1;
    while stored.len() < captures.len() {
        let done = stored.len();
        let run = capture_new(
            tx,
            &captures[done..],
            fresh.get(done..).unwrap_or_default(),
            &outcomes[done..],
            events,
            true,
        )
        .await?;
        // Short runs: more rows one by one each time (a file of updates tries a few times).
        alone = if run.len() >= ONE_BY_ONE {
            1
        } else {
            (alone * 2).max(ONE_BY_ONE)
        };
        stored.extend(run);
        let next = stored.len();
        for capture in captures.iter().skip(next).take(alone) {
            stored.push(capture_in(tx, capture.clone(), true, Some(events)).await?);
        }
    }
    Ok(stored)
}

/// Stores the leading captures that each make a new lead, in order, and returns what they
/// stored: all of them, or those before the first that would update a stored lead or one
/// the batch itself makes. `due`: the new leads wait for the rescore job (an import scores
/// them once all are stored); otherwise the caller scores them.
pub(crate) async fn capture_new(
    tx: &mut Tx,
    captures: &[Capture],
    fresh: &[&Lead],
    outcomes: &[Option<Happening>],
    events: &mut Vec<(LeadId, EventDraft)>,
    due: bool,
) -> Result<Vec<CaptureOutcome>> {
    let mut applied = Vec::with_capacity(captures.len());
    for (i, capture) in captures.iter().enumerate() {
        let lead = match fresh.get(i) {
            Some(lead) => (*lead).clone(),
            None => {
                let mut lead = Lead::default();
                capture
                    .patch
                    .apply(&mut lead)
                    .map_err(leadgate_core::FieldErrors::from)?;
                lead
            }
        };
        applied.push(lead);
    }
    let mut identities: Vec<String> = applied
        .iter()
        .flat_map(|lead| {
            let external = lead
                .external_id
                .as_ref()
                .map(|e| format!("external:{}", e.as_str()));
            let email = lead
                .email
                .as_ref()
                .map(|e| format!("email:{}", e.match_key()));
            external.into_iter().chain(email)
        })
        .collect();
    identities.sort_unstable();
    identities.dedup();
    tx.lock_identities(&identities).await?;
    let externals: Vec<&str> = applied
        .iter()
        .filter_map(|l| l.external_id.as_ref().map(ExternalId::as_str))
        .collect();
    let stored_externals = tx.stored_external_ids(&externals).await?;
    // The run ends before the first capture of a stored lead's external id.
    let run = applied
        .iter()
        .position(|l| {
            l.external_id
                .as_ref()
                .is_some_and(|e| stored_externals.contains(e.as_str()))
        })
        .unwrap_or(applied.len());
    applied.truncate(run);
    plan_new(tx, captures, applied, outcomes, events, due).await
}

/// Stores the leading captures of `applied` (each capture's patch applied to an empty lead)
/// that make a new lead, their identities locked and their external ids known to be new.
/// The one place a new lead is made: a single capture of a new lead is a batch of one.
pub(crate) async fn plan_new(
    tx: &mut Tx,
    captures: &[Capture],
    applied: Vec<Lead>,
    outcomes: &[Option<Happening>],
    events: &mut Vec<(LeadId, EventDraft)>,
    due: bool,
) -> Result<Vec<CaptureOutcome>> {
    if applied.is_empty() {
        return Ok(Vec::new());
    }
    let mut plan = Plan::default();
    plan.load_people(tx, &applied).await?;
    plan.load_companies(tx, &applied).await?;
    let outcomes = outcomes.iter().chain(std::iter::repeat(&None));
    for ((capture, lead), outcome) in captures.iter().zip(applied).zip(outcomes) {
        // A declined capture changed nothing the plan writes.
        if !plan.add(capture, lead, outcome.as_ref()) {
            break;
        }
    }
    plan.write(tx, events, due).await
}

impl Plan {
    /// The stored people the batch's emails belong to.
    async fn load_people(&mut self, tx: &mut Tx, leads: &[Lead]) -> Result<()> {
        let keys: Vec<String> = leads
            .iter()
            .filter_map(|l| l.email.as_ref().map(Email::match_key))
            .collect();
        let rows: Vec<KnownPerson> = tx
            .rows_by_list(
                "SELECT p.email_key AS value, k.id, k.first_name, k.last_name, k.email, k.phone,
                    k.job_title, k.country, k.updated_at,
                    EXISTS (SELECT 1 FROM leads l WHERE l.person_id = k.id) AS has_lead,
                    EXISTS (SELECT 1 FROM leads l WHERE l.person_id = k.id AND l.external_id IS NULL) AS has_unkeyed
                 FROM people p JOIN people k ON k.id = COALESCE(p.merged_into, p.id)
                 WHERE p.email_key {list}",
                &keys,
            )
            .await?;
        let mut slot_of: HashMap<i64, usize> = HashMap::new();
        // A person with no lead is not found (nor is it by the one-by-one capture).
        for row in rows.into_iter().filter(|r| r.has_lead) {
            let slot = *slot_of.entry(row.id).or_insert_with(|| {
                let lead = Lead {
                    first_name: stored_text(row.first_name),
                    last_name: stored_text(row.last_name),
                    email: row.email.and_then(|v| Email::parse(&v).ok()),
                    phone: row.phone.and_then(|v| Phone::parse(&v).ok()),
                    job_title: stored_text(row.job_title),
                    country: stored_text(row.country),
                    ..Lead::default()
                };
                self.people.push(PersonDraft {
                    id: Some(row.id),
                    has_unkeyed: row.has_unkeyed,
                    created: row.updated_at.0,
                    at: row.updated_at.0,
                    stored: Some(lead.clone()),
                    lead,
                });
                self.people.len() - 1
            });
            self.person_by_email.insert(row.value, slot);
        }
        Ok(())
    }

    /// The stored companies under the batch's company names and web domains.
    async fn load_companies(&mut self, tx: &mut Tx, leads: &[Lead]) -> Result<()> {
        let keys: Vec<String> = leads
            .iter()
            .filter_map(|l| company_key(&l.company))
            .collect();
        let domains: Vec<String> = leads.iter().filter_map(Lead::company_domain).collect();
        const KNOWN_COMPANY: &str =
            "SELECT c.id, c.name_key, c.domain, c.name, c.industry, c.size, c.website,
                EXISTS (SELECT 1 FROM leads l WHERE l.company_id = c.id) AS has_lead
             FROM companies c WHERE ";
        let by_key: Vec<KnownCompany> = tx
            .rows_by_list(&format!("{KNOWN_COMPANY} c.name_key {{list}}"), &keys)
            .await?;
        let by_domain: Vec<KnownCompany> = tx
            .rows_by_list(&format!("{KNOWN_COMPANY} c.domain {{list}}"), &domains)
            .await?;
        for row in by_key.into_iter().chain(by_domain) {
            let me = CompanyRef::Stored(row.id);
            if let Some(key) = &row.name_key {
                self.company_by_key
                    .entry(key.clone())
                    .or_default()
                    .insert(me);
            }
            if let Some(domain) = &row.domain {
                self.company_by_domain
                    .entry(domain.clone())
                    .or_default()
                    .insert(me);
            }
            // A company with no lead is not found (nor is it by the one-by-one capture).
            if !row.has_lead || self.company_slot.contains_key(&me) {
                continue;
            }
            self.company_slot.insert(me, self.companies.len());
            let lead = Lead {
                company: stored_text(row.name),
                industry: stored_text(row.industry),
                company_size: row.size,
                website: stored_text(row.website),
                ..Lead::default()
            };
            self.companies.push(CompanyDraft {
                id: Some(row.id),
                me,
                stored: Some((lead.clone(), row.domain.clone())),
                domain: row.domain,
                lead,
                created: None,
                at: None,
            });
        }
        Ok(())
    }

    /// The company the one-by-one capture finds under a name key or web domain (none if the
    /// first one there has no lead).
    fn company_under(&self, by_domain: bool, value: &str) -> Option<usize> {
        let map = if by_domain {
            &self.company_by_domain
        } else {
            &self.company_by_key
        };
        let first = map.get(value)?.first()?;
        self.company_slot.get(first).copied()
    }

    /// Plans one capture's new lead (with the journey its outcome gives it); `false` when
    /// the capture would update a lead instead.
    fn add(&mut self, capture: &Capture, mut lead: Lead, outcome: Option<&Happening>) -> bool {
        let at = to_micros(capture.at);
        if let Some(external) = &lead.external_id {
            if !self.external_ids.insert(external.as_str().to_owned()) {
                return false;
            }
        }
        let untouched = |fields: &[LeadField]| -> Vec<LeadField> {
            fields
                .iter()
                .copied()
                .filter(|f| !capture.patch.touches(*f))
                .collect()
        };
        // The person: one known by this email (whose lead with no external id the capture
        // would update, if it has none itself), else a new one.
        let email_key = lead.email.as_ref().map(Email::match_key);
        let person = match email_key.as_ref().and_then(|k| self.person_by_email.get(k)) {
            Some(&slot) => {
                if lead.external_id.is_none() || self.people[slot].has_unkeyed {
                    return false;
                }
                lead.copy_fields(&self.people[slot].lead, &untouched(&Lead::PERSON_FIELDS));
                slot
            }
            None => {
                let slot = self.people.len();
                self.people.push(PersonDraft {
                    id: None,
                    lead: Lead::default(),
                    stored: None,
                    has_unkeyed: false,
                    created: at,
                    at,
                });
                if let Some(key) = email_key {
                    self.person_by_email.insert(key, slot);
                }
                slot
            }
        };
        let draft = &mut self.people[person];
        draft.lead.copy_fields(&lead, &Lead::PERSON_FIELDS);
        draft.has_unkeyed |= lead.external_id.is_none();
        draft.at = at;

        // The company: one known by name, else by web domain, else a new one.
        let key = company_key(&lead.company);
        let known = key
            .as_deref()
            .and_then(|k| self.company_under(false, k))
            .or_else(|| {
                lead.company_domain()
                    .and_then(|d| self.company_under(true, &d))
            });
        if let Some(slot) = known {
            lead.copy_fields(
                &self.companies[slot].lead,
                &untouched(&Lead::COMPANY_FIELDS),
            );
        }
        let company_fields_set = Lead::COMPANY_FIELDS.iter().any(|f| !lead.get(*f).is_null());
        let company = company_fields_set.then(|| self.save_company(known, &lead, at));

        let junk = assessed_junk(&lead, capture.bot);
        let touch = capture
            .source
            .clone()
            .unwrap_or_else(|| Source::new(Channel::Api));
        let changes = field_changes(&Lead::default(), &lead);
        let events = capture_events(capture, at, &touch, true, &changes);
        self.leads.push(LeadDraft {
            stored: StoredLead {
                id: LeadId(0),
                person_id: PersonId(0),
                company_id: None,
                lead,
                first_touch: touch.clone(),
                last_touch: touch,
                created_at: at,
                updated_at: at,
                bant_confirmed: BTreeSet::new(),
                junk,
                junk_reviewed: false,
                stage_by_policy: false,
                do_not_email: false,
                do_not_call: false,
                snapshot: None,
                prediction: None,
            },
            person,
            company,
            changes,
            events,
            journey: Journey::of(at, outcome.map(std::slice::from_ref).unwrap_or_default()),
        });
        true
    }

    /// The company a lead with company fields is saved as (its fields become the lead's),
    /// found under its new name and domain from then on.
    fn save_company(&mut self, known: Option<usize>, lead: &Lead, at: DateTime<Utc>) -> usize {
        let slot = known.unwrap_or_else(|| {
            let slot = self.companies.len();
            let me = CompanyRef::New(slot);
            self.company_slot.insert(me, slot);
            self.companies.push(CompanyDraft {
                id: None,
                me,
                lead: Lead::default(),
                domain: None,
                stored: None,
                created: None,
                at: None,
            });
            slot
        });
        let draft = &mut self.companies[slot];
        let (old_key, old_domain) = (draft.name_key(), draft.domain.clone());
        draft.lead.copy_fields(lead, &Lead::COMPANY_FIELDS);
        // A colleague writing from free mail does not take the company's domain away.
        draft.domain = lead.company_domain().or(old_domain.clone());
        draft.created.get_or_insert(at);
        draft.at = Some(at);
        let (key, domain, me) = (draft.name_key(), draft.domain.clone(), draft.me);
        for (map, old, new) in [
            (&mut self.company_by_key, old_key, key),
            (&mut self.company_by_domain, old_domain, domain),
        ] {
            if old == new {
                continue;
            }
            if let Some(set) = old.and_then(|old| map.get_mut(&old)) {
                set.remove(&me);
            }
            if let Some(new) = new {
                map.entry(new).or_default().insert(me);
            }
        }
        slot
    }

    async fn write(
        self,
        tx: &mut Tx,
        events: &mut Vec<(LeadId, EventDraft)>,
        due: bool,
    ) -> Result<Vec<CaptureOutcome>> {
        let Plan {
            people,
            companies,
            leads,
            ..
        } = self;
        let person_ids = tx.save_people(&people).await?;
        let company_ids = tx.save_companies(&companies).await?;
        let mut stored: Vec<StoredLead> = Vec::with_capacity(leads.len());
        let mut journeys = Vec::with_capacity(leads.len());
        let mut rest = Vec::with_capacity(leads.len());
        for draft in leads {
            let mut lead = draft.stored;
            lead.person_id = PersonId(person_ids[draft.person]);
            lead.company_id = draft.company.map(|c| company_ids[c]);
            stored.push(lead);
            journeys.push(draft.journey);
            rest.push((draft.changes, draft.events));
        }
        let ids = tx.insert_leads(&stored, &journeys, due).await?;
        let mut outcomes = Vec::with_capacity(stored.len());
        for ((mut lead, (changes, drafts)), id) in stored.into_iter().zip(rest).zip(ids) {
            lead.id = id;
            events.extend(drafts.into_iter().map(|e| (id, e)));
            outcomes.push(CaptureOutcome {
                lead,
                created: true,
                changes,
            });
        }
        Ok(outcomes)
    }
}

/// The columns of a lead a capture writes, in the order `push_lead!` binds them.
pub(crate) const LEAD_COLUMNS: &str = "person_id, company_id, external_id, stage, owner,
    product_need, budget, purchase_timeframe, current_solution, pains, custom, channel,
    source_class, campaign, first_touch, last_touch, search_text, created_at, updated_at, product,
    bant_confirmed, junk, junk_reviewed";

/// Binds a stored lead's `LEAD_COLUMNS` into a `Separated` list (a VALUES row, or the
/// right-hand side of an UPDATE's column list), on either engine.
macro_rules! push_lead {
    ($list:expr, $stored:expr) => {{
        let stored: &StoredLead = $stored;
        let lead = &stored.lead;
        let list = $list;
        list.push_bind(stored.person_id)
            .push_bind(stored.company_id)
            .push_bind(lead.external_id.as_ref().map(ExternalId::as_str))
            .push_bind(lead.stage.as_str())
            .push_bind(text_of(&lead.owner))
            .push_bind(text_of(&lead.product_need))
            .push_bind(lead.budget)
            .push_bind(text_of(&lead.purchase_timeframe))
            .push_bind(text_of(&lead.current_solution))
            .push_bind(text_of(&lead.pains))
            .push_bind(Json(&lead.custom))
            .push_bind(stored.first_touch.channel.as_str())
            .push_bind(stored.first_touch.source_class.as_str())
            .push_bind(text_of(&stored.first_touch.campaign))
            .push_bind(Json(&stored.first_touch))
            .push_bind(Json(&stored.last_touch))
            .push_bind(lead.search_text())
            .push_bind(Ts(stored.created_at))
            .push_bind(Ts(stored.updated_at))
            .push_bind(lead.product_line())
            .push_bind(Json(
                stored
                    .bant_confirmed
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>(),
            ))
            .push_bind(junk_text(&stored.junk))
            .push_bind(stored.junk_reviewed);
    }};
}
pub(crate) use push_lead;

/// A company to insert: its fields (of a lead), web domain, created and updated when.
pub(crate) type NewCompany<'a> = (&'a Lead, Option<&'a str>, DateTime<Utc>, DateTime<Utc>);

/// Inserts rows with one multi-row statement and returns their ids in order. On SQLite the
/// only writer's one INSERT takes consecutive rowids (rows come back from its worker one
/// message each, which costs more than the insert); PostgreSQL returns them.
macro_rules! insert_ids {
    ($tx:expr, $sql:expr, $items:expr, |$row:ident, $item:ident| $bind:block) => {
        match &mut $tx.conn {
            Conn::Postgres(tx) => {
                let mut b = sqlx::QueryBuilder::new($sql);
                b.push_values($items, |mut $row, $item| $bind);
                b.push(" RETURNING id");
                let mut ids: Vec<i64> = b.build_query_scalar().fetch_all(&mut **tx).await?;
                // Identity values are drawn row by row in VALUES order.
                ids.sort_unstable();
                Ok::<Vec<i64>, sqlx::Error>(ids)
            }
            Conn::Sqlite(tx) => {
                let mut b = sqlx::QueryBuilder::new($sql);
                b.push_values($items, |mut $row, $item| $bind);
                let done = b.build().execute(&mut **tx).await?;
                let n = done.rows_affected() as i64;
                let first = done.last_insert_rowid() - n + 1;
                Ok((first..first + n).collect())
            }
        }
    };
}

impl Tx {
    /// Holds a transaction lock on each identity (sorted by the caller), as `capture_in`
    /// does per capture; SQLite's one writer needs none.
    async fn lock_identities(&mut self, keys: &[String]) -> Result<()> {
        if let Conn::Postgres(tx) = &mut self.conn {
            if !keys.is_empty() {
                sqlx::query(
                    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
                )
                .bind(keys)
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Which of these external ids stored leads have.
    async fn stored_external_ids(&mut self, externals: &[&str]) -> Result<HashSet<String>> {
        let found: Vec<(String, i64)> = self
            .rows_by_list(
                "SELECT external_id, id FROM leads WHERE external_id {list}",
                externals,
            )
            .await?;
        Ok(found.into_iter().map(|(external, _)| external).collect())
    }

    /// Rows of `sql` whose `{list}` stands for a list of values, bound as one value (a JSON
    /// array on SQLite, an array on PostgreSQL) so the statement is prepared once.
    async fn rows_by_list<R, T: AsRef<str>>(&mut self, sql: &str, values: &[T]) -> Result<Vec<R>>
    where
        R: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
        R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut distinct: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match &mut self.conn {
            Conn::Sqlite(tx) => {
                let sql = sql.replace("{list}", "IN (SELECT value FROM json_each($1))");
                let list = serde_json::to_string(&distinct).unwrap_or_default();
                sqlx::query_as(&sql).bind(list).fetch_all(&mut **tx).await?
            }
            // One value (a single capture) as a plain parameter: PostgreSQL's generic plan
            // for `= ANY($1)` guesses ten values and costs more than the custom plan for
            // one, so it would plan the statement afresh on every capture.
            Conn::Postgres(tx) if distinct.len() == 1 => {
                let sql = sql.replace("{list}", "= $1");
                sqlx::query_as(&sql)
                    .bind(distinct[0])
                    .fetch_all(&mut **tx)
                    .await?
            }
            Conn::Postgres(tx) => {
                let sql = sql.replace("{list}", "= ANY($1)");
                let list: Vec<String> = distinct.iter().map(|v| (*v).to_owned()).collect();
                sqlx::query_as(&sql).bind(list).fetch_all(&mut **tx).await?
            }
        })
    }

    /// Inserts the new people and updates the changed stored ones; every draft's id.
    async fn save_people(&mut self, people: &[PersonDraft]) -> Result<Vec<i64>> {
        let new: Vec<(&Lead, DateTime<Utc>, DateTime<Utc>)> = people
            .iter()
            .filter(|p| p.id.is_none())
            .map(|p| (&p.lead, p.created, p.at))
            .collect();
        let changed: Vec<(i64, &Lead, Ts)> = people
            .iter()
            .filter_map(|p| match p.id {
                Some(id) if p.stored.as_ref() != Some(&p.lead) => Some((id, &p.lead, Ts(p.at))),
                _ => None,
            })
            .collect();
        self.update_people(&changed).await?;
        let mut new_ids = self.insert_people(&new).await?.into_iter();
        Ok(people
            .iter()
            .map(|p| p.id.unwrap_or_else(|| new_ids.next().unwrap_or_default()))
            .collect())
    }

    /// Updates stored people from the person fields of leads, as of when.
    pub(crate) async fn update_people(&mut self, people: &[(i64, &Lead, Ts)]) -> Result<()> {
        for chunk in people.chunks(ROWS_PER_STATEMENT) {
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "WITH v (id, first_name, last_name, email, email_key, phone, job_title, country, updated_at) AS (",
                );
                b.push_values(chunk, |mut row, (id, lead, at)| {
                    row.push_bind(*id)
                        .push_bind(text_of(&lead.first_name))
                        .push_bind(text_of(&lead.last_name))
                        .push_bind(lead.email.as_ref().map(Email::as_str))
                        .push_bind(lead.email.as_ref().map(Email::match_key))
                        .push_bind(lead.phone.as_ref().map(Phone::as_str))
                        .push_bind(text_of(&lead.job_title))
                        .push_bind(text_of(&lead.country))
                        .push_bind(*at);
                });
                b.push(
                    ") UPDATE people SET first_name = v.first_name, last_name = v.last_name,
                        email = v.email, email_key = v.email_key, phone = v.phone,
                        job_title = v.job_title, country = v.country, updated_at = v.updated_at
                     FROM v WHERE people.id = v.id",
                );
                b.build().execute(conn).await.map(|_| ())
            })
            .map_err(|e| conflict_on(e, "email", "another person already has this email address"))?;
        }
        Ok(())
    }

    /// Inserts people (the person fields of each lead, created and updated when); their ids
    /// in order.
    pub(crate) async fn insert_people(
        &mut self,
        people: &[(&Lead, DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(people.len());
        for chunk in people.chunks(ROWS_PER_STATEMENT) {
            let chunk_ids = insert_ids!(
                self,
                "INSERT INTO people (first_name, last_name, email, email_key, phone, job_title, country, created_at, updated_at) ",
                chunk,
                |row, person| {
                    let (lead, created, updated) = person;
                    row.push_bind(text_of(&lead.first_name))
                        .push_bind(text_of(&lead.last_name))
                        .push_bind(lead.email.as_ref().map(Email::as_str))
                        .push_bind(lead.email.as_ref().map(Email::match_key))
                        .push_bind(lead.phone.as_ref().map(Phone::as_str))
                        .push_bind(text_of(&lead.job_title))
                        .push_bind(text_of(&lead.country))
                        .push_bind(Ts(*created))
                        .push_bind(Ts(*updated));
                }
            )
            .map_err(|e| {
                conflict_on(e, "email", "another person already has this email address")
            })?;
            ids.extend(chunk_ids);
        }
        Ok(ids)
    }

    /// Inserts the new companies and updates the changed stored ones that a capture saved;
    /// every draft's id.
    async fn save_companies(&mut self, companies: &[CompanyDraft]) -> Result<Vec<i64>> {
        let new: Vec<NewCompany> = companies
            .iter()
            .filter_map(|c| match (c.id, c.created, c.at) {
                (None, Some(created), Some(at)) => {
                    Some((&c.lead, c.domain.as_deref(), created, at))
                }
                _ => None,
            })
            .collect();
        let changed: Vec<(i64, &Lead, Option<&str>, Ts)> = companies
            .iter()
            .filter_map(|c| match (c.id, c.at) {
                (Some(id), Some(at)) if c.changed() => {
                    Some((id, &c.lead, c.domain.as_deref(), Ts(at)))
                }
                _ => None,
            })
            .collect();
        self.update_companies(&changed).await?;
        let mut new_ids = self.insert_companies(&new).await?.into_iter();
        Ok(companies
            .iter()
            .map(|c| c.id.unwrap_or_else(|| new_ids.next().unwrap_or_default()))
            .collect())
    }

    /// Updates stored companies from the company fields of leads, as of when; a company
    /// keeps its web domain where none is given.
    pub(crate) async fn update_companies(
        &mut self,
        companies: &[(i64, &Lead, Option<&str>, Ts)],
    ) -> Result<()> {
        for chunk in companies.chunks(ROWS_PER_STATEMENT) {
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "WITH v (id, name, name_key, industry, size, website, domain, updated_at) AS (",
                );
                b.push_values(chunk, |mut row, (id, lead, domain, at)| {
                    row.push_bind(*id)
                        .push_bind(text_of(&lead.company))
                        .push_bind(company_key(&lead.company))
                        .push_bind(text_of(&lead.industry))
                        .push_bind(lead.company_size)
                        .push_bind(text_of(&lead.website))
                        .push_bind(*domain)
                        .push_bind(*at);
                });
                b.push(
                    ") UPDATE companies SET name = v.name, name_key = v.name_key,
                        industry = v.industry, size = v.size, website = v.website,
                        domain = COALESCE(v.domain, companies.domain), updated_at = v.updated_at
                     FROM v WHERE companies.id = v.id",
                );
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Inserts companies (the company fields of a lead, the web domain, created and updated
    /// when); their ids in order.
    pub(crate) async fn insert_companies(
        &mut self,
        companies: &[NewCompany<'_>],
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(companies.len());
        for chunk in companies.chunks(ROWS_PER_STATEMENT) {
            let chunk_ids = insert_ids!(
                self,
                "INSERT INTO companies (name, name_key, industry, size, website, domain, created_at, updated_at) ",
                chunk,
                |row, company| {
                    let (lead, domain, created, updated) = company;
                    row.push_bind(text_of(&lead.company))
                        .push_bind(company_key(&lead.company))
                        .push_bind(text_of(&lead.industry))
                        .push_bind(lead.company_size)
                        .push_bind(text_of(&lead.website))
                        .push_bind(*domain)
                        .push_bind(Ts(*created))
                        .push_bind(Ts(*updated));
                }
            )?;
            ids.extend(chunk_ids);
        }
        Ok(ids)
    }

    /// Inserts new leads (their person and company ids set) with their journeys (those not
    /// given: none yet), `due` to be scored or not; their ids in order.
    pub(crate) async fn insert_leads(
        &mut self,
        leads: &[StoredLead],
        journeys: &[Journey],
        due: bool,
    ) -> Result<Vec<LeadId>> {
        let none = Journey::default();
        let rows: Vec<(&StoredLead, &Journey)> = leads
            .iter()
            .enumerate()
            .map(|(i, lead)| (lead, journeys.get(i).unwrap_or(&none)))
            .collect();
        let mut ids = Vec::with_capacity(leads.len());
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let chunk_ids = insert_ids!(
                self,
                format!("INSERT INTO leads ({LEAD_COLUMNS}, {JOURNEY_COLUMNS}, rescore_due) "),
                chunk,
                |row, pair| {
                    let (stored, journey) = pair;
                    push_lead!(&mut row, stored);
                    push_journey!(row, journey);
                    row.push_bind(due);
                }
            )
            .map_err(|e| {
                conflict_on(
                    e,
                    "external_id",
                    "another lead already has this external_id",
                )
            })?;
            ids.extend(chunk_ids.into_iter().map(LeadId));
        }
        self.count_changes(Before::inserting(ids.clone())).await?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leads::{capture_in, NewEvent};
    use crate::testing::{texts, TestDatabase};
    use crate::{Engine, Store};
    use leadgate_core::lead::PatchMode;
    use leadgate_core::LeadPatch;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::{json, Value};

    /// Captures drawn from small pools, so that people, companies and web domains repeat:
    /// an email in another case, a company under another legal form or only by its
    /// domain, fields left out.
    fn captures(rng: &mut StdRng, n: usize, keyed: bool) -> Vec<Capture> {
        let companies = [
            "Acme Inc",
            "ACME GmbH",
            "Globex",
            "天河机械有限公司",
            "شرکت پارسیان",
        ];
        let domains = ["acme.com", "globex.io", "gmail.com", "tianhe.cn"];
        let names = ["Ana", "Minh Anh", "علی", "王伟", "Thảo"];
        (0..n)
            .map(|_| {
                let mut input = serde_json::Map::new();
                let mut put = |k: &str, v: Value| {
                    input.insert(k.into(), v);
                };
                if keyed {
                    put("external_id", format!("X{}", rng.gen::<u64>()).into());
                }
                if rng.gen_bool(0.9) {
                    let person = rng.gen_range(0..12);
                    let domain = domains[person % domains.len()];
                    let email = format!("p{person}@{domain}");
                    let email = if rng.gen_bool(0.3) {
                        email.to_uppercase()
                    } else {
                        email
                    };
                    put("email", email.into());
                }
                if rng.gen_bool(0.8) {
                    put("first_name", names[rng.gen_range(0..names.len())].into());
                }
                if rng.gen_bool(0.5) {
                    put(
                        "phone",
                        format!("+1 555 {:07}", rng.gen_range(0..20)).into(),
                    );
                }
                if rng.gen_bool(0.7) {
                    put(
                        "company",
                        companies[rng.gen_range(0..companies.len())].into(),
                    );
                }
                if rng.gen_bool(0.3) {
                    put(
                        "website",
                        format!("https://www.{}", domains[rng.gen_range(0..2)]).into(),
                    );
                }
                if rng.gen_bool(0.2) {
                    put("industry", "Manufacturing".into());
                }
                if rng.gen_bool(0.2) {
                    put("owner", "rep@example.com".into());
                }
                Capture {
                    patch: LeadPatch::parse(&input, PatchMode::Create).expect("valid fields"),
                    source: Some(Source::new(Channel::Import)),
                    raw: Value::Object(input),
                    at: Utc::now(),
                    actor: "test".into(),
                    bot: rng.gen_bool(0.1),
                    by: Default::default(),
                }
            })
            .collect()
    }

    /// An outcome for some captures (won, with or without a value, or lost), as an import
    /// row may carry it.
    fn outcomes(rng: &mut StdRng, n: usize) -> Vec<Option<Happening>> {
        (0..n)
            .map(|_| match rng.gen_range(0..4) {
                0 => Some(Happening::Outcome {
                    won: true,
                    value: rng.gen_bool(0.5).then(|| rng.gen_range(1..9999) as f64),
                    reason: None,
                }),
                1 => Some(Happening::Outcome {
                    won: false,
                    value: None,
                    reason: None,
                }),
                _ => None,
            })
            .collect()
    }

    /// The outcome events recorded on the captured leads.
    fn outcome_events(
        stored: &[CaptureOutcome],
        outcomes: &[Option<Happening>],
    ) -> Vec<(LeadId, EventDraft)> {
        stored
            .iter()
            .zip(outcomes)
            .filter_map(|(captured, outcome)| match outcome {
                Some(Happening::Outcome { won, value, .. }) => {
                    let name = if *won { "won" } else { "lost" };
                    let draft = EventDraft::new(
                        leadgate_core::EventType::OutcomeRecorded,
                        captured.lead.created_at,
                        json!({"outcome": name, "value": value}),
                    );
                    Some((captured.lead.id, draft))
                }
                _ => None,
            })
            .collect()
    }

    async fn store_events(tx: &mut Tx, events: &[(LeadId, EventDraft)]) {
        let rows: Vec<NewEvent> = events
            .iter()
            .map(|(lead_id, draft)| NewEvent {
                lead_id: *lead_id,
                draft,
            })
            .collect();
        tx.insert_events(&rows, Ts(Utc::now()))
            .await
            .expect("events");
    }

    /// Everything a capture writes, as text (company and person update times aside: a
    /// batch leaves a record it would not change alone).
    async fn dump(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT id || '|' || COALESCE(first_name, '') || '|' || COALESCE(last_name, '') || '|' || COALESCE(email, '') || '|' || COALESCE(email_key, '') || '|' || COALESCE(phone, '') || '|' || created_at FROM people ORDER BY id",
            "SELECT id || '|' || COALESCE(name, '') || '|' || COALESCE(name_key, '') || '|' || COALESCE(industry, '') || '|' || COALESCE(website, '') || '|' || COALESCE(domain, '') || '|' || created_at FROM companies ORDER BY id",
            "SELECT id || '|' || person_id || '|' || COALESCE(company_id, 0) || '|' || COALESCE(external_id, '') || '|' || stage || '|' || COALESCE(owner, '') || '|' || search_text || '|' || junk || '|' || product || '|' || first_touch || '|' || created_at || '|' || updated_at || '|' || reached || '|' || COALESCE(outcome, '') || '|' || won_value || '|' || CASE WHEN rescore_due THEN 'due' ELSE '' END FROM leads ORDER BY id",
            "SELECT month || '|' || kind || '|' || stage || '|' || reached || '|' || outcome || '|' || SUM(leads) || '|' || SUM(won_value) FROM analytics_changes GROUP BY month, kind, stage, reached, outcome HAVING SUM(leads) <> 0 ORDER BY 1",
            "SELECT lead_id || '|' || type || '|' || occurred_at || '|' || COALESCE(source, '') || '|' || COALESCE(actor, '') || '|' || payload FROM events ORDER BY id",
            "SELECT COALESCE(owner, '') || '|' || SUM(leads) FROM open_lead_changes GROUP BY owner ORDER BY owner",
        ] {
            out.extend(texts(store, sql).await);
        }
        out
    }

    /// Batches of new leads stored at once leave the store as capturing them one by one
    /// (each a batch of one) does, on stores that already know some of their people and
    /// companies: the links the planner makes within a batch equal the store's lookups.
    async fn a_batch_stores_what_one_by_one_captures_store(engine: Engine) {
        let mut written_at_once = 0;
        for seed in 0..8 {
            let mut rng = StdRng::seed_from_u64(seed);
            let known = captures(&mut rng, 15, seed % 2 == 0);
            let batches: Vec<(Vec<Capture>, Vec<Option<Happening>>)> = (0..3)
                .map(|_| (captures(&mut rng, 40, true), outcomes(&mut rng, 40)))
                .collect();
            let (bulk_db, one_db) = (
                TestDatabase::new(engine).await,
                TestDatabase::new(engine).await,
            );
            let (bulk, one) = (bulk_db.store().await, one_db.store().await);
            for store in [&bulk, &one] {
                store
                    .capture_many(known.clone())
                    .await
                    .expect("known leads");
            }
            for (batch, batch_outcomes) in &batches {
                // How many leading captures go at once: tried, then rolled back (on SQLite,
                // where ids are given back too).
                if engine == Engine::Sqlite {
                    let mut probe = bulk.begin().await.expect("tx");
                    written_at_once +=
                        capture_new(&mut probe, batch, &[], &[], &mut Vec::new(), true)
                            .await
                            .expect("batch")
                            .len();
                    drop(probe);
                }
                let mut tx = bulk.begin().await.expect("tx");
                let mut events = Vec::new();
                let stored = capture_all(&mut tx, batch, &[], batch_outcomes, &mut events)
                    .await
                    .expect("batch");
                events.extend(outcome_events(&stored, batch_outcomes));
                store_events(&mut tx, &events).await;
                // Leads captured are due to be scored, as an import marks them.
                let ids: Vec<LeadId> = stored.iter().map(|c| c.lead.id).collect();
                tx.set_rescore_due(&ids, true).await.expect("due");
                tx.commit().await.expect("commit");

                let mut tx = one.begin().await.expect("tx");
                let mut events = Vec::new();
                let mut alone = Vec::new();
                for (capture, at_once) in batch.iter().zip(&stored) {
                    let captured = capture_in(&mut tx, capture.clone(), true, Some(&mut events))
                        .await
                        .expect("capture");
                    assert_eq!(captured.lead, at_once.lead, "seed {seed}");
                    assert_eq!(captured.changes, at_once.changes, "seed {seed}");
                    alone.push(captured);
                }
                events.extend(outcome_events(&alone, batch_outcomes));
                store_events(&mut tx, &events).await;
                let ids: Vec<LeadId> = alone.iter().map(|c| c.lead.id).collect();
                tx.set_rescore_due(&ids, true).await.expect("due");
                tx.commit().await.expect("commit");
            }
            let (a, b) = (dump(&bulk).await, dump(&one).await);
            assert!(a.len() > 100, "seed {seed}: the batches stored rows");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "seed {seed}");
            }
            assert_eq!(a.len(), b.len(), "seed {seed}");
            // What the captures appended to the rollup is what their leads count for.
            let all = crate::AnalyticsScope::default();
            for store in [&bulk, &one] {
                assert_eq!(
                    store.analytics(&all).await.expect("analytics"),
                    store.analytics_from_leads(&all).await.expect("from leads"),
                    "seed {seed}"
                );
            }
            for (store, db) in [(bulk, bulk_db), (one, one_db)] {
                store.close().await;
                db.cleanup().await;
            }
        }
        // 8 seeds, 3 batches of 40.
        assert!(
            engine == Engine::Postgres || written_at_once >= 480,
            "{written_at_once} of 960 captures written at once"
        );
    }

    /// A capture that would update a stored lead, or one the batch makes, ends the run
    /// written at once: what comes before it is stored, it and what follows are not.
    async fn a_run_ends_before_a_capture_that_updates_a_lead(engine: Engine) {
        let db = TestDatabase::new(engine).await;
        let store = db.store().await;
        let mut rng = StdRng::seed_from_u64(9);
        let known = captures(&mut rng, 5, true);
        store.capture_many(known.clone()).await.expect("known");
        let unkeyed = |email: &str| {
            let input = json!({"email": email});
            Capture {
                patch: LeadPatch::parse(input.as_object().expect("object"), PatchMode::Create)
                    .expect("valid"),
                source: None,
                raw: input,
                at: Utc::now(),
                actor: "test".into(),
                bot: false,
                by: Default::default(),
            }
        };
        for (batch, run) in [
            (vec![known[0].clone()], 0),
            (
                vec![unkeyed("new@example.org"), unkeyed("NEW@example.org")],
                1,
            ),
            (
                vec![captures(&mut rng, 1, true)[0].clone(), known[1].clone()],
                1,
            ),
        ] {
            let leads = crate::testing::count(&store, "SELECT COUNT(*) FROM leads").await;
            let mut tx = store.begin().await.expect("tx");
            let mut events = Vec::new();
            let stored = capture_new(&mut tx, &batch, &[], &[], &mut events, true)
                .await
                .expect("batch");
            assert_eq!(stored.len(), run);
            assert!(stored.iter().all(|o| o.created));
            assert_eq!(events.len(), run, "one form_submitted each");
            tx.commit().await.expect("commit");
            let after = crate::testing::count(&store, "SELECT COUNT(*) FROM leads").await;
            assert_eq!(after, leads + run as i64);
        }
        store.close().await;
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_batch_equals_one_by_one() {
        a_batch_stores_what_one_by_one_captures_store(Engine::Sqlite).await;
        a_run_ends_before_a_capture_that_updates_a_lead(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_batch_equals_one_by_one() {
        a_batch_stores_what_one_by_one_captures_store(Engine::Postgres).await;
        a_run_ends_before_a_capture_that_updates_a_lead(Engine::Postgres).await;
    }
}
