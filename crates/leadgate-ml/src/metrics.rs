//! How good predicted probabilities are: ranking (ROC-AUC, PR-AUC, lift), accuracy of the
//! probabilities themselves (Brier, log-loss, calibration error) and the tables behind them.

use serde::{Deserialize, Serialize};

pub use leadgate_core::ranking::roc_auc;

/// A 95% confidence interval for the ROC-AUC (DeLong's variance from the placement of
/// each won lead among the lost and each lost lead among the won); `None` without at least
/// two of each.
pub fn roc_auc_interval(scores: &[f64], won: &[bool]) -> Option<[f64; 2]> {
    let auc = roc_auc(scores, won)?;
    let positives: Vec<f64> = pick(scores, won, true);
    let negatives: Vec<f64> = pick(scores, won, false);
    let (m, n) = (positives.len() as f64, negatives.len() as f64);
    if m < 2.0 || n < 2.0 {
        return None;
    }
    let all = mid_ranks(scores);
    let (rank_pos, rank_neg) = (mid_ranks(&positives), mid_ranks(&negatives));
    let (mut i_pos, mut i_neg) = (0, 0);
    let (mut v10, mut v01) = (Vec::new(), Vec::new());
    for (k, &w) in won.iter().enumerate() {
        if w {
            // The share of lost leads this won lead outranks (ties half).
            v10.push((all[k] - rank_pos[i_pos]) / n);
            i_pos += 1;
        } else {
            // The share of won leads that outrank this lost lead.
            v01.push(1.0 - (all[k] - rank_neg[i_neg]) / m);
            i_neg += 1;
        }
    }
    let variance = sample_variance(&v10) / m + sample_variance(&v01) / n;
    let half = 1.96 * variance.max(0.0).sqrt();
    Some([(auc - half).max(0.0), (auc + half).min(1.0)])
}

fn pick(scores: &[f64], won: &[bool], class: bool) -> Vec<f64> {
    scores
        .iter()
        .zip(won)
        .filter(|(_, &w)| w == class)
        .map(|(s, _)| *s)
        .collect()
}

/// Each score's rank from 1 (lowest), tied scores sharing their mean rank.
fn mid_ranks(scores: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]].total_cmp(&scores[order[i]]).is_eq() {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mean_rank;
        }
        i = j + 1;
    }
    ranks
}

fn sample_variance(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
}

