//! The fuzz targets' checks (fuzz/checks) on every test run, without nightly or libFuzzer:
//! each over its checked-in seeds (fuzz/seeds), then over random bytes and seed inputs
//! with random bytes spliced in. A panic anywhere fails the test.

#[path = "../../../fuzz/checks/csv_import.rs"]
mod csv_import;
#[path = "../../../fuzz/checks/event_batch.rs"]
mod event_batch;
#[path = "../../../fuzz/checks/form_submission.rs"]
mod form_submission;
#[path = "../../../fuzz/checks/policy.rs"]
mod policy;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::Path;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "a corpus for {target}");
    inputs
}

fn exercise(target: &str, run: fn(&[u8]), cases: u32) {
    let seeds = corpus(target);
    for input in &seeds {
        run(input);
    }
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let inputs = (
        0..seeds.len(),
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<usize>(),
        0..4usize,
    );
    runner
        .run(&inputs, |(seed, bytes, at, how)| {
            let mut input = seeds[seed].clone();
            let at = at % (input.len() + 1);
            match how {
                0 => input = bytes,
                1 => drop(input.splice(at..at, bytes)),
                2 => {
                    let end = (at + bytes.len()).min(input.len());
                    input.splice(at..end, bytes);
                }
                _ => input.truncate(at),
            }
            run(&input);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{target}: {e}"));
}

#[test]
fn csv_files_end_in_rows_or_clear_errors() {
    exercise("csv_import", csv_import::run, 2000);
}

#[test]
fn form_posts_end_in_submissions_or_named_fields() {
    exercise("form_submission", form_submission::run, 5000);
}

#[test]
fn policy_documents_end_in_a_policy_or_named_mistakes() {
    exercise("policy", policy::run, 2000);
}

#[test]
fn event_batches_end_in_events_or_named_fields() {
    exercise("event_batch", event_batch::run, 5000);
}
