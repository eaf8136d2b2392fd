//! Web-to-lead forms: a definition (fields, required ones, consent wording, thank-you page,
//! attribution), a submission read through it, and the HTML snippet to paste into a site.

use crate::lead::LeadField;
use crate::source::{Channel, Source};
use crate::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The hidden field people never see and bots fill in.
pub const HONEYPOT: &str = "_hp";
/// The hidden field the snippet sets to the time the form was shown (Unix milliseconds).
pub const SHOWN_AT: &str = "_ts";
/// The consent checkbox.
pub const CONSENT: &str = "consent";
/// The hidden field the site tracker fills with the visitor's id (once they agreed to be
/// tracked), so their history joins the lead the form makes.
pub const VISITOR: &str = "_lgv";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    /// Shown as the form's heading.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"[^\s\u0085]")
    )]
    pub title: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub fields: Vec<FormField>,
    /// The consent wording shown beside the checkbox; with it, the box must be ticked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2000, pattern = r"[^\s\u0085]")
    )]
    pub consent_text: Option<String>,
    /// Where a browser goes after submitting (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000, pattern = "^https?://"))]
    pub redirect_url: Option<String>,
    /// Attribution of every submission: channel (default web_form), campaign, utm_*.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub source: Map<String, Value>,
    /// Submissions faster than this after the form was shown look like bots.
    #[serde(default = "default_min_fill_seconds")]
    pub min_fill_seconds: u32,
}

fn default_min_fill_seconds() -> u32 {
    3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// A lead field (`email`, `first_name`...) or `custom.<key>`.
    pub name: String,
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"[^\s\u0085]")
    )]
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

/// A submission read through its form.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Flat lead input for `LeadPatch::parse`.
    pub lead: Map<String, Value>,
    pub source: Source,
    /// Whether the consent box was ticked (None: the form asks for no consent).
    pub consent: Option<bool>,
    /// Signs of a bot: "honeypot", "too_fast", "no_render_time".
    pub bot_signals: Vec<&'static str>,
}

impl Submission {
    /// Whether the ticked consent box becomes the person's contact consent. Nobody vouches
    /// for an anonymous visitor, so like a known lead's fields it only fills what is empty:
    /// a bot's tick, or one for a person who already decided (`decided`: their contact
    /// consent in force, granted or withdrawn), stays in the submission's event only. A
    /// withdrawal is never undone by whoever types the person's email into a form.
    pub fn records_consent(&self, decided: Option<bool>) -> bool {
        self.consent == Some(true) && self.bot_signals.is_empty() && decided.is_none()
    }
}

/// Form keys appear in URLs: lower-case letters, digits and dashes.
/// Text a visitor reads on the form: 1 to `max` characters, not only spaces, no control
/// characters (a NUL cannot be stored by PostgreSQL, a line break splits a header).
fn plain(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

pub fn check_key(key: &str) -> Result<(), FieldError> {
    let ok = (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "key",
            "must be 1 to 64 lower-case letters, digits or dashes",
        ))
    }
}

impl FormDefinition {
    /// Parses and checks a definition, naming every bad part.
    pub fn parse(value: &Value) -> Result<Self, FieldErrors> {
        let form: FormDefinition = serde_json::from_value(value.clone())
            .map_err(|e| FieldErrors::from(FieldError::new("definition", e.to_string())))?;
        form.check()?;
        Ok(form)
    }

