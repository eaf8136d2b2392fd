//! Conversion models shared by servers: a model one server stores is picked up by another
//! once its cached answer is rechecked, on both engines.

use chrono::{Duration, Utc};
use leadgate_app::Models;
use leadgate_ml::model::{Example, Settings};
use leadgate_ml::{Observation, Raw};
use leadgate_store::testing::TestDatabase;
use leadgate_store::Engine;

/// A small trained model to store: won chance rises with visits.
fn model_json() -> String {
    let examples: Vec<Example> = (0..400)
        .map(|i| {
            let mut observation = Observation::new();
            let visits = (i % 10) as f64;
            observation.insert("custom.visits".into(), Raw::Num(visits));
            Example {
                key: i.to_string(),
                observation,
                // A spread-out pseudo-random draw: the chance grows with visits.
                won: ((i as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0
                    < 0.1 + 0.08 * visits,
                at: Utc::now() - Duration::minutes(i as i64),
                value: None,
            }
        })
        .collect();
    let (model, _) = leadgate_ml::train(&examples, &Settings::default()).expect("trains");
    serde_json::to_string(&model).unwrap()
}

async fn another_servers_model_is_picked_up(engine: Engine) {
    let db = TestDatabase::new(engine).await;
    let (one, other) = (db.store().await, db.store().await);
    let (one_models, other_models) = (Models::new(one.clone()), Models::new(other.clone()));
    assert!(other_models.active("default").await.unwrap().is_none());
    let stored = one_models
        .import("default", &model_json(), "test")
        .await
        .unwrap();
    // Cached as "no model" a moment ago, rechecked within 30 s.
    let mut seen = None;
    for _ in 0..40 {
        if let Some((id, _)) = other_models.active("default").await.unwrap() {
            seen = Some(id);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert_eq!(seen, Some(stored.id));
    one.close().await;
    other.close().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_servers_share_the_active_model() {
    another_servers_model_is_picked_up(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_servers_share_the_active_model() {
    another_servers_model_is_picked_up(Engine::Postgres).await;
}
