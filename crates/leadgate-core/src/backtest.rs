//! Backtest: replay the stored history under a candidate policy and the one in force, side by
//! side, to see what a change to the definition would have done before it goes live.
//!
//! Each lead is judged as of its decision time: when sales first took it (a move to SAL or
//! beyond) or its outcome was recorded, whichever came first; otherwise now. Only events
//! before that moment count, so the MQL rule is judged on what marketing knew then.

use crate::lead::Lead;
use crate::policy::{BantPart, Policy};
use crate::scoring::{self, EventFact, RuleKind};
use crate::source::{Channel, SourceClass};
use crate::stage::Stage;
use crate::EventType;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One lead's history, as stored.
pub struct History<'a> {
    pub lead: &'a Lead,
    /// Oldest first.
    pub events: &'a [EventFact<'a>],
    pub confirmed: &'a BTreeSet<BantPart>,
    pub junk: &'a [crate::quality::JunkReason],
    pub channel: Channel,
    pub source_class: SourceClass,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Won,
    Lost,
    Open,
}

/// What the history says happened, and when the MQL decision was due.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay {
    pub decision_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub reached_sql: bool,
}

fn stage_after(payload: &serde_json::Value) -> Option<Stage> {
    payload
        .get("to")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
}

pub fn replay(history: &History, now: DateTime<Utc>) -> Replay {
    let mut decision_at = None;
    let mut outcome = Outcome::Open;
    let mut reached_sql = matches!(
        history.lead.stage,
        Stage::Sql | Stage::Opportunity | Stage::Customer
    );
    for event in history.events {
        match event.event_type {
            EventType::StageChanged => {
                let to = stage_after(event.payload);
                if matches!(
                    to,
                    Some(Stage::Sal | Stage::Sql | Stage::Opportunity | Stage::Customer)
                ) {
                    decision_at.get_or_insert(event.occurred_at);
                }
                if matches!(to, Some(Stage::Sql | Stage::Opportunity | Stage::Customer)) {
                    reached_sql = true;
                }
            }
            EventType::OutcomeRecorded => {
                decision_at.get_or_insert(event.occurred_at);
                outcome = match event.payload.get("outcome").and_then(|v| v.as_str()) {
                    Some("won") => Outcome::Won,
                    Some("lost") => Outcome::Lost,
                    _ => outcome,
                };
            }
            _ => {}
        }
    }
    if history.lead.stage == Stage::Customer {
        outcome = Outcome::Won;
    }
    Replay {
        decision_at: decision_at.unwrap_or(now),
        outcome,
        reached_sql,
    }
}

/// Counts for one policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub leads: usize,
    pub mqls: usize,
    pub mql_sql: usize,
    pub mql_won: usize,
    pub mql_closed: usize,
}

impl Counts {
    fn absorb(&mut self, other: Counts) {
        self.leads += other.leads;
        self.mqls += other.mqls;
        self.mql_sql += other.mql_sql;
        self.mql_won += other.mql_won;
        self.mql_closed += other.mql_closed;
    }

    fn add(&mut self, mql: bool, replay: &Replay) {
        self.leads += 1;
        if mql {
            self.mqls += 1;
            self.mql_sql += usize::from(replay.reached_sql);
            self.mql_won += usize::from(replay.outcome == Outcome::Won);
            self.mql_closed += usize::from(replay.outcome != Outcome::Open);
        }
    }
}

fn rate(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// One policy's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub mqls: usize,
    pub mql_to_sql_rate: Option<f64>,
    pub mql_to_won_rate: Option<f64>,
    /// Of closed leads the rule marked MQL, the share won.
    pub precision: Option<f64>,
    /// Of won leads, the share the rule marked MQL.
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

fn f1(precision: Option<f64>, recall: Option<f64>) -> Option<f64> {
    match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    }
}

fn summary(counts: &Counts, won_total: usize) -> Summary {
    let precision = rate(counts.mql_won, counts.mql_closed);
    let recall = rate(counts.mql_won, won_total);
    Summary {
        mqls: counts.mqls,
        mql_to_sql_rate: rate(counts.mql_sql, counts.mqls),
        mql_to_won_rate: rate(counts.mql_won, counts.mqls),
        precision,
        recall,
        f1: f1(precision, recall),
    }
}

/// A row of the per-source comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRow {
    /// A channel (web_form...) or a source class (internal...).
    pub source: String,
    pub leads: usize,
    pub current: Summary,
    pub candidate: Summary,
}

