//! A rep's inbox: overdue and due tasks first, then their open leads by priority (the
//! model's won chance x deal value, or the score when no model exists), with SLA countdowns.

use super::leads::{card, display_name, scoped, Card};
use super::{html, Chrome, Flash, PageResult, Signed};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use chrono::Utc;
use leadgate_core::access::Role;
use leadgate_core::followup::TaskState;
use leadgate_store::{LeadFilter, LeadSort, SortField, TaskFilter};
use std::collections::HashMap;

pub struct TaskRow {
    pub id: leadgate_core::id::TaskId,
    pub lead_id: leadgate_core::id::LeadId,
    pub lead: String,
    pub title: String,
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    c: Chrome,
    tasks: Vec<TaskRow>,
    /// "3 overdue tasks", or empty.
    overdue: String,
    cards: Vec<Card>,
    by_priority: bool,
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(flash): Query<Flash>,
) -> PageResult {
    let c = Chrome::new(&signed, "inbox").with_flash(&flash);
    let now = Utc::now();
    let me = signed.user.name.clone();
    // A rep's inbox is their own leads; a manager's, the team's; others see every open lead.
    let mut filter = scoped(
        &signed.user,
        LeadFilter {
            open: true,
            junk: Some(false),
            limit: 50,
            sort: LeadSort {
                field: SortField::Priority,
                descending: true,
            },
            ..LeadFilter::default()
        },
    );
    if signed.user.role == Role::SalesRep {
        filter.owner = Some(me.clone());
    }
    let mut page = state.store.list_leads(&filter).await?;
    let by_priority = page.leads.iter().any(|l| l.prediction.is_some());
    if !by_priority {
        filter.sort.field = SortField::Score;
        page = state.store.list_leads(&filter).await?;
    }
    let shown: Vec<leadgate_core::id::LeadId> = page.leads.iter().map(|l| l.id).collect();
    let clocks: HashMap<leadgate_core::id::LeadId, _> = state
        .store
        .running_clocks_of(&shown, now)
        .await?
        .into_iter()
        .map(|k| (k.lead_id, k))
        .collect();
    let mut cards: Vec<Card> = page
        .leads
        .iter()
        .map(|l| card(&c, l, clocks.get(&l.id)))
        .collect();
    // Breached clocks first: they are the promises already broken.
    cards.sort_by_key(|card| !card.sla.as_ref().is_some_and(|(_, overdue)| *overdue));

    let tasks = state
        .store
        .tasks(&TaskFilter {
            owner: Some(me),
            state: Some(TaskState::Open),
            limit: 50,
            ..TaskFilter::default()
        })
        .await?;
    let mut rows = Vec::with_capacity(tasks.len());
    for task in tasks {
        let lead = state.store.lead(task.lead_id).await?;
        rows.push(TaskRow {
            id: task.id,
            lead_id: task.lead_id,
            lead: display_name(&lead),
            title: task.title,
            due: c.when(&task.due_at.0),
            overdue: task.due_at.0 < now,
        });
    }
    rows.sort_by_key(|r| !r.overdue);
    html(InboxPage {
        overdue: match rows.iter().filter(|r| r.overdue).count() {
            0 => String::new(),
            n => c.t.count("inbox.overdue_tasks", n as i64, &[]),
        },
        tasks: rows,
        cards,
        by_priority,
        c,
    })
}

#[derive(serde::Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
}

/// Marks a follow-up done (from the inbox or the lead page).
/// Closes a task: done, or cancelled (no longer needed).
pub async fn close_task(
    State(state): State<AppState>,
    signed: Signed,
    axum::extract::Path((raw, action)): axum::extract::Path<(String, String)>,
    axum::Form(form): axum::Form<DoneForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    let (state_after, done) = match action.as_str() {
        "done" => (TaskState::Done, "task_done"),
        "cancel" => (TaskState::Cancelled, "task_cancelled"),
        other => {
            return Err(super::WebError::NotFound(format!(
                "'{other}' is not a task action; use done or cancel"
            )))
        }
    };
    super::require(&signed.user, leadgate_core::access::Permission::WorkLeads)?;
    let id = crate::http::path_id(&raw, "task")
        .map(leadgate_core::id::TaskId)
        .map_err(|_| super::WebError::NotFound(format!("no task has id '{raw}'")))?;
    let task = state.store.task(id).await?;
    let lead = state.store.lead(task.lead_id).await?;
    super::check_lead_access(&state, &signed.user, &lead).await?;
    state
        .store
        .close_task(id, state_after, &signed.user.name, Utc::now())
        .await?;
    Ok(super::back("/", Ok(done)))
}
