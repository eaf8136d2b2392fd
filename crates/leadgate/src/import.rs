//! The CSV import pipeline shared by `leadgate import` and `POST /api/v1/imports`: look at the
//! file (encoding, delimiter, header), bind or guess the mapping, then stream the rows to the
//! store in batches that each commit with the import's progress.

use leadgate_core::export::safe_cell;
use leadgate_core::import::{
    guess, suspects, BoundMapping, ImportRow, Mapping, RowError, Suspect, INTERRUPTED_AFTER_SECS,
};
use leadgate_core::FieldErrors;
use leadgate_store::{BatchRow, ImportRecord, ImportStart, Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

/// Rows per transaction: large enough to amortise the commit, small enough that a crash
/// loses little work and a resumed import redoes little.
pub const BATCH_ROWS: usize = 2000;
/// Rows sampled to guess the types of unmapped columns.
const GUESS_SAMPLE_ROWS: usize = 2000;
/// Rows read to look for columns filled in after the outcome.
const SUSPECT_SAMPLE_ROWS: usize = 20_000;
/// Bytes looked at to detect the encoding and the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// Why a file cannot be imported at all (a bad row never stops an import: it is a reject).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the file is empty")]
    Empty,
    #[error("the file has a header but no rows")]
    NoRows,
    #[error("the file is UTF-16; save it as UTF-8 (CSV UTF-8 in Excel) and import that")]
    Utf16,
    #[error("the file is not UTF-8 text (line {line} has the byte 0x{byte:02X}); save it as UTF-8 and import that")]
    NotUtf8 { line: u64, byte: u8 },
    #[error("the header is not readable as CSV: {0}")]
    Header(String),
    #[error("the mapping is not valid TOML: {0}")]
    MappingSyntax(String),
    #[error("the mapping does not fit the file:\n{}", .0.0.iter().map(|e| format!("  {}: {}", e.field, e.reason)).collect::<Vec<_>>().join("\n"))]
    Mapping(FieldErrors),
    #[error("this file was imported with this mapping before (import {}, {} rows, finished {}); pass --again to import it once more", .0.id, .0.rows_done, .0.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default())]
    AlreadyDone(Box<ImportRecord>),
    #[error("this file is being imported with this mapping right now (import {}, {} rows done, by {}); wait for it to finish. If its process is gone, run again once `leadgate import --status` reads it interrupted ({} s without news)", .0.id, .0.rows_done, .0.runner.as_deref().unwrap_or("another run"), INTERRUPTED_AFTER_SECS)]
    Busy(Box<ImportRecord>),
    #[error("reading the file stopped before its end ({0}); run the import again to finish it")]
    Reader(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Closing the leads a batch says were won or lost failed.
    #[error(transparent)]
    Settle(#[from] leadgate_app::AppError),
}

/// What an import did, for the summary line and the API.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// The stored import (`None` for a dry run).
    pub import: Option<ImportRecord>,
    /// Data rows in the file.
    pub rows: i64,
    /// Rows a dry run found valid.
    pub valid: i64,
    pub rejected: i64,
    /// The import picked up where an earlier, interrupted run stopped.
    pub resumed: bool,
    /// The mapping used, as TOML (the guessed one when none was given).
    pub mapping: String,
    pub guessed: bool,
    /// Columns of the file the mapping does not use.
    pub ignored_columns: Vec<String>,
    /// Columns that look filled in after the outcome; a guessed mapping marks them
    /// `after_outcome` itself.
    pub suspects: Vec<Suspect>,
    pub delimiter: char,
    /// A dry run's finding that this file was imported with this mapping before, finished
    /// (the real run refuses it unless `again`).
    pub imported_before: Option<ImportRecord>,
}

/// How to run an import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The mapping document; guessed from the header when `None`.
    pub mapping: Option<String>,
    pub dry_run: bool,
    /// Import a file again although it was imported with this mapping before.
    pub again: bool,
    pub actor: String,
    /// The name to record (the uploaded file's name, or the path).
    pub file_name: String,
}

/// A CSV file looked at before it is read: its delimiter, header and fingerprint.
pub struct CsvFile {
    pub delimiter: u8,
    pub header: Vec<String>,
    pub sha256: String,
    pub bytes: u64,
}

