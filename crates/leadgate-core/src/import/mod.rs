//! Reading leads from spreadsheets: the mapping of columns to lead fields (written by hand or
//! guessed from the header), and each row read through it into a validated capture.

mod guess;
mod mapping;
mod row;
mod suspect;

pub use guess::guess;
pub use mapping::{BoundMapping, ColumnSpec, Mapping, Target, ValueKind};
pub use row::{parse_integer, parse_number, ImportRow, RowError, RowOutcome, MAX_CELL_BYTES};
pub use suspect::{suspects, Suspect};

use crate::source::named_enum;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// Where an import of one file stands.
    ImportStatus, "import status" {
        /// Its process is reading the file.
        Running => "running",
        /// Running, but its process has not been heard of for `INTERRUPTED_AFTER_SECS`:
        /// importing the same file again resumes it.
        Interrupted => "interrupted",
        Finished => "finished",
    }
);

/// A running import whose process has said nothing for this long was interrupted (its
/// heartbeat comes with every batch, and every 30 s while it matches people).
pub const INTERRUPTED_AFTER_SECS: i64 = 300;

impl ImportStatus {
    /// The status of an import stored as `self` whose process was last heard of
    /// `silent_secs` ago.
    pub fn seen_after(self, silent_secs: i64) -> Self {
        match self {
            ImportStatus::Running if silent_secs > INTERRUPTED_AFTER_SECS => {
                ImportStatus::Interrupted
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_import_silent_past_the_limit_is_interrupted() {
        let running = ImportStatus::Running;
        assert_eq!(running.seen_after(INTERRUPTED_AFTER_SECS), running);
        assert_eq!(
            running.seen_after(INTERRUPTED_AFTER_SECS + 1),
            ImportStatus::Interrupted
        );
        let finished = ImportStatus::Finished;
        assert_eq!(finished.seen_after(INTERRUPTED_AFTER_SECS * 10), finished);
    }
}
