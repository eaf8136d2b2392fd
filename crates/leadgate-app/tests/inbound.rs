//! Inbound email on both engines: a message to the inbound address makes a lead, a second
//! message from its sender is logged on it, a message received twice is stored once, and a
//! message refused stores nothing.

use leadgate_app::inbound::receive;
use leadgate_app::{AppError, Models};
use leadgate_core::policy::Policy;
use leadgate_core::{Channel, Email};
use leadgate_store::testing::count;
use leadgate_store::{Store, StoreError};

leadgate_store::on_both_engines!(
    messages_become_leads_and_logged_emails_once,
    hostile_bytes_and_crowds_of_attachments_are_stored_safely,
    a_bounce_marks_the_email_and_stops_mail_to_the_address
);

/// A delivery failure report for an email Leadgate sent, fed in as any inbound message:
/// the email is marked bounced, its lead gets `email_bounced` once, and the address takes
/// no more email. A report about an email this server never sent is refused.
async fn a_bounce_marks_the_email_and_stops_mail_to_the_address(store: Store) {
    use leadgate_core::email::TemplateRequest;
    let models = Models::new(store.clone());
    let inbound = [Email::parse("bounces@acme.example").expect("an address")];
    let template = TemplateRequest {
        subject: Some("Prices".into()),
        body: Some("Hi {{first_name}}".into()),
    }
    .check()
    .expect("a template");
    store
        .put_email_template("prices", &template)
        .await
        .expect("saved");
    let lead = leadgate_app::capture(
        &store,
        &models,
        leadgate_store::testing::capture_of(
            serde_json::json!({"email": "lan@saigon.example", "first_name": "Lan"}),
        ),
        None,
    )
    .await
    .expect("a lead")
    .lead
    .id;
    let email = store
        .queue_email(lead, "prices", "test")
        .await
        .expect("queued");
    let report = |message_id: &str| {
        format!(
            "From: MAILER-DAEMON@mx.acme.example\r\n\
             To: bounces@acme.example\r\n\
             Subject: Undelivered Mail\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
             --r\r\nContent-Type: message/delivery-status\r\n\r\n\
             Reporting-MTA: dns; mx.acme.example\r\n\r\n\
             Final-Recipient: rfc822; lan@saigon.example\r\nAction: failed\r\n\
             Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\
             --r\r\nContent-Type: text/rfc822-headers\r\n\r\n\
             Message-ID: <{message_id}>\r\nTo: lan@saigon.example\r\n--r--\r\n"
        )
    };
    let received = receive(
        &store,
        &models,
        report(&email.message_id).as_bytes(),
        &inbound,
        "mail",
    )
    .await
    .expect("a bounce");
    assert_eq!(
        (received.bounced, received.logged, received.lead.id),
        (Some(email.id), true, lead)
    );
    let outbox = store.emails(Some(lead), 10).await.expect("outbox");
    assert_eq!(outbox[0].state.as_str(), "bounced");
    assert_eq!(
        outbox[0].error.as_deref(),
        Some("smtp; 550 5.1.1 no such user")
    );
    let bounces = count(
        &store,
        "SELECT COUNT(*) FROM events WHERE type = 'email_bounced'",
    )
    .await;
    assert_eq!(bounces, 1);
    // Reported twice: nothing more.
    let again = receive(
        &store,
        &models,
        report(&email.message_id).as_bytes(),
        &inbound,
        "mail",
    )
    .await
    .expect("a bounce again");
    assert!(!again.logged);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'email_bounced'"
        )
        .await,
        1
    );
    // The address takes no more email.
    match store.queue_email(lead, "prices", "test").await {
        Err(StoreError::Conflict { reason, .. }) => assert!(reason.contains("bounced"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A report about an email never sent here.
    let (leads, events) = (
        count(&store, "SELECT COUNT(*) FROM leads").await,
        count(&store, "SELECT COUNT(*) FROM events").await,
    );
    let stranger = receive(
        &store,
        &models,
        report("9.unknown@elsewhere").as_bytes(),
        &inbound,
        "mail",
    )
    .await;
    assert_eq!(refused_field(stranger), "message");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM leads").await, leads);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM events").await, events);
    // Erased, the bounce quotes the address nowhere (the report's diagnostic did).
    let person = store.lead(lead).await.expect("the lead").person_id;
    store.gdpr_erase(person, "test").await.expect("erased");
    let events_text = match store.engine() {
        leadgate_store::Engine::Sqlite => "payload",
        leadgate_store::Engine::Postgres => "payload::text",
    };
    for sql in [
        format!("SELECT COUNT(*) FROM events WHERE {events_text} LIKE '%saigon%'"),
        "SELECT COUNT(*) FROM emails WHERE error LIKE '%saigon%' OR to_address LIKE '%saigon%'"
            .to_owned(),
    ] {
        assert_eq!(count(&store, &sql).await, 0, "{sql}");
    }
}

