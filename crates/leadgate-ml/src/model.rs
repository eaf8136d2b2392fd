//! The conversion model: gradient-boosted trees (forust) over encoded features, calibrated
//! on a held-out fold; trained, evaluated honestly, saved as versioned JSON, and used to
//! predict and explain.

use crate::calibrate::{sigmoid, Calibrator};
use crate::encode::{Choice, Dropped, Encoder, Matrix};
use crate::features::{Observation, Raw};
use crate::logistic::Logistic;
use crate::metrics::Metrics;
use crate::MlError;
use chrono::{DateTime, Duration, Utc};
use forust_ml::gradientbooster::{ContributionsMethod, GradientBooster};
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// The version of the saved model layout; a model saved by another version is refused.
pub const FORMAT_VERSION: u32 = 1;
/// Fewer closed leads than this (or fewer of either outcome than `MIN_PER_CLASS`) and the
/// model is not trained: the rule score stays in charge.
pub const MIN_OUTCOMES: usize = 50;
pub const MIN_PER_CLASS: usize = 10;
/// From this many training leads on, each tree learns from the leads with the largest
/// gradients and a sample of the rest (GOSS, as LightGBM does): a fraction of the time for
/// about the same accuracy on large stores.
const GOSS_FROM_ROWS: usize = 200_000;
/// Share of closed leads held out to test on.
pub const HOLDOUT: f64 = 0.3;
/// Share of the training leads held back to stop boosting and calibrate.
const CALIBRATION_SHARE: f64 = 0.2;
/// When the middle 80% of closed leads span less than this, their times say nothing and
/// the split is stratified instead (an import of a file without dates).
const MEANINGFUL_SPAN_DAYS: i64 = 7;

/// One closed lead to learn from.
#[derive(Debug, Clone)]
pub struct Example {
    /// How the lead is known outside (external id, or its lead id).
    pub key: String,
    pub observation: Observation,
    pub won: bool,
    /// The cutoff its features were read at.
    pub at: DateTime<Utc>,
    /// The deal value recorded with a win.
    pub value: Option<f64>,
}

/// Training settings; the defaults are what `leadgate train` uses.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub seed: u64,
    pub max_trees: usize,
    pub learning_rate: f32,
    pub max_depth: usize,
    /// Stop after this many trees without improving held-back log-loss.
    pub patience: usize,
    pub threads: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            seed: 42,
            max_trees: 400,
            learning_rate: 0.1,
            max_depth: 5,
            patience: 20,
            threads: 2,
        }
    }
}

/// How closed leads were split into training and test sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Train on the older decisions, test on the newer.
    Time,
    /// Seeded, keeping the won share equal on both sides (for data without meaningful times).
    Stratified,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Split {
    pub kind: SplitKind,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Splits closed leads: by time when their times mean something, otherwise stratified.
pub fn split(examples: &[Example], seed: u64) -> Split {
    let mut times: Vec<DateTime<Utc>> = examples.iter().map(|e| e.at).collect();
    times.sort();
    let span = if times.len() >= 10 {
        times[times.len() * 9 / 10] - times[times.len() / 10]
    } else {
        Duration::zero()
    };
    if span >= Duration::days(MEANINGFUL_SPAN_DAYS) {
        let mut order: Vec<usize> = (0..examples.len()).collect();
        order.sort_by_key(|&i| (examples[i].at, i));
        let cut = ((examples.len() as f64) * (1.0 - HOLDOUT)).round() as usize;
        let test = order.split_off(cut);
        // Recent decisions can lean to one side (wins take longer to close than losses):
        // a test set without enough of both says nothing, so the split falls back.
        let wins = test.iter().filter(|&&i| examples[i].won).count();
        if wins >= MIN_PER_CLASS / 2 && test.len() - wins >= MIN_PER_CLASS / 2 {
            return Split {
                kind: SplitKind::Time,
                train: order,
                test,
            };
        }
    }
    let won: Vec<bool> = examples.iter().map(|e| e.won).collect();
    let (train, test) = stratified(&won, HOLDOUT, seed);
    Split {
        kind: SplitKind::Stratified,
        train,
        test,
    }
}

/// Indices split so that each side keeps the won share; `share` goes to the second side.
fn stratified(won: &[bool], share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for class in [false, true] {
        let mut rows: Vec<usize> = (0..won.len()).filter(|&i| won[i] == class).collect();
        rows.shuffle(&mut rng);
        let cut = ((rows.len() as f64) * share).round() as usize;
        second.extend_from_slice(&rows[..cut]);
        first.extend_from_slice(&rows[cut..]);
    }
    first.sort_unstable();
    second.sort_unstable();
    (first, second)
}

/// Refuses data the model cannot learn from, saying what is missing.
pub fn check_outcomes(won: &[bool]) -> Result<(), MlError> {
    let wins = won.iter().filter(|w| **w).count();
    let losses = won.len() - wins;
    if won.is_empty() {
        return Err(MlError::NoOutcomes);
    }
    if wins == 0 || losses == 0 {
        return Err(MlError::OneClass {
            leads: won.len(),
            outcome: if wins == 0 { "lost" } else { "won" },
        });
    }
    if won.len() < MIN_OUTCOMES || wins < MIN_PER_CLASS || losses < MIN_PER_CLASS {
        return Err(MlError::TooFewOutcomes { wins, losses });
    }
    Ok(())
}

/// Expected deal value: a lead's own budget, else the average won deal of its segment
/// (industry, then first-touch channel, when at least `MIN_SEGMENT_WINS` deals say so),
/// else the average won deal; 1 when no win ever carried a value (priority is then the
/// probability alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealValues {
    pub overall: Option<f64>,
    pub by_segment: BTreeMap<String, f64>,
}

