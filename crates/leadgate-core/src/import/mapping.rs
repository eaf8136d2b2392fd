//! The mapping file of a CSV import: which column goes to which lead field, how cell values
//! are read, and where the file's leads came from.

use crate::lead::LeadField;
use crate::source::{Channel, Source, SourceClass};
use crate::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A mapping as written in TOML (`examples/xeducation.mapping.toml` is a full example).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The field separator (`,`, `;`, `\t` or `|`); detected from the file when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Cells that mean "no answer" in every column (compared ignoring case), such as a form's
    /// unchosen default `Select`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub null_values: Vec<String>,
    /// Where every lead of the file came from: `channel`, `source_class`, `campaign`, `utm_*`,
    /// `referrer`, `landing_page`. Columns mapped to the same keys override it per row.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source: BTreeMap<String, String>,
    /// One entry per use of a column; a column may appear twice (e.g. as channel and as
    /// utm_source).
    #[serde(default, rename = "column")]
    pub columns: Vec<ColumnSpec>,
}

/// What one column of the file becomes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column's header, as in the file.
    pub name: String,
    /// A lead field (`email`, `company_size`...), `custom.<key>`, a source key (`channel`,
    /// `utm_source`...), `outcome` (won/lost), `outcome_value`, `outcome_at`, `lost_reason`, `created_at`,
    /// `consent.<purpose>` (yes = given, no = refused; refusing `email` or `call` is Do Not
    /// Email or Do Not Call), or `ignore`.
    pub field: String,
    /// How a `custom.*` value is read: text (default), number, integer, bool or date.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<ValueKind>,
    /// Replacements applied to the cell before it is read (`"Select" = ""` empties it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// What a cell becomes when `values` has no entry for it; without it the cell is read
    /// as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<String>,
    /// A chrono format for dates (`%d/%m/%Y`); RFC 3339 and `YYYY-MM-DD[ HH:MM[:SS]]` are
    /// read without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Filled in by sales after the outcome was known (it encodes the outcome): kept, but a
    /// model must not learn from it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_outcome: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Text,
    Number,
    Integer,
    Bool,
    Date,
}

/// Where a column's value goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Field(LeadField),
    Custom(String, ValueKind),
    /// One of `Source::KEYS`.
    Source(&'static str),
    Outcome,
    OutcomeValue,
    /// When the outcome was known (the deal closed): the outcome is recorded at that time.
    OutcomeAt,
    /// Why a lost lead was lost, recorded with the outcome.
    LostReason,
    CreatedAt,
    /// Consent for a purpose (`email`, `call`, `newsletter`...) given or refused.
    Consent(String),
    Ignore,
}

impl Target {
    /// Reads a `field` value of a mapping; the error says what is allowed.
    pub fn parse(field: &str, kind: Option<ValueKind>) -> Result<Self, String> {
        let field = field.trim();
        if let Some(key) = field.strip_prefix("custom.") {
            if key.is_empty() || key.chars().count() > 100 {
                return Err(format!(
                    "'{field}' needs a key of 1 to 100 characters after 'custom.'"
                ));
            }
            return Ok(Target::Custom(
                key.to_owned(),
                kind.unwrap_or(ValueKind::Text),
            ));
        }
        if let Some(purpose) = field.strip_prefix("consent.") {
            let ok = (1..=64).contains(&purpose.len())
                && purpose
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(format!(
                    "'{field}' needs a purpose of 1 to 64 lower-case letters, digits or underscores after 'consent.' (email and call switch contact off when refused)"
                ));
            }
            if kind.is_some() {
                return Err(format!(
                    "'type' applies to custom.<key> columns; {field} is yes or no"
                ));
            }
            return Ok(Target::Consent(purpose.to_owned()));
        }
        let target = match field {
            "outcome" => Target::Outcome,
            "outcome_value" => Target::OutcomeValue,
            "outcome_at" => Target::OutcomeAt,
            "lost_reason" => Target::LostReason,
            "created_at" => Target::CreatedAt,
            "ignore" => Target::Ignore,
            "custom" => return Err("'custom' needs a key: write custom.<key>".into()),
            other => {
                if let Some(key) = Source::KEYS.iter().find(|k| **k == other) {
                    Target::Source(key)
                } else if let Some(f) = LeadField::from_name(other) {
                    Target::Field(f)
                } else {
                    return Err(format!(
                        "'{other}' is not a lead field; use one of {}, custom.<key>, {}, outcome, outcome_value, outcome_at, lost_reason, created_at, consent.<purpose> or ignore",
                        LeadField::ALL
                            .iter()
                            .filter(|f| **f != LeadField::Custom)
                            .map(|f| f.name())
                            .collect::<Vec<_>>()
                            .join(", "),
                        Source::KEYS.join(", ")
                    ));
                }
            }
        };
        if kind.is_some() && !matches!(target, Target::Custom(..)) {
            return Err(format!(
                "'type' applies to custom.<key> columns; {field} has its own type"
            ));
        }
        Ok(target)
    }
}

