//! Seeded synthetic data: plausible leads from plausible companies over the last 90 days, with
//! sources, event histories, stages and won/lost outcomes. Used by `leadgate demo`, by tests
//! and by benchmarks; the same seed always gives the same data.

use chrono::{DateTime, Duration, Utc};
use leadgate_core::event::{EventDraft, EventType};
use leadgate_core::lead::Lead;
use leadgate_core::source::{Channel, Source, SourceClass};
use leadgate_core::stage::Stage;
use leadgate_core::values::{Email, ExternalId, Phone, Text};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map};

/// One generated lead with its history, oldest event first.
#[derive(Debug, Clone)]
pub struct DemoLead {
    pub lead: Lead,
    pub source: Source,
    pub created_at: DateTime<Utc>,
    pub events: Vec<EventDraft>,
}

struct Market {
    country: &'static str,
    phone_prefix: &'static str,
    first_names: &'static [&'static str],
    last_names: &'static [&'static str],
    /// Whether the given name is written before the family name in email addresses.
    latin: bool,
    weight: u32,
}

const MARKETS: &[Market] = &[
    Market {
        country: "United States",
        phone_prefix: "+1 415",
        first_names: &[
            "James", "Maria", "Robert", "Jennifer", "Michael", "Linda", "David", "Sarah", "Daniel",
            "Emily",
        ],
        last_names: &[
            "Smith",
            "Johnson",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Wilson",
            "Anderson",
            "Lee",
        ],
        latin: true,
        weight: 30,
    },
    Market {
        country: "United Kingdom",
        phone_prefix: "+44 20",
        first_names: &[
            "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Noah", "Grace",
        ],
        last_names: &[
            "Taylor", "Brown", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes",
        ],
        latin: true,
        weight: 10,
    },
    Market {
        country: "Germany",
        phone_prefix: "+49 30",
        first_names: &[
            "Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Paul", "Sophie",
        ],
        last_names: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
        ],
        latin: true,
        weight: 10,
    },
    Market {
        country: "China",
        phone_prefix: "+86 21",
        first_names: &["伟", "芳", "娜", "敏", "静", "磊", "洋", "婷", "强", "军"],
        last_names: &["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"],
        latin: false,
        weight: 15,
    },
    Market {
        country: "Iran",
        phone_prefix: "+98 21",
        first_names: &["سارا", "علی", "مریم", "رضا", "زهرا", "محمد", "نگار", "حسین"],
        last_names: &[
            "رضایی",
            "محمدی",
            "حسینی",
            "کریمی",
            "احمدی",
            "موسوی",
            "جعفری",
            "کاظمی",
        ],
        latin: false,
        weight: 8,
    },
    Market {
        country: "Vietnam",
        phone_prefix: "+84 28",
        first_names: &[
            "Minh Anh",
            "Thu Trang",
            "Quốc Bảo",
            "Ngọc Lan",
            "Đức Huy",
            "Thanh Hà",
            "Văn Nam",
            "Hải Yến",
        ],
        last_names: &["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"],
        latin: false,
        weight: 12,
    },
    Market {
        country: "Brazil",
        phone_prefix: "+55 11",
        first_names: &[
            "João", "Ana", "Pedro", "Beatriz", "Lucas", "Camila", "Rafael", "Júlia",
        ],
        last_names: &[
            "Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Almeida", "Lima",
        ],
        latin: true,
        weight: 8,
    },
    Market {
        country: "India",
        phone_prefix: "+91 80",
        first_names: &[
            "Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Divya", "Arjun", "Neha",
        ],
        last_names: &[
            "Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Singh", "Rao",
        ],
        latin: true,
        weight: 7,
    },
];

