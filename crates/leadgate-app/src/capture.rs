//! Capture: one lead arriving (the API, a web form) is stored with any consent given in
//! the same transaction, matched against the people already known, and scored at once; and
//! a person's edit of a lead's fields, scored again at once.

use crate::{Models, Result};
use chrono::Utc;
use leadgate_core::id::LeadId;
use leadgate_core::LeadPatch;
use leadgate_store::{Capture, NewConsent, Store, StoredLead, Submitter};

/// What a capture left: the lead as stored once scored, and whether it is new.
#[derive(Debug)]
pub struct Captured {
    pub lead: StoredLead,
    pub created: bool,
}

/// Stores one capture (a new lead, or an update of the one it matches). A new person may
/// be one already known by another email: sure matches merge at once when someone vouches
/// for the capture, and are only suggested for an anonymous one (a stranger typing a known
/// name must not join the known person); a bot-like submission is not matched at all. The
/// lead is then scored, so one that arrives inside the MQL rule is an MQL straight away.
pub async fn capture(
    store: &Store,
    models: &Models,
    capture: Capture,
    consent: Option<&NewConsent>,
) -> Result<Captured> {
    let actor = capture.actor.clone();
    let may_merge = capture.by != Submitter::Anonymous;
    let bot = capture.bot;
    let outcome = match consent {
        Some(consent) => store.capture_consenting(capture, consent).await?,
        None => store.capture(capture).await?,
    };
    if outcome.created && !bot {
        crate::dedupe::match_people(store, &[outcome.lead.person_id], &actor, may_merge).await;
    }
    let lead = models.refresh(outcome.lead.id, Utc::now()).await?;
    Ok(Captured {
        lead,
        created: outcome.created,
    })
}

/// A person's edit of a lead's fields (each change a `field_changed` event), then the lead
/// scored and predicted under its new values.
pub async fn edit(
    store: &Store,
    models: &Models,
    id: LeadId,
    patch: &LeadPatch,
    actor: &str,
) -> Result<StoredLead> {
    store.update_lead(id, patch, actor).await?;
    models.refresh(id, Utc::now()).await
}

/// A person tags a lead (its `custom.tags` list, a `field_changed` event); says "already
/// tagged" when it was.
pub async fn tag(store: &Store, id: LeadId, tag: &str, actor: &str) -> Result<String> {
    let tag = tag.trim();
    if tag.is_empty() || tag.chars().count() > 60 || tag.chars().any(char::is_control) {
        return Err(
            leadgate_store::StoreError::from(leadgate_core::FieldError::new(
                "tag",
                "must be 1 to 60 characters, none of them control characters",
            ))
            .into(),
        );
    }
    let mut tx = store.begin().await?;
    let lead = tx
        .lead(id, true)
        .await?
        .ok_or(leadgate_store::StoreError::LeadNotFound(id))?;
    let done = crate::automation::add_tag(&mut tx, &lead, tag, actor, Utc::now()).await?;
    tx.commit().await?;
    Ok(done)
}
