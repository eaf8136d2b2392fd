//! The pipeline board: stages as columns of cards with their totals (how many, their
//! weighted value) and each card's response deadline; dragging a card or tapping "Move to"
//! moves the lead (a reason is asked when the policy wants one; refused moves say why).

use super::leads::{card, scoped, Card};
use super::{html, Chrome, PageResult, Signed};
use crate::http::reads::Reads;
use askama::Template;
use leadgate_core::access::LeadScope;
use leadgate_core::id::LeadId;
use leadgate_core::Stage;
use leadgate_store::{LeadFilter, LeadSort, SortField};
use std::collections::HashMap;

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
    /// How many leads the column holds ("10,000+" past the count's cap).
    pub total: String,
    /// Their weighted value (won chance x deal value), when counted in full.
    pub value: Option<String>,
}

/// Columns are counted up to this many leads.
pub const COUNT_CAP: i64 = 10_000;

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    c: Chrome,
    columns: Vec<Column>,
    /// Why a lead may be lost, as the policy lists them (the lost dialog offers them).
    lost_reasons: Vec<String>,
}

pub async fn page(Reads(reads): Reads, signed: Signed) -> PageResult {
    let c = Chrome::new(&signed, "board");
    let now = chrono::Utc::now();
    let scope = signed.user.scope();
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
        let page = reads.list_leads(&filter).await?;
        // Deadline marks: each card's running response clock.
        let shown: Vec<LeadId> = page.leads.iter().map(|l| l.id).collect();
        let clocks: HashMap<LeadId, _> = reads
            .running_clocks_of(&shown, now)
            .await?
            .into_iter()
            .map(|k| (k.lead_id, k))
            .collect();
        let (count, value) = if scope == LeadScope::Nothing {
            (0, 0.0)
        } else {
            reads.stage_total(stage, scope.team(), COUNT_CAP).await?
        };
        columns.push(Column {
            stage: stage.as_str(),
            cards: page
                .leads
                .iter()
                .map(|l| card(&c, l, clocks.get(&l.id)))
                .collect(),
            total: c.count(count, COUNT_CAP),
            value: (count < COUNT_CAP && value > 0.0).then(|| c.t.num(value, 0)),
        });
    }
    let policy = reads.active_policy("default").await?;
    html(BoardPage {
        c,
        columns,
        lost_reasons: policy.policy.stages.disqualify_reasons.clone(),
    })
}