/// A mapping checked against the file's header: every column found, every target known.
#[derive(Debug, Clone)]
pub struct BoundMapping {
    pub(crate) delimiter: Option<u8>,
    pub(crate) null_values: Vec<String>,
    pub(crate) source: BTreeMap<String, String>,
    pub(crate) columns: Vec<BoundColumn>,
    /// Header names no entry uses.
    pub ignored: Vec<String>,
    /// `custom.*` keys filled after the outcome.
    pub after_outcome: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct BoundColumn {
    pub index: usize,
    pub name: String,
    pub target: Target,
    pub values: BTreeMap<String, String>,
    pub unmapped: Option<String>,
    pub format: Option<String>,
}

impl Mapping {
    /// Parses a mapping document; the error names the line and the key.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// As TOML, for printing a guessed mapping the user can save and edit.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The delimiter byte, if the mapping sets one.
    pub fn delimiter_byte(&self) -> Result<Option<u8>, FieldError> {
        match self.delimiter.as_deref() {
            None => Ok(None),
            Some("\\t") | Some("\t") | Some("tab") => Ok(Some(b'\t')),
            Some(d) if d.len() == 1 && matches!(d, "," | ";" | "|" | ":") => {
                Ok(Some(d.as_bytes()[0]))
            }
            Some(other) => Err(FieldError::new(
                "delimiter",
                format!("'{other}' is not a delimiter; use \",\", \";\", \"|\" or \"\\t\""),
            )),
        }
    }

