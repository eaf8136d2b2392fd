//! Scoring: a pure function of (lead, events, policy, now) giving the score, grades,
//! temperature, BANT and an explanation of every point. Decay is applied at reading time,
//! so a score is always current without a nightly job.

use crate::condition::{holds, payload_has};
use crate::event::EventType;
use crate::lead::Lead;
use crate::policy::{BantPart, BehaviourRule, Decay, FitGrade, Policy};
use crate::quality::JunkReason;
use crate::temperature::Temperature;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One event as scoring sees it.
#[derive(Debug, Clone, Copy)]
pub struct EventFact<'a> {
    pub id: i64,
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub payload: &'a Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Fit,
    Behaviour,
}

/// Points as people read them: to a tenth (the full value is kept for decisions).
fn tenths<S: serde::Serializer>(points: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64((points * 10.0).round() / 10.0)
}

/// One event's share of a behaviour rule's points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventPoints {
    pub event_id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The rule's points for this event before decay.
    pub full: f64,
    /// What it is worth now.
    #[serde(serialize_with = "tenths")]
    pub now: f64,
}

/// One rule that gave points, with the events behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub rule: String,
    pub kind: RuleKind,
    #[serde(serialize_with = "tenths")]
    pub points: f64,
    /// In words, e.g. "+15 webinar attended 2026-05-03, decayed to +9".
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventPoints>,
    /// What the rule looked at, for a page that words the explanation in its own language.
    #[serde(skip)]
    pub subject: Subject,
}

/// What a contribution's rule looked at.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A fit rule over a field, with the field's value as shown.
    Field { shown: String },
    /// A junk flag's points.
    Junk(JunkReason),
    /// A behaviour rule over events of this type (the events are the contribution's).
    Events(EventType),
}

/// How one BANT part is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BantEvidence {
    /// The lead's fields satisfy the policy's condition.
    Fields,
    /// A rep confirmed it.
    Confirmed,
    Missing,
}

/// BANT of one lead: each part's evidence, in the order budget, authority, need, timeline
/// (a fixed array: scoring a million leads should not build a map for each).
#[derive(Debug, Clone, PartialEq)]
pub struct BantStatus {
    pub parts: [BantEvidence; 4],
    /// Whether BANT is enough for SQL under the policy.
    pub sql_ready: bool,
}

impl BantStatus {
    pub fn evidence(&self, part: BantPart) -> BantEvidence {
        let index = BantPart::ALL.iter().position(|p| *p == part).unwrap_or(0);
        self.parts[index]
    }

    pub fn met(&self, part: BantPart) -> bool {
        self.evidence(part) != BantEvidence::Missing
    }

    /// The parts not met, in BANT order.
    pub fn missing(&self) -> impl Iterator<Item = BantPart> + '_ {
        BantPart::ALL.into_iter().filter(|p| !self.met(*p))
    }
}

/// As JSON: `{"parts": {"budget": "fields", ...}, "sql_ready": true}`.
impl Serialize for BantStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let parts: BTreeMap<&str, BantEvidence> = BantPart::ALL
            .into_iter()
            .map(|p| (p.name(), self.evidence(p)))
            .collect();
        let mut out = serializer.serialize_struct("BantStatus", 2)?;
        out.serialize_field("parts", &parts)?;
        out.serialize_field("sql_ready", &self.sql_ready)?;
        out.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    #[serde(serialize_with = "tenths")]
    pub score: f64,
    #[serde(serialize_with = "tenths")]
    pub fit_points: f64,
    #[serde(serialize_with = "tenths")]
    pub behaviour_points: f64,
    pub fit_grade: char,
    /// 1 (most engaged) to 4.
    pub engagement: u8,
    /// Fit grade and engagement level, e.g. "A1".
    pub grade: String,
    pub temperature: Temperature,
    pub intent: Intent,
    pub bant: BantStatus,
    /// Whether the policy's MQL rule holds and no junk flag the policy lets block it is set.
    pub mql: bool,
    /// Junk flags that keep the lead from becoming an MQL under the policy.
    pub blocked_by: Vec<JunkReason>,
    pub explanation: Vec<Contribution>,
    /// When the lead last did something a behaviour rule gives points for (what brings a
    /// recycled lead back).
    #[serde(skip)]
    pub last_engaged: Option<DateTime<Utc>>,
}

