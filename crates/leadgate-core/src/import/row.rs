//! One CSV row read through a bound mapping: the lead patch, the touch, the outcome, or every
//! cell that could not be read, named by its column.

use super::mapping::{BoundColumn, BoundMapping, Target, ValueKind};
use crate::lead::{Lead, LeadField, LeadPatch, PatchMode};
use crate::source::{Channel, Source};
use crate::stage::Stage;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// Longest cell read, in bytes: the longest lead field holds 4,000 characters, and `custom`
/// at most 16 KiB in all.
pub const MAX_CELL_BYTES: usize = 16 * 1024;

/// A row ready to store.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub patch: LeadPatch,
    /// The lead the row makes when it is new: the patch applied to an empty lead (made
    /// here, on the import's reader thread, so the store does not normalise it again).
    pub lead: Lead,
    pub source: Source,
    pub outcome: Option<RowOutcome>,
    /// When the lead arrived, if the file says.
    pub created_at: Option<DateTime<Utc>>,
    /// Consents the file records: purpose, and whether it was given (false: refused).
    pub consents: Vec<(String, bool)>,
    /// The mapped cells as read (column name -> text), kept in the capture event.
    pub raw: Map<String, Value>,
}

/// A won or lost deal recorded in the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowOutcome {
    pub won: bool,
    pub value: Option<f64>,
    /// When it was known, if the file says (else when the lead arrived, else the import).
    pub at: Option<DateTime<Utc>>,
    /// Why a lost lead was lost, if the file says.
    pub reason: Option<String>,
}

/// The longest lost reason a file may give.
const MAX_REASON_CHARS: usize = 500;

/// A cell (or the whole row, column "") that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub column: String,
    pub reason: String,
}

impl RowError {
    pub fn new(column: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            column: column.into(),
            reason: reason.into(),
        }
    }
}

/// Fields of which a row needs at least one, so its lead can be told apart.
const IDENTIFYING: [LeadField; 6] = [
    LeadField::Email,
    LeadField::Phone,
    LeadField::ExternalId,
    LeadField::FirstName,
    LeadField::LastName,
    LeadField::Company,
];

