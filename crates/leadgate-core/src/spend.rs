//! What the sources cost and what they returned: spend recorded per month and source, the
//! leads each source brought under a stated attribution (first touch, last touch, or shared
//! evenly across a lead's touches), and the cost per lead, MQL, SQL and won customer.

use crate::source::Source;
use crate::validation::{FieldError, FieldErrors};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which of a lead's touches are credited with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// The touch that brought the lead first.
    #[default]
    FirstTouch,
    /// The lead's latest touch before now.
    LastTouch,
    /// Every touch an equal share (a lead with four touches gives each a quarter).
    Linear,
}

impl Attribution {
    pub const ALL: [Attribution; 3] = [
        Attribution::FirstTouch,
        Attribution::LastTouch,
        Attribution::Linear,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Attribution::FirstTouch => "first_touch",
            Attribution::LastTouch => "last_touch",
            Attribution::Linear => "linear",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == raw)
            .ok_or_else(|| {
                format!("'{raw}' is not an attribution (first_touch, last_touch or linear)")
            })
    }

    /// Each touch's share of a lead with these many touches.
    fn shares(self, touches: usize) -> Vec<f64> {
        match (self, touches) {
            (_, 0) => Vec::new(),
            (Attribution::FirstTouch, n) => {
                (0..n).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect()
            }
            (Attribution::LastTouch, n) => {
                (0..n).map(|i| if i + 1 == n { 1.0 } else { 0.0 }).collect()
            }
            (Attribution::Linear, n) => vec![1.0 / n as f64; n],
        }
    }
}

/// What sources are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    #[default]
    Campaign,
    Channel,
    /// UTM source and medium, as `google / cpc`.
    Utm,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Campaign, Dimension::Channel, Dimension::Utm];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Campaign => "campaign",
            Dimension::Channel => "channel",
            Dimension::Utm => "utm",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == raw)
            .ok_or_else(|| format!("'{raw}' is not a grouping (campaign, channel or utm)"))
    }
}

/// The parts of a touch that spend is recorded against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub channel: String,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    pub utm_source: Option<String>,
    #[serde(default)]
    pub utm_medium: Option<String>,
}

impl Touch {
    pub fn of(source: &Source) -> Touch {
        let text = |t: &Option<crate::Text>| t.as_ref().map(|t| t.as_str().to_owned());
        Touch {
            channel: source.channel.as_str().to_owned(),
            campaign: text(&source.campaign).or_else(|| text(&source.utm_campaign)),
            utm_source: text(&source.utm_source),
            utm_medium: text(&source.utm_medium),
        }
    }

    /// The group this touch falls in (`None`: it has no value there, e.g. no campaign).
    pub fn key(&self, by: Dimension) -> Option<String> {
        match by {
            Dimension::Campaign => self.campaign.clone(),
            Dimension::Channel => Some(self.channel.clone()),
            Dimension::Utm => utm_key(self.utm_source.as_deref(), self.utm_medium.as_deref()),
        }
    }
}

fn utm_key(source: Option<&str>, medium: Option<&str>) -> Option<String> {
    match (source, medium) {
        (None, None) => None,
        (s, m) => Some(format!("{} / {}", s.unwrap_or("-"), m.unwrap_or("-"))),
    }
}

/// Money spent on one source in one month. At least one of channel, campaign, UTM source
/// or medium names the source; a report grouped by one of them counts the lines that have it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SpendLine {
    /// `YYYY-MM`.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\d{4}-\d{2}$"))]
    pub month: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    /// In the store's currency; 0 or more.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub amount: f64,
}

