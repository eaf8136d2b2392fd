//! One lead: profile and completeness, the rule score with its explanation beside the
//! model's prediction with its reasons, BANT, SLA clocks, tasks, the timeline of every event,
//! and the sales actions (accept/reject, qualify, disqualify/recycle, log, next step, outcome).

use super::leads::{countdown, display_name};
use super::{back, check_lead_access, html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::{Form, Json};
use chrono::{NaiveDateTime, Utc};
use leadgate_app::qualify;
use leadgate_app::Outcome;
use leadgate_core::access::Permission;
use leadgate_core::followup::{InteractionRequest, InteractionType, TaskRequest, TaskState};
use leadgate_core::id::LeadId;
use leadgate_core::lifecycle::MoveReason;
use leadgate_core::policy::BantPart;
use leadgate_core::scoring::{self, BantEvidence, Subject};
use leadgate_core::{quality, Stage};
use leadgate_store::{StoredEvent, StoredLead, TaskFilter};
use serde::Deserialize;
use serde_json::{json, Value};

pub struct Line {
    pub label: String,
    pub value: String,
}

pub struct Contribution {
    pub detail: String,
    pub points: String,
    pub up: bool,
}

pub struct BantRow {
    pub part: &'static str,
    pub evidence: &'static str,
    pub confirmed: bool,
}

pub struct PredictionView {
    pub probability: String,
    pub expected_value: String,
    pub basis: String,
    pub reasons: Vec<Contribution>,
}

pub struct EventLine {
    pub when: String,
    pub kind: String,
    pub actor: String,
    pub text: String,
}

pub struct ClockLine {
    pub rule: String,
    pub state: &'static str,
    pub due: String,
    pub countdown: Option<(String, bool)>,
}

pub struct TaskLine {
    pub title: String,
    pub due: String,
    pub state: &'static str,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    c: Chrome,
    id: LeadId,
    name: String,
    stage: &'static str,
    owner: String,
    junk: Vec<String>,
    profile: Vec<Line>,
    completeness: u8,
    missing: Vec<String>,
    score: String,
    /// "(MQL at 70)": the score the policy's MQL rule asks for, the scale to read it by.
    mql_at: String,
    grade: String,
    temperature: String,
    mql: bool,
    explanation: Vec<Contribution>,
    bant: Vec<BantRow>,
    sql_ready: bool,
    /// BANT is met partly by the lead's own details, not yet confirmed by a rep.
    bant_from_fields: bool,
    prediction: Option<PredictionView>,
    clocks: Vec<ClockLine>,
    tasks: Vec<TaskLine>,
    timeline: Vec<EventLine>,
    can_work: bool,
    /// Stages a person may move this lead to from here, with the form each needs.
    moves: Vec<&'static str>,
    reject_reasons: Vec<String>,
    disqualify_reasons: Vec<String>,
    recycle_reasons: Vec<String>,
    interaction_types: Vec<(&'static str, String)>,
    /// Each interaction type's outcomes (a call is not bounced, an email has no no-show).
    interaction_outcomes: Vec<(&'static str, Vec<&'static str>)>,
    can_close: bool,
    /// Reps the user may give this lead to (none: the user may not assign).
    assignees: Vec<leadgate_store::Rep>,
    /// The editable fields with their values (none: the user may not edit leads).
    edit: Vec<super::edit::EditField>,
    /// The lead is flagged junk now (the verdict form offers the other way).
    is_junk: bool,
    /// Email templates a rep may send the lead.
    templates: Vec<String>,
    /// The person's consents, for a user who handles privacy (admins).
    consents: Option<Vec<ConsentLine>>,
}

pub struct ConsentLine {
    pub purpose: String,
    pub granted: bool,
    pub wording: String,
    pub when: String,
    pub actor: String,
}

fn text<T: AsRef<str>>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|t| t.as_ref().to_owned())
        .unwrap_or_default()
}

