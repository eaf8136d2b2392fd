//! CSV import and export against real databases: every test runs on SQLite and PostgreSQL.

use leadgate::import::{self, ImportError, ImportOptions, ImportReport};
use leadgate_core::import::ImportStatus;
use leadgate_store::{LeadFilter, Store};
use serde_json::json;
use std::path::{Path, PathBuf};

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test]
            async fn $name() {
                let db = leadgate_store::testing::TestDatabase::new(leadgate_store::Engine::Sqlite).await;
                super::$name(db.store().await).await;
                db.cleanup().await;
            }
        )* }
        mod postgres { $(
            #[tokio::test]
            async fn $name() {
                let db = leadgate_store::testing::TestDatabase::new(leadgate_store::Engine::Postgres).await;
                let store = db.store().await;
                super::$name(store.clone()).await;
                store.close().await;
                db.cleanup().await;
            }
        )* }
    };
}

on_both_engines!(
    the_x_education_file_imports_whole_and_again_changes_nothing,
    bad_rows_are_reported_and_never_stop_the_import,
    bad_files_are_refused_with_a_reason_and_store_nothing,
    a_guessed_mapping_matches_people_by_email_on_the_next_file,
    columns_filled_after_the_outcome_are_named_and_a_guessed_mapping_marks_them,
    a_guessed_mapping_dates_outcomes_reads_sources_as_channels_and_placeholders_as_empty,
    a_later_file_with_outcomes_closes_the_open_leads_it_names,
    an_interrupted_import_resumes_without_duplicates,
    a_file_of_namesake_crowds_is_matched_within_bounds_and_merges_none,
    exports_are_safe_to_open_in_a_spreadsheet,
);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn xeducation() -> (PathBuf, String) {
    let root = repo_root();
    let file = root.join("examples/xeducation_leads.csv");
    let mapping = std::fs::read_to_string(root.join("examples/xeducation.mapping.toml")).unwrap();
    (file, mapping)
}

fn options(mapping: Option<&str>) -> ImportOptions {
    ImportOptions {
        mapping: mapping.map(str::to_owned),
        actor: "test".into(),
        file_name: "test.csv".into(),
        ..ImportOptions::default()
    }
}

async fn import_file(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
) -> (Result<ImportReport, ImportError>, String) {
    let mut rejects = Vec::new();
    let result = import::run(store, path, options, |_, _| {}, Some(&mut rejects)).await;
    (result, String::from_utf8(rejects).unwrap())
}

async fn count(store: &Store, sql: &str) -> i64 {
    leadgate_store::testing::count(store, sql).await
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

async fn the_x_education_file_imports_whole_and_again_changes_nothing(store: Store) {
    let (file, mapping) = xeducation();
    let (report, rejects) = import_file(&store, &file, &options(Some(&mapping))).await;
    let report = report.unwrap();
    let import = report.import.clone().unwrap();
    assert_eq!(report.rows, 9240);
    assert_eq!(import.inserted, 9240, "{rejects}");
    assert_eq!(import.rejected, 0, "{rejects}");
    assert_eq!(import.outcomes, 9240);
    assert_eq!(report.ignored_columns, Vec::<String>::new());
    assert_eq!(store.count_leads().await.unwrap(), 9240);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM events WHERE type = 'outcome_recorded' AND payload->>'outcome' = 'won'").await,
        3561
    );
    // Decided leads are stored where their outcome put them, not left open.
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM leads WHERE stage = 'customer'"
        )
        .await,
        3561
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM leads WHERE stage = 'disqualified'"
        )
        .await,
        9240 - 3561
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM leads WHERE channel = 'search_ad'"
        )
        .await,
        2880,
        "Google (both spellings), bing and pay-per-click"
    );
    // "Do Not Email" / "Do Not Call" = Yes are refusals, honoured on the person.
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM people WHERE do_not_email").await,
        734
    );
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM people WHERE do_not_call").await,
        2
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM consents WHERE NOT granted AND source LIKE 'import:%'"
        )
        .await,
        736
    );
    let consents = count(&store, "SELECT COUNT(*) FROM consents").await;
    let events = count(&store, "SELECT COUNT(*) FROM events").await;

    // The same file again: refused as done, and with --again nothing changes.
    let (again, _) = import_file(&store, &file, &options(Some(&mapping))).await;
    assert!(
        matches!(again, Err(ImportError::AlreadyDone(_))),
        "{again:?}"
    );
    let forced = ImportOptions {
        again: true,
        ..options(Some(&mapping))
    };
    let (report, _) = import_file(&store, &file, &forced).await;
    let import = report.unwrap().import.unwrap();
    assert_eq!(
        (import.inserted, import.updated, import.unchanged),
        (0, 0, 9240)
    );
    assert_eq!(import.outcomes, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM events").await, events);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM consents").await,
        consents
    );
    assert_eq!(store.count_leads().await.unwrap(), 9240);
}

