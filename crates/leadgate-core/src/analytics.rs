//! Closed-loop analytics, pure: from leads and their stage moves and outcomes, the funnel by
//! month, conversion and time in each stage, what each source brings, why leads were turned
//! away, and whether the score foretold who bought.

use crate::Stage;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A stage move or an outcome of one lead, in the order they happened.
#[derive(Debug, Clone)]
pub enum Happening {
    Moved {
        at: DateTime<Utc>,
        from: Option<Stage>,
        to: Stage,
        reason: Option<String>,
    },
    Outcome {
        won: bool,
        value: Option<f64>,
        reason: Option<String>,
    },
}

/// The stages whose time is measured, in funnel order.
pub const TIMED: [Stage; 5] = [
    Stage::Lead,
    Stage::Mql,
    Stage::Sal,
    Stage::Sql,
    Stage::Opportunity,
];

/// Where one lead's journey took it: the furthest funnel step, its outcome, why it was
/// turned away, and how long it stayed in each timed stage. The store keeps it on the lead
/// (recomputed whenever a move or outcome is stored), so analytics read one row per lead
/// and no events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journey {
    /// Funnel rank reached by a move or an outcome: 0 none, 1 MQL, 2 SAL, 3 SQL, 4 won.
    pub reached: u8,
    /// The last outcome recorded: won (`true`) or lost.
    pub outcome: Option<bool>,
    /// Sum of the values of won outcomes.
    pub won_value: f64,
    pub disqualified_reason: Option<String>,
    pub recycled_reason: Option<String>,
    pub lost_reason: Option<String>,
    /// Hours spent in each stage of [`TIMED`] (all visits together), rounded by
    /// [`round_hours`]; `None` while the lead has never left that stage.
    pub hours: [Option<f64>; 5],
}

impl Journey {
    /// Replays a lead's moves and outcomes (in time order) from its creation.
    pub fn of(created_at: DateTime<Utc>, happenings: &[Happening]) -> Journey {
        let mut journey = Journey::default();
        let mut exact = [None::<f64>; 5];
        let mut since = created_at;
        for happening in happenings {
            match happening {
                Happening::Moved {
                    at,
                    from,
                    to,
                    reason,
                } => {
                    journey.reached = journey.reached.max(rank(*to));
                    if let Some(slot) = from.and_then(|f| TIMED.iter().position(|t| *t == f)) {
                        let hours = ((*at - since).num_seconds() as f64 / 3600.0).max(0.0);
                        *exact[slot].get_or_insert(0.0) += hours;
                    }
                    since = *at;
                    let reason = Some(reason.clone().unwrap_or_else(|| "(none)".into()));
                    match to {
                        Stage::Disqualified => journey.disqualified_reason = reason,
                        Stage::Recycled => journey.recycled_reason = reason,
                        _ => {}
                    }
                }
                Happening::Outcome { won, value, reason } => {
                    journey.outcome = Some(*won);
                    if *won {
                        // A won lead passed every step, even one imported without its moves.
                        journey.reached = 4;
                        journey.won_value += value.filter(|v| v.is_finite()).unwrap_or(0.0);
                    } else if reason.is_some() {
                        journey.lost_reason.clone_from(reason);
                    }
                }
            }
        }
        journey.hours = exact.map(|h| h.map(round_hours));
        journey
    }
}

/// Hours to two significant figures (tenths under ten hours): medians are read from counts
/// of equal values, and this keeps those few while staying within 5% of the exact time.
pub fn round_hours(hours: f64) -> f64 {
    if !hours.is_finite() || hours <= 0.0 {
        return 0.0;
    }
    // Tenths under ten hours (dividing by a power of ten rounds cleanly, multiplying by 0.1
    // does not), then two significant figures.
    let exponent = (hours.log10().floor() as i32 - 1).max(-1);
    if exponent < 0 {
        (hours * 10.0).round() / 10.0
    } else {
        let step = 10f64.powi(exponent);
        (hours / step).round() * step
    }
}

