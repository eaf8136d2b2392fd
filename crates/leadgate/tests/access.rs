//! Who may do what, walked over the whole surface on both engines: every dashboard page and
//! action and every API route, for each role, on the user's own team's lead and another
//! team's; sessions, CSRF and the sign-in limit.

#[macro_use]
mod common;

use common::session::{attribute, cookie_value, sign_in_request, Browser};
use common::TestApp;
use leadgate_core::access::{LeadScope, Role};
use leadgate_core::calendar::BusinessCalendar;
use leadgate_core::id::LeadId;
use leadgate_core::Stage;
use leadgate_store::testing::capture;
use leadgate_store::NewUser;
use reqwest::{Client, StatusCode};
use serde_json::json;

on_both_engines!(
    every_page_and_action_answers_each_role_as_its_permissions_say,
    every_api_route_answers_each_key_role_as_its_permissions_say,
    every_route_in_the_openapi_description_is_guarded_for_every_role,
    a_sales_key_reaches_no_other_team_through_capture_or_notifications,
    sessions_csrf_and_the_sign_in_limit_hold,
    limits_count_each_client_behind_trusted_proxies_across_servers,
    each_user_sees_times_on_their_own_clock,
    session_cookies_are_secure_behind_an_https_proxy,
    a_manager_assigns_unowned_leads_to_their_own_team_only,
    each_user_reads_and_clears_their_own_notifications,
    sign_in_and_error_pages_speak_the_browsers_language,
    a_lead_is_edited_judged_and_typed_in_from_the_dashboard,
    duplicates_are_found_merged_and_undone_from_the_dashboard,
    users_teams_and_reps_are_changed_on_the_settings_page,
    a_web_form_is_built_and_embedded_from_the_dashboard,
    every_person_facing_api_operation_has_a_page_action,
    consent_email_tasks_and_erasure_from_the_lead_page,
    a_chinese_user_reads_no_english_on_any_page,
    a_person_saves_and_deletes_lists_of_their_own,
    ticked_leads_are_moved_and_tagged_together,
    control_bytes_in_the_new_forms_are_refused_by_name,
);

const PASSWORD: &str = "a long enough password";