impl SpendLine {
    /// The line with its texts trimmed (empty ones dropped) and its channel known, or every
    /// mistake by field (under `prefix`, e.g. `lines[3].`).
    pub fn checked(&self, prefix: &str) -> Result<SpendLine, FieldErrors> {
        let mut errors = FieldErrors::default();
        let field = |name: &str| format!("{prefix}{name}");
        if month_start(&self.month).is_none() {
            errors.push(FieldError::new(
                field("month"),
                "must be a month as YYYY-MM",
            ));
        }
        if !self.amount.is_finite() || self.amount < 0.0 {
            errors.push(FieldError::new(
                field("amount"),
                "must be a number, 0 or more",
            ));
        }
        let text = |name: &str, value: &Option<String>, errors: &mut FieldErrors| {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
            if value.chars().count() > 200 || value.chars().any(char::is_control) {
                errors.push(FieldError::new(
                    field(name),
                    "must be at most 200 characters without control characters",
                ));
            }
            Some(value.to_owned())
        };
        let channel = text("channel", &self.channel, &mut errors).and_then(|c| match c
            .parse::<crate::Channel>()
        {
            Ok(channel) => Some(channel.as_str().to_owned()),
            Err(reason) => {
                errors.push(FieldError::new(field("channel"), reason));
                None
            }
        });
        let line = SpendLine {
            month: self.month.trim().to_owned(),
            campaign: text("campaign", &self.campaign, &mut errors),
            utm_source: text("utm_source", &self.utm_source, &mut errors),
            utm_medium: text("utm_medium", &self.utm_medium, &mut errors),
            channel,
            amount: self.amount,
        };
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        if !(given(&self.channel)
            || given(&self.campaign)
            || given(&self.utm_source)
            || given(&self.utm_medium))
        {
            errors.push(FieldError::new(
                field("campaign"),
                "name the source: a campaign, channel, or UTM source or medium",
            ));
        }
        errors.into_result(line)
    }

    /// The group this line's money counts for.
    pub fn key(&self, by: Dimension) -> Option<String> {
        match by {
            Dimension::Campaign => self.campaign.clone(),
            Dimension::Channel => self.channel.clone(),
            Dimension::Utm => utm_key(self.utm_source.as_deref(), self.utm_medium.as_deref()),
        }
    }
}

/// The first day of a `YYYY-MM` month.
pub fn month_start(month: &str) -> Option<NaiveDate> {
    let (year, m) = month.trim().split_once('-')?;
    if year.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, m.parse().ok()?, 1)
}

/// The month after a `YYYY-MM` month (what an inclusive last month ends before).
pub fn next_month(month: &str) -> Option<String> {
    month_start(month)?
        .checked_add_months(chrono::Months::new(1))
        .map(|d| d.format("%Y-%m").to_string())
}

/// A lead as the cost reports count it: the month it arrived, its touches in order, how far
/// it went and what it was worth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadReturn {
    pub month: String,
    pub touches: Vec<Touch>,
    pub mql: bool,
    pub sql: bool,
    pub won: bool,
    pub won_value: f64,
}

/// What one source cost and brought, under an attribution. Counts are shares (a lead split
/// over three touches counts a third for each).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReturnRow {
    pub key: String,
    pub spend: f64,
    pub leads: f64,
    pub mql: f64,
    pub sql: f64,
    pub won: f64,
    pub won_value: f64,
}

impl ReturnRow {
    /// Spend per one of `count` (none when nothing was spent or nothing came).
    pub fn cost_per(&self, count: f64) -> Option<f64> {
        (self.spend > 0.0 && count > 1e-9).then(|| self.spend / count)
    }

    /// Won value over spend.
    pub fn return_on_spend(&self) -> Option<f64> {
        (self.spend > 0.0).then(|| self.won_value / self.spend)
    }

    fn add(&mut self, lead: &LeadReturn, share: f64) {
        self.leads += share;
        self.mql += share * f64::from(u8::from(lead.mql));
        self.sql += share * f64::from(u8::from(lead.sql));
        self.won += share * f64::from(u8::from(lead.won));
        self.won_value += share * lead.won_value;
    }
}

/// The cost report: each source's row, and the months' totals (the trend).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Returns {
    pub attribution: Attribution,
    pub by: Dimension,
    /// Most spend first; sources without spend after, by leads.
    pub rows: Vec<ReturnRow>,
    /// One row per month (`key` is the month), every source together.
    pub months: Vec<ReturnRow>,
}

