//! The written definition of a qualified lead, as a TOML document both teams read: fit and
//! behaviour rules with points, BANT, grades, the MQL rule and the lifecycle's reasons.
//! Parsing checks it whole and names the line of every mistake; `docs/policy.md` is the guide.

use crate::condition::{Condition, FieldRef};
use crate::event::EventType;
use crate::lead::LeadField;
use crate::Stage;
use regex::Regex;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;
use toml::Spanned;

/// A mistake in a policy document, with the line it is on (1-based; 0 when it concerns the
/// document as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PolicyError {
    pub line: usize,
    pub message: String,
}

/// Every mistake found in one document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// A parsed, checked policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The product line whose leads this policy scores (`custom.product` of a lead), or
    /// "default".
    pub product: String,
    pub description: Option<String>,
    pub fit: Vec<FitRule>,
    /// What junk flags mean here; a flag without a rule blocks MQL and adds no points.
    pub junk: Vec<JunkRule>,
    pub behaviour: Vec<BehaviourRule>,
    pub bant: Bant,
    pub grades: Grades,
    pub mql: MqlRule,
    pub stages: StageRules,
    /// Response deadlines per stage and temperature, in order (the first that applies).
    pub sla: Vec<crate::sla::SlaRule>,
    /// Assignment rules, in order (the first that holds names the team).
    pub routing: Vec<crate::routing::RoutingRule>,
    /// What happens by itself when events arrive.
    pub automation: Vec<crate::automation::AutomationRule>,
    /// Nurture sequences automation rules enrol leads in.
    pub sequences: Vec<crate::automation::Sequence>,
    /// Which behaviour rules an event can feed, found without trying every rule.
    pub(crate) behaviour_index: BehaviourIndex,
}

/// Behaviour rules by event type; rules conditioned on one payload key are found by a hash
/// lookup of that key's (lower-cased) value, the rest are tried one by one. (Fx hashing: the
/// keys are the policy's own, so hash flooding is no concern, and it is the hot path.)
#[derive(Debug, Clone, Default)]
pub(crate) struct BehaviourIndex {
    pub by_type: rustc_hash::FxHashMap<EventType, TypeIndex>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TypeIndex {
    /// key -> folded value -> rule indices.
    pub keyed: Vec<(String, rustc_hash::FxHashMap<String, Vec<usize>>)>,
    /// Rules with no condition, several keys or minimums: tried against each event.
    pub other: Vec<usize>,
}

impl BehaviourIndex {
    fn build(rules: &[BehaviourRule]) -> Self {
        let mut index = BehaviourIndex::default();
        for (i, rule) in rules.iter().enumerate() {
            let entry = index.by_type.entry(rule.event).or_default();
            let single = (rule.conditions.len() == 1 && rule.minimums.is_empty())
                .then(|| rule.conditions.iter().next())
                .flatten();
            if let Some((key, values)) = single {
                let key = key.clone();
                let slot = match entry.keyed.iter().position(|(k, _)| *k == key) {
                    Some(p) => p,
                    None => {
                        entry.keyed.push((key, Default::default()));
                        entry.keyed.len() - 1
                    }
                };
                for value in values {
                    entry.keyed[slot]
                        .1
                        .entry(value.clone())
                        .or_default()
                        .push(i);
                }
            } else {
                entry.other.push(i);
            }
        }
        index
    }
}

#[derive(Debug, Clone)]
pub struct FitRule {
    pub name: String,
    pub field: FieldRef,
    pub condition: Condition,
    pub points: f64,
}

/// What one junk flag (see `quality`) means under the policy: points added to the fit score,
/// and whether a lead with it may still become an MQL.
#[derive(Debug, Clone, PartialEq)]
pub struct JunkRule {
    pub reason: crate::quality::JunkReason,
    pub points: f64,
    pub blocks_mql: bool,
}

impl Policy {
    /// The rule for a junk flag; without one the flag blocks MQL and adds no points.
    pub fn junk_rule(&self, reason: crate::quality::JunkReason) -> JunkRule {
        self.junk
            .iter()
            .find(|r| r.reason == reason)
            .cloned()
            .unwrap_or(JunkRule {
                reason,
                points: 0.0,
                blocks_mql: true,
            })
    }
}

/// How the worth of an event fades with age.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    None,
    /// Worth halves every `days`.
    HalfLife(f64),
    /// Only events of the last `days` count, at full worth.
    Window(f64),
}

#[derive(Debug, Clone)]
pub struct BehaviourRule {
    pub name: String,
    pub event: EventType,
    /// Payload keys and the values (any of) they must have, compared case-insensitively
    /// (held trimmed and lower-cased).
    pub conditions: BTreeMap<String, Vec<String>>,
    pub points: f64,
    /// Most points (by magnitude) the rule gives in all.
    pub cap: Option<f64>,
    /// Most events per lead and calendar day (UTC) that count.
    pub per_day: Option<u32>,
    pub decay: Decay,
    /// Payload keys whose number must be at least so much (`where_at_least`: time on a page).
    pub minimums: BTreeMap<String, f64>,
    /// With it, the rule gives its points once, when so many events count.
    pub at_least: Option<AtLeast>,
}

/// A rule that counts: "3 visits to /pricing in 7 days" is `at_least = 3`, `distinct =
/// "visit"`, `window_days = 7` on `page_viewed` where `page = "/pricing"`.
#[derive(Debug, Clone, PartialEq)]
pub struct AtLeast {
    pub count: u32,
    /// Events count once per value of this payload key (a visit's number); events without
    /// it do not count.
    pub distinct: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BantPart {
    Budget,
    Authority,
    Need,
    Timeline,
}

impl BantPart {
    pub const ALL: [BantPart; 4] = [
        BantPart::Budget,
        BantPart::Authority,
        BantPart::Need,
        BantPart::Timeline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BantPart::Budget => "budget",
            BantPart::Authority => "authority",
            BantPart::Need => "need",
            BantPart::Timeline => "timeline",
        }
    }