impl CsvFile {
    /// Reads the file once to fingerprint it, and its start to find the encoding, the
    /// delimiter (unless given) and the header.
    pub fn inspect(path: &Path, delimiter: Option<u8>) -> Result<Self, ImportError> {
        let io = |source| ImportError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut file = BufReader::new(File::open(path).map_err(io)?);
        let mut hasher = Sha256::new();
        let mut start = Vec::with_capacity(SNIFF_BYTES);
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            if start.len() < SNIFF_BYTES {
                let take = n.min(SNIFF_BYTES - start.len());
                start.extend_from_slice(&buf[..take]);
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        let sha256 = format!("{:x}", hasher.finalize());
        if start.starts_with(&[0xFF, 0xFE]) || start.starts_with(&[0xFE, 0xFF]) {
            return Err(ImportError::Utf16);
        }
        let text = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&start);
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ImportError::Empty);
        }
        // The sample may end inside a character: only what comes before that must be valid.
        if let Err(e) = std::str::from_utf8(text) {
            if e.error_len().is_some() {
                let at = e.valid_up_to();
                let line = 1 + text[..at].iter().filter(|b| **b == b'\n').count() as u64;
                return Err(ImportError::NotUtf8 {
                    line,
                    byte: text[at],
                });
            }
        }
        let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(text));
        let mut reader = csv_reader(text, delimiter);
        let mut record = csv::ByteRecord::new();
        let header = match reader.read_byte_record(&mut record) {
            Ok(true) => record
                .iter()
                .map(|cell| String::from_utf8_lossy(cell).trim().to_owned())
                .collect(),
            Ok(false) => return Err(ImportError::Empty),
            Err(e) => return Err(ImportError::Header(e.to_string())),
        };
        Ok(CsvFile {
            delimiter,
            header,
            sha256,
            bytes,
        })
    }

    /// The data rows, streamed.
    pub fn rows(&self, path: &Path) -> Result<impl Iterator<Item = CsvRow>, ImportError> {
        let file = File::open(path).map_err(|source| ImportError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut reader = csv_reader(BufReader::with_capacity(256 * 1024, file), self.delimiter);
        let width = self.header.len();
        let mut record = csv::ByteRecord::new();
        let mut row = 1i64;
        let mut header_skipped = false;
        Ok(std::iter::from_fn(move || loop {
            let read = reader.read_byte_record(&mut record);
            let offset = reader.position().byte();
            match read {
                Ok(false) => return None,
                Err(e) => {
                    if !header_skipped {
                        return None;
                    }
                    row += 1;
                    return Some(CsvRow {
                        row,
                        offset,
                        cells: Err(RowError::new("", format!("is not valid CSV: {e}"))),
                    });
                }
                Ok(true) if !header_skipped => {
                    header_skipped = true;
                    continue;
                }
                Ok(true) => {
                    row += 1;
                    if record.len() == 1 && record[0].trim_ascii().is_empty() && width > 1 {
                        continue; // A blank line.
                    }
                    return Some(CsvRow {
                        row,
                        offset,
                        cells: cells(&record, width),
                    });
                }
            }
        }))
    }
}

/// Rows read and checked, a batch at a time, with how far into the file they reach.
struct ReadBatch {
    rows: Vec<BatchRow>,
    /// Data rows read so far (the skipped ones of a resumed import included).
    seen: i64,
    /// Bytes of the file read so far.
    offset: u64,
}

