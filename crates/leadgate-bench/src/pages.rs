//! `leadgate-bench pages`: the dashboard's pages under load (wrk) on a store of a million
//! demo leads with twenty events each: p50/p95/p99 latency per page and engine.

use crate::ingest::EngineChoice;
use anyhow::{bail, Context};
use chrono::{Duration, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_core::event::LeadRef;
use leadgate_core::{EventDraft, EventType};
use leadgate_store::testing::TestDatabase;
use leadgate_store::Store;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::process::Command;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct PagesBenchArgs {
    /// Which engine(s) to measure. PostgreSQL uses a fresh database on the server named by
    /// LEADGATE_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, value_enum, default_value = "both")]
    engine: EngineChoice,
    #[arg(long, default_value_t = 1_000_000)]
    leads: usize,
    /// Events per lead, counting the demo's own history (topped up with page views and
    /// email opens).
    #[arg(long, default_value_t = 20)]
    events_per_lead: usize,
    /// Seconds of load per page.
    #[arg(long, default_value_t = 15)]
    seconds: u32,
    /// Connections wrk keeps open (two threads).
    #[arg(long, default_value_t = 4)]
    connections: u32,
    /// A store to load and keep (`sqlite:///path/bench.db` or a PostgreSQL URL) instead of a
    /// fresh one removed afterwards. A store that already holds `--leads` leads is measured
    /// as it is, so a change to a page can be measured again without an hour of loading.
    /// Needs one `--engine`.
    #[arg(long)]
    store: Option<String>,
}

/// The dashboard pages measured, with who looks at them. `{id}` becomes a random lead id.
const PAGES: &[(&str, &str, &str)] = &[
    ("inbox (sales rep)", "li.na", "/"),
    ("lead page", "admin", "/leads/{id}"),
    ("lead list", "admin", "/leads"),
    (
        "lead list, MQLs by score",
        "admin",
        "/leads?stage=mql&sort=-score",
    ),
    ("lead list, search", "admin", "/leads?q=nguyen"),
    ("board (sales manager)", "w.chen", "/board"),
    ("analytics", "admin", "/analytics"),
];

pub async fn run(args: PagesBenchArgs) -> anyhow::Result<()> {
    if Command::new("wrk").arg("--version").output().is_err() {
        bail!("wrk is needed (bench/dashboard_pages.sh installs it: apt-get install wrk)");
    }
    let mut rows = Vec::new();
    if args.store.is_some() && args.engine.engines().len() != 1 {
        bail!("--store needs one --engine (sqlite or postgres)");
    }
    for engine in args.engine.engines() {
        let (store, db) = match &args.store {
            Some(url) => (Store::connect(url).await?, None),
            None => {
                let db = TestDatabase::new(engine).await;
                (db.store().await, Some(db))
            }
        };
        let started = Instant::now();
        let (leads, events) = if store.count_leads().await? as usize >= args.leads {
            // A kept store (connecting ran any new migration): fresh statistics only.
            store.analyze().await?;
            (
                store.count_leads().await? as usize,
                store.count_events().await?,
            )
        } else {
            fill(&store, &args).await?
        };
        println!(
            "{engine:?}: {leads} leads, {events} events loaded, organised and scored in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(leadgate::server::serve(store.clone(), listener, async {
            let _ = stopped.await;
        }));
        for (page, user, path) in PAGES {
            let cookie = sign_in(&base, user).await?;
            let measured = wrk(&args, &base, path, &cookie, leads)?;
            println!("{engine:?} {page}: {measured}");
            rows.push((engine, *page, measured));
        }
        let _ = stop.send(());
        let _ = server.await;
        store.close().await;
        if let Some(db) = db {
            db.cleanup().await;
        }
    }
    println!("\n| engine | page | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (engine, page, m) in rows {
        println!(
            "| {engine:?} | {page} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            m.rate, m.p50, m.p95, m.p99, m.errors
        );
    }
    Ok(())
}

