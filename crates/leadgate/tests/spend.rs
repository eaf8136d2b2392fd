//! What the sources cost and returned, over HTTP on both engines: a generated history whose
//! true figures this test knows (two campaigns, leads touched by one or both, MQLs, SQLs and
//! wins with their values), spend imported from an ad platform's cost file and entered by
//! hand, and the report under each attribution checked figure by figure.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use leadgate_app::Outcome;
use leadgate_core::id::LeadId;
use leadgate_core::Stage;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    cost_per_lead_mql_sql_and_won_are_right_under_each_attribution,
    a_bad_cost_file_is_refused_by_row_and_column_and_nothing_is_recorded,
    the_analytics_page_records_imports_and_reports_spend
);

async fn lead(app: &TestApp, email: &str, campaign: &str, channel: &str) -> LeadId {
    let made = app
        .post(
            "/api/v1/leads",
            &json!({"email": email, "first_name": "Test", "channel": channel, "campaign": campaign,
                    "utm_source": "google", "utm_medium": "cpc"}),
        )
        .await;
    assert!(made.status().is_success(), "{}", made.status());
    let made: Value = made.json().await.unwrap();
    LeadId(made["id"].as_i64().unwrap())
}

async fn import(app: &TestApp, query: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/spend/import{query}")))
        .bearer_auth(&app.key)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

/// One source's row of the report.
fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key}: {report}"))
}

fn close(value: &Value, want: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - want).abs() < 1e-6)
}

