//! The `leadgate` binary as a user runs it: real processes on a real SQLite file.

use std::process::{Command, Output};

fn leadgate(args: &[&str], db: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run leadgate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn api_keys_are_made_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nested/leadgate.db");
    let db = db.to_str().unwrap();

    let made = leadgate(&["apikey", "create", "zapier"], db);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let secret = text(&made.stdout).trim().to_owned();
    assert!(secret.starts_with("lg_") && secret.len() == 44, "{secret}");
    assert!(text(&made.stderr).contains("not shown again"));

    let listed = leadgate(&["apikey", "list"], db);
    let listing = text(&listed.stdout);
    assert!(listing.contains("zapier") && listing.contains("active"));
    assert!(!listing.contains(&secret), "secrets are never listed");

    let revoked = leadgate(&["apikey", "revoke", "1"], db);
    assert!(revoked.status.success());
    assert!(text(&leadgate(&["apikey", "list"], db).stdout).contains("revoked"));

    let again = leadgate(&["apikey", "revoke", "1"], db);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("no active API key has id or prefix '1'"));
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let db = db.to_str().unwrap();
    let blank = leadgate(&["apikey", "create", "  "], db);
    assert!(!blank.status.success());
    assert!(text(&blank.stderr).contains("name: must be 1 to 100 characters"));

    let bad_bind = leadgate(&["serve", "--bind", "not-an-address"], db);
    assert!(!bad_bind.status.success());
    assert!(text(&bad_bind.stderr).contains("--bind"));

    let bad_url = leadgate(
        &["apikey", "list"],
        "postgres://nobody:secret@127.0.0.1:1/none",
    );
    assert!(!bad_url.status.success());
    let message = text(&bad_url.stderr);
    assert!(message.contains("cannot open the store"), "{message}");
    assert!(
        !message.contains("secret"),
        "passwords are not printed: {message}"
    );

    // The benchmarks are not part of the production binary (leadgate-bench has them).
    let bench = leadgate(&["bench", "ingest"], db);
    assert!(!bench.status.success());
    assert!(text(&bench.stderr).contains("unrecognized subcommand 'bench'"));
}

#[test]
fn the_policy_is_written_checked_applied_listed_and_diffed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("policy.toml");
    let file_arg = file.to_str().unwrap();

    let init = leadgate(&["policy", "init", file_arg], db);
    assert!(init.status.success(), "{}", text(&init.stderr));
    assert!(
        !leadgate(&["policy", "init", file_arg], db).status.success(),
        "no silent overwrite"
    );
    let check = leadgate(&["policy", "check", file_arg], db);
    assert!(
        text(&check.stdout).contains("is valid"),
        "{}",
        text(&check.stderr)
    );

    let starter = std::fs::read_to_string(&file).unwrap();
    let broken = starter.replacen("field = \"industry\"", "field = \"industri\"", 1);
    let line = broken
        .lines()
        .position(|l| l.contains("\"industri\""))
        .unwrap()
        + 1;
    let bad_file = dir.path().join("bad.toml");
    std::fs::write(&bad_file, &broken).unwrap();
    let refused = leadgate(
        &["policy", "apply", bad_file.to_str().unwrap(), "-m", "typo"],
        db,
    );
    assert!(!refused.status.success());
    let message = text(&refused.stderr);
    assert!(
        message.contains(&format!(
            "bad.toml:{line}: fit rule 'Core industry': unknown field 'industri'"
        )),
        "{message}"
    );
    assert!(message.contains("unchanged"));

    let applied = leadgate(
        &["policy", "apply", file_arg, "-m", "first agreed definition"],
        db,
    );
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(text(&applied.stdout).contains("as version 1"));
    std::fs::write(&file, starter.replace("min_score = 70", "min_score = 80")).unwrap();
    assert!(leadgate(
        &["policy", "apply", file_arg, "-m", "fewer, better MQLs"],
        db
    )
    .status
    .success());

    let versions = text(&leadgate(&["policy", "versions"], db).stdout);
    assert!(
        versions.contains("v2")
            && versions.contains("fewer, better MQLs")
            && versions.contains("v1"),
        "{versions}"
    );
    let shown = text(&leadgate(&["policy", "show"], db).stdout);
    assert!(shown.contains("min_score = 80"));
    let diff = text(&leadgate(&["policy", "diff", "1", "2"], db).stdout);
    assert!(
        diff.contains("-min_score = 70") && diff.contains("+min_score = 80"),
        "{diff}"
    );
    let scored = leadgate(&["score"], db);
    assert!(
        text(&scored.stdout).contains("rescored 0 'default' leads"),
        "{}",
        text(&scored.stdout)
    );
}

