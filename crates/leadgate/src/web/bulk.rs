//! Acting on the ticked leads of a list at once: give them to a rep (with a reason), move
//! them to a stage, tag them, or download them as CSV. Each lead is checked and done on its
//! own: one out of reach or refused is named, and the others still go (a download is
//! refused whole, so a file never silently lacks a lead).

use super::assign::{owner_and_reason, refusal};
use super::{back, check_lead_access, require, PageResult, Signed, WebError};
use crate::http::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_core::id::LeadId;
use leadgate_core::Stage;
use leadgate_store::StoreError;

/// What to do to each ticked lead.
enum Bulk<'a> {
    Assign { owner: &'a str, reason: &'a str },
    Move { to: Stage, reason: Option<&'a str> },
    Tag(&'a str),
    Export,
}

pub async fn many(
    State(state): State<AppState>,
    signed: Signed,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| super::form_field(&fields, name);
    signed.check_csrf(field("csrf"))?;
    // Back to the list as it was filtered.
    let list = match field("back") {
        b if b.starts_with("/leads") && !b.starts_with("//") => b.to_owned(),
        _ => "/leads".to_owned(),
    };
    let action = match field("action") {
        "" | "assign" => {
            require(&signed.user, Permission::ManageTeams)?;
            match owner_and_reason(field("owner"), field("reason")) {
                Ok((owner, reason)) => Bulk::Assign { owner, reason },
                Err(e) => return Ok(back(&list, Err(e))),
            }
        }
        "move" => {
            require(&signed.user, Permission::WorkLeads)?;
            match field("to").parse::<Stage>() {
                Ok(to) => Bulk::Move {
                    to,
                    reason: Some(field("reason")).filter(|r| !r.is_empty()),
                },
                Err(e) => return Ok(back(&list, Err(format!("to: {e}")))),
            }
        }
        "tag" => {
            require(&signed.user, Permission::CaptureLeads)?;
            Bulk::Tag(field("tag"))
        }
        "export" => Bulk::Export,
        other => {
            return Ok(back(
                &list,
                Err(format!(
                    "action: '{other}' is not assign, move, tag or export"
                )),
            ))
        }
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
        return Ok(back(&list, Err("lead: tick the leads to act on".into())));
    }
    let scope = signed.user.scope();
    let t = super::i18n::catalog(&signed.user.locale);
    let actor = &signed.user.name;
    let (mut done, mut refused, mut chosen) = (0, Vec::new(), Vec::new());
    for id in ids {
        let lead = match state.store.lead(id).await {
            Ok(lead) => lead,
            Err(StoreError::LeadNotFound(_)) => {
                refused.push(t.tf("bulk.no_lead", &[("id", &id.to_string())]));
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
        let result = match &action {
            Bulk::Assign { owner, reason } => {
                leadgate_app::route::reassign(&state.store, id, owner, reason, actor, &scope)
                    .await
                    .map(|_| ())
            }
            Bulk::Move { to, reason } => leadgate_app::qualify::move_lead(
                &state.store,
                &state.models,
                id,
                *to,
                *reason,
                false,
                actor,
            )
            .await
            .map(|_| ()),
            Bulk::Tag(tag) => leadgate_app::capture::tag(&state.store, id, tag, actor)
                .await
                .map(|_| ()),
            Bulk::Export => {
                chosen.push(lead);
                Ok(())
            }
        };
        match result {
            Ok(()) => done += 1,
            Err(e) => refused.push(t.tf(
                "bulk.refused",
                &[("id", &id.to_string()), ("reason", &refusal(e)?)],
            )),
        }
    }
    let key = match action {
        Bulk::Assign { .. } => "assigned_many",
        Bulk::Move { .. } => "moved_many",
        Bulk::Tag(_) => "tagged_many",
        Bulk::Export if refused.is_empty() => {
            let file = crate::export::csv_of(&chosen)
                .map_err(|e| WebError::Store(StoreError::Internal(e.to_string())))?;
            return Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"leads-ticked.csv\"",
                    ),
                ],
                file,
            )
                .into_response());
        }
        Bulk::Export => {
            return Ok(back(
                &list,
                Err(t.tf("bulk.not_downloaded", &[("refused", &refused.join("; "))])),
            ))
        }
    };
    if refused.is_empty() {
        let joint = if list.contains('?') { '&' } else { '?' };
        Ok(back(&format!("{list}{joint}count={done}"), Ok(key)))
    } else {
        Ok(back(
            &list,
            Err(t.tf(
                "bulk.partial",
                &[
                    ("done", &done.to_string()),
                    ("refused", &refused.join("; ")),
                ],
            )),
        ))
    }
}