const MIN_SEGMENT_WINS: usize = 5;
const SEGMENTS: [&str; 2] = ["industry", "first_touch.channel"];

impl DealValues {
    pub fn fit(examples: &[&Example]) -> DealValues {
        let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
        let mut overall = (0.0, 0usize);
        for e in examples {
            let Some(v) = e.value.filter(|v| e.won && v.is_finite() && *v > 0.0) else {
                continue;
            };
            overall.0 += v;
            overall.1 += 1;
            for field in SEGMENTS {
                if let Some(Raw::Text(t)) = e.observation.get(field) {
                    let s = sums.entry(format!("{field}={t}")).or_default();
                    s.0 += v;
                    s.1 += 1;
                }
            }
        }
        DealValues {
            overall: (overall.1 > 0).then(|| overall.0 / overall.1 as f64),
            by_segment: sums
                .into_iter()
                .filter(|(_, (_, n))| *n >= MIN_SEGMENT_WINS)
                .map(|(k, (s, n))| (k, s / n as f64))
                .collect(),
        }
    }

    /// The value and where it came from.
    pub fn of(&self, observation: &Observation) -> (f64, String) {
        if let Some(Raw::Num(b)) = observation.get("budget") {
            if b.is_finite() && *b > 0.0 {
                return (*b, "its budget".into());
            }
        }
        for field in SEGMENTS {
            if let Some(Raw::Text(t)) = observation.get(field) {
                let key = format!("{field}={t}");
                if let Some(v) = self.by_segment.get(&key) {
                    return (*v, format!("average won deal where {key}"));
                }
            }
        }
        match self.overall {
            Some(v) => (v, "average won deal".into()),
            None => (1.0, "no won deal has a value yet".into()),
        }
    }
}

/// A trained model as saved: everything needed to predict and explain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub format_version: u32,
    pub algorithm: String,
    pub settings: Settings,
    pub encoder: Encoder,
    /// forust's own JSON for the trees.
    pub trees: String,
    pub tree_count: usize,
    pub calibrator: Calibrator,
    /// The average raw score of the training leads, where explanations start from.
    pub base_score: f64,
    pub deal_values: DealValues,
    pub dropped: Vec<Dropped>,
    /// Features used but suspect of recording the outcome.
    #[serde(default)]
    pub suspects: Vec<Dropped>,
    pub trained_on: usize,
    pub window_from: Option<DateTime<Utc>>,
    pub window_to: Option<DateTime<Utc>>,
}

/// A model ready to use: the saved form with its trees loaded.
pub struct Predictor {
    pub model: Model,
    booster: GradientBooster,
}

/// One lead's prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub probability: f64,
    pub expected_value: f64,
    pub value_basis: String,
    /// probability x expected value.
    pub priority: f64,
}

/// One feature's push on a lead's probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub feature: String,
    /// What the lead's value was, in words.
    pub text: String,
    /// Probability points this feature alone moves an average lead (exact tree SHAP value
    /// turned into points at the base rate).
    pub points: f64,
    /// The SHAP value in log-odds.
    pub shap: f64,
}