fn xeducation_args<'a>(root: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut args = vec![
        "import".to_owned(),
        format!("{root}/examples/xeducation_leads.csv"),
        "--mapping".to_owned(),
        format!("{root}/examples/xeducation.mapping.toml"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test]
async fn the_x_education_import_survives_a_kill_and_resumes_without_duplicates() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let rejects = dir.path().join("xe.rejects.csv");
    let rejects = rejects.to_str().unwrap();

    let dry = leadgate(
        &xeducation_args(root, &["--dry-run", "--rejects", rejects])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        db,
    );
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        text(&dry.stdout).contains("dry run: 9240 rows, 9240 valid, 0 rejected"),
        "{}",
        text(&dry.stdout)
    );

    // Kill -9 the import once it has committed a batch or two.
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(xeducation_args(root, &["--rejects", rejects]))
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut done_before_kill = 0;
    for _ in 0..2000 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        if !std::path::Path::new(db).exists() {
            continue;
        }
        let Ok(store) = leadgate_store::Store::connect(db).await else {
            continue;
        };
        let imports = store.imports(1).await.unwrap_or_default();
        store.close().await;
        if let Some(import) = imports.first().filter(|i| i.rows_done > 0) {
            child.kill().unwrap();
            child.wait().unwrap();
            done_before_kill = import.rows_done;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        done_before_kill > 0 && done_before_kill < 9240,
        "killed part-way: {done_before_kill}"
    );

    let resumed = leadgate(
        &xeducation_args(root, &["--rejects", rejects])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        db,
    );
    let out = text(&resumed.stdout);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(out.contains("resumed import 1"), "{out}");
    assert!(
        out.contains("9240 rows: 9240 inserted, 0 updated, 0 unchanged, 0 rejected; 9240 outcomes"),
        "{out}"
    );
    let store = leadgate_store::Store::connect(db).await.unwrap();
    assert_eq!(store.count_leads().await.unwrap(), 9240);
    assert_eq!(
        leadgate_store::testing::count(
            &store,
            "SELECT COUNT(*) FROM events WHERE type = 'form_submitted'"
        )
        .await,
        9240
    );
    store.close().await;

    let export = dir.path().join("out.csv");
    let exported = leadgate(&["export", "--out", export.to_str().unwrap()], db);
    assert!(text(&exported.stderr).contains("exported 9240 leads"));
    assert_eq!(
        std::fs::read_to_string(&export).unwrap().lines().count(),
        9241
    );
}

#[test]
fn a_guessed_mapping_is_printed_and_saved_for_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("list.csv");
    std::fs::write(
        &file,
        "Email,Full Budget,Notes\nana@acme.io,1200,hi\nbo@,x,\n",
    )
    .unwrap();
    let saved = dir.path().join("list.mapping.toml");
    let out = leadgate(
        &[
            "import",
            file.to_str().unwrap(),
            "--save-mapping",
            saved.to_str().unwrap(),
        ],
        db,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("name = \"Email\"\nfield = \"email\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 inserted") && stdout.contains("1 rejected"),
        "{stdout}"
    );
    let rejects = std::fs::read_to_string(dir.path().join("list.rejects.csv")).unwrap();
    assert!(
        rejects.starts_with("row,column,reason\n3,Email,"),
        "{rejects}"
    );
    // The saved mapping is a valid mapping for the same file.
    let reuse = leadgate(
        &[
            "import",
            file.to_str().unwrap(),
            "--mapping",
            saved.to_str().unwrap(),
            "--dry-run",
        ],
        db,
    );
    assert!(reuse.status.success(), "{}", text(&reuse.stderr));

    let bad = leadgate(
        &["import", dir.path().join("none.csv").to_str().unwrap()],
        db,
    );
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("none.csv: cannot read"));
}