/// Reads and checks rows on a blocking thread, a batch ahead of the store (the last batch
/// may be short or empty); the first `skip` rows (stored by an earlier run) are passed over.
/// The handle tells whether the reader ended (or died) once the batches stop coming.
fn read_batches(
    rows: impl Iterator<Item = CsvRow> + Send + 'static,
    bound: BoundMapping,
    skip: i64,
) -> (
    tokio::sync::mpsc::Receiver<ReadBatch>,
    tokio::task::JoinHandle<()>,
) {
    let (sender, receiver) = tokio::sync::mpsc::channel(2);
    let reader = tokio::task::spawn_blocking(move || {
        // The file is parsed in order on this thread; each batch's rows are then checked
        // and normalised on every core (the checks are most of a dry run's time). Parsing
        // the next batch meanwhile on a thread of its own was measured: no faster on two
        // cores.
        let check = |raw: Vec<CsvRow>| -> Vec<BatchRow> {
            use rayon::prelude::*;
            raw.into_par_iter()
                .map(|CsvRow { row, cells, .. }| BatchRow {
                    row,
                    read: cells.map_err(|e| vec![e]).and_then(|cells| {
                        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
                        bound.read_row(&refs)
                    }),
                })
                .collect()
        };
        let (mut raw, mut seen, mut offset) = (Vec::with_capacity(BATCH_ROWS), 0, 0);
        for csv_row in rows {
            seen += 1;
            offset = csv_row.offset;
            if seen <= skip {
                continue;
            }
            raw.push(csv_row);
            if raw.len() == BATCH_ROWS {
                let batch = ReadBatch {
                    rows: check(std::mem::replace(&mut raw, Vec::with_capacity(BATCH_ROWS))),
                    seen,
                    offset,
                };
                // The import stopped taking batches (it failed): stop reading.
                if sender.blocking_send(batch).is_err() {
                    return;
                }
            }
        }
        let _ = sender.blocking_send(ReadBatch {
            rows: check(raw),
            seen,
            offset,
        });
    });
    (receiver, reader)
}

/// One data row of a file.
pub struct CsvRow {
    /// Its spreadsheet row number (the header is row 1).
    pub row: i64,
    /// Bytes of the file read up to the end of this row.
    pub offset: u64,
    /// The cells, or why the row cannot be read.
    pub cells: Result<Vec<String>, RowError>,
}

pub(crate) fn csv_reader<R: Read>(input: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input)
}

/// The cells of a record as text, or why the row is refused.
fn cells(record: &csv::ByteRecord, width: usize) -> Result<Vec<String>, RowError> {
    if record.len() != width {
        let hint = if record.iter().any(|c| c.contains(&b'\n')) {
            " (a quote left open runs on into the lines after it)"
        } else {
            ""
        };
        return Err(RowError::new(
            "",
            format!("has {} cells; the header has {width}{hint}", record.len()),
        ));
    }
    let mut out = Vec::with_capacity(width);
    for cell in record.iter() {
        let cell = cell.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(cell);
        match std::str::from_utf8(cell) {
            Ok(text) => out.push(text.to_owned()),
            Err(_) => {
                return Err(RowError::new(
                    "",
                    "is not UTF-8 text; save the file as UTF-8",
                ))
            }
        }
    }
    Ok(out)
}

/// The candidate separator that splits the sample's lines most consistently.
pub(crate) fn sniff_delimiter(sample: &[u8]) -> u8 {
    let lines: Vec<&[u8]> = sample.split(|b| *b == b'\n').take(20).collect();
    // The last line of a sample may be cut short.
    let lines = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let count = |line: &[u8], d: u8| -> usize {
        let mut quoted = false;
        line.iter()
            .filter(|b| {
                if **b == b'"' {
                    quoted = !quoted;
                }
                !quoted && **b == d
            })
            .count()
    };
    [b',', b';', b'\t', b'|']
        .into_iter()
        .map(|d| {
            let counts: Vec<usize> = lines.iter().map(|l| count(l, d)).collect();
            let first = counts.first().copied().unwrap_or(0);
            let consistent = counts.iter().filter(|c| **c == first).count();
            (d, first > 0, consistent, first)
        })
        .filter(|(_, present, _, _)| *present)
        .max_by_key(|(_, _, consistent, first)| (*consistent, *first))
        .map_or(b',', |(d, ..)| d)
}

/// The mapping to import with: the one given, or one guessed from the header and a sample.
pub fn resolve_mapping(
    path: &Path,
    file: &CsvFile,
    given: Option<&str>,
) -> Result<(Mapping, BoundMapping, bool), ImportError> {
    let given = given
        .map(Mapping::parse)
        .transpose()
        .map_err(ImportError::MappingSyntax)?;
    let bound = bind_mapping(path, file, given)?;
    Ok((bound.mapping, bound.bound, bound.guessed))
}

/// A mapping bound to a file, with the columns that look filled in after the outcome.
struct Bound {
    mapping: Mapping,
    bound: BoundMapping,
    guessed: bool,
    suspects: Vec<Suspect>,
}

