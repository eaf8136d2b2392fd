//! `leadgate demo`: a fresh store full of realistic synthetic leads, served at once.

use super::BindArgs;
use anyhow::Context;
use chrono::Utc;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use leadgate_core::event::LeadRef;
use leadgate_core::lead::PatchMode;
use leadgate_core::LeadPatch;
use leadgate_demo::DemoLead;
use leadgate_ml::Settings;
use leadgate_store::{Capture, Store};
use serde_json::{Map, Value};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    bind: BindArgs,
    /// Where the demo's SQLite file goes. An existing demo store there is opened again with
    /// the work done in it, unless `--fresh`.
    #[arg(long, default_value = "./leadgate-data/demo.db")]
    path: PathBuf,
    /// Replace an existing demo store with new demo data (the work done in it is lost).
    #[arg(long)]
    fresh: bool,
    /// How many leads to make.
    #[arg(long, default_value_t = 3000)]
    leads: usize,
    /// The same seed makes the same data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.path.exists() && !args.fresh {
        let store = Store::connect(&args.path.to_string_lossy()).await?;
        println!(
            "Leadgate demo: the demo store {} is opened again with the work done in it; `leadgate demo --fresh` starts over with new demo data",
            args.path.display()
        );
        return serve(store, &args).await;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = args.path.clone().into_os_string();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot replace the old demo store {}", args.path.display())
                })
            }
        }
    }
    let store = Store::connect(&args.path.to_string_lossy()).await?;
    let seeded = seed(&store, args.leads, args.seed, true).await?;
    // A model learnt from the demo's own closed leads, so the inbox shows won chance and
    // priority from the first start (the rule score carries on if the data is too thin).
    let models = leadgate_app::Models::new(store.clone());
    let model = match models
        .train("default", &Settings::default(), "demo", false, |_| {})
        .await
    {
        Ok(model) => {
            let predicted = models
                .predict_open("default", Utc::now(), |_| {})
                .await?
                .unwrap_or(0);
            format!(
                "conversion model {} trained on {} closed leads, {predicted} open leads predicted",
                model.id, model.trained_on
            )
        }
        Err(e) => format!("no conversion model: {e}"),
    };
    println!(
        "Leadgate demo: {} leads with {} events in {}; scored, {} moved to MQL by the starter policy and routed to the teams, {} follow-ups set",
        seeded.leads,
        seeded.events,
        args.path.display(),
        seeded.became_mql,
        seeded.follow_ups
    );
    println!("  {model}");
    serve(store, &args).await
}

/// Serves a demo store with a new admin API key, until Ctrl-C.
async fn serve(store: Store, args: &DemoArgs) -> anyhow::Result<()> {
    let key = store
        .create_api_key("demo", leadgate_core::access::Role::Admin, None)
        .await?;
    let listener = tokio::net::TcpListener::bind(args.bind.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind.bind))?;
    let address = listener.local_addr()?;
    let tracker = demo_tracker(&store, address).await?;
    println!("  URL:          http://{address}/");
    println!("  Dashboard:    sign in as admin, mia (marketing), w.chen (sales manager, apac, in Chinese), li.na (sales rep, apac), j.miller (sales rep, americas) or vic (viewer); password {DEMO_PASSWORD}");
    println!("  Web form:     http://{address}/f/demo/embed (a form to try; its leads arrive as any other)");
    println!("  Site tracker: http://{address}/demo-site/ (a sample site with the tracker's snippet and the form: agree, read, send, then find the pages on the new lead)");
    println!("  API key:      {}", key.secret);
    println!("  Try:          curl -H 'Authorization: Bearer {}' 'http://{address}/api/v1/leads?stage=customer&limit=5'", key.secret);
    println!("Press Ctrl-C to stop.");
    let background = crate::jobs::start(
        &store,
        chrono::Duration::seconds(crate::jobs::DEFAULT_LEASE_SECS.into()),
        Default::default(),
    );
    let settings = crate::server::ServerSettings {
        demo_site: Some(tracker),
        ..Default::default()
    };
    crate::server::serve_with(store.clone(), listener, settings, super::shutdown_signal()).await?;
    drop(background);
    store.close().await;
    Ok(())
}

