//! Turning observations into numbers: which features are used (and why others are not),
//! categories as smoothed won rates, missing values as NaN for the trees.

use crate::features::{Observation, Raw};
use leadgate_core::ranking::{separation, standout, LEAK_SEPARATION};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A category seen fewer times than this shares the "other" rate.
pub const MIN_CATEGORY_COUNT: usize = 10;
/// Pseudo-count pulling a category's won rate towards the overall rate.
const SMOOTHING: f64 = 10.0;
/// The most categories one column keeps by name; the rest are "other".
const MAX_CATEGORIES: usize = 200;
/// A feature known for fewer leads than this is not used.
pub const MIN_KNOWN: usize = 5;
/// The most leads the leak check reads per feature.
const LEAK_SAMPLE: usize = 100_000;
/// Folds for out-of-fold category rates on training rows (a row's own outcome never feeds
/// the rate it is given).
const FOLDS: usize = 5;

/// How one used feature is turned into a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnKind {
    Numeric,
    /// A number that is only ever 0 or 1 (a yes/no answer): encoded as is, read as yes or no.
    YesNo,
    /// Won rate per category (smoothed); rare and unseen categories get `other`.
    Category {
        rates: BTreeMap<String, f64>,
        other: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(flatten)]
    pub kind: ColumnKind,
}

/// A feature left out of the model, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub name: String,
    pub reason: String,
}

/// The fitted encoding: the columns a model reads, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    pub columns: Vec<Column>,
}

/// Encoded rows in column-major order (the layout the trees read), NaN where unknown.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Matrix {
    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.data[col * self.rows + row]
    }

    pub fn column(&self, col: usize) -> &[f64] {
        &self.data[col * self.rows..(col + 1) * self.rows]
    }

    /// The given rows, in that order.
    pub fn select(&self, rows: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for col in 0..self.cols {
            let column = self.column(col);
            data.extend(rows.iter().map(|&r| column[r]));
        }
        Matrix {
            rows: rows.len(),
            cols: self.cols,
            data,
        }
    }
}

/// Which features a fit may use.
#[derive(Debug, Clone, Copy)]
pub enum Choice<'a> {
    /// Every feature the observations have, less those screened out (too rarely known,
    /// constant, identifiers, leaks), each with its reason in `Fitted::dropped`.
    Screened,
    /// Exactly these, as an earlier screening chose them: the model that is deployed reads
    /// the features its evaluation read, not a second choice made on other leads.
    Only(&'a [String]),
}

/// What fitting found: the encoder, the training rows encoded (categories out of fold),
/// and the features left out.
pub struct Fitted {
    pub encoder: Encoder,
    pub train: Matrix,
    pub dropped: Vec<Dropped>,
    /// Features kept but suspect of recording the outcome, with the evidence.
    pub suspects: Vec<Dropped>,
}

/// One feature's cells as gathered from the observations, with what choosing it needs.
struct Gathered<'a> {
    name: &'a str,
    cells: Vec<Option<&'a Raw>>,
    known: usize,
    first: Option<&'a Raw>,
    varies: bool,
    /// Any value is text: the feature is a category.
    texts: bool,
}

impl<'a> Gathered<'a> {
    fn new(name: &'a str, rows: usize) -> Self {
        Gathered {
            name,
            cells: vec![None; rows],
            known: 0,
            first: None,
            varies: false,
            texts: false,
        }
    }

    /// Tallied while the value is at hand: a later pass over a column would fetch every
    /// value again from wherever its observation lives.
    fn add(&mut self, row: usize, raw: &'a Raw) {
        self.cells[row] = Some(raw);
        self.known += 1;
        self.texts |= matches!(raw, Raw::Text(_));
        if !self.varies {
            match self.first {
                None => self.first = Some(raw),
                Some(first) => self.varies = first != raw,
            }
        }
    }
}

