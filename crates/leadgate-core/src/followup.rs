//! Sales follow-up: tasks with an owner and a due time, and interactions (calls, emails,
//! meetings, notes) logged against a lead, each read from JSON with every bad field named.

use crate::event::MAX_CLOCK_SKEW_HOURS;
use crate::source::{json_kind, named_enum};
use crate::validation::{FieldError, FieldErrors};
use crate::values::Text;
use crate::{EventDraft, EventType};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// What a follow-up task asks for.
    TaskType, "task type" {
        Call => "call",
        Email => "email",
        Meeting => "meeting",
        Todo => "todo",
    }
);

named_enum!(
    /// Where a task stands.
    TaskState, "task state" {
        Open => "open",
        Done => "done",
        Cancelled => "cancelled",
    }
);

named_enum!(
    /// A contact with the lead, or a note about it.
    InteractionType, "interaction type" {
        Call => "call",
        Email => "email",
        Meeting => "meeting",
        Note => "note",
    }
);

impl InteractionType {
    /// The event that records it.
    pub fn event_type(self) -> EventType {
        match self {
            InteractionType::Call => EventType::CallLogged,
            InteractionType::Email => EventType::EmailLogged,
            InteractionType::Meeting => EventType::MeetingLogged,
            InteractionType::Note => EventType::NoteAdded,
        }
    }

    /// The outcomes a rep can record for it (none for a note).
    pub fn outcomes(self) -> &'static [&'static str] {
        match self {
            InteractionType::Call => &[
                "connected",
                "voicemail",
                "no_answer",
                "busy",
                "wrong_number",
            ],
            InteractionType::Email => &["sent", "received", "bounced"],
            InteractionType::Meeting => &["held", "no_show", "rescheduled"],
            InteractionType::Note => &[],
        }
    }
}

/// The longest title and notes, in characters.
pub const TITLE_MAX: usize = 200;
pub const NOTES_MAX: usize = 10_000;

/// A task to create, as someone asked for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTask {
    pub task_type: TaskType,
    pub title: Text,
    pub due_at: DateTime<Utc>,
    /// Who does it; the lead's owner when not given.
    pub owner: Option<Text>,
    pub notes: Option<Text>,
}

impl NewTask {
    /// Reads `{"type", "title", "due_at", "owner", "notes"}`; `prefix` goes before each field
    /// name in errors (`next_step.` when the task is an interaction's next step).
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, FieldErrors> {
        let mut fields = Fields::of(
            value,
            prefix,
            &["type", "title", "due_at", "owner", "notes"],
        )?;
        let task_type = fields.required("type", |s| s.parse::<TaskType>());
        let title = fields.text("title", TITLE_MAX);
        let due_at = fields.time("due_at", None);
        if fields.map.get("due_at").is_none_or(Value::is_null) {
            fields.missing("due_at");
        }
        let owner = fields.text("owner", 200);
        let notes = fields.text("notes", NOTES_MAX);
        fields.finish()?;
        let (Some(task_type), Some(due_at)) = (task_type, due_at) else {
            unreachable!("missing fields were reported")
        };
        let title = title.unwrap_or_else(|| {
            Text::parse(default_title(task_type), TITLE_MAX).expect("default titles are valid")
        });
        Ok(NewTask {
            task_type,
            title,
            due_at,
            owner,
            notes,
        })
    }
}

fn default_title(task_type: TaskType) -> &'static str {
    match task_type {
        TaskType::Call => "Call the lead",
        TaskType::Email => "Email the lead",
        TaskType::Meeting => "Meet the lead",
        TaskType::Todo => "Follow up",
    }
}

/// An interaction to log: what happened, when, how it went, and optionally the next step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interaction {
    pub kind: InteractionType,
    pub occurred_at: DateTime<Utc>,
    pub outcome: Option<String>,
    pub notes: Option<Text>,
    pub duration_minutes: Option<u32>,
    pub next_step: Option<NewTask>,
}

