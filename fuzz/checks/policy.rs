//! Any bytes as a policy document: parsing ends in a policy or in mistakes named by line,
//! never a panic; a policy that parses scores a lead and an event without one either.

use leadgate_core::policy::Policy;
use leadgate_core::scoring::{score, EventFact, Marks};
use leadgate_core::{EventType, Lead};

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = Policy::parse(text) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let payload = serde_json::json!({"url": "/pricing", "title": "Pricing"});
    let events = [EventFact {
        id: 1,
        event_type: EventType::PageViewed,
        occurred_at: now,
        payload: &payload,
    }];
    let _ = score(&Lead::default(), &events, Marks::default(), &policy, now);
}