impl Encoder {
    /// Chooses (see `Choice`) and fits the columns on training observations with their
    /// outcomes.
    pub fn fit(observations: &[&Observation], won: &[bool], seed: u64, choice: Choice) -> Fitted {
        let n = observations.len();
        // One pass over the observations (row by row is what memory likes), cells by column
        // in order of first appearance.
        let mut index: FxHashMap<&str, usize> = FxHashMap::default();
        let mut gathered: Vec<Gathered> = Vec::new();
        // Observations list their features in name order, so the column at a position is
        // nearly always the one at that position in the row before: compared, not hashed,
        // and by address first (names are shared, see `feature_name`).
        let mut by_position: Vec<usize> = Vec::new();
        for (row, obs) in observations.iter().enumerate() {
            for (position, (name, raw)) in obs.iter().enumerate() {
                let col = match by_position.get(position) {
                    Some(&col) if same_name(gathered[col].name, name) => col,
                    _ => {
                        let col = *index.entry(name).or_insert_with(|| {
                            gathered.push(Gathered::new(name, n));
                            gathered.len() - 1
                        });
                        if position < by_position.len() {
                            by_position[position] = col;
                        } else {
                            by_position.push(col);
                        }
                        col
                    }
                };
                gathered[col].add(row, raw);
            }
        }
        gathered.sort_by_key(|g| g.name);
        let screened = matches!(choice, Choice::Screened);
        if let Choice::Only(names) = choice {
            gathered.retain(|g| names.iter().any(|n| n == g.name));
        }
        let mut dropped = Vec::new();
        let mut candidates = Vec::new();
        for g in gathered {
            if !screened {
                candidates.push(g);
            } else if g.known < MIN_KNOWN {
                dropped.push(Dropped {
                    name: g.name.to_owned(),
                    reason: format!("known for only {} of {n} leads", g.known),
                });
            } else if !g.varies && g.known == n {
                dropped.push(Dropped {
                    name: g.name.to_owned(),
                    reason: "the same value for every lead".to_owned(),
                });
            } else {
                candidates.push(g);
            }
        }
        let prior = won.iter().filter(|w| **w).count() as f64 / n.max(1) as f64;
        let folds = fold_of(n, seed);
        let mut columns = Vec::new();
        let mut separations = Vec::new();
        let mut data = Vec::new();
        for Gathered {
            name,
            cells,
            texts: categorical,
            ..
        } in candidates
        {
            let (kind, values) = if categorical {
                fit_category(&cells, won, prior, &folds)
            } else {
                let values = cells
                    .iter()
                    .map(|c| match c {
                        Some(Raw::Num(v)) => *v,
                        _ => f64::NAN,
                    })
                    .collect::<Vec<f64>>();
                let yes_no = values.iter().all(|v| v.is_nan() || *v == 0.0 || *v == 1.0);
                let kind = if yes_no {
                    ColumnKind::YesNo
                } else {
                    ColumnKind::Numeric
                };
                (kind, values)
            };
            if screened && !categorical && looks_like_identifier(&values) {
                dropped.push(Dropped {
                    name: name.to_owned(),
                    reason:
                        "a different whole number for almost every lead: an identifier, not a trait"
                            .to_owned(),
                });
                continue;
            }
            // Only a screening judges the features: a refit on a chosen list keeps them all.
            let alone = if screened {
                best_separation(&values, won)
            } else {
                None
            };
            if let Some(auc) = alone.filter(|a| *a >= LEAK_SEPARATION) {
                dropped.push(Dropped {
                    name: name.to_owned(),
                    reason: format!(
                        "on its own it tells won from lost almost perfectly (ROC-AUC {auc:.3}): it was probably filled in after the outcome"
                    ),
                });
                continue;
            }
            columns.push(Column {
                name: name.to_owned(),
                kind,
            });
            separations.push(alone.unwrap_or(0.5));
            data.extend(values);
        }
        let suspects = standout(&separations)
            .map(|(i, next)| Dropped {
                name: columns[i].name.clone(),
                reason: format!(
                    "on its own it ranks won above lost far better than any other feature (ROC-AUC {:.3}; the next best {next:.3}): if it was filled in after the outcome, mark it after_outcome in the mapping",
                    separations[i]
                ),
            })
            .into_iter()
            .collect();
        let cols = columns.len();
        Fitted {
            encoder: Encoder { columns },
            train: Matrix {
                rows: n,
                cols,
                data,
            },
            dropped,
            suspects,
        }
    }