/// Demo leads in chunks (each chunk its own seed), topped up to `events_per_lead` events,
/// then the demo's teams, users, policy and scores.
async fn fill(store: &Store, args: &PagesBenchArgs) -> anyhow::Result<(usize, i64)> {
    const CHUNK: usize = 20_000;
    let bar = ProgressBar::new(args.leads as u64).with_style(
        ProgressStyle::with_template("loading {bar:40} {pos}/{len} leads ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let now = Utc::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let pages = [
        "pricing",
        "docs",
        "blog",
        "features",
        "case-studies",
        "integrations",
    ];
    let mut stored = 0;
    for chunk in 0..args.leads.div_ceil(CHUNK) {
        let n = CHUNK.min(args.leads - stored);
        let mut leads = leadgate_demo::generate(1000 + chunk as u64, n, now);
        // Chunks repeat the generator's ids and people: distinct ids and addresses keep a
        // million leads (a capture with a known id or email updates that lead instead).
        for (i, demo) in leads.iter_mut().enumerate() {
            demo.lead.external_id =
                leadgate_core::ExternalId::parse(&format!("bench-{}", stored + i)).ok();
            // The demo's event keys are per generated batch too: without the chunk in them,
            // every chunk after the first lost its history as duplicates.
            for event in &mut demo.events {
                if let Some(key) = &event.idempotency_key {
                    event.idempotency_key = Some(format!("c{chunk}-{key}"));
                }
            }
            if let Some(email) = &demo.lead.email {
                demo.lead.email =
                    leadgate_core::Email::parse(&format!("{chunk}x{i}.{}", email.as_str())).ok();
            }
        }
        let ids = leadgate::cli::demo::load(store, &leads, |_| {}).await?;
        let mut filler = Vec::new();
        for (lead, id) in leads.iter().zip(&ids) {
            // The capture's form_submitted counts too.
            // Dated within the lead's life: the store refuses events before a lead existed.
            let lifetime = (now - lead.created_at).num_minutes().max(1);
            for _ in (lead.events.len() + 1)..args.events_per_lead {
                let ago = Duration::minutes(rng.gen_range(0..lifetime));
                let draft = if rng.gen_bool(0.7) {
                    let page = pages[rng.gen_range(0..pages.len())];
                    EventDraft::new(EventType::PageViewed, now - ago, json!({"page": page}))
                } else {
                    EventDraft::new(
                        EventType::EmailOpened,
                        now - ago,
                        json!({"campaign": "newsletter"}),
                    )
                };
                filler.push(Ok((LeadRef::Id(*id), draft)));
            }
        }
        for batch in filler.chunks(leadgate_store::MAX_BATCH) {
            store.append_events(batch.to_vec(), "bench").await?;
        }
        // As a running server does every few seconds.
        store.fold_analytics().await?;
        store.fold_open_leads().await?;
        stored += n;
        bar.set_position(stored as u64);
    }
    bar.finish_and_clear();
    leadgate::cli::demo::organise(store).await?;
    store.fold_analytics().await?;
    store.fold_open_leads().await?;
    // Measure a settled store, as a server that has run for a while is (autovacuum).
    store.analyze().await?;
    Ok((
        store.count_leads().await? as usize,
        store.count_events().await?,
    ))
}

/// Signs in through the form, as a browser does; returns the session cookie.
async fn sign_in(base: &str, user: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let form = client.get(format!("{base}/login")).send().await?;
    let cookie = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    };
    let login = cookie(&form, "lg_login").context("no sign-in cookie")?;
    let html = form.text().await?;
    let token = html
        .split("name=\"token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no sign-in token")?
        .to_owned();
    let signed = client
        .post(format!("{base}/login"))
        .header("cookie", format!("lg_login={login}"))
        .form(&[
            ("name", user),
            ("password", leadgate::cli::demo::DEMO_PASSWORD),
            ("token", &token),
            ("next", "/"),
        ])
        .send()
        .await?;
    let session = cookie(&signed, "lg_session").context("signing in failed")?;
    Ok(format!("lg_session={session}"))
}

struct Measured {
    rate: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    errors: u64,
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, {} errors",
            self.rate, self.p50, self.p95, self.p99, self.errors
        )
    }
}

/// Runs wrk against one page; a Lua script picks random lead ids and prints the figures.
fn wrk(
    args: &PagesBenchArgs,
    base: &str,
    path: &str,
    cookie: &str,
    leads: usize,
) -> anyhow::Result<Measured> {
    let script = tempfile::Builder::new().suffix(".lua").tempfile()?;
    std::fs::write(
        script.path(),
        format!(
            r#"
math.randomseed(7)
local errors = 0
request = function()
  local path = string.gsub("{path}", "{{id}}", tostring(math.random(1, {leads})))
  return wrk.format("GET", path, {{ ["Cookie"] = "{cookie}" }})
end
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("RESULT %f %f %f %f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, bad))
end
"#
        ),
    )?;
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{}", args.connections)])
        .arg(format!("-d{}s", args.seconds))
        .arg("--timeout")
        .arg("30s")
        .arg("-s")
        .arg(script.path())
        .arg(format!("{base}/"))
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("wrk printed no result:\n{text}"))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    Ok(Measured {
        rate: v[0],
        p50: v[1],
        p95: v[2],
        p99: v[3],
        errors: v[4] as u64,
    })
}