/// NUL and line breaks in encoded headers, NUL and invalid UTF-8 in the body, and 150
/// attachments: stored (PostgreSQL's JSON refuses a NUL), cleaned, the list bounded.
async fn hostile_bytes_and_crowds_of_attachments_are_stored_safely(store: Store) {
    let models = Models::new(store.clone());
    let inbound = [Email::parse("sales@acme.example").expect("an address")];
    // "Ana\r\nBcc: x" and "Hi\0there" as base64 encoded words.
    let mut raw = b"From: =?UTF-8?B?QW5hDQpCY2M6IHg=?= <ana@hostile.example>\r\n\
        To: sales@acme.example\r\n\
        Subject: =?UTF-8?B?SGkAdGhlcmU=?=\r\n\
        Message-ID: <hostile@x>\r\n\
        MIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    raw.extend_from_slice(b"body\0with a NUL and \xff\xfe bad bytes\r\n");
    for i in 0..150 {
        raw.extend_from_slice(
            format!(
                "--b\r\nContent-Type: text/csv\r\n\
                 Content-Disposition: attachment; filename=\"list{i}.csv\"\r\n\r\na,b\r\n"
            )
            .as_bytes(),
        );
    }
    raw.extend_from_slice(b"--b--\r\n");
    let received = receive(&store, &models, &raw, &inbound, "mail")
        .await
        .expect("stored");
    assert!(received.created && received.logged);
    assert_eq!(
        received.lead.lead.first_name.as_ref().map(|n| n.as_str()),
        Some("Ana Bcc:"),
        "the name's line break is a space, nothing more"
    );
    let timeline = store
        .timeline(received.lead.id, 10, None)
        .await
        .expect("timeline");
    let event = timeline
        .events
        .iter()
        .find(|e| e.event_type == "email_logged")
        .expect("logged");
    let payload = &event.payload.0;
    assert_eq!(payload["subject"], "Hi there");
    let text = payload["text"].as_str().expect("text");
    assert!(
        text.starts_with("body") && text.contains("bad bytes"),
        "{text}"
    );
    assert!(!text.contains('\0'));
    assert_eq!(payload["attachments"].as_array().map(Vec::len), Some(100));
    assert_eq!(payload["attachment_count"], 150);
}

const CHINESE: &str = "From: =?UTF-8?B?546L5Lyf?= <wang.wei@tianhe.cn>\r\n\
    To: Sales <sales@acme.example>\r\n\
    Subject: =?UTF-8?B?6K+i5Lu377ya5pWw5o6n5py65bqK?=\r\n\
    Message-ID: <q1@tianhe.cn>\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    \r\n\
    您好，请报价。\r\n";

/// The same sender again, an HTML-only reply with an attachment, reaching sales through a
/// Bcc, and signing with another name.
const REPLY: &str = "From: \"Wei Wang\" <Wang.Wei@tianhe.cn>\r\n\
    To: purchasing@tianhe.cn\r\n\
    Delivered-To: sales@acme.example\r\n\
    Subject: Re: quote\r\n\
    Message-ID: <q2@tianhe.cn>\r\n\
    MIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
    \r\n\
    --b1\r\n\
    Content-Type: text/html; charset=utf-8\r\n\
    \r\n\
    <p>Drawings <b>attached</b>.</p>\r\n\
    --b1\r\n\
    Content-Type: application/pdf\r\n\
    Content-Disposition: attachment; filename=\"drawing.pdf\"\r\n\
    Content-Transfer-Encoding: base64\r\n\
    \r\n\
    JVBERi0xLjQKJcfsj6IK\r\n\
    --b1--\r\n";

