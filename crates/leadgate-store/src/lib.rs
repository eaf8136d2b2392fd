//! Leadgate's persistence: one schema on SQLite (the embedded default) and PostgreSQL (scale),
//! chosen by the database URL, with migrations for each run on connect.

mod analytics;
mod api_keys;
mod automation;
mod capture_batch;
mod change_log;
mod email;
mod events;
mod followup;
mod forms;
mod imports;
mod jobs;
mod leads;
mod limits;
mod merges;
mod models;
mod partitions;
mod policies;
mod privacy;
mod qualification;
mod replica;
mod rescores;
mod routing;
mod sla;
mod spend;
mod time;
mod users;
mod views;
mod visitors;
mod webhooks;

/// Throw-away stores for test suites, here so every crate's tests share one way to make them.
pub mod testing;

pub use analytics::AnalyticsScope;
pub use api_keys::{ApiKey, NewApiKey};
pub use automation::Enrolment;
pub use email::{Email, Sending};
pub use events::{AppendOutcome, StoredEvent, Timeline, MAX_BATCH};
pub use followup::{LoggedInteraction, Notification, Task, TaskFilter};
pub use forms::StoredForm;
pub use imports::{BatchRow, Closing, ImportRecord, ImportStart, Reject};
pub use jobs::{ClaimedJob, Job, JobRun, NewJob};
pub use leads::{
    Capture, CaptureOutcome, LeadFilter, LeadPage, LeadSort, NewEvent, Owners, PredictionSnapshot,
    ScoreSnapshot, SortField, StoredLead, Submitter,
};
pub use limits::Hits;
pub use merges::{Arrived, DedupeSummary, MergeRecord};
pub use models::{LeadsWithEvents, ModelRecord, NewModel};
pub use partitions::{EventPartition, MONTHS_AHEAD};
pub use policies::{ActivePolicy, PolicyVersion};
pub use privacy::{
    check_purpose as privacy_purpose, Consent, Consents, Erasure, NewConsent,
    CONTACT as CONTACT_PURPOSE, EMAIL as EMAIL_PURPOSE,
};
pub use qualification::{facts, Move, OwnedEvent};
pub use replica::WalPosition;
pub use rescores::RescoreRun;
pub use routing::{check_name, Assignment, Handover, Rep, RepInput, Team};
pub use sla::{Compliance, NewClock, SlaClock, StoredClock, COMPLIANCE_GROUPS};
pub use spend::DEFAULT_CURRENCY;
pub use time::{to_micros, Ts};
pub use users::{
    random_token, NewSession, NewUser, SessionUser, User, UserChange, MIN_PASSWORD_CHARS,
};
pub use views::{SavedView, MAX_VIEWS};
pub use visitors::{Forgotten, StoredTracker, Visitor};
pub use webhooks::{Delivery, DeliveryOutcome, Webhook};

