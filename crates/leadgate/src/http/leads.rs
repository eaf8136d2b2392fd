//! Lead endpoints: capture (create or upsert), read, edit, list, timeline.

use crate::http::body::JsonObject;
use crate::http::body::Query;
use crate::http::error::{ApiError, Problem};
use crate::http::reads::Reads;
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use leadgate_core::access::LeadScope;
use leadgate_core::id::{LeadId, PersonId};
use leadgate_core::lead::PatchMode;
use leadgate_core::openapi as schema;
use leadgate_core::{Channel, FieldError, FieldErrors, LeadPatch, Source};
use leadgate_store::{Capture, LeadFilter, StoredEvent, StoredLead, Submitter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/leads", get(list_leads).post(create_lead))
        .route("/leads/{id}", get(get_lead).patch(update_lead))
        .route("/leads/{id}/timeline", get(timeline))
}

/// A lead as the API returns it: `id` and flat fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadView {
    pub id: LeadId,
    pub external_id: Option<String>,
    /// prospect, lead, mql, sal, sql, opportunity, customer, disqualified or recycled.
    pub stage: String,
    pub owner: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub country: Option<String>,
    pub company: Option<String>,
    pub industry: Option<String>,
    /// Number of employees.
    pub company_size: Option<i64>,
    pub website: Option<String>,
    /// The company's web domain, from the website or a company email address (read-only).
    pub company_domain: Option<String>,
    pub product_need: Option<String>,
    pub budget: Option<f64>,
    pub purchase_timeframe: Option<String>,
    pub current_solution: Option<String>,
    pub pains: Option<String>,
    /// Your own fields.
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    /// Channel of the first touch.
    pub channel: String,
    pub source_class: String,
    pub campaign: Option<String>,
    /// The first touch: channel, source_class, campaign, utm_*, referrer, landing_page.
    #[schema(value_type = Object)]
    pub first_touch: Value,
    /// The latest touch, same shape as `first_touch`.
    #[schema(value_type = Object)]
    pub last_touch: Value,
    pub person_id: PersonId,
    pub company_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The latest stored score (GET /leads/{id}/score gives the current one with reasons).
    pub score: Option<f64>,
    /// Fit grade and engagement level, e.g. "A1".
    pub grade: Option<String>,
    /// hot, warm or cold.
    pub temperature: Option<String>,
    /// The conversion model's won probability for the open lead (none without a model).
    pub probability: Option<f64>,
    /// Expected deal value: its budget, else the average won deal of its segment.
    pub expected_value: Option<f64>,
    /// probability x expected value: `sort=-priority` lists the most valuable work first.
    pub priority: Option<f64>,
    /// BANT parts a rep confirmed.
    pub bant_confirmed: Vec<String>,
    /// Why the lead looks like junk: disposable_email, role_account, test_name,
    /// keyboard_mash, invalid_phone, bot_submission, manual. Empty when it looks real.
    pub junk: Vec<String>,
    /// A person decided (PUT /leads/{id}/junk); automatic checks leave the flag alone.
    pub junk_reviewed: bool,
    /// The person refused email (consent purpose `email`) or calls (`call`).
    pub do_not_email: bool,
    pub do_not_call: bool,
    /// Which key details are known: name, job_title, company, email, phone, product_need,
    /// budget, purchase_timeframe.
    #[schema(value_type = Object)]
    pub completeness: leadgate_core::quality::Completeness,
}

