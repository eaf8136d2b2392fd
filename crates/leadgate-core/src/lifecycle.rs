//! The lifecycle state machine: which stage moves are allowed, which need a reason from the
//! policy's lists, and when a SQL needs BANT. Refusals name the stages and the rule.

use crate::event::EventType;
use crate::policy::Policy;
use crate::scoring::{BantStatus, EventFact, Score};
use crate::stage::Stage;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Who asks for a move: the policy itself (scoring), a person, or a record of what already
/// happened elsewhere (an outcome a file brings for a lead still open here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    Policy,
    Person,
    /// Closes an open lead as won (customer) or lost (disqualified) because the books say so:
    /// no step is skipped by a person's choice, so no stage rule or reason list applies.
    Record,
}

/// A requested move, with what the rules need to judge it.
#[derive(Debug, Clone)]
pub struct MoveRequest<'a> {
    pub from: Stage,
    pub to: Stage,
    pub reason: Option<&'a str>,
    /// A person qualifies as SQL although BANT is not satisfied (needs a reason).
    pub override_bant: bool,
    pub mover: Mover,
    /// Whether the policy's MQL rule holds for the lead now.
    pub mql_rule_holds: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move from {from} to {to}: {rule}")]
pub struct MoveRefused {
    pub from: Stage,
    pub to: Stage,
    pub rule: String,
}

/// Stages from which a lead can still move on (not customer, not disqualified).
pub fn is_open(stage: Stage) -> bool {
    !matches!(stage, Stage::Customer | Stage::Disqualified)
}

/// Stages in which an owned lead is its rep's work in hand, counted in their load: every
/// stage but customer, disqualified and recycled.
pub fn in_hand(stage: Stage) -> bool {
    !matches!(
        stage,
        Stage::Customer | Stage::Disqualified | Stage::Recycled
    )
}

