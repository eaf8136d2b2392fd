//! How good predicted probabilities are: ranking (ROC-AUC, PR-AUC, lift), accuracy of the
//! probabilities themselves (Brier, log-loss, calibration error) and the tables behind them.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve (ties count half); `None` without both classes.
pub fn roc_auc(scores: &[f64], won: &[bool]) -> Option<f64> {
    let positives = won.iter().filter(|w| **w).count();
    let negatives = won.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Sorted as pairs, not as indices into the scores: the comparisons then read adjacent
    // memory (the leak check runs this on every column of a training set). Tied scores
    // share their mean rank, so their order among themselves does not matter.
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(won.iter().copied()).collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    // Mann-Whitney: sum of the positives' ranks, tied scores sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j + 1 < pairs.len() && pairs[j + 1].0 == pairs[i].0 {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean_rank * pairs[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Average precision: the area under the precision-recall curve, stepwise.
pub fn pr_auc(scores: &[f64], won: &[bool]) -> Option<f64> {
    let positives = won.iter().filter(|w| **w).count();
    if positives == 0 {
        return None;
    }
    let order = descending(scores);
    let (mut hits, mut sum) = (0usize, 0.0);
    for (k, &r) in order.iter().enumerate() {
        if won[r] {
            hits += 1;
            sum += hits as f64 / (k + 1) as f64;
        }
    }
    Some(sum / positives as f64)
}

pub fn brier(probabilities: &[f64], won: &[bool]) -> f64 {
    mean(
        probabilities
            .iter()
            .zip(won)
            .map(|(p, w)| (p - f64::from(u8::from(*w))).powi(2)),
    )
}

pub fn log_loss(probabilities: &[f64], won: &[bool]) -> f64 {
    mean(probabilities.iter().zip(won).map(|(p, w)| {
        let p = p.clamp(1e-15, 1.0 - 1e-15);
        if *w {
            -p.ln()
        } else {
            -(1.0 - p).ln()
        }
    }))
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

fn descending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// One tenth of the leads, best-scored first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    pub decile: usize,
    pub leads: usize,
    pub won: usize,
    pub won_rate: f64,
    /// This decile's won rate over the overall rate.
    pub lift: f64,
    /// Share of all wins found in the deciles down to this one.
    pub cumulative_gain: f64,
}

/// Predicted against observed, in ten equal-width probability bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub from: f64,
    pub to: f64,
    pub leads: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Everything `evaluate` reports for one model on one test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub leads: usize,
    pub won: usize,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub brier: f64,
    pub log_loss: f64,
    /// Expected calibration error: the lead-weighted gap between predicted and observed
    /// rates over the calibration bins.
    pub ece: f64,
    pub lift_top_decile: f64,
    pub deciles: Vec<Decile>,
    pub calibration: Vec<CalibrationBin>,
}

impl Metrics {
    pub fn of(probabilities: &[f64], won: &[bool]) -> Metrics {
        let n = won.len();
        let wins = won.iter().filter(|w| **w).count();
        let base = wins as f64 / n.max(1) as f64;
        let order = descending(probabilities);
        let mut deciles = Vec::new();
        let mut found = 0usize;
        for d in 0..10 {
            let (from, to) = (d * n / 10, (d + 1) * n / 10);
            let slice = &order[from..to];
            let w = slice.iter().filter(|&&r| won[r]).count();
            found += w;
            let rate = w as f64 / slice.len().max(1) as f64;
            deciles.push(Decile {
                decile: d + 1,
                leads: slice.len(),
                won: w,
                won_rate: rate,
                lift: if base > 0.0 { rate / base } else { 0.0 },
                cumulative_gain: found as f64 / wins.max(1) as f64,
            });
        }
        let mut bins: Vec<(usize, f64, usize)> = vec![(0, 0.0, 0); 10];
        for (p, w) in probabilities.iter().zip(won) {
            let b = ((p * 10.0).floor() as usize).min(9);
            bins[b].0 += 1;
            bins[b].1 += p;
            bins[b].2 += usize::from(*w);
        }
        let calibration: Vec<CalibrationBin> = bins
            .iter()
            .enumerate()
            .filter(|(_, b)| b.0 > 0)
            .map(|(i, &(leads, sum, w))| CalibrationBin {
                from: i as f64 / 10.0,
                to: (i + 1) as f64 / 10.0,
                leads,
                mean_predicted: sum / leads as f64,
                observed_rate: w as f64 / leads as f64,
            })
            .collect();
        let ece = calibration
            .iter()
            .map(|b| b.leads as f64 * (b.mean_predicted - b.observed_rate).abs())
            .sum::<f64>()
            / n.max(1) as f64;
        Metrics {
            leads: n,
            won: wins,
            roc_auc: roc_auc(probabilities, won),
            pr_auc: pr_auc(probabilities, won),
            brier: brier(probabilities, won),
            log_loss: log_loss(probabilities, won),
            ece,
            lift_top_decile: deciles.first().map_or(0.0, |d| d.lift),
            deciles,
            calibration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        let scores = [0.1, 0.4, 0.35, 0.8];
        let won = [false, false, true, true];
        assert_eq!(roc_auc(&scores, &won), Some(0.75));
        // Ranked: 0.8 (won), 0.4, 0.35 (won), 0.1: precision 1 then 2/3.
        let ap = pr_auc(&scores, &won).unwrap();
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert!((brier(&[1.0, 0.0], &[true, true]) - 0.5).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.3, 0.3], &[true, false]), Some(0.5));
        assert_eq!(roc_auc(&[0.3], &[true]), None);
    }

    #[test]
    fn deciles_find_every_win_and_calibration_covers_every_lead() {
        let probs: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let won: Vec<bool> = (0..100).map(|i| i >= 70).collect();
        let m = Metrics::of(&probs, &won);
        assert_eq!(m.deciles.len(), 10);
        assert!((m.deciles[9].cumulative_gain - 1.0).abs() < 1e-12);
        assert!((m.lift_top_decile - 1.0 / 0.3).abs() < 1e-9);
        assert_eq!(m.calibration.iter().map(|b| b.leads).sum::<usize>(), 100);
        assert_eq!(m.roc_auc, Some(1.0));
    }

    proptest! {
        #[test]
        fn auc_is_a_probability_and_flips_with_the_scores(
            pairs in prop::collection::vec((0.0f64..1.0, any::<bool>()), 2..200)
        ) {
            let (scores, won): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
            if let Some(auc) = roc_auc(&scores, &won) {
                prop_assert!((0.0..=1.0).contains(&auc));
                let flipped: Vec<f64> = scores.iter().map(|s| -s).collect();
                let other = roc_auc(&flipped, &won).unwrap();
                prop_assert!((auc + other - 1.0).abs() < 1e-9);
            }
            let m = Metrics::of(&scores, &won);
            prop_assert!(m.ece >= 0.0 && m.ece <= 1.0);
            prop_assert!(m.brier >= 0.0 && m.brier <= 1.0);
        }
    }
}