/// The demo's tracker, made or brought up to date for the address the demo serves on (its
/// sample site is served there too); its key.
pub async fn demo_tracker(store: &Store, address: std::net::SocketAddr) -> anyhow::Result<String> {
    let port = address.port();
    let mut sites = vec![
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}"),
    ];
    if !address.ip().is_unspecified() && !address.ip().is_loopback() {
        sites.push(format!("http://{address}"));
    }
    let definition = leadgate_core::visits::TrackerDefinition {
        name: "Demo site".into(),
        sites,
        consent: leadgate_core::visits::ConsentMode::Required,
    };
    let existing = store
        .trackers()
        .await?
        .into_iter()
        .find(|t| t.definition.name == definition.name);
    let tracker = match existing {
        Some(t) => store.update_tracker(&t.key, &definition).await?,
        None => store.create_tracker(&definition).await?,
    };
    Ok(tracker.key)
}

/// What `seed` stored.
pub struct Seeded {
    pub leads: usize,
    pub events: i64,
    pub became_mql: usize,
    pub follow_ups: usize,
}

/// Fills an empty store with the demo: generated leads with their histories, three teams
/// with reps, one user per role, the starter policy with routing by region, and scores.
pub async fn seed(
    store: &Store,
    leads: usize,
    seed: u64,
    show_progress: bool,
) -> anyhow::Result<Seeded> {
    let leads = leadgate_demo::generate(seed, leads, Utc::now());
    let progress = if show_progress {
        ProgressBar::new(leads.len() as u64)
    } else {
        ProgressBar::hidden()
    }
    .with_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} leads ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message("making demo data");
    let ids = load(store, &leads, |n| progress.inc(n as u64)).await?;
    progress.finish_and_clear();
    let became_mql = organise(store).await?;
    let follow_ups = follow_ups(store, Utc::now()).await?;
    demo_form(store).await?;
    demo_spend(store).await?;
    Ok(Seeded {
        leads: ids.len(),
        events: store.count_events().await?,
        became_mql,
        follow_ups,
    })
}

/// Today's work for each demo rep, so their inbox opens on it: on their three most promising
/// open leads, a call that was due two hours ago, one due later today and a meeting
/// tomorrow. Returns how many were set.
async fn follow_ups(store: &Store, now: chrono::DateTime<Utc>) -> anyhow::Result<usize> {
    use leadgate_core::followup::TaskRequest;
    let mut set = 0;
    for rep in store.reps(None).await? {
        let leads = store
            .list_leads(&leadgate_store::LeadFilter {
                owner: Some(rep.name.clone()),
                open: true,
                sort: "-priority".parse().map_err(anyhow::Error::msg)?,
                limit: 3,
                ..Default::default()
            })
            .await?
            .leads;
        let plan = [
            (
                "call",
                "Call back about pricing",
                chrono::Duration::hours(-2),
            ),
            ("call", "First call", chrono::Duration::hours(3)),
            ("meeting", "Product demo", chrono::Duration::days(1)),
        ];
        for (lead, (kind, title, due)) in leads.iter().zip(plan) {
            let task = TaskRequest {
                task_type: Some(kind.into()),
                title: Some(title.into()),
                due_at: Some((now + due).to_rfc3339()),
                ..TaskRequest::default()
            }
            .check("")
            .map_err(|e| anyhow::anyhow!("demo task: {e}"))?;
            leadgate_app::followup::create_task(store, lead.id, &task, "demo", now).await?;
            set += 1;
        }
    }
    Ok(set)
}

/// The example web form (`examples/demo-form.json`) as the form `demo`, to try at
/// `/f/demo/embed`.
async fn demo_form(store: &Store) -> anyhow::Result<()> {
    let value: Value = serde_json::from_str(include_str!("../../../../examples/demo-form.json"))?;
    let definition = leadgate_core::form::FormDefinition::parse(&value)
        .map_err(|e| anyhow::anyhow!("the demo form does not validate: {e}"))?;
    store.save_form("demo", &definition).await?;
    Ok(())
}

