//! Closed-loop analytics: the funnel by month with conversion and time in each stage, what
//! each source, channel and campaign brings, why leads were turned away, and whether the
//! score foretold who bought. Every chart has its table beside it and a CSV download.

use super::charts::{bars, lines, Bar, Line};
use super::form_field as field;
use super::{back, html, require, Chrome, PageResult, Signed, WebError};
use crate::http::reads::Reads;
use crate::http::AppState;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Form;
use leadgate_core::access::{LeadScope, Permission};
use leadgate_core::analytics::{Analytics, FunnelRow};
use leadgate_core::drift::DriftRow;
use leadgate_core::export::safe_cell;
use leadgate_core::spend::{Attribution, Dimension, ReturnRow};
use leadgate_store::AnalyticsScope;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The cost report's attribution and grouping (defaults: first touch, by campaign).
    #[serde(default)]
    attribution: String,
    #[serde(default)]
    by: String,
}

impl Period {
    fn scope(&self, signed: &Signed) -> Result<AnalyticsScope, WebError> {
        let day = super::date_param;
        Ok(AnalyticsScope {
            from: day(&self.from, "from")?,
            to: day(&self.to, "to")?.map(|d| d + chrono::Duration::days(1)),
            team: match signed.user.scope() {
                LeadScope::All => None,
                scope => Some(scope.team().unwrap_or_default().to_owned()),
            },
        })
    }

    fn query(&self) -> String {
        serde_urlencoded::to_string([
            ("from", &self.from),
            ("to", &self.to),
            ("attribution", &self.attribution),
            ("by", &self.by),
        ])
        .unwrap_or_default()
    }

    /// The months the period touches (`YYYY-MM`, first and last; open when not given).
    fn months(&self) -> (Option<String>, Option<String>) {
        let month = |day: &str| day.get(..7).map(str::to_owned).filter(|m| m.len() == 7);
        (month(&self.from), month(&self.to))
    }

    fn choices(&self) -> Result<(Attribution, Dimension), WebError> {
        crate::http::spend_choices(Some(&self.attribution), Some(&self.by))
            .map_err(|e| WebError::Invalid(e.to_string()))
    }
}

/// One table: a header and rows of cells, shown and downloadable alike.
pub struct Table {
    pub name: &'static str,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub chart: String,
}

fn opt_pct(c: &Chrome, share: Option<f64>) -> String {
    share.map(|s| c.t.pct(s)).unwrap_or_else(|| "-".into())
}

/// A table's column heads in the reader's language.
fn column_heads(c: &Chrome, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| c.t(&format!("analytics.col.{k}")).to_owned())
        .collect()
}

/// The drift watch: predicted against actual won rate per month and channel.
fn drift_table(c: &Chrome, rows: &[DriftRow]) -> Table {
    let h = |keys: &[&str]| column_heads(c, keys);
    let chart = bars(
        c.t("analytics.drift_chart"),
        &rows
            .iter()
            .filter(|r| r.channel.is_none())
            .flat_map(|r| {
                [
                    Bar {
                        label: format!("{} {}", r.month, c.t("analytics.col.predicted")),
                        value: r.predicted_rate,
                        text: c.t.pct(r.predicted_rate),
                    },
                    Bar {
                        label: format!("{} {}", r.month, c.t("analytics.col.actual")),
                        value: r.actual_rate,
                        text: c.t.pct(r.actual_rate),
                    },
                ]
            })
            .collect::<Vec<_>>(),
    );
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                r.month.clone(),
                r.channel
                    .clone()
                    .unwrap_or_else(|| c.t("analytics.all_channels").to_owned()),
                c.t.int(r.leads as i64),
                c.t.pct(r.predicted_rate),
                c.t.pct(r.actual_rate),
                format!("{}–{}", c.t.pct(r.low), c.t.pct(r.high)),
                c.t(if r.apart {
                    "analytics.drift_apart"
                } else {
                    "analytics.drift_fits"
                })
                .to_owned(),
            ]
        })
        .collect();
    Table {
        name: "drift",
        head: h(&[
            "month",
            "channel",
            "closed",
            "predicted",
            "actual",
            "allowed",
            "verdict",
        ]),
        rows,
        chart,
    }
}

