//! Automation rules of the policy: a trigger (an event type, with conditions on its payload)
//! and conditions on the lead -> actions (create a task, tag, notify, move, assign, send a
//! webhook). Loop protection: what a rule does is recorded as done by that rule at a depth,
//! a rule never fires on its own doing, and nothing fires past `MAX_DEPTH`.

use crate::condition::{holds, payload_has};
use crate::condition::{Condition, FieldRef};
use crate::followup::TaskType;
use crate::source::named_enum;
use crate::{EventType, Lead, Stage};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// How many rules may fire in a chain started by one event (A's action triggers B, whose
/// action triggers C): the chain stops there.
pub const MAX_DEPTH: u32 = 3;

/// Who a notification goes to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Owner,
    /// The manager of the owner's team.
    Manager,
    Named(String),
}

/// Who gets the lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// By the policy's routing rules.
    Route,
    Rep(String),
}

/// One thing a rule does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateTask {
        task_type: TaskType,
        title: String,
        #[serde(serialize_with = "minutes")]
        due_in: Duration,
    },
    AddTag(String),
    Notify {
        to: Recipient,
        message: String,
    },
    MoveTo {
        stage: Stage,
        reason: String,
    },
    Assign(Assignee),
    /// Send the triggering event to this webhook subscription.
    Webhook(i64),
    /// Email the lead from this template (never a person who refused email).
    SendEmail(String),
    /// Start this nurture sequence for the lead.
    Enrol(String),
}

named_enum!(
    /// Where a lead's enrolment in a sequence stands.
    EnrolmentState, "enrolment state" {
        /// Its next step is scheduled.
        Active => "active",
        /// Every step ran.
        Finished => "finished",
        /// The lead replied, moved on, or could no longer be reached.
        Stopped => "stopped",
    }
);

/// A nurture sequence: timed steps, each an action, run one after the other from the
/// enrolment; it stops when the lead replies (a call connected, a meeting, an email received)
/// or is no longer being nurtured (SQL and beyond, disqualified, recycled).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub name: String,
    /// (wait after the step before, or after enrolling, action)
    pub steps: Vec<(Duration, Action)>,
}

/// Whether an event is the lead answering.
pub fn is_reply(event_type: &str, payload: &Value) -> bool {
    match event_type {
        "meeting_logged" | "meeting_booked" => true,
        "call_logged" => payload["outcome"] == "connected",
        "email_logged" => payload["outcome"] == "received",
        _ => false,
    }
}

/// Whether a lead in this stage is still nurtured.
pub fn nurtured(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Prospect | Stage::Lead | Stage::Mql | Stage::Sal
    )
}

fn minutes<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(d.num_minutes())
}

impl Action {
    /// In words, for dry runs and the `automation_fired` event.
    pub fn describe(&self) -> String {
        match self {
            Action::CreateTask {
                task_type,
                title,
                due_in,
            } => format!(
                "create a {task_type} task '{title}' due in {} min",
                due_in.num_minutes()
            ),
            Action::AddTag(tag) => format!("tag '{tag}'"),
            Action::Notify { to, .. } => match to {
                Recipient::Owner => "notify the owner".into(),
                Recipient::Manager => "notify the team's manager".into(),
                Recipient::Named(name) => format!("notify {name}"),
            },
            Action::MoveTo { stage, .. } => format!("move to {stage}"),
            Action::Assign(Assignee::Route) => "route to a rep".into(),
            Action::Assign(Assignee::Rep(rep)) => format!("assign to {rep}"),
            Action::Webhook(id) => format!("send to webhook {id}"),
            Action::SendEmail(template) => format!("email template '{template}'"),
            Action::Enrol(sequence) => format!("enrol in sequence '{sequence}'"),
        }
    }
}

/// What sets a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An event of this type is stored.
    Event(EventType),
    /// A lead has had no activity (events other than automation's and reminders') for this
    /// many days; checked every few minutes.
    Inactive { days: u32 },
}

impl Trigger {
    /// As written after `on =`.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Event(t) => t.as_str(),
            Trigger::Inactive { .. } => "inactive",
        }
    }
}

/// Events that are not a lead's activity: what automation, reminders, clocks and scoring
/// record.
pub const NOT_ACTIVITY: [&str; 4] = [
    "automation_fired",
    "task_due",
    "sla_breached",
    "grade_changed",
];

/// One automation rule.
#[derive(Debug, Clone)]
pub struct AutomationRule {
    pub name: String,
    pub on: Trigger,
    /// Payload key -> accepted values (folded), all keys must match.
    pub when: BTreeMap<String, Vec<String>>,
    /// Only leads in these stages (empty: any).
    pub stages: Vec<Stage>,
    /// Conditions on the lead's fields, all must hold.
    pub conditions: Vec<(FieldRef, Condition)>,
    pub actions: Vec<Action>,
}

/// The actor recorded for what a rule does: `automation:<depth>:<rule>`.
pub fn actor(rule: &str, depth: u32) -> String {
    format!("automation:{depth}:{rule}")
}

/// The depth and rule of an actor written by `actor` (None: a person or the system).
pub fn origin(actor: Option<&str>) -> Option<(u32, &str)> {
    let rest = actor?.strip_prefix("automation:")?;
    let (depth, rule) = rest.split_once(':')?;
    Some((depth.parse().ok()?, rule))
}

impl AutomationRule {
    /// Whether the rule fires on an event (type, payload, who made it) for a lead.
    pub fn fires(
        &self,
        event_type: EventType,
        payload: &Value,
        by: Option<&str>,
        lead: &Lead,
    ) -> bool {
        if self.on != Trigger::Event(event_type) {
            return false;
        }
        if let Some((depth, rule)) = origin(by) {
            if rule == self.name || depth >= MAX_DEPTH {
                return false;
            }
        }
        payload_has(&self.when, payload) && self.holds_for(lead)
    }

