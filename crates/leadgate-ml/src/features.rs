//! Point-in-time features: what was known about a lead at a cutoff time, read from its
//! profile and the events before the cutoff, and what became of it (the label).

use chrono::{DateTime, Duration, Utc};
use leadgate_core::scoring::EventFact;
use leadgate_core::{EventType, Lead, LeadField, Source, Stage};
use litemap::LiteMap;
use rustc_hash::FxHashSet;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One raw feature value before encoding. Text is shared like names (see `feature_text`).
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Num(f64),
    Text(Arc<str>),
}

impl Raw {
    /// A text value, sharing its allocation with every other value of the same text.
    pub fn text(text: &str) -> Raw {
        Raw::Text(feature_text(text))
    }
}

/// A lead's features as of its cutoff, by feature name: a sorted vector, one allocation
/// read front to back when encoding (a tree map's nodes lie scattered over the heap).
pub type Observation = LiteMap<FeatureName, Raw>;

/// A feature's name, shared by every observation that has the feature (see `feature_name`):
/// encoding reads each observation's names, and thousands of copies of one name scattered
/// over the heap made that pass wait on memory more than compute.
pub type FeatureName = Arc<str>;

/// The most names, and the most text values, one thread shares; past it (a store with
/// endless custom fields or free-text answers) they are still made, just not shared, so
/// neither table can grow without bound.
const MAX_SHARED: usize = 10_000;

thread_local! {
    static NAMES: RefCell<FxHashSet<Arc<str>>> = RefCell::default();
    static TEXTS: RefCell<FxHashSet<Arc<str>>> = RefCell::default();
}

/// This name's shared allocation.
pub fn feature_name(name: &str) -> FeatureName {
    NAMES.with(|names| shared(&mut names.borrow_mut(), name))
}

/// This text value's shared allocation: a category column holds a few values thousands of
/// times, and encoding files each cell under its value (by address, once it has seen it).
pub fn feature_text(text: &str) -> Arc<str> {
    TEXTS.with(|texts| shared(&mut texts.borrow_mut(), text))
}

fn shared(table: &mut FxHashSet<Arc<str>>, text: &str) -> Arc<str> {
    if let Some(shared) = table.get(text) {
        return shared.clone();
    }
    let made = Arc::<str>::from(text);
    if table.len() < MAX_SHARED {
        table.insert(made.clone());
    }
    made
}

/// A lead's history as the store holds it, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct LeadHistory<'a> {
    pub lead: &'a Lead,
    pub first_touch: &'a Source,
    pub last_touch: &'a Source,
    pub created_at: DateTime<Utc>,
    /// How many junk reasons the lead carries.
    pub junk_reasons: usize,
    /// Oldest first.
    pub events: &'a [EventFact<'a>],
}

/// What became of a lead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    pub won: bool,
    /// When the outcome (or sales' first decision) was known: features stop here.
    pub cutoff: DateTime<Utc>,
    /// The deal value recorded with a win.
    pub value: Option<f64>,
}

/// Events that are the lead's own behaviour (and marketing's touches), not sales' work on
/// it or the system's bookkeeping: only these become features, so the model does not learn
/// the outcome from the way sales handled a lead.
pub const BEHAVIOUR: [EventType; 7] = [
    EventType::FormSubmitted,
    EventType::PageViewed,
    EventType::ContentDownloaded,
    EventType::EmailOpened,
    EventType::EmailClicked,
    EventType::WebinarAttended,
    EventType::Custom,
];

/// Windows (days before the cutoff) over which behaviour is counted as well as in total.
const WINDOWS: [i64; 2] = [7, 30];

/// Core profile fields that describe the lead (names, contact details and the owner are
/// identity, not signal, and the stage is the outcome).
const PROFILE_TEXT: [LeadField; 8] = [
    LeadField::JobTitle,
    LeadField::Country,
    LeadField::Industry,
    LeadField::ProductNeed,
    LeadField::PurchaseTimeframe,
    LeadField::CurrentSolution,
    LeadField::Company,
    LeadField::Website,
];

