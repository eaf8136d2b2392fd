//! The backtest over realistic histories: the demo generator's leads replayed under the
//! policy in force and a candidate.

use chrono::{DateTime, Utc};
use leadgate_core::backtest::{replay, Backtest, BacktestReport, History, Outcome};
use leadgate_core::policy::Policy;
use leadgate_core::scoring::EventFact;
use leadgate_core::{EventType, Stage};
use leadgate_demo as demo;
use std::collections::BTreeSet;

fn facts_of(lead: &demo::DemoLead) -> Vec<EventFact<'_>> {
    lead.events
        .iter()
        .enumerate()
        .map(|(i, e)| EventFact {
            id: i as i64,
            event_type: e.event_type,
            occurred_at: e.occurred_at,
            payload: &e.payload,
        })
        .collect()
}

/// A generated lead's history as the backtest reads it: nothing confirmed, no junk flags.
fn history_of<'a>(
    l: &'a demo::DemoLead,
    facts: &'a [EventFact<'a>],
    none: &'a BTreeSet<leadgate_core::policy::BantPart>,
) -> History<'a> {
    History {
        lead: &l.lead,
        events: facts,
        confirmed: none,
        junk: &[],
        channel: l.source.channel,
        source_class: l.source.source_class,
        created_at: l.created_at,
    }
}

fn run(candidate: &Policy, capacity: Option<f64>) -> BacktestReport {
    let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let current = Policy::parse(Policy::STARTER).unwrap();
    let leads = demo::generate(3, 1500, now);
    let mut backtest = Backtest::new(&current, candidate, now);
    let none = BTreeSet::new();
    for l in &leads {
        let facts = facts_of(l);
        backtest.add(&history_of(l, &facts, &none));
    }
    backtest.report(capacity)
}

/// Backtests over consecutive ranges of the leads, merged in order, report what one pass
/// over all of them reports, wherever the ranges are cut (also empty ones).
#[test]
fn ranges_merged_in_order_report_what_one_pass_does() {
    let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let current = Policy::parse(Policy::STARTER).unwrap();
    let candidate =
        Policy::parse(&Policy::STARTER.replace("min_score = 70", "min_score = 80")).unwrap();
    let leads = demo::generate(5, 600, now);
    let none = BTreeSet::new();
    let facts: Vec<Vec<EventFact>> = leads.iter().map(facts_of).collect();
    let over = |range: std::ops::Range<usize>| {
        let mut backtest = Backtest::new(&current, &candidate, now);
        for i in range {
            backtest.add(&history_of(&leads[i], &facts[i], &none));
        }
        backtest
    };
    let whole = over(0..600).report(Some(20.0));
    for cuts in [
        vec![0, 300, 600],
        vec![0, 0, 1, 599, 600],
        vec![0, 137, 138, 420, 600],
    ] {
        let mut ranges = cuts.windows(2).map(|w| over(w[0]..w[1]));
        let mut merged = ranges.next().unwrap();
        for later in ranges {
            merged.merge(later);
        }
        assert_eq!(merged.report(Some(20.0)), whole, "cut at {cuts:?}");
    }
}

#[test]
fn the_same_policy_changes_nothing() {
    let same = Policy::parse(Policy::STARTER).unwrap();
    let report = run(&same, None);
    assert_eq!(report.leads, 1500);
    assert_eq!(report.current, report.candidate);
    assert_eq!((report.became_mql, report.stopped_mql), (0, 0));
    assert!(report.won > 0 && report.closed >= report.won);
    assert_eq!(
        report.by_channel.iter().map(|r| r.leads).sum::<usize>(),
        1500
    );
    assert_eq!(report.by_source_class.len(), 3);
}

#[test]
fn a_stricter_threshold_makes_fewer_mqls_and_the_sweep_finds_a_best_f1() {
    let stricter =
        Policy::parse(&Policy::STARTER.replace("min_score = 70", "min_score = 90")).unwrap();
    let report = run(&stricter, Some(5.0));
    assert!(report.candidate.mqls <= report.current.mqls);
    assert_eq!(report.became_mql, 0);
    assert_eq!(
        report.current.mqls - report.candidate.mqls,
        report.stopped_mql
    );
    let best = report.best_f1.unwrap();
    assert!(best.f1.unwrap() > 0.0 && best.f1.unwrap() <= 1.0);
    let capacity = report.for_capacity.unwrap();
    assert!(capacity.mqls_per_week <= 5.0);
}

#[test]
fn decisions_are_made_before_sales_took_the_lead() {
    let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
    let leads = demo::generate(9, 400, now);
    for l in leads
        .iter()
        .filter(|l| l.lead.stage == Stage::Customer)
        .take(20)
    {
        let facts = facts_of(l);
        let r = replay(&history_of(l, &facts, &BTreeSet::new()), now);
        assert_eq!(r.outcome, Outcome::Won);
        assert!(r.reached_sql);
        let handed_over = l
            .events
            .iter()
            .find(|e| e.event_type == EventType::StageChanged && e.payload["to"] == "sal")
            .unwrap();
        assert!(r.decision_at <= handed_over.occurred_at);
    }
}
