//! The API against its own OpenAPI description (scripts/schemathesis.sh, every check) on both
//! engines, whenever schemathesis is installed (`st` on the PATH, or `$SCHEMATHESIS`).

use leadgate_store::testing::TestDatabase;
use leadgate_store::Engine;
use std::process::Command;

fn schemathesis() -> Option<String> {
    let st = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "st".into());
    let found = Command::new(&st).arg("--version").output();
    found.is_ok_and(|out| out.status.success()).then_some(st)
}

async fn conforms(engine: Engine) {
    let Some(st) = schemathesis() else {
        eprintln!("schemathesis is not installed: skipped (see README, Security)");
        return;
    };
    let db = TestDatabase::new(engine).await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/schemathesis.sh"))
        .arg(env!("CARGO_BIN_EXE_leadgate"))
        .arg(&db.url)
        .env("SCHEMATHESIS", st)
        .current_dir(&root)
        .output()
        .expect("bash runs scripts/schemathesis.sh");
    db.cleanup().await;
    assert!(
        out.status.success(),
        "schemathesis found what the description does not say:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_api_does_what_its_description_says_on_sqlite() {
    conforms(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_api_does_what_its_description_says_on_postgres() {
    conforms(Engine::Postgres).await;
}
