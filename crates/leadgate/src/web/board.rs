//! The pipeline board: stages as columns of cards; dragging a card moves the lead (the
//! script asks for a reason when the policy wants one; refused moves say why).

use super::leads::{card, scoped, Card};
use super::{html, Chrome, PageResult, Signed};
use crate::http::AppState;
use askama::Template;
use axum::extract::State;
use leadgate_core::Stage;
use leadgate_store::{LeadFilter, LeadSort, SortField};

/// The stages a lead is worked through, left to right.
const COLUMNS: [Stage; 5] = [
    Stage::Lead,
    Stage::Mql,
    Stage::Sal,
    Stage::Sql,
    Stage::Opportunity,
];

/// Cards shown per column (the best scored first).
const PER_COLUMN: u32 = 30;

pub struct Column {
    pub stage: &'static str,
    pub cards: Vec<Card>,
    pub more: bool,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    c: Chrome,
    columns: Vec<Column>,
}

pub async fn page(State(state): State<AppState>, signed: Signed) -> PageResult {
    let c = Chrome::new(&signed, "board");
    let mut columns = Vec::new();
    for stage in COLUMNS {
        let filter = scoped(
            &signed.user,
            LeadFilter {
                stage: Some(stage),
                junk: Some(false),
                limit: PER_COLUMN,
                sort: LeadSort {
                    field: SortField::Score,
                    descending: true,
                },
                ..LeadFilter::default()
            },
        );
        let page = state.store.list_leads(&filter).await?;
        columns.push(Column {
            stage: stage.as_str(),
            cards: page.leads.iter().map(|l| card(&c, l, None)).collect(),
            more: page.next_cursor.is_some(),
        });
    }
    html(BoardPage { c, columns })
}
