//! Closed-loop analytics, pure: from leads and their stage moves and outcomes, the funnel by
//! month, conversion and time in each stage, what each source brings, why leads were turned
//! away, and whether the score foretold who bought.

use crate::Stage;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One lead as analytics reads it.
#[derive(Debug, Clone)]
pub struct LeadFacts {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub stage: Stage,
    pub channel: String,
    pub source_class: String,
    pub campaign: Option<String>,
    pub junk: bool,
    pub score: Option<f64>,
}

/// A stage move or an outcome of one lead.
#[derive(Debug, Clone)]
pub enum Happening {
    Moved {
        lead_id: i64,
        at: DateTime<Utc>,
        from: Option<Stage>,
        to: Stage,
        reason: Option<String>,
    },
    Outcome {
        lead_id: i64,
        won: bool,
        value: Option<f64>,
        reason: Option<String>,
    },
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
    fn add(&mut self, lead: &Reached) {
        self.leads += 1;
        self.mql += u64::from(lead.mql);
        self.sal += u64::from(lead.sal);
        self.sql += u64::from(lead.sql);
        self.won += u64::from(lead.won);
        self.won_value += lead.won_value;
    }

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

#[derive(Debug, Default, Clone)]
struct Reached {
    mql: bool,
    sal: bool,
    sql: bool,
    won: bool,
    lost: bool,
    won_value: f64,
}

fn rank(stage: Stage) -> u8 {
    match stage {
        Stage::Prospect | Stage::Lead | Stage::Recycled | Stage::Disqualified => 0,
        Stage::Mql => 1,
        Stage::Sal => 2,
        Stage::Sql | Stage::Opportunity => 3,
        Stage::Customer => 4,
    }
}

fn band_of(score: f64) -> usize {
    (score.max(0.0) / 20.0).floor().min(4.0) as usize
}

const BANDS: [&str; 5] = ["0-19", "20-39", "40-59", "60-79", "80+"];

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Builds every table from the leads and what happened to them (in time order per lead).
pub fn build(leads: &[LeadFacts], happenings: &[Happening]) -> Analytics {
    let mut reached: BTreeMap<i64, Reached> = leads
        .iter()
        .map(|l| {
            // A lead's current stage counts too (imports may set it without a move).
            let r = rank(l.stage);
            (
                l.id,
                Reached {
                    mql: r >= 1,
                    sal: r >= 2,
                    sql: r >= 3,
                    won: r >= 4,
                    ..Reached::default()
                },
            )
        })
        .collect();
    let mut reasons: BTreeMap<(&'static str, String), u64> = BTreeMap::new();
    // Where each lead is and since when; before its first move, the stage it was created in.
    let mut entered: BTreeMap<i64, (Option<Stage>, DateTime<Utc>)> =
        leads.iter().map(|l| (l.id, (None, l.created_at))).collect();
    let mut durations: BTreeMap<Stage, Vec<f64>> = BTreeMap::new();
    for happening in happenings {
        match happening {
            Happening::Moved {
                lead_id,
                at,
                from,
                to,
                reason,
            } => {
                let Some(r) = reached.get_mut(lead_id) else {
                    continue;
                };
                let rank = rank(*to);
                r.mql |= rank >= 1;
                r.sal |= rank >= 2;
                r.sql |= rank >= 3;
                r.won |= rank >= 4;
                if let (Some((stage, since)), Some(from)) = (entered.get(lead_id), from) {
                    // The first move leaves the stage the lead was created in.
                    if stage.is_none_or(|s| s == *from) {
                        let hours = (*at - *since).num_seconds() as f64 / 3600.0;
                        durations.entry(*from).or_default().push(hours.max(0.0));
                    }
                }
                entered.insert(*lead_id, (Some(*to), *at));
                if matches!(to, Stage::Disqualified | Stage::Recycled) {
                    let kind = if *to == Stage::Disqualified {
                        "disqualified"
                    } else {
                        "recycled"
                    };
                    let reason = reason.clone().unwrap_or_else(|| "(none)".into());
                    *reasons.entry((kind, reason)).or_default() += 1;
                }
            }
            Happening::Outcome {
                lead_id,
                won,
                value,
                reason,
            } => {
                let Some(r) = reached.get_mut(lead_id) else {
                    continue;
                };
                if *won {
                    // A won lead passed every step, even one imported without its moves.
                    r.mql = true;
                    r.sal = true;
                    r.sql = true;
                    r.won = true;
                    r.won_value += value.filter(|v| v.is_finite()).unwrap_or(0.0);
                } else {
                    r.lost = true;
                    if let Some(reason) = reason {
                        *reasons.entry(("lost", reason.clone())).or_default() += 1;
                    }
                }
            }
        }
    }

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
    for lead in leads {
        let r = &reached[&lead.id];
        let month = lead.created_at.format("%Y-%m").to_string();
        months
            .entry(month.clone())
            .or_insert_with(|| FunnelRow {
                month,
                ..FunnelRow::default()
            })
            .add(r);
        total.add(r);
        let mut keys = vec![
            ("channel", lead.channel.clone()),
            ("source_class", lead.source_class.clone()),
        ];
        if let Some(c) = &lead.campaign {
            keys.push(("campaign", c.clone()));
        }
        for (group, key) in keys {
            let row = sources
                .entry((group, key.clone()))
                .or_insert_with(|| SourceRow {
                    group,
                    key,
                    ..SourceRow::default()
                });
            row.leads += 1;
            row.junk += u64::from(lead.junk);
            row.mql += u64::from(r.mql);
            row.sql += u64::from(r.sql);
            row.won += u64::from(r.won);
            row.won_value += r.won_value;
        }
        if let Some(score) = lead.score {
            let band = &mut bands[band_of(score)];
            band.leads += 1;
            if r.won || r.lost || matches!(lead.stage, Stage::Disqualified) {
                band.closed += 1;
                band.won += u64::from(r.won);
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
    let mut reasons: Vec<ReasonRow> = reasons
        .into_iter()
        .map(|((kind, reason), count)| ReasonRow {
            kind,
            reason,
            count,
        })
        .collect();
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    let stage_times = [
        Stage::Lead,
        Stage::Mql,
        Stage::Sal,
        Stage::Sql,
        Stage::Opportunity,
    ]
    .into_iter()
    .map(|stage| {
        let mut hours = durations.remove(&stage).unwrap_or_default();
        StageTime {
            stage,
            left: hours.len() as u64,
            median_hours: median(&mut hours),
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

    fn lead(id: i64, created: &str, stage: Stage, channel: &str, score: f64) -> LeadFacts {
        LeadFacts {
            id,
            created_at: at(created),
            stage,
            channel: channel.into(),
            source_class: "external".into(),
            campaign: None,
            junk: false,
            score: Some(score),
        }
    }

    fn moved(lead_id: i64, when: &str, from: Stage, to: Stage, reason: Option<&str>) -> Happening {
        Happening::Moved {
            lead_id,
            at: at(when),
            from: Some(from),
            to,
            reason: reason.map(Into::into),
        }
    }

    #[test]
    fn a_won_lead_counts_at_every_step_and_a_rejected_one_gives_its_reason() {
        let leads = vec![
            lead(1, "2026-01-05T00:00:00Z", Stage::Customer, "webinar", 85.0),
            lead(
                2,
                "2026-01-20T00:00:00Z",
                Stage::Disqualified,
                "paid_search",
                30.0,
            ),
            lead(3, "2026-02-02T00:00:00Z", Stage::Lead, "paid_search", 10.0),
        ];
        let happenings = vec![
            moved(1, "2026-01-05T00:00:00Z", Stage::Lead, Stage::Mql, None),
            moved(1, "2026-01-05T10:00:00Z", Stage::Mql, Stage::Sal, None),
            moved(1, "2026-01-06T10:00:00Z", Stage::Sal, Stage::Sql, None),
            moved(1, "2026-01-10T10:00:00Z", Stage::Sql, Stage::Customer, None),
            Happening::Outcome {
                lead_id: 1,
                won: true,
                value: Some(5000.0),
                reason: None,
            },
            moved(2, "2026-01-21T00:00:00Z", Stage::Lead, Stage::Mql, None),
            moved(
                2,
                "2026-01-21T02:00:00Z",
                Stage::Mql,
                Stage::Disqualified,
                Some("no budget"),
            ),
        ];
        let a = build(&leads, &happenings);
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
        // MQL times: 10 h for lead 1, 2 h for lead 2: the median is 6 h.
        let mql = a
            .stage_times
            .iter()
            .find(|t| t.stage == Stage::Mql)
            .unwrap();
        assert_eq!((mql.left, mql.median_hours), (2, Some(6.0)));
        assert_eq!(a.bands[4].won, 1);
        assert_eq!(a.bands[1].closed, 1);
        assert_eq!(a.bands[1].won_rate(), Some(0.0));
    }

    proptest! {
        /// The funnel never widens: each step counts at most the leads of the step before,
        /// and months add up to the total.
        #[test]
        fn the_funnel_never_widens(stages in proptest::collection::vec(0usize..9, 0..60), wins in proptest::collection::vec(0i64..60, 0..10)) {
            let leads: Vec<LeadFacts> = stages.iter().enumerate().map(|(i, s)| {
                lead(i as i64, if i % 2 == 0 { "2026-03-01T00:00:00Z" } else { "2026-04-01T00:00:00Z" }, Stage::ALL[*s], "api", (i * 7 % 100) as f64)
            }).collect();
            let outcomes: Vec<Happening> = wins.iter().map(|id| Happening::Outcome { lead_id: *id, won: true, value: Some(10.0), reason: None }).collect();
            let a = build(&leads, &outcomes);
            for row in a.funnel.iter().chain([&a.total]) {
                prop_assert!(row.mql <= row.leads && row.sal <= row.mql && row.sql <= row.sal && row.won <= row.sql);
            }
            prop_assert_eq!(a.funnel.iter().map(|r| r.leads).sum::<u64>(), a.total.leads);
            prop_assert_eq!(a.bands.iter().map(|b| b.leads).sum::<u64>(), leads.len() as u64);
        }
    }
}