/// Response-deadline compliance per rep: a manager's own team, everyone's for the rest.
async fn response_table(
    store: &leadgate_store::Store,
    c: &Chrome,
    scope: &AnalyticsScope,
) -> Result<Table, WebError> {
    let mut groups = store.sla_compliance("owner", scope.from, scope.to).await?;
    if let Some(team) = &scope.team {
        let reps: std::collections::HashSet<String> = store
            .reps(Some(team))
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        groups.retain(|g| g.key.as_ref().is_some_and(|k| reps.contains(k)));
    }
    let chart = bars(
        c.t("analytics.response_chart"),
        &groups
            .iter()
            .map(|g| Bar {
                label: g
                    .key
                    .clone()
                    .unwrap_or_else(|| c.t("lead.unassigned").to_owned()),
                value: g.compliance.unwrap_or(0.0),
                text: opt_pct(c, g.compliance),
            })
            .collect::<Vec<_>>(),
    );
    let rows = groups
        .iter()
        .map(|g| {
            vec![
                g.key
                    .clone()
                    .unwrap_or_else(|| c.t("lead.unassigned").to_owned()),
                c.t.int(g.clocks),
                c.t.int(g.met),
                c.t.int(g.breached),
                c.t.int(g.running),
                opt_pct(c, g.compliance),
            ]
        })
        .collect();
    Ok(Table {
        name: "response",
        head: column_heads(
            c,
            &["rep", "clocks", "met", "breached", "running", "compliance"],
        ),
        rows,
        chart,
    })
}

/// The funnel's trend by month: how many leads, MQLs and wins each month brought, and the
/// share of its leads that reached MQL and won (oldest month first).
fn funnel_trend(c: &Chrome, months: &[FunnelRow]) -> String {
    if months.len() < 2 {
        return String::new();
    }
    let points: Vec<String> = months.iter().map(|m| m.month.clone()).collect();
    let count = |name: &str, class, n: fn(&FunnelRow) -> u64| Line {
        name: name.to_owned(),
        class,
        values: months.iter().map(|m| Some(n(m) as f64)).collect(),
    };
    let rate = |name: &str, class, n: fn(&FunnelRow) -> u64| Line {
        name: name.to_owned(),
        class,
        values: months
            .iter()
            .map(|m| (m.leads > 0).then(|| n(m) as f64 / m.leads as f64))
            .collect(),
    };
    let counts = lines(
        c.t("analytics.trend_counts"),
        &points,
        &[
            count(c.t("analytics.col.leads"), "leads", |m| m.leads),
            count(c.t("analytics.col.mql"), "mql", |m| m.mql),
            count(c.t("analytics.col.won"), "won", |m| m.won),
        ],
        |v| c.t.int(v.round() as i64),
    );
    let rates = lines(
        c.t("analytics.trend_rates"),
        &points,
        &[
            rate(c.t("analytics.col.lead_mql"), "mql", |m| m.mql),
            rate(c.t("analytics.col.won_rate"), "won", |m| m.won),
        ],
        |v| c.t.pct(v),
    );
    counts + &rates
}

