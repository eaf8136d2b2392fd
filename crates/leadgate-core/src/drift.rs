//! Drift watch: the conversion model's predicted won rate against what happened, per month
//! and channel, with the interval the counts allow, so a model that no longer fits its
//! leads is seen before reps stop trusting it.

use serde::Serialize;
use std::collections::BTreeMap;

/// Closed leads with a prediction, alike in month, channel and outcome, as the store
/// counts them.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftCell {
    /// `YYYY-MM` the leads arrived.
    pub month: String,
    pub channel: String,
    pub won: bool,
    pub leads: u64,
    /// The sum of their predicted probabilities.
    pub predicted: f64,
    /// The sum of p(1 - p): the variance of their won count if the model were right.
    pub variance: f64,
}

/// Fewer closed leads than this in a row and no warning is raised: its interval is too wide
/// to say anything.
pub const MIN_LEADS: u64 = 20;

/// Predicted against actual for one month, over all channels (`channel` None) or one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftRow {
    pub month: String,
    pub channel: Option<String>,
    pub leads: u64,
    pub won: u64,
    pub predicted_rate: f64,
    pub actual_rate: f64,
    /// The won rates the model allows for this many leads, 95% (normal approximation of the
    /// sum of their Bernoulli outcomes).
    pub low: f64,
    pub high: f64,
    /// The actual rate lies outside the interval, with at least `MIN_LEADS` leads.
    pub apart: bool,
}

#[derive(Default)]
struct Sum {
    leads: u64,
    won: u64,
    predicted: f64,
    variance: f64,
}

/// One row per month (all channels) followed by that month's channels, months in order.
pub fn drift(cells: &[DriftCell]) -> Vec<DriftRow> {
    let mut sums: BTreeMap<(String, Option<String>), Sum> = BTreeMap::new();
    for cell in cells {
        for channel in [None, Some(cell.channel.clone())] {
            let sum = sums.entry((cell.month.clone(), channel)).or_default();
            sum.leads += cell.leads;
            sum.won += if cell.won { cell.leads } else { 0 };
            sum.predicted += cell.predicted;
            sum.variance += cell.variance;
        }
    }
    sums.into_iter()
        .filter(|(_, s)| s.leads > 0)
        .map(|((month, channel), s)| {
            let n = s.leads as f64;
            let half = 1.96 * s.variance.max(0.0).sqrt();
            let (low, high) = (
                ((s.predicted - half) / n).max(0.0),
                ((s.predicted + half) / n).min(1.0),
            );
            let actual_rate = s.won as f64 / n;
            DriftRow {
                month,
                channel,
                leads: s.leads,
                won: s.won,
                predicted_rate: s.predicted / n,
                actual_rate,
                low,
                high,
                apart: s.leads >= MIN_LEADS && !(low..=high).contains(&actual_rate),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(month: &str, channel: &str, won: bool, leads: u64, p: f64) -> DriftCell {
        DriftCell {
            month: month.into(),
            channel: channel.into(),
            won,
            leads,
            predicted: p * leads as f64,
            variance: p * (1.0 - p) * leads as f64,
        }
    }

    #[test]
    fn a_model_that_fits_stays_quiet_and_one_that_drifted_is_flagged() {
        let rows = drift(&[
            // January: predicted 10%, 10 of 100 won.
            cell("2026-01", "web_form", true, 10, 0.1),
            cell("2026-01", "web_form", false, 90, 0.1),
            // February: still predicting 10%, but referrals now win 40 of 100.
            cell("2026-02", "web_form", true, 5, 0.1),
            cell("2026-02", "web_form", false, 45, 0.1),
            cell("2026-02", "referral", true, 40, 0.1),
            cell("2026-02", "referral", false, 60, 0.1),
            // Too few to say anything.
            cell("2026-02", "event", true, 3, 0.1),
        ]);
        let find = |month: &str, channel: Option<&str>| {
            rows.iter()
                .find(|r| r.month == month && r.channel.as_deref() == channel)
                .unwrap()
        };
        let jan = find("2026-01", None);
        assert!(!jan.apart, "{jan:?}");
        assert!((jan.actual_rate - 0.1).abs() < 1e-12 && jan.low < 0.1 && jan.high > 0.1);
        assert!(find("2026-02", Some("referral")).apart);
        assert!(!find("2026-02", Some("web_form")).apart);
        assert!(find("2026-02", None).apart);
        let event = find("2026-02", Some("event"));
        assert!(!event.apart && event.actual_rate == 1.0, "{event:?}");
        // Months in order, each month's total first.
        assert_eq!(rows[0].channel, None);
        assert_eq!(rows.len(), 2 + 4);
    }

    proptest! {
        #[test]
        fn rates_are_rates_and_the_interval_holds_the_prediction(
            cells in prop::collection::vec((0u8..3, 0u8..3, any::<bool>(), 1u64..50, 0.0f64..1.0), 1..30)
        ) {
            let cells: Vec<DriftCell> = cells
                .into_iter()
                .map(|(m, c, w, n, p)| cell(&format!("2026-0{}", m + 1), &format!("c{c}"), w, n, p))
                .collect();
            for row in drift(&cells) {
                prop_assert!((0.0..=1.0).contains(&row.actual_rate));
                prop_assert!(row.low <= row.predicted_rate + 1e-9 && row.predicted_rate <= row.high + 1e-9);
                prop_assert!(row.won <= row.leads);
            }
        }
    }
}
