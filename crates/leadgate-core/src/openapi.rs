//! OpenAPI schemas for values core lists (stages, channels, task types...), made from those
//! lists so the API's description cannot drift from what the readers accept. Only with the
//! `openapi` feature, which the binary turns on.

use crate::job::{JobKind, JobState};
use crate::lead::{
    LeadField, PatchMode, BUDGET_MAX, COMPANY_SIZE, CUSTOM_KEY_MAX, CUSTOM_MAX_BYTES,
};
use crate::source::{Channel, Source, SourceClass};
use crate::temperature::Temperature;
use crate::values::{Email, ExternalId};
use crate::Stage;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::Object;

/// A string that is one of `values`.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().map(str::to_owned)))
        .build()
}

/// An RFC 3339 time.
pub fn time() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
}

/// An RFC 3339 time, or `null` for "not given".
pub fn time_or_null() -> Object {
    ObjectBuilder::new()
        .schema_type(or_null(Type::String))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
}

/// A lifecycle stage.
pub fn stage() -> Object {
    one_of(Stage::ALL.iter().map(|s| s.as_str()))
}

/// Where a lead came from.
pub fn channel() -> Object {
    one_of(Channel::ALL.iter().map(|c| c.as_str()))
}

pub fn source_class() -> Object {
    one_of(SourceClass::ALL.iter().map(|c| c.as_str()))
}

pub fn temperature() -> Object {
    one_of([Temperature::Hot, Temperature::Warm, Temperature::Cold].map(Temperature::as_str))
}

pub fn job_kind() -> Object {
    one_of(JobKind::ALL.iter().map(|k| k.as_str()))
}

pub fn job_state() -> Object {
    one_of(JobState::ALL.iter().map(|s| s.as_str()))
}

/// A value that may also be `null` (which clears the field).
fn or_null(kind: Type) -> SchemaType {
    SchemaType::from_iter([kind, Type::Null])
}

fn described(mut schema: Object, text: &str) -> Object {
    schema.description = Some(text.to_owned());
    schema
}

/// A text of at most `max` characters, or `null`.
fn text_or_null(max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(or_null(Type::String))
        .max_length(Some(max))
}

