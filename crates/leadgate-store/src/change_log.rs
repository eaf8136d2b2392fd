//! Counts kept as an append-only log of changes, folded into the counts now and then (the
//! analytics rollup, reps' open leads): every write of a lead appends what it changed, in
//! its own transaction, and appending never makes writers contend.

use crate::analytics::JOURNEY_COLUMNS;
use crate::{on_tx, Conn, Result, Store, Tx};
use chrono::DateTime;
use leadgate_core::analytics::{self, Counted, Fact, Journey};
use leadgate_core::id::LeadId;
use leadgate_core::lifecycle;
use sqlx::types::Json;
use std::collections::BTreeMap;

/// A table of counts and the log of changes appended to it; both count in a column
/// `leads` (a count row at zero is removed).
pub(crate) struct ChangeLog {
    /// The folded counts.
    pub counts: &'static str,
    /// The appended changes.
    pub changes: &'static str,
    /// `INSERT INTO {counts} ... SELECT ... FROM CHANGES WHERE 1 = 1 GROUP BY ... ON
    /// CONFLICT ... DO UPDATE` adding the changes to the counts; `CHANGES` names their rows.
    pub upsert: String,
}

impl Store {
    /// Folds the log's pending changes into its counts; returns how many were folded.
    pub(crate) async fn fold(&self, log: &ChangeLog) -> Result<u64> {
        let mut tx = self.begin().await?;
        let folded = match &mut tx.conn {
            // One writer at a time: nothing is appended between the fold and the delete.
            Conn::Sqlite(conn) => {
                sqlx::query(&log.upsert.replace("CHANGES", log.changes))
                    .execute(&mut **conn)
                    .await?;
                sqlx::query(&format!("DELETE FROM {}", log.changes))
                    .execute(&mut **conn)
                    .await?
                    .rows_affected()
            }
            // Deletes exactly the changes it folds (those committed when it starts); one
            // fold at a time, while writers go on appending.
            Conn::Postgres(conn) => {
                sqlx::query(&format!(
                    "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
                    log.counts
                ))
                .execute(&mut **conn)
                .await?;
                let folded: i64 = sqlx::query_scalar(&format!(
                    "WITH moved AS (DELETE FROM {} RETURNING *),
                     folded AS ({} RETURNING 1)
                     SELECT COUNT(*) FROM moved",
                    log.changes,
                    log.upsert
                        .replace("CHANGES", "moved")
                        .replace("SUM(leads)", "CAST(SUM(leads) AS BIGINT)")
                ))
                .fetch_one(&mut **conn)
                .await?;
                u64::try_from(folded).unwrap_or(0)
            }
        };
        on_tx!(&mut tx, conn => sqlx::query(&format!("DELETE FROM {} WHERE leads = 0", log.counts))
        .execute(conn)
        .await
        .map(|_| ()))?;
        tx.commit().await?;
        Ok(folded)
    }
}

/// What the kept counts read of a lead's row: one element of the JSON array
/// `counted_leads` selects, its columns in this order.
#[derive(serde::Deserialize)]
pub(crate) struct CountedRow {
    pub(crate) id: LeadId,
    stage: String,
    owner: Option<String>,
    channel: String,
    source_class: String,
    campaign: Option<String>,
    junk: String,
    score_band: i32,
    /// Microseconds since the epoch.
    created_at: i64,
    reached: i32,
    outcome: Option<String>,
    won_value: f64,
    disqualified_reason: Option<String>,
    recycled_reason: Option<String>,
    lost_reason: Option<String>,
    hours: [Option<f64>; 5],
}

/// A lead as the kept counts see it: the rollup's view of it, and whose work in hand it is.
#[derive(Clone)]
pub(crate) struct CountedLead {
    pub(crate) id: LeadId,
    pub(crate) owner: Option<String>,
    pub(crate) counted: Counted,
}

impl CountedLead {
    fn read(row: CountedRow) -> Option<CountedLead> {
        Some(CountedLead {
            id: row.id,
            counted: Counted {
                created_at: DateTime::from_timestamp_micros(row.created_at)?,
                channel: row.channel,
                source_class: row.source_class,
                campaign: row.campaign,
                junk: !row.junk.is_empty(),
                band: usize::try_from(row.score_band).ok(),
                stage: row.stage.parse().ok()?,
                journey: Journey {
                    reached: u8::try_from(row.reached).unwrap_or(0),
                    outcome: row.outcome.as_deref().map(|o| o == "won"),
                    won_value: row.won_value,
                    disqualified_reason: row.disqualified_reason,
                    recycled_reason: row.recycled_reason,
                    lost_reason: row.lost_reason,
                    hours: row.hours,
                },
            },
            owner: row.owner,
        })
    }