fn payload_matches(rule: &BehaviourRule, payload: &Value) -> bool {
    payload_has(&rule.conditions, payload)
        && rule.minimums.iter().all(|(key, min)| {
            payload
                .get(key)
                .and_then(Value::as_f64)
                .is_some_and(|v| v >= *min)
        })
}

/// What one event is worth `now` under a decay: never more than `points`, never more than
/// at any earlier `now`.
pub fn decayed(points: f64, decay: Decay, occurred_at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    let age_days = ((now - occurred_at).num_milliseconds() as f64 / 86_400_000.0).max(0.0);
    points * decay_factor(decay, age_days)
}

fn signed(points: f64) -> String {
    let rounded = (points * 10.0).round() / 10.0;
    if rounded >= 0.0 {
        format!("+{rounded}")
    } else {
        format!("{rounded}")
    }
}

/// The factor decay leaves of an event's points after `age_days`.
fn decay_factor(decay: Decay, age_days: f64) -> f64 {
    match decay {
        Decay::None => 1.0,
        Decay::HalfLife(days) => 0.5f64.powf(age_days / days),
        Decay::Window(days) => {
            if age_days <= days {
                1.0
            } else {
                0.0
            }
        }
    }
}

/// An event's share of one rule, before per-day limits and caps.
struct Hit<'e, 'a> {
    rule: usize,
    day: i64,
    worth: f64,
    event: &'e EventFact<'a>,
}

/// The rules each event feeds, found through the policy's index, with what it is worth.
fn hits<'e, 'a>(
    policy: &Policy,
    events: &'e [EventFact<'a>],
    now: DateTime<Utc>,
) -> Vec<Hit<'e, 'a>> {
    let mut hits = Vec::with_capacity(events.len() * 2);
    let mut buffer = [0u8; 64];
    for event in events {
        let Some(index) = policy.behaviour_index.by_type.get(&event.event_type) else {
            continue;
        };
        let age_days =
            ((now - event.occurred_at).num_milliseconds() as f64 / 86_400_000.0).max(0.0);
        let day = event.occurred_at.timestamp().div_euclid(86_400);
        let mut push = |rule: usize| {
            let r = &policy.behaviour[rule];
            hits.push(Hit {
                rule,
                day,
                worth: r.points * decay_factor(r.decay, age_days),
                event,
            });
        };
        for (key, by_value) in &index.keyed {
            let rules = match event.payload.get(key) {
                Some(Value::String(s)) => {
                    let s = s.trim();
                    // Lower-case short ASCII values on the stack; the rest the slow way.
                    if s.is_ascii() && s.len() <= buffer.len() {
                        let lowered = &mut buffer[..s.len()];
                        lowered.copy_from_slice(s.as_bytes());
                        lowered.make_ascii_lowercase();
                        std::str::from_utf8(lowered)
                            .ok()
                            .and_then(|k| by_value.get(k))
                    } else {
                        by_value.get(&s.to_lowercase())
                    }
                }
                Some(Value::Number(n)) => by_value.get(&n.to_string()),
                Some(Value::Bool(b)) => by_value.get(if *b { "true" } else { "false" }),
                _ => None,
            };
            for rule in rules.into_iter().flatten() {
                push(*rule);
            }
        }
        for rule in &index.other {
            if payload_matches(&policy.behaviour[*rule], event.payload) {
                push(*rule);
            }
        }
    }
    hits
}

/// The hits a rule counts (hits sorted by day, worth first): of each day's events the
/// `per_day` worth most, so a further event can only add.
fn within_day_limit<'h, 'e, 'a>(
    rule: &BehaviourRule,
    hits: &'h [Hit<'e, 'a>],
) -> impl Iterator<Item = &'h Hit<'e, 'a>> {
    let mut day = None;
    let mut today = 0usize;
    let limit = rule.per_day;
    hits.iter().filter(move |hit| {
        if day != Some(hit.day) {
            day = Some(hit.day);
            today = 0;
        }
        today += 1;
        limit.is_none_or(|limit| today <= limit as usize)
    })
}

