//! The policy the data proposes: each rule's points fitted to closed leads' outcomes (a
//! regularised logistic regression over how much of each rule a lead had at its decision
//! time), put on the policy's own scale, with how sure the data is (a bootstrap interval and
//! the number of leads behind it) and the rules it finds useless.

use crate::MlError;
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Bootstrap refits behind each interval.
const RESAMPLES: usize = 40;
/// The interval's coverage: the 2.5th to the 97.5th percentile.
const LOW: f64 = 0.025;
/// A rule whose typical effect is under this share of the strongest rule's is too small to
/// matter, however sure the data is of it.
const SMALL: f64 = 0.15;
/// Fewest closed leads of each outcome a proposal is made from.
pub const MIN_PER_OUTCOME: usize = 20;

/// One rule as the policy in force has it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleNow {
    pub name: String,
    pub points: f64,
}

/// One rule's points now and as the data proposes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProposedRule {
    pub name: String,
    pub points_now: f64,
    pub proposed: f64,
    /// The 95% bootstrap interval of the proposed points.
    pub low: f64,
    pub high: f64,
    /// Closed leads that had any of the rule.
    pub leads: usize,
    /// The interval holds 0 (or no lead had the rule): the data cannot tell that it
    /// predicts a sale either way; or its typical effect (points times how much of the rule
    /// a lead that has it has) is under 15% of the strongest rule's.
    pub useless: bool,
}