/// Whether and how a closed lead ended, from its history; `None` while it is open.
pub fn label(history: &LeadHistory) -> Option<Label> {
    let mut decision: Option<DateTime<Utc>> = None;
    let mut outcome: Option<(bool, DateTime<Utc>, Option<f64>)> = None;
    let mut disqualified_at = None;
    for event in history.events {
        match event.event_type {
            EventType::StageChanged => {
                match event
                    .payload
                    .get("to")
                    .and_then(Value::as_str)
                    .map(str::parse)
                {
                    Some(Ok(Stage::Sal | Stage::Sql | Stage::Opportunity | Stage::Customer)) => {
                        decision.get_or_insert(event.occurred_at);
                    }
                    Some(Ok(Stage::Disqualified)) => {
                        disqualified_at.get_or_insert(event.occurred_at);
                    }
                    _ => {}
                }
            }
            EventType::OutcomeRecorded => {
                let won = match event.payload.get("outcome").and_then(Value::as_str) {
                    Some("won") => true,
                    Some("lost") => false,
                    _ => continue,
                };
                let value = event.payload.get("value").and_then(Value::as_f64);
                outcome = Some((won, event.occurred_at, value.filter(|v| v.is_finite())));
            }
            _ => {}
        }
    }
    let (won, at, value) = match (outcome, history.lead.stage) {
        (Some(found), _) => found,
        (None, Stage::Customer) => (true, decision.unwrap_or(history.created_at), None),
        (None, Stage::Disqualified) => (false, disqualified_at.unwrap_or(history.created_at), None),
        _ => return None,
    };
    Some(Label {
        won,
        cutoff: decision.map_or(at, |d| d.min(at)),
        value,
    })
}

/// The lead's features as of `cutoff`: its profile (with later field changes rolled back),
/// its sources, and aggregates of its behaviour before the cutoff. `excluded` names fields
/// known to be filled after the outcome; they never become features.
pub fn observe(history: &LeadHistory, cutoff: DateTime<Utc>, excluded: &[String]) -> Observation {
    let mut out = Observation::new();
    let profile = profile_at(history, cutoff);
    for field in PROFILE_TEXT {
        let name = field.name();
        if let Some(Value::String(s)) = profile.get(name) {
            out.insert(feature_name(name), Raw::text(s));
        }
    }
    if let Some(domain) = profile
        .get("email")
        .and_then(Value::as_str)
        .and_then(|e| e.rsplit_once('@'))
    {
        out.insert(
            feature_name("email_domain"),
            Raw::text(&domain.1.to_lowercase()),
        );
    }
    for (name, present) in [
        ("has_phone", profile.get("phone")),
        ("has_email", profile.get("email")),
    ] {
        let known = present.is_some_and(|v| !v.is_null());
        out.insert(feature_name(name), Raw::Num(f64::from(u8::from(known))));
    }
    for name in ["company_size", "budget"] {
        if let Some(n) = profile.get(name).and_then(Value::as_f64) {
            out.insert(feature_name(name), Raw::Num(n));
        }
    }
    if let Some(Value::Object(custom)) = profile.get("custom") {
        for (key, value) in custom {
            let name = format!("custom.{key}");
            if excluded.contains(&name) || excluded.contains(key) {
                continue;
            }
            if let Some(raw) = raw_of(value) {
                out.insert(feature_name(&name), raw);
            }
        }
    }
    for (prefix, source) in [
        ("first_touch", history.first_touch),
        ("last_touch", history.last_touch),
    ] {
        out.insert(
            feature_name(&format!("{prefix}.channel")),
            Raw::text(source.channel.as_str()),
        );
        if prefix == "first_touch" {
            out.insert(
                feature_name("first_touch.source_class"),
                Raw::text(source.source_class.as_str()),
            );
            for (name, value) in [
                ("campaign", &source.campaign),
                ("utm_source", &source.utm_source),
                ("utm_medium", &source.utm_medium),
            ] {
                if let Some(v) = value {
                    out.insert(
                        feature_name(&format!("first_touch.{name}")),
                        Raw::text(v.as_str()),
                    );
                }
            }
        }
    }
    out.insert(
        feature_name("junk_reasons"),
        Raw::Num(history.junk_reasons as f64),
    );
    behaviour(history, cutoff, &mut out);
    out
}

fn raw_of(value: &Value) -> Option<Raw> {
    match value {
        Value::Bool(b) => Some(Raw::Num(f64::from(u8::from(*b)))),
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(Raw::Num),
        Value::String(s) if !s.trim().is_empty() => Some(Raw::text(s.trim())),
        _ => None,
    }
}