#[test]
fn forms_are_put_listed_and_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-form.json");
    let put = leadgate(&["form", "put", "demo", example], db);
    assert!(put.status.success(), "{}", text(&put.stderr));
    assert!(text(&put.stdout).contains("form 'demo' created"));
    assert!(text(&leadgate(&["form", "list"], db).stdout).contains("Request a demo"));
    let embed = text(
        &leadgate(
            &[
                "form",
                "embed",
                "demo",
                "--base-url",
                "https://leads.example.com/",
            ],
            db,
        )
        .stdout,
    );
    assert!(
        embed.contains("action=\"https://leads.example.com/f/demo\""),
        "{embed}"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"title": "x", "fields": [{"name": "favourite", "label": "?"}]}"#,
    )
    .unwrap();
    let refused = leadgate(&["form", "put", "demo", bad.to_str().unwrap()], db);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("fields[0].name: 'favourite' is not a lead field"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn trackers_are_added_listed_and_their_snippet_printed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let refused = leadgate(
        &[
            "tracker",
            "add",
            "--name",
            "Site",
            "--site",
            "ftp://acme.example",
        ],
        db,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("sites[0]"),
        "{}",
        text(&refused.stderr)
    );
    let added = leadgate(
        &[
            "tracker",
            "add",
            "--name",
            "Acme",
            "--site",
            "https://www.acme.example/",
            "--site",
            "https://shop.acme.example",
            "--consent",
            "implied",
            "--base-url",
            "https://leads.example.com/",
        ],
        db,
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let snippet = text(&added.stdout);
    assert!(
        snippet
            .starts_with("<script async src=\"https://leads.example.com/t.js\" data-tracker=\"t_")
            && snippet.contains("data-consent=\"implied\""),
        "{snippet}"
    );
    let listed = text(&leadgate(&["tracker", "list"], db).stdout);
    assert!(
        listed.contains("implied")
            && listed.contains("https://www.acme.example https://shop.acme.example"),
        "{listed}"
    );
    let key = listed.split_whitespace().next().unwrap().to_owned();
    let again = text(
        &leadgate(
            &[
                "tracker",
                "snippet",
                &key,
                "--base-url",
                "https://leads.example.com",
            ],
            db,
        )
        .stdout,
    );
    assert_eq!(again, snippet);
    let bad_consent = leadgate(
        &[
            "tracker",
            "add",
            "--name",
            "x",
            "--site",
            "https://a.example",
            "--consent",
            "maybe",
        ],
        db,
    );
    assert!(text(&bad_consent.stderr).contains("'maybe' is not a consent mode"));
}

#[test]
fn spend_is_imported_listed_and_reported_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("google-ads.csv");
    std::fs::write(
        &file,
        "Day,Campaign,Cost\n2026-03-01,spring,100\n2026-03-02,spring,\"1,200.50\"\n",
    )
    .unwrap();
    let imported = leadgate(
        &[
            "spend",
            "import",
            file.to_str().unwrap(),
            "--channel",
            "search_ad",
        ],
        db,
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert!(
        text(&imported.stdout).contains("2 rows, 1 month and source lines recorded"),
        "{}",
        text(&imported.stdout)
    );
    let put = leadgate(
        &[
            "spend",
            "put",
            "--month",
            "2026-03",
            "--campaign",
            "webinar",
            "--amount",
            "40",
        ],
        db,
    );
    assert!(put.status.success(), "{}", text(&put.stderr));
    assert!(leadgate(&["spend", "currency", "VND"], db).status.success());
    let listed = text(
        &leadgate(
            &["spend", "list", "--from", "2026-03", "--to", "2026-03"],
            db,
        )
        .stdout,
    );
    assert!(
        listed.contains("1300.50 VND  channel=search_ad campaign=spring"),
        "{listed}"
    );
    let report = text(&leadgate(&["spend", "report", "--attribution", "linear"], db).stdout);
    assert!(
        report.contains("linear attribution, in VND") && report.contains("spring"),
        "{report}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "Day,Campaign,Cost\n2026-03-01,spring,lots\n").unwrap();
    let refused = leadgate(&["spend", "import", bad.to_str().unwrap()], db);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("row 2.cost"),
        "{}",
        text(&refused.stderr)
    );
    let wrong = leadgate(&["spend", "currency", "dollars"], db);
    assert!(
        text(&wrong.stderr).contains("currency"),
        "{}",
        text(&wrong.stderr)
    );
}

#[test]
fn a_person_is_exported_and_erased_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "email,first name,notes\nwei@tianhe.cn,王伟,call after 6pm\nana@acme.io,Ana,\n",
    )
    .unwrap();
    assert!(leadgate(&["import", file.to_str().unwrap()], db)
        .status
        .success());

    let export = leadgate(&["gdpr", "export", "WEI@tianhe.cn"], db);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let document: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(document["person"]["first_name"], "王伟");
    assert_eq!(document["leads"][0]["custom"]["notes"], "call after 6pm");

    let unconfirmed = leadgate(&["gdpr", "erase", "wei@tianhe.cn"], db);
    assert!(!unconfirmed.status.success());
    assert!(text(&unconfirmed.stderr).contains("--yes"));
    let erased = leadgate(&["gdpr", "erase", "wei@tianhe.cn", "--yes"], db);
    assert!(erased.status.success(), "{}", text(&erased.stderr));
    assert!(text(&erased.stdout).contains("1 leads"));
    let gone = leadgate(&["gdpr", "export", "wei@tianhe.cn"], db);
    assert!(!gone.status.success());
    assert!(text(&gone.stderr).contains("no person has the email"));
    let exported = leadgate(&["export"], db);
    let csv = text(&exported.stdout);
    assert!(!csv.contains("王伟") && !csv.contains("6pm"), "{csv}");
    assert!(csv.contains("ana@acme.io"));
    let log = text(&leadgate(&["gdpr", "log"], db).stdout);
    assert!(log.contains("erase") && log.contains("export"), "{log}");
    let bad = leadgate(&["gdpr", "export", "lead:x"], db);
    assert!(text(&bad.stderr).contains("lead:ID needs a number"));
}