/// Leads alike in everything analytics tells apart, counted together: what the store's
/// grouping query returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Creation month, `YYYY-MM`.
    pub month: String,
    pub channel: String,
    pub source_class: String,
    pub campaign: Option<String>,
    pub junk: bool,
    /// Score band ([`band_of`]), `None` for unscored leads.
    pub band: Option<usize>,
    pub stage: Stage,
    /// [`Journey::reached`].
    pub reached: u8,
    /// [`Journey::outcome`].
    pub outcome: Option<bool>,
    pub leads: u64,
    pub won_value: f64,
}

/// How many leads of a stage spent `hours` there before leaving it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub stage: Stage,
    pub hours: f64,
    pub leads: u64,
}

/// A lead as the monthly rollup counts it: the parts of its row the rollup is kept by.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    pub created_at: DateTime<Utc>,
    pub channel: String,
    pub source_class: String,
    pub campaign: Option<String>,
    pub junk: bool,
    /// [`band_of`] its score, `None` while unscored.
    pub band: Option<usize>,
    pub stage: Stage,
    pub journey: Journey,
}

/// One row of the monthly rollup: a [`Cell`], a [`Stay`] or a reason given (`kind`
/// `disqualified`, `recycled` or `lost`), with '' / `None` / 0 in what its kind does not use,
/// and how many leads (and how much won value) it adds or, negative, takes away.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// Creation month, `YYYY-MM` (UTC).
    pub month: String,
    pub kind: &'static str,
    pub channel: String,
    pub source_class: String,
    pub campaign: String,
    pub junk: bool,
    pub band: Option<usize>,
    pub stage: Option<Stage>,
    pub reached: u8,
    pub outcome: Option<bool>,
    pub reason: String,
    pub hours: f64,
    pub leads: i64,
    pub won_value: f64,
}

/// What tells a rollup row from another: a [`Fact`] without its counts.
type FactKey = (
    String,
    &'static str,
    String,
    String,
    String,
    bool,
    Option<usize>,
    Option<Stage>,
    u8,
    Option<bool>,
    String,
    u64,
);

impl Fact {
    fn blank(month: &str, kind: &'static str, leads: i64) -> Fact {
        Fact {
            month: month.to_owned(),
            kind,
            channel: String::new(),
            source_class: String::new(),
            campaign: String::new(),
            junk: false,
            band: None,
            stage: None,
            reached: 0,
            outcome: None,
            reason: String::new(),
            hours: 0.0,
            leads,
            won_value: 0.0,
        }
    }

    fn key(&self) -> FactKey {
        (
            self.month.clone(),
            self.kind,
            self.channel.clone(),
            self.source_class.clone(),
            self.campaign.clone(),
            self.junk,
            self.band,
            self.stage,
            self.reached,
            self.outcome,
            self.reason.clone(),
            self.hours.to_bits(),
        )
    }
}

impl Counted {
    /// The rollup rows this lead makes, each counting it `sign` times (1 to add it, -1 to
    /// take it away): its cell, its time in each timed stage it left, its reasons.
    pub fn facts(&self, sign: i64) -> Vec<Fact> {
        let month = self.created_at.format("%Y-%m").to_string();
        let journey = &self.journey;
        let mut facts = vec![Fact {
            channel: self.channel.clone(),
            source_class: self.source_class.clone(),
            campaign: self.campaign.clone().unwrap_or_default(),
            junk: self.junk,
            band: self.band,
            stage: Some(self.stage),
            reached: journey.reached,
            outcome: journey.outcome,
            won_value: sign as f64 * journey.won_value,
            ..Fact::blank(&month, "cell", sign)
        }];
        for (stage, hours) in TIMED.into_iter().zip(journey.hours) {
            if let Some(hours) = hours {
                facts.push(Fact {
                    stage: Some(stage),
                    hours,
                    ..Fact::blank(&month, "stay", sign)
                });
            }
        }
        for (kind, reason) in [
            ("disqualified", &journey.disqualified_reason),
            ("recycled", &journey.recycled_reason),
            ("lost", &journey.lost_reason),
        ] {
            if let Some(reason) = reason {
                facts.push(Fact {
                    reason: reason.clone(),
                    ..Fact::blank(&month, kind, sign)
                });
            }
        }
        facts
    }
}

