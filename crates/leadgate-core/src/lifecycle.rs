//! The lifecycle state machine: which stage moves are allowed, which need a reason from the
//! policy's lists, and when a SQL needs BANT. Refusals name the stages and the rule.

use crate::policy::Policy;
use crate::scoring::BantStatus;
use crate::stage::Stage;

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
}
