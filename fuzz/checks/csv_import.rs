//! Any bytes as a CSV file: inspecting it, guessing a mapping, and reading every row through
//! it must end in rows or clear errors, never a panic.

use leadgate::import::{resolve_mapping, CsvFile};
use std::io::Write;

pub fn run(data: &[u8]) {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(data).is_err() || file.flush().is_err() {
        return;
    }
    let Ok(csv) = CsvFile::inspect(file.path(), None) else {
        return;
    };
    let Ok((_, bound, _)) = resolve_mapping(file.path(), &csv, None) else {
        return;
    };
    let Ok(rows) = csv.rows(file.path()) else {
        return;
    };
    for row in rows.take(1000) {
        if let Ok(cells) = row.cells {
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            let _ = bound.read_row(&refs);
        }
    }
}
