//! The dashboard's languages: one TOML file per locale in `web/locales/` (adding a language
//! is adding a file here and to `FILES`), with its number and date formats, direction and
//! plural rules.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use intl_pluralrules::{PluralCategory, PluralRuleType, PluralRules};
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

/// The cookie that remembers the language of a browser (set at sign-in, by the language
/// menu and by the sign-in page's language links), for pages answered before a session is
/// read: the sign-in page and error pages.
pub const LANGUAGE_COOKIE: &str = "lg_lang";

tokio::task_local! {
    static REQUEST_CATALOG: &'static Catalog;
}

/// The language of the request being answered (see `in_request_language`); English outside
/// a request.
pub fn request_catalog() -> &'static Catalog {
    REQUEST_CATALOG
        .try_with(|c| *c)
        .unwrap_or_else(|_| catalog("en"))
}

/// The language a browser asks for: its language cookie, else the first language of its
/// `Accept-Language` that Leadgate speaks (`zh`, `zh-Hans` and `zh-TW` read as `zh-CN`),
/// else English.
pub fn negotiate(headers: &axum::http::HeaderMap) -> &'static Catalog {
    let cookie = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANGUAGE_COOKIE)
        .map(|(_, value)| value.to_owned());
    if let Some(locale) = cookie.filter(|l| is_supported(l)) {
        return catalog(&locale);
    }
    let accepted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for tag in accepted.split(',') {
        let tag = tag.split(';').next().unwrap_or("").trim();
        let language = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        if let Some(locale) = LOCALES
            .iter()
            .find(|l| l.eq_ignore_ascii_case(tag) || l.split('-').next() == Some(&language))
        {
            return catalog(locale);
        }
    }
    catalog("en")
}

/// Answers a request in the language the browser asks for (`negotiate`): the sign-in page
/// and error pages read it through `request_catalog`.
pub async fn in_request_language(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let language = negotiate(request.headers());
    REQUEST_CATALOG.scope(language, next.run(request)).await
}

/// One locale's strings, flattened to dotted keys. A text about a number of things is a
/// table of the CLDR plural forms the language has (`one`, `few`, ..., always `other`).
pub struct Catalog {
    pub locale: &'static str,
    strings: HashMap<String, String>,
    plurals: PluralRules,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

/// The key of a plural form under a text's key.
fn form_name(category: PluralCategory) -> &'static str {
    match category {
        PluralCategory::ZERO => "zero",
        PluralCategory::ONE => "one",
        PluralCategory::TWO => "two",
        PluralCategory::FEW => "few",
        PluralCategory::MANY => "many",
        PluralCategory::OTHER => "other",
    }
}