async fn bad_rows_are_reported_and_never_stop_the_import(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut content = b"id;email;employees;Signed up\n".to_vec();
    content.extend_from_slice(b"a1;ana@acme.io;12;2026-01-05\n");
    content.extend_from_slice(b"a2;not-an-email;many;yesterday\n"); // three bad cells
    content.extend_from_slice(b"a3;bo@acme.io\n"); // ragged
                                                   // A cell past the 64 KiB the encoding is detected from, then a row in Latin-1.
    content
        .extend_from_slice(format!("a4;x@acme.io;{};2026-01-05\n", "9".repeat(70_000)).as_bytes());
    content.extend_from_slice(b"a5;\xE9t\xE9@acme.io;3;2026-01-05\n");
    content.extend_from_slice(b"a6;cy@acme.io;7;2026-02-01\n");
    let file = write(dir.path(), "people.csv", &content);
    let mapping = r#"
        [[column]]
        name = "id"
        field = "external_id"
        [[column]]
        name = "email"
        field = "email"
        [[column]]
        name = "employees"
        field = "company_size"
        [[column]]
        name = "Signed up"
        field = "created_at"
    "#;
    let (report, rejects) = import_file(&store, &file, &options(Some(mapping))).await;
    let report = report.unwrap();
    assert_eq!(report.delimiter, ';');
    let import = report.import.unwrap();
    assert_eq!((import.inserted, import.rejected), (2, 4), "{rejects}");
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "row,column,reason");
    assert!(lines[1].starts_with("3,email,"), "{rejects}");
    assert!(
        lines[2].starts_with("3,employees,'many' is not a whole number"),
        "{rejects}"
    );
    assert!(lines[3].starts_with("3,Signed up,"), "{rejects}");
    assert!(
        lines[4].starts_with("4,,has 2 cells; the header has 4"),
        "{rejects}"
    );
    assert!(
        lines[5].starts_with("5,employees,is 70000 bytes long"),
        "{rejects}"
    );
    assert!(lines[6].starts_with("6,,is not UTF-8"), "{rejects}");
    assert_eq!(lines.len(), 7);
    // The file's date is kept as the lead's arrival.
    let all = LeadFilter {
        limit: 100,
        ..LeadFilter::default()
    };
    let leads = store.list_leads(&all).await.unwrap().leads;
    let ana = leads
        .iter()
        .find(|l| l.lead.external_id.as_ref().unwrap().as_str() == "a1")
        .unwrap();
    assert_eq!(ana.created_at.to_rfc3339(), "2026-01-05T00:00:00+00:00");
}

async fn bad_files_are_refused_with_a_reason_and_store_nothing(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, Option<&str>, &str)> = vec![
        ("empty.csv", Vec::new(), None, "the file is empty"),
        (
            "blank.csv",
            b"\xEF\xBB\xBF\n\n".to_vec(),
            None,
            "the file is empty",
        ),
        (
            "header.csv",
            b"email,name\n".to_vec(),
            None,
            "a header but no rows",
        ),
        ("utf16.csv", b"\xFF\xFEe\0m\0".to_vec(), None, "UTF-16"),
        (
            "latin1.csv",
            b"email,name\na@b.io,Ren\xE9\n".to_vec(),
            None,
            "line 2 has the byte 0xE9",
        ),
        (
            "unknown.csv",
            b"email,colour\na@b.io,red\n".to_vec(),
            Some("[[column]]\nname = \"colour\"\nfield = \"favourite_colour\"\n"),
            "column \"colour\": 'favourite_colour' is not a lead field",
        ),
        (
            "missing.csv",
            b"email\na@b.io\n".to_vec(),
            Some("[[column]]\nname = \"E-mail\"\nfield = \"email\"\n"),
            "column \"E-mail\": is not in the file; its columns are \"email\"",
        ),
        (
            "syntax.csv",
            b"email\na@b.io\n".to_vec(),
            Some("[[column]\nname = 1"),
            "not valid TOML",
        ),
    ];
    for (name, content, mapping, expected) in cases {
        let file = write(dir.path(), name, &content);
        let (result, _) = import_file(&store, &file, &options(mapping)).await;
        let message = result.expect_err(name).to_string();
        assert!(message.contains(expected), "{name}: {message}");
    }
    let (result, _) = import_file(&store, &dir.path().join("nope.csv"), &options(None)).await;
    assert!(result.unwrap_err().to_string().contains("cannot read"));
    assert_eq!(store.count_leads().await.unwrap(), 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM imports").await, 0);
}

