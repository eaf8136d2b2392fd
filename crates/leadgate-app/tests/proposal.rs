//! The policy the data proposes, on both engines: closed leads whose outcome the generator
//! ties to one rule (decision makers win; industry does nothing), replayed at their decision
//! time. The proposal raises that rule, finds the industry rules useless, writes a draft
//! that is a valid policy and can be applied as a new version.

use chrono::{Duration, Utc};
use leadgate_app::proposal::suggest;
use leadgate_core::event::LeadRef;
use leadgate_core::{EventDraft, EventType};
use leadgate_store::testing::capture_of;
use leadgate_store::Store;
use rand::{Rng, SeedableRng};
use serde_json::json;

leadgate_store::on_both_engines!(the_data_proposes_points_that_follow_the_outcomes);

async fn the_data_proposes_points_that_follow_the_outcomes(store: Store) {
    let models = leadgate_app::Models::new(store.clone());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let industries = ["Software", "Manufacturing", "Retail", "Healthcare"];
    let mut outcomes = Vec::new();
    for i in 0..500 {
        let boss = rng.gen_bool(0.5);
        let lead = leadgate_app::capture(
            &store,
            &models,
            capture_of(json!({
                "email": format!("p{i}@firm{}.example", i % 97),
                "job_title": if boss { "Head of Sales" } else { "Analyst" },
                "industry": industries[rng.gen_range(0..industries.len())],
            })),
            None,
        )
        .await
        .expect("a lead")
        .lead
        .id;
        // Decision makers win a third of the time, the others one in thirty: whatever
        // their industry.
        let won = rng.gen_bool(if boss { 0.33 } else { 0.033 });
        let mut outcome = EventDraft::new(
            EventType::OutcomeRecorded,
            Utc::now() - Duration::minutes(1),
            json!({"outcome": if won { "won" } else { "lost" }}),
        );
        outcome.idempotency_key = Some(format!("outcome-{i}"));
        outcomes.push(Ok((LeadRef::Id(lead), outcome)));
    }
    store
        .append_events(outcomes, "test")
        .await
        .expect("outcomes");

    let suggestion = suggest(&store, "default", Utc::now())
        .await
        .expect("a proposal");
    assert_eq!(suggestion.closed, 500);
    let rule = |name: &str| {
        suggestion
            .rules
            .iter()
            .find(|r| r.name == name)
            .expect(name)
            .clone()
    };
    let boss = rule("Decision maker");
    assert!(!boss.useless && boss.proposed > boss.points_now, "{boss:?}");
    assert!(rule("Core industry").useless, "{:?}", rule("Core industry"));
    assert!(
        rule("Adjacent industry").useless,
        "{:?}",
        rule("Adjacent industry")
    );
    // No lead had a student's title: nothing to learn, so useless, and out of the draft.
    assert!(rule("Student").useless && rule("Student").leads == 0);
    let draft = leadgate_core::policy::Policy::parse(&suggestion.draft).expect("a valid policy");
    assert!(draft.fit.iter().all(|f| f.name != "Core industry"));
    let proposed = draft
        .fit
        .iter()
        .find(|f| f.name == "Decision maker")
        .expect("kept");
    assert_eq!(proposed.points, boss.proposed);
    // Only a person applies it, with a message, as any other version.
    let applied = store
        .apply_policy(&suggestion.draft, "mia", "the data's proposal, backtested")
        .await
        .expect("applied");
    assert_eq!(applied.version, 1);
}
