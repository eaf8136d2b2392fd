//! The event log's monthly partitions on PostgreSQL (migration 0043): each month's made
//! ahead of time, so events never pile into the default partition, and listed for archiving.

use crate::{Pool, Result, Store};
use chrono::{DateTime, Datelike, Months, TimeZone, Utc};

/// How many months after the current one have their partition ready.
pub const MONTHS_AHEAD: u32 = 3;

/// Midnight UTC of the first day of `at`'s month.
fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at)
}

/// One partition of the event log: its table and the range of recording times it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPartition {
    pub table: String,
    /// PostgreSQL's own words for the range (`FOR VALUES FROM (...) TO (...)`, `DEFAULT`).
    pub range: String,
    /// Its rows, as the planner's statistics estimate them.
    pub rows_estimate: i64,
}

impl Store {
    /// Makes the partitions of the month of `now` and the `MONTHS_AHEAD` after it where no
    /// partition covers them yet; the tables made. Nothing on SQLite, whose log is one table.
    pub async fn ensure_event_partitions(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(Vec::new());
        };
        let first = month_start(now);
        let mut made = Vec::new();
        for ahead in 0..=MONTHS_AHEAD {
            let (Some(from), Some(to)) = (
                first.checked_add_months(Months::new(ahead)),
                first.checked_add_months(Months::new(ahead + 1)),
            ) else {
                break;
            };
            let table = format!("events_{}", from.format("%Y_%m"));
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(&table)
                .fetch_one(pool)
                .await?;
            if exists {
                continue;
            }
            // The table name and bounds are made here from a date, never from input.
            let create = format!(
                "CREATE TABLE {table} PARTITION OF events FOR VALUES FROM ('{}') TO ('{}')",
                from.to_rfc3339(),
                to.to_rfc3339()
            );
            match sqlx::query(&create).execute(pool).await {
                Ok(_) => made.push(table),
                // Already covered by a wider partition (events_history, up to the month
                // after the migration): nothing to make.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P17") => {}
                // Rows of that month already sit in the default partition (recorded with a
                // clock far ahead): they stay there, readable as ever.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23514") => {
                    tracing::warn!(table, error = %e, "the default partition holds events of this month; not partitioned");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(made)
    }

    /// The event log's partitions, oldest range first (the default partition last); none
    /// on SQLite.
    pub async fn event_partitions(&self) -> Result<Vec<EventPartition>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(Vec::new());
        };
        let rows: Vec<(String, String, f32)> = sqlx::query_as(
            "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid), c.reltuples
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'events'::regclass",
        )
        .fetch_all(pool)
        .await?;
        let mut partitions: Vec<EventPartition> = rows
            .into_iter()
            .map(|(table, range, rows)| EventPartition {
                table,
                range,
                rows_estimate: (rows.max(0.0)) as i64,
            })
            .collect();
        // `events_history` first, months in order (their names sort as dates), the
        // default last.
        let order = |p: &EventPartition| match p.table.as_str() {
            "events_history" => (0, String::new()),
            "events_later" => (2, String::new()),
            name => (1, name.to_owned()),
        };
        partitions.sort_by_key(order);
        Ok(partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_starts_at_midnight_utc_on_its_first_day() {
        let at = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(
            month_start(at),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            month_start(at).checked_add_months(Months::new(1)),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).single()
        );
    }
}
