//! What the sources cost and returned over a span of months: the spend recorded and the
//! leads that arrived in those months, credited to their sources under an attribution.

use crate::Result;
use chrono::{DateTime, Months, TimeZone, Utc};
use leadgate_core::spend::{month_start, returns, Attribution, Dimension, Returns};
use leadgate_core::FieldError;
use leadgate_store::{Store, StoreError};
use serde::Serialize;

/// The cost report as every surface shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub currency: String,
    /// The first and last month counted (`YYYY-MM`), when bounded.
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub returns: Returns,
}

/// The report for the months `from` to `to` (inclusive, `YYYY-MM`; open when `None`).
pub async fn report(
    store: &Store,
    from: Option<&str>,
    to: Option<&str>,
    attribution: Attribution,
    by: Dimension,
) -> Result<Report> {
    let start = |field: &str, month: Option<&str>| -> Result<Option<DateTime<Utc>>> {
        month
            .map(|m| {
                month_start(m)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| Utc.from_utc_datetime(&d))
                    .ok_or_else(|| {
                        StoreError::Invalid(
                            FieldError::new(field, "must be a month as YYYY-MM").into(),
                        )
                        .into()
                    })
            })
            .transpose()
    };
    let first = start("from", from)?;
    let last = start("to", to)?;
    let end = last.and_then(|l| l.checked_add_months(Months::new(1)));
    let end_month = end.map(|e| e.format("%Y-%m").to_string());
    let spend = store.spend(from, end_month.as_deref()).await?;
    let leads = store
        .lead_returns(
            // Open ends as the era a lead's times lie in (core's `within_era`).
            first.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            end.unwrap_or_else(|| {
                Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0)
                    .single()
                    .unwrap_or(Utc::now())
            }),
        )
        .await?;
    Ok(Report {
        currency: store.currency().await?,
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
        returns: returns(&leads, &spend, attribution, by),
    })
}
