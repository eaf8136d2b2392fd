//! `leadgate-bench scoring`: a million leads with ~20 events each under a 50-rule policy,
//! scored in memory and, in the same run, by the same rules written in pandas
//! (`bench/scoring_pandas.py`); then rescoring and backtesting a SQLite store of that size.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_core::lead::{Lead, LeadPatch, PatchMode};
use leadgate_core::policy::Policy;
use leadgate_core::scoring::{self, EventFact};
use leadgate_core::{EventDraft, EventType};
use leadgate_store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct ScoringArgs {
    /// Leads scored in memory (and by pandas).
    #[arg(long, default_value_t = 1_000_000)]
    leads: usize,
    /// Events per lead.
    #[arg(long, default_value_t = 20)]
    events: usize,
    /// Leads in the store for the rescore and backtest timings (0 skips them).
    #[arg(long, default_value_t = 1_000_000)]
    store_leads: usize,
    /// The store for those timings: a fresh SQLite file, or a fresh PostgreSQL database on
    /// 127.0.0.1:5432.
    #[arg(long, value_enum, default_value = "sqlite")]
    engine: StoreEngine,
    /// Skip the pandas peer.
    #[arg(long)]
    no_pandas: bool,
    /// A SQLite file for the store timings, kept afterwards: loaded when it does not exist,
    /// and when it does, copied and timed without loading again (loading a million leads
    /// takes a quarter of an hour).
    #[arg(long)]
    keep_store: Option<PathBuf>,
}

const INDUSTRIES: [&str; 12] = [
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Logistics",
    "Consulting",
    "Retail",
    "Education",
    "Energy",
    "Media",
    "Telecom",
    "Government",
];
const TITLES: [&str; 10] = [
    "CEO",
    "CTO",
    "VP of Sales",
    "Head of Marketing",
    "IT Director",
    "Operations Manager",
    "Marketing Manager",
    "Software Engineer",
    "Analyst",
    "Student",
];
const COUNTRIES: [&str; 8] = [
    "United States",
    "Germany",
    "China",
    "Vietnam",
    "Iran",
    "Brazil",
    "India",
    "United Kingdom",
];
const DOMAINS: [&str; 6] = [
    "acme.io",
    "globex.com",
    "initech.de",
    "gmail.com",
    "qq.com",
    "outlook.com",
];
const PAGES: [&str; 15] = [
    "/",
    "/pricing",
    "/contact",
    "/features",
    "/features/scoring",
    "/features/routing",
    "/customers",
    "/blog/mql",
    "/blog/bant",
    "/docs/api",
    "/docs/policy",
    "/careers",
    "/about",
    "/security",
    "/integrations",
];
const CONTENT: [&str; 4] = ["whitepaper", "ebook", "checklist", "calculator"];
const WEBINARS: [&str; 3] = ["bant", "closed-loop", "scoring"];
const TYPES: [EventType; 6] = [
    EventType::PageViewed,
    EventType::PageViewed,
    EventType::EmailOpened,
    EventType::EmailClicked,
    EventType::ContentDownloaded,
    EventType::WebinarAttended,
];

/// The bench's rules, in a form both the TOML policy and the pandas script are made from.
#[derive(Serialize)]
struct FitSpec {
    name: String,
    field: &'static str,
    kind: &'static str,
    values: Vec<String>,
    min: f64,
    max: f64,
    points: f64,
}

#[derive(Serialize)]
struct BehaviourSpec {
    name: String,
    event: &'static str,
    key: Option<&'static str>,
    value: Option<String>,
    points: f64,
    cap: f64,
    per_day: Option<u32>,
    half_life_days: f64,
}

