//! Rate-limit counts kept in the database, so that every server over one store counts the
//! same hits (a form's submissions per client, a sign-in's failures per account and client).

use crate::{on_pool, Result, Store};
use chrono::{DateTime, Utc};

/// Where a key stands in its current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hits {
    /// Hits counted in the current window.
    pub count: u32,
    /// Whole seconds until the window ends (at least 1).
    pub resets_in: u64,
}

/// The fixed window of `window_secs` that `now` falls in: its start and end, Unix seconds.
fn window(now: DateTime<Utc>, window_secs: u32) -> (i64, i64) {
    let secs = i64::from(window_secs.max(1));
    let start = now.timestamp().div_euclid(secs) * secs;
    (start, start + secs)
}

fn hits(count: i64, end: i64, now: DateTime<Utc>) -> Hits {
    Hits {
        count: u32::try_from(count.max(0)).unwrap_or(u32::MAX),
        resets_in: u64::try_from(end - now.timestamp()).unwrap_or(0).max(1),
    }
}

impl Store {
    /// Counts one hit against `key` in the current window and returns the window's count,
    /// this hit included.
    pub async fn hit(&self, key: &str, window_secs: u32, now: DateTime<Utc>) -> Result<Hits> {
        let (start, end) = window(now, window_secs);
        let count: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO rate_limits (key, window_start, window_end, hits) VALUES ($1, $2, $3, 1)
             ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
             RETURNING CAST(hits AS BIGINT)",
        )
        .bind(key)
        .bind(start)
        .bind(end)
        .fetch_one(pool)
        .await)?;
        Ok(hits(count, end, now))
    }

    /// Forgets every hit counted against `key` (a sign-in that succeeded).
    pub async fn forget_hits(&self, key: &str) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM rate_limits WHERE key = $1")
            .bind(key)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Drops the counts of windows that have ended; the number dropped.
    pub async fn forget_ended_hits(&self, now: DateTime<Utc>) -> Result<u64> {
        let dropped = on_pool!(self, pool => sqlx::query("DELETE FROM rate_limits WHERE window_end <= $1")
            .bind(now.timestamp())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_are_fixed_and_the_wait_is_never_zero() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert_eq!(
            window(at(1_000_000_123), 60),
            (1_000_000_080, 1_000_000_140)
        );
        assert_eq!(
            window(at(1_000_000_080), 60),
            (1_000_000_080, 1_000_000_140)
        );
        assert_eq!(hits(3, 1_000_000_140, at(1_000_000_123)).resets_in, 17);
        assert_eq!(hits(3, 1_000_000_140, at(1_000_000_140)).resets_in, 1);
        assert_eq!(window(at(-30), 60), (-60, 0), "before 1970 too");
    }
}