impl Predictor {
    /// Loads a saved model, refusing other format versions and broken files.
    pub fn load(json: &str) -> Result<Predictor, MlError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| MlError::BadModel(e.to_string()))?;
        let found = value
            .get("format_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| MlError::BadModel("format_version is missing".into()))?;
        if found != u64::from(FORMAT_VERSION) {
            return Err(MlError::IncompatibleModel {
                found,
                expected: FORMAT_VERSION,
            });
        }
        let model: Model =
            serde_json::from_value(value).map_err(|e| MlError::BadModel(e.to_string()))?;
        Predictor::new(model)
    }

    pub fn new(model: Model) -> Result<Predictor, MlError> {
        let booster = GradientBooster::from_json(&model.trees)
            .map_err(|e| MlError::BadModel(format!("trees: {e}")))?;
        Ok(Predictor { model, booster })
    }

    pub fn to_json(&self) -> Result<String, MlError> {
        serde_json::to_string(&self.model).map_err(|e| MlError::BadModel(e.to_string()))
    }

    fn raw_scores(&self, x: &Matrix) -> Vec<f64> {
        // Many rows are worth the threads; one lead on arrival is not.
        self.booster.predict(&forust(x), x.rows >= 1000)
    }

    /// Calibrated won probabilities.
    pub fn probabilities(&self, observations: &[&Observation]) -> Vec<f64> {
        let x = self.model.encoder.transform(observations);
        self.raw_scores(&x)
            .into_iter()
            .map(|s| self.model.calibrator.probability(s))
            .collect()
    }

    pub fn predict(&self, observations: &[&Observation]) -> Vec<Prediction> {
        self.probabilities(observations)
            .into_iter()
            .zip(observations)
            .map(|(probability, obs)| {
                let (expected_value, value_basis) = self.model.deal_values.of(obs);
                Prediction {
                    probability,
                    expected_value,
                    value_basis,
                    priority: probability * expected_value,
                }
            })
            .collect()
    }

    /// The features that pushed this lead's probability up and down, strongest first.
    pub fn explain(&self, observation: &Observation) -> Vec<Reason> {
        let x = self.model.encoder.transform(&[observation]);
        let contributions =
            self.booster
                .predict_contributions(&forust(&x), ContributionsMethod::Shapley, false);
        let base = self.model.base_score;
        let mut reasons: Vec<Reason> = self
            .model
            .encoder
            .columns
            .iter()
            .zip(&contributions)
            .filter(|(_, shap)| shap.abs() > 1e-9)
            .map(|(column, &shap)| Reason {
                feature: column.name.clone(),
                text: crate::explain::describe(column, observation.get(column.name.as_str())),
                points: 100.0 * (sigmoid(base + shap) - sigmoid(base)),
                shap,
            })
            .collect();
        reasons.sort_by(|a, b| b.shap.abs().total_cmp(&a.shap.abs()));
        reasons
    }
}

fn forust(x: &Matrix) -> forust_ml::Matrix<'_, f64> {
    forust_ml::Matrix::new(&x.data, x.rows, x.cols)
}