fn rule_specs() -> (Vec<FitSpec>, Vec<BehaviourSpec>) {
    let mut fit = Vec::new();
    for (i, industry) in INDUSTRIES.iter().enumerate() {
        let points = [12.0, 8.0, 5.0, -4.0][i % 4];
        fit.push(FitSpec {
            name: format!("industry {industry}"),
            field: "industry",
            kind: "in",
            values: vec![industry.to_string()],
            min: 0.0,
            max: 0.0,
            points,
        });
    }
    for (i, (min, max)) in [
        (1.0, 10.0),
        (11.0, 50.0),
        (51.0, 200.0),
        (201.0, 1000.0),
        (1001.0, 100000.0),
    ]
    .into_iter()
    .enumerate()
    {
        fit.push(FitSpec {
            name: format!("size {min}-{max}"),
            field: "company_size",
            kind: "between",
            values: vec![],
            min,
            max,
            points: [-5.0, 2.0, 10.0, 12.0, 6.0][i],
        });
    }
    for (name, pattern, points) in [
        ("c-level", "\\bc[etfio]o\\b|chief", 15.0),
        ("vp", "\\bvp\\b|vice president", 12.0),
        ("head or director", "head of|director", 10.0),
        ("student", "student|intern", -25.0),
    ] {
        fit.push(FitSpec {
            name: name.into(),
            field: "job_title",
            kind: "matches",
            values: vec![pattern.into()],
            min: 0.0,
            max: 0.0,
            points,
        });
    }
    fit.push(FitSpec {
        name: "free mail".into(),
        field: "email",
        kind: "free_mail",
        values: vec![],
        min: 0.0,
        max: 0.0,
        points: -8.0,
    });
    fit.push(FitSpec {
        name: "need stated".into(),
        field: "product_need",
        kind: "present",
        values: vec![],
        min: 0.0,
        max: 0.0,
        points: 5.0,
    });
    fit.push(FitSpec {
        name: "core markets".into(),
        field: "country",
        kind: "in",
        values: vec![
            "United States".into(),
            "Germany".into(),
            "United Kingdom".into(),
        ],
        min: 0.0,
        max: 0.0,
        points: 4.0,
    });
    fit.push(FitSpec {
        name: "growth markets".into(),
        field: "country",
        kind: "in",
        values: vec!["Vietnam".into(), "India".into(), "Brazil".into()],
        min: 0.0,
        max: 0.0,
        points: 3.0,
    });
    let mut behaviour = Vec::new();
    for (i, page) in PAGES.iter().enumerate() {
        let points = [6.0, 1.0, 2.0, 3.0, 1.0][i % 5];
        behaviour.push(BehaviourSpec {
            name: format!("page {page}"),
            event: "page_viewed",
            key: Some("page"),
            value: Some(page.to_string()),
            points,
            cap: points * 5.0,
            per_day: Some(2),
            half_life_days: 14.0,
        });
    }
    for content in CONTENT {
        behaviour.push(BehaviourSpec {
            name: format!("content {content}"),
            event: "content_downloaded",
            key: Some("content"),
            value: Some(content.into()),
            points: 8.0,
            cap: 24.0,
            per_day: None,
            half_life_days: 30.0,
        });
    }
    for webinar in WEBINARS {
        behaviour.push(BehaviourSpec {
            name: format!("webinar {webinar}"),
            event: "webinar_attended",
            key: Some("webinar"),
            value: Some(webinar.into()),
            points: 15.0,
            cap: 30.0,
            per_day: None,
            half_life_days: 30.0,
        });
    }
    behaviour.push(BehaviourSpec {
        name: "email opened".into(),
        event: "email_opened",
        key: None,
        value: None,
        points: 1.0,
        cap: 5.0,
        per_day: Some(3),
        half_life_days: 21.0,
    });
    behaviour.push(BehaviourSpec {
        name: "any page".into(),
        event: "page_viewed",
        key: None,
        value: None,
        points: 0.5,
        cap: 10.0,
        per_day: Some(5),
        half_life_days: 14.0,
    });
    behaviour.push(BehaviourSpec {
        name: "email clicked".into(),
        event: "email_clicked",
        key: None,
        value: None,
        points: 3.0,
        cap: 12.0,
        per_day: Some(2),
        half_life_days: 21.0,
    });
    (fit, behaviour)
}