fn profile(c: &Chrome, lead: &StoredLead) -> Vec<Line> {
    let l = &lead.lead;
    let mut lines = vec![
        (
            "email",
            l.email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "phone",
            l.phone
                .as_ref()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ("job_title", text(&l.job_title)),
        ("company", text(&l.company)),
        ("industry", text(&l.industry)),
        (
            "company_size",
            l.company_size.map(|n| c.t.int(n)).unwrap_or_default(),
        ),
        ("country", text(&l.country)),
        ("website", text(&l.website)),
        ("company_domain", l.company_domain().unwrap_or_default()),
        ("product_need", text(&l.product_need)),
        (
            "budget",
            l.budget.map(|b| c.t.num(b, 0)).unwrap_or_default(),
        ),
        ("purchase_timeframe", text(&l.purchase_timeframe)),
        ("current_solution", text(&l.current_solution)),
        ("pains", text(&l.pains)),
        (
            "channel",
            c.tk("channel", lead.first_touch.channel.as_str()),
        ),
        ("campaign", text(&lead.first_touch.campaign)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| Line {
        label: c.t(&format!("field.{k}")).to_owned(),
        value: v,
    })
    .collect::<Vec<_>>();
    for (key, value) in &l.custom {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        lines.push(Line {
            label: key.clone(),
            value,
        });
    }
    if lead.do_not_email {
        lines.push(Line {
            label: c.t("lead.consent").into(),
            value: c.t("lead.do_not_email").into(),
        });
    }
    if lead.do_not_call {
        lines.push(Line {
            label: c.t("lead.consent").into(),
            value: c.t("lead.do_not_call").into(),
        });
    }
    lines
}

/// Why a lead moved, in the reader's language (a person's own words as they wrote them).
fn move_reason(c: &Chrome, why: &MoveReason) -> String {
    let score = |v: f64| c.t.num(v, 1);
    match why {
        MoveReason::Given { text } => text.clone(),
        MoveReason::MqlRuleHolds {
            score: points,
            min_score,
            fit: None,
        } => c.t.tf(
            "timeline.mql_holds",
            &[("score", &score(*points)), ("min", &c.t.num(*min_score, 0))],
        ),
        MoveReason::MqlRuleHolds {
            score: points,
            min_score,
            fit: Some(fit),
        } => c.t.tf(
            "timeline.mql_holds_fit",
            &[
                ("score", &score(*points)),
                ("min", &c.t.num(*min_score, 0)),
                ("grade", &fit.grade.to_string()),
                ("min_grade", &fit.at_least.to_string()),
            ],
        ),
        MoveReason::MqlRuleLost {
            version,
            score: points,
        } => c.t.tf(
            "timeline.mql_lost",
            &[
                ("version", &version.to_string()),
                ("score", &score(*points)),
            ],
        ),
        MoveReason::Junk { flags } => {
            let flags: Vec<String> = flags.iter().map(|f| c.tk("junk", f)).collect();
            c.t.tf("timeline.junk_flags", &[("flags", &flags.join(", "))])
        }
        MoveReason::NoResponse => c.t("timeline.no_response").to_owned(),
        MoveReason::MovedBy { actor } => c.t.tf("timeline.moved_by", &[("actor", actor)]),
    }
}

/// One event in a sentence of its own data.
fn describe(c: &Chrome, event: &StoredEvent) -> String {
    let p = &event.payload.0;
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    match event.event_type.as_str() {
        "stage_changed" => {
            let mut line = format!("{} → {}", c.stage_name(&s("from")), c.stage_name(&s("to")));
            let why = p
                .get("why")
                .and_then(|why| serde_json::from_value::<MoveReason>(why.clone()).ok());
            let reason = why.map_or_else(|| s("reason"), |why| move_reason(c, &why));
            if !reason.is_empty() {
                line.push_str(&format!(": {reason}"));
            }
            line
        }
        "outcome_recorded" => {
            let mut line = c.t(&format!("outcome.{}", s("outcome"))).to_owned();
            if let Some(v) = p.get("value").and_then(Value::as_f64) {
                line.push_str(&format!(" ({})", c.t.num(v, 0)));
            }
            if !s("reason").is_empty() {
                line.push_str(&format!(": {}", s("reason")));
            }
            line
        }
        // A message that arrived by mail: who wrote, about what, the start of it.
        "email_logged" if s("direction") == "inbound" => {
            let mut parts = vec![format!("{}: {}", s("sender"), s("subject"))];
            if !s("text").is_empty() {
                parts.push(short(&Value::String(s("text"))));
            }
            let attached = p
                .get("attachment_count")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if attached > 0 {
                parts.push(c.t.count("timeline.attachments", attached, &[]));
            }
            parts.join(" · ")
        }
        "call_logged" | "email_logged" | "meeting_logged" | "note_added" => {
            let outcome = s("outcome");
            let mut parts = Vec::new();
            if !outcome.is_empty() {
                parts.push(c.tk("interaction_outcome", &outcome));
            }
            if !s("notes").is_empty() {
                parts.push(short(&Value::String(s("notes"))));
            }
            if let Some(next) = p.get("next_step").and_then(|n| n.get("title")) {
                parts.push(format!("{}: {}", c.t("lead.next_step"), short(next)));
            }
            parts.join(" · ")
        }
        "field_changed" if s("field") == "bant" => {
            let parts = p
                .get("new")
                .and_then(Value::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|part| c.tk("bant", part))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            if parts.is_empty() {
                c.t("timeline.bant_none").to_owned()
            } else {
                c.t.tf("timeline.bant", &[("parts", &parts.join(", "))])
            }
        }
        "field_changed" => {
            let field = s("field");
            let label = match c.t(&format!("field.{field}")) {
                missing if missing.starts_with("field.") => field.clone(),
                label => label.to_owned(),
            };
            let mut line = format!(
                "{label}: {} → {}",
                p.get("old").map(short).unwrap_or_default(),
                p.get("new").map(short).unwrap_or_default()
            );
            if !s("reason").is_empty() {
                line.push_str(&format!(" ({})", s("reason")));
            }
            line
        }
        "task_created" | "task_due" => {
            let mut parts = vec![s("title")];
            if let Some(due) = time(p.get("due_at")) {
                parts.push(c.t.tf("timeline.due", &[("when", &c.when(&due))]));
            }
            if !s("owner").is_empty() {
                parts.push(s("owner"));
            }
            parts.join(" · ")
        }
        "task_completed" => c.tk("task_state", &s("state")),
        "owner_assigned" => {
            let from = Some(s("from")).filter(|f| !f.is_empty());
            let mut line = match from {
                Some(from) => format!("{from} → {}", s("to")),
                None => s("to"),
            };
            if !s("reason").is_empty() {
                line.push_str(&format!(": {}", s("reason")));
            }
            line
        }
        "sla_breached" => {
            let mut line = s("rule");
            if let Some(due) = time(p.get("due_at")) {
                line.push_str(&format!(
                    " · {}",
                    c.t.tf("timeline.due", &[("when", &c.when(&due))])
                ));
            }
            line
        }
        "grade_changed" => format!(
            "{} → {} · {}",
            s("from_grade"),
            s("to_grade"),
            c.tk("temperature", &s("temperature"))
        ),
        // A page the site tracker saw: which, its title, the visit, how long it was read.
        "page_viewed" if p.get("tracked") == Some(&Value::Bool(true)) => {
            let mut parts = vec![s("page")];
            if !s("title").is_empty() {
                parts.push(s("title"));
            }
            if let Some(visit) = p.get("visit").and_then(Value::as_u64) {
                parts.push(c.t.tf("timeline.visit", &[("n", &visit.to_string())]));
            }
            if let Some(seconds) = p.get("seconds").and_then(Value::as_u64).filter(|s| *s > 0) {
                parts.push(c.t.tf("timeline.read_for", &[("seconds", &seconds.to_string())]));
            }
            parts.join(" · ")
        }
        "email_sent" => s("subject"),
        "form_submitted" => {
            let source = p.get("source").cloned().unwrap_or(Value::Null);
            let channel = source.get("channel").and_then(Value::as_str).unwrap_or("");
            let mut line = if channel.is_empty() {
                String::new()
            } else {
                c.tk("channel", channel)
            };
            if let Some(campaign) = source.get("campaign").and_then(Value::as_str) {
                line.push_str(&format!(" · {campaign}"));
            }
            if p.get("created").and_then(Value::as_bool) == Some(true) {
                line.push_str(&format!(" · {}", c.t("timeline.created")));
            }
            line.trim_start_matches(" · ").to_owned()
        }
        // Anything else: its plain values in a line; times on the reader's clock, nested
        // data (a form's raw input) left to the API.
        _ => p
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| match v {
                        Value::String(text) if !text.is_empty() => Some(match time(Some(v)) {
                            Some(at) => format!("{k}: {}", c.when(&at)),
                            None => format!("{k}: {}", short(&Value::String(text.clone()))),
                        }),
                        Value::Number(n) => Some(format!("{k}: {n}")),
                        _ => None,
                    })
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" · ")
            })
            .unwrap_or_default(),
    }
}