/// Two teams with a rep each, one user per role, and a lead owned by each rep.
async fn setup(app: &TestApp) -> (LeadId, LeadId) {
    let store = &app.store;
    for (team, rep) in [("apac", "li.na"), ("americas", "j.miller")] {
        store
            .put_team(team, &BusinessCalendar::always(), None)
            .await
            .unwrap();
        store
            .put_rep(
                rep,
                &leadgate_store::RepInput {
                    team: team.into(),
                    email: None,
                    weight: 1.0,
                    daily_cap: None,
                    away: false,
                },
            )
            .await
            .unwrap();
    }
    for (name, role, team) in [
        ("admin", Role::Admin, None),
        ("mia", Role::Marketing, None),
        ("w.chen", Role::SalesManager, Some("apac")),
        ("li.na", Role::SalesRep, Some("apac")),
        ("vic", Role::Viewer, None),
    ] {
        store
            .create_user(NewUser {
                name: name.into(),
                display_name: None,
                role,
                team: team.map(Into::into),
                locale: "en".into(),
                time_zone: String::new(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for (rep, email) in [
        ("li.na", "own@lead.example"),
        ("j.miller", "other@lead.example"),
    ] {
        let id = capture(store, json!({"email": email, "first_name": "Lead"})).await;
        leadgate_app::route::reassign(store, id, rep, "test", "test", &LeadScope::All)
            .await
            .unwrap();
        leadgate_app::qualify::transition(store, id, Stage::Mql, Some("test"), false, "test")
            .await
            .unwrap();
        ids.push(id);
    }
    (ids[0], ids[1])
}

async fn sign_in(app: &TestApp, name: &str) -> Browser {
    common::session::sign_in(app, name, PASSWORD).await
}

async fn sign_in_attempt(app: &TestApp, name: &str, password: &str) -> reqwest::Response {
    sign_in_request(&app.base, None, name, password).await
}

/// A sign-in through the server at `base`, from `client` as a proxy forwards it.
async fn sign_in_from(base: &str, client: &str, name: &str, password: &str) -> StatusCode {
    sign_in_request(base, Some(client), name, password)
        .await
        .status()
}

async fn every_page_and_action_answers_each_role_as_its_permissions_say(app: &TestApp) {
    let (own, other) = setup(app).await;
    let ok = StatusCode::OK;
    let no = StatusCode::FORBIDDEN;
    let done = StatusCode::SEE_OTHER;
    // role: (analytics, own lead, other team's lead, work own lead, work other lead,
    // backtest a policy draft)
    let expected = [
        ("admin", [ok, ok, ok, done, done, ok]),
        ("mia", [ok, ok, ok, no, no, ok]),
        ("w.chen", [ok, ok, no, done, no, no]),
        ("li.na", [no, ok, no, done, no, no]),
        ("vic", [ok, ok, ok, no, no, no]),
    ];
    for (name, [analytics, own_page, other_page, work_own, work_other, backtest]) in expected {
        let browser = sign_in(app, name).await;
        for page in [
            "/",
            "/leads",
            "/board",
            "/leads.csv",
            "/policy",
            "/settings",
            "/notifications",
        ] {
            assert_eq!(browser.get(page).await, ok, "{name} GET {page}");
        }
        let starter = leadgate_core::policy::Policy::STARTER;
        assert_eq!(
            browser
                .post("/policy", &[("document", starter), ("action", "backtest")])
                .await,
            backtest,
            "{name} backtests a policy draft"
        );
        let data = if matches!(name, "admin" | "mia") {
            ok
        } else {
            no
        };
        assert_eq!(browser.get("/imports").await, data, "{name} import page");
        let admin_only = if name == "admin" { done } else { no };
        let new_user = format!("made.by.{name}");
        assert_eq!(
            browser
                .post(
                    "/settings/users",
                    &[
                        ("name", &new_user),
                        ("role", "viewer"),
                        ("password", PASSWORD)
                    ]
                )
                .await,
            admin_only,
            "{name} creates a user"
        );
        assert_eq!(
            browser
                .post("/settings/keys", &[("name", "k"), ("role", "viewer")])
                .await,
            if name == "admin" { ok } else { no },
            "{name} creates an API key"
        );
        assert_eq!(
            browser.get("/analytics").await,
            analytics,
            "{name} analytics"
        );
        assert_eq!(
            browser.get("/analytics/funnel.csv").await,
            analytics,
            "{name} analytics CSV"
        );
        // The conversion models: admins and marketing only, the page and its actions.
        let models = if name == "admin" || name == "mia" {
            ok
        } else {
            no
        };
        assert_eq!(browser.get("/models").await, models, "{name} models");
        let (status, _) = browser.post_to("/models/train", &[]).await;
        assert_eq!(
            status,
            if models == ok { done } else { no },
            "{name} trains a model"
        );
        assert_eq!(
            browser.post("/models/1/activate", &[]).await,
            if models == ok {
                StatusCode::NOT_FOUND
            } else {
                no
            },
            "{name} activates a model (none exists)"
        );
        assert_eq!(
            browser.get(&format!("/leads/{own}")).await,
            own_page,
            "{name} own lead"
        );
        assert_eq!(
            browser.get(&format!("/leads/{other}")).await,
            other_page,
            "{name} other team's lead"
        );
        // However the other team's lead id is written, the answer is the same.
        for spelling in id_spellings(other) {
            assert_eq!(
                browser.get(&format!("/leads/{spelling}")).await,
                other_page,
                "{name} other team's lead as {spelling}"
            );
            let note = [("type", "note"), ("notes", "spelled")];
            assert_eq!(
                browser.post(&format!("/leads/{spelling}/log"), &note).await,
                if work_other == done { done } else { no },
                "{name} logs on the other team's lead as {spelling}"
            );
        }
        for (lead, want) in [(own, work_own), (other, work_other)] {
            let note = [("type", "note"), ("notes", "checked")];
            assert_eq!(
                browser.post(&format!("/leads/{lead}/log"), &note).await,
                want,
                "{name} logs on lead {lead}"
            );
            assert_eq!(
                browser
                    .post(&format!("/leads/{lead}/bant"), &[("need", "on")])
                    .await,
                want,
                "{name} BANT on lead {lead}"
            );
            assert_eq!(
                browser
                    .post(&format!("/leads/{lead}/move"), &[("to", "customer")])
                    .await,
                want,
                "{name} moves lead {lead} (refused by the lifecycle, shown on the page)"
            );
            assert_eq!(
                browser
                    .post(&format!("/leads/{lead}/outcome"), &[("result", "won")])
                    .await,
                want,
                "{name} records an outcome on lead {lead}"
            );
        }
    }
    // Only the allowed writes happened: three roles logged one note each on their lead,
    // and only the admin on the other team's.
    let notes = |id: LeadId| async move {
        app.store
            .timeline(id, 1000, None)
            .await
            .unwrap()
            .events
            .iter()
            .filter(|e| e.event_type == "note_added")
            .count()
    };
    assert_eq!(notes(own).await, 3);
    assert_eq!(notes(other).await, 1 + id_spellings(other).len());
    // Only the admin's user and key were made.
    let users: Vec<String> = app
        .store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert!(users.contains(&"made.by.admin".to_owned()));
    assert_eq!(
        users.iter().filter(|u| u.starts_with("made.by.")).count(),
        1
    );
    assert_eq!(
        app.store.list_api_keys().await.unwrap().len(),
        2,
        "the suite's key and the admin's"
    );
    // No outcome was stored: an MQL cannot be won. (The BANT saves rescored it; marked
    // MQL by hand, it stays one.)
    assert_eq!(app.store.lead(own).await.unwrap().lead.stage, Stage::Mql);
}

async fn every_api_route_answers_each_key_role_as_its_permissions_say(app: &TestApp) {
    let (own, other) = setup(app).await;
    let mut keys = Vec::new();
    for role in Role::ALL {
        let team = role.is_team_bound().then_some("apac");
        let key = app
            .store
            .create_api_key(role.as_str(), role, team)
            .await
            .unwrap()
            .secret;
        keys.push((role, key));
    }
    let client = Client::new();
    let lead = format!("/leads/{own}");
    let other_lead = format!("/leads/{other}");
    // method, path, body, then for admin, marketing, manager, rep, viewer: allowed?
    let routes: Vec<(&str, String, serde_json::Value, [bool; 5])> = vec![
        (
            "GET",
            "/leads".into(),
            json!(null),
            [true, true, true, true, true],
        ),
        (
            "GET",
            lead.clone(),
            json!(null),
            [true, true, true, true, true],
        ),
        (
            "GET",
            other_lead.clone(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "GET",
            format!("{lead}/timeline"),
            json!(null),
            [true, true, true, true, true],
        ),
        (
            "GET",
            format!("{lead}/score"),
            json!(null),
            [true, true, true, true, true],
        ),
        // Once the admin has captured it, the lead has no owner: in a manager's reach (the
        // queue they assign from) but outside a rep's team, so a rep's key may not update
        // it by capturing it again.
        (
            "POST",
            "/leads".into(),
            json!({"email": "new@lead.example"}),
            [true, true, true, false, false],
        ),
        (
            "PUT",
            format!("{lead}/bant"),
            json!({"need": true}),
            [true, false, true, true, false],
        ),
        (
            "PUT",
            format!("{other_lead}/bant"),
            json!({"need": true}),
            [true, false, false, false, false],
        ),
        (
            "POST",
            format!("{lead}/interactions"),
            json!({"type": "note", "notes": "x"}),
            [true, false, true, true, false],
        ),
        (
            "POST",
            format!("{lead}/transitions"),
            json!({"to": "customer"}),
            [true, false, true, true, false],
        ),
        (
            "POST",
            "/events".into(),
            json!({"events": []}),
            [true, true, false, false, false],
        ),
        (
            "GET",
            "/tasks".into(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "GET",
            "/policies".into(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "POST",
            "/policies/backtest".into(),
            json!({}),
            [true, true, false, false, false],
        ),
        (
            "GET",
            "/imports".into(),
            json!(null),
            [true, true, false, false, false],
        ),
        (
            "GET",
            "/forms".into(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "GET",
            "/models".into(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "POST",
            "/models/train".into(),
            json!({}),
            [true, true, false, false, false],
        ),
        (
            "GET",
            "/teams".into(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "PUT",
            "/reps/x".into(),
            json!({}),
            [true, false, false, false, false],
        ),
        (
            "GET",
            "/sla/compliance".into(),
            json!(null),
            [true, true, false, false, true],
        ),
        (
            "GET",
            "/webhooks".into(),
            json!(null),
            [true, true, false, false, false],
        ),
        (
            "GET",
            "/jobs".into(),
            json!(null),
            [true, true, false, false, false],
        ),
        (
            "POST",
            "/gdpr/export".into(),
            json!({}),
            [true, false, false, false, false],
        ),
        (
            "GET",
            "/merges".into(),
            json!(null),
            [true, true, false, false, false],
        ),
    ];
    for (method, path, body, allowed) in &routes {
        for ((role, key), want) in keys.iter().zip(allowed) {
            let mut request = client
                .request(method.parse().unwrap(), app.url(&format!("/api/v1{path}")))
                .bearer_auth(key);
            if !body.is_null() {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            if *want {
                assert_ne!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{role} {method} {path}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
                let problem: serde_json::Value = response.json().await.unwrap();
                let detail = problem["detail"].as_str().unwrap_or_default();
                assert!(
                    detail.contains(role.as_str()) || detail.contains("another team"),
                    "{role} {method} {path}: {detail}"
                );
            }
        }
    }
    // A sales key's list holds its team's leads only.
    let (_, rep_key) = &keys[3];
    let listed: serde_json::Value = client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(rep_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<LeadId> = listed["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| LeadId(l["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids, vec![own]);
}

/// A sales key cannot read or change another team's lead by capturing its email or
/// external id, take it over by naming its own rep as owner, or read and mark another
/// team's rep's notifications.
async fn a_sales_key_reaches_no_other_team_through_capture_or_notifications(app: &TestApp) {
    let (own, other) = setup(app).await;
    app.store
        .update_lead(
            other,
            &leadgate_core::LeadPatch::parse(
                json!({"external_id": "CRM-Other-7"}).as_object().unwrap(),
                leadgate_core::lead::PatchMode::Update,
            )
            .unwrap(),
            "test",
        )
        .await
        .unwrap();
    let before = app.store.lead(other).await.unwrap();
    let mut keys = Vec::new();
    for role in [Role::SalesRep, Role::SalesManager] {
        let key = app
            .store
            .create_api_key(role.as_str(), role, Some("apac"))
            .await
            .unwrap()
            .secret;
        keys.push((role, key));
    }
    let post = |key: &str, body: serde_json::Value| {
        app.client
            .post(app.url("/api/v1/leads"))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    for (role, key) in &keys {
        for body in [
            json!({"email": "other@lead.example", "first_name": "Taken"}),
            json!({"email": "OTHER@Lead.Example", "owner": "li.na"}),
            json!({"external_id": "CRM-Other-7", "job_title": "Taken"}),
            json!({"external_id": "CRM-Other-7", "email": "fresh@lead.example", "owner": "li.na"}),
        ] {
            let response = post(key, body.clone()).await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role} {body}");
            let problem: serde_json::Value = response.json().await.unwrap();
            assert!(problem.get("first_name").is_none(), "no lead in the answer");
            assert!(
                problem["detail"].as_str().unwrap().contains("team"),
                "{problem}"
            );
        }
        // Its own team's lead is updated as before; a new lead may not go to another team.
        let mine = post(
            key,
            json!({"email": "own@lead.example", "job_title": "CTO"}),
        )
        .await
        .unwrap();
        assert_eq!(mine.status(), StatusCode::OK, "{role}");
        let fresh = post(
            key,
            json!({"email": format!("fresh.{role}@lead.example"), "owner": "li.na"}),
        )
        .await
        .unwrap();
        assert_eq!(fresh.status(), StatusCode::CREATED, "{role}");
        let elsewhere = post(
            key,
            json!({"email": "new.one@lead.example", "owner": "j.miller"}),
        )
        .await
        .unwrap();
        assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let after = app.store.lead(other).await.unwrap();
    assert_eq!(
        after.lead, before.lead,
        "the other team's lead is untouched"
    );
    assert_eq!(
        app.store
            .lead(own)
            .await
            .unwrap()
            .lead
            .job_title
            .unwrap()
            .as_str(),
        "CTO"
    );

    // Notifications: a sales key reads and marks its team's reps' only.
    leadgate_store::testing::notify(&app.store, "j.miller", other, "Call the other lead").await;
    leadgate_store::testing::notify(&app.store, "li.na", own, "Call the own lead").await;
    let ids = |recipient: &'static str| async move {
        let list: serde_json::Value = app
            .get(&format!("/api/v1/notifications?recipient={recipient}"))
            .await
            .json()
            .await
            .unwrap();
        list["notifications"][0]["id"].as_i64().unwrap()
    };
    let (theirs, ours) = (ids("j.miller").await, ids("li.na").await);
    for (role, key) in &keys {
        let get = |path: String| app.client.get(app.url(&path)).bearer_auth(key).send();
        let read = |id: i64| {
            app.client
                .post(app.url(&format!("/api/v1/notifications/{id}/read")))
                .bearer_auth(key)
                .send()
        };
        let refused = get("/api/v1/notifications?recipient=j.miller".into())
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{role}");
        let allowed = get("/api/v1/notifications?recipient=li.na".into())
            .await
            .unwrap();
        assert_eq!(allowed.status(), StatusCode::OK, "{role}");
        assert_eq!(read(theirs).await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(read(ours).await.unwrap().status(), StatusCode::NO_CONTENT);
    }
    let unread: serde_json::Value = app
        .get("/api/v1/notifications?recipient=j.miller&unread=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread["notifications"].as_array().unwrap().len(), 1);
}

async fn sessions_csrf_and_the_sign_in_limit_hold(app: &TestApp) {
    let (own, _) = setup(app).await;
    let rep = sign_in(app, "li.na").await;
    // A forged or missing token: 403, nothing stored.
    for token in ["forged", ""] {
        let status = rep
            .client
            .post(app.url(&format!("/leads/{own}/log")))
            .header("cookie", &rep.cookie)
            .form(&[("csrf", token), ("type", "note"), ("notes", "forged")])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let timeline = app.store.timeline(own, 1000, None).await.unwrap();
    assert!(timeline.events.iter().all(|e| e.event_type != "note_added"));

    // No session, an unknown one, or one ended by a disabled user: back to sign-in, then to
    // the page asked for.
    let anonymous = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for cookie in ["", "lg_session=unknown"] {
        let response = anonymous
            .get(app.url(&format!("/leads/{own}")))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()["location"],
            format!("/login?next=%2Fleads%2F{own}").as_str()
        );
    }
    app.store.set_user_disabled("li.na", true).await.unwrap();
    assert_eq!(rep.get("/").await, StatusCode::SEE_OTHER);

    // Five failed sign-ins from one address: the sixth attempt waits, even with the right
    // password.
    for _ in 0..5 {
        let failed = sign_in_attempt(app, "mia", "wrong password").await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
        assert!(failed.text().await.unwrap().contains("do not match"));
    }
    let limited = sign_in_attempt(app, "mia", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
}

/// The ways one lead id can be written in a path that the handlers read as that id.
fn id_spellings(id: LeadId) -> Vec<String> {
    let encoded: String = id
        .to_string()
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    vec![
        id.to_string(),
        encoded.clone(),
        format!("0{id}"),
        format!("0{encoded}"),
        format!("+{id}"),
        format!("%2B{id}"),
        format!("%2b{encoded}"),
    ]
}

/// Two servers over one store behind a proxy they trust: the limits count the client the
/// proxy forwarded, the same on both servers; one client locks only itself out of one
/// account; a server that trusts no proxy ignores forwarding headers.
async fn limits_count_each_client_behind_trusted_proxies_across_servers(app: &TestApp) {
    setup(app).await;
    // The limits count in fixed windows (form posts per minute, sign-ins per five minutes):
    // start early in a minute, so the counting below cannot straddle two windows.
    while chrono::Utc::now().timestamp() % 60 >= 20 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let settings = || leadgate::server::ServerSettings {
        trusted_proxies: leadgate::http::client::TrustedProxies {
            networks: vec!["127.0.0.1/32".parse().unwrap()],
            header: Default::default(),
        },
        ..Default::default()
    };
    let servers = [
        app.second_server(settings()).await,
        app.second_server(settings()).await,
    ];
    app.client
        .put(app.url("/api/v1/forms/contact"))
        .bearer_auth(&app.key)
        .json(&json!({"title": "Contact", "fields": [{"name": "email", "label": "Email"}]}))
        .send()
        .await
        .unwrap();
    let submit = |base: &str, client: &str, n: usize| {
        app.client
            .post(format!("{base}/f/contact"))
            .header("x-forwarded-for", format!("198.51.100.66, {client}"))
            .json(&json!({"email": format!("visitor{n}@example.com")}))
            .send()
    };
    for n in 0..20 {
        let sent = submit(&servers[n % 2], "203.0.113.7", n).await.unwrap();
        assert_eq!(sent.status(), StatusCode::CREATED, "submission {n}");
    }
    for base in &servers {
        let limited = submit(base, "203.0.113.7", 99).await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "{base}");
        assert!(limited.headers().contains_key("retry-after"));
        let other = submit(base, "203.0.113.8", 98).await.unwrap();
        assert_eq!(other.status(), StatusCode::CREATED, "another client");
    }
    // The server that trusts no proxy: every post is from 127.0.0.1, whatever it says.
    for n in 0..20 {
        let sent = submit(&app.base, &format!("192.0.2.{n}"), 100 + n)
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::CREATED, "direct submission {n}");
    }
    let spoofed = submit(&app.base, "192.0.2.200", 200).await.unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);

    // Sign-in: five wrong passwords from one client, spread over both servers.
    for n in 0..5 {
        let failed = sign_in_from(&servers[n % 2], "203.0.113.7", "mia", "wrong password").await;
        assert_eq!(failed, StatusCode::UNAUTHORIZED);
    }
    for base in &servers {
        assert_eq!(
            sign_in_from(base, "203.0.113.7", "mia", PASSWORD).await,
            StatusCode::TOO_MANY_REQUESTS,
            "that client waits, even with the right password"
        );
        assert_eq!(
            sign_in_from(base, "203.0.113.7", "vic", PASSWORD).await,
            StatusCode::SEE_OTHER,
            "the same client's other account"
        );
        assert_eq!(
            sign_in_from(base, "203.0.113.9", "mia", PASSWORD).await,
            StatusCode::SEE_OTHER,
            "the account from another client"
        );
    }
}

/// Walks every operation the OpenAPI description lists, with a key of each role: a refusal
/// (403) comes exactly when the route's permission or a sales key's team says so, and no
/// route fails (5xx) whatever the role.
async fn every_route_in_the_openapi_description_is_guarded_for_every_role(app: &TestApp) {
    use leadgate::http::access::{lead_in_path, permission, team_key_may_reach};
    let (own, other) = setup(app).await;
    let spec: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut keys = Vec::new();
    for role in Role::ALL {
        let team = role.is_team_bound().then_some("apac");
        let key = app
            .store
            .create_api_key(role.as_str(), role, team)
            .await
            .unwrap()
            .secret;
        keys.push((role, key));
    }
    let mut walked = 0;
    for (template, operations) in spec["paths"].as_object().unwrap() {
        let Some(path) = template
            .strip_prefix("/api/v1")
            .filter(|p| *p != "/openapi.json")
        else {
            continue; // the description itself, probes and metrics: public
        };
        let ids = [own, other]
            .into_iter()
            .flat_map(|lead| id_spellings(lead).into_iter().map(move |s| (lead, s)));
        for (lead, spelling) in ids {
            let concrete = path
                .replace("{id}", &spelling)
                .replace("{name}", "apac")
                .replace("{key}", "contact")
                .replace("{product}", "default")
                .replace("{version}", "0")
                .replace("{action}", "done")
                .replace("{decision}", "reject");
            for method in operations.as_object().unwrap().keys() {
                let method: reqwest::Method = method.to_uppercase().parse().unwrap();
                for (role, key) in &keys {
                    let mut request = app
                        .client
                        .request(method.clone(), app.url(&format!("/api/v1{concrete}")))
                        .bearer_auth(key);
                    if method != reqwest::Method::GET {
                        request = request.json(&json!({}));
                    }
                    let status = request.send().await.unwrap().status();
                    let axum_method: axum::http::Method = method.as_str().parse().unwrap();
                    let other_team =
                        role.is_team_bound() && lead_in_path(&concrete).is_some() && lead == other;
                    let refused = !role.allows(permission(&axum_method, &concrete))
                        || (role.is_team_bound() && !team_key_may_reach(&concrete))
                        || other_team;
                    assert!(
                        !status.is_server_error(),
                        "{role} {method} {concrete}: {status}"
                    );
                    assert_eq!(
                        status == StatusCode::FORBIDDEN,
                        refused,
                        "{role} {method} {concrete}: {status}"
                    );
                    walked += 1;
                }
            }
            if !path.contains("{id}") {
                break; // the same route twice only when it names a lead
            }
        }
    }
    assert!(walked > 300, "walked {walked} route x role pairs");
}

async fn each_user_sees_times_on_their_own_clock(app: &TestApp) {
    let (own, _) = setup(app).await;
    let browser = sign_in(app, "li.na").await;
    let zone = || async { app.store.user("li.na").await.unwrap().unwrap().time_zone };
    let set = |zone: &'static str| {
        let mut fields = vec![("csrf", browser.csrf.clone())];
        fields.push(("time_zone", zone.to_owned()));
        browser
            .client
            .post(app.url("/settings/time-zone"))
            .header("cookie", &browser.cookie)
            .form(&fields)
            .send()
    };
    // An unknown zone is refused on the settings page, naming the field; nothing changes.
    let refused = set("Mars/Olympus").await.unwrap();
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/settings?error="), "{location}");
    assert!(location.contains("time_zone"), "{location}");
    assert_eq!(zone().await, "UTC");

    let saved = set("asia/shanghai").await.unwrap();
    assert_eq!(saved.headers()["location"], "/settings?done=time_zone");
    assert_eq!(zone().await, "Asia/Shanghai");

    // The lead's timeline shows its capture on Shanghai's clock, not UTC's.
    let captured = app.store.timeline(own, 1000, None).await.unwrap().events;
    let captured = captured.last().expect("the capture event").occurred_at.0;
    let shanghai = captured
        .with_timezone(&chrono_tz::Tz::Asia__Shanghai)
        .format("%-d %b %Y %H:%M CST")
        .to_string();
    let utc = captured.format("%-d %b %Y %H:%M UTC").to_string();
    let page = browser
        .client
        .get(app.url(&format!("/leads/{own}")))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&shanghai), "{shanghai} on the lead page");
    assert!(!page.contains(&utc), "no UTC times left");
}

async fn session_cookies_are_secure_behind_an_https_proxy(app: &TestApp) {
    setup(app).await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let set_cookies = |response: &reqwest::Response| -> Vec<String> {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };
    for (proxy, secure) in [(Some("https"), true), (Some("http"), false), (None, false)] {
        let with_proxy = |request: reqwest::RequestBuilder| match proxy {
            Some(proto) => request.header("x-forwarded-proto", proto),
            None => request,
        };
        let form = with_proxy(client.get(app.url("/login")))
            .send()
            .await
            .unwrap();
        let login_cookie = cookie_value(&form, "lg_login").unwrap();
        assert_eq!(
            set_cookies(&form).iter().any(|c| c.contains("; Secure")),
            secure,
            "{proxy:?}: sign-in form cookie"
        );
        let token = attribute(&form.text().await.unwrap(), "name=\"token\" value=\"");
        let signed = with_proxy(client.post(app.url("/login")))
            .header("cookie", format!("lg_login={login_cookie}"))
            .form(&[
                ("name", "vic"),
                ("password", PASSWORD),
                ("token", token.as_str()),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        let session: Vec<String> = set_cookies(&signed)
            .into_iter()
            .filter(|c| c.starts_with("lg_session="))
            .collect();
        assert_eq!(session.len(), 1);
        assert_eq!(
            session[0].contains("; Secure"),
            secure,
            "{proxy:?}: {}",
            session[0]
        );
        assert!(session[0].contains("HttpOnly"));
    }
}

async fn a_manager_assigns_unowned_leads_to_their_own_team_only(app: &TestApp) {
    let (own, other) = setup(app).await;
    let store = &app.store;
    let unowned = capture(
        store,
        json!({"email": "nobody@lead.example", "first_name": "Pool"}),
    )
    .await;
    let second = capture(
        store,
        json!({"email": "second@lead.example", "first_name": "Pool"}),
    )
    .await;
    let owner = |id: LeadId| async move {
        store
            .lead(id)
            .await
            .unwrap()
            .lead
            .owner
            .map(|o| o.as_str().to_owned())
    };

    // A rep sees no unowned lead and assigns nothing; the manager sees the queue.
    let rep = sign_in(app, "li.na").await;
    assert_eq!(
        rep.get(&format!("/leads/{unowned}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rep.post(
            &format!("/leads/{own}/assign"),
            &[("owner", "li.na"), ("reason", "mine")]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (_, rep_list) = rep.page("/leads?unassigned=1").await;
    assert!(
        !rep_list.contains(&format!("data-lead=\"{unowned}\"")),
        "a rep's list has no unowned lead"
    );
    let manager = sign_in(app, "w.chen").await;
    let (status, queue) = manager.page("/leads?unassigned=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        queue.contains(&format!("data-lead=\"{unowned}\"")),
        "the queue lists the unowned lead"
    );
    assert!(
        !queue.contains(&format!("data-lead=\"{own}\"")),
        "the queue lists only unowned leads"
    );
    // The views count their leads: the manager's team has one, two wait for an owner.
    assert!(
        queue.contains(r#"<span class="count" id="count-all">1</span>"#)
            && queue.contains(r#"<span class="count" id="count-unassigned">2</span>"#),
        "the views' counts"
    );
    let (_, admin_list) = sign_in(app, "admin").await.page("/leads").await;
    assert!(
        admin_list.contains(r#"<span class="count" id="count-all">4</span>"#),
        "an admin's All counts every lead"
    );
    let (status, page) = manager.page(&format!("/leads/{unowned}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"assign\""),
        "the lead page offers assigning"
    );
    assert!(
        !page.contains("value=\"j.miller\""),
        "only the manager's own reps are offered"
    );

    // A rep of another team is refused by name; the reason is required.
    let (status, back) = manager
        .post_to(
            &format!("/leads/{unowned}/assign"),
            &[("owner", "j.miller"), ("reason", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        back.contains("error=") && back.contains("'j.miller'"),
        "{back}"
    );
    let (_, back) = manager
        .post_to(
            &format!("/leads/{unowned}/assign"),
            &[("owner", "li.na"), ("reason", " ")],
        )
        .await;
    assert!(back.contains("error=reason"), "{back}");
    assert_eq!(owner(unowned).await, None);

    // One lead from its page, then the rest in bulk; another team's lead is named and left.
    let (_, back) = manager
        .post_to(
            &format!("/leads/{unowned}/assign"),
            &[("owner", "li.na"), ("reason", "closest to the customer")],
        )
        .await;
    assert!(back.contains("done=assigned"), "{back}");
    assert_eq!(owner(unowned).await.as_deref(), Some("li.na"));
    let (second_id, other_id) = (second.to_string(), other.to_string());
    let (_, back) = manager
        .post_to(
            "/leads/bulk",
            &[
                ("owner", "li.na"),
                ("reason", "pool"),
                ("back", "/leads?unassigned=1"),
                ("lead", &second_id),
                ("lead", &other_id),
            ],
        )
        .await;
    assert!(
        back.starts_with("/leads?unassigned=1&error=1 done"),
        "{back}"
    );
    assert!(
        back.contains(&format!("Lead {other} belongs to another team")),
        "{back}"
    );
    assert_eq!(owner(second).await.as_deref(), Some("li.na"));
    assert_eq!(owner(other).await.as_deref(), Some("j.miller"));
    let timeline = store.timeline(unowned, 20, None).await.unwrap();
    assert!(timeline
        .events
        .iter()
        .any(|e| e.event_type == "owner_assigned"
            && e.payload.0["reason"] == "closest to the customer"
            && e.actor.as_deref() == Some("w.chen")));
    // Once the team's, the lead is in the rep's reach.
    assert_eq!(rep.get(&format!("/leads/{unowned}")).await, StatusCode::OK);
}

async fn each_user_reads_and_clears_their_own_notifications(app: &TestApp) {
    let (own, _) = setup(app).await;
    let store = &app.store;
    leadgate_store::testing::notify(store, "li.na", own, "first call is due").await;
    leadgate_store::testing::notify(store, "li.na", own, "deadline missed").await;
    leadgate_store::testing::notify(store, "w.chen", own, "for the manager").await;
    let theirs = store.notifications("w.chen", false, 10).await.unwrap()[0].id;

    let rep = sign_in(app, "li.na").await;
    let (_, page) = rep.page("/leads").await;
    assert!(
        page.contains("id=\"bell\"") && page.contains("<span class=\"badge\">2</span>"),
        "the header counts two unread"
    );
    let (status, list) = rep.page("/notifications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("first call is due") && list.contains("deadline missed"));
    assert!(
        !list.contains("for the manager"),
        "only the user's own notifications"
    );
    // Another person's notification is not the rep's to mark.
    assert_eq!(
        rep.post(&format!("/notifications/{theirs}/read"), &[])
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(store.unread_notifications("w.chen").await.unwrap(), 1);
    let mine = store.notifications("li.na", false, 10).await.unwrap()[0].id;
    let (_, back) = rep
        .post_to(&format!("/notifications/{mine}/read"), &[])
        .await;
    assert!(back.contains("done=read"), "{back}");
    let (_, page) = rep.page("/notifications").await;
    assert!(
        page.contains("<span class=\"badge\">1</span>"),
        "one left unread"
    );
    let (_, back) = rep.post_to("/notifications/read", &[]).await;
    assert!(back.contains("done=read_all"), "{back}");
    let (_, page) = rep.page("/notifications").await;
    assert!(!page.contains("class=\"bell unread\""), "nothing unread");
    assert_eq!(store.unread_notifications("li.na").await.unwrap(), 0);
    assert_eq!(
        store.unread_notifications("w.chen").await.unwrap(),
        1,
        "the manager's stays unread"
    );
}

async fn sign_in_and_error_pages_speak_the_browsers_language(app: &TestApp) {
    let (_, other) = setup(app).await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = client.get(app.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    // The sign-in page: in the language the browser asks for, or the one chosen on it.
    let asked = get("/login", &[("accept-language", "zh-CN,zh;q=0.9")])
        .await
        .unwrap();
    let page = asked.text().await.unwrap();
    assert!(
        page.contains("lang=\"zh-CN\"") && page.contains("id=\"languages\""),
        "{page}"
    );
    let chosen = get("/login?lang=zh-CN", &[]).await.unwrap();
    assert_eq!(cookie_value(&chosen, "lg_lang").as_deref(), Some("zh-CN"));
    assert!(chosen.text().await.unwrap().contains("lang=\"zh-CN\""));
    let english = get("/login", &[]).await.unwrap().text().await.unwrap();
    assert!(english.contains("lang=\"en\""));

    // An unknown address and a refusal, in the browser's language, each with a viewport.
    let missing = get(
        "/no/such/page",
        &[("accept", "text/html"), ("cookie", "lg_lang=zh-CN")],
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let page = missing.text().await.unwrap();
    assert!(
        page.contains("未找到") && page.contains("此地址没有页面"),
        "{page}"
    );
    assert!(page.contains("name=\"viewport\""));
    let rep = sign_in(app, "li.na").await;
    let refused = client
        .get(app.url(&format!("/leads/{other}")))
        .header("cookie", format!("{}; lg_lang=zh-CN", rep.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("无权访问"));

    // The tab icon answers at both names browsers ask.
    for path in ["/favicon.ico", "/favicon.svg"] {
        let icon = get(path, &[]).await.unwrap();
        assert_eq!(icon.status(), StatusCode::OK, "{path}");
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    }
}

async fn a_lead_is_edited_judged_and_typed_in_from_the_dashboard(app: &TestApp) {
    let (own, other) = setup(app).await;
    let store = &app.store;
    let rep = sign_in(app, "li.na").await;

    // Fields: what changed is saved (numbers as numbers), a bad value is named, nothing
    // changed is said so.
    let (_, back) = rep
        .post_to(
            &format!("/leads/{own}/edit"),
            &[
                ("job_title", "CTO"),
                ("company_size", "1,200"),
                ("first_name", "Lead"),
            ],
        )
        .await;
    assert!(back.contains("done=edited"), "{back}");
    let lead = store.lead(own).await.unwrap().lead;
    assert_eq!(lead.job_title.unwrap().as_str(), "CTO");
    assert_eq!(lead.company_size, Some(1200));
    let (_, back) = rep
        .post_to(&format!("/leads/{own}/edit"), &[("company_size", "many")])
        .await;
    assert!(back.contains("error=company_size"), "{back}");
    let (_, back) = rep
        .post_to(&format!("/leads/{own}/edit"), &[("job_title", "CTO")])
        .await;
    assert!(back.contains("done=unchanged"), "{back}");
    let timeline = store.timeline(own, 50, None).await.unwrap();
    assert_eq!(
        timeline
            .events
            .iter()
            .filter(|e| e.event_type == "field_changed" && e.payload.0["field"] == "job_title")
            .count(),
        1
    );
    // Out of reach: another team's lead, or a viewer.
    assert_eq!(
        rep.post(&format!("/leads/{other}/edit"), &[("job_title", "x")])
            .await,
        StatusCode::FORBIDDEN
    );
    let viewer = sign_in(app, "vic").await;
    assert_eq!(
        viewer
            .post(&format!("/leads/{own}/edit"), &[("job_title", "x")])
            .await,
        StatusCode::FORBIDDEN
    );

    // The junk verdict, both ways, with a reason.
    let (_, back) = rep
        .post_to(
            &format!("/leads/{own}/junk"),
            &[("verdict", "junk"), ("reason", " ")],
        )
        .await;
    assert!(back.contains("error=reason"), "{back}");
    let (_, back) = rep
        .post_to(
            &format!("/leads/{own}/junk"),
            &[("verdict", "junk"), ("reason", "a competitor")],
        )
        .await;
    assert!(back.contains("done=junk_reviewed"), "{back}");
    assert!(!store.lead(own).await.unwrap().junk.is_empty());
    rep.post_to(
        &format!("/leads/{own}/junk"),
        &[("verdict", "real"), ("reason", "spoke to them")],
    )
    .await;
    assert!(store.lead(own).await.unwrap().junk.is_empty());

    // A lead typed in by hand: the rep's own, from the chosen channel; a form without a way
    // to reach anyone comes back naming it.
    let (status, page) = rep.page("/leads/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"new-lead\""));
    let (status, back) = rep
        .post_to(
            "/leads/new",
            &[
                ("channel", "event"),
                ("first_name", "Mai"),
                ("email", "mai@fair.example"),
                ("campaign", "Expo 2026"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(back.contains("done=created"), "{back}");
    let id: i64 = back
        .trim_start_matches("/leads/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let made = store.lead(LeadId(id)).await.unwrap();
    assert_eq!(
        made.lead.owner.map(|o| o.as_str().to_owned()).as_deref(),
        Some("li.na")
    );
    assert_eq!(made.first_touch.channel.as_str(), "event");
    assert_eq!(
        made.first_touch
            .campaign
            .map(|c| c.as_str().to_owned())
            .as_deref(),
        Some("Expo 2026")
    );
    let (status, page) = {
        let r = rep
            .client
            .post(app.url("/leads/new"))
            .header("cookie", &rep.cookie)
            .form(&[
                ("csrf", rep.csrf.as_str()),
                ("channel", "event"),
                ("industry", "Retail"),
            ])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("a new lead needs at least one of email"),
        "the refusal names what is missing"
    );
    assert!(
        page.contains("value=\"Retail\""),
        "the form comes back filled in"
    );
    assert_eq!(viewer.get("/leads/new").await, StatusCode::FORBIDDEN);
}

async fn duplicates_are_found_merged_and_undone_from_the_dashboard(app: &TestApp) {
    setup(app).await;
    let store = &app.store;
    let anh = capture(store, json!({"first_name": "Thị Anh", "last_name": "Trần", "email": "anh@vinamilk.vn", "company": "Vinamilk"})).await;
    let typo = capture(
        store,
        json!({"first_name": "Thi Anh", "last_name": "Tranh", "company": "Vinamilk"}),
    )
    .await;
    let person = |id: LeadId| async move { store.lead(id).await.unwrap().person_id };
    assert_ne!(person(anh).await, person(typo).await);

    let rep = sign_in(app, "li.na").await;
    assert_eq!(rep.get("/merges").await, StatusCode::FORBIDDEN);
    let mia = sign_in(app, "mia").await;
    let (_, back) = mia.post_to("/merges/find", &[]).await;
    // This pair, and setup's two leads both named "Lead".
    assert!(
        back.contains("done=dedupe") && back.contains("count=2"),
        "{back}"
    );
    let (status, page) = mia.page("/merges").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Thị Anh") && page.contains("Tranh"),
        "both sides are shown"
    );
    let sides = [person(anh).await.0, person(typo).await.0];
    let id = store
        .merges(Some(leadgate_core::dedupe::MergeStatus::Suggested))
        .await
        .unwrap()
        .into_iter()
        .find(|m| sides.contains(&m.kept_person) && sides.contains(&m.merged_person))
        .expect("the pair is suggested")
        .id;
    assert!(page.contains(&format!("data-merge=\"{id}\"")));

    let (_, back) = mia.post_to(&format!("/merges/{id}/apply"), &[]).await;
    assert!(back.contains("done=merge_apply"), "{back}");
    assert_eq!(person(anh).await, person(typo).await);
    let (_, back) = mia.post_to(&format!("/merges/{id}/apply"), &[]).await;
    assert!(back.contains("error="), "a merge is applied once: {back}");
    let (_, back) = mia.post_to(&format!("/merges/{id}/undo"), &[]).await;
    assert!(back.contains("done=merge_undo"), "{back}");
    assert_ne!(person(anh).await, person(typo).await);
    assert_eq!(
        mia.post(&format!("/merges/{id}/maybe"), &[]).await,
        StatusCode::NOT_FOUND
    );
}

async fn users_teams_and_reps_are_changed_on_the_settings_page(app: &TestApp) {
    setup(app).await;
    let store = &app.store;
    let admin = sign_in(app, "admin").await;
    let manager = sign_in(app, "w.chen").await;
    let viewer = sign_in(app, "vic").await;

    // A user's role, team, language and time zone.
    let user = |role: &'static str, team: &'static str| {
        [
            ("display_name", "李娜"),
            ("role", role),
            ("team", team),
            ("locale", "zh-CN"),
            ("time_zone", "Asia/Shanghai"),
        ]
    };
    let (_, back) = admin
        .post_to("/settings/users/li.na", &user("sales_rep", "americas"))
        .await;
    assert!(back.contains("done=user"), "{back}");
    let li = store.user("li.na").await.unwrap().unwrap();
    assert_eq!(
        (
            li.team.as_deref(),
            li.locale.as_str(),
            li.time_zone.as_str()
        ),
        (Some("americas"), "zh-CN", "Asia/Shanghai")
    );
    let (_, back) = admin
        .post_to("/settings/users/li.na", &user("sales_rep", ""))
        .await;
    assert!(back.contains("error=team"), "a rep needs a team: {back}");
    let (_, back) = admin
        .post_to("/settings/users/admin", &user("viewer", ""))
        .await;
    assert!(back.contains("error=role"), "{back}");
    assert_eq!(
        admin
            .post("/settings/users/nobody", &user("viewer", ""))
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        viewer
            .post("/settings/users/li.na", &user("admin", ""))
            .await,
        StatusCode::FORBIDDEN
    );
    admin
        .post_to("/settings/users/li.na", &user("sales_rep", "apac"))
        .await;

    // A team's hours and holidays; a manager changes their own team only.
    let hours = |name: &'static str, monday: &'static str| {
        [
            ("name", name),
            ("timezone", "Asia/Singapore"),
            ("hours_mon", monday),
            ("hours_tue", "09:00-18:00"),
            ("holidays", "2026-12-25 2027-01-01"),
        ]
    };
    let (_, back) = admin
        .post_to(
            "/settings/teams",
            &hours("apac", "09:00-12:00, 13:00-18:00"),
        )
        .await;
    assert!(back.contains("done=team"), "{back}");
    let apac = store
        .teams()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "apac")
        .unwrap();
    assert_eq!(apac.calendar.hours[0].len(), 2, "two spans on Monday");
    assert!(apac.calendar.hours[2].is_empty(), "Wednesday off");
    assert_eq!(apac.calendar.holidays.len(), 2);
    let (_, back) = admin
        .post_to("/settings/teams", &hours("apac", "9 to 5"))
        .await;
    assert!(back.contains("error=hours.mon"), "{back}");
    let (_, back) = manager
        .post_to("/settings/teams", &hours("apac", "08:00-17:00"))
        .await;
    assert!(back.contains("done=team"), "{back}");
    assert_eq!(
        manager
            .post("/settings/teams", &hours("americas", "08:00-17:00"))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer
            .post("/settings/teams", &hours("apac", "08:00-17:00"))
            .await,
        StatusCode::FORBIDDEN
    );

    // Reps: a manager sends their own rep away, not another team's; bad numbers are named.
    let rep = |name: &'static str, team: &'static str, weight: &'static str| {
        [
            ("name", name),
            ("team", team),
            ("weight", weight),
            ("daily_cap", "5"),
            ("away", "on"),
        ]
    };
    let (_, back) = manager
        .post_to("/settings/reps", &rep("li.na", "apac", "1"))
        .await;
    assert!(back.contains("done=rep"), "{back}");
    assert!(store
        .reps(Some("apac"))
        .await
        .unwrap()
        .iter()
        .any(|r| r.name == "li.na" && r.away && r.daily_cap == Some(5)));
    assert_eq!(
        manager
            .post("/settings/reps", &rep("j.miller", "apac", "1"))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        manager
            .post("/settings/reps", &rep("j.miller", "americas", "1"))
            .await,
        StatusCode::FORBIDDEN
    );
    let (_, back) = admin
        .post_to("/settings/reps", &rep("m.new", "americas", "lots"))
        .await;
    assert!(back.contains("error=weight"), "{back}");
    let (_, back) = admin
        .post_to("/settings/reps", &rep("m.new", "americas", "2"))
        .await;
    assert!(back.contains("done=rep"), "{back}");
    let (_, page) = admin.page("/settings").await;
    assert!(page.contains("data-rep=\"m.new\"") && page.contains("data-team=\"apac\""));
}

async fn a_web_form_is_built_and_embedded_from_the_dashboard(app: &TestApp) {
    setup(app).await;
    let mia = sign_in(app, "mia").await;
    let rep = sign_in(app, "li.na").await;
    assert_eq!(rep.get("/forms").await, StatusCode::FORBIDDEN);
    let form = [
        ("key", "fair"),
        ("title", "Meet us at the fair"),
        ("ask_email", "on"),
        ("label_email", "Work email"),
        ("required_email", "on"),
        ("ask_company", "on"),
        ("label_company", "Company"),
        ("label_phone", "Phone"),
        ("custom_key_0", "interest"),
        ("custom_label_0", "What interests you?"),
        ("custom_key_1", ""),
        ("custom_label_1", ""),
        ("consent", "You may contact me about this."),
        ("campaign", "expo-2026"),
    ];
    let (_, back) = mia.post_to("/forms", &form).await;
    assert_eq!(back, "/forms/fair?done=form");
    let saved = app.store.form("fair").await.unwrap().definition;
    let names: Vec<&str> = saved.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["email", "company", "custom.interest"],
        "only the ticked fields, in order"
    );
    assert!(saved.fields[0].required && !saved.fields[1].required);
    assert_eq!(saved.fields[0].label, "Work email");
    assert_eq!(
        saved.consent_text.as_deref(),
        Some("You may contact me about this.")
    );
    assert_eq!(saved.source["campaign"], "expo-2026");
    let (status, page) = mia.page("/forms/fair").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("/f/fair") && page.contains("What interests you?"),
        "the snippet and the form's own question"
    );
    let embed = reqwest::get(app.url("/f/fair/embed"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(embed.contains("Work email"));

    // A form that asks nothing, or a key no address can hold, is refused by name; what was
    // typed stays.
    let (status, page) = {
        let r = mia
            .client
            .post(app.url("/forms"))
            .header("cookie", &mia.cookie)
            .form(&[
                ("csrf", mia.csrf.as_str()),
                ("key", "empty"),
                ("title", "Nothing asked"),
            ])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("fields") && page.contains("Nothing asked"),
        "{page}"
    );
    let (_, page) = {
        let r = mia
            .client
            .post(app.url("/forms"))
            .header("cookie", &mia.cookie)
            .form(&[
                ("csrf", mia.csrf.as_str()),
                ("key", "Bad Key"),
                ("title", "x"),
                ("ask_email", "on"),
                ("label_email", "Email"),
            ])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert!(page.contains("key: must be 1 to 64"), "{page}");
    assert!(
        page.contains("value=\"Bad Key\""),
        "the key stays to correct"
    );
}

/// Each API operation a person does, and the dashboard page or action that does it.
const PAGE_ACTIONS: &[(&str, &str, &str, &str)] = &[
    ("GET", "/leads", "GET", "/leads"),
    ("POST", "/leads", "POST", "/leads/new"),
    ("GET", "/leads/export", "GET", "/leads.csv"),
    ("GET", "/leads/{id}", "GET", "/leads/{lead}"),
    ("PATCH", "/leads/{id}", "POST", "/leads/{lead}/edit"),
    ("POST", "/leads/{id}/assign", "POST", "/leads/{lead}/assign"),
    ("PUT", "/leads/{id}/bant", "POST", "/leads/{lead}/bant"),
    ("GET", "/leads/{id}/clocks", "GET", "/leads/{lead}"),
    ("GET", "/leads/{id}/consents", "GET", "/leads/{lead}"),
    (
        "POST",
        "/leads/{id}/consents",
        "POST",
        "/leads/{lead}/consent",
    ),
    ("POST", "/leads/{id}/emails", "POST", "/leads/{lead}/email"),
    (
        "POST",
        "/leads/{id}/interactions",
        "POST",
        "/leads/{lead}/log",
    ),
    ("PUT", "/leads/{id}/junk", "POST", "/leads/{lead}/junk"),
    ("GET", "/leads/{id}/prediction", "GET", "/leads/{lead}"),
    ("GET", "/leads/{id}/score", "GET", "/leads/{lead}"),
    // A task is set as the next step of a logged contact.
    ("POST", "/leads/{id}/tasks", "POST", "/leads/{lead}/log"),
    ("GET", "/leads/{id}/timeline", "GET", "/leads/{lead}"),
    (
        "POST",
        "/leads/{id}/transitions",
        "POST",
        "/leads/{lead}/move",
    ),
    ("POST", "/dedupe", "POST", "/merges/find"),
    ("GET", "/merges", "GET", "/merges"),
    ("POST", "/merges/{id}/{decision}", "POST", "/merges/1/apply"),
    ("GET", "/notifications", "GET", "/notifications"),
    (
        "POST",
        "/notifications/{id}/read",
        "POST",
        "/notifications/1/read",
    ),
    ("GET", "/tasks", "GET", "/"),
    ("GET", "/tasks/{id}", "GET", "/"),
    ("POST", "/tasks/{id}/{action}", "POST", "/tasks/1/cancel"),
    ("GET", "/forms", "GET", "/forms"),
    ("GET", "/forms/{key}", "GET", "/forms/{form}"),
    ("PUT", "/forms/{key}", "POST", "/forms"),
    ("GET", "/trackers", "GET", "/forms"),
    ("GET", "/trackers/{key}", "GET", "/forms"),
    ("POST", "/trackers", "POST", "/forms/trackers"),
    ("PUT", "/trackers/{key}", "POST", "/forms/trackers"),
    ("GET", "/spend", "GET", "/analytics"),
    ("PUT", "/spend", "POST", "/analytics/spend"),
    ("POST", "/spend/import", "POST", "/analytics/spend/import"),
    ("PUT", "/spend/currency", "POST", "/analytics/currency"),
    ("GET", "/spend/returns", "GET", "/analytics"),
    ("GET", "/imports", "GET", "/imports"),
    ("POST", "/imports", "POST", "/imports/upload"),
    ("GET", "/imports/{id}", "GET", "/imports"),
    ("GET", "/imports/{id}/rejects", "GET", "/imports"),
    ("POST", "/gdpr/export", "GET", "/leads/{lead}/person.json"),
    ("POST", "/gdpr/erase", "POST", "/leads/{lead}/erase"),
    ("GET", "/policies", "GET", "/policy"),
    ("POST", "/policies", "POST", "/policy"),
    ("POST", "/policies/backtest", "POST", "/policy"),
    ("GET", "/policies/{product}/{version}", "GET", "/policy"),
    ("GET", "/policies/{product}/rescore", "GET", "/policy"),
    ("GET", "/teams", "GET", "/settings"),
    ("PUT", "/teams/{name}", "POST", "/settings/teams"),
    ("GET", "/reps", "GET", "/settings"),
    ("PUT", "/reps/{name}", "POST", "/settings/reps"),
    ("GET", "/sla/clocks", "GET", "/"),
    ("GET", "/sla/compliance", "GET", "/analytics"),
    ("GET", "/models", "GET", "/models"),
    ("POST", "/models/train", "POST", "/models/train"),
    ("GET", "/models/{id}", "GET", "/models"),
    (
        "POST",
        "/models/{id}/activate",
        "POST",
        "/models/1/activate",
    ),
    // Each row of /models links its report (checked with a trained model elsewhere).
    ("GET", "/models/{id}/report", "GET", "/models"),
];

/// API operations no person does from a page, and why.
const API_ONLY: &[(&str, &str, &str)] = &[
    ("POST", "/events", "machines report behaviour"),
    ("POST", "/inbound/email", "a mail relay delivers a message"),
    (
        "POST",
        "/policies/automation-dry-run",
        "scripts check automation rules before an apply",
    ),
    ("POST", "/models/predict", "batch scoring for other systems"),
    (
        "GET",
        "/email-templates",
        "templates are written by integrators",
    ),
    (
        "PUT",
        "/email-templates/{name}",
        "templates are written by integrators",
    ),
    ("GET", "/emails", "the outbox is watched by operators"),
    (
        "POST",
        "/emails/{id}/resend",
        "the outbox is watched by operators",
    ),
    ("GET", "/webhooks", "integrations"),
    ("POST", "/webhooks", "integrations"),
    ("GET", "/webhooks/{id}/deliveries", "integrations"),
    ("POST", "/webhooks/{id}/replay", "integrations"),
    ("POST", "/webhooks/{id}/{action}", "integrations"),
    ("GET", "/jobs", "operations"),
    ("GET", "/jobs/{id}", "operations"),
    ("POST", "/jobs/{id}/retry", "operations"),
    ("GET", "/openapi.json", "operations"),
];

async fn every_person_facing_api_operation_has_a_page_action(app: &TestApp) {
    let (own, _) = setup(app).await;
    let definition = leadgate_core::form::FormDefinition::parse(
        &json!({"title": "t", "fields": [{"name": "email", "label": "Email"}]}),
    )
    .unwrap();
    app.store.save_form("t", &definition).await.unwrap();
    let spec: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut operations = Vec::new();
    for (path, methods) in spec["paths"].as_object().unwrap() {
        let Some(path) = path.strip_prefix("/api/v1") else {
            continue; // The public form endpoints and health checks: not a person's work here.
        };
        for method in methods.as_object().unwrap().keys() {
            operations.push((method.to_uppercase(), path.to_owned()));
        }
    }
    for (method, path) in &operations {
        let paged = PAGE_ACTIONS
            .iter()
            .filter(|(m, p, _, _)| m == method && p == path)
            .count();
        let api_only = API_ONLY
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .count();
        assert_eq!(
            paged + api_only,
            1,
            "{method} {path}: say which page action does it, or why it is for the API only"
        );
    }
    for (method, path, _, _) in PAGE_ACTIONS {
        assert!(
            operations.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is not in the API"
        );
    }
    // Each page action answers (a form without its token is refused, never not found).
    let admin = sign_in(app, "admin").await;
    for (_, _, method, page) in PAGE_ACTIONS {
        let page = page
            .replace("{lead}", &own.to_string())
            .replace("{form}", "t");
        let status = if *method == "GET" {
            admin.get(&page).await
        } else {
            admin
                .client
                .post(app.url(&page))
                .header("cookie", &admin.cookie)
                .form(&[("x", "y")])
                .send()
                .await
                .unwrap()
                .status()
        };
        if *method == "GET" {
            assert_eq!(status, StatusCode::OK, "{method} {page}");
        } else {
            // Refused (no token, or not the form it reads), never not found.
            assert!(
                status.is_client_error()
                    && status != StatusCode::NOT_FOUND
                    && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {page}: {status}"
            );
        }
    }
}

async fn consent_email_tasks_and_erasure_from_the_lead_page(app: &TestApp) {
    let (own, _) = setup(app).await;
    let store = &app.store;
    store
        .put_email_template(
            "hello",
            &leadgate_core::email::EmailTemplate {
                subject: "Hello".into(),
                body: "Hello {{first_name}}".into(),
            },
        )
        .await
        .unwrap();
    let admin = sign_in(app, "admin").await;
    let rep = sign_in(app, "li.na").await;

    // A rep emails the lead a template; the page offers it.
    let (_, page) = rep.page(&format!("/leads/{own}")).await;
    assert!(page.contains("<option>hello</option>"));
    assert!(!page.contains("id=\"privacy\""), "privacy is the admin's");
    let (_, back) = rep
        .post_to(&format!("/leads/{own}/email"), &[("template", "hello")])
        .await;
    assert!(back.contains("done=emailed"), "{back}");
    assert_eq!(store.emails(Some(own), 10).await.unwrap().len(), 1);
    assert_eq!(
        rep.post(&format!("/leads/{own}/email"), &[("template", "nope")])
            .await,
        StatusCode::NOT_FOUND,
        "no such template"
    );

    // A task is cancelled from the inbox.
    let task = leadgate_core::followup::TaskRequest {
        task_type: Some("call".into()),
        due_at: Some("2030-01-01T09:00:00Z".into()),
        ..Default::default()
    }
    .check("")
    .unwrap();
    let task = leadgate_app::followup::create_task(store, own, &task, "li.na", chrono::Utc::now())
        .await
        .unwrap();
    let (_, back) = rep
        .post_to(&format!("/tasks/{}/cancel", task.id), &[])
        .await;
    assert!(back.contains("done=task_cancelled"), "{back}");
    assert_eq!(
        store.task(task.id).await.unwrap().state.as_str(),
        "cancelled"
    );

    // Consent withdrawn by hand sets Do Not Email; the rep may not record one.
    assert_eq!(
        rep.post(
            &format!("/leads/{own}/consent"),
            &[("purpose", "email"), ("granted", "no")]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (_, back) = admin
        .post_to(
            &format!("/leads/{own}/consent"),
            &[
                ("purpose", "email"),
                ("granted", "no"),
                ("wording", "asked on the phone"),
            ],
        )
        .await;
    assert!(back.contains("done=consent"), "{back}");
    assert!(store.lead(own).await.unwrap().do_not_email);
    let (_, back) = admin
        .post_to(
            &format!("/leads/{own}/consent"),
            &[("purpose", "Bad Purpose"), ("granted", "yes")],
        )
        .await;
    assert!(back.contains("error=purpose"), "{back}");

    // The person's data downloads; erasure needs ERASE typed.
    let (status, document) = admin.page(&format!("/leads/{own}/person.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document.contains("own@lead.example"));
    let (_, back) = admin
        .post_to(&format!("/leads/{own}/erase"), &[("confirm", "yes")])
        .await;
    assert!(back.contains("error=confirm"), "{back}");
    let (_, back) = admin
        .post_to(&format!("/leads/{own}/erase"), &[("confirm", "ERASE")])
        .await;
    assert!(back.contains("done=erased"), "{back}");
    let after = store
        .lead(own)
        .await
        .map(|l| l.lead.email.is_none())
        .unwrap_or(true);
    assert!(after, "the email is gone");
}

/// The text a person reads on a page: the markup, scripts and styles taken out.
fn visible_text(html: &str) -> String {
    let mut shown = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script").or_else(|| rest.find("<style")) {
        shown.push_str(&rest[..start]);
        let close = if rest[start..].starts_with("<script") {
            "</script>"
        } else {
            "</style>"
        };
        rest = rest[start..]
            .find(close)
            .map_or("", |end| &rest[start + end + close.len()..]);
    }
    shown.push_str(rest);
    let mut text = String::new();
    let mut in_tag = false;
    for ch in shown.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

async fn a_chinese_user_reads_no_english_on_any_page(app: &TestApp) {
    let (own, _) = setup(app).await;
    let store = &app.store;
    // A move without a reason of its own: its timeline line says who moved it, in Chinese.
    leadgate_app::qualify::transition(store, own, Stage::Sal, None, false, "w.chen")
        .await
        .unwrap();
    leadgate_store::testing::notify(store, "w.chen", own, "提醒").await;
    let definition = leadgate_core::form::FormDefinition::parse(
        &json!({"title": "表单", "fields": [{"name": "email", "label": "邮箱"}]}),
    )
    .unwrap();
    store.save_form("zh", &definition).await.unwrap();
    let admin = sign_in(app, "admin").await;
    for name in ["admin", "w.chen"] {
        let change = [
            ("display_name", name),
            (
                "role",
                if name == "admin" {
                    "admin"
                } else {
                    "sales_manager"
                },
            ),
            ("team", if name == "admin" { "" } else { "apac" }),
            ("locale", "zh-CN"),
            ("time_zone", "Asia/Shanghai"),
        ];
        let (_, back) = admin
            .post_to(&format!("/settings/users/{name}"), &change)
            .await;
        assert!(back.contains("done=user"), "{back}");
    }
    // English texts a Chinese page must not show: each literal part of a text the Chinese
    // catalog words differently, long enough not to be a name or a code.
    let en = leadgate::web::i18n::catalog("en");
    let zh = leadgate::web::i18n::catalog("zh-CN");
    let mut english: Vec<String> = Vec::new();
    for (key, text) in en.texts() {
        if zh.t(key) == text || key.starts_with("language.") || key.starts_with("format.") {
            continue;
        }
        for part in text.split(['{', '}']).step_by(2) {
            let part = part.trim_matches(|c: char| !c.is_alphanumeric());
            if part.len() >= 8 && part.contains(' ') {
                english.push(part.to_owned());
            }
        }
    }
    english.sort();
    english.dedup();
    // The check sees English where there is some: an English user's lead page.
    let (_, page) = sign_in(app, "li.na")
        .await
        .page(&format!("/leads/{own}"))
        .await;
    let seen = english
        .iter()
        .filter(|e| visible_text(&page).contains(e.as_str()))
        .count();
    assert!(seen >= 5, "the English lead page shows {seen} of the texts");
    for name in ["admin", "w.chen"] {
        let user = sign_in(app, name).await;
        let pages = [
            "/".to_owned(),
            "/leads".into(),
            "/leads?unassigned=1".into(),
            format!("/leads/{own}"),
            "/leads/new".into(),
            "/board".into(),
            "/analytics".into(),
            "/policy".into(),
            "/settings".into(),
            "/notifications".into(),
            "/imports".into(),
            "/merges".into(),
            "/forms".into(),
            "/forms/zh".into(),
            "/models".into(),
        ];
        for page in pages {
            let (status, html) = user.page(&page).await;
            if status == StatusCode::FORBIDDEN {
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{name} {page}");
            assert!(
                html.contains("lang=\"zh-CN\""),
                "{name} {page} is in Chinese"
            );
            let text = visible_text(&html);
            if page == format!("/leads/{own}") {
                assert!(
                    text.contains("由 w.chen 移动"),
                    "the move's reason in Chinese"
                );
            }
            let left: Vec<&String> = english
                .iter()
                .filter(|e| text.contains(e.as_str()))
                .collect();
            assert!(left.is_empty(), "{name} {page} shows English: {left:?}");
        }
    }
}

async fn a_person_saves_and_deletes_lists_of_their_own(app: &TestApp) {
    setup(app).await;
    let rep = sign_in(app, "li.na").await;
    let other = sign_in(app, "w.chen").await;
    let (_, back) = rep
        .post_to(
            "/leads/views",
            &[
                ("name", "My MQLs"),
                ("filters", "stage=mql&sort=-score&cursor=abc"),
            ],
        )
        .await;
    assert!(
        back.contains("done=view_saved") && back.contains("stage=mql"),
        "{back}"
    );
    let view = app
        .store
        .saved_views(app.store.user("li.na").await.unwrap().unwrap().id)
        .await
        .unwrap();
    assert_eq!(view.len(), 1);
    assert!(view[0].query.contains("stage=mql") && view[0].query.contains("sort=-score"));
    assert!(
        !view[0].query.contains("abc"),
        "a saved list starts at its first page"
    );
    let (_, page) = rep.page("/leads").await;
    assert!(page.contains("My MQLs"));
    let (_, page) = other.page("/leads").await;
    assert!(!page.contains("My MQLs"), "lists are their owner's");
    let id = view[0].id;
    assert_eq!(
        other.post(&format!("/leads/views/{id}/delete"), &[]).await,
        StatusCode::NOT_FOUND
    );
    // The same name replaces; bad filters and names are refused by name.
    rep.post_to(
        "/leads/views",
        &[("name", "My MQLs"), ("filters", "stage=sal")],
    )
    .await;
    let views = app
        .store
        .saved_views(app.store.user("li.na").await.unwrap().unwrap().id)
        .await
        .unwrap();
    assert_eq!(views.len(), 1);
    assert!(views[0].query.contains("stage=sal"));
    let (_, back) = rep
        .post_to(
            "/leads/views",
            &[("name", "Bad"), ("filters", "stage=nope")],
        )
        .await;
    assert!(back.contains("error=stage"), "{back}");
    let (_, back) = rep
        .post_to("/leads/views", &[("name", " "), ("filters", "stage=sal")])
        .await;
    assert!(back.contains("error=name"), "{back}");
    let (_, back) = rep.post_to(&format!("/leads/views/{id}/delete"), &[]).await;
    assert!(back.contains("done=view_deleted"), "{back}");
    let (_, page) = rep.page("/leads").await;
    assert!(!page.contains("My MQLs"));
}

async fn ticked_leads_are_moved_and_tagged_together(app: &TestApp) {
    let (own, other) = setup(app).await;
    let store = &app.store;
    let rep = sign_in(app, "li.na").await;
    let (own_id, other_id) = (own.to_string(), other.to_string());
    let (_, back) = rep
        .post_to(
            "/leads/bulk",
            &[
                ("action", "tag"),
                ("tag", "expo-2026"),
                ("lead", &own_id),
                ("back", "/leads?stage=mql"),
            ],
        )
        .await;
    assert!(
        back.starts_with("/leads?stage=mql")
            && back.contains("done=tagged_many")
            && back.contains("count=1"),
        "{back}"
    );
    assert_eq!(
        store.lead(own).await.unwrap().lead.custom["tags"],
        json!(["expo-2026"])
    );
    // A move the lifecycle refuses is named, one out of reach too; the rest go.
    let (_, back) = rep
        .post_to(
            "/leads/bulk",
            &[("action", "move"), ("to", "sql"), ("lead", &own_id)],
        )
        .await;
    assert!(
        back.contains("error=0 done") && back.contains("cannot move from mql to sql"),
        "{back}"
    );
    let (_, back) = rep
        .post_to(
            "/leads/bulk",
            &[
                ("action", "move"),
                ("to", "sal"),
                ("lead", &own_id),
                ("lead", &other_id),
            ],
        )
        .await;
    assert!(
        back.contains("error=1 done")
            && back.contains(&format!("Lead {other} belongs to another team")),
        "{back}"
    );
    assert_eq!(store.lead(own).await.unwrap().lead.stage, Stage::Sal);
    assert_eq!(store.lead(other).await.unwrap().lead.stage, Stage::Mql);
    // A rep assigns nothing; a viewer moves nothing.
    assert_eq!(
        rep.post(
            "/leads/bulk",
            &[
                ("action", "assign"),
                ("owner", "li.na"),
                ("reason", "x"),
                ("lead", &own_id)
            ]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let viewer = sign_in(app, "vic").await;
    assert_eq!(
        viewer
            .post(
                "/leads/bulk",
                &[("action", "move"), ("to", "sal"), ("lead", &own_id)]
            )
            .await,
        StatusCode::FORBIDDEN
    );
    // The ticked leads as a CSV file: only those, and none out of reach.
    let file = rep
        .submit("/leads/bulk", &[("action", "export"), ("lead", &own_id)])
        .await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("leads-ticked.csv"));
    let text = file.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "the header and the one ticked lead: {text}");
    assert!(rows[0].starts_with("id,external_id,stage,owner"));
    assert!(rows[1].starts_with(&format!("{own},,sal,li.na")), "{text}");
    let (_, back) = rep
        .post_to(
            "/leads/bulk",
            &[("action", "export"), ("lead", &own_id), ("lead", &other_id)],
        )
        .await;
    assert!(
        back.contains("error=not downloaded")
            && back.contains(&format!("Lead {other} belongs to another team")),
        "a download is refused whole: {back}"
    );
    // The summary is in the reader's language.
    rep.post("/settings/locale", &[("locale", "zh-CN")]).await;
    let (_, back) = rep
        .post_to(
            "/leads/bulk",
            &[("action", "tag"), ("tag", "x"), ("lead", &other_id)],
        )
        .await;
    assert!(
        back.contains("已完成 0 个；未完成：") && !back.contains("done"),
        "{back}"
    );
}

/// A NUL or other control byte typed into the dashboard's forms (a tag, a reason, a saved
/// list's name, a lead's field, a form's title) is refused naming the field on both
/// engines: never a server error, never stored.
async fn control_bytes_in_the_new_forms_are_refused_by_name(app: &TestApp) {
    let (own, _) = setup(app).await;
    let id = own.to_string();
    let admin = sign_in(app, "admin").await;
    let posts: [(&str, Vec<(&str, &str)>); 7] = [
        (
            "/leads/bulk",
            vec![("action", "tag"), ("tag", "a\u{0}b"), ("lead", &id)],
        ),
        (
            "/leads/bulk",
            vec![
                ("action", "assign"),
                ("owner", "li.na"),
                ("reason", "x\u{0}y"),
                ("lead", &id),
            ],
        ),
        (
            "/leads/views",
            vec![("name", "n\u{0}"), ("filters", "stage=mql")],
        ),
        (
            &format!("/leads/{id}/edit"),
            vec![("job_title", "C\u{0}TO")],
        ),
        (
            &format!("/leads/{id}/junk"),
            vec![("verdict", "junk"), ("reason", "r\u{0}")],
        ),
        (
            "/forms",
            vec![
                ("key", "nul"),
                ("title", "t\u{0}"),
                ("ask_email", "on"),
                ("label_email", "E"),
            ],
        ),
        ("/models/train", vec![("product", "p\u{0}")]),
    ];
    for (path, form) in posts {
        let (status, back) = admin.post_to(path, &form).await;
        assert!(
            status == StatusCode::SEE_OTHER && back.contains("error=")
                || status == StatusCode::OK
                || status.is_client_error(),
            "{path}: {status} {back}"
        );
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
    }
    let (status, _) = admin.page("/models?product=p%00").await;
    assert!(status.is_client_error(), "a NUL product: {status}");
    let lead = app.store.lead(own).await.unwrap();
    assert!(
        lead.lead.custom.get("tags").is_none(),
        "no tag with a NUL was stored"
    );
    assert_ne!(
        lead.lead
            .job_title
            .map(|t| t.as_str().to_owned())
            .as_deref(),
        Some("C\u{0}TO")
    );
}
