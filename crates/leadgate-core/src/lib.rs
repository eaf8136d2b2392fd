//! Leadgate's domain: the lead, the person and company behind it, where it came from, and the
//! append-only events that happen to it. Pure: no IO, no async, no database.

pub mod access;
pub mod analytics;
pub mod automation;
mod automation_doc;
pub mod backtest;
pub mod calendar;
pub mod condition;
pub mod conversion_model;
pub mod dedupe;
pub mod drift;
pub mod email;
pub mod engagement;
pub mod event;
pub mod export;
pub mod followup;
pub mod form;
pub mod id;
pub mod import;
pub mod inbound;
pub mod job;
pub mod lead;
pub mod lifecycle;
pub mod mail_domain;
pub mod normalize;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod policy;
pub mod proposal;
pub mod quality;
pub mod ranking;
pub mod routing;
pub mod scoring;
pub mod sla;
pub mod source;
pub mod spend;
pub mod stage;
pub mod temperature;
pub mod validation;
pub mod values;
pub mod visits;
pub mod webhook;

pub use event::{EventDraft, EventType};
pub use lead::{FieldChange, Lead, LeadField, LeadPatch};
pub use source::{Channel, Source, SourceClass};
pub use stage::Stage;
pub use validation::{FieldError, FieldErrors};
pub use values::{Email, ExternalId, Phone, Text};