/// A threshold the data suggests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub min_score: f64,
    pub mqls: usize,
    pub mqls_per_week: f64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    pub leads: usize,
    /// Leads with a recorded outcome.
    pub closed: usize,
    pub won: usize,
    /// Weeks between the first and the last lead created.
    pub weeks: f64,
    pub current: Summary,
    pub candidate: Summary,
    /// Leads the candidate would make MQL that the current policy does not.
    pub became_mql: usize,
    /// Leads MQL under the current policy but not under the candidate.
    pub stopped_mql: usize,
    pub by_channel: Vec<SourceRow>,
    pub by_source_class: Vec<SourceRow>,
    /// The candidate's `min_score` that maximises F1 against won deals (its `min_fit` kept).
    pub best_f1: Option<Suggestion>,
    /// The lowest candidate `min_score` whose MQLs fit the sales capacity, when one was given.
    pub for_capacity: Option<Suggestion>,
}

/// The rules a proposal fits: the policy's fit rules, then its behaviour rules, each with
/// its name and points, leaving out fit rules on a `custom` key filled in after the outcome
/// (their points would be learnt from the answer).
pub fn fitted_rules<'p>(
    policy: &'p Policy,
    after_outcome: &[String],
) -> Vec<(RuleKind, &'p str, f64)> {
    let mut rules: Vec<(RuleKind, &str, f64)> = policy
        .fit
        .iter()
        .filter(|r| !matches!(&r.field, crate::condition::FieldRef::Custom(key) if after_outcome.contains(key)))
        .map(|r| (RuleKind::Fit, r.name.as_str(), r.points))
        .collect();
    rules.extend(
        policy
            .behaviour
            .iter()
            .map(|r| (RuleKind::Behaviour, r.name.as_str(), r.points)),
    );
    rules
}

/// How much of each of `rules` a closed lead had when it was decided, in units of the
/// rule's points (a fit rule 0 or 1, a behaviour rule its decayed, capped points over its
/// points per event), and whether it was won; `None` for an open lead.
pub fn rule_amounts(
    history: &History,
    policy: &Policy,
    rules: &[(RuleKind, &str, f64)],
    now: DateTime<Utc>,
) -> Option<(Vec<f64>, bool)> {
    let replay = replay(history, now);
    let won = match replay.outcome {
        Outcome::Won => true,
        Outcome::Lost => false,
        Outcome::Open => return None,
    };
    let known: Vec<EventFact> = history
        .events
        .iter()
        .filter(|e| e.occurred_at < replay.decision_at)
        .copied()
        .collect();
    let marks = scoring::Marks {
        confirmed: history.confirmed,
        junk: history.junk,
    };
    let score = scoring::score(history.lead, &known, marks, policy, replay.decision_at);
    let amounts = rules
        .iter()
        .map(|(kind, name, points)| {
            score
                .explanation
                .iter()
                .find(|c| c.kind == *kind && c.rule == *name)
                .map_or(0.0, |c| c.points / points)
        })
        .collect();
    Some((amounts, won))
}