/// Average precision: the area under the precision-recall curve, stepwise, with one step
/// per distinct score (tied leads enter together, so their order in the file says nothing).
pub fn pr_auc(scores: &[f64], won: &[bool]) -> Option<f64> {
    let positives = won.iter().filter(|w| **w).count();
    if positives == 0 {
        return None;
    }
    let (mut taken, mut hits, mut sum) = (0usize, 0usize, 0.0);
    for group in tied_groups(scores, won) {
        taken += group.leads;
        hits += group.won;
        sum += group.won as f64 * hits as f64 / taken as f64;
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

/// Leads that share one score, best score first.
struct TiedGroup {
    leads: usize,
    won: usize,
}

fn tied_groups(scores: &[f64], won: &[bool]) -> Vec<TiedGroup> {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(won.iter().copied()).collect();
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut groups: Vec<TiedGroup> = Vec::new();
    let mut last = None;
    for (score, w) in pairs {
        if last.is_none_or(|l: f64| l.total_cmp(&score).is_ne()) {
            groups.push(TiedGroup { leads: 0, won: 0 });
            last = Some(score);
        }
        if let Some(g) = groups.last_mut() {
            g.leads += 1;
            g.won += usize::from(w);
        }
    }
    groups
}

/// The expected wins in each tenth of the leads, best-scored first: a group of tied leads
/// that a border cuts through gives each side its share of the group's wins.
fn wins_by_decile(scores: &[f64], won: &[bool]) -> [f64; 10] {
    let n = won.len();
    let mut wins = [0.0; 10];
    let mut start = 0usize;
    for group in tied_groups(scores, won) {
        let end = start + group.leads;
        let rate = group.won as f64 / group.leads as f64;
        for (d, cell) in wins.iter_mut().enumerate() {
            let (from, to) = (d * n / 10, (d + 1) * n / 10);
            let overlap = end.min(to).saturating_sub(start.max(from));
            *cell += overlap as f64 * rate;
        }
        start = end;
    }
    wins
}

/// One tenth of the leads, best-scored first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decile {
    pub decile: usize,
    pub leads: usize,
    /// Expected wins: leads tied with leads of the next decile share their group's wins.
    pub won: f64,
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
    /// 95% confidence interval of the ROC-AUC (DeLong).
    #[serde(default)]
    pub roc_auc_interval: Option<[f64; 2]>,
    pub pr_auc: Option<f64>,
    pub brier: f64,
    pub log_loss: f64,
    /// Expected calibration error: the lead-weighted gap between predicted and observed
    /// rates over the calibration bins.
    pub ece: f64,
    /// The ECE that a perfectly calibrated model stays under 95 times in 100 on this many
    /// leads (outcomes drawn from its own probabilities): below it, the gap is chance.
    #[serde(default)]
    pub ece_by_chance: f64,
    pub lift_top_decile: f64,
    /// The share of leads at the most common probability: a calibrator that piles leads
    /// onto one value hides their order from the reps.
    #[serde(default)]
    pub largest_tie_share: f64,
    pub deciles: Vec<Decile>,
    pub calibration: Vec<CalibrationBin>,
}

impl Metrics {
    pub fn of(probabilities: &[f64], won: &[bool]) -> Metrics {
        let n = won.len();
        let wins = won.iter().filter(|w| **w).count();
        let base = wins as f64 / n.max(1) as f64;
        let wins_in = wins_by_decile(probabilities, won);
        let mut deciles = Vec::new();
        let mut found = 0.0;
        for (d, &w) in wins_in.iter().enumerate() {
            let leads = (d + 1) * n / 10 - d * n / 10;
            found += w;
            let rate = w / leads.max(1) as f64;
            deciles.push(Decile {
                decile: d + 1,
                leads,
                won: w,
                won_rate: rate,
                lift: if base > 0.0 { rate / base } else { 0.0 },
                cumulative_gain: found / wins.max(1) as f64,
            });
        }
        let calibration = calibration_bins(probabilities, won);
        Metrics {
            leads: n,
            won: wins,
            roc_auc: roc_auc(probabilities, won),
            roc_auc_interval: roc_auc_interval(probabilities, won),
            pr_auc: pr_auc(probabilities, won),
            brier: brier(probabilities, won),
            log_loss: log_loss(probabilities, won),
            ece: ece(&calibration, n),
            ece_by_chance: ece_by_chance(probabilities),
            lift_top_decile: deciles.first().map_or(0.0, |d| d.lift),
            largest_tie_share: tied_groups(probabilities, won)
                .iter()
                .map(|g| g.leads)
                .max()
                .unwrap_or(0) as f64
                / n.max(1) as f64,
            deciles,
            calibration,
        }
    }
}

/// Predicted against observed in ten equal-width probability bins (empty ones left out).
fn calibration_bins(probabilities: &[f64], won: &[bool]) -> Vec<CalibrationBin> {
    let mut bins: Vec<(usize, f64, usize)> = vec![(0, 0.0, 0); 10];
    for (p, w) in probabilities.iter().zip(won) {
        let b = ((p * 10.0).floor() as usize).min(9);
        bins[b].0 += 1;
        bins[b].1 += p;
        bins[b].2 += usize::from(*w);
    }
    bins.iter()
        .enumerate()
        .filter(|(_, b)| b.0 > 0)
        .map(|(i, &(leads, sum, w))| CalibrationBin {
            from: i as f64 / 10.0,
            to: (i + 1) as f64 / 10.0,
            leads,
            mean_predicted: sum / leads as f64,
            observed_rate: w as f64 / leads as f64,
        })
        .collect()
}

/// Expected calibration error: the lead-weighted gap between predicted and observed rates.
fn ece(bins: &[CalibrationBin], leads: usize) -> f64 {
    bins.iter()
        .map(|b| b.leads as f64 * (b.mean_predicted - b.observed_rate).abs())
        .sum::<f64>()
        / leads.max(1) as f64
}

/// The 95th percentile of the ECE when each lead's outcome is drawn from its own predicted
/// probability: what a perfect calibration shows on a test set of this size, by chance
/// alone (a few thousand leads put it near 0.02). Seeded, so a report reads the same twice.
pub fn ece_by_chance(probabilities: &[f64]) -> f64 {
    use rand::{Rng, SeedableRng};
    const DRAWS: usize = 200;
    if probabilities.is_empty() {
        return 0.0;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x1ead_9a7e);
    let mut drawn = vec![false; probabilities.len()];
    let mut eces: Vec<f64> = (0..DRAWS)
        .map(|_| {
            for (w, p) in drawn.iter_mut().zip(probabilities) {
                *w = rng.gen::<f64>() < *p;
            }
            ece(
                &calibration_bins(probabilities, &drawn),
                probabilities.len(),
            )
        })
        .collect();
    eces.sort_by(f64::total_cmp);
    eces[DRAWS * 95 / 100]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn calibration_error_is_told_from_chance() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let chance = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
            // Mostly cold leads, as most lead files are: about 5% won.
            let p: Vec<f64> = (0..n).map(|_| rng.gen::<f64>().powi(6) * 0.35).collect();
            let won: Vec<bool> = p.iter().map(|p| rng.gen::<f64>() < *p).collect();
            (p, won)
        };
        let (p, won) = chance(3000, &mut rng);
        let calibrated = Metrics::of(&p, &won);
        assert!(calibrated.ece <= calibrated.ece_by_chance, "{calibrated:?}");
        // The same leads told they are three times as likely to buy as they are.
        let tripled: Vec<f64> = p.iter().map(|p| p * 3.0).collect();
        let off = Metrics::of(&tripled, &won);
        assert!(
            off.ece > off.ece_by_chance,
            "{} {}",
            off.ece,
            off.ece_by_chance
        );
        // More leads, less room for chance.
        let (p, _) = chance(30_000, &mut rng);
        assert!(ece_by_chance(&p) < calibrated.ece_by_chance / 2.0);
        assert_eq!(ece_by_chance(&p), ece_by_chance(&p), "seeded");
    }

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

    #[test]
    fn tied_scores_rank_the_same_whatever_order_the_file_has() {
        // A constant predictor over 50 leads, 11 won: first with the wins first, then last.
        let scores = vec![0.2; 50];
        let mut won = vec![false; 50];
        won[..11].fill(true);
        let first = Metrics::of(&scores, &won);
        won.reverse();
        let last = Metrics::of(&scores, &won);
        for m in [&first, &last] {
            assert!((m.pr_auc.unwrap() - 0.22).abs() < 1e-12, "{:?}", m.pr_auc);
            assert!(
                (m.lift_top_decile - 1.0).abs() < 1e-12,
                "{}",
                m.lift_top_decile
            );
            for d in &m.deciles {
                assert!((d.won - 1.1).abs() < 1e-12, "{d:?}");
            }
        }
        // Ties only within a part: the untied order still counts.
        let scores = [0.9, 0.5, 0.5, 0.1];
        let ap = pr_auc(&scores, &[true, false, true, false]).unwrap();
        assert!((ap - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12, "{ap}");
    }

    #[test]
    fn the_auc_interval_narrows_with_more_leads_and_holds_the_auc() {
        // Hanley and McNeil's example (radiology ratings, 58 normal, 51 abnormal): DeLong's
        // standard error there is about 0.032 around an AUC of 0.893.
        let ratings_normal = [(1, 33), (2, 6), (3, 6), (4, 11), (5, 2)];
        let ratings_abnormal = [(1, 3), (2, 2), (3, 2), (4, 11), (5, 33)];
        let (mut scores, mut won) = (Vec::new(), Vec::new());
        for (class, table) in [(false, ratings_normal), (true, ratings_abnormal)] {
            for (rating, count) in table {
                scores.extend(std::iter::repeat_n(f64::from(rating), count));
                won.extend(std::iter::repeat_n(class, count));
            }
        }
        let auc = roc_auc(&scores, &won).unwrap();
        assert!((auc - 0.893).abs() < 0.001, "{auc}");
        let [low, high] = roc_auc_interval(&scores, &won).unwrap();
        let se = (high - low) / 2.0 / 1.96;
        assert!((se - 0.032).abs() < 0.003, "standard error {se}");
        assert!(low < auc && auc < high);
        // Four times the leads, the same shape: half the width.
        let scores4: Vec<f64> = scores
            .iter()
            .cycle()
            .take(scores.len() * 4)
            .copied()
            .collect();
        let won4: Vec<bool> = won.iter().cycle().take(won.len() * 4).copied().collect();
        let [l4, h4] = roc_auc_interval(&scores4, &won4).unwrap();
        assert!(
            (h4 - l4) < (high - low) * 0.55,
            "{l4}-{h4} against {low}-{high}"
        );
        assert_eq!(
            roc_auc_interval(&[0.1, 0.2, 0.3], &[true, false, false]),
            None
        );
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
            let wins = won.iter().filter(|w| **w).count() as f64;
            let counted: f64 = m.deciles.iter().map(|d| d.won).sum();
            prop_assert!((counted - wins).abs() < 1e-9);
            prop_assert!(m.ece >= 0.0 && m.ece <= 1.0);
            prop_assert!(m.brier >= 0.0 && m.brier <= 1.0);
        }
    }
}
