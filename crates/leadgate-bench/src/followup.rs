//! `leadgate-bench jobs|sla|routing`: the follow-up machinery under load. Jobs: reminders
//! claimed and performed by two workers on PostgreSQL, against a bare `SKIP LOCKED` queue
//! doing the same work. SLA: deadlines and standings of a million clocks in business hours.
//! Routing: a store's waiting MQLs assigned to a team's reps.

use crate::ingest::EngineChoice;
use chrono::{Duration, Utc};
use clap::Args;
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::followup::TaskRequest;
use leadgate_core::lead::PatchMode;
use leadgate_core::sla::{standing, ClockState, Within};
use leadgate_core::{Channel, LeadPatch, Source};
use leadgate_store::testing::TestDatabase;
use leadgate_store::{Capture, Engine, RepInput, Store};
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::Connection;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct JobsBenchArgs {
    /// Task reminders to run.
    #[arg(long, default_value_t = 10_000)]
    jobs: i64,
}

#[derive(Debug, Args)]
pub struct SlaBenchArgs {
    /// Open clocks.
    #[arg(long, default_value_t = 1_000_000)]
    clocks: usize,
    #[arg(long, default_value_t = 5)]
    seed: u64,
}

#[derive(Debug, Args)]
pub struct RoutingBenchArgs {
    /// New MQLs to assign.
    #[arg(long, default_value_t = 100_000)]
    leads: usize,
    /// Reps in the team.
    #[arg(long, default_value_t = 20)]
    reps: usize,
    #[arg(long, value_enum, default_value_t = EngineChoice::Both)]
    engine: EngineChoice,
}

/// The calendar the benchmarks use: a Ho Chi Minh City office with lunch breaks, a Saturday
/// morning and a year of holidays.
fn office() -> BusinessCalendar {
    let day = json!(["08:30-12:00", "13:00-17:30"]);
    BusinessCalendar::parse(
        &json!({"timezone": "Asia/Ho_Chi_Minh",
                "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": ["08:30-12:00"]},
                "holidays": ["2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
                             "2026-04-27", "2026-04-30", "2026-05-01", "2026-09-01", "2026-09-02", "2027-01-01"]}),
        "",
    )
    .expect("the benchmark calendar is valid")
}

async fn one_lead(
    store: &Store,
    email: &str,
    owner: Option<&str>,
) -> anyhow::Result<leadgate_core::id::LeadId> {
    let mut fields = json!({"email": email});
    if let Some(owner) = owner {
        fields["owner"] = json!(owner);
    }
    let mut map = fields.as_object().cloned().unwrap_or_default();
    let source = Source::take_from(&mut map, Channel::Api)?;
    let capture = Capture {
        patch: LeadPatch::parse(&map, PatchMode::Create)?,
        source,
        raw: fields,
        at: Utc::now(),
        actor: "bench".into(),
        bot: false,
        by: Default::default(),
    };
    Ok(store.capture(capture).await?.lead.id)
}

