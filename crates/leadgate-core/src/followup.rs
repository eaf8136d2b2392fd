//! Sales follow-up: tasks with an owner and a due time, and interactions (calls, emails,
//! meetings, notes) logged against a lead, each checked with every bad field named.

use crate::event::MAX_CLOCK_SKEW_HOURS;
use crate::source::named_enum;
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

/// A task as someone asks for it (an API body, a form, the CLI, an interaction's next
/// step): read by serde, then checked by `check`, which names every bad field at once.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// call, email, meeting or todo.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = task_type_schema))]
    pub task_type: Option<String>,
    /// Up to 200 characters; by default from the type ("Call the lead").
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 200, pattern = r"[^\s\u0085]")
    )]
    pub title: Option<String>,
    /// When it is due (RFC 3339, 1970 to 2100).
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = crate::openapi::time))]
    pub due_at: Option<String>,
    /// Who does it; the lead's owner when not given.
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 200, pattern = r"[^\s\u0085]")
    )]
    pub owner: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 10000, pattern = r"[^\s\u0085]")
    )]
    pub notes: Option<String>,
}

impl TaskRequest {
    /// The task, or every mistake; `prefix` goes before each field name in errors
    /// (`next_step.` when the task is an interaction's next step).
    pub fn check(&self, prefix: &str) -> Result<NewTask, FieldErrors> {
        let mut check = Check::new(prefix);
        let task_type = check.required("type", &self.task_type, |s| s.parse::<TaskType>());
        let title = check.text("title", &self.title, TITLE_MAX);
        let due_at = check.required("due_at", &self.due_at, |s| time(s, None));
        let owner = check.text("owner", &self.owner, 200);
        let notes = check.text("notes", &self.notes, NOTES_MAX);
        let (Some(task_type), Some(due_at)) = (task_type, due_at) else {
            return Err(check.errors);
        };
        check.errors.into_result(())?;
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

/// An interaction as someone logs it, read by serde and checked by `check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InteractionRequest {
    /// call, email, meeting or note.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = interaction_type_schema))]
    pub kind: Option<String>,
    /// When it happened (RFC 3339, at most a day ahead; absent or null: now).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::time_or_null))]
    pub occurred_at: Option<String>,
    /// How it went: one of the type's outcomes (a call: connected, voicemail, no_answer,
    /// busy, wrong_number; an email: sent, received, bounced; a meeting: held, no_show,
    /// rescheduled; a note has none).
    pub outcome: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 10000, pattern = r"[^\s\u0085]")
    )]
    pub notes: Option<String>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1440))]
    pub duration_minutes: Option<i64>,
    /// A task to create for what comes next.
    pub next_step: Option<TaskRequest>,
}

impl InteractionRequest {
    /// The interaction, or every mistake. `now` is its default time and bounds it (at most
    /// a day of clock skew ahead).
    pub fn check(&self, now: DateTime<Utc>) -> Result<Interaction, FieldErrors> {
        let mut check = Check::new("");
        let kind = check.required("type", &self.kind, |s| s.parse::<InteractionType>());
        let occurred_at = check
            .optional("occurred_at", &self.occurred_at, |s| time(s, Some(now)))
            .unwrap_or(now);
        let outcome = self
            .outcome
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty());
        let notes = check.text("notes", &self.notes, NOTES_MAX);
        let duration_minutes = match self.duration_minutes {
            None => None,
            Some(m) if (0..=24 * 60).contains(&m) => Some(m as u32),
            Some(_) => {
                check.error("duration_minutes", "must be a whole number from 0 to 1440");
                None
            }
        };
        let next_step = match &self.next_step {
            None => None,
            Some(step) => match step.check("next_step.") {
                Ok(task) => Some(task),
                Err(errors) => {
                    check.errors.0.extend(errors.0);
                    None
                }
            },
        };
        if let (Some(kind), Some(outcome)) = (kind, outcome) {
            let allowed = kind.outcomes();
            if !allowed.contains(&outcome) {
                let reason = if allowed.is_empty() {
                    format!("a {kind} has no outcome")
                } else {
                    format!(
                        "'{outcome}' is not an outcome of a {kind}; use one of {}",
                        allowed.join(", ")
                    )
                };
                check.error("outcome", reason);
            }
        }
        let Some(kind) = kind else {
            return Err(check.errors);
        };
        check.errors.into_result(())?;
        Ok(Interaction {
            kind,
            occurred_at,
            outcome: outcome.map(str::to_owned),
            notes,
            duration_minutes,
            next_step,
        })
    }
}

impl Interaction {
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

/// An RFC 3339 time within the era; with `now`, not more than a day after it.
fn time(raw: &str, now: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(raw.trim())
        .map_err(|e| format!("is not an RFC 3339 time such as 2026-05-03T14:00:00Z ({e})"))?
        .with_timezone(&Utc);
    if now.is_some_and(|now| t > now + Duration::hours(MAX_CLOCK_SKEW_HOURS)) {
        return Err("lies more than 24 hours in the future".into());
    }
    crate::validation::within_era(t).map_err(str::to_owned)?;
    Ok(t)
}

/// A request's fields checked one by one, collecting every mistake.
struct Check<'a> {
    prefix: &'a str,
    errors: FieldErrors,
}