/// Trees fitted on part of the given leads and calibrated on the rest, ready to predict.
/// The trees are written out (`Model::trees`) only for a model that is kept (`train`).
fn fit(examples: &[&Example], settings: &Settings, choice: Choice) -> Result<Predictor, MlError> {
    let won: Vec<bool> = examples.iter().map(|e| e.won).collect();
    let (fit_rows, cal_rows) = stratified(&won, CALIBRATION_SHARE, settings.seed ^ 1);
    let fit_obs: Vec<&Observation> = fit_rows.iter().map(|&i| &examples[i].observation).collect();
    let fit_won: Vec<bool> = fit_rows.iter().map(|&i| won[i]).collect();
    let cal_obs: Vec<&Observation> = cal_rows.iter().map(|&i| &examples[i].observation).collect();
    let cal_won: Vec<bool> = cal_rows.iter().map(|&i| won[i]).collect();
    let fitted = Encoder::fit(&fit_obs, &fit_won, settings.seed, choice);
    if fitted.encoder.columns.is_empty() {
        return Err(MlError::NoFeatures(fitted.dropped));
    }
    let cal_x = fitted.encoder.transform(&cal_obs);
    let y: Vec<f64> = fit_won.iter().map(|w| f64::from(u8::from(*w))).collect();
    let cal_y: Vec<f64> = cal_won.iter().map(|w| f64::from(u8::from(*w))).collect();
    let weights = vec![1.0; y.len()];
    let cal_weights = vec![1.0; cal_y.len()];
    let mut booster = GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(settings.max_trees)
        .set_learning_rate(settings.learning_rate)
        .set_max_depth(settings.max_depth)
        .set_min_leaf_weight(5.0)
        .set_l2(1.0)
        .set_seed(settings.seed)
        .set_parallel(settings.threads > 1)
        .set_num_threads(Some(settings.threads.max(1)))
        .set_sample_method(if y.len() >= GOSS_FROM_ROWS {
            SampleMethod::Goss
        } else {
            SampleMethod::None
        })
        .set_evaluation_metric(Some(Metric::LogLoss))
        .set_early_stopping_rounds(Some(settings.patience));
    booster
        .fit(
            &forust(&fitted.train),
            &y,
            &weights,
            Some(vec![(forust(&cal_x), &cal_y, &cal_weights)]),
        )
        .map_err(|e| MlError::Training(e.to_string()))?;
    let cal_scores = booster.predict(&forust(&cal_x), settings.threads > 1);
    let calibrator = Calibrator::fit(&cal_scores, &cal_won);
    let tree_count = booster.prediction_iteration.unwrap_or(booster.trees.len());
    let window_from = examples.iter().map(|e| e.at).min();
    let window_to = examples.iter().map(|e| e.at).max();
    let model = Model {
        format_version: FORMAT_VERSION,
        algorithm: "gradient_boosted_trees".into(),
        settings: settings.clone(),
        encoder: fitted.encoder,
        trees: String::new(),
        tree_count,
        calibrator,
        // The average raw score, taken on the held-back leads (as good an estimate as the
        // training leads give, without scoring them all again).
        base_score: cal_scores.iter().sum::<f64>() / cal_scores.len().max(1) as f64,
        deal_values: DealValues::fit(examples),
        dropped: fitted.dropped,
        suspects: fitted.suspects,
        trained_on: examples.len(),
        window_from,
        window_to,
    };
    Ok(Predictor { model, booster })
}

/// The honest measure: both models trained on the training side of the split and scored
/// on leads they never saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    pub split: SplitKind,
    pub train_leads: usize,
    pub test_leads: usize,
    pub roc_auc: Option<f64>,
    pub model: Metrics,
    pub baseline: Metrics,
    pub trees: usize,
    pub features: Vec<String>,
    pub dropped: Vec<Dropped>,
    /// Features used but suspect of recording the outcome, with the evidence.
    #[serde(default)]
    pub suspects: Vec<Dropped>,
    pub train_seconds: f64,
    /// Scoring the test leads.
    pub score_seconds: f64,
    /// Scoring every closed lead (training and test), the peers' "all rows" figure.
    pub score_all_seconds: f64,
    /// What the reader should know before trusting the figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Keys of the test leads, for comparing with other tools on the same split.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub test_keys: Vec<String>,
    /// The model's probability for each test lead (in `test_keys` order), for a contest
    /// with the model in use on the same leads.
    #[serde(skip)]
    pub test_probabilities: Vec<f64>,
}