    /// Encodes observations with the fitted rates (for rows the encoder was not fitted on).
    pub fn transform(&self, observations: &[&Observation]) -> Matrix {
        let rows = observations.len();
        let index: FxHashMap<&str, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        // Hashed copies of the category rates: a lookup per cell is the hot path.
        let rates: Vec<Option<(FxHashMap<&str, f64>, f64)>> = self
            .columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Numeric | ColumnKind::YesNo => None,
                ColumnKind::Category { rates, other } => Some((
                    rates.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
                    *other,
                )),
            })
            .collect();
        // Each column's rates by the address of a shared text value (`feature_text`), so a
        // value is lowercased and looked up once, not once per cell.
        let mut by_address: Vec<FxHashMap<*const u8, f64>> =
            vec![FxHashMap::default(); self.columns.len()];
        let mut data = vec![f64::NAN; rows * self.columns.len()];
        for (row, obs) in observations.iter().enumerate() {
            for (name, raw) in obs.iter() {
                let Some(&col) = index.get(&**name) else {
                    continue;
                };
                let rate = |raw: &Raw, (map, other): &(FxHashMap<&str, f64>, f64)| {
                    map.get(category_key(raw).as_ref())
                        .copied()
                        .unwrap_or(*other)
                };
                data[col * rows + row] = match (&rates[col], raw) {
                    (None, Raw::Num(v)) => *v,
                    (None, Raw::Text(_)) => f64::NAN,
                    (Some(rates), Raw::Text(t)) => *by_address[col]
                        .entry(t.as_ptr())
                        .or_insert_with(|| rate(raw, rates)),
                    (Some(rates), raw) => rate(raw, rates),
                };
            }
        }
        Matrix {
            rows,
            cols: self.columns.len(),
            data,
        }
    }
}

impl Column {
    /// Whether the model learnt something about this value itself: a category value too
    /// rare to be named shares the "other" rate with every other rare value.
    pub fn knows(&self, raw: &Raw) -> bool {
        match &self.kind {
            ColumnKind::Category { rates, .. } => rates.contains_key(category_key(raw).as_ref()),
            ColumnKind::Numeric | ColumnKind::YesNo => true,
        }
    }

    pub fn encode(&self, raw: Option<&Raw>) -> f64 {
        match (&self.kind, raw) {
            (_, None) => f64::NAN,
            (ColumnKind::Numeric | ColumnKind::YesNo, Some(Raw::Num(v))) => *v,
            (ColumnKind::Numeric | ColumnKind::YesNo, Some(Raw::Text(_))) => f64::NAN,
            (ColumnKind::Category { rates, other }, Some(raw)) => rates
                .get(category_key(raw).as_ref())
                .copied()
                .unwrap_or(*other),
        }
    }
}

/// Equal names, told by address when they share one (without reading either name).
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The text a value is filed under in a category column (numbers mixed into a text column
/// count as their text).
/// Borrowed when the value is already lower case.
fn category_key(raw: &Raw) -> Cow<'_, str> {
    match raw {
        Raw::Text(s) if !s.chars().any(char::is_uppercase) => Cow::Borrowed(s),
        Raw::Text(s) => Cow::Owned(s.to_lowercase()),
        Raw::Num(v) => Cow::Owned(v.to_string()),
    }
}

fn fold_of(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f01d));
    let mut fold = vec![0; n];
    for (i, row) in order.into_iter().enumerate() {
        fold[row] = i % FOLDS;
    }
    fold
}

fn smoothed(won: f64, count: f64, prior: f64) -> f64 {
    (won + SMOOTHING * prior) / (count + SMOOTHING)
}