impl BoundMapping {
    /// Reads one record (the cells of a row, in file order).
    pub fn read_row(&self, cells: &[&str]) -> Result<ImportRow, Vec<RowError>> {
        let mut errors = Vec::new();
        let mut input = Map::new();
        let mut custom = Map::new();
        let mut source_input: Map<String, Value> = self
            .source
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut raw = Map::new();
        let mut outcome: Option<bool> = None;
        let mut outcome_value = None;
        let mut created_at = None;
        let mut outcome_at = None;
        let mut lost_reason: Option<(String, String)> = None;
        let mut consents = Vec::new();
        let mut column_of_field: Vec<(&str, &str)> = Vec::new();

        for column in &self.columns {
            let Some(cell) = cells.get(column.index) else {
                continue; // Ragged rows are refused before they get here.
            };
            if cell.len() > MAX_CELL_BYTES {
                errors.push(RowError::new(
                    &column.name,
                    format!(
                        "is {} bytes long; a cell holds at most {MAX_CELL_BYTES}",
                        cell.len()
                    ),
                ));
                continue;
            }
            if column.target == Target::Ignore {
                continue;
            }
            if !cell.trim().is_empty() {
                raw.insert(column.name.clone(), Value::String((*cell).to_owned()));
            }
            let Some(value) = self.cell_value(column, cell) else {
                continue;
            };
            let fail = |reason: String| RowError::new(&column.name, reason);
            match &column.target {
                Target::Ignore => {}
                Target::Field(field) => {
                    let json = match field {
                        LeadField::CompanySize => parse_integer(&value).map(Value::from),
                        LeadField::Budget => parse_number(&value).and_then(json_number),
                        _ => Ok(Value::String(value)),
                    };
                    match json {
                        Ok(json) => {
                            input.insert(field.name().to_owned(), json);
                            column_of_field.push((field.name(), &column.name));
                        }
                        Err(reason) => errors.push(fail(reason)),
                    }
                }
                Target::Custom(key, kind) => match read_kind(*kind, &value, column) {
                    Ok(json) => {
                        custom.insert(key.clone(), json);
                    }
                    Err(reason) => errors.push(fail(reason)),
                },
                Target::Source(key) => {
                    source_input.insert((*key).to_owned(), Value::String(value));
                    column_of_field.push((key, &column.name));
                }
                Target::Outcome => match value.trim().to_lowercase().as_str() {
                    "won" | "1" | "yes" | "true" | "converted" | "closed won" => {
                        outcome = Some(true)
                    }
                    "lost" | "0" | "no" | "false" | "closed lost" => outcome = Some(false),
                    other => errors.push(fail(format!(
                        "'{other}' is not an outcome; map it to won or lost under values"
                    ))),
                },
                Target::OutcomeValue => match parse_number(&value) {
                    Ok(v) => outcome_value = Some(v),
                    Err(reason) => errors.push(fail(reason)),
                },
                Target::CreatedAt => match parse_date(&value, column.format.as_deref()) {
                    Ok(at) => created_at = Some(at),
                    Err(reason) => errors.push(fail(reason)),
                },
                Target::LostReason => match crate::values::Text::parse(&value, MAX_REASON_CHARS) {
                    Ok(reason) => lost_reason = Some((reason.as_str().to_owned(), column.name.clone())),
                    Err(e) => errors.push(fail(e.to_string())),
                },
                Target::OutcomeAt => match parse_date(&value, column.format.as_deref()) {
                    Ok(at) => outcome_at = Some((at, column.name.clone())),
                    Err(reason) => errors.push(fail(reason)),
                },
                Target::Consent(purpose) => match parse_bool(&value) {
                    Ok(given) => consents.push((purpose.clone(), given)),
                    Err(reason) => errors.push(fail(format!(
                        "{reason}; a consent column is yes (given) or no (refused): map other values under values"
                    ))),
                },
            }
        }
        if !custom.is_empty() {
            input.insert("custom".into(), Value::Object(custom));
        }
        if let (Some((closed, column)), Some(arrived)) = (&outcome_at, created_at) {
            if *closed < arrived {
                errors.push(RowError::new(
                    column.clone(),
                    format!(
                        "the outcome ({}) comes before the lead arrived ({}): check the dates or their format",
                        closed.date_naive(),
                        arrived.date_naive()
                    ),
                ));
            }
        }
        if let Some((_, column)) = lost_reason.as_ref().filter(|_| outcome == Some(true)) {
            errors.push(RowError::new(
                column.clone(),
                "a lost reason on a won lead: leave it empty, or check the outcome column",
            ));
        }
        if let Some((_, column)) = outcome_at.as_ref().filter(|_| outcome.is_none()) {
            errors.push(RowError::new(
                column.clone(),
                "an outcome date without an outcome: map the won/lost column too, or leave the date empty for open leads",
            ));
        }
        let column_for = |field: &str| -> String {
            column_of_field
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, c)| (*c).to_owned())
                .unwrap_or_else(|| field.to_owned())
        };
        let source = match Source::take_from(&mut source_input, Channel::Import) {
            Ok(source) => source.unwrap_or_else(|| Source::new(Channel::Import)),
            Err(e) => {
                errors.extend(
                    e.0.into_iter()
                        .map(|e| RowError::new(column_for(&e.field), e.reason)),
                );
                Source::new(Channel::Import)
            }
        };
        let patch = match LeadPatch::parse(&input, PatchMode::Import) {
            Ok(patch) => patch,
            Err(e) => {
                errors.extend(
                    e.0.into_iter()
                        .map(|e| RowError::new(column_for(&e.field), e.reason)),
                );
                LeadPatch::default()
            }
        };
        let mut lead = Lead::default();
        if let Err(e) = patch.apply(&mut lead) {
            errors.push(RowError::new(column_for(&e.field), e.reason));
        }
        // A lead the file brings in already decided is stored where its outcome put it
        // (won: customer, lost: disqualified), unless the file records a stage itself. A lead
        // already stored is moved by the store after the row (`Mover::Record`), with its
        // clocks and events.
        if let (Some(won), false) = (outcome, input.contains_key(LeadField::Stage.name())) {
            lead.stage = if won {
                Stage::Customer
            } else {
                Stage::Disqualified
            };
        }
        if errors.is_empty() && !IDENTIFYING.iter().any(|f| input.contains_key(f.name())) {
            errors.push(RowError::new(
                "",
                "the row has none of email, phone, external_id, first_name, last_name or company, so its lead could not be told apart",
            ));
        }
        if !errors.is_empty() {
            // In file order, whatever order the checks ran in.
            errors.sort_by_key(|e| {
                self.columns
                    .iter()
                    .find(|c| c.name == e.column)
                    .map_or(0, |c| c.index)
            });
            return Err(errors);
        }
        Ok(ImportRow {
            patch,
            lead,
            source,
            outcome: outcome.map(|won| RowOutcome {
                won,
                value: outcome_value,
                at: outcome_at.map(|(at, _)| at),
                reason: lost_reason.map(|(reason, _)| reason),
            }),
            created_at,
            consents,
            raw,
        })
    }

    /// The cell after trimming, null values and value mapping; `None` when empty.
    fn cell_value(&self, column: &BoundColumn, cell: &str) -> Option<String> {
        let cell = cell.trim();
        let mapped = match column.values.get(cell).or_else(|| {
            column
                .values
                .iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(cell))
                .map(|(_, v)| v)
        }) {
            Some(v) => v.trim(),
            None if cell.is_empty() => return None,
            None => match &column.unmapped {
                Some(v) => v.trim(),
                None => cell,
            },
        };
        if mapped.is_empty() || self.null_values.iter().any(|n| *n == mapped.to_lowercase()) {
            return None;
        }
        Some(mapped.to_owned())
    }
}

