//! Scoring: a pure function of (lead, events, policy, now) giving the score, grades,
//! temperature, BANT and an explanation of every point. Decay is applied at reading time,
//! so a score is always current without a nightly job.

use crate::event::EventType;
use crate::lead::{Lead, LeadField};
use crate::policy::{BantPart, BehaviourRule, Condition, Decay, FieldRef, FitGrade, Policy};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
pub enum Temperature {
    Hot,
    Warm,
    Cold,
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

/// One event's share of a behaviour rule's points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventPoints {
    pub event_id: i64,
    pub occurred_at: DateTime<Utc>,
    /// The rule's points for this event before decay.
    pub full: f64,
    /// What it is worth now.
    pub now: f64,
}

/// One rule that gave points, with the events behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub rule: String,
    pub kind: RuleKind,
    pub points: f64,
    /// In words, e.g. "+15 webinar attended 2026-05-03, decayed to +9".
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventPoints>,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BantStatus {
    pub parts: BTreeMap<&'static str, BantEvidence>,
    /// Whether BANT is enough for SQL under the policy.
    pub sql_ready: bool,
}

impl BantStatus {
    pub fn met(&self, part: BantPart) -> bool {
        self.parts
            .get(part.name())
            .is_some_and(|e| *e != BantEvidence::Missing)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub score: f64,
    pub fit_points: f64,
    pub behaviour_points: f64,
    pub fit_grade: char,
    /// 1 (most engaged) to 4.
    pub engagement: u8,
    /// Fit grade and engagement level, e.g. "A1".
    pub grade: String,
    pub temperature: Temperature,
    pub intent: Intent,
    pub bant: BantStatus,
    /// Whether the policy's MQL rule holds.
    pub mql: bool,
    pub explanation: Vec<Contribution>,
}

/// Major free-mail providers: a business lead rarely writes from these.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "sohu.com",
    "foxmail.com",
    "naver.com",
    "daum.net",
    "rediffmail.com",
    "libero.it",
    "orange.fr",
    "free.fr",
    "t-online.de",
    "bol.com.br",
    "uol.com.br",
];

pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain.to_ascii_lowercase().as_str())
}