/// The rows of a report over these leads and spend lines (both already of its months).
/// Leads whose credited touch has no value in the grouping count under `(none)`.
pub fn returns(
    leads: &[LeadReturn],
    spend: &[SpendLine],
    attribution: Attribution,
    by: Dimension,
) -> Returns {
    let mut rows: BTreeMap<String, ReturnRow> = BTreeMap::new();
    let mut months: BTreeMap<String, ReturnRow> = BTreeMap::new();
    for line in spend {
        if let Some(key) = line.key(by) {
            rows.entry(key).or_default().spend += line.amount;
            months.entry(line.month.clone()).or_default().spend += line.amount;
        }
    }
    for lead in leads {
        for (touch, share) in lead
            .touches
            .iter()
            .zip(attribution.shares(lead.touches.len()))
        {
            if share == 0.0 {
                continue;
            }
            let key = touch.key(by).unwrap_or_else(|| "(none)".into());
            rows.entry(key).or_default().add(lead, share);
        }
        if !lead.touches.is_empty() {
            months.entry(lead.month.clone()).or_default().add(lead, 1.0);
        }
    }
    let mut rows: Vec<ReturnRow> = rows
        .into_iter()
        .map(|(key, row)| ReturnRow { key, ..row })
        .collect();
    rows.sort_by(|a, b| {
        b.spend
            .total_cmp(&a.spend)
            .then(b.leads.total_cmp(&a.leads))
            .then(a.key.cmp(&b.key))
    });
    Returns {
        attribution,
        by,
        rows,
        months: months
            .into_iter()
            .map(|(key, row)| ReturnRow { key, ..row })
            .collect(),
    }
}

/// The columns of an ad platform's cost export (or any file with a date, a source and a
/// cost), found by their header names in the platforms' and the seeds' languages.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendColumns {
    pub date: usize,
    pub cost: usize,
    pub campaign: Option<usize>,
    pub channel: Option<usize>,
    pub utm_source: Option<usize>,
    pub utm_medium: Option<usize>,
}

const DATE_NAMES: [&str; 12] = [
    "date",
    "day",
    "month",
    "week",
    "reporting starts",
    "start date",
    "start date (in utc)",
    "reporting start",
    "ngày",
    "日期",
    "تاریخ",
    "thời gian",
];
const COST_NAMES: [&str; 12] = [
    "cost",
    "spend",
    "spent",
    "amount spent",
    "total spent",
    "amount",
    "cost (usd)",
    "chi phí",
    "花费",
    "费用",
    "消费",
    "هزینه",
];
const CAMPAIGN_NAMES: [&str; 8] = [
    "campaign",
    "campaign name",
    "campaign_name",
    "chiến dịch",
    "广告系列",
    "推广计划",
    "活动",
    "کمپین",
];

/// A header cell in the form names are compared in: lower case, trimmed, without a
/// currency in brackets ("Amount spent (USD)").
fn header_name(cell: &str) -> String {
    let lower = cell.trim().trim_start_matches('\u{feff}').to_lowercase();
    match lower.split_once(" (") {
        Some((name, rest)) if rest.len() <= 5 && rest.ends_with(')') && name != "start date" => {
            name.trim().to_owned()
        }
        _ => lower,
    }
}

