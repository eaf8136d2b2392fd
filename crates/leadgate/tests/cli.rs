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