fn policy_toml(fit: &[FitSpec], behaviour: &[BehaviourSpec]) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut doc = String::from("[policy]\nname = \"bench: 50 rules\"\n\n");
    for r in fit {
        let condition = match r.kind {
            "in" => format!(
                "in = [{}]",
                r.values
                    .iter()
                    .map(|v| quote(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "between" => format!("between = [{}, {}]", r.min, r.max),
            "matches" => format!("matches = [{}]", quote(&r.values[0])),
            "free_mail" => "free_mail = true".into(),
            _ => "present = true".into(),
        };
        doc.push_str(&format!(
            "[[fit]]\nname = {}\nfield = \"{}\"\n{condition}\npoints = {}\n\n",
            quote(&r.name),
            r.field,
            r.points
        ));
    }
    for r in behaviour {
        doc.push_str(&format!("[[behaviour]]\nname = {}\nevent = \"{}\"\npoints = {}\ncap = {}\nhalf_life_days = {}\n", quote(&r.name), r.event, r.points, r.cap, r.half_life_days));
        if let (Some(key), Some(value)) = (r.key, &r.value) {
            doc.push_str(&format!("where = {{ {key} = {} }}\n", quote(value)));
        }
        if let Some(n) = r.per_day {
            doc.push_str(&format!("per_day = {n}\n"));
        }
        doc.push('\n');
    }
    doc.push_str("[grades]\nfit = { A = 35, B = 20, C = 8 }\nengagement = { 1 = 60, 2 = 30, 3 = 10 }\n\n[mql]\nmin_score = 70\nmin_fit = \"B\"\n");
    doc
}

struct Dataset {
    leads: Vec<Lead>,
    /// Per lead: (type, seconds before now, payload index).
    events: Vec<Vec<(EventType, i64, usize)>>,
    payloads: Vec<Value>,
}

fn payload_index(event_type: EventType, rng: &mut ChaCha8Rng) -> usize {
    match event_type {
        EventType::PageViewed => rng.gen_range(0..PAGES.len()),
        EventType::ContentDownloaded => PAGES.len() + rng.gen_range(0..CONTENT.len()),
        EventType::WebinarAttended => {
            PAGES.len() + CONTENT.len() + rng.gen_range(0..WEBINARS.len())
        }
        _ => PAGES.len() + CONTENT.len() + WEBINARS.len(),
    }
}

fn dataset(count: usize, events_per_lead: usize) -> anyhow::Result<Dataset> {
    let mut payloads: Vec<Value> = PAGES.iter().map(|p| json!({"page": p})).collect();
    payloads.extend(CONTENT.iter().map(|c| json!({"content": c})));
    payloads.extend(WEBINARS.iter().map(|w| json!({"webinar": w})));
    payloads.push(json!({}));
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut leads = Vec::with_capacity(count);
    let mut events = Vec::with_capacity(count);
    for i in 0..count {
        let mut fields = Map::new();
        fields.insert(
            "email".into(),
            json!(format!(
                "lead{i}@{}",
                DOMAINS[rng.gen_range(0..DOMAINS.len())]
            )),
        );
        fields.insert(
            "industry".into(),
            json!(INDUSTRIES[rng.gen_range(0..INDUSTRIES.len())]),
        );
        fields.insert("company_size".into(), json!(rng.gen_range(1..20_000)));
        fields.insert(
            "job_title".into(),
            json!(TITLES[rng.gen_range(0..TITLES.len())]),
        );
        fields.insert(
            "country".into(),
            json!(COUNTRIES[rng.gen_range(0..COUNTRIES.len())]),
        );
        if rng.gen_bool(0.5) {
            fields.insert("product_need".into(), json!("lead routing"));
        }
        let mut lead = Lead::default();
        LeadPatch::parse(&fields, PatchMode::Create)
            .map_err(|e| anyhow::anyhow!("bench lead: {e}"))?
            .apply(&mut lead)
            .map_err(|e| anyhow::anyhow!("bench lead: {e}"))?;
        leads.push(lead);
        let own: Vec<(EventType, i64, usize)> = (0..events_per_lead)
            .map(|_| {
                let t = TYPES[rng.gen_range(0..TYPES.len())];
                (t, rng.gen_range(0..90 * 86_400), payload_index(t, &mut rng))
            })
            .collect();
        events.push(own);
    }
    Ok(Dataset {
        leads,
        events,
        payloads,
    })
}

fn facts<'a>(
    raw: &[(EventType, i64, usize)],
    payloads: &'a [Value],
    now: DateTime<Utc>,
) -> Vec<EventFact<'a>> {
    raw.iter()
        .enumerate()
        .map(|(i, (t, ago, p))| EventFact {
            id: i as i64,
            event_type: *t,
            occurred_at: now - Duration::seconds(*ago),
            payload: &payloads[*p],
        })
        .collect()
}

