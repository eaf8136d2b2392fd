//! Qualification by a person: a move through the lifecycle, BANT confirmed or withdrawn, a
//! junk verdict. Each is stored by the store (which checks it against the lifecycle and the
//! policy) and the lead is then scored or predicted afresh, whether the API or the
//! dashboard asked.

use crate::{Models, Result};
use chrono::Utc;
use leadgate_core::policy::BantPart;
use leadgate_core::Stage;
use leadgate_store::{Store, StoredLead};

/// Moves a lead to `to` (a reason where the lifecycle or policy asks for one; `override_bant`
/// to qualify as SQL although BANT does not pass), then predicts it afresh.
pub async fn move_lead(
    store: &Store,
    models: &Models,
    id: i64,
    to: Stage,
    reason: Option<&str>,
    override_bant: bool,
    actor: &str,
) -> Result<StoredLead> {
    let lead = store
        .transition(id, to, reason, override_bant, actor)
        .await?;
    models.repredicted(lead, Utc::now()).await
}

/// Records BANT parts confirmed (`true`) or withdrawn, then rescores and predicts the lead.
pub async fn confirm_bant(
    store: &Store,
    models: &Models,
    id: i64,
    changes: &[(BantPart, bool)],
    actor: &str,
) -> Result<StoredLead> {
    store.confirm_bant(id, changes, actor).await?;
    models.refresh(id, Utc::now()).await
}

/// A person's junk verdict (flag it, or clear every flag) with why, then a fresh prediction.
pub async fn review_junk(
    store: &Store,
    models: &Models,
    id: i64,
    junk: bool,
    reason: &str,
    actor: &str,
) -> Result<StoredLead> {
    let lead = store.review_junk(id, junk, reason, actor).await?;
    models.repredicted(lead, Utc::now()).await
}