pub async fn jobs(args: JobsBenchArgs) -> anyhow::Result<()> {
    let db = TestDatabase::new(Engine::Postgres).await;
    let store = db.store().await;
    let lead = one_lead(&store, "bench@example.com", Some("rep")).await?;
    let now = Utc::now();
    let task = TaskRequest {
        task_type: Some("call".into()),
        due_at: Some(now.to_rfc3339()),
        ..TaskRequest::default()
    }
    .check("")?;
    let started = Instant::now();
    for _ in 0..args.jobs {
        leadgate_app::followup::create_task(&store, lead, &task, "bench", now).await?;
    }
    println!(
        "leadgate-bench jobs: {} tasks with due reminders made in {:.1} s",
        args.jobs,
        started.elapsed().as_secs_f64()
    );

    // Leadgate's queue: two workers claim batches under a lease and finish each job in the
    // transaction that stores its notification.
    crate::memory::reset_peak();
    let started = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let name = format!("bench-{n}");
                let mut done = 0u64;
                loop {
                    let claimed = store
                        .claim_jobs(&name, 20, Duration::seconds(60), Utc::now())
                        .await?;
                    if claimed.is_empty() {
                        return anyhow::Ok(done);
                    }
                    // As the server's worker runs them: the batch together.
                    for outcome in
                        leadgate_app::jobs::perform_all(&store, &claimed, Utc::now()).await
                    {
                        if outcome? {
                            done += 1;
                        }
                    }
                }
            })
        })
        .collect();
    let mut done = 0;
    for worker in workers {
        done += worker.await??;
    }
    let ours = started.elapsed().as_secs_f64();
    let our_peak = crate::memory::peak_mib();

    // The peer: the smallest queue that does the same work, one job per transaction:
    // DELETE ... FOR UPDATE SKIP LOCKED RETURNING, then the notification.
    let mut conn = sqlx::PgConnection::connect(&db.url).await?;
    sqlx::query("CREATE TABLE bare_jobs (id BIGSERIAL PRIMARY KEY, task_id BIGINT NOT NULL)")
        .execute(&mut conn)
        .await?;
    sqlx::query("INSERT INTO bare_jobs (task_id) SELECT id FROM tasks")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    crate::memory::reset_peak();
    let started = Instant::now();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                let mut done = 0u64;
                loop {
                    let mut tx = conn.begin().await?;
                    let task: Option<i64> = sqlx::query_scalar(
                        "DELETE FROM bare_jobs WHERE id = (SELECT id FROM bare_jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                         RETURNING task_id",
                    )
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(task) = task else { return anyhow::Ok(done) };
                    sqlx::query(
                        "INSERT INTO notifications (recipient, kind, lead_id, task_id, message, created_at)
                         VALUES ('rep', 'task_due', NULL, $1, 'due', now())",
                    )
                    .bind(task)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    done += 1;
                }
            })
        })
        .collect();
    let mut bare_done = 0;
    for worker in workers {
        bare_done += worker.await??;
    }
    let bare = started.elapsed().as_secs_f64();
    let bare_peak = crate::memory::peak_mib();
    println!();
    println!("| queue (2 workers, PostgreSQL) | jobs | seconds | jobs/s | peak RSS (MiB) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| Leadgate (lease, token check, run log, backoff) | {done} | {ours:.2} | {:.0} | {our_peak:.0} |",
        done as f64 / ours
    );
    println!(
        "| bare SKIP LOCKED queue (delete on take) | {bare_done} | {bare:.2} | {:.0} | {bare_peak:.0} |",
        bare_done as f64 / bare
    );
    println!(
        "Leadgate / bare: {:.2}",
        (done as f64 / ours) / (bare_done as f64 / bare)
    );
    store.close().await;
    db.cleanup().await;
    Ok(())
}

pub async fn sla(args: SlaBenchArgs) -> anyhow::Result<()> {
    let office = office();
    let always = BusinessCalendar::always();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(args.seed);
    let now: chrono::DateTime<Utc> = "2026-05-04T03:00:00Z".parse()?;
    let rules = [
        Within::Work(Duration::hours(1)),
        Within::Work(Duration::hours(4)),
        Within::Work(Duration::hours(8)),
        Within::WorkingDays(2),
    ];
    let starts: Vec<(chrono::DateTime<Utc>, Within)> = (0..args.clocks)
        .map(|_| {
            let back = rng.gen_range(0..14 * 24 * 3600);
            (
                now - Duration::seconds(back),
                rules[rng.gen_range(0..rules.len())],
            )
        })
        .collect();
    println!(
        "leadgate-bench sla: {} open clocks started over the last 14 days",
        args.clocks
    );
    println!();
    println!("| calendar | deadlines (s) | clocks/s | standings (s) | clocks/s | breached |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, calendar) in [
        ("office hours + holidays (Asia/Ho_Chi_Minh)", &office),
        ("plain hours (UTC, 24/7)", &always),
    ] {
        let started = Instant::now();
        let deadlines: Vec<_> = starts
            .iter()
            .map(|(start, within)| within.deadline(calendar, *start))
            .collect();
        let deadline_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut breached = 0;
        for due in deadlines.iter().flatten() {
            if standing(calendar, *due, None, now).0 == ClockState::Breached {
                breached += 1;
            }
        }
        let standing_s = started.elapsed().as_secs_f64();
        println!(
            "| {name} | {deadline_s:.2} | {:.0} | {standing_s:.2} | {:.0} | {breached} |",
            args.clocks as f64 / deadline_s,
            args.clocks as f64 / standing_s
        );
    }
    Ok(())
}

