//! One automation action as written in a policy (`{ create_task = "call", title = "...",
//! due_in = "4h" }`), read into an `Action` or a message naming the mistake.

use crate::automation::{Action, Assignee, Recipient};
use crate::followup::TaskType;
use crate::sla::Within;
use crate::Stage;
use chrono::Duration;
use toml::{Table, Value};

const ACTIONS: &str = "create_task, add_tag, notify, move_to, assign, webhook, send_email, enrol";

fn text<'a>(table: &'a Table, key: &str) -> Option<&'a str> {
    table
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn only(table: &Table, action: &str, allowed: &[&str]) -> Result<(), String> {
    match table
        .keys()
        .find(|k| k.as_str() != action && !allowed.contains(&k.as_str()))
    {
        Some(extra) => Err(format!("{action}: '{extra}' is not a setting of it")),
        None => Ok(()),
    }
}

/// Reads one action.
pub(crate) fn action(table: &Table) -> Result<Action, String> {
    let Some(kind) = table
        .keys()
        .find(|k| ACTIONS.split(", ").any(|a| a == k.as_str()))
    else {
        let first = table.keys().next().map(String::as_str).unwrap_or("");
        return Err(format!("'{first}' is not an action; use one of {ACTIONS}"));
    };
    match kind.as_str() {
        "create_task" => {
            only(table, kind, &["title", "due_in"])?;
            let task_type = text(table, kind)
                .unwrap_or_default()
                .parse::<TaskType>()
                .map_err(|e| format!("create_task: {e}"))?;
            let due_in = match text(table, "due_in").unwrap_or("0m") {
                "0m" => Duration::zero(),
                raw => match raw
                    .parse::<Within>()
                    .map_err(|e| format!("create_task: due_in: {e}"))?
                {
                    Within::Work(d) => d,
                    Within::WorkingDays(n) => Duration::days(n.into()),
                },
            };
            let title = text(table, "title")
                .unwrap_or("Follow up")
                .chars()
                .take(200)
                .collect();
            Ok(Action::CreateTask {
                task_type,
                title,
                due_in,
            })
        }
        "add_tag" => {
            only(table, kind, &[])?;
            let tag = text(table, kind).ok_or("add_tag names the tag")?;
            if tag.chars().count() > 50 {
                return Err("add_tag: a tag is at most 50 characters".into());
            }
            Ok(Action::AddTag(tag.to_owned()))
        }
        "notify" => {
            only(table, kind, &["message"])?;
            let to = match text(table, kind).ok_or("notify names owner, manager or a person")? {
                "owner" => Recipient::Owner,
                "manager" => Recipient::Manager,
                name => Recipient::Named(name.to_owned()),
            };
            let message = text(table, "message").ok_or("notify needs a message")?;
            Ok(Action::Notify {
                to,
                message: message.chars().take(500).collect(),
            })
        }
        "move_to" => {
            only(table, kind, &["reason"])?;
            let stage = text(table, kind)
                .unwrap_or_default()
                .parse::<Stage>()
                .map_err(|e| format!("move_to: {e}"))?;
            let reason = text(table, "reason")
                .ok_or("move_to needs a reason (as a person moving it would)")?;
            Ok(Action::MoveTo {
                stage,
                reason: reason.to_owned(),
            })
        }
        "assign" => {
            only(table, kind, &[])?;
            Ok(Action::Assign(
                match text(table, kind).ok_or("assign names a rep, or \"route\"")? {
                    "route" => Assignee::Route,
                    rep => Assignee::Rep(rep.to_owned()),
                },
            ))
        }
        "webhook" => {
            only(table, kind, &[])?;
            match table.get(kind).and_then(Value::as_integer) {
                Some(id) if id > 0 => Ok(Action::Webhook(id)),
                _ => Err("webhook names a subscription by its id (a positive number)".into()),
            }
        }
        "send_email" => {
            only(table, kind, &[])?;
            let template = text(table, kind).ok_or("send_email names a template")?;
            Ok(Action::SendEmail(template.to_owned()))
        }
        "enrol" => {
            only(table, kind, &[])?;
            let sequence = text(table, kind).ok_or("enrol names a sequence")?;
            Ok(Action::Enrol(sequence.to_owned()))
        }
        other => Err(format!("'{other}' is not an action; use one of {ACTIONS}")),
    }
}

/// One step of a sequence: `{ after = "2d", send_email = "welcome" }`.
pub(crate) fn step(table: &Table) -> Result<(Duration, Action), String> {
    let after = match text(table, "after") {
        None => {
            return Err("a step says when it runs: after = \"2d\" (after the step before)".into())
        }
        Some(raw) => match raw.parse::<Within>().map_err(|e| format!("after: {e}"))? {
            Within::Work(d) => d,
            Within::WorkingDays(n) => Duration::days(n.into()),
        },
    };
    let mut rest = table.clone();
    rest.remove("after");
    let action = action(&rest)?;
    if matches!(action, Action::Enrol(_)) {
        return Err("a step cannot enrol in a sequence".into());
    }
    Ok((after, action))
}