/// How the rollup changes when leads go from `before` to `after` (a lead only in `after`
/// was added, one only in `before` removed): each row's net change, without the rows whose
/// changes cancel out (a score that stayed in its band changes nothing).
pub fn changes(before: &[Counted], after: &[Counted]) -> Vec<Fact> {
    let removed = before.iter().flat_map(|lead| lead.facts(-1));
    net(removed.chain(after.iter().flat_map(|lead| lead.facts(1))))
}

/// Facts summed per rollup row, without the rows whose changes cancel out: what a series of
/// changes (one write's, or a whole transaction's) adds up to.
pub fn net(facts: impl IntoIterator<Item = Fact>) -> Vec<Fact> {
    let mut net: BTreeMap<FactKey, Fact> = BTreeMap::new();
    for fact in facts {
        match net.entry(fact.key()) {
            std::collections::btree_map::Entry::Occupied(mut seen) => {
                let seen = seen.get_mut();
                seen.leads += fact.leads;
                seen.won_value += fact.won_value;
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(fact);
            }
        }
    }
    net.into_values()
        .filter(|f| f.leads != 0 || f.won_value != 0.0)
        .collect()
}

/// The funnel steps counted, in order.
pub const FUNNEL: [Stage; 4] = [Stage::Mql, Stage::Sal, Stage::Sql, Stage::Customer];

/// Leads of one creation month and how many of them reached each step.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FunnelRow {
    /// `YYYY-MM`, or `all` for the total.
    pub month: String,
    pub leads: u64,
    pub mql: u64,
    pub sal: u64,
    pub sql: u64,
    pub won: u64,
    pub won_value: f64,
}

impl FunnelRow {
    /// Step-to-step conversion: lead->MQL, MQL->SAL, SAL->SQL, SQL->won.
    pub fn rates(&self) -> [Option<f64>; 4] {
        let rate = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        [
            rate(self.mql, self.leads),
            rate(self.sal, self.mql),
            rate(self.sql, self.sal),
            rate(self.won, self.sql),
        ]
    }
}

/// What one source (channel, class or campaign) brought.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceRow {
    /// `channel`, `source_class` or `campaign`.
    pub group: &'static str,
    pub key: String,
    pub leads: u64,
    pub junk: u64,
    pub mql: u64,
    pub sql: u64,
    pub won: u64,
    pub won_value: f64,
}

impl SourceRow {
    pub fn share(&self, part: u64) -> Option<f64> {
        (self.leads > 0).then(|| part as f64 / self.leads as f64)
    }
}

/// How often a reason was given for turning leads away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReasonRow {
    /// `disqualified`, `recycled` or `lost`.
    pub kind: &'static str,
    pub reason: String,
    pub count: u64,
}

/// Leads of one score band that are closed, and how many of those were won.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandRow {
    /// e.g. `40-59`.
    pub band: String,
    pub leads: u64,
    pub closed: u64,
    pub won: u64,
}

impl BandRow {
    pub fn won_rate(&self) -> Option<f64> {
        (self.closed > 0).then(|| self.won as f64 / self.closed as f64)
    }
}

/// Median time leads spent in a stage before leaving it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    pub stage: Stage,
    pub left: u64,
    pub median_hours: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analytics {
    pub funnel: Vec<FunnelRow>,
    pub total: FunnelRow,
    pub sources: Vec<SourceRow>,
    pub reasons: Vec<ReasonRow>,
    pub bands: Vec<BandRow>,
    pub stage_times: Vec<StageTime>,
}