pub async fn routing(args: RoutingBenchArgs) -> anyhow::Result<()> {
    println!(
        "leadgate-bench routing: {} MQLs without an owner, one team of {} reps, round-robin",
        args.leads, args.reps
    );
    println!();
    println!("| engine | leads | seconds | leads/s | per rep (min-max) | peak RSS (MiB) |");
    println!("|---|---:|---:|---:|---|---:|");
    for engine in args.engine.engines() {
        let db = TestDatabase::new(engine).await;
        let store = db.store().await;
        store.put_team("sales", &office(), Some("boss")).await?;
        for n in 0..args.reps {
            store
                .put_rep(
                    &format!("rep{n:02}"),
                    &RepInput {
                        team: "sales".into(),
                        email: None,
                        weight: 1.0,
                        daily_cap: None,
                        away: false,
                    },
                )
                .await?;
        }
        let policy = format!(
            "{}\n[[routing]]\nname = \"Everyone\"\nteam = \"sales\"\n",
            leadgate_core::policy::Policy::STARTER
        );
        store
            .apply_policy(&policy, "bench", "route to sales")
            .await?;
        let setup = Instant::now();
        for chunk in (0..args.leads).collect::<Vec<_>>().chunks(1000) {
            let captures = chunk
                .iter()
                .map(|n| {
                    let fields = json!({"email": format!("lead{n}@example.com")});
                    let mut map = fields.as_object().cloned().unwrap_or_default();
                    let source = Source::take_from(&mut map, Channel::Api)?;
                    Ok(Capture {
                        patch: LeadPatch::parse(&map, PatchMode::Create)?,
                        source,
                        raw: fields,
                        at: Utc::now(),
                        actor: "bench".into(),
                        bot: false,
                        by: Default::default(),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            store.capture_many(captures).await?;
        }
        // Set-up only: make them MQLs nobody owns, as if scoring had just qualified them.
        mark_all_mql(&db.url, engine).await?;
        eprintln!(
            "{engine:?}: {} leads stored in {:.1} s",
            args.leads,
            setup.elapsed().as_secs_f64()
        );
        crate::memory::reset_peak();
        let started = Instant::now();
        let (routed, left) = leadgate_app::route::route_waiting(&store, Utc::now()).await?;
        let seconds = started.elapsed().as_secs_f64();
        let peak = crate::memory::peak_mib();
        let reps = store.reps(Some("sales")).await?;
        let min = reps.iter().map(|r| r.assigned_today).min().unwrap_or(0);
        let max = reps.iter().map(|r| r.assigned_today).max().unwrap_or(0);
        println!(
            "| {engine:?} | {routed} (+{left} left) | {seconds:.1} | {:.0} | {min}-{max} | {peak:.0} |",
            routed as f64 / seconds
        );
        store.close().await;
        db.cleanup().await;
    }
    Ok(())
}

async fn mark_all_mql(url: &str, engine: Engine) -> anyhow::Result<()> {
    let sql = "UPDATE leads SET stage = 'mql', owner = NULL";
    match engine {
        Engine::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query(sql).execute(&mut conn).await?;
        }
        Engine::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await?;
            sqlx::query(sql).execute(&mut conn).await?;
        }
    }
    Ok(())
}