async fn cost_per_lead_mql_sql_and_won_are_right_under_each_attribution(app: &TestApp) {
    let store = &app.store;
    // S1..S8 from the spring search ads; S7 and S8 came back through the Q1 webinar; W1..W4
    // came through the webinar only.
    let mut spring = Vec::new();
    for i in 1..=8 {
        spring.push(lead(app, &format!("s{i}@acme.example"), "spring", "search_ad").await);
    }
    for i in 7..=8 {
        lead(app, &format!("s{i}@acme.example"), "webinar-q1", "webinar").await;
    }
    let mut webinar = Vec::new();
    for i in 1..=4 {
        webinar.push(lead(app, &format!("w{i}@acme.example"), "webinar-q1", "webinar").await);
    }
    let (s1, s2, s7, w1) = (spring[0], spring[1], spring[6], webinar[0]);
    for id in [s1, s2, s7, w1] {
        leadgate_app::qualify::transition(store, id, Stage::Mql, Some("test"), true, "test")
            .await
            .expect("MQL");
    }
    for id in [s1, s7, w1] {
        for to in [Stage::Sal, Stage::Sql] {
            leadgate_app::qualify::transition(store, id, to, Some("budget agreed"), true, "test")
                .await
                .expect("qualified");
        }
    }
    for (id, value) in [(s1, 1000.0), (s7, 1000.0), (w1, 500.0)] {
        leadgate_app::qualify::record_outcome(
            store,
            id,
            Outcome::Won { value: Some(value) },
            "test",
        )
        .await
        .expect("won");
    }

    // Spring's spend from a Google Ads export (a row per day, a totals row at the end),
    // the webinar's typed in by hand.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let day = |d: u32| format!("{month}-{d:02}");
    let csv = format!(
        "Day,Campaign,Clicks,Cost\n{},spring,10,\"100.00\"\n{},spring,12,200\n{},spring,9,$300.00\nTotal,,31,600.00\n",
        day(1),
        day(2),
        day(3)
    );
    let imported = import(app, "?channel=search_ad", &csv).await;
    assert_eq!(imported.status(), StatusCode::OK);
    let imported: Value = imported.json().await.unwrap();
    assert_eq!(
        (imported["rows"].as_u64(), imported["written"].as_u64()),
        (Some(3), Some(1)),
        "{imported}"
    );
    // The same file again changes nothing.
    assert_eq!(
        import(app, "?channel=search_ad", &csv).await.status(),
        StatusCode::OK
    );
    let typed = app
        .put("/api/v1/spend", &json!({"lines": [{"month": month, "campaign": "webinar-q1", "channel": "webinar", "amount": 400}]}))
        .await;
    assert_eq!(typed.status(), StatusCode::OK);
    let listed: Value = app
        .get(&format!("/api/v1/spend?from={month}&to={month}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["lines"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed["currency"], "USD");
    assert_eq!(
        app.put("/api/v1/spend/currency", &json!({"currency": "EUR"}))
            .await
            .status(),
        StatusCode::OK
    );

    let month_ref = &month;
    let report = |attribution: &'static str| async move {
        let month = month_ref;
        let r = app
            .get(&format!("/api/v1/spend/returns?from={month}&to={month}&attribution={attribution}&by=campaign"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()
    };
    // (leads, mql, sql, won, won value) and spend, as this history has them.
    let expect = |r: &Value, key: &str, want: [f64; 5], spend: f64| {
        let row = row(r, key);
        for (name, want) in ["leads", "mql", "sql", "won", "won_value", "spend"]
            .iter()
            .zip(want.iter().chain([spend].iter()))
        {
            assert!(
                close(&row[*name], *want),
                "{} {key} {name}: want {want}, got {row}",
                r["attribution"]
            );
        }
        let per = |count: f64| {
            if count > 0.0 {
                json!(spend / count)
            } else {
                Value::Null
            }
        };
        for (name, count) in [
            ("cost_per_lead", want[0]),
            ("cost_per_mql", want[1]),
            ("cost_per_sql", want[2]),
            ("cost_per_won", want[3]),
        ] {
            let got = &row[name];
            assert!(
                got == &per(count) || close(got, per(count).as_f64().unwrap_or(f64::NAN)),
                "{key} {name}: {row}"
            );
        }
        assert!(
            close(&row["return_on_spend"], want[4] / spend),
            "{key}: {row}"
        );
    };
    let first = report("first_touch").await;
    assert_eq!(first["currency"], "EUR");
    expect(&first, "spring", [8.0, 3.0, 2.0, 2.0, 2000.0], 600.0);
    expect(&first, "webinar-q1", [4.0, 1.0, 1.0, 1.0, 500.0], 400.0);
    let last = report("last_touch").await;
    expect(&last, "spring", [6.0, 2.0, 1.0, 1.0, 1000.0], 600.0);
    expect(&last, "webinar-q1", [6.0, 2.0, 2.0, 2.0, 1500.0], 400.0);
    let linear = report("linear").await;
    expect(&linear, "spring", [7.0, 2.5, 1.5, 1.5, 1500.0], 600.0);
    expect(&linear, "webinar-q1", [5.0, 1.5, 1.5, 1.5, 1000.0], 400.0);
    // The month's totals: every lead once, all the spend.
    let months = linear["months"].as_array().unwrap();
    assert_eq!(months.len(), 1);
    assert!(
        close(&months[0]["spend"], 1000.0) && close(&months[0]["leads"], 12.0),
        "{months:?}"
    );
    // By channel: the file's rows were tagged search_ad, the typed line webinar.
    let by_channel: Value = app
        .get(&format!(
            "/api/v1/spend/returns?from={month}&to={month}&by=channel"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        close(&row(&by_channel, "search_ad")["spend"], 600.0),
        "{by_channel}"
    );
    assert!(
        close(&row(&by_channel, "search_ad")["leads"], 8.0),
        "{by_channel}"
    );
    let refused = app
        .get("/api/v1/spend/returns?attribution=fairy&by=moon&from=2026-13")
        .await;
    let refused = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(!fields(&refused).is_empty(), "{refused}");
}

async fn a_bad_cost_file_is_refused_by_row_and_column_and_nothing_is_recorded(app: &TestApp) {
    let bad = "Day,Campaign,Cost\n2026-03-01,spring,100\n03/04/2026,spring,100\n2026-03-05,spring,-4\n2026-03-06,,\n";
    let refused = import(app, "", bad).await;
    let refused = problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    let named = fields(&refused);
    for field in ["row 3.date", "row 4.cost", "row 5.cost"] {
        assert!(named.iter().any(|f| f == field), "{field}: {named:?}");
    }
    let listed: Value = app.get("/api/v1/spend").await.json().await.unwrap();
    assert_eq!(
        listed["lines"],
        json!([]),
        "nothing of a refused file is recorded"
    );
    let no_columns = import(app, "", "Clicks,Impressions\n1,2\n").await;
    let no_columns = problem(no_columns, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&no_columns), ["campaign", "cost", "date"]);
    let typed = app
        .put(
            "/api/v1/spend",
            &json!({"lines": [{"month": "2026-3", "amount": -1, "channel": "carrier pigeon"}]}),
        )
        .await;
    let typed = problem(typed, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        fields(&typed),
        ["lines[0].amount", "lines[0].channel", "lines[0].month"]
    );
}

/// The analytics page: spend typed in, a cost file uploaded, the currency set, and the cost
/// report under the attribution chosen (stated on the page), with its CSV; in Chinese. A
/// sales manager, who sees one team's leads, is not shown the store-wide report.
async fn the_analytics_page_records_imports_and_reports_spend(app: &TestApp) {
    for (name, role, team, locale) in [
        ("mia", leadgate_core::access::Role::Marketing, None, "zh-CN"),
        (
            "sam",
            leadgate_core::access::Role::SalesManager,
            Some("apac"),
            "en",
        ),
    ] {
        if let Some(team) = team {
            app.store
                .put_team(
                    team,
                    &leadgate_core::calendar::BusinessCalendar::always(),
                    None,
                )
                .await
                .unwrap();
        }
        app.store
            .create_user(leadgate_store::NewUser {
                name: name.into(),
                display_name: None,
                role,
                team: team.map(str::to_owned),
                locale: locale.into(),
                time_zone: String::new(),
                password: "correct horse battery".into(),
            })
            .await
            .unwrap();
    }
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    for i in 0..4 {
        lead(app, &format!("p{i}@acme.example"), "spring", "search_ad").await;
    }
    let mia = common::session::sign_in(app, "mia", "correct horse battery").await;
    // No spend yet: the forms to record it, and no report read for nothing.
    let (_, before) = mia.page("/analytics").await;
    assert!(before.contains("id=\"spend-form\"") && !before.contains("id=\"returns\""));
    let (_, back) = mia
        .post_to(
            "/analytics/spend",
            &[
                ("month", &month),
                ("campaign", "spring"),
                ("channel", "search_ad"),
                ("amount", "150"),
            ],
        )
        .await;
    assert_eq!(back, "/analytics?done=spend");
    let (_, back) = mia
        .post_to(
            "/analytics/spend",
            &[("month", "soon"), ("campaign", "spring"), ("amount", "1")],
        )
        .await;
    assert!(back.contains("error=") && back.contains("month"), "{back}");
    let csv = format!("Reporting starts,Campaign name,Amount spent (EUR)\n{month}-02,autumn,50\n");
    let upload = reqwest::multipart::Form::new()
        .text("csrf", mia.csrf.clone())
        .text("channel", "social")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("meta.csv"),
        );
    let uploaded = mia
        .client
        .post(app.url("/analytics/spend/import"))
        .header("cookie", &mia.cookie)
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        uploaded.headers()["location"],
        "/analytics?done=spend_import"
    );
    let (_, back) = mia
        .post_to("/analytics/currency", &[("currency", "CNY")])
        .await;
    assert_eq!(back, "/analytics?done=currency");
    let (status, page) = mia
        .page(&format!(
            "/analytics?from={month}-01&to={month}-28&attribution=linear&by=campaign"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("线性：线索的每个接触点平分这条线索。"),
        "the attribution is stated"
    );
    assert!(page.contains("花费 (CNY)"), "the currency is stated");
    // spring: 150 over 4 leads; autumn: 50 and no lead yet.
    assert!(
        page.contains(
            "<td dir=\"auto\">spring</td><td dir=\"auto\">150.00</td><td dir=\"auto\">4</td>"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "<td dir=\"auto\">autumn</td><td dir=\"auto\">50.00</td><td dir=\"auto\">0</td>"
        ),
        "{page}"
    );
    let download = app
        .client
        .get(app.url(&format!(
            "/analytics/returns.csv?from={month}-01&to={month}-28&attribution=linear&by=campaign"
        )))
        .header("cookie", &mia.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    let text = download.text().await.unwrap();
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("spring,150.00,4,")),
        "{text}"
    );
    let sam = common::session::sign_in(app, "sam", "correct horse battery").await;
    let (status, page) = sam.page("/analytics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("id=\"returns\"") && !page.contains("id=\"cost\""),
        "a team's view has no store-wide cost report"
    );
    assert_eq!(
        sam.post(
            "/analytics/spend",
            &[("month", &month), ("campaign", "x"), ("amount", "1")]
        )
        .await,
        StatusCode::FORBIDDEN
    );
}
