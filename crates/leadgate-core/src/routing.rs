//! Routing: the policy's ordered assignment rules (conditions -> a team) and the choice of a
//! rep within the team: round-robin, least-loaded or weighted by capacity, skipping reps
//! who are away or at their daily cap.

use crate::normalize::fold_loose;
use crate::temperature::Temperature;
use crate::Lead;
use serde::{Deserialize, Serialize};

/// How a team shares its leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// In turn: the rep who was given a lead longest ago.
    #[default]
    RoundRobin,
    /// The rep with the fewest open leads.
    LeastLoaded,
    /// In proportion to each rep's weight (capacity), over today's assignments.
    Weighted,
}

/// One assignment rule: every condition given must hold (text compared case- and
/// accent-insensitively); the first rule that holds names the team.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RoutingRule {
    pub name: String,
    pub countries: Vec<String>,
    pub channels: Vec<String>,
    pub products: Vec<String>,
    pub industries: Vec<String>,
    pub grades: Vec<String>,
    pub temperatures: Vec<Temperature>,
    /// Company size within [min, max].
    pub company_size: Option<(i64, i64)>,
    pub team: String,
    pub method: Method,
    /// Only while the team is in its working hours; otherwise the next rule is tried.
    pub when_open: bool,
}

/// What routing looks at besides the lead's fields.
#[derive(Debug, Clone, Copy)]
pub struct RoutingFacts<'a> {
    pub channel: &'a str,
    pub grade: &'a str,
    pub temperature: Temperature,
}

/// Text as routing compares it: case, accents and spaces ignored ("Viet Nam" = "Việt Nam").
fn key(text: &str) -> String {
    fold_loose(text).split_whitespace().collect()
}

fn any_of(wanted: &[String], value: Option<&str>) -> bool {
    wanted.is_empty()
        || value.is_some_and(|v| {
            let v = key(v);
            wanted.iter().any(|w| key(w) == v)
        })
}

impl RoutingRule {
    pub fn holds(&self, lead: &Lead, facts: RoutingFacts<'_>) -> bool {
        any_of(&self.countries, lead.country.as_ref().map(|c| c.as_str()))
            && any_of(&self.channels, Some(facts.channel))
            && any_of(&self.products, Some(&lead.product_line()))
            && any_of(&self.industries, lead.industry.as_ref().map(|c| c.as_str()))
            && any_of(&self.grades, Some(facts.grade))
            && (self.temperatures.is_empty() || self.temperatures.contains(&facts.temperature))
            && self
                .company_size
                .is_none_or(|(min, max)| lead.company_size.is_some_and(|s| s >= min && s <= max))
    }
}

/// The first rule that holds for a lead.
pub fn rule_for<'r>(
    rules: &'r [RoutingRule],
    lead: &Lead,
    facts: RoutingFacts<'_>,
) -> Option<&'r RoutingRule> {
    rules.iter().find(|r| r.holds(lead, facts))
}

/// A rep as routing sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct RepLoad {
    pub name: String,
    pub weight: f64,
    pub daily_cap: Option<u32>,
    pub away: bool,
    /// Leads given to them today.
    pub assigned_today: u32,
    /// Open leads they own.
    pub open_leads: u32,
    /// When they last got a lead, as a place in the team's sequence of assignments (higher:
    /// more recent; None: never).
    pub last_turn: Option<i64>,
}

impl RepLoad {
    fn available(&self) -> bool {
        !self.away
            && self.weight > 0.0
            && self.daily_cap.is_none_or(|cap| self.assigned_today < cap)
    }
}

