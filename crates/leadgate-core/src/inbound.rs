//! An email that arrives as a channel (piped by a mail server, or posted by a relay): what
//! Leadgate reads of the message, and the lead and `email_logged` event it becomes.

use crate::event::{EventDraft, EventType};
use crate::lead::{LeadPatch, PatchMode};
use crate::source::{Channel, Source};
use crate::validation::FieldError;
use crate::values::Email;
use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Largest message taken (a common mail server's limit); attachments are listed, not kept.
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// Most characters of the body kept in the event: enough for any message a person writes,
/// not a pasted log file.
const MAX_TEXT_CHARS: usize = 20_000;

/// Most attachments listed by name; the rest are counted.
const MAX_ATTACHMENTS_LISTED: usize = 100;

/// Where the event's idempotency key starts: a message delivered twice is logged once.
const KEY_PREFIX: &str = "inbound-email:";

/// A file the message carried: named, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: Option<String>,
    pub content_type: String,
    pub bytes: usize,
}

/// A delivery failure report (RFC 3464) about an email Leadgate sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The Message-ID of the email that failed, without its angle brackets.
    pub message_id: String,
    /// The recipients whose delivery failed for good.
    pub recipients: Vec<String>,
    /// What the receiving server said (`smtp; 550 5.1.1 no such user`), if it did.
    pub diagnostic: Option<String>,
}

/// What Leadgate reads of an arriving message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEmail {
    pub from: Email,
    /// The sender's display name, as written (`None` when there is none).
    pub from_name: Option<String>,
    /// Every address it was delivered to: To, Cc, and the mail server's Delivered-To and
    /// X-Original-To (which name a Bcc), lower case.
    pub recipients: Vec<String>,
    pub subject: String,
    /// The body as text: the plain part, or the HTML part turned into text.
    pub text: String,
    /// The first `MAX_ATTACHMENTS_LISTED` attachments.
    pub attachments: Vec<Attachment>,
    /// How many attachments the message carried in all.
    pub attachment_count: usize,
    /// The Message-ID, or a digest of the whole message when it has none.
    pub message_key: String,
    /// When the sender says they sent it.
    pub sent_at: Option<DateTime<Utc>>,
    /// The message is a report that an email failed for good (not a delay).
    pub bounce: Option<Bounce>,
}

impl InboundEmail {
    /// Reads a message (RFC 5322, MIME parts in any charset). Refuses, naming the part, a
    /// message too large, one with no header section, or one without a sender address.
    pub fn parse(raw: &[u8]) -> Result<Self, FieldError> {
        if raw.len() > MAX_MESSAGE_BYTES {
            return Err(FieldError::new(
                "message",
                format!(
                    "is {} bytes; at most {MAX_MESSAGE_BYTES} are taken",
                    raw.len()
                ),
            ));
        }
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(FieldError::new("message", "is empty"));
        }
        let message = MessageParser::default()
            .parse(raw)
            .filter(|m| !m.headers().is_empty())
            .ok_or_else(|| {
                FieldError::new(
                    "message",
                    "is not an email message (RFC 5322): it has no header section",
                )
            })?;
        let sender = message.from().and_then(|a| a.first()).ok_or_else(|| {
            FieldError::new("from", "the message has no From header with an address")
        })?;
        let address = sender.address().unwrap_or_default();
        let from = Email::parse(address).map_err(|e| {
            FieldError::new("from", format!("'{address}' is not an email address: {e}"))
        })?;
        let from_name = sender
            .name()
            .map(|n| one_line(n).trim_matches('"').trim().to_owned())
            .filter(|n| !n.is_empty() && !n.contains('@'));

        let mut recipients: Vec<String> = [message.to(), message.cc()]
            .into_iter()
            .flatten()
            .flat_map(|list| list.iter())
            .filter_map(|a| a.address())
            .map(str::to_lowercase)
            .collect();
        for header in ["Delivered-To", "X-Original-To"] {
            for value in message.header_values(header) {
                if let Some(text) = value.as_text() {
                    recipients.push(bare_address(text));
                }
            }
        }
        recipients.retain(|r| !r.is_empty());
        recipients.dedup();

