//! OpenAPI schemas for request fields whose values core lists (stages, channels...), made
//! from those lists so the description cannot drift from what the handlers accept.

use leadgate_core::followup::TaskState;
use leadgate_core::job::{JobKind, JobState};
use leadgate_core::scoring::Temperature;
use leadgate_core::source::{Channel, SourceClass};
use leadgate_core::Stage;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Object;

/// A string that is one of `values`.
pub fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().map(str::to_owned)))
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

/// A task state, or `all`.
pub fn task_state_or_all() -> Object {
    one_of(TaskState::ALL.iter().map(|s| s.as_str()).chain(["all"]))
}

/// An RFC 3339 time.
pub fn time() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .build()
}
