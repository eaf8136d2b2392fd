//! Duplicate people: the people who arrived (a capture's, an import's) or the whole store
//! matched by core's rules, the sure matches merged and the likely ones suggested.

use crate::Result;
use leadgate_core::dedupe::{self, Match, Matching, MergeStatus, AUTO_MERGE};
use leadgate_core::id::PersonId;
use leadgate_store::{Arrived, DedupeSummary, Store};
use std::collections::{HashMap, HashSet};

/// Matches every person against the others (blocked by email, phone and company), merges
/// the sure matches (score at least 0.95) and stores the likely ones (0.80 to 0.95) as
/// suggestions. With `dry_run`, only counts.
pub async fn dedupe(store: &Store, actor: &str, dry_run: bool) -> Result<DedupeSummary> {
    let people = store.person_keys_all().await?;
    let matches = dedupe::find_matches(&people);
    settle(store, people.len(), &matches, actor, dry_run, true).await
}

/// Matches the given people (just captured) against those they could be: anyone with the
/// same phone, or with a lead at the same company (found by name or email domain when
/// captured). Sure matches are merged into the older person at once, likely ones
/// suggested, as `dedupe` does for the whole store. The people are stored already: a
/// failure here (say, another server merged one first) is logged, not returned, and leaves
/// them for `leadgate dedupe`.
///
/// With `may_merge` false (people nobody vouches for: an anonymous form's), even sure
/// matches are only suggested: a stranger typing a known name and company must not join
/// the known person.
pub async fn match_people(
    store: &Store,
    ids: &[PersonId],
    actor: &str,
    may_merge: bool,
) -> DedupeSummary {
    match match_arrived(store, &Arrived::People(ids.to_vec()), actor, may_merge).await {
        Ok(summary) => summary,
        Err(e) => {
            tracing::warn!(error = %e, people = ids.len(), "matching arrived people failed; `leadgate dedupe` will find their duplicates");
            DedupeSummary::default()
        }
    }
}

/// Matches the people an import brought (made after `before`) against those they could
/// be, as `match_people` does for one capture; once, after all its rows.
pub async fn match_imported(store: &Store, before: PersonId, actor: &str) -> DedupeSummary {
    match match_arrived(store, &Arrived::After(before), actor, true).await {
        Ok(summary) => summary,
        Err(e) => {
            tracing::warn!(error = %e, "matching imported people failed; `leadgate dedupe` will find their duplicates");
            DedupeSummary::default()
        }
    }
}

async fn match_arrived(
    store: &Store,
    arrived: &Arrived,
    actor: &str,
    may_merge: bool,
) -> Result<DedupeSummary> {
    let (people, given) = store.person_keys_near(arrived).await?;
    if given.is_empty() {
        return Ok(DedupeSummary::default());
    }
    let matching = dedupe::find_matches_of(&people, &given);
    settle(store, given.len(), &matching, actor, false, may_merge).await
}

/// Merges the sure matches (clusters kept as their oldest person; none unless
/// `may_merge`) and stores the likely ones not decided before as suggestions.
async fn settle(
    store: &Store,
    people: usize,
    matching: &Matching,
    actor: &str,
    dry_run: bool,
    may_merge: bool,
) -> Result<DedupeSummary> {
    let matches = &matching.matches;
    let plan = if may_merge {
        dedupe::merge_plan(matches)
    } else {
        Vec::new()
    };
    let mut summary = DedupeSummary {
        people,
        pairs_found: matches.len(),
        merged: 0,
        suggested: 0,
        blocks_skipped: matching.blocks_skipped,
        people_capped: matching.people_capped,
    };
    let merged: HashSet<i64> = plan.iter().map(|(_, m)| *m).collect();
    let suggestions: Vec<&Match> = matches
        .iter()
        .filter(|m| {
            (m.score < AUTO_MERGE || !may_merge) && !merged.contains(&m.a) && !merged.contains(&m.b)
        })
        .collect();
    if dry_run {
        summary.merged = plan.len();
        summary.suggested = suggestions.len();
        return Ok(summary);
    }
    let mut by_pair: HashMap<(i64, i64), &Match> = HashMap::new();
    for m in matches {
        by_pair.entry((m.a, m.b)).or_insert(m);
    }
    for (kept, gone) in &plan {
        let found = by_pair
            .get(&(*kept, *gone))
            .map(|m| (*m).clone())
            .unwrap_or(Match {
                a: *kept,
                b: *gone,
                score: AUTO_MERGE,
                reasons: vec!["same person as a merged duplicate".into()],
            });
        // A pair suggested before is merged now; one a person rejected or undid stays
        // apart.
        let id = match store.known_merge(found.a, found.b).await? {
            None => store.insert_merge(&found, MergeStatus::Suggested).await?,
            Some((id, MergeStatus::Suggested)) => id,
            Some(_) => continue,
        };
        store.apply_merge(id, actor).await?;
        summary.merged += 1;
    }
    // A pair suggested before (or rejected) is not suggested again.
    let known = store.known_pairs(&suggestions).await?;
    let fresh: Vec<&Match> = suggestions
        .into_iter()
        .filter(|m| !known.contains(&(m.a, m.b)))
        .collect();
    store.insert_suggestions(&fresh).await?;
    summary.suggested += fresh.len();
    Ok(summary)
}
