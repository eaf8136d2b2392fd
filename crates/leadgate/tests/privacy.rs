//! Consent, Do Not Email / Call, and GDPR export and erasure over real HTTP, on both engines.

#[macro_use]
mod common;

use common::{fields, problem, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_engines!(
    consent_is_kept_per_purpose_and_refusals_stop_contact,
    a_person_is_exported_then_erased_everywhere_with_counts_kept,
);

/// On SQLite, an erasure leaves none of the person's values in the database file or its
/// write-ahead log, read as bytes: not in live pages' unused space, not in freed pages, not
/// in old page versions in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_erased_person_leaves_no_bytes_in_the_file_or_its_log() {
    let app = TestApp::spawn(leadgate_store::Engine::Sqlite).await;
    let values = erase_a_person_with_values_everywhere(&app).await;
    let file = app.sqlite_file().expect("a SQLite store");
    let mut bytes = std::fs::read(&file).unwrap();
    let wal = file.with_extension("db-wal");
    bytes.extend(std::fs::read(&wal).unwrap_or_default());
    let found: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| bytes.windows(v.len()).any(|w| w == v.as_bytes()))
        .collect();
    assert!(found.is_empty(), "left on disk: {found:?}");
    app.finish().await;
}

/// On PostgreSQL, the erasure queues a vacuum that reclaims the old row versions; since
/// PostgreSQL does not zero the space it frees, `leadgate gdpr compact` (VACUUM FULL) is
/// what guarantees it: after it (and a checkpoint), no table, index or TOAST file of the
/// store holds the person's values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_erased_person_leaves_no_bytes_in_the_table_files_after_the_vacuum() {
    let app = TestApp::spawn(leadgate_store::Engine::Postgres).await;
    let values = erase_a_person_with_values_everywhere(&app).await;
    let _worker = leadgate::jobs::start(
        &app.store,
        chrono::Duration::seconds(30),
        Default::default(),
    );
    let done = app
        .get_json_until("/api/v1/jobs?kind=vacuum_erased&state=done", |j| {
            !j["jobs"].as_array().unwrap().is_empty()
        })
        .await;
    assert_eq!(done["jobs"].as_array().unwrap().len(), 1, "{done}");
    app.store.compact_erased().await.unwrap();
    leadgate_store::testing::execute(&app.store, "CHECKPOINT").await;
    // Every relation of the store's schema and the TOAST tables behind them, as bytes.
    let files = leadgate_store::testing::texts(
        &app.store,
        "SELECT encode(pg_read_binary_file(pg_relation_filepath(c.oid)), 'hex')
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'i', 't') AND c.relfilenode <> 0
           AND (n.nspname = 'public' OR c.oid IN (SELECT reltoastrelid FROM pg_class t
                JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE tn.nspname = 'public'))",
    )
    .await;
    assert!(files.len() > 40, "{} relations read", files.len());
    let hex: Vec<String> = values.iter().map(|v| hex_of(v.as_bytes())).collect();
    let found: Vec<&str> = values
        .iter()
        .zip(&hex)
        .filter(|(_, h)| files.iter().any(|f| f.contains(h.as_str())))
        .map(|(v, _)| *v)
        .collect();
    assert!(found.is_empty(), "left in the table files: {found:?}");
    app.finish().await;
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes a person with values in every place an erasure rewrites, erases them, and returns
/// the values, none of which may be left anywhere.
async fn erase_a_person_with_values_everywhere(app: &TestApp) -> Vec<&'static str> {
    // A subscription to every event: each of the person's events is queued for it.
    let hook = app
        .post(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/in", "events": ["*"]}),
        )
        .await;
    assert_eq!(hook.status(), StatusCode::CREATED);
    // Each value is written into one or more places the erasure rewrites.
    let values = [
        "Zeldaquux",                   // first name: person, lead, search text, events
        "Quuxington",                  // last name
        "zelda.quux@erase-me.example", // email
        "+4930999123456",              // phone
        "zelda-ext-7781",              // external id
        "zeldapainsecret",             // pains
        "zeldacustomnote",             // a custom field
        "zeldautmterm",                // a touch's UTM term
        "zelda-referrer.example",      // a touch's referrer
        "zeldanotetext",               // a note interaction
        "zeldacalltext",               // a logged call
        "zeldataskbody",               // a task's notes
        "zeldaoldjobtitle",            // an edited field's old value (field_changed)
        "zeldalostreason",             // a lost outcome's reason (journey)
        "zq.second@erase-me.example",  // the second address of the merged person
        "erase-me.example",            // the company's web domain, from their email
        "Quuxcorp",                    // a company only they have a lead at: theirs
        "zeldaidemkey-1",              // a client's idempotency key on their event
        "zeldatrackedtitle",           // a page the site tracker saw them read
        "zeldavisitor0123456789",      // the tracker's id for their browser
    ];
    let id = new_lead(
        app,
        json!({"email": values[2], "first_name": values[0], "last_name": values[1],
               "phone": values[3], "external_id": values[4], "pains": values[5],
               "job_title": values[12], "company": "Quuxcorp Consulting",
               "custom": {"note": values[6]}, "utm_term": values[7],
               "referrer": format!("https://{}/x", values[8])}),
    )
    .await;
    // A file row of theirs refused for a cell that names them: the reason quotes the cell.
    let imported = app
        .post_csv(
            "",
            &format!(
                "email,first name,employees\n{},{},{} {} Holdings\nbo@other.example,Bo,lots_of%\n",
                values[2], values[0], values[0], values[1]
            ),
        )
        .await;
    assert_eq!(imported.status(), StatusCode::CREATED);
    let report: Value = imported.json().await.unwrap();
    assert_eq!(report["import"]["rejected"], 2, "{report}");
    let rejects_url = report["rejects_url"].as_str().unwrap().to_owned();
    let rejects = app.get(&rejects_url).await.text().await.unwrap();
    assert!(rejects.contains(values[1]), "{rejects}");
    // The same person again under another address: merged into the first at capture, the
    // merge record keeping the kept person's fields from before (for undo).
    let again = app
        .post(
            "/api/v1/leads",
            &json!({"email": "zq.second@erase-me.example", "first_name": values[0],
                    "last_name": values[1], "company": "Quuxcorp Consulting"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let merges: Value = app.get("/api/v1/merges").await.json().await.unwrap();
    assert_eq!(merges["merges"][0]["status"], "merged", "{merges}");
    let patched = app
        .client
        .patch(app.url(&format!("/api/v1/leads/{id}")))
        .bearer_auth(&app.key)
        .json(&json!({"job_title": "CTO"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    for body in [
        json!({"type": "note", "notes": values[9]}),
        json!({"type": "call", "outcome": "connected", "notes": values[10]}),
    ] {
        let logged = app
            .post(&format!("/api/v1/leads/{id}/interactions"), &body)
            .await;
        assert_eq!(logged.status(), StatusCode::CREATED, "{body}");
    }
    let task = app
        .post(
            &format!("/api/v1/leads/{id}/tasks"),
            &json!({"type": "call", "title": format!("Call {} {}", values[0], values[1]),
                    "notes": values[11], "due_at": "2026-01-05T09:00:00Z"}),
        )
        .await;
    assert_eq!(task.status(), StatusCode::CREATED);
    leadgate_store::testing::notify(
        &app.store,
        "lan",
        leadgate_core::id::LeadId(id),
        &format!("Call {}", values[0]),
    )
    .await;
    app.post(
        "/api/v1/events",
        &json!({"events": [
            {"lead_id": id, "type": "page_viewed", "payload": {"url": format!("/p?e={}", values[2])},
             "idempotency_key": values[17]},
            {"lead_id": id, "type": "outcome_recorded",
             "payload": {"outcome": "lost", "reason": values[13]}}]}),
    )
    .await;
    // What the site tracker saw of them before and after they sent a form.
    let tracker = app
        .store
        .create_tracker(&leadgate_core::visits::TrackerDefinition {
            name: "site".into(),
            sites: vec!["https://www.quuxcorp.example".into()],
            consent: leadgate_core::visits::ConsentMode::Required,
        })
        .await
        .unwrap();
    let post = json!({"tracker": tracker.key, "visitor": values[19], "views": [{
        "id": "zq-view-000000000001", "url": "https://www.quuxcorp.example/zeldapage",
        "title": values[18], "at": chrono::Utc::now().timestamp_millis(), "seconds": 9, "visit": 1}]});
    let collected = leadgate_core::visits::Collected::parse(
        post.to_string().as_bytes(),
        "https://www.quuxcorp.example",
        chrono::Utc::now(),
    )
    .unwrap();
    let arrival = leadgate_app::visits::Arrival {
        tracker_id: tracker.id,
        visitor: values[19].into(),
        email: None,
        views: collected.views,
    };
    leadgate_app::visits::record(
        &app.store,
        vec![arrival],
        &Default::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    leadgate_app::visits::identify(
        &app.store,
        &leadgate_app::Models::new(app.store.clone()),
        values[19],
        leadgate_core::id::LeadId(id),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // An email to them that the mail server refused, quoting the address.
    email_the_lead(app, id).await;
    let now = chrono::Utc::now();
    let claimed = app
        .store
        .claim_jobs("test", 100, chrono::Duration::seconds(30), now)
        .await
        .unwrap();
    let sends: Vec<_> = claimed.iter().filter(|j| j.kind == "send_email").collect();
    assert_eq!(sends.len(), 1);
    let refusal = format!("550 5.1.1 <{}>: mailbox unavailable", values[2]);
    app.store.fail_job(sends[0], &refusal, now).await.unwrap();
    // The receiver answered each delivery quoting the person.
    let deliveries: Vec<_> = claimed
        .iter()
        .filter(|j| j.kind == "webhook_delivery")
        .collect();
    assert!(deliveries.len() > 5, "{} deliveries", deliveries.len());
    for job in deliveries {
        let answer = leadgate_store::DeliveryOutcome {
            ok: false,
            status: Some(422),
            error: Some(format!("refused {}", values[1])),
            response: Some(format!("{{\"unknown contact\": \"{}\"}}", values[0])),
            duration_ms: 3,
        };
        app.store.record_delivery(job, &answer, now).await.unwrap();
    }

    // A user's saved lists that searched for them by full name and by address (kept as
    // query strings), and one that did not.
    let user = app
        .store
        .create_user(leadgate_store::NewUser {
            name: "mia".into(),
            display_name: None,
            role: leadgate_core::access::Role::Marketing,
            team: None,
            locale: "en".into(),
            time_zone: String::new(),
            password: "a long enough password".into(),
        })
        .await
        .unwrap()
        .id;
    for (name, query) in [
        (
            "by name",
            format!("q={}+{}&stage=mql", values[0], values[1]),
        ),
        ("by address", format!("q={}", values[2].replace('@', "%40"))),
        ("mine", "stage=mql&sort=-score".to_owned()),
    ] {
        app.store.save_view(user, name, &query).await.unwrap();
    }

    let erased = app
        .post(
            "/api/v1/gdpr/erase",
            &json!({"lead_id": id, "confirm": true}),
        )
        .await;
    assert_eq!(erased.status(), StatusCode::OK);
    let kept: Vec<String> = app
        .store
        .saved_views(user)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(kept, ["mine"], "the lists that searched for them are gone");
    // Their reject's reason is gone; someone else's stays as it was.
    let rejects = app.get(&rejects_url).await.text().await.unwrap();
    assert!(rejects.contains("2,employees,(erased)"), "{rejects}");
    assert!(
        rejects.contains("'lots_of%' is not a whole number"),
        "{rejects}"
    );
    values.to_vec()
}

/// Sends the lead a templated email greeting them by name (queued: 202).
async fn email_the_lead(app: &TestApp, id: i64) {
    app.put(
        "/api/v1/email-templates/hello",
        &json!({"subject": "Hello {{first_name}}", "body": "Dear {{first_name}} {{last_name}}"}),
    )
    .await;
    let email = app
        .post(
            &format!("/api/v1/leads/{id}/emails"),
            &json!({"template": "hello"}),
        )
        .await;
    assert_eq!(email.status(), StatusCode::ACCEPTED);
}

async fn new_lead(app: &TestApp, body: Value) -> i64 {
    let response = app.post("/api/v1/leads", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn consent_is_kept_per_purpose_and_refusals_stop_contact(app: &TestApp) {
    // A form with consent wording records the consent.
    let form = json!({"title": "Newsletter", "fields": [{"name": "email", "label": "Email", "required": true}],
                      "consent_text": "Send me the monthly newsletter."});
    let put = app
        .client
        .put(app.url("/api/v1/forms/news"))
        .bearer_auth(&app.key)
        .json(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let sent = app
        .client
        .post(app.url("/f/news"))
        // Shown 30 s before: a post without a render time is a bot's, whose tick grants
        // nothing.
        .json(&json!({"email": "lan@hanoi.vn", "consent": "on",
                      "_ts": chrono::Utc::now().timestamp_millis() - 30_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let list: Value = app.get("/api/v1/leads?q=lan").await.json().await.unwrap();
    let id = list["leads"][0]["id"].as_i64().unwrap();
    let consents: Value = app
        .get(&format!("/api/v1/leads/{id}/consents"))
        .await
        .json()
        .await
        .unwrap();
    let contact = &consents["current"][0];
    assert!(contact.is_object(), "{consents}");
    assert_eq!(contact["purpose"], "contact");
    assert_eq!(contact["granted"], true);
    assert_eq!(contact["wording"], "Send me the monthly newsletter.");
    assert_eq!(contact["source"], "form:news");
    assert_eq!(contact["ip"], "127.0.0.1");

    // Refusing email is Do Not Email; granting it again lifts it.
    let refused = app
        .post(
            &format!("/api/v1/leads/{id}/consents"),
            &json!({"purpose": "email", "granted": false, "source": "unsubscribe link"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CREATED);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["do_not_email"], true);
    assert_eq!(refused["do_not_call"], false);
    let lead: Value = app
        .get(&format!("/api/v1/leads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lead["do_not_email"], true);
    app.post(
        &format!("/api/v1/leads/{id}/consents"),
        &json!({"purpose": "call", "granted": false}),
    )
    .await;
    let again: Value = app
        .post(
            &format!("/api/v1/leads/{id}/consents"),
            &json!({"purpose": "email", "granted": true, "wording": "Yes, email me again."}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["do_not_email"], false);
    assert_eq!(again["do_not_call"], true);
    assert_eq!(again["history"].as_array().unwrap().len(), 4);
    assert_eq!(again["current"].as_array().unwrap().len(), 3);

    let bad = app
        .post(
            &format!("/api/v1/leads/{id}/consents"),
            &json!({"purpose": "Marketing Emails!", "granted": "yes", "colour": 1}),
        )
        .await;
    let bad = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&bad), ["colour", "granted", "purpose"]);
    problem(
        app.get("/api/v1/leads/999/consents").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn a_person_is_exported_then_erased_everywhere_with_counts_kept(app: &TestApp) {
    let id = new_lead(
        app,
        json!({"email": "Minh.Anh@saigonexpress.vn", "first_name": "Minh Anh", "last_name": "Nguyễn",
               "phone": "+84 28 3822 1111", "company": "Saigon Express JSC", "pains": "my boss",
               "custom": {"note": "personal"}, "channel": "webinar", "referrer": "https://mail.example/u/minh",
               "external_id": "crm-1"}),
    )
    .await;
    let other = new_lead(
        app,
        json!({"email": "ana@acme.io", "company": "Saigon Express"}),
    )
    .await;
    let batch = json!({"events": [
        {"lead_id": id, "type": "page_viewed", "payload": {"page": "/pricing?email=minh.anh@saigonexpress.vn"}},
        {"lead_id": id, "type": "outcome_recorded", "payload": {"outcome": "won", "value": 12000, "note": "Minh signed"},
         "idempotency_key": "deal-minh"},
    ]});
    app.post("/api/v1/events", &batch).await;
    let task = app
        .post(
            &format!("/api/v1/leads/{id}/tasks"),
            &json!({"type": "call", "title": "Call Minh Anh back", "notes": "mobile 3822 1111",
                    "owner": "lan", "due_at": "2026-01-05T09:00:00Z"}),
        )
        .await;
    assert_eq!(task.status(), StatusCode::CREATED);
    email_the_lead(app, id).await;

    let export = app
        .post(
            "/api/v1/gdpr/export",
            &json!({"email": "minh.anh@SAIGONEXPRESS.vn"}),
        )
        .await;
    assert_eq!(export.status(), StatusCode::OK);
    let export: Value = export.json().await.unwrap();
    assert_eq!(export["person"]["first_name"], "Minh Anh");
    assert_eq!(export["leads"][0]["id"], id);
    assert!(export["events"].as_array().unwrap().len() >= 3);

    let unconfirmed = app
        .post("/api/v1/gdpr/erase", &json!({"lead_id": id}))
        .await;
    let body = problem(unconfirmed, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(fields(&body), ["confirm"]);
    let events_before: Value = app
        .get(&format!("/api/v1/leads/{id}/timeline?limit=1000"))
        .await
        .json()
        .await
        .unwrap();

    let erased = app
        .post(
            "/api/v1/gdpr/erase",
            &json!({"lead_id": id, "confirm": true}),
        )
        .await;
    assert_eq!(erased.status(), StatusCode::OK);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["leads"], 1);

    let lead: Value = app
        .get(&format!("/api/v1/leads/{id}"))
        .await
        .json()
        .await
        .unwrap();
    for field in [
        "email",
        "first_name",
        "last_name",
        "phone",
        "external_id",
        "pains",
    ] {
        assert_eq!(lead[field], Value::Null, "{field}");
    }
    assert_eq!(lead["custom"], json!({}));
    let tasks: Value = app
        .get(&format!("/api/v1/tasks?lead_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tasks["tasks"][0]["title"], "(erased)");
    assert_eq!(tasks["tasks"][0]["notes"], Value::Null);
    let emails: Value = app
        .get(&format!("/api/v1/emails?lead_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(emails["emails"][0]["subject"], "(erased)");
    assert_eq!(emails["emails"][0]["to_address"], "(erased)");
    assert!(lead["company"].is_string(), "the company is not the person");
    assert_eq!(lead["channel"], "webinar", "source counts stay");
    assert_eq!(lead["first_touch"]["referrer"], Value::Null);
    let text = serde_json::to_string(
        &app.get(&format!("/api/v1/leads/{id}/timeline?limit=1000"))
            .await
            .json::<Value>()
            .await
            .unwrap(),
    )
    .unwrap();
    for trace in [
        "Minh",
        "minh",
        "Nguy",
        "3822",
        "crm-1",
        "boss",
        "personal",
        "mail.example",
    ] {
        assert!(!text.contains(trace), "{trace} left in {text}");
    }
    let after: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        after["events"].as_array().unwrap().len(),
        events_before["events"].as_array().unwrap().len(),
        "every event row stays"
    );
    let outcome = after["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "outcome_recorded")
        .unwrap();
    assert_eq!(outcome["payload"]["outcome"], "won");
    assert_eq!(outcome["payload"]["value"], 12000);
    assert_eq!(outcome["payload"]["erased"], true);

    let found: Value = app
        .get("/api/v1/leads?q=nguyen")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["leads"].as_array().unwrap().len(), 0);
    let still: Value = app
        .get(&format!("/api/v1/leads/{other}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["email"], "ana@acme.io", "others are untouched");
    // The address is free again: the same person arriving later is a new record.
    let back = app
        .post(
            "/api/v1/leads",
            &json!({"email": "minh.anh@saigonexpress.vn"}),
        )
        .await;
    assert_eq!(back.status(), StatusCode::CREATED);
    problem(
        app.post(
            "/api/v1/gdpr/export",
            &json!({"email": "nobody@nowhere.io"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let audit =
        leadgate_store::testing::count(&app.store, "SELECT COUNT(*) FROM gdpr_requests").await;
    assert_eq!(audit, 2, "the export and the erasure are audited");
}
