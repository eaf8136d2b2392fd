//! How well one number ranks won leads above lost ones (ROC-AUC): the model's measure, and
//! the evidence the leak checks of imports and training read.

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

/// Separation regardless of direction: a column that ranks lost leads first tells as much.
pub fn separation(scores: &[f64], won: &[bool]) -> Option<f64> {
    roc_auc(scores, won).map(|a| a.max(1.0 - a))
}

/// Alone, a column that separates won from lost this well was almost surely filled in
/// after the outcome.
pub const LEAK_SEPARATION: f64 = 0.97;
/// A column that separates at least this well ...
pub const STANDOUT_SEPARATION: f64 = 0.85;
/// ... and this much better than every other column stands out: real traits share the
/// work, an outcome written down does it alone.
pub const STANDOUT_MARGIN: f64 = 0.1;

/// The column (index) that stands out from all the others by how well it alone separates,
/// with the runner-up's separation; `None` when none does.
pub fn standout(separations: &[f64]) -> Option<(usize, f64)> {
    let mut order: Vec<usize> = (0..separations.len()).collect();
    order.sort_by(|&a, &b| separations[b].total_cmp(&separations[a]));
    let best = *order.first()?;
    let next = order.get(1).map_or(0.5, |&i| separations[i]);
    (separations[best] >= STANDOUT_SEPARATION && separations[best] - next >= STANDOUT_MARGIN)
        .then_some((best, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(roc_auc(&[0.3, 0.3], &[true, false]), Some(0.5));
        assert_eq!(roc_auc(&[0.3], &[true]), None);
        assert_eq!(separation(&[0.9, 0.1], &[false, true]), Some(1.0));
    }

    #[test]
    fn one_column_far_ahead_stands_out_and_a_close_race_does_not() {
        assert_eq!(standout(&[0.62, 0.91, 0.79, 0.55]), Some((1, 0.79)));
        assert_eq!(standout(&[0.62, 0.91, 0.84]), None);
        assert_eq!(standout(&[0.80, 0.60]), None);
        assert_eq!(standout(&[0.90]), Some((0, 0.5)));
        assert_eq!(standout(&[]), None);
    }
}