/// Writes the dataset and the rules for the pandas script; returns the folder.
fn export(
    data: &Dataset,
    fit: &[FitSpec],
    behaviour: &[BehaviourSpec],
    now: DateTime<Utc>,
    dir: &Path,
) -> anyhow::Result<()> {
    let mut leads = std::io::BufWriter::new(std::fs::File::create(dir.join("leads.csv"))?);
    writeln!(
        leads,
        "id,email,industry,company_size,job_title,country,product_need"
    )?;
    for (i, lead) in data.leads.iter().enumerate() {
        let text = |t: &Option<leadgate_core::Text>| {
            t.as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default()
        };
        writeln!(
            leads,
            "{i},{},{},{},{},{},{}",
            lead.email.as_ref().map(|e| e.as_str()).unwrap_or(""),
            text(&lead.industry),
            lead.company_size.unwrap_or(0),
            text(&lead.job_title),
            text(&lead.country),
            text(&lead.product_need)
        )?;
    }
    leads.flush()?;
    let mut events = std::io::BufWriter::new(std::fs::File::create(dir.join("events.csv"))?);
    writeln!(events, "lead_id,id,type,occurred_at,page,content,webinar")?;
    for (lead, own) in data.events.iter().enumerate() {
        for (i, (t, ago, p)) in own.iter().enumerate() {
            let payload = &data.payloads[*p];
            let get = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or("");
            let at = (now - Duration::seconds(*ago)).timestamp_micros() as f64 / 1e6;
            writeln!(
                events,
                "{lead},{i},{},{at:.6},{},{},{}",
                t.as_str(),
                get("page"),
                get("content"),
                get("webinar")
            )?;
        }
    }
    events.flush()?;
    let rules = json!({"now": now.timestamp_micros() as f64 / 1e6, "fit": fit, "behaviour": behaviour,
                       "free_mail": ["gmail.com", "qq.com", "outlook.com"]});
    std::fs::write(dir.join("rules.json"), serde_json::to_vec_pretty(&rules)?)?;
    Ok(())
}

#[derive(serde::Deserialize)]
struct PandasResult {
    seconds: f64,
    checksum: f64,
    leads: usize,
}

fn run_pandas(dir: &Path) -> anyhow::Result<PandasResult> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/scoring_pandas.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .arg(dir)
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "the pandas peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .with_context(|| format!("unexpected output from the pandas peer: {stdout}"))
}