/// Fits the rules' points. `rows[i][r]` is how much of rule `r` lead `i` had when it was
/// decided, in units of the rule's full points (a fit rule 0 or 1; a behaviour rule its
/// decayed points over its points per event); `won[i]` its outcome. The points are put on
/// the policy's scale: the proposed points' sizes add up to the current ones'.
pub fn propose(
    rules: &[RuleNow],
    rows: &[Vec<f64>],
    won: &[bool],
    seed: u64,
) -> Result<Vec<ProposedRule>, MlError> {
    let wins = won.iter().filter(|w| **w).count();
    let losses = won.len() - wins;
    if wins < MIN_PER_OUTCOME || losses < MIN_PER_OUTCOME {
        return Err(MlError::TooFewOutcomes { wins, losses });
    }
    let weights = fit(rules.len(), rows, won, None)?;
    let now_size: f64 = rules.iter().map(|r| r.points.abs()).sum();
    let fitted_size: f64 = weights.iter().map(|w| w.abs()).sum();
    let scale = if fitted_size > 1e-9 && now_size > 0.0 {
        now_size / fitted_size
    } else {
        1.0
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut resampled: Vec<Vec<f64>> = vec![Vec::with_capacity(RESAMPLES); rules.len()];
    for _ in 0..RESAMPLES {
        let pick: Vec<usize> = (0..rows.len())
            .map(|_| rng.gen_range(0..rows.len()))
            .collect();
        // A resample with one outcome only says nothing; it is skipped.
        if pick.iter().all(|&i| won[i]) || pick.iter().all(|&i| !won[i]) {
            continue;
        }
        let w = fit(rules.len(), rows, won, Some(&pick))?;
        for (r, w) in w.iter().enumerate() {
            resampled[r].push(w * scale);
        }
    }
    // How much of each rule a lead that has it has (1 for a fit rule).
    let typical: Vec<f64> = (0..rules.len())
        .map(|r| {
            let had: Vec<f64> = rows
                .iter()
                .map(|row| row[r].abs())
                .filter(|v| *v > 0.0)
                .collect();
            if had.is_empty() {
                0.0
            } else {
                had.iter().sum::<f64>() / had.len() as f64
            }
        })
        .collect();
    let strongest = weights
        .iter()
        .zip(&typical)
        .map(|(w, t)| (w * scale).abs() * t)
        .fold(0.0, f64::max);
    Ok(rules
        .iter()
        .enumerate()
        .map(|(r, rule)| {
            let mut draws = resampled[r].clone();
            draws.sort_by(f64::total_cmp);
            let at = |q: f64| {
                draws
                    .get(((draws.len().saturating_sub(1)) as f64 * q).round() as usize)
                    .copied()
                    .unwrap_or(0.0)
            };
            let (low, high) = (at(LOW), at(1.0 - LOW));
            let leads = rows.iter().filter(|row| row[r] != 0.0).count();
            let proposed = weights[r] * scale;
            let small = proposed.abs() * typical[r] < SMALL * strongest;
            ProposedRule {
                name: rule.name.clone(),
                points_now: rule.points,
                proposed: round(proposed),
                low: round(low),
                high: round(high),
                leads,
                useless: leads == 0 || (low <= 0.0 && high >= 0.0) || small,
            }
        })
        .collect())
}

/// Points as a policy writes them: to a tenth.
fn round(points: f64) -> f64 {
    (points * 10.0).round() / 10.0
}

/// The logistic regression's weights (log-odds per unit of each rule) on the rows picked
/// (all when `None`).
fn fit(
    width: usize,
    rows: &[Vec<f64>],
    won: &[bool],
    pick: Option<&[usize]>,
) -> Result<Vec<f64>, MlError> {
    let all: Vec<usize>;
    let pick = match pick {
        Some(p) => p,
        None => {
            all = (0..rows.len()).collect();
            &all
        }
    };
    let mut x = Array2::zeros((pick.len(), width));
    for (i, &row) in pick.iter().enumerate() {
        for (r, v) in rows[row].iter().enumerate().take(width) {
            x[[i, r]] = if v.is_finite() { *v } else { 0.0 };
        }
    }
    let y = Array1::from_iter(pick.iter().map(|&i| won[i]));
    let fitted = LogisticRegression::default()
        .alpha(1.0)
        .max_iterations(300)
        .fit(&Dataset::new(x, y))
        .map_err(|e| MlError::Training(format!("the rules' points: {e}")))?;
    // linfa calls whichever label it met first "positive": point the weights at `won`.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    Ok(fitted.params().iter().map(|w| w * sign).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::sigmoid;

    /// A population whose true weights are known: six rules, two of them useless, won at
    /// about 4% (outcomes as skewed as real lead files).
    fn population(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>) {
        let truth = [1.6, 0.8, 0.0, 0.0, -1.2, 0.35];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut rows = Vec::with_capacity(n);
        let mut won = Vec::with_capacity(n);
        for _ in 0..n {
            let mut row: Vec<f64> = (0..5)
                .map(|_| f64::from(u8::from(rng.gen_bool(0.3))))
                .collect();
            // A behaviour rule: how many of its events, decayed (0 to 6).
            row.push(f64::from(rng.gen_range(0u8..7)) * rng.gen_range(0.5..1.0));
            let margin: f64 = -4.2 + row.iter().zip(truth).map(|(x, w)| x * w).sum::<f64>();
            won.push(rng.gen_bool(sigmoid(margin)));
            rows.push(row);
        }
        (rows, won)
    }

    fn starter() -> Vec<RuleNow> {
        ["industry", "title", "country", "size", "student", "visits"]
            .iter()
            .map(|n| RuleNow {
                name: (*n).into(),
                points: 10.0,
            })
            .collect()
    }

    #[test]
    fn the_useless_rules_are_the_ones_the_generator_made_useless() {
        let (rows, won) = population(12_000, 7);
        let rate = won.iter().filter(|w| **w).count() as f64 / won.len() as f64;
        assert!((0.01..0.1).contains(&rate), "won at {rate}");
        let proposal = propose(&starter(), &rows, &won, 1).unwrap();
        let useless: Vec<&str> = proposal
            .iter()
            .filter(|p| p.useless)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(useless, ["country", "size"], "{proposal:#?}");
        let points: Vec<f64> = proposal.iter().map(|p| p.proposed).collect();
        assert!(
            points[0] > points[1] && points[1] > 0.0 && points[4] < 0.0,
            "{points:?}"
        );
        for p in &proposal {
            assert!(
                p.low <= p.proposed + 0.1 && p.proposed <= p.high + 0.1,
                "{p:?}"
            );
            assert!(p.leads > 0);
        }
        let total: f64 = proposal.iter().map(|p| p.proposed.abs()).sum();
        assert!((total - 60.0).abs() < 1.0, "on the policy's scale: {total}");
    }

    #[test]
    fn the_proposed_points_put_more_wins_above_the_line_at_the_same_number_of_mqls() {
        let (train, train_won) = population(12_000, 11);
        let (test, test_won) = population(12_000, 12);
        let rules = starter();
        let proposal = propose(&rules, &train, &train_won, 3).unwrap();
        let wins_in_top = |points: &[f64]| {
            let mut scored: Vec<(f64, bool)> = test
                .iter()
                .zip(&test_won)
                .map(|(row, won)| (row.iter().zip(points).map(|(x, p)| x * p).sum(), *won))
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            // The same number of MQLs: the top fifth.
            scored[..test.len() / 5]
                .iter()
                .filter(|(_, won)| *won)
                .count()
        };
        let now: Vec<f64> = rules.iter().map(|r| r.points).collect();
        let proposed: Vec<f64> = proposal.iter().map(|p| p.proposed).collect();
        let (before, after) = (wins_in_top(&now), wins_in_top(&proposed));
        assert!(
            after > before,
            "wins above the line: {before} now, {after} proposed"
        );
    }

    #[test]
    fn too_few_outcomes_are_refused() {
        let rows = vec![vec![1.0]; 30];
        let won: Vec<bool> = (0..30).map(|i| i < 5).collect();
        let rules = [RuleNow {
            name: "a".into(),
            points: 5.0,
        }];
        assert!(matches!(
            propose(&rules, &rows, &won, 1),
            Err(MlError::TooFewOutcomes {
                wins: 5,
                losses: 25
            })
        ));
    }
}
