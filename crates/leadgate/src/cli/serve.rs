//! `leadgate serve`: the API on the configured store.

use super::{BindArgs, StoreArgs};
use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    bind: BindArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// A PostgreSQL streaming replica of the store (postgres://...): the dashboard's lists,
    /// analytics and exports read it, while writes and jobs go to the store. Whoever just
    /// wrote reads the store until the replica has replayed their write.
    #[arg(long, env = "LEADGATE_READ_DATABASE_URL")]
    read_database_url: Option<String>,
    /// How long a claimed job stays this server's; if the server dies, another takes the job
    /// over after this many seconds.
    #[arg(long, env = "LEADGATE_JOB_LEASE_SECS", default_value_t = crate::jobs::DEFAULT_LEASE_SECS, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    job_lease_secs: u32,
    /// Let webhooks reach loopback and private network addresses (refused by default).
    #[arg(long, env = "LEADGATE_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// The SMTP server emails go through: smtp://host:port (smtps://... or ?tls=required for
    /// TLS; smtp://user:password@host for a login).
    #[arg(long, env = "LEADGATE_SMTP_URL")]
    smtp_url: Option<String>,
    /// Proxies (addresses or networks, comma-separated: `10.0.0.0/8,::1`) whose forwarding
    /// header names the client. Rate limits are keyed on the client; without this, on the
    /// connecting address, which behind a proxy is the proxy's for everyone.
    #[arg(long, env = "LEADGATE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::http::client::parse_network)]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// The header those proxies write the client into.
    #[arg(
        long,
        env = "LEADGATE_PROXY_HEADER",
        value_enum,
        default_value = "x-forwarded-for"
    )]
    proxy_header: crate::http::client::ProxyHeader,
    /// The sender of every email.
    #[arg(
        long,
        env = "LEADGATE_MAIL_FROM",
        default_value = "Leadgate <leadgate@localhost>"
    )]
    mail_from: String,
    #[command(flatten)]
    inbound: super::mail::InboundArgs,
    /// This server's address as recipients of its emails reach it
    /// (`https://leads.example.com`): emails to leads then carry a one-click unsubscribe.
    #[arg(long, env = "LEADGATE_PUBLIC_URL", value_parser = parse_public_url)]
    public_url: Option<String>,
    /// Track emails to leads: an open pixel and links through this server (needs
    /// --public-url). Opens by mail privacy proxies are recorded apart and not scored.
    #[arg(long, env = "LEADGATE_TRACK_EMAIL", requires = "public_url")]
    track_email: bool,
    /// Days the site tracker keeps an anonymous visitor's history (a visitor never linked
    /// to a lead); older views and visitors are deleted hourly.
    #[arg(long, env = "LEADGATE_VISITOR_RETENTION_DAYS", default_value_t = crate::jobs::visits::DEFAULT_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=3650))]
    visitor_retention_days: u32,
}

fn parse_public_url(raw: &str) -> Result<String, String> {
    let url =
        reqwest::Url::parse(raw.trim()).map_err(|e| format!("'{raw}' is not an address: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "'{raw}' must be an http:// or https:// address with a host"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let replica = match &args.read_database_url {
        Some(url) => Some(
            leadgate_store::Store::connect_replica(url)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "read_database_url: cannot read the replica at {}: {e}",
                        super::redact(url)
                    )
                })?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.bind.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind.bind))?;
    tracing::info!(address = %listener.local_addr()?, engine = ?store.engine(), "serving");
    let delivery = crate::jobs::DeliverySettings {
        allow_private: args.webhook_allow_private,
        smtp_url: args.smtp_url,
        mail_from: args.mail_from,
        public_url: args.public_url,
        track_email: args.track_email,
        ..Default::default()
    };
    let background = crate::jobs::start(
        &store,
        chrono::Duration::seconds(args.job_lease_secs.into()),
        delivery.clone(),
    )
    .and(tokio::spawn(crate::jobs::visits::forget_old_visitors(
        store.clone(),
        args.visitor_retention_days,
    )));
    let settings = crate::server::ServerSettings {
        delivery,
        trusted_proxies: crate::http::client::TrustedProxies {
            networks: args.trusted_proxies,
            header: args.proxy_header,
        },
        replica,
        inbound_addresses: args.inbound.addresses,
        demo_site: None,
    };
    crate::server::serve_with(store.clone(), listener, settings, super::shutdown_signal()).await?;
    drop(background);
    store.close().await;
    Ok(())
}