use leadgate_core::FieldErrors;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// What callers can act on when the store refuses or fails.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("lead {0} not found")]
    LeadNotFound(leadgate_core::id::LeadId),
    #[error("{0}")]
    NotFound(String),
    #[error("the policy has mistakes:\n{0}")]
    Policy(leadgate_core::policy::PolicyErrors),
    /// The caller's scope does not reach what the request is about.
    #[error("{0}")]
    OutOfScope(String),
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: String },
    #[error(transparent)]
    Invalid(#[from] FieldErrors),
    #[error("bad database URL '{url}': {reason}")]
    BadUrl { url: String, reason: String },
    /// What the database said, and where in the store it was asked (the `?` that passed it
    /// on), so a log line names the operation.
    #[error("database error at {at}: {source}")]
    Database {
        source: sqlx::Error,
        at: &'static std::panic::Location<'static>,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value the code cannot read back, or a failure inside the store's own work.
    #[error("store failure: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for StoreError {
    #[track_caller]
    fn from(source: sqlx::Error) -> Self {
        StoreError::Database {
            source,
            at: std::panic::Location::caller(),
        }
    }
}

impl From<leadgate_core::FieldError> for StoreError {
    fn from(error: leadgate_core::FieldError) -> Self {
        StoreError::Invalid(error.into())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Pool {
    /// SQLite allows one writer at a time; a one-connection write pool queues writers in
    /// the application instead of failing them with SQLITE_BUSY, and readers run beside it.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Parsed policies by (product, version): versions never change once stored, and parsing
/// (regexes included) should not happen on every capture.
type PolicyCache = std::sync::Arc<
    std::sync::Mutex<
        std::collections::HashMap<(String, i64), std::sync::Arc<leadgate_core::policy::Policy>>,
    >,
>;

/// The lead store. Cheap to clone; clones share the connection pools.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    parsed_policies: PolicyCache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine())
            .finish_non_exhaustive()
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool of this store's engine, so one query
/// text serves both engines with native types. `$pool` is the write pool on SQLite.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite { write: $pool, .. } => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
/// Like `on_pool!`, but with the SQLite read pool: for queries that only read.
macro_rules! on_read_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite { read: $pool, .. } => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use {on_pool, on_read_pool};

/// Binds each value as one item of the list a query has opened with `IN (`, and closes it.
pub(crate) fn push_in_list<'args, DB, T>(
    b: &mut sqlx::QueryBuilder<'args, DB>,
    values: impl IntoIterator<Item = T>,
) where
    DB: sqlx::Database,
    T: 'args + sqlx::Encode<'args, DB> + sqlx::Type<DB>,
{
    let mut list = b.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    b.push(")");
}

/// A transaction on either engine, for the use cases to hold across the store's narrow
/// writes: each is a small method on `Tx` (written once, compiled per engine through
/// `on_tx!`). Opaque outside the store: SQL stays here.
pub struct Tx {
    conn: Conn,
    /// The kept counts' changes of the writes so far, appended when the transaction
    /// commits (see `change_log.rs`).
    counts: change_log::Pending,
}

/// The engine's own transaction behind a `Tx`.
pub(crate) enum Conn {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match &mut $tx.conn {
            $crate::Conn::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            $crate::Conn::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    /// Makes every write of the transaction stand; dropping a `Tx` instead undoes them.
    pub async fn commit(mut self) -> Result<()> {
        self.flush_counts().await?;
        match self.conn {
            Conn::Sqlite(tx) => tx.commit().await?,
            Conn::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub(crate) fn engine(&self) -> Engine {
        match self.conn {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A pool on the PostgreSQL server a URL names.
async fn postgres_pool(url: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    // One direct connection first: a wrong host or password fails at once with the
    // server's reason, instead of after the pool's retries time out.
    sqlx::PgConnection::connect_with(&options)
        .await?
        .close()
        .await?;
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?)
}

impl Store {
    /// Opens the store a URL names: `postgres://...` / `postgresql://...` for PostgreSQL;
    /// `sqlite://PATH` or a plain file path for SQLite (created, with its folder, if missing).
    /// Migrations run before this returns.
    pub async fn connect(url: &str) -> Result<Self> {
        let store = if is_postgres(url) {
            let pool = postgres_pool(url).await?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Store {
                pool: Pool::Postgres(pool),
                parsed_policies: Default::default(),
            }
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Self::open_sqlite(Path::new(path)).await?
        };
        store.run_chores().await?;
        store.ensure_event_partitions(chrono::Utc::now()).await?;
        Ok(store)
    }

    /// Does the work migrations left for the store (see `store_chores`), once each.
    async fn run_chores(&self) -> Result<()> {
        let chores: Vec<String> = on_pool!(self, pool => sqlx::query_scalar("SELECT name FROM store_chores").fetch_all(pool).await)?;
        for chore in chores {
            if chore == "rebuild_journeys" {
                let leads = self.rebuild_journeys().await?;
                tracing::info!(leads, "computed the journeys of stored leads");
            }
            if chore == "tidy_people" {
                let people = self.tidy_people().await?;
                tracing::info!(
                    people,
                    "stored the phones and countries of stored people in one form"
                );
            }
            if chore == "company_domains" {
                let companies = self.fill_company_domains().await?;
                tracing::info!(companies, "found the web domains of stored companies");
            }
            on_pool!(self, pool => sqlx::query("DELETE FROM store_chores WHERE name = $1").bind(&chore).execute(pool).await.map(|_| ()))?;
        }
        Ok(())
    }

    async fn open_sqlite(path: &Path) -> Result<Self> {
        if path.as_os_str().is_empty() {
            return Err(StoreError::BadUrl {
                url: String::new(),
                reason: "no database path given".into(),
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::BadUrl {
                url: path.display().to_string(),
                reason: format!("cannot create folder {}: {e}", parent.display()),
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: durable across application crashes, one fsync per checkpoint.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Event indexes grow with the log; a larger page cache keeps their inserts in memory.
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            // Event batches touch pages all over the indexes; checkpointing every 64 MiB of
            // log instead of every 4 MiB writes each hot page back once, not after each batch.
            .pragma("wal_autocheckpoint", "16384")
            // Deleted and overwritten content is zeroed on its page (and freed pages with it),
            // so an erased person cannot be read back out of the file or a copy of it.
            .pragma("secure_delete", "ON");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        SQLITE_MIGRATIONS.run(&write).await?;
        // Readers scan rather than insert: a quarter of the writer's page cache each, so four
        // of them do not hold a quarter of a GiB of pages between them on a large store.
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).pragma("cache_size", "-16384"))
            .await?;
        Ok(Store {
            pool: Pool::Sqlite { read, write },
            parsed_policies: Default::default(),
        })
    }

    /// Starts a write transaction (on SQLite, on the single writer connection).
    pub async fn begin(&self) -> Result<Tx> {
        let conn = match &self.pool {
            Pool::Sqlite { write, .. } => Conn::Sqlite(write.begin().await?),
            Pool::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            conn,
            counts: Default::default(),
        })
    }

    /// Starts a transaction for reading only: a consistent snapshot for long passes, which
    /// on SQLite does not hold up the writer.
    pub async fn begin_read(&self) -> Result<Tx> {
        let conn = match &self.pool {
            Pool::Sqlite { read, .. } => Conn::Sqlite(read.begin().await?),
            Pool::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        };
        Ok(Tx {
            conn,
            counts: Default::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite { .. } => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        on_read_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Refreshes the query planner's statistics (and on PostgreSQL reclaims the rows that
    /// updates left behind): after a bulk load, before measuring; a running server gets the
    /// same from autovacuum (PostgreSQL) or this call.
    pub async fn analyze(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite { write, .. } => {
                sqlx::query("ANALYZE").execute(write).await?;
            }
            Pool::Postgres(pool) => {
                sqlx::query("VACUUM ANALYZE").execute(pool).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Turns a unique-constraint violation into a conflict naming the field; other errors pass.
#[track_caller]
pub(crate) fn conflict_on(error: sqlx::Error, field: &str, reason: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
            field: field.to_owned(),
            reason: reason.to_owned(),
        },
        _ => StoreError::from(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks_the_database() -> Result<()> {
        Err(sqlx::Error::PoolTimedOut)?;
        Ok(())
    }

    #[test]
    fn a_database_error_names_where_the_store_passed_it_on() {
        let Err(StoreError::Database { at, .. }) = asks_the_database() else {
            panic!("a database error");
        };
        assert!(at.file().ends_with("lib.rs"), "{at}");
        let line = include_str!("lib.rs")
            .lines()
            .position(|l| l.contains("Err(sqlx::Error::PoolTimedOut)?"))
            .unwrap()
            + 1;
        assert_eq!(at.line() as usize, line, "{at}");
        let shown = asks_the_database().unwrap_err().to_string();
        assert!(shown.starts_with("database error at "), "{shown}");
    }
}