    /// Whether the lead is one the rule acts on (its stages and field conditions).
    pub fn holds_for(&self, lead: &Lead) -> bool {
        (self.stages.is_empty() || self.stages.contains(&lead.stage))
            && self
                .conditions
                .iter()
                .all(|(field, condition)| holds(condition, lead, field))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::PatchMode;
    use crate::policy::Policy;
    use crate::LeadPatch;
    use serde_json::json;

    fn policy(rules: &str) -> Result<Policy, Vec<String>> {
        Policy::parse(&format!("{}\n{rules}", Policy::STARTER))
            .map_err(|e| e.0.into_iter().map(|e| e.message).collect())
    }

    fn lead(fields: Value) -> Lead {
        let mut lead = Lead::default();
        LeadPatch::parse(fields.as_object().unwrap(), PatchMode::Create)
            .unwrap()
            .apply(&mut lead)
            .unwrap();
        lead
    }

    const WEBINAR: &str = r#"
[[automation]]
name = "Call webinar attendees"
on = "webinar_attended"
where = { webinar = ["pricing-101"] }
stage = ["lead", "mql"]
if = [{ field = "country", in = ["Vietnam"] }]
do = [
  { create_task = "call", title = "Call after the webinar", due_in = "4h" },
  { add_tag = "webinar" },
  { notify = "owner", message = "Your lead attended the pricing webinar" },
]
"#;

    #[test]
    fn a_rule_fires_on_its_event_payload_stage_and_fields() {
        let policy = policy(WEBINAR).unwrap();
        let rule = &policy.automation[0];
        assert_eq!(rule.actions.len(), 3);
        assert_eq!(
            rule.actions[0].describe(),
            "create a call task 'Call after the webinar' due in 240 min"
        );
        let vn = lead(json!({"country": "Vietnam"}));
        let payload = json!({"webinar": "Pricing-101"});
        assert!(rule.fires(EventType::WebinarAttended, &payload, None, &vn));
        assert!(!rule.fires(EventType::PageViewed, &payload, None, &vn));
        assert!(!rule.fires(
            EventType::WebinarAttended,
            &json!({"webinar": "intro"}),
            None,
            &vn
        ));
        assert!(!rule.fires(
            EventType::WebinarAttended,
            &payload,
            None,
            &lead(json!({"country": "Germany"}))
        ));
        let mut sal = vn.clone();
        sal.stage = Stage::Sal;
        assert!(!rule.fires(EventType::WebinarAttended, &payload, None, &sal));
    }

    #[test]
    fn rules_never_fire_on_their_own_doing_or_past_the_depth() {
        let policy = policy(WEBINAR).unwrap();
        let rule = &policy.automation[0];
        let vn = lead(json!({"country": "Vietnam"}));
        let payload = json!({"webinar": "pricing-101"});
        let by_self = actor("Call webinar attendees", 1);
        assert!(!rule.fires(EventType::WebinarAttended, &payload, Some(&by_self), &vn));
        assert!(rule.fires(
            EventType::WebinarAttended,
            &payload,
            Some(&actor("other", 2)),
            &vn
        ));
        assert!(!rule.fires(
            EventType::WebinarAttended,
            &payload,
            Some(&actor("other", MAX_DEPTH)),
            &vn
        ));
        assert_eq!(origin(Some("automation:2:a:b")), Some((2, "a:b")));
        assert_eq!(origin(Some("apikey:zapier")), None);
    }

    #[test]
    fn an_inactivity_rule_names_its_days() {
        let policy = policy(
            "[[automation]]\nname = \"Nudge\"\non = \"inactive\"\ndays = 14\nstage = [\"sal\"]\ndo = [{ create_task = \"call\" }]\n",
        )
        .unwrap();
        assert_eq!(policy.automation[0].on, Trigger::Inactive { days: 14 });
        assert!(!policy.automation[0].fires(
            EventType::PageViewed,
            &json!({}),
            None,
            &Lead::default()
        ));
        let no_days = policy_errors(
            "[[automation]]\nname = \"N\"\non = \"inactive\"\ndo = [{ add_tag = \"x\" }]\n",
        );
        assert!(no_days[0].contains("days"), "{no_days:?}");
        let stray = policy_errors("[[automation]]\nname = \"N\"\non = \"page_viewed\"\ndays = 3\ndo = [{ add_tag = \"x\" }]\n");
        assert!(stray[0].contains("days"), "{stray:?}");
    }

    fn policy_errors(rules: &str) -> Vec<String> {
        policy(rules).unwrap_err()
    }

    #[test]
    fn mistakes_in_rules_are_named() {
        let errors = policy(
            r#"
[[automation]]
name = "broken"
on = "webinar"
stage = ["lunch"]
if = [{ field = "shoe_size", in = ["42"] }]
do = [
  { create_task = "fax" },
  { create_task = "call", due_in = "soon" },
  { move_to = "sal" },
  { notify = "owner" },
  { dance = true },
  { webhook = -1 },
]
"#,
        )
        .unwrap_err();
        for part in [
            "unknown event type 'webinar'",
            "lunch",
            "shoe_size",
            "fax",
            "'soon'",
            "move_to needs a reason",
            "notify needs a message",
            "'dance'",
            "webhook",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(part)),
                "{part}: {errors:#?}"
            );
        }
        let empty =
            policy("[[automation]]\nname = \"x\"\non = \"page_viewed\"\ndo = []\n").unwrap_err();
        assert!(empty[0].contains("does nothing"), "{empty:?}");
    }
}