/// One behaviour rule's points from its hits (sorted by day, worth first), and (when
/// `explain`) what gave them.
fn rule_points(rule: &BehaviourRule, hits: &[Hit], explain: bool) -> (f64, Option<Contribution>) {
    let mut kept: Vec<&Hit> = Vec::new();
    let mut total = 0.0;
    for hit in within_day_limit(rule, hits) {
        total += hit.worth;
        if explain {
            kept.push(hit);
        }
    }
    if let Some(at_least) = &rule.at_least {
        return counted_points(rule, at_least, hits, explain);
    }
    let points = match rule.cap {
        Some(cap) if total.abs() > cap => cap.copysign(total),
        _ => total,
    };
    if !explain || kept.is_empty() {
        return (points, None);
    }
    kept.sort_by(|a, b| {
        b.event
            .occurred_at
            .cmp(&a.event.occurred_at)
            .then(b.event.id.cmp(&a.event.id))
    });
    let newest = kept[0].event.occurred_at.format("%Y-%m-%d");
    let label = rule.event.as_str().replace('_', " ");
    let mut detail = if kept.len() == 1 {
        format!("{} {label} {newest}", signed(rule.points))
    } else {
        format!(
            "{} x{} {label}, latest {newest}",
            signed(rule.points),
            kept.len()
        )
    };
    if (total - rule.points * kept.len() as f64).abs() > 0.05 {
        detail.push_str(&format!(", decayed to {}", signed(total)));
    }
    if (points - total).abs() > 1e-9 {
        detail.push_str(&format!(", capped at {}", signed(points)));
    }
    let contribution = Contribution {
        subject: Subject::Events(rule.event),
        rule: rule.name.clone(),
        kind: RuleKind::Behaviour,
        points,
        detail,
        events: kept
            .into_iter()
            .map(|h| EventPoints {
                event_id: h.event.id,
                occurred_at: h.event.occurred_at,
                full: rule.points,
                now: h.worth,
            })
            .collect(),
    };
    (points, Some(contribution))
}

/// A counting rule's points: its points once, worth what the newest counted event is
/// worth, when at least `count` events (or distinct values of the `distinct` key) count:
/// within the window, within the per-day limit.
fn counted_points(
    rule: &BehaviourRule,
    at_least: &crate::policy::AtLeast,
    hits: &[Hit],
    explain: bool,
) -> (f64, Option<Contribution>) {
    let counted: Vec<&Hit> = within_day_limit(rule, hits)
        .filter(|hit| hit.worth != 0.0)
        .collect();
    let count = match &at_least.distinct {
        None => counted.len(),
        Some(key) => {
            let mut values: Vec<String> = counted
                .iter()
                .filter_map(|h| match h.event.payload.get(key) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.trim().to_lowercase()),
                    Some(other) => Some(other.to_string()),
                })
                .collect();
            values.sort_unstable();
            values.dedup();
            values.len()
        }
    };
    if count < at_least.count as usize {
        return (0.0, None);
    }
    let Some(newest) = counted.iter().copied().max_by(|a, b| {
        a.event
            .occurred_at
            .cmp(&b.event.occurred_at)
            .then(a.event.id.cmp(&b.event.id))
    }) else {
        return (0.0, None);
    };
    let points = newest.worth;
    if !explain {
        return (points, None);
    }
    let what = match &at_least.distinct {
        Some(key) => format!("{count} {key}s"),
        None => format!("{count} events"),
    };
    let mut detail = format!(
        "{} for {what} of {} (at least {}), latest {}",
        signed(rule.points),
        rule.event.as_str().replace('_', " "),
        at_least.count,
        newest.event.occurred_at.format("%Y-%m-%d")
    );
    if (points - rule.points).abs() > 0.05 {
        detail.push_str(&format!(", decayed to {}", signed(points)));
    }
    let contribution = Contribution {
        subject: Subject::Events(rule.event),
        rule: rule.name.clone(),
        kind: RuleKind::Behaviour,
        points,
        detail,
        events: vec![EventPoints {
            event_id: newest.event.id,
            occurred_at: newest.event.occurred_at,
            full: rule.points,
            now: newest.worth,
        }],
    };
    (points, Some(contribution))
}