impl SpendColumns {
    /// The columns of a header row, or what is missing, by name.
    pub fn guess(headers: &[&str]) -> Result<SpendColumns, FieldErrors> {
        let names: Vec<String> = headers.iter().map(|h| header_name(h)).collect();
        let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
        let mut errors = FieldErrors::default();
        let date = find(&DATE_NAMES);
        let cost = find(&COST_NAMES);
        if date.is_none() {
            errors.push(FieldError::new(
                "date",
                format!(
                    "no column is a date (one of: {})",
                    DATE_NAMES[..7].join(", ")
                ),
            ));
        }
        if cost.is_none() {
            errors.push(FieldError::new(
                "cost",
                format!(
                    "no column is the cost (one of: {})",
                    COST_NAMES[..6].join(", ")
                ),
            ));
        }
        let columns = SpendColumns {
            date: date.unwrap_or_default(),
            cost: cost.unwrap_or_default(),
            campaign: find(&CAMPAIGN_NAMES),
            channel: find(&["channel", "kênh", "渠道"]),
            utm_source: find(&["utm_source", "source"]),
            utm_medium: find(&["utm_medium", "medium"]),
        };
        if columns.campaign.is_none()
            && columns.channel.is_none()
            && columns.utm_source.is_none()
            && columns.utm_medium.is_none()
        {
            errors.push(FieldError::new(
                "campaign",
                "no column names the source (campaign, channel, utm_source or utm_medium)",
            ));
        }
        errors.into_result(columns)
    }

    /// One row as a spend line of its month (`channel` when the file is all one channel),
    /// or what is wrong with it, naming the column.
    pub fn read(&self, cells: &[&str], channel: Option<&str>) -> Result<SpendLine, FieldError> {
        let cell = |i: usize| cells.get(i).map(|c| c.trim()).unwrap_or("");
        let optional = |i: Option<usize>| i.map(cell).filter(|c| !c.is_empty()).map(str::to_owned);
        let month = month_of(cell(self.date)).ok_or_else(|| {
            FieldError::new(
                "date",
                format!("'{}' is not a date (2026-03-05, 2026-03 or Mar 5, 2026; day and month in another order are ambiguous)", cell(self.date)),
            )
        })?;
        let amount = money(cell(self.cost)).ok_or_else(|| {
            FieldError::new(
                "cost",
                format!("'{}' is not an amount of 0 or more", cell(self.cost)),
            )
        })?;
        let line = SpendLine {
            month,
            channel: optional(self.channel).or_else(|| channel.map(str::to_owned)),
            campaign: optional(self.campaign),
            utm_source: optional(self.utm_source),
            utm_medium: optional(self.utm_medium),
            amount,
        };
        line.checked("").map_err(|mut e| e.0.remove(0))
    }
}

