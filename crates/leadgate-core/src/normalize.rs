//! Normalisation for matching and search: text in any script folded to one comparable form
//! (Unicode NFKC, case folding, Persian/Arabic letter variants, optionally without
//! diacritics), company names without legal forms, email domains in ASCII, phones in E.164.

use std::collections::HashMap;
use std::sync::LazyLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// One comparable form of `text`: NFKC, lower-cased, Arabic letter variants written the
/// Persian way (ي -> ی, ى -> ی, ك -> ک), tatweel and zero-width joiners removed, runs of
/// space collapsed. Diacritics stay: "Lê" and "Le" differ.
pub fn fold(text: &str) -> String {
    // Dropping a tatweel or lower-casing can leave marks out of canonical order, which the
    // next normalisation would change: fold until nothing changes (once or twice in practice).
    let mut out = fold_once(text);
    if unicode_normalization::is_nfkc_quick(out.chars()) == unicode_normalization::IsNormalized::Yes
    {
        return out;
    }
    for _ in 0..3 {
        let again = fold_once(&out);
        if again == out {
            break;
        }
        out = again;
    }
    out
}

fn fold_once(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkc().flat_map(char::to_lowercase) {
        let Some(c) = letter_variant(c) else { continue };
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// The Persian way of writing Arabic letter variants; `None` for what is not a letter at all
/// (tatweel, zero-width joiners).
fn letter_variant(c: char) -> Option<char> {
    match c {
        '\u{064A}' | '\u{0649}' => Some('\u{06CC}'),
        '\u{0643}' => Some('\u{06A9}'),
        '\u{0640}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => None,
        other => Some(other),
    }
}

/// `fold` without diacritics, for matching what people type without them: "Nguyễn" and
/// "nguyen", "Đặng" and "dang", "Müller" and "muller" become the same.
pub fn fold_loose(text: &str) -> String {
    let stripped: String = fold(text)
        .replace('ß', "ss")
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        // Taking the marks off can uncover a variant (ئ is ي with a hamza).
        .filter_map(letter_variant)
        .map(|c| match c {
            'đ' => 'd',
            'ø' => 'o',
            'ł' => 'l',
            other => other,
        })
        .nfc()
        .collect();
    // A mark that stood alone ("´" is a space and a combining accent) leaves a space behind.
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Legal forms removed from company names before matching, in `fold_loose` form, longest
/// first within each language.
const LEGAL_FORMS: &[&str] = &[
    "gmbh & co kg",
    "gmbh & co. kg",
    "co., ltd",
    "co ltd",
    "pte ltd",
    "pty ltd",
    "sp z o o",
    "s a s",
    "s a",
    "s r l",
    "incorporated",
    "corporation",
    "limited",
    "company",
    "gmbh",
    "inc",
    "ltd",
    "llc",
    "plc",
    "corp",
    "co",
    "ag",
    "kg",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "as",
    "oy",
    "kk",
    "jsc",
    "pjsc",
    "llp",
    "lp",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "株式会社",
    "cong ty co phan",
    "cong ty tnhh",
    "ctcp",
    "tnhh",
    "cong ty",
    "سهامی خاص",
    "سهامی عام",
    "با مسئولیت محدود",
    "شرکت",
];

/// The key under which two spellings of one company match: folded without diacritics,
/// punctuation dropped, legal forms (Inc, Ltd, GmbH, S.A., 有限公司, Công ty TNHH, شرکت ...)
/// removed from either end.
pub fn company_key(name: &str) -> String {
    let cleaned = key_words(&fold_loose(name));
    let mut key = cleaned.clone();
    loop {
        let before = key.len();
        for (form, spaced) in LEGAL_FORM_KEYS.iter() {
            if let Some(rest) = key.strip_suffix(form.as_str()) {
                if !spaced || rest.is_empty() || rest.ends_with(' ') {
                    key = rest.trim_end().to_owned();
                }
            }
            if let Some(rest) = key.strip_prefix(form.as_str()) {
                if !spaced || rest.is_empty() || rest.starts_with(' ') {
                    key = rest.trim_start().to_owned();
                }
            }
        }
        if key.len() == before || key.is_empty() {
            break;
        }
    }
    if key.is_empty() {
        // A name that is only a legal form keeps its folded self.
        return cleaned;
    }
    key
}

/// Words of already folded text, punctuation dropped, one space between.
fn key_words(folded: &str) -> String {
    let mut key = String::with_capacity(folded.len());
    let keep = |c: char| c.is_alphanumeric() || c == '&';
    for word in folded.split(|c: char| !keep(c)).filter(|w| !w.is_empty()) {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(word);
    }
    key
}

/// The legal forms as keys, with whether they stand apart as words (CJK forms are written
/// onto the name): cleaned once, not on every call.
static LEGAL_FORM_KEYS: LazyLock<Vec<(String, bool)>> = LazyLock::new(|| {
    LEGAL_FORMS
        .iter()
        .map(|form| {
            let key = key_words(form);
            let spaced = !key.chars().next().is_some_and(is_cjk);
            (key, spaced)
        })
        .collect()
});

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF)
}

/// An email domain in its ASCII (punycode) form, lower-cased: "Bücher.de" -> "xn--bcher-kva.de".
pub fn domain_ascii(domain: &str) -> Result<String, String> {
    idna::domain_to_ascii(domain.trim())
        .map_err(|e| format!("'{domain}' is not a valid domain ({e})"))
}

/// A phone number in E.164 ("+49301234567"). Numbers without a country code are read in
/// `default_region` (ISO 3166 alpha-2, e.g. "DE"); numbers that cannot exist are refused.
pub fn phone_e164(raw: &str, default_region: Option<&str>) -> Result<String, String> {
    use rlibphonenumber::{enums::Region, PhoneNumberFormat, PHONE_NUMBER_UTIL};
    let region = match default_region {
        Some(code) => Some(
            Region::from_code(&code.trim().to_ascii_uppercase())
                .ok()
                // Any two letters make a `Region`: only those with numbering rules are.
                .filter(|r| PHONE_NUMBER_UTIL.get_country_code_for_region(*r).is_some())
                .ok_or_else(|| format!("'{code}' is not a region code such as DE or VN"))?,
        ),
        None => None,
    };
    let number = PHONE_NUMBER_UTIL
        .parse(raw.trim(), region)
        .map_err(|e| format!("'{raw}' is not a phone number ({e})"))?;
    if !number.is_valid() {
        return Err(format!("'{raw}' is not a valid phone number in its region"));
    }
    Ok(number.format_as(PhoneNumberFormat::E164).to_string())
}

/// A country recognised by [`country`]: its ISO 3166 alpha-2 code and English name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    pub code: String,
    pub name: &'static str,
}