impl From<&StoredLead> for LeadView {
    fn from(stored: &StoredLead) -> Self {
        let lead = &stored.lead;
        let text = |t: &Option<leadgate_core::Text>| t.as_ref().map(|t| t.as_str().to_owned());
        LeadView {
            id: stored.id,
            external_id: lead.external_id.as_ref().map(|e| e.as_str().to_owned()),
            stage: lead.stage.as_str().to_owned(),
            owner: text(&lead.owner),
            first_name: text(&lead.first_name),
            last_name: text(&lead.last_name),
            email: lead.email.as_ref().map(|e| e.as_str().to_owned()),
            phone: lead.phone.as_ref().map(|p| p.as_str().to_owned()),
            job_title: text(&lead.job_title),
            country: text(&lead.country),
            company: text(&lead.company),
            industry: text(&lead.industry),
            company_size: lead.company_size,
            website: text(&lead.website),
            company_domain: lead.company_domain(),
            product_need: text(&lead.product_need),
            budget: lead.budget,
            purchase_timeframe: text(&lead.purchase_timeframe),
            current_solution: text(&lead.current_solution),
            pains: text(&lead.pains),
            custom: lead.custom.clone(),
            channel: stored.first_touch.channel.as_str().to_owned(),
            source_class: stored.first_touch.source_class.as_str().to_owned(),
            campaign: text(&stored.first_touch.campaign),
            first_touch: serde_json::to_value(&stored.first_touch).unwrap_or_default(),
            last_touch: serde_json::to_value(&stored.last_touch).unwrap_or_default(),
            person_id: stored.person_id,
            company_id: stored.company_id,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            score: stored
                .snapshot
                .as_ref()
                .map(|s| (s.score * 10.0).round() / 10.0),
            grade: stored.snapshot.as_ref().map(|s| s.grade.clone()),
            temperature: stored.snapshot.as_ref().map(|s| s.temperature.clone()),
            probability: stored.prediction.as_ref().map(|p| p.probability),
            expected_value: stored.prediction.as_ref().map(|p| p.expected_value),
            priority: stored.prediction.as_ref().map(|p| p.priority),
            bant_confirmed: stored
                .bant_confirmed
                .iter()
                .map(|p| p.name().to_owned())
                .collect(),
            junk: stored.junk.iter().map(|r| r.as_str().to_owned()).collect(),
            junk_reviewed: stored.junk_reviewed,
            do_not_email: stored.do_not_email,
            do_not_call: stored.do_not_call,
            completeness: leadgate_core::quality::completeness(&stored.lead),
        }
    }
}

/// The body of `POST /leads`: any lead field and where the lead came from. Read by core's
/// `LeadPatch` and `Source`; its description is made from the same fields and limits.
pub struct NewLead;

/// The body of `PATCH /leads/{id}`: any lead field but the stage. A field set to null (or
/// "") is cleared, `custom` is merged key by key; the source fields cannot be changed.
pub struct LeadEdit;

impl utoipa::PartialSchema for NewLead {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        leadgate_core::openapi::lead_body(PatchMode::Create).into()
    }
}

impl ToSchema for NewLead {}

impl utoipa::PartialSchema for LeadEdit {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        leadgate_core::openapi::lead_body(PatchMode::Update).into()
    }
}

impl ToSchema for LeadEdit {}

/// Fields of which a new lead needs at least one, so it can be told apart.
const IDENTIFYING: [&str; 6] = [
    "email",
    "phone",
    "external_id",
    "first_name",
    "last_name",
    "company",
];

/// A new lead must be told apart from others: it needs one identifying field.
pub(crate) fn require_identity(input: &Map<String, Value>) -> Result<(), FieldErrors> {
    if IDENTIFYING
        .iter()
        .any(|f| input.get(*f).is_some_and(|v| !v.is_null() && v != ""))
    {
        return Ok(());
    }
    Err(FieldError::new(
        "email",
        "a new lead needs at least one of email, phone, external_id, first_name, last_name or company",
    )
    .into())
}

#[utoipa::path(post, path = "/api/v1/leads", tag = "leads",
    request_body = NewLead,
    responses(
        (status = 201, description = "Created", body = LeadView),
        (status = 200, description = "Matched an existing lead by external_id or email, and updated it", body = LeadView),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 401, description = "No valid API key", body = Problem),
        (status = 409, description = "Conflicts with another lead", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 422, description = "Invalid values", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0))]
async fn create_lead(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    scope: Option<Extension<LeadScope>>,
    JsonObject(mut input): JsonObject,
) -> Result<(StatusCode, HeaderMap, Json<LeadView>), ApiError> {
    // A sales key's capture may update only its team's leads: the store decides, in the
    // transaction that finds the lead the capture matches.
    let submitter = match scope {
        Some(Extension(scope)) if scope != LeadScope::All => Submitter::Scoped(scope),
        _ => Submitter::Trusted,
    };
    let raw = Value::Object(input.clone());
    let mut errors = FieldErrors::default();
    let source = Source::take_from(&mut input, Channel::Api).unwrap_or_else(|e| {
        errors.0.extend(e.0);
        None
    });
    if let Err(e) = require_identity(&input) {
        errors.0.extend(e.0);
    }
    let patch = LeadPatch::parse(&input, PatchMode::Create).unwrap_or_else(|e| {
        errors.0.extend(e.0);
        LeadPatch::default()
    });
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let outcome = leadgate_app::capture(
        &state.store,
        &state.models,
        Capture {
            patch,
            source,
            raw,
            at: Utc::now(),
            actor: actor.0.clone(),
            bot: false,
            by: submitter,
        },
        None,
    )
    .await?;
    let mut headers = HeaderMap::new();
    let status = if outcome.created {
        if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/leads/{}", outcome.lead.id)) {
            headers.insert(header::LOCATION, location);
        }
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, headers, Json(LeadView::from(&outcome.lead))))
}