async fn columns_filled_after_the_outcome_are_named_and_a_guessed_mapping_marks_them(store: Store) {
    let (file, mapping) = xeducation();
    let dry = |mapping: Option<&str>| ImportOptions {
        dry_run: true,
        ..options(mapping)
    };
    // The example mapping marks the nine columns sales filled in: nothing left to suspect.
    let (report, _) = import_file(&store, &file, &dry(Some(&mapping))).await;
    assert!(report.unwrap().suspects.is_empty());
    // Guessed from the header, the file's own verdicts and export-time states are found.
    let (report, _) = import_file(&store, &file, &dry(None)).await;
    let report = report.unwrap();
    let found: Vec<&str> = report.suspects.iter().map(|s| s.column.as_str()).collect();
    for column in [
        "Tags",
        "Lead Quality",
        "Last Activity",
        "Last Notable Activity",
        "Asymmetrique Activity Index",
        "Asymmetrique Profile Index",
        "Asymmetrique Activity Score",
        "Asymmetrique Profile Score",
    ] {
        assert!(found.contains(&column), "{column} not in {found:?}");
        let key = report.suspects.iter().find(|s| s.column == column).unwrap();
        let marked = format!("field = \"{}\"", key.field);
        let at = report.mapping.find(&marked).unwrap();
        let entry = &report.mapping[at..];
        let entry = &entry[..entry.find("[[column]]").unwrap_or(entry.len())];
        assert!(entry.contains("after_outcome = true"), "{entry}");
    }
    let tags = report.suspects.iter().find(|s| s.column == "Tags").unwrap();
    assert!(
        tags.evidence
            .iter()
            .any(|e| e.contains("far better than any other column")),
        "{:?}",
        tags.evidence
    );
    for honest in [
        "What is your current occupation",
        "TotalVisits",
        "Lead Origin",
    ] {
        assert!(!found.contains(&honest), "{honest} in {found:?}");
    }
    assert_eq!(count(&store, "SELECT COUNT(*) FROM leads").await, 0);
}