/// A time in an event's payload (RFC 3339).
fn time(v: Option<&Value>) -> Option<chrono::DateTime<Utc>> {
    v.and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Points with their sign, to a tenth only when they have one: "+25", "-5", "+7.5".
fn points(p: f64) -> String {
    let tenths = (p * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:+.0}")
    } else {
        format!("{tenths:+.1}")
    }
}

/// One rule's share of the score in the reader's language and dates (the points stand
/// beside it, so they are not repeated): "Webinar attended 3 Nov 2026, decayed from +15".
fn explain(c: &Chrome, contribution: &scoring::Contribution) -> String {
    match &contribution.subject {
        Subject::Field { shown } => format!("{}: {shown}", contribution.rule),
        Subject::Junk(reason) => format!("{}: {}", c.t("lead.junk"), c.tk("junk", reason.as_str())),
        Subject::Events(kind) => {
            let events = &contribution.events;
            let event = c.tk("event", kind.as_str());
            let Some(latest) = events.iter().map(|e| e.occurred_at).max() else {
                return event;
            };
            let date = c.day(&latest);
            let mut text = if events.len() == 1 {
                c.t.tf("why.once", &[("event", &event), ("date", &date)])
            } else {
                c.t.count(
                    "why.many",
                    events.len() as i64,
                    &[("event", &event), ("date", &date)],
                )
            };
            let full: f64 = events.iter().map(|e| e.full).sum();
            let now: f64 = events.iter().map(|e| e.now).sum();
            if (full - now).abs() > 0.05 {
                text =
                    c.t.tf("why.decayed", &[("text", &text), ("full", &points(full))]);
            }
            if (now - contribution.points).abs() > 0.05 {
                text = c.t.tf("why.capped", &[("text", &text)]);
            }
            text
        }
    }
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// Where a person may move a lead from `stage` with the page's forms.
fn moves(stage: Stage) -> Vec<&'static str> {
    match stage {
        Stage::Prospect | Stage::Lead => vec!["mql", "disqualified"],
        Stage::Mql => vec!["sal", "recycled", "disqualified"],
        Stage::Sal => vec!["sql", "recycled", "disqualified"],
        Stage::Sql => vec!["opportunity", "recycled", "disqualified"],
        Stage::Opportunity => vec!["recycled", "disqualified"],
        Stage::Recycled => vec!["lead", "mql", "disqualified"],
        Stage::Disqualified => vec!["lead"],
        Stage::Customer => vec![],
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let id = crate::http::parse_id(&raw)
        .map_err(|_| WebError::NotFound(format!("no lead has id '{raw}'")))?;
    let store = &state.store;
    let lead = store.lead(id).await?;
    check_lead_access(&state, &signed.user, &lead).await?;
    let c = Chrome::new(&signed, "leads").with_flash(&flash);
    let now = Utc::now();
    let scored = leadgate_app::rescore::score_lead(store, id, now).await?;
    let score = &scored.score;
    let active = store.active_policy(&scored.product).await?;
    let completeness = quality::completeness(&lead.lead);
    let prediction = if leadgate_core::lifecycle::is_open(lead.lead.stage) {
        state.models.prediction(id, now).await?
    } else {
        None
    };
    let timeline = store.timeline(id, 200, None).await?;
    let clocks = store.lead_clocks(id, now).await?;
    let tasks = store
        .tasks(&TaskFilter {
            lead_id: Some(id),
            limit: 50,
            ..TaskFilter::default()
        })
        .await?;
    let stages = &active.policy.stages;
    let page = LeadPage {
        id,
        name: display_name(&lead),
        stage: lead.lead.stage.as_str(),
        owner: text(&lead.lead.owner),
        junk: lead.junk.iter().map(|j| j.as_str().to_owned()).collect(),
        profile: profile(&c, &lead),
        completeness: completeness.percent,
        missing: completeness
            .missing
            .iter()
            .map(|m| c.t(&format!("detail.{m}")).to_owned())
            .collect(),
        score: c.t.num(score.score, 1),
        mql_at: c.t.tf(
            "lead.mql_at",
            &[("score", &c.t.num(active.policy.mql.min_score, 0))],
        ),
        grade: score.grade.clone(),
        temperature: score.temperature.as_str().to_owned(),
        // Only news before a lead is MQL: past it, the stage says more.
        mql: score.mql
            && matches!(
                lead.lead.stage,
                Stage::Prospect | Stage::Lead | Stage::Recycled
            ),
        bant_from_fields: score.bant.sql_ready
            && BantPart::ALL
                .into_iter()
                .any(|part| score.bant.evidence(part) == BantEvidence::Fields),
        explanation: score
            .explanation
            .iter()
            .map(|e| Contribution {
                detail: explain(&c, e),
                points: points(e.points),
                up: e.points >= 0.0,
            })
            .collect(),
        bant: BantPart::ALL
            .into_iter()
            .map(|part| BantRow {
                part: part.name(),
                evidence: match score.bant.evidence(part) {
                    BantEvidence::Fields => "fields",
                    BantEvidence::Confirmed => "confirmed",
                    BantEvidence::Missing => "missing",
                },
                confirmed: lead.bant_confirmed.contains(&part),
            })
            .collect(),
        sql_ready: score.bant.sql_ready,
        prediction: prediction.map(|p| PredictionView {
            probability: c.t.pct(p.probability),
            expected_value: c.t.num(p.expected_value, 0),
            basis: p.value_basis,
            reasons: p
                .reasons
                .iter()
                .take(8)
                .map(|r| Contribution {
                    detail: r.text.clone(),
                    points: points(r.points),
                    up: r.points >= 0.0,
                })
                .collect(),
        }),
        clocks: clocks
            .iter()
            .map(|k| ClockLine {
                rule: k.rule.clone(),
                state: k.state.as_str(),
                due: c.when(&k.due_at.0),
                countdown: countdown(c.t, c.zone, k),
            })
            .collect(),
        tasks: tasks
            .iter()
            .map(|t| TaskLine {
                title: t.title.clone(),
                due: c.when(&t.due_at.0),
                state: t.state.as_str(),
                overdue: t.state == TaskState::Open && t.due_at.0 < now,
            })
            .collect(),
        timeline: timeline
            .events
            .iter()
            .map(|e| EventLine {
                when: c.when(&e.occurred_at.0),
                kind: c.t(&format!("event.{}", e.event_type)).to_owned(),
                actor: e.actor.clone().unwrap_or_default(),
                text: describe(&c, e),
            })
            .collect(),
        can_work: signed.user.role.allows(Permission::WorkLeads),
        moves: moves(lead.lead.stage),
        reject_reasons: stages.sal_reject_reasons.clone(),
        disqualify_reasons: stages.disqualify_reasons.clone(),
        recycle_reasons: stages.recycle_reasons.clone(),
        interaction_types: InteractionType::ALL
            .iter()
            .map(|t| {
                (
                    t.as_str(),
                    c.t(&format!("interaction.{}", t.as_str())).to_owned(),
                )
            })
            .collect(),
        interaction_outcomes: InteractionType::ALL
            .iter()
            .map(|t| (t.as_str(), t.outcomes().to_vec()))
            .filter(|(_, outcomes)| !outcomes.is_empty())
            .collect(),
        can_close: matches!(lead.lead.stage, Stage::Sql | Stage::Opportunity),
        assignees: super::assign::assignees(store, &signed.user).await?,
        edit: if signed.user.role.allows(Permission::CaptureLeads) {
            super::edit::fields(&c, &lead.lead)
        } else {
            Vec::new()
        },
        is_junk: !lead.junk.is_empty(),
        templates: if signed.user.role.allows(Permission::WorkLeads) {
            store
                .email_templates()
                .await?
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        } else {
            Vec::new()
        },
        consents: if signed.user.role.allows(Permission::Privacy) {
            let person = store.person_of_lead(id).await?;
            Some(
                store
                    .consents(person)
                    .await?
                    .current
                    .into_iter()
                    .map(|k| ConsentLine {
                        when: c.when(&k.recorded_at.0),
                        purpose: k.purpose,
                        granted: k.granted,
                        wording: k.wording.unwrap_or_default(),
                        actor: k.actor,
                    })
                    .collect(),
            )
        } else {
            None
        },
        c,
    };
    html(page)
}

/// The lead of an action, checked: the user works leads, the lead is theirs to work.
async fn workable(
    state: &AppState,
    signed: &Signed,
    raw: &str,
    csrf: &str,
) -> Result<LeadId, WebError> {
    signed.check_csrf(csrf)?;
    require(&signed.user, Permission::WorkLeads)?;
    let id = crate::http::parse_id(raw)
        .map_err(|_| WebError::NotFound(format!("no lead has id '{raw}'")))?;
    let lead = state.store.lead(id).await?;
    check_lead_access(state, &signed.user, &lead).await?;
    Ok(id)
}

/// Answers an action: JSON for the board's script, else back to the lead page.
fn answer(headers: &HeaderMap, id: LeadId, outcome: Result<&str, String>) -> PageResult {
    if wants_json(headers) {
        return Ok(match outcome {
            Ok(done) => Json(json!({"ok": true, "done": done})).into_response(),
            Err(error) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"ok": false, "error": error})),
            )
                .into_response(),
        });
    }
    Ok(back(&format!("/leads/{id}"), outcome))
}