/// Funnel rank of a stage: 0 before MQL, then MQL, SAL, SQL (or opportunity), customer.
pub fn rank(stage: Stage) -> u8 {
    match stage {
        Stage::Prospect | Stage::Lead | Stage::Recycled | Stage::Disqualified => 0,
        Stage::Mql => 1,
        Stage::Sal => 2,
        Stage::Sql | Stage::Opportunity => 3,
        Stage::Customer => 4,
    }
}

/// Score band index: 0-19, 20-39, 40-59, 60-79, 80+. The store keeps it beside each score
/// it writes, and groups by what it kept.
pub fn band_of(score: f64) -> usize {
    (score.max(0.0) / 20.0).floor().min(4.0) as usize
}

const BANDS: [&str; 5] = ["0-19", "20-39", "40-59", "60-79", "80+"];

/// The steps a cell's leads passed: MQL, SAL, SQL, won. A lead's current stage counts too
/// (imports may set it without a move).
fn steps(cell: &Cell) -> [bool; 4] {
    let r = cell.reached.max(rank(cell.stage));
    [r >= 1, r >= 2, r >= 3, r >= 4]
}

impl FunnelRow {
    fn add(&mut self, cell: &Cell) {
        let [mql, sal, sql, won] = steps(cell).map(|s| if s { cell.leads } else { 0 });
        self.leads += cell.leads;
        self.mql += mql;
        self.sal += sal;
        self.sql += sql;
        self.won += won;
        self.won_value += cell.won_value;
    }
}

/// The median of values given with how often each occurs.
fn weighted_median(values: &mut [(f64, u64)]) -> Option<f64> {
    let total: u64 = values.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    values.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The value at 0-based position `k` of the expanded, sorted list.
    let at = |k: u64| {
        let mut seen = 0;
        for (value, n) in values.iter() {
            seen += n;
            if k < seen {
                return *value;
            }
        }
        values[values.len() - 1].0
    };
    Some(if total.is_multiple_of(2) {
        (at(total / 2 - 1) + at(total / 2)) / 2.0
    } else {
        at(total / 2)
    })
}

