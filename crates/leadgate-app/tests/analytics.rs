//! Closed-loop analytics from the journeys kept on leads, against real databases (both
//! engines): moves and outcomes show up at once, scopes narrow, and a rebuild from the
//! events gives the same tables.

use chrono::{TimeZone, Utc};
use leadgate_app::qualify::{record_outcome, refresh_lead, transition};
use leadgate_app::route::reassign;
use leadgate_app::Outcome;
use leadgate_core::access::LeadScope;
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::id::LeadId;
use leadgate_core::Stage;
use leadgate_store::testing::{backdate, capture, count, numbers};
use leadgate_store::{AnalyticsScope, LeadFilter, LeadSort, RepInput, SortField, Store};
use serde_json::json;

leadgate_store::on_both_engines!(
    moves_and_outcomes_feed_the_funnel_sources_reasons_and_times,
    the_monthly_rollup_agrees_with_the_leads_for_any_period,
    a_teams_stage_list_merges_its_reps_pages_in_order,
    each_score_counts_in_the_band_cores_rule_gives_it,
);

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
        transition(&store, won, to, reason, over, "ana")
            .await
            .unwrap();
    }
    record_outcome(
        &store,
        won,
        Outcome::Won {
            value: Some(5000.0),
        },
        "ana",
    )
    .await
    .unwrap();
    transition(
        &store,
        lost,
        Stage::Mql,
        Some("asked for a demo"),
        false,
        "bo",
    )
    .await
    .unwrap();
    record_outcome(
        &store,
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
        let ids: Vec<LeadId> = page.leads.iter().map(|l| l.id).collect();
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

async fn the_monthly_rollup_agrees_with_the_leads_for_any_period(store: Store) {
    let day = |m: u32, d: u32| Utc.with_ymd_and_hms(2026, m, d, 12, 0, 0).unwrap();
    // Twelve leads over January to April, on the first, the middle and the last days.
    let mut ids = Vec::new();
    for (i, (m, d)) in [
        (1, 1),
        (1, 15),
        (1, 31),
        (2, 1),
        (2, 14),
        (2, 28),
        (3, 1),
        (3, 10),
    ]
    .into_iter()
    .chain([(3, 31), (4, 2), (4, 15), (4, 30)])
    .enumerate()
    {
        let channel = ["webinar", "search_ad", "referral"][i % 3];
        let campaign = if i % 2 == 0 {
            json!("spring")
        } else {
            json!(null)
        };
        let id = capture(
            &store,
            json!({"email": format!("p{i}@example.com"), "channel": channel, "campaign": campaign}),
        )
        .await;
        backdate(&store, id, day(m, d)).await;
        ids.push(id);
    }
    let journey = |n: usize| {
        let id = ids[n];
        let store = store.clone();
        async move {
            transition(&store, id, Stage::Mql, Some("asked"), false, "ana")
                .await
                .unwrap();
            if n.is_multiple_of(2) {
                transition(&store, id, Stage::Sal, None, false, "ana")
                    .await
                    .unwrap();
                transition(&store, id, Stage::Sql, Some("known buyer"), true, "ana")
                    .await
                    .unwrap();
                record_outcome(
                    &store,
                    id,
                    Outcome::Won {
                        value: Some(100.0 * n as f64),
                    },
                    "ana",
                )
                .await
                .unwrap();
            } else {
                record_outcome(
                    &store,
                    id,
                    Outcome::Lost {
                        reason: ["no budget", "no need", "competitor"][n % 3].into(),
                        to: Stage::Disqualified,
                    },
                    "ana",
                )
                .await
                .unwrap();
            }
        }
    };
    for n in [0, 1, 4, 5, 6, 9, 10] {
        journey(n).await;
    }
    let at = |m: u32, d: u32| Some(Utc.with_ymd_and_hms(2026, m, d, 0, 0, 0).unwrap());
    let scopes = [
        (None, None),
        (at(2, 1), at(4, 1)),   // whole months only
        (at(1, 15), at(3, 11)), // partial months at both ends
        (at(2, 10), at(2, 20)), // inside one month
        (at(3, 1), None),
        (None, at(2, 15)),
        (at(5, 1), None),
    ];
    // Each scope's analytics, from the rollup and from the leads, with its lead count.
    let agree = |when: &'static str, leads: [u64; 7]| {
        let store = store.clone();
        async move {
            for ((from, to), leads) in scopes.into_iter().zip(leads) {
                let scope = AnalyticsScope {
                    from,
                    to,
                    team: None,
                };
                let rolled = store.analytics(&scope).await.unwrap();
                assert_eq!(rolled.total.leads, leads, "{when}: {from:?}..{to:?}");
                assert_eq!(
                    rolled,
                    store.analytics_from_leads(&scope).await.unwrap(),
                    "{when}: {from:?}..{to:?}"
                );
            }
        }
    };
    agree("before folding", [12, 6, 7, 1, 6, 5, 0]).await;
    assert!(store.fold_analytics().await.unwrap() > 0);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM analytics_changes").await,
        0
    );
    assert!(count(&store, "SELECT COUNT(*) FROM analytics_rollup").await > 0);
    assert_eq!(store.fold_analytics().await.unwrap(), 0);
    agree("after folding", [12, 6, 7, 1, 6, 5, 0]).await;

    // Changes after a fold (a move, a win, a lead moved to another month) count at once.
    journey(3).await;
    backdate(&store, ids[11], day(1, 20)).await;
    agree("with changes on a folded rollup", [12, 6, 8, 1, 5, 6, 0]).await;
    let all = store.analytics(&AnalyticsScope::default()).await.unwrap();
    assert_eq!((all.total.won, all.total.mql), (4, 8));
    store.fold_analytics().await.unwrap();
    assert_eq!(
        store.analytics(&AnalyticsScope::default()).await.unwrap(),
        all
    );
    assert!(
        count(
            &store,
            "SELECT COUNT(*) FROM analytics_rollup WHERE leads = 0"
        )
        .await
            == 0,
        "emptied rows are dropped"
    );
}