/// The rep to give the next lead to, or None when everyone is away or at their cap.
/// `except` is skipped (the owner a lead is being taken from). Ties go to the rep given a
/// lead longest ago, then by name, so the choice is deterministic.
pub fn pick<'a>(method: Method, reps: &'a [RepLoad], except: Option<&str>) -> Option<&'a RepLoad> {
    let turn = |r: &RepLoad| (r.last_turn, r.name.clone());
    let candidates = reps
        .iter()
        .filter(|r| r.available() && Some(r.name.as_str()) != except);
    match method {
        Method::RoundRobin => candidates.min_by_key(|r| turn(r)),
        Method::LeastLoaded => candidates.min_by_key(|r| (r.open_leads, turn(r))),
        Method::Weighted => candidates.min_by(|a, b| {
            // Who is furthest below their share: assignments today per unit of weight.
            let share = |r: &RepLoad| (r.assigned_today as f64 + 1.0) / r.weight;
            share(a)
                .total_cmp(&share(b))
                .then_with(|| turn(a).cmp(&turn(b)))
        }),
    }
}

/// What one more lead given to `to` (taken from `from`, when it was theirs) changes in a
/// team's loads, as the store records it: their day's count and open leads grow and they
/// take the team's next turn. A batch routes each lead on the loads its earlier leads left.
pub fn hand_over(reps: &mut [RepLoad], to: &str, from: Option<&str>) {
    let next_turn = reps.iter().filter_map(|r| r.last_turn).max().unwrap_or(0) + 1;
    for rep in reps.iter_mut() {
        if rep.name == to {
            rep.assigned_today += 1;
            rep.open_leads += 1;
            rep.last_turn = Some(next_turn);
        } else if Some(rep.name.as_str()) == from {
            rep.open_leads = rep.open_leads.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::PatchMode;
    use crate::LeadPatch;
    use proptest::prelude::*;
    use serde_json::json;

    fn rep(name: &str) -> RepLoad {
        RepLoad {
            name: name.into(),
            weight: 1.0,
            daily_cap: None,
            away: false,
            assigned_today: 0,
            open_leads: 0,
            last_turn: None,
        }
    }

    fn lead(fields: serde_json::Value) -> Lead {
        let mut lead = Lead::default();
        LeadPatch::parse(fields.as_object().unwrap(), PatchMode::Create)
            .unwrap()
            .apply(&mut lead)
            .unwrap();
        lead
    }

    #[test]
    fn the_first_rule_that_holds_names_the_team() {
        let rules = vec![
            RoutingRule {
                name: "Big Vietnamese".into(),
                countries: vec!["Việt Nam".into(), "Vietnam".into()],
                company_size: Some((200, 100_000)),
                team: "vn-enterprise".into(),
                ..Default::default()
            },
            RoutingRule {
                name: "Vietnam".into(),
                countries: vec!["Vietnam".into()],
                team: "vn-sales".into(),
                ..Default::default()
            },
            RoutingRule {
                name: "Hot webinar leads".into(),
                channels: vec!["webinar".into()],
                temperatures: vec![Temperature::Hot],
                team: "inside-sales".into(),
                ..Default::default()
            },
        ];
        let facts = RoutingFacts {
            channel: "webinar",
            grade: "A1",
            temperature: Temperature::Hot,
        };
        let big = lead(json!({"country": "VIET NAM", "company_size": 500}));
        assert_eq!(rule_for(&rules, &big, facts).unwrap().team, "vn-enterprise");
        let small = lead(json!({"country": "vietnam", "company_size": 20}));
        assert_eq!(rule_for(&rules, &small, facts).unwrap().team, "vn-sales");
        let german = lead(json!({"country": "Germany"}));
        assert_eq!(
            rule_for(&rules, &german, facts).unwrap().team,
            "inside-sales"
        );
        let cold = RoutingFacts {
            temperature: Temperature::Cold,
            ..facts
        };
        assert!(rule_for(&rules, &german, cold).is_none());
    }

    #[test]
    fn round_robin_least_loaded_and_weighted_skip_away_and_capped_reps() {
        let t = Some;
        let mut reps = vec![rep("an"), rep("binh"), rep("chi"), rep("dung")];
        reps[0].last_turn = t(3);
        reps[1].last_turn = t(1);
        reps[2].last_turn = t(2);
        reps[3].away = true;
        assert_eq!(pick(Method::RoundRobin, &reps, None).unwrap().name, "binh");
        assert_eq!(
            pick(Method::RoundRobin, &reps, Some("binh")).unwrap().name,
            "chi"
        );
        reps[0].open_leads = 1;
        reps[1].open_leads = 9;
        reps[2].open_leads = 4;
        assert_eq!(pick(Method::LeastLoaded, &reps, None).unwrap().name, "an");
        reps[0].weight = 3.0;
        reps[0].assigned_today = 5;
        reps[1].assigned_today = 1;
        reps[2].assigned_today = 2;
        // an: 6/3 = 2, binh: 2/1, chi: 3/1 -> tie between an and binh, binh waited longer.
        assert_eq!(pick(Method::Weighted, &reps, None).unwrap().name, "binh");
        reps[1].daily_cap = Some(1);
        assert_eq!(pick(Method::Weighted, &reps, None).unwrap().name, "an");
        for r in &mut reps {
            r.away = true;
        }
        assert!(pick(Method::RoundRobin, &reps, None).is_none());
    }

    proptest! {
        /// Round-robin over a batch deals every available rep a lead before anyone gets a
        /// second, whatever turns the reps start with; a daily cap is never passed; a lead
        /// taken from its owner lowers their open count.
        #[test]
        fn a_batch_deals_in_turn_and_keeps_caps(
            turns in proptest::collection::vec(proptest::option::of(0i64..50), 2..8),
            cap in 1u32..4,
            leads in 1usize..60,
        ) {
            let mut reps: Vec<RepLoad> = turns.iter().enumerate()
                .map(|(i, t)| RepLoad { last_turn: *t, daily_cap: Some(cap), ..rep(&format!("r{i}")) })
                .collect();
            let mut dealt = Vec::new();
            for _ in 0..leads {
                let Some(name) = pick(Method::RoundRobin, &reps, None).map(|r| r.name.clone()) else { break };
                hand_over(&mut reps, &name, None);
                dealt.push(name);
            }
            let n = reps.len();
            prop_assert_eq!(dealt.len(), leads.min(n * cap as usize));
            for window in dealt.chunks(n) {
                let distinct: std::collections::HashSet<&String> = window.iter().collect();
                prop_assert_eq!(distinct.len(), window.len(), "{:?}", dealt);
            }
            prop_assert!(reps.iter().all(|r| r.assigned_today <= cap));
            let total_open: u32 = reps.iter().map(|r| r.open_leads).sum();
            let from = reps[0].name.clone();
            let to = reps[1].name.clone();
            let had = reps[0].open_leads;
            hand_over(&mut reps, &to, Some(&from));
            prop_assert_eq!(reps[0].open_leads, had.saturating_sub(1));
            let after: u32 = reps.iter().map(|r| r.open_leads).sum();
            prop_assert!(after == total_open + 1 || (had > 0 && after == total_open));
        }

        /// Weighted routing over a day gives each rep a share close to their weight.
        #[test]
        fn weighted_shares_follow_weights(weights in proptest::collection::vec(1u8..6, 2..6), leads in 50u32..400) {
            let mut reps: Vec<RepLoad> = weights.iter().enumerate().map(|(i, w)| RepLoad { weight: *w as f64, ..rep(&format!("r{i}")) }).collect();
            for _ in 0..leads {
                let name = pick(Method::Weighted, &reps, None).unwrap().name.clone();
                hand_over(&mut reps, &name, None);
            }
            let total: f64 = weights.iter().map(|w| *w as f64).sum();
            for r in &reps {
                let fair = leads as f64 * r.weight / total;
                prop_assert!((r.assigned_today as f64 - fair).abs() <= r.weight + 1.0, "{} got {} of fair {}", r.name, r.assigned_today, fair);
            }
        }
    }
}
