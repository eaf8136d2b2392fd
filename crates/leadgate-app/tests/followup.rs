//! The job queue and follow-up (tasks, reminders, interactions) against real databases: every
//! test runs once on SQLite and once on PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use leadgate_core::email::EmailState;
use leadgate_core::followup::{InteractionRequest, TaskRequest, TaskState};
use leadgate_core::id::LeadId;
use leadgate_core::job::{JobKind, JobState};
use leadgate_store::testing::{capture as lead, count};
use leadgate_store::{NewJob, Store, StoreError, TaskFilter};
use serde_json::json;
use std::collections::HashSet;

leadgate_store::on_both_engines!(
    a_failing_job_backs_off_then_goes_dead_and_can_be_retried,
    a_job_whose_worker_stopped_is_taken_over_and_finished_once,
    concurrent_workers_never_claim_the_same_job,
    a_task_reminds_its_owner_once_when_due,
    an_interaction_is_an_event_and_sets_the_next_step,
    an_email_left_sending_by_a_crash_is_not_sent_again,
    a_reminder_is_emailed_to_a_rep_with_an_address,
    a_batch_of_jobs_commits_together_and_a_failing_one_fails_alone,
);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn reminder(task: i64, due: DateTime<Utc>) -> NewJob {
    NewJob::new(JobKind::TaskReminder, json!({"task_id": task}), due)
}

async fn a_failing_job_backs_off_then_goes_dead_and_can_be_retried(store: Store) {
    let t0 = at("2026-05-04T10:00:00Z");
    let mut job = reminder(1, t0).keyed("k1");
    job.max_attempts = 2;
    let id = store.enqueue_job(&job).await.unwrap().unwrap();
    assert_eq!(
        store.enqueue_job(&job).await.unwrap(),
        None,
        "one job per key"
    );

    let lease = Duration::seconds(60);
    let early = store
        .claim_jobs("w1", 10, lease, t0 - Duration::seconds(1))
        .await
        .unwrap();
    assert!(early.is_empty(), "not due yet");
    let claimed = store.claim_jobs("w1", 10, lease, t0).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id, claimed[0].attempt), (id, 1));
    assert!(store
        .claim_jobs("w2", 10, lease, t0)
        .await
        .unwrap()
        .is_empty());

    let state = store
        .fail_job(&claimed[0], "receiver said 500", t0)
        .await
        .unwrap();
    assert_eq!(state, Some(JobState::Queued));
    let stored = store.job(id).await.unwrap();
    let wait = stored.due_at.0 - t0;
    assert!(
        wait >= Duration::seconds(10) && wait <= Duration::seconds(12),
        "{wait}"
    );
    assert_eq!(stored.last_error.as_deref(), Some("receiver said 500"));
    assert!(store
        .claim_jobs("w1", 10, lease, t0 + Duration::seconds(5))
        .await
        .unwrap()
        .is_empty());

    let again = store
        .claim_jobs("w1", 10, lease, t0 + Duration::seconds(13))
        .await
        .unwrap();
    assert_eq!(again[0].attempt, 2);
    let state = store.fail_job(&again[0], "still 500", t0).await.unwrap();
    assert_eq!(state, Some(JobState::Dead));
    let dead = store.jobs(Some(JobState::Dead), None, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(store
        .claim_jobs("w1", 10, lease, t0 + Duration::days(1))
        .await
        .unwrap()
        .is_empty());
    let runs = store.job_runs(id).await.unwrap();
    let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["failed", "dead"]);

    let retried = store.retry_job(id, t0 + Duration::days(1)).await.unwrap();
    assert_eq!((retried.state.as_str(), retried.attempts), ("queued", 0));
    assert!(matches!(
        store.retry_job(id, t0).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.retry_job(leadgate_core::id::JobId(999), t0).await,
        Err(StoreError::NotFound(_))
    ));
    let last = store
        .claim_jobs("w1", 10, lease, t0 + Duration::days(1))
        .await
        .unwrap();
    assert!(store
        .finish_job(&last[0], t0 + Duration::days(1))
        .await
        .unwrap());
    assert_eq!(store.job(id).await.unwrap().state, JobState::Done);
    assert!(
        !store.finish_job(&last[0], t0).await.unwrap(),
        "finished once"
    );
}

