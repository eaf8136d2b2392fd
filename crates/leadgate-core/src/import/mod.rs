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
