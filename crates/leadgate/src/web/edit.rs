//! Changing leads by hand: a lead's fields and its junk verdict from its page, and a lead
//! typed in (met at a fair, a phone call), each through the same checks as the API.

use super::form_field as field;
use super::{back, check_lead_access, html, require, Chrome, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use chrono::Utc;
use leadgate_core::access::Permission;
use leadgate_core::lead::PatchMode;
use leadgate_core::{Channel, Lead, LeadPatch, Source};
use leadgate_store::{Capture, Submitter};
use serde_json::{Map, Value};

/// The fields a person edits on the lead page and fills in for a new lead.
pub const EDITABLE: [&str; 15] = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company",
    "industry",
    "company_size",
    "country",
    "website",
    "product_need",
    "budget",
    "purchase_timeframe",
    "current_solution",
    "pains",
];

/// Fields whose value is a number.
const NUMBERS: [&str; 2] = ["company_size", "budget"];

/// The channels a lead typed in by hand may have come through.
const BY_HAND: [Channel; 6] = [
    Channel::Phone,
    Channel::Event,
    Channel::Referral,
    Channel::Email,
    Channel::Partner,
    Channel::Other,
];

/// One field of the form: its name, label and current value.
pub struct EditField {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub number: bool,
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The form's fields with a lead's values (empty for a new lead).
pub fn fields(c: &Chrome, lead: &Lead) -> Vec<EditField> {
    let values = lead.to_json_fields();
    EDITABLE
        .into_iter()
        .map(|name| EditField {
            name,
            label: c.t(&format!("field.{name}")).to_owned(),
            value: values.get(name).map(shown).unwrap_or_default(),
            number: NUMBERS.contains(&name),
        })
        .collect()
}

/// The fields a form changed, as the API's JSON would send them: a cleared field is null, a
/// number a number (or the text as typed, for the check to name).
fn changes(form: &[(String, String)], before: &Lead) -> Map<String, Value> {
    let old = before.to_json_fields();
    let mut out = Map::new();
    for name in EDITABLE {
        let Some((_, typed)) = form.iter().find(|(k, _)| k == name) else {
            continue;
        };
        let typed = typed.trim();
        if typed == old.get(name).map(shown).unwrap_or_default() {
            continue;
        }
        let value = if typed.is_empty() {
            Value::Null
        } else if NUMBERS.contains(&name) {
            typed
                .replace([',', ' '], "")
                .parse::<f64>()
                .ok()
                .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
                .unwrap_or_else(|| Value::String(typed.to_owned()))
        } else {
            Value::String(typed.to_owned())
        };
        out.insert(name.to_owned(), value);
    }
    out
}

/// The lead of an edit, checked: the user captures leads and reaches this one.
async fn editable(
    state: &AppState,
    signed: &Signed,
    raw: &str,
    csrf: &str,
) -> Result<leadgate_store::StoredLead, WebError> {
    signed.check_csrf(csrf)?;
    require(&signed.user, Permission::CaptureLeads)?;
    let id = crate::http::parse_id(raw)
        .map_err(|_| WebError::NotFound(format!("no lead has id '{raw}'")))?;
    let lead = state.store.lead(id).await?;
    check_lead_access(state, &signed.user, &lead).await?;
    Ok(lead)
}

/// Saves the fields a person changed on the lead page.
pub async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let lead = editable(&state, &signed, &raw, field(&form, "csrf")).await?;
    let page = format!("/leads/{}", lead.id);
    let changed = changes(&form, &lead.lead);
    if changed.is_empty() {
        return Ok(back(&page, Ok("unchanged")));
    }
    let patch = match LeadPatch::parse(&changed, PatchMode::Update) {
        Ok(patch) => patch,
        Err(errors) => return Ok(back(&page, Err(errors.to_string()))),
    };
    match leadgate_app::capture::edit(
        &state.store,
        &state.models,
        lead.id,
        &patch,
        &signed.user.name,
    )
    .await
    {
        Ok(_) => Ok(back(&page, Ok("edited"))),
        Err(e) => match WebError::from(e) {
            WebError::Invalid(m) => Ok(back(&page, Err(m))),
            other => Err(other),
        },
    }
}