async fn a_job_whose_worker_stopped_is_taken_over_and_finished_once(store: Store) {
    let owner = lead(&store, json!({"email": "ana@acme.io", "owner": "ana"})).await;
    let t0 = Utc::now();
    let task = leadgate_app::followup::create_task(
        &store,
        owner,
        &serde_json::from_value::<TaskRequest>(json!({"type": "call", "due_at": t0.to_rfc3339()}))
            .unwrap()
            .check("")
            .unwrap(),
        "test",
        t0,
    )
    .await
    .unwrap();
    let lease = Duration::seconds(30);
    let first = store.claim_jobs("dying", 10, lease, t0).await.unwrap();
    assert_eq!(first.len(), 1);
    // Before the lease runs out nobody else may take it; after, another worker does.
    assert!(store
        .claim_jobs("other", 10, lease, t0 + Duration::seconds(29))
        .await
        .unwrap()
        .is_empty());
    let second = store
        .claim_jobs("other", 10, lease, t0 + Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(second[0].attempt, 2);
    let taken_over = store.job(second[0].id).await.unwrap();
    assert!(taken_over.last_error.unwrap().contains("dying"));

    // The first worker wakes up late: its finish stores nothing.
    assert!(!leadgate_app::jobs::perform(&store, &first[0], t0)
        .await
        .unwrap());
    assert_eq!(store.fail_job(&first[0], "late", t0).await.unwrap(), None);
    assert!(leadgate_app::jobs::perform(&store, &second[0], t0)
        .await
        .unwrap());
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notifications").await, 1);
    assert!(store.task(task.id).await.unwrap().reminded_at.is_some());
    let runs = store.job_runs(second[0].id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].worker.as_str(), runs[0].outcome.as_str()),
        ("other", "done")
    );
}

async fn concurrent_workers_never_claim_the_same_job(store: Store) {
    let t0 = Utc::now();
    for n in 0..300 {
        store.enqueue_job(&reminder(n, t0)).await.unwrap();
    }
    let worker = |name: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = store
                    .claim_jobs(name, 7, Duration::seconds(60), t0)
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    return mine;
                }
                for job in jobs {
                    assert!(store.finish_job(&job, t0).await.unwrap());
                    mine.push(job.id);
                }
            }
        })
    };
    let (a, b, c) = tokio::join!(worker("a"), worker("b"), worker("c"));
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let all: HashSet<leadgate_core::id::JobId> = a.iter().chain(&b).chain(&c).copied().collect();
    assert_eq!(a.len() + b.len() + c.len(), 300, "each job claimed once");
    assert_eq!(all.len(), 300);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM job_runs WHERE outcome = 'done'"
        )
        .await,
        300
    );
}

async fn a_task_reminds_its_owner_once_when_due(store: Store) {
    let id = lead(&store, json!({"email": "bo@acme.io", "owner": "bo"})).await;
    let now = Utc::now();
    let due = now + Duration::hours(2);
    let mine = leadgate_app::followup::create_task(
        &store,
        id,
        &serde_json::from_value::<TaskRequest>(
            json!({"type": "email", "title": "Send the pricing", "due_at": due.to_rfc3339()}),
        )
        .unwrap()
        .check("")
        .unwrap(),
        "manager",
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        mine.owner.as_deref(),
        Some("bo"),
        "the lead's owner by default"
    );
    let theirs = leadgate_app::followup::create_task(&store,
            id,
            &serde_json::from_value::<TaskRequest>(json!({"type": "call", "owner": "cy", "due_at": (now - Duration::hours(1)).to_rfc3339()})).unwrap().check("")
                .unwrap(),
            "manager",
            now,
        )
        .await
        .unwrap();
    assert!(matches!(
        leadgate_app::followup::create_task(
            &store,
            LeadId(999),
            &serde_json::from_value::<TaskRequest>(
                json!({"type": "call", "due_at": due.to_rfc3339()})
            )
            .unwrap()
            .check("")
            .unwrap(),
            "m",
            now
        )
        .await,
        Err(leadgate_app::AppError::Store(StoreError::LeadNotFound(
            LeadId(999)
        )))
    ));
    let overdue = store
        .tasks(&TaskFilter {
            state: Some(TaskState::Open),
            due_before: Some(now),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        overdue.iter().map(|t| t.id).collect::<Vec<_>>(),
        [theirs.id]
    );

    // Only the overdue task's reminder is due now.
    let jobs = store
        .claim_jobs("w", 10, Duration::seconds(60), now)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(leadgate_app::jobs::perform(&store, &jobs[0], now)
        .await
        .unwrap());
    let cy = store.notifications("cy", true, 10).await.unwrap();
    assert_eq!(cy.len(), 1);
    assert_eq!(cy[0].task_id, Some(theirs.id));
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'task_due'"
        )
        .await,
        1,
        "the reminder is on the lead's timeline, for webhooks"
    );
    assert!(store.read_notification(cy[0].id, now).await.unwrap());
    assert!(!store.read_notification(cy[0].id, now).await.unwrap());
    assert!(store
        .notifications("cy", true, 10)
        .await
        .unwrap()
        .is_empty());

    // A task done before its due time sends no reminder.
    let done = store
        .close_task(mine.id, TaskState::Done, "bo", now)
        .await
        .unwrap();
    assert_eq!(done.state, TaskState::Done);
    assert!(matches!(
        store
            .close_task(mine.id, TaskState::Cancelled, "bo", now)
            .await,
        Err(StoreError::Conflict { .. })
    ));
    let later = store
        .claim_jobs("w", 10, Duration::seconds(60), due)
        .await
        .unwrap();
    assert!(leadgate_app::jobs::perform(&store, &later[0], due)
        .await
        .unwrap());
    assert!(store
        .notifications("bo", false, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type IN ('task_created', 'task_completed')"
        )
        .await,
        3
    );
}

