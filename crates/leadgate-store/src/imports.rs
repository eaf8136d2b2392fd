//! CSV imports as the store sees them: a record per file with its progress, rows stored in
//! batches that each commit with the progress mark (so a killed import resumes without
//! duplicates), outcomes as events, and the refused rows kept for the rejects report.

use crate::capture_batch::capture_all;
use crate::leads::Capture;
use crate::merges::DedupeSummary;
use crate::privacy::NewConsent;
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::analytics::Happening;
use leadgate_core::id::{LeadId, PersonId};
use leadgate_core::import::{ImportRow, ImportStatus, RowError};
use leadgate_core::lead::LeadField;
use leadgate_core::lifecycle;
use leadgate_core::{EventDraft, EventType, Lead, Stage};
use serde::Serialize;
use serde_json::{json, Value};

/// One import of one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub file_name: String,
    pub file_sha256: String,
    #[serde(skip)]
    pub mapping: String,
    pub actor: String,
    pub status: ImportStatus,
    /// Data rows handled so far (stored or refused); a resumed import skips these.
    pub rows_done: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    /// Won or lost outcomes recorded.
    pub outcomes: i64,
    /// People this import brought who were merged into people already known (fuzzy
    /// matches; a known email or id updates its lead instead and counts as updated).
    pub merged: i64,
    /// Likely duplicates suggested for a person to decide.
    pub suggested: i64,
    /// Groups of people too large to compare (a name hundreds share at one company, a
    /// switchboard phone): left to `leadgate dedupe` and to people.
    pub match_blocks_skipped: i64,
    /// People with so many likely duplicates that the rest of their pairs were not compared.
    pub match_people_capped: i64,
    /// The run importing it (`host:pid:nonce`, as the caller names itself).
    pub runner: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct ImportRecordRow {
    id: i64,
    file_name: String,
    file_sha256: String,
    mapping: String,
    actor: String,
    #[sqlx(try_from = "String")]
    status: ImportStatus,
    rows_done: i64,
    inserted: i64,
    updated: i64,
    unchanged: i64,
    rejected: i64,
    outcomes: i64,
    merged: i64,
    suggested: i64,
    match_blocks_skipped: i64,
    match_people_capped: i64,
    heartbeat_at: Option<i64>,
    runner: Option<String>,
    started_at: Ts,
    finished_at: Option<Ts>,
}

impl From<ImportRecordRow> for ImportRecord {
    fn from(r: ImportRecordRow) -> Self {
        Self {
            id: r.id,
            file_name: r.file_name,
            file_sha256: r.file_sha256,
            mapping: r.mapping,
            actor: r.actor,
            status: match r.heartbeat_at {
                Some(beat) => r.status.seen_after(Utc::now().timestamp() - beat),
                None => r.status,
            },
            rows_done: r.rows_done,
            inserted: r.inserted,
            updated: r.updated,
            unchanged: r.unchanged,
            rejected: r.rejected,
            outcomes: r.outcomes,
            merged: r.merged,
            suggested: r.suggested,
            match_blocks_skipped: r.match_blocks_skipped,
            match_people_capped: r.match_people_capped,
            runner: r.runner,
            started_at: r.started_at.0,
            finished_at: r.finished_at.map(|t| t.0),
        }
    }
}

/// What `start_import` found.
#[derive(Debug, Clone)]
pub enum ImportStart {
    New(ImportRecord),
    /// An earlier run of this file with this mapping stopped part-way; go on from `rows_done`.
    Resume(ImportRecord),
    /// This file was imported with this mapping before.
    AlreadyDone(ImportRecord),
    /// Another run is importing this file with this mapping right now (its heartbeat is
    /// fresh): wait for it, or take it over with `take_over_import` if its process is known
    /// to be gone.
    Busy(ImportRecord),
}

/// One data row of the file, read or refused. `row` is its spreadsheet row number (the
/// header is row 1).
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub row: i64,
    pub read: std::result::Result<ImportRow, Vec<RowError>>,
}

