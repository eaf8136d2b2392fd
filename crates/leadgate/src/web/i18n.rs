//! The dashboard's languages: one TOML file per locale in `web/locales/` (adding a language
//! is adding a file here and to `FILES`), with its number and date formats and direction.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Every locale's file, embedded; English is the fallback for a missing key.
const FILES: &[(&str, &str)] = &[
    ("en", include_str!("locales/en.toml")),
    ("zh-CN", include_str!("locales/zh-CN.toml")),
];

/// The locales users may choose.
pub const LOCALES: &[&str] = &["en", "zh-CN"];

pub fn is_supported(locale: &str) -> bool {
    LOCALES.contains(&locale)
}

/// One locale's strings, flattened to dotted keys.
#[derive(Debug)]
pub struct Catalog {
    pub locale: &'static str,
    strings: HashMap<String, String>,
}

fn flatten(prefix: &str, table: &toml::Table, into: &mut HashMap<String, String>) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(t) => flatten(&name, t, into),
            toml::Value::String(s) => {
                into.insert(name, s.clone());
            }
            other => {
                into.insert(name, other.to_string());
            }
        }
    }
}

fn catalogs() -> &'static [Catalog] {
    static ALL: OnceLock<Vec<Catalog>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|(locale, text)| {
                // The files are part of the binary and checked by a test: a broken one is a
                // build mistake, not input.
                let table: toml::Table = text
                    .parse()
                    .unwrap_or_else(|e| panic!("locale file {locale} is not TOML: {e}"));
                let mut strings = HashMap::new();
                flatten("", &table, &mut strings);
                Catalog { locale, strings }
            })
            .collect()
    })
}

/// The catalog for a locale (English when unknown).
pub fn catalog(locale: &str) -> &'static Catalog {
    let all = catalogs();
    all.iter().find(|c| c.locale == locale).unwrap_or(&all[0])
}

impl Catalog {
    /// The text for `key`, falling back to English, then to the key itself.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings
            .get(key)
            .or_else(|| catalogs()[0].strings.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// `t` with `{name}` placeholders filled in.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// `ltr` or `rtl`: the page direction of this language.
    pub fn dir(&self) -> &str {
        self.t("format.direction")
    }

    /// A whole number with the locale's grouping.
    pub fn int(&self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = self.t("format.thousands");
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        if n < 0 {
            format!("-{out}")
        } else {
            out
        }
    }

    /// A number with `decimals` places, grouped, with the locale's decimal mark.
    pub fn num(&self, x: f64, decimals: usize) -> String {
        if !x.is_finite() {
            return "-".into();
        }
        let text = format!("{:.*}", decimals, x.abs());
        let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
        let whole: i64 = whole.parse().unwrap_or(0);
        let sign = if x < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
            "-"
        } else {
            ""
        };
        if frac.is_empty() {
            format!("{sign}{}", self.int(whole))
        } else {
            format!(
                "{sign}{}{}{frac}",
                self.int(whole),
                self.t("format.decimal")
            )
        }
    }

    /// A share as a percentage (`0.125` -> `12.5%`).
    pub fn pct(&self, share: f64) -> String {
        format!("{}%", self.num(share * 100.0, 1))
    }

    /// The day `at` falls on in `zone`.
    pub fn date(&self, at: &DateTime<Utc>, zone: Tz) -> String {
        at.with_timezone(&zone)
            .format(self.t("format.date"))
            .to_string()
    }

    /// `at` as the clock in `zone` shows it.
    pub fn datetime(&self, at: &DateTime<Utc>, zone: Tz) -> String {
        at.with_timezone(&zone)
            .format(self.t("format.datetime"))
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_every_english_key_and_no_stray_ones() {
        let en = catalog("en");
        for locale in LOCALES {
            let other = catalog(locale);
            assert_eq!(other.locale, *locale, "{locale} is listed in FILES");
            let mut missing: Vec<&String> = en
                .strings
                .keys()
                .filter(|k| !other.strings.contains_key(*k))
                .collect();
            missing.sort();
            assert!(missing.is_empty(), "{locale} lacks {missing:?}");
            let mut stray: Vec<&String> = other
                .strings
                .keys()
                .filter(|k| !en.strings.contains_key(*k))
                .collect();
            stray.sort();
            assert!(
                stray.is_empty(),
                "{locale} has keys English lacks: {stray:?}"
            );
        }
    }

    #[test]
    fn numbers_and_dates_follow_the_locale() {
        let en = catalog("en");
        assert_eq!(en.int(1234567), "1,234,567");
        assert_eq!(en.int(-999), "-999");
        assert_eq!(en.num(1234.5, 1), "1,234.5");
        assert_eq!(en.num(-0.04, 1), "0.0");
        assert_eq!(en.pct(0.125), "12.5%");
        let zh = catalog("zh-CN");
        let at: DateTime<Utc> = "2026-11-25T09:05:00Z".parse().unwrap();
        assert_eq!(zh.date(&at, Tz::UTC), "2026年11月25日");
        assert_eq!(en.date(&at, Tz::UTC), "25 Nov 2026");
        // The same instant on the clocks of Shanghai and Los Angeles (a day apart).
        let late: DateTime<Utc> = "2026-11-25T20:30:00Z".parse().unwrap();
        assert_eq!(en.datetime(&late, Tz::UTC), "25 Nov 2026 20:30 UTC");
        assert_eq!(
            en.datetime(&late, Tz::Asia__Shanghai),
            "26 Nov 2026 04:30 CST"
        );
        assert_eq!(
            zh.datetime(&late, Tz::Asia__Tehran),
            "2026年11月26日 00:00 +0330"
        );
        assert_eq!(en.date(&late, Tz::Asia__Shanghai), "26 Nov 2026");
        assert_eq!(en.date(&at, Tz::America__Los_Angeles), "25 Nov 2026");
        assert_eq!(
            en.date(
                &"2026-11-25T03:00:00Z".parse().unwrap(),
                Tz::America__Los_Angeles
            ),
            "24 Nov 2026"
        );
        assert_eq!(catalog("xx").locale, "en");
        assert_eq!(en.t("no.such.key"), "no.such.key");
        assert_eq!(
            en.tf("inbox.overdue_tasks", &[("count", "3")]),
            "3 overdue tasks"
        );
    }
}
