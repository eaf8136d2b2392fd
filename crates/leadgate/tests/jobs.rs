//! Durable jobs across real processes: two `leadgate serve` on one database share the due
//! jobs, and when one is killed (-9) mid-way the other takes its jobs over, each job's effect
//! stored exactly once.

use chrono::Utc;
use leadgate_core::followup::TaskRequest;
use leadgate_core::lead::PatchMode;
use leadgate_core::{Channel, LeadPatch, Source};
use leadgate_store::testing::{count, numbers, texts, TestDatabase};
use leadgate_store::{Capture, Engine, Store};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TASKS: i64 = 2000;

fn serve(url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["serve", "--bind", "127.0.0.1:0", "--job-lease-secs", "2"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start leadgate serve")
}

/// The name a server's worker records in the job log.
fn worker_of(child: &Child) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", child.id())
}

async fn due_reminders(store: &Store) {
    let mut map = json!({"email": "ana@acme.io", "owner": "ana"})
        .as_object()
        .cloned()
        .unwrap();
    let source = Source::take_from(&mut map, Channel::Api).unwrap();
    let lead = store
        .capture(Capture {
            patch: LeadPatch::parse(&map, PatchMode::Create).unwrap(),
            source,
            raw: json!({}),
            at: Utc::now(),
            actor: "test".into(),
            bot: false,
            by: Default::default(),
        })
        .await
        .unwrap()
        .lead
        .id;
    let now = Utc::now();
    let task =
        serde_json::from_value::<TaskRequest>(json!({"type": "call", "due_at": now.to_rfc3339()}))
            .unwrap()
            .check("")
            .unwrap();
    for _ in 0..TASKS {
        leadgate_app::followup::create_task(store, lead, &task, "test", now)
            .await
            .unwrap();
    }
}

/// Waits until the database has finished what the frozen server sent before it stopped: a
/// COMMIT already on the wire is carried out without the client, and would otherwise finish
/// a job this test has just read as held. SQLite runs in the server's own process, so a
/// frozen server has nothing in flight.
async fn settle(store: &Store, engine: Engine) {
    if engine == Engine::Postgres {
        // The name must reach PostgreSQL, or the wait below would wait for nothing.
        assert!(
            count(
                store,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'doomed'"
            )
            .await
                > 0,
            "the frozen server's connections are named"
        );
        let started = Instant::now();
        while count(
            store,
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'doomed' AND state = 'active'",
        )
        .await
            > 0
        {
            assert!(started.elapsed() < Duration::from_secs(30), "statements of the frozen server never ended");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn two_servers_share_jobs_and_survive_a_kill(engine: Engine) {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    due_reminders(&store).await;

    // The doomed server's connections carry a name, so that PostgreSQL can be asked whether
    // it is still running a statement the frozen server sent before it stopped.
    let doomed_url = match engine {
        Engine::Postgres => format!("{}?application_name=doomed", db.url),
        Engine::Sqlite => db.url.clone(),
    };
    let mut doomed = serve(&doomed_url);
    let mut survivor = serve(&db.url);
    let doomed_name = worker_of(&doomed);
    let survivor_name = worker_of(&survivor);

    // Kill the first server while it holds claimed jobs it has not finished: freeze it
    // (SIGSTOP) when it seems to, look again while it cannot move, and kill it (-9) if it
    // does; otherwise let it go on and try again.
    let held_by_doomed = format!(
        "SELECT COUNT(*) FROM jobs WHERE state = 'running' AND claimed_by = '{doomed_name}'"
    );
    let signal = |sig: &str, child: &Child| {
        let sent = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill {sig}");
    };
    let started = Instant::now();
    let mut held_at_kill = 0;
    let mut held_ids: Vec<i64> = Vec::new();
    while started.elapsed() < Duration::from_secs(60) {
        let done = count(
            &store,
            &format!("SELECT COUNT(*) FROM job_runs WHERE worker = '{doomed_name}'"),
        )
        .await;
        if done > 0 && count(&store, &held_by_doomed).await > 0 {
            signal("-STOP", &doomed);
            settle(&store, engine).await;
            held_ids = numbers(
                &store,
                &format!(
                    "SELECT id FROM jobs WHERE state = 'running' AND claimed_by = '{doomed_name}'"
                ),
            )
            .await;
            held_at_kill = held_ids.len();
            if held_at_kill > 0 {
                doomed.kill().unwrap();
                doomed.wait().unwrap();
                break;
            }
            signal("-CONT", &doomed);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = doomed.kill();
    let _ = doomed.wait();

    // The survivor finishes everything, the killed server's claims after their lease.
    let started = Instant::now();
    while count(&store, "SELECT COUNT(*) FROM jobs WHERE state <> 'done'").await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "jobs left undone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = survivor.kill();
    let _ = survivor.wait();

    assert!(held_at_kill > 0, "the server was killed holding jobs");
    let by = |worker: &str| {
        format!("SELECT COUNT(*) FROM job_runs WHERE outcome = 'done' AND worker = '{worker}'")
    };
    let done_by_doomed = count(&store, &by(&doomed_name)).await;
    let done_by_survivor = count(&store, &by(&survivor_name)).await;
    assert!(
        done_by_doomed > 0 && done_by_survivor > 0,
        "both servers ran jobs"
    );
    assert_eq!(done_by_doomed + done_by_survivor, TASKS);
    // Exactly once: one finished run per job, one reminder per task.
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM (SELECT job_id FROM job_runs WHERE outcome = 'done' GROUP BY job_id HAVING COUNT(*) = 1) once").await,
        TASKS
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM notifications").await,
        TASKS
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM (SELECT task_id FROM notifications GROUP BY task_id) t"
        )
        .await,
        TASKS
    );
    // The jobs the killed server held were taken over: each finished once, by the survivor,
    // after a later attempt than the killed server's.
    let list = held_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let finished_by = texts(
        &store,
        &format!("SELECT worker FROM job_runs WHERE outcome = 'done' AND job_id IN ({list}) ORDER BY job_id"),
    )
    .await;
    assert_eq!(
        finished_by.len(),
        held_ids.len(),
        "each held job finished once"
    );
    assert!(
        finished_by.iter().all(|w| *w == survivor_name),
        "finished by {finished_by:?}, not all by {survivor_name}"
    );
    let later = count(
        &store,
        &format!("SELECT COUNT(*) FROM jobs WHERE id IN ({list}) AND attempts >= 2"),
    )
    .await;
    assert_eq!(later as usize, held_ids.len());
    store.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_share_jobs_and_survive_a_kill() {
    two_servers_share_jobs_and_survive_a_kill(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_servers_share_jobs_and_survive_a_kill() {
    two_servers_share_jobs_and_survive_a_kill(Engine::Sqlite).await;
}