        let text: String = message
            .body_text(0)
            .map(|t| {
                t.chars()
                    .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
                    .take(MAX_TEXT_CHARS)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default();
        let attachments = message
            .attachments()
            .take(MAX_ATTACHMENTS_LISTED)
            .map(|part| Attachment {
                name: part.attachment_name().map(one_line),
                content_type: part
                    .content_type()
                    .map(|c| match c.subtype() {
                        Some(sub) => format!("{}/{sub}", c.ctype()),
                        None => c.ctype().to_owned(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".to_owned()),
                bytes: part.len(),
            })
            .collect();
        let message_key = match message.message_id().map(one_line) {
            Some(id) if !id.is_empty() => id,
            _ => format!("sha256:{:x}", Sha256::digest(raw)),
        };
        Ok(InboundEmail {
            from,
            from_name,
            recipients,
            subject: one_line(message.subject().unwrap_or_default()),
            text,
            attachments,
            attachment_count: message.attachments().count(),
            message_key,
            sent_at: message
                .date()
                .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
            bounce: bounce_of(&message),
        })
    }

    /// The inbound address (of `addresses`) this message was delivered to. Refused when it
    /// reached none of them, or when it comes from one of them (a loop).
    pub fn addressed_to<'a>(&self, addresses: &'a [Email]) -> Result<&'a Email, FieldError> {
        if addresses.is_empty() {
            return Err(FieldError::new(
                "to",
                "this server has no inbound address: set inbound_addresses (--inbound-address)",
            ));
        }
        let is_ours = |address: &str| {
            addresses
                .iter()
                .find(|a| a.as_str().eq_ignore_ascii_case(address))
        };
        if is_ours(self.from.as_str()).is_some() {
            return Err(FieldError::new(
                "from",
                format!(
                    "'{}' is an inbound address of this server itself (a mail loop)",
                    self.from.as_str()
                ),
            ));
        }
        self.recipients
            .iter()
            .find_map(|r| is_ours(r))
            .ok_or_else(|| {
                let ours: Vec<&str> = addresses.iter().map(Email::as_str).collect();
                FieldError::new(
                    "to",
                    format!(
                        "the message is addressed to none of this server's inbound addresses ({})",
                        ours.join(", ")
                    ),
                )
            })
    }

    /// The sender as lead fields: the address, and the display name split at its last
    /// space (one word: the first name).
    pub fn patch(&self) -> Result<LeadPatch, crate::validation::FieldErrors> {
        let mut input = Map::new();
        input.insert("email".into(), self.from.as_str().into());
        if let Some(name) = &self.from_name {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            match name.rsplit_once(' ') {
                Some((first, last)) => {
                    input.insert("first_name".into(), first.into());
                    input.insert("last_name".into(), last.into());
                }
                None => {
                    input.insert("first_name".into(), name.into());
                }
            }
        }
        LeadPatch::parse(&input, PatchMode::Create)
    }

    /// The touch the message is: the email channel, the inbound address as the campaign.
    pub fn source(&self, to: &Email) -> Source {
        let mut source = Source::new(Channel::Email);
        source.campaign = crate::values::Text::parse(to.as_str(), 254).ok();
        source
    }

    /// What the capture keeps as its input: the envelope, not the body (the event has it).
    pub fn raw(&self, to: &Email) -> Value {
        json!({"inbound_email": {
            "from": self.from.as_str(),
            "to": to.as_str(),
            "subject": self.subject,
            "message_id": self.message_key,
        }})
    }

    /// The `email_logged` event of the message on its lead, at `received`; its key makes a
    /// message delivered twice one event.
    pub fn event(&self, to: &Email, received: DateTime<Utc>, actor: &str) -> EventDraft {
        let attachments: Vec<Value> = self
            .attachments
            .iter()
            .map(|a| json!({"name": a.name, "content_type": a.content_type, "bytes": a.bytes}))
            .collect();
        // Not `from` and `to`: an erasure keeps those keys (a stage move's), and these
        // name the person.
        let mut payload = json!({
            "direction": "inbound",
            "sender": self.from.as_str(),
            "mailbox": to.as_str(),
            "subject": self.subject,
            "text": self.text,
            "attachments": attachments,
            "attachment_count": self.attachment_count,
            "message_id": self.message_key,
        });
        if let Some(sent) = self.sent_at {
            payload["sent_at"] = Value::from(sent.to_rfc3339());
        }
        let mut draft =
            EventDraft::new(EventType::EmailLogged, received, payload).with_actor(actor);
        draft.idempotency_key = Some(format!("{KEY_PREFIX}{}", self.message_key));
        draft
    }
}

/// The permanent failure a delivery status report (`multipart/report;
/// report-type=delivery-status`) tells of, with the Message-ID of the email that failed
/// (from the returned message or its headers).
fn bounce_of(message: &Message) -> Option<Bounce> {
    let report = message.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && c.attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if !report {
        return None;
    }
    let (mut recipients, mut diagnostic, mut message_id) = (Vec::new(), None, None);
    for part in &message.parts {
        let Some(kind) = part.content_type() else {
            continue;
        };
        let subtype = kind.subtype().unwrap_or_default().to_ascii_lowercase();
        match (kind.ctype().to_ascii_lowercase().as_str(), subtype.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                let text = String::from_utf8_lossy(part.contents());
                // Per-recipient groups: a recipient, then its action and diagnostic.
                let mut recipient = None;
                for line in text.lines() {
                    let Some((name, value)) = line.split_once(':') else {
                        continue;
                    };
                    let value = value.trim();
                    match name.trim().to_ascii_lowercase().as_str() {
                        "final-recipient" => {
                            let address = value.rsplit(';').next().unwrap_or(value);
                            recipient = Some(bare_address(address));
                        }
                        "action" if value.eq_ignore_ascii_case("failed") => {
                            recipients.extend(recipient.take());
                        }
                        "diagnostic-code" => diagnostic = Some(one_line(value)),
                        _ => {}
                    }
                }
            }
            ("message", "rfc822" | "global") => {
                if let PartType::Message(returned) = &part.body {
                    message_id = message_id.or(returned.message_id().map(str::to_owned));
                }
            }
            ("text", "rfc822-headers") => {
                let text = String::from_utf8_lossy(part.contents());
                message_id = message_id.or_else(|| {
                    text.lines().find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.trim()
                            .eq_ignore_ascii_case("message-id")
                            .then(|| value.trim().trim_matches(['<', '>']).to_owned())
                    })
                });
            }
            _ => {}
        }
    }
    if recipients.is_empty() {
        return None;
    }
    Some(Bounce {
        message_id: message_id?,
        recipients,
        diagnostic,
    })
}