    /// The rep whose load this lead counts in, if any.
    fn in_hand_of(&self) -> Option<&str> {
        lifecycle::in_hand(self.counted.stage)
            .then_some(self.owner.as_deref())
            .flatten()
    }
}

/// Leads as they were before a write, to count what the write changed (`Tx::counted_before`).
pub(crate) struct Before {
    ids: Vec<LeadId>,
    leads: Vec<CountedLead>,
}

impl Before {
    /// Leads about to be inserted: nothing of them is counted yet.
    pub(crate) fn inserting(ids: Vec<LeadId>) -> Before {
        Before {
            ids,
            leads: Vec::new(),
        }
    }
}

/// The kept counts' changes a transaction's writes made, not yet appended: each write of
/// leads adds to them, and the transaction appends them once, netted, when it commits, so a
/// pass that writes a thousand leads one at a time adds two statements, not two thousand.
#[derive(Default)]
pub(crate) struct Pending {
    facts: Vec<Fact>,
    /// Per owner, the change in their leads in hand.
    load: BTreeMap<String, i64>,
}

/// How many leads are read per statement.
const COUNTED_PAGE: usize = 1000;

impl Tx {
    /// The leads `ids` as the kept counts read them, before a write. On PostgreSQL the rows
    /// are locked until the transaction ends, so no other writer changes them between this
    /// reading and the write (SQLite has one writer at a time).
    pub(crate) async fn counted_before(&mut self, ids: &[LeadId]) -> Result<Before> {
        let lock = match self.conn {
            Conn::Sqlite(_) => "",
            Conn::Postgres(_) => " FOR UPDATE",
        };
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let leads = self.counted_leads(&ids, lock).await?;
        Ok(Before { ids, leads })
    }

    /// After a write of the leads read by `counted_before` (or inserted), reads them again
    /// and appends to the rollup's and the open leads' change logs what the write changed.
    pub(crate) async fn count_changes(&mut self, before: Before) -> Result<()> {
        let after = self.counted_leads(&before.ids, "").await?;
        self.append_changes(&before.leads, &after);
        Ok(())
    }

    /// After a write whose effect on each lead read by `counted_before` the caller knows
    /// (`write` makes it on the lead as read): appends what it changed without reading the
    /// leads again. The rows were held since they were read, so this is what is stored.
    pub(crate) async fn count_written(
        &mut self,
        before: Before,
        write: impl Fn(&mut CountedLead),
    ) -> Result<()> {
        let after: Vec<CountedLead> = before
            .leads
            .iter()
            .map(|lead| {
                let mut written = lead.clone();
                write(&mut written);
                written
            })
            .collect();
        self.append_changes(&before.leads, &after);
        Ok(())
    }

    /// Adds what a write changed (the leads before and after it) to the pending changes.
    fn append_changes(&mut self, before: &[CountedLead], after: &[CountedLead]) {
        let counted = |leads: &[CountedLead]| -> Vec<Counted> {
            leads.iter().map(|lead| lead.counted.clone()).collect()
        };
        let facts = analytics::changes(&counted(before), &counted(after));
        self.counts.facts.extend(facts);
        for (leads, sign) in [(before, -1), (after, 1)] {
            for owner in leads.iter().filter_map(CountedLead::in_hand_of) {
                *self.counts.load.entry(owner.to_owned()).or_default() += sign;
            }
        }
    }

