//! Giving a lead to a rep by hand from its page, with the reason kept in its history; the
//! reps a person may give leads to.

use super::{back, check_lead_access, require, PageResult, Signed, WebError};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::Form;
use leadgate_app::AppError;
use leadgate_core::access::Permission;
use leadgate_store::{Rep, Store, StoreError, User};
use serde::Deserialize;

/// The reps `user` may give leads to: a manager's own team, every rep for an admin.
pub async fn assignees(store: &Store, user: &User) -> Result<Vec<Rep>, WebError> {
    if !user.role.allows(Permission::ManageTeams) {
        return Ok(Vec::new());
    }
    let scope = user.scope();
    Ok(store.reps(scope.team()).await?)
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    reason: String,
}

/// The owner and reason of an assignment form, each named when missing.
pub(super) fn owner_and_reason<'a>(
    owner: &'a str,
    reason: &'a str,
) -> Result<(&'a str, &'a str), String> {
    let (owner, reason) = (owner.trim(), reason.trim());
    if owner.is_empty() {
        return Err("owner: choose the rep to give the lead to".into());
    }
    if reason.is_empty() {
        return Err("reason: say why, for the lead's history".into());
    }
    Ok((owner, reason))
}

/// A refusal the person can act on (a rep of another team, the same owner, a refused move)
/// as a message.
pub(super) fn refusal(e: AppError) -> Result<String, WebError> {
    match e {
        AppError::Store(StoreError::OutOfScope(m)) => Ok(m),
        other => match WebError::from(other) {
            WebError::Invalid(m) => Ok(m),
            other => Err(other),
        },
    }
}

/// One lead to a rep, from the lead page.
pub async fn one(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<AssignForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageTeams)?;
    let id = crate::http::parse_id(&raw)
        .map_err(|_| WebError::NotFound(format!("no lead has id '{raw}'")))?;
    let lead = state.store.lead(id).await?;
    check_lead_access(&state, &signed.user, &lead).await?;
    let page = format!("/leads/{id}");
    let (owner, reason) = match owner_and_reason(&form.owner, &form.reason) {
        Ok(v) => v,
        Err(e) => return Ok(back(&page, Err(e))),
    };
    let done = leadgate_app::route::reassign(
        &state.store,
        id,
        owner,
        reason,
        &signed.user.name,
        &signed.user.scope(),
    )
    .await;
    Ok(match done {
        Ok(_) => back(&page, Ok("assigned")),
        Err(e) => back(&page, Err(refusal(e)?)),
    })
}