    /// Every way a definition read by serde breaks the form rules (the API reads it so).
    pub fn check(&self) -> Result<(), FieldErrors> {
        let form = self;
        let mut errors = FieldErrors::default();
        if !plain(&form.title, 200) {
            errors.push(FieldError::new(
                "title",
                "must be 1 to 200 characters, none of them control characters",
            ));
        }
        if form.fields.is_empty() {
            errors.push(FieldError::new("fields", "must list at least one field"));
        }
        let mut seen = Vec::new();
        for (i, field) in form.fields.iter().enumerate() {
            let at = format!("fields[{i}].name");
            let known = match field.name.strip_prefix("custom.") {
                Some(key) => plain(key, 100) && key.trim() == key,
                None => LeadField::from_name(&field.name).is_some_and(|f| {
                    !matches!(f, LeadField::Stage | LeadField::Owner | LeadField::Custom)
                }),
            };
            if !known {
                errors.push(FieldError::new(
                    at.clone(),
                    format!(
                        "'{}' is not a lead field a form can fill (or custom.<key>)",
                        field.name
                    ),
                ));
            }
            if seen.contains(&field.name) {
                errors.push(FieldError::new(
                    at,
                    format!("'{}' is listed twice", field.name),
                ));
            }
            seen.push(field.name.clone());
            if !plain(&field.label, 200) {
                errors.push(FieldError::new(
                    format!("fields[{i}].label"),
                    "must be 1 to 200 characters, none of them control characters",
                ));
            }
        }
        if let Some(url) = &form.redirect_url {
            // It becomes a Location header: no space or control byte may split it.
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 2000
                || url.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                errors.push(FieldError::new(
                    "redirect_url",
                    "must be an http:// or https:// address",
                ));
            }
        }
        if form.consent_text.as_ref().is_some_and(|t| !plain(t, 2000)) {
            errors.push(FieldError::new(
                "consent_text",
                "must be 1 to 2000 characters, none of them control characters",
            ));
        }
        let mut source = form.source.clone();
        if let Err(e) = Source::take_from(&mut source, Channel::WebForm) {
            errors.0.extend(e.0.into_iter().map(|mut e| {
                e.field = format!("source.{}", e.field);
                e
            }));
        }
        if let Some(key) = source.keys().next() {
            errors.push(FieldError::new(
                format!("source.{key}"),
                "is not a source key",
            ));
        }
        errors.into_result(())
    }

    /// Reads a submission (form fields as strings), `now_ms` being the time it arrived. Bad
    /// values are left to the lead's own validation; this checks the form's rules.
    pub fn read(&self, input: &Map<String, Value>, now_ms: i64) -> Result<Submission, FieldErrors> {
        let mut errors = FieldErrors::default();
        if let Err(e) = crate::validation::refuse_nul(&Value::Object(input.clone()), "") {
            return Err(e.into());
        }
        let text = |key: &str| -> Option<String> {
            match input.get(key) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(Value::Bool(b)) => Some(b.to_string()),
                _ => None,
            }
        };
        let mut lead = Map::new();
        let mut custom = Map::new();
        for field in &self.fields {
            match text(&field.name) {
                Some(value) => {
                    // Numbers arrive as text; what does not read stays text, for the
                    // lead's validation to name.
                    let value = match field.name.as_str() {
                        "company_size" => crate::import::parse_integer(&value)
                            .map(Value::from)
                            .unwrap_or(Value::String(value)),
                        "budget" => crate::import::parse_number(&value)
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map(Value::Number)
                            .unwrap_or(Value::String(value)),
                        _ => Value::String(value),
                    };
                    match field.name.strip_prefix("custom.") {
                        Some(key) => {
                            custom.insert(key.to_owned(), value);
                        }
                        None => {
                            lead.insert(field.name.clone(), value);
                        }
                    }
                }
                None if field.required => errors.push(FieldError::new(
                    field.name.clone(),
                    format!("is required ({})", field.label),
                )),
                None => {}
            }
        }
        if !custom.is_empty() {
            lead.insert("custom".into(), Value::Object(custom));
        }
        let consent = self
            .consent_text
            .as_ref()
            .map(|_| matches!(text(CONSENT).as_deref(), Some("on" | "true" | "yes" | "1")));
        if consent == Some(false) {
            errors.push(FieldError::new(CONSENT, "must be given to send this form"));
        }
        let mut source_input = self.source.clone();
        for key in Source::KEYS {
            if key == "channel" || key == "source_class" {
                continue; // The form decides its channel, not the visitor.
            }
            if let Some(v) = text(key) {
                source_input.insert(key.to_owned(), Value::String(v));
            }
        }
        let source = match Source::take_from(&mut source_input, Channel::WebForm) {
            Ok(source) => source.unwrap_or_else(|| Source::new(Channel::WebForm)),
            Err(e) => {
                errors.0.extend(e.0);
                Source::new(Channel::WebForm)
            }
        };
        let mut bot_signals = Vec::new();
        if text(HONEYPOT).is_some() {
            bot_signals.push("honeypot");
        }
        // The snippet's script writes the render time; a post without one (or with one
        // that is no time at all) did not come from a browser that showed the form.
        match text(SHOWN_AT).and_then(|t| t.parse::<i64>().ok()) {
            Some(shown) if shown > 0 => {
                if now_ms - shown < i64::from(self.min_fill_seconds) * 1000 {
                    bot_signals.push("too_fast");
                }
            }
            _ => bot_signals.push("no_render_time"),
        }
        errors.into_result(Submission {
            lead,
            source,
            consent,
            bot_signals,
        })
    }

    /// An HTML snippet posting to `action`, every text escaped.
    pub fn embed(&self, action: &str) -> String {
        let mut html = format!(
            "<form class=\"leadgate-form\" method=\"post\" action=\"{}\" accept-charset=\"utf-8\">\n  <h3>{}</h3>\n",
            escape(action),
            escape(&self.title)
        );
        for field in &self.fields {
            let id = format!("lg-{}", field.name.replace('.', "-"));
            let kind = match field.name.as_str() {
                "email" => "email",
                "phone" => "tel",
                "website" => "url",
                "company_size" | "budget" => "number",
                _ => "text",
            };
            html.push_str(&format!(
                "  <p><label for=\"{id}\">{}</label><br><input id=\"{id}\" name=\"{}\" type=\"{kind}\"{}></p>\n",
                escape(&field.label),
                escape(&field.name),
                if field.required { " required" } else { "" }
            ));
        }
        if let Some(text) = &self.consent_text {
            html.push_str(&format!(
                "  <p><label><input name=\"{CONSENT}\" type=\"checkbox\" value=\"on\" required> {}</label></p>\n",
                escape(text)
            ));
        }
        html.push_str(&format!(
            "  <div style=\"position:absolute;left:-5000px\" aria-hidden=\"true\"><input name=\"{HONEYPOT}\" tabindex=\"-1\" autocomplete=\"off\"></div>\n  <input type=\"hidden\" name=\"{SHOWN_AT}\">\n  <input type=\"hidden\" name=\"{VISITOR}\">\n  <input type=\"hidden\" name=\"landing_page\">\n  <input type=\"hidden\" name=\"referrer\">\n  <button type=\"submit\">Send</button>\n</form>\n<script>(function(){{var f=document.currentScript.previousElementSibling;f.{SHOWN_AT}.value=Date.now();f.landing_page.value=location.href;f.referrer.value=document.referrer;if(window.leadgate&&leadgate.visitor()){{f.{VISITOR}.value=leadgate.visitor();}}var q=new URLSearchParams(location.search);['utm_source','utm_medium','utm_campaign','utm_term','utm_content'].forEach(function(k){{if(q.get(k)){{var i=document.createElement('input');i.type='hidden';i.name=k;i.value=q.get(k);f.appendChild(i);}}}});}})();</script>\n"
        ));
        html
    }
}