/// A category column's rates on all training rows, and each training row's rate computed
/// without its own fold.
fn fit_category(
    cells: &[Option<&Raw>],
    won: &[bool],
    prior: f64,
    folds: &[usize],
) -> (ColumnKind, Vec<f64>) {
    // Each distinct text is numbered once; the rest is indexing by that number.
    type Tally = ([f64; 2], [[f64; 2]; FOLDS]);
    let mut numbers: FxHashMap<Cow<str>, usize> = FxHashMap::default();
    let mut keys: Vec<Cow<str>> = Vec::new();
    // Cells of one value share its allocation (`feature_text`): once a value is numbered,
    // its other cells are found by address, its text neither read nor lowercased again.
    let mut by_address: FxHashMap<*const u8, usize> = FxHashMap::default();
    // Per category: [won, count] overall and per fold.
    let mut stats: Vec<Tally> = Vec::new();
    let ids: Vec<Option<usize>> = cells
        .iter()
        .zip(won)
        .zip(folds)
        .map(|((cell, &w), &fold)| {
            let raw = (*cell)?;
            let address = match raw {
                Raw::Text(t) => Some(t.as_ptr()),
                Raw::Num(_) => None,
            };
            let id = match address.and_then(|a| by_address.get(&a)) {
                Some(&id) => id,
                None => {
                    let key = category_key(raw);
                    let id = match numbers.get(key.as_ref()) {
                        Some(&id) => id,
                        None => {
                            keys.push(key.clone());
                            stats.push(Tally::default());
                            numbers.insert(key, stats.len() - 1);
                            stats.len() - 1
                        }
                    };
                    if let Some(a) = address {
                        by_address.insert(a, id);
                    }
                    id
                }
            };
            let s = &mut stats[id];
            s.0[0] += f64::from(u8::from(w));
            s.0[1] += 1.0;
            s.1[fold][0] += f64::from(u8::from(w));
            s.1[fold][1] += 1.0;
            Some(id)
        })
        .collect();
    let mut by_count: Vec<usize> = (0..stats.len()).collect();
    by_count.sort_by(|&a, &b| {
        stats[b].0[1]
            .total_cmp(&stats[a].0[1])
            .then(keys[a].cmp(&keys[b]))
    });
    let mut named = vec![false; stats.len()];
    for &id in by_count
        .iter()
        .filter(|&&id| stats[id].0[1] >= MIN_CATEGORY_COUNT as f64)
        .take(MAX_CATEGORIES)
    {
        named[id] = true;
    }
    // Everything not named pools into "other", overall and per fold.
    let mut other = Tally::default();
    for (s, _) in stats.iter().zip(&named).filter(|(_, named)| !**named) {
        for i in 0..2 {
            other.0[i] += s.0[i];
            for f in 0..FOLDS {
                other.1[f][i] += s.1[f][i];
            }
        }
    }
    let rates: BTreeMap<String, f64> = (0..stats.len())
        .filter(|&id| named[id])
        .map(|id| {
            let s = &stats[id].0;
            (keys[id].clone().into_owned(), smoothed(s[0], s[1], prior))
        })
        .collect();
    let other_rate = smoothed(other.0[0], other.0[1], prior);
    let values = ids
        .iter()
        .zip(folds)
        .map(|(id, &fold)| {
            let Some(id) = *id else { return f64::NAN };
            let s = if named[id] { &stats[id] } else { &other };
            smoothed(s.0[0] - s.1[fold][0], s.0[1] - s.1[fold][1], prior)
        })
        .collect();
    (
        ColumnKind::Category {
            rates,
            other: other_rate,
        },
        values,
    )
}

/// Whole numbers, (nearly) all different: a record number, which would only teach the model
/// when leads happened to be numbered.
fn looks_like_identifier(values: &[f64]) -> bool {
    let mut known: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if known.len() < 50 || known.iter().any(|v| v.fract() != 0.0) {
        return false;
    }
    known.sort_unstable_by(f64::total_cmp);
    known.dedup();
    known.len() as f64 >= 0.9 * values.len() as f64
}

