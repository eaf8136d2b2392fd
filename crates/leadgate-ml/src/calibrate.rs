//! Calibration: mapping a model's raw scores to probabilities that match observed won
//! rates, fitted on a fold the model did not learn from.

use serde::{Deserialize, Serialize};

/// Below this many held-out leads, isotonic steps are too coarse and Platt scaling is used.
pub const ISOTONIC_MIN_ROWS: usize = 1000;
/// How many leads' worth of the overall won rate each isotonic block's rate is smoothed by.
const PRIOR_LEADS: f64 = 2.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibrator {
    /// Pool-adjacent-violators: a non-decreasing map, linear between block centres; past
    /// the first and last centre the log-odds go on with `tail_slope` per unit of raw score
    /// (Platt's slope on the same leads), so the many leads of a large end block are still
    /// told apart instead of sharing one probability.
    Isotonic {
        scores: Vec<f64>,
        rates: Vec<f64>,
        #[serde(default)]
        tail_slope: f64,
    },
    /// p = 1 / (1 + exp(-(a * score + b))).
    Platt { a: f64, b: f64 },
}

impl Calibrator {
    /// Fits on raw scores (log-odds) of held-out leads and their outcomes.
    pub fn fit(scores: &[f64], won: &[bool]) -> Calibrator {
        if scores.len() >= ISOTONIC_MIN_ROWS {
            isotonic(scores, won)
        } else {
            platt(scores, won)
        }
    }

    pub fn probability(&self, score: f64) -> f64 {
        match self {
            // Separable held-out data drives the slope up until exp() saturates: a model
            // is never certain.
            Calibrator::Platt { a, b } => sigmoid(a * score + b).clamp(1e-6, 1.0 - 1e-6),
            Calibrator::Isotonic {
                scores,
                rates,
                tail_slope,
            } => {
                let i = scores.partition_point(|s| *s <= score);
                let tail = |at: usize| {
                    sigmoid(logit(rates[at]) + tail_slope * (score - scores[at]))
                        .clamp(1e-6, 1.0 - 1e-6)
                };
                if i == 0 {
                    tail(0)
                } else if i == scores.len() {
                    tail(i - 1)
                } else {
                    let (x0, x1) = (scores[i - 1], scores[i]);
                    let t = (score - x0) / (x1 - x0);
                    rates[i - 1] + t * (rates[i] - rates[i - 1])
                }
            }
        }
    }
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The steepest and flattest the tails may run: an inverted or wildly steep Platt fit on the
/// held-out leads must neither turn the map around nor make its ends a cliff.
const TAIL_SLOPE: (f64, f64) = (0.05, 4.0);

fn isotonic(scores: &[f64], won: &[bool]) -> Calibrator {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Blocks of (sum of scores, wins, count); merged while a block's rate falls below the
    // one before it.
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    for r in order {
        blocks.push((scores[r], f64::from(u8::from(won[r])), 1.0));
        while blocks.len() > 1 {
            let (s2, w2, n2) = blocks[blocks.len() - 1];
            let (s1, w1, n1) = blocks[blocks.len() - 2];
            if w1 / n1 < w2 / n2 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s1 + s2, w1 + w2, n1 + n2);
        }
    }
    // Each block's rate is smoothed toward the overall won rate by a few leads' worth of
    // prior (keeping the ends off exactly 0 and 1, where log-loss would be infinite on the
    // first surprise). Smoothing can put a small block above a larger one after it: those
    // are pooled again, so the map stays non-decreasing without lifting anyone's rate.
    let (total_wins, total) = blocks
        .iter()
        .fold((0.0, 0.0), |(w, n), b| (w + b.1, n + b.2));
    let base = (total_wins + 0.5) / (total + 1.0);
    let smoothed = |w: f64, n: f64| (w + PRIOR_LEADS * base) / (n + PRIOR_LEADS);
    let mut pooled: Vec<(f64, f64, f64)> = Vec::with_capacity(blocks.len());
    for block in blocks {
        pooled.push(block);
        while pooled.len() > 1 {
            let (s2, w2, n2) = pooled[pooled.len() - 1];
            let (s1, w1, n1) = pooled[pooled.len() - 2];
            if smoothed(w1, n1) <= smoothed(w2, n2) {
                break;
            }
            pooled.pop();
            let last = pooled.len() - 1;
            pooled[last] = (s1 + s2, w1 + w2, n1 + n2);
        }
    }
    let mut xs: Vec<f64> = Vec::with_capacity(pooled.len());
    let mut ys: Vec<f64> = Vec::with_capacity(pooled.len());
    for (s, w, n) in pooled {
        let x = s / n;
        if xs.last().is_some_and(|last| *last >= x) {
            continue;
        }
        xs.push(x);
        ys.push(smoothed(w, n));
    }
    let tail_slope = match platt(scores, won) {
        Calibrator::Platt { a, .. } if a.is_finite() => a.clamp(TAIL_SLOPE.0, TAIL_SLOPE.1),
        _ => TAIL_SLOPE.0,
    };
    Calibrator::Isotonic {
        scores: xs,
        rates: ys,
        tail_slope,
    }
}

