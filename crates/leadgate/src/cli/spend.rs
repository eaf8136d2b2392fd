//! `leadgate spend import|put|list|report|currency`: what the sources cost, from the terminal.

use super::StoreArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use leadgate_core::spend::{Attribution, Dimension, SpendLine};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct SpendArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Import a cost file (an ad platform's CSV export: date, campaign, cost), added up per
    /// month; importing it again changes nothing.
    Import {
        file: PathBuf,
        /// The channel of every row (e.g. search_ad for a Google Ads export).
        #[arg(long)]
        channel: Option<String>,
    },
    /// Record one month's spend on a source by hand.
    Put {
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        #[arg(long)]
        amount: f64,
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        utm_source: Option<String>,
        #[arg(long)]
        utm_medium: Option<String>,
    },
    /// The spend recorded, by month and source.
    List {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// The cost report: per source, cost per lead, MQL, SQL and won customer, and return on
    /// spend, under an attribution.
    Report {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// first_touch, last_touch or linear.
        #[arg(long, default_value = "first_touch", value_parser = Attribution::parse)]
        attribution: Attribution,
        /// campaign, channel or utm.
        #[arg(long, default_value = "campaign", value_parser = Dimension::parse)]
        by: Dimension,
    },
    /// Set the currency the store's money is in (ISO 4217: USD, EUR, VND...).
    Currency { code: String },
}

fn money(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

pub async fn run(args: SpendArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let invalid = |e: leadgate_store::StoreError, file: Option<&std::path::Path>| match e {
        leadgate_store::StoreError::Invalid(errors) => super::field_errors(file, errors),
        other => other.into(),
    };
    match args.action {
        Action::Import { file, channel } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("{}: cannot read", file.display()))?;
            let read = crate::spend::read(&bytes, channel.as_deref())
                .map_err(|errors| super::field_errors(Some(&file), errors))?;
            let written = store
                .put_spend(&read.lines, &format!("import:{}", file.display()))
                .await
                .map_err(|e| invalid(e, Some(&file)))?;
            println!(
                "{}: {} rows, {written} month and source lines recorded",
                file.display(),
                read.rows
            );
        }
        Action::Put {
            month,
            amount,
            campaign,
            channel,
            utm_source,
            utm_medium,
        } => {
            let line = SpendLine {
                month,
                channel,
                campaign,
                utm_source,
                utm_medium,
                amount,
            };
            store
                .put_spend(&[line], "cli")
                .await
                .map_err(|e| invalid(e, None))?;
            println!("recorded");
        }
        Action::List { from, to } => {
            let currency = store.currency().await?;
            let end = match to.as_deref() {
                Some(to) => Some(
                    leadgate_core::spend::next_month(to)
                        .ok_or_else(|| anyhow::anyhow!("to: '{to}' is not a month as YYYY-MM"))?,
                ),
                None => None,
            };
            for l in store.spend(from.as_deref(), end.as_deref()).await? {
                println!(
                    "{}  {:>12.2} {currency}  {}",
                    l.month,
                    l.amount,
                    [
                        ("channel", &l.channel),
                        ("campaign", &l.campaign),
                        ("utm_source", &l.utm_source),
                        ("utm_medium", &l.utm_medium)
                    ]
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                    .collect::<Vec<_>>()
                    .join(" ")
                );
            }
        }
        Action::Report {
            from,
            to,
            attribution,
            by,
        } => {
            let report = leadgate_app::spend::report(
                &store,
                from.as_deref(),
                to.as_deref(),
                attribution,
                by,
            )
            .await?;
            println!(
                "cost report by {}, {} attribution, in {}",
                by.as_str(),
                attribution.as_str(),
                report.currency
            );
            println!(
                "{:<28} {:>12} {:>9} {:>9} {:>9} {:>9} {:>12} {:>12} {:>12} {:>7}",
                "source",
                "spend",
                "leads",
                "mql",
                "sql",
                "won",
                "per lead",
                "per sql",
                "per won",
                "return"
            );
            for r in &report.returns.rows {
                println!(
                    "{:<28} {:>12.2} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>12} {:>12} {:>12} {:>7}",
                    r.key,
                    r.spend,
                    r.leads,
                    r.mql,
                    r.sql,
                    r.won,
                    money(r.cost_per(r.leads)),
                    money(r.cost_per(r.sql)),
                    money(r.cost_per(r.won)),
                    r.return_on_spend()
                        .map_or_else(|| "-".into(), |x| format!("{x:.2}x"))
                );
            }
        }
        Action::Currency { code } => {
            store
                .set_currency(&code)
                .await
                .map_err(|e| invalid(e, None))?;
            println!("the store's currency is {}", code.trim());
        }
    }
    store.close().await;
    Ok(())
}
