//! Durable background jobs: what kinds exist, their states, and when a failed one runs again.

use crate::source::named_enum;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// What a job does.
    JobKind, "job kind" {
        /// Tell a task's owner that the task is due.
        TaskReminder => "task_reminder",
        /// At an SLA clock's deadline: breach it if unanswered, and escalate.
        SlaCheck => "sla_check",
        /// Some days after a breach: recycle the lead if nobody has touched it.
        SlaRecycle => "sla_recycle",
        /// Send one event to one webhook subscription.
        WebhookDelivery => "webhook_delivery",
        /// Run the policy's automation rules on one stored event.
        Automation => "automation",
        /// Send one email from the outbox.
        SendEmail => "send_email",
        /// Run the next step of a lead's nurture sequence.
        SequenceStep => "sequence_step",
        /// Train a product's conversion model on its closed leads, then predict its open ones.
        TrainModel => "train_model",
        /// Predict a product's open leads with its active conversion model.
        PredictLeads => "predict_leads",
        /// After an erasure on PostgreSQL: vacuum the tables it rewrote, so the old row
        /// versions holding the person's values are reclaimed.
        VacuumErased => "vacuum_erased",
    }
);

named_enum!(
    /// Where a job is in its life.
    JobState, "job state" {
        /// Waiting for its due time.
        Queued => "queued",
        /// Claimed by a worker, whose lease runs out at `lease_until`.
        Running => "running",
        Done => "done",
        /// Failed every attempt; waits for a person to retry it.
        Dead => "dead",
    }
);

/// How many times a job is tried before it is dead, unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;
/// The wait after the first failure; each further failure doubles it.
const FIRST_RETRY_SECS: i64 = 10;
/// The longest wait between two attempts.
const MAX_RETRY_SECS: i64 = 6 * 3600;

/// How long to wait before attempt `failed + 1`, after `failed` failed attempts (1 or more):
/// exponential from ten seconds, capped at six hours, with up to a fifth more spread by the
/// job's id so jobs that failed together do not all retry in the same second.
pub fn retry_delay(failed: i32, job_id: i64) -> Duration {
    let doublings = (failed.max(1) - 1).min(30) as u32;
    let base = FIRST_RETRY_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_SECS);
    // A cheap, deterministic spread in [0, base / 5].
    let spread =
        (job_id.unsigned_abs().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as i64 % (base / 5 + 1);
    Duration::seconds(base + spread)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn delays_double_from_ten_seconds() {
        let secs = |n| retry_delay(n, 0).num_seconds();
        assert_eq!((secs(1), secs(2), secs(3), secs(4)), (10, 20, 40, 80));
        assert_eq!(secs(40), MAX_RETRY_SECS);
    }

    proptest! {
        #[test]
        fn delays_grow_and_stay_within_bounds(failed in 1i32..100, id in any::<i64>()) {
            let delay = retry_delay(failed, id).num_seconds();
            prop_assert!(delay >= FIRST_RETRY_SECS);
            prop_assert!(delay <= MAX_RETRY_SECS + MAX_RETRY_SECS / 5);
            // The next failure never waits less than this one's base.
            let base = |n: i32| retry_delay(n, 0).num_seconds();
            prop_assert!(base(failed + 1) >= base(failed));
            prop_assert!(delay >= base(failed));
        }
    }

    #[test]
    fn names_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>().unwrap(), *kind);
        }
        assert!("mystery"
            .parse::<JobKind>()
            .unwrap_err()
            .contains("task_reminder"));
    }
}