/// Binds a parsed mapping, or one guessed from the header and a sample of rows, and looks
/// for columns filled in after the outcome on a sample read through it. A guessed mapping
/// marks them `after_outcome` itself; a given one is kept as written, and the report names
/// them.
fn bind_mapping(path: &Path, file: &CsvFile, given: Option<Mapping>) -> Result<Bound, ImportError> {
    let sample = |rows: usize| -> Result<Vec<Vec<String>>, ImportError> {
        Ok(file
            .rows(path)?
            .take(rows)
            .filter_map(|r| r.cells.ok())
            .collect())
    };
    let (mut mapping, guessed) = match given {
        Some(mapping) => (mapping, false),
        None => (guess(&file.header, &sample(GUESS_SAMPLE_ROWS)?), true),
    };
    let mut bound = mapping.bind(&file.header).map_err(ImportError::Mapping)?;
    let read: Vec<ImportRow> = sample(SUSPECT_SAMPLE_ROWS)?
        .iter()
        .filter_map(|cells| {
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            bound.read_row(&refs).ok()
        })
        .collect();
    let suspects = suspects(&bound, &read);
    if guessed && !suspects.is_empty() {
        for spec in &mut mapping.columns {
            spec.after_outcome |= suspects.iter().any(|s| s.column == spec.name);
        }
        bound = mapping.bind(&file.header).map_err(ImportError::Mapping)?;
    }
    Ok(Bound {
        mapping,
        bound,
        guessed,
        suspects,
    })
}

/// This run's name as an import's runner: `host:pid:nonce` (the nonce tells apart two runs
/// in one server process).
pub fn this_run() -> String {
    format!(
        "{}:{}:{:016x}",
        this_host(),
        std::process::id(),
        rand::random::<u64>()
    )
}

fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}