async fn an_interaction_is_an_event_and_sets_the_next_step(store: Store) {
    let id = lead(&store, json!({"email": "dai@acme.vn", "owner": "dai"})).await;
    let now = Utc::now();
    let call = serde_json::from_value::<InteractionRequest>(json!({"type": "call", "outcome": "connected", "notes": "Wants a demo next week",
                "next_step": {"type": "meeting", "title": "Demo", "due_at": (now + Duration::days(3)).to_rfc3339()}})).unwrap().check(now)
    .unwrap();
    let logged = leadgate_app::followup::log_interaction(&store, id, &call, "rep:dai", now)
        .await
        .unwrap();
    assert!(logged.event_id > 0);
    let step = logged.next_step.unwrap();
    assert_eq!(
        (step.title.as_str(), step.owner.as_deref()),
        ("Demo", Some("dai"))
    );
    let timeline = store.timeline(id, 50, None).await.unwrap();
    let types: Vec<&str> = timeline
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert!(
        types.contains(&"call_logged") && types.contains(&"task_created"),
        "{types:?}"
    );
    assert!(matches!(
        leadgate_app::followup::log_interaction(&store, LeadId(999), &call, "x", now).await,
        Err(leadgate_app::AppError::Store(StoreError::LeadNotFound(
            LeadId(999)
        )))
    ));
    assert_eq!(count(&store, "SELECT COUNT(*) FROM jobs").await, 1);
}

async fn an_email_left_sending_by_a_crash_is_not_sent_again(store: Store) {
    let template = leadgate_core::email::TemplateRequest {
        subject: Some("Hello {{first_name}}".into()),
        body: Some("Hi".into()),
    }
    .check()
    .unwrap();
    assert!(store.put_email_template("hello", &template).await.unwrap());
    assert!(!store.put_email_template("hello", &template).await.unwrap());
    let id = lead(&store, json!({"email": "mai@hue.vn", "first_name": "Mai"})).await;
    let email = store.queue_email(id, "hello", "test").await.unwrap();
    assert_eq!(
        (email.state.as_str(), email.subject.as_str()),
        ("queued", "Hello Mai")
    );
    let t0 = Utc::now();
    let lease = Duration::seconds(30);
    let first = store.claim_jobs("w1", 10, lease, t0).await.unwrap();
    let leadgate_store::Sending::Send(taken) = store.begin_send(&first[0], t0).await.unwrap()
    else {
        panic!("the email should go out")
    };
    assert_eq!(taken.state, EmailState::Sending);
    // The worker dies here, between sending and recording it. The next attempt does not send.
    let second = store
        .claim_jobs("w2", 10, lease, t0 + Duration::seconds(31))
        .await
        .unwrap();
    let outcome = store.begin_send(&second[0], t0).await.unwrap();
    assert!(
        matches!(outcome, leadgate_store::Sending::Nothing(ref r) if r.contains("uncertain")),
        "{outcome:?}"
    );
    let stored = &store.emails(Some(id), 10).await.unwrap()[0];
    assert_eq!(stored.state, EmailState::Uncertain);
    assert!(stored
        .error
        .as_deref()
        .unwrap()
        .contains("check the mailbox"));
    // A person checked: it did not arrive. Resent, it goes out once.
    assert_eq!(
        store.resend_email(email.id).await.unwrap().state,
        EmailState::Queued
    );
    let third = store.claim_jobs("w1", 10, lease, Utc::now()).await.unwrap();
    assert!(matches!(
        store.begin_send(&third[0], t0).await.unwrap(),
        leadgate_store::Sending::Send(_)
    ));
    store.email_sent(&third[0], Utc::now()).await.unwrap();
    assert_eq!(
        store.emails(Some(id), 10).await.unwrap()[0].state,
        EmailState::Sent
    );
    assert!(matches!(
        store.resend_email(email.id).await,
        Err(StoreError::Conflict { .. })
    ));
}