pub async fn run(args: ScoringArgs) -> anyhow::Result<()> {
    let (fit, behaviour) = rule_specs();
    let document = policy_toml(&fit, &behaviour);
    let policy = Policy::parse(&document).map_err(|e| anyhow::anyhow!("bench policy: {e}"))?;
    println!(
        "leadgate-bench scoring: {} leads x {} events, {} rules ({} fit, {} behaviour), {} threads",
        args.leads,
        args.events,
        policy.fit.len() + policy.behaviour.len(),
        policy.fit.len(),
        policy.behaviour.len(),
        rayon::current_num_threads()
    );
    let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse()?;
    let started = Instant::now();
    let data = dataset(args.leads, args.events)?;
    println!("made the data in {:.1}s", started.elapsed().as_secs_f64());

    // The events as scoring reads them, built before the clock starts (as a store hands
    // them over).
    let all_facts: Vec<Vec<EventFact>> = data
        .events
        .par_iter()
        .map(|raw| facts(raw, &data.payloads, now))
        .collect();
    let started = Instant::now();
    let scores: Vec<f64> = data
        .leads
        .par_iter()
        .zip(all_facts.par_iter())
        .map(|(lead, events)| {
            scoring::score_quick(lead, events, scoring::Marks::default(), &policy, now).score
        })
        .collect();
    let rust_seconds = started.elapsed().as_secs_f64();
    let rust_sum: f64 = scores.iter().sum();
    let mqls = scores
        .iter()
        .filter(|s| **s >= policy.mql.min_score)
        .count();
    println!("leadgate: scored {} leads in {rust_seconds:.2}s (checksum {rust_sum:.3}, {mqls} at or over the MQL score)", scores.len());

    if !args.no_pandas {
        let dir =
            std::env::temp_dir().join(format!("leadgate-bench-scoring-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        export(&data, &fit, &behaviour, now, &dir)?;
        let pandas = run_pandas(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let pandas = pandas?;
        let agree = (pandas.checksum - rust_sum).abs() <= 1e-6 * rust_sum.abs().max(1.0);
        println!(
            "pandas:   scored {} leads in {:.2}s (checksum {:.3}: {})",
            pandas.leads,
            pandas.seconds,
            pandas.checksum,
            if agree {
                "same scores"
            } else {
                "DIFFERENT scores"
            }
        );
        if !agree {
            bail!("the pandas peer computed different scores; the comparison is void");
        }
        println!(
            "\n| scoring {} leads x {} events, 50 rules | seconds |\n|---|---:|",
            args.leads, args.events
        );
        println!(
            "| leadgate (Rust, {} threads) | {rust_seconds:.2} |",
            rayon::current_num_threads()
        );
        println!(
            "| pandas (same rules, vectorised) | {:.2} |",
            pandas.seconds
        );
        println!(
            "| ratio pandas / leadgate | {:.1}x |",
            pandas.seconds / rust_seconds
        );
    }
    drop(scores);
    drop(all_facts);

    if args.keep_store.is_some() && matches!(args.engine, StoreEngine::Postgres) {
        bail!("--keep-store keeps a SQLite file; it does not go with --engine postgres");
    }
    if args.store_leads > 0 {
        store_timings(
            &data,
            args.store_leads.min(data.leads.len()),
            &document,
            now,
            args.keep_store.as_deref(),
            match args.engine {
                StoreEngine::Sqlite => leadgate_store::Engine::Sqlite,
                StoreEngine::Postgres => leadgate_store::Engine::Postgres,
            },
        )
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum StoreEngine {
    Sqlite,
    Postgres,
}

/// Loads a store and times `policy apply`'s rescoring pass and a backtest over it.
async fn store_timings(
    data: &Dataset,
    count: usize,
    document: &str,
    now: DateTime<Utc>,
    keep: Option<&Path>,
    engine: leadgate_store::Engine,
) -> anyhow::Result<()> {
    let (db, store) = match keep {
        Some(path) => {
            // The timings change the store (scores, moves): they run on a copy.
            let copy = path.with_extension("timed");
            let loaded = path.exists();
            // A log left beside an earlier copy would be replayed into this one.
            for stale in ["timed-wal", "timed-shm"] {
                let _ = std::fs::remove_file(path.with_extension(stale));
            }
            if loaded {
                std::fs::copy(path, &copy)?;
            }
            let store = Store::connect(&format!("sqlite://{}", copy.display())).await?;
            if !loaded {
                load_store(data, count, now, &store).await?;
                store.close().await;
                std::fs::copy(&copy, path)?;
                println!("kept the loaded store in {}", path.display());
                (
                    None,
                    Store::connect(&format!("sqlite://{}", copy.display())).await?,
                )
            } else {
                println!("timing a copy of {}", path.display());
                (None, store)
            }
        }
        None => {
            let db = leadgate_store::testing::TestDatabase::new(engine).await;
            let store = db.store().await;
            load_store(data, count, now, &store).await?;
            (Some(db), store)
        }
    };
    time_store(document, now, &store).await?;
    store.close().await;
    if let Some(db) = db {
        db.cleanup().await;
    }
    Ok(())
}

/// Stores `count` of the data's leads with their events through the capture path.
async fn load_store(
    data: &Dataset,
    count: usize,
    now: DateTime<Utc>,
    store: &Store,
) -> anyhow::Result<()> {
    let bar = ProgressBar::new(count as u64).with_style(
        ProgressStyle::with_template("loading the store {bar:40} {pos}/{len} leads ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    for chunk_start in (0..count).step_by(1000) {
        let end = (chunk_start + 1000).min(count);
        let captures = data.leads[chunk_start..end]
            .iter()
            .map(|lead| {
                let fields: Map<String, Value> = lead
                    .to_json_fields()
                    .into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .collect();
                Ok(leadgate_store::Capture {
                    patch: LeadPatch::parse(&fields, PatchMode::Import)
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                    source: None,
                    raw: Value::Null,
                    at: now - Duration::days(90),
                    actor: "bench".into(),
                    bot: false,
                    by: Default::default(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let stored = store.capture_many(captures).await?;
        let mut items = Vec::new();
        for (outcome, raw) in stored.iter().zip(&data.events[chunk_start..end]) {
            for (t, ago, p) in raw {
                items.push(Ok((
                    leadgate_core::event::LeadRef::Id(outcome.lead.id),
                    EventDraft::new(*t, now - Duration::seconds(*ago), data.payloads[*p].clone()),
                )));
            }
        }
        for batch in items.chunks(leadgate_store::MAX_BATCH) {
            store.append_events(batch.to_vec(), "bench").await?;
        }
        bar.inc((end - chunk_start) as u64);
    }
    bar.finish_and_clear();
    let events = store.count_events().await?;
    println!(
        "\nloaded {count} leads and {events} events in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Times `policy apply` with its rescoring pass, then a backtest, over a loaded store.
async fn time_store(document: &str, now: DateTime<Utc>, store: &Store) -> anyhow::Result<()> {
    crate::memory::reset_peak();
    let written = crate::disk::written_bytes();
    let started = Instant::now();
    let applied = store.apply_policy(document, "bench", "bench").await?;
    let run = store
        .latest_rescore(&applied.product)
        .await?
        .context("applying starts a rescoring pass")?;
    let summary = leadgate_app::rescore::finish(store, &run, now, |_| {}).await?;
    let rescore = started.elapsed().as_secs_f64();
    println!(
        "policy apply + rescore: {} leads in {rescore:.1}s ({:.0} leads/s), {} became MQL, peak RSS {:.0} MiB, {:.0} MiB written",
        summary.scored,
        summary.scored as f64 / rescore,
        summary.became_mql,
        crate::memory::peak_mib(),
        (crate::disk::written_bytes() - written) as f64 / (1 << 20) as f64
    );

    let candidate = Policy::parse(&document.replace("min_score = 70", "min_score = 80"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::memory::reset_peak();
    let started = Instant::now();
    let report =
        leadgate_app::rescore::backtest(store, &candidate, Some(1000.0), now, |_| {}).await?;
    let backtest = started.elapsed().as_secs_f64();
    println!(
        "backtest: {} leads in {backtest:.1}s ({:.0} leads/s), {} would stop being MQL, peak RSS {:.0} MiB",
        report.leads,
        report.leads as f64 / backtest,
        report.stopped_mql,
        crate::memory::peak_mib()
    );
    Ok(())
}
