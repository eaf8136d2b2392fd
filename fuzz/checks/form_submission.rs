//! Any body posted to a web form, url-encoded or JSON, read through a form: a submission or
//! field errors, never a panic; and the lead patch it yields parses or names its fields.

use leadgate_core::form::FormDefinition;
use leadgate_core::lead::PatchMode;
use leadgate_core::LeadPatch;
use serde_json::{json, Map, Value};

pub fn run(data: &[u8]) {
    let Ok(form) = FormDefinition::parse(&json!({
        "title": "Request a demo",
        "fields": [
            {"name": "email", "label": "Email", "required": true},
            {"name": "first_name", "label": "First name"},
            {"name": "company_size", "label": "Employees"},
            {"name": "budget", "label": "Budget"},
            {"name": "custom.role", "label": "Role"}
        ],
        "consent_text": "I agree.",
        "source": {"campaign": "fuzz"}
    })) else {
        return;
    };
    let mut inputs: Vec<Map<String, Value>> = Vec::new();
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) {
        inputs.push(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        );
    }
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        inputs.push(map);
    }
    for input in inputs {
        if let Ok(submission) = form.read(&input, 1_000_000) {
            let _ = LeadPatch::parse(&submission.lead, PatchMode::Create);
        }
        let _ = form.embed("https://example.com/f/demo");
    }
}
