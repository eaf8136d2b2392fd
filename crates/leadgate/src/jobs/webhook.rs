//! Sending one event to one webhook: resolve the target and refuse private addresses
//! (unless allowed), POST the signed JSON, log the attempt, and finish or fail the job.

use leadgate_core::webhook::{is_private, signature, SIGNATURE_HEADER};
use leadgate_store::{ClaimedJob, DeliveryOutcome, Store};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How deliveries (webhooks and email) go out.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Let webhooks reach loopback and private networks (off: a webhook must not be a way
    /// into the server's own network).
    pub allow_private: bool,
    /// How long a receiver or mail server may take to answer.
    pub timeout: Duration,
    /// The SMTP server, as `smtp://host:port` (`smtps://` or `?tls=required` for TLS).
    pub smtp_url: Option<String>,
    /// The sender of every email.
    pub mail_from: String,
    /// The server's address as recipients reach it (`https://leads.example.com`): emails to
    /// leads carry a one-click unsubscribe address on it (RFC 8058).
    pub public_url: Option<String>,
    /// Emails to leads also carry an open pixel and links through the server (needs
    /// `public_url`).
    pub track_email: bool,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            allow_private: false,
            timeout: Duration::from_secs(10),
            smtp_url: None,
            mail_from: "Leadgate <leadgate@localhost>".into(),
            public_url: None,
            track_email: false,
        }
    }
}

/// Why a target is refused before anything is sent.
pub async fn refused_target(url: &str, allow_private: bool) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("'{url}' is not a URL ({e})")),
    };
    let host = parsed.host_str()?.trim_matches(['[', ']']).to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    if allow_private {
        return None;
    }
    let private = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(addrs) => addrs.map(|a| a.ip()).find(|ip| is_private(*ip)),
        Err(_) => None, // Unknown today may resolve tomorrow; delivery decides.
    };
    private.map(|ip| format!("{host} is a private address ({ip}); webhooks reach only public addresses unless the server runs with --webhook-allow-private"))
}

/// Resolves the target once, checking every address, and pins the request to them so the
/// name cannot be re-resolved elsewhere between the check and the connection.
async fn resolve(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<(String, Vec<SocketAddr>), String> {
    let host = url
        .host_str()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if !allow_private {
        if let Some(ip) = addrs.iter().map(|a| a.ip()).find(|ip| is_private(*ip)) {
            return Err(format!(
                "refused: {host} resolves to a private address ({ip}); allow with --webhook-allow-private"
            ));
        }
    }
    Ok((host, addrs))
}

/// Delivers the job's event; a failure is logged and retried with backoff (then dead).
pub async fn deliver(store: &Store, job: &ClaimedJob, settings: &DeliverySettings) {
    let outcome = attempt(store, job, settings).await;
    let now = chrono::Utc::now();
    match store.record_delivery(job, &outcome, now).await {
        Ok(_) if outcome.ok => {
            metrics::counter!("leadgate_webhook_deliveries_total", "outcome" => "ok").increment(1);
        }
        Ok(_) => {
            metrics::counter!("leadgate_webhook_deliveries_total", "outcome" => "failed")
                .increment(1);
            let error = outcome
                .error
                .as_deref()
                .unwrap_or("the receiver refused it");
            if let Err(e) = store.fail_job(job, error, now).await {
                tracing::warn!(job = %job.id, error = %e, "cannot record the failed delivery");
            }
        }
        Err(e) => tracing::warn!(job = %job.id, error = %e, "cannot log the delivery"),
    }
}

async fn attempt(store: &Store, job: &ClaimedJob, settings: &DeliverySettings) -> DeliveryOutcome {
    let failed = |error: String, duration_ms: i64| DeliveryOutcome {
        ok: false,
        status: None,
        error: Some(error),
        response: None,
        duration_ms,
    };
    let (webhook, body) = match store.delivery(job).await {
        Ok(found) => found,
        Err(e) => return failed(e.to_string(), 0),
    };
    if !webhook.active {
        return failed("the webhook is paused".into(), 0);
    }
    let url = match reqwest::Url::parse(&webhook.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("bad URL: {e}"), 0),
    };
    let (host, addrs) = match resolve(&url, settings.allow_private).await {
        Ok(resolved) => resolved,
        Err(e) => return failed(e, 0),
    };
    let client = match reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&host, &addrs)
        .user_agent(concat!("leadgate/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => return failed(format!("cannot make an HTTP client: {e}"), 0),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let started = Instant::now();
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header(
            SIGNATURE_HEADER,
            signature(&webhook.secret, timestamp, &bytes),
        )
        .header("Leadgate-Event-Id", body["id"].to_string())
        // The same on every retry, so a receiver can drop a delivery it already has.
        .header("Leadgate-Delivery-Id", job.id.to_string())
        .body(bytes)
        .send()
        .await;
    let elapsed = || started.elapsed().as_millis() as i64;
    match sent {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            DeliveryOutcome {
                ok: status.is_success(),
                status: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("the receiver answered {status}")),
                response: Some(text),
                duration_ms: elapsed(),
            }
        }
        Err(e) if e.is_timeout() => failed(
            format!("no answer within {} s", settings.timeout.as_secs()),
            elapsed(),
        ),
        Err(e) => failed(format!("cannot reach {host}: {e}"), elapsed()),
    }
}