/// BANT as the policy defines it, with the parts a rep confirmed.
pub fn bant(lead: &Lead, confirmed: &BTreeSet<BantPart>, policy: &Policy) -> BantStatus {
    let parts = BantPart::ALL.map(|part| {
        if confirmed.contains(&part) {
            BantEvidence::Confirmed
        } else if policy
            .bant
            .criteria
            .get(&part)
            .is_some_and(|(field, condition)| holds(condition, lead, field))
        {
            BantEvidence::Fields
        } else {
            BantEvidence::Missing
        }
    });
    let status = BantStatus {
        parts,
        sql_ready: false,
    };
    let met = |p: &BantPart| status.met(*p);
    let count = BantPart::ALL.iter().filter(|p| met(p)).count();
    let sql_ready = policy.bant.sql_requires.iter().all(met) && count >= policy.bant.sql_at_least;
    BantStatus { parts, sql_ready }
}

/// What is known of a lead besides its fields and events: the BANT parts a person confirmed
/// and its junk flags.
#[derive(Debug, Clone, Copy)]
pub struct Marks<'a> {
    pub confirmed: &'a BTreeSet<BantPart>,
    pub junk: &'a [JunkReason],
}

static NONE_CONFIRMED: BTreeSet<BantPart> = BTreeSet::new();

impl Default for Marks<'_> {
    /// Nothing confirmed, no junk flags.
    fn default() -> Self {
        Marks {
            confirmed: &NONE_CONFIRMED,
            junk: &[],
        }
    }
}