fn reason_in<'a>(
    reason: Option<&'a str>,
    lists: &[&[String]],
    what: &str,
) -> Result<&'a str, String> {
    let allowed: Vec<&String> = lists.iter().flat_map(|l| l.iter()).collect();
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => Err(format!(
            "{what} needs a reason, one of: {}",
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(r) if allowed.iter().any(|a| a.eq_ignore_ascii_case(r)) => Ok(r),
        Some(r) => Err(format!(
            "'{r}' is not a reason the policy allows for {what}; use one of: {}",
            allowed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn free_reason(reason: Option<&str>, what: &str) -> Result<(), String> {
    match reason.map(str::trim) {
        Some(r) if !r.is_empty() => Ok(()),
        _ => Err(format!("{what} needs a reason")),
    }
}

/// Judges a move under a policy and the lead's BANT. `Ok` means it may happen.
pub fn check(request: &MoveRequest, bant: &BantStatus, policy: &Policy) -> Result<(), MoveRefused> {
    use Stage::*;
    let (from, to) = (request.from, request.to);
    let refuse = |rule: String| MoveRefused { from, to, rule };
    let stages = &policy.stages;
    if from == to {
        return Err(refuse(format!("the lead is already {from}")));
    }
    let reopening = from == Disqualified && to == Lead;
    if !is_open(from) && !reopening {
        return Err(refuse(format!(
            "{from} is final{}",
            if from == Disqualified {
                "; a disqualified lead can only be reopened as lead, with a reason"
            } else {
                ""
            }
        )));
    }
    if request.mover == Mover::Record {
        return match to {
            Customer | Disqualified => Ok(()),
            _ => Err(refuse(
                "a recorded outcome closes a lead as customer or disqualified".into(),
            )),
        };
    }
    match (from, to) {
        (Disqualified, Lead) => free_reason(request.reason, "reopening a disqualified lead").map_err(refuse),
        (_, Disqualified) => {
            let lists: Vec<&[String]> = if from == Mql {
                vec![&stages.sal_reject_reasons, &stages.disqualify_reasons]
            } else {
                vec![&stages.disqualify_reasons]
            };
            reason_in(request.reason, &lists, "disqualifying").map(|_| ()).map_err(refuse)
        }
        (_, Recycled) => {
            let lists: Vec<&[String]> = if from == Mql {
                vec![&stages.sal_reject_reasons, &stages.recycle_reasons]
            } else {
                vec![&stages.recycle_reasons]
            };
            reason_in(request.reason, &lists, "recycling").map(|_| ()).map_err(refuse)
        }
        (Prospect, Lead) | (Recycled, Lead) => Ok(()),
        (Prospect | Lead | Recycled, Mql) => {
            if request.mql_rule_holds {
                Ok(())
            } else if request.mover == Mover::Person {
                free_reason(request.reason, "marking an MQL that the policy's MQL rule does not pass").map_err(refuse)
            } else {
                Err(refuse("the policy's MQL rule does not hold".into()))
            }
        }
        (Mql, Lead) => {
            if request.mover == Mover::Policy && !request.mql_rule_holds {
                Ok(())
            } else {
                Err(refuse(
                    "only the policy moves an MQL back to lead (when its MQL rule stops holding); to reject it, recycle or disqualify it with a reason".into(),
                ))
            }
        }
        (Mql, Sal) => {
            if request.mover == Mover::Person {
                Ok(())
            } else {
                Err(refuse("sales accepts an MQL; the policy does not".into()))
            }
        }
        (Sal, Sql) => {
            if request.mover != Mover::Person {
                Err(refuse("a rep qualifies a SQL; the policy does not".into()))
            } else if bant.sql_ready {
                Ok(())
            } else if request.override_bant {
                free_reason(request.reason, "qualifying as SQL without BANT").map_err(refuse)
            } else {
                let missing: Vec<&str> = bant.missing().map(|p| p.name()).collect();
                Err(refuse(format!(
                    "BANT does not satisfy the policy (missing: {}); confirm it, or override with a reason",
                    missing.join(", ")
                )))
            }
        }
        (Sql, Opportunity) | (Sql, Customer) | (Opportunity, Customer) => {
            if request.mover == Mover::Person {
                Ok(())
            } else {
                Err(refuse("a rep records this step; the policy does not".into()))
            }
        }
        _ => Err(refuse(format!(
            "the lifecycle goes prospect -> lead -> mql -> sal -> sql -> opportunity -> customer; {from} cannot go to {to} directly"
        ))),
    }
}

/// Where a lead stands, as the policy's own moves read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub stage: Stage,
    /// Who moved it into its stage.
    pub entered_by: Mover,
    /// When it entered its stage (`None`: it was made in it).
    pub entered_at: Option<DateTime<Utc>>,
}

/// When a lead last entered `stage`, from its events (the last `stage_changed` into it).
pub fn entered_at(events: &[EventFact], stage: Stage) -> Option<DateTime<Utc>> {
    events
        .iter()
        .filter(|e| {
            e.event_type == EventType::StageChanged
                && e.payload.get("to").and_then(|t| t.as_str()) == Some(stage.as_str())
        })
        .map(|e| e.occurred_at)
        .max()
}

/// Whether a recycled lead has rested: the policy's cool-down has passed since it was
/// recycled, and it engaged since (a behaviour rule gave it points for something it did
/// after). Without a cool-down, or when nobody recycled it (made so), it has.
fn rested(standing: &Standing, score: &Score, policy: &Policy, now: DateTime<Utc>) -> bool {
    let days = policy.stages.recycle_cooldown_days;
    match standing.entered_at {
        Some(recycled) if days > 0 => {
            now - recycled >= Duration::days(i64::from(days))
                && score.last_engaged.is_some_and(|engaged| engaged > recycled)
        }
        _ => true,
    }
}

/// The move the policy makes by itself when a lead's score says its MQL status changed
/// (`[stages] auto_mql`): into MQL when the rule holds (from prospect or lead, and from
/// recycled once it has rested: the cool-down passed and it engaged since), back to lead
/// when it no longer does, if the policy made it an MQL or a junk flag blocks it (an MQL a
/// person marked with their reason stays one unless it is flagged as junk); with the
/// reason the move records. `None`: no move (the policy moves nothing by itself, the
/// status did not change, or the lifecycle refuses). `version` is the policy's, named in
/// the reason.
pub fn policy_move(
    standing: &Standing,
    score: &Score,
    policy: &Policy,
    version: i64,
    now: DateTime<Utc>,
) -> Option<(Stage, MoveReason)> {
    if !policy.stages.auto_mql {
        return None;
    }
    let (from, entered) = (standing.stage, standing.entered_by);
    // Junk is kept and scored, but does not qualify unless the policy lets its flags.
    let mql = score.mql;
    let to = match from {
        Stage::Prospect | Stage::Lead if mql => Stage::Mql,
        Stage::Recycled if mql && rested(standing, score, policy, now) => Stage::Mql,
        Stage::Mql if !mql && (entered == Mover::Policy || !score.blocked_by.is_empty()) => {
            Stage::Lead
        }
        _ => return None,
    };
    let request = MoveRequest {
        from,
        to,
        reason: None,
        override_bant: false,
        mover: Mover::Policy,
        mql_rule_holds: mql,
    };
    check(&request, &score.bant, policy).ok()?;
    let reason = if to == Stage::Mql {
        mql_reason(score, policy)
    } else if !score.blocked_by.is_empty() {
        MoveReason::Junk {
            flags: score
                .blocked_by
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        }
    } else {
        MoveReason::MqlRuleLost {
            version,
            score: score.score,
        }
    };
    Some((to, reason))
}

/// Who the policy's own moves are recorded as: the policy and its version. A stage entered
/// by this actor is the policy's to take back.
pub fn policy_actor(version: i64) -> String {
    format!("policy:v{version}")
}

/// The reason a person's move records: the one they gave, else why the MQL rule holds (a
/// move into MQL), else who moved it.
pub fn reason_of_move(
    given: Option<&str>,
    to: Stage,
    score: &Score,
    policy: &Policy,
    actor: &str,
) -> MoveReason {
    match given.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => MoveReason::Given {
            text: reason.to_owned(),
        },
        None if to == Stage::Mql => mql_reason(score, policy),
        None => MoveReason::MovedBy {
            actor: actor.to_owned(),
        },
    }
}

/// Why a lead is an MQL: its score and fit grade against the policy's minimums.
pub fn mql_reason(score: &Score, policy: &Policy) -> MoveReason {
    MoveReason::MqlRuleHolds {
        score: score.score,
        min_score: policy.mql.min_score,
        fit: policy.mql.min_fit.map(|g| FitCheck {
            grade: score.fit_grade,
            at_least: g.letter(),
        }),
    }
}

/// Why a lead moved, as its `stage_changed` event records it: the words a person gave, or
/// the rule that moved it, kept as data so each reader sees it in their own language. Its
/// English text (`Display`) is the event's `reason`, for the API and the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MoveReason {
    /// What a person (or an automation rule's author) wrote.
    Given {
        text: String,
    },
    MqlRuleHolds {
        score: f64,
        min_score: f64,
        fit: Option<FitCheck>,
    },
    /// The MQL rule of policy `version` no longer holds.
    MqlRuleLost {
        version: i64,
        score: f64,
    },
    /// Junk flags (`JunkReason` names) keep the lead from qualifying.
    Junk {
        flags: Vec<String>,
    },
    /// Nobody answered within the response deadline: recycled by the deadline's rule.
    NoResponse,
    MovedBy {
        actor: String,
    },
}

/// The fit grade a lead has against the one the MQL rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitCheck {
    pub grade: char,
    pub at_least: char,
}