/// Whether a runner is a process of this machine that no longer exists (known only where
/// `/proc` lists processes; elsewhere a run is presumed alive until its heartbeat stops).
pub fn process_is_gone(runner: &str) -> bool {
    let mut parts = runner.rsplitn(3, ':');
    let (_nonce, Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    let proc = Path::new("/proc");
    host == this_host()
        && pid != std::process::id()
        && proc.join("self").exists()
        && !proc.join(pid.to_string()).exists()
}

/// The file looked at and its mapping bound (the given one, or guessed from the header).
fn open(path: &Path, options: &ImportOptions) -> Result<(CsvFile, Bound), ImportError> {
    // Parsed once: the delimiter it may set is needed before the file can be read.
    let given = options
        .mapping
        .as_deref()
        .map(Mapping::parse)
        .transpose()
        .map_err(ImportError::MappingSyntax)?;
    let given_delimiter = match &given {
        Some(mapping) => mapping
            .delimiter_byte()
            .map_err(|e| ImportError::Mapping(e.into()))?,
        None => None,
    };
    let file = CsvFile::inspect(path, given_delimiter)?;
    let bound = bind_mapping(path, &file, given)?;
    Ok((file, bound))
}

/// The finished import of this file with this mapping, if there was one: what a run
/// without `again` refuses, asked before a run starts in the background.
pub async fn imported_before(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
) -> Result<Option<ImportRecord>, ImportError> {
    let (file, bound) = open(path, options)?;
    finished_import(store, &file, &bound.mapping.to_toml()).await
}

async fn finished_import(
    store: &Store,
    file: &CsvFile,
    mapping: &str,
) -> Result<Option<ImportRecord>, ImportError> {
    Ok(store
        .last_import_of(&file.sha256, mapping)
        .await?
        .filter(|i| i.status == leadgate_core::import::ImportStatus::Finished))
}

/// Imports (or, dry, checks) a file. `progress` hears (rows done, bytes read) now and then;
/// `rejects` (when given) receives the rejects report as CSV: row, column, reason.
pub async fn run(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
    mut progress: impl FnMut(i64, u64),
    rejects: Option<&mut (dyn Write + Send)>,
) -> Result<ImportReport, ImportError> {
    let (
        file,
        Bound {
            mapping,
            bound,
            guessed,
            suspects,
        },
    ) = open(path, options)?;
    let mapping_text = mapping.to_toml();
    let mut report = ImportReport {
        import: None,
        rows: 0,
        valid: 0,
        rejected: 0,
        resumed: false,
        mapping: mapping_text.clone(),
        guessed,
        ignored_columns: bound.ignored.clone(),
        suspects,
        delimiter: file.delimiter as char,
        imported_before: if options.dry_run {
            finished_import(store, &file, &mapping_text).await?
        } else {
            None
        },
    };
    let mut rejects = rejects.map(csv::Writer::from_writer);
    if let Some(w) = rejects.as_mut() {
        let _ = w.write_record(["row", "column", "reason"]);
    }
    let mut write_reject = |row: i64, error: &RowError| {
        if let Some(w) = rejects.as_mut() {
            let _ = w.write_record([
                row.to_string().as_str(),
                &safe_cell(&error.column),
                &safe_cell(&error.reason),
            ]);
        }
    };

    if file.rows(path)?.next().is_none() {
        return Err(ImportError::NoRows);
    }
    let (import, skip) = if options.dry_run {
        (None, 0)
    } else {
        let me = this_run();
        let started = match store
            .start_import(
                &options.file_name,
                &file.sha256,
                &mapping_text,
                &options.actor,
                options.again,
                &me,
            )
            .await?
        {
            // A run of this machine whose process has died is taken over at once, rather
            // than after its heartbeat goes stale.
            ImportStart::Busy(other) if other.runner.as_deref().is_some_and(process_is_gone) => {
                match store.take_over_import(&other, &me).await? {
                    Some(record) => ImportStart::Resume(record),
                    None => ImportStart::Busy(store.import(other.id).await?),
                }
            }
            started => started,
        };
        match started {
            ImportStart::New(record) => {
                // The model must never learn from what sales filled in after the outcome.
                store
                    .declare_after_outcome(&bound.after_outcome, &format!("import {}", record.id))
                    .await?;
                (Some(record), 0)
            }
            ImportStart::Resume(record) => {
                report.resumed = true;
                let skip = record.rows_done;
                (Some(record), skip)
            }
            ImportStart::AlreadyDone(record) => {
                return Err(ImportError::AlreadyDone(Box::new(record)))
            }
            ImportStart::Busy(record) => return Err(ImportError::Busy(Box::new(record))),
        }
    };

    // Rows are read and checked on their own thread while the store writes the batch before.
    let (mut batches, reader) = read_batches(file.rows(path)?, bound, skip);
    let mut seen = skip;
    let mut last_offset = 0u64;
    while let Some(batch) = batches.recv().await {
        seen = batch.seen;
        last_offset = batch.offset;
        if options.dry_run {
            for row in &batch.rows {
                match &row.read {
                    Ok(_) => report.valid += 1,
                    Err(errors) => {
                        report.rejected += 1;
                        for e in errors {
                            write_reject(row.row, e);
                        }
                    }
                }
            }
        } else if let Some(import) = &import {
            leadgate_app::import::store_batch(store, import.id, &batch.rows).await?;
        }
        if batch.rows.len() == BATCH_ROWS {
            progress(seen, last_offset);
        }
    }
    // A reader that died must not pass for the end of the file (the import stays unfinished).
    reader
        .await
        .map_err(|e| ImportError::Reader(e.to_string()))?;
    report.rows = seen;
    if let Some(import) = &import {
        progress(seen, last_offset);
        let finished = leadgate_app::import::finish(store, import.id).await?;
        report.rejected = finished.rejected;
        report.valid = finished.rows_done - finished.rejected;
        for reject in store.import_rejects(import.id).await? {
            write_reject(
                reject.row_number,
                &RowError::new(reject.column, reject.reason),
            );
        }
        report.import = Some(finished);
    }
    if let Some(mut w) = rejects {
        let _ = w.flush();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_gone_only_when_its_process_of_this_machine_is() {
        let mut done = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        done.wait().expect("true ends");
        let host = this_host();
        assert!(process_is_gone(&format!("{host}:{}:a", done.id())));
        assert!(!process_is_gone(&this_run()), "this process is alive");
        assert!(!process_is_gone(&format!("elsewhere:{}:a", done.id())));
        assert!(!process_is_gone("test"));
        assert!(!process_is_gone(&format!("{host}:not-a-pid:a")));
    }
}
