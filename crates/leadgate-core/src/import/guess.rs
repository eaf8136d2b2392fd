//! A mapping guessed from a file's header (and a sample of its rows, for the types of custom
//! columns), printed so the user can save, correct and reuse it.

use super::mapping::{ColumnSpec, Mapping, ValueKind};
use super::row::{parse_bool, parse_date, parse_integer, parse_number};
use crate::normalize::fold_loose;
use crate::source::Channel;
use std::collections::BTreeMap;

/// Cells that forms and CRMs export for "no answer": left empty in every column.
const PLACEHOLDERS: [&str; 8] = [
    "select",
    "select...",
    "please select",
    "-- select --",
    "n/a",
    "#n/a",
    "null",
    "请选择",
];

/// Header names (folded, with separators removed) and the field each means.
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "external_id",
        &[
            "id",
            "externalid",
            "leadid",
            "recordid",
            "prospectid",
            "crmid",
            "contactid",
        ],
    ),
    (
        "first_name",
        &["firstname", "givenname", "first", "forename", "名"],
    ),
    (
        "last_name",
        &["lastname", "surname", "familyname", "last", "姓"],
    ),
    (
        "email",
        &[
            "email",
            "emailaddress",
            "mail",
            "e-mail",
            "emailaddr",
            "邮箱",
            "电子邮件",
            "ایمیل",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "mobilephone",
            "电话",
            "手机",
            "تلفن",
        ],
    ),
    (
        "job_title",
        &["title", "jobtitle", "position", "role", "职位", "chucvu"],
    ),
    (
        "country",
        &[
            "country",
            "countryname",
            "nation",
            "国家",
            "quocgia",
            "کشور",
        ],
    ),
    (
        "company",
        &[
            "company",
            "companyname",
            "organisation",
            "organization",
            "account",
            "accountname",
            "公司",
            "congty",
            "شرکت",
        ],
    ),
    ("industry", &["industry", "sector", "行业"]),
    (
        "company_size",
        &[
            "companysize",
            "employees",
            "headcount",
            "numberofemployees",
            "size",
        ],
    ),
    ("website", &["website", "url", "web", "homepage", "domain"]),
    (
        "product_need",
        &[
            "need",
            "productneed",
            "interest",
            "product",
            "productinterest",
        ],
    ),
    ("budget", &["budget", "预算"]),
    (
        "purchase_timeframe",
        &[
            "timeframe",
            "timeline",
            "purchasetimeframe",
            "purchasetimeline",
        ],
    ),
    (
        "current_solution",
        &["currentsolution", "currenttool", "incumbent"],
    ),
    ("pains", &["pain", "pains", "painpoints", "challenges"]),
    (
        "owner",
        &["owner", "leadowner", "assignedto", "rep", "salesrep"],
    ),
    (
        "stage",
        &["stage", "lifecyclestage", "leadstatus", "status"],
    ),
    ("channel", &["channel", "leadchannel"]),
    ("campaign", &["campaign", "campaignname"]),
    ("utm_source", &["utmsource", "leadsource", "source"]),
    ("utm_medium", &["utmmedium", "medium"]),
    ("utm_campaign", &["utmcampaign"]),
    ("utm_term", &["utmterm", "keyword"]),
    ("utm_content", &["utmcontent"]),
    ("referrer", &["referrer", "referer", "referringurl"]),
    ("landing_page", &["landingpage", "landingurl"]),
    (
        "outcome",
        &["outcome", "converted", "won", "result", "closedwon"],
    ),
    (
        "outcome_value",
        &["dealvalue", "amount", "revenue", "wonvalue"],
    ),
    (
        "lost_reason",
        &[
            "lostreason",
            "reasonlost",
            "lossreason",
            "closedlostreason",
            "whylost",
        ],
    ),
    (
        "outcome_at",
        &[
            "outcomeat",
            "outcomedate",
            "closedat",
            "closedate",
            "closeddate",
            "dateclosed",
            "wonat",
            "wondate",
            "converteddate",
            "conversiondate",
        ],
    ),
    (
        "created_at",
        &[
            "createdat",
            "created",
            "createddate",
            "createdon",
            "date",
            "leaddate",
        ],
    ),
];

/// What a header means with separators and case removed: "E-Mail Address" -> "emailaddress".
fn compact(header: &str) -> String {
    fold_loose(header)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// A custom key from a header: "Total Time Spent on Website" -> "total_time_spent_on_website".
fn custom_key(header: &str) -> String {
    let folded = fold_loose(header.trim());
    let mut key = String::new();
    for c in folded.chars() {
        if c.is_alphanumeric() {
            key.push(c);
        } else if !key.ends_with('_') && !key.is_empty() {
            key.push('_');
        }
    }
    let key = key.trim_end_matches('_').to_owned();
    key.chars().take(100).collect()
}

/// Guesses a mapping from the header and up to a few thousand sample rows. Known names become
/// lead fields; the rest become `custom.<key>` with a type the sample agrees on; unnamed
/// columns are ignored.
pub fn guess(header: &[String], sample: &[Vec<String>]) -> Mapping {
    let mut columns = Vec::new();
    let mut taken: Vec<&str> = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let compacted = compact(name);
        let known = SYNONYMS
            .iter()
            .find(|(field, names)| !taken.contains(field) && names.contains(&compacted.as_str()))
            .map(|(field, _)| *field);
        let values: Vec<&str> = sample
            .iter()
            .filter_map(|row| row.get(index).map(|v| v.trim()))
            .filter(|v| !v.is_empty())
            .collect();
        let spec = match known {
            Some(field) => {
                taken.push(field);
                if field == "utm_source" && !taken.contains(&"channel") {
                    // A source written in words is also the channel analytics groups by.
                    if let Some(channel) = channel_of(name, &values) {
                        taken.push("channel");
                        columns.push(channel);
                    }
                }
                ColumnSpec {
                    name: name.clone(),
                    field: field.to_owned(),
                    ..ColumnSpec::default()
                }
            }
            None if compacted.is_empty() => ColumnSpec {
                name: name.clone(),
                field: "ignore".into(),
                ..ColumnSpec::default()
            },
            None => {
                let key = custom_key(name);
                let kind = kind_of(&values);
                ColumnSpec {
                    name: name.clone(),
                    field: format!("custom.{key}"),
                    kind: (kind != ValueKind::Text).then_some(kind),
                    ..ColumnSpec::default()
                }
            }
        };
        columns.push(spec);
    }
    let null_values = PLACEHOLDERS
        .iter()
        .filter(|p| {
            sample
                .iter()
                .flatten()
                .any(|cell| cell.trim().to_lowercase() == **p)
        })
        .map(|p| (*p).to_owned())
        .collect();
    Mapping {
        columns,
        null_values,
        ..Mapping::default()
    }
}