#[test]
fn tasks_interactions_and_jobs_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "email,owner\nlinh@saigon.vn,minh\n").unwrap();
    assert!(leadgate(&["import", file.to_str().unwrap()], db)
        .status
        .success());

    let added = leadgate(
        &[
            "task",
            "add",
            "1",
            "--type",
            "email",
            "--due",
            "+2h",
            "--title",
            "Send the deck",
        ],
        db,
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("Send the deck (email) for minh"));
    let late = leadgate(&["task", "add", "1", "--due", "+3w"], db);
    assert!(text(&late.stderr).contains("use m, h or d"));
    let bad_type = leadgate(&["task", "add", "1", "--type", "fax", "--due", "now"], db);
    assert!(text(&bad_type.stderr).contains("type: unknown task type 'fax'"));

    let logged = leadgate(
        &[
            "log",
            "1",
            "call",
            "--outcome",
            "connected",
            "--notes",
            "Cần báo giá",
            "--next",
            "meeting@+2d",
        ],
        db,
    );
    assert!(logged.status.success(), "{}", text(&logged.stderr));
    assert!(text(&logged.stdout).contains("next step: task 2 meeting"));
    let wrong = leadgate(&["log", "1", "call", "--outcome", "held"], db);
    assert!(!wrong.status.success());
    assert!(text(&wrong.stderr).contains("outcome: 'held' is not an outcome of a call"));

    let list = text(&leadgate(&["task", "list", "--owner", "minh"], db).stdout);
    assert!(
        list.contains("Send the deck") && list.contains("Meet the lead"),
        "{list}"
    );
    assert!(leadgate(&["task", "done", "1"], db).status.success());
    let twice = leadgate(&["task", "done", "1"], db);
    assert!(text(&twice.stderr).contains("already done"));
    let open = text(&leadgate(&["task", "list"], db).stdout);
    assert!(!open.contains("Send the deck"), "{open}");

    let jobs = text(&leadgate(&["jobs", "list", "--state", "queued"], db).stdout);
    assert_eq!(jobs.matches("task_reminder").count(), 2, "{jobs}");
    let shown = text(&leadgate(&["jobs", "show", "1"], db).stdout);
    assert!(shown.contains("\"task_id\": 1"), "{shown}");
    let retry = leadgate(&["jobs", "retry", "1"], db);
    assert!(text(&retry.stderr).contains("only a dead job can be retried"));
    let bad_state = leadgate(&["jobs", "list", "--state", "stuck"], db);
    assert!(text(&bad_state.stderr).contains("--state: unknown job state 'stuck'"));
}

