//! Feature values in business words, for explanations ("viewed /pricing 4 times").

use crate::features::Raw;

/// What a lead's value of one feature was, in words.
pub fn describe(feature: &str, raw: Option<&Raw>) -> String {
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
        "has_phone" | "has_email" => {
            format!("{label}: {}", if value == "1" { "yes" } else { "no" })
        }
        _ => format!("{label} is {value}"),
    }
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
