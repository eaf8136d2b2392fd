//! The dependency audit (scripts/audit.sh: cargo deny over Cargo.lock with deny.toml) as part
//! of the test suite, so CI refuses a crate with a licence, source or ban it does not allow.

use std::process::Command;

#[test]
fn every_dependency_passes_the_audit() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/audit.sh"))
        .current_dir(&root)
        .output()
        .expect("bash runs scripts/audit.sh");
    assert!(
        out.status.success(),
        "scripts/audit.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