/// Whether the request is the board's script, which reads JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A refusal the user can act on becomes a message on the page; anything else fails the
/// request.
fn refusal<T, E: Into<WebError>>(result: Result<T, E>) -> Result<Result<T, String>, WebError> {
    match result.map_err(Into::into) {
        Ok(v) => Ok(Ok(v)),
        Err(WebError::Invalid(message)) => Ok(Err(message)),
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    override_bant: Option<String>,
}

pub async fn move_lead(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<MoveForm>,
) -> PageResult {
    let id = workable(&state, &signed, &raw, &form.csrf).await?;
    let to = match form.to.parse::<Stage>() {
        Ok(to) => to,
        Err(e) => return answer(&headers, id, Err(format!("to: {e}"))),
    };
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    let moved = qualify::move_lead(
        &state.store,
        &state.models,
        id,
        to,
        reason,
        form.override_bant.is_some(),
        &signed.user.name,
    )
    .await;
    match moved {
        Err(leadgate_app::AppError::Refused(refused)) => {
            let c = Chrome::new(&signed, "leads");
            let head = c.t.tf(
                "lead.refused",
                &[
                    ("from", &c.stage_name(refused.from.as_str())),
                    ("to", &c.stage_name(refused.to.as_str())),
                ],
            );
            let text = format!("{head}: {}", refused.rule);
            if wants_json(&headers) {
                // The board asks for a reason in its dialog when the rule wants one.
                return Ok((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"ok": false, "error": text, "needs_reason": refused.rule.contains("reason")})),
                )
                    .into_response());
            }
            answer(&headers, id, Err(text))
        }
        other => answer(&headers, id, refusal(other)?.map(|_| "moved")),
    }
}