impl std::fmt::Display for MoveReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MoveReason::Given { text } => f.write_str(text),
            MoveReason::MqlRuleHolds {
                score,
                min_score,
                fit,
            } => {
                write!(f, "MQL rule holds: score {score:.1} (at least {min_score})")?;
                if let Some(fit) = fit {
                    write!(
                        f,
                        " and fit grade {} (at least {})",
                        fit.grade, fit.at_least
                    )?;
                }
                Ok(())
            }
            MoveReason::MqlRuleLost { version, score } => write!(
                f,
                "MQL rule no longer holds under policy version {version}: score {score:.1}"
            ),
            MoveReason::Junk { flags } => write!(f, "flagged as junk ({})", flags.join(", ")),
            MoveReason::NoResponse => f.write_str("no response"),
            MoveReason::MovedBy { actor } => write!(f, "moved by {actor}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::BantEvidence;
    use proptest::prelude::*;

    fn policy() -> Policy {
        Policy::parse(Policy::STARTER).unwrap()
    }

    fn bant(ready: bool) -> BantStatus {
        let evidence = if ready {
            BantEvidence::Fields
        } else {
            BantEvidence::Missing
        };
        BantStatus {
            parts: [evidence; 4],
            sql_ready: ready,
        }
    }

    fn ask(from: Stage, to: Stage, reason: Option<&str>) -> MoveRequest<'_> {
        MoveRequest {
            from,
            to,
            reason,
            override_bant: false,
            mover: Mover::Person,
            mql_rule_holds: true,
        }
    }

    #[test]
    fn the_happy_path_is_allowed() {
        let p = policy();
        let path = [
            Stage::Prospect,
            Stage::Lead,
            Stage::Mql,
            Stage::Sal,
            Stage::Sql,
            Stage::Opportunity,
            Stage::Customer,
        ];
        for pair in path.windows(2) {
            assert_eq!(
                check(&ask(pair[0], pair[1], None), &bant(true), &p),
                Ok(()),
                "{} -> {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn skipping_a_stage_is_refused_with_the_rule() {
        let err = check(&ask(Stage::Mql, Stage::Sql, None), &bant(true), &policy()).unwrap_err();
        assert_eq!((err.from, err.to), (Stage::Mql, Stage::Sql));
        assert!(err
            .to_string()
            .starts_with("cannot move from mql to sql: the lifecycle goes"));
    }

    #[test]
    fn rejection_needs_a_reason_from_the_policy() {
        let p = policy();
        assert!(
            check(&ask(Stage::Mql, Stage::Recycled, None), &bant(true), &p)
                .unwrap_err()
                .rule
                .contains("needs a reason")
        );
        assert!(check(
            &ask(Stage::Mql, Stage::Recycled, Some("bored")),
            &bant(true),
            &p
        )
        .unwrap_err()
        .rule
        .contains("not a reason"));
        assert_eq!(
            check(
                &ask(Stage::Mql, Stage::Recycled, Some("Wrong contact")),
                &bant(true),
                &p
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &ask(Stage::Sql, Stage::Disqualified, Some("competitor")),
                &bant(true),
                &p
            ),
            Ok(())
        );
        assert!(
            check(
                &ask(Stage::Sql, Stage::Disqualified, Some("wrong contact")),
                &bant(true),
                &p
            )
            .is_err(),
            "a SAL reason is not a disqualify reason after SAL"
        );
    }

    #[test]
    fn sql_needs_bant_or_an_override_with_reason() {
        let p = policy();
        let err = check(&ask(Stage::Sal, Stage::Sql, None), &bant(false), &p).unwrap_err();
        assert!(
            err.rule
                .contains("missing: budget, authority, need, timeline"),
            "{}",
            err.rule
        );
        let mut over = ask(Stage::Sal, Stage::Sql, None);
        over.override_bant = true;
        assert!(check(&over, &bant(false), &p).is_err());
        over.reason = Some("CFO confirmed budget verbally");
        assert_eq!(check(&over, &bant(false), &p), Ok(()));
    }

    #[test]
    fn the_policy_moves_only_what_it_may() {
        let p = policy();
        let auto = |from, to, holds| MoveRequest {
            from,
            to,
            reason: None,
            override_bant: false,
            mover: Mover::Policy,
            mql_rule_holds: holds,
        };
        assert_eq!(
            check(&auto(Stage::Lead, Stage::Mql, true), &bant(true), &p),
            Ok(())
        );
        assert!(check(&auto(Stage::Lead, Stage::Mql, false), &bant(true), &p).is_err());
        assert_eq!(
            check(&auto(Stage::Mql, Stage::Lead, false), &bant(true), &p),
            Ok(())
        );
        assert!(check(&auto(Stage::Mql, Stage::Sal, true), &bant(true), &p).is_err());
        assert!(
            check(&ask(Stage::Mql, Stage::Lead, None), &bant(true), &p).is_err(),
            "people recycle instead"
        );
    }

    proptest! {
        #[test]
        fn final_stages_stay_final(to in 0usize..9, reason in proptest::option::of("[a-z ]{0,12}"), ready in any::<bool>()) {
            let p = policy();
            let to = Stage::ALL[to];
            prop_assert!(check(&ask(Stage::Customer, to, reason.as_deref()), &bant(ready), &p).is_err());
            let reopened = check(&ask(Stage::Disqualified, to, reason.as_deref()), &bant(ready), &p);
            prop_assert!(reopened.is_err() || to == Stage::Lead);
        }

        #[test]
        fn every_refusal_names_both_stages(from in 0usize..9, to in 0usize..9, ready in any::<bool>()) {
            let (from, to) = (Stage::ALL[from], Stage::ALL[to]);
            if let Err(e) = check(&ask(from, to, None), &bant(ready), &policy()) {
                prop_assert_eq!((e.from, e.to), (from, to));
                prop_assert!(!e.rule.is_empty());
            }
        }

        #[test]
        fn a_recorded_outcome_closes_any_open_lead_and_nothing_else(from in 0usize..9, to in 0usize..9, ready in any::<bool>()) {
            let (from, to) = (Stage::ALL[from], Stage::ALL[to]);
            let request = MoveRequest { mover: Mover::Record, ..ask(from, to, None) };
            let allowed = check(&request, &bant(ready), &policy()).is_ok();
            prop_assert_eq!(
                allowed,
                is_open(from) && from != to && matches!(to, Stage::Customer | Stage::Disqualified)
            );
        }

        #[test]
        fn a_reasonless_move_into_disqualified_or_recycled_is_always_refused(from in 0usize..9) {
            for to in [Stage::Disqualified, Stage::Recycled] {
                prop_assert!(check(&ask(Stage::ALL[from], to, None), &bant(true), &policy()).is_err());
            }
        }
    }

    /// A score of `points` under the starter policy, with the MQL rule holding or not and
    /// the junk flags that block it.
    fn scored(points: f64, mql: bool, blocked: Vec<crate::quality::JunkReason>) -> Score {
        let policy = policy();
        let mut score = crate::scoring::score_quick(
            &crate::Lead::default(),
            &[],
            crate::scoring::Marks {
                confirmed: &Default::default(),
                junk: &[],
            },
            &policy,
            chrono::Utc::now(),
        );
        score.score = points;
        score.mql = mql;
        score.blocked_by = blocked;
        score
    }

    fn now() -> DateTime<Utc> {
        "2026-12-06T10:00:00Z".parse().unwrap()
    }

    /// A lead in `stage`, moved there by `by` at a time nobody recorded.
    fn at(stage: Stage, by: Mover) -> Standing {
        Standing {
            stage,
            entered_by: by,
            entered_at: None,
        }
    }

    #[test]
    fn a_recycled_lead_comes_back_only_rested_and_engaged() {
        let p = policy();
        assert_eq!(p.stages.recycle_cooldown_days, 30);
        let recycled = |days_ago: i64| Standing {
            stage: Stage::Recycled,
            entered_by: Mover::Person,
            entered_at: Some(now() - Duration::days(days_ago)),
        };
        let engaged = |days_ago: Option<i64>| {
            let mut s = scored(90.0, true, vec![]);
            s.last_engaged = days_ago.map(|d| now() - Duration::days(d));
            s
        };
        // Recycled five days ago: the rule holds on old engagement, and on new, but it rests.
        assert_eq!(
            policy_move(&recycled(5), &engaged(Some(20)), &p, 3, now()),
            None
        );
        assert_eq!(
            policy_move(&recycled(5), &engaged(Some(1)), &p, 3, now()),
            None
        );
        // Rested, but nothing new since it was recycled.
        assert_eq!(
            policy_move(&recycled(40), &engaged(Some(45)), &p, 3, now()),
            None
        );
        assert_eq!(
            policy_move(&recycled(40), &engaged(None), &p, 3, now()),
            None
        );
        // Rested and engaged since: back to MQL.
        let (to, _) = policy_move(&recycled(40), &engaged(Some(2)), &p, 3, now()).unwrap();
        assert_eq!(to, Stage::Mql);
        // Without a cool-down it comes back at once, as before.
        let mut eager = p.clone();
        eager.stages.recycle_cooldown_days = 0;
        let (to, _) = policy_move(&recycled(5), &engaged(None), &eager, 3, now()).unwrap();
        assert_eq!(to, Stage::Mql);
    }

    #[test]
    fn a_stage_is_entered_at_its_last_move_into_it() {
        let moved = |to: &str, day: u32| {
            (
                EventType::StageChanged,
                format!("2026-11-{day:02}T09:00:00Z")
                    .parse::<DateTime<Utc>>()
                    .unwrap(),
                serde_json::json!({"from": "mql", "to": to}),
            )
        };
        let rows = [
            moved("recycled", 1),
            moved("mql", 3),
            moved("recycled", 9),
            moved("lead", 12),
        ];
        let facts: Vec<EventFact> = rows
            .iter()
            .enumerate()
            .map(|(i, (event_type, occurred_at, payload))| EventFact {
                id: i as i64,
                event_type: *event_type,
                occurred_at: *occurred_at,
                payload,
            })
            .collect();
        assert_eq!(
            entered_at(&facts, Stage::Recycled),
            Some("2026-11-09T09:00:00Z".parse().unwrap())
        );
        assert_eq!(entered_at(&facts, Stage::Sal), None);
    }

    #[test]
    fn the_policy_moves_by_the_mql_rule_with_its_reason() {
        let p = policy();
        let (to, reason) = policy_move(
            &at(Stage::Lead, Mover::Person),
            &scored(72.0, true, vec![]),
            &p,
            3,
            now(),
        )
        .unwrap();
        assert_eq!(to, Stage::Mql);
        assert!(
            reason
                .to_string()
                .starts_with("MQL rule holds: score 72.0 (at least 70)"),
            "{reason}"
        );
        let (to, reason) = policy_move(
            &at(Stage::Mql, Mover::Policy),
            &scored(40.0, false, vec![]),
            &p,
            3,
            now(),
        )
        .unwrap();
        assert_eq!(to, Stage::Lead);
        assert_eq!(
            reason.to_string(),
            "MQL rule no longer holds under policy version 3: score 40.0"
        );
        let junk = vec![
            crate::quality::JunkReason::DisposableEmail,
            crate::quality::JunkReason::TestName,
        ];
        // Junk goes back to lead whoever made it an MQL.
        let (_, reason) = policy_move(
            &at(Stage::Mql, Mover::Person),
            &scored(90.0, false, junk),
            &p,
            3,
            now(),
        )
        .unwrap();
        assert_eq!(
            reason.to_string(),
            "flagged as junk (disposable_email, test_name)"
        );
        // Kept as data (the event's `why`) and read back the same.
        let kept = serde_json::to_value(&reason).unwrap();
        assert_eq!(kept["kind"], "junk");
        assert_eq!(serde_json::from_value::<MoveReason>(kept).unwrap(), reason);
        assert_eq!(
            policy_move(
                &at(Stage::Sql, Mover::Policy),
                &scored(10.0, false, vec![]),
                &p,
                3,
                now(),
            ),
            None
        );
        // An MQL a person marked by hand stays one when the rule does not hold.
        assert_eq!(
            policy_move(
                &at(Stage::Mql, Mover::Person),
                &scored(10.0, false, vec![]),
                &p,
                3,
                now(),
            ),
            None
        );
        let mut manual = p.clone();
        manual.stages.auto_mql = false;
        assert_eq!(
            policy_move(
                &at(Stage::Lead, Mover::Person),
                &scored(90.0, true, vec![]),
                &manual,
                3,
                now(),
            ),
            None
        );
    }

    #[test]
    fn a_moves_reason_is_the_given_one_else_the_rule_else_the_mover() {
        let (p, s) = (policy(), scored(75.0, true, vec![]));
        assert_eq!(
            reason_of_move(Some(" budget confirmed "), Stage::Sql, &s, &p, "li.na").to_string(),
            "budget confirmed"
        );
        assert!(reason_of_move(Some("  "), Stage::Mql, &s, &p, "li.na")
            .to_string()
            .starts_with("MQL rule holds"));
        assert_eq!(
            reason_of_move(None, Stage::Sal, &s, &p, "li.na").to_string(),
            "moved by li.na"
        );
    }

    proptest! {
        /// Whatever the stage and score, the policy's own move is one the lifecycle allows
        /// the policy, goes the way the MQL rule says, never touches a lead past MQL, and
        /// never undoes an MQL a person made.
        #[test]
        fn the_policys_move_is_allowed_and_follows_the_rule(
            from in 0usize..9, mql in any::<bool>(), points in 0.0f64..100.0, auto in any::<bool>(),
            by_policy in any::<bool>(), entered_days in proptest::option::of(0i64..90),
            engaged_days in proptest::option::of(0i64..90)
        ) {
            let mut p = policy();
            p.stages.auto_mql = auto;
            let from = Stage::ALL[from];
            let mut score = scored(points, mql, vec![]);
            score.last_engaged = engaged_days.map(|d| now() - Duration::days(d));
            let entered = if by_policy { Mover::Policy } else { Mover::Person };
            let standing = Standing {
                entered_at: entered_days.map(|d| now() - Duration::days(d)),
                ..at(from, entered)
            };
            if let Some((to, reason)) = policy_move(&standing, &score, &p, 1, now()) {
                // A recycled lead comes back only rested (30 days) and engaged since.
                if let (Stage::Recycled, Some(recycled)) = (from, entered_days) {
                    prop_assert!(recycled >= 30);
                    prop_assert!(engaged_days.is_some_and(|e| e < recycled));
                }
                prop_assert!(auto);
                prop_assert!(from != Stage::Mql || by_policy, "a person's MQL (not junk) is theirs");
                prop_assert!(!reason.to_string().is_empty());
                prop_assert_eq!(to == Stage::Mql, mql);
                prop_assert!(matches!(from, Stage::Prospect | Stage::Lead | Stage::Recycled | Stage::Mql));
                let request = MoveRequest { from, to, reason: None, override_bant: false, mover: Mover::Policy, mql_rule_holds: mql };
                prop_assert!(check(&request, &score.bant, &p).is_ok());
            }
        }
    }
}