/// The profile as it stood at `cutoff`: field changes recorded after it are undone, newest
/// first, so a field a rep filled in after the outcome is not seen.
fn profile_at(history: &LeadHistory, cutoff: DateTime<Utc>) -> Map<String, Value> {
    let mut profile = Map::new();
    for field in PROFILE_TEXT.into_iter().chain([
        LeadField::Email,
        LeadField::Phone,
        LeadField::CompanySize,
        LeadField::Budget,
    ]) {
        profile.insert(field.name().to_owned(), history.lead.get(field));
    }
    profile.insert("custom".into(), Value::Object(history.lead.custom.clone()));
    for event in history.events.iter().rev() {
        if event.occurred_at < cutoff {
            break;
        }
        if event.event_type != EventType::FieldChanged {
            continue;
        }
        let (Some(field), Some(old)) = (
            event.payload.get("field").and_then(Value::as_str),
            event.payload.get("old"),
        ) else {
            continue;
        };
        // Custom fields change as one object: `old` is the whole object before.
        if profile.contains_key(field) {
            profile.insert(field.to_owned(), old.clone());
        }
    }
    profile
}

/// The field a page view names, by the keys trackers use.
pub fn page_of(payload: &Value) -> Option<&str> {
    ["page", "url", "path"]
        .into_iter()
        .find_map(|k| payload.get(k).and_then(Value::as_str))
}

fn behaviour(history: &LeadHistory, cutoff: DateTime<Utc>, out: &mut Observation) {
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    let mut last: Option<DateTime<Utc>> = None;
    let mut seconds = 0.0;
    let mut sources = std::collections::BTreeSet::new();
    for event in history.events {
        if event.occurred_at >= cutoff {
            break;
        }
        if !BEHAVIOUR.contains(&event.event_type) {
            continue;
        }
        let kind = event.event_type.as_str();
        let age = cutoff - event.occurred_at;
        *counts.entry(format!("events.{kind}")).or_default() += 1.0;
        for days in WINDOWS {
            if age <= Duration::days(days) {
                *counts.entry(format!("events.{kind}.{days}d")).or_default() += 1.0;
            }
        }
        if event.event_type == EventType::PageViewed {
            if let Some(page) = page_of(event.payload) {
                *counts.entry(format!("pages.{page}")).or_default() += 1.0;
            }
            if let Some(s) = event.payload.get("seconds").and_then(Value::as_f64) {
                if s.is_finite() && s > 0.0 {
                    seconds += s;
                }
            }
        }
        if let Some(source) = event.payload.get("source").and_then(Value::as_str) {
            sources.insert(source.to_owned());
        }
        last = Some(event.occurred_at);
    }
    for kind in BEHAVIOUR {
        let name = format!("events.{}", kind.as_str());
        let total = counts.get(&name).copied().unwrap_or(0.0);
        out.insert(feature_name(&name), Raw::Num(total));
        for days in WINDOWS {
            let windowed = format!("{name}.{days}d");
            let n = counts.get(&windowed).copied().unwrap_or(0.0);
            out.insert(feature_name(&windowed), Raw::Num(n));
        }
    }
    for (name, n) in counts.iter().filter(|(k, _)| k.starts_with("pages.")) {
        out.insert(feature_name(name), Raw::Num(*n));
    }
    out.insert(feature_name("time_on_site_seconds"), Raw::Num(seconds));
    out.insert(
        feature_name("event_sources"),
        Raw::Num(sources.len() as f64),
    );
    if let Some(last) = last {
        out.insert(
            feature_name("days_since_activity"),
            Raw::Num(days(cutoff - last)),
        );
    }
    out.insert(
        feature_name("age_days"),
        Raw::Num(days(cutoff - history.created_at).max(0.0)),
    );
}

