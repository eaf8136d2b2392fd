//! Service levels: the policy's response deadlines per stage and temperature, what stops
//! each clock, and what a breach sets off.

use crate::calendar::BusinessCalendar;
use crate::source::named_enum;
use crate::temperature::Temperature;
use crate::Stage;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How long sales has: working time, or whole working days (to closing time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Within {
    Work(#[serde(with = "minutes")] Duration),
    WorkingDays(u32),
}

mod minutes {
    pub fn serialize<S: serde::Serializer>(d: &chrono::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_minutes())
    }
}

impl FromStr for Within {
    type Err = String;
    /// `30m`, `4h` (working time) or `2d` (working days).
    fn from_str(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bad = || format!("'{raw}' is not a time such as 30m, 4h or 2d (working days)");
        let unit = raw.chars().last().ok_or_else(bad)?;
        let n: u32 = raw[..raw.len() - unit.len_utf8()]
            .trim()
            .parse()
            .map_err(|_| bad())?;
        if n == 0 || n > 10_000 {
            return Err(format!("'{raw}': give 1 to 10000 units"));
        }
        match unit {
            'm' => Ok(Within::Work(Duration::minutes(n.into()))),
            'h' => Ok(Within::Work(Duration::hours(n.into()))),
            'd' => Ok(Within::WorkingDays(n)),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Within {
    /// As written in a policy: `30m`, `4h`, `2d`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Within::Work(d) if d.num_minutes() % 60 == 0 => write!(f, "{}h", d.num_hours()),
            Within::Work(d) => write!(f, "{}m", d.num_minutes()),
            Within::WorkingDays(n) => write!(f, "{n}d"),
        }
    }
}

impl Within {
    /// The deadline for a clock started at `start` on `calendar`.
    pub fn deadline(
        self,
        calendar: &BusinessCalendar,
        start: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Within::Work(work) => calendar.add(start, work),
            Within::WorkingDays(days) => calendar.add_working_days(start, days),
        }
    }
}

/// What answers a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Until {
    /// The lead leaves the stage (accepted or rejected, qualified or disqualified).
    LeftStage,
    /// A call, email or meeting is logged.
    Contacted,
    /// A next step is set: a task created, or an interaction with a next step.
    NextStep,
}

/// What a breach sets off, in the order written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    NotifyOwner,
    NotifyManager,
    /// Give the lead to another rep of the team (the clock starts again for them).
    Reassign,
}

/// One service level of the policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaRule {
    pub name: String,
    /// The clock starts when a lead enters this stage.
    pub stage: Stage,
    /// Only for leads this hot when they enter it (empty: all).
    pub temperatures: Vec<Temperature>,
    /// Only for leads of these grades (A1-D4) when they enter it (empty: all).
    pub grades: Vec<String>,
    pub within: Within,
    pub until: Until,
    pub on_breach: Vec<Escalation>,
    /// Recycle the lead when it is still in the stage, untouched, this many days after the
    /// breach.
    pub recycle_after_days: Option<u32>,
}

impl SlaRule {
    pub fn applies(&self, stage: Stage, temperature: Temperature, grade: &str) -> bool {
        self.stage == stage
            && (self.temperatures.is_empty() || self.temperatures.contains(&temperature))
            && (self.grades.is_empty() || self.grades.iter().any(|g| g == grade))
    }
}

/// The rule that times a lead entering `stage` at `temperature` and `grade`: the first that
/// applies.
pub fn rule_for<'r>(
    rules: &'r [SlaRule],
    stage: Stage,
    temperature: Temperature,
    grade: &str,
) -> Option<&'r SlaRule> {
    rules.iter().find(|r| r.applies(stage, temperature, grade))
}

named_enum!(
    /// A clock's standing: running until its deadline, met, or breached; or reassigned
    /// (handed to another rep, who got a new clock), which `standing` never says.
    ClockState, "clock state" {
        Running => "running",
        Met => "met",
        Breached => "breached",
        Reassigned => "reassigned",
    }
);

/// Where a clock stands at `now`, and how much working time is left (negative: overdue).
pub fn standing(
    calendar: &BusinessCalendar,
    due_at: DateTime<Utc>,
    met_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (ClockState, Duration) {
    match met_at {
        Some(met) if met <= due_at => (ClockState::Met, Duration::zero()),
        Some(met) => (ClockState::Breached, -calendar.between(due_at, met)),
        None if now <= due_at => (ClockState::Running, calendar.between(now, due_at)),
        None => (ClockState::Breached, -calendar.between(due_at, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn within_reads_minutes_hours_and_working_days() {
        assert_eq!(
            "30m".parse::<Within>(),
            Ok(Within::Work(Duration::minutes(30)))
        );
        assert_eq!(
            " 4h".parse::<Within>(),
            Ok(Within::Work(Duration::hours(4)))
        );
        assert_eq!("2d".parse::<Within>(), Ok(Within::WorkingDays(2)));
        for written in ["90m", "4h", "2d"] {
            assert_eq!(written.parse::<Within>().unwrap().to_string(), written);
        }
        for bad in ["", "h", "4w", "0h", "-1h", "1.5h", "4小时"] {
            assert!(bad.parse::<Within>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_clock_is_running_met_or_breached() {
        let cal = BusinessCalendar::always();
        let due: DateTime<Utc> = "2026-05-04T10:00:00Z".parse().unwrap();
        let before = due - Duration::minutes(20);
        let after = due + Duration::minutes(20);
        assert_eq!(
            standing(&cal, due, None, before),
            (ClockState::Running, Duration::minutes(20))
        );
        assert_eq!(
            standing(&cal, due, None, after),
            (ClockState::Breached, -Duration::minutes(20))
        );
        assert_eq!(
            standing(&cal, due, Some(before), after),
            (ClockState::Met, Duration::zero())
        );
        assert_eq!(
            standing(&cal, due, Some(after), after + Duration::hours(5)),
            (ClockState::Breached, -Duration::minutes(20))
        );
    }

    proptest! {
        /// Met on time is never a breach, and a running clock's time left shrinks as time passes.
        #[test]
        fn standing_is_consistent(due in 0i64..1_000_000, met in proptest::option::of(0i64..1_000_000), now in 0i64..1_000_000, later in 0i64..1000) {
            let cal = BusinessCalendar::always();
            let t = |s: i64| DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap();
            let (state, left) = standing(&cal, t(due), met.map(t), t(now));
            match met {
                Some(m) if m <= due => prop_assert_eq!(state, ClockState::Met),
                Some(_) => prop_assert_eq!(state, ClockState::Breached),
                None => {
                    prop_assert_eq!(state == ClockState::Running, now <= due);
                    let (_, left_later) = standing(&cal, t(due), None, t(now + later));
                    prop_assert!(left_later <= left);
                }
            }
        }
    }
}
