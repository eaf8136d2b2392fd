//! Reading from a PostgreSQL streaming replica: where the primary's write-ahead log stands
//! after a write, and whether a replica has replayed it yet.

use crate::{Pool, Result, Store, StoreError, POSTGRES_MIGRATIONS};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A position in PostgreSQL's write-ahead log (an LSN, written `16/B374D848`). Ordered as
/// the log is: a replica that has replayed up to a position shows every transaction
/// committed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalPosition(u64);

impl FromStr for WalPosition {
    type Err = String;

    /// Reads PostgreSQL's spelling: two hexadecimal numbers of 1 to 8 digits around a `/`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let half = |part: &str| {
            (!part.is_empty() && part.len() <= 8 && part.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| u64::from_str_radix(part, 16).ok())
                .flatten()
        };
        text.split_once('/')
            .and_then(|(high, low)| Some(WalPosition(half(high)? << 32 | half(low)?)))
            .ok_or_else(|| {
                format!("'{text}' is not a log position (two hexadecimal numbers around a '/')")
            })
    }
}

impl fmt::Display for WalPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// How long a server starting beside a fresh primary waits for its replica to replay the
/// migrations the primary just ran.
const SCHEMA_WAIT: Duration = Duration::from_secs(30);

impl Store {
    /// Opens a PostgreSQL streaming replica of a store for reading. Runs no migrations (a
    /// replica cannot write): it waits until the replica has replayed the ones this build
    /// knows, and refuses a server that is not a replica.
    pub async fn connect_replica(url: &str) -> Result<Self> {
        let bad = |reason: String| StoreError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        if !crate::is_postgres(url) {
            return Err(bad(
                "a read replica is a PostgreSQL streaming replica (postgres://...)".into(),
            ));
        }
        let pool = crate::postgres_pool(url).await?;
        let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
            .fetch_one(&pool)
            .await?;
        if !in_recovery {
            return Err(bad(
                "this server is not a streaming replica (pg_is_in_recovery() is false); \
                 a primary belongs in the database URL"
                    .into(),
            ));
        }
        let needed = POSTGRES_MIGRATIONS.iter().map(|m| m.version).max();
        let started = std::time::Instant::now();
        loop {
            // Before the migrations table itself is replayed, the query fails: nothing yet.
            let replayed: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                    .fetch_one(&pool)
                    .await
                    .unwrap_or(None);
            if replayed >= needed {
                break;
            }
            if started.elapsed() > SCHEMA_WAIT {
                return Err(bad(format!(
                    "the replica's schema is at migration {} and this build needs {}: it is \
                     not a replica of this store, or has not replayed its migrations",
                    replayed.unwrap_or(0),
                    needed.unwrap_or(0)
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Store {
            pool: Pool::Postgres(pool),
            parsed_policies: Default::default(),
        })
    }

    /// Where the primary's log stands now: every transaction committed so far is before
    /// it. `None` on SQLite, which has no replicas.
    pub async fn wal_position(&self) -> Result<Option<WalPosition>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let text: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(pool)
            .await?;
        text.parse()
            .map(Some)
            .map_err(|e| StoreError::Internal(format!("the primary's log position: {e}")))
    }

    /// Whether this store, a replica, has replayed the log up to `position` (false when it
    /// has replayed nothing, or is not a replica).
    pub async fn has_replayed(&self, position: WalPosition) -> Result<bool> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(false);
        };
        let text: Option<String> = sqlx::query_scalar("SELECT pg_last_wal_replay_lsn()::text")
            .fetch_one(pool)
            .await?;
        Ok(text
            .and_then(|t| t.parse::<WalPosition>().ok())
            .is_some_and(|replayed| replayed >= position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn positions_read_and_write_as_postgres_does() {
        let p: WalPosition = "16/B374D848".parse().unwrap();
        assert_eq!(p.to_string(), "16/B374D848");
        assert_eq!("0/0".parse::<WalPosition>().unwrap(), WalPosition(0));
        assert!("0/3016130".parse::<WalPosition>().unwrap() > "0/3016060".parse().unwrap());
        assert!("1/0".parse::<WalPosition>().unwrap() > "0/FFFFFFFF".parse().unwrap());
        for bad in [
            "",
            "/",
            "1/",
            "/1",
            "1",
            "1/2/3",
            "g/1",
            "123456789/0",
            "-1/0",
            "+1/0",
            " 1/0",
            "1/0 ",
        ] {
            let refused = bad.parse::<WalPosition>().unwrap_err();
            assert!(refused.contains("log position"), "{bad}: {refused}");
        }
    }

    proptest! {
        #[test]
        fn a_position_reads_back_as_written(n: u64) {
            let p = WalPosition(n);
            prop_assert_eq!(p.to_string().parse::<WalPosition>(), Ok(p));
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panic(text in "\\PC{0,24}") {
            let _ = text.parse::<WalPosition>();
        }
    }
}
