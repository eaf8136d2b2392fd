//! The benchmark binary as a user runs it: bad arguments are named before anything runs.

use std::process::Command;

#[test]
fn bad_arguments_are_named() {
    let bench = Command::new(env!("CARGO_BIN_EXE_leadgate-bench"))
        .args(["ingest", "--batch", "5000"])
        .output()
        .expect("run leadgate-bench");
    assert!(!bench.status.success());
    assert!(String::from_utf8_lossy(&bench.stderr).contains("--batch"));
}