async fn a_guessed_mapping_dates_outcomes_reads_sources_as_channels_and_placeholders_as_empty(
    store: Store,
) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "crm-export.csv",
        b"Email,Created,Converted,Close Date,Lead Source,City,Lost Reason\n\
          a@example.com,2025-03-01,1,2025-04-15,Google,Select,\n\
          b@example.com,2025-03-02,0,2025-05-20,Reference,Hanoi,no need\n\
          c@example.com,2025-03-03,,,Olark Chat,Select,\n",
    );
    let (report, rejects) = import_file(&store, &file, &options(None)).await;
    let report = report.unwrap();
    assert_eq!(report.rejected, 0, "{rejects}");
    for part in [
        "field = \"outcome_at\"",
        "field = \"lost_reason\"",
        "field = \"channel\"",
        "Google = \"search_ad\"",
        "Reference = \"referral\"",
        "null_values = [\"select\"]",
    ] {
        assert!(
            report.mapping.contains(part),
            "{part} in\n{}",
            report.mapping
        );
    }
    let page = store
        .list_leads(&LeadFilter {
            limit: 100,
            ..LeadFilter::default()
        })
        .await
        .unwrap();
    let mut seen = Vec::new();
    for lead in &page.leads {
        let timeline = store.timeline(lead.id, 100, None).await.unwrap();
        let outcome = timeline
            .events
            .iter()
            .find(|e| e.event_type == "outcome_recorded");
        let closed = outcome.map(|e| e.occurred_at.0.date_naive().to_string());
        let reason = outcome.and_then(|e| e.payload["reason"].as_str().map(str::to_owned));
        seen.push((lead.first_touch.channel.to_string(), closed, reason));
        // A decided lead's close is in its history as it happened: one move out of stage
        // lead, dated and reasoned as the file says.
        let moves: Vec<_> = timeline
            .events
            .iter()
            .filter(|e| e.event_type == "stage_changed")
            .map(|e| {
                (
                    e.occurred_at.0.date_naive().to_string(),
                    e.payload["from"].clone(),
                    e.payload["to"].clone(),
                    e.payload["reason"].clone(),
                )
            })
            .collect();
        let expected = match lead.lead.email.as_ref().map(|e| e.as_str()) {
            Some("a@example.com") => vec![(
                "2025-04-15".to_owned(),
                json!("lead"),
                json!("customer"),
                json!("won (import 1, row 2)"),
            )],
            Some("b@example.com") => vec![(
                "2025-05-20".to_owned(),
                json!("lead"),
                json!("disqualified"),
                json!("no need"),
            )],
            _ => vec![],
        };
        assert_eq!(moves, expected, "{:?}", lead.lead.email);
    }
    seen.sort();
    // Time as a lead runs from the file's created date to its close date (45 and 79 days,
    // in hours to two significant figures).
    for (email, hours) in [("a@example.com", 1100), ("b@example.com", 1900)] {
        let sql = format!(
            "SELECT CAST(l.hours_lead AS BIGINT) FROM leads l \
             JOIN people p ON p.id = l.person_id WHERE p.email = '{email}'"
        );
        assert_eq!(count(&store, &sql).await, hours, "{email}");
    }
    // A second run of the file adds no move.
    let rerun = ImportOptions {
        again: true,
        ..options(None)
    };
    let (again, _) = import_file(&store, &file, &rerun).await;
    assert_eq!(again.unwrap().rejected, 0);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'stage_changed'"
        )
        .await,
        2
    );
    let dated = |d: &str| Some(d.to_owned());
    assert_eq!(
        seen,
        [
            (
                "referral".to_owned(),
                dated("2025-05-20"),
                Some("no need".to_owned())
            ),
            ("search_ad".to_owned(), dated("2025-04-15"), None),
            ("web_form".to_owned(), None, None),
        ]
    );
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM leads WHERE CAST(custom AS TEXT) LIKE '%elect%'"
        )
        .await,
        0
    );
}

async fn a_later_file_with_outcomes_closes_the_open_leads_it_names(store: Store) {
    use leadgate_core::Stage;
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        dir.path(),
        "leads.csv",
        b"Email,First Name\nwon@example.com,Wu\nlost@example.com,Le\nstaged@example.com,Sa\nopen@example.com,Op\n",
    );
    let (report, rejects) = import_file(&store, &first, &options(None)).await;
    assert_eq!(report.unwrap().rejected, 0, "{rejects}");
    // The CRM's export a month later: two deals closed, one row says its own stage.
    let later = write(
        dir.path(),
        "closed.csv",
        b"Email,Converted,Lost Reason,Stage\nwon@example.com,1,,\nlost@example.com,0,chose a competitor,\nstaged@example.com,1,,sql\nopen@example.com,,,\n",
    );
    let mapping = r#"
[[column]]
name = "Email"
field = "email"

[[column]]
name = "Converted"
field = "outcome"

[column.values]
"1" = "won"
"0" = "lost"

[[column]]
name = "Lost Reason"
field = "lost_reason"