fn read_kind(kind: ValueKind, value: &str, column: &BoundColumn) -> Result<Value, String> {
    match kind {
        ValueKind::Text => Ok(Value::String(value.to_owned())),
        ValueKind::Number => parse_number(value).and_then(json_number),
        ValueKind::Integer => parse_integer(value).map(Value::from),
        ValueKind::Bool => parse_bool(value).map(Value::Bool),
        ValueKind::Date => parse_date(value, column.format.as_deref())
            .map(|d| Value::String(d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
    }
}

fn json_number(v: f64) -> Result<Value, String> {
    Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| "is not a finite number".to_owned())
}

/// A number as people write it: `1200`, `1,200.50`, `$ 1 200`, `-3.5`.
pub fn parse_number(raw: &str) -> Result<f64, String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '$' | '€' | '£' | '¥' | '₫' | '﷼'))
        .collect();
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("'{}' is not a number", truncate(raw))),
    }
}

pub fn parse_integer(raw: &str) -> Result<i64, String> {
    let v = parse_number(raw).map_err(|_| format!("'{}' is not a whole number", truncate(raw)))?;
    if v.fract() != 0.0 || v.abs() > 9e15 {
        return Err(format!("'{}' is not a whole number", truncate(raw)));
    }
    Ok(v as i64)
}

pub fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "1" | "on" | "x" => Ok(true),
        "no" | "n" | "false" | "f" | "0" | "off" => Ok(false),
        _ => Err(format!(
            "'{}' is not yes or no; map it under values",
            truncate(raw)
        )),
    }
}