/// Trains on the older (or a stratified) 70% and measures on the rest.
pub fn evaluate(examples: &[Example], settings: &Settings) -> Result<Evaluation, MlError> {
    let won: Vec<bool> = examples.iter().map(|e| e.won).collect();
    check_outcomes(&won)?;
    let split = split(examples, settings.seed);
    let train: Vec<&Example> = split.train.iter().map(|&i| &examples[i]).collect();
    let test: Vec<&Example> = split.test.iter().map(|&i| &examples[i]).collect();
    let test_won: Vec<bool> = test.iter().map(|e| e.won).collect();
    let started = Instant::now();
    let predictor = fit(&train, settings, Choice::Screened)?;
    let features: Vec<String> = predictor
        .model
        .encoder
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let train_seconds = started.elapsed().as_secs_f64();
    let test_obs: Vec<&Observation> = test.iter().map(|e| &e.observation).collect();
    let started = Instant::now();
    let probabilities = predictor.probabilities(&test_obs);
    let score_seconds = started.elapsed().as_secs_f64();
    // The baseline reads the same columns, encoded without the trees.
    let train_obs: Vec<&Observation> = train.iter().map(|e| &e.observation).collect();
    let train_won: Vec<bool> = train.iter().map(|e| e.won).collect();
    let fitted = Encoder::fit(
        &train_obs,
        &train_won,
        settings.seed,
        Choice::Only(&features),
    );
    let baseline = Logistic::fit(&fitted.train, &train_won)?;
    let baseline_p = baseline.predict(&fitted.encoder.transform(&test_obs));
    let model_metrics = Metrics::of(&probabilities, &test_won);
    let warnings = predictor
        .model
        .suspects
        .iter()
        .map(|s| format!("{} is suspect: {}", s.name, s.reason))
        .chain(rough_test(&model_metrics))
        .chain(off_by_more_than_chance(&model_metrics))
        .collect();
    let all: Vec<&Observation> = examples.iter().map(|e| &e.observation).collect();
    let started = Instant::now();
    predictor.probabilities(&all);
    let score_all_seconds = started.elapsed().as_secs_f64();
    Ok(Evaluation {
        split: split.kind,
        train_leads: train.len(),
        test_leads: test.len(),
        roc_auc: model_metrics.roc_auc,
        model: model_metrics,
        baseline: Metrics::of(&baseline_p, &test_won),
        trees: predictor.model.tree_count,
        features,
        dropped: predictor.model.dropped.clone(),
        suspects: predictor.model.suspects.clone(),
        train_seconds,
        score_seconds,
        score_all_seconds,
        test_keys: test.iter().map(|e| e.key.clone()).collect(),
        test_probabilities: probabilities.clone(),
        warnings,
    })
}

/// Fewer of either outcome than this on the test side and the figures are said to be rough.
const TRUSTED_TEST_OUTCOMES: usize = 30;

/// Says so when the test side holds too few outcomes for its figures to be trusted.
fn rough_test(metrics: &Metrics) -> Option<String> {
    let (won, lost) = (metrics.won, metrics.leads - metrics.won);
    if won >= TRUSTED_TEST_OUTCOMES && lost >= TRUSTED_TEST_OUTCOMES {
        return None;
    }
    let interval = match metrics.roc_auc_interval {
        Some([low, high]) => format!(" (ROC-AUC somewhere between {low:.2} and {high:.2}, 95%)"),
        None => String::new(),
    };
    Some(format!(
        "the test set holds only {won} won and {lost} lost leads: its figures are rough{interval}; \
         trust them from {TRUSTED_TEST_OUTCOMES} of each"
    ))
}

/// Won chances whose calibration error is larger than chance allows on this test set.
fn off_by_more_than_chance(metrics: &Metrics) -> Option<String> {
    (metrics.ece > metrics.ece_by_chance).then(|| {
        format!(
            "won chances are off by more than chance: calibration error {:.3}, where a \
             perfectly calibrated model stays under {:.3} on {} leads (95%)",
            metrics.ece, metrics.ece_by_chance, metrics.leads
        )
    })
}

/// The model to use: evaluated first (its metrics are from leads it did not see), then
/// trained on every closed lead with the features the evaluation chose, so the figures
/// reported are those of the model deployed.
pub fn train(examples: &[Example], settings: &Settings) -> Result<(Model, Evaluation), MlError> {
    let evaluation = evaluate(examples, settings)?;
    let all: Vec<&Example> = examples.iter().collect();
    let Predictor { mut model, booster } = fit(&all, settings, Choice::Only(&evaluation.features))?;
    model.dropped = evaluation.dropped.clone();
    model.suspects = evaluation.suspects.clone();
    model.trees = booster
        .json_dump()
        .map_err(|e| MlError::Training(e.to_string()))?;
    Ok((model, evaluation))
}

/// How far below the model in use a new model may fall and still count as at least as good
/// (differences this small are noise on test sets of a few thousand leads; within them the
/// newer model, trained on fresher outcomes, is preferred).
const CONTEST_TIE: (f64, f64) = (0.01, 0.005);

/// A newly trained model (the challenger) against the one in use (the champion), on the
/// same held-out leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contest {
    /// The leads both were scored on.
    pub leads: usize,
    pub won: usize,
    pub champion_roc_auc: Option<f64>,
    pub champion_brier: f64,
    pub challenger_roc_auc: Option<f64>,
    pub challenger_brier: f64,
    /// Whether the challenger should replace the champion.
    pub challenger_wins: bool,
    /// Why, in a sentence with the figures.
    pub why: String,
}

