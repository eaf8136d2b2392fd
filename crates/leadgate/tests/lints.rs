//! The lint gate as part of the test suite (so CI, which runs the README's test command,
//! refuses unformatted code and clippy warnings): `cargo fmt --check` and `cargo clippy
//! --all-targets -D warnings` over the workspace. Clippy builds into its own target
//! directory, so it never waits on the build that runs these tests.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str], target: Option<&Path>) {
    let mut command = Command::new(env!("CARGO"));
    command.args(args).current_dir(root());
    if let Some(dir) = target {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cargo {}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "cargo {} found problems:\n{}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_code_is_formatted_as_cargo_fmt_formats_it() {
    run(&["fmt", "--all", "--", "--check"], None);
}

#[test]
fn clippy_finds_nothing_in_any_target() {
    let target = root().join("target/lint");
    run(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ],
        Some(&target),
    );
}
