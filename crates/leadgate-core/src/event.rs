//! Events: everything that happens to a lead, appended and never changed. A lead's state is
//! what its events say.

use crate::source::{json_kind, named_enum};
use crate::validation::{FieldError, FieldErrors};
use crate::values::{ExternalId, Text};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// What kind of thing happened.
    EventType, "event type" {
        FormSubmitted => "form_submitted",
        PageViewed => "page_viewed",
        ContentDownloaded => "content_downloaded",
        EmailOpened => "email_opened",
        EmailClicked => "email_clicked",
        /// An email's images fetched by a machine (a mail privacy proxy, a scanner), not
        /// read by a person: kept apart from `email_opened` so no rule counts it.
        EmailPrefetched => "email_prefetched",
        /// An email Leadgate sent came back undeliverable.
        EmailBounced => "email_bounced",
        WebinarAttended => "webinar_attended",
        MeetingBooked => "meeting_booked",
        CallLogged => "call_logged",
        EmailLogged => "email_logged",
        MeetingLogged => "meeting_logged",
        NoteAdded => "note_added",
        TaskCreated => "task_created",
        TaskCompleted => "task_completed",
        TaskDue => "task_due",
        SlaBreached => "sla_breached",
        GradeChanged => "grade_changed",
        AutomationFired => "automation_fired",
        EmailSent => "email_sent",
        FieldChanged => "field_changed",
        StageChanged => "stage_changed",
        OwnerAssigned => "owner_assigned",
        OutcomeRecorded => "outcome_recorded",
        PersonMerged => "person_merged",
        Custom => "custom",
    }
);

/// The largest payload one event may carry, serialised.
pub const PAYLOAD_MAX_BYTES: usize = 32 * 1024;
/// How far in the future an `occurred_at` may lie (clock skew), before it is refused.
pub const MAX_CLOCK_SKEW_HOURS: i64 = 24;

/// Which lead an incoming event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LeadRef {
    Id(crate::id::LeadId),
    External(ExternalId),
}

/// A validated event, ready to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventDraft {
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub source: Option<Text>,
    pub actor: Option<Text>,
    pub payload: Value,
    pub idempotency_key: Option<String>,
}

impl EventDraft {
    pub fn new(event_type: EventType, occurred_at: DateTime<Utc>, payload: Value) -> Self {
        Self {
            event_type,
            occurred_at,
            source: None,
            actor: None,
            payload,
            idempotency_key: None,
        }
    }

    pub fn with_actor(mut self, actor: &str) -> Self {
        self.actor = Text::parse(actor, 200).ok();
        self
    }

    /// Validates one item of an event batch (an `EventRequest`), naming every bad field at
    /// once. `now` bounds `occurred_at`.
    pub fn parse_item(
        item: &Value,
        now: DateTime<Utc>,
    ) -> Result<(LeadRef, EventDraft), FieldErrors> {
        let Value::Object(map) = item else {
            return Err(
                FieldError::new("", format!("must be an object, not {}", json_kind(item))).into(),
            );
        };
        let mut errors = FieldErrors::default();
        if let Err(e) = crate::validation::refuse_nul(item, "") {
            errors.push(e);
        }
        let (read, unread) = crate::validation::read_fields::<EventRequest>(map.clone());
        errors.0.extend(unread.0);
        // Fields that did not read are named already; the rules of the rest still hold.
        let checked = read.unwrap_or_default().check(now);
        match checked {
            Ok(event) if errors.is_empty() => Ok(event),
            Ok(_) => Err(errors),
            Err(broken) => {
                for error in broken.0 {
                    if !errors.0.iter().any(|e| e.field == error.field) {
                        errors.push(error);
                    }
                }
                Err(errors)
            }
        }
    }
}

/// One event as a client sends it (an item of `POST /api/v1/events`): read by serde, then
/// checked by `check`. `lead_id` or `external_id` names the lead.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// The lead's id (or `external_id`, not both).
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub lead_id: Option<i64>,
    /// The lead's id in the source system (or `lead_id`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub external_id: Option<String>,
    /// What happened.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(required = true, schema_with = event_type_schema))]
    pub event_type: Option<String>,
    /// When it happened (RFC 3339, 1970 to 2100, at most 24 hours ahead); absent or null:
    /// now.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::time_or_null))]
    pub occurred_at: Option<String>,
    /// Where the event was observed (e.g. website, zoom).
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 200, pattern = r"[^\s\u0085]")
    )]
    pub source: Option<String>,
    /// What the event carries, at most 32 KiB.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub payload: Option<Map<String, Value>>,
    /// An event whose key was stored before is answered `duplicate` and not stored again.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub idempotency_key: Option<String>,
}

/// The event types, for the API description.
#[cfg(feature = "openapi")]
pub fn event_type_schema() -> utoipa::openapi::Object {
    crate::openapi::one_of(EventType::ALL.iter().map(|t| t.as_str()))
}

