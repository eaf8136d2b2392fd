//! Where a lead came from: the channel, the source class the seeds distinguish, and the
//! campaign and UTM fields of one touch. A lead keeps its first and its last touch.

use crate::validation::{FieldError, FieldErrors};
use crate::values::Text;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Reads a stored name (the store's rows decode states through it).
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase();
                $name::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} '{}'; expected one of {}", $what, s, names.join(", "))
                })
            }
        }
    };
}
pub(crate) use named_enum;

named_enum!(
    /// The channel a lead arrived through.
    Channel, "channel" {
        WebForm => "web_form",
        SearchAd => "search_ad",
        Social => "social",
        Email => "email",
        Phone => "phone",
        Event => "event",
        Webinar => "webinar",
        ContentDownload => "content_download",
        Partner => "partner",
        PurchasedList => "purchased_list",
        Referral => "referral",
        Import => "import",
        Api => "api",
        Other => "other",
    }
);

named_enum!(
    /// Internal (own website, existing customers), external (third parties, partners, bought
    /// lists) or self-generated (the prospect reached out on their own).
    SourceClass, "source class" {
        Internal => "internal",
        External => "external",
        SelfGenerated => "self_generated",
    }
);

impl Channel {
    /// The source class a channel implies when the capture does not say.
    pub fn default_class(self) -> SourceClass {
        match self {
            Channel::WebForm
            | Channel::Email
            | Channel::Webinar
            | Channel::ContentDownload
            | Channel::Import
            | Channel::Api
            | Channel::Other => SourceClass::Internal,
            Channel::SearchAd
            | Channel::Social
            | Channel::Event
            | Channel::Partner
            | Channel::PurchasedList
            | Channel::Referral => SourceClass::External,
            Channel::Phone => SourceClass::SelfGenerated,
        }
    }

    /// The channel a source written in words most likely names ("Google" and "Pay per
    /// Click Ads" are search ads, "Reference" and "Word of mouth" referrals), by the words
    /// it contains (a network's name before an ad word: "Facebook Ads" is social); `None`
    /// when no word says.
    pub fn read_from_words(source: &str) -> Option<Channel> {
        const WORDS: [(&[&str], Channel); 12] = [
            (
                &[
                    "facebook",
                    "linkedin",
                    "twitter",
                    "instagram",
                    "youtube",
                    "tiktok",
                    "wechat",
                    "weibo",
                    "social",
                ],
                Channel::Social,
            ),
            (
                &[
                    "google", "bing", "baidu", "adwords", "ppc", "sem", "paid", "cpc", "click",
                    "ads",
                ],
                Channel::SearchAd,
            ),
            (&["webinar", "webinars"], Channel::Webinar),
            (
                &[
                    "reference",
                    "referral",
                    "referred",
                    "recommendation",
                    "recommendations",
                    "mouth",
                ],
                Channel::Referral,
            ),
            (
                &["email", "e-mail", "newsletter", "mailing", "mailchimp"],
                Channel::Email,
            ),
            (
                &[
                    "event",
                    "events",
                    "conference",
                    "expo",
                    "fair",
                    "tradeshow",
                    "trade",
                ],
                Channel::Event,
            ),
            (
                &["partner", "partners", "affiliate", "reseller"],
                Channel::Partner,
            ),
            (
                &["phone", "call", "calls", "telephone", "cold"],
                Channel::Phone,
            ),
            (&["purchased", "bought", "list"], Channel::PurchasedList),
            (
                &["download", "ebook", "whitepaper"],
                Channel::ContentDownload,
            ),
            (
                &[
                    "organic", "seo", "direct", "website", "site", "web", "chat", "olark", "form",
                    "landing",
                ],
                Channel::WebForm,
            ),
            (&["import"], Channel::Import),
        ];
        let folded = source.to_lowercase();
        let words: Vec<&str> = folded
            .split(|c: char| !c.is_alphanumeric() && c != '-')
            .filter(|w| !w.is_empty())
            .collect();
        if let Ok(channel) = folded.trim().parse::<Channel>() {
            return Some(channel);
        }
        WORDS
            .iter()
            .find(|(names, _)| words.iter().any(|w| names.contains(w)))
            .map(|(_, channel)| *channel)
    }
}

/// One touch: how a lead reached us at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub channel: Channel,
    pub source_class: SourceClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing_page: Option<Text>,
}

impl Source {
    /// The JSON keys of a lead input that describe its source rather than the lead.
    pub const KEYS: [&'static str; 10] = [
        "channel",
        "source_class",
        "campaign",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
        "referrer",
        "landing_page",
    ];

