//! Every statement the store writes out whole (a literal given to `sqlx::query`,
//! `query_as` or `query_scalar`) is prepared on both engines: a misspelt column or a
//! statement one engine cannot run fails here, whether or not a scenario runs it.

use leadgate_store::{testing, Engine, Store};

leadgate_store::on_both_engines!(every_whole_statement_prepares);

/// Statements that run on one engine only, in code that chooses the engine first (found by
/// a part of them).
const ONE_ENGINE_ONLY: &[(&str, Engine)] = &[
    ("FOR UPDATE", Engine::Postgres),
    ("VACUUM ANALYZE", Engine::Postgres),
    ("pg_advisory_xact_lock", Engine::Postgres),
    ("PRAGMA wal_checkpoint", Engine::Sqlite),
    // The partitioned event log and its keys (migration 0043), and a replica's position.
    ("event_keys", Engine::Postgres),
    ("events_id_seq", Engine::Postgres),
    ("pg_inherits", Engine::Postgres),
    ("to_regclass", Engine::Postgres),
    ("pg_is_in_recovery", Engine::Postgres),
    ("pg_current_wal_lsn", Engine::Postgres),
    ("pg_last_wal_replay_lsn", Engine::Postgres),
];

async fn every_whole_statement_prepares(store: Store) {
    let statements = whole_statements();
    assert!(
        statements.len() >= 140,
        "{} statements found",
        statements.len()
    );
    let mut failed = Vec::new();
    for (file, sql) in &statements {
        let only = ONE_ENGINE_ONLY.iter().find(|(part, _)| sql.contains(part));
        if only.is_some_and(|(_, engine)| *engine != store.engine()) {
            continue;
        }
        if let Err(e) = testing::prepare(&store, sql).await {
            failed.push(format!("{file}: {e}\n    {sql}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} statements do not prepare on {:?}:\n{}",
        failed.len(),
        statements.len(),
        store.engine(),
        failed.join("\n")
    );
}

/// The string literals of the store's sources that follow `query(`, `query_as(` or
/// `query_scalar(`, unescaped. (Statements put together with `format!` or a `QueryBuilder`
/// are not found here; the scenarios run them.)
fn whole_statements() -> Vec<(String, String)> {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "testing.rs" {
            continue; // helpers that run what tests give them
        }
        let code = std::fs::read_to_string(&path).unwrap();
        for call in ["query(", "query_as(", "query_scalar("] {
            let mut rest = code.as_str();
            while let Some(at) = rest.find(call) {
                rest = &rest[at + call.len()..];
                let literal = rest.trim_start();
                if let Some(sql) = read_literal(literal) {
                    found.push((name.clone(), sql));
                }
            }
        }
    }
    found
}

/// The value of the string literal `text` starts with (`"..."`, `r"..."` or `r#"..."#`).
fn read_literal(text: &str) -> Option<String> {
    if let Some(raw) = text.strip_prefix("r#\"") {
        return raw.split_once("\"#").map(|(body, _)| body.to_owned());
    }
    if let Some(raw) = text.strip_prefix("r\"") {
        return raw.split_once('"').map(|(body, _)| body.to_owned());
    }
    let body = text.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                '\n' => {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    None
}