pub fn parse_id(raw: &str) -> Result<LeadId, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(LeadId)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no lead has id '{raw}'; ids are positive whole numbers"
            ))
        })
}

#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    responses((status = 200, body = LeadView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_lead(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<LeadView>, ApiError> {
    let lead = state.store.lead(parse_id(&id)?).await?;
    Ok(Json(LeadView::from(&lead)))
}

#[utoipa::path(patch, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = i64, Path, description = "Lead id")),
    request_body = LeadEdit,
    responses(
        (status = 200, description = "Updated; each change is a field_changed event", body = LeadView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0, lead = %id))]
async fn update_lead(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> Result<Json<LeadView>, ApiError> {
    let id = parse_id(&id)?;
    let mut errors = FieldErrors::default();
    for key in Source::KEYS {
        if input.contains_key(key) {
            errors.push(FieldError::new(
                key,
                "is where the lead came from; it is set by capture, not edited",
            ));
        }
    }
    let rest: Map<String, Value> = input
        .into_iter()
        .filter(|(k, _)| !Source::KEYS.contains(&k.as_str()))
        .collect();
    let patch = LeadPatch::parse(&rest, PatchMode::Update).unwrap_or_else(|e| {
        errors.0.extend(e.0);
        LeadPatch::default()
    });
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let lead =
        leadgate_app::capture::edit(&state.store, &state.models, id, &patch, &actor.0).await?;
    Ok(Json(LeadView::from(&lead)))
}

/// Filters, order and page of `GET /leads` (the export takes the same filters): every
/// parameter read as text, then checked by `filter`, which names each bad one.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeadQuery {
    /// Only leads in this stage.
    #[param(schema_with = schema::stage)]
    stage: Option<String>,
    /// Only leads whose first touch came through this channel (same as `channel`).
    #[param(schema_with = schema::channel)]
    source: Option<String>,
    #[param(schema_with = schema::channel)]
    channel: Option<String>,
    #[param(schema_with = schema::source_class)]
    source_class: Option<String>,
    campaign: Option<String>,
    owner: Option<String>,
    /// Created at or after this RFC 3339 time.
    #[param(schema_with = schema::time)]
    created_from: Option<String>,
    /// Created before this RFC 3339 time.
    #[param(schema_with = schema::time)]
    created_to: Option<String>,
    /// Text found in the name, email or company (case-insensitive).
    q: Option<String>,
    /// A grade such as A1, or a fit grade letter such as A.
    grade: Option<String>,
    /// hot, warm or cold.
    #[param(schema_with = schema::temperature)]
    temperature: Option<String>,
    /// Stored score at least this.
    #[param(value_type = Option<f64>)]
    min_score: Option<String>,
    /// true: only leads flagged as junk; false: only leads that look real.
    #[param(value_type = Option<bool>)]
    junk: Option<String>,
    /// created_at, updated_at, id or score; prefix '-' for descending. Default -created_at.
    sort: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl LeadQuery {
    /// The filter the parameters ask for, or every bad one.
    fn filter(self) -> Result<LeadFilter, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut take = |name: &str, outcome: Result<(), String>| {
            if let Err(reason) = outcome {
                errors.push(FieldError::new(name, reason));
            }
        };
        let mut filter = LeadFilter {
            limit: 50,
            campaign: self.campaign,
            owner: self.owner,
            q: self.q,
            cursor: self.cursor,
            ..LeadFilter::default()
        };
        if let Some(v) = self.stage {
            take(
                "stage",
                v.parse()
                    .map(|s| filter.stage = Some(s))
                    .map_err(|e: leadgate_core::stage::UnknownStage| e.to_string()),
            );
        }
        for (name, value) in [("source", self.source), ("channel", self.channel)] {
            if let Some(v) = value {
                take(name, v.parse().map(|c| filter.channel = Some(c)));
            }
        }
        if let Some(v) = self.source_class {
            take(
                "source_class",
                v.parse().map(|c| filter.source_class = Some(c)),
            );
        }
        if let Some(v) = self.grade {
            let valid = v.len() <= 2
                && v.chars().next().is_some_and(|c| "ABCD".contains(c))
                && v.chars().nth(1).is_none_or(|c| "1234".contains(c));
            let reason = "is a grade such as A1 (fit A-D, engagement 1-4) or a fit grade such as A";
            take(
                "grade",
                valid
                    .then(|| filter.grade = Some(v))
                    .ok_or_else(|| reason.into()),
            );
        }
        if let Some(v) = self.junk {
            let junk = match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err("is true or false".to_owned()),
            };
            take("junk", junk.map(|j| filter.junk = Some(j)));
        }
        if let Some(v) = self.temperature {
            let known = matches!(v.as_str(), "hot" | "warm" | "cold");
            take(
                "temperature",
                known
                    .then(|| filter.temperature = Some(v))
                    .ok_or_else(|| "is hot, warm or cold".into()),
            );
        }
        if let Some(v) = self.min_score {
            let n = v.parse::<f64>().ok().filter(|n| n.is_finite());
            take(
                "min_score",
                n.map(|n| filter.min_score = Some(n))
                    .ok_or_else(|| "must be a number".into()),
            );
        }
        for (name, value, into) in [
            ("created_from", self.created_from, &mut filter.created_from),
            ("created_to", self.created_to, &mut filter.created_to),
        ] {
            if let Some(v) = value {
                let at = DateTime::parse_from_rfc3339(&v).map(|t| t.with_timezone(&Utc));
                take(
                    name,
                    at.map(|t| *into = Some(t))
                        .map_err(|_| "is not an RFC 3339 time such as 2026-05-01T00:00:00Z".into()),
                );
            }
        }
        if let Some(v) = self.sort {
            take("sort", v.parse().map(|s| filter.sort = s));
        }
        if let Some(v) = self.limit {
            let n = v.parse::<u32>().ok().filter(|n| (1..=1000).contains(n));
            take(
                "limit",
                n.map(|n| filter.limit = n)
                    .ok_or_else(|| "must be a whole number from 1 to 1000".into()),
            );
        }
        errors.into_result(filter)
    }
}