/// A header's text on one line, without control characters (a NUL cannot be stored in
/// PostgreSQL's JSON, and line breaks do not belong in a subject or a name).
fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An address as a header writes it (`Name <a@b>` or `a@b`), lower case.
fn bare_address(text: &str) -> String {
    let text = text.trim();
    let inner = match (text.rfind('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => text,
    };
    inner.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales() -> Vec<Email> {
        vec![Email::parse("sales@acme.example").expect("an address")]
    }

    #[test]
    fn a_chinese_subject_in_base64_and_a_name_are_read() {
        let raw = "From: =?UTF-8?B?546L5Lyf?= <wang.wei@tianhe.cn>\r\n\
            To: Sales <Sales@Acme.example>\r\n\
            Subject: =?UTF-8?B?6K+i5Lu377ya5pWw5o6n5py65bqK?=\r\n\
            Message-ID: <a1@tianhe.cn>\r\n\
            Date: Mon, 7 Dec 2026 09:30:00 +0800\r\n\
            Content-Type: text/plain; charset=utf-8\r\n\
            \r\n\
            您好，请报价。\r\n";
        let mail = InboundEmail::parse(raw.as_bytes()).expect("a message");
        assert_eq!(mail.subject, "询价：数控机床");
        assert_eq!(mail.from_name.as_deref(), Some("王伟"));
        assert_eq!(mail.text, "您好，请报价。");
        assert_eq!(mail.message_key, "a1@tianhe.cn");
        assert_eq!(
            mail.sent_at.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-12-07T01:30:00+00:00")
        );
        assert_eq!(
            mail.addressed_to(&sales()).map(Email::as_str),
            Ok("sales@acme.example")
        );
        let event = mail.event(&sales()[0], Utc::now(), "mail");
        assert_eq!(event.event_type, EventType::EmailLogged);
        assert_eq!(
            event.idempotency_key.as_deref(),
            Some("inbound-email:a1@tianhe.cn")
        );
    }

    #[test]
    fn a_message_in_gb2312_is_read_in_chinese() {
        let raw = "From: wang.wei@tianhe.cn\r\n\
            To: sales@acme.example\r\n\
            Subject: =?GB2312?B?0a+826O6yv2/2Lv6tLI=?=\r\n\
            Content-Type: text/plain; charset=gbk\r\n\
            Content-Transfer-Encoding: base64\r\n\
            \r\n\
            xPq6w6Osx+uxqLzboaM=\r\n";
        let mail = InboundEmail::parse(raw.as_bytes()).expect("a message");
        assert_eq!(mail.subject, "询价：数控机床");
        assert_eq!(mail.text, "您好，请报价。");
    }

    #[test]
    fn an_html_only_message_becomes_text_and_attachments_are_listed_not_kept() {
        let raw = "From: \"Ana Lima\" <ana@globex.example>\r\n\
            To: other@globex.example\r\n\
            Delivered-To: sales@acme.example\r\n\
            Subject: Quote\r\n\
            MIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
            \r\n\
            --b1\r\n\
            Content-Type: text/html; charset=utf-8\r\n\
            \r\n\
            <html><body><p>We need <b>40 seats</b>.</p></body></html>\r\n\
            --b1\r\n\
            Content-Type: application/pdf; name=\"rfq.pdf\"\r\n\
            Content-Disposition: attachment; filename=\"rfq.pdf\"\r\n\
            Content-Transfer-Encoding: base64\r\n\
            \r\n\
            JVBERi0xLjQKJcfsj6IK\r\n\
            --b1--\r\n";
        let mail = InboundEmail::parse(raw.as_bytes()).expect("a message");
        assert!(mail.text.contains("We need 40 seats"), "{}", mail.text);
        assert!(!mail.text.contains('<'), "{}", mail.text);
        assert_eq!(
            mail.attachments,
            vec![Attachment {
                name: Some("rfq.pdf".into()),
                content_type: "application/pdf".into(),
                bytes: 15,
            }]
        );
        // Reached through a Bcc, which only the mail server's header names.
        assert!(mail.addressed_to(&sales()).is_ok());
        let patch = mail.patch().expect("valid fields");
        let mut lead = crate::Lead::default();
        patch.apply(&mut lead).expect("applies");
        assert_eq!(lead.first_name.as_ref().map(|n| n.as_str()), Some("Ana"));
        assert_eq!(lead.last_name.as_ref().map(|n| n.as_str()), Some("Lima"));
        // No Message-ID: the digest of the message is its key, the same on a second read.
        let again = InboundEmail::parse(raw.as_bytes()).expect("a message");
        assert!(mail.message_key.starts_with("sha256:"));
        assert_eq!(mail.message_key, again.message_key);
    }

    const BOUNCE: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n\
        To: bounces@acme.example\r\n\
        Subject: Undelivered Mail Returned to Sender\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\
        \r\n\
        --r\r\n\
        Content-Type: text/plain\r\n\
        \r\n\
        I'm sorry to have to inform you that your message could not be delivered.\r\n\
        --r\r\n\
        Content-Type: message/delivery-status\r\n\
        \r\n\
        Reporting-MTA: dns; mx.acme.example\r\n\
        \r\n\
        Final-Recipient: rfc822; lan@saigon.example\r\n\
        Action: failed\r\n\
        Status: 5.1.1\r\n\
        Diagnostic-Code: smtp; 550 5.1.1 <lan@saigon.example>: no such user\r\n\
        \r\n\
        Final-Recipient: rfc822; slow@saigon.example\r\n\
        Action: delayed\r\n\
        --r\r\n\
        Content-Type: text/rfc822-headers\r\n\
        \r\n\
        From: Sales <sales@acme.example>\r\n\
        To: lan@saigon.example\r\n\
        Message-ID: <7.abcDEF@leadgate>\r\n\
        Subject: Prices\r\n\
        --r--\r\n";

    #[test]
    fn a_delivery_failure_report_names_the_email_and_the_failed_address() {
        let mail = InboundEmail::parse(BOUNCE.as_bytes()).expect("a message");
        assert_eq!(
            mail.bounce,
            Some(Bounce {
                message_id: "7.abcDEF@leadgate".into(),
                recipients: vec!["lan@saigon.example".into()],
                diagnostic: Some("smtp; 550 5.1.1 <lan@saigon.example>: no such user".into()),
            })
        );
        // Only a delay: not a bounce.
        let delayed = BOUNCE.replace("Action: failed", "Action: delayed");
        assert_eq!(
            InboundEmail::parse(delayed.as_bytes()).unwrap().bounce,
            None
        );
        // An ordinary message is none.
        let plain = InboundEmail::parse(b"From: a@b.example\r\nTo: c@d.example\r\n\r\nhi").unwrap();
        assert_eq!(plain.bounce, None);
    }

    #[test]
    fn what_is_not_a_message_for_us_is_refused_naming_the_part() {
        let field = |raw: &[u8]| InboundEmail::parse(raw).map(|_| ()).unwrap_err().field;
        assert_eq!(field(b""), "message");
        assert_eq!(field(b"  \r\n"), "message");
        // Words with no header section: nothing names a sender.
        assert_eq!(field(b"just some words, no headers at all"), "from");
        assert_eq!(
            field(b"To: sales@acme.example\r\nSubject: hi\r\n\r\nbody"),
            "from"
        );
        assert_eq!(field(b"From: not an address\r\n\r\nbody"), "from");
        let huge = vec![b'a'; MAX_MESSAGE_BYTES + 1];
        assert_eq!(field(&huge), "message");

        let elsewhere =
            InboundEmail::parse(b"From: a@b.example\r\nTo: info@acme.example\r\n\r\nhello")
                .expect("a message");
        let refused = elsewhere.addressed_to(&sales()).unwrap_err();
        assert_eq!(refused.field, "to");
        assert!(
            refused.reason.contains("sales@acme.example"),
            "{}",
            refused.reason
        );
        assert_eq!(elsewhere.addressed_to(&[]).unwrap_err().field, "to");

        let looped =
            InboundEmail::parse(b"From: sales@acme.example\r\nTo: sales@acme.example\r\n\r\nx")
                .expect("a message");
        assert_eq!(looped.addressed_to(&sales()).unwrap_err().field, "from");
    }
}