#[derive(Deserialize)]
pub struct BantForm {
    #[serde(default)]
    csrf: String,
    budget: Option<String>,
    authority: Option<String>,
    need: Option<String>,
    timeline: Option<String>,
}

pub async fn bant(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<BantForm>,
) -> PageResult {
    let id = workable(&state, &signed, &raw, &form.csrf).await?;
    let changes = [
        (BantPart::Budget, form.budget.is_some()),
        (BantPart::Authority, form.authority.is_some()),
        (BantPart::Need, form.need.is_some()),
        (BantPart::Timeline, form.timeline.is_some()),
    ];
    let done = refusal(
        qualify::confirm_bant(&state.store, &state.models, id, &changes, &signed.user.name).await,
    )?;
    answer(&headers, id, done.map(|_| "bant"))
}

#[derive(Deserialize)]
pub struct LogForm {
    #[serde(default)]
    csrf: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    next_type: String,
    #[serde(default)]
    next_title: String,
    #[serde(default)]
    next_due: String,
}

/// A `datetime-local` value (the user's wall clock in `zone`) or an RFC 3339 time, as
/// RFC 3339. A wall-clock time skipped by a daylight-saving change is passed on as typed,
/// for the API's validation to refuse by name.
fn local_time(raw: &str, zone: chrono_tz::Tz) -> String {
    NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|t| t.and_local_timezone(zone).earliest())
        .map(|t| t.with_timezone(&Utc).to_rfc3339())
        .unwrap_or_else(|| raw.trim().to_owned())
}

