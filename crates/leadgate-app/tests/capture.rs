//! The capture use case without HTTP, on both engines: who may merge a known person, a bot
//! matched with nobody, a consent stored with its lead or not at all, the lead scored.

use leadgate_app::{capture, Models};
use leadgate_core::dedupe::MergeStatus;
use leadgate_core::policy::Policy;
use leadgate_store::testing::{capture_of, count, TestDatabase};
use leadgate_store::{Capture, Engine, NewConsent, Store, Submitter, CONTACT_PURPOSE};
use serde_json::{json, Value};

fn arrival(input: Value, by: Submitter, bot: bool) -> Capture {
    Capture {
        by,
        bot,
        ..capture_of(input)
    }
}

/// Sara again with another address, as given by each kind of submitter.
fn sara_again(email: &str) -> Value {
    json!({"first_name": "Sara", "last_name": "Karimi", "email": email,
           "company": "Parsian Trading", "job_title": "Head of sales"})
}

async fn merges(store: &Store, status: MergeStatus) -> usize {
    store.merges(Some(status)).await.expect("merges").len()
}

async fn captures_match_consent_and_score(engine: Engine) {
    let db = TestDatabase::new(engine).await;
    let store = db.store().await;
    store
        .apply_policy(Policy::STARTER, "ops", "starter")
        .await
        .expect("policy");
    let models = Models::new(store.clone());
    let sara = capture(
        &store,
        &models,
        arrival(sara_again("sara@parsian.ir"), Submitter::Trusted, false),
        None,
    )
    .await
    .expect("first");
    assert!(sara.created);
    assert!(sara.lead.snapshot.is_some(), "scored at once");

    // A key's caller merges a sure match at once.
    let vouched = capture(
        &store,
        &models,
        arrival(
            sara_again("karimi.sara@yahoo.com"),
            Submitter::Trusted,
            false,
        ),
        None,
    )
    .await
    .expect("trusted");
    assert_eq!(
        vouched.lead.person_id, sara.lead.person_id,
        "merged at once"
    );
    assert_eq!(merges(&store, MergeStatus::Merged).await, 1);

    // Nobody vouches for a form's visitor: a sure match is only suggested; a bot is
    // matched with nobody.
    let stranger = capture(
        &store,
        &models,
        arrival(sara_again("sara.k@gmail.com"), Submitter::Anonymous, false),
        None,
    )
    .await
    .expect("anonymous");
    assert_ne!(stranger.lead.person_id, sara.lead.person_id);
    assert_eq!(merges(&store, MergeStatus::Suggested).await, 1);
    let bot = capture(
        &store,
        &models,
        arrival(sara_again("sara.bot@gmail.com"), Submitter::Anonymous, true),
        None,
    )
    .await
    .expect("bot");
    assert_ne!(bot.lead.person_id, sara.lead.person_id);
    assert_eq!(
        merges(&store, MergeStatus::Suggested).await,
        1,
        "a bot is not matched"
    );
    // A consent is stored with its lead, and a refused one stores neither.
    let consent = |purpose: &str| NewConsent {
        purpose: purpose.into(),
        granted: true,
        wording: Some("Contact me about the offer".into()),
        source: "form:offer".into(),
        ip: Some("203.0.113.9".into()),
    };
    let minh = capture(
        &store,
        &models,
        arrival(
            json!({"email": "minh@vinamilk.vn"}),
            Submitter::Anonymous,
            false,
        ),
        Some(&consent(CONTACT_PURPOSE)),
    )
    .await
    .expect("with consent");
    let consents = store.consents(minh.lead.person_id).await.expect("consents");
    assert_eq!(consents.current.len(), 1);
    assert!(consents.current[0].granted);
    let leads = count(&store, "SELECT COUNT(*) FROM leads").await;
    let refused = capture(
        &store,
        &models,
        arrival(
            json!({"email": "an@vinamilk.vn"}),
            Submitter::Anonymous,
            false,
        ),
        Some(&consent("")),
    )
    .await
    .expect_err("an empty purpose");
    assert!(refused.to_string().contains("purpose"), "{refused}");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM leads").await, leads);

    store.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_capture() {
    captures_match_consent_and_score(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_capture() {
    captures_match_consent_and_score(Engine::Postgres).await;
}
