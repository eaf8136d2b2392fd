//! Fresh, throw-away stores for test suites: a temporary SQLite file,
//! or a new PostgreSQL database on the local server, so tests can run in parallel.

use crate::{Engine, Store};
use leadgate_core::id::LeadId;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sqlx::Connection;

/// The PostgreSQL server tests use; override with `LEADGATE_TEST_POSTGRES`.
pub fn postgres_admin_url() -> String {
    std::env::var("LEADGATE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database that exists for one test. Call `cleanup` at the end to drop it.
pub struct TestDatabase {
    pub url: String,
    pg_name: Option<String>,
    /// The SQLite file's folder, removed when this is dropped.
    _dir: Option<tempfile::TempDir>,
}

fn random_suffix() -> String {
    rand::thread_rng()
        .sample_iter(Alphanumeric)
        .take(12)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect()
}

impl TestDatabase {
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("leadgate-test-")
                    .tempdir()
                    .expect("create temp dir");
                Self {
                    url: format!("sqlite://{}", dir.path().join("leadgate.db").display()),
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Engine::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("leadgate_test_{}", random_suffix());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL must run at 127.0.0.1:5432 (see README)");
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Self {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("open test store")
    }

    /// Drops the PostgreSQL database (the SQLite folder goes when this is dropped).
    pub async fn cleanup(self) {
        if let Some(name) = &self.pg_name {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

/// The single number a query such as `SELECT COUNT(*) ...` returns: for tests that check
/// what was stored.
pub async fn count(store: &Store, sql: &str) -> i64 {
    crate::on_read_pool!(store, pool => sqlx::query_scalar(sql).fetch_one(pool).await)
        .expect("count query")
}

/// Runs one statement on the write pool: for tests that set up what no API writes (an
/// import whose process died long ago).
pub async fn execute(store: &Store, sql: &str) {
    crate::on_pool!(store, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
        .expect("statement");
}

/// Prepares a statement without running it: the database parses it and resolves its tables
/// and columns, so a mistake shows whether or not a scenario runs the statement.
pub async fn prepare(store: &Store, sql: &str) -> Result<(), String> {
    use sqlx::Executor;
    crate::on_pool!(store, pool => pool.prepare(sql).await.map(|_| ())).map_err(|e| e.to_string())
}

/// The numbers a query such as `SELECT id FROM ...` returns, one per row.
pub async fn numbers(store: &Store, sql: &str) -> Vec<i64> {
    crate::on_read_pool!(store, pool => sqlx::query_scalar(sql).fetch_all(pool).await)
        .expect("numbers query")
}

/// The texts a query returns, one per row (NULL as empty).
pub async fn texts(store: &Store, sql: &str) -> Vec<String> {
    let rows: Vec<Option<String>> =
        crate::on_read_pool!(store, pool => sqlx::query_scalar(sql).fetch_all(pool).await)
            .expect("texts query");
    rows.into_iter().map(Option::unwrap_or_default).collect()
}

/// A trusted capture of flat JSON (as the API takes it), now, by "test".
pub fn capture_of(input: serde_json::Value) -> crate::Capture {
    use leadgate_core::lead::PatchMode;
    let mut map = input.as_object().cloned().expect("a JSON object");
    let source = leadgate_core::Source::take_from(&mut map, leadgate_core::Channel::Api)
        .expect("a valid source");
    crate::Capture {
        patch: leadgate_core::LeadPatch::parse(&map, PatchMode::Create).expect("valid fields"),
        source,
        raw: input,
        at: chrono::Utc::now(),
        actor: "test".into(),
        bot: false,
        by: Default::default(),
    }
}

/// Stores a lead from flat JSON (as the API takes it) and returns its id: set-up for tests.
pub async fn capture(store: &Store, input: serde_json::Value) -> LeadId {
    store
        .capture(capture_of(input))
        .await
        .expect("capture")
        .lead
        .id
}

/// Puts a message in a person's notifications, as reminders and SLA warnings do: set-up
/// for tests.
pub async fn notify(store: &Store, recipient: &str, lead_id: LeadId, message: &str) {
    let mut tx = store.begin().await.expect("a transaction");
    tx.notify(
        recipient,
        "test",
        Some(lead_id),
        None,
        message,
        chrono::Utc::now(),
    )
    .await
    .expect("notify");
    tx.commit().await.expect("commit");
}

/// Runs each named `async fn(Store)` twice, on a fresh SQLite store and on a fresh
/// PostgreSQL database, as `sqlite::name` and `postgres::name` tests.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $crate::testing::TestDatabase::new($crate::Engine::Sqlite).await;
                super::$name(db.store().await).await;
                db.cleanup().await;
            }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $crate::testing::TestDatabase::new($crate::Engine::Postgres).await;
                let store = db.store().await;
                super::$name(store.clone()).await;
                store.close().await;
                db.cleanup().await;
            }
        )* }
    };
}

/// Moves a lead's creation time, as if it had been captured then (for tests that need leads
/// from several months).
pub async fn backdate(store: &Store, id: LeadId, at: chrono::DateTime<chrono::Utc>) {
    let mut tx = store.begin().await.expect("begin");
    let before = tx.counted_before(&[id]).await.expect("read the lead");
    crate::on_tx!(&mut tx, conn => sqlx::query("UPDATE leads SET created_at = $1 WHERE id = $2")
        .bind(crate::time::Ts(at))
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ()))
    .expect("backdate a lead");
    tx.count_written(before, |lead| lead.counted.created_at = at)
        .await
        .expect("count the change");
    tx.commit().await.expect("commit");
}

/// Sets a person's phone and country as typed, as in a store made before they were tidied.
pub async fn untidy_person(
    store: &Store,
    person: leadgate_core::id::PersonId,
    phone: &str,
    country: &str,
) {
    crate::on_pool!(store, pool => sqlx::query("UPDATE people SET phone = $1, country = $2 WHERE id = $3")
        .bind(phone)
        .bind(country)
        .bind(person)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("untidy a person");
}

/// Forgets every company's web domain, as in a store made before domains were kept.
pub async fn forget_company_domains(store: &Store) {
    crate::on_pool!(store, pool => sqlx::query("UPDATE companies SET domain = NULL")
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("forget company domains");
}
