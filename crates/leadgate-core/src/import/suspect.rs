//! Columns of a lead file that look filled in after the outcome was known (a sales verdict,
//! the latest activity at export time): named with the evidence, so that a model is not
//! taught the outcome by the outcome written down.

use super::mapping::{BoundMapping, Target};
use super::row::ImportRow;
use crate::normalize::fold_loose;
use crate::ranking::{separation, standout, LEAK_SEPARATION};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// Words of a column name that say it holds a judgement made while handling the lead, or
/// its state when the file was exported: both are known only after the outcome.
const AFTER_OUTCOME_WORDS: [&str; 16] = [
    "last",
    "latest",
    "notable",
    "index",
    "tag",
    "tags",
    "quality",
    "rating",
    "status",
    "disposition",
    "reason",
    "score",
    "grade",
    "stage",
    "result",
    "verdict",
];
/// Closed rows (and of each outcome) needed before separations say anything.
const MIN_CLOSED: usize = 50;
const MIN_PER_OUTCOME: usize = 10;
/// Open rows needed before fill rates are compared.
const MIN_OPEN: usize = 20;
/// A value seen fewer times than this shares the rate of all rare values.
const MIN_VALUE_ROWS: usize = 10;

/// A column suspect of recording the outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    /// The column's header.
    pub column: String,
    /// Where the mapping puts it (`custom.<key>`).
    pub field: String,
    /// Why it is suspect, each reason in words with its figures.
    pub evidence: Vec<String>,
}

impl Suspect {
    /// The suspicion in a sentence; `marked` when the guessed mapping already set
    /// `after_outcome` on the column.
    pub fn sentence(&self, marked: bool) -> String {
        let then = if marked {
            "marked after_outcome in the guessed mapping: kept, but no model learns from it"
        } else {
            "if it was, set after_outcome = true on it in the mapping so no model learns from it"
        };
        format!(
            "\"{}\" ({}) looks filled in after the outcome: {}; {then}",
            self.column,
            self.field,
            self.evidence.join("; ")
        )
    }
}

/// The custom columns not yet marked `after_outcome` that look filled in after the outcome,
/// judged on rows read through the mapping (a sample of the file is enough).
pub fn suspects(bound: &BoundMapping, rows: &[ImportRow]) -> Vec<Suspect> {
    let customs: Vec<(&str, &str)> = bound
        .columns
        .iter()
        .filter_map(|c| match &c.target {
            Target::Custom(key, _) if !bound.after_outcome.contains(key) => {
                Some((c.name.as_str(), key.as_str()))
            }
            _ => None,
        })
        .collect();
    let closed: Vec<&ImportRow> = rows.iter().filter(|r| r.outcome.is_some()).collect();
    let won: Vec<bool> = closed
        .iter()
        .map(|r| r.outcome.as_ref().is_some_and(|o| o.won))
        .collect();
    let wins = won.iter().filter(|w| **w).count();
    let measured = closed.len() >= MIN_CLOSED
        && wins >= MIN_PER_OUTCOME
        && closed.len() - wins >= MIN_PER_OUTCOME;
    let separations: Vec<f64> = if measured {
        customs
            .iter()
            .map(|(_, key)| {
                let cells: Vec<Option<&Value>> = closed
                    .iter()
                    .map(|r| r.lead.custom.get(*key).filter(|v| !v.is_null()))
                    .collect();
                separation(&scores(&cells, &won), &won).unwrap_or(0.5)
            })
            .collect()
    } else {
        Vec::new()
    };
    let standing_out = standout(&separations);
    let open: Vec<&ImportRow> = rows.iter().filter(|r| r.outcome.is_none()).collect();
    let mut found = Vec::new();
    for (i, (column, key)) in customs.iter().enumerate() {
        let mut evidence = Vec::new();
        if let Some(word) = after_outcome_word(column) {
            let reading = if ["last", "latest", "notable"].contains(&word) {
                "the lead's state when the file was exported"
            } else {
                "a verdict or rating given while the lead was handled"
            };
            evidence.push(format!("its name (\"{word}\") reads as {reading}"));
        }
        if let Some(&alone) = separations.get(i) {
            if alone >= LEAK_SEPARATION {
                evidence.push(format!(
                    "alone it tells won from lost almost perfectly (ROC-AUC {alone:.3})"
                ));
            } else if let Some((_, next)) = standing_out.filter(|(best, _)| *best == i) {
                evidence.push(format!(
                    "alone it ranks won above lost far better than any other column (ROC-AUC {alone:.3}; the next best {next:.3})"
                ));
            }
        }
        if closed.len() >= MIN_CLOSED && open.len() >= MIN_OPEN {
            let filled = |rows: &[&ImportRow]| {
                rows.iter()
                    .filter(|r| r.lead.custom.get(*key).is_some_and(|v| !v.is_null()))
                    .count() as f64
                    / rows.len() as f64
            };
            let (on_closed, on_open) = (filled(&closed), filled(&open));
            if on_closed >= 0.5 && on_open * 3.0 <= on_closed {
                evidence.push(format!(
                    "filled for {:.0}% of closed leads but {:.0}% of open ones",
                    on_closed * 100.0,
                    on_open * 100.0
                ));
            }
        }
        if !evidence.is_empty() {
            found.push(Suspect {
                column: (*column).to_owned(),
                field: format!("custom.{key}"),
                evidence,
            });
        }
    }
    found
}

/// The word of a column name that says it was written after the outcome.
fn after_outcome_word(column: &str) -> Option<&'static str> {
    let folded = fold_loose(column);
    folded
        .split(|c: char| !c.is_alphanumeric())
        .find_map(|word| AFTER_OUTCOME_WORDS.iter().find(|w| **w == word).copied())
}