    pub fn from_name(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == raw)
    }
}

/// What BANT means in this policy, and what a SQL needs of it.
#[derive(Debug, Clone, Default)]
pub struct Bant {
    /// Each part, as a condition on a lead field. A part without a condition is met only
    /// when a rep confirms it.
    pub criteria: BTreeMap<BantPart, (FieldRef, Condition)>,
    /// Parts a SQL must meet.
    pub sql_requires: Vec<BantPart>,
    /// How many parts in all a SQL must meet.
    pub sql_at_least: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FitGrade {
    A,
    B,
    C,
    D,
}

impl FitGrade {
    pub fn letter(self) -> char {
        match self {
            FitGrade::A => 'A',
            FitGrade::B => 'B',
            FitGrade::C => 'C',
            FitGrade::D => 'D',
        }
    }
}

impl FromStr for FitGrade {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(FitGrade::A),
            "B" => Ok(FitGrade::B),
            "C" => Ok(FitGrade::C),
            "D" => Ok(FitGrade::D),
            other => Err(format!(
                "unknown fit grade '{other}'; grades are A, B, C and D"
            )),
        }
    }
}

/// Points needed for each fit grade and engagement level; the grade matrix's temperatures.
#[derive(Debug, Clone)]
pub struct Grades {
    /// Fit points for A, B and C (D below C).
    pub fit: [f64; 3],
    /// Behaviour points for engagement levels 1, 2 and 3 (4 below 3).
    pub engagement: [f64; 3],
    /// Grades such as "A1" that are hot, and warm; the rest are cold.
    pub hot: Vec<String>,
    pub warm: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct MqlRule {
    pub min_score: f64,
    pub min_fit: Option<FitGrade>,
}

/// Which moves are automatic and which reasons people may give.
#[derive(Debug, Clone)]
pub struct StageRules {
    /// Move lead -> MQL (and back when the rule stops holding before sales touched it) on
    /// scoring.
    pub auto_mql: bool,
    /// Days a recycled lead rests before the policy may make it an MQL again, and then
    /// only after it engaged since it was recycled (0: it may come back at once).
    pub recycle_cooldown_days: u32,
    pub sal_reject_reasons: Vec<String>,
    pub disqualify_reasons: Vec<String>,
    pub recycle_reasons: Vec<String>,
}

// ---- the document as written -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    policy: MetaDoc,
    #[serde(default)]
    fit: Vec<Spanned<FitDoc>>,
    #[serde(default)]
    junk: Vec<Spanned<JunkDoc>>,
    #[serde(default)]
    behaviour: Vec<Spanned<BehaviourDoc>>,
    #[serde(default)]
    bant: Option<Spanned<BantDoc>>,
    grades: Spanned<GradesDoc>,
    mql: Spanned<MqlDoc>,
    #[serde(default)]
    stages: Option<Spanned<StagesDoc>>,
    #[serde(default)]
    sla: Vec<Spanned<SlaDoc>>,
    #[serde(default)]
    routing: Vec<Spanned<RoutingDoc>>,
    #[serde(default)]
    automation: Vec<Spanned<AutomationDoc>>,
    #[serde(default)]
    sequence: Vec<Spanned<SequenceDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JunkDoc {
    reason: String,
    #[serde(default)]
    points: f64,
    #[serde(default = "yes")]
    blocks_mql: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SequenceDoc {
    name: String,
    steps: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutomationDoc {
    name: String,
    on: String,
    #[serde(default)]
    days: Option<u32>,
    #[serde(default, rename = "where")]
    when: BTreeMap<String, StringOrList>,
    #[serde(default)]
    stage: Vec<String>,
    #[serde(default, rename = "if")]
    conditions: Vec<CriterionDoc>,
    #[serde(rename = "do")]
    actions: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaDoc {
    name: String,
    stage: String,
    #[serde(default)]
    temperature: Vec<String>,
    #[serde(default)]
    grade: Vec<String>,
    within: String,
    until: crate::sla::Until,
    #[serde(default)]
    on_breach: Vec<crate::sla::Escalation>,
    #[serde(default)]
    recycle_after_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutingDoc {
    name: String,
    #[serde(default)]
    country: Vec<String>,
    #[serde(default)]
    channel: Vec<String>,
    #[serde(default)]
    product: Vec<String>,
    #[serde(default)]
    industry: Vec<String>,
    #[serde(default)]
    grade: Vec<String>,
    #[serde(default)]
    temperature: Vec<String>,
    #[serde(default)]
    company_size: Option<[i64; 2]>,
    team: String,
    #[serde(default)]
    method: crate::routing::Method,
    #[serde(default)]
    when_open: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaDoc {
    name: String,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConditionDoc {
    #[serde(default, rename = "in")]
    in_: Option<Vec<String>>,
    #[serde(default)]
    not_in: Option<Vec<String>>,
    #[serde(default)]
    between: Option<[f64; 2]>,
    #[serde(default)]
    at_least: Option<f64>,
    #[serde(default)]
    at_most: Option<f64>,
    #[serde(default)]
    matches: Option<Vec<String>>,
    #[serde(default)]
    present: Option<bool>,
    #[serde(default)]
    free_mail: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FitDoc {
    name: String,
    field: Spanned<String>,
    points: f64,
    #[serde(flatten)]
    condition: ConditionDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourDoc {
    name: String,
    event: Spanned<String>,
    points: f64,
    #[serde(default, rename = "where")]
    conditions: BTreeMap<String, StringOrList>,
    #[serde(default)]
    cap: Option<f64>,
    #[serde(default)]
    per_day: Option<u32>,
    #[serde(default)]
    half_life_days: Option<f64>,
    #[serde(default)]
    window_days: Option<f64>,
    #[serde(default)]
    where_at_least: BTreeMap<String, f64>,
    #[serde(default)]
    at_least: Option<u32>,
    #[serde(default)]
    distinct: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CriterionDoc {
    field: String,
    #[serde(flatten)]
    condition: ConditionDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BantDoc {
    #[serde(default)]
    budget: Option<CriterionDoc>,
    #[serde(default)]
    authority: Option<CriterionDoc>,
    #[serde(default)]
    need: Option<CriterionDoc>,
    #[serde(default)]
    timeline: Option<CriterionDoc>,
    #[serde(default)]
    sql_requires: Vec<String>,
    #[serde(default)]
    sql_at_least: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FitThresholds {
    #[serde(rename = "A")]
    a: f64,
    #[serde(rename = "B")]
    b: f64,
    #[serde(rename = "C")]
    c: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngagementThresholds {
    #[serde(rename = "1")]
    one: f64,
    #[serde(rename = "2")]
    two: f64,
    #[serde(rename = "3")]
    three: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GradesDoc {
    fit: FitThresholds,
    engagement: EngagementThresholds,
    #[serde(default)]
    hot: Option<Vec<String>>,
    #[serde(default)]
    warm: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MqlDoc {
    min_score: f64,
    #[serde(default)]
    min_fit: Option<String>,
}

/// Days a recycled lead rests by default: a month, the usual "try again later".
fn recycle_cooldown() -> u32 {
    30
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StagesDoc {
    #[serde(default = "yes")]
    auto_mql: bool,
    #[serde(default = "recycle_cooldown")]
    recycle_cooldown_days: u32,
    #[serde(default)]
    sal_reject_reasons: Vec<String>,
    #[serde(default)]
    disqualify_reasons: Vec<String>,
    #[serde(default)]
    recycle_reasons: Vec<String>,
}

fn yes() -> bool {
    true
}

const DEFAULT_SAL_REJECT: [&str; 4] = ["not a fit", "no budget", "wrong contact", "duplicate"];
const DEFAULT_DISQUALIFY: [&str; 5] = ["no budget", "no need", "competitor", "unreachable", "junk"];
const DEFAULT_RECYCLE: [&str; 3] = ["not ready yet", "no response", "timing"];

/// Turns a byte offset into a 1-based line number.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

struct Checker<'a> {
    source: &'a str,
    errors: Vec<PolicyError>,
    /// Rule names seen so far, as `section:name`: a name is defined once per section.
    names: HashSet<String>,
}

impl Checker<'_> {
    fn at(&mut self, span: &std::ops::Range<usize>, message: impl Into<String>) {
        self.errors.push(PolicyError {
            line: line_of(self.source, span.start),
            message: message.into(),
        });
    }

    fn condition(
        &mut self,
        span: &std::ops::Range<usize>,
        what: &str,
        doc: ConditionDoc,
        field: &FieldRef,
    ) -> Option<Condition> {
        let mut found = Vec::new();
        let fold = |list: Vec<String>| {
            list.into_iter()
                .map(|v| v.trim().to_lowercase())
                .collect::<Vec<_>>()
        };
        if let Some(list) = doc.in_ {
            found.push(Condition::In(fold(list)));
        }
        if let Some(list) = doc.not_in {
            found.push(Condition::NotIn(fold(list)));
        }
        if let Some([min, max]) = doc.between {
            if min > max {
                self.at(span, format!("{what}: between = [{min}, {max}] can never hold: the first bound must not exceed the second"));
                return None;
            }
            found.push(Condition::Between(min, max));
        }
        if let Some(n) = doc.at_least {
            found.push(Condition::AtLeast(n));
        }
        if let Some(n) = doc.at_most {
            found.push(Condition::AtMost(n));
        }
        if let Some(patterns) = doc.matches {
            let mut compiled = Vec::new();
            for pattern in patterns {
                match Regex::new(&format!("(?i){pattern}")) {
                    Ok(re) => compiled.push(re),
                    Err(e) => {
                        self.at(
                            span,
                            format!("{what}: '{pattern}' is not a valid pattern: {e}"),
                        );
                        return None;
                    }
                }
            }
            found.push(Condition::Matches(compiled));
        }
        if let Some(b) = doc.present {
            found.push(Condition::Present(b));
        }
        if let Some(b) = doc.free_mail {
            if !matches!(
                field,
                FieldRef::Lead(LeadField::Email) | FieldRef::EmailDomain
            ) {
                self.at(
                    span,
                    format!("{what}: free_mail applies to the email or email_domain field only"),
                );
                return None;
            }
            found.push(Condition::FreeMail(b));
        }
        match found.len() {
            1 => found.pop(),
            0 => {
                self.at(span, format!("{what}: needs a condition: one of in, not_in, between, at_least, at_most, matches, present, free_mail"));
                None
            }
            _ => {
                self.at(span, format!("{what}: has {} conditions; give exactly one (write two rules to combine them)", found.len()));
                None
            }
        }
    }

    fn field(&mut self, span: &std::ops::Range<usize>, what: &str, raw: &str) -> Option<FieldRef> {
        FieldRef::parse(raw)
            .map_err(|e| self.at(span, format!("{what}: {e}")))
            .ok()
    }

    fn reasons(
        &mut self,
        span: &std::ops::Range<usize>,
        key: &str,
        list: Vec<String>,
        default: &[&str],
    ) -> Vec<String> {
        if list.is_empty() {
            return default.iter().map(|s| s.to_string()).collect();
        }
        let mut seen = std::collections::HashSet::new();
        for reason in &list {
            if reason.trim().is_empty() {
                self.at(span, format!("stages.{key}: a reason must not be blank"));
            } else if !seen.insert(reason.to_lowercase()) {
                self.at(span, format!("stages.{key}: '{reason}' is listed twice"));
            }
        }
        list
    }

    fn temperatures(
        &mut self,
        span: &std::ops::Range<usize>,
        what: &str,
        list: &[String],
    ) -> Vec<crate::temperature::Temperature> {
        list.iter()
            .filter_map(|t| {
                t.parse()
                    .map_err(|e| self.at(span, format!("{what}: temperature: {e}")))
                    .ok()
            })
            .collect()
    }
}

/// One method per section of the document; each reads its section and records every mistake
/// in it, so `Policy::parse` reports them all at once.
impl Checker<'_> {
    fn fit(&mut self, docs: Vec<Spanned<FitDoc>>) -> Vec<FitRule> {
        let mut fit = Vec::new();
        for rule in docs {
            let span = rule.span();
            let rule = rule.into_inner();
            let what = format!("fit rule '{}'", rule.name);
            if !self.names.insert(format!("fit:{}", rule.name)) {
                self.at(&span, format!("{what} is defined twice"));
            }
            if rule.points == 0.0 || !rule.points.is_finite() {
                self.at(&span, format!("{what}: points must be a non-zero number"));
            }
            let Some(field) = self.field(&rule.field.span(), &what, rule.field.get_ref()) else {
                continue;
            };
            if let Some(condition) = self.condition(&span, &what, rule.condition, &field) {
                fit.push(FitRule {
                    name: rule.name,
                    field,
                    condition,
                    points: rule.points,
                });
            }
        }
        fit
    }

    fn junk(&mut self, docs: Vec<Spanned<JunkDoc>>) -> Vec<JunkRule> {
        let mut junk: Vec<JunkRule> = Vec::new();
        for rule in docs {
            let span = rule.span();
            let rule = rule.into_inner();
            let Some(reason) = crate::quality::JunkReason::from_name(rule.reason.trim()) else {
                let names: Vec<&str> = crate::quality::JunkReason::ALL
                    .iter()
                    .map(|r| r.as_str())
                    .collect();
                self.at(
                    &span,
                    format!(
                        "junk: '{}' is not a junk flag; use one of {}",
                        rule.reason,
                        names.join(", ")
                    ),
                );
                continue;
            };
            if !rule.points.is_finite() {
                self.at(
                    &span,
                    format!("junk '{}': points must be a number", rule.reason),
                );
            }
            if junk.iter().any(|r| r.reason == reason) {
                self.at(&span, format!("junk '{}' is defined twice", rule.reason));
            }
            junk.push(JunkRule {
                reason,
                points: rule.points,
                blocks_mql: rule.blocks_mql,
            });
        }
        junk
    }

    fn behaviour(&mut self, docs: Vec<Spanned<BehaviourDoc>>) -> Vec<BehaviourRule> {
        let mut behaviour = Vec::new();
        for rule in docs {
            let span = rule.span();
            let rule = rule.into_inner();
            let what = format!("behaviour rule '{}'", rule.name);
            if !self.names.insert(format!("behaviour:{}", rule.name)) {
                self.at(&span, format!("{what} is defined twice"));
            }
            let event = match EventType::from_str(rule.event.get_ref()) {
                Ok(e) => Some(e),
                Err(reason) => {
                    self.at(&rule.event.span(), format!("{what}: {reason}"));
                    None
                }
            };
            if rule.points == 0.0 || !rule.points.is_finite() {
                self.at(&span, format!("{what}: points must be a non-zero number"));
            }
            if let Some(cap) = rule.cap {
                if cap <= 0.0 {
                    self.at(
                        &span,
                        format!(
                            "{what}: cap is the most points in all, by size; it must be above 0"
                        ),
                    );
                } else if cap < rule.points.abs() {
                    self.at(&span, format!("{what}: cap {cap} is below the {} points of a single event, so the rule could never give its points", rule.points));
                }
            }
            if rule.per_day == Some(0) {
                self.at(
                    &span,
                    format!("{what}: per_day = 0 would make the rule count nothing"),
                );
            }
            let decay = match (rule.half_life_days, rule.window_days) {
                (Some(_), Some(_)) => {
                    self.at(
                        &span,
                        format!("{what}: give half_life_days or window_days, not both"),
                    );
                    Decay::None
                }
                (Some(d), None) | (None, Some(d)) if d <= 0.0 || !d.is_finite() => {
                    self.at(&span, format!("{what}: decay days must be above 0"));
                    Decay::None
                }
                (Some(d), None) => Decay::HalfLife(d),
                (None, Some(d)) => Decay::Window(d),
                (None, None) => Decay::None,
            };
            let conditions = payload_values(rule.conditions);
            if let Some((key, min)) = rule.where_at_least.iter().find(|(_, m)| !m.is_finite()) {
                self.at(
                    &span,
                    format!("{what}: where_at_least.{key} = {min} is not a number"),
                );
            }
            let at_least = match (rule.at_least, rule.distinct) {
                (Some(count), _) if count < 2 => {
                    self.at(
                        &span,
                        format!("{what}: at_least counts events; it must be 2 or more"),
                    );
                    None
                }
                (Some(count), distinct) => Some(AtLeast {
                    count,
                    distinct: distinct
                        .map(|d| d.trim().to_owned())
                        .filter(|d| !d.is_empty()),
                }),
                (None, Some(_)) => {
                    self.at(
                        &span,
                        format!("{what}: distinct needs at_least (what to count)"),
                    );
                    None
                }
                (None, None) => None,
            };
            if let Some(event) = event {
                behaviour.push(BehaviourRule {
                    name: rule.name,
                    event,
                    conditions,
                    points: rule.points,
                    cap: rule.cap,
                    per_day: rule.per_day,
                    decay,
                    minimums: rule.where_at_least,
                    at_least,
                });
            }
        }
        behaviour
    }

    fn bant(&mut self, doc: Option<Spanned<BantDoc>>) -> Bant {
        let mut bant = Bant {
            criteria: BTreeMap::new(),
            sql_requires: Vec::new(),
            sql_at_least: 0,
        };
        if let Some(doc_bant) = doc {
            let span = doc_bant.span();
            let b = doc_bant.into_inner();
            for (part, criterion) in [
                (BantPart::Budget, b.budget),
                (BantPart::Authority, b.authority),
                (BantPart::Need, b.need),
                (BantPart::Timeline, b.timeline),
            ] {
                if let Some(c) = criterion {
                    let what = format!("bant.{}", part.name());
                    if let Some(field) = self.field(&span, &what, &c.field) {
                        if let Some(condition) = self.condition(&span, &what, c.condition, &field) {
                            bant.criteria.insert(part, (field, condition));
                        }
                    }
                }
            }
            for raw in &b.sql_requires {
                match BantPart::from_name(raw) {
                    Some(part) if !bant.sql_requires.contains(&part) => bant.sql_requires.push(part),
                    Some(_) => self.at(&span, format!("bant.sql_requires lists '{raw}' twice")),
                    None => self.at(&span, format!("bant.sql_requires: unknown part '{raw}'; BANT parts are budget, authority, need, timeline")),
                }
            }
            bant.sql_at_least = b.sql_at_least.unwrap_or(bant.sql_requires.len());
            if bant.sql_at_least > 4 {
                self.at(
                    &span,
                    format!(
                        "bant.sql_at_least = {} can never hold: BANT has four parts",
                        bant.sql_at_least
                    ),
                );
            } else if bant.sql_at_least < bant.sql_requires.len() {
                self.at(
                    &span,
                    format!(
                        "bant.sql_at_least = {} is fewer than the {} parts sql_requires names",
                        bant.sql_at_least,
                        bant.sql_requires.len()
                    ),
                );
            }
        }
        bant
    }

    fn grades(&mut self, doc: Spanned<GradesDoc>) -> Grades {
        let grades_span = doc.span();
        let g = doc.into_inner();
        if !(g.fit.a > g.fit.b && g.fit.b > g.fit.c) {
            self.at(
                &grades_span,
                format!(
                    "grades.fit: A ({}) must need more points than B ({}), and B more than C ({})",
                    g.fit.a, g.fit.b, g.fit.c
                ),
            );
        }
        if !(g.engagement.one > g.engagement.two && g.engagement.two > g.engagement.three) {
            self.at(&grades_span, format!(
                "grades.engagement: level 1 ({}) must need more points than 2 ({}), and 2 more than 3 ({})",
                g.engagement.one, g.engagement.two, g.engagement.three
            ));
        }
        let hot = g
            .hot
            .unwrap_or_else(|| ["A1", "A2", "B1"].map(String::from).to_vec());
        let warm = g
            .warm
            .unwrap_or_else(|| ["A3", "B2", "C1", "C2", "B3"].map(String::from).to_vec());
        for grade in hot.iter().chain(&warm) {
            if !is_grade(grade) {
                self.at(&grades_span, format!("grades: '{grade}' is not a grade; grades are a fit letter A-D and an engagement level 1-4, as in A1"));
            }
        }
        if let Some(both) = hot.iter().find(|g| warm.contains(g)) {
            self.at(
                &grades_span,
                format!("grades: '{both}' is both hot and warm"),
            );
        }
        Grades {
            fit: [g.fit.a, g.fit.b, g.fit.c],
            engagement: [g.engagement.one, g.engagement.two, g.engagement.three],
            hot,
            warm,
        }
    }

    /// The MQL rule, checked against what the fit and behaviour rules can give.
    fn mql(
        &mut self,
        doc: Spanned<MqlDoc>,
        fit: &[FitRule],
        behaviour: &[BehaviourRule],
        grades: &Grades,
    ) -> MqlRule {
        let mql_span = doc.span();
        let m = doc.into_inner();
        let min_fit = m.min_fit.and_then(|raw| {
            raw.parse::<FitGrade>()
                .map_err(|e| self.at(&mql_span, format!("mql.min_fit: {e}")))
                .ok()
        });
        // (+ 0.0: an empty f64 sum is -0.0, which would print as "-0".)
        let max_fit: f64 = fit.iter().map(|r| r.points.max(0.0)).sum::<f64>() + 0.0;
        let unbounded = behaviour.iter().any(|r| r.points > 0.0 && r.cap.is_none());
        let max_behaviour: f64 = behaviour
            .iter()
            .filter(|r| r.points > 0.0)
            .filter_map(|r| r.cap)
            .sum();
        if !unbounded && m.min_score > max_fit + max_behaviour {
            self.at(
                &mql_span,
                format!(
                    "mql.min_score = {} cannot be reached: the rules give at most {} points",
                    m.min_score,
                    max_fit + max_behaviour
                ),
            );
        }
        if let Some(grade) = min_fit {
            let needed = match grade {
                FitGrade::A => grades.fit[0],
                FitGrade::B => grades.fit[1],
                FitGrade::C => grades.fit[2],
                FitGrade::D => f64::NEG_INFINITY,
            };
            if needed > max_fit {
                self.at(&mql_span, format!(
                    "mql.min_fit = {} cannot be reached: it needs {needed} fit points and the fit rules give at most {max_fit}",
                    grade.letter()
                ));
            }
        }
        MqlRule {
            min_score: m.min_score,
            min_fit,
        }
    }

    fn stages(&mut self, doc: Option<Spanned<StagesDoc>>) -> StageRules {
        match doc {
            Some(s) => {
                let span = s.span();
                let s = s.into_inner();
                StageRules {
                    auto_mql: s.auto_mql,
                    recycle_cooldown_days: s.recycle_cooldown_days,
                    sal_reject_reasons: self.reasons(
                        &span,
                        "sal_reject_reasons",
                        s.sal_reject_reasons,
                        &DEFAULT_SAL_REJECT,
                    ),
                    disqualify_reasons: self.reasons(
                        &span,
                        "disqualify_reasons",
                        s.disqualify_reasons,
                        &DEFAULT_DISQUALIFY,
                    ),
                    recycle_reasons: self.reasons(
                        &span,
                        "recycle_reasons",
                        s.recycle_reasons,
                        &DEFAULT_RECYCLE,
                    ),
                }
            }
            None => StageRules {
                auto_mql: true,
                recycle_cooldown_days: recycle_cooldown(),
                sal_reject_reasons: DEFAULT_SAL_REJECT.map(String::from).to_vec(),
                disqualify_reasons: DEFAULT_DISQUALIFY.map(String::from).to_vec(),
                recycle_reasons: DEFAULT_RECYCLE.map(String::from).to_vec(),
            },
        }
    }

    fn sla(&mut self, docs: Vec<Spanned<SlaDoc>>) -> Vec<crate::sla::SlaRule> {
        let mut sla = Vec::new();
        for rule in docs {
            let span = rule.span();
            let rule = rule.into_inner();
            let what = format!("sla '{}'", rule.name);
            if !self.names.insert(format!("sla:{}", rule.name)) {
                self.at(&span, format!("{what} is defined twice"));
            }
            let stage = Stage::from_str(&rule.stage)
                .map_err(|e| self.at(&span, format!("{what}: stage: {e}")))
                .ok();
            if matches!(stage, Some(Stage::Customer | Stage::Disqualified)) {
                self.at(
                    &span,
                    format!("{what}: a {} lead has no clock to run", rule.stage),
                );
            }
            let within = rule
                .within
                .parse::<crate::sla::Within>()
                .map_err(|e| self.at(&span, format!("{what}: within: {e}")))
                .ok();
            let temperatures = self.temperatures(&span, &what, &rule.temperature);
            let grades: Vec<String> = rule.grade.iter().map(|g| g.trim().to_uppercase()).collect();
            for grade in &grades {
                if !is_grade(grade) {
                    self.at(
                        &span,
                        format!("{what}: '{grade}' is not a grade such as A1"),
                    );
                }
            }
            if rule.recycle_after_days == Some(0) {
                self.at(
                    &span,
                    format!("{what}: recycle_after_days must be at least 1"),
                );
            }
            if let (Some(stage), Some(within)) = (stage, within) {
                sla.push(crate::sla::SlaRule {
                    name: rule.name,
                    stage,
                    temperatures,
                    grades,
                    within,
                    until: rule.until,
                    on_breach: rule.on_breach,
                    recycle_after_days: rule.recycle_after_days,
                });
            }
        }
        sla
    }

    fn routing(&mut self, docs: Vec<Spanned<RoutingDoc>>) -> Vec<crate::routing::RoutingRule> {
        let mut routing = Vec::new();
        for rule in docs {
            let span = rule.span();
            let rule = rule.into_inner();
            let what = format!("routing '{}'", rule.name);
            if !self.names.insert(format!("routing:{}", rule.name)) {
                self.at(&span, format!("{what} is defined twice"));
            }
            for channel in &rule.channel {
                if let Err(e) = crate::Channel::from_str(channel) {
                    self.at(&span, format!("{what}: channel: {e}"));
                }
            }
            for grade in &rule.grade {
                if !is_grade(&grade.trim().to_uppercase()) {
                    self.at(
                        &span,
                        format!("{what}: '{grade}' is not a grade such as A1"),
                    );
                }
            }
            if let Some([min, max]) = rule.company_size {
                if min > max {
                    self.at(
                        &span,
                        format!("{what}: company_size [{min}, {max}] is empty"),
                    );
                }
            }
            if rule.team.trim().is_empty() {
                self.at(&span, format!("{what}: team must name a team"));
            }
            let temperatures = self.temperatures(&span, &what, &rule.temperature);
            routing.push(crate::routing::RoutingRule {
                name: rule.name,
                countries: rule.country,
                channels: rule.channel,
                products: rule.product,
                industries: rule.industry,
                grades: rule.grade.iter().map(|g| g.trim().to_uppercase()).collect(),
                temperatures,
                company_size: rule.company_size.map(|[a, b]| (a, b)),
                team: rule.team.trim().to_owned(),
                method: rule.method,
                when_open: rule.when_open,
            });
        }
        routing
    }

    fn automation(
        &mut self,
        docs: Vec<Spanned<AutomationDoc>>,
    ) -> Vec<crate::automation::AutomationRule> {
        let mut automation = Vec::new();
        for rule in docs {
            let span = rule.span();
            let rule = rule.into_inner();
            let what = format!("automation '{}'", rule.name);
            if !self.names.insert(format!("automation:{}", rule.name)) {
                self.at(&span, format!("{what} is defined twice"));
            }
            let on = match (rule.on.trim(), rule.days) {
                ("inactive", Some(days)) if (1..=3650).contains(&days) => {
                    Some(crate::automation::Trigger::Inactive { days })
                }
                ("inactive", _) => {
                    self.at(
                        &span,
                        format!("{what}: on = \"inactive\" needs days = 1 to 3650"),
                    );
                    None
                }
                (_, Some(_)) => {
                    self.at(
                        &span,
                        format!("{what}: days goes only with on = \"inactive\""),
                    );
                    None
                }
                (name, None) => EventType::from_str(name)
                    .map(crate::automation::Trigger::Event)
                    .map_err(|e| {
                        self.at(
                            &span,
                            format!("{what}: on: {e} (or \"inactive\" with days)"),
                        )
                    })
                    .ok(),
            };
            let stages: Vec<Stage> = rule
                .stage
                .iter()
                .filter_map(|s| {
                    Stage::from_str(s)
                        .map_err(|e| self.at(&span, format!("{what}: stage: {e}")))
                        .ok()
                })
                .collect();
            let mut conditions = Vec::new();
            for criterion in rule.conditions {
                if let Some(field) = self.field(&span, &what, &criterion.field) {
                    if let Some(condition) =
                        self.condition(&span, &what, criterion.condition, &field)
                    {
                        conditions.push((field, condition));
                    }
                }
            }
            let when = payload_values(rule.when);
            if rule.actions.is_empty() {
                self.at(
                    &span,
                    format!("{what} does nothing: give at least one action in do"),
                );
            }
            let actions: Vec<_> = rule
                .actions
                .iter()
                .filter_map(|table| {
                    crate::automation_doc::action(table)
                        .map_err(|e| self.at(&span, format!("{what}: {e}")))
                        .ok()
                })
                .collect();
            if let Some(on) = on {
                automation.push(crate::automation::AutomationRule {
                    name: rule.name,
                    on,
                    when,
                    stages,
                    conditions,
                    actions,
                });
            }
        }
        automation
    }

    fn sequences(&mut self, docs: Vec<Spanned<SequenceDoc>>) -> Vec<crate::automation::Sequence> {
        let mut sequences = Vec::new();
        for sequence in docs {
            let span = sequence.span();
            let sequence = sequence.into_inner();
            let what = format!("sequence '{}'", sequence.name);
            if !self.names.insert(format!("sequence:{}", sequence.name)) {
                self.at(&span, format!("{what} is defined twice"));
            }
            if sequence.steps.is_empty() {
                self.at(&span, format!("{what} has no steps"));
            }
            let steps = sequence
                .steps
                .iter()
                .enumerate()
                .filter_map(|(i, table)| {
                    crate::automation_doc::step(table)
                        .map_err(|e| self.at(&span, format!("{what}: step {}: {e}", i + 1)))
                        .ok()
                })
                .collect();
            sequences.push(crate::automation::Sequence {
                name: sequence.name,
                steps,
            });
        }
        sequences
    }

    /// Every sequence an automation enrols leads in is defined.
    fn enrolled_sequences_exist(
        &mut self,
        automation: &[crate::automation::AutomationRule],
        sequences: &[crate::automation::Sequence],
    ) {
        for rule in automation {
            for action in &rule.actions {
                if let crate::automation::Action::Enrol(name) = action {
                    if !sequences.iter().any(|s| &s.name == name) {
                        self.errors.push(PolicyError {
                            line: 0,
                            message: format!(
                                "automation '{}': enrol names sequence '{name}', which this policy does not define",
                                rule.name
                            ),
                        });
                    }
                }
            }
        }
    }
}

/// Payload keys with the values they must have, lowercased (one value or a list, as written).
fn payload_values(written: BTreeMap<String, StringOrList>) -> BTreeMap<String, Vec<String>> {
    written
        .into_iter()
        .map(|(key, values)| {
            let values = match values {
                StringOrList::One(one) => vec![one],
                StringOrList::Many(list) => list,
            };
            (
                key,
                values.iter().map(|v| v.trim().to_lowercase()).collect(),
            )
        })
        .collect()
}

/// A grade: a fit letter A-D and an engagement level 1-4, as in A1.
fn is_grade(grade: &str) -> bool {
    matches!(grade.as_bytes(), [b'A'..=b'D', b'1'..=b'4'])
}

impl Policy {
    /// Parses and checks a policy document; all mistakes are reported together.
    pub fn parse(source: &str) -> Result<Policy, PolicyErrors> {
        let doc: Doc = toml::from_str(source).map_err(|e| {
            let line = e.span().map(|s| line_of(source, s.start)).unwrap_or(0);
            PolicyErrors(vec![PolicyError {
                line,
                message: e.message().trim().to_owned(),
            }])
        })?;
        let mut check = Checker {
            source,
            errors: Vec::new(),
            names: HashSet::new(),
        };
        let fit = check.fit(doc.fit);
        let junk = check.junk(doc.junk);
        let behaviour = check.behaviour(doc.behaviour);
        let bant = check.bant(doc.bant);
        let grades = check.grades(doc.grades);
        let mql = check.mql(doc.mql, &fit, &behaviour, &grades);
        let stages = check.stages(doc.stages);
        let sla = check.sla(doc.sla);
        let routing = check.routing(doc.routing);
        let automation = check.automation(doc.automation);
        let sequences = check.sequences(doc.sequence);
        check.enrolled_sequences_exist(&automation, &sequences);

        if !check.errors.is_empty() {
            check.errors.sort_by_key(|e| e.line);
            return Err(PolicyErrors(check.errors));
        }
        Ok(Policy {
            name: doc.policy.name,
            product: doc
                .policy
                .product
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "default".into()),
            description: doc.policy.description,
            fit,
            junk,
            behaviour_index: BehaviourIndex::build(&behaviour),
            behaviour,
            bant,
            grades,
            mql,
            stages,
            sla,
            routing,
            automation,
            sequences,
        })
    }

    /// The starter policy `leadgate policy init` writes: a sensible B2B definition to edit.
    pub const STARTER: &'static str = include_str!("starter_policy.toml");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_policy_parses() {
        let policy = Policy::parse(Policy::STARTER).unwrap();
        assert!(policy.fit.len() >= 5);
        assert!(policy.behaviour.len() >= 5);
        assert_eq!(policy.bant.criteria.len(), 4);
        assert_eq!(policy.product, "default");
    }

    #[test]
    fn the_guide_shows_the_starter_policy_as_it_is() {
        let guide = include_str!("../../../docs/policy.md");
        assert!(
            guide.contains(Policy::STARTER),
            "docs/policy.md must embed the current starter policy"
        );
    }

    fn errors(source: &str) -> Vec<PolicyError> {
        Policy::parse(source).unwrap_err().0
    }

    const MINIMAL: &str = r#"
[policy]
name = "t"

[grades]
fit = { A = 30, B = 20, C = 10 }
engagement = { 1 = 30, 2 = 20, 3 = 10 }

[mql]
min_score = 20

[[behaviour]]
name = "any page"
event = "page_viewed"
points = 1
"#;

    #[test]
    fn service_levels_and_routing_are_read_and_checked() {
        let policy = Policy::parse(Policy::STARTER).unwrap();
        assert_eq!(policy.sla.len(), 4);
        assert_eq!(
            policy.sla[0].temperatures,
            [crate::temperature::Temperature::Hot]
        );
        assert_eq!(policy.sla[2].until, crate::sla::Until::Contacted);
        let good = format!(
            "{MINIMAL}\n[[routing]]\nname = \"VN\"\ncountry = [\"Vietnam\"]\ngrade = [\"a1\"]\ncompany_size = [10, 500]\nteam = \"vn\"\nmethod = \"weighted\"\n"
        );
        let routing = Policy::parse(&good).unwrap().routing;
        assert_eq!(routing[0].grades, ["A1"]);
        assert_eq!(routing[0].method, crate::routing::Method::Weighted);
        let bad = format!(
            "{MINIMAL}\n[[sla]]\nname = \"s\"\nstage = \"mgl\"\ntemperature = [\"lukewarm\"]\nwithin = \"4 weeks\"\nuntil = \"left_stage\"\n\n[[routing]]\nname = \"r\"\nchannel = [\"fax\"]\ngrade = [\"Z9\"]\ncompany_size = [500, 10]\nteam = \" \"\n"
        );
        let e: Vec<String> = errors(&bad).into_iter().map(|e| e.message).collect();
        assert_eq!(e.len(), 7, "{e:?}");
        for part in [
            "unknown stage 'mgl'",
            "lukewarm",
            "'4 weeks'",
            "fax",
            "'Z9'",
            "[500, 10] is empty",
            "team must name",
        ] {
            assert!(e.iter().any(|m| m.contains(part)), "{part}: {e:?}");
        }
        let graded = Policy::parse(&format!("{MINIMAL}\n[[sla]]\nname = \"s\"\nstage = \"mql\"\ngrade = [\"a1\", \"B1\"]\nwithin = \"30m\"\nuntil = \"left_stage\"\n")).unwrap();
        assert_eq!(graded.sla[0].grades, ["A1", "B1"]);
        assert!(graded.sla[0].applies(Stage::Mql, crate::temperature::Temperature::Cold, "B1"));
        assert!(!graded.sla[0].applies(Stage::Mql, crate::temperature::Temperature::Hot, "C1"));
        let bad_grade = errors(&format!("{MINIMAL}\n[[sla]]\nname = \"s\"\nstage = \"mql\"\ngrade = [\"Z9\"]\nwithin = \"30m\"\nuntil = \"left_stage\"\n"));
        assert!(
            bad_grade[0].message.contains("'Z9' is not a grade"),
            "{bad_grade:?}"
        );
        let until = errors(&format!("{MINIMAL}\n[[sla]]\nname = \"s\"\nstage = \"sal\"\nwithin = \"4h\"\nuntil = \"lunch\"\n"));
        assert!(until[0].message.contains("left_stage"), "{until:?}");
    }

    #[test]
    fn junk_rules_name_real_flags_once() {
        let bad = errors(&format!(
            "{MINIMAL}\n[[junk]]\nreason = \"spam\"\n\n[[junk]]\nreason = \"test_name\"\n\n[[junk]]\nreason = \"test_name\"\npoints = -3\n"
        ));
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].message.contains("'spam' is not a junk flag")
                && bad[0].message.contains("role_account"),
            "{bad:?}"
        );
        assert!(bad[1].message.contains("defined twice"), "{bad:?}");
        let good = Policy::parse(&format!(
            "{MINIMAL}\n[[junk]]\nreason = \"role_account\"\npoints = -10\nblocks_mql = false\n"
        ))
        .unwrap();
        let rule = good.junk_rule(crate::quality::JunkReason::RoleAccount);
        assert_eq!((rule.points, rule.blocks_mql), (-10.0, false));
        let default = good.junk_rule(crate::quality::JunkReason::TestName);
        assert_eq!((default.points, default.blocks_mql), (0.0, true));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = errors("[policy]\nname = \"x\"\n[grades\n");
        assert_eq!(e[0].line, 3, "{e:?}");
    }

    #[test]
    fn unknown_keys_fields_and_events_are_named_with_their_line() {
        let source = format!(
            "{MINIMAL}\n[[fit]]\nname = \"a\"\nfield = \"shoe_size\"\nat_least = 3\npoints = 5\n\n[[behaviour]]\nname = \"b\"\nevent = \"page_view\"\npoints = 2\n"
        );
        let e = errors(&source);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].message.contains("unknown field 'shoe_size'"));
        assert_eq!(e[0].line, 19);
        assert!(e[1].message.contains("unknown event type 'page_view'"));
        assert_eq!(e[1].line, 25);
        let typo = errors(&format!(
            "{MINIMAL}\n[[fit]]\nname = \"a\"\nfield = \"industry\"\ninn = [\"x\"]\npoints = 5\n"
        ));
        assert!(typo[0].message.contains("inn"), "{typo:?}");
    }

    #[test]
    fn unreachable_thresholds_are_refused() {
        let source = MINIMAL.replace("min_score = 20", "min_score = 500").replace("points = 1\n", "points = 1\ncap = 3\n")
            + "\n[[fit]]\nname = \"a\"\nfield = \"industry\"\nin = [\"Software\"]\npoints = 10\n\n[[behaviour]]\nname = \"b\"\nevent = \"page_viewed\"\npoints = 2\ncap = 20\n";
        let e = errors(&source);
        assert!(
            e[0].message
                .contains("cannot be reached: the rules give at most 33 points"),
            "{e:?}"
        );
        let fit = MINIMAL.replace("min_score = 20", "min_score = 20\nmin_fit = \"A\"");
        assert!(errors(&fit)[0]
            .message
            .contains("min_fit = A cannot be reached"));
    }

    #[test]
    fn contradictions_are_refused() {
        let source = MINIMAL.replace("A = 30, B = 20", "A = 10, B = 20")
            + "\n[[fit]]\nname = \"a\"\nfield = \"company_size\"\nbetween = [500, 50]\npoints = 10\n\n[[behaviour]]\nname = \"b\"\nevent = \"page_viewed\"\npoints = 5\ncap = 2\nhalf_life_days = 7\nwindow_days = 30\n";
        let messages: Vec<String> = errors(&source).into_iter().map(|e| e.message).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("between = [500, 50] can never hold")),
            "{messages:?}"
        );
        assert!(messages.iter().any(|m| m.contains("cap 2 is below")));
        assert!(messages.iter().any(|m| m.contains("not both")));
        assert!(messages
            .iter()
            .any(|m| m.contains("A (10) must need more points than B (20)")));
    }
}