async fn a_reminder_is_emailed_to_a_rep_with_an_address(store: Store) {
    store
        .put_team(
            "hue",
            &leadgate_core::calendar::BusinessCalendar::always(),
            None,
        )
        .await
        .unwrap();
    let rep = leadgate_store::RepInput {
        team: "hue".into(),
        email: Some("ha@sales.example".into()),
        weight: 1.0,
        daily_cap: None,
        away: false,
    };
    store.put_rep("ha", &rep).await.unwrap();
    let id = lead(&store, json!({"email": "khach@hue.vn", "owner": "ha"})).await;
    let now = Utc::now();
    leadgate_app::followup::create_task(
        &store,
        id,
        &serde_json::from_value::<TaskRequest>(
            json!({"type": "call", "title": "Call back", "due_at": now.to_rfc3339()}),
        )
        .unwrap()
        .check("")
        .unwrap(),
        "test",
        now,
    )
    .await
    .unwrap();
    let jobs = store
        .claim_jobs("w", 10, Duration::seconds(60), now)
        .await
        .unwrap();
    assert!(leadgate_app::jobs::perform(&store, &jobs[0], now)
        .await
        .unwrap());
    let outbox = store.emails(Some(id), 10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to_address, "ha@sales.example");
    assert!(
        outbox[0].subject.starts_with("Reminder: Call back"),
        "{}",
        outbox[0].subject
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'send_email'"
        )
        .await,
        1
    );
}

/// Claimed jobs run together in one transaction; one that fails makes the batch run again
/// one by one, so it fails alone and the others are stored once; one taken over by another
/// worker stores nothing.
async fn a_batch_of_jobs_commits_together_and_a_failing_one_fails_alone(store: Store) {
    let owner = lead(&store, json!({"email": "batch@acme.io", "owner": "ana"})).await;
    let t0 = Utc::now();
    for _ in 0..5 {
        due_task(&store, owner, "call", t0).await;
    }
    let lease = Duration::seconds(30);
    // All five together: five notifications, five runs, one claim.
    let claimed = store.claim_jobs("w", 10, lease, t0).await.unwrap();
    assert_eq!(claimed.len(), 5);
    let outcomes = leadgate_app::jobs::perform_all(&store, &claimed, t0).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Ok(true))),
        "{outcomes:?}"
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notifications").await, 5);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM job_runs WHERE outcome = 'done'"
        )
        .await,
        5
    );

    // A reminder with a payload it cannot read beside two good ones, and one whose claim
    // another worker has taken over.
    for _ in 0..3 {
        due_task(&store, owner, "email", t0).await;
    }
    store
        .enqueue_job(&NewJob::new(JobKind::TaskReminder, json!({}), t0))
        .await
        .unwrap();
    let late = store.claim_jobs("late", 1, lease, t0).await.unwrap();
    let mut claimed = store.claim_jobs("w", 10, lease, t0).await.unwrap();
    let over = store
        .claim_jobs("other", 1, lease, t0 + Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(over[0].id, late[0].id);
    claimed.extend(late);
    assert_eq!(claimed.len(), 4);
    let outcomes = leadgate_app::jobs::perform_all(&store, &claimed, t0).await;
    let bad = outcomes.iter().filter(|o| o.is_err()).count();
    let done = outcomes.iter().filter(|o| matches!(o, Ok(true))).count();
    let lost = outcomes.iter().filter(|o| matches!(o, Ok(false))).count();
    assert_eq!((bad, done, lost), (1, 2, 1), "{outcomes:?}");
    // The two good ones stored once; the taken-over one nothing (its new worker will).
    assert_eq!(count(&store, "SELECT COUNT(*) FROM notifications").await, 7);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM job_runs WHERE outcome = 'done'"
        )
        .await,
        7
    );
}

/// A task of this type on the lead, due at `at` (its reminder job queued for then).
async fn due_task(
    store: &Store,
    lead_id: leadgate_core::id::LeadId,
    kind: &str,
    at: DateTime<Utc>,
) {
    let request =
        serde_json::from_value::<TaskRequest>(json!({"type": kind, "due_at": at.to_rfc3339()}))
            .unwrap()
            .check("")
            .unwrap();
    leadgate_app::followup::create_task(store, lead_id, &request, "test", at)
        .await
        .unwrap();
}