/// (industry, how well it fits the product from 0 to 1, company name stems)
const INDUSTRIES: &[(&str, f64, &[&str])] = &[
    (
        "Software",
        0.9,
        &[
            "Cloudline",
            "Bytewise",
            "Stackhouse",
            "Nimbus Labs",
            "Codeforge",
            "Datapoint",
        ],
    ),
    (
        "Financial Services",
        0.8,
        &[
            "Harbor Capital",
            "Meridian Bank",
            "Northwind Finance",
            "Ledgerly",
            "Summit Trust",
        ],
    ),
    (
        "Manufacturing",
        0.6,
        &[
            "Steelbridge",
            "Precision Works",
            "Apex Components",
            "Ironvale",
            "Tianhe Machinery",
        ],
    ),
    (
        "Healthcare",
        0.7,
        &[
            "CareFirst Clinics",
            "Medisphere",
            "Vitalis Health",
            "Bệnh viện Hòa Bình",
            "Sina Medical",
        ],
    ),
    (
        "Retail",
        0.5,
        &[
            "Urban Basket",
            "Shoplane",
            "Mercado Verde",
            "Pars Bazaar",
            "Bright Mart",
        ],
    ),
    (
        "Education",
        0.4,
        &[
            "Brightpath Academy",
            "Lumen Learning",
            "EduNova",
            "Trường Việt Mỹ",
            "Scholarly",
        ],
    ),
    (
        "Logistics",
        0.6,
        &[
            "Swift Freight",
            "Cargolink",
            "Bluewave Shipping",
            "Saigon Express",
            "Transora",
        ],
    ),
    (
        "Consulting",
        0.5,
        &[
            "Keystone Advisors",
            "Clearview Partners",
            "Atlas Consulting",
            "Pinnacle Group",
        ],
    ),
];

const LEGAL_SUFFIXES: &[&str] = &["Inc.", "Ltd", "GmbH", "LLC", "S.A.", "Co., Ltd", "JSC", ""];

/// (title, seniority 0..1: how likely the person decides a purchase)
const TITLES: &[(&str, f64)] = &[
    ("Chief Executive Officer", 1.0),
    ("CTO", 0.95),
    ("VP of Sales", 0.85),
    ("Head of Marketing", 0.8),
    ("IT Director", 0.8),
    ("Operations Manager", 0.6),
    ("Procurement Manager", 0.7),
    ("Marketing Manager", 0.5),
    ("Software Engineer", 0.25),
    ("Sales Representative", 0.2),
    ("Analyst", 0.2),
    ("Student", 0.0),
];

const NEEDS: &[&str] = &[
    "Replace spreadsheets for lead tracking",
    "Score and route inbound leads automatically",
    "Shorten response time to web enquiries",
    "Connect marketing campaigns to closed revenue",
    "Consolidate leads from trade shows and partners",
];

const TIMEFRAMES: &[&str] = &[
    "within 1 month",
    "within 3 months",
    "within 6 months",
    "next year",
    "no plan yet",
];

const SOLUTIONS: &[&str] = &[
    "Spreadsheets",
    "Salesforce",
    "HubSpot",
    "In-house tool",
    "Zoho CRM",
    "None",
];

const PAINS: &[&str] = &[
    "Reps waste time on leads that never buy",
    "Marketing and sales disagree on what a good lead is",
    "Leads fall through the cracks after events",
    "No idea which campaigns bring customers",
    "Duplicate records from several channels",
];

/// (channel, weight, campaigns)
const CHANNELS: &[(Channel, u32, &[&str])] = &[
    (
        Channel::WebForm,
        22,
        &["spring-demo-request", "pricing-page"],
    ),
    (
        Channel::SearchAd,
        16,
        &[
            "brand-search",
            "competitor-keywords",
            "lead-scoring-software",
        ],
    ),
    (
        Channel::Social,
        12,
        &["linkedin-abm", "wechat-launch", "zalo-ads"],
    ),
    (
        Channel::ContentDownload,
        12,
        &["whitepaper-lead-quality", "ebook-mql-to-sql"],
    ),
    (
        Channel::Webinar,
        8,
        &["webinar-bant-in-practice", "webinar-closed-loop"],
    ),
    (Channel::Email, 6, &["newsletter-q2", "nurture-sequence"]),
    (
        Channel::Event,
        7,
        &["saastr-booth", "canton-fair", "techfest-hcm"],
    ),
    (Channel::Referral, 5, &["customer-referral"]),
    (Channel::Partner, 5, &["reseller-emea", "reseller-apac"]),
    (Channel::PurchasedList, 4, &["list-fortune-5000"]),
    (Channel::Phone, 3, &["inbound-call"]),
];