/// The cardinal plural rules of a locale's language (CLDR's, by language: `zh-CN` -> `zh`).
fn plural_rules(locale: &str) -> PluralRules {
    let language = locale.split('-').next().unwrap_or(locale);
    // The locales are this file's own list, each a language CLDR knows (a test checks it).
    language
        .parse::<unic_langid::LanguageIdentifier>()
        .ok()
        .and_then(|id| PluralRules::create(id, PluralRuleType::CARDINAL).ok())
        .unwrap_or_else(|| panic!("no plural rules for locale {locale}"))
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
                Catalog {
                    locale,
                    strings,
                    plurals: plural_rules(locale),
                }
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

    /// Every key and text of this language (English's where it has none).
    pub fn texts(&self) -> impl Iterator<Item = (&str, &str)> {
        catalogs()[0]
            .strings
            .keys()
            .map(|k| (k.as_str(), self.t(k)))
    }

    /// `t` with `{name}` placeholders filled in.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// `tf` for a text about `count` things: the plural form the language's rules pick for
    /// the number (`other` when the text has no such form), `{count}` filled in grouped.
    pub fn count(&self, key: &str, count: i64, args: &[(&str, &str)]) -> String {
        let form = self.plural_form(key, count);
        let grouped = self.int(count);
        let mut all = vec![("count", grouped.as_str())];
        all.extend_from_slice(args);
        self.tf(&form, &all)
    }

    /// The key of the form of `key` for `count` (`key.other` when it has no such form).
    fn plural_form(&self, key: &str, count: i64) -> String {
        let category = self.plurals.select(count).unwrap_or(PluralCategory::OTHER);
        let form = format!("{key}.{}", form_name(category));
        if self.strings.contains_key(&form) {
            form
        } else {
            format!("{key}.other")
        }
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

    /// Hours as analytics round them (two significant figures, tenths under ten): `910`,
    /// `2.5`, with no decimals the rounding does not have.
    pub fn hours(&self, hours: f64) -> String {
        self.num(hours, if hours.abs() < 10.0 { 1 } else { 0 })
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

    /// The plural texts: English keys `x.other` give `x`.
    /// The texts with plural forms: a table whose keys are all CLDR form names (a table of
    /// names that merely holds an `other`, as the channels do, is not one).
    fn plural_keys() -> Vec<String> {
        let strings = &catalog("en").strings;
        let forms = ["zero", "one", "two", "few", "many", "other"];
        let mut keys: Vec<String> = strings
            .keys()
            .filter_map(|k| k.strip_suffix(".other").map(str::to_owned))
            .filter(|base| {
                strings.keys().all(|k| {
                    k.strip_prefix(base.as_str())
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_none_or(|form| forms.contains(&form))
                })
            })
            .collect();
        keys.sort();
        keys
    }

    fn is_plural_form(key: &str, plurals: &[String]) -> bool {
        key.rsplit_once('.')
            .is_some_and(|(base, _)| plurals.iter().any(|p| p == base))
    }

    #[test]
    fn every_locale_has_every_english_key_and_no_stray_ones() {
        let en = catalog("en");
        let plurals = plural_keys();
        for locale in LOCALES {
            let other = catalog(locale);
            assert_eq!(other.locale, *locale, "{locale} is listed in FILES");
            let mut missing: Vec<&String> = en
                .strings
                .keys()
                .filter(|k| !is_plural_form(k, &plurals) && !other.strings.contains_key(*k))
                .collect();
            missing.sort();
            assert!(missing.is_empty(), "{locale} lacks {missing:?}");
            let mut stray: Vec<&String> = other
                .strings
                .keys()
                .filter(|k| !is_plural_form(k, &plurals) && !en.strings.contains_key(*k))
                .collect();
            stray.sort();
            assert!(
                stray.is_empty(),
                "{locale} has keys English lacks: {stray:?}"
            );
        }
    }

    /// Every plural text has, in every locale, each form the language's rules pick for the
    /// numbers a page shows, and no form they never pick.
    #[test]
    fn every_plural_text_has_the_forms_its_language_uses() {
        let plurals = plural_keys();
        assert!(!plurals.is_empty());
        for locale in LOCALES {
            let catalog = catalog(locale);
            for key in &plurals {
                let mut used = std::collections::BTreeSet::new();
                for n in (0..=1000).chain([1_000_000, 1_000_001]) {
                    let category = catalog.plurals.select(n).expect("a whole number");
                    used.insert(format!("{key}.{}", form_name(category)));
                }
                used.insert(format!("{key}.other"));
                let mut have: Vec<&String> = catalog
                    .strings
                    .keys()
                    .filter(|k| k.rsplit_once('.').is_some_and(|(base, _)| base == key))
                    .collect();
                have.sort();
                let used: Vec<&String> = used.iter().collect();
                assert_eq!(have, used, "{locale}: the forms of {key}");
            }
        }
    }

    #[test]
    fn a_browser_is_answered_in_the_language_it_asks_for() {
        let asked = |pairs: &[(&str, &str)]| {
            let mut headers = axum::http::HeaderMap::new();
            for (name, value) in pairs {
                headers.append(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            negotiate(&headers).locale
        };
        assert_eq!(asked(&[]), "en");
        assert_eq!(
            asked(&[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")]),
            "zh-CN"
        );
        assert_eq!(asked(&[("accept-language", "zh-TW")]), "zh-CN");
        assert_eq!(asked(&[("accept-language", "fr-FR, de;q=0.5")]), "en");
        assert_eq!(asked(&[("accept-language", "fr, zh;q=0.5")]), "zh-CN");
        // The cookie (a person's choice) wins; a cookie naming no language is ignored.
        assert_eq!(
            asked(&[("accept-language", "zh-CN"), ("cookie", "a=1; lg_lang=en")]),
            "en"
        );
        assert_eq!(
            asked(&[("cookie", "lg_lang=xx"), ("accept-language", "zh")]),
            "zh-CN"
        );
    }

    #[test]
    fn counts_take_the_plural_form_of_their_number() {
        let en = catalog("en");
        assert_eq!(en.count("inbox.overdue_tasks", 1, &[]), "1 overdue task");
        assert_eq!(
            en.count("inbox.overdue_tasks", 1200, &[]),
            "1,200 overdue tasks"
        );
        let zh = catalog("zh-CN");
        assert_eq!(zh.count("inbox.overdue_tasks", 1, &[]), "1 项任务已逾期");
    }

    #[test]
    fn numbers_and_dates_follow_the_locale() {
        let en = catalog("en");
        assert_eq!(en.int(1234567), "1,234,567");
        assert_eq!(en.int(-999), "-999");
        assert_eq!(en.num(1234.5, 1), "1,234.5");
        assert_eq!(en.num(-0.04, 1), "0.0");
        assert_eq!(en.pct(0.125), "12.5%");
        assert_eq!(en.hours(910.0), "910");
        assert_eq!(en.hours(1200.0), "1,200");
        assert_eq!(en.hours(2.5), "2.5");
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
            en.tf("inbox.overdue_tasks.other", &[("count", "3")]),
            "3 overdue tasks"
        );
    }
}