    /// Checks the mapping against a file's header. Every problem is reported, each naming the
    /// column (`column "Lead Source"`) or the key.
    pub fn bind(&self, header: &[String]) -> Result<BoundMapping, FieldErrors> {
        let mut errors = FieldErrors::default();
        let delimiter = self.delimiter_byte().unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        for (key, value) in &self.source {
            if !Source::KEYS.contains(&key.as_str()) {
                errors.push(FieldError::new(
                    format!("source.{key}"),
                    format!(
                        "is not a source key; use one of {}",
                        Source::KEYS.join(", ")
                    ),
                ));
            } else if key == "channel" {
                if let Err(e) = value.parse::<Channel>() {
                    errors.push(FieldError::new("source.channel", e));
                }
            } else if key == "source_class" {
                if let Err(e) = value.parse::<SourceClass>() {
                    errors.push(FieldError::new("source.source_class", e));
                }
            }
        }
        let find = |name: &str| -> Option<usize> {
            header
                .iter()
                .position(|h| h.trim() == name.trim())
                .or_else(|| {
                    let wanted = crate::normalize::fold(name.trim());
                    header
                        .iter()
                        .position(|h| crate::normalize::fold(h.trim()) == wanted)
                })
        };
        let mut columns = Vec::new();
        let mut used = vec![false; header.len()];
        let mut after_outcome = Vec::new();
        let mut seen_targets: Vec<(String, String)> = Vec::new();
        for spec in &self.columns {
            let label = format!("column \"{}\"", spec.name);
            let Some(index) = find(&spec.name) else {
                errors.push(FieldError::new(
                    label,
                    format!(
                        "is not in the file; its columns are {}",
                        header
                            .iter()
                            .map(|h| format!("\"{h}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                continue;
            };
            used[index] = true;
            let target = match Target::parse(&spec.field, spec.kind) {
                Ok(t) => t,
                Err(reason) => {
                    errors.push(FieldError::new(label, reason));
                    continue;
                }
            };
            let target_name = spec.field.trim().to_owned();
            if target != Target::Ignore {
                if let Some((other, _)) = seen_targets.iter().find(|(_, t)| *t == target_name) {
                    errors.push(FieldError::new(
                        label.clone(),
                        format!("maps to {target_name}, which column \"{other}\" fills already"),
                    ));
                }
                seen_targets.push((spec.name.clone(), target_name));
            }
            if spec.after_outcome {
                match &target {
                    Target::Custom(key, _) => after_outcome.push(key.clone()),
                    _ => errors.push(FieldError::new(
                        label.clone(),
                        "after_outcome applies to custom.<key> columns".to_owned(),
                    )),
                }
            }
            if let Target::Outcome = target {
                for (from, to) in &spec.values {
                    if !matches!(to.trim().to_lowercase().as_str(), "won" | "lost" | "") {
                        errors.push(FieldError::new(
                            label.clone(),
                            format!("maps \"{from}\" to \"{to}\"; an outcome is won, lost or \"\" (open)"),
                        ));
                    }
                }
            }
            columns.push(BoundColumn {
                index,
                name: spec.name.clone(),
                target,
                values: spec.values.clone(),
                unmapped: spec.unmapped.clone(),
                format: spec.format.clone(),
            });
        }
        let ignored = header
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|(h, _)| h.clone())
            .collect();
        errors.into_result(BoundMapping {
            delimiter,
            null_values: self
                .null_values
                .iter()
                .map(|v| v.trim().to_lowercase())
                .collect(),
            source: self.source.clone(),
            columns,
            ignored,
            after_outcome,
        })
    }
}

impl BoundMapping {
    pub fn delimiter(&self) -> Option<u8> {
        self.delimiter
    }

    /// Whether rows are keyed (by external id or email), so that importing them again
    /// updates the same leads instead of adding new ones.
    pub fn is_keyed(&self) -> bool {
        self.columns.iter().any(|c| {
            matches!(
                c.target,
                Target::Field(LeadField::ExternalId) | Target::Field(LeadField::Email)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_mapping_binds_columns_by_name_ignoring_case() {
        let mapping = Mapping::parse(
            r#"
            null_values = ["Select"]
            [source]
            channel = "import"
            [[column]]
            name = "E-Mail"
            field = "email"
            [[column]]
            name = "Visits"
            field = "custom.visits"
            type = "integer"
            "#,
        )
        .unwrap();
        let bound = mapping
            .bind(&header(&["e-mail", "Visits", "Notes"]))
            .unwrap();
        assert_eq!(bound.columns[0].index, 0);
        assert_eq!(
            bound.columns[1].target,
            Target::Custom("visits".into(), ValueKind::Integer)
        );
        assert_eq!(bound.ignored, ["Notes"]);
        assert!(bound.is_keyed());
    }

    #[test]
    fn every_mistake_names_its_column_or_key() {
        let mapping = Mapping::parse(
            r##"
            delimiter = "#"
            [source]
            channel = "pigeon"
            medium = "x"
            [[column]]
            name = "Missing"
            field = "email"
            [[column]]
            name = "A"
            field = "favourite_colour"
            [[column]]
            name = "B"
            field = "outcome"
            values = { "1" = "maybe" }
            [[column]]
            name = "C"
            field = "email"
            [[column]]
            name = "A"
            field = "company"
            type = "number"
            "##,
        )
        .unwrap();
        let errors = mapping.bind(&header(&["A", "B", "C"])).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "delimiter",
                "source.channel",
                "source.medium",
                "column \"Missing\"",
                "column \"A\"",
                "column \"B\"",
                "column \"A\"",
            ]
        );
        assert!(errors.0[3].reason.contains("\"A\", \"B\", \"C\""));
        assert!(errors.0[4].reason.contains("not a lead field"));
        assert!(errors.0[6].reason.contains("'type'"));
    }

    #[test]
    fn unknown_keys_in_the_document_are_refused_with_their_line() {
        let err = Mapping::parse("[[column]]\nname = \"A\"\nfeild = \"email\"\n").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("feild"), "{err}");
    }

    #[test]
    fn a_mapping_round_trips_through_toml() {
        let mapping = Mapping {
            null_values: vec!["Select".into()],
            columns: vec![ColumnSpec {
                name: "Converted".into(),
                field: "outcome".into(),
                values: [("1".to_string(), "won".to_string())].into(),
                ..ColumnSpec::default()
            }],
            ..Mapping::default()
        };
        assert_eq!(Mapping::parse(&mapping.to_toml()).unwrap(), mapping);
    }
}