/// Builds every table from the grouped leads, their stays in the timed stages, and the
/// reasons they were turned away.
pub fn build(cells: &[Cell], stays: &[Stay], reasons: &[ReasonRow]) -> Analytics {
    let mut months: BTreeMap<String, FunnelRow> = BTreeMap::new();
    let mut total = FunnelRow {
        month: "all".into(),
        ..FunnelRow::default()
    };
    let mut sources: BTreeMap<(&'static str, String), SourceRow> = BTreeMap::new();
    let mut bands: Vec<BandRow> = BANDS
        .iter()
        .map(|b| BandRow {
            band: (*b).into(),
            leads: 0,
            closed: 0,
            won: 0,
        })
        .collect();
    for cell in cells {
        months
            .entry(cell.month.clone())
            .or_insert_with(|| FunnelRow {
                month: cell.month.clone(),
                ..FunnelRow::default()
            })
            .add(cell);
        total.add(cell);
        let [mql, _, sql, won] = steps(cell);
        let keys = [
            Some(("channel", &cell.channel)),
            Some(("source_class", &cell.source_class)),
            cell.campaign.as_ref().map(|c| ("campaign", c)),
        ];
        for (group, key) in keys.into_iter().flatten() {
            let row = sources
                .entry((group, key.clone()))
                .or_insert_with(|| SourceRow {
                    group,
                    key: key.clone(),
                    ..SourceRow::default()
                });
            let count = |yes: bool| if yes { cell.leads } else { 0 };
            row.leads += cell.leads;
            row.junk += count(cell.junk);
            row.mql += count(mql);
            row.sql += count(sql);
            row.won += count(won);
            row.won_value += cell.won_value;
        }
        if let Some(band) = cell.band.and_then(|b| bands.get_mut(b)) {
            band.leads += cell.leads;
            if won || cell.outcome.is_some() || cell.stage == Stage::Disqualified {
                band.closed += cell.leads;
                band.won += if won { cell.leads } else { 0 };
            }
        }
    }
    let mut sources: Vec<SourceRow> = sources.into_values().collect();
    // Channels, then classes, then campaigns; within each, the biggest sources first.
    let order = |g: &str| {
        ["channel", "source_class", "campaign"]
            .iter()
            .position(|x| *x == g)
    };
    sources.sort_by(|a, b| {
        order(a.group)
            .cmp(&order(b.group))
            .then(b.leads.cmp(&a.leads))
            .then(a.key.cmp(&b.key))
    });
    // The same reason may come in several rows (one per month, say): counted together.
    let mut merged: BTreeMap<(&'static str, &str), u64> = BTreeMap::new();
    for r in reasons {
        *merged.entry((r.kind, &r.reason)).or_default() += r.count;
    }
    let mut reasons: Vec<ReasonRow> = merged
        .into_iter()
        .map(|((kind, reason), count)| ReasonRow {
            kind,
            reason: reason.to_owned(),
            count,
        })
        .collect();
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    let stage_times = TIMED
        .into_iter()
        .map(|stage| {
            let mut hours: Vec<(f64, u64)> = stays
                .iter()
                .filter(|s| s.stage == stage)
                .map(|s| (s.hours, s.leads))
                .collect();
            StageTime {
                stage,
                left: hours.iter().map(|(_, n)| n).sum(),
                median_hours: weighted_median(&mut hours),
            }
        })
        .collect();
    Analytics {
        funnel: months.into_values().collect(),
        total,
        sources,
        reasons,
        bands,
        stage_times,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    struct Lead {
        created: DateTime<Utc>,
        stage: Stage,
        channel: &'static str,
        score: f64,
        happenings: Vec<Happening>,
    }

    fn lead(created: &str, stage: Stage, channel: &'static str, score: f64) -> Lead {
        Lead {
            created: at(created),
            stage,
            channel,
            score,
            happenings: Vec::new(),
        }
    }

    fn moved(when: &str, from: Stage, to: Stage, reason: Option<&str>) -> Happening {
        Happening::Moved {
            at: at(when),
            from: Some(from),
            to,
            reason: reason.map(Into::into),
        }
    }

    /// What the store's queries return for these leads: one cell per lead, its stays, and
    /// its reasons.
    fn analyse(leads: &[Lead]) -> Analytics {
        let mut cells = Vec::new();
        let mut stays = Vec::new();
        let mut reasons: Vec<ReasonRow> = Vec::new();
        for lead in leads {
            let journey = Journey::of(lead.created, &lead.happenings);
            cells.push(Cell {
                month: lead.created.format("%Y-%m").to_string(),
                channel: lead.channel.into(),
                source_class: "external".into(),
                campaign: None,
                junk: false,
                band: Some(band_of(lead.score)),
                stage: lead.stage,
                reached: journey.reached,
                outcome: journey.outcome,
                leads: 1,
                won_value: journey.won_value,
            });
            for (stage, hours) in TIMED.iter().zip(journey.hours) {
                if let Some(hours) = hours {
                    stays.push(Stay {
                        stage: *stage,
                        hours,
                        leads: 1,
                    });
                }
            }
            for (kind, reason) in [
                ("disqualified", &journey.disqualified_reason),
                ("recycled", &journey.recycled_reason),
                ("lost", &journey.lost_reason),
            ] {
                if let Some(reason) = reason {
                    reasons.push(ReasonRow {
                        kind,
                        reason: reason.clone(),
                        count: 1,
                    });
                }
            }
        }
        build(&cells, &stays, &reasons)
    }

    #[test]
    fn a_won_lead_counts_at_every_step_and_a_rejected_one_gives_its_reason() {
        let mut won = lead("2026-01-05T00:00:00Z", Stage::Customer, "webinar", 85.0);
        won.happenings = vec![
            moved("2026-01-05T00:00:00Z", Stage::Lead, Stage::Mql, None),
            moved("2026-01-05T10:00:00Z", Stage::Mql, Stage::Sal, None),
            moved("2026-01-06T10:00:00Z", Stage::Sal, Stage::Sql, None),
            moved("2026-01-10T10:00:00Z", Stage::Sql, Stage::Customer, None),
            Happening::Outcome {
                won: true,
                value: Some(5000.0),
                reason: None,
            },
        ];
        let mut rejected = lead(
            "2026-01-20T00:00:00Z",
            Stage::Disqualified,
            "paid_search",
            30.0,
        );
        rejected.happenings = vec![
            moved("2026-01-21T00:00:00Z", Stage::Lead, Stage::Mql, None),
            moved(
                "2026-01-21T02:00:00Z",
                Stage::Mql,
                Stage::Disqualified,
                Some("no budget"),
            ),
        ];
        let open = lead("2026-02-02T00:00:00Z", Stage::Lead, "paid_search", 10.0);
        let a = analyse(&[won, rejected, open]);
        assert_eq!(a.funnel.len(), 2);
        let jan = &a.funnel[0];
        assert_eq!(
            (
                jan.month.as_str(),
                jan.leads,
                jan.mql,
                jan.sal,
                jan.sql,
                jan.won
            ),
            ("2026-01", 2, 2, 1, 1, 1)
        );
        assert_eq!(jan.won_value, 5000.0);
        assert_eq!(jan.rates()[0], Some(1.0));
        assert_eq!(a.total.leads, 3);
        let paid = a
            .sources
            .iter()
            .find(|s| s.group == "channel" && s.key == "paid_search")
            .unwrap();
        assert_eq!((paid.leads, paid.mql, paid.won), (2, 1, 0));
        assert_eq!(a.reasons[0].reason, "no budget");
        assert_eq!(a.reasons[0].kind, "disqualified");
        // MQL times: 10 h for the won lead, 2 h for the rejected one: the median is 6 h.
        let mql = a
            .stage_times
            .iter()
            .find(|t| t.stage == Stage::Mql)
            .unwrap();
        assert_eq!((mql.left, mql.median_hours), (2, Some(6.0)));
        // Time as a lead runs from creation: 0 h and 24 h.
        let as_lead = &a.stage_times[0];
        assert_eq!((as_lead.left, as_lead.median_hours), (2, Some(12.0)));
        assert_eq!(a.bands[4].won, 1);
        assert_eq!(a.bands[1].closed, 1);
        assert_eq!(a.bands[1].won_rate(), Some(0.0));
    }

    #[test]
    fn hours_keep_two_significant_figures() {
        assert_eq!(round_hours(0.04), 0.0);
        assert_eq!(round_hours(0.36), 0.4);
        assert_eq!(round_hours(7.26), 7.3);
        assert_eq!(round_hours(123.0), 120.0);
        assert_eq!(round_hours(1875.0), 1900.0);
        assert_eq!(round_hours(-3.0), 0.0);
    }

    #[test]
    fn weighted_median_is_the_median_of_the_expanded_values() {
        assert_eq!(weighted_median(&mut []), None);
        assert_eq!(weighted_median(&mut [(5.0, 3)]), Some(5.0));
        assert_eq!(weighted_median(&mut [(9.0, 1), (1.0, 2)]), Some(1.0));
        assert_eq!(weighted_median(&mut [(1.0, 1), (3.0, 1)]), Some(2.0));
    }

    fn counted(month: u32, channel: &str, band: Option<usize>, stage: Stage) -> Counted {
        Counted {
            created_at: at(&format!("2026-{month:02}-15T23:30:00Z")),
            channel: channel.into(),
            source_class: "paid".into(),
            campaign: None,
            junk: false,
            band,
            stage,
            journey: Journey::default(),
        }
    }

    /// A lead drawn by a property test: month, channel, band, stage, step reached, hours.
    type Drawn = (u32, usize, Option<usize>, usize, u8, Option<u32>);

    /// Every rollup row the leads make, summed: what the rollup holds for them.
    fn tally(facts: impl IntoIterator<Item = Fact>) -> BTreeMap<FactKey, (i64, i64)> {
        let mut sums: BTreeMap<FactKey, (i64, i64)> = BTreeMap::new();
        for fact in facts {
            let sum = sums.entry(fact.key()).or_default();
            sum.0 += fact.leads;
            // Won values here are whole, so they sum exactly.
            sum.1 += fact.won_value as i64;
        }
        sums.retain(|_, sum| *sum != (0, 0));
        sums
    }

    #[test]
    fn a_lead_counts_in_its_cell_its_stays_and_its_reasons() {
        let mut lead = counted(3, "webinar", Some(2), Stage::Recycled);
        lead.journey = Journey {
            reached: 1,
            outcome: Some(false),
            won_value: 0.0,
            disqualified_reason: None,
            recycled_reason: Some("unreachable".into()),
            lost_reason: Some("budget".into()),
            hours: [Some(2.5), Some(40.0), None, None, None],
        };
        let facts = lead.facts(1);
        let kinds: Vec<(&str, Option<Stage>)> = facts.iter().map(|f| (f.kind, f.stage)).collect();
        assert_eq!(
            kinds,
            [
                ("cell", Some(Stage::Recycled)),
                ("stay", Some(Stage::Lead)),
                ("stay", Some(Stage::Mql)),
                ("recycled", None),
                ("lost", None)
            ]
        );
        assert!(facts.iter().all(|f| f.month == "2026-03" && f.leads == 1));
        assert_eq!(facts[0].band, Some(2));
        assert_eq!(facts[0].outcome, Some(false));
        assert_eq!(
            (facts[2].hours, facts[3].reason.as_str()),
            (40.0, "unreachable")
        );
        assert!(facts[1..]
            .iter()
            .all(|f| f.channel.is_empty() && f.band.is_none()));
    }

    #[test]
    fn a_change_of_band_moves_one_lead_between_two_cells_and_nothing_else() {
        let mut before = counted(1, "api", Some(1), Stage::Mql);
        before.journey.hours[0] = Some(3.0);
        let after = Counted {
            band: Some(3),
            ..before.clone()
        };
        let changed = changes(&[before.clone()], &[after]);
        let moved: Vec<(Option<usize>, i64)> = changed.iter().map(|f| (f.band, f.leads)).collect();
        assert_eq!(moved, [(Some(1), -1), (Some(3), 1)]);
        assert!(changes(&[before.clone()], &[before]).is_empty());
    }

    proptest! {
        /// The funnel never widens: each step counts at most the leads of the step before,
        /// and months add up to the total.
        #[test]
        fn the_funnel_never_widens(stages in proptest::collection::vec((0usize..9, any::<bool>(), 0usize..9), 0..60)) {
            let leads: Vec<Lead> = stages.iter().enumerate().map(|(i, (s, won, to))| {
                let mut l = lead(if i % 2 == 0 { "2026-03-01T00:00:00Z" } else { "2026-04-01T00:00:00Z" }, Stage::ALL[*s], "api", (i * 7 % 100) as f64);
                l.happenings.push(moved("2026-04-02T00:00:00Z", Stage::ALL[*s], Stage::ALL[*to], None));
                if *won {
                    l.happenings.push(Happening::Outcome { won: true, value: Some(10.0), reason: None });
                }
                l
            }).collect();
            let a = analyse(&leads);
            for row in a.funnel.iter().chain([&a.total]) {
                prop_assert!(row.mql <= row.leads && row.sal <= row.mql && row.sql <= row.sal && row.won <= row.sql);
            }
            prop_assert_eq!(a.funnel.iter().map(|r| r.leads).sum::<u64>(), a.total.leads);
            prop_assert_eq!(a.bands.iter().map(|b| b.leads).sum::<u64>(), leads.len() as u64);
        }

        /// The rollup's change from some leads to others, added to what the first made, is
        /// exactly what the others make.
        #[test]
        fn changes_take_the_rollup_from_before_to_after(
            before in proptest::collection::vec((1u32..4, 0usize..3, proptest::option::of(0usize..5), 0usize..9, 0u8..5, proptest::option::of(0u32..3)), 0..12),
            after in proptest::collection::vec((1u32..4, 0usize..3, proptest::option::of(0usize..5), 0usize..9, 0u8..5, proptest::option::of(0u32..3)), 0..12),
        ) {
            let leads = |drawn: &[Drawn]| -> Vec<Counted> {
                drawn.iter().map(|(month, channel, band, stage, reached, hours)| {
                    let mut lead = counted(*month, ["api", "form", "webinar"][*channel], *band, Stage::ALL[*stage]);
                    lead.journey.reached = *reached;
                    lead.journey.won_value = f64::from(*reached) * 100.0;
                    lead.journey.hours[1] = hours.map(f64::from);
                    lead.journey.lost_reason = (*reached == 2).then(|| "no need".to_string());
                    lead
                }).collect()
            };
            let (before, after) = (leads(&before), leads(&after));
            let from_before = before.iter().flat_map(|l| l.facts(1));
            prop_assert_eq!(
                tally(from_before.chain(changes(&before, &after))),
                tally(after.iter().flat_map(|l| l.facts(1)))
            );
        }

        /// A transaction's writes, netted together, change the rollup as one write from
        /// the first state to the last would.
        #[test]
        fn netted_changes_of_several_writes_are_the_change_of_all(
            states in proptest::collection::vec(proptest::collection::vec((1u32..4, 0usize..3, proptest::option::of(0usize..5), 0usize..9), 0..6), 1..5),
        ) {
            let leads: Vec<Vec<Counted>> = states.iter().map(|drawn| {
                drawn.iter().map(|(month, channel, band, stage)| {
                    counted(*month, ["api", "form", "webinar"][*channel], *band, Stage::ALL[*stage])
                }).collect()
            }).collect();
            let steps = leads.windows(2).flat_map(|w| changes(&w[0], &w[1]));
            let (first, last) = (&leads[0], &leads[leads.len() - 1]);
            prop_assert_eq!(tally(net(steps)), tally(changes(first, last)));
        }

        /// Rounded hours stay within 5% (or a twentieth of an hour) of the exact time.
        #[test]
        fn rounded_hours_stay_close(hours in 0.0f64..100_000.0) {
            let rounded = round_hours(hours);
            prop_assert!((rounded - hours).abs() <= (hours * 0.05).max(0.05) + 1e-9);
        }

        /// A journey only ever reaches further, and reaches won with a won outcome.
        #[test]
        fn journeys_reach_at_least_their_moves(moves in proptest::collection::vec((0usize..9, 0usize..9, 0i64..1000), 0..20), won in any::<bool>()) {
            let created = at("2026-01-01T00:00:00Z");
            let mut happenings: Vec<Happening> = moves.iter().map(|(from, to, h)| Happening::Moved {
                at: created + chrono::Duration::hours(*h),
                from: Some(Stage::ALL[*from]),
                to: Stage::ALL[*to],
                reason: None,
            }).collect();
            if won {
                happenings.push(Happening::Outcome { won: true, value: None, reason: None });
            }
            let journey = Journey::of(created, &happenings);
            let furthest = moves.iter().map(|(_, to, _)| rank(Stage::ALL[*to])).max().unwrap_or(0);
            prop_assert_eq!(journey.reached, if won { 4 } else { furthest });
            prop_assert!(journey.hours.iter().flatten().all(|h| *h >= 0.0));
        }
    }
}
