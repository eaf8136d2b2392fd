//! Sending one email from the outbox through the configured SMTP server.

use crate::jobs::DeliverySettings;
use leadgate_core::engagement::Tracking;
use leadgate_store::{ClaimedJob, Email, Sending, Store};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::MultiPart;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends the job's email: marked `sending` first, then `sent` once the server took it; a
/// refusal or an unreachable server leaves it queued for the job's next attempt.
pub async fn send(store: &Store, job: &ClaimedJob, settings: &DeliverySettings) {
    let now = chrono::Utc::now();
    let email = match store.begin_send(job, now).await {
        Ok(Sending::Send(email)) => email,
        Ok(Sending::Nothing(reason)) => {
            tracing::warn!(job = %job.id, reason, "email not sent");
            return;
        }
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "cannot take the email to send");
            let _ = store.fail_job(job, &e.to_string(), now).await;
            return;
        }
    };
    let outcome = deliver(&email, settings).await;
    let now = chrono::Utc::now();
    let recorded = match outcome {
        Ok(()) => store.email_sent(job, now).await,
        Err(error) => {
            tracing::warn!(email = email.id, error, "email not sent");
            store.email_not_sent(job, &error, now).await
        }
    };
    if let Err(e) = recorded {
        // Left `sending`: the next attempt marks it uncertain rather than send it twice.
        tracing::warn!(email = email.id, error = %e, "cannot record the email's sending");
    }
}

async fn deliver(email: &Email, settings: &DeliverySettings) -> Result<(), String> {
    let url = settings
        .smtp_url
        .as_deref()
        .ok_or("no SMTP server is configured (leadgate serve --smtp-url smtp://host:port)")?;
    let mut builder =
        Message::builder()
            .from(settings.mail_from.parse().map_err(|e| {
                format!("the sender '{}' is not an address: {e}", settings.mail_from)
            })?)
            .to(email
                .to_address
                .parse()
                .map_err(|e| format!("'{}' is not an address: {e}", email.to_address))?)
            .subject(&email.subject)
            .message_id(Some(format!("<{}>", email.message_id)));
    // An email to a lead (a template's, not a rep's reminder) can be refused in one click,
    // and tracked when the server is told to.
    let tracking = match (&settings.public_url, &email.template) {
        (Some(base), Some(_)) => Some(Tracking {
            base,
            token: &email.message_id,
        }),
        _ => None,
    };
    if let Some(tracking) = &tracking {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", tracking.unsubscribe_url()),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let message = match tracking.filter(|_| settings.track_email) {
        Some(tracking) => builder.multipart(MultiPart::alternative_plain_html(
            tracking.text(&email.body),
            tracking.html(&email.body),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone()),
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("bad SMTP URL: {e}"))?
        .timeout(Some(settings.timeout))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("the SMTP server did not take it: {e}"))
}
