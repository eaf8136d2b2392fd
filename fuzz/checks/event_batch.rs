//! Any bytes as the body of `POST /api/v1/events`: each item parses to an event or to
//! errors naming its fields (a NUL anywhere included), never a panic.

use leadgate_core::EventDraft;
use serde_json::Value;

pub fn run(data: &[u8]) {
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(Value::Array(items)) = body.remove("events") else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    for item in items.iter().take(1000) {
        if let Ok((_, draft)) = EventDraft::parse_item(item, now) {
            assert!(
                leadgate_core::validation::refuse_nul(&draft.payload, "").is_ok(),
                "an accepted event holds no NUL"
            );
        }
    }
}
