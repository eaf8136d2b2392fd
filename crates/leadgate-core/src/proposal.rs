//! A draft policy from proposed points: the policy in force with each fitted rule's points
//! replaced and the rules the data finds useless left out, checked as any policy is. Only a
//! person applies it, after its backtest and diff.

use crate::policy::Policy;
use crate::scoring::RuleKind;

/// One rule's fate in the draft: its new points, or `None` to leave it out.
pub struct Change<'a> {
    pub kind: RuleKind,
    pub name: &'a str,
    pub points: Option<f64>,
}

/// The draft document, or why the changes make no valid policy. (The document is written
/// anew, so the comments of the one in force are not carried over.)
pub fn draft(document: &str, changes: &[Change], message: &str) -> Result<String, String> {
    let mut table: toml::Table = document
        .parse()
        .map_err(|e| format!("the policy in force does not read as TOML: {e}"))?;
    for (section, kind) in [("fit", RuleKind::Fit), ("behaviour", RuleKind::Behaviour)] {
        let Some(toml::Value::Array(rules)) = table.get_mut(section) else {
            continue;
        };
        rules.retain_mut(|rule| {
            let Some(rule) = rule.as_table_mut() else {
                return true;
            };
            let name = rule
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or_default();
            match changes.iter().find(|c| c.kind == kind && c.name == name) {
                Some(Change { points: None, .. }) => false,
                Some(Change {
                    points: Some(points),
                    ..
                }) => {
                    rule.insert("points".into(), toml::Value::Float(*points));
                    // A cap below one event's points would refuse the draft.
                    let cap = rule
                        .get("cap")
                        .and_then(|c| c.as_float().or_else(|| c.as_integer().map(|i| i as f64)));
                    if let Some(cap) = cap {
                        if cap < points.abs() {
                            rule.insert("cap".into(), toml::Value::Float(points.abs()));
                        }
                    }
                    true
                }
                None => true,
            }
        });
    }
    let text = toml::to_string(&table).map_err(|e| format!("the draft cannot be written: {e}"))?;
    let text = format!("# {}\n{text}", message.replace('\n', " "));
    Policy::parse(&text).map_err(|e| format!("the draft is not a valid policy: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_changes_points_drops_useless_rules_and_stays_valid() {
        let changes = [
            Change {
                kind: RuleKind::Behaviour,
                name: "Browsed the site",
                points: Some(2.5),
            },
            Change {
                kind: RuleKind::Behaviour,
                name: "Opened an email",
                points: None,
            },
        ];
        let text = draft(Policy::STARTER, &changes, "proposed from 812 closed leads").unwrap();
        let policy = Policy::parse(&text).unwrap();
        let browsed = policy
            .behaviour
            .iter()
            .find(|r| r.name == "Browsed the site")
            .unwrap();
        assert_eq!(browsed.points, 2.5);
        assert!(policy.behaviour.iter().all(|r| r.name != "Opened an email"));
        assert_eq!(
            policy.fit.len(),
            Policy::parse(Policy::STARTER).unwrap().fit.len()
        );
        assert!(text.starts_with("# proposed from 812 closed leads\n"));
        // A cap is raised to at least one event's points, or the draft would be refused.
        let big = [Change {
            kind: RuleKind::Behaviour,
            name: "Browsed the site",
            points: Some(40.0),
        }];
        assert!(draft(Policy::STARTER, &big, "x").is_ok());
    }
}