#[derive(Serialize, ToSchema)]
pub struct LeadList {
    pub leads: Vec<LeadView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The list's filters from a query string (a parameter given twice: the last counts).
pub(crate) fn lead_filter(params: Vec<(String, String)>) -> Result<LeadFilter, ApiError> {
    let given: Map<String, Value> = params
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    let (read, mut errors) = leadgate_core::validation::read_fields::<LeadQuery>(given);
    match read.unwrap_or_default().filter() {
        Ok(filter) if errors.is_empty() => Ok(filter),
        Ok(_) => Err(ApiError::BadQuery(errors)),
        Err(more) => {
            errors.0.extend(more.0);
            Err(ApiError::BadQuery(errors))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/leads", tag = "leads",
    params(LeadQuery),
    responses((status = 200, body = LeadList), (status = 400, description = "Bad filter", body = Problem), (status = 401, body = Problem)),
    security(("api_key" = [])))]
async fn list_leads(
    Reads(reads): Reads,
    scope: Option<axum::Extension<leadgate_core::access::LeadScope>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<LeadList>, ApiError> {
    let mut filter = lead_filter(params)?;
    // A sales key lists its team's leads only.
    if let Some(axum::Extension(scope)) = scope {
        filter = filter.within(&scope);
    }
    let page = reads.list_leads(&filter).await.map_err(|e| match e {
        leadgate_store::StoreError::Invalid(errors) => ApiError::BadQuery(errors),
        other => other.into(),
    })?;
    Ok(Json(LeadList {
        leads: page.leads.iter().map(LeadView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One event as stored.
#[derive(Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    pub lead_id: LeadId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub source: Option<String>,
    pub actor: Option<String>,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub idempotency_key: Option<String>,
}

impl From<StoredEvent> for EventView {
    fn from(e: StoredEvent) -> Self {
        EventView {
            id: e.id,
            lead_id: e.lead_id,
            event_type: e.event_type,
            occurred_at: e.occurred_at.0,
            recorded_at: e.recorded_at.0,
            source: e.source,
            actor: e.actor,
            payload: e.payload.0,
            idempotency_key: e.idempotency_key,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TimelineView {
    /// Newest first.
    pub events: Vec<EventView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/leads/{id}/timeline", tag = "leads",
    params(("id" = i64, Path, description = "Lead id"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size, 1 to 1000 (default 100)"),
           ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page")),
    responses((status = 200, body = TimelineView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn timeline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Json<TimelineView>, ApiError> {
    let id = parse_id(&id)?;
    let mut limit = 100;
    let mut cursor = None;
    let mut errors = FieldErrors::default();
    for (name, value) in params {
        match name.as_str() {
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    "limit",
                    "must be a whole number from 1 to 1000",
                )),
            },
            "cursor" => cursor = Some(value),
            _ => errors.push(FieldError::new(name, "is not a parameter of the timeline")),
        }
    }
    errors.into_result(()).map_err(ApiError::BadQuery)?;
    let page = state
        .store
        .timeline(id, limit, cursor.as_deref())
        .await
        .map_err(|e| match e {
            leadgate_store::StoreError::Invalid(errors) => ApiError::BadQuery(errors),
            other => other.into(),
        })?;
    Ok(Json(TimelineView {
        events: page.events.into_iter().map(EventView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
