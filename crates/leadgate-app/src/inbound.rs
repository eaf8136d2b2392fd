//! Inbound email as a channel: a message sent to one of the server's inbound addresses
//! (sales@...) becomes a lead, or an `email_logged` event on the sender's lead, scored at once.

use crate::{Models, Result};
use chrono::Utc;
use leadgate_core::event::LeadRef;
use leadgate_core::inbound::{Bounce, InboundEmail};
use leadgate_core::{Email, EventDraft, EventType, FieldError};
use leadgate_store::{AppendOutcome, Capture, Store, StoreError, StoredLead, Submitter};
use serde_json::json;

/// What a message left.
#[derive(Debug)]
pub struct Received {
    /// The sender's lead, scored with the message counted.
    pub lead: StoredLead,
    /// The message made the lead.
    pub created: bool,
    /// `false`: this message was received before (the same Message-ID), nothing stored.
    pub logged: bool,
    /// The message reported that an email Leadgate sent to this lead bounced (its id).
    pub bounced: Option<i64>,
}

/// Reads a raw message (RFC 5322) and stores it: the sender captured as a lead (matched by
/// address; the sender is not vouched for, since anyone can write any From, so a known
/// lead's empty fields are filled and nothing is written over), then the message as an
/// `email_logged` event with its subject, text and attachments' names. A delivery failure
/// report about an email Leadgate sent marks that email bounced instead. A message refused
/// (not a message, no sender, not to an inbound address) stores nothing; one received
/// again stores nothing more.
pub async fn receive(
    store: &Store,
    models: &Models,
    raw: &[u8],
    inbound_addresses: &[Email],
    actor: &str,
) -> Result<Received> {
    let mail = InboundEmail::parse(raw).map_err(StoreError::from)?;
    let to = mail
        .addressed_to(inbound_addresses)
        .map_err(StoreError::from)?;
    let now = Utc::now();
    if let Some(bounce) = &mail.bounce {
        return bounced(store, bounce, actor, now).await;
    }
    let event = mail.event(to, now, actor);
    if let Some(key) = &event.idempotency_key {
        if let Some(known) = store.lead_of_event_key(key).await? {
            return Ok(Received {
                lead: store.lead(known).await?,
                created: false,
                logged: false,
                bounced: None,
            });
        }
    }
    let captured = crate::capture(
        store,
        models,
        Capture {
            patch: mail.patch().map_err(StoreError::from)?,
            source: Some(mail.source(to)),
            raw: mail.raw(to),
            at: now,
            actor: actor.to_owned(),
            bot: false,
            by: Submitter::Anonymous,
        },
        None,
    )
    .await?;
    let id = captured.lead.id;
    let appended = store
        .append_events(vec![Ok((LeadRef::Id(id), event))], actor)
        .await?;
    let logged = matches!(appended.first(), Some(AppendOutcome::Accepted { .. }));
    Ok(Received {
        lead: models.refresh(id, now).await?,
        created: captured.created,
        logged,
        bounced: None,
    })
}

/// A report that an email Leadgate sent failed for good: the email marked bounced (so its
/// address takes no more email until corrected) and `email_bounced` on its lead, once.
/// Refused when the report is about no email of this server's.
async fn bounced(
    store: &Store,
    bounce: &Bounce,
    actor: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Received> {
    let email = store
        .email_by_token(&bounce.message_id)
        .await?
        .ok_or_else(|| {
            StoreError::from(FieldError::new(
                "message",
                format!(
                    "reports a failed delivery of <{}>, which this server did not send",
                    bounce.message_id
                ),
            ))
        })?;
    let diagnostic = bounce
        .diagnostic
        .clone()
        .unwrap_or_else(|| "undeliverable (no diagnostic given)".to_owned());
    let logged = store.email_bounced(email.id, &diagnostic).await?;
    if logged {
        let payload = json!({
            "email_id": email.id,
            "recipients": bounce.recipients,
            "diagnostic": diagnostic,
        });
        let mut draft = EventDraft::new(EventType::EmailBounced, now, payload).with_actor(actor);
        draft.idempotency_key = Some(format!("email-bounced:{}", email.id));
        store
            .append_events(vec![Ok((LeadRef::Id(email.lead_id), draft))], actor)
            .await?;
    }
    Ok(Received {
        lead: store.lead(email.lead_id).await?,
        created: false,
        logged,
        bounced: Some(email.id),
    })
}