#[test]
fn teams_reps_assignment_and_sla_from_the_terminal() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let calendar = format!("{root}/examples/team-hcmc.calendar.json");
    let team = leadgate(
        &[
            "team",
            "put",
            "hcmc",
            "--calendar",
            &calendar,
            "--manager",
            "lan",
        ],
        db,
    );
    assert!(team.status.success(), "{}", text(&team.stderr));
    assert!(text(&team.stdout).contains("team 'hcmc' created (Asia/Ho_Chi_Minh)"));
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"timezone": "Asia/Hanoi City", "hours": {"mon": ["17:00-09:00"]}}"#,
    )
    .unwrap();
    let bad = leadgate(
        &["team", "put", "x", "--calendar", broken.to_str().unwrap()],
        db,
    );
    let err = text(&bad.stderr);
    assert!(
        err.contains("timezone: 'Asia/Hanoi City' is not an IANA time zone"),
        "{err}"
    );
    assert!(err.contains("hours.mon[0]"), "{err}");

    for name in ["an", "binh"] {
        assert!(leadgate(&["rep", "put", name, "--team", "hcmc"], db)
            .status
            .success());
    }
    let nowhere = leadgate(&["rep", "put", "chi", "--team", "mars"], db);
    assert!(text(&nowhere.stderr).contains("no team is named 'mars'"));
    assert!(text(&leadgate(&["rep", "list"], db).stdout).contains("binh"));

    let file = dir.path().join("people.csv");
    std::fs::write(&file, "email,owner\nlinh@saigon.vn,an\n").unwrap();
    assert!(leadgate(&["import", file.to_str().unwrap()], db)
        .status
        .success());
    let unreasoned = leadgate(&["assign", "1", "binh", "--reason", " "], db);
    assert!(text(&unreasoned.stderr).contains("reason: is required"));
    let assigned = leadgate(&["assign", "1", "binh", "--reason", "an is on leave"], db);
    assert!(
        text(&assigned.stdout).contains("lead 1 is now binh's"),
        "{}",
        text(&assigned.stderr)
    );

    let report = leadgate(&["sla", "report", "--by", "team"], db);
    assert!(report.status.success(), "{}", text(&report.stderr));
    let wrong = leadgate(&["sla", "report", "--by", "colour"], db);
    assert!(text(&wrong.stderr).contains("by: is one of owner, team"));
    assert!(leadgate(&["sla", "clocks"], db).status.success());
}

#[test]
fn webhooks_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let private = leadgate(&["webhook", "add", "http://127.0.0.1:9/hook"], db);
    assert!(!private.status.success());
    assert!(
        text(&private.stderr).contains("private address"),
        "{}",
        text(&private.stderr)
    );
    let bad = leadgate(
        &[
            "webhook",
            "add",
            "https://hooks.example.com/x",
            "--events",
            "stage_changed,lunch",
        ],
        db,
    );
    assert!(
        text(&bad.stderr).contains("events[1]: unknown event type 'lunch'"),
        "{}",
        text(&bad.stderr)
    );
    let added = leadgate(
        &[
            "webhook",
            "add",
            "http://127.0.0.1:9/hook",
            "--events",
            "stage_changed,sla_breached",
            "--allow-private",
        ],
        db,
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    let out = text(&added.stdout);
    assert!(
        out.contains("webhook 1 sends sla_breached, stage_changed"),
        "{out}"
    );
    assert!(out.contains("signing secret (shown once): whsec_"), "{out}");
    assert!(leadgate(&["webhook", "pause", "1"], db).status.success());
    assert!(text(&leadgate(&["webhook", "list"], db).stdout).contains("paused"));
    let missing = leadgate(&["webhook", "replay", "1", "42"], db);
    assert!(text(&missing.stderr).contains("no event has id 42"));
    let none = leadgate(&["webhook", "deliveries", "9"], db);
    assert!(text(&none.stderr).contains("no webhook has id 9"));
}

