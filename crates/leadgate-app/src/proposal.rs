//! The policy the data proposes for a product: its closed leads replayed as of their
//! decision time under the policy in force, each rule's points fitted to their outcomes
//! (leadgate-ml), and a draft policy with those points, which a person backtests, reads
//! and applies like any other version.

use crate::Result;
use chrono::{DateTime, Utc};
use leadgate_core::backtest::{fitted_rules, rule_amounts, History};
use leadgate_core::id::LeadId;
use leadgate_core::policy::Policy;
use leadgate_core::proposal::{draft, Change};
use leadgate_ml::proposal::{propose, ProposedRule, RuleNow};
use leadgate_store::{facts, Store, StoreError};
use serde::Serialize;

/// What the data proposes.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub product: String,
    /// The version in force the proposal starts from.
    pub version: i64,
    pub closed: usize,
    pub won: usize,
    pub rules: Vec<ProposedRule>,
    /// Fit rules left out: they read a field filled in after the outcome.
    pub left_out: Vec<String>,
    /// The draft policy: proposed points, useless rules left out.
    pub draft: String,
}

/// Fits the product's rules to its closed leads.
pub async fn suggest(store: &Store, product: &str, now: DateTime<Utc>) -> Result<Suggestion> {
    let active = store.active_policy(product).await?;
    let policy: &Policy = &active.policy;
    let after_outcome = store.after_outcome_fields().await?;
    let rules = fitted_rules(policy, &after_outcome);
    let left_out: Vec<String> = policy
        .fit
        .iter()
        .filter(|f| !rules.iter().any(|(_, name, _)| *name == f.name))
        .map(|f| f.name.clone())
        .collect();
    let (mut rows, mut won) = (Vec::new(), Vec::new());
    let mut after = LeadId(0);
    let mut tx = store.begin_read().await?;
    loop {
        let count = tx
            .each_lead_of_product(product, (after, LeadId(i64::MAX)), 1000, |lead, events| {
                after = lead.id;
                let history = History {
                    lead: &lead.lead,
                    events: &facts(&events),
                    confirmed: &lead.bant_confirmed,
                    junk: &lead.junk,
                    channel: lead.first_touch.channel,
                    source_class: lead.first_touch.source_class,
                    created_at: lead.created_at,
                };
                if let Some((amounts, w)) = rule_amounts(&history, policy, &rules, now) {
                    rows.push(amounts);
                    won.push(w);
                }
            })
            .await?;
        if count == 0 {
            break;
        }
    }
    drop(tx);
    let now_points: Vec<RuleNow> = rules
        .iter()
        .map(|(_, name, points)| RuleNow {
            name: (*name).to_owned(),
            points: *points,
        })
        .collect();
    let proposed = propose(&now_points, &rows, &won, 7)?;
    let document = match active.version {
        0 => Policy::STARTER.to_owned(),
        v => store.policy_version(product, v).await?.document,
    };
    let changes: Vec<Change> = rules
        .iter()
        .zip(&proposed)
        .map(|((kind, name, _), p)| Change {
            kind: *kind,
            name,
            points: (!p.useless && p.proposed != 0.0).then_some(p.proposed),
        })
        .collect();
    let wins = won.iter().filter(|w| **w).count();
    let message = format!(
        "Proposed from {} closed leads ({wins} won) of product {product} under version {}: backtest it before applying.",
        rows.len(),
        active.version
    );
    let draft = draft(&document, &changes, &message).map_err(|reason| {
        StoreError::Invalid(leadgate_core::FieldError::new("draft", reason).into())
    })?;
    Ok(Suggestion {
        product: product.to_owned(),
        version: active.version,
        closed: rows.len(),
        won: wins,
        rules: proposed,
        left_out,
        draft,
    })
}
