//! Leads with their person and company: capture (create or upsert), edit, read and list.
//! Every write records what happened as events in the same transaction.

use crate::capture_batch::{plan_new, push_lead, LEAD_COLUMNS};
use crate::privacy::{check_purpose, NewConsent};
use crate::time::{to_micros, Ts};
use crate::{conflict_on, on_read_pool, on_tx, Conn, Engine, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::access::LeadScope;
use leadgate_core::event::EventDraft;
use leadgate_core::id::{LeadId, PersonId};
use leadgate_core::lead::FieldChange;
use leadgate_core::policy::BantPart;
use leadgate_core::quality::JunkReason;
use leadgate_core::{
    Channel, Email, EventType, ExternalId, FieldError, Lead, LeadField, LeadPatch, Phone, Source,
    SourceClass, Stage, Text,
};
use serde_json::{json, Map, Value};
use sqlx::types::Json;
use std::collections::BTreeSet;

/// A stored lead: the domain lead plus its identity, touches and times.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLead {
    pub id: LeadId,
    pub person_id: PersonId,
    pub company_id: Option<i64>,
    pub lead: Lead,
    pub first_touch: Source,
    pub last_touch: Source,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// BANT parts a rep confirmed.
    pub bant_confirmed: BTreeSet<BantPart>,
    /// Why the lead looks like junk (empty: it looks real). Junk is kept, never scored into
    /// MQL.
    pub junk: Vec<JunkReason>,
    /// A person decided whether it is junk; automatic checks leave the flag alone since.
    pub junk_reviewed: bool,
    /// The policy moved the lead into its present stage by itself (`auto_mql`); a stage a
    /// person chose, the policy does not undo.
    pub stage_by_policy: bool,
    /// The person refused email or calls (consent purposes `email`, `call`).
    pub do_not_email: bool,
    pub do_not_call: bool,
    /// The latest stored score (the score endpoint computes a current one).
    pub snapshot: Option<ScoreSnapshot>,
    /// The conversion model's latest prediction for the lead, while it is open.
    pub prediction: Option<PredictionSnapshot>,
}

/// A lead's latest conversion prediction as stored, for lists sorted by priority.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionSnapshot {
    pub probability: f64,
    pub expected_value: f64,
    /// probability x expected value.
    pub priority: f64,
    pub model_id: i64,
    pub predicted_at: DateTime<Utc>,
}

/// A lead's score as last computed and stored, for lists, filters and sorting.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreSnapshot {
    pub score: f64,
    pub grade: String,
    pub temperature: String,
    pub policy_version: i64,
    pub scored_at: DateTime<Utc>,
}

/// One arrival of a lead through some channel: create it, or update the one it matches.
#[derive(Debug, Clone)]
pub struct Capture {
    pub patch: LeadPatch,
    /// The touch; `None` keeps the lead's last touch (or uses `Channel::Api` for a new lead).
    pub source: Option<Source>,
    /// The input as submitted, kept in the `form_submitted` event.
    pub raw: Value,
    /// When the lead arrived: now, or the original time for imported history.
    pub at: DateTime<Utc>,
    pub actor: String,
    /// The submission looked like a bot's (a web form's honeypot or speed): the submission
    /// says so, and a lead it creates is flagged `bot_submission` (a known lead is not).
    pub bot: bool,
    /// Who vouches for it, which decides what it may do to a lead it matches.
    pub by: Submitter,
}

/// Who vouches for a capture, which decides what it may do to a lead it matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Submitter {
    /// A caller that reaches every lead: an admin or marketing key, an import, the CLI.
    #[default]
    Trusted,
    /// A team-bound caller (a sales key): it updates only the leads its scope reaches and
    /// names only reps its scope covers as owner.
    Scoped(LeadScope),
    /// Nobody vouches for it (a public web form): a known lead's empty fields are filled
    /// and the values that differ are kept in the submission's event for a person to
    /// accept, never written over what the lead holds.
    Anonymous,
}

#[derive(Debug, Clone)]
pub struct CaptureOutcome {
    pub lead: StoredLead,
    pub created: bool,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    Id,
    /// The stored score; leads never scored come last.
    Score,
    /// Won probability x expected deal value; leads never predicted come last.
    Priority,
}

/// Order of a lead list: `created_at`, `-created_at` (newest first), `updated_at`, `id`...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadSort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for LeadSort {
    fn default() -> Self {
        Self {
            field: SortField::CreatedAt,
            descending: true,
        }
    }
}

impl std::str::FromStr for LeadSort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let field = match name {
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "id" => SortField::Id,
            "score" => SortField::Score,
            "priority" => SortField::Priority,
            other => {
                return Err(format!(
                    "cannot sort by '{other}'; use created_at, updated_at, id, score or priority, with '-' for descending"
                ))
            }
        };
        Ok(Self { field, descending })
    }
}

/// Which leads to list. Every filter is optional; they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub stage: Option<Stage>,
    pub channel: Option<Channel>,
    pub source_class: Option<SourceClass>,
    pub campaign: Option<String>,
    pub owner: Option<String>,
    /// Only leads owned by a member of this team (a sales user's or key's scope).
    pub team: Option<String>,
    /// Only leads nobody owns yet (the queue a manager assigns from).
    pub unowned: bool,
    /// Only the leads of this person.
    pub person: Option<PersonId>,
    /// Only leads still being worked: not customer, disqualified or recycled.
    pub open: bool,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Text matched anywhere in the name, email or company, case-insensitively.
    pub q: Option<String>,
    /// A grade such as "A1", or a fit grade letter such as "A" (any engagement).
    pub grade: Option<String>,
    /// hot, warm or cold.
    pub temperature: Option<String>,
    /// Stored score at least this.
    pub min_score: Option<f64>,
    /// Only junk (true) or only leads that look real (false).
    pub junk: Option<bool>,
    pub sort: LeadSort,
    pub limit: u32,
    /// An opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl LeadFilter {
    /// Narrows the filter to the leads a scope reaches.
    pub fn within(mut self, scope: &LeadScope) -> Self {
        match scope {
            LeadScope::All => {}
            LeadScope::Team(team) => self.team = Some(team.clone()),
            // The unowned queue is in a manager's reach; any other list is their team's.
            LeadScope::TeamAndUnowned(_) if self.unowned => {}
            LeadScope::TeamAndUnowned(team) => self.team = Some(team.clone()),
            // No team, no leads: an owner no lead has.
            LeadScope::Nothing => self.owner = Some(String::new()),
        }
        self
    }
}

