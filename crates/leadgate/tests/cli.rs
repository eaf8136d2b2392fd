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

    let bench = leadgate(&["bench", "ingest", "--batch", "5000"], db);
    assert!(!bench.status.success());
    assert!(text(&bench.stderr).contains("--batch"));
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
