//! Closed-loop analytics from the journeys kept on leads, against real databases (both
//! engines): moves and outcomes show up at once, scopes narrow, and a rebuild from the
//! events gives the same tables.

use chrono::{TimeZone, Utc};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::Stage;
use leadgate_store::testing::{capture, numbers};
use leadgate_store::{AnalyticsScope, LeadFilter, Outcome, RepInput, Store};
use serde_json::json;

leadgate_store::on_both_engines!(moves_and_outcomes_feed_the_funnel_sources_reasons_and_times,);

async fn moves_and_outcomes_feed_the_funnel_sources_reasons_and_times(store: Store) {
    store
        .put_team("north", &BusinessCalendar::always(), None)
        .await
        .unwrap();
    let rep = RepInput {
        team: "north".into(),
        email: None,
        weight: 1.0,
        daily_cap: None,
        away: false,
    };
    store.put_rep("ana", &rep).await.unwrap();
    let won = capture(
        &store,
        json!({"email": "won@example.com", "owner": "ana", "channel": "webinar", "campaign": "spring"}),
    )
    .await;
    let lost = capture(
        &store,
        json!({"email": "lost@example.com", "channel": "search_ad"}),
    )
    .await;
    let _open = capture(
        &store,
        json!({"email": "open@example.com", "channel": "search_ad"}),
    )
    .await;
    for (to, reason, over) in [
        (Stage::Mql, Some("called us"), false),
        (Stage::Sal, None, false),
        (Stage::Sql, Some("known buyer"), true),
    ] {
        store
            .transition(won, to, reason, over, "ana")
            .await
            .unwrap();
    }
    store
        .record_outcome(
            won,
            Outcome::Won {
                value: Some(5000.0),
            },
            "ana",
        )
        .await
        .unwrap();
    store
        .transition(lost, Stage::Mql, Some("asked for a demo"), false, "bo")
        .await
        .unwrap();
    store
        .record_outcome(
            lost,
            Outcome::Lost {
                reason: "no budget".into(),
                to: Stage::Disqualified,
            },
            "bo",
        )
        .await
        .unwrap();

    let a = store.analytics(&AnalyticsScope::default()).await.unwrap();
    let t = &a.total;
    assert_eq!(
        (t.leads, t.mql, t.sal, t.sql, t.won, t.won_value),
        (3, 2, 1, 1, 1, 5000.0)
    );
    let paid = a
        .sources
        .iter()
        .find(|s| s.group == "channel" && s.key == "search_ad")
        .expect("paid search row");
    assert_eq!((paid.leads, paid.mql, paid.won), (2, 1, 0));
    let spring = a
        .sources
        .iter()
        .find(|s| s.group == "campaign" && s.key == "spring")
        .expect("campaign row");
    assert_eq!((spring.leads, spring.won, spring.won_value), (1, 1, 5000.0));
    let mut reasons: Vec<(&str, &str, u64)> = a
        .reasons
        .iter()
        .map(|r| (r.kind, r.reason.as_str(), r.count))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![("disqualified", "no budget", 1), ("lost", "no budget", 1)]
    );
    let mql = a
        .stage_times
        .iter()
        .find(|s| s.stage == Stage::Mql)
        .unwrap();
    assert_eq!(mql.left, 2, "both MQLs left MQL");
    assert!(mql.median_hours.is_some_and(|h| h >= 0.0));
    let sql = a
        .stage_times
        .iter()
        .find(|s| s.stage == Stage::Sql)
        .unwrap();
    assert_eq!(sql.left, 1);
    let scored = leadgate_store::testing::count(
        &store,
        "SELECT COUNT(*) FROM leads WHERE score IS NOT NULL",
    )
    .await;
    let closed_scored = leadgate_store::testing::count(
        &store,
        "SELECT COUNT(*) FROM leads WHERE score IS NOT NULL AND stage IN ('customer', 'disqualified')",
    )
    .await;
    assert_eq!(a.bands.iter().map(|b| b.leads).sum::<u64>(), scored as u64);
    assert_eq!(
        a.bands.iter().map(|b| b.closed).sum::<u64>(),
        closed_scored as u64
    );
    let month = Utc::now().format("%Y-%m").to_string();
    assert_eq!(a.funnel.len(), 1);
    assert_eq!(a.funnel[0].month, month);

    // The team sees its member's lead only; a period before any lead sees nothing.
    let team = store
        .analytics(&AnalyticsScope {
            team: Some("north".into()),
            ..AnalyticsScope::default()
        })
        .await
        .unwrap();
    assert_eq!((team.total.leads, team.total.won), (1, 1));
    let before = store
        .analytics(&AnalyticsScope {
            to: Some(Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()),
            ..AnalyticsScope::default()
        })
        .await
        .unwrap();
    assert_eq!(before.total.leads, 0);
    assert!(before.reasons.is_empty());

    // A team's lists, with and without a stage (a board column starts from the team's reps).
    for (stage, team, expected) in [
        (Some(Stage::Customer), Some("north"), vec![won]),
        (Some(Stage::Disqualified), Some("north"), vec![]),
        (None, Some("north"), vec![won]),
        (Some(Stage::Disqualified), None, vec![lost]),
        (Some(Stage::Customer), Some("south"), vec![]),
    ] {
        let page = store
            .list_leads(&LeadFilter {
                stage,
                team: team.map(Into::into),
                limit: 50,
                ..LeadFilter::default()
            })
            .await
            .unwrap();
        let ids: Vec<i64> = page.leads.iter().map(|l| l.id).collect();
        assert_eq!(ids, expected, "{stage:?} {team:?}");
    }

    // Journeys rebuilt from the events alone say the same.
    let kept = numbers(
        &store,
        "SELECT CAST(reached AS BIGINT) FROM leads ORDER BY id",
    )
    .await;
    assert_eq!(kept, vec![4, 1, 0]);
    assert_eq!(store.rebuild_journeys().await.unwrap(), 3);
    assert_eq!(
        numbers(
            &store,
            "SELECT CAST(reached AS BIGINT) FROM leads ORDER BY id"
        )
        .await,
        kept
    );
    assert_eq!(
        store.analytics(&AnalyticsScope::default()).await.unwrap(),
        a
    );
}
