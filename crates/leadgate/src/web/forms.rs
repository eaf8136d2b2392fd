//! The web form builder: which lead fields a form asks for (labels, required), custom
//! questions, the consent wording, where the visitor goes after, and the campaign its leads
//! count for; saved through the same checks as `PUT /api/v1/forms/{key}`, with the snippet
//! to paste and a preview.

use super::form_field as field;
use super::{back, html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_core::form::FormDefinition;
use leadgate_core::visits::{ConsentMode, TrackerDefinition};
use serde_json::{json, Map, Value};

/// The lead fields a form may ask for, in the order a form shows them.
const FIELDS: [&str; 14] = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "company_size",
    "industry",
    "country",
    "website",
    "product_need",
    "budget",
    "purchase_timeframe",
    "pains",
];

/// Rows for questions of the form's own (`custom.<key>`).
const CUSTOM_ROWS: usize = 3;

pub struct FieldRow {
    pub name: String,
    pub label: String,
    pub asked: bool,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "forms.html")]
struct FormsPage {
    c: Chrome,
    /// Every form: key, title, how many fields, the snippet to paste.
    forms: Vec<(String, String, usize, String)>,
    /// The form being built: its key and values; `existing` when it is saved already
    /// (its key then stays).
    key: String,
    existing: bool,
    title: String,
    rows: Vec<FieldRow>,
    custom: Vec<FieldRow>,
    consent: String,
    redirect: String,
    campaign: String,
    /// Every tracker, then a blank one (the form that adds one).
    trackers: Vec<TrackerRow>,
}

/// A site tracker as the page shows it: its sites one per line, and its snippet.
#[derive(Default)]
pub struct TrackerRow {
    pub key: String,
    pub name: String,
    pub implied: bool,
    pub sites: String,
    pub snippet: String,
}

/// A form with nothing in it yet.
fn blank() -> FormDefinition {
    FormDefinition {
        title: String::new(),
        fields: Vec::new(),
        consent_text: None,
        redirect_url: None,
        source: Map::new(),
        min_fill_seconds: 3,
    }
}

fn text(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_owned()
}

async fn render(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    flash: &Flash,
    editing: Option<(String, FormDefinition)>,
    existing: bool,
) -> PageResult {
    require(&signed.user, Permission::ManageForms)?;
    let c = Chrome::new(signed, "settings").with_flash(flash);
    let forms = snippets(state, headers).await?;
    let origin = crate::http::forms::origin(headers);
    let trackers = state
        .store
        .trackers()
        .await?
        .into_iter()
        .map(|t| TrackerRow {
            snippet: t.definition.snippet(&origin, &t.key),
            implied: t.definition.consent == ConsentMode::Implied,
            sites: t.definition.sites.join("\n"),
            name: t.definition.name,
            key: t.key,
        })
        // The last row is blank: the form to add one.
        .chain(std::iter::once(TrackerRow::default()))
        .collect();
    let (key, definition) = editing.unwrap_or_else(|| (String::new(), blank()));
    let asked = |name: &str| definition.fields.iter().find(|f| f.name == name);
    let rows = FIELDS
        .into_iter()
        .map(|name| FieldRow {
            name: name.to_owned(),
            label: asked(name)
                .map(|f| f.label.clone())
                .unwrap_or_else(|| c.t(&format!("field.{name}")).to_owned()),
            asked: asked(name).is_some(),
            required: asked(name).is_some_and(|f| f.required),
        })
        .collect();
    let mut custom: Vec<FieldRow> = definition
        .fields
        .iter()
        .filter_map(|f| {
            f.name.strip_prefix("custom.").map(|k| FieldRow {
                name: k.to_owned(),
                label: f.label.clone(),
                asked: true,
                required: f.required,
            })
        })
        .collect();
    // Always one empty row to add a question, and at least three rows in all.
    let wanted = CUSTOM_ROWS.max(custom.len() + 1);
    while custom.len() < wanted {
        custom.push(FieldRow {
            name: String::new(),
            label: String::new(),
            asked: false,
            required: false,
        });
    }
    html(FormsPage {
        forms,
        key,
        existing,
        title: definition.title.clone(),
        rows,
        custom,
        consent: definition.consent_text.clone().unwrap_or_default(),
        redirect: definition.redirect_url.clone().unwrap_or_default(),
        campaign: text(definition.source.get("campaign")),
        trackers,
        c,
    })
}