/// What the demo's paid sources cost: for each month and campaign of the generated leads, a
/// price per lead typical of its channel (ads and events dear, referrals free), so the
/// analytics page's cost report has figures from the first start.
async fn demo_spend(store: &Store) -> anyhow::Result<()> {
    let leads = store
        .lead_returns(
            chrono::DateTime::<Utc>::UNIX_EPOCH,
            Utc::now() + chrono::Duration::days(1),
        )
        .await?;
    let mut lines: std::collections::BTreeMap<(String, String, String), f64> = Default::default();
    for lead in &leads {
        let Some(first) = lead.touches.first() else {
            continue;
        };
        let per_lead = match first.channel.as_str() {
            "search_ad" => 42.0,
            "social" => 23.0,
            "event" => 95.0,
            "webinar" => 31.0,
            "content_download" => 18.0,
            "purchased_list" => 4.0,
            _ => continue,
        };
        let campaign = first
            .campaign
            .clone()
            .unwrap_or_else(|| first.channel.clone());
        *lines
            .entry((lead.month.clone(), first.channel.clone(), campaign))
            .or_default() += per_lead;
    }
    let lines: Vec<leadgate_core::spend::SpendLine> = lines
        .into_iter()
        .map(
            |((month, channel, campaign), amount)| leadgate_core::spend::SpendLine {
                month,
                channel: Some(channel),
                campaign: Some(campaign),
                utm_source: None,
                utm_medium: None,
                amount,
            },
        )
        .collect();
    store.put_spend(&lines, "demo").await?;
    Ok(())
}

/// The demo's organisation over stored leads: teams with reps, one user per role, the
/// starter policy with routing by region, every lead scored. Returns how many became MQL.
pub async fn organise(store: &Store) -> anyhow::Result<usize> {
    demo_teams(store).await?;
    demo_users(store).await?;
    // The starter policy with routing by region, so new MQLs find a rep.
    let policy = format!("{}{DEMO_ROUTING}", leadgate_core::policy::Policy::STARTER);
    store
        .apply_policy(&policy, "demo", "starter policy with routing by region")
        .await?;
    // Score everything under the policy, as `policy apply` does.
    let scored = leadgate_app::rescore::rescore(store, "default", Utc::now(), |_| {}).await?;
    // Route the new MQLs as the policy says, as the job loop does for MQLs that wait.
    leadgate_app::route::route_waiting(store, Utc::now()).await?;
    Ok(scored.became_mql)
}

const DEMO_ROUTING: &str = r#"
[[routing]]
name = "Asia-Pacific"
country = ["China", "Vietnam", "India"]
team = "apac"

[[routing]]
name = "Europe and the Middle East"
country = ["United Kingdom", "Germany", "Iran"]
team = "emea"
method = "least_loaded"

[[routing]]
name = "The Americas and everyone else"
team = "americas"
"#;

/// Three regional teams with their office hours and managers, holding the demo's reps, so
/// SLA clocks run in business hours.
async fn demo_teams(store: &Store) -> anyhow::Result<()> {
    let weekdays = |hours: &str| serde_json::json!({"mon": [hours], "tue": [hours], "wed": [hours], "thu": [hours], "fri": [hours]});
    let teams = [
        (
            "apac",
            "Asia/Singapore",
            "09:00-18:00",
            "w.chen",
            ["li.na", "m.nguyen"],
        ),
        (
            "emea",
            "Europe/Berlin",
            "08:30-17:30",
            "k.weber",
            ["s.rezaei", "a.schmidt"],
        ),
        (
            "americas",
            "America/New_York",
            "09:00-17:00",
            "d.jones",
            ["j.miller", "r.silva"],
        ),
    ];
    for (team, zone, hours, manager, reps) in teams {
        let calendar = leadgate_core::calendar::BusinessCalendar::parse(
            &serde_json::json!({"timezone": zone, "hours": weekdays(hours)}),
            "calendar.",
        )
        .map_err(|e| anyhow::anyhow!("demo calendar: {e:?}"))?;
        store.put_team(team, &calendar, Some(manager)).await?;
        for rep in reps {
            let input = leadgate_store::RepInput {
                team: team.into(),
                // No address: the demo has no mail server, so reps hear of new leads in the
                // dashboard's notifications instead of queued emails that cannot go.
                email: None,
                weight: 1.0,
                daily_cap: None,
                away: false,
            };
            store.put_rep(rep, &input).await?;
        }
    }
    Ok(())
}

