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

/// The dependency rule (ARCHITECTURE.md): each crate of the workspace depends only on the
/// crates below it, so the store and the models never reach up into the use cases.
#[test]
fn dependencies_point_down_only() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed: &[(&str, &[&str])] = &[
        ("leadgate-core", &[]),
        ("leadgate-ml", &["leadgate-core"]),
        ("leadgate-store", &["leadgate-core"]),
        // Sample data for the demo, tests and benchmarks.
        ("leadgate-demo", &["leadgate-core"]),
        (
            "leadgate-app",
            &["leadgate-core", "leadgate-ml", "leadgate-store"],
        ),
        (
            "leadgate",
            &[
                "leadgate-core",
                "leadgate-ml",
                "leadgate-store",
                "leadgate-app",
                "leadgate-demo",
            ],
        ),
        // The benchmarks drive the binary's library from outside the production binary.
        (
            "leadgate-bench",
            &[
                "leadgate-core",
                "leadgate-ml",
                "leadgate-store",
                "leadgate-app",
                "leadgate-demo",
                "leadgate",
            ],
        ),
    ];
    let packages = metadata["packages"].as_array().unwrap();
    assert_eq!(
        packages.len(),
        allowed.len(),
        "every crate has its place in the rule"
    );
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let (_, below) = allowed
            .iter()
            .find(|(crate_name, _)| *crate_name == name)
            .unwrap_or_else(|| panic!("{name} has no place in the dependency rule"));
        for dependency in package["dependencies"].as_array().unwrap() {
            let on = dependency["name"].as_str().unwrap();
            // Dev-dependencies may reach anywhere: tests of a crate use real neighbours.
            if on.starts_with("leadgate") && dependency["kind"].is_null() {
                assert!(below.contains(&on), "{name} must not depend on {on}");
            }
        }
    }
}
