//! Leadgate's conversion model: learns from closed leads the chance that an open lead
//! converts, says why, and measures itself honestly. Pure computation: the store feeds it.

pub mod calibrate;
pub mod encode;
pub mod explain;
pub mod features;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod proposal;
pub mod report;

pub use features::{
    feature_name, label, observe, FeatureName, Label, LeadHistory, Observation, Raw,
};
pub use model::{
    contest, evaluate, train, Contest, Evaluation, Example, Model, Prediction, Predictor, Reason,
    Settings,
};

use encode::Dropped;

/// What can go wrong training or loading a model, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("no closed leads to learn from: record won/lost outcomes first (the rule score stays in use)")]
    NoOutcomes,
    #[error("all {leads} closed leads were {outcome}: the model needs both won and lost leads (the rule score stays in use)")]
    OneClass { leads: usize, outcome: &'static str },
    #[error("too few outcomes to learn from: {wins} won and {losses} lost; at least {} closed leads with {} of each are needed (the rule score stays in use)", model::MIN_OUTCOMES, model::MIN_PER_CLASS)]
    TooFewOutcomes { wins: usize, losses: usize },
    #[error("no usable features: {}", .0.iter().map(|d| format!("{} ({})", d.name, d.reason)).collect::<Vec<_>>().join("; "))]
    NoFeatures(Vec<Dropped>),
    #[error("the model was saved in format version {found}; this Leadgate reads version {expected}: train a new model")]
    IncompatibleModel { found: u64, expected: u32 },
    #[error("the model file is broken: {0}")]
    BadModel(String),
    #[error("training failed: {0}")]
    Training(String),
}