[[column]]
name = "Stage"
field = "stage"
"#;
    let (report, rejects) = import_file(&store, &later, &options(Some(mapping))).await;
    let report = report.unwrap();
    assert_eq!(report.rejected, 0, "{rejects}");
    let stage_of = |email: &'static str| {
        let store = store.clone();
        async move {
            let page = store
                .list_leads(&LeadFilter {
                    q: Some(email.into()),
                    limit: 10,
                    ..LeadFilter::default()
                })
                .await
                .unwrap();
            let lead = page.leads.into_iter().next().unwrap();
            let timeline = store.timeline(lead.id, 100, None).await.unwrap();
            let moved = timeline
                .events
                .iter()
                .find(|e| e.event_type == "stage_changed")
                .map(|e| (e.actor.clone(), e.payload["reason"].clone()));
            (lead.lead.stage, moved)
        }
    };
    let (stage, moved) = stage_of("won@example.com").await;
    assert_eq!(stage, Stage::Customer);
    let (actor, _) = moved.expect("the move is in the lead's history");
    assert!(actor.is_some_and(|a| a.starts_with("import:")));
    let (stage, moved) = stage_of("lost@example.com").await;
    assert_eq!(stage, Stage::Disqualified);
    assert_eq!(moved.unwrap().1, "chose a competitor");
    assert_eq!(
        stage_of("staged@example.com").await.0,
        Stage::Sql,
        "the file's own stage wins"
    );
    assert_ne!(stage_of("open@example.com").await.0, Stage::Customer);
    // The same file again changes nothing more.
    let again = ImportOptions {
        again: true,
        ..options(Some(mapping))
    };
    let (report, rejects) = import_file(&store, &later, &again).await;
    assert_eq!(report.unwrap().rejected, 0, "{rejects}");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'stage_changed' AND actor LIKE 'import:%'"
        )
        .await,
        2
    );
}

async fn a_guessed_mapping_matches_people_by_email_on_the_next_file(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        dir.path(),
        "webinar.csv",
        "\u{feff}First Name,Last Name,E-mail Address,Company Name,Visits\nMinh Anh,Nguyễn,minh@saigonexpress.vn,Saigon Express JSC,3\nعلی,رضایی,ali@parsian.ir,شرکت پارسیان,1\n".as_bytes(),
    );
    let (report, _) = import_file(&store, &first, &options(None)).await;
    let report = report.unwrap();
    assert!(report.guessed);
    assert!(
        report.mapping.contains("field = \"email\""),
        "{}",
        report.mapping
    );
    assert!(
        report
            .mapping
            .contains("field = \"custom.visits\"\ntype = \"integer\""),
        "{}",
        report.mapping
    );
    assert_eq!(report.import.unwrap().inserted, 2);

    // Another list with one of them again, the email written differently: an update.
    let second = write(
        dir.path(),
        "trade-show.csv",
        "email\tjob title\tcompany\nMinh@SAIGONEXPRESS.vn\tGiám đốc\tSaigon Express\nwei@tianhe.cn\t经理\t天河机械有限公司\n".as_bytes(),
    );
    let (report, _) = import_file(&store, &second, &options(None)).await;
    let import = report.unwrap().import.unwrap();
    assert_eq!((import.inserted, import.updated), (1, 1));
    assert_eq!(store.count_leads().await.unwrap(), 3);
    let page = store
        .list_leads(&LeadFilter {
            q: Some("nguyen".into()),
            ..LeadFilter::default()
        })
        .await
        .unwrap();
    let minh = &page.leads[0].lead;
    assert_eq!(minh.job_title.as_ref().unwrap().as_str(), "Giám đốc");
    assert_eq!(minh.custom["visits"], 3);
}