/// Every form: key, title, how many fields, and the snippet to paste (posting to this
/// server as the browser reached it).
pub async fn snippets(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Vec<(String, String, usize, String)>, WebError> {
    let origin = crate::http::forms::origin(headers);
    Ok(state
        .store
        .forms()
        .await?
        .into_iter()
        .map(|f| {
            let snippet = f.definition.embed(&format!("{origin}/f/{}", f.key));
            let count = f.definition.fields.len();
            (f.key, f.definition.title, count, snippet)
        })
        .collect())
}

/// Every form, and the builder for a new one.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Query(flash): Query<Flash>,
) -> PageResult {
    render(&state, &signed, &headers, &flash, None, false).await
}

/// The builder on an existing form.
pub async fn edit(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    require(&signed.user, Permission::ManageForms)?;
    let form = state.store.form(&key).await?;
    render(
        &state,
        &signed,
        &headers,
        &flash,
        Some((form.key, form.definition)),
        true,
    )
    .await
}

/// The builder's form as the JSON definition the API takes.
fn definition(form: &[(String, String)]) -> Value {
    let mut fields = Vec::new();
    for name in FIELDS {
        if !field(form, &format!("ask_{name}")).is_empty() {
            fields.push(json!({
                "name": name,
                "label": field(form, &format!("label_{name}")),
                "required": !field(form, &format!("required_{name}")).is_empty(),
            }));
        }
    }
    for i in 0.. {
        let key = form.iter().find(|(k, _)| *k == format!("custom_key_{i}"));
        let Some((_, key)) = key else { break };
        let key = key.trim();
        if key.is_empty() {
            continue;
        }
        fields.push(json!({
            "name": format!("custom.{key}"),
            "label": field(form, &format!("custom_label_{i}")),
            "required": !field(form, &format!("custom_required_{i}")).is_empty(),
        }));
    }
    let mut out = Map::new();
    out.insert("title".into(), json!(field(form, "title")));
    out.insert("fields".into(), Value::Array(fields));
    for (name, key) in [("consent_text", "consent"), ("redirect_url", "redirect")] {
        if !field(form, key).is_empty() {
            out.insert(name.into(), json!(field(form, key)));
        }
    }
    if !field(form, "campaign").is_empty() {
        out.insert(
            "source".into(),
            json!({"campaign": field(form, "campaign")}),
        );
    }
    Value::Object(out)
}

/// Saves a form built on the page; a refusal names each bad part and keeps what was typed.
pub async fn save(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    require(&signed.user, Permission::ManageForms)?;
    let key = field(&form, "key").to_owned();
    let document = definition(&form);
    let refused = |message: String| {
        let flash = Flash {
            error: Some(message),
            ..Flash::default()
        };
        let typed =
            serde_json::from_value::<FormDefinition>(document.clone()).unwrap_or_else(|_| blank());
        (flash, typed)
    };
    let parsed = FormDefinition::parse(&document);
    let saved = match parsed {
        Ok(definition) => state
            .store
            .save_form(&key, &definition)
            .await
            .map_err(WebError::from),
        Err(errors) => Err(WebError::Invalid(errors.to_string())),
    };
    match saved {
        Ok(_) => Ok(back(&format!("/forms/{key}"), Ok("form"))),
        Err(WebError::Invalid(message)) => {
            let (flash, typed) = refused(message);
            let existing = field(&form, "existing") == "1";
            render(
                &state,
                &signed,
                &headers,
                &flash,
                Some((key, typed)),
                existing,
            )
            .await
        }
        Err(other) => Err(other),
    }
}

/// Adds a site tracker, or changes one (`key` given), with the same checks as the API.
pub async fn save_tracker(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    require(&signed.user, Permission::ManageForms)?;
    let definition = TrackerDefinition {
        name: field(&form, "name").to_owned(),
        sites: field(&form, "sites")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        consent: if field(&form, "consent") == "implied" {
            ConsentMode::Implied
        } else {
            ConsentMode::Required
        },
    };
    let key = field(&form, "key");
    let saved = if key.is_empty() {
        state.store.create_tracker(&definition).await
    } else {
        state.store.update_tracker(key, &definition).await
    };
    match saved {
        Ok(_) => {
            state.views.forget_trackers();
            Ok(back("/forms", Ok("tracker")))
        }
        Err(e) => match WebError::from(e) {
            // A refusal names each bad part (sites[1]: ...) on the page it came from.
            WebError::Invalid(message) => Ok(back("/forms", Err(message))),
            other => Err(other),
        },
    }
}