/// Whose leads a count takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Owners<'a> {
    Any,
    /// The leads nobody owns yet.
    Nobody,
    /// The leads of a team's reps.
    Team(&'a str),
}

#[derive(Debug, Clone)]
pub struct LeadPage {
    pub leads: Vec<StoredLead>,
    pub next_cursor: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LeadRow {
    id: LeadId,
    person_id: PersonId,
    company_id: Option<i64>,
    external_id: Option<String>,
    stage: String,
    owner: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    job_title: Option<String>,
    country: Option<String>,
    company: Option<String>,
    industry: Option<String>,
    company_size: Option<i64>,
    website: Option<String>,
    product_need: Option<String>,
    budget: Option<f64>,
    purchase_timeframe: Option<String>,
    current_solution: Option<String>,
    pains: Option<String>,
    custom: Json<Map<String, Value>>,
    first_touch: Json<Source>,
    last_touch: Json<Source>,
    created_at: Ts,
    updated_at: Ts,
    bant_confirmed: Json<Vec<String>>,
    junk: String,
    junk_reviewed: bool,
    stage_by_policy: bool,
    do_not_email: bool,
    do_not_call: bool,
    score: Option<f64>,
    grade: Option<String>,
    temperature: Option<String>,
    policy_version: Option<i64>,
    scored_at: Option<Ts>,
    probability: Option<f64>,
    expected_value: Option<f64>,
    priority: Option<f64>,
    model_id: Option<i64>,
    predicted_at: Option<Ts>,
}

pub(crate) const SELECT_LEAD: &str = "SELECT l.id, l.person_id, l.company_id, l.external_id, l.stage, l.owner,
    p.first_name, p.last_name, p.email, p.phone, p.job_title, p.country,
    c.name AS company, c.industry, c.size AS company_size, c.website,
    l.product_need, l.budget, l.purchase_timeframe, l.current_solution, l.pains, l.custom,
    l.first_touch, l.last_touch, l.created_at, l.updated_at,
    l.bant_confirmed, l.junk, l.junk_reviewed, l.stage_by_policy, p.do_not_email, p.do_not_call, l.score, l.grade, l.temperature, l.policy_version, l.scored_at,
    l.probability, l.expected_value, l.priority, l.model_id, l.predicted_at
    FROM leads l JOIN people p ON p.id = l.person_id LEFT JOIN companies c ON c.id = l.company_id";

pub(crate) fn stored_text(value: Option<String>) -> Option<Text> {
    value.and_then(|v| Text::parse(&v, usize::MAX).ok())
}

impl TryFrom<LeadRow> for StoredLead {
    type Error = StoreError;
    fn try_from(row: LeadRow) -> Result<Self> {
        let stage = row
            .stage
            .parse::<Stage>()
            .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))?;
        Ok(StoredLead {
            id: row.id,
            person_id: row.person_id,
            company_id: row.company_id,
            lead: Lead {
                external_id: row.external_id.and_then(|v| ExternalId::parse(&v).ok()),
                stage,
                owner: stored_text(row.owner),
                first_name: stored_text(row.first_name),
                last_name: stored_text(row.last_name),
                email: row.email.and_then(|v| Email::parse(&v).ok()),
                phone: row.phone.and_then(|v| Phone::parse(&v).ok()),
                job_title: stored_text(row.job_title),
                country: stored_text(row.country),
                company: stored_text(row.company),
                industry: stored_text(row.industry),
                company_size: row.company_size,
                website: stored_text(row.website),
                product_need: stored_text(row.product_need),
                budget: row.budget,
                purchase_timeframe: stored_text(row.purchase_timeframe),
                current_solution: stored_text(row.current_solution),
                pains: stored_text(row.pains),
                custom: row.custom.0,
            },
            first_touch: row.first_touch.0,
            last_touch: row.last_touch.0,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
            bant_confirmed: row
                .bant_confirmed
                .0
                .iter()
                .filter_map(|p| BantPart::from_name(p))
                .collect(),
            junk: row
                .junk
                .split(',')
                .filter_map(JunkReason::from_name)
                .collect(),
            junk_reviewed: row.junk_reviewed,
            stage_by_policy: row.stage_by_policy,
            do_not_email: row.do_not_email,
            do_not_call: row.do_not_call,
            snapshot: match (
                row.score,
                row.grade,
                row.temperature,
                row.policy_version,
                row.scored_at,
            ) {
                (
                    Some(score),
                    Some(grade),
                    Some(temperature),
                    Some(policy_version),
                    Some(scored_at),
                ) => Some(ScoreSnapshot {
                    score,
                    grade,
                    temperature,
                    policy_version,
                    scored_at: scored_at.0,
                }),
                _ => None,
            },
            prediction: match (
                row.probability,
                row.expected_value,
                row.priority,
                row.model_id,
                row.predicted_at,
            ) {
                (
                    Some(probability),
                    Some(expected_value),
                    Some(priority),
                    Some(model_id),
                    Some(at),
                ) => Some(PredictionSnapshot {
                    probability,
                    expected_value,
                    priority,
                    model_id,
                    predicted_at: at.0,
                }),
                _ => None,
            },
        })
    }
}

/// Junk reasons as stored: comma-separated codes, '' for none.
pub(crate) fn junk_text(reasons: &[JunkReason]) -> String {
    reasons
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn text_of(value: &Option<Text>) -> Option<&str> {
    value.as_ref().map(Text::as_str)
}

pub(crate) fn company_key(name: &Option<Text>) -> Option<String> {
    name.as_ref()
        .map(|n| leadgate_core::normalize::company_key(n.as_str()))
}

/// A row to append to the event log.
pub struct NewEvent<'a> {
    pub lead_id: LeadId,
    pub draft: &'a EventDraft,
}