async fn an_interrupted_import_resumes_without_duplicates(store: Store) {
    // Build a file of three batches and store only the first, as a run killed after its
    // first commit would have; the next run picks up from there.
    let dir = tempfile::tempdir().unwrap();
    let rows = import::BATCH_ROWS * 2 + 17;
    let mut content = String::from("id,email,won\n");
    for i in 0..rows {
        content.push_str(&format!("r{i},person{i}@example.com,{}\n", i % 2));
    }
    let file = write(dir.path(), "big.csv", content.as_bytes());
    let mapping = "[[column]]\nname = \"id\"\nfield = \"external_id\"\n[[column]]\nname = \"email\"\nfield = \"email\"\n[[column]]\nname = \"won\"\nfield = \"outcome\"\n";
    let csv = import::CsvFile::inspect(&file, None).unwrap();
    let (mapping_doc, bound, _) = import::resolve_mapping(&file, &csv, Some(mapping)).unwrap();
    let started = store
        .start_import(
            "big.csv",
            &csv.sha256,
            &mapping_doc.to_toml(),
            "test",
            false,
            "another-host:4242:run",
        )
        .await
        .unwrap();
    let leadgate_store::ImportStart::New(record) = started else {
        panic!("a new import")
    };
    let first_batch: Vec<leadgate_store::BatchRow> = csv
        .rows(&file)
        .unwrap()
        .take(import::BATCH_ROWS)
        .map(|csv_row| {
            let row = csv_row.row;
            let cells = csv_row.cells.unwrap();
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            leadgate_store::BatchRow {
                row,
                read: bound.read_row(&refs),
            }
        })
        .collect();
    store.import_batch(record.id, &first_batch).await.unwrap();
    assert_eq!(
        store.import(record.id).await.unwrap().status,
        ImportStatus::Running
    );
    // While that run is alive (another machine's, heard of just now), a second run of the
    // same file is refused, not run alongside it.
    let (busy, _) = import_file(&store, &file, &options(Some(mapping))).await;
    let err = busy.unwrap_err();
    assert!(matches!(err, ImportError::Busy(_)), "{err}");
    assert!(err.to_string().contains("another-host:4242:run"), "{err}");
    assert_eq!(
        store.count_leads().await.unwrap(),
        import::BATCH_ROWS as i64
    );
    // Its process died: once its heartbeat is old, it reads as interrupted.
    let stale = chrono::Utc::now().timestamp() - leadgate_core::import::INTERRUPTED_AFTER_SECS - 1;
    leadgate_store::testing::execute(
        &store,
        &format!(
            "UPDATE imports SET heartbeat_at = {stale} WHERE id = {}",
            record.id
        ),
    )
    .await;
    assert_eq!(
        store.import(record.id).await.unwrap().status,
        ImportStatus::Interrupted
    );

    let (report, _) = import_file(&store, &file, &options(Some(mapping))).await;
    let report = report.unwrap();
    assert!(report.resumed);
    let import = report.import.unwrap();
    assert_eq!(import.id, record.id);
    assert_eq!(import.inserted, rows as i64);
    assert_eq!(import.rows_done, rows as i64);
    assert_eq!(import.outcomes, rows as i64);
    assert_eq!(store.count_leads().await.unwrap(), rows as i64);
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'form_submitted'"
        )
        .await,
        rows as i64
    );
}

/// A hostile file: 3,000 people at one company sharing sixteen names. Matching skips the
/// groups too large to compare, counts them in the import's summary, and merges none of
/// the namesakes (before, every pair in each name was compared and merged into one person).
async fn a_file_of_namesake_crowds_is_matched_within_bounds_and_merges_none(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("email,first name,last name,company\n");
    let (first, last) = (
        ["Ana", "Bao", "Chen", "Dara"],
        ["Silva", "Tran", "Wang", "Kim"],
    );
    for i in 0..3000 {
        content.push_str(&format!(
            "p{i}@bigco.example,{},{},BigCo\n",
            first[i % 4],
            last[(i / 4) % 4]
        ));
    }
    let file = write(dir.path(), "crowds.csv", content.as_bytes());
    let (report, _) = import_file(&store, &file, &options(None)).await;
    let import = report.unwrap().import.unwrap();
    assert_eq!(import.inserted, 3000);
    assert_eq!(import.status, ImportStatus::Finished);
    assert_eq!(import.merged, 0, "no namesake merged");
    assert!(import.match_blocks_skipped > 0, "{import:?}");
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM people WHERE merged_into IS NULL"
        )
        .await,
        3000
    );
}

async fn exports_are_safe_to_open_in_a_spreadsheet(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "evil.csv",
        b"first name,email,company\n=HYPERLINK(\"http://evil\"),a@b.io,@SUM(1)\nAna,ana@acme.io,\"Acme, Inc.\"\n",
    );
    import_file(&store, &file, &options(None)).await.0.unwrap();
    let mut out = Vec::new();
    let written = leadgate::export::write_csv(&store, LeadFilter::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(written, 2);
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        &records[0][column("first_name")],
        "'=HYPERLINK(\"http://evil\")"
    );
    assert_eq!(&records[0][column("company")], "'@SUM(1)");
    assert_eq!(&records[1][column("company")], "Acme, Inc.");
    assert_eq!(&records[1][column("channel")], "import");
}