    pub fn new(channel: Channel) -> Self {
        Self {
            channel,
            source_class: channel.default_class(),
            campaign: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            utm_term: None,
            utm_content: None,
            referrer: None,
            landing_page: None,
        }
    }

    /// Longest text a source field takes, in characters: addresses are longer than tags.
    pub fn text_limit(key: &str) -> usize {
        if matches!(key, "referrer" | "landing_page") {
            2000
        } else {
            200
        }
    }

    /// Takes the source keys out of a flat lead input. `None` when the input names no source.
    pub fn take_from(
        input: &mut Map<String, Value>,
        default_channel: Channel,
    ) -> Result<Option<Source>, FieldErrors> {
        let mut raw: Vec<(&str, Value)> = Vec::new();
        for key in Self::KEYS {
            if let Some(value) = input.remove(key) {
                if !value.is_null() {
                    raw.push((key, value));
                }
            }
        }
        if raw.is_empty() {
            return Ok(None);
        }
        let mut errors = FieldErrors::default();
        let mut texts: Vec<(&str, String)> = Vec::new();
        for (key, value) in raw {
            match value {
                Value::String(s) => texts.push((key, s)),
                other => errors.push(FieldError::new(
                    key,
                    format!("must be a string, not {}", json_kind(&other)),
                )),
            }
        }
        let channel = match texts.iter().find(|(k, _)| *k == "channel") {
            Some((_, raw)) => match raw.parse::<Channel>() {
                Ok(c) => c,
                Err(reason) => {
                    errors.push(FieldError::new("channel", reason));
                    default_channel
                }
            },
            None => default_channel,
        };
        let mut source = Source::new(channel);
        for (key, raw) in &texts {
            let max = Self::text_limit(key);
            let slot = match *key {
                "channel" => continue,
                "source_class" => {
                    match raw.parse::<SourceClass>() {
                        Ok(c) => source.source_class = c,
                        Err(reason) => errors.push(FieldError::new("source_class", reason)),
                    }
                    continue;
                }
                "campaign" => &mut source.campaign,
                "utm_source" => &mut source.utm_source,
                "utm_medium" => &mut source.utm_medium,
                "utm_campaign" => &mut source.utm_campaign,
                "utm_term" => &mut source.utm_term,
                "utm_content" => &mut source.utm_content,
                "referrer" => &mut source.referrer,
                _ => &mut source.landing_page,
            };
            if raw.trim().is_empty() {
                continue;
            }
            match Text::parse(raw, max) {
                Ok(text) => *slot = Some(text),
                Err(e) => errors.push(FieldError::new(*key, e.0)),
            }
        }
        errors.into_result(Some(source))
    }
}

/// "a string", "a number"...: how JSON values are named in error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_written_in_words_read_as_channels() {
        for (words, channel) in [
            ("Google", Some(Channel::SearchAd)),
            ("Pay per Click Ads", Some(Channel::SearchAd)),
            ("Direct Traffic", Some(Channel::WebForm)),
            ("Olark Chat", Some(Channel::WebForm)),
            ("Reference", Some(Channel::Referral)),
            ("Welingak Website", Some(Channel::WebForm)),
            ("Facebook", Some(Channel::Social)),
            ("Facebook Ads", Some(Channel::Social)),
            ("WeLearn", None),
            ("search_ad", Some(Channel::SearchAd)),
            ("Trade show", Some(Channel::Event)),
        ] {
            assert_eq!(Channel::read_from_words(words), channel, "{words}");
        }
    }
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn source_keys_are_taken_out_of_the_input() {
        let mut input =
            map(json!({"email": "a@b.com", "channel": "search_ad", "utm_source": "google"}));
        let source = Source::take_from(&mut input, Channel::Api)
            .unwrap()
            .unwrap();
        assert_eq!(source.channel, Channel::SearchAd);
        assert_eq!(source.source_class, SourceClass::External);
        assert_eq!(source.utm_source.unwrap().as_str(), "google");
        assert_eq!(input.len(), 1);
    }

    #[test]
    fn no_source_keys_means_no_source() {
        let mut input = map(json!({"email": "a@b.com"}));
        assert_eq!(Source::take_from(&mut input, Channel::Api).unwrap(), None);
    }

    #[test]
    fn bad_source_values_name_their_field() {
        let mut input = map(json!({"channel": "carrier pigeon", "source_class": 3}));
        let errors = Source::take_from(&mut input, Channel::Api).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["source_class", "channel"]);
        assert!(errors.0[1].reason.contains("web_form"));
    }
}
