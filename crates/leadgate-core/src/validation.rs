//! Validation failures that name the field and the reason, so every surface can report them.

use serde::Serialize;
use serde_json::Value;

/// One rejected value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// All the problems found in one input; validation reports every bad field at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was reported, otherwise all the errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

/// Whether a time a client sends lies in the years a lead's history or plans can: from 1970
/// to 2100. `0001-01-01` or `9999-12-31` is a placeholder or a mistake, and such times
/// break sorting, decay and what other systems read back.
pub fn within_era(time: chrono::DateTime<chrono::Utc>) -> Result<(), &'static str> {
    use chrono::{TimeZone, Utc};
    let earliest = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).single();
    let latest = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single();
    match (earliest, latest) {
        (Some(earliest), Some(latest)) if time >= earliest && time < latest => Ok(()),
        _ => Err("must lie between 1970 and 2100"),
    }
}

/// Refuses a NUL character (`\u0000`) anywhere in a JSON value, keys included: no text
/// may hold one (PostgreSQL cannot store it, and nothing a person types contains it), so
/// both engines refuse it the same way. The error names the place: `field.key[2]`.
pub fn refuse_nul(value: &Value, field: &str) -> Result<(), FieldError> {
    fn find(value: &Value, path: &mut String) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = find(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\u0000"));
                let found = key.contains('\0') || find(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = field.to_owned();
    if find(value, &mut path) {
        return Err(FieldError::new(
            path,
            "contains a NUL character (\\u0000), which no text may hold",
        ));
    }
    Ok(())
}

/// Reads a JSON object into a typed request as far as it goes: the value made of the fields
/// that read (none when a required one is missing or mistyped), and every field that did
/// not, named. serde stops at the first bad field: each one found is set aside and the rest
/// read again (at most once per field), so every mistyped or unknown field is named at once.
pub fn read_fields<T: serde::de::DeserializeOwned>(
    mut map: serde_json::Map<String, Value>,
) -> (Option<T>, FieldErrors) {
    let mut errors = FieldErrors::default();
    loop {
        match serde_path_to_error::deserialize(Value::Object(map.clone())) {
            Ok(value) => return (Some(value), errors),
            Err(e) => {
                let path = e.path().to_string();
                let (field, reason) = serde_reason(&path, &e.inner().to_string());
                let top = field.split('.').next().unwrap_or_default().to_owned();
                if !errors.0.iter().any(|e| e.field == field) {
                    errors.push(FieldError::new(field, reason));
                }
                if map.remove(&top).is_none() {
                    return (None, errors);
                }
            }
        }
    }
}

/// serde's message about a request as the field it concerns and a reason in our words.
fn serde_reason(path: &str, message: &str) -> (String, String) {
    let at = |field: &str| match path {
        "." | "" => field.to_owned(),
        parent => format!("{parent}.{field}"),
    };
    let quoted = |rest: &str| rest.split('`').next().unwrap_or_default().to_owned();
    if let Some(rest) = message.strip_prefix("missing field `") {
        (at(&quoted(rest)), "is required".to_owned())
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        let expected = rest
            .split_once("expected ")
            .map(|(_, list)| format!("; expected {}", list.replace('`', "")))
            .unwrap_or_default();
        // The path already ends at the unknown field.
        let field = match path {
            "." | "" => quoted(rest),
            path => path.to_owned(),
        };
        (field, format!("is not a field here{expected}"))
    } else {
        let field = if path == "." { "" } else { path };
        (field.to_owned(), message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_outside_1970_to_2100_are_refused() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        assert!(within_era(at("0001-01-01T00:00:00Z")).is_err());
        assert!(within_era(at("1969-12-31T23:59:59Z")).is_err());
        assert!(within_era(at("1970-01-01T00:00:00Z")).is_ok());
        assert!(within_era(at("2099-12-31T23:59:59Z")).is_ok());
        assert!(within_era(at("9999-12-31T00:00:00Z")).is_err());
    }

    #[test]
    fn a_nul_anywhere_is_named_by_its_place() {
        assert!(refuse_nul(&json!({"a": ["x", {"b": "fine"}]}), "custom").is_ok());
        let at = |v: Value, field: &str| refuse_nul(&v, field).unwrap_err().field;
        assert_eq!(
            at(json!({"a": ["x", {"b": "no\u{0}"}]}), "custom"),
            "custom.a[1].b"
        );
        assert_eq!(at(json!({"k\u{0}": 1}), "payload"), "payload.k\\u0000");
        assert_eq!(at(json!("x\u{0}y"), "q"), "q");
        assert_eq!(at(json!({"x": "\u{0}"}), ""), "x");
    }

    #[test]
    fn serde_messages_name_the_field() {
        assert_eq!(
            serde_reason(".", "missing field `owner`"),
            ("owner".into(), "is required".into())
        );
        assert_eq!(
            serde_reason(".", "unknown field `ownr`, expected `owner` or `reason`"),
            (
                "ownr".into(),
                "is not a field here; expected owner or reason".into()
            )
        );
        assert_eq!(
            serde_reason("calendar.x", "unknown field `x`, there are no fields"),
            ("calendar.x".into(), "is not a field here".into())
        );
        assert_eq!(
            serde_reason("junk", "invalid type: integer `5`, expected a boolean"),
            (
                "junk".into(),
                "invalid type: integer `5`, expected a boolean".into()
            )
        );
    }
}