/// The password of every demo user (never use a demo store for real work).
pub const DEMO_PASSWORD: &str = "leadgate-demo";

/// One user per role: an admin, marketing, each team's manager and reps, a viewer.
pub async fn demo_users(store: &Store) -> anyhow::Result<()> {
    use leadgate_core::access::Role;
    let users: &[(&str, &str, Role, Option<&str>, &str)] = &[
        ("admin", "Ada Admin", Role::Admin, None, "en"),
        ("mia", "Mia Marketing", Role::Marketing, None, "en"),
        ("vic", "Vic Viewer", Role::Viewer, None, "en"),
        ("w.chen", "陈伟", Role::SalesManager, Some("apac"), "zh-CN"),
        (
            "k.weber",
            "Klara Weber",
            Role::SalesManager,
            Some("emea"),
            "en",
        ),
        (
            "d.jones",
            "Dana Jones",
            Role::SalesManager,
            Some("americas"),
            "en",
        ),
        ("li.na", "李娜", Role::SalesRep, Some("apac"), "en"),
        (
            "m.nguyen",
            "Nguyễn Minh",
            Role::SalesRep,
            Some("apac"),
            "en",
        ),
        ("s.rezaei", "سارا رضایی", Role::SalesRep, Some("emea"), "en"),
        (
            "a.schmidt",
            "Anna Schmidt",
            Role::SalesRep,
            Some("emea"),
            "en",
        ),
        (
            "j.miller",
            "Jake Miller",
            Role::SalesRep,
            Some("americas"),
            "en",
        ),
        (
            "r.silva",
            "Rita Silva",
            Role::SalesRep,
            Some("americas"),
            "en",
        ),
    ];
    for (name, display, role, team, locale) in users {
        store
            .create_user(leadgate_store::NewUser {
                name: (*name).into(),
                display_name: Some((*display).into()),
                role: *role,
                team: team.map(Into::into),
                locale: (*locale).into(),
                // Where the demo's teams sit, so times on their pages are local.
                time_zone: match team {
                    Some("apac") => "Asia/Shanghai",
                    Some("americas") => "America/New_York",
                    Some("emea") => "Europe/Berlin",
                    _ => "UTC",
                }
                .into(),
                password: DEMO_PASSWORD.into(),
            })
            .await?;
    }
    Ok(())
}

/// Stores generated leads with their histories; returns their ids in order. `progress`
/// hears how many leads were stored after each chunk.
pub async fn load(
    store: &Store,
    leads: &[DemoLead],
    mut progress: impl FnMut(usize),
) -> anyhow::Result<Vec<leadgate_core::id::LeadId>> {
    let mut ids = Vec::with_capacity(leads.len());
    for chunk in leads.chunks(250) {
        let captures = chunk
            .iter()
            .map(|demo| {
                let fields: Map<String, Value> = demo
                    .lead
                    .to_json_fields()
                    .into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .collect();
                let patch = LeadPatch::parse(&fields, PatchMode::Import)
                    .map_err(|e| anyhow::anyhow!("demo lead does not validate: {e}"))?;
                Ok(Capture {
                    patch,
                    source: Some(demo.source.clone()),
                    raw: Value::Object(fields),
                    at: demo.created_at,
                    actor: "demo".into(),
                    bot: false,
                    by: Default::default(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outcomes = store.capture_many(captures).await?;
        let chunk_ids: Vec<leadgate_core::id::LeadId> =
            outcomes.iter().map(|o| o.lead.id).collect();
        let events: Vec<_> = chunk
            .iter()
            .zip(&chunk_ids)
            .flat_map(|(demo, id)| {
                demo.events
                    .iter()
                    .map(move |e| Ok((LeadRef::Id(*id), e.clone())))
            })
            .collect();
        for batch in events.chunks(leadgate_store::MAX_BATCH) {
            store.append_events(batch.to_vec(), "demo").await?;
        }
        ids.extend(chunk_ids);
        progress(chunk.len());
    }
    Ok(ids)
}