const PAGES: &[&str] = &[
    "/",
    "/pricing",
    "/features",
    "/features/scoring",
    "/customers",
    "/blog/what-is-an-mql",
    "/docs/api",
    "/contact",
];
const CONTENT: &[&str] = &[
    "Lead quality whitepaper",
    "MQL to SQL e-book",
    "BANT checklist",
    "Closed-loop ROI calculator",
];
const WEBINARS: &[&str] = &[
    "BANT in practice",
    "Closing the loop",
    "Scoring that sales trusts",
];
const DISQUALIFY_REASONS: &[&str] = &[
    "no budget",
    "not a decision maker",
    "competitor",
    "no need",
    "unreachable",
];
/// The demo sales reps (`leadgate demo` puts them in regional teams by these names).
const REPS: &[&str] = &[
    "li.na",
    "j.miller",
    "m.nguyen",
    "s.rezaei",
    "a.schmidt",
    "r.silva",
];

/// Builds `count` leads created over the 90 days before `now`. Same `seed`, same leads.
pub fn generate(seed: u64, count: usize, now: DateTime<Utc>) -> Vec<DemoLead> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let market_weights: u32 = MARKETS.iter().map(|m| m.weight).sum();
    let channel_weights: u32 = CHANNELS.iter().map(|c| c.1).sum();
    let mut leads: Vec<DemoLead> = (0..count)
        .map(|i| {
            let market = pick_weighted(&mut rng, MARKETS, market_weights, |m| m.weight);
            let channel = pick_weighted(&mut rng, CHANNELS, channel_weights, |c| c.1);
            one_lead(&mut rng, i, market, channel, now)
        })
        .collect();
    leads.sort_by_key(|l| l.created_at);
    leads
}

fn pick_weighted<'a, T>(
    rng: &mut ChaCha8Rng,
    items: &'a [T],
    total: u32,
    weight: impl Fn(&T) -> u32,
) -> &'a T {
    let mut roll = rng.gen_range(0..total);
    for item in items {
        let w = weight(item);
        if roll < w {
            return item;
        }
        roll -= w;
    }
    &items[items.len() - 1]
}