/// Scores a lead under a policy at `now`, with the explanation.
pub fn score(
    lead: &Lead,
    events: &[EventFact],
    marks: Marks<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Score {
    evaluate(lead, events, marks, policy, now, true)
}

/// The same score without the explanation, for passes over many leads (rescoring,
/// backtests) that keep only the numbers.
pub fn score_quick(
    lead: &Lead,
    events: &[EventFact],
    marks: Marks<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Score {
    evaluate(lead, events, marks, policy, now, false)
}

fn evaluate(
    lead: &Lead,
    events: &[EventFact],
    marks: Marks<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
    explain: bool,
) -> Score {
    let mut explanation = Vec::new();
    let mut fit_points = 0.0;
    let mut blocked_by = Vec::new();
    for reason in marks.junk {
        let rule = policy.junk_rule(*reason);
        if rule.blocks_mql {
            blocked_by.push(*reason);
        }
        if rule.points != 0.0 {
            fit_points += rule.points;
            if explain {
                let name = format!("junk: {}", reason.as_str());
                explanation.push(Contribution {
                    subject: Subject::Junk(*reason),
                    detail: format!("{} {name}", signed(rule.points)),
                    rule: name,
                    kind: RuleKind::Fit,
                    points: rule.points,
                    events: Vec::new(),
                });
            }
        }
    }
    for rule in &policy.fit {
        if holds(&rule.condition, lead, &rule.field) {
            fit_points += rule.points;
            if explain {
                let shown = crate::condition::shown(lead, &rule.field);
                explanation.push(Contribution {
                    rule: rule.name.clone(),
                    kind: RuleKind::Fit,
                    points: rule.points,
                    detail: format!("{} {}: {shown}", signed(rule.points), rule.name),
                    events: Vec::new(),
                    subject: Subject::Field { shown },
                });
            }
        }
    }
    let mut behaviour_total = 0.0;
    let mut hits = hits(policy, events, now);
    let last_engaged = hits
        .iter()
        .filter(|h| h.worth > 0.0)
        .map(|h| h.event.occurred_at)
        .max();
    hits.sort_unstable_by(|a, b| {
        (a.rule, a.day)
            .cmp(&(b.rule, b.day))
            .then(b.worth.abs().total_cmp(&a.worth.abs()))
            .then(a.event.id.cmp(&b.event.id))
    });
    for group in hits.chunk_by(|a, b| a.rule == b.rule) {
        let (points, contribution) = rule_points(&policy.behaviour[group[0].rule], group, explain);
        behaviour_total += points;
        explanation.extend(contribution);
    }
    let [a, b, c] = policy.grades.fit;
    let fit_grade = if fit_points >= a {
        FitGrade::A
    } else if fit_points >= b {
        FitGrade::B
    } else if fit_points >= c {
        FitGrade::C
    } else {
        FitGrade::D
    };
    let [one, two, three] = policy.grades.engagement;
    let engagement = if behaviour_total >= one {
        1
    } else if behaviour_total >= two {
        2
    } else if behaviour_total >= three {
        3
    } else {
        4
    };
    let grade = format!("{}{engagement}", fit_grade.letter());
    let temperature = if policy.grades.hot.contains(&grade) {
        Temperature::Hot
    } else if policy.grades.warm.contains(&grade) {
        Temperature::Warm
    } else {
        Temperature::Cold
    };
    let intent = match engagement {
        1 => Intent::High,
        2 => Intent::Medium,
        _ => Intent::Low,
    };
    let total = fit_points + behaviour_total;
    let mql = total >= policy.mql.min_score
        && policy.mql.min_fit.is_none_or(|min| fit_grade <= min)
        && blocked_by.is_empty();
    explanation.sort_by(|x, y| y.points.abs().total_cmp(&x.points.abs()));
    Score {
        score: total,
        fit_points,
        behaviour_points: behaviour_total,
        fit_grade: fit_grade.letter(),
        engagement,
        grade,
        temperature,
        intent,
        bant: bant(lead, marks.confirmed, policy),
        mql,
        blocked_by,
        explanation,
        last_engaged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{LeadPatch, PatchMode};
    use chrono::Duration;
    use proptest::prelude::*;
    use serde_json::json;

    fn policy() -> Policy {
        Policy::parse(Policy::STARTER).unwrap()
    }

    fn lead(fields: Value) -> Lead {
        let mut lead = Lead::default();
        LeadPatch::parse(fields.as_object().unwrap(), PatchMode::Create)
            .unwrap()
            .apply(&mut lead)
            .unwrap();
        lead
    }

    fn now() -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn good_lead() -> Lead {
        lead(
            json!({"email": "cto@acme.io", "job_title": "CTO", "industry": "Software", "company_size": 200,
                    "product_need": "routing", "budget": 20000, "purchase_timeframe": "within 3 months"}),
        )
    }

    #[test]
    fn a_fitting_engaged_lead_is_a_hot_mql_with_reasons() {
        let payloads = [
            json!({"page": "/pricing"}),
            json!({"webinar": "BANT"}),
            json!({}),
        ];
        let events = [
            EventFact {
                id: 1,
                event_type: EventType::PageViewed,
                occurred_at: now() - Duration::days(1),
                payload: &payloads[0],
            },
            EventFact {
                id: 2,
                event_type: EventType::WebinarAttended,
                occurred_at: now() - Duration::days(30),
                payload: &payloads[1],
            },
            EventFact {
                id: 3,
                event_type: EventType::MeetingBooked,
                occurred_at: now() - Duration::hours(2),
                payload: &payloads[2],
            },
        ];
        let s = score(&good_lead(), &events, Marks::default(), &policy(), now());
        assert_eq!(s.fit_points, 60.0);
        assert_eq!(s.fit_grade, 'A');
        assert!(s.mql);
        assert!(s.blocked_by.is_empty());

        // A junk flag blocks MQL unless the policy says otherwise, and its points count.
        let flagged = Marks {
            junk: &[JunkReason::RoleAccount],
            ..Marks::default()
        };
        let blocked = score(&good_lead(), &events, flagged, &policy(), now());
        assert!(!blocked.mql);
        assert_eq!(blocked.blocked_by, vec![JunkReason::RoleAccount]);
        assert_eq!(blocked.score, s.score, "no rule, no points");
        let lenient = Policy::parse(&format!(
            "{}\n[[junk]]\nreason = \"role_account\"\npoints = -5\nblocks_mql = false\n",
            Policy::STARTER
        ))
        .unwrap();
        let allowed = score(&good_lead(), &events, flagged, &lenient, now());
        assert!(allowed.mql);
        assert_eq!(allowed.fit_points, 55.0);
        assert!(allowed
            .explanation
            .iter()
            .any(|c| c.rule == "junk: role_account" && c.detail == "-5 junk: role_account"));
        let still_blocked = Marks {
            junk: &[JunkReason::RoleAccount, JunkReason::TestName],
            ..Marks::default()
        };
        let s2 = score(&good_lead(), &events, still_blocked, &lenient, now());
        assert!(!s2.mql);
        assert_eq!(s2.blocked_by, vec![JunkReason::TestName]);
        assert_eq!(s.temperature, Temperature::Hot);
        let webinar = s
            .explanation
            .iter()
            .find(|c| c.rule == "Attended a webinar")
            .unwrap();
        assert!(
            (webinar.points - 7.5).abs() < 0.01,
            "half-life 30 days halves it: {}",
            webinar.points
        );
        assert!(
            webinar.detail.contains("+15 webinar attended")
                && webinar.detail.contains("decayed to +7.5"),
            "{}",
            webinar.detail
        );
        assert!(s.bant.sql_ready);
        assert_eq!(s.bant.evidence(BantPart::Authority), BantEvidence::Fields);
    }

    #[test]
    fn negative_fit_and_missing_bant() {
        let student = lead(
            json!({"email": "kid@gmail.com", "job_title": "Student", "industry": "Education"}),
        );
        let s = score(&student, &[], Marks::default(), &policy(), now());
        assert_eq!(s.fit_points, -40.0);
        assert_eq!(s.grade, "D4");
        assert_eq!(s.temperature, Temperature::Cold);
        assert!(!s.mql && !s.bant.sql_ready);
        let confirmed: BTreeSet<BantPart> = BantPart::ALL.into_iter().collect();
        assert!(
            score(
                &student,
                &[],
                Marks {
                    confirmed: &confirmed,
                    junk: &[]
                },
                &policy(),
                now()
            )
            .bant
            .sql_ready
        );
    }

    #[test]
    fn caps_and_per_day_limits_hold() {
        let payload = json!({"page": "/pricing"});
        let events: Vec<EventFact> = (0..20)
            .map(|i| EventFact {
                id: i,
                event_type: EventType::PageViewed,
                occurred_at: now() - Duration::minutes(i),
                payload: &payload,
            })
            .collect();
        let s = score(&good_lead(), &events, Marks::default(), &policy(), now());
        let pricing = s
            .explanation
            .iter()
            .find(|c| c.rule == "Visited pricing")
            .unwrap();
        assert_eq!(pricing.events.len(), 2, "per_day = 2");
        assert!(pricing.points <= 24.0);
        let browsing = s
            .explanation
            .iter()
            .find(|c| c.rule == "Browsed the site")
            .unwrap();
        assert_eq!(browsing.events.len(), 5);
    }

    #[test]
    fn three_visits_to_pricing_within_a_week_count_once_and_time_on_page_is_a_minimum() {
        let doc = format!(
            "{}\n[[behaviour]]\nname = \"Came back for pricing\"\nevent = \"page_viewed\"\nwhere = {{ page = \"/pricing\" }}\npoints = 15\nat_least = 3\ndistinct = \"visit\"\nwindow_days = 7\n\n[[behaviour]]\nname = \"Read a case study\"\nevent = \"page_viewed\"\nwhere = {{ page = \"/cases\" }}\nwhere_at_least = {{ seconds = 60 }}\npoints = 4\n",
            Policy::STARTER
        );
        let p = Policy::parse(&doc).unwrap();
        let view = |visit: u32, page: &str, seconds: u32| json!({"page": page, "visit": visit, "seconds": seconds});
        let payloads = [
            view(1, "/pricing", 5),
            view(1, "/pricing", 9),
            view(2, "/pricing", 30),
            view(3, "/pricing", 12),
            view(3, "/cases", 59),
            view(4, "/cases", 61),
        ];
        let at = |i: usize, days: i64| EventFact {
            id: i as i64,
            event_type: EventType::PageViewed,
            occurred_at: now() - Duration::days(days) - Duration::minutes(i as i64),
            payload: &payloads[i],
        };
        let rule = |events: &[EventFact]| {
            score(&good_lead(), events, Marks::default(), &p, now())
                .explanation
                .into_iter()
                .filter(|c| c.rule == "Came back for pricing" || c.rule == "Read a case study")
                .map(|c| (c.rule, c.points))
                .collect::<Vec<_>>()
        };
        // Two views in visit 1 and one in visit 2: two visits, not three.
        assert!(rule(&[at(0, 1), at(1, 1), at(2, 2)]).is_empty());
        assert_eq!(
            rule(&[at(0, 1), at(1, 1), at(2, 2), at(3, 3)]),
            [("Came back for pricing".to_owned(), 15.0)]
        );
        // The third visit was eight days ago: outside the window.
        assert!(rule(&[at(0, 1), at(2, 2), at(3, 8)]).is_empty());
        // 59 seconds on the case study is not a minute; 61 is.
        assert!(rule(&[at(4, 0)]).is_empty());
        assert_eq!(rule(&[at(5, 0)]), [("Read a case study".to_owned(), 4.0)]);
        let quick = score_quick(
            &good_lead(),
            &[at(0, 1), at(2, 2), at(3, 3), at(5, 0)],
            Marks::default(),
            &p,
            now(),
        );
        let full = score(
            &good_lead(),
            &[at(0, 1), at(2, 2), at(3, 3), at(5, 0)],
            Marks::default(),
            &p,
            now(),
        );
        assert_eq!(quick.score, full.score);
        for (bad, says) in [
            ("at_least = 1", "2 or more"),
            ("distinct = \"visit\"", "distinct needs at_least"),
        ] {
            let doc = format!(
                "{}\n[[behaviour]]\nname = \"x\"\nevent = \"page_viewed\"\npoints = 1\n{bad}\n",
                Policy::STARTER
            );
            let e = Policy::parse(&doc).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    fn arb_events() -> impl Strategy<Value = Vec<(u8, i64, bool)>> {
        proptest::collection::vec((0u8..7, 0i64..90 * 24, any::<bool>()), 0..40)
    }

    fn facts<'a>(raw: &[(u8, i64, bool)], payloads: &'a [Value; 2]) -> Vec<EventFact<'a>> {
        let types = [
            EventType::PageViewed,
            EventType::ContentDownloaded,
            EventType::WebinarAttended,
            EventType::EmailOpened,
            EventType::EmailClicked,
            EventType::MeetingBooked,
            EventType::NoteAdded,
        ];
        raw.iter()
            .enumerate()
            .map(|(i, (t, hours, pricing))| EventFact {
                id: i as i64,
                event_type: types[*t as usize],
                occurred_at: now() - Duration::hours(*hours),
                payload: &payloads[usize::from(*pricing)],
            })
            .collect()
    }

    proptest! {
        #[test]
        fn scoring_is_deterministic(raw in arb_events()) {
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let events = facts(&raw, &payloads);
            let p = policy();
            prop_assert_eq!(score(&good_lead(), &events, Marks::default(), &p, now()), score(&good_lead(), &events, Marks::default(), &p, now()));
        }

        #[test]
        fn decay_never_raises_a_score(raw in arb_events(), later_hours in 0i64..2000) {
            // The starter policy's behaviour rules are all positive.
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let events = facts(&raw, &payloads);
            let p = policy();
            let early = score(&good_lead(), &events, Marks::default(), &p, now());
            let late = score(&good_lead(), &events, Marks::default(), &p, now() + Duration::hours(later_hours));
            prop_assert!(late.score <= early.score + 1e-9);
        }

        #[test]
        fn a_positive_event_never_lowers_a_score(raw in arb_events(), extra in (0u8..7, 0i64..90 * 24, any::<bool>())) {
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let before = facts(&raw, &payloads);
            let mut with = raw.clone();
            with.push(extra);
            let after = facts(&with, &payloads);
            let p = policy();
            let s0 = score(&good_lead(), &before, Marks::default(), &p, now());
            let s1 = score(&good_lead(), &after, Marks::default(), &p, now());
            prop_assert!(s1.score >= s0.score - 1e-9);
        }

        #[test]
        fn the_quick_score_is_the_full_score(raw in arb_events()) {
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let events = facts(&raw, &payloads);
            let p = policy();
            let full = score(&good_lead(), &events, Marks::default(), &p, now());
            let quick = score_quick(&good_lead(), &events, Marks::default(), &p, now());
            prop_assert_eq!(Score { explanation: Vec::new(), ..full }, quick);
        }

        #[test]
        fn caps_hold(raw in arb_events()) {
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let events = facts(&raw, &payloads);
            let p = policy();
            let s = score(&good_lead(), &events, Marks::default(), &p, now());
            for c in s.explanation.iter().filter(|c| c.kind == RuleKind::Behaviour) {
                let rule = p.behaviour.iter().find(|r| r.name == c.rule).unwrap();
                if let Some(cap) = rule.cap {
                    prop_assert!(c.points.abs() <= cap + 1e-9);
                }
                if let Some(limit) = rule.per_day {
                    let mut days: std::collections::HashMap<chrono::NaiveDate, u32> = std::collections::HashMap::new();
                    for e in &c.events {
                        *days.entry(e.occurred_at.date_naive()).or_default() += 1;
                    }
                    prop_assert!(days.values().all(|n| *n <= limit));
                }
            }
        }
    }
}