/// A person's junk verdict on the lead page: junk, or real after all, with why.
pub async fn junk(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let lead = editable(&state, &signed, &raw, field(&form, "csrf")).await?;
    let page = format!("/leads/{}", lead.id);
    let reason = field(&form, "reason").trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Ok(back(
            &page,
            Err("reason: say why, in 1 to 500 characters".into()),
        ));
    }
    let junk = match field(&form, "verdict") {
        "junk" => true,
        "real" => false,
        other => {
            return Ok(back(
                &page,
                Err(format!("verdict: '{other}' is not junk or real")),
            ))
        }
    };
    leadgate_app::qualify::review_junk(
        &state.store,
        &state.models,
        lead.id,
        junk,
        reason,
        &signed.user.name,
    )
    .await?;
    Ok(back(&page, Ok("junk_reviewed")))
}

#[derive(Template)]
#[template(path = "lead_new.html")]
struct NewLeadPage {
    c: Chrome,
    fields: Vec<EditField>,
    channels: Vec<&'static str>,
    channel: String,
    campaign: String,
}

fn new_page(c: Chrome, form: &[(String, String)]) -> PageResult {
    let mut fields = fields(&c, &Lead::default());
    for f in &mut fields {
        f.value = field(form, f.name).trim().to_owned();
    }
    html(NewLeadPage {
        fields,
        channels: BY_HAND.iter().map(|ch| ch.as_str()).collect(),
        channel: field(form, "channel").to_owned(),
        campaign: field(form, "campaign").to_owned(),
        c,
    })
}

/// The form for a lead typed in by hand.
pub async fn new(signed: Signed) -> PageResult {
    require(&signed.user, Permission::CaptureLeads)?;
    new_page(Chrome::new(&signed, "leads"), &[])
}

/// Stores a lead typed in by hand as any capture is stored (matched to the person it names,
/// junk-checked, scored), from the channel the person chose. A refused form comes back
/// filled in, with every bad field named.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    require(&signed.user, Permission::CaptureLeads)?;
    let mut input = changes(&form, &Lead::default());
    let channel = field(&form, "channel");
    if !BY_HAND.iter().any(|ch| ch.as_str() == channel) {
        let mut c = Chrome::new(&signed, "leads");
        c.error = Some(format!(
            "channel: '{channel}' is not a channel a lead is typed in from"
        ));
        return new_page(c, &form);
    }
    input.insert("channel".into(), Value::String(channel.to_owned()));
    // A rep's own lead is theirs to work; a manager's waits in the unassigned queue.
    if signed.user.role == leadgate_core::access::Role::SalesRep {
        input.insert("owner".into(), Value::String(signed.user.name.clone()));
    }
    let campaign = field(&form, "campaign").trim();
    if !campaign.is_empty() {
        input.insert("campaign".into(), Value::String(campaign.to_owned()));
    }
    let raw = Value::Object(input.clone());
    let checked = Source::take_from(&mut input, Channel::Other).and_then(|source| {
        crate::http::require_identity(&input)?;
        Ok((source, LeadPatch::parse(&input, PatchMode::Create)?))
    });
    let (source, patch) = match checked {
        Ok(checked) => checked,
        Err(errors) => {
            let mut c = Chrome::new(&signed, "leads");
            c.error = Some(errors.to_string());
            return new_page(c, &form);
        }
    };
    let scope = signed.user.scope();
    let by = if scope == leadgate_core::access::LeadScope::All {
        Submitter::Trusted
    } else {
        Submitter::Scoped(scope)
    };
    let captured = leadgate_app::capture(
        &state.store,
        &state.models,
        Capture {
            patch,
            source,
            raw,
            at: Utc::now(),
            actor: signed.user.name.clone(),
            bot: false,
            by,
        },
        None,
    )
    .await;
    match captured {
        Ok(captured) => {
            let done = if captured.created {
                "created"
            } else {
                "matched"
            };
            Ok(Redirect::to(&format!("/leads/{}?done={done}", captured.lead.id)).into_response())
        }
        Err(e) => {
            let message = match e {
                leadgate_app::AppError::Store(leadgate_store::StoreError::OutOfScope(m)) => m,
                other => match WebError::from(other) {
                    WebError::Invalid(m) => m,
                    other => return Err(other),
                },
            };
            let mut c = Chrome::new(&signed, "leads");
            c.error = Some(message);
            new_page(c, &form)
        }
    }
}
