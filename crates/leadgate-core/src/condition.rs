//! The tests rules make on a lead's fields and on event payloads: where a value is read from
//! (`FieldRef`), what it must be (`Condition`), and whether it is.

use crate::lead::{Lead, LeadField};
use regex::Regex;
use serde_json::Value;

/// Where a rule reads its value from.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldRef {
    Lead(LeadField),
    /// A key of the lead's `custom` object.
    Custom(String),
    /// The domain of the lead's email.
    EmailDomain,
}

impl FieldRef {
    pub(crate) fn parse(raw: &str) -> Result<Self, String> {
        if let Some(key) = raw.strip_prefix("custom.") {
            if key.is_empty() {
                return Err("'custom.' needs a key, as in custom.plan".into());
            }
            return Ok(FieldRef::Custom(key.to_owned()));
        }
        if raw == "email_domain" {
            return Ok(FieldRef::EmailDomain);
        }
        LeadField::from_name(raw)
            .map(FieldRef::Lead)
            .ok_or_else(|| {
                let names: Vec<&str> = LeadField::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown field '{raw}'; use one of {}, email_domain or custom.<key>",
                    names.join(", ")
                )
            })
    }
}

/// A test on one value.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Equal (case-insensitively, for text) to one of these (held trimmed and lower-cased).
    In(Vec<String>),
    NotIn(Vec<String>),
    /// A number within [min, max].
    Between(f64, f64),
    AtLeast(f64),
    AtMost(f64),
    /// Text matching any of these regular expressions (case-insensitive).
    Matches(Vec<Regex>),
    /// The value is there (true) or missing (false).
    Present(bool),
    /// The email is at a free-mail provider (true) or a business domain (false).
    FreeMail(bool),
}

/// A field's value as rules read it, borrowed: scoring a million leads must not allocate
/// per rule.
enum Val<'a> {
    Missing,
    Text(&'a str),
    Number(f64),
    Json(&'a Value),
}

fn from_json(value: Option<&Value>) -> Val<'_> {
    match value {
        None | Some(Value::Null) => Val::Missing,
        Some(Value::String(s)) => Val::Text(s),
        Some(Value::Number(n)) => n.as_f64().map_or(Val::Missing, Val::Number),
        Some(other) => Val::Json(other),
    }
}

fn field_value<'a>(lead: &'a Lead, field: &FieldRef) -> Val<'a> {
    match field {
        FieldRef::Lead(LeadField::Custom) => Val::Json(&Value::Null),
        FieldRef::Lead(f) => match (lead.text_value(*f), lead.number_value(*f)) {
            (Some(text), _) => Val::Text(text),
            (None, Some(n)) => Val::Number(n),
            _ => Val::Missing,
        },
        FieldRef::Custom(key) => from_json(lead.custom.get(key)),
        FieldRef::EmailDomain => lead
            .email
            .as_ref()
            .map_or(Val::Missing, |e| Val::Text(e.domain())),
    }
}

/// `text` equals `folded` (already trimmed and lower-cased), ignoring case and surrounding
/// space, without allocating.
fn same_folded(text: &str, folded: &str) -> bool {
    let text = text.trim();
    if text.is_ascii() && folded.is_ascii() {
        return text.eq_ignore_ascii_case(folded);
    }
    text.chars().flat_map(char::to_lowercase).eq(folded.chars())
}

fn val_equals(value: &Val, folded: &str) -> bool {
    match value {
        Val::Text(s) => same_folded(s, folded),
        Val::Number(n) => n.to_string() == folded,
        Val::Json(Value::Bool(b)) => {
            if *b {
                folded == "true"
            } else {
                folded == "false"
            }
        }
        _ => false,
    }
}

fn val_number(value: &Val) -> Option<f64> {
    match value {
        Val::Number(n) => Some(*n),
        Val::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether `condition` holds for a lead's field. A missing value satisfies only
/// `present = false`.
pub fn holds(condition: &Condition, lead: &Lead, field: &FieldRef) -> bool {
    let value = field_value(lead, field);
    match condition {
        Condition::In(list) => list.iter().any(|x| val_equals(&value, x)),
        Condition::NotIn(list) => {
            !matches!(value, Val::Missing) && !list.iter().any(|x| val_equals(&value, x))
        }
        Condition::Between(min, max) => val_number(&value).is_some_and(|n| n >= *min && n <= *max),
        Condition::AtLeast(min) => val_number(&value).is_some_and(|n| n >= *min),
        Condition::AtMost(max) => val_number(&value).is_some_and(|n| n <= *max),
        Condition::Matches(patterns) => match value {
            Val::Text(s) => patterns.iter().any(|re| re.is_match(s)),
            _ => false,
        },
        Condition::Present(wanted) => {
            let there = match value {
                Val::Missing => false,
                Val::Text(s) => !s.trim().is_empty(),
                Val::Json(Value::Object(m)) => !m.is_empty(),
                Val::Json(Value::Array(a)) => !a.is_empty(),
                Val::Json(Value::Null) => false,
                _ => true,
            };
            there == *wanted
        }
        Condition::FreeMail(wanted) => {
            let domain = match field {
                FieldRef::Lead(LeadField::Email) => lead.email.as_ref().map(|e| e.domain()),
                _ => match value {
                    Val::Text(s) => Some(s),
                    _ => None,
                },
            };
            domain.is_some_and(|d| crate::mail_domain::is_free_mail(d) == *wanted)
        }
    }
}

/// Whether an event payload has, for every key, one of the wanted (folded) values.
pub fn payload_has(
    conditions: &std::collections::BTreeMap<String, Vec<String>>,
    payload: &Value,
) -> bool {
    conditions.iter().all(|(key, wanted)| {
        let value = from_json(payload.get(key));
        wanted.iter().any(|w| val_equals(&value, w))
    })
}

/// A field's value as an explanation shows it.
pub(crate) fn shown(lead: &Lead, field: &FieldRef) -> String {
    match field_value(lead, field) {
        Val::Text(s) => s.to_owned(),
        Val::Number(n) => n.to_string(),
        Val::Json(v) => v.to_string(),
        Val::Missing => "missing".into(),
    }
}