#[test]
fn an_automation_dry_run_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let policy = dir.path().join("policy.toml");
    let document = format!(
        "{}\n[[automation]]\nname = \"Tag imports\"\non = \"form_submitted\"\ndo = [{{ add_tag = \"imported\" }}]\n",
        leadgate_core::policy::Policy::STARTER
    );
    std::fs::write(&policy, &document).unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "email\nlinh@saigon.vn\nan@hanoi.vn\n").unwrap();
    assert!(leadgate(&["import", file.to_str().unwrap()], db)
        .status
        .success());
    let dry = leadgate(
        &[
            "policy",
            "automation-dry-run",
            policy.to_str().unwrap(),
            "--days",
            "7",
        ],
        db,
    );
    let out = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(out.contains("2 events scanned"), "{out}");
    assert!(out.contains("      2  Tag imports"), "{out}");
    std::fs::write(&policy, document.replace("add_tag", "add_tags")).unwrap();
    let broken = leadgate(
        &["policy", "automation-dry-run", policy.to_str().unwrap()],
        db,
    );
    assert!(
        text(&broken.stderr).contains("'add_tags' is not an action"),
        "{}",
        text(&broken.stderr)
    );
}

#[test]
fn email_templates_and_the_outbox_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leadgate.db");
    let db = db.to_str().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, "email,first name\nlinh@saigon.vn,Linh\n").unwrap();
    assert!(leadgate(&["import", file.to_str().unwrap()], db)
        .status
        .success());
    let template = dir.path().join("welcome.txt");
    std::fs::write(
        &template,
        "Welcome, {{first_name}}\n\nChào {{first_name}},\nthanks for your interest.\n",
    )
    .unwrap();
    let put = leadgate(
        &["email", "template", "welcome", template.to_str().unwrap()],
        db,
    );
    assert!(put.status.success(), "{}", text(&put.stderr));
    assert!(text(&put.stdout).contains("template 'welcome' created"));
    std::fs::write(&template, "Hi {{nick}}\n\nbody").unwrap();
    let bad = leadgate(
        &["email", "template", "welcome", template.to_str().unwrap()],
        db,
    );
    assert!(
        text(&bad.stderr).contains("{{nick}} is not a placeholder"),
        "{}",
        text(&bad.stderr)
    );
    let sent = leadgate(&["email", "send", "1", "welcome"], db);
    assert!(
        text(&sent.stdout).contains("to linh@saigon.vn queued: Welcome, Linh"),
        "{}",
        text(&sent.stderr)
    );
    let listed = text(&leadgate(&["email", "list"], db).stdout);
    assert!(listed.contains("queued"), "{listed}");
    let resend = leadgate(&["email", "resend", "1"], db);
    assert!(text(&resend.stderr).contains("only failed or uncertain emails are resent"));
    let missing = leadgate(&["email", "send", "1", "nope"], db);
    assert!(text(&missing.stderr).contains("no email template is named 'nope'"));
}

