//! Giving leads to reps by hand: one lead from its page, many from the list (the unassigned
//! queue included), each with the reason kept in the lead's history.

use super::{back, check_lead_access, require, PageResult, Signed, WebError};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::Form;
use leadgate_app::AppError;
use leadgate_core::access::Permission;
use leadgate_core::id::LeadId;
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
fn owner_and_reason<'a>(owner: &'a str, reason: &'a str) -> Result<(&'a str, &'a str), String> {
    let (owner, reason) = (owner.trim(), reason.trim());
    if owner.is_empty() {
        return Err("owner: choose the rep to give the lead to".into());
    }
    if reason.is_empty() {
        return Err("reason: say why, for the lead's history".into());
    }
    Ok((owner, reason))
}

/// A refusal the manager can act on (a rep of another team, the same owner) as a message.
fn refusal(e: AppError) -> Result<String, WebError> {
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

/// The ticked leads of a list to one rep. Each lead is checked and given on its own: a lead
/// out of reach or already the rep's is named and the others still go.
pub async fn many(
    State(state): State<AppState>,
    signed: Signed,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    signed.check_csrf(field("csrf"))?;
    require(&signed.user, Permission::ManageTeams)?;
    // Back to the list as it was filtered.
    let list = match field("back") {
        b if b.starts_with("/leads") && !b.starts_with("//") => b.to_owned(),
        _ => "/leads".to_owned(),
    };
    let (owner, reason) = match owner_and_reason(field("owner"), field("reason")) {
        Ok(v) => v,
        Err(e) => return Ok(back(&list, Err(e))),
    };
    let mut ids = Vec::new();
    for (k, v) in &fields {
        if k == "lead" {
            match v.trim().parse::<i64>() {
                Ok(id) if id > 0 => ids.push(LeadId(id)),
                _ => return Ok(back(&list, Err(format!("lead: '{v}' is not a lead id")))),
            }
        }
    }
    if ids.is_empty() {
        return Ok(back(&list, Err("lead: tick the leads to assign".into())));
    }
    let scope = signed.user.scope();
    let (mut given, mut refused) = (0, Vec::new());
    for id in ids {
        let lead = match state.store.lead(id).await {
            Ok(lead) => lead,
            Err(StoreError::LeadNotFound(_)) => {
                refused.push(format!("lead {id} does not exist"));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match check_lead_access(&state, &signed.user, &lead).await {
            Ok(()) => {}
            Err(WebError::Forbidden(m)) => {
                refused.push(m);
                continue;
            }
            Err(e) => return Err(e),
        }
        match leadgate_app::route::reassign(
            &state.store,
            id,
            owner,
            reason,
            &signed.user.name,
            &scope,
        )
        .await
        {
            Ok(_) => given += 1,
            Err(e) => refused.push(format!("lead {id}: {}", refusal(e)?)),
        }
    }
    if refused.is_empty() {
        let joint = if list.contains('?') { '&' } else { '?' };
        Ok(back(
            &format!("{list}{joint}count={given}"),
            Ok("assigned_many"),
        ))
    } else {
        Ok(back(
            &list,
            Err(format!(
                "{given} assigned; not assigned: {}",
                refused.join("; ")
            )),
        ))
    }
}