pub async fn log(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<LogForm>,
) -> PageResult {
    let id = workable(&state, &signed, &raw, &form.csrf).await?;
    let filled = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
    let next_step =
        (!form.next_due.trim().is_empty() || !form.next_title.trim().is_empty()).then(|| {
            TaskRequest {
                task_type: Some(filled(&form.next_type).unwrap_or_else(|| "todo".into())),
                due_at: Some(local_time(&form.next_due, signed.user.zone())),
                title: filled(&form.next_title),
                ..TaskRequest::default()
            }
        });
    let now = Utc::now();
    let request = InteractionRequest {
        kind: Some(form.kind),
        outcome: filled(&form.outcome),
        notes: filled(&form.notes),
        next_step,
        ..InteractionRequest::default()
    };
    let interaction = match request.check(now) {
        Ok(i) => i,
        Err(errors) => return answer(&headers, id, Err(errors.to_string())),
    };
    let done = refusal(
        leadgate_app::followup::log_interaction(
            &state.store,
            id,
            &interaction,
            &signed.user.name,
            now,
        )
        .await,
    )?;
    answer(&headers, id, done.map(|_| "logged"))
}

#[derive(Deserialize)]
pub struct OutcomeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    lost_to: String,
}

pub async fn outcome(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<OutcomeForm>,
) -> PageResult {
    let id = workable(&state, &signed, &raw, &form.csrf).await?;
    let outcome = match form.result.as_str() {
        "won" => {
            let value = form.value.trim().replace(',', "");
            let value = if value.is_empty() {
                None
            } else {
                match value.parse::<f64>() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        return answer(
                            &headers,
                            id,
                            Err(format!("value: '{}' is not a number", form.value)),
                        )
                    }
                }
            };
            Outcome::Won { value }
        }
        "lost" => Outcome::Lost {
            reason: form.reason.trim().to_owned(),
            to: if form.lost_to == "recycled" {
                Stage::Recycled
            } else {
                Stage::Disqualified
            },
        },
        other => {
            return answer(
                &headers,
                id,
                Err(format!("result: '{other}' is not won or lost")),
            )
        }
    };
    let done =
        refusal(qualify::record_outcome(&state.store, id, outcome, &signed.user.name).await)?;
    answer(&headers, id, done.map(|_| "outcome"))
}