async fn a_teams_stage_list_merges_its_reps_pages_in_order(store: Store) {
    store
        .put_team("west", &BusinessCalendar::always(), None)
        .await
        .unwrap();
    for rep in ["ana", "bo", "cy"] {
        let input = RepInput {
            team: "west".into(),
            email: None,
            weight: 1.0,
            daily_cap: None,
            away: false,
        };
        store.put_rep(rep, &input).await.unwrap();
    }
    // Seven MQLs spread over two of the reps, one unowned MQL, one of ana's leads in SAL.
    let mut team_mqls = Vec::new();
    for i in 0..9 {
        let id = capture(&store, json!({"email": format!("m{i}@example.com")})).await;
        transition(&store, id, Stage::Mql, Some("asked"), false, "test")
            .await
            .unwrap();
        match i {
            0 => continue,
            8 => {
                reassign(&store, id, "ana", "test", "test", &LeadScope::All)
                    .await
                    .unwrap();
                transition(&store, id, Stage::Sal, None, false, "ana")
                    .await
                    .unwrap();
            }
            _ => {
                let rep = if i % 3 == 0 { "bo" } else { "ana" };
                reassign(&store, id, rep, "test", "test", &LeadScope::All)
                    .await
                    .unwrap();
                team_mqls.push(id);
            }
        }
    }
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .list_leads(&LeadFilter {
                    stage: Some(Stage::Mql),
                    team: Some("west".into()),
                    sort: LeadSort {
                        field: SortField::Id,
                        descending,
                    },
                    limit: 2,
                    cursor: cursor.clone(),
                    ..LeadFilter::default()
                })
                .await
                .unwrap();
            assert!(page.leads.len() <= 2);
            seen.extend(page.leads.iter().map(|l| l.id));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut expected = team_mqls.clone();
        if descending {
            expected.reverse();
        }
        assert_eq!(seen, expected, "descending: {descending}");
    }
    // With an owner as well: only that rep's.
    let bo = store
        .list_leads(&LeadFilter {
            stage: Some(Stage::Mql),
            team: Some("west".into()),
            owner: Some("bo".into()),
            limit: 50,
            ..LeadFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(bo.leads.len(), 2);
    assert!(bo
        .leads
        .iter()
        .all(|l| l.lead.owner.as_ref().map(AsRef::as_ref) == Some("bo")));
}

async fn each_score_counts_in_the_band_cores_rule_gives_it(store: Store) {
    store
        .apply_policy(leadgate_core::policy::Policy::STARTER, "ops", "starter")
        .await
        .unwrap();
    // Fit points of the starter policy: 0, 20 (a band's lower edge), 25, 40 and 60.
    for (i, fit) in [
        json!({}),
        json!({"job_title": "Director"}),
        json!({"industry": "Manufacturing", "company_size": 100}),
        json!({"industry": "Software", "job_title": "CEO"}),
        json!({"industry": "Software", "job_title": "CEO", "company_size": 500, "product_need": "crm"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = fit;
        body["email"] = json!(format!("p{i}@bigco.example"));
        let id = capture(&store, body).await;
        refresh_lead(&store, id, Utc::now()).await.unwrap();
    }
    let mut by_rule = [0u64; 5];
    for score in leadgate_store::testing::texts(
        &store,
        "SELECT CAST(score AS TEXT) FROM leads WHERE score IS NOT NULL",
    )
    .await
    {
        by_rule[leadgate_core::analytics::band_of(score.parse().unwrap())] += 1;
    }
    assert_eq!(by_rule, [1, 2, 1, 1, 0]);
    for fold in [false, true] {
        if fold {
            store.fold_analytics().await.unwrap();
        }
        let a = store.analytics(&AnalyticsScope::default()).await.unwrap();
        let counted: Vec<u64> = a.bands.iter().map(|b| b.leads).collect();
        assert_eq!(counted, by_rule, "folded: {fold}");
        assert_eq!(
            a,
            store
                .analytics_from_leads(&AnalyticsScope::default())
                .await
                .unwrap()
        );
    }
}