impl Interaction {
    /// Reads `{"type", "occurred_at", "outcome", "notes", "duration_minutes", "next_step"}`.
    /// `now` bounds `occurred_at` (at most a day of clock skew ahead).
    pub fn parse(value: &Value, now: DateTime<Utc>) -> Result<Self, FieldErrors> {
        let mut fields = Fields::of(
            value,
            "",
            &[
                "type",
                "occurred_at",
                "outcome",
                "notes",
                "duration_minutes",
                "next_step",
            ],
        )?;
        let kind = fields.required("type", |s| s.parse::<InteractionType>());
        let occurred_at = fields.time("occurred_at", Some(now)).unwrap_or(now);
        let outcome = fields.string("outcome");
        let notes = fields.text("notes", NOTES_MAX);
        let duration_minutes = match fields.map.get("duration_minutes") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(m) if m <= 24 * 60 => Some(m as u32),
                _ => {
                    fields.error("duration_minutes", "must be a whole number from 0 to 1440");
                    None
                }
            },
            Some(other) => {
                fields.error(
                    "duration_minutes",
                    format!("must be a number, not {}", json_kind(other)),
                );
                None
            }
        };
        let next_step = match fields.map.get("next_step") {
            None | Some(Value::Null) => None,
            Some(step) => match NewTask::parse(step, "next_step.") {
                Ok(task) => Some(task),
                Err(errors) => {
                    fields.errors.0.extend(errors.0);
                    None
                }
            },
        };
        if let (Some(kind), Some(outcome)) = (kind, &outcome) {
            let allowed = kind.outcomes();
            if !allowed.contains(&outcome.as_str()) {
                let reason = if allowed.is_empty() {
                    format!("a {kind} has no outcome")
                } else {
                    format!(
                        "'{outcome}' is not an outcome of a {kind}; use one of {}",
                        allowed.join(", ")
                    )
                };
                fields.error("outcome", reason);
            }
        }
        fields.finish()?;
        let Some(kind) = kind else {
            unreachable!("a missing type was reported")
        };
        Ok(Interaction {
            kind,
            occurred_at,
            outcome,
            notes,
            duration_minutes,
            next_step,
        })
    }

    /// Whether it answers a response clock: a contact attempt, not a note to self.
    pub fn is_contact(&self) -> bool {
        self.kind != InteractionType::Note
    }

    /// The event recording it, by `actor`.
    pub fn event(&self, actor: &str) -> EventDraft {
        let mut payload = Map::new();
        payload.insert("interaction".into(), json!(self.kind.as_str()));
        if let Some(outcome) = &self.outcome {
            payload.insert("outcome".into(), json!(outcome));
        }
        if let Some(notes) = &self.notes {
            payload.insert("notes".into(), json!(notes.as_str()));
        }
        if let Some(minutes) = self.duration_minutes {
            payload.insert("duration_minutes".into(), json!(minutes));
        }
        if let Some(step) = &self.next_step {
            payload.insert(
                "next_step".into(),
                json!({"type": step.task_type, "title": step.title.as_str(), "due_at": step.due_at}),
            );
        }
        EventDraft::new(
            self.kind.event_type(),
            self.occurred_at,
            Value::Object(payload),
        )
        .with_actor(actor)
    }
}

