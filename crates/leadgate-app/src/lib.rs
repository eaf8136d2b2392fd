//! Leadgate's use cases: the application's actions, each calling the store (persistence),
//! the models (leadgate-ml) and the domain (leadgate-core). The binary calls these; the
//! store knows nothing of them.

pub mod automation;
pub mod capture;
pub mod dedupe;
pub mod engagement;
pub mod followup;
pub mod import;
pub mod inbound;
pub mod jobs;
pub mod models;
pub mod proposal;
pub mod qualify;
pub mod rescore;
pub mod route;
pub mod spend;
pub mod visits;

pub use capture::{capture, Captured};
pub use models::{LeadPrediction, Models, TrainingSet};
pub use qualify::Outcome;
pub use rescore::{LeadScore, RescoreSummary};

use leadgate_ml::MlError;
use leadgate_store::StoreError;

/// What a use case can fail with: the store's refusal or failure, the model's, or a
/// lifecycle move the rules refuse.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Refused(#[from] leadgate_core::lifecycle::MoveRefused),
    #[error(transparent)]
    Model(#[from] MlError),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