/// The body that creates a lead (`PatchMode::Create`, with where it came from) or edits one
/// (`Update`), made from the fields and limits `LeadPatch` and `Source` read, so the
/// description names exactly what they take. Rules a schema cannot state (an email's form,
/// a phone's country, a known country, the size of `custom` as a whole, one identifying
/// field on creation) are answered 422 by name.
pub fn lead_body(mode: PatchMode) -> Object {
    let mut body = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for field in LeadField::ALL {
        let property = match field {
            LeadField::Stage if mode != PatchMode::Create => continue,
            LeadField::Stage => described(
                one_of(
                    Stage::ALL
                        .iter()
                        .filter(|s| s.is_entry())
                        .map(|s| s.as_str()),
                ),
                "prospect or lead (the default); later stages are reached by qualification",
            ),
            LeadField::ExternalId => text_or_null(ExternalId::MAX_LEN)
                .description(Some(
                    "Your id for the lead: a second POST with the same external_id updates it",
                ))
                .build(),
            LeadField::Email => text_or_null(Email::MAX_LEN)
                .description(Some(
                    "Without an external_id, a POST whose email matches a lead updates it",
                ))
                .build(),
            LeadField::Phone => ObjectBuilder::new()
                .schema_type(or_null(Type::String))
                .build(),
            LeadField::CompanySize => ObjectBuilder::new()
                .schema_type(or_null(Type::Integer))
                .minimum(Some(*COMPANY_SIZE.start()))
                .maximum(Some(*COMPANY_SIZE.end()))
                .description(Some("Number of employees"))
                .build(),
            LeadField::Budget => ObjectBuilder::new()
                .schema_type(or_null(Type::Number))
                .minimum(Some(0))
                .maximum(Some(BUDGET_MAX))
                .build(),
            LeadField::Custom => ObjectBuilder::new()
                .schema_type(Type::Object)
                .property_names(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(CUSTOM_KEY_MAX)),
                ))
                .description(Some(format!(
                    "Your own fields, merged key by key (null removes a key); at most \
                     {CUSTOM_MAX_BYTES} bytes as JSON"
                )))
                .build(),
            text => text_or_null(text.text_limit()).build(),
        };
        body = body.property(field.name(), property);
    }
    if mode == PatchMode::Create {
        for key in Source::KEYS {
            let property = match key {
                "channel" => described(
                    channel(),
                    "Where the lead came from (api when absent); set by capture, not edited",
                ),
                "source_class" => described(source_class(), "Derived from the channel when absent"),
                _ => text_or_null(Source::text_limit(key)).build(),
            };
            body = body.property(key, property);
        }
    }
    body.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LeadPatch;
    use serde_json::{json, Map, Value};

    fn body(mode: PatchMode) -> Map<String, Value> {
        serde_json::to_value(lead_body(mode)).unwrap()["properties"]
            .as_object()
            .unwrap()
            .clone()
    }

    /// What the readers say of one field: `None` when they take it.
    fn refusal(mode: PatchMode, key: &str, value: Value) -> Option<String> {
        let mut input = Map::from_iter([(key.to_owned(), value)]);
        let source = Source::take_from(&mut input, Channel::Api);
        let patch = LeadPatch::parse(&input, mode);
        match (source, patch) {
            (Ok(_), Ok(_)) => None,
            (Err(e), _) | (_, Err(e)) => Some(format!("{e:?}")),
        }
    }

    #[test]
    fn the_lead_bodies_describe_exactly_what_the_readers_take() {
        for mode in [PatchMode::Create, PatchMode::Update] {
            let properties = body(mode);
            for (key, schema) in &properties {
                // A text as long as described reads; one character more does not.
                if let Some(max) = schema["maxLength"].as_u64() {
                    let at_most = "a".repeat(max as usize);
                    let value = if key == "email" {
                        // Labels of at most 63 characters, as DNS allows.
                        let local = "a".repeat(60);
                        let labels = ["b".repeat(63), "c".repeat(63), "d".repeat(62)];
                        let address = format!("{local}@{}.io", labels.join("."));
                        assert_eq!(address.len(), max as usize);
                        address
                    } else {
                        at_most.clone()
                    };
                    assert_eq!(refusal(mode, key, json!(value)), None, "{key} at {max}");
                    assert!(
                        refusal(mode, key, json!(format!("{at_most}aa"))).is_some(),
                        "{key} past {max}"
                    );
                }
                if let Some(values) = schema["enum"].as_array() {
                    for value in values {
                        assert_eq!(refusal(mode, key, value.clone()), None, "{key}: {value}");
                    }
                }
                if let (Some(min), Some(max)) =
                    (schema["minimum"].as_f64(), schema["maximum"].as_f64())
                {
                    assert_eq!(refusal(mode, key, json!(min)), None, "{key} at {min}");
                    assert_eq!(refusal(mode, key, json!(max)), None, "{key} at {max}");
                    assert!(
                        refusal(mode, key, json!(max * 2.0 + 1.0)).is_some(),
                        "{key}"
                    );
                }
                let nullable = schema["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("null")));
                assert_eq!(
                    refusal(mode, key, Value::Null).is_none(),
                    nullable || key == "channel" || key == "source_class",
                    "{key}: null"
                );
            }
            // Every field a reader takes is described, and nothing else is.
            for field in LeadField::ALL {
                let readable = refusal(mode, field.name(), json!({})).is_none_or(|e| {
                    !e.contains("not a lead field") && !e.contains("is changed through")
                });
                assert_eq!(
                    properties.contains_key(field.name()),
                    readable,
                    "{}",
                    field.name()
                );
            }
            assert!(refusal(mode, "colour", json!("red")).is_some());
            assert_eq!(
                Source::KEYS.iter().all(|k| properties.contains_key(*k)),
                mode == PatchMode::Create
            );
        }
        let create = serde_json::to_value(lead_body(PatchMode::Create)).unwrap();
        assert_eq!(create["additionalProperties"], json!(false));
        assert_eq!(
            create["properties"]["stage"]["enum"],
            json!(["prospect", "lead"])
        );
    }
}