/// RFC 3339, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, or the column's own format. Times without
/// a zone are UTC.
pub fn parse_date(raw: &str, format: Option<&str>) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    let bad = || match format {
        Some(f) => format!("'{}' does not match the date format {f}", truncate(raw)),
        None => format!(
            "'{}' is not a date (YYYY-MM-DD or RFC 3339; set format for others)",
            truncate(raw)
        ),
    };
    if let Some(format) = format {
        return NaiveDateTime::parse_from_str(raw, format)
            .map(|d| d.and_utc())
            .or_else(|_| {
                NaiveDate::parse_from_str(raw, format)
                    .map(|d| d.and_time(Default::default()).and_utc())
            })
            .or_else(|_| DateTime::parse_from_str(raw, format).map(|d| d.with_timezone(&Utc)))
            .map_err(|_| bad());
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(raw) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(raw, f) {
            return Ok(d.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(|d| d.and_time(Default::default()).and_utc())
        .map_err(|_| bad())
}

fn truncate(raw: &str) -> String {
    match raw.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &raw[..i]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use crate::import::mapping::{Target, ValueKind};
    use crate::import::Mapping;
    use crate::lead::{Lead, LeadField};
    use crate::source::Channel;
    use crate::stage::Stage;
    use proptest::prelude::*;

    fn bind(toml: &str, header: &[&str]) -> super::BoundMapping {
        let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        Mapping::parse(toml).unwrap().bind(&header).unwrap()
    }

    const XED: &str = r#"
        null_values = ["Select"]
        [source]
        campaign = "spring"
        [[column]]
        name = "Prospect ID"
        field = "external_id"
        [[column]]
        name = "Lead Source"
        field = "channel"
        values = { Google = "search_ad", "Olark Chat" = "web_form" }
        unmapped = "other"
        [[column]]
        name = "Lead Source"
        field = "utm_source"
        [[column]]
        name = "Do Not Email"
        field = "custom.do_not_email"
        type = "bool"
        [[column]]
        name = "Converted"
        field = "outcome"
        [[column]]
        name = "TotalVisits"
        field = "custom.total_visits"
        type = "integer"
        [[column]]
        name = "City"
        field = "custom.city"
    "#;
    const HEADER: [&str; 8] = [
        "Prospect ID",
        "Lead Source",
        "Do Not Email",
        "Converted",
        "TotalVisits",
        "City",
        "Country",
        "",
    ];

    #[test]
    fn a_row_becomes_a_patch_a_touch_and_an_outcome() {
        let mapping = bind(XED, &HEADER);
        let row = mapping
            .read_row(&["p-1", "Google", "Yes", "1", "5", "Select", "India", ""])
            .unwrap();
        let mut lead = Lead::default();
        row.patch.apply(&mut lead).unwrap();
        assert_eq!(lead.external_id.unwrap().as_str(), "p-1");
        assert_eq!(lead.custom["do_not_email"], true);
        assert_eq!(lead.custom["total_visits"], 5);
        assert!(!lead.custom.contains_key("city"), "Select means no answer");
        assert_eq!(row.source.channel, Channel::SearchAd);
        assert_eq!(row.source.utm_source.unwrap().as_str(), "Google");
        assert_eq!(row.source.campaign.unwrap().as_str(), "spring");
        assert!(row.outcome.unwrap().won);
        assert_eq!(mapping.ignored, ["Country", ""]);
    }

    #[test]
    fn a_row_carries_its_new_lead_normalised() {
        let mapping = bind(
            r#"
            [[column]]
            name = "Phone"
            field = "phone"
            [[column]]
            name = "Country"
            field = "country"
            [[column]]
            name = "Email"
            field = "email"
            "#,
            &["Phone", "Country", "Email"],
        );
        let row = mapping
            .read_row(&["030 1234567", "DE", "Ana@Example.COM"])
            .unwrap();
        let mut applied = Lead::default();
        row.patch.apply(&mut applied).unwrap();
        assert_eq!(row.lead, applied, "the store takes it as the patch applied");
        assert_eq!(row.lead.phone.unwrap().as_str(), "+49301234567");
        assert_eq!(row.lead.country.unwrap().as_str(), "Germany");
    }

    #[test]
    fn consent_columns_record_refusals_and_grants() {
        let mapping = format!(
            "{XED}\n[[column]]\nname = \"Do Not Email\"\nfield = \"consent.email\"\nvalues = {{ Yes = \"no\", No = \"\" }}\n[[column]]\nname = \"City\"\nfield = \"consent.newsletter\"\nvalues = {{ Select = \"\" }}\n"
        );
        let mapping = bind(&mapping, &HEADER);
        let refused = mapping
            .read_row(&["p-1", "Google", "Yes", "1", "5", "yes", "", ""])
            .unwrap();
        assert_eq!(
            refused.consents,
            [("email".to_owned(), false), ("newsletter".to_owned(), true)]
        );
        let nothing = mapping
            .read_row(&["p-2", "Google", "No", "1", "5", "Select", "", ""])
            .unwrap();
        assert!(nothing.consents.is_empty(), "No is not a consent");
        let bad = mapping
            .read_row(&["p-3", "Google", "No", "1", "5", "perhaps", "", ""])
            .unwrap_err();
        assert_eq!(bad[0].column, "City");
        assert!(bad[0].reason.contains("consent column"), "{bad:?}");
        for (field, wanted) in [
            ("consent.", "needs a purpose"),
            ("consent.Email Opt-In", "needs a purpose"),
        ] {
            let err = Target::parse(field, None).unwrap_err();
            assert!(err.contains(wanted), "{field}: {err}");
        }
        assert!(Target::parse("consent.email", Some(ValueKind::Bool))
            .unwrap_err()
            .contains("yes or no"));
    }

    #[test]
    fn unmapped_values_fall_back_and_lost_is_an_outcome() {
        let mapping = bind(XED, &HEADER);
        let row = mapping
            .read_row(&["p-2", "Carrier pigeon", "No", "0", "", "", "", ""])
            .unwrap();
        assert_eq!(row.source.channel, Channel::Other);
        assert!(!row.outcome.unwrap().won);
    }

    #[test]
    fn an_outcome_keeps_its_date_and_a_date_out_of_order_is_refused() {
        let header = ["Email", "Created", "Result", "Closed on"];
        let mapping = bind(
            "[[column]]\nname = \"Email\"\nfield = \"email\"\n[[column]]\nname = \"Created\"\nfield = \"created_at\"\n[[column]]\nname = \"Result\"\nfield = \"outcome\"\n[[column]]\nname = \"Closed on\"\nfield = \"outcome_at\"\nformat = \"%d/%m/%Y\"\n",
            &header,
        );
        let row = mapping
            .read_row(&["a@b.io", "2025-03-01", "won", "15/04/2025"])
            .unwrap();
        let outcome = row.outcome.unwrap();
        assert!(outcome.won);
        assert_eq!(
            outcome.at.unwrap().to_rfc3339(),
            "2025-04-15T00:00:00+00:00"
        );
        let errors = mapping
            .read_row(&["a@b.io", "2025-03-01", "lost", "15/02/2025"])
            .unwrap_err();
        assert_eq!(errors[0].column, "Closed on");
        assert!(
            errors[0].reason.contains("before the lead arrived"),
            "{}",
            errors[0].reason
        );
        let errors = mapping
            .read_row(&["a@b.io", "2025-03-01", "", "15/04/2025"])
            .unwrap_err();
        assert!(
            errors[0].reason.contains("without an outcome"),
            "{}",
            errors[0].reason
        );
        // Open leads carry neither.
        let open = mapping.read_row(&["a@b.io", "2025-03-01", "", ""]).unwrap();
        assert!(open.outcome.is_none());
    }

    #[test]
    fn a_lost_reason_goes_with_a_lost_outcome_only() {
        let mapping = bind(
            "[[column]]\nname = \"Email\"\nfield = \"email\"\n[[column]]\nname = \"Result\"\nfield = \"outcome\"\n[[column]]\nname = \"Why lost\"\nfield = \"lost_reason\"\n",
            &["Email", "Result", "Why lost"],
        );
        let lost = mapping
            .read_row(&["a@b.io", "lost", " no budget "])
            .unwrap();
        assert_eq!(lost.outcome.unwrap().reason.as_deref(), Some("no budget"));
        let errors = mapping
            .read_row(&["a@b.io", "won", "no budget"])
            .unwrap_err();
        assert_eq!(errors[0].column, "Why lost");
        let errors = mapping
            .read_row(&["a@b.io", "lost", &"x".repeat(501)])
            .unwrap_err();
        assert_eq!(errors[0].column, "Why lost");
    }

    #[test]
    fn a_new_lead_with_an_outcome_is_stored_where_the_outcome_put_it() {
        let mapping = bind(XED, &HEADER);
        let won = mapping
            .read_row(&["p-1", "Google", "No", "1", "", "", "", ""])
            .unwrap();
        assert_eq!(won.lead.stage, Stage::Customer);
        let lost = mapping
            .read_row(&["p-2", "Google", "No", "0", "", "", "", ""])
            .unwrap();
        assert_eq!(lost.lead.stage, Stage::Disqualified);
        // The patch for a lead already stored does not move it.
        assert!(!lost.patch.touches(LeadField::Stage));
        let recorded = bind(
            "[[column]]\nname = \"Email\"\nfield = \"email\"\n[[column]]\nname = \"Won\"\nfield = \"outcome\"\n[[column]]\nname = \"Stage\"\nfield = \"stage\"\n",
            &["Email", "Won", "Stage"],
        );
        let row = recorded.read_row(&["a@b.io", "lost", "recycled"]).unwrap();
        assert_eq!(
            row.lead.stage,
            Stage::Recycled,
            "the file's own stage stands"
        );
    }

    #[test]
    fn bad_cells_are_all_reported_by_column() {
        let mapping = bind(XED, &HEADER);
        let errors = mapping
            .read_row(&["p-3", "Google", "maybe", "perhaps", "4.5", "", "", ""])
            .unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["Do Not Email", "Converted", "TotalVisits"]);
        assert!(errors[2].reason.contains("whole number"));
    }

    #[test]
    fn lead_field_errors_name_the_column_not_the_field() {
        let mapping = bind(
            "[[column]]\nname = \"Mail\"\nfield = \"email\"\n[[column]]\nname = \"Employees\"\nfield = \"company_size\"\n",
            &["Mail", "Employees"],
        );
        let errors = mapping.read_row(&["not-an-email", "-4"]).unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["Mail", "Employees"]);
    }

    #[test]
    fn a_row_without_identity_is_refused_and_huge_cells_too() {
        let mapping = bind(
            "[[column]]\nname = \"Note\"\nfield = \"custom.note\"\n[[column]]\nname = \"Name\"\nfield = \"first_name\"\n",
            &["Note", "Name"],
        );
        let errors = mapping.read_row(&["hello", ""]).unwrap_err();
        assert_eq!(errors[0].column, "");
        let big = "x".repeat(super::MAX_CELL_BYTES + 1);
        let errors = mapping.read_row(&[&big, "Ana"]).unwrap_err();
        assert_eq!(errors[0].column, "Note");
        assert!(errors[0].reason.contains("bytes long"));
    }

    #[test]
    fn numbers_and_dates_read_as_people_write_them() {
        assert_eq!(super::parse_number("$ 1,200.50").unwrap(), 1200.5);
        assert!(super::parse_number("NaN").is_err());
        assert!(super::parse_number("inf").is_err());
        assert_eq!(super::parse_integer("1,200").unwrap(), 1200);
        assert!(super::parse_integer("1.5").is_err());
        assert_eq!(
            super::parse_date("2026-03-01", None).unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            super::parse_date("01/03/2026", Some("%d/%m/%Y"))
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert!(super::parse_date("01/03/2026", None).is_err());
    }

    proptest! {
        #[test]
        fn reading_any_row_never_panics(cells in proptest::collection::vec("\\PC{0,30}", 8)) {
            let mapping = bind(XED, &HEADER);
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            let _ = mapping.read_row(&refs);
        }

        #[test]
        fn a_written_number_reads_back(v in -1e12f64..1e12) {
            let text = format!("{v}");
            prop_assert_eq!(super::parse_number(&text).unwrap(), v);
        }
    }
}
