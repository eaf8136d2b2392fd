//! A person's privacy and mail from their lead's page: consents recorded by hand (refusing
//! email or calls sets Do Not Email or Do Not Call), a template emailed to the lead, and for
//! admins the GDPR export and erasure of the person behind the lead.

use super::form_field as field;
use super::{back, check_lead_access, require, PageResult, Signed, WebError};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_store::{NewConsent, StoredLead};

/// The lead of an action needing `what`, checked: CSRF (for a form), role, and reach.
async fn lead_for(
    state: &AppState,
    signed: &Signed,
    raw: &str,
    csrf: Option<&str>,
    what: Permission,
) -> Result<StoredLead, WebError> {
    if let Some(csrf) = csrf {
        signed.check_csrf(csrf)?;
    }
    require(&signed.user, what)?;
    let id = crate::http::parse_id(raw)
        .map_err(|_| WebError::NotFound(format!("no lead has id '{raw}'")))?;
    let lead = state.store.lead(id).await?;
    check_lead_access(state, &signed.user, &lead).await?;
    Ok(lead)
}

/// A refusal the person can act on, as a message on the lead page.
fn refused<T>(page: &str, done: &str, result: Result<T, leadgate_store::StoreError>) -> PageResult {
    match result.map_err(WebError::from) {
        Ok(_) => Ok(back(page, Ok(done))),
        Err(WebError::Invalid(m)) => Ok(back(page, Err(m))),
        Err(other) => Err(other),
    }
}

/// Records a consent given or withdrawn, with its wording and where it was given.
pub async fn consent(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let lead = lead_for(
        &state,
        &signed,
        &raw,
        Some(field(&form, "csrf")),
        Permission::Privacy,
    )
    .await?;
    let page = format!("/leads/{}", lead.id);
    let granted = match field(&form, "granted") {
        "yes" => true,
        "no" => false,
        other => {
            return Ok(back(
                &page,
                Err(format!("granted: '{other}' is not yes or no")),
            ))
        }
    };
    let consent = NewConsent {
        purpose: field(&form, "purpose").to_owned(),
        granted,
        wording: Some(field(&form, "wording"))
            .filter(|w| !w.is_empty())
            .map(str::to_owned),
        source: format!("dashboard:{}", signed.user.name),
        ip: None,
    };
    refused(
        &page,
        "consent",
        state
            .store
            .record_consent(lead.id, &consent, &signed.user.name)
            .await,
    )
}

/// Emails the lead one of the templates (queued; the outbox sends it).
pub async fn email(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let lead = lead_for(
        &state,
        &signed,
        &raw,
        Some(field(&form, "csrf")),
        Permission::WorkLeads,
    )
    .await?;
    let page = format!("/leads/{}", lead.id);
    let template = field(&form, "template");
    if template.is_empty() {
        return Ok(back(&page, Err("template: choose a template".into())));
    }
    refused(
        &page,
        "emailed",
        state
            .store
            .queue_email(lead.id, template, &signed.user.name)
            .await,
    )
}

/// Everything stored about the person behind the lead, as a JSON download (audited).
pub async fn export(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> PageResult {
    let raw = raw.trim_end_matches(".json");
    let lead = lead_for(&state, &signed, raw, None, Permission::Privacy).await?;
    let person = state.store.person_of_lead(lead.id).await?;
    let document = state.store.gdpr_export(person, &signed.user.name).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"person-{}.json\"", person.0),
            ),
        ],
        serde_json::to_string_pretty(&document).unwrap_or_default(),
    )
        .into_response())
}

/// Erases the person behind the lead everywhere, once the admin has typed ERASE.
pub async fn erase(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    let lead = lead_for(
        &state,
        &signed,
        &raw,
        Some(field(&form, "csrf")),
        Permission::Privacy,
    )
    .await?;
    if field(&form, "confirm") != "ERASE" {
        return Ok(back(
            &format!("/leads/{}", lead.id),
            Err("confirm: type ERASE: erasure cannot be undone".into()),
        ));
    }
    let person = state.store.person_of_lead(lead.id).await?;
    state.store.gdpr_erase(person, &signed.user.name).await?;
    Ok(back("/leads", Ok("erased")))
}