/// Each cell as a number to rank by: numbers as they are (missing below all of them), yes/no
/// as 1/0, text as its value's smoothed won rate (rare values pooled, missing its own value).
fn scores(cells: &[Option<&Value>], won: &[bool]) -> Vec<f64> {
    let numeric = cells
        .iter()
        .flatten()
        .all(|v| v.is_number() || v.is_boolean());
    if numeric {
        let number = |v: &Value| v.as_f64().or_else(|| v.as_bool().map(f64::from));
        let low = cells
            .iter()
            .flatten()
            .filter_map(|v| number(v))
            .fold(f64::INFINITY, f64::min)
            - 1.0;
        return cells
            .iter()
            .map(|c| c.and_then(number).unwrap_or(low))
            .collect();
    }
    let key = |c: &Option<&Value>| match c {
        None => String::new(),
        Some(Value::String(s)) => fold_loose(s),
        Some(v) => v.to_string(),
    };
    let mut tally: HashMap<String, (usize, usize)> = HashMap::new();
    for (c, w) in cells.iter().zip(won) {
        let t = tally.entry(key(c)).or_default();
        t.0 += usize::from(*w);
        t.1 += 1;
    }
    let (rare_won, rare_rows) = tally
        .values()
        .filter(|t| t.1 < MIN_VALUE_ROWS)
        .fold((0, 0), |a, t| (a.0 + t.0, a.1 + t.1));
    let base = won.iter().filter(|w| **w).count() as f64 / won.len().max(1) as f64;
    let rate = |(w, n): (usize, usize)| (w as f64 + 10.0 * base) / (n as f64 + 10.0);
    cells
        .iter()
        .map(|c| match tally.get(&key(c)) {
            Some(&t) if t.1 >= MIN_VALUE_ROWS => rate(t),
            _ => rate((rare_won, rare_rows)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Mapping;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A file of `n` rows: an outcome (blank for open rows), a real trait that helps a
    /// little, a sales verdict that mirrors the outcome, and a note filled only once closed.
    fn read(n: usize, open_every: usize) -> (BoundMapping, Vec<ImportRow>) {
        let mapping = Mapping::parse(
            r#"
[[column]]
name = "Email"
field = "email"
[[column]]
name = "Converted"
field = "outcome"
[[column]]
name = "Occupation"
field = "custom.occupation"
[[column]]
name = "Sales verdict"
field = "custom.sales_verdict"
[[column]]
name = "Call notes"
field = "custom.call_notes"
[[column]]
name = "Visits"
field = "custom.visits"
type = "integer"
"#,
        )
        .unwrap();
        let header = strings(&[
            "Email",
            "Converted",
            "Occupation",
            "Sales verdict",
            "Call notes",
            "Visits",
        ]);
        let bound = mapping.bind(&header).unwrap();
        let rows = (0..n)
            .map(|i| {
                let open = open_every > 0 && i % open_every == 0;
                let won = i % 10 < 2;
                let outcome = if open {
                    ""
                } else if won {
                    "won"
                } else {
                    "lost"
                };
                let occupation = if i % 3 == 0 || (won && i % 2 == 0) {
                    "Working"
                } else {
                    "Student"
                };
                // Mostly the outcome, now and then wrong: not perfect, far ahead.
                let verdict = if (won && i % 13 != 0) || (!won && i % 17 == 0) {
                    "Will buy"
                } else {
                    "Ringing"
                };
                let index = if open {
                    ""
                } else {
                    ["01.High", "02.Medium"][i % 2]
                };
                let email = format!("p{i}@example.com");
                let visits = (i % 9).to_string();
                let cells = [
                    email.as_str(),
                    outcome,
                    occupation,
                    verdict,
                    index,
                    visits.as_str(),
                ];
                bound.read_row(&cells).unwrap()
            })
            .collect();
        (bound, rows)
    }

    #[test]
    fn a_verdict_far_ahead_and_a_column_filled_only_when_closed_are_named_with_evidence() {
        let (bound, rows) = read(1000, 4);
        let found = suspects(&bound, &rows);
        let by_field = |f: &str| found.iter().find(|s| s.field == f);
        let verdict = by_field("custom.sales_verdict").expect("the verdict is suspect");
        let evidence = verdict.evidence.join("; ");
        assert!(evidence.contains("\"verdict\""), "{evidence}");
        assert!(
            evidence.contains("far better than any other column"),
            "{evidence}"
        );
        let index = by_field("custom.call_notes").expect("the index is suspect");
        assert_eq!(
            index.evidence,
            ["filled for 100% of closed leads but 0% of open ones"]
        );
        assert!(by_field("custom.occupation").is_none(), "{found:?}");
        assert!(by_field("custom.visits").is_none(), "{found:?}");
    }

    #[test]
    fn too_few_closed_rows_say_nothing_but_the_name() {
        let (bound, rows) = read(40, 0);
        let found = suspects(&bound, &rows);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].field, "custom.sales_verdict");
        assert_eq!(found[0].evidence.len(), 1);
    }

    #[test]
    fn names_are_read_word_by_word() {
        assert_eq!(after_outcome_word("Last Notable Activity"), Some("last"));
        assert_eq!(after_outcome_word("Lead Quality"), Some("quality"));
        assert_eq!(after_outcome_word("Tags"), Some("tags"));
        assert_eq!(
            after_outcome_word("Asymmetrique Activity Score"),
            Some("score")
        );
        assert_eq!(
            after_outcome_word("Asymmetrique Profile Index"),
            Some("index")
        );
        assert_eq!(after_outcome_word("What is your current occupation"), None);
        assert_eq!(after_outcome_word("Lastname"), None);
        assert_eq!(after_outcome_word("Statusbar widgets"), None);
    }
}