fn refused_field(result: Result<leadgate_app::inbound::Received, AppError>) -> String {
    match result {
        Err(AppError::Store(StoreError::Invalid(errors))) => errors.0[0].field.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn messages_become_leads_and_logged_emails_once(store: Store) {
    store
        .apply_policy(Policy::STARTER, "ops", "starter")
        .await
        .expect("policy");
    let models = Models::new(store.clone());
    let inbound = [Email::parse("sales@acme.example").expect("an address")];

    let first = receive(&store, &models, CHINESE.as_bytes(), &inbound, "mail")
        .await
        .expect("received");
    assert!(first.created && first.logged);
    let lead = &first.lead;
    assert_eq!(
        lead.lead.first_name.as_ref().map(|n| n.as_str()),
        Some("王伟")
    );
    assert_eq!(lead.first_touch.channel, Channel::Email);
    assert!(lead.snapshot.is_some(), "scored at once");
    let logged = |store: Store, id| async move {
        store
            .timeline(id, 100, None)
            .await
            .expect("timeline")
            .events
            .into_iter()
            .filter(|e| e.event_type == "email_logged")
            .collect::<Vec<_>>()
    };
    let events = logged(store.clone(), lead.id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload.0["subject"], "询价：数控机床");
    assert_eq!(events[0].payload.0["text"], "您好，请报价。");
    assert_eq!(events[0].payload.0["direction"], "inbound");

    // Delivered twice (a mail server retrying): nothing more is stored.
    let all_events = count(&store, "SELECT COUNT(*) FROM events").await;
    let again = receive(&store, &models, CHINESE.as_bytes(), &inbound, "mail")
        .await
        .expect("received again");
    assert!(!again.created && !again.logged);
    assert_eq!(again.lead.id, lead.id);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM events").await,
        all_events
    );

    // The reply lands on the same lead; the name it signs with does not overwrite.
    let reply = receive(&store, &models, REPLY.as_bytes(), &inbound, "mail")
        .await
        .expect("reply");
    assert!(!reply.created && reply.logged);
    assert_eq!(reply.lead.id, lead.id);
    assert_eq!(
        reply.lead.lead.first_name.as_ref().map(|n| n.as_str()),
        Some("王伟")
    );
    let events = logged(store.clone(), lead.id).await;
    assert_eq!(events.len(), 2);
    let payload = &events[0].payload.0;
    assert_eq!(payload["subject"], "Re: quote");
    assert_eq!(payload["text"], "Drawings attached.");
    assert_eq!(payload["attachments"][0]["name"], "drawing.pdf");
    assert_eq!(payload["attachments"][0]["bytes"], 15);
    assert!(
        !payload.to_string().contains("JVBERi0"),
        "an attachment's content is not kept"
    );

    // Refused messages store nothing.
    let (leads, all_events) = (
        count(&store, "SELECT COUNT(*) FROM leads").await,
        count(&store, "SELECT COUNT(*) FROM events").await,
    );
    for (raw, field) in [
        ("", "message"),
        ("To: sales@acme.example\r\n\r\nno sender", "from"),
        (
            "From: x@y.example\r\nTo: info@acme.example\r\n\r\nnot ours",
            "to",
        ),
        (
            "From: sales@acme.example\r\nTo: sales@acme.example\r\n\r\nloop",
            "from",
        ),
    ] {
        let result = receive(&store, &models, raw.as_bytes(), &inbound, "mail").await;
        assert_eq!(refused_field(result), field, "{raw:?}");
    }
    let result = receive(&store, &models, CHINESE.as_bytes(), &[], "mail").await;
    assert_eq!(refused_field(result), "to");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM leads").await, leads);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM events").await,
        all_events
    );

    // Erased, the sender's address and name leave no event behind.
    store
        .gdpr_erase(lead.person_id, "test")
        .await
        .expect("erased");
    let payload_text = match store.engine() {
        leadgate_store::Engine::Sqlite => "payload",
        leadgate_store::Engine::Postgres => "payload::text",
    };
    for trace in ["wang.wei", "tianhe", "王伟", "询价"] {
        let sql = format!("SELECT COUNT(*) FROM events WHERE {payload_text} LIKE '%{trace}%'");
        assert_eq!(count(&store, &sql).await, 0, "{trace} is left in an event");
    }
}