#[test]
fn settings_come_from_a_file_below_the_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("from-file.db");
    let from_env = dir.path().join("from-env.db");
    let config = dir.path().join("leadgate.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = {:?}\nbind = \"127.0.0.1:0\"\n",
            from_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let run = |args: &[&str], env: Option<&std::path::Path>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_leadgate"));
        command
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("LEADGATE_CONFIG")
            .env("RUST_LOG", "warn");
        if let Some(db) = env {
            command.env("DATABASE_URL", db);
        }
        command.output().expect("run leadgate")
    };
    let config_arg = config.to_str().unwrap();
    // The file names the store.
    let made = run(
        &["apikey", "create", "from-file", "--config", config_arg],
        None,
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(from_file.exists());
    // The environment beats the file, and a flag beats both.
    let made = run(
        &["--config", config_arg, "apikey", "create", "env"],
        Some(&from_env),
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(from_env.exists());
    let flagged = dir.path().join("flag.db");
    let made = run(
        &[
            "apikey",
            "--database-url",
            flagged.to_str().unwrap(),
            "create",
            "flag",
            "--config",
            config_arg,
        ],
        Some(&from_env),
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(flagged.exists());
    let listed = run(&["apikey", "list", "--config", config_arg], None);
    let listing = text(&listed.stdout);
    assert!(
        listing.contains("from-file") && !listing.contains("env"),
        "{listing}"
    );
    // A key no flag has is named, and nothing runs.
    std::fs::write(&config, "databse_url = \"x.db\"\n").unwrap();
    let refused = run(&["apikey", "list", "--config", config_arg], None);
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(said.contains("databse_url: is not a setting"), "{said}");
    assert!(said.contains("database_url"), "{said}");
    let missing = run(
        &["apikey", "list", "--config", "/nonexistent/leadgate.toml"],
        None,
    );
    assert!(text(&missing.stderr).contains("cannot read the settings file"));
}

/// Runs `leadgate demo` until it prints its first line, then stops it; returns that line.
fn demo_first_line(args: &[&str]) -> String {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .arg("demo")
        .args(args)
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run leadgate demo");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn the_demo_is_a_showroom_and_a_second_start_keeps_its_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let path = db.to_str().unwrap();
    let first = demo_first_line(&["--path", path, "--leads", "300"]);
    assert!(first.contains("300 leads"), "{first}");
    assert!(first.contains("routed to the teams"), "{first}");

    // Every MQL has a rep, each rep has follow-ups, and the web form is there.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = |query: &str| -> String {
        runtime.block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            let row: Option<(Option<String>,)> =
                sqlx::query_as(&format!("SELECT CAST(({query}) AS TEXT)"))
                    .fetch_optional(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            row.and_then(|(v,)| v).unwrap_or_default()
        })
    };
    let mqls: i64 = sql("SELECT count(*) FROM leads WHERE stage = 'mql'")
        .parse()
        .unwrap();
    assert!(mqls > 0);
    assert_eq!(
        sql("SELECT count(*) FROM leads WHERE stage = 'mql' AND owner IS NULL"),
        "0"
    );
    assert_eq!(
        sql("SELECT count(DISTINCT owner) FROM tasks WHERE state = 'open'"),
        "6"
    );
    assert_eq!(sql("SELECT count(*) FROM forms WHERE key = 'demo'"), "1");
    // The paid sources' spend, so the cost report has figures: ads, events and lists only.
    let paid: i64 = sql("SELECT count(*) FROM spend").parse().unwrap();
    assert!(paid > 5, "{paid} spend lines");
    assert_eq!(
        sql("SELECT count(*) FROM spend WHERE channel NOT IN ('search_ad', 'social', 'event', 'webinar', 'content_download', 'purchased_list')"),
        "0"
    );

    // Work done in the demo survives a second start; --fresh starts over.
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query("UPDATE leads SET owner = 'li.na' WHERE id = 1")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let again = demo_first_line(&["--path", path]);
    assert!(
        again.contains("opened again") && again.contains("--fresh"),
        "{again}"
    );
    assert_eq!(sql("SELECT owner FROM leads WHERE id = 1"), "li.na");
    let fresh = demo_first_line(&["--path", path, "--leads", "300", "--fresh"]);
    assert!(fresh.contains("300 leads"), "{fresh}");
}

/// A mail server's pipe: one message on standard input, the exit status telling it what to
/// do (0 stored, 65 bounce it), the inbound address from the environment as a setting.
#[test]
fn mail_piped_in_becomes_a_lead_once_and_bad_mail_bounces() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mail.db");
    let db = db.to_str().unwrap();
    let ingest = |message: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
            .args(["mail", "ingest"])
            .env("DATABASE_URL", db)
            .env(
                "LEADGATE_INBOUND_ADDRESSES",
                "info@acme.example, sales@acme.example",
            )
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run leadgate");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(message.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let message = "From: Thao Nguyen <thao@saigon.example>\r\n\
        To: sales@acme.example\r\n\
        Subject: =?UTF-8?B?QsOhbyBnacOh?=\r\n\
        Message-ID: <m1@saigon.example>\r\n\
        \r\n\
        Xin gửi báo giá.\r\n";
    let first = ingest(message);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout).trim(), "lead 1 created: message logged");
    let again = ingest(message);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("received before"));

    let bounced = ingest("Subject: no sender\r\n\r\nhello");
    assert_eq!(bounced.status.code(), Some(65));
    assert!(
        text(&bounced.stderr).contains("from: the message has no From header"),
        "{}",
        text(&bounced.stderr)
    );
    let elsewhere = ingest("From: a@b.example\r\nTo: hr@acme.example\r\n\r\nCV attached");
    assert_eq!(elsewhere.status.code(), Some(65));
    assert!(text(&elsewhere.stderr).contains("to: the message is addressed to none"));
}
