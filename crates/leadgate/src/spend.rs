//! Cost files read into spend lines by month: an ad platform's export (Google Ads, Meta,
//! LinkedIn, Baidu...) or any CSV with a date, a source and a cost, for the CLI, the API and
//! the analytics page alike.

use leadgate_core::spend::{by_month, SpendColumns, SpendLine};
use leadgate_core::{FieldError, FieldErrors};
use serde::Serialize;

/// Most mistakes a refused file names.
const MAX_ERRORS: usize = 20;

/// A cost file read: how many rows, and the lines they add up to per month and source.
#[derive(Debug, Clone, Serialize)]
pub struct SpendFile {
    pub rows: usize,
    pub lines: Vec<SpendLine>,
}

/// Reads a cost file (UTF-8, its separator sniffed); `channel` tags every row of a file that
/// is all one channel. Refused whole, naming each bad row and column (`row 3.cost`), or the
/// columns it lacks: nothing of a bad file is recorded.
pub fn read(bytes: &[u8], channel: Option<&str>) -> Result<SpendFile, FieldErrors> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| FieldError::new("file", "is not UTF-8 text; save the export as UTF-8 CSV"))?;
    let text = text.trim_start_matches('\u{feff}');
    let delimiter = crate::import::sniff_delimiter(&text.as_bytes()[..text.len().min(64 * 1024)]);
    let mut reader = crate::import::csv_reader(text.as_bytes(), delimiter);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(e)) => {
            return Err(FieldError::new("file", format!("cannot be read as CSV: {e}")).into())
        }
        None => return Err(FieldError::new("file", "is empty").into()),
    };
    let names: Vec<&str> = header.iter().collect();
    let columns = SpendColumns::guess(&names)?;
    let mut errors = FieldErrors::default();
    let mut lines = Vec::new();
    let mut rows = 0;
    for (i, record) in records.enumerate() {
        let row = i + 2; // as a spreadsheet numbers it, the header being row 1
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new(
                    format!("row {row}"),
                    format!("cannot be read: {e}"),
                ));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        // Exports end with a totals row; it is no month's spend.
        if record.iter().any(|c| {
            let c = c.trim().to_lowercase();
            c == "total" || c.starts_with("total:") || c == "tổng" || c == "合计" || c == "总计"
        }) {
            continue;
        }
        rows += 1;
        let cells: Vec<&str> = record.iter().collect();
        match columns.read(&cells, channel) {
            Ok(line) => lines.push(line),
            Err(e) => {
                if errors.0.len() < MAX_ERRORS {
                    errors.push(FieldError::new(format!("row {row}.{}", e.field), e.reason));
                }
            }
        }
    }
    if rows == 0 && errors.is_empty() {
        errors.push(FieldError::new("file", "has no rows under its header"));
    }
    errors.into_result(SpendFile {
        rows,
        lines: by_month(lines),
    })
}
