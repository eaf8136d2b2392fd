//! Outgoing webhooks: a subscription (target URL, event types) checked field by field, the
//! HMAC-SHA256 signature every delivery carries, and which addresses are private (refused as
//! targets unless allowed: a webhook must not reach into the server's own network).

use crate::source::json_kind;
use crate::validation::{FieldError, FieldErrors};
use crate::EventType;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::net::IpAddr;
use std::str::FromStr;

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
pub const SIGNATURE_HEADER: &str = "Leadgate-Signature";
/// Every event type, for subscriptions that want them all.
pub const ALL_EVENTS: &str = "*";

/// A subscription as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookInput {
    pub url: String,
    /// Event types, or `*` alone for all.
    pub events: Vec<String>,
    pub description: Option<String>,
}

impl WebhookInput {
    /// Reads `{"url": "https://...", "events": ["stage_changed", ...], "description": ...}`.
    pub fn parse(value: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Value::Object(map) = value else {
            return Err(FieldError::new(
                "",
                format!("must be an object, not {}", json_kind(value)),
            )
            .into());
        };
        for key in map.keys() {
            if !["url", "events", "description"].contains(&key.as_str()) {
                errors.push(FieldError::new(
                    key.clone(),
                    "is not a webhook field; use url, events, description",
                ));
            }
        }
        let url = match map.get("url") {
            Some(Value::String(s)) => match check_url(s) {
                Ok(()) => Some(s.trim().to_owned()),
                Err(reason) => {
                    errors.push(FieldError::new("url", reason));
                    None
                }
            },
            Some(other) => {
                errors.push(FieldError::new(
                    "url",
                    format!("must be a string, not {}", json_kind(other)),
                ));
                None
            }
            None => {
                errors.push(FieldError::new("url", "is required"));
                None
            }
        };
        let mut events = Vec::new();
        match map.get("events") {
            Some(Value::Array(items)) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str() {
                        Some(ALL_EVENTS) => events.push(ALL_EVENTS.to_owned()),
                        Some(name) => match EventType::from_str(name) {
                            Ok(t) => events.push(t.as_str().to_owned()),
                            Err(reason) => {
                                errors.push(FieldError::new(format!("events[{i}]"), reason))
                            }
                        },
                        None => errors.push(FieldError::new(
                            format!("events[{i}]"),
                            "must be an event type name",
                        )),
                    }
                }
                if events.len() > 1 && events.iter().any(|e| e == ALL_EVENTS) {
                    errors.push(FieldError::new(
                        "events",
                        "\"*\" already means every event; give it alone",
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                "events",
                "is required: a list of event types, or [\"*\"] for all",
            )),
        }
        let description = match map.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() <= 200 => Some(s.trim().to_owned()),
            Some(_) => {
                errors.push(FieldError::new(
                    "description",
                    "must be text of at most 200 characters",
                ));
                None
            }
        };
        let url = errors.into_result(url)?;
        events.sort();
        events.dedup();
        Ok(WebhookInput {
            url: url.unwrap_or_default(),
            events,
            description,
        })
    }

    /// Whether an event of this type goes to the subscription.
    pub fn wants(events: &[String], event_type: &str) -> bool {
        events.iter().any(|e| e == ALL_EVENTS || e == event_type)
    }
}

/// An http(s) URL with a host, no credentials, at most 2,000 bytes.
fn check_url(raw: &str) -> Result<(), String> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err("is longer than 2000 bytes".into());
    }
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .ok_or_else(|| format!("'{raw}' is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry a user name or password".into());
    }
    if authority.is_empty() || authority.starts_with(':') {
        return Err(format!("'{raw}' has no host"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

/// `t=<timestamp>,v1=<hex>`: HMAC-SHA256 with the subscription's secret over
/// `"<timestamp>.<body>"`, so a receiver can check the sender and refuse replays.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Loopback, private, link-local, shared, unique-local, unspecified, multicast or
/// documentation addresses: not the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() || v6.is_unspecified() {
                return true;
            }
            // IPv6 written around an IPv4 address reaches that address (through the host's
            // own stack, NAT64 or 6to4): judged by the IPv4 address inside.
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                is_private(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)))
            };
            if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
                return embedded(s[6], s[7]); // IPv4-compatible ::a.b.c.d, mapped ::ffff:a.b.c.d
            }
            if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
                return embedded(s[6], s[7]); // IPv4-translated ::ffff:0:a.b.c.d
            }
            if s[0] == 0x0064 && s[1] == 0xff9b {
                // NAT64: the well-known prefix embeds the address; the local-use one
                // (64:ff9b:1::/48) leads into this network.
                return s[2] != 0 || s[3..6] != [0; 3] || embedded(s[6], s[7]);
            }
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]); // 6to4
            }
            let first = s[0];
            v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || (first & 0xffc0) == 0xfec0 // site local (deprecated)
                || (first == 0x2001 && s[1] == 0) // Teredo: tunnels to anywhere
                || (first == 0x0100 && s[1..4] == [0; 3]) // discard-only
                || first == 0x2001 && s[1] == 0x0db8 // documentation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subscriptions_are_checked_field_by_field() {
        let ok = WebhookInput::parse(&json!({"url": "https://hooks.example.com/leadgate", "events": ["stage_changed", "owner_assigned", "stage_changed"]})).unwrap();
        assert_eq!(ok.events, ["owner_assigned", "stage_changed"]);
        assert!(WebhookInput::wants(&ok.events, "stage_changed"));
        assert!(!WebhookInput::wants(&ok.events, "page_viewed"));
        let all =
            WebhookInput::parse(&json!({"url": "http://crm.internal:8080/in", "events": ["*"]}))
                .unwrap();
        assert!(WebhookInput::wants(&all.events, "page_viewed"));

        let bad = WebhookInput::parse(
            &json!({"url": "ftp://x.example", "events": ["stage_change", 4], "colour": 1}),
        )
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["colour", "url", "events[0]", "events[1]"]);
        for url in [
            "https://",
            "http://user:pw@example.com/",
            "https://exa mple.com",
            "example.com/hook",
            "https://:80/x",
        ] {
            let errors = WebhookInput::parse(&json!({"url": url, "events": ["*"]})).unwrap_err();
            assert_eq!(errors.0[0].field, "url", "{url}");
        }
        let mixed = WebhookInput::parse(
            &json!({"url": "https://a.example", "events": ["*", "page_viewed"]}),
        )
        .unwrap_err();
        assert!(mixed.0[0].reason.contains("alone"));
        assert!(WebhookInput::parse(&json!({"url": "https://a.example", "events": []})).is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(signature("secret", 1, b"x"), signature("other", 1, b"x"));
        assert_ne!(signature("secret", 1, b"x"), signature("secret", 2, b"x"));
    }

    #[test]
    fn private_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            // IPv6 forms around an IPv4 address inside this network.
            "::127.0.0.1",
            "::ffff:0:127.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::8.8.8.8",
            "2002:7f00:1::1",
            "2002:a00:1::",
            "2001:0:4136:e378::1",
            "fec0::1",
            "100::1",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }
}