/// A JSON object read field by field, collecting every mistake.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    fn of(value: &'a Value, prefix: &'a str, known: &[&str]) -> Result<Self, FieldErrors> {
        let Value::Object(map) = value else {
            let field = prefix.trim_end_matches('.');
            return Err(FieldError::new(
                field,
                format!("must be an object, not {}", json_kind(value)),
            )
            .into());
        };
        let mut fields = Fields {
            map,
            prefix,
            errors: FieldErrors::default(),
        };
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                fields.error(
                    key,
                    format!("is not a field here; use {}", known.join(", ")),
                );
            }
        }
        Ok(fields)
    }

    fn error(&mut self, key: &str, reason: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}{key}", self.prefix), reason));
    }

    fn missing(&mut self, key: &str) {
        self.error(key, "is required");
    }

    fn string(&mut self, key: &str) -> Option<String> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(other) => {
                self.error(key, format!("must be a string, not {}", json_kind(other)));
                None
            }
        }
    }

    fn text(&mut self, key: &str, max: usize) -> Option<Text> {
        let raw = self.string(key)?;
        Text::parse(&raw, max)
            .map_err(|e| self.error(key, e.0))
            .ok()
    }

    fn required<T>(&mut self, key: &str, parse: impl Fn(&str) -> Result<T, String>) -> Option<T> {
        match self.string(key) {
            Some(s) => parse(&s).map_err(|reason| self.error(key, reason)).ok(),
            None => {
                if self.map.get(key).is_none_or(Value::is_null) {
                    self.missing(key);
                }
                None
            }
        }
    }

    /// An RFC 3339 time; with `now`, it may not lie more than a day after it.
    fn time(&mut self, key: &str, now: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let raw = self.string(key)?;
        match DateTime::parse_from_rfc3339(&raw) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                if now.is_some_and(|now| t > now + Duration::hours(MAX_CLOCK_SKEW_HOURS)) {
                    self.error(key, "lies more than 24 hours in the future");
                    return None;
                }
                if let Err(reason) = crate::validation::within_era(t) {
                    self.error(key, reason);
                    return None;
                }
                Some(t)
            }
            Err(e) => {
                self.error(
                    key,
                    format!("is not an RFC 3339 time such as 2026-05-03T14:00:00Z ({e})"),
                );
                None
            }
        }
    }

    fn finish(self) -> Result<(), FieldErrors> {
        self.errors.into_result(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-05-04T10:00:00Z".parse().unwrap()
    }

    fn fields_of(errors: &FieldErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_task_needs_a_type_and_a_due_time() {
        let task = NewTask::parse(
            &json!({"type": "call", "due_at": "2026-05-05T09:00:00+02:00"}),
            "",
        )
        .unwrap();
        assert_eq!(task.task_type, TaskType::Call);
        assert_eq!(task.title.as_str(), "Call the lead");
        assert_eq!(
            task.due_at,
            "2026-05-05T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let errors = NewTask::parse(&json!({"title": "x", "colour": 1}), "").unwrap_err();
        assert_eq!(fields_of(&errors), ["colour", "type", "due_at"]);
        let errors = NewTask::parse(&json!({"type": "fax", "due_at": "tomorrow"}), "next_step.")
            .unwrap_err();
        assert_eq!(fields_of(&errors), ["next_step.type", "next_step.due_at"]);
        assert!(errors.0[0].reason.contains("call, email, meeting, todo"));
        let far = NewTask::parse(
            &json!({"type": "call", "due_at": "9999-12-31T00:00:00Z"}),
            "",
        )
        .unwrap_err();
        assert_eq!(fields_of(&far), ["due_at"]);
        let ancient = Interaction::parse(
            &json!({"type": "note", "notes": "x", "occurred_at": "0001-01-01T00:00:00Z"}),
            now(),
        )
        .unwrap_err();
        assert_eq!(fields_of(&ancient), ["occurred_at"]);
    }

    #[test]
    fn an_interaction_checks_its_outcome_and_next_step() {
        let call = Interaction::parse(
            &json!({"type": "call", "outcome": "connected", "notes": "Wants a demo",
                    "duration_minutes": 12,
                    "next_step": {"type": "meeting", "due_at": "2026-05-06T10:00:00Z"}}),
            now(),
        )
        .unwrap();
        assert!(call.is_contact());
        assert_eq!(call.occurred_at, now());
        let event = call.event("rep:ana");
        assert_eq!(event.event_type, EventType::CallLogged);
        assert_eq!(event.payload["outcome"], "connected");
        assert_eq!(event.payload["next_step"]["type"], "meeting");

        let errors = Interaction::parse(
            &json!({"type": "call", "outcome": "held", "duration_minutes": -3,
                    "occurred_at": "2026-05-09T00:00:00Z", "next_step": {"type": "call"}}),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            fields_of(&errors),
            [
                "occurred_at",
                "duration_minutes",
                "next_step.due_at",
                "outcome"
            ]
        );
        assert!(errors.0[3].reason.contains("connected, voicemail"));
        let note =
            Interaction::parse(&json!({"type": "note", "notes": "Budget frozen"}), now()).unwrap();
        assert!(!note.is_contact());
        assert_eq!(note.event("x").event_type, EventType::NoteAdded);
        let errors =
            Interaction::parse(&json!({"type": "note", "outcome": "sent"}), now()).unwrap_err();
        assert!(errors.0[0].reason.contains("has no outcome"));
        assert!(Interaction::parse(&json!([]), now()).is_err());
    }
}
