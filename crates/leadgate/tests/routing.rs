//! Teams, reps, routing, manual assignment, SLA clocks and compliance over real HTTP, on
//! both engines.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use leadgate_core::policy::Policy;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    teams_and_reps_are_kept_and_checked,
    an_mql_is_routed_timed_reassigned_and_reported,
);

fn workweek() -> Value {
    let day = json!(["08:30-12:00", "13:00-17:30"]);
    json!({"timezone": "Asia/Ho_Chi_Minh", "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
           "holidays": ["2026-02-17"]})
}

async fn setup(app: &TestApp) {
    let team = app
        .put(
            "/api/v1/teams/vn",
            &json!({"calendar": workweek(), "manager": "lan"}),
        )
        .await;
    assert_eq!(team.status(), StatusCode::CREATED);
    for rep in ["an", "binh"] {
        let made = app
            .put(&format!("/api/v1/reps/{rep}"), &json!({"team": "vn"}))
            .await;
        assert_eq!(made.status(), StatusCode::CREATED);
    }
}

async fn teams_and_reps_are_kept_and_checked(app: &TestApp) {
    let bad = app
        .put(
            "/api/v1/teams/vn",
            &json!({"calendar": {"timezone": "Asia/Saigon City", "hours": {"mon": ["09:00-13:00", "12:00-17:00"]}},
                    "manager": 3, "colour": "red"}),
        )
        .await;
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        fields(&body),
        [
            "calendar.hours.mon",
            "calendar.timezone",
            "colour",
            "manager"
        ]
    );
    setup(app).await;
    let again = app
        .put(
            "/api/v1/teams/vn",
            &json!({"calendar": workweek(), "manager": "minh"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let teams: Value = app.get("/api/v1/teams").await.json().await.unwrap();
    assert_eq!(teams["teams"][0]["manager"], "minh");
    assert_eq!(
        teams["teams"][0]["calendar"]["timezone"],
        "Asia/Ho_Chi_Minh"
    );
    assert_eq!(
        teams["teams"][0]["calendar"]["hours"]["mon"][1],
        "13:00-17:30"
    );

    let bad_rep = app
        .put(
            "/api/v1/reps/chi",
            &json!({"weight": "heavy", "away": "yes", "daily_cap": 2.5}),
        )
        .await;
    let body = problem(bad_rep, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&body), ["away", "daily_cap", "team", "weight"]);
    let nowhere = app.put("/api/v1/reps/chi", &json!({"team": "mars"})).await;
    let body = problem(nowhere, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no team is named 'mars'"));
    let away = app
        .put(
            "/api/v1/reps/an",
            &json!({"team": "vn", "away": true, "daily_cap": 10, "weight": 2}),
        )
        .await;
    assert_eq!(away.status(), StatusCode::OK);
    let reps: Value = app.get("/api/v1/reps?team=vn").await.json().await.unwrap();
    assert_eq!(reps["reps"][0]["away"], true);
    assert_eq!(reps["reps"][0]["daily_cap"], 10);
}

async fn an_mql_is_routed_timed_reassigned_and_reported(app: &TestApp) {
    setup(app).await;
    let policy = format!(
        "{}\n[[routing]]\nname = \"Vietnam\"\ncountry = [\"Vietnam\"]\nteam = \"vn\"\n",
        Policy::STARTER
    );
    app.apply_policy(&policy, "route Vietnam").await;
    let lead = app
        .post(
            "/api/v1/leads",
            &json!({"email": "thu@saigon.vn", "country": "Việt Nam"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let moved = app
        .post(
            &format!("/api/v1/leads/{lead}/transitions"),
            &json!({"to": "mql", "reason": "called asking for a quote"}),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::OK);
    let owner = app
        .get(&format!("/api/v1/leads/{lead}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["owner"]
        .clone();
    assert_eq!(owner, "an");

    let clocks: Value = app
        .get(&format!("/api/v1/leads/{lead}/clocks"))
        .await
        .json()
        .await
        .unwrap();
    let clock = &clocks["clocks"][0];
    assert_eq!(clock["state"], "running");
    assert_eq!(clock["owner"], "an");
    assert_eq!(clock["team"], "vn");
    assert!(clock["minutes_left"].as_i64().unwrap() > 0);
    let mine: Value = app
        .get("/api/v1/sla/clocks?owner=an")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["clocks"].as_array().unwrap().len(), 1);
    problem(
        app.get("/api/v1/leads/999/clocks").await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let no_reason = app
        .post(
            &format!("/api/v1/leads/{lead}/assign"),
            &json!({"owner": "binh"}),
        )
        .await;
    assert_eq!(
        fields(&problem(no_reason, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["reason"]
    );
    let same = app
        .post(
            &format!("/api/v1/leads/{lead}/assign"),
            &json!({"owner": "an", "reason": "x"}),
        )
        .await;
    problem(same, StatusCode::CONFLICT).await;
    let handed = app
        .post(
            &format!("/api/v1/leads/{lead}/assign"),
            &json!({"owner": "binh", "reason": "speaks the customer's dialect"}),
        )
        .await;
    assert_eq!(handed.status(), StatusCode::OK);
    assert_eq!(handed.json::<Value>().await.unwrap()["owner"], "binh");

    let report: Value = app
        .get("/api/v1/sla/compliance?by=owner")
        .await
        .json()
        .await
        .unwrap();
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(
        groups.len(),
        1,
        "the reassigned clock is not counted: {report}"
    );
    assert_eq!(groups[0]["key"], "binh");
    assert_eq!(groups[0]["running"], 1);
    let bad = problem(
        app.get("/api/v1/sla/compliance?by=colour&from=yesterday")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&bad), ["by", "from"]);
}
