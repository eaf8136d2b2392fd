//! Email templates: a subject and a plain-text body with `{{placeholders}}` filled from the
//! lead (checked when the template is saved, so sending never meets an unknown one).

use crate::source::named_enum;
use crate::validation::{FieldError, FieldErrors};
use crate::Lead;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// Where an email in the outbox stands.
    EmailState, "email state" {
        /// Waiting for its send job.
        Queued => "queued",
        /// Handed to the SMTP server now (marked before it goes out).
        Sending => "sending",
        Sent => "sent",
        /// Refused on every attempt.
        Failed => "failed",
        /// An attempt stopped between sending and recording it: not sent again by itself.
        Uncertain => "uncertain",
        /// The receiving server reported it undeliverable for good (a bounce).
        Bounced => "bounced",
    }
);

impl EmailState {
    /// Whether a person may queue it again (after checking it did not arrive).
    pub fn can_resend(self) -> bool {
        matches!(self, EmailState::Failed | EmailState::Uncertain)
    }
}

/// What a template may use.
pub const PLACEHOLDERS: [&str; 7] = [
    "first_name",
    "last_name",
    "company",
    "job_title",
    "email",
    "owner",
    "lead_id",
];

/// A template as saved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailTemplate {
    pub subject: String,
    pub body: String,
}

/// The placeholders of a text, or the first mistake (an unclosed or unknown one).
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "has a {{ without its }}".to_owned())?;
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{{{{{name}}}}} is not a placeholder; use {}",
                PLACEHOLDERS.join(", ")
            ));
        }
        found.push(name);
        rest = &after[end + 2..];
    }
    Ok(found)
}

/// A template as someone writes it, read by serde and checked by `check`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    /// One line of 1 to 200 characters; `{{placeholders}}` as in the body.
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 200))]
    pub subject: Option<String>,
    /// Plain text of 1 to 20,000 characters with `{{first_name}}`, `{{last_name}}`,
    /// `{{company}}`, `{{job_title}}`, `{{email}}`, `{{owner}}`, `{{lead_id}}`.
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 20000))]
    pub body: Option<String>,
}

impl TemplateRequest {
    /// The template, or every mistake (unknown or unclosed placeholders, a subject of more
    /// than one line, a missing or over-long text).
    pub fn check(&self) -> Result<EmailTemplate, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut text = |key: &str, given: &Option<String>, max: usize| -> String {
            match given.as_deref() {
                Some(s) if !s.trim().is_empty() && s.chars().count() <= max => {
                    if let Err(reason) = placeholders(s) {
                        errors.push(FieldError::new(key, reason));
                    }
                    if key == "subject" && s.contains(['\r', '\n']) {
                        errors.push(FieldError::new(key, "must be one line"));
                    }
                    s.trim().to_owned()
                }
                _ => {
                    errors.push(FieldError::new(
                        key,
                        format!("is required: text of 1 to {max} characters"),
                    ));
                    String::new()
                }
            }
        };
        let subject = text("subject", &self.subject, 200);
        let body = text("body", &self.body, 20_000);
        errors.into_result(EmailTemplate { subject, body })
    }
}

impl EmailTemplate {
    /// The subject and body for a lead, its owner's name given.
    pub fn render(
        &self,
        lead: &Lead,
        lead_id: crate::id::LeadId,
        owner: Option<&str>,
    ) -> (String, String) {
        let value = |name: &str| -> String {
            let text = |t: &Option<crate::Text>| {
                t.as_ref()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default()
            };
            match name {
                "first_name" => text(&lead.first_name),
                "last_name" => text(&lead.last_name),
                "company" => text(&lead.company),
                "job_title" => text(&lead.job_title),
                "email" => lead
                    .email
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
                "owner" => owner.unwrap_or_default().to_owned(),
                "lead_id" => lead_id.to_string(),
                _ => String::new(),
            }
        };
        let fill = |text: &str| {
            let mut out = String::with_capacity(text.len());
            let mut rest = text;
            while let Some(start) = rest.find("{{") {
                out.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                match after.find("}}") {
                    Some(end) => {
                        out.push_str(&value(after[..end].trim()));
                        rest = &after[end + 2..];
                    }
                    None => {
                        out.push_str(&rest[start..]);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            out
        };
        // A value with a line break must not add header lines to the subject.
        let subject = fill(&self.subject).replace(['\r', '\n'], " ");
        (subject, fill(&self.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::PatchMode;
    use crate::LeadPatch;
    use serde_json::json;

    fn read(body: serde_json::Value) -> Result<EmailTemplate, FieldErrors> {
        serde_json::from_value::<TemplateRequest>(body)
            .expect("a template's shape")
            .check()
    }

    #[test]
    fn templates_are_checked_and_filled() {
        let template = read(json!({
            "subject": "{{ first_name }}, your demo of Leadgate",
            "body": "Xin chào {{first_name}} {{last_name}},\nI am {{owner}} and will call {{company}} soon."
        }))
        .unwrap();
        let mut lead = Lead::default();
        LeadPatch::parse(
            json!({"first_name": "Lan", "last_name": "Nguyễn", "company": "Saigon Express"})
                .as_object()
                .unwrap(),
            PatchMode::Create,
        )
        .unwrap()
        .apply(&mut lead)
        .unwrap();
        let (subject, body) = template.render(&lead, crate::id::LeadId(7), Some("minh"));
        assert_eq!(subject, "Lan, your demo of Leadgate");
        assert_eq!(
            body,
            "Xin chào Lan Nguyễn,\nI am minh and will call Saigon Express soon."
        );

        assert!(serde_json::from_value::<TemplateRequest>(json!({"cc": 1})).is_err());
        let errors = read(json!({"subject": "Hi {{nickname}}\nBcc: x", "body": "{{first_name"}))
            .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["subject", "subject", "body"]);
        assert!(errors.0[0]
            .reason
            .contains("{{nickname}} is not a placeholder"));
        assert!(read(json!({"subject": "x"})).is_err());
    }
}
