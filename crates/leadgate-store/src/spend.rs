//! What the sources cost, as stored: spend lines per month and source, the store's currency,
//! and the leads of a span of months as the cost reports count them.

use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use leadgate_core::spend::{LeadReturn, SpendLine, Touch};
use leadgate_core::{FieldError, Source};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::HashMap;

/// The currency a store's money is in until set.
pub const DEFAULT_CURRENCY: &str = "USD";

#[derive(sqlx::FromRow)]
struct SpendRow {
    month: String,
    channel: String,
    campaign: String,
    utm_source: String,
    utm_medium: String,
    amount: f64,
}

impl From<SpendRow> for SpendLine {
    fn from(r: SpendRow) -> Self {
        let some = |s: String| (!s.is_empty()).then_some(s);
        SpendLine {
            month: r.month,
            channel: some(r.channel),
            campaign: some(r.campaign),
            utm_source: some(r.utm_source),
            utm_medium: some(r.utm_medium),
            amount: r.amount,
        }
    }
}

/// A lead's row as the cost reports read it.
#[derive(sqlx::FromRow)]
struct ReturnedLead {
    id: i64,
    created_at: Ts,
    reached: i64,
    outcome: Option<String>,
    won_value: f64,
    first_touch: Json<Source>,
}

impl Store {
    /// Records spend lines (each checked), replacing what was recorded for the same month
    /// and source; one transaction. Returns how many lines were written.
    pub async fn put_spend(&self, lines: &[SpendLine], recorded_by: &str) -> Result<usize> {
        let mut checked = Vec::with_capacity(lines.len());
        let mut errors = leadgate_core::FieldErrors::default();
        for (i, line) in lines.iter().enumerate() {
            match line.checked(&format!("lines[{i}].")) {
                Ok(line) => checked.push(line),
                Err(e) => errors.0.extend(e.0),
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let now = Ts(to_micros(Utc::now()));
        let mut tx = self.begin().await?;
        for chunk in checked.chunks(500) {
            crate::on_tx!(&mut tx, conn => {
                let mut b = sqlx::QueryBuilder::new(
                    "INSERT INTO spend (month, channel, campaign, utm_source, utm_medium, amount, recorded_by, updated_at) ",
                );
                b.push_values(chunk, |mut row, l| {
                    let text = |v: &Option<String>| v.clone().unwrap_or_default();
                    row.push_bind(l.month.clone())
                        .push_bind(text(&l.channel))
                        .push_bind(text(&l.campaign))
                        .push_bind(text(&l.utm_source))
                        .push_bind(text(&l.utm_medium))
                        .push_bind(l.amount)
                        .push_bind(recorded_by.to_owned())
                        .push_bind(now);
                });
                b.push(
                    " ON CONFLICT (month, channel, campaign, utm_source, utm_medium) DO UPDATE SET
                     amount = excluded.amount, recorded_by = excluded.recorded_by, updated_at = excluded.updated_at",
                );
                b.build().execute(conn).await.map(|_| ())
            })?;
        }
        tx.commit().await?;
        Ok(checked.len())
    }

    /// The spend lines of the months from `first` to before `end` (`YYYY-MM`; open when
    /// `None`), by month and source.
    pub async fn spend(&self, first: Option<&str>, end: Option<&str>) -> Result<Vec<SpendLine>> {
        let rows: Vec<SpendRow> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT month, channel, campaign, utm_source, utm_medium, amount FROM spend
             WHERE month >= $1 AND month < $2
             ORDER BY month, channel, campaign, utm_source, utm_medium",
        )
        .bind(first.unwrap_or("0000-00"))
        .bind(end.unwrap_or("9999-99"))
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(SpendLine::from).collect())
    }

    /// The currency the store's money is in (`USD` until set).
    pub async fn currency(&self) -> Result<String> {
        let value: Option<String> = on_read_pool!(self, pool => sqlx::query_scalar(
            "SELECT value FROM store_settings WHERE key = 'currency'",
        )
        .fetch_optional(pool)
        .await)?;
        Ok(value.unwrap_or_else(|| DEFAULT_CURRENCY.to_owned()))
    }

    /// Sets the store's currency: an ISO 4217 code, three capital letters.
    pub async fn set_currency(&self, code: &str) -> Result<()> {
        let code = code.trim();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(StoreError::Invalid(
                FieldError::new(
                    "currency",
                    "must be an ISO 4217 code such as USD, EUR or VND",
                )
                .into(),
            ));
        }
        on_pool!(self, pool => sqlx::query(
            "INSERT INTO store_settings (key, value) VALUES ('currency', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(code)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The leads created from `from` to before `to`, as the cost reports count them: their
    /// month, their touches in order (the source of each capture; the lead's first touch
    /// when none is recorded), how far they went and what they were worth.
    pub async fn lead_returns(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LeadReturn>> {
        let (from, to) = (Ts(to_micros(from)), Ts(to_micros(to)));
        let leads: Vec<ReturnedLead> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, created_at, CAST(reached AS BIGINT) AS reached, outcome, won_value, first_touch FROM leads
             WHERE created_at >= $1 AND created_at < $2 ORDER BY id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?;
        let captures: Vec<(i64, Json<Value>)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT e.lead_id, e.payload FROM events e JOIN leads l ON l.id = e.lead_id
             WHERE e.type = 'form_submitted' AND l.created_at >= $1 AND l.created_at < $2
             ORDER BY e.lead_id, e.occurred_at, e.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await)?;
        let mut touches: HashMap<i64, Vec<Touch>> = HashMap::new();
        for (lead, Json(payload)) in captures {
            if let Some(source) = payload
                .get("source")
                .and_then(|s| serde_json::from_value::<Source>(s.clone()).ok())
            {
                touches.entry(lead).or_default().push(Touch::of(&source));
            }
        }
        Ok(leads
            .into_iter()
            .map(|l| LeadReturn {
                month: l.created_at.0.format("%Y-%m").to_string(),
                touches: touches
                    .remove(&l.id)
                    .unwrap_or_else(|| vec![Touch::of(&l.first_touch.0)]),
                mql: l.reached >= 1,
                sql: l.reached >= 3,
                won: l.outcome.as_deref() == Some("won"),
                won_value: l.won_value,
            })
            .collect())
    }
}