/// Text safe inside HTML elements and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod control_tests {
    use super::*;

    #[test]
    fn control_bytes_in_a_form_are_refused_by_field() {
        let form = |title: &str, label: &str, redirect: &str| {
            serde_json::json!({"title": title, "fields": [{"name": "email", "label": label},
                {"name": "custom.a\u{0}b", "label": "x"}], "redirect_url": redirect})
        };
        let errors = FormDefinition::parse(&form(
            "t\u{0}",
            "E\nmail",
            "https://a.example/\r\nSet-Cookie: x",
        ))
        .unwrap_err()
        .to_string();
        for field in ["title", "fields[0].label", "fields[1].name", "redirect_url"] {
            assert!(errors.contains(field), "{field}: {errors}");
        }
        assert!(FormDefinition::parse(
            &serde_json::json!({"title": "T", "fields": [{"name": "email", "label": "Email"}]})
        )
        .is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_ticked_box_fills_only_an_undecided_consent() {
        let mut submission = Submission {
            lead: Map::new(),
            source: Source::new(Channel::WebForm),
            consent: Some(true),
            bot_signals: Vec::new(),
        };
        assert!(submission.records_consent(None));
        assert!(
            !submission.records_consent(Some(false)),
            "a withdrawal stands"
        );
        assert!(!submission.records_consent(Some(true)));
        submission.bot_signals.push("honeypot");
        assert!(!submission.records_consent(None), "a bot grants nothing");
        submission.bot_signals.clear();
        submission.consent = Some(false);
        assert!(!submission.records_consent(None));
        submission.consent = None;
        assert!(!submission.records_consent(None));
    }

    fn form() -> FormDefinition {
        FormDefinition::parse(&json!({
            "title": "Request a demo",
            "fields": [
                {"name": "email", "label": "Work email", "required": true},
                {"name": "first_name", "label": "First name"},
                {"name": "company_size", "label": "Employees"},
                {"name": "custom.role", "label": "Your role <b>"}
            ],
            "consent_text": "I agree to be contacted about Leadgate.",
            "redirect_url": "https://example.com/thanks",
            "source": {"campaign": "spring-demo"}
        }))
        .unwrap()
    }

    fn input(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_submission_becomes_lead_fields_a_touch_and_consent() {
        let s = form()
            .read(
                &input(json!({"email": "ana@acme.io", "first_name": "<script>alert(1)</script>", "company_size": "120",
                              "custom.role": "CTO", "consent": "on", "utm_source": "google", "channel": "partner",
                              "_ts": "1000", "_hp": ""})),
                60_000,
            )
            .unwrap();
        assert_eq!(
            s.lead["first_name"], "<script>alert(1)</script>",
            "stored as text"
        );
        assert_eq!(s.lead["company_size"], 120);
        assert_eq!(s.lead["custom"]["role"], "CTO");
        assert_eq!(s.consent, Some(true));
        assert_eq!(
            s.source.channel,
            Channel::WebForm,
            "the visitor does not pick the channel"
        );
        assert_eq!(s.source.utm_source.unwrap().as_str(), "google");
        assert_eq!(s.source.campaign.unwrap().as_str(), "spring-demo");
        assert!(s.bot_signals.is_empty());
    }

    #[test]
    fn missing_required_fields_and_consent_are_named() {
        let errors = form()
            .read(&input(json!({"first_name": "Ana"})), 0)
            .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "consent"]);
    }

    #[test]
    fn bots_are_recognised_by_the_honeypot_and_their_speed() {
        let s = form()
            .read(
                &input(json!({"email": "a@b.io", "consent": "on", "_hp": "http://spam", "_ts": "59000"})),
                60_000,
            )
            .unwrap();
        assert_eq!(s.bot_signals, ["honeypot", "too_fast"]);
        for ts in [None, Some("soon"), Some(""), Some("-5"), Some("0")] {
            let mut post = input(json!({"email": "a@b.io", "consent": "on"}));
            if let Some(ts) = ts {
                post.insert(SHOWN_AT.into(), json!(ts));
            }
            let s = form().read(&post, 60_000).unwrap();
            assert_eq!(s.bot_signals, ["no_render_time"], "_ts {ts:?}");
        }
    }

    #[test]
    fn a_nul_in_any_posted_field_is_refused_by_name() {
        let errors = form()
            .read(
                &input(json!({"email": "a@b.io", "consent": "on", "utm_term": "x\u{0}"})),
                60_000,
            )
            .unwrap_err();
        assert_eq!(errors.0[0].field, "utm_term");
    }

    #[test]
    fn bad_definitions_name_each_mistake() {
        let errors = FormDefinition::parse(&json!({
            "title": "",
            "fields": [{"name": "stage", "label": "x"}, {"name": "email", "label": ""}, {"name": "email", "label": "again"}],
            "redirect_url": "javascript:alert(1)",
            "source": {"channel": "pigeon", "colour": "red"}
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "fields[0].name",
                "fields[1].label",
                "fields[2].name",
                "redirect_url",
                "source.channel",
                "source.colour"
            ]
        );
        assert!(FormDefinition::parse(&json!({"title": "x", "fields": [], "extra": 1})).is_err());
        assert!(check_key("demo-2026").is_ok());
        assert!(check_key("Demo form").is_err());
    }

    #[test]
    fn the_snippet_escapes_every_text() {
        let html = form().embed("https://leads.example.com/f/demo?x=\"1\"");
        assert!(html.contains("Your role &lt;b&gt;"));
        assert!(html.contains("action=\"https://leads.example.com/f/demo?x=&quot;1&quot;\""));
        assert!(html.contains("name=\"_hp\""));
        assert!(html.contains("I agree to be contacted"));
        assert!(!html.contains("<b>"));
    }
}
