//! The API over real HTTP: the server runs on a real port against a fresh database, once on
//! SQLite and once on PostgreSQL for every test.

#[macro_use]
mod common;

use chrono::{Duration, Utc};
use common::{fields, problem, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    leads_are_created_read_edited_and_upserted,
    bad_lead_input_is_refused_with_the_field_named,
    api_keys_are_required_and_revocable,
    leads_list_with_filters_and_keyset_pages,
    event_batches_answer_per_item,
    bad_event_batches_are_refused,
    probes_metrics_and_openapi,
    a_nul_character_is_refused_by_name_everywhere_on_both_engines,
    a_refused_request_leaves_its_connection_usable,
);

/// A POST refused before its body is read (no key, a wrong one, a role that may not) still
/// reads the body, so the pooled connection serves the next request; before, about one
/// in seventy next requests found the connection closed.
async fn a_refused_request_leaves_its_connection_usable(app: &TestApp) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let viewer = app
        .store
        .create_api_key("viewer", leadgate_core::access::Role::Viewer, None)
        .await
        .unwrap()
        .secret;
    let body = json!({"email": "x@y.io", "custom": {"note": "n".repeat(60_000)}});
    let mut failures = Vec::new();
    for i in 0..300 {
        let key = match i % 3 {
            0 => None,
            1 => Some("wrong"),
            _ => Some(viewer.as_str()),
        };
        let mut request = client.post(app.url("/api/v1/leads")).json(&body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        match request.send().await {
            Ok(r) if r.status().is_client_error() => {}
            other => failures.push(format!("refused POST {i}: {other:?}")),
        }
        if let Err(e) = client.get(app.url("/healthz")).send().await {
            failures.push(format!("GET after {i}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// `\u0000` in any text: refused with the place named (never a 500 on PostgreSQL), and an
/// event batch refuses only the item that holds one.
async fn a_nul_character_is_refused_by_name_everywhere_on_both_engines(app: &TestApp) {
    let nul = "a\u{0}b";
    for (body, field) in [
        (
            json!({"email": "n@x.io", "custom": {"note": nul}}),
            "custom.note",
        ),
        (
            json!({"email": "n@x.io", "custom": {nul: "v"}}),
            "custom.a\\u0000b",
        ),
        (json!({"email": "n@x.io", "first_name": nul}), "first_name"),
    ] {
        let refused = problem(
            app.post("/api/v1/leads", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields(&refused), [field], "{refused}");
    }
    let lead = app
        .post("/api/v1/leads", &json!({"email": "n@x.io"}))
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let batch: Value = app
        .post(
            "/api/v1/events",
            &json!({"events": [
                {"lead_id": lead, "type": "page_viewed", "payload": {"url": "/pricing"}},
                {"lead_id": lead, "type": "page_viewed", "payload": {"url": nul}},
                {"lead_id": lead, "type": "page_viewed", "payload": {nul: 1}},
            ]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(batch["accepted"], 1, "{batch}");
    assert_eq!(batch["rejected"], 2);
    assert_eq!(
        batch["results"][1]["errors"][0]["field"],
        "events[1].payload.url"
    );
    // A parameter given blank is not given (as an HTML form sends an empty field).
    let blank = app
        .get("/api/v1/leads?stage=&channel=&limit=&q=&sort=&created_from=")
        .await;
    assert_eq!(blank.status(), StatusCode::OK);
    // A query string that does not read is a problem naming the parameter, not plain text.
    for (path, field) in [
        ("/api/v1/emails?limit=9223372036854775808", "limit"),
        ("/api/v1/dedupe?dry_run=maybe", "dry_run"),
    ] {
        let method = if path.contains("dedupe") {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let answer = app
            .client
            .request(method, app.url(path))
            .bearer_auth(&app.key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            fields(&problem(answer, StatusCode::BAD_REQUEST).await),
            [field]
        );
    }
    for path in [
        "/api/v1/leads?q=a%00b",
        "/api/v1/notifications?recipient=%00",
        "/api/v1/leads/1%00",
    ] {
        problem(app.get(path).await, StatusCode::BAD_REQUEST).await;
    }
    let patched = problem(
        app.client
            .patch(app.url(&format!("/api/v1/leads/{lead}")))
            .bearer_auth(&app.key)
            .json(&json!({"custom": {"x": [nul]}}))
            .send()
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&patched), ["custom.x[0]"]);
    // The public form, an extra field included.
    app.client
        .put(app.url("/api/v1/forms/contact"))
        .bearer_auth(&app.key)
        .json(&json!({"title": "Contact", "fields": [{"name": "email", "label": "Email"}]}))
        .send()
        .await
        .unwrap();
    let posted = app
        .client
        .post(app.url("/f/contact"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=f%40x.io&utm_term=a%00b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        fields(&problem(posted, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["utm_term"]
    );
    // A CSV with NULs: those rows are rejects naming the column, the rest are stored.
    let csv =
        "email,first name,notes\nok@x.io,Ok,fine\nnul1@x.io,A\u{0}B,fine\nnul2@x.io,C,x\u{0}y\n";
    let imported = app.post_csv("", csv).await;
    assert_eq!(imported.status(), StatusCode::CREATED);
    let report: Value = imported.json().await.unwrap();
    assert_eq!(report["import"]["inserted"], 1, "{report}");
    assert_eq!(report["import"]["rejected"], 2, "{report}");
}

async fn leads_are_created_read_edited_and_upserted(app: &TestApp) {
    let created = app
        .post(
            "/api/v1/leads",
            &json!({"email": "minh.anh@saigonexpress.vn", "first_name": "Minh Anh", "last_name": "Nguyễn",
                    "company": "Saigon Express JSC", "company_size": 320, "channel": "search_ad",
                    "utm_source": "google", "utm_campaign": "brand", "budget": 12000, "custom": {"lang": "vi"}}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let lead: Value = created.json().await.unwrap();
    let id = lead["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/leads/{id}"));
    assert_eq!(lead["stage"], "lead");
    assert_eq!(lead["channel"], "search_ad");
    assert_eq!(lead["source_class"], "external");
    assert_eq!(lead["first_touch"]["utm_source"], "google");
    assert_eq!(lead["custom"]["lang"], "vi");

    let read: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(read, lead);

    let edited = app
        .patch(
            &location,
            &json!({"job_title": "Giám đốc", "budget": null, "owner": "m.nguyen"}),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(edited["job_title"], "Giám đốc");
    assert_eq!(edited["budget"], Value::Null);
    assert_eq!(edited["owner"], "m.nguyen");

    let timeline: Value = app
        .get(&format!("{location}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let events = timeline["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "field_changed").count(),
        2,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"owner_assigned") && kinds.contains(&"form_submitted"));
    let change = events
        .iter()
        .find(|e| e["payload"]["field"] == "budget")
        .unwrap();
    assert_eq!(change["payload"]["old"], 12000.0);
    assert_eq!(change["actor"], "apikey:tests");
    for event in events {
        for key in [
            "id",
            "type",
            "occurred_at",
            "recorded_at",
            "payload",
            "lead_id",
        ] {
            assert!(event.get(key).is_some(), "timeline events carry {key}");
        }
    }

    // The same person again, by email in another case: the same lead, updated, answered 200.
    let again = app
        .post("/api/v1/leads", &json!({"email": "minh.anh@SAIGONEXPRESS.vn", "phone": "+84 28 3822 1111", "channel": "webinar"}))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], id);
    assert_eq!(again["phone"], "+842838221111", "stored in E.164");
    assert_eq!(
        again["company_domain"], "saigonexpress.vn",
        "from the email"
    );
    let refused = app
        .post(
            "/api/v1/leads",
            &json!({"email": "x@saigonexpress.vn", "company_domain": "other.com"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused.to_string().contains("company_domain") && refused.to_string().contains("read-only"),
        "{refused}"
    );
    assert_eq!(again["channel"], "search_ad", "first touch is kept");
    assert_eq!(again["last_touch"]["channel"], "webinar");

    // By external id: idempotent.
    let body = json!({"external_id": "hubspot-77", "email": "sara@pars.ir", "first_name": "سارا"});
    let first = app.post("/api/v1/leads", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = app.post("/api/v1/leads", &body).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(app.store.count_leads().await.unwrap(), 2);
}

async fn bad_lead_input_is_refused_with_the_field_named(app: &TestApp) {
    let before = app.store.count_leads().await.unwrap();
    let malformed = app
        .client
        .post(app.url("/api/v1/leads"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let body = problem(malformed, StatusCode::BAD_REQUEST).await;
    assert!(body["detail"].as_str().unwrap().contains("JSON"));

    let not_json = app
        .client
        .post(app.url("/api/v1/leads"))
        .bearer_auth(&app.key)
        .body("email=a@b.com")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let invalid = app
        .post(
            "/api/v1/leads",
            &json!({"email": "not-an-email", "stage": "won", "first_name": "x".repeat(101), "company_size": "big",
                    "channel": "pigeon", "colour": "red"}),
        )
        .await;
    let body = problem(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        fields(&body),
        [
            "channel",
            "colour",
            "company_size",
            "email",
            "first_name",
            "stage"
        ]
    );
    let reason = |field: &str| {
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason("first_name").contains("at most 100"));
    assert!(reason("stage").contains("unknown stage"));

    let later_stage = problem(
        app.post("/api/v1/leads", &json!({"email": "a@b.io", "stage": "sql"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&later_stage), ["stage"]);
    let anonymous = problem(
        app.post("/api/v1/leads", &json!({"industry": "Retail"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&anonymous), ["email"]);
    let array = problem(
        app.post("/api/v1/leads", &json!([1, 2])).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(array["detail"].as_str().unwrap().contains("object"));

    let huge = json!({"email": "big@x.io", "pains": "x".repeat(2 * 1024 * 1024)});
    problem(
        app.post_oversize("/api/v1/leads", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(
        app.store.count_leads().await.unwrap(),
        before,
        "nothing was stored"
    );

    problem(app.get("/api/v1/leads/999999").await, StatusCode::NOT_FOUND).await;
    problem(app.get("/api/v1/leads/abc").await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch("/api/v1/leads/999999", &json!({"first_name": "A"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let one: Value = app
        .post("/api/v1/leads", &json!({"email": "one@x.io"}))
        .await
        .json()
        .await
        .unwrap();
    let two: Value = app
        .post(
            "/api/v1/leads",
            &json!({"email": "two@x.io", "first_name": "Two"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let two_url = format!("/api/v1/leads/{}", two["id"]);
    let conflict = problem(
        app.patch(
            &two_url,
            &json!({"email": "one@x.io", "first_name": "Changed"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(fields(&conflict), ["email"]);
    let unchanged: Value = app.get(&two_url).await.json().await.unwrap();
    assert_eq!(
        unchanged["first_name"], "Two",
        "a refused edit writes nothing"
    );
    let _ = one;
    let taken = problem(
        app.patch(
            &two_url,
            &json!({"stage": "mql", "channel": "email", "id": 5}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&taken), ["channel", "id", "stage"]);
}

async fn api_keys_are_required_and_revocable(app: &TestApp) {
    let none = app
        .client
        .get(app.url("/api/v1/leads"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    problem(none, StatusCode::UNAUTHORIZED).await;
    let wrong = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth("lg_AAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .unwrap();
    problem(wrong, StatusCode::UNAUTHORIZED).await;
    let garbage = app
        .client
        .post(app.url("/api/v1/events"))
        .header("authorization", "Basic eDp5")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(garbage, StatusCode::UNAUTHORIZED).await;

    let extra = app
        .store
        .create_api_key("temporary", leadgate_core::access::Role::Admin, None)
        .await
        .unwrap();
    let ok = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&extra.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(app
        .store
        .revoke_api_key(&extra.key.id.to_string())
        .await
        .unwrap());
    let revoked = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&extra.secret)
        .send()
        .await
        .unwrap();
    problem(revoked, StatusCode::UNAUTHORIZED).await;
}

async fn leads_list_with_filters_and_keyset_pages(app: &TestApp) {
    let demo = leadgate_demo::generate(5, 120, Utc::now());
    leadgate::cli::demo::load(&app.store, &demo, |_| {})
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut next = Some("/api/v1/leads?limit=25&sort=-created_at".to_owned());
    while let Some(url) = next.take() {
        let page: Value = app.get(&url).await.json().await.unwrap();
        for lead in page["leads"].as_array().unwrap() {
            seen.push((
                lead["created_at"].as_str().unwrap().to_owned(),
                lead["id"].as_i64().unwrap(),
            ));
        }
        if let Some(cursor) = page["next_cursor"].as_str() {
            next = Some(format!(
                "/api/v1/leads?limit=25&sort=-created_at&cursor={cursor}"
            ));
        }
    }
    assert_eq!(seen.len(), 120);
    let ids: std::collections::HashSet<i64> = seen.iter().map(|s| s.1).collect();
    assert_eq!(ids.len(), 120, "no lead twice");

    let ascending: Value = app
        .get("/api/v1/leads?sort=id&limit=3")
        .await
        .json()
        .await
        .unwrap();
    let asc: Vec<i64> = ascending["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert!(asc.windows(2).all(|w| w[0] < w[1]));

    let customers = demo
        .iter()
        .filter(|d| d.lead.stage == leadgate_core::Stage::Customer)
        .count();
    let page: Value = app
        .get("/api/v1/leads?stage=customer&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["leads"].as_array().unwrap().len(), customers);

    let by_source = demo
        .iter()
        .filter(|d| d.source.channel == leadgate_core::Channel::WebForm)
        .count();
    let page: Value = app
        .get("/api/v1/leads?source=web_form&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["leads"].as_array().unwrap().len(), by_source);

    let owner = demo.iter().find_map(|d| d.lead.owner.clone()).unwrap();
    let owned = demo
        .iter()
        .filter(|d| d.lead.owner.as_ref() == Some(&owner))
        .count();
    let page: Value = app
        .get(&format!("/api/v1/leads?owner={owner}&limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["leads"].as_array().unwrap().len(), owned);

    let since = Utc::now() - Duration::days(14);
    let recent = demo.iter().filter(|d| d.created_at >= since).count();
    let from = since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let page: Value = app
        .get(&format!("/api/v1/leads?created_from={from}&limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["leads"].as_array().unwrap().len(), recent);

    let someone = demo
        .iter()
        .find(|d| {
            d.lead
                .country
                .as_ref()
                .is_some_and(|c| c.as_str() == "Vietnam")
        })
        .unwrap();
    let name = someone.lead.last_name.as_ref().unwrap().as_str().to_owned();
    let page: Value = app
        .client
        .get(app.url("/api/v1/leads"))
        .query(&[("q", name.as_str()), ("limit", "1000")])
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(page["leads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["last_name"] == name.as_str()
            || l["first_name"].as_str().unwrap_or("").contains(&name)));
    assert!(!page["leads"].as_array().unwrap().is_empty());

    let bad = problem(
        app.get("/api/v1/leads?stage=hot&limit=0&sort=favourite&color=red&created_from=yesterday")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        fields(&bad),
        ["color", "created_from", "limit", "sort", "stage"]
    );
    problem(
        app.get("/api/v1/leads?cursor=nonsense").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

async fn event_batches_answer_per_item(app: &TestApp) {
    let lead: Value = app
        .post(
            "/api/v1/leads",
            &json!({"email": "ev@x.io", "external_id": "crm-ev"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = lead["id"].as_i64().unwrap();
    let at = (Utc::now() - Duration::hours(3)).to_rfc3339();
    let batch = json!({"events": [
        {"lead_id": id, "type": "webinar_attended", "occurred_at": at, "payload": {"webinar": "BANT in practice"}, "idempotency_key": "w-1"},
        {"external_id": "crm-ev", "type": "page_viewed", "payload": {"page": "/pricing"}},
        {"lead_id": id, "type": "webinar_attended", "idempotency_key": "w-1"},
        {"lead_id": 987654, "type": "email_opened"},
        {"lead_id": id, "type": "telepathy", "occurred_at": "soon"},
        {"external_id": "nobody", "type": "email_opened"},
        "not an object"
    ]});
    let response = app.post("/api/v1/events", &batch).await;
    assert_eq!(response.status(), StatusCode::OK);
    let result: Value = response.json().await.unwrap();
    assert_eq!(
        (
            result["accepted"].as_u64(),
            result["duplicates"].as_u64(),
            result["rejected"].as_u64()
        ),
        (Some(2), Some(1), Some(4))
    );
    let results = result["results"].as_array().unwrap();
    let status: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        [
            "accepted",
            "accepted",
            "duplicate",
            "rejected",
            "rejected",
            "rejected",
            "rejected"
        ]
    );
    assert_eq!(results[3]["errors"][0]["field"], "events[3].lead_id");
    let item4: Vec<&str> = results[4]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(item4, ["events[4].type", "events[4].occurred_at"]);
    assert_eq!(results[5]["errors"][0]["field"], "events[5].external_id");
    assert_eq!(results[6]["errors"][0]["field"], "events[6]");

    // Sent again, the keyed event is a duplicate; the timeline holds each stored event once.
    let again: Value = app
        .post("/api/v1/events", &batch)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["results"][0]["status"], "duplicate");
    let timeline: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline"))
        .await
        .json()
        .await
        .unwrap();
    let events = timeline["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "capture + webinar + two page views");
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    let parsed: Vec<chrono::DateTime<Utc>> = times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(parsed.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let webinar = events
        .iter()
        .find(|e| e["type"] == "webinar_attended")
        .unwrap();
    assert_eq!(webinar["id"], results[0]["id"]);
    assert_eq!(webinar["payload"]["webinar"], "BANT in practice");
    assert_eq!(webinar["idempotency_key"], "w-1");

    let paged: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline?limit=3"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paged["events"].as_array().unwrap().len(), 3);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let rest: Value = app
        .get(&format!(
            "/api/v1/leads/{id}/timeline?limit=3&cursor={cursor}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    problem(
        app.get("/api/v1/leads/424242/timeline").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.get(&format!("/api/v1/leads/{id}/timeline?limit=5000"))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    // A full batch of 1,000 goes in at once.
    let full: Vec<Value> = (0..1000).map(|i| json!({"lead_id": id, "type": "email_opened", "idempotency_key": format!("bulk-{i}")})).collect();
    let result: Value = app
        .post("/api/v1/events", &json!({"events": full}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["accepted"], 1000);
}

async fn bad_event_batches_are_refused(app: &TestApp) {
    let lead: Value = app
        .post("/api/v1/leads", &json!({"email": "b@x.io"}))
        .await
        .json()
        .await
        .unwrap();
    let before = app.store.count_events().await.unwrap();
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({"lead_id": lead["id"], "type": "email_opened"}))
        .collect();
    let body = problem(
        app.post("/api/v1/events", &json!({"events": too_many}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&body), ["events"]);
    assert!(body["detail"].as_str().unwrap().contains("1001"));
    let body = problem(
        app.post("/api/v1/events", &json!({"events": {}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&body), ["events"]);
    let body = problem(
        app.post("/api/v1/events", &json!({"evnts": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Both mistakes at once: the missing batch and the stray key.
    assert_eq!(fields(&body), ["events", "evnts"]);
    let body = problem(
        app.post("/api/v1/events", &json!({"events": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&body), ["events"]);
    let malformed = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{\"events\": [}")
        .send()
        .await
        .unwrap();
    problem(malformed, StatusCode::BAD_REQUEST).await;
    let huge = json!({"events": [{"lead_id": lead["id"], "type": "note_added", "payload": {"text": "x".repeat(17 * 1024 * 1024)}}]});
    problem(
        app.post_oversize("/api/v1/events", &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let big_payload = json!({"events": [{"lead_id": lead["id"], "type": "note_added", "payload": {"text": "x".repeat(40 * 1024)}}]});
    let result: Value = app
        .post("/api/v1/events", &big_payload)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        result["results"][0]["errors"][0]["field"],
        "events[0].payload"
    );
    assert_eq!(
        app.store.count_events().await.unwrap(),
        before,
        "nothing was stored"
    );
}

async fn probes_metrics_and_openapi(app: &TestApp) {
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let lead: Value = app
        .post("/api/v1/leads", &json!({"email": "m@x.io"}))
        .await
        .json()
        .await
        .unwrap();
    app.post(
        "/api/v1/events",
        &json!({"events": [{"lead_id": lead["id"], "type": "email_clicked"}]}),
    )
    .await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "http_requests_total{method=\"POST\",route=\"/api/v1/events\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("leadgate_events_ingested_total"));

    let spec: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/leads", &["get", "post"][..]),
        ("/api/v1/leads/{id}", &["get", "patch"][..]),
        ("/api/v1/leads/{id}/timeline", &["get"][..]),
        ("/api/v1/events", &["post"][..]),
        ("/api/v1/openapi.json", &["get"][..]),
        ("/healthz", &["get"][..]),
        ("/readyz", &["get"][..]),
        ("/metrics", &["get"][..]),
        ("/api/v1/leads/{id}/score", &["get"][..]),
        ("/api/v1/leads/{id}/transitions", &["post"][..]),
        ("/api/v1/leads/{id}/bant", &["put"][..]),
        ("/api/v1/leads/{id}/junk", &["put"][..]),
        ("/api/v1/policies", &["get", "post"][..]),
        ("/api/v1/policies/{product}/{version}", &["get"][..]),
        ("/api/v1/policies/backtest", &["post"][..]),
        ("/api/v1/policies/{product}/rescore", &["get"][..]),
        ("/api/v1/imports", &["get", "post"][..]),
        ("/api/v1/imports/{id}", &["get"][..]),
        ("/api/v1/imports/{id}/rejects", &["get"][..]),
        ("/api/v1/leads/export", &["get"][..]),
        ("/api/v1/forms", &["get"][..]),
        ("/api/v1/forms/{key}", &["get", "put"][..]),
        ("/f/{key}", &["post"][..]),
        ("/f/{key}/embed", &["get"][..]),
        ("/api/v1/leads/{id}/consents", &["get", "post"][..]),
        ("/api/v1/gdpr/export", &["post"][..]),
        ("/api/v1/gdpr/erase", &["post"][..]),
        ("/api/v1/dedupe", &["post"][..]),
        ("/api/v1/merges", &["get"][..]),
        ("/api/v1/merges/{id}/{decision}", &["post"][..]),
        ("/api/v1/leads/{id}/tasks", &["post"][..]),
        ("/api/v1/leads/{id}/interactions", &["post"][..]),
        ("/api/v1/tasks", &["get"][..]),
        ("/api/v1/tasks/{id}", &["get"][..]),
        ("/api/v1/tasks/{id}/{action}", &["post"][..]),
        ("/api/v1/notifications", &["get"][..]),
        ("/api/v1/notifications/{id}/read", &["post"][..]),
        ("/api/v1/jobs", &["get"][..]),
        ("/api/v1/jobs/{id}", &["get"][..]),
        ("/api/v1/jobs/{id}/retry", &["post"][..]),
        ("/api/v1/teams", &["get"][..]),
        ("/api/v1/teams/{name}", &["put"][..]),
        ("/api/v1/reps", &["get"][..]),
        ("/api/v1/reps/{name}", &["put"][..]),
        ("/api/v1/leads/{id}/assign", &["post"][..]),
        ("/api/v1/leads/{id}/clocks", &["get"][..]),
        ("/api/v1/sla/clocks", &["get"][..]),
        ("/api/v1/sla/compliance", &["get"][..]),
        ("/api/v1/webhooks", &["get", "post"][..]),
        ("/api/v1/webhooks/{id}/{action}", &["post"][..]),
        ("/api/v1/webhooks/{id}/deliveries", &["get"][..]),
        ("/api/v1/webhooks/{id}/replay", &["post"][..]),
        ("/api/v1/policies/automation-dry-run", &["post"][..]),
        ("/api/v1/email-templates", &["get"][..]),
        ("/api/v1/email-templates/{name}", &["put"][..]),
        ("/api/v1/leads/{id}/emails", &["post"][..]),
        ("/api/v1/emails", &["get"][..]),
        ("/api/v1/emails/{id}/resend", &["post"][..]),
        ("/api/v1/inbound/email", &["post"][..]),
        ("/api/v1/trackers", &["get", "post"][..]),
        ("/api/v1/trackers/{key}", &["get", "put"][..]),
        ("/t.js", &["get"][..]),
        ("/t/collect", &["post"][..]),
        ("/api/v1/spend", &["get", "put"][..]),
        ("/api/v1/spend/import", &["post"][..]),
        ("/api/v1/spend/currency", &["put"][..]),
        ("/api/v1/spend/returns", &["get"][..]),
    ] {
        for method in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "OpenAPI lacks {method} {path}"
            );
        }
    }
    assert_eq!(
        paths.len(),
        74,
        "every route, and only those: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());
    // Every reference resolves: a request type the description names is in it.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").expect("a schema");
        assert!(
            spec["components"]["schemas"][name].is_object(),
            "{r} is not in the description"
        );
    }
    let event = &spec["components"]["schemas"]["EventRequest"];
    assert_eq!(event["additionalProperties"], false, "{event}");
    assert_eq!(event["required"], json!(["type"]), "{event}");
    let unknown = app.client.get(app.url("/nowhere")).send().await.unwrap();
    problem(unknown, StatusCode::NOT_FOUND).await;
    // A browser asking for a page nothing serves gets the dashboard's error page (readable
    // on a phone); under /api it is still a problem.
    let page = app
        .client
        .get(app.url("/nowhere"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert!(html.contains("name=\"viewport\""), "{html}");
    let api = app
        .client
        .get(app.url("/api/v1/nowhere"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    problem(api, StatusCode::NOT_FOUND).await;
}
