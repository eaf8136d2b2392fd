//! What recipients do with the emails Leadgate sent: an open (a person's, or a machine's
//! prefetch kept apart), a click on one of the email's own links, a one-click unsubscribe.
//! Each reaches the store through the email's unguessable token.

use crate::Result;
use chrono::{DateTime, Utc};
use leadgate_core::engagement::{link, machine_open};
use leadgate_core::event::LeadRef;
use leadgate_core::visits::link_from_email;
use leadgate_core::{EventDraft, EventType};
use leadgate_store::{Email, NewConsent, Store, EMAIL_PURPOSE};
use serde_json::json;

/// Records an open of the email behind `token` (nothing for an unknown token, or an email
/// not sent to a lead): `email_opened` once per email, or `email_prefetched` when a machine
/// fetched the pixel (see core's `machine_open`), which no rule scores.
pub async fn opened(
    store: &Store,
    token: &str,
    user_agent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(email) = to_a_lead(store, token).await? else {
        return Ok(());
    };
    let after = email.sent_at.map(|sent| (now - sent.0).num_seconds());
    let (kind, key) = if machine_open(user_agent, after) {
        (EventType::EmailPrefetched, "email-prefetched")
    } else {
        (EventType::EmailOpened, "email-opened")
    };
    record(
        store,
        &email,
        kind,
        format!("{key}:{}", email.id),
        None,
        now,
    )
    .await
}

/// The address of link `n` of the email behind `token`, the click recorded as
/// `email_clicked` (once per link and email); `None` when there is no such link, so nobody
/// can send a visitor anywhere else through it.
pub async fn clicked(
    store: &Store,
    token: &str,
    n: usize,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Some(email) = store.email_by_token(token).await? else {
        return Ok(None);
    };
    let Some(target) = link(&email.body, n).map(str::to_owned) else {
        return Ok(None);
    };
    if email.template.is_some() {
        let key = format!("email-clicked:{}:{n}", email.id);
        record(
            store,
            &email,
            EventType::EmailClicked,
            key,
            Some(&target),
            now,
        )
        .await?;
        // A page of a tracked site learns who arrived (see core's `link_from_email`).
        let sites: Vec<String> = store
            .trackers()
            .await?
            .into_iter()
            .flat_map(|t| t.definition.sites)
            .collect();
        return Ok(Some(link_from_email(&target, &email.message_id, &sites)));
    }
    Ok(Some(target))
}

/// The one-click unsubscribe (RFC 8058) of the email behind `token`: the person's refusal
/// of email recorded as a consent, which sets Do Not Email. `false` for an unknown token.
pub async fn unsubscribe(store: &Store, token: &str, ip: Option<String>) -> Result<bool> {
    let Some(email) = to_a_lead(store, token).await? else {
        return Ok(false);
    };
    let consent = NewConsent {
        purpose: EMAIL_PURPOSE.to_owned(),
        granted: false,
        wording: Some(format!("Unsubscribed from email {} (one click)", email.id)),
        source: format!("unsubscribe:email:{}", email.id),
        ip,
    };
    // Mail clients may post it more than once: the refusal is recorded once.
    store
        .record_consent_change(email.lead_id, &consent, "unsubscribe")
        .await?;
    Ok(true)
}

/// The email behind a token when it went to its lead (a template's), not a rep's reminder.
async fn to_a_lead(store: &Store, token: &str) -> Result<Option<Email>> {
    Ok(store
        .email_by_token(token)
        .await?
        .filter(|e| e.template.is_some()))
}

async fn record(
    store: &Store,
    email: &Email,
    kind: EventType,
    key: String,
    link: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut payload = json!({"email_id": email.id, "template": email.template});
    if let Some(link) = link {
        payload["link"] = link.into();
    }
    let mut draft = EventDraft::new(kind, now, payload).with_actor("recipient");
    draft.idempotency_key = Some(key);
    store
        .append_events(vec![Ok((LeadRef::Id(email.lead_id), draft))], "recipient")
        .await?;
    Ok(())
}
