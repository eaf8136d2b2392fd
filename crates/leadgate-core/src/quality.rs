//! Data quality of a lead: whether it looks like junk (and why, as reason codes) and how
//! complete its key details are.

use crate::lead::{Lead, LeadField};
use serde::Serialize;

/// Why a lead looks like junk. Junk is kept and flagged, never deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JunkReason {
    /// The email's domain hands out throw-away addresses.
    DisposableEmail,
    /// info@, sales@...: a mailbox, not a person.
    RoleAccount,
    /// "Test", "asdf", "John Doe".
    TestName,
    /// Random key runs such as "sdfghj" or "xxxxx".
    KeyboardMash,
    /// A phone number no region has, and no email beside it.
    InvalidPhone,
    /// A form submission a bot would make (honeypot filled, sent too fast).
    BotSubmission,
    /// A person marked it as junk.
    Manual,
}

impl JunkReason {
    pub const ALL: [JunkReason; 7] = [
        JunkReason::DisposableEmail,
        JunkReason::RoleAccount,
        JunkReason::TestName,
        JunkReason::KeyboardMash,
        JunkReason::InvalidPhone,
        JunkReason::BotSubmission,
        JunkReason::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JunkReason::DisposableEmail => "disposable_email",
            JunkReason::RoleAccount => "role_account",
            JunkReason::TestName => "test_name",
            JunkReason::KeyboardMash => "keyboard_mash",
            JunkReason::InvalidPhone => "invalid_phone",
            JunkReason::BotSubmission => "bot_submission",
            JunkReason::Manual => "manual",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Local parts that name a function, not a person.
const ROLE_ACCOUNTS: [&str; 24] = [
    "info",
    "sales",
    "admin",
    "support",
    "contact",
    "office",
    "hello",
    "noreply",
    "no-reply",
    "marketing",
    "team",
    "hr",
    "billing",
    "webmaster",
    "postmaster",
    "enquiries",
    "inquiries",
    "help",
    "mail",
    "service",
    "jobs",
    "careers",
    "accounts",
    "abuse",
];

/// Names people type when they test a form or will not give theirs.
const TEST_NAMES: [&str; 16] = [
    "test",
    "testing",
    "tester",
    "asdf",
    "qwerty",
    "foo",
    "bar",
    "foobar",
    "john doe",
    "jane doe",
    "mickey mouse",
    "donald duck",
    "none",
    "n/a",
    "na",
    "xxx",
];

/// Rows of a keyboard: four or more neighbouring keys in a row are a mash.
const KEY_ROWS: [&str; 4] = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"];

/// Random typing: a run of 4+ neighbouring keys, the same character 4+ times, or a long
/// Latin word without vowels. Other scripts are not judged.
pub fn is_keyboard_mash(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    let letters: Vec<char> = lower.chars().filter(|c| !c.is_whitespace()).collect();
    if letters.len() < 4 {
        return false;
    }
    if letters.windows(4).any(|w| w.iter().all(|c| *c == w[0])) {
        return true;
    }
    for word in lower.split_whitespace() {
        if word.len() >= 4
            && KEY_ROWS
                .iter()
                .any(|row| (0..=row.len().saturating_sub(4)).any(|i| word.contains(&row[i..i + 4])))
        {
            return true;
        }
        let ascii_letters = word.chars().all(|c| c.is_ascii_alphabetic());
        if ascii_letters && word.len() >= 5 && !word.chars().any(|c| "aeiouy".contains(c)) {
            return true;
        }
    }
    false
}

/// Why this lead looks like junk; empty when it looks real.
pub fn assess(lead: &Lead) -> Vec<JunkReason> {
    let mut reasons = Vec::new();
    if let Some(email) = &lead.email {
        if crate::mail_domain::is_disposable(email.domain()) {
            reasons.push(JunkReason::DisposableEmail);
        }
        let local = email
            .as_str()
            .rsplit_once('@')
            .map_or("", |(l, _)| l)
            .to_ascii_lowercase();
        let local = local.split('+').next().unwrap_or("");
        if ROLE_ACCOUNTS.contains(&local) {
            reasons.push(JunkReason::RoleAccount);
        }
    }
    let first = lead.text_value(LeadField::FirstName).unwrap_or("");
    let last = lead.text_value(LeadField::LastName).unwrap_or("");
    let full = format!("{first} {last}").trim().to_lowercase();
    let names = [first.to_lowercase(), last.to_lowercase(), full.clone()];
    if names
        .iter()
        .any(|n| TEST_NAMES.contains(&n.trim()) || n.trim().starts_with("test "))
    {
        reasons.push(JunkReason::TestName);
    } else if [
        first,
        last,
        lead.text_value(LeadField::Company).unwrap_or(""),
    ]
    .iter()
    .any(|t| is_keyboard_mash(t))
    {
        reasons.push(JunkReason::KeyboardMash);
    }
    if let (Some(phone), None) = (&lead.phone, &lead.email) {
        // Only when the phone is the one way to reach them: a mistyped number beside a good
        // email is a data-quality slip, not junk. Without a country code the region is
        // unknown, and the number cannot be judged.
        if phone.as_str().trim_start().starts_with('+')
            && crate::normalize::phone_e164(phone.as_str(), None).is_err()
        {
            reasons.push(JunkReason::InvalidPhone);
        }
    }
    reasons
}

/// Which of the key details (name, title, company, email, phone, need, budget, timeframe) are
/// known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completeness {
    /// Share of the key details known, 0 to 100.
    pub percent: u8,
    pub known: Vec<&'static str>,
    pub missing: Vec<&'static str>,
}

/// The key details seed 000 lists, each worth the same.
const KEY_DETAILS: [&str; 8] = [
    "name",
    "job_title",
    "company",
    "email",
    "phone",
    "product_need",
    "budget",
    "purchase_timeframe",
];

pub fn completeness(lead: &Lead) -> Completeness {
    let (mut known, mut missing) = (Vec::new(), Vec::new());
    for detail in KEY_DETAILS {
        let present = match detail {
            "name" => lead.first_name.is_some() || lead.last_name.is_some(),
            "budget" => lead.budget.is_some(),
            other => LeadField::from_name(other)
                .and_then(|f| lead.text_value(f))
                .is_some_and(|v| !v.trim().is_empty()),
        };
        if present {
            known.push(detail);
        } else {
            missing.push(detail);
        }
    }
    Completeness {
        percent: (known.len() * 100 / KEY_DETAILS.len()) as u8,
        known,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{LeadPatch, PatchMode};
    use proptest::prelude::*;
    use serde_json::json;

    fn lead(value: serde_json::Value) -> Lead {
        let mut lead = Lead::default();
        LeadPatch::parse(value.as_object().unwrap(), PatchMode::Create)
            .unwrap()
            .apply(&mut lead)
            .unwrap();
        lead
    }

    #[test]
    fn real_people_in_any_script_are_not_junk() {
        for value in [
            json!({"first_name": "Minh Anh", "last_name": "Nguyễn", "email": "minh@saigonexpress.vn", "phone": "+84 28 3822 1111"}),
            json!({"first_name": "علی", "last_name": "رضایی", "email": "ali@parsian.ir"}),
            json!({"first_name": "伟", "last_name": "王", "email": "wei@qq.com", "company": "天河机械有限公司"}),
            json!({"first_name": "Ana", "last_name": "Silva", "email": "ana@gmail.com", "company": "Acme"}),
            json!({"first_name": "Chris", "last_name": "Lynch", "company": "Brynmawr"}),
        ] {
            assert_eq!(assess(&lead(value.clone())), [], "{value}");
        }
    }

    #[test]
    fn each_kind_of_junk_gets_its_reason() {
        let cases = [
            (
                json!({"email": "x@mailinator.com"}),
                JunkReason::DisposableEmail,
            ),
            (
                json!({"email": "x@eu.mailinator.com"}),
                JunkReason::DisposableEmail,
            ),
            (json!({"email": "Info@acme.io"}), JunkReason::RoleAccount),
            (
                json!({"email": "sales+web@acme.io"}),
                JunkReason::RoleAccount,
            ),
            (
                json!({"first_name": "Test", "last_name": "User"}),
                JunkReason::TestName,
            ),
            (
                json!({"first_name": "John", "last_name": "Doe"}),
                JunkReason::TestName,
            ),
            (json!({"first_name": "asdfgh"}), JunkReason::KeyboardMash),
            (
                json!({"first_name": "Ana", "last_name": "xxxxx"}),
                JunkReason::KeyboardMash,
            ),
            (json!({"company": "Qwpzrt"}), JunkReason::KeyboardMash),
            (
                json!({"phone": "+1 000 000 0000"}),
                JunkReason::InvalidPhone,
            ),
        ];
        for (value, reason) in cases {
            assert_eq!(assess(&lead(value.clone())), [reason], "{value}");
        }
    }

    #[test]
    fn completeness_counts_the_key_details() {
        let empty = completeness(&Lead::default());
        assert_eq!(empty.percent, 0);
        assert_eq!(empty.missing.len(), 8);
        let some = completeness(&lead(json!({
            "last_name": "Nguyễn", "email": "a@b.vn", "company": "Saigon Express", "budget": 0
        })));
        assert_eq!(some.percent, 50);
        assert_eq!(some.known, ["name", "company", "email", "budget"]);
        assert_eq!(
            some.missing,
            ["job_title", "phone", "product_need", "purchase_timeframe"]
        );
    }

    proptest! {
        #[test]
        fn assessing_any_name_never_panics(first in "\\PC{0,30}", last in "\\PC{0,30}") {
            let l = Lead {
                first_name: crate::values::Text::parse(&first, 100).ok(),
                last_name: crate::values::Text::parse(&last, 100).ok(),
                ..Lead::default()
            };
            let _ = assess(&l);
            let c = completeness(&l);
            prop_assert!(c.percent <= 100);
            prop_assert_eq!(c.known.len() + c.missing.len(), 8);
        }

        #[test]
        fn short_text_is_never_a_mash(text in "\\PC{0,3}") {
            prop_assert!(!is_keyboard_mash(&text));
        }
    }
}