/// Platt scaling by Newton's method on the log-likelihood, with Platt's target smoothing.
fn platt(scores: &[f64], won: &[bool]) -> Calibrator {
    let pos = won.iter().filter(|w| **w).count() as f64;
    let neg = won.len() as f64 - pos;
    let hi = (pos + 1.0) / (pos + 2.0);
    let lo = 1.0 / (neg + 2.0);
    let (mut a, mut b) = (1.0, 0.0);
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for (s, w) in scores.iter().zip(won) {
            let t = if *w { hi } else { lo };
            let p = sigmoid(a * s + b);
            let d = p - t;
            let h = p * (1.0 - p);
            ga += d * s;
            gb += d;
            haa += h * s * s;
            hab += h * s;
            hbb += h;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            break;
        }
    }
    Calibrator::Platt { a, b }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn synthetic(n: usize, true_slope: f64) -> (Vec<f64>, Vec<bool>) {
        // Scores whose true probability is sigmoid(true_slope * score): deterministic draws.
        let scores: Vec<f64> = (0..n).map(|i| (i as f64 / n as f64) * 8.0 - 4.0).collect();
        let won = scores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let u = ((i as u64).wrapping_mul(2_654_435_761) % 10_000) as f64 / 10_000.0;
                u < sigmoid(true_slope * s)
            })
            .collect();
        (scores, won)
    }

    #[test]
    fn platt_recovers_an_overconfident_models_slope() {
        let (scores, won) = synthetic(800, 0.5);
        let Calibrator::Platt { a, b } = Calibrator::fit(&scores, &won) else {
            panic!("small sets use Platt")
        };
        assert!((a - 0.5).abs() < 0.15, "a = {a}");
        assert!(b.abs() < 0.3, "b = {b}");
    }

    #[test]
    fn isotonic_follows_the_observed_rates() {
        let (scores, won) = synthetic(5000, 1.0);
        let c = Calibrator::fit(&scores, &won);
        assert!(matches!(c, Calibrator::Isotonic { .. }));
        assert!((c.probability(0.0) - 0.5).abs() < 0.1);
        assert!(c.probability(3.5) > 0.85);
        assert!(c.probability(-3.5) < 0.15);
    }

    /// Low conversion: a tiny lowest block (0 won of 2) must not be lifted above the large
    /// blocks after it and pin them to its smoothed rate (the running maximum did: most
    /// leads at 16.7% while they converted at about 4.7%).
    #[test]
    fn a_tiny_lowest_block_does_not_pin_a_low_converting_set() {
        let mut scores = vec![-9.0, -8.9];
        let mut won = vec![false, false];
        for i in 0..3000 {
            scores.push(-3.0 + i as f64 / 1000.0);
            // 4.7% won, a little more often at higher scores.
            won.push((i * 47 + i / 30) % 1000 < 47);
        }
        let c = Calibrator::fit(&scores, &won);
        assert!(matches!(c, Calibrator::Isotonic { .. }));
        let rate = won.iter().filter(|w| **w).count() as f64 / won.len() as f64;
        let mean: f64 = scores.iter().map(|s| c.probability(*s)).sum::<f64>() / scores.len() as f64;
        assert!(
            (mean - rate).abs() < 0.01,
            "mean {mean:.4} against {rate:.4}"
        );
        assert!(
            c.probability(-9.0) < rate,
            "the lowest block stays below the rest"
        );
    }

    /// At 2% won most held-out leads fall into one large lowest block; its leads must not
    /// all share one probability (seen: a third of a test set at exactly one value).
    #[test]
    fn the_leads_of_a_large_end_block_keep_their_order() {
        let n = 4000;
        let scores: Vec<f64> = (0..n).map(|i| -6.0 + 5.0 * i as f64 / n as f64).collect();
        let won: Vec<bool> = scores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let u = ((i as u64).wrapping_mul(2_654_435_761) % 10_000) as f64 / 10_000.0;
                u < sigmoid(*s)
            })
            .collect();
        let c = Calibrator::fit(&scores, &won);
        let probabilities: Vec<f64> = scores.iter().map(|s| c.probability(*s)).collect();
        let mut counts = std::collections::HashMap::new();
        for p in &probabilities {
            *counts.entry(p.to_bits()).or_insert(0usize) += 1;
        }
        let largest = counts.values().max().copied().unwrap_or(0);
        assert!(
            largest * 20 <= n,
            "{largest} of {n} leads share one probability"
        );
        assert!(probabilities.windows(2).all(|w| w[0] <= w[1]));
        let rate = won.iter().filter(|w| **w).count() as f64 / n as f64;
        let mean = probabilities.iter().sum::<f64>() / n as f64;
        assert!(
            (mean - rate).abs() < 0.01,
            "mean {mean:.4} against {rate:.4}"
        );
    }

    proptest! {
        #[test]
        fn calibrated_probabilities_are_probabilities_and_never_decrease(
            pairs in prop::collection::vec((-10.0f64..10.0, any::<bool>()), 1..1500),
            probes in prop::collection::vec(-20.0f64..20.0, 2..20),
        ) {
            let (scores, won): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
            let c = Calibrator::fit(&scores, &won);
            let mut probes = probes;
            probes.sort_by(f64::total_cmp);
            let ps: Vec<f64> = probes.iter().map(|s| c.probability(*s)).collect();
            for p in &ps {
                prop_assert!(*p > 0.0 && *p < 1.0);
            }
            if matches!(c, Calibrator::Isotonic { .. }) {
                prop_assert!(ps.windows(2).all(|w| w[0] <= w[1] + 1e-12));
            }
        }
    }
}
