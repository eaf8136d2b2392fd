//! Settings from a file: `--config FILE` (or `LEADGATE_CONFIG`) names a TOML file whose
//! keys are the long names of the flags that have an environment variable (`database_url`,
//! `bind`, `smtp_url`, `trusted_proxies`...). A key becomes that variable unless the
//! environment already sets it, so a flag beats the environment, which beats the file.
//! A key no flag has is refused by name.

use anyhow::{bail, Context};
use clap::CommandFactory;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The variable that names the settings file (also `--config`).
pub const CONFIG_ENV: &str = "LEADGATE_CONFIG";

/// Environment variables that are not settings (the user's name records who acted).
const NOT_SETTINGS: [&str; 2] = ["USER", CONFIG_ENV];

/// Each settable key (a flag's long name, `-` as `_`) and its environment variable, from
/// every subcommand's flags.
fn settable() -> BTreeMap<String, String> {
    fn walk(command: &clap::Command, keys: &mut BTreeMap<String, String>) {
        for arg in command.get_arguments() {
            let (Some(long), Some(env)) = (arg.get_long(), arg.get_env()) else {
                continue;
            };
            let env = env.to_string_lossy().into_owned();
            if !NOT_SETTINGS.contains(&env.as_str()) {
                keys.insert(long.replace('-', "_"), env);
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, keys);
        }
    }
    let mut keys = BTreeMap::new();
    walk(&super::Cli::command(), &mut keys);
    keys
}

/// The environment a settings file asks for: (variable, value) for each key, every
/// mistake named at once. `is_set` says whether the environment already sets a variable.
pub fn variables(
    text: &str,
    keys: &BTreeMap<String, String>,
    is_set: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, Vec<String>> {
    let table: toml::Table = text.parse().map_err(|e| vec![format!("{e}")])?;
    let mut errors = Vec::new();
    let mut wanted = Vec::new();
    for (key, value) in &table {
        let Some(env) = keys.get(key) else {
            let known: Vec<&str> = keys.keys().map(String::as_str).collect();
            errors.push(format!(
                "{key}: is not a setting; settings are {}",
                known.join(", ")
            ));
            continue;
        };
        let text = match value {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(n) => Some(n.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(s) => Some(s.clone()),
                    toml::Value::Integer(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|items| items.join(",")),
            _ => None,
        };
        match text {
            Some(_) if is_set(env) => {}
            Some(text) => wanted.push((env.clone(), text)),
            None => errors.push(format!(
                "{key}: must be a string, a whole number, true/false or a list of strings, not a {}",
                value.type_str()
            )),
        }
    }
    if errors.is_empty() {
        Ok(wanted)
    } else {
        Err(errors)
    }
}

/// The settings file the command line or the environment names, if any.
fn config_path(args: &[String]) -> Option<PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV).map(PathBuf::from)
}

/// Reads the settings file, if one is named, into the environment. Runs first thing in
/// `main`, before any thread exists (setting variables is only sound then).
pub fn load() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = config_path(&args) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the settings file {}", path.display()))?;
    match variables(&text, &settable(), |env| std::env::var_os(env).is_some()) {
        Ok(wanted) => {
            for (env, value) in wanted {
                std::env::set_var(env, value);
            }
            Ok(())
        }
        Err(errors) => bail!("{}:\n  {}", path.display(), errors.join("\n  ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_flag_with_its_variable() {
        let keys = settable();
        assert_eq!(keys["database_url"], "DATABASE_URL");
        assert_eq!(keys["bind"], "LEADGATE_BIND");
        assert_eq!(keys["trusted_proxies"], "LEADGATE_TRUSTED_PROXIES");
        assert!(!keys.contains_key("actor"), "who acted is not a setting");
        assert!(!keys.contains_key("config"));
    }

    #[test]
    fn a_file_fills_what_the_environment_leaves_and_names_every_mistake() {
        let keys = settable();
        let text = r#"
database_url = "postgres://db/leadgate"
bind = "0.0.0.0:8080"
job_lease_secs = 300
webhook_allow_private = false
trusted_proxies = ["10.0.0.0/8", "192.168.1.1"]
"#;
        let wanted = variables(text, &keys, |env| env == "LEADGATE_BIND").unwrap();
        assert_eq!(
            wanted,
            [
                ("LEADGATE_BIND", None),
                ("DATABASE_URL", Some("postgres://db/leadgate")),
                ("LEADGATE_JOB_LEASE_SECS", Some("300")),
                ("LEADGATE_TRUSTED_PROXIES", Some("10.0.0.0/8,192.168.1.1")),
                ("LEADGATE_WEBHOOK_ALLOW_PRIVATE", Some("false")),
            ]
            .into_iter()
            .filter_map(|(env, value)| value.map(|v| (env.to_owned(), v.to_owned())))
            .collect::<Vec<_>>()
        );
        let errors = variables(
            "databse_url = \"x\"\nbind = 1.5\nsmtp_url = { host = \"x\" }\n",
            &keys,
            |_| false,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[1].starts_with("databse_url: is not a setting; settings are "));
        assert!(errors[1].contains("database_url"));
        assert!(errors[0].starts_with("bind: must be"), "{errors:?}");
        assert!(errors[2].starts_with("smtp_url: must be"), "{errors:?}");
        assert!(variables("bind = ", &keys, |_| false).is_err());
    }

    #[test]
    fn the_file_is_named_by_flag_or_environment() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            config_path(&args(&["leadgate", "serve", "--config", "a.toml"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(&args(&["leadgate", "--config=b.toml", "serve"])),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            config_path(&args(&["leadgate", "import", "--", "--config"])),
            std::env::var_os(CONFIG_ENV).map(PathBuf::from)
        );
    }
}