/// Accumulates leads one at a time, so a store of any size streams through.
pub struct Backtest<'p> {
    current: &'p Policy,
    candidate: &'p Policy,
    now: DateTime<Utc>,
    totals: (Counts, Counts),
    by_channel: BTreeMap<&'static str, (Counts, Counts)>,
    by_class: BTreeMap<&'static str, (Counts, Counts)>,
    closed: usize,
    won: usize,
    became_mql: usize,
    stopped_mql: usize,
    /// Per lead under the candidate: score, whether its fit grade passes, outcome.
    scored: Vec<(f64, bool, Outcome, bool)>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl<'p> Backtest<'p> {
    pub fn new(current: &'p Policy, candidate: &'p Policy, now: DateTime<Utc>) -> Self {
        Self {
            current,
            candidate,
            now,
            totals: Default::default(),
            by_channel: BTreeMap::new(),
            by_class: BTreeMap::new(),
            closed: 0,
            won: 0,
            became_mql: 0,
            stopped_mql: 0,
            scored: Vec::new(),
            first: None,
            last: None,
        }
    }

    pub fn add(&mut self, history: &History) {
        let replay = replay(history, self.now);
        let known: Vec<EventFact> = history
            .events
            .iter()
            .filter(|e| e.occurred_at < replay.decision_at)
            .copied()
            .collect();
        let at = replay.decision_at;
        let marks = scoring::Marks {
            confirmed: history.confirmed,
            junk: history.junk,
        };
        let old = scoring::score_quick(history.lead, &known, marks, self.current, at);
        let new = scoring::score_quick(history.lead, &known, marks, self.candidate, at);
        self.totals.0.add(old.mql, &replay);
        self.totals.1.add(new.mql, &replay);
        for (map, key) in [
            (&mut self.by_channel, history.channel.as_str()),
            (&mut self.by_class, history.source_class.as_str()),
        ] {
            let entry = map.entry(key).or_default();
            entry.0.add(old.mql, &replay);
            entry.1.add(new.mql, &replay);
        }
        self.closed += usize::from(replay.outcome != Outcome::Open);
        self.won += usize::from(replay.outcome == Outcome::Won);
        self.became_mql += usize::from(new.mql && !old.mql);
        self.stopped_mql += usize::from(old.mql && !new.mql);
        let fit_ok = self
            .candidate
            .mql
            .min_fit
            .is_none_or(|min| new.fit_grade <= min.letter());
        self.scored
            .push((new.score, fit_ok, replay.outcome, replay.reached_sql));
        self.first = Some(
            self.first
                .map_or(history.created_at, |f| f.min(history.created_at)),
        );
        self.last = Some(
            self.last
                .map_or(history.created_at, |l| l.max(history.created_at)),
        );
    }

    /// Takes in a backtest of the same policies over the leads that come after this one's
    /// (a store read in ranges at once): the report is the one a single pass makes.
    pub fn merge(&mut self, later: Backtest<'p>) {
        fn absorb(
            into: &mut BTreeMap<&'static str, (Counts, Counts)>,
            from: BTreeMap<&'static str, (Counts, Counts)>,
        ) {
            for (key, (current, candidate)) in from {
                let entry = into.entry(key).or_default();
                entry.0.absorb(current);
                entry.1.absorb(candidate);
            }
        }
        self.totals.0.absorb(later.totals.0);
        self.totals.1.absorb(later.totals.1);
        absorb(&mut self.by_channel, later.by_channel);
        absorb(&mut self.by_class, later.by_class);
        self.closed += later.closed;
        self.won += later.won;
        self.became_mql += later.became_mql;
        self.stopped_mql += later.stopped_mql;
        // In order: the report's sort keeps equal scores in the order they came.
        self.scored.extend(later.scored);
        self.first = self.first.into_iter().chain(later.first).min();
        self.last = self.last.into_iter().chain(later.last).max();
    }

    /// The report; `capacity_per_week` asks for the threshold that fits sales capacity.
    pub fn report(mut self, capacity_per_week: Option<f64>) -> BacktestReport {
        let weeks = match (self.first, self.last) {
            (Some(f), Some(l)) => ((l - f).num_seconds() as f64 / (7.0 * 86_400.0)).max(1.0),
            _ => 1.0,
        };
        let won = self.won;
        let rows = |map: BTreeMap<&'static str, (Counts, Counts)>| -> Vec<SourceRow> {
            map.into_iter()
                .map(|(source, (c, n))| SourceRow {
                    source: source.to_owned(),
                    leads: c.leads,
                    current: summary(&c, won),
                    candidate: summary(&n, won),
                })
                .collect()
        };
        // Sweep thresholds from the highest score down: each step admits one more lead.
        self.scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best: Option<Suggestion> = None;
        let mut capacity: Option<Suggestion> = None;
        let (mut mqls, mut mql_won, mut mql_closed) = (0usize, 0usize, 0usize);
        let mut i = 0;
        while i < self.scored.len() {
            let threshold = self.scored[i].0;
            while i < self.scored.len() && self.scored[i].0 == threshold {
                let (_, fit_ok, outcome, _) = self.scored[i];
                if fit_ok {
                    mqls += 1;
                    mql_won += usize::from(outcome == Outcome::Won);
                    mql_closed += usize::from(outcome != Outcome::Open);
                }
                i += 1;
            }
            let precision = rate(mql_won, mql_closed);
            let recall = rate(mql_won, won);
            let suggestion = Suggestion {
                min_score: (threshold * 10.0).floor() / 10.0,
                mqls,
                mqls_per_week: mqls as f64 / weeks,
                precision,
                recall,
                f1: f1(precision, recall),
            };
            if suggestion.f1.unwrap_or(0.0) > best.as_ref().and_then(|b| b.f1).unwrap_or(0.0) {
                best = Some(suggestion.clone());
            }
            if let Some(per_week) = capacity_per_week {
                if suggestion.mqls_per_week <= per_week {
                    capacity = Some(suggestion);
                }
            }
        }
        BacktestReport {
            leads: self.totals.0.leads,
            closed: self.closed,
            won,
            weeks,
            current: summary(&self.totals.0, won),
            candidate: summary(&self.totals.1, won),
            became_mql: self.became_mql,
            stopped_mql: self.stopped_mql,
            by_channel: rows(self.by_channel),
            by_source_class: rows(self.by_class),
            best_f1: best,
            for_capacity: capacity,
        }
    }
}