/// A channel column from a source column's sampled values: each value the words of which
/// name a channel is mapped to it, the rest to `other`; `None` when no value names one.
fn channel_of(name: &str, values: &[&str]) -> Option<ColumnSpec> {
    let mut mapped = BTreeMap::new();
    for value in values {
        if PLACEHOLDERS.contains(&value.to_lowercase().as_str()) {
            continue;
        }
        if let Some(channel) = Channel::read_from_words(value) {
            mapped.insert((*value).to_owned(), channel.as_str().to_owned());
        }
    }
    (!mapped.is_empty()).then(|| ColumnSpec {
        name: name.to_owned(),
        field: "channel".into(),
        values: mapped,
        unmapped: Some(Channel::Other.as_str().into()),
        ..ColumnSpec::default()
    })
}

/// The narrowest type every sampled value reads as (text when there are none).
fn kind_of(values: &[&str]) -> ValueKind {
    if values.is_empty() {
        return ValueKind::Text;
    }
    let all = |f: &dyn Fn(&str) -> bool| values.iter().all(|v| f(v));
    if all(&|v| parse_integer(v).is_ok() && !v.contains(',')) {
        // 0/1 columns are flags more often than counts, but a count is the safer reading.
        ValueKind::Integer
    } else if all(&|v| parse_number(v).is_ok() && !v.contains(',')) {
        ValueKind::Number
    } else if all(&|v| parse_bool(v).is_ok()) {
        ValueKind::Bool
    } else if all(&|v| parse_date(v, None).is_ok()) {
        ValueKind::Date
    } else {
        ValueKind::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn known_headers_become_fields_and_the_rest_custom_with_types() {
        let header = strings(&[
            "E-Mail Address",
            "First Name",
            "Company Name",
            "Total Visits",
            "Do Not Call",
            "Page Views Per Visit",
            "Signed up",
            "Notes",
            "",
            "Phone Number",
            "Lead Source",
        ]);
        let sample = vec![
            strings(&[
                "a@b.io",
                "Ana",
                "Acme",
                "3",
                "No",
                "2.5",
                "2026-01-02",
                "hi",
                "",
                "+1 555",
                "Google",
            ]),
            strings(&[
                "c@d.io",
                "Bo",
                "",
                "",
                "Yes",
                "1",
                "2026-02-03",
                "",
                "",
                "",
                "Direct",
            ]),
        ];
        let mapping = guess(&header, &sample);
        let fields: Vec<(&str, Option<ValueKind>)> = mapping
            .columns
            .iter()
            .map(|c| (c.field.as_str(), c.kind))
            .collect();
        assert_eq!(
            fields,
            [
                ("email", None),
                ("first_name", None),
                ("company", None),
                ("custom.total_visits", Some(ValueKind::Integer)),
                ("custom.do_not_call", Some(ValueKind::Bool)),
                ("custom.page_views_per_visit", Some(ValueKind::Number)),
                ("custom.signed_up", Some(ValueKind::Date)),
                ("custom.notes", None),
                ("ignore", None),
                ("phone", None),
                ("channel", None),
                ("utm_source", None),
            ]
        );
        let channel = &mapping.columns[10];
        assert_eq!(channel.values["Google"], "search_ad");
        assert_eq!(channel.values["Direct"], "web_form");
        assert_eq!(channel.unmapped.as_deref(), Some("other"));
        // What is guessed binds to the same file.
        assert!(mapping.bind(&header).is_ok());
    }

    #[test]
    fn placeholder_answers_are_guessed_as_no_answer() {
        let header = strings(&["Email", "City", "Specialization"]);
        let sample = vec![
            strings(&["a@b.io", "Select", "Finance"]),
            strings(&["c@d.io", "Mumbai", "Select"]),
        ];
        let mapping = guess(&header, &sample);
        assert_eq!(mapping.null_values, ["select"]);
        let bound = mapping.bind(&header).unwrap();
        let row = bound.read_row(&["a@b.io", "Select", "Finance"]).unwrap();
        assert!(
            row.lead.custom.get("city").is_none(),
            "{:?}",
            row.lead.custom
        );
    }

    #[test]
    fn headers_in_other_scripts_are_recognised() {
        let mapping = guess(&strings(&["邮箱", "公司", "Công ty", "ایمیل"]), &[]);
        let fields: Vec<&str> = mapping.columns.iter().map(|c| c.field.as_str()).collect();
        // A field is guessed once; a second column for it stays custom.
        assert_eq!(
            fields,
            ["email", "company", "custom.cong_ty", "custom.ایمیل"]
        );
    }
}