/// A refused row's cell, as the rejects report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Reject {
    pub row_number: i64,
    #[sqlx(rename = "col")]
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    inserted: i64,
    updated: i64,
    unchanged: i64,
    rejected: i64,
    outcomes: i64,
}

const SELECT_IMPORT: &str =
    "SELECT id, file_name, file_sha256, mapping, actor, status, rows_done, inserted, updated,
    unchanged, rejected, outcomes, merged, suggested, match_blocks_skipped, match_people_capped,
    heartbeat_at, runner, started_at, finished_at FROM imports";

impl Store {
    /// The latest import of a file (by its content hash) with a mapping, whatever became of
    /// it.
    pub async fn last_import_of(
        &self,
        file_sha256: &str,
        mapping: &str,
    ) -> Result<Option<ImportRecord>> {
        let sql = format!(
            "{SELECT_IMPORT} WHERE file_sha256 = $1 AND mapping = $2 ORDER BY id DESC LIMIT 1"
        );
        let last: Option<ImportRecordRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(file_sha256)
            .bind(mapping)
            .fetch_optional(pool)
            .await)?;
        Ok(last.map(ImportRecord::from))
    }

    /// Begins (or picks up) the import of a file, known by its content hash and mapping.
    /// `again` starts a new import of a file imported before.
    /// Starts importing a file with a mapping as `runner`, or finds why not: it was done
    /// before (unless `again`), another run has it, or an interrupted run is resumed (taken
    /// over by this runner, so two runs cannot both resume it).
    pub async fn start_import(
        &self,
        file_name: &str,
        file_sha256: &str,
        mapping: &str,
        actor: &str,
        again: bool,
        runner: &str,
    ) -> Result<ImportStart> {
        match self.last_import_of(file_sha256, mapping).await? {
            Some(last) if last.status == ImportStatus::Running => {
                return Ok(ImportStart::Busy(last))
            }
            Some(last) if last.status == ImportStatus::Interrupted => {
                return Ok(match self.take_over_import(&last, runner).await? {
                    Some(record) => ImportStart::Resume(record),
                    None => ImportStart::Busy(self.import(last.id).await?),
                });
            }
            Some(last) if !again => return Ok(ImportStart::AlreadyDone(last)),
            _ => {}
        }
        let id: i64 = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO imports (file_name, file_sha256, mapping, actor, status, started_at, people_before, heartbeat_at, runner)
             VALUES ($1, $2, $3, $4, 'running', $5, (SELECT COALESCE(MAX(id), 0) FROM people), $6, $7) RETURNING id",
        )
        .bind(file_name)
        .bind(file_sha256)
        .bind(mapping)
        .bind(actor)
        .bind(Ts(to_micros(Utc::now())))
        .bind(Utc::now().timestamp())
        .bind(runner)
        .fetch_one(pool)
        .await)?;
        Ok(ImportStart::New(self.import(id).await?))
    }

    /// Makes `runner` the run of an unfinished import, if no one else claimed it since it
    /// was read as `seen`; the import as claimed, or `None` when another run got there first.
    pub async fn take_over_import(
        &self,
        seen: &ImportRecord,
        runner: &str,
    ) -> Result<Option<ImportRecord>> {
        let claimed = on_pool!(self, pool => sqlx::query(
            "UPDATE imports SET runner = $1, heartbeat_at = $2
             WHERE id = $3 AND status = 'running' AND COALESCE(runner, '') = $4",
        )
        .bind(runner)
        .bind(Utc::now().timestamp())
        .bind(seen.id)
        .bind(seen.runner.clone().unwrap_or_default())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(if claimed == 1 {
            Some(self.import(seen.id).await?)
        } else {
            None
        })
    }

    pub async fn import(&self, id: i64) -> Result<ImportRecord> {
        let sql = format!("{SELECT_IMPORT} WHERE id = $1");
        let row: Option<ImportRecordRow> =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        row.map(ImportRecord::from)
            .ok_or_else(|| StoreError::NotFound(format!("import {id} not found")))
    }

    /// The newest imports first.
    pub async fn imports(&self, limit: i64) -> Result<Vec<ImportRecord>> {
        let sql = format!("{SELECT_IMPORT} ORDER BY id DESC LIMIT $1");
        let rows: Vec<ImportRecordRow> =
            on_read_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(ImportRecord::from).collect())
    }

    pub async fn import_rejects(&self, id: i64) -> Result<Vec<Reject>> {
        Ok(on_read_pool!(self, pool => sqlx::query_as(
            "SELECT row_number, col, reason FROM import_rejects WHERE import_id = $1 ORDER BY row_number, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await)?)
    }

    /// Stores a batch of consecutive rows and moves the import's progress past them, in one
    /// transaction. A row the store itself refuses (say, an email another lead has) does not
    /// sink the batch: the batch is then stored row by row and that row is reported.
    /// Returns the import as it stands, and the leads already stored that the rows say were
    /// won or lost, for the caller to close.
    pub async fn import_batch(
        &self,
        import_id: i64,
        rows: &[BatchRow],
    ) -> Result<(ImportRecord, Vec<Closing>)> {
        let Some(last) = rows.last() else {
            return Ok((self.import(import_id).await?, Vec::new()));
        };
        let mut settle = Vec::new();
        let mut tx = self.begin().await?;
        match store_rows(&mut tx, import_id, rows).await {
            Ok((counts, closing)) => {
                tx.advance_import(import_id, last.row - 1, counts).await?;
                tx.commit().await?;
                settle = closing;
            }
            Err(StoreError::Invalid(_) | StoreError::Conflict { .. }) => {
                drop(tx);
                for row in rows {
                    let mut tx = self.begin().await?;
                    let counts =
                        match store_rows(&mut tx, import_id, std::slice::from_ref(row)).await {
                            Ok((counts, closing)) => {
                                settle.extend(closing);
                                counts
                            }
                            Err(StoreError::Invalid(errors)) => {
                                drop(tx);
                                tx = self.begin().await?;
                                let errors: Vec<RowError> = errors
                                    .0
                                    .into_iter()
                                    .map(|e| RowError::new(e.field, e.reason))
                                    .collect();
                                tx.reject(import_id, row.row, &errors).await?
                            }
                            Err(StoreError::Conflict { field, reason }) => {
                                drop(tx);
                                tx = self.begin().await?;
                                tx.reject(import_id, row.row, &[RowError::new(field, reason)])
                                    .await?
                            }
                            Err(other) => return Err(other),
                        };
                    tx.advance_import(import_id, row.row - 1, counts).await?;
                    tx.commit().await?;
                }
            }
            Err(other) => return Err(other),
        }
        Ok((self.import(import_id).await?, settle))
    }

    /// Says a running import is alive (a run that stops saying so is taken over).
    pub async fn import_heartbeat(&self, import_id: i64) -> Result<()> {
        on_pool!(self, pool => sqlx::query("UPDATE imports SET heartbeat_at = $1 WHERE id = $2")
            .bind(Utc::now().timestamp())
            .bind(import_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The last person made before the import started: those after it are the import's.
    pub async fn import_people_before(&self, import_id: i64) -> Result<PersonId> {
        Ok(on_pool!(self, pool => sqlx::query_scalar(
            "SELECT people_before FROM imports WHERE id = $1",
        )
        .bind(import_id)
        .fetch_one(pool)
        .await)?)
    }

    /// Records what matching the import's people did, and marks it finished.
    pub async fn finish_import(
        &self,
        import_id: i64,
        matched: &DedupeSummary,
    ) -> Result<ImportRecord> {
        on_pool!(self, pool => sqlx::query(
            "UPDATE imports SET merged = merged + $1, suggested = suggested + $2,
             match_blocks_skipped = $3, match_people_capped = $4 WHERE id = $5",
        )
        .bind(matched.merged as i64)
        .bind(matched.suggested as i64)
        .bind(matched.blocks_skipped as i64)
        .bind(matched.people_capped as i64)
        .bind(import_id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        on_pool!(self, pool => sqlx::query("UPDATE imports SET status = 'finished', finished_at = $1 WHERE id = $2")
            .bind(Ts(to_micros(Utc::now())))
            .bind(import_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        self.import(import_id).await
    }
}

/// A lead already stored, still open, that a row says was won or lost.
#[derive(Debug, Clone)]
pub struct Closing {
    pub lead_id: LeadId,
    pub won: bool,
    pub reason: String,
}

async fn store_rows(
    tx: &mut Tx,
    import_id: i64,
    rows: &[BatchRow],
) -> Result<(Counts, Vec<Closing>)> {
    let mut counts = Counts::default();
    let mut closing = Vec::new();
    let mut touched = Vec::new();
    // Leads whose only news is an outcome: counted as updated if the outcome is new.
    let mut outcome_only = Vec::new();
    let mut events: Vec<(LeadId, EventDraft)> = Vec::new();
    let actor = format!("import:{import_id}");
    let now = to_micros(Utc::now());
    let captures: Vec<Capture> = rows
        .iter()
        .filter_map(|row| {
            let read = row.read.as_ref().ok()?;
            Some(Capture {
                patch: read.patch.clone(),
                source: Some(read.source.clone()),
                raw: json!({"import": import_id, "row": row.row, "cells": read.raw}),
                at: read.created_at.map(to_micros).unwrap_or(now),
                actor: actor.clone(),
                bot: false,
                by: Default::default(),
            })
        })
        .collect();
    // Runs of new leads are written a table at a time, a row that updates a lead on its own,
    // in file order.
    // New leads are stored with the journey their outcome gives them (not updated after).
    let outcomes: Vec<Option<Happening>> = rows
        .iter()
        .filter_map(|row| row.read.as_ref().ok())
        .map(|read| {
            read.outcome.clone().map(|o| Happening::Outcome {
                won: o.won,
                value: o.value,
                reason: o.reason,
            })
        })
        .collect();
    // Each new lead's picture was made on the reader thread.
    let fresh: Vec<&Lead> = rows
        .iter()
        .filter_map(|row| row.read.as_ref().ok())
        .map(|read| &read.lead)
        .collect();
    let mut captured = capture_all(tx, &captures, &fresh, &outcomes, &mut events)
        .await?
        .into_iter();
    for row in rows {
        let read = match &row.read {
            Ok(read) => read,
            Err(errors) => {
                let c = tx.reject(import_id, row.row, errors).await?;
                counts.rejected += c.rejected;
                continue;
            }
        };
        let at = read.created_at.map(to_micros).unwrap_or(now);
        let Some(captured) = captured.next() else {
            break;
        };
        let lead_id = captured.lead.id;
        let mut consented = false;
        for (purpose, given) in &read.consents {
            let consent = NewConsent {
                purpose: purpose.clone(),
                granted: *given,
                wording: None,
                source: actor.clone(),
                ip: None,
            };
            // Only what changes the consent in force: a second run records nothing.
            consented |= tx
                .record_consent(captured.lead.person_id, &consent, &actor, true)
                .await?;
        }
        let changed = captured.created || !captured.changes.is_empty() || consented;
        if captured.created {
            counts.inserted += 1;
        } else if changed {
            counts.updated += 1;
        } else if read.outcome.is_some() {
            outcome_only.push(lead_id);
        } else {
            counts.unchanged += 1;
        }
        if changed {
            touched.push(lead_id);
        }
        if let Some(outcome) = &read.outcome {
            let name = if outcome.won { "won" } else { "lost" };
            let closed = outcome.at.map(to_micros).unwrap_or(at);
            let reason = outcome
                .reason
                .clone()
                .unwrap_or_else(|| format!("{name} (import {import_id}, row {})", row.row));
            // A file's own stage column wins over the stage its outcome implies.
            if !read.patch.touches(LeadField::Stage) {
                let stage = captured.lead.lead.stage;
                if captured.created && matches!(stage, Stage::Customer | Stage::Disqualified) {
                    // Stored closed already: its close goes into its history as it happened,
                    // so its time as a lead and the month it closed are the file's.
                    let payload = json!({
                        "from": Stage::Lead,
                        "to": stage,
                        "reason": reason,
                        "import": import_id,
                    });
                    let mut draft = EventDraft::new(EventType::StageChanged, closed, payload)
                        .with_actor(&actor);
                    draft.idempotency_key = Some(format!("{CLOSE_KEY}{lead_id}"));
                    events.push((lead_id, draft));
                } else if !captured.created && lifecycle::is_open(stage) {
                    closing.push(Closing {
                        lead_id,
                        won: outcome.won,
                        reason,
                    });
                }
            }
            let mut payload = json!({"outcome": name, "import": import_id, "row": row.row});
            if let Some(value) = outcome.value {
                payload["value"] = Value::from(value);
            }
            if let Some(reason) = &outcome.reason {
                payload["reason"] = Value::from(reason.as_str());
            }
            // One outcome of each kind per lead however often the file is imported.
            // Dated as the file says it happened, so analytics and the model see the past
            // as it was.
            let mut draft =
                EventDraft::new(EventType::OutcomeRecorded, closed, payload).with_actor(&actor);
            draft.idempotency_key = Some(format!("{OUTCOME_KEY}{lead_id}:{name}"));
            events.push((lead_id, draft));
        }
    }
    // A file may carry one lead twice: its outcome is stored once.
    let mut keys = std::collections::HashSet::new();
    events.retain(|(_, e)| {
        e.idempotency_key
            .as_ref()
            .is_none_or(|k| keys.insert(k.clone()))
    });
    let mut new_outcomes = std::collections::HashSet::new();
    for chunk in events.chunks(1000) {
        for (_, key) in tx.insert_drafts(chunk, Ts(now)).await? {
            if let Some(lead_id) = key
                .as_deref()
                .and_then(|k| k.strip_prefix(OUTCOME_KEY))
                .and_then(|k| k.split(':').next())
                .and_then(|id| id.parse::<i64>().ok().map(LeadId))
            {
                counts.outcomes += 1;
                new_outcomes.insert(lead_id);
            }
        }
    }
    for lead_id in outcome_only {
        if new_outcomes.contains(&lead_id) {
            counts.updated += 1;
            touched.push(lead_id);
        } else {
            counts.unchanged += 1;
        }
    }
    touched.sort_unstable();
    touched.dedup();
    tx.set_rescore_due(&touched, true).await?;
    Ok((counts, closing))
}

/// The idempotency key prefix of imported outcomes.
const OUTCOME_KEY: &str = "import-outcome:";
/// The idempotency key prefix of the move an imported outcome implies for a new lead.
const CLOSE_KEY: &str = "import-close:";

impl Tx {
    async fn reject(&mut self, import_id: i64, row: i64, errors: &[RowError]) -> Result<Counts> {
        for error in errors {
            on_tx!(self, conn => sqlx::query(
                "INSERT INTO import_rejects (import_id, row_number, col, reason) VALUES ($1, $2, $3, $4)",
            )
            .bind(import_id)
            .bind(row)
            .bind(&error.column)
            .bind(&error.reason)
            .execute(conn)
            .await
            .map(|_| ()))?;
        }
        Ok(Counts {
            rejected: 1,
            ..Counts::default()
        })
    }

    async fn advance_import(&mut self, import_id: i64, rows_done: i64, c: Counts) -> Result<()> {
        on_tx!(self, conn => sqlx::query(
            "UPDATE imports SET rows_done = $1, inserted = inserted + $2, updated = updated + $3,
             unchanged = unchanged + $4, rejected = rejected + $5, outcomes = outcomes + $6,
             heartbeat_at = $8 WHERE id = $7",
        )
        .bind(rows_done)
        .bind(c.inserted)
        .bind(c.updated)
        .bind(c.unchanged)
        .bind(c.rejected)
        .bind(c.outcomes)
        .bind(import_id)
        .bind(Utc::now().timestamp())
        .execute(conn)
        .await
        .map(|_| ()))?;
        Ok(())
    }
}
