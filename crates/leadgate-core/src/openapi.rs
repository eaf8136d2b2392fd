//! OpenAPI schemas for values core lists (stages, channels, task types...), made from those
//! lists so the API's description cannot drift from what the readers accept. Only with the
//! `openapi` feature, which the binary turns on.

use crate::followup::{InteractionType, TaskState, TaskType};
use crate::job::{JobKind, JobState};
use crate::scoring::Temperature;
use crate::source::{Channel, SourceClass};
use crate::Stage;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
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

pub fn task_type() -> Object {
    one_of(TaskType::ALL.iter().map(|t| t.as_str()))
}

pub fn interaction_type() -> Object {
    one_of(InteractionType::ALL.iter().map(|t| t.as_str()))
}
