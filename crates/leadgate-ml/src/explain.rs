//! Feature values in business words, for explanations ("viewed /pricing 4 times").

use crate::encode::{Column, ColumnKind};
use crate::features::Raw;

/// What a lead's value of one of the model's columns was, in words.
pub fn describe(column: &Column, raw: Option<&Raw>) -> String {
    let feature = column.name.as_str();
    let label = label(feature);
    let Some(raw) = raw else {
        // Pages are counted only where viewed: no count is no visit.
        if let Some(page) = feature.strip_prefix("pages.") {
            return format!("did not view {page}");
        }
        return format!("{label}: unknown");
    };
    let value = match raw {
        Raw::Text(t) => t.to_string(),
        Raw::Num(n) => number(*n),
    };
    if !column.knows(raw) {
        // Named as the model saw it: it knows nothing of this value beyond its rarity.
        return format!("{label} is a value too rare to learn from ({value})");
    }
    if column.kind == ColumnKind::YesNo {
        let answer = if matches!(raw, Raw::Num(n) if *n == 1.0) {
            "yes"
        } else {
            "no"
        };
        return format!("{label}: {answer}");
    }
    if let Some(page) = feature.strip_prefix("pages.") {
        return format!("viewed {page} {value} times");
    }
    if let Some(rest) = feature.strip_prefix("events.") {
        let (kind, window) = match rest.rsplit_once('.') {
            Some((kind, days)) if days.ends_with('d') => {
                (kind, format!(" in {} days", &days[..days.len() - 1]))
            }
            _ => (rest, String::new()),
        };
        return format!("{} {value} times{window}", verb(kind));
    }
    match feature {
        "days_since_activity" => format!("last active {value} days before"),
        "age_days" => format!("known for {value} days"),
        "time_on_site_seconds" => format!("{value} seconds on the website"),
        _ => match unit_of(feature) {
            Some((unit, rest)) => format!("{} is {value} {unit}", self::label(rest)),
            None => format!("{label} is {value}"),
        },
    }
}

/// A duration named with its unit (`custom.call_minutes`): the unit, and the name without it.
fn unit_of(feature: &str) -> Option<(&'static str, &str)> {
    const UNITS: [(&str, &str); 8] = [
        ("_seconds", "seconds"),
        ("_secs", "seconds"),
        ("_minutes", "minutes"),
        ("_mins", "minutes"),
        ("_hours", "hours"),
        ("_days", "days"),
        ("_weeks", "weeks"),
        ("_months", "months"),
    ];
    UNITS
        .iter()
        .find_map(|(suffix, unit)| feature.strip_suffix(suffix).map(|rest| (*unit, rest)))
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.1}")
    }
}

fn verb(kind: &str) -> &str {
    match kind {
        "form_submitted" => "submitted a form",
        "page_viewed" => "viewed pages",
        "content_downloaded" => "downloaded content",
        "email_opened" => "opened emails",
        "email_clicked" => "clicked in emails",
        "webinar_attended" => "attended webinars",
        other => other,
    }
}

/// A feature's name as people say it: `custom.what_matters_most` is "what matters most".
pub fn label(feature: &str) -> String {
    let base = feature.strip_prefix("custom.").unwrap_or(feature);
    let base = match base {
        "first_touch.channel" => "first channel",
        "last_touch.channel" => "latest channel",
        "first_touch.source_class" => "source class",
        "has_phone" => "phone known",
        "has_email" => "email known",
        other => other,
    };
    base.replace("first_touch.", "first touch ")
        .replace(['_', '.'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(name: &str) -> Column {
        Column {
            name: name.into(),
            kind: ColumnKind::Numeric,
        }
    }

    fn text(name: &str) -> Column {
        Column {
            name: name.into(),
            kind: ColumnKind::Category {
                rates: [
                    ("better career prospects".to_string(), 0.4),
                    ("referral".to_string(), 0.5),
                ]
                .into(),
                other: 0.3,
            },
        }
    }

    fn describe(feature: &str, raw: Option<&Raw>) -> String {
        let column = if matches!(raw, Some(Raw::Text(_))) {
            text(feature)
        } else {
            numeric(feature)
        };
        super::describe(&column, raw)
    }

    #[test]
    fn rare_values_yes_no_answers_and_durations_are_said_as_the_model_knows_them() {
        assert_eq!(
            super::describe(&text("country"), Some(&Raw::Text("Russia".into()))),
            "country is a value too rare to learn from (Russia)"
        );
        let flag = Column {
            name: "custom.do_not_email".into(),
            kind: ColumnKind::YesNo,
        };
        assert_eq!(
            super::describe(&flag, Some(&Raw::Num(1.0))),
            "do not email: yes"
        );
        assert_eq!(
            super::describe(&flag, Some(&Raw::Num(0.0))),
            "do not email: no"
        );
        assert_eq!(
            describe("custom.call_minutes", Some(&Raw::Num(12.0))),
            "call is 12 minutes"
        );
        assert_eq!(
            describe("custom.time_spent_seconds", Some(&Raw::Num(95.0))),
            "time spent is 95 seconds"
        );
    }

    #[test]
    fn features_read_as_business_words() {
        assert_eq!(
            describe("pages./pricing", Some(&Raw::Num(4.0))),
            "viewed /pricing 4 times"
        );
        assert_eq!(
            describe("events.page_viewed.7d", Some(&Raw::Num(3.0))),
            "viewed pages 3 times in 7 days"
        );
        assert_eq!(
            describe(
                "custom.what_matters_most",
                Some(&Raw::Text("Better Career Prospects".into()))
            ),
            "what matters most is Better Career Prospects"
        );
        assert_eq!(
            describe("custom.total_visits", None),
            "total visits: unknown"
        );
        assert_eq!(
            describe("first_touch.channel", Some(&Raw::Text("referral".into()))),
            "first channel is referral"
        );
        assert_eq!(
            describe("custom.page_views_per_visit", Some(&Raw::Num(2.5))),
            "page views per visit is 2.5"
        );
    }
}