fn field_value(lead: &Lead, field: &FieldRef) -> Value {
    match field {
        FieldRef::Lead(f) => lead.get(*f),
        FieldRef::Custom(key) => lead.custom.get(key).cloned().unwrap_or(Value::Null),
        FieldRef::EmailDomain => lead
            .email
            .as_ref()
            .map(|e| Value::String(e.domain().to_owned()))
            .unwrap_or(Value::Null),
    }
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// Whether `condition` holds for a lead's field. A missing value satisfies only
/// `present = false`.
pub fn holds(condition: &Condition, lead: &Lead, field: &FieldRef) -> bool {
    let value = field_value(lead, field);
    match condition {
        Condition::In(list) => {
            as_text(&value).is_some_and(|v| list.iter().any(|x| x.trim().to_lowercase() == v))
        }
        Condition::NotIn(list) => {
            as_text(&value).is_some_and(|v| !list.iter().any(|x| x.trim().to_lowercase() == v))
        }
        Condition::Between(min, max) => as_number(&value).is_some_and(|n| n >= *min && n <= *max),
        Condition::AtLeast(min) => as_number(&value).is_some_and(|n| n >= *min),
        Condition::AtMost(max) => as_number(&value).is_some_and(|n| n <= *max),
        Condition::Matches(patterns) => match &value {
            Value::String(s) => patterns.iter().any(|re| re.is_match(s)),
            _ => false,
        },
        Condition::Present(wanted) => present(&value) == *wanted,
        Condition::FreeMail(wanted) => {
            let domain = match field {
                FieldRef::Lead(LeadField::Email) => {
                    lead.email.as_ref().map(|e| e.domain().to_owned())
                }
                _ => as_text(&value),
            };
            domain.is_some_and(|d| is_free_mail(&d) == *wanted)
        }
    }
}

fn payload_matches(rule: &BehaviourRule, payload: &Value) -> bool {
    rule.conditions.iter().all(|(key, wanted)| {
        payload
            .get(key)
            .and_then(as_text)
            .is_some_and(|v| wanted.iter().any(|w| w.trim().to_lowercase() == v))
    })
}

/// What one event is worth `now` under a decay: never more than `points`, never more than
/// at any earlier `now`.
pub fn decayed(points: f64, decay: Decay, occurred_at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    let age_days = ((now - occurred_at).num_milliseconds() as f64 / 86_400_000.0).max(0.0);
    match decay {
        Decay::None => points,
        Decay::HalfLife(days) => points * 0.5f64.powf(age_days / days),
        Decay::Window(days) => {
            if age_days <= days {
                points
            } else {
                0.0
            }
        }
    }
}

fn signed(points: f64) -> String {
    let rounded = (points * 10.0).round() / 10.0;
    if rounded >= 0.0 {
        format!("+{rounded}")
    } else {
        format!("{rounded}")
    }
}

fn behaviour_points(
    rule: &BehaviourRule,
    events: &[&EventFact],
    now: DateTime<Utc>,
) -> Option<Contribution> {
    let mut worth: Vec<(&EventFact, f64)> = events
        .iter()
        .filter(|e| payload_matches(rule, e.payload))
        .map(|e| (*e, decayed(rule.points, rule.decay, e.occurred_at, now)))
        .collect();
    if worth.is_empty() {
        return None;
    }
    if let Some(limit) = rule.per_day {
        // Of each day's events, the ones worth most count: so a further event can only add.
        let mut by_day: HashMap<NaiveDate, Vec<(&EventFact, f64)>> = HashMap::new();
        for item in worth {
            by_day
                .entry(item.0.occurred_at.date_naive())
                .or_default()
                .push(item);
        }
        worth = by_day
            .into_values()
            .flat_map(|mut day| {
                day.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.id.cmp(&b.0.id)));
                day.truncate(limit as usize);
                day
            })
            .collect();
    }
    worth.sort_by(|a, b| {
        b.0.occurred_at
            .cmp(&a.0.occurred_at)
            .then(b.0.id.cmp(&a.0.id))
    });
    let total: f64 = worth.iter().map(|(_, w)| w).sum();
    let points = match rule.cap {
        Some(cap) if total.abs() > cap => cap.copysign(total),
        _ => total,
    };
    let newest = worth[0].0.occurred_at.format("%Y-%m-%d");
    let label = rule.event.as_str().replace('_', " ");
    let mut detail = if worth.len() == 1 {
        format!("{} {label} {newest}", signed(rule.points))
    } else {
        format!(
            "{} x{} {label}, latest {newest}",
            signed(rule.points),
            worth.len()
        )
    };
    if (total - rule.points * worth.len() as f64).abs() > 0.05 {
        detail.push_str(&format!(", decayed to {}", signed(total)));
    }
    if (points - total).abs() > 1e-9 {
        detail.push_str(&format!(", capped at {}", signed(points)));
    }
    Some(Contribution {
        rule: rule.name.clone(),
        kind: RuleKind::Behaviour,
        points,
        detail,
        events: worth
            .into_iter()
            .map(|(e, w)| EventPoints {
                event_id: e.id,
                occurred_at: e.occurred_at,
                full: rule.points,
                now: w,
            })
            .collect(),
    })
}

/// BANT as the policy defines it, with the parts a rep confirmed.
pub fn bant(lead: &Lead, confirmed: &BTreeSet<BantPart>, policy: &Policy) -> BantStatus {
    let parts: BTreeMap<&'static str, BantEvidence> = BantPart::ALL
        .into_iter()
        .map(|part| {
            let evidence = if confirmed.contains(&part) {
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
            };
            (part.name(), evidence)
        })
        .collect();
    let met = |p: &BantPart| {
        parts
            .get(p.name())
            .is_some_and(|e| *e != BantEvidence::Missing)
    };
    let count = BantPart::ALL.iter().filter(|p| met(p)).count();
    let sql_ready = policy.bant.sql_requires.iter().all(met) && count >= policy.bant.sql_at_least;
    BantStatus { parts, sql_ready }
}