/// How well the feature alone separates won from lost, either way round; missing values
/// are tried both as the lowest value and left out, so that a field filled in only for won
/// leads is caught too.
fn best_separation(values: &[f64], won: &[bool]) -> Option<f64> {
    // On a large set, every k-th lead tells the same within a few thousandths (far below
    // the margin to `LEAK_SEPARATION`) for a fraction of the sorting.
    let step = values.len().div_ceil(LEAK_SAMPLE).max(1);
    let (values, won): (Vec<f64>, Vec<bool>) = values
        .iter()
        .zip(won)
        .step_by(step)
        .map(|(v, w)| (*v, *w))
        .unzip();
    let low = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold(f64::INFINITY, |a, b| a.min(*b))
        - 1.0;
    let filled: Vec<f64> = values
        .iter()
        .map(|v| if v.is_nan() { low } else { *v })
        .collect();
    let mut aucs = vec![separation(&filled, &won)];
    // Only with gaps do the known values alone tell something else.
    if values.iter().any(|v| v.is_nan()) {
        let (scores, labels): (Vec<f64>, Vec<bool>) = values
            .iter()
            .zip(&won)
            .filter(|(v, _)| !v.is_nan())
            .map(|(v, w)| (*v, *w))
            .unzip();
        aucs.push(separation(&scores, &labels));
    }
    aucs.into_iter().flatten().reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(pairs: &[(&str, Raw)]) -> Observation {
        pairs
            .iter()
            .map(|(k, v)| (crate::features::feature_name(k), v.clone()))
            .collect()
    }

    #[test]
    fn constant_rare_and_leaking_features_are_dropped_with_reasons() {
        let mut rows = Vec::new();
        let mut won = Vec::new();
        for i in 0..200 {
            let w = i % 3 == 0;
            let mut pairs = vec![
                ("constant", Raw::Num(1.0)),
                ("visits", Raw::Num((i % 7) as f64)),
                (
                    "tag",
                    Raw::Text(if w { "closed" } else { "ringing" }.into()),
                ),
                ("city", Raw::Text(["a", "b", "c"][i % 3].into())),
            ];
            if i < 3 {
                pairs.push(("rare", Raw::Num(i as f64)));
            }
            pairs.push(("lead_number", Raw::Num(660_000.0 + i as f64)));
            rows.push(obs(&pairs));
            won.push(w);
        }
        let refs: Vec<&Observation> = rows.iter().collect();
        let fitted = Encoder::fit(&refs, &won, 7, Choice::Screened);
        let used: Vec<&str> = fitted
            .encoder
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(used, ["visits"]);
        let reasons: BTreeMap<&str, &str> = fitted
            .dropped
            .iter()
            .map(|d| (d.name.as_str(), d.reason.as_str()))
            .collect();
        assert!(reasons["constant"].contains("same value"));
        assert!(reasons["rare"].contains("only 3 of 200"));
        assert!(reasons["lead_number"].contains("identifier"));
        assert!(reasons["tag"].contains("after the outcome"), "{reasons:?}");
        // `city` is a perfect proxy too (i % 3 == 0 is city "a").
        assert!(reasons["city"].contains("after the outcome"));
        assert_eq!(fitted.train.cols, 1);
        assert_eq!(fitted.train.get(5, 0), 5.0);
    }

    #[test]
    fn categories_become_smoothed_won_rates_and_unseen_ones_the_other_rate() {
        let mut rows = Vec::new();
        let mut won = Vec::new();
        for i in 0..400 {
            let city = if i < 395 {
                ["Hanoi", "Tehran"][i % 2]
            } else {
                "Lyon"
            };
            // Hanoi wins 3 in 4, Tehran 1 in 4.
            let w = if i % 2 == 0 { i % 8 != 0 } else { i % 8 == 1 };
            rows.push(obs(&[("city", Raw::Text(city.into()))]));
            won.push(w);
        }
        let refs: Vec<&Observation> = rows.iter().collect();
        let fitted = Encoder::fit(&refs, &won, 1, Choice::Screened);
        let column = &fitted.encoder.columns[0];
        let hanoi = column.encode(Some(&Raw::Text("HANOI".into())));
        let tehran = column.encode(Some(&Raw::Text("Tehran".into())));
        let unseen = column.encode(Some(&Raw::Text("Shanghai".into())));
        assert!(hanoi > 0.7 && hanoi < 0.76, "{hanoi}");
        assert!(tehran > 0.24 && tehran < 0.3, "{tehran}");
        let ColumnKind::Category { other, .. } = &column.kind else {
            panic!("not a category")
        };
        assert_eq!(unseen, *other);
        assert!(column.encode(None).is_nan());
        // Out of fold: training rows of one city do not all get the same rate.
        let train_rates: std::collections::BTreeSet<u64> = (0..400)
            .step_by(2)
            .map(|r| fitted.train.get(r, 0).to_bits())
            .collect();
        assert!(train_rates.len() > 1);
    }
}