impl Store {
    /// Stores phones and countries of people saved before they were tidied at capture in
    /// their one form (E.164; the country's English name), as `Lead::tidy` does; the forms
    /// first typed stay in the capture events. Returns how many people changed.
    pub async fn tidy_people(&self) -> Result<usize> {
        self.rewrite_in_pages(
            "SELECT id, phone, country FROM people
             WHERE id > $1 AND (phone IS NOT NULL OR country IS NOT NULL) ORDER BY id LIMIT 1000",
            "UPDATE people SET phone = $1, country = $2 WHERE id = $3",
            |phone, country| {
                let mut lead = Lead {
                    phone: phone.as_deref().and_then(|p| Phone::parse(p).ok()),
                    country: country
                        .as_deref()
                        .and_then(|c| Text::parse(c, LeadField::Country.text_limit()).ok()),
                    ..Lead::default()
                };
                lead.tidy(|_| true);
                let tidied = (
                    lead.phone.map(|p| p.as_str().to_owned()).or(phone.clone()),
                    lead.country
                        .map(|c| c.as_str().to_owned())
                        .or(country.clone()),
                );
                (tidied != (phone, country)).then(|| vec![tidied.0, tidied.1])
            },
        )
        .await
    }

    /// Fills in the web domain of every company stored without one (after the migration
    /// that added it), from its website or a company email of one of its people, a page
    /// of companies per transaction. Returns how many got one.
    pub async fn fill_company_domains(&self) -> Result<usize> {
        self.rewrite_in_pages(
            "SELECT c.id, c.website,
                    (SELECT p.email FROM leads l JOIN people p ON p.id = l.person_id
                      WHERE l.company_id = c.id AND p.email IS NOT NULL ORDER BY l.id LIMIT 1)
               FROM companies c WHERE c.id > $1 AND c.domain IS NULL ORDER BY c.id LIMIT 1000",
            "UPDATE companies SET domain = $1 WHERE id = $2",
            |website, email| {
                let lead = Lead {
                    website: website.and_then(|w| Text::parse(&w, 500).ok()),
                    email: email.and_then(|e| Email::parse(&e).ok()),
                    ..Lead::default()
                };
                lead.company_domain().map(|domain| vec![Some(domain)])
            },
        )
        .await
    }

    /// A store chore's walk: `select` pages `(id, a, b)` rows after an id (`$1`), `fix`
    /// says what a row's columns become (or `None` to leave it), written by `update` with
    /// the values first and the id last; a page per transaction. Returns how many changed.
    async fn rewrite_in_pages(
        &self,
        select: &str,
        update: &str,
        fix: impl Fn(Option<String>, Option<String>) -> Option<Vec<Option<String>>>,
    ) -> Result<usize> {
        let mut after = 0i64;
        let mut changed = 0;
        loop {
            let mut tx = self.begin().await?;
            let rows: Vec<(i64, Option<String>, Option<String>)> = on_tx!(&mut tx, conn => sqlx::query_as(select)
                .bind(after)
                .fetch_all(conn)
                .await)?;
            let Some((last, _, _)) = rows.last() else {
                break;
            };
            after = *last;
            for (id, a, b) in rows {
                let Some(values) = fix(a, b) else {
                    continue;
                };
                on_tx!(&mut tx, conn => {
                    let mut query = sqlx::query(update);
                    for value in &values {
                        query = query.bind(value);
                    }
                    query.bind(id).execute(conn).await.map(|_| ())
                })?;
                changed += 1;
            }
            tx.commit().await?;
        }
        Ok(changed)
    }
}

