//! Validated value types: once built, an `Email` is an address and a `Text` fits its limit.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a raw value was refused; the caller adds the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn invalid(reason: impl Into<String>) -> InvalidValue {
    InvalidValue(reason.into())
}

/// Trimmed, non-empty text of at most `max` characters, with no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(raw: &str, max: usize) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("must not be empty (send null to clear it)"));
        }
        let chars = trimmed.chars().count();
        if chars > max {
            return Err(invalid(format!(
                "is {chars} characters long; at most {max} are allowed"
            )));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(invalid("contains control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address: syntactically valid, trimmed, with its domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("must not be empty (send null to clear it)"));
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "is {} bytes long; at most {} are allowed",
                trimmed.len(),
                Self::MAX_LEN
            )));
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        let parsed = email_address::EmailAddress::parse_with_options(trimmed, options)
            .map_err(|e| invalid(format!("is not a valid email address ({e})")))?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid(
                "is not a valid email address (the domain needs a dot, as in example.com)",
            ));
        }
        Ok(Self(format!(
            "{}@{}",
            parsed.local_part(),
            domain.to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// The key two addresses of one mailbox share: lower-cased, the domain in its ASCII
    /// form (so "a@bücher.de" and "a@xn--bcher-kva.de" are one).
    pub fn match_key(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let domain =
            crate::normalize::domain_ascii(domain).unwrap_or_else(|_| domain.to_lowercase());
        format!("{}@{domain}", local.to_lowercase())
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number as written, checked to be plausibly dialable (5-20 digits and the usual
/// punctuation). Conversion to E.164 belongs to capture-time normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if let Some(bad) = trimmed
            .chars()
            .find(|c| !(c.is_ascii_digit() || " +-().x/".contains(*c)))
        {
            return Err(invalid(format!(
                "contains '{bad}'; a phone number has digits, spaces and + - ( ) . only"
            )));
        }
        if trimmed[1.min(trimmed.len())..].contains('+') {
            return Err(invalid("has a '+' that is not at the start"));
        }
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        if !(5..=20).contains(&digits) {
            return Err(invalid(format!(
                "has {digits} digits; a phone number has 5 to 20"
            )));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Phone {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.0
    }
}

/// The id a lead has in the system it came from (CRM id, form submission id, CSV key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_LEN: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if trimmed.len() > Self::MAX_LEN {
            return Err(invalid(format!(
                "is {} bytes long; at most {} are allowed",
                trimmed.len(),
                Self::MAX_LEN
            )));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(invalid("contains control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ExternalId {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ExternalId> for String {
    fn from(value: ExternalId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_keeps_local_part_and_lowercases_domain() {
        let email = Email::parse("  Ana.Silva@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Ana.Silva@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(email.match_key(), "ana.silva@example.com");
        assert_eq!(
            Email::parse("Jo@Bücher.de").unwrap().match_key(),
            Email::parse("jo@xn--bcher-kva.de").unwrap().match_key()
        );
    }

    #[test]
    fn email_rejects_what_is_not_an_address() {
        for bad in [
            "",
            "plain",
            "a@",
            "@b.com",
            "a b@c.com",
            "a@localhost",
            "Ana <a@b.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn email_accepts_unicode_local_parts_and_domains() {
        assert!(Email::parse("张伟@例子.中国").is_ok());
        assert!(Email::parse("sara@شرکت.ایران").is_ok());
    }

    #[test]
    fn phone_accepts_common_formats_and_refuses_letters() {
        for good in [
            "+49 30 1234567",
            "(555) 010-0199",
            "0912.345.6789",
            "+84 912 345 678",
        ] {
            assert!(Phone::parse(good).is_ok(), "{good:?} was refused");
        }
        for bad in ["call me", "12", "+1 555 0100 ext 2", "1+555123456"] {
            assert!(Phone::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(Text::parse("阮氏明开", 4).is_ok());
        assert!(Text::parse("阮氏明开X", 4).is_err());
        assert!(Text::parse("   ", 4).is_err());
    }

    proptest! {
        #[test]
        fn parsed_email_reparses_to_itself(local in "[a-z0-9._%+-]{1,20}", host in "[a-z0-9]{1,15}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{host}.{tld}");
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
            }
        }

        #[test]
        fn text_never_exceeds_its_limit(raw in "\\PC{0,80}", max in 1usize..40) {
            if let Ok(text) = Text::parse(&raw, max) {
                prop_assert!(text.as_str().chars().count() <= max);
                prop_assert!(!text.as_str().is_empty());
            }
        }

        #[test]
        fn email_parse_never_panics(raw in "\\PC{0,300}") {
            let _ = Email::parse(&raw);
        }
    }
}