/// The month of a date as exports write it: ISO days or months, or the English month name.
fn month_of(text: &str) -> Option<String> {
    let text = text.trim();
    let iso = text.replace('/', "-");
    let day = NaiveDate::parse_from_str(&iso, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(iso.get(..10).unwrap_or(""), "%Y-%m-%d"))
        .or_else(|_| NaiveDate::parse_from_str(&format!("{iso}-01"), "%Y-%m-%d"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%b %d, %Y"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%B %d, %Y"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%d %b %Y"))
        .ok()?;
    Some(day.format("%Y-%m").to_string())
}

/// An amount as exports write it: a currency sign or code, thousands separators, a decimal
/// comma ("1.234,56") or point.
fn money(text: &str) -> Option<f64> {
    let kept: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    if kept.is_empty() || kept.contains('-') {
        return None;
    }
    let decimal = match (kept.rfind('.'), kept.rfind(',')) {
        (Some(p), Some(c)) => Some(if p > c { '.' } else { ',' }),
        (Some(_), None) => Some('.'),
        // "1234,56" is a decimal comma; "1,234" a thousands separator.
        (None, Some(c)) if kept.len() - c - 1 != 3 => Some(','),
        _ => None,
    };
    let normal: String = kept
        .chars()
        .filter_map(|c| match c {
            d if d.is_ascii_digit() => Some(d),
            c if Some(c) == decimal => Some('.'),
            _ => None,
        })
        .collect();
    normal.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Lines of the same month and source added together (an export has a row per day).
pub fn by_month(lines: Vec<SpendLine>) -> Vec<SpendLine> {
    let mut sums: BTreeMap<MonthAndSource, f64> = BTreeMap::new();
    for l in lines {
        *sums
            .entry((l.month, l.channel, l.campaign, l.utm_source, l.utm_medium))
            .or_default() += l.amount;
    }
    sums.into_iter()
        .map(
            |((month, channel, campaign, utm_source, utm_medium), amount)| SpendLine {
                month,
                channel,
                campaign,
                utm_source,
                utm_medium,
                amount: (amount * 100.0).round() / 100.0,
            },
        )
        .collect()
}

/// A spend line's month and source (channel, campaign, UTM source, UTM medium).
type MonthAndSource = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn touch(channel: &str, campaign: &str) -> Touch {
        Touch {
            channel: channel.into(),
            campaign: Some(campaign.into()),
            utm_source: Some("google".into()),
            utm_medium: Some("cpc".into()),
        }
    }

    fn lead(touches: Vec<Touch>, won_value: Option<f64>) -> LeadReturn {
        LeadReturn {
            month: "2026-03".into(),
            touches,
            mql: true,
            sql: won_value.is_some(),
            won: won_value.is_some(),
            won_value: won_value.unwrap_or(0.0),
        }
    }

    fn spend(campaign: &str, amount: f64) -> SpendLine {
        SpendLine {
            month: "2026-03".into(),
            channel: None,
            campaign: Some(campaign.into()),
            utm_source: None,
            utm_medium: None,
            amount,
        }
    }

    #[test]
    fn each_attribution_credits_what_it_says() {
        let leads = [
            lead(
                vec![touch("search_ad", "spring"), touch("email", "newsletter")],
                Some(1200.0),
            ),
            lead(vec![touch("search_ad", "spring")], None),
        ];
        let lines = [spend("spring", 300.0), spend("newsletter", 100.0)];
        let row = |r: &Returns, key: &str| {
            r.rows
                .iter()
                .find(|x| x.key == key)
                .cloned()
                .unwrap_or_default()
        };
        let first = returns(&leads, &lines, Attribution::FirstTouch, Dimension::Campaign);
        let spring = row(&first, "spring");
        assert_eq!(
            (spring.leads, spring.won, spring.won_value),
            (2.0, 1.0, 1200.0)
        );
        assert_eq!(spring.cost_per(spring.leads), Some(150.0));
        assert_eq!(spring.cost_per(spring.won), Some(300.0));
        assert_eq!(spring.return_on_spend(), Some(4.0));
        assert_eq!(row(&first, "newsletter").leads, 0.0);
        assert_eq!(row(&first, "newsletter").cost_per(0.0), None);
        let last = returns(&leads, &lines, Attribution::LastTouch, Dimension::Campaign);
        assert_eq!(row(&last, "newsletter").won_value, 1200.0);
        assert_eq!(row(&last, "spring").leads, 1.0);
        let linear = returns(&leads, &lines, Attribution::Linear, Dimension::Campaign);
        assert_eq!(row(&linear, "spring").leads, 1.5);
        assert_eq!(row(&linear, "newsletter").won_value, 600.0);
        assert_eq!(linear.months.len(), 1);
        assert_eq!(
            (linear.months[0].spend, linear.months[0].leads),
            (400.0, 2.0)
        );
        let by_utm = returns(&leads, &lines, Attribution::FirstTouch, Dimension::Utm);
        assert_eq!(row(&by_utm, "google / cpc").leads, 2.0);
        assert_eq!(
            row(&by_utm, "google / cpc").spend,
            0.0,
            "the spend named campaigns only"
        );
    }

    #[test]
    fn a_spend_line_names_its_mistakes() {
        let bad = SpendLine {
            month: "2026-13".into(),
            channel: Some("carrier pigeon".into()),
            campaign: None,
            utm_source: Some(" ".into()),
            utm_medium: None,
            amount: -5.0,
        };
        let e = bad.checked("lines[2].").unwrap_err().to_string();
        for f in ["lines[2].month", "lines[2].amount", "lines[2].channel"] {
            assert!(e.contains(f), "{f}: {e}");
        }
        let none = SpendLine {
            channel: None,
            ..bad.clone()
        };
        assert!(none
            .checked("")
            .unwrap_err()
            .to_string()
            .contains("name the source"));
        assert!(
            spend(" spring ", 1.0)
                .checked("")
                .unwrap()
                .campaign
                .as_deref()
                == Some("spring")
        );
    }

    #[test]
    fn ad_platform_exports_are_read_by_their_headers() {
        // Google Ads, Meta, LinkedIn and a Chinese export, each a row per day.
        for (headers, row, month, campaign, amount) in [
            (
                vec!["Day", "Campaign", "Clicks", "Cost"],
                vec!["2026-03-05", "Spring", "12", "1,234.50"],
                "2026-03",
                "Spring",
                1234.5,
            ),
            (
                vec![
                    "Reporting starts",
                    "Reporting ends",
                    "Campaign name",
                    "Amount spent (USD)",
                ],
                vec!["2026-04-01", "2026-04-01", "Retarget", "$89.10"],
                "2026-04",
                "Retarget",
                89.1,
            ),
            (
                vec!["Start Date (in UTC)", "Campaign Name", "Total Spent"],
                vec!["Mar 5, 2026", "CTO ads", "1.234,56 €"],
                "2026-03",
                "CTO ads",
                1234.56,
            ),
            (
                vec!["日期", "推广计划", "花费"],
                vec!["2026/05/31", "春季", "¥3000"],
                "2026-05",
                "春季",
                3000.0,
            ),
        ] {
            let columns = SpendColumns::guess(&headers).unwrap();
            let line = columns.read(&row, Some("search_ad")).unwrap();
            assert_eq!(
                (line.month.as_str(), line.campaign.as_deref(), line.amount),
                (month, Some(campaign), amount),
                "{headers:?}"
            );
            assert_eq!(line.channel.as_deref(), Some("search_ad"));
        }
        let missing = SpendColumns::guess(&["Clicks", "Impressions"])
            .unwrap_err()
            .to_string();
        for f in ["date", "cost", "campaign"] {
            assert!(missing.contains(f), "{missing}");
        }
        let columns = SpendColumns::guess(&["Date", "Campaign", "Cost"]).unwrap();
        assert!(columns
            .read(&["05/03/2026", "x", "1"], None)
            .unwrap_err()
            .to_string()
            .contains("date"));
        assert!(columns
            .read(&["2026-03-05", "x", "-4"], None)
            .unwrap_err()
            .to_string()
            .contains("cost"));
        let days = vec![spend("a", 1.1), spend("a", 2.2), spend("b", 1.0)];
        let months = by_month(days);
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].amount, 3.3);
    }

    proptest! {
        #[test]
        fn any_cell_is_read_or_refused_without_panic(cells in proptest::collection::vec(".{0,20}", 3)) {
            let columns = SpendColumns::guess(&["Date", "Campaign", "Cost"]).unwrap();
            let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
            if let Ok(line) = columns.read(&cells, None) {
                prop_assert!(line.amount >= 0.0 && month_start(&line.month).is_some());
            }
        }

        #[test]
        fn every_attribution_credits_each_lead_once_in_all(
            raw in proptest::collection::vec((proptest::collection::vec(0u8..4, 1..6), any::<bool>()), 0..30)
        ) {
            let campaigns = ["a", "b", "c", "d"];
            let leads: Vec<LeadReturn> = raw.iter().map(|(ts, won)| lead(
                ts.iter().map(|t| touch("search_ad", campaigns[*t as usize])).collect(),
                won.then_some(100.0),
            )).collect();
            for attribution in Attribution::ALL {
                let r = returns(&leads, &[], attribution, Dimension::Campaign);
                let total: f64 = r.rows.iter().map(|x| x.leads).sum();
                prop_assert!((total - leads.len() as f64).abs() < 1e-9);
                let won: f64 = r.rows.iter().map(|x| x.won_value).sum();
                let want: f64 = leads.iter().map(|l| l.won_value).sum();
                prop_assert!((won - want).abs() < 1e-6);
            }
        }
    }
}