/// The countries, and every way of writing each that the index knows (codes upper-case,
/// names folded by [`country_key`]) with its place in the list.
struct CountryIndex {
    countries: Vec<Country>,
    by_code: HashMap<String, usize>,
    by_name: HashMap<String, usize>,
}

static COUNTRIES: LazyLock<CountryIndex> = LazyLock::new(|| {
    let mut index = CountryIndex {
        countries: Vec::new(),
        by_code: HashMap::new(),
        by_name: HashMap::new(),
    };
    let mut translated = Vec::new();
    for country in keshvar::CountryIterator::new() {
        let at = index.countries.len();
        let translations = country.translations();
        let name: &'static str = translations
            .get("en")
            .copied()
            .unwrap_or(country.iso_short_name());
        let code = country.alpha2().to_string();
        index.by_code.insert(code.clone(), at);
        index.by_code.insert(country.alpha3().to_string(), at);
        let english = [name, country.iso_short_name(), country.iso_long_name()];
        for spelling in english
            .into_iter()
            .chain(country.unofficial_name_list().iter().copied())
        {
            index.by_name.entry(country_key(spelling)).or_insert(at);
        }
        translated.extend(translations.values().map(|t| (country_key(t), at)));
        index.countries.push(Country { code, name });
    }
    // English names first; a translation only where no English name has the spelling.
    for (key, at) in translated {
        index.by_name.entry(key).or_insert(at);
    }
    index
});