    /// Appends the changes pending in this transaction to the change logs, netted, in one
    /// statement per table (per 500 rows). `commit` does this first; so must a read of the
    /// logs inside the transaction.
    pub(crate) async fn flush_counts(&mut self) -> Result<()> {
        let Pending { facts, mut load } = std::mem::take(&mut self.counts);
        self.append_facts(&analytics::net(facts)).await?;
        load.retain(|_, change| *change != 0);
        if !load.is_empty() {
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new("INSERT INTO open_lead_changes (owner, leads) ");
                b.push_values(&load, |mut row, (owner, change)| {
                    row.push_bind(owner.as_str()).push_bind(*change);
                });
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The counted columns of a lead row, unqualified (SQLite's RETURNING takes no table
    /// name), as the JSON array a `CountedRow` is read from.
    pub(crate) fn counted_array(&self) -> &'static str {
        match self.conn {
            Conn::Sqlite(_) => {
                "json_array(id, stage, owner, channel, source_class, campaign,
                    junk, score_band, created_at, reached, outcome, won_value,
                    disqualified_reason, recycled_reason, lost_reason,
                    json_array(hours_lead, hours_mql, hours_sal, hours_sql,
                        hours_opportunity))"
            }
            Conn::Postgres(_) => {
                "json_build_array(id, stage, owner, channel, source_class, campaign,
                    junk, score_band, CAST(EXTRACT(EPOCH FROM created_at) * 1000000 AS BIGINT),
                    reached, outcome, won_value, disqualified_reason, recycled_reason,
                    lost_reason, json_build_array(hours_lead, hours_mql, hours_sal,
                        hours_sql, hours_opportunity))"
            }
        }
    }

    /// After a write that returned the leads it wrote (`RETURNING` their `counted_array`),
    /// whose change the caller can undo on them (`unwrite` makes a lead as it was before):
    /// appends what it changed, without reading the leads at all.
    pub(crate) async fn count_returned(
        &mut self,
        returned: Vec<CountedRow>,
        unwrite: impl Fn(&mut CountedLead),
    ) -> Result<()> {
        let after: Vec<CountedLead> = returned.into_iter().filter_map(CountedLead::read).collect();
        let before: Vec<CountedLead> = after
            .iter()
            .map(|lead| {
                let mut was = lead.clone();
                unwrite(&mut was);
                was
            })
            .collect();
        self.append_changes(&before, &after);
        Ok(())
    }

    /// The leads `ids` as the kept counts read them, each page as one JSON value: sqlx hands
    /// SQLite rows over one at a time, at several microseconds a row, and a scoring pass
    /// reads every lead it scores. `lock` is `FOR UPDATE` on PostgreSQL, or nothing.
    async fn counted_leads(&mut self, ids: &[LeadId], lock: &str) -> Result<Vec<CountedLead>> {
        let (open, close) = match self.conn {
            Conn::Sqlite(_) => ("json_group_array(", ")"),
            Conn::Postgres(_) => ("COALESCE(json_agg(", "), '[]')"),
        };
        let array = self.counted_array();
        let mut leads = Vec::with_capacity(ids.len());
        for page in ids.chunks(COUNTED_PAGE) {
            let Json(rows): Json<Vec<CountedRow>> = on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(format!(
                    "SELECT {open}{array}{close} FROM (SELECT id, stage, owner, channel,
                        source_class, campaign, junk, score_band, created_at, {JOURNEY_COLUMNS}
                     FROM leads WHERE id IN ("
                ));
                crate::push_in_list(&mut b, page.iter().copied());
                b.push(" ORDER BY id").push(lock).push(") l");
                b.build_query_scalar().fetch_one(conn).await
            })?;
            leads.extend(rows.into_iter().filter_map(CountedLead::read));
        }
        Ok(leads)
    }

    async fn append_facts(&mut self, facts: &[Fact]) -> Result<()> {
        for page in facts.chunks(500) {
            on_tx!(self, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "INSERT INTO analytics_changes (month, kind, channel, source_class, campaign,
                        junk, band, stage, reached, outcome, reason, hours, leads, won_value) ",
                );
                b.push_values(page, |mut row, f| {
                    row.push_bind(f.month.as_str())
                        .push_bind(f.kind)
                        .push_bind(f.channel.as_str())
                        .push_bind(f.source_class.as_str())
                        .push_bind(f.campaign.as_str())
                        .push_bind(i32::from(f.junk))
                        .push_bind(f.band.and_then(|b| i32::try_from(b).ok()).unwrap_or(-1))
                        .push_bind(f.stage.map_or("", |s| s.as_str()))
                        .push_bind(i32::from(f.reached))
                        .push_bind(f.outcome.map_or("", |won| if won { "won" } else { "lost" }))
                        .push_bind(f.reason.as_str())
                        .push_bind(f.hours)
                        .push_bind(f.leads)
                        .push_bind(f.won_value);
                });
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        Ok(())
    }
}