fn tables(c: &Chrome, a: &Analytics) -> Vec<Table> {
    let h = |keys: &[&str]| column_heads(c, keys);
    let total = &a.total;
    let funnel_chart = bars(
        c.t("analytics.funnel"),
        &[
            (c.stage_name("lead"), total.leads),
            (c.stage_name("mql"), total.mql),
            (c.stage_name("sal"), total.sal),
            (c.stage_name("sql"), total.sql),
            (c.t("outcome.won").to_owned(), total.won),
        ]
        .map(|(label, n)| Bar {
            label: label.to_owned(),
            value: n as f64,
            text: c.t.int(n as i64),
        }),
    );
    let trend = funnel_trend(c, &a.funnel);
    let mut funnel_rows: Vec<Vec<String>> = a
        .funnel
        .iter()
        .chain(std::iter::once(total))
        .map(|r| {
            let rates = r.rates();
            vec![
                if r.month == "all" {
                    c.t("analytics.all").to_owned()
                } else {
                    r.month.clone()
                },
                c.t.int(r.leads as i64),
                c.t.int(r.mql as i64),
                c.t.int(r.sal as i64),
                c.t.int(r.sql as i64),
                c.t.int(r.won as i64),
                c.t.num(r.won_value, 0),
                opt_pct(c, rates[0]),
                opt_pct(c, rates[1]),
                opt_pct(c, rates[2]),
                opt_pct(c, rates[3]),
            ]
        })
        .collect();
    funnel_rows.reverse();
    let stage_rows = a
        .stage_times
        .iter()
        .map(|s| {
            vec![
                c.stage_name(s.stage.as_str()).to_owned(),
                c.t.int(s.left as i64),
                s.median_hours
                    .map(|h| c.t.hours(h))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let stage_chart = bars(
        c.t("analytics.stage_times"),
        &a.stage_times
            .iter()
            .map(|s| Bar {
                label: c.stage_name(s.stage.as_str()).to_owned(),
                value: s.median_hours.unwrap_or(0.0),
                text: s
                    .median_hours
                    .map(|h| format!("{} h", c.t.hours(h)))
                    .unwrap_or_default(),
            })
            .collect::<Vec<_>>(),
    );
    let channels: Vec<Bar> = a
        .sources
        .iter()
        .filter(|s| s.group == "channel")
        .map(|s| Bar {
            label: s.key.clone(),
            value: s.share(s.won).unwrap_or(0.0),
            text: format!(
                "{} ({})",
                opt_pct(c, s.share(s.won)),
                c.t.int(s.leads as i64)
            ),
        })
        .collect();
    let source_rows = a
        .sources
        .iter()
        .map(|s| {
            vec![
                c.t(&format!("analytics.group.{}", s.group)).to_owned(),
                s.key.clone(),
                c.t.int(s.leads as i64),
                opt_pct(c, s.share(s.junk)),
                opt_pct(c, s.share(s.mql)),
                opt_pct(c, s.share(s.sql)),
                opt_pct(c, s.share(s.won)),
                c.t.num(s.won_value, 0),
            ]
        })
        .collect();
    let reason_chart = bars(
        c.t("analytics.reasons"),
        &a.reasons
            .iter()
            .take(12)
            .map(|r| Bar {
                label: format!("{}: {}", c.tk("analytics.kind", r.kind), r.reason),
                value: r.count as f64,
                text: c.t.int(r.count as i64),
            })
            .collect::<Vec<_>>(),
    );
    let reason_rows = a
        .reasons
        .iter()
        .map(|r| {
            vec![
                c.t(&format!("analytics.kind.{}", r.kind)).to_owned(),
                r.reason.clone(),
                c.t.int(r.count as i64),
            ]
        })
        .collect();
    let band_chart = bars(
        c.t("analytics.bands"),
        &a.bands
            .iter()
            .map(|b| Bar {
                label: b.band.clone(),
                value: b.won_rate().unwrap_or(0.0),
                text: opt_pct(c, b.won_rate()),
            })
            .collect::<Vec<_>>(),
    );
    let band_rows = a
        .bands
        .iter()
        .map(|b| {
            vec![
                b.band.clone(),
                c.t.int(b.leads as i64),
                c.t.int(b.closed as i64),
                c.t.int(b.won as i64),
                opt_pct(c, b.won_rate()),
            ]
        })
        .collect();
    vec![
        Table {
            name: "funnel",
            head: h(&[
                "month",
                "leads",
                "mql",
                "sal",
                "sql",
                "won",
                "won_value",
                "lead_mql",
                "mql_sal",
                "sal_sql",
                "sql_won",
            ]),
            rows: funnel_rows,
            chart: funnel_chart + &trend,
        },
        Table {
            name: "stages",
            head: h(&["stage", "left", "median_hours"]),
            rows: stage_rows,
            chart: stage_chart,
        },
        Table {
            name: "sources",
            head: h(&[
                "group",
                "source",
                "leads",
                "junk",
                "mql",
                "sql",
                "won",
                "won_value",
            ]),
            rows: source_rows,
            chart: bars(c.t("analytics.won_by_channel"), &channels),
        },
        Table {
            name: "reasons",
            head: h(&["kind", "reason", "count"]),
            rows: reason_rows,
            chart: reason_chart,
        },
        Table {
            name: "bands",
            head: h(&["band", "leads", "closed", "won", "won_rate"]),
            rows: band_rows,
            chart: band_chart,
        },
    ]
}

/// The cost report as tables: per source, by month, and the spend recorded.
fn spend_tables(
    c: &Chrome,
    report: &leadgate_app::spend::Report,
    lines: &[leadgate_core::spend::SpendLine],
) -> Vec<Table> {
    let h = |keys: &[&str]| column_heads(c, keys);
    let money = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| c.t.num(x, 2));
    let share = |x: f64| c.t.num(x, if x.fract().abs() < 1e-9 { 0 } else { 1 });
    let cells = |r: &ReturnRow| {
        vec![
            r.key.clone(),
            c.t.num(r.spend, 2),
            share(r.leads),
            share(r.mql),
            share(r.sql),
            share(r.won),
            c.t.num(r.won_value, 2),
            money(r.cost_per(r.leads)),
            money(r.cost_per(r.mql)),
            money(r.cost_per(r.sql)),
            money(r.cost_per(r.won)),
            r.return_on_spend()
                .map_or_else(|| "-".into(), |x| format!("{}x", c.t.num(x, 2))),
        ]
    };
    let head = |first: &str| {
        let mut head = h(&[
            first,
            "spend",
            "leads",
            "mql",
            "sql",
            "won",
            "won_value",
            "cost_per_lead",
            "cost_per_mql",
            "cost_per_sql",
            "cost_per_won",
            "return_on_spend",
        ]);
        head[1] = format!("{} ({})", head[1], report.currency);
        head
    };
    let returns = &report.returns;
    vec![
        Table {
            name: "returns",
            head: head("source"),
            rows: returns.rows.iter().map(cells).collect(),
            chart: bars(
                c.t("analytics.return_on_spend"),
                &returns
                    .rows
                    .iter()
                    .filter_map(|r| {
                        r.return_on_spend().map(|x| Bar {
                            label: r.key.clone(),
                            value: x,
                            text: format!("{}x", c.t.num(x, 2)),
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
        },
        Table {
            name: "returns_months",
            head: head("month"),
            rows: returns.months.iter().map(cells).collect(),
            chart: bars(
                c.t("analytics.cost_per_lead_by_month"),
                &returns
                    .months
                    .iter()
                    .filter_map(|r| {
                        r.cost_per(r.leads).map(|x| Bar {
                            label: r.key.clone(),
                            value: x,
                            text: c.t.num(x, 2),
                        })
                    })
                    .collect::<Vec<_>>(),
            ),
        },
        Table {
            name: "spend",
            head: h(&[
                "month",
                "channel",
                "campaign",
                "utm_source",
                "utm_medium",
                "spend",
            ]),
            rows: lines
                .iter()
                .map(|l| {
                    let text = |v: &Option<String>| v.clone().unwrap_or_default();
                    vec![
                        l.month.clone(),
                        text(&l.channel),
                        text(&l.campaign),
                        text(&l.utm_source),
                        text(&l.utm_medium),
                        c.t.num(l.amount, 2),
                    ]
                })
                .collect(),
            chart: String::new(),
        },
    ]
}

/// The cost report's tables for the period, for a reader who sees every lead (spend is
/// the whole store's: a team's view would set it against only some of the leads).
async fn spend_report(
    reads: &leadgate_store::Store,
    c: &Chrome,
    period: &Period,
    scope: &AnalyticsScope,
) -> Result<Vec<Table>, WebError> {
    if scope.team.is_some() {
        return Ok(Vec::new());
    }
    let (attribution, by) = period.choices()?;
    let (from, to) = period.months();
    let end = to.as_deref().and_then(leadgate_core::spend::next_month);
    let lines = reads.spend(from.as_deref(), end.as_deref()).await?;
    // The report reads every lead of the months and their captures: only worth it, on
    // each view of the page, once there is spend to set them against.
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let report =
        leadgate_app::spend::report(reads, from.as_deref(), to.as_deref(), attribution, by).await?;
    Ok(spend_tables(c, &report, &lines))
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct AnalyticsPage {
    c: Chrome,
    from: String,
    to: String,
    query: String,
    tables: Vec<Table>,
    team: Option<String>,
    /// The cost report's choices: (attribution, its query, chosen), (grouping, query, chosen).
    attributions: Vec<(String, String, bool)>,
    groupings: Vec<(String, String, bool)>,
    /// What the chosen attribution credits, in words.
    attribution_said: String,
    currency: String,
    /// Periods a click away: label, its query, whether it is the one shown.
    presets: Vec<(String, String, bool)>,
}

/// This month, last month, the last 90 days, this year and all time, as `from`/`to` days
/// (UTC, `to` inclusive) counted from `today`.
fn preset_days(today: chrono::NaiveDate) -> [(&'static str, String, String); 5] {
    use chrono::Datelike;
    let month_start = today.with_day(1).unwrap_or(today);
    let last_month_end = month_start.pred_opt().unwrap_or(month_start);
    let last_month_start = last_month_end.with_day(1).unwrap_or(last_month_end);
    let year_start = today.with_ordinal(1).unwrap_or(today);
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    [
        ("this_month", day(month_start), day(today)),
        ("last_month", day(last_month_start), day(last_month_end)),
        (
            "last_90_days",
            day(today - chrono::Duration::days(89)),
            day(today),
        ),
        ("this_year", day(year_start), day(today)),
        ("all_time", String::new(), String::new()),
    ]
}

/// The presets as links: label, query, and whether it is the period shown.
fn presets(c: &Chrome, today: chrono::NaiveDate, shown: &Period) -> Vec<(String, String, bool)> {
    preset_days(today)
        .into_iter()
        .map(|(key, from, to)| {
            let current = shown.from == from && shown.to == to;
            let query =
                serde_urlencoded::to_string([("from", &from), ("to", &to)]).unwrap_or_default();
            (c.tk("analytics.preset", key), query, current)
        })
        .collect()
}

pub async fn page(Reads(reads): Reads, signed: Signed, Query(period): Query<Period>) -> PageResult {
    require(&signed.user, Permission::ReadAnalytics)?;
    let scope = period.scope(&signed)?;
    let analytics = reads.analytics(&scope).await?;
    let drift = reads.model_drift(&scope).await?;
    let c = Chrome::new(&signed, "analytics");
    let mut tables = tables(&c, &analytics);
    tables.push(response_table(&reads, &c, &scope).await?);
    tables.push(drift_table(&c, &drift));
    tables.extend(spend_report(&reads, &c, &period, &scope).await?);
    let (attribution, by) = period.choices()?;
    let linked = |attribution: &str, by: &str| {
        Period {
            from: period.from.clone(),
            to: period.to.clone(),
            attribution: attribution.to_owned(),
            by: by.to_owned(),
        }
        .query()
    };
    let attributions = Attribution::ALL
        .iter()
        .map(|a| {
            (
                c.tk("spend", a.as_str()),
                linked(a.as_str(), by.as_str()),
                *a == attribution,
            )
        })
        .collect();
    let groupings = Dimension::ALL
        .iter()
        .map(|d| {
            (
                c.tk("spend.by", d.as_str()),
                linked(attribution.as_str(), d.as_str()),
                *d == by,
            )
        })
        .collect();
    html(AnalyticsPage {
        attribution_said: c.tk("spend.said", attribution.as_str()),
        currency: reads.currency().await?,
        attributions,
        groupings,
        presets: presets(&c, chrono::Utc::now().date_naive(), &period),
        query: period.query(),
        from: period.from,
        to: period.to,
        team: scope.team,
        tables,
        c,
    })
}

/// One table as CSV (`/analytics/funnel.csv`), cells defused against formula injection.
pub async fn csv(
    Reads(reads): Reads,
    signed: Signed,
    Path(file): Path<String>,
    Query(period): Query<Period>,
) -> PageResult {
    require(&signed.user, Permission::ReadAnalytics)?;
    let name = file.strip_suffix(".csv").unwrap_or(&file);
    let scope = period.scope(&signed)?;
    let c = Chrome::new(&signed, "analytics");
    let table = if name.starts_with("returns") || name == "spend" {
        spend_report(&reads, &c, &period, &scope)
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| WebError::NotFound(format!("no analytics table is named '{name}'")))?
    } else if name == "drift" {
        drift_table(&c, &reads.model_drift(&scope).await?)
    } else if name == "response" {
        response_table(&reads, &c, &scope).await?
    } else {
        tables(&c, &reads.analytics(&scope).await?)
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| WebError::NotFound(format!("no analytics table is named '{name}'")))?
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: &[String]| {
        out.write_record(row.iter().map(|cell| safe_cell(cell).into_owned()))
    };
    write(&mut out, &table.head).map_err(|e| WebError::Invalid(e.to_string()))?;
    for row in &table.rows {
        write(&mut out, row).map_err(|e| WebError::Invalid(e.to_string()))?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| WebError::Invalid(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Back to the analytics page, saying what was done or what was refused (by field).
fn back_to_analytics(result: leadgate_store::Result<()>, done: &str) -> PageResult {
    match result {
        Ok(()) => Ok(back("/analytics", Ok(done))),
        Err(leadgate_store::StoreError::Invalid(e)) => Ok(back("/analytics", Err(e.to_string()))),
        Err(e) => Err(e.into()),
    }
}

/// Records one month's spend typed in on the page.
pub async fn record_spend(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    require(&signed.user, Permission::ManageData)?;
    let text = |name: &str| Some(field(&form, name).to_owned()).filter(|v| !v.is_empty());
    let amount = match field(&form, "amount").replace(',', ".").parse::<f64>() {
        Ok(amount) => amount,
        Err(_) => {
            return Ok(back(
                "/analytics#spend",
                Err("amount: must be a number, 0 or more".into()),
            ))
        }
    };
    let line = leadgate_core::spend::SpendLine {
        month: field(&form, "month").to_owned(),
        channel: text("channel"),
        campaign: text("campaign"),
        utm_source: text("utm_source"),
        utm_medium: text("utm_medium"),
        amount,
    };
    let recorded = state.store.put_spend(&[line], &signed.user.name).await;
    back_to_analytics(recorded.map(|_| ()), "spend")
}

/// Imports a cost file uploaded on the page (the same reading as the API and the CLI).
pub async fn import_spend(
    State(state): State<AppState>,
    signed: Signed,
    mut multipart: Multipart,
) -> PageResult {
    require(&signed.user, Permission::ManageData)?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        WebError::Invalid(format!("file: {}", e.body_text()))
    };
    let (mut csrf, mut channel, mut bytes) = (String::new(), String::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "channel" => channel = field.text().await.map_err(bad)?,
            "file" => {
                // The token must come first: nothing is read for a forged form.
                signed.check_csrf(&csrf)?;
                bytes = Some(field.bytes().await.map_err(bad)?);
            }
            _ => {}
        }
    }
    signed.check_csrf(&csrf)?;
    let Some(bytes) = bytes else {
        return Ok(back("/analytics", Err("file: choose a cost file".into())));
    };
    let channel = Some(channel.trim()).filter(|c| !c.is_empty());
    let file = match crate::spend::read(&bytes, channel) {
        Ok(file) => file,
        Err(e) => return Ok(back("/analytics", Err(e.to_string()))),
    };
    let recorded = state
        .store
        .put_spend(&file.lines, &format!("import:{}", signed.user.name))
        .await;
    back_to_analytics(recorded.map(|_| ()), "spend_import")
}

/// Sets the store's currency.
pub async fn set_currency(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    require(&signed.user, Permission::ManageData)?;
    let set = state.store.set_currency(field(&form, "currency")).await;
    back_to_analytics(set, "currency")
}

#[cfg(test)]
mod preset_tests {
    use super::preset_days;

    #[test]
    fn presets_are_calendar_periods_ending_today() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 15).unwrap();
        let days: Vec<(String, String)> = preset_days(today)
            .into_iter()
            .map(|(_, from, to)| (from, to))
            .collect();
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            days,
            [
                pair("2026-03-01", "2026-03-15"),
                pair("2026-02-01", "2026-02-28"),
                pair("2025-12-16", "2026-03-15"),
                pair("2026-01-01", "2026-03-15"),
                pair("", ""),
            ]
        );
        // January's last month is last year's December.
        let january = chrono::NaiveDate::from_ymd_opt(2027, 1, 10).unwrap();
        assert_eq!(preset_days(january)[1].1, "2026-12-01");
        assert_eq!(preset_days(january)[1].2, "2026-12-31");
    }
}