/// Scores a lead under a policy at `now`.
pub fn score(
    lead: &Lead,
    events: &[EventFact],
    confirmed: &BTreeSet<BantPart>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Score {
    let mut explanation = Vec::new();
    let mut fit_points = 0.0;
    for rule in &policy.fit {
        if holds(&rule.condition, lead, &rule.field) {
            fit_points += rule.points;
            let shown = match field_value(lead, &rule.field) {
                Value::String(s) => s,
                Value::Null => "missing".into(),
                other => other.to_string(),
            };
            explanation.push(Contribution {
                rule: rule.name.clone(),
                kind: RuleKind::Fit,
                points: rule.points,
                detail: format!("{} {}: {shown}", signed(rule.points), rule.name),
                events: Vec::new(),
            });
        }
    }
    let mut by_type: HashMap<EventType, Vec<&EventFact>> = HashMap::new();
    for event in events {
        by_type.entry(event.event_type).or_default().push(event);
    }
    let mut behaviour_total = 0.0;
    for rule in &policy.behaviour {
        if let Some(events) = by_type.get(&rule.event) {
            if let Some(contribution) = behaviour_points(rule, events, now) {
                behaviour_total += contribution.points;
                explanation.push(contribution);
            }
        }
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
    let mql =
        total >= policy.mql.min_score && policy.mql.min_fit.is_none_or(|min| fit_grade <= min);
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
        bant: bant(lead, confirmed, policy),
        mql,
        explanation,
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
        let s = score(&good_lead(), &events, &BTreeSet::new(), &policy(), now());
        assert_eq!(s.fit_points, 60.0);
        assert_eq!(s.fit_grade, 'A');
        assert!(s.mql);
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
        assert_eq!(s.bant.parts["authority"], BantEvidence::Fields);
    }

    #[test]
    fn negative_fit_and_missing_bant() {
        let student = lead(
            json!({"email": "kid@gmail.com", "job_title": "Student", "industry": "Education"}),
        );
        let s = score(&student, &[], &BTreeSet::new(), &policy(), now());
        assert_eq!(s.fit_points, -40.0);
        assert_eq!(s.grade, "D4");
        assert_eq!(s.temperature, Temperature::Cold);
        assert!(!s.mql && !s.bant.sql_ready);
        let confirmed: BTreeSet<BantPart> = BantPart::ALL.into_iter().collect();
        assert!(
            score(&student, &[], &confirmed, &policy(), now())
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
        let s = score(&good_lead(), &events, &BTreeSet::new(), &policy(), now());
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
            prop_assert_eq!(score(&good_lead(), &events, &BTreeSet::new(), &p, now()), score(&good_lead(), &events, &BTreeSet::new(), &p, now()));
        }

        #[test]
        fn decay_never_raises_a_score(raw in arb_events(), later_hours in 0i64..2000) {
            // The starter policy's behaviour rules are all positive.
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let events = facts(&raw, &payloads);
            let p = policy();
            let early = score(&good_lead(), &events, &BTreeSet::new(), &p, now());
            let late = score(&good_lead(), &events, &BTreeSet::new(), &p, now() + Duration::hours(later_hours));
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
            let s0 = score(&good_lead(), &before, &BTreeSet::new(), &p, now());
            let s1 = score(&good_lead(), &after, &BTreeSet::new(), &p, now());
            prop_assert!(s1.score >= s0.score - 1e-9);
        }

        #[test]
        fn caps_hold(raw in arb_events()) {
            let payloads = [json!({"page": "/blog"}), json!({"page": "/pricing"})];
            let events = facts(&raw, &payloads);
            let p = policy();
            let s = score(&good_lead(), &events, &BTreeSet::new(), &p, now());
            for c in s.explanation.iter().filter(|c| c.kind == RuleKind::Behaviour) {
                let rule = p.behaviour.iter().find(|r| r.name == c.rule).unwrap();
                if let Some(cap) = rule.cap {
                    prop_assert!(c.points.abs() <= cap + 1e-9);
                }
                if let Some(limit) = rule.per_day {
                    let mut days: HashMap<NaiveDate, u32> = HashMap::new();
                    for e in &c.events {
                        *days.entry(e.occurred_at.date_naive()).or_default() += 1;
                    }
                    prop_assert!(days.values().all(|n| *n <= limit));
                }
            }
        }
    }
}