fn text(raw: &str) -> Option<Text> {
    Text::parse(raw, 4000).ok()
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

fn one_lead(
    rng: &mut ChaCha8Rng,
    index: usize,
    market: &Market,
    (channel, _, campaigns): &(Channel, u32, &[&str]),
    now: DateTime<Utc>,
) -> DemoLead {
    let (industry, industry_fit, stems) = INDUSTRIES[rng.gen_range(0..INDUSTRIES.len())];
    let (title, seniority) = TITLES[rng.gen_range(0..TITLES.len())];
    let first = pick(rng, market.first_names);
    let last = pick(rng, market.last_names);
    let stem = pick(rng, stems);
    let suffix = pick(rng, LEGAL_SUFFIXES);
    let company = if suffix.is_empty() {
        stem.to_owned()
    } else {
        format!("{stem} {suffix}")
    };
    let domain: String = stem
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>();
    let domain = if domain.len() < 3 {
        format!("company{}", index % 97)
    } else {
        domain
    };
    let free_mail = rng.gen_bool(0.15);
    let local = if market.latin {
        format!("{}.{}", ascii_fold(first), ascii_fold(last))
    } else {
        "contact".to_owned()
    };
    let email = if free_mail {
        format!(
            "{local}{}@{}",
            index,
            ["gmail.com", "outlook.com", "qq.com", "yahoo.com"][index % 4]
        )
    } else {
        format!("{local}.{index}@{domain}.com")
    };
    let size_band = [5, 20, 80, 250, 900, 4000, 20000];
    let company_size = size_band[rng.gen_range(0..size_band.len())] + rng.gen_range(0..10);
    let size_fit = if (50..5000).contains(&company_size) {
        1.0
    } else {
        0.4
    };

    let created_at = now - Duration::seconds(rng.gen_range(0..90 * 24 * 3600));
    // A hidden propensity drives both behaviour and the outcome, so the data has real signal.
    let propensity: f64 =
        (0.45 * industry_fit + 0.35 * seniority + 0.2 * size_fit) * rng.gen_range(0.4..1.3);

    let mut source = Source::new(*channel);
    if *channel == Channel::WebForm && rng.gen_bool(0.3) {
        source.source_class = SourceClass::SelfGenerated;
    }
    source.campaign = text(pick(rng, campaigns));
    if matches!(channel, Channel::SearchAd | Channel::Social) {
        source.utm_source = text(match channel {
            Channel::SearchAd => pick(rng, &["google", "bing", "baidu"]),
            _ => pick(rng, &["linkedin", "wechat", "facebook", "zalo"]),
        });
        source.utm_medium = text(if *channel == Channel::SearchAd {
            "cpc"
        } else {
            "paid_social"
        });
        source.utm_campaign = source.campaign.clone();
        source.landing_page = text("https://leadgate.example/pricing");
    }

    let informative = rng.gen_bool(0.6);
    let mut lead = Lead {
        external_id: ExternalId::parse(&format!("demo-{index:06}")).ok(),
        stage: if *channel == Channel::PurchasedList {
            Stage::Prospect
        } else {
            Stage::Lead
        },
        first_name: text(first),
        last_name: text(last),
        email: Email::parse(&email).ok(),
        phone: if rng.gen_bool(0.7) {
            // A number the region could have issued: seven digits behind a North American
            // area code, eight behind these city codes; drawn again until it is valid there.
            Phone::parse(&{
                let draw = |rng: &mut ChaCha8Rng| {
                    if market.phone_prefix.starts_with("+1 ") {
                        format!(
                            "{} {}",
                            market.phone_prefix,
                            rng.gen_range(2_000_000..10_000_000)
                        )
                    } else {
                        format!(
                            "{} {}",
                            market.phone_prefix,
                            rng.gen_range(20_000_000..100_000_000)
                        )
                    }
                };
                let mut number = draw(rng);
                for _ in 0..20 {
                    if leadgate_core::normalize::phone_e164(&number, None).is_ok() {
                        break;
                    }
                    number = draw(rng);
                }
                number
            })
            .ok()
        } else {
            None
        },
        job_title: text(title),
        country: text(market.country),
        company: text(&company),
        industry: text(industry),
        company_size: Some(company_size),
        website: text(&format!("https://{domain}.com")),
        product_need: if informative {
            text(pick(rng, NEEDS))
        } else {
            None
        },
        budget: if informative && rng.gen_bool(0.5) {
            Some((rng.gen_range(2..60) * 1000) as f64)
        } else {
            None
        },
        purchase_timeframe: if informative {
            text(pick(rng, TIMEFRAMES))
        } else {
            None
        },
        current_solution: if informative {
            text(pick(rng, SOLUTIONS))
        } else {
            None
        },
        pains: if informative && rng.gen_bool(0.5) {
            text(pick(rng, PAINS))
        } else {
            None
        },
        ..Lead::default()
    };
    if rng.gen_bool(0.3) {
        lead.custom = Map::from_iter([("newsletter".to_owned(), json!(rng.gen_bool(0.5)))]);
    }

    let mut events = Vec::new();
    let age_seconds = (now - created_at).num_seconds().max(1);
    let at = |rng: &mut ChaCha8Rng| created_at + Duration::seconds(rng.gen_range(0..age_seconds));
    // The arrival itself is recorded as form_submitted when the lead is stored.
    let activity = (propensity * 14.0 * rng.gen_range(0.3..1.5)) as usize;
    for _ in 0..activity {
        let roll: f64 = rng.gen();
        let event = if roll < 0.5 {
            EventDraft::new(
                EventType::PageViewed,
                at(rng),
                json!({"page": pick(rng, PAGES), "seconds": rng.gen_range(5..400)}),
            )
        } else if roll < 0.7 {
            EventDraft::new(
                EventType::EmailOpened,
                at(rng),
                json!({"email": "nurture-step"}),
            )
        } else if roll < 0.82 {
            EventDraft::new(
                EventType::EmailClicked,
                at(rng),
                json!({"link": pick(rng, PAGES)}),
            )
        } else if roll < 0.93 {
            EventDraft::new(
                EventType::ContentDownloaded,
                at(rng),
                json!({"content": pick(rng, CONTENT)}),
            )
        } else {
            EventDraft::new(
                EventType::WebinarAttended,
                at(rng),
                json!({"webinar": pick(rng, WEBINARS)}),
            )
        };
        events.push(event.with_actor("demo"));
    }
    events.sort_by_key(|e| e.occurred_at);

    // Walk the funnel as far as the propensity carries the lead.
    let path = [
        Stage::Mql,
        Stage::Sal,
        Stage::Sql,
        Stage::Opportunity,
        Stage::Customer,
    ];
    let mut stage = lead.stage;
    let mut when = events.last().map(|e| e.occurred_at).unwrap_or(created_at);
    let owner = pick(rng, REPS);
    let step = |rng: &mut ChaCha8Rng, when: DateTime<Utc>| {
        (when + Duration::hours(rng.gen_range(2..96))).min(now)
    };
    for next in path {
        let chance = (propensity * 1.05).clamp(0.02, 0.92);
        if !rng.gen_bool(chance) || when >= now - Duration::hours(2) {
            break;
        }
        when = step(rng, when);
        events.push(
            EventDraft::new(
                EventType::StageChanged,
                when,
                json!({"from": stage.as_str(), "to": next.as_str(), "reason": "demo history"}),
            )
            .with_actor(if next == Stage::Mql { "policy" } else { owner }),
        );
        if next == Stage::Sal {
            // The assignment itself is recorded when the lead is stored with its owner.
            lead.owner = text(owner);
            events.push(
                EventDraft::new(
                    EventType::CallLogged,
                    step(rng, when),
                    json!({"outcome": "connected", "minutes": rng.gen_range(3..40)}),
                )
                .with_actor(owner),
            );
        }
        if next == Stage::Sql {
            events.push(
                EventDraft::new(
                    EventType::MeetingBooked,
                    step(rng, when),
                    json!({"with": owner}),
                )
                .with_actor(owner),
            );
        }
        stage = next;
    }
    let value = (lead.company_size.unwrap_or(10) as f64).sqrt().round() * 400.0 + 2000.0;
    match stage {
        Stage::Customer => events.push(
            EventDraft::new(
                EventType::OutcomeRecorded,
                step(rng, when),
                json!({"outcome": "won", "value": value, "currency": "USD"}),
            )
            .with_actor(owner),
        ),
        Stage::Sql | Stage::Opportunity | Stage::Sal if rng.gen_bool(0.35) => {
            let reason = pick(rng, DISQUALIFY_REASONS);
            let closed = step(rng, when);
            events.push(
                EventDraft::new(
                    EventType::OutcomeRecorded,
                    closed,
                    json!({"outcome": "lost", "reason": reason}),
                )
                .with_actor(owner),
            );
            let next = if rng.gen_bool(0.5) {
                Stage::Disqualified
            } else {
                Stage::Recycled
            };
            events.push(
                EventDraft::new(
                    EventType::StageChanged,
                    closed,
                    json!({"from": stage.as_str(), "to": next.as_str(), "reason": reason}),
                )
                .with_actor(owner),
            );
            stage = next;
        }
        _ => {}
    }
    lead.stage = stage;
    events.sort_by_key(|e| e.occurred_at);
    for (n, event) in events.iter_mut().enumerate() {
        event.source = text(source.channel.as_str());
        event.idempotency_key = Some(format!("demo-{index:06}-{n}"));
    }
    DemoLead {
        lead,
        source,
        created_at,
        events,
    }
}

/// "Müller" -> "muller": the ASCII letters an email local part would use.
fn ascii_fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'ä' | 'á' | 'ã' | 'â' => 'a',
            'ö' | 'ó' | 'ô' => 'o',
            'ü' | 'ú' => 'u',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ç' => 'c',
            other => other.to_ascii_lowercase(),
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Events for benchmarks: `count` page views spread over `lead_ids`, with unique keys.
pub fn page_views(
    seed: u64,
    lead_ids: &[leadgate_core::id::LeadId],
    count: usize,
    now: DateTime<Utc>,
) -> Vec<(leadgate_core::id::LeadId, EventDraft)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let lead = lead_ids[rng
                .gen_range(0..lead_ids.len().max(1))
                .min(lead_ids.len().saturating_sub(1))];
            let mut event = EventDraft::new(
                EventType::PageViewed,
                now - Duration::seconds(rng.gen_range(0..30 * 24 * 3600)),
                json!({"page": pick(&mut rng, PAGES), "seconds": rng.gen_range(5..400)}),
            );
            event.idempotency_key = Some(format!("bench-{seed}-{i}"));
            (lead, event)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadgate_core::id::LeadId;

    fn now() -> DateTime<Utc> {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn same_seed_same_data() {
        let a = generate(7, 200, now());
        let b = generate(7, 200, now());
        assert_eq!(a.len(), 200);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.lead, y.lead);
            assert_eq!(x.events, y.events);
        }
        assert_ne!(generate(8, 200, now())[0].lead, a[0].lead);
    }

    #[test]
    fn data_is_spread_and_plausible() {
        let leads = generate(1, 3000, now());
        let start = now() - Duration::days(90);
        assert!(leads
            .iter()
            .all(|l| l.created_at >= start && l.created_at <= now()));
        assert!(leads.iter().all(|l| l
            .events
            .iter()
            .all(|e| e.occurred_at <= now() && e.occurred_at >= l.created_at)));
        assert!(leads.iter().all(|l| l.lead.email.is_some()));
        let channels: std::collections::HashSet<_> =
            leads.iter().map(|l| l.source.channel).collect();
        assert!(channels.len() >= 10);
        let classes: std::collections::HashSet<_> =
            leads.iter().map(|l| l.source.source_class).collect();
        assert_eq!(classes.len(), 3);
        let won = leads
            .iter()
            .filter(|l| l.lead.stage == Stage::Customer)
            .count();
        let lost = leads
            .iter()
            .filter(|l| l.events.iter().any(|e| e.payload["outcome"] == "lost"))
            .count();
        assert!(won > 30 && lost > 30, "won {won}, lost {lost}");
        let mqls = leads
            .iter()
            .filter(|l| l.lead.stage != Stage::Lead && l.lead.stage != Stage::Prospect)
            .count();
        assert!(mqls > 300 && mqls < 2500, "{mqls} leads past lead");
    }

    #[test]
    fn demo_people_look_real_and_their_phones_are_valid() {
        for demo in generate(5, 500, Utc::now()) {
            assert_eq!(
                leadgate_core::quality::assess(&demo.lead),
                [],
                "{:?}",
                demo.lead
            );
            if let Some(phone) = &demo.lead.phone {
                assert!(
                    leadgate_core::normalize::phone_e164(phone.as_str(), None).is_ok(),
                    "{phone:?}"
                );
            }
        }
    }

    #[test]
    fn bench_events_are_unique_and_reference_given_leads() {
        let events = page_views(3, &[LeadId(10), LeadId(11), LeadId(12)], 500, now());
        let keys: std::collections::HashSet<_> = events
            .iter()
            .map(|(_, e)| e.idempotency_key.clone())
            .collect();
        assert_eq!(keys.len(), 500);
        assert!(events.iter().all(|(id, _)| (10..=12).contains(&id.get())));
    }
}
