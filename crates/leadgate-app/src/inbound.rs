//! Inbound email as a channel: a message sent to one of the server's inbound addresses
//! (sales@...) becomes a lead, or an `email_logged` event on the sender's lead, scored at once.

use crate::{Models, Result};
use chrono::Utc;
use leadgate_core::event::LeadRef;
use leadgate_core::inbound::InboundEmail;
use leadgate_core::Email;
use leadgate_store::{AppendOutcome, Capture, Store, StoreError, StoredLead, Submitter};

/// What a message left.
#[derive(Debug)]
pub struct Received {
    /// The sender's lead, scored with the message counted.
    pub lead: StoredLead,
    /// The message made the lead.
    pub created: bool,
    /// `false`: this message was received before (the same Message-ID), nothing stored.
    pub logged: bool,
}

/// Reads a raw message (RFC 5322) and stores it: the sender captured as a lead (matched by
/// address; the sender is not vouched for, since anyone can write any From, so a known
/// lead's empty fields are filled and nothing is written over), then the message as an
/// `email_logged` event with its subject, text and attachments' names. A message refused
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
    let event = mail.event(to, now, actor);
    if let Some(key) = &event.idempotency_key {
        if let Some(known) = store.lead_of_event_key(key).await? {
            return Ok(Received {
                lead: store.lead(known).await?,
                created: false,
                logged: false,
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
    })
}
