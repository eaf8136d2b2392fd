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

/// Core's modules form no cycle (ARCHITECTURE.md): each names with `crate::` only modules
/// below it, outside its tests, so a module can be read and changed without the ones
/// above it.
#[test]
fn core_modules_form_no_cycle() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../leadgate-core/src");
    let mut uses: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let file = if path.is_dir() {
            path.join("mod.rs")
        } else {
            path.clone()
        };
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if name == "lib" || !file.exists() || file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut text = String::new();
        let folder = path.is_dir();
        for f in if folder {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![path.clone()]
        } {
            let code = std::fs::read_to_string(&f).unwrap();
            // Tests may use anything of the crate.
            let code = code.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            text.push_str(code);
        }
        uses.insert(name.to_owned(), modules_named(&text));
    }
    assert!(uses.len() > 20, "{} modules read", uses.len());
    let known: std::collections::BTreeSet<String> = uses.keys().cloned().collect();
    for (module, named) in &uses {
        // Every module reachable from what `module` names must not lead back to it.
        let mut seen = std::collections::BTreeSet::new();
        let mut todo: Vec<(String, Vec<String>)> = named
            .iter()
            .filter(|m| known.contains(*m) && *m != module)
            .map(|m| (m.clone(), vec![module.clone(), m.clone()]))
            .collect();
        while let Some((next, path)) = todo.pop() {
            assert!(
                &next != module,
                "core modules form a cycle: {}",
                path.join(" -> ")
            );
            if !seen.insert(next.clone()) {
                continue;
            }
            for further in &uses[&next] {
                if known.contains(further) && *further != next {
                    let mut longer = path.clone();
                    longer.push(further.clone());
                    todo.push((further.clone(), longer));
                }
            }
        }
    }
}

/// The modules a source names as `crate::module` or in `use crate::{module, ...}`.
fn modules_named(code: &str) -> std::collections::BTreeSet<String> {
    let mut named = std::collections::BTreeSet::new();
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            for part in group.split('}').next().unwrap_or("").split(',') {
                let name = word(part.trim());
                if !name.is_empty() {
                    named.insert(name);
                }
            }
        } else {
            let name = word(rest);
            if !name.is_empty() {
                named.insert(name);
            }
        }
    }
    named
}