/// The contest: on the evaluation's test leads that closed after the champion was trained
/// (all of its test leads when too few did, which favours the champion), the challenger
/// wins when its ROC-AUC and Brier score are at least as good. A champion that reads a
/// field now declared `after_outcome` loses without a contest.
pub fn contest(
    examples: &[Example],
    evaluation: &Evaluation,
    champion: &Predictor,
    after_outcome: &[String],
) -> Contest {
    let by_key: std::collections::HashMap<&str, &Example> =
        examples.iter().map(|e| (e.key.as_str(), e)).collect();
    let test: Vec<(&Example, f64)> = evaluation
        .test_keys
        .iter()
        .zip(&evaluation.test_probabilities)
        .filter_map(|(k, p)| by_key.get(k.as_str()).map(|e| (*e, *p)))
        .collect();
    let trained_until = champion.model.window_to;
    let recent: Vec<(&Example, f64)> = test
        .iter()
        .copied()
        .filter(|(e, _)| trained_until.is_none_or(|t| e.at > t))
        .collect();
    let recent_wins = recent.iter().filter(|(e, _)| e.won).count();
    let (leads, seen_before) =
        if recent_wins >= MIN_PER_CLASS / 2 && recent.len() - recent_wins >= MIN_PER_CLASS / 2 {
            (recent, false)
        } else {
            (test, true)
        };
    let won: Vec<bool> = leads.iter().map(|(e, _)| e.won).collect();
    let challenger: Vec<f64> = leads.iter().map(|(_, p)| *p).collect();
    let observations: Vec<&Observation> = leads.iter().map(|(e, _)| &e.observation).collect();
    let held = champion.probabilities(&observations);
    let (c_auc, c_brier) = (
        crate::metrics::roc_auc(&held, &won),
        crate::metrics::brier(&held, &won),
    );
    let (n_auc, n_brier) = (
        crate::metrics::roc_auc(&challenger, &won),
        crate::metrics::brier(&challenger, &won),
    );
    let figures = format!(
        "on {} held-out leads{}: ROC-AUC {} against {} in use, Brier {n_brier:.4} against {c_brier:.4}",
        leads.len(),
        if seen_before {
            " (the model in use may have learnt from some of them)"
        } else {
            " that closed after the model in use was trained"
        },
        crate::report::opt(n_auc),
        crate::report::opt(c_auc),
    );
    let leaky = champion.model.encoder.columns.iter().find(|c| {
        after_outcome
            .iter()
            .any(|f| *f == c.name || format!("custom.{f}") == c.name)
    });
    let (challenger_wins, why) = if let Some(column) = leaky {
        (
            true,
            format!(
                "the model in use reads {}, since declared filled in after the outcome; {figures}",
                column.name
            ),
        )
    } else {
        let ranks = match (n_auc, c_auc) {
            (Some(n), Some(c)) => n >= c - CONTEST_TIE.0,
            _ => true,
        };
        let wins = ranks && n_brier <= c_brier + CONTEST_TIE.1;
        let verdict = if wins {
            "the new model is at least as good"
        } else {
            "the new model is worse"
        };
        (wins, format!("{verdict} {figures}"))
    };
    Contest {
        leads: won.len(),
        won: won.iter().filter(|w| **w).count(),
        champion_roc_auc: c_auc,
        champion_brier: c_brier,
        challenger_roc_auc: n_auc,
        challenger_brier: n_brier,
        challenger_wins,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Leads whose won chance rises with visits and with one occupation, plus noise columns.
    fn examples(n: usize, spread_days: i64) -> Vec<Example> {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        (0..n)
            .map(|i| {
                use rand::Rng;
                let visits = rng.gen_range(0..12) as f64;
                let occupation = ["Student", "Working Professional", "Unemployed"][i % 3];
                let logit = -2.0 + 0.35 * visits + if i % 3 == 1 { 1.5 } else { 0.0 };
                let won = rng.gen::<f64>() < sigmoid(logit);
                let mut observation = Observation::new();
                observation.insert("custom.total_visits".into(), Raw::Num(visits));
                observation.insert("custom.occupation".into(), Raw::Text(occupation.into()));
                observation.insert("noise".into(), Raw::Num(rng.gen::<f64>()));
                if i % 4 == 0 {
                    observation.insert("industry".into(), Raw::Text("Education".into()));
                }
                Example {
                    key: i.to_string(),
                    observation,
                    won,
                    at: start + Duration::minutes(i as i64 * spread_days * 1440 / n as i64),
                    value: won.then_some(1000.0 + (i % 5) as f64 * 100.0),
                }
            })
            .collect()
    }

    #[test]
    fn learns_the_signal_calibrated_and_deterministic() {
        let data = examples(3000, 0);
        let settings = Settings::default();
        let eval = evaluate(&data, &settings).unwrap();
        assert_eq!(eval.split, SplitKind::Stratified);
        let auc = eval.roc_auc.unwrap();
        assert!(auc > 0.75, "ROC-AUC {auc}");
        assert!(eval.model.ece < 0.08, "ECE {}", eval.model.ece);
        assert!(eval.baseline.roc_auc.unwrap() > 0.7);
        let again = evaluate(&data, &settings).unwrap();
        assert_eq!(again.model.brier.to_bits(), eval.model.brier.to_bits());
    }

    #[test]
    fn explanations_name_the_features_that_matter_and_point_the_right_way() {
        let data = examples(2000, 0);
        let (model, _) = train(&data, &Settings::default()).unwrap();
        let predictor =
            Predictor::load(&Predictor::new(model).unwrap().to_json().unwrap()).unwrap();
        let mut keen = Observation::new();
        keen.insert("custom.total_visits".into(), Raw::Num(11.0));
        keen.insert(
            "custom.occupation".into(),
            Raw::Text("Working Professional".into()),
        );
        let reasons = predictor.explain(&keen);
        assert!(reasons.len() >= 2);
        let visits = reasons
            .iter()
            .find(|r| r.feature == "custom.total_visits")
            .unwrap();
        assert!(visits.points > 0.0);
        assert!(visits.text.contains("11"), "{}", visits.text);
        let mut cold = Observation::new();
        cold.insert("custom.total_visits".into(), Raw::Num(0.0));
        let p = predictor.predict(&[&keen, &cold]);
        assert!(p[0].probability > p[1].probability + 0.3, "{p:?}");
        assert!((p[0].expected_value - 1200.0).abs() < 100.0, "{p:?}");
        assert!((p[0].priority - p[0].probability * p[0].expected_value).abs() < 1e-9);
    }

    /// Adds a column that records the outcome (`[won, lost]` texts), wrong for a `wrong`
    /// share of leads: what a sales verdict filled in after the outcome looks like.
    fn write_down_the_outcome(
        data: &mut [Example],
        column: &str,
        wrong: f64,
        seed: u64,
        [won, lost]: [&str; 2],
    ) {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for e in data {
            let flip = rng.gen::<f64>() < wrong;
            let text = if e.won != flip { won } else { lost };
            e.observation.insert(column.into(), Raw::Text(text.into()));
        }
    }

    #[test]
    fn the_deployed_model_reads_the_features_its_evaluation_reported() {
        // A column that gives the outcome away for all but ~3% of leads: alone it ranks
        // near the leak cut-off, so samples of different leads can judge it differently.
        let mut data = examples(1500, 0);
        write_down_the_outcome(
            &mut data,
            "custom.tags",
            0.028,
            3,
            ["Will revert", "Ringing"],
        );
        let mut outcomes = std::collections::BTreeSet::new();
        for seed in 1..=12 {
            let settings = Settings {
                seed,
                max_trees: 30,
                ..Settings::default()
            };
            let (model, evaluation) = train(&data, &settings).unwrap();
            let deployed: Vec<String> = model
                .encoder
                .columns
                .iter()
                .map(|c| c.name.clone())
                .collect();
            assert_eq!(deployed, evaluation.features, "seed {seed}");
            assert_eq!(model.dropped, evaluation.dropped, "seed {seed}");
            outcomes.insert(evaluation.features.contains(&"custom.tags".to_string()));
        }
        // The column is borderline indeed: some seeds keep it, some drop it.
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    }

    #[test]
    fn a_feature_far_ahead_of_all_others_is_named_suspect_with_its_evidence() {
        let mut data = examples(3000, 0);
        write_down_the_outcome(
            &mut data,
            "custom.lead_quality",
            0.08,
            4,
            ["High in Relevance", "Worst"],
        );
        let (model, evaluation) = train(&data, &Settings::default()).unwrap();
        let warning = evaluation.warnings.join("\n");
        assert!(
            warning.contains("custom.lead_quality is suspect") && warning.contains("the next best"),
            "{warning}"
        );
        assert_eq!(model.suspects, evaluation.suspects);
        assert!(crate::report::html(&evaluation, "t").contains("lead_quality is suspect"));
        // Without it, the real traits share the work and nothing stands out.
        let clean = evaluate(&examples(3000, 0), &Settings::default()).unwrap();
        assert!(clean.suspects.is_empty(), "{:?}", clean.suspects);
    }

    #[test]
    fn a_weaker_challenger_loses_the_contest_and_a_leaky_champion_loses_it_anyway() {
        let data = examples(3000, 90);
        let (champion, _) = train(&data[..2000], &Settings::default()).unwrap();
        let champion = Predictor::new(champion).unwrap();
        // A stump: one shallow tree.
        let stump = Settings {
            max_trees: 1,
            max_depth: 1,
            ..Settings::default()
        };
        let (_, weak) = train(&data, &stump).unwrap();
        let c = contest(&data, &weak, &champion, &[]);
        assert!(!c.challenger_wins, "{c:?}");
        assert!(c.why.starts_with("the new model is worse on"), "{}", c.why);
        assert!(
            c.why.contains("closed after the model in use was trained"),
            "{}",
            c.why
        );
        let (_, strong) = train(&data, &Settings::default()).unwrap();
        let c = contest(&data, &strong, &champion, &[]);
        assert!(c.challenger_wins, "{c:?}");
        let c = contest(&data, &weak, &champion, &["total_visits".to_string()]);
        assert!(c.challenger_wins, "{c:?}");
        assert!(c.why.contains("reads custom.total_visits"), "{}", c.why);
    }

    #[test]
    fn dated_outcomes_split_by_time_older_first() {
        let data = examples(500, 60);
        let s = split(&data, 1);
        assert_eq!(s.kind, SplitKind::Time);
        let newest_train = s.train.iter().map(|&i| data[i].at).max().unwrap();
        let oldest_test = s.test.iter().map(|&i| data[i].at).min().unwrap();
        assert!(newest_train <= oldest_test);
        assert_eq!(s.test.len(), 150);
    }

    #[test]
    fn too_little_or_one_sided_data_is_refused_with_the_reason() {
        assert!(matches!(check_outcomes(&[]), Err(MlError::NoOutcomes)));
        let err = check_outcomes(&[false; 80]).unwrap_err();
        assert!(err.to_string().contains("all 80"), "{err}");
        let mut few = vec![false; 60];
        few[..5].fill(true);
        let err = check_outcomes(&few).unwrap_err();
        assert!(err.to_string().contains("5 won"), "{err}");
    }

    #[test]
    fn the_documented_minimum_is_enough_and_a_small_test_set_is_called_rough() {
        // 50 closed leads, 10 won: the minimum the error message and the README state.
        let mut data = examples(50, 0);
        for (i, e) in data.iter_mut().enumerate() {
            e.won = i % 5 == 0;
        }
        let eval = evaluate(&data, &Settings::default()).unwrap();
        assert_eq!(eval.train_leads + eval.test_leads, 50);
        let warning = eval.warnings.join(" ");
        assert!(warning.contains("only 3 won and 12 lost"), "{warning}");
        assert!(warning.contains("ROC-AUC somewhere between"), "{warning}");
        let mut fewer = data[..49].to_vec();
        fewer[0].won = false;
        let err = evaluate(&fewer, &Settings::default()).unwrap_err();
        assert!(err.to_string().contains("9 won and 40 lost"), "{err}");
        // Enough outcomes on the test side: no warning.
        let eval = evaluate(&examples(3000, 0), &Settings::default()).unwrap();
        assert!(eval.warnings.is_empty(), "{:?}", eval.warnings);
    }

    #[test]
    fn models_of_another_format_version_are_refused() {
        let data = examples(600, 0);
        let (model, _) = train(&data, &Settings::default()).unwrap();
        let mut json: serde_json::Value = serde_json::to_value(&model).unwrap();
        json["format_version"] = 99.into();
        let err = Predictor::load(&json.to_string()).err().unwrap();
        assert!(err.to_string().contains("99"), "{err}");
        assert!(Predictor::load("{not json").is_err());
    }
}
