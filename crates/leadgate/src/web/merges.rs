//! Duplicate people: the merges the matcher suggested, applied, rejected or undone by a
//! person, with the leads of both sides to judge by, and a button to look for more.

use super::leads::{card, Card};
use super::{back, html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_core::dedupe::MergeStatus;
use leadgate_core::id::PersonId;
use leadgate_store::{LeadFilter, MergeRecord, StoreError};
use serde::Deserialize;

/// How many merges a page shows (the newest).
const PER_PAGE: usize = 30;

pub struct MergeView {
    pub id: i64,
    pub score: String,
    pub reasons: Vec<String>,
    pub status: &'static str,
    pub when: String,
    pub actor: String,
    pub kept: Vec<Card>,
    /// The other person's leads (for a done merge, the leads it moved).
    pub merged: Vec<Card>,
}

#[derive(Template)]
#[template(path = "merges.html")]
struct MergesPage {
    c: Chrome,
    status: &'static str,
    statuses: Vec<&'static str>,
    merges: Vec<MergeView>,
}

#[derive(Deserialize, Default)]
pub struct MergesQuery {
    #[serde(default)]
    status: String,
}

async fn person_cards(state: &AppState, c: &Chrome, person: i64) -> Result<Vec<Card>, WebError> {
    let page = state
        .store
        .list_leads(&LeadFilter {
            person: Some(PersonId(person)),
            limit: 3,
            ..LeadFilter::default()
        })
        .await?;
    Ok(page.leads.iter().map(|l| card(c, l, None)).collect())
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<MergesQuery>,
    Query(flash): Query<Flash>,
) -> PageResult {
    require(&signed.user, Permission::ManageData)?;
    let c = Chrome::new(&signed, "merges").with_flash(&flash);
    let status = if q.status.is_empty() {
        MergeStatus::Suggested
    } else {
        q.status
            .parse::<MergeStatus>()
            .map_err(|e| WebError::Invalid(format!("status: {e}")))?
    };
    let records: Vec<MergeRecord> = state.store.merges(Some(status)).await?;
    let mut merges = Vec::new();
    for m in records.into_iter().rev().take(PER_PAGE) {
        let kept = person_cards(&state, &c, m.kept_person).await?;
        let merged = if m.status == MergeStatus::Merged {
            let mut moved = Vec::new();
            for id in m.moved_leads.iter().take(3) {
                match state.store.lead(*id).await {
                    Ok(lead) => moved.push(card(&c, &lead, None)),
                    Err(StoreError::LeadNotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            moved
        } else {
            person_cards(&state, &c, m.merged_person).await?
        };
        merges.push(MergeView {
            id: m.id,
            score: c.t.pct(m.score),
            reasons: m.reasons.clone(),
            status: m.status.as_str(),
            when: c.when(&m.decided_at.unwrap_or(m.created_at)),
            actor: m.actor.clone().unwrap_or_default(),
            kept,
            merged,
        });
    }
    html(MergesPage {
        status: status.as_str(),
        statuses: MergeStatus::ALL.iter().map(|s| s.as_str()).collect(),
        merges,
        c,
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Applies, rejects or undoes one merge.
pub async fn decide(
    State(state): State<AppState>,
    signed: Signed,
    Path((raw, decision)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageData)?;
    let id: i64 = raw
        .trim()
        .parse()
        .map_err(|_| WebError::NotFound(format!("no merge has id '{raw}'")))?;
    let actor = &signed.user.name;
    let done = match decision.as_str() {
        "apply" => state.store.apply_merge(id, actor).await,
        "reject" => state.store.reject_merge(id, actor).await,
        "undo" => state.store.undo_merge(id, actor).await,
        other => {
            return Err(WebError::NotFound(format!(
                "'{other}' is not a decision; use apply, reject or undo"
            )))
        }
    };
    Ok(match done {
        Ok(_) => back("/merges", Ok(&format!("merge_{decision}"))),
        Err(e) => match WebError::from(e) {
            WebError::Invalid(m) => back("/merges", Err(m)),
            other => return Err(other),
        },
    })
}

/// Looks for duplicate people across the whole store now (sure ones merge, likely ones are
/// suggested), as `leadgate dedupe` does.
pub async fn find(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageData)?;
    let summary = leadgate_app::dedupe::dedupe(&state.store, &signed.user.name, false).await?;
    let found = summary.merged + summary.suggested;
    Ok(back(&format!("/merges?count={found}"), Ok("dedupe")))
}