fn days(d: Duration) -> f64 {
    d.num_seconds() as f64 / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    struct Fixture {
        lead: Lead,
        source: Source,
        payloads: Vec<(EventType, DateTime<Utc>, Value)>,
    }

    impl Fixture {
        fn new() -> Self {
            let mut lead = Lead::default();
            lead.custom.insert("occupation".into(), json!("Student"));
            lead.custom.insert("tags".into(), json!("Closed by sales"));
            Fixture {
                lead,
                source: serde_json::from_value(
                    json!({"channel": "web_form", "source_class": "external"}),
                )
                .unwrap(),
                payloads: Vec::new(),
            }
        }

        fn with<R>(&self, f: impl FnOnce(&LeadHistory) -> R) -> R {
            let facts: Vec<EventFact> = self
                .payloads
                .iter()
                .enumerate()
                .map(|(i, (t, when, p))| EventFact {
                    id: i as i64,
                    event_type: *t,
                    occurred_at: *when,
                    payload: p,
                })
                .collect();
            f(&LeadHistory {
                lead: &self.lead,
                first_touch: &self.source,
                last_touch: &self.source,
                created_at: at(1),
                junk_reasons: 0,
                events: &facts,
            })
        }
    }

    #[test]
    fn no_feature_sees_events_after_the_cutoff() {
        let mut f = Fixture::new();
        f.payloads = vec![
            (
                EventType::PageViewed,
                at(2),
                json!({"page": "/pricing", "seconds": 30}),
            ),
            (
                EventType::PageViewed,
                at(9),
                json!({"page": "/pricing", "seconds": 50}),
            ),
            (
                EventType::PageViewed,
                at(20),
                json!({"page": "/pricing", "seconds": 70}),
            ),
        ];
        let obs = f.with(|h| observe(h, at(10), &[]));
        assert_eq!(obs.get("events.page_viewed"), Some(&Raw::Num(2.0)));
        assert_eq!(obs.get("events.page_viewed.7d"), Some(&Raw::Num(1.0)));
        assert_eq!(obs.get("pages./pricing"), Some(&Raw::Num(2.0)));
        assert_eq!(obs.get("time_on_site_seconds"), Some(&Raw::Num(80.0)));
        assert_eq!(obs.get("days_since_activity"), Some(&Raw::Num(1.0)));
        assert_eq!(obs.get("age_days"), Some(&Raw::Num(9.0)));
    }

    #[test]
    fn observations_share_their_feature_names_and_texts() {
        let f = Fixture::new();
        let first = f.with(|h| observe(h, at(10), &[]));
        let second = f.with(|h| observe(h, at(11), &[]));
        assert_eq!(first.len(), second.len());
        for ((a, x), (b, y)) in first.iter().zip(&second) {
            assert!(Arc::ptr_eq(a, b), "{a} is allocated twice");
            if let (Raw::Text(x), Raw::Text(y)) = (x, y) {
                assert!(Arc::ptr_eq(x, y), "{a}'s value {x} is allocated twice");
            }
        }
        assert!(first.values().any(|v| matches!(v, Raw::Text(_))));
    }

    #[test]
    fn field_changes_after_the_cutoff_are_rolled_back() {
        let mut f = Fixture::new();
        f.lead
            .custom
            .insert("occupation".into(), json!("Working Professional"));
        f.payloads = vec![(
            EventType::FieldChanged,
            at(12),
            json!({"field": "custom", "old": {"occupation": "Student"}, "new": {"occupation": "Working Professional"}}),
        )];
        let before = f.with(|h| observe(h, at(10), &[]));
        assert_eq!(
            before.get("custom.occupation"),
            Some(&Raw::Text("Student".into()))
        );
        let after = f.with(|h| observe(h, at(13), &[]));
        assert_eq!(
            after.get("custom.occupation"),
            Some(&Raw::Text("Working Professional".into()))
        );
    }

    #[test]
    fn fields_filled_after_the_outcome_are_left_out() {
        let f = Fixture::new();
        let obs = f.with(|h| observe(h, at(10), &["custom.tags".to_owned()]));
        assert!(!obs.contains_key("custom.tags"));
        assert!(obs.contains_key("custom.occupation"));
    }

    #[test]
    fn label_reads_the_outcome_and_cuts_at_the_first_decision() {
        let mut f = Fixture::new();
        assert_eq!(f.with(label), None);
        f.payloads = vec![
            (
                EventType::StageChanged,
                at(5),
                json!({"from": "mql", "to": "sal"}),
            ),
            (
                EventType::OutcomeRecorded,
                at(9),
                json!({"outcome": "won", "value": 1200.0}),
            ),
        ];
        let l = f.with(label).unwrap();
        assert!(l.won);
        assert_eq!(l.cutoff, at(5));
        assert_eq!(l.value, Some(1200.0));
        f.payloads = vec![(
            EventType::OutcomeRecorded,
            at(9),
            json!({"outcome": "lost"}),
        )];
        assert_eq!(
            f.with(label),
            Some(Label {
                won: false,
                cutoff: at(9),
                value: None
            })
        );
    }
}