impl EventRequest {
    /// The lead it is about and the event, or every broken rule.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(LeadRef, EventDraft), FieldErrors> {
        let mut errors = FieldErrors::default();
        let lead = match (self.lead_id, &self.external_id) {
            (Some(id), None) if id > 0 => Some(LeadRef::Id(crate::id::LeadId(id))),
            (Some(_), None) => {
                errors.push(FieldError::new(
                    "lead_id",
                    "must be a positive whole number",
                ));
                None
            }
            (None, Some(s)) => ExternalId::parse(s)
                .map(LeadRef::External)
                .map_err(|e| errors.push(FieldError::new("external_id", e.0)))
                .ok(),
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "lead_id",
                    "give lead_id or external_id, not both",
                ));
                None
            }
            (None, None) => {
                errors.push(FieldError::new("lead_id", "is required (or external_id)"));
                None
            }
        };
        let event_type = match &self.event_type {
            Some(s) => EventType::from_str(s)
                .map_err(|reason| errors.push(FieldError::new("type", reason)))
                .ok(),
            None => {
                errors.push(FieldError::new("type", "is required"));
                None
            }
        };
        let occurred_at = match &self.occurred_at {
            None => Some(now),
            Some(s) => match DateTime::parse_from_rfc3339(s.trim()) {
                Ok(t) if t.with_timezone(&Utc) > now + Duration::hours(MAX_CLOCK_SKEW_HOURS) => {
                    errors.push(FieldError::new(
                        "occurred_at",
                        "lies more than 24 hours in the future",
                    ));
                    None
                }
                Ok(t) => crate::validation::within_era(t.with_timezone(&Utc))
                    .map(|()| t.with_timezone(&Utc))
                    .map_err(|reason| errors.push(FieldError::new("occurred_at", reason)))
                    .ok(),
                Err(e) => {
                    errors.push(FieldError::new(
                        "occurred_at",
                        format!("is not an RFC 3339 time such as 2026-05-03T14:00:00Z ({e})"),
                    ));
                    None
                }
            },
        };
        let source = self.source.as_ref().and_then(|s| {
            Text::parse(s, 200)
                .map_err(|e| errors.push(FieldError::new("source", e.0)))
                .ok()
        });
        let payload = self.payload.clone().unwrap_or_default();
        let size = serde_json::to_string(&payload)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if size > PAYLOAD_MAX_BYTES {
            errors.push(FieldError::new(
                "payload",
                format!("is {size} bytes; at most {PAYLOAD_MAX_BYTES} are allowed"),
            ));
        }
        let idempotency_key = match &self.idempotency_key {
            Some(s) if !s.is_empty() && s.len() <= 200 && !s.chars().any(char::is_control) => {
                Some(s.clone())
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "idempotency_key",
                    "must be 1 to 200 bytes without control characters",
                ));
                None
            }
            None => None,
        };
        match (lead, event_type, occurred_at) {
            (Some(lead), Some(event_type), Some(occurred_at)) if errors.is_empty() => Ok((
                lead,
                EventDraft {
                    event_type,
                    occurred_at,
                    source,
                    actor: None,
                    payload: Value::Object(payload),
                    idempotency_key,
                },
            )),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-05-03T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_full_item_parses() {
        let (lead, event) = EventDraft::parse_item(
            &json!({"lead_id": 7, "type": "webinar_attended", "occurred_at": "2026-05-03T10:00:00+02:00",
                    "payload": {"webinar": "pricing 101"}, "idempotency_key": "k1", "source": "zoom"}),
            now(),
        )
        .unwrap();
        assert_eq!(lead, LeadRef::Id(crate::id::LeadId(7)));
        assert_eq!(event.event_type, EventType::WebinarAttended);
        assert_eq!(
            event.occurred_at,
            "2026-05-03T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(event.idempotency_key.as_deref(), Some("k1"));
    }

    #[test]
    fn defaults_fill_time_and_payload() {
        let (lead, event) = EventDraft::parse_item(
            &json!({"external_id": "crm-1", "type": "page_viewed"}),
            now(),
        )
        .unwrap();
        assert_eq!(lead, LeadRef::External(ExternalId::parse("crm-1").unwrap()));
        assert_eq!(event.occurred_at, now());
        assert_eq!(event.payload, json!({}));
    }

    #[test]
    fn bad_items_name_every_field() {
        let errors = EventDraft::parse_item(
            &json!({"type": "telepathy", "occurred_at": "yesterday", "payload": [1], "extra": 1}),
            now(),
        )
        .unwrap_err();
        let mut fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            ["extra", "lead_id", "occurred_at", "payload", "type"]
        );
    }

    #[test]
    fn a_nul_in_an_item_is_refused_by_its_place() {
        let errors = EventDraft::parse_item(
            &json!({"lead_id": 1, "type": "page_viewed", "payload": {"url": "/a\u{0}"}}),
            now(),
        )
        .unwrap_err();
        assert_eq!(errors.0[0].field, "payload.url");
    }

    #[test]
    fn far_future_times_are_refused() {
        let errors = EventDraft::parse_item(
            &json!({"lead_id": 1, "type": "page_viewed", "occurred_at": "2026-05-10T00:00:00Z"}),
            now(),
        )
        .unwrap_err();
        assert_eq!(errors.0[0].field, "occurred_at");
        let ancient = EventDraft::parse_item(
            &json!({"lead_id": 1, "type": "page_viewed", "occurred_at": "0001-01-01T00:00:00Z"}),
            now(),
        )
        .unwrap_err();
        assert!(ancient.0[0].reason.contains("1970"), "{ancient}");
    }

    proptest! {
        #[test]
        fn every_event_type_parses_by_name(index in 0usize..EventType::ALL.len()) {
            let t = EventType::ALL[index];
            let (_, event) = EventDraft::parse_item(&json!({"lead_id": 1, "type": t.as_str()}), now()).unwrap();
            prop_assert_eq!(event.event_type, t);
        }

        #[test]
        fn arbitrary_items_never_panic(t in any::<String>(), at in any::<String>(), id in any::<i64>()) {
            let _ = EventDraft::parse_item(&json!({"lead_id": id, "type": t, "occurred_at": at}), now());
        }
    }
}