impl Tx {
    /// The lead `id`, held until the transaction ends when `lock` (PostgreSQL; SQLite has
    /// one writer at a time).
    pub async fn lead(&mut self, id: LeadId, lock: bool) -> Result<Option<StoredLead>> {
        let sql = if lock && self.engine() == Engine::Postgres {
            format!("{SELECT_LEAD} WHERE l.id = $1 FOR UPDATE OF l")
        } else {
            format!("{SELECT_LEAD} WHERE l.id = $1")
        };
        let row: Option<LeadRow> =
            on_tx!(self, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?;
        row.map(StoredLead::try_from).transpose()
    }

    /// These leads (those that exist), in id order.
    pub(crate) async fn leads_by_id(&mut self, ids: &[i64]) -> Result<Vec<StoredLead>> {
        let mut leads = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let rows: Vec<LeadRow> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(format!("{SELECT_LEAD} WHERE l.id IN ("));
                crate::push_in_list(&mut b, chunk.iter().copied());
                b.push(" ORDER BY l.id");
                b.build_query_as().fetch_all(conn).await
            })?;
            for row in rows {
                leads.push(StoredLead::try_from(row)?);
            }
        }
        Ok(leads)
    }

    /// A page of a product's leads by id, for passes over the whole store.
    pub async fn leads_of_product(
        &mut self,
        product: &str,
        after: LeadId,
        limit: i64,
    ) -> Result<Vec<StoredLead>> {
        let sql =
            format!("{SELECT_LEAD} WHERE l.product = $1 AND l.id > $2 ORDER BY l.id LIMIT $3");
        let rows: Vec<LeadRow> = on_tx!(self, conn => sqlx::query_as(&sql)
            .bind(product)
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(StoredLead::try_from).collect()
    }

    /// A page of MQLs nobody owns, by id, locked for routing.
    pub async fn unowned_mqls(&mut self, after: LeadId, limit: i64) -> Result<Vec<StoredLead>> {
        let lock = if self.engine() == Engine::Postgres {
            " FOR UPDATE OF l SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "{SELECT_LEAD} WHERE l.stage = 'mql' AND l.owner IS NULL AND l.id > $1 ORDER BY l.id LIMIT $2{lock}"
        );
        let rows: Vec<LeadRow> = on_tx!(self, conn => sqlx::query_as(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(conn)
            .await)?;
        rows.into_iter().map(StoredLead::try_from).collect()
    }

    async fn lock_identity(&mut self, key: &str) -> Result<()> {
        if let Conn::Postgres(tx) = &mut self.conn {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    async fn lead_id_by_external(&mut self, external_id: &ExternalId) -> Result<Option<LeadId>> {
        Ok(
            on_tx!(self, conn => sqlx::query_scalar("SELECT id FROM leads WHERE external_id = $1")
            .bind(external_id.as_str())
            .fetch_optional(conn)
            .await)?,
        )
    }

    /// The person with this email. (Looked up on its own: joined to leads and ordered with a
    /// LIMIT, PostgreSQL may walk all leads by id to find that nobody has the email.)
    async fn person_id_by_email(&mut self, email: &Email) -> Result<Option<i64>> {
        Ok(
            on_tx!(self, conn => sqlx::query_scalar("SELECT COALESCE(merged_into, id) FROM people WHERE email_key = $1")
            .bind(email.match_key())
            .fetch_optional(conn)
            .await)?,
        )
    }

    /// The newest lead of the person with this email, only among leads with no external id
    /// when `only_unkeyed` (a keyed lead belongs to another record of the source system).
    async fn lead_id_by_email(
        &mut self,
        email: &Email,
        only_unkeyed: bool,
    ) -> Result<Option<LeadId>> {
        let Some(person_id) = self.person_id_by_email(email).await? else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT id FROM leads WHERE person_id = $1 {} ORDER BY id DESC LIMIT 1",
            if only_unkeyed {
                "AND external_id IS NULL"
            } else {
                ""
            }
        );
        Ok(on_tx!(self, conn => sqlx::query_scalar(&sql)
            .bind(person_id)
            .fetch_optional(conn)
            .await)?)
    }

    /// A lead of the (first) company whose `column` (`name_key` or `domain`) is `value`.
    async fn lead_of_company(
        &mut self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<StoredLead>> {
        let sql = format!("SELECT id FROM companies WHERE {column} = $1 ORDER BY id LIMIT 1");
        let company_id: Option<i64> = on_tx!(self, conn => sqlx::query_scalar(&sql)
            .bind(value)
            .fetch_optional(conn)
            .await)?;
        match company_id {
            Some(id) => self.lead_where("l.company_id = $1 ORDER BY l.id", id).await,
            None => Ok(None),
        }
    }

    async fn lead_where(&mut self, condition: &str, value: i64) -> Result<Option<StoredLead>> {
        let sql = format!("{SELECT_LEAD} WHERE {condition} LIMIT 1");
        let row: Option<LeadRow> =
            on_tx!(self, conn => sqlx::query_as(&sql).bind(value).fetch_optional(conn).await)?;
        row.map(StoredLead::try_from).transpose()
    }

    /// Updates a stored company from a lead's company fields, or (no id) inserts a new
    /// company; its id. Its web domain is the lead's, else the one it had.
    pub(crate) async fn save_company(
        &mut self,
        id: Option<i64>,
        lead: &Lead,
        at: Ts,
    ) -> Result<i64> {
        let domain = lead.company_domain();
        match id {
            Some(id) => {
                self.update_company(id, lead, domain.as_deref(), at).await?;
                Ok(id)
            }
            None => first_id(
                self.insert_companies(&[(lead, domain.as_deref(), at.0, at.0)])
                    .await?,
            ),
        }
    }

    /// Writes a company's fields; a `None` domain keeps the one stored.
    pub(crate) async fn update_company(
        &mut self,
        id: i64,
        lead: &Lead,
        domain: Option<&str>,
        at: Ts,
    ) -> Result<()> {
        self.update_companies(&[(id, lead, domain, at)]).await
    }

    /// Writes a stored lead's fields (a new lead is made by `capture_new`).
    pub async fn save_lead(&mut self, stored: &StoredLead) -> Result<()> {
        let before = self.counted_before(&[stored.id]).await?;
        on_tx!(self, conn => {
            let mut b = sqlx::QueryBuilder::new(format!("UPDATE leads SET ({LEAD_COLUMNS}) = ("));
            push_lead!(&mut b.separated(", "), stored);
            b.push(") WHERE id = ").push_bind(stored.id);
            b.build().execute(conn).await.map(|_| ())
        })
        .map_err(|e| {
            conflict_on(
                e,
                "external_id",
                "another lead already has this external_id",
            )
        })?;
        self.count_changes(before).await
    }
}

/// The id of a one-row insert.
fn first_id(ids: Vec<i64>) -> Result<i64> {
    ids.into_iter()
        .next()
        .ok_or_else(|| StoreError::from(sqlx::Error::Protocol("an insert stored no row".into())))
}

impl Store {
    pub async fn lead(&self, id: LeadId) -> Result<StoredLead> {
        let sql = format!("{SELECT_LEAD} WHERE l.id = $1");
        let row: Option<LeadRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(StoredLead::try_from)
            .transpose()?
            .ok_or(StoreError::LeadNotFound(id))
    }

    /// Creates a lead, or updates the one it matches: first by external id, then by email.
    /// Idempotent: the same capture twice changes nothing the second time but the last touch.
    pub async fn capture(&self, capture: Capture) -> Result<CaptureOutcome> {
        let mut outcomes = self.capture_many(vec![capture]).await?;
        Ok(outcomes.remove(0))
    }

    /// A capture and the consent its submitter gave with it (a web form's box), in one
    /// transaction: the lead is not stored without the consent, nor the consent without it.
    pub async fn capture_consenting(
        &self,
        capture: Capture,
        consent: &NewConsent,
    ) -> Result<CaptureOutcome> {
        check_purpose(&consent.purpose).map_err(leadgate_core::FieldErrors::from)?;
        let mut outcomes = self.capture_with(vec![capture], Some(consent)).await?;
        Ok(outcomes.remove(0))
    }

    /// Several captures in one transaction: all are stored, or (on error) none.
    pub async fn capture_many(&self, captures: Vec<Capture>) -> Result<Vec<CaptureOutcome>> {
        self.capture_with(captures, None).await
    }

    async fn capture_with(
        &self,
        captures: Vec<Capture>,
        consent: Option<&NewConsent>,
    ) -> Result<Vec<CaptureOutcome>> {
        // Two servers capturing the same new person at once both find no match and both
        // insert; the loser hits the unique email or external id. Run again, it finds the
        // winner's lead and updates it, as if the captures had come one after the other.
        match self.capture_once(&captures, consent).await {
            Err(StoreError::Conflict { .. }) if self.engine() == Engine::Postgres => {
                self.capture_once(&captures, consent).await
            }
            other => other,
        }
    }

    async fn capture_once(
        &self,
        captures: &[Capture],
        consent: Option<&NewConsent>,
    ) -> Result<Vec<CaptureOutcome>> {
        let mut tx = self.begin().await?;
        let mut outcomes = Vec::with_capacity(captures.len());
        for capture in captures {
            let outcome = capture_in(&mut tx, capture.clone(), false, None).await?;
            if let Some(consent) = consent {
                tx.record_consent(outcome.lead.person_id, consent, &capture.actor, false)
                    .await?;
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Edits a lead. Each changed field becomes a `field_changed` event; an owner change an
    /// `owner_assigned` event.
    pub async fn update_lead(
        &self,
        id: LeadId,
        patch: &LeadPatch,
        actor: &str,
    ) -> Result<CaptureOutcome> {
        let mut tx = self.begin().await?;
        let mut stored = tx
            .lead(id, true)
            .await?
            .ok_or(StoreError::LeadNotFound(id))?;
        let now = to_micros(Utc::now());
        let changes = apply_and_save(&mut tx, &mut stored, patch, now).await?;
        record_changes(&mut tx, stored.id, &changes, now, actor).await?;
        tx.commit().await?;
        Ok(CaptureOutcome {
            lead: stored,
            created: false,
            changes,
        })
    }

    /// A person's verdict on whether a lead is junk: `junk` flags it (reason `manual`),
    /// otherwise the flags are cleared. Either way automatic checks leave it alone since,
    /// and the verdict is a `field_changed` event with the reason. The caller rescores it.
    pub async fn review_junk(
        &self,
        id: LeadId,
        junk: bool,
        reason: &str,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut stored = tx
            .lead(id, true)
            .await?
            .ok_or(StoreError::LeadNotFound(id))?;
        let old = junk_text(&stored.junk);
        stored.junk = if junk {
            vec![JunkReason::Manual]
        } else {
            Vec::new()
        };
        stored.junk_reviewed = true;
        let now = to_micros(Utc::now());
        stored.updated_at = now;
        tx.save_lead(&stored).await?;
        let draft = EventDraft::new(
            EventType::FieldChanged,
            now,
            json!({"field": "junk", "old": old, "new": junk_text(&stored.junk), "reason": reason}),
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
        tx.commit().await
    }

    pub async fn list_leads(&self, filter: &LeadFilter) -> Result<LeadPage> {
        if let (Some(_), Some(team)) = (filter.stage, &filter.team) {
            return self.list_team_stage(filter, team).await;
        }
        let limit = filter.limit.clamp(1, 1000) as i64;
        let cursor = filter.cursor.as_deref().map(decode_cursor).transpose()?;
        let column = match filter.sort.field {
            SortField::CreatedAt => "l.created_at",
            SortField::UpdatedAt => "l.updated_at",
            SortField::Id => "l.id",
            SortField::Score => "COALESCE(l.score, -1e15)",
            SortField::Priority => "COALESCE(l.priority, -1e15)",
        };
        let (cmp, dir) = if filter.sort.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let rows: Vec<LeadRow> = on_read_pool!(self, pool => {
            let mut b = sqlx::QueryBuilder::new(SELECT_LEAD);
            b.push(" WHERE 1 = 1");
            if let Some(stage) = filter.stage {
                b.push(" AND l.stage = ").push_bind(stage.as_str());
            }
            if let Some(channel) = filter.channel {
                b.push(" AND l.channel = ").push_bind(channel.as_str());
            }
            if let Some(class) = filter.source_class {
                b.push(" AND l.source_class = ").push_bind(class.as_str());
            }
            if let Some(campaign) = &filter.campaign {
                b.push(" AND l.campaign = ").push_bind(campaign.clone());
            }
            if let Some(owner) = &filter.owner {
                b.push(" AND l.owner = ").push_bind(owner.clone());
            }
            if let Some(team) = &filter.team {
                b.push(" AND l.owner IN (SELECT name FROM reps WHERE team = ").push_bind(team.clone()).push(")");
            }
            if filter.unowned {
                b.push(" AND l.owner IS NULL");
            }
            if let Some(person) = filter.person {
                b.push(" AND l.person_id = ").push_bind(person);
            }
            if filter.open {
                b.push(" AND l.stage NOT IN ('customer', 'disqualified', 'recycled')");
            }
            if let Some(from) = filter.created_from {
                b.push(" AND l.created_at >= ").push_bind(Ts(from));
            }
            if let Some(to) = filter.created_to {
                b.push(" AND l.created_at < ").push_bind(Ts(to));
            }
            if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
                let escaped = leadgate_core::normalize::fold_loose(q).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                b.push(" AND l.search_text LIKE ").push_bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
            }
            if let Some(grade) = filter.grade.as_deref() {
                if grade.len() == 1 {
                    b.push(" AND l.grade LIKE ").push_bind(format!("{grade}%"));
                } else {
                    b.push(" AND l.grade = ").push_bind(grade.to_owned());
                }
            }
            if let Some(temperature) = &filter.temperature {
                b.push(" AND l.temperature = ").push_bind(temperature.clone());
            }
            if let Some(min) = filter.min_score {
                b.push(" AND l.score >= ").push_bind(min);
            }
            match filter.junk {
                Some(true) => { b.push(" AND l.junk <> ''"); }
                Some(false) => { b.push(" AND l.junk = ''"); }
                None => {}
            }
            if let Some((value, id)) = cursor {
                b.push(format!(" AND ({column} {cmp} "));
                match filter.sort.field {
                    SortField::CreatedAt | SortField::UpdatedAt => {
                        let at = Ts(DateTime::from_timestamp_micros(value).unwrap_or_default());
                        b.push_bind(at).push(format!(" OR ({column} = ")).push_bind(at);
                    }
                    SortField::Id => {
                        b.push_bind(value).push(format!(" OR ({column} = ")).push_bind(value);
                    }
                    SortField::Score | SortField::Priority => {
                        let score = f64::from_bits(value as u64);
                        b.push_bind(score).push(format!(" OR ({column} = ")).push_bind(score);
                    }
                }
                b.push(format!(" AND l.id {cmp} ")).push_bind(id).push("))");
            }
            b.push(format!(" ORDER BY {column} {dir}, l.id {dir} LIMIT ")).push_bind(limit + 1);
            b.build_query_as().fetch_all(pool).await
        })?;
        let mut leads = rows
            .into_iter()
            .map(StoredLead::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if leads.len() as i64 > limit {
            leads.truncate(limit as usize);
            leads
                .last()
                .map(|last| cursor_after(filter.sort.field, last))
        } else {
            None
        };
        Ok(LeadPage { leads, next_cursor })
    }

    /// One stage of one team (a board column): each rep's page read off the
    /// `(owner, stage, sort)` index in order, merged here. One query joining the team's reps
    /// left the plan to an estimate, and PostgreSQL, guessing the team owned a share of the
    /// stage, walked every lead of it (most of the `lead` stage has no owner yet).
    async fn list_team_stage(&self, filter: &LeadFilter, team: &str) -> Result<LeadPage> {
        let limit = filter.limit.clamp(1, 1000);
        let reps: Vec<String> = on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT name FROM reps WHERE team = $1 ORDER BY name",
        )
        .bind(team)
        .fetch_all(pool)
        .await)?;
        let mut leads = Vec::new();
        let mut more = false;
        for rep in reps {
            if filter.owner.as_ref().is_some_and(|owner| *owner != rep) {
                continue;
            }
            let page = Box::pin(self.list_leads(&LeadFilter {
                owner: Some(rep),
                team: None,
                ..filter.clone()
            }))
            .await?;
            more |= page.next_cursor.is_some();
            leads.extend(page.leads);
        }
        let key = |lead: &StoredLead| (sort_value(filter.sort.field, lead), lead.id);
        leads.sort_by(|a, b| {
            let (a, b) = (key(a), key(b));
            let order = a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
            if filter.sort.descending {
                order.reverse()
            } else {
                order
            }
        });
        more |= leads.len() > limit as usize;
        leads.truncate(limit as usize);
        let next_cursor = leads
            .last()
            .filter(|_| more)
            .map(|last| cursor_after(filter.sort.field, last));
        Ok(LeadPage { leads, next_cursor })
    }

    /// A board column's totals: how many leads are in `stage` (of `team`'s reps when given;
    /// junk left out), counted up to `cap`, and their weighted value (won chance x deal
    /// value).
    pub async fn stage_total(
        &self,
        stage: Stage,
        team: Option<&str>,
        cap: i64,
    ) -> Result<(i64, f64)> {
        let owners = match team {
            Some(team) => Owners::Team(team),
            None => Owners::Any,
        };
        self.tally(Some(stage), owners, true, cap).await
    }

    /// How many leads a list view holds (junk included, as the list shows it), up to `cap`.
    pub async fn view_count(&self, owners: Owners<'_>, cap: i64) -> Result<i64> {
        Ok(self.tally(None, owners, false, cap).await?.0)
    }

    /// Counts leads (of a stage, of some owners, junk left out or not) up to `cap`, with the
    /// sum of their won chance x deal value. Counting stops at the cap, so a count on a huge
    /// store costs what a page costs. A team is counted rep by rep off the `(owner, stage,
    /// ...)` index, as `list_team_stage` reads it: testing each lead against the team's reps
    /// walked the whole `lead` stage, nearly all of it unowned (3.2 s for the board at a
    /// million leads).
    async fn tally(
        &self,
        stage: Option<Stage>,
        owners: Owners<'_>,
        without_junk: bool,
        cap: i64,
    ) -> Result<(i64, f64)> {
        // Counted in parts: all leads, the unowned ones, or each rep of the team in turn.
        enum Part {
            All,
            Nobody,
            Rep(String),
        }
        let parts: Vec<Part> = match owners {
            Owners::Any => vec![Part::All],
            Owners::Nobody => vec![Part::Nobody],
            Owners::Team(team) => on_read_pool!(self, pool => sqlx::query_scalar(
                "SELECT name FROM reps WHERE team = $1 ORDER BY name",
            )
            .bind(team)
            .fetch_all(pool)
            .await)?
            .into_iter()
            .map(Part::Rep)
            .collect(),
        };
        let (mut count, mut value) = (0, 0.0);
        for part in parts {
            if count >= cap {
                break;
            }
            let (n, sum): (i64, Option<f64>) = on_read_pool!(self, pool => {
                let mut b = sqlx::QueryBuilder::new(
                    "SELECT count(*), sum(priority) FROM (SELECT l.priority FROM leads l WHERE 1 = 1",
                );
                match &part {
                    Part::Rep(owner) => { b.push(" AND l.owner = ").push_bind(owner.clone()); }
                    Part::Nobody => { b.push(" AND l.owner IS NULL"); }
                    Part::All => {}
                }
                if let Some(stage) = stage {
                    b.push(" AND l.stage = ").push_bind(stage.as_str());
                }
                if without_junk {
                    b.push(" AND l.junk = ''");
                }
                b.push(" LIMIT ").push_bind(cap - count).push(") AS counted");
                b.build_query_as().fetch_one(pool).await
            })?;
            count += n;
            value += sum.unwrap_or(0.0);
        }
        Ok((count, value))
    }

    pub async fn count_leads(&self) -> Result<i64> {
        Ok(
            on_read_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM leads").fetch_one(pool).await)?,
        )
    }
}

/// The value a lead sorts by, as the list query's ORDER BY sees it.
fn sort_value(field: SortField, lead: &StoredLead) -> f64 {
    match field {
        SortField::CreatedAt => lead.created_at.timestamp_micros() as f64,
        SortField::UpdatedAt => lead.updated_at.timestamp_micros() as f64,
        SortField::Id => lead.id.get() as f64,
        SortField::Score => lead.snapshot.as_ref().map_or(-1e15, |s| s.score),
        SortField::Priority => lead.prediction.as_ref().map_or(-1e15, |p| p.priority),
    }
}

/// The keyset cursor continuing a listing after `last`.
fn cursor_after(field: SortField, last: &StoredLead) -> String {
    let value = match field {
        SortField::CreatedAt => last.created_at.timestamp_micros(),
        SortField::UpdatedAt => last.updated_at.timestamp_micros(),
        SortField::Id => last.id.get(),
        SortField::Score | SortField::Priority => sort_value(field, last).to_bits() as i64,
    };
    encode_cursor(value, last.id.get())
}

pub(crate) fn encode_cursor(value: i64, id: i64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{value}:{id}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(i64, i64)> {
    use base64::Engine as _;
    let bad = || {
        StoreError::Invalid(
            FieldError::new("cursor", "is not a cursor this server gave out").into(),
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (value, id) = text.split_once(':').ok_or_else(bad)?;
    Ok((
        value.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// Captures one lead inside `tx`. A `replay` (a row of an import seen before) that changes
/// nothing and brings the same touch is not a new arrival: nothing is written. The capture's
/// events go into `deferred` when given (to be inserted with others in one statement).
pub(crate) async fn capture_in(
    tx: &mut Tx,
    mut capture: Capture,
    replay: bool,
    deferred: Option<&mut Vec<(LeadId, EventDraft)>>,
) -> Result<CaptureOutcome> {
    capture.at = to_micros(capture.at);
    // Finding the match and inserting must be one step per identity: on PostgreSQL, hold a
    // transaction lock on each key (in a fixed order, so two captures cannot deadlock).
    // SQLite has one writer, so there it already is one step.
    let mut keys: Vec<String> = capture
        .patch
        .external_id()
        .map(|e| format!("external:{}", e.as_str()))
        .into_iter()
        .chain(
            capture
                .patch
                .email()
                .map(|e| format!("email:{}", e.match_key())),
        )
        .collect();
    keys.sort();
    for key in &keys {
        tx.lock_identity(key).await?;
    }
    let existing = match (capture.patch.external_id(), capture.patch.email()) {
        (Some(external_id), email) => match tx.lead_id_by_external(external_id).await? {
            Some(id) => Some(id),
            None => match email {
                Some(email) => tx.lead_id_by_email(email, true).await?,
                None => None,
            },
        },
        (None, Some(email)) => tx.lead_id_by_email(email, false).await?,
        (None, None) => None,
    };
    let existing = match existing {
        Some(id) => tx.lead(id, true).await?,
        None => None,
    };
    let mut held = Map::new();
    match (&capture.by, &existing) {
        (Submitter::Scoped(scope), _) => {
            if let Some(known) = &existing {
                let owner = known.lead.owner.as_ref().map(|o| o.as_str());
                let team = match owner {
                    Some(owner) => tx.rep_team(owner).await?,
                    None => None,
                };
                if !scope.covers_lead(owner, team.as_deref()) {
                    return Err(StoreError::OutOfScope(format!(
                        "this capture matches lead {} by its external_id or email, which belongs to another team than the caller's (or to none)",
                        known.id
                    )));
                }
            }
            if let Some(Some(owner)) = capture.patch.owner() {
                let team = tx.rep_team(owner).await?;
                if !scope.covers(team.as_deref()) {
                    return Err(StoreError::OutOfScope(format!(
                        "owner: '{owner}' is a rep of another team than the caller's (or of none)"
                    )));
                }
            }
        }
        (Submitter::Anonymous, Some(known)) => {
            let (fill, differing) = capture.patch.filling(&known.lead);
            capture.patch = fill;
            held = differing;
        }
        _ => {}
    }
    let Some(mut stored) = existing else {
        return capture_created(tx, capture, deferred).await;
    };
    if replay {
        let mut probe = stored.lead.clone();
        let unchanged = capture
            .patch
            .apply(&mut probe)
            .map_err(leadgate_core::FieldErrors::from)?
            .is_empty();
        if unchanged
            && capture
                .source
                .as_ref()
                .is_none_or(|s| *s == stored.last_touch)
        {
            return Ok(CaptureOutcome {
                lead: stored,
                created: false,
                changes: Vec::new(),
            });
        }
    }
    if let Some(touch) = &capture.source {
        stored.last_touch = touch.clone();
    }
    let changes = apply_and_save(tx, &mut stored, &capture.patch, capture.at).await?;
    let mut events = capture_events(&capture, capture.at, &stored.last_touch, false, &changes);
    if !held.is_empty() {
        events[0].payload["held"] = Value::Object(held);
    }
    let events: Vec<(LeadId, EventDraft)> = events.into_iter().map(|e| (stored.id, e)).collect();
    store_capture_events(tx, events, deferred).await?;
    Ok(CaptureOutcome {
        lead: stored,
        created: false,
        changes,
    })
}

/// A capture that matches no lead (its identities locked and looked up by `capture_in`):
/// made by the batch planner as a batch of one, and scored by the caller.
async fn capture_created(
    tx: &mut Tx,
    capture: Capture,
    deferred: Option<&mut Vec<(LeadId, EventDraft)>>,
) -> Result<CaptureOutcome> {
    let mut lead = Lead::default();
    capture
        .patch
        .apply(&mut lead)
        .map_err(leadgate_core::FieldErrors::from)?;
    let mut events = Vec::new();
    let made = plan_new(
        tx,
        std::slice::from_ref(&capture),
        vec![lead],
        &[],
        &mut events,
        false,
    )
    .await?
    .pop()
    // The planner finds a lead to update only where the lookup above did.
    .ok_or_else(|| {
        StoreError::from(sqlx::Error::Protocol(
            "a capture matching no lead was planned as an update".into(),
        ))
    })?;
    store_capture_events(tx, events, deferred).await?;
    Ok(made)
}

/// A capture's events: inserted now, or kept in `deferred` to be inserted with others in
/// one statement.
async fn store_capture_events(
    tx: &mut Tx,
    events: Vec<(LeadId, EventDraft)>,
    deferred: Option<&mut Vec<(LeadId, EventDraft)>>,
) -> Result<()> {
    match deferred {
        Some(deferred) => deferred.extend(events),
        None => {
            tx.insert_drafts(&events, Ts(Utc::now())).await?;
        }
    }
    Ok(())
}

/// Applies a patch to a stored lead and writes its person, company and lead.
async fn apply_and_save(
    tx: &mut Tx,
    stored: &mut StoredLead,
    patch: &LeadPatch,
    at: DateTime<Utc>,
) -> Result<Vec<FieldChange>> {
    let before = stored.lead.clone();
    patch
        .apply(&mut stored.lead)
        .map_err(leadgate_core::FieldErrors::from)?;
    let ts = Ts(at);
    let untouched = |fields: &[LeadField]| -> Vec<LeadField> {
        fields
            .iter()
            .copied()
            .filter(|f| !patch.touches(*f))
            .collect()
    };

    // An email of a person merged into this one is theirs already: the kept address stays.
    let email_changed = stored.lead.email.as_ref().map(Email::match_key)
        != before.email.as_ref().map(Email::match_key);
    if email_changed {
        if let Some(email) = &stored.lead.email {
            if tx.person_id_by_email(email).await? == Some(stored.person_id.get()) {
                stored.lead.email = before.email.clone();
            }
        }
    }
    tx.update_people(&[(stored.person_id.get(), &stored.lead, ts)])
        .await?;

    let key_changed = company_key(&stored.lead.company) != company_key(&before.company);
    if key_changed || stored.company_id.is_none() {
        // The lead names another company (or none yet): link to a known one by name, else
        // by its web domain (a company email address says where someone works).
        let mut known = match company_key(&stored.lead.company) {
            Some(key) => tx.lead_of_company("name_key", &key).await?,
            None => None,
        };
        if known.is_none() {
            if let Some(domain) = stored.lead.company_domain() {
                known = tx.lead_of_company("domain", &domain).await?;
            }
        }
        match known {
            Some(known) => {
                stored.company_id = known.company_id;
                stored
                    .lead
                    .copy_fields(&known.lead, &untouched(&Lead::COMPANY_FIELDS));
            }
            None => stored.company_id = None,
        }
    }
    let company_fields_set = Lead::COMPANY_FIELDS
        .iter()
        .any(|f| !stored.lead.get(*f).is_null());
    if company_fields_set {
        stored.company_id = Some(tx.save_company(stored.company_id, &stored.lead, ts).await?);
    } else {
        stored.company_id = None;
    }

    let changes = field_changes(&before, &stored.lead);
    if !changes.is_empty() || at > stored.updated_at {
        stored.updated_at = stored.updated_at.max(at);
    }
    if !stored.junk_reviewed {
        // Signals from outside the fields (a bot-like form post) stay until a person decides.
        let bot = stored.junk.contains(&JunkReason::BotSubmission);
        stored.junk = assessed_junk(&stored.lead, bot);
    }
    tx.save_lead(stored).await?;
    Ok(changes)
}

/// What differs between two versions of a lead, field by field.
pub(crate) fn field_changes(before: &Lead, after: &Lead) -> Vec<FieldChange> {
    LeadField::ALL
        .into_iter()
        .filter_map(|f| {
            let (old, new) = (before.get(f), after.get(f));
            (old != new).then(|| FieldChange {
                field: f.name(),
                old,
                new,
            })
        })
        .collect()
}

/// A lead's junk flags: what its fields show, and a bot-like submission.
pub(crate) fn assessed_junk(lead: &Lead, bot: bool) -> Vec<JunkReason> {
    let mut junk = leadgate_core::quality::assess(lead);
    if bot {
        junk.push(JunkReason::BotSubmission);
    }
    junk.sort_unstable();
    junk.dedup();
    junk
}

/// The events of a capture: `form_submitted` with the input and the touch, then its
/// changes (for a new lead, only an owner given).
pub(crate) fn capture_events(
    capture: &Capture,
    at: DateTime<Utc>,
    touch: &Source,
    created: bool,
    changes: &[FieldChange],
) -> Vec<EventDraft> {
    let mut submitted = EventDraft::new(
        EventType::FormSubmitted,
        at,
        json!({"input": capture.raw, "source": touch, "created": created, "bot": capture.bot}),
    )
    .with_actor(&capture.actor);
    submitted.source = Text::parse(touch.channel.as_str(), 200).ok();
    let mut events = vec![submitted];
    events.extend(change_events(changes, created, at, &capture.actor));
    events
}

pub(crate) fn change_events(
    changes: &[FieldChange],
    created: bool,
    at: DateTime<Utc>,
    actor: &str,
) -> Vec<EventDraft> {
    changes
        .iter()
        .filter_map(|change| {
            if change.field == LeadField::Owner.name() {
                Some(EventDraft::new(
                    EventType::OwnerAssigned,
                    at,
                    json!({"from": change.old, "to": change.new}),
                ))
            } else if created {
                None // A new lead's values are in its form_submitted event.
            } else {
                Some(EventDraft::new(
                    EventType::FieldChanged,
                    at,
                    json!({"field": change.field, "old": change.old, "new": change.new}),
                ))
            }
        })
        .map(|e| e.with_actor(actor))
        .collect()
}

async fn record_changes(
    tx: &mut Tx,
    lead_id: LeadId,
    changes: &[FieldChange],
    at: DateTime<Utc>,
    actor: &str,
) -> Result<()> {
    let events = change_events(changes, false, at, actor);
    let rows: Vec<NewEvent> = events
        .iter()
        .map(|draft| NewEvent { lead_id, draft })
        .collect();
    tx.insert_events(&rows, Ts(Utc::now())).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(-5, 42)).unwrap(), (-5, 42));
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor("bm9wZQ").is_err());
    }

    #[test]
    fn sort_parses_direction_and_field() {
        let sort: LeadSort = "-updated_at".parse().unwrap();
        assert_eq!(
            sort,
            LeadSort {
                field: SortField::UpdatedAt,
                descending: true
            }
        );
        assert_eq!("score".parse::<LeadSort>().unwrap().field, SortField::Score);
        assert!("favourite".parse::<LeadSort>().is_err());
    }
}