impl<'a> Check<'a> {
    fn new(prefix: &'a str) -> Self {
        Check {
            prefix,
            errors: FieldErrors::default(),
        }
    }

    fn error(&mut self, key: &str, reason: impl Into<String>) {
        self.errors
            .push(FieldError::new(format!("{}{key}", self.prefix), reason));
    }

    fn text(&mut self, key: &str, given: &Option<String>, max: usize) -> Option<Text> {
        let raw = given.as_deref()?;
        Text::parse(raw.trim(), max)
            .map_err(|e| self.error(key, e.0))
            .ok()
    }

    fn optional<T>(
        &mut self,
        key: &str,
        given: &Option<String>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = given.as_deref()?;
        parse(raw.trim())
            .map_err(|reason| self.error(key, reason))
            .ok()
    }

    fn required<T>(
        &mut self,
        key: &str,
        given: &Option<String>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        if given.is_none() {
            self.error(key, "is required");
        }
        self.optional(key, given, parse)
    }
}

/// The values a task list's state filter takes: a task state, or `all`.
#[cfg(feature = "openapi")]
pub fn task_state_or_all_schema() -> utoipa::openapi::Object {
    crate::openapi::one_of(TaskState::ALL.iter().map(|s| s.as_str()).chain(["all"]))
}

/// The task types, for the API description.
#[cfg(feature = "openapi")]
pub fn task_type_schema() -> utoipa::openapi::Object {
    crate::openapi::one_of(TaskType::ALL.iter().map(|t| t.as_str()))
}

/// The interaction types, for the API description.
#[cfg(feature = "openapi")]
pub fn interaction_type_schema() -> utoipa::openapi::Object {
    crate::openapi::one_of(InteractionType::ALL.iter().map(|t| t.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-05-04T10:00:00Z".parse().unwrap()
    }

    fn read_task(body: Value, prefix: &str) -> Result<NewTask, FieldErrors> {
        serde_json::from_value::<TaskRequest>(body)
            .expect("a task's shape")
            .check(prefix)
    }

    fn interaction(body: Value) -> Result<Interaction, FieldErrors> {
        serde_json::from_value::<InteractionRequest>(body)
            .expect("an interaction's shape")
            .check(now())
    }

    fn fields_of(errors: &FieldErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_task_needs_a_type_and_a_due_time() {
        let task = read_task(
            json!({"type": "call", "due_at": "2026-05-05T09:00:00+02:00"}),
            "",
        )
        .unwrap();
        assert_eq!(task.task_type, TaskType::Call);
        assert_eq!(task.title.as_str(), "Call the lead");
        assert_eq!(
            task.due_at,
            "2026-05-05T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(serde_json::from_value::<TaskRequest>(json!({"colour": 1})).is_err());
        let errors = read_task(json!({"title": "x"}), "").unwrap_err();
        assert_eq!(fields_of(&errors), ["type", "due_at"]);
        let errors =
            read_task(json!({"type": "fax", "due_at": "tomorrow"}), "next_step.").unwrap_err();
        assert_eq!(fields_of(&errors), ["next_step.type", "next_step.due_at"]);
        assert!(errors.0[0].reason.contains("call, email, meeting, todo"));
        let far = read_task(
            json!({"type": "call", "due_at": "9999-12-31T00:00:00Z"}),
            "",
        )
        .unwrap_err();
        assert_eq!(fields_of(&far), ["due_at"]);
        let ancient = interaction(
            json!({"type": "note", "notes": "x", "occurred_at": "0001-01-01T00:00:00Z"}),
        )
        .unwrap_err();
        assert_eq!(fields_of(&ancient), ["occurred_at"]);
    }

    #[test]
    fn an_interaction_checks_its_outcome_and_next_step() {
        let call = interaction(
            json!({"type": "call", "outcome": "connected", "notes": "Wants a demo",
                    "duration_minutes": 12,
                    "next_step": {"type": "meeting", "due_at": "2026-05-06T10:00:00Z"}}),
        )
        .unwrap();
        assert!(call.is_contact());
        assert_eq!(call.occurred_at, now());
        let event = call.event("rep:ana");
        assert_eq!(event.event_type, EventType::CallLogged);
        assert_eq!(event.payload["outcome"], "connected");
        assert_eq!(event.payload["next_step"]["type"], "meeting");

        let errors = interaction(
            json!({"type": "call", "outcome": "held", "duration_minutes": -3,
                    "occurred_at": "2026-05-09T00:00:00Z", "next_step": {"type": "call"}}),
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
        let note = interaction(json!({"type": "note", "notes": "Budget frozen"})).unwrap();
        assert!(!note.is_contact());
        assert_eq!(note.event("x").event_type, EventType::NoteAdded);
        let errors = interaction(json!({"type": "note", "outcome": "sent"})).unwrap_err();
        assert!(errors.0[0].reason.contains("has no outcome"));
        assert!(serde_json::from_value::<InteractionRequest>(json!([])).is_err());
    }
}
