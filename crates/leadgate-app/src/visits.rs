//! A website's visitors: the page views a tracker collects, kept apart while the visitor is
//! anonymous, and events on their lead (with the times they happened, scored) once the
//! visitor submits a form or arrives from a Leadgate email.

use crate::{Models, Result};
use chrono::{DateTime, Duration, Utc};
use leadgate_core::id::LeadId;
use leadgate_core::visits::{too_fast, PageView};
use leadgate_core::{EventDraft, EventType};
use leadgate_store::Store;
use std::collections::{HashMap, HashSet, VecDeque};

/// What one post of a tracker's script brought, after the edge's checks (the site allowed,
/// consent and privacy signals honoured, the user agent not a robot's).
#[derive(Debug, Clone)]
pub struct Arrival {
    pub tracker_id: i64,
    pub visitor: String,
    /// The token of the Leadgate email whose link brought the visitor.
    pub email: Option<String>,
    pub views: Vec<PageView>,
}

/// What `record` did with a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Views kept apart for visitors not known yet.
    pub kept: usize,
    /// Views that became events on a known visitor's lead.
    pub events: usize,
    /// Views dropped: a robot's.
    pub dropped: usize,
}

/// The recent views of each visitor, across batches: what tells a robot by its pace.
#[derive(Debug, Default)]
pub struct Pace {
    recent: HashMap<String, VecDeque<DateTime<Utc>>>,
}

impl Pace {
    /// The visitors of these arrivals whose views, with their recent ones, came faster than
    /// a person reads. Forgets views older than a minute.
    pub fn robots(&mut self, arrivals: &[Arrival], now: DateTime<Utc>) -> HashSet<String> {
        let horizon = now - Duration::minutes(1);
        self.recent.retain(|_, times| {
            times.retain(|t| *t >= horizon);
            !times.is_empty()
        });
        let mut robots = HashSet::new();
        for arrival in arrivals {
            let times = self.recent.entry(arrival.visitor.clone()).or_default();
            // Their arrival, not the times the browser claims: a robot can claim anything.
            times.extend(arrival.views.iter().map(|_| now));
            let mut all: Vec<DateTime<Utc>> = times.iter().copied().collect();
            if too_fast(&mut all) {
                robots.insert(arrival.visitor.clone());
            }
        }
        robots
    }
}

/// Records a batch of arrivals in one transaction: visitors seen, robots marked, the
/// views of known visitors appended to their lead as `page_viewed` events (their lead due
/// for rescoring), the others kept apart. A visitor who came from a Leadgate email is linked
/// to its lead first.
pub async fn record(
    store: &Store,
    arrivals: Vec<Arrival>,
    robots: &HashSet<String>,
    now: DateTime<Utc>,
) -> Result<Recorded> {
    let mut from_email: HashMap<&str, LeadId> = HashMap::new();
    for arrival in &arrivals {
        if let Some(token) = &arrival.email {
            if let Some(email) = store.email_by_token(token).await? {
                from_email.insert(&arrival.visitor, email.lead_id);
            }
        }
    }
    let mut by_tracker: HashMap<i64, Vec<&str>> = HashMap::new();
    for arrival in &arrivals {
        by_tracker
            .entry(arrival.tracker_id)
            .or_default()
            .push(&arrival.visitor);
    }
    let mut tx = store.begin().await?;
    let mut visitors = HashMap::new();
    for (tracker, mut keys) in by_tracker {
        keys.sort_unstable();
        keys.dedup();
        for visitor in tx.visitors(tracker, &keys, now).await? {
            visitors.insert(visitor.visitor_key.clone(), visitor);
        }
    }
    let newly_robots: Vec<i64> = visitors
        .values()
        .filter(|v| !v.robot && robots.contains(&v.visitor_key))
        .map(|v| v.id)
        .collect();
    tx.mark_robots(&newly_robots).await?;
    let mut recorded = Recorded::default();
    let mut drafts: Vec<(LeadId, EventDraft)> = Vec::new();
    let mut kept: Vec<(i64, &PageView)> = Vec::new();
    for arrival in &arrivals {
        let Some(visitor) = visitors.get(&arrival.visitor) else {
            continue;
        };
        if visitor.robot || robots.contains(&visitor.visitor_key) {
            recorded.dropped += arrival.views.len();
            continue;
        }
        let mut lead = visitor.lead_id;
        if let Some(known) = from_email.get(arrival.visitor.as_str()) {
            if lead != Some(*known) {
                if let Some(views) = tx.link_visitor(&arrival.visitor, *known, now).await? {
                    drafts.extend(views.iter().map(|v| (*known, draft(&arrival.visitor, v))));
                    lead = Some(*known);
                }
            }
        }
        match lead {
            Some(lead) => drafts.extend(
                arrival
                    .views
                    .iter()
                    .map(|v| (lead, draft(&arrival.visitor, v))),
            ),
            None => kept.extend(arrival.views.iter().map(|v| (visitor.id, v))),
        }
    }
    // A view posted twice (the script retries) is one event, or kept once.
    let mut seen = HashSet::new();
    drafts.retain(|(_, d)| seen.insert(d.idempotency_key.clone()));
    let mut seen = HashSet::new();
    kept.retain(|(visitor, view)| seen.insert((*visitor, view.id.as_str())));
    tx.keep_views(&kept).await?;
    recorded.kept = kept.len();
    recorded.events = tx.append_activity(&drafts).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// The visitor turned out to be this lead (they sent a form): their history becomes the
/// lead's events, with the times it happened, and the lead is scored. Returns how many
/// views became events (none for a robot or a visitor with no history).
pub async fn identify(
    store: &Store,
    models: &Models,
    visitor: &str,
    lead: LeadId,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut tx = store.begin().await?;
    let Some(views) = tx.link_visitor(visitor, lead, now).await? else {
        return Ok(0);
    };
    let drafts: Vec<(LeadId, EventDraft)> =
        views.iter().map(|v| (lead, draft(visitor, v))).collect();
    let appended = tx.append_activity(&drafts).await?;
    tx.commit().await?;
    if appended > 0 {
        models.refresh(lead, now).await?;
    }
    Ok(appended)
}

/// Deletes anonymous history older than `days` (the retention setting).
pub async fn forget_old(
    store: &Store,
    days: u32,
    now: DateTime<Utc>,
) -> Result<leadgate_store::Forgotten> {
    Ok(store
        .forget_visitors_before(now - Duration::days(i64::from(days)))
        .await?)
}

/// A view as the `page_viewed` event on the visitor's lead.
fn draft(visitor: &str, view: &PageView) -> EventDraft {
    let mut draft = EventDraft::new(EventType::PageViewed, view.viewed_at, view.payload())
        .with_actor("tracker");
    draft.idempotency_key = Some(view.event_key(visitor));
    draft
}