/// A name as the country index compares it: folded without diacritics, letters only.
fn country_key(text: &str) -> String {
    fold_loose(text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The country a name or code means, in any language the CLDR names cover ("DE", "DEU",
/// "Deutschland", "德国", "آلمان", "Đức"), or nothing when it is not one.
pub fn country(raw: &str) -> Option<Country> {
    let raw = raw.trim();
    let index = &*COUNTRIES;
    let at = match raw.len() {
        2 | 3 => index.by_code.get(&raw.to_ascii_uppercase()),
        _ => None,
    }
    .or_else(|| index.by_name.get(&country_key(raw)))?;
    Some(index.countries[*at].clone())
}

/// A company's web domain from a website address: "https://www.Acme.com/about" -> "acme.com".
pub fn website_domain(website: &str) -> Option<String> {
    let text = website.trim();
    let text = text.split_once("://").map_or(text, |(_, rest)| rest);
    let host = text
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('@')
        .next()
        .unwrap_or("");
    let host = host.split(':').next().unwrap_or("");
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    if !host.contains('.') {
        return None;
    }
    domain_ascii(host).ok().filter(|d| {
        d.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn latin_text_folds_case_width_and_composition() {
        assert_eq!(fold("  Ana   SILVA "), "ana silva");
        assert_eq!(fold("ＡＢＣ Corp"), "abc corp");
        assert_eq!(
            fold("Cafe\u{0301}"),
            fold("Café"),
            "decomposed and composed é are one"
        );
        assert_eq!(fold_loose("Müller"), "muller");
        assert_eq!(fold_loose("Straße"), "strasse");
    }

    #[test]
    fn chinese_names_keep_their_characters() {
        assert_eq!(fold("王伟"), "王伟");
        assert_eq!(fold_loose("王伟"), "王伟");
        assert!(fold("张伟 王芳").contains("王芳"));
    }

    #[test]
    fn persian_and_arabic_letter_variants_match() {
        assert_eq!(fold("علي"), fold("علی"));
        assert_eq!(fold("كريمي"), fold("کریمی"));
        assert_eq!(fold("مـــریم"), "مریم", "tatweel is not a letter");
        assert_eq!(fold("می\u{200C}خواهم"), "میخواهم");
        assert_eq!(fold_loose("مُحَمَّد"), "محمد", "harakat are diacritics");
    }

    #[test]
    fn vietnamese_matches_with_and_without_diacritics() {
        assert_eq!(fold_loose("Nguyễn Thị Minh Khai"), "nguyen thi minh khai");
        assert_eq!(fold_loose("Đặng Văn Lâm"), "dang van lam");
        assert_ne!(fold("Lê"), fold("Le"), "the strict form keeps them apart");
        assert_eq!(fold_loose("Lê"), fold_loose("Le"));
    }

    #[test]
    fn company_names_lose_their_legal_form() {
        assert_eq!(company_key("Acme, Inc."), "acme");
        assert_eq!(company_key("ACME Inc"), "acme");
        assert_eq!(
            company_key("Tianhe Machinery Co., Ltd."),
            "tianhe machinery"
        );
        assert_eq!(company_key("Siemens AG"), "siemens");
        assert_eq!(company_key("Banco do Brasil S.A."), "banco do brasil");
        assert_eq!(company_key("天河机械有限公司"), "天河机械");
        assert_eq!(company_key("华为技术股份有限公司"), "华为技术");
        assert_eq!(company_key("Công ty TNHH Saigon Express"), "saigon express");
        assert_eq!(company_key("CÔNG TY CỔ PHẦN Hòa Bình"), "hoa binh");
        assert_eq!(
            company_key("شرکت پارس بازار"),
            company_key("شركت پارس بازار")
        );
        assert_eq!(company_key("شرکت پارس بازار"), "پارس بازار");
        assert_eq!(
            company_key("Cohesity"),
            "cohesity",
            "a name that starts like a legal form keeps it"
        );
        assert_eq!(
            company_key("Inc."),
            "inc",
            "a name that is only a legal form keeps it"
        );
    }

    #[test]
    fn countries_from_codes_and_names_in_any_script() {
        let name = |raw: &str| country(raw).map(|c| c.name);
        for raw in [
            "DE",
            "deu",
            "Germany",
            "germany ",
            "Deutschland",
            "德国",
            "آلمان",
            "Đức",
        ] {
            assert_eq!(name(raw), Some("Germany"), "{raw}");
        }
        for raw in [
            "VN",
            "Viet Nam",
            "Vietnam",
            "Việt Nam",
            "viet nam",
            "越南",
            "ویتنام",
        ] {
            assert_eq!(name(raw), Some("Vietnam"), "{raw}");
        }
        for raw in ["CN", "中国", "China"] {
            assert_eq!(name(raw), Some("China"), "{raw}");
        }
        // Arabic and Persian spellings of Iran (ي/ی differ only in the letter variant).
        assert_eq!(name("ایران"), Some("Iran"));
        assert_eq!(name("ايران"), Some("Iran"));
        assert_eq!(name("USA"), Some("United States"));
        assert_eq!(name("United States of America"), Some("United States"));
        assert_eq!(country("UK").map(|c| c.code), Some("GB".to_owned()));
        assert_eq!(country("India").map(|c| c.code), Some("IN".to_owned()));
        for unknown in ["", "unknown", "Asia/Pacific Region", "XX", "Atlantis"] {
            assert_eq!(country(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn website_domains() {
        assert_eq!(
            website_domain("https://www.Acme.com/about?x=1").as_deref(),
            Some("acme.com")
        );
        assert_eq!(website_domain("acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(
            website_domain("http://user@shop.example.org:8080").as_deref(),
            Some("shop.example.org")
        );
        assert_eq!(
            website_domain("bücher.de").as_deref(),
            Some("xn--bcher-kva.de")
        );
        for bad in ["", "localhost", "not a site", "http://", "a..b"] {
            assert_eq!(website_domain(bad), None, "{bad}");
        }
    }

    #[test]
    fn domains_and_phones() {
        assert_eq!(domain_ascii("Bücher.de").unwrap(), "xn--bcher-kva.de");
        assert_eq!(domain_ascii("例子.中国").unwrap(), "xn--fsqu00a.xn--fiqs8s");
        assert_eq!(
            phone_e164("030 1234567", Some("de")).unwrap(),
            "+49301234567"
        );
        assert_eq!(
            phone_e164("+84 28 3822 1111", None).unwrap(),
            "+842838221111"
        );
        assert_eq!(
            phone_e164("(415) 555-2671", Some("US")).unwrap(),
            "+14155552671"
        );
        assert!(phone_e164("12", Some("DE")).is_err());
        assert!(
            phone_e164("030 1234567", None).is_err(),
            "no region, no country code"
        );
        assert!(phone_e164("030 1234567", Some("XX"))
            .unwrap_err()
            .contains("region code"));
    }

    #[test]
    fn a_lone_accent_leaves_no_space() {
        assert_eq!(fold_loose("0´"), "0");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn folding_is_idempotent(text in "\\PC{0,40}") {
            let once = fold(&text);
            prop_assert_eq!(fold(&once), once.clone());
            let loose = fold_loose(&text);
            prop_assert_eq!(fold_loose(&loose), loose);
        }

        #[test]
        fn company_keys_never_panic_and_are_stable(name in "\\PC{0,40}") {
            let key = company_key(&name);
            prop_assert_eq!(company_key(&key), key.clone());
        }

        /// Any text, typed or shaped like a number: an E.164 number that reads back as
        /// itself, or a refusal; never a panic.
        #[test]
        fn phones_are_e164_and_stable_or_refused(
            raw in prop_oneof!["\\PC{0,30}", "[+]?[0-9 ()./-]{0,20}"],
            region in prop_oneof![Just(None), Just(Some("DE")), Just(Some("US")), Just(Some("VN"))],
        ) {
            if let Ok(e164) = phone_e164(&raw, region) {
                prop_assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()), "{}", e164);
                prop_assert_eq!(phone_e164(&e164, None), Ok(e164.clone()));
            }
        }
    }
}
