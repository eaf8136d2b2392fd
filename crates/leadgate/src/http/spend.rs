//! What the sources cost: spend lines under `/api/v1/spend` (by hand, or a cost file
//! imported), the store's currency, and the cost report (`/api/v1/spend/returns`).

use crate::http::error::{ApiError, Problem};
use crate::http::{Actor, AppState};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use leadgate_core::spend::{Attribution, Dimension, SpendLine};
use leadgate_core::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

/// Largest cost file: a year of daily rows for a few hundred campaigns.
pub const SPEND_FILE_LIMIT: usize = 16 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/spend", get(list).put(put_lines))
        .route(
            "/spend/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(SPEND_FILE_LIMIT)),
        )
        .route("/spend/currency", put(set_currency))
        .route("/spend/returns", get(returns))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Months {
    /// First month, `YYYY-MM`.
    from: Option<String>,
    /// Last month (inclusive), `YYYY-MM`.
    to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SpendList {
    currency: String,
    lines: Vec<SpendLine>,
}

/// The spend recorded for the months asked for.
#[utoipa::path(get, path = "/api/v1/spend", tag = "analytics", params(Months),
    responses((status = 200, body = SpendList)), security(("api_key" = [])))]
async fn list(
    State(state): State<AppState>,
    Query(months): Query<Months>,
) -> Result<Json<SpendList>, ApiError> {
    let end = months
        .to
        .as_deref()
        .map(|to| {
            leadgate_core::spend::next_month(to)
                .ok_or_else(|| ApiError::invalid("to", "must be a month as YYYY-MM"))
        })
        .transpose()?;
    Ok(Json(SpendList {
        currency: state.store.currency().await?,
        lines: state
            .store
            .spend(months.from.as_deref(), end.as_deref())
            .await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpendLines {
    #[schema(min_items = 1, max_items = 10000)]
    lines: Vec<SpendLine>,
}

/// Records spend by hand: each line replaces what was recorded for its month and source.
#[utoipa::path(put, path = "/api/v1/spend", tag = "analytics", request_body = SpendLines,
    responses((status = 200, body = Object, description = "{\"written\": n}"), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn put_lines(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    crate::http::body::Body(body): crate::http::body::Body<SpendLines>,
) -> Result<Json<Value>, ApiError> {
    if body.lines.is_empty() || body.lines.len() > 10_000 {
        return Err(ApiError::invalid("lines", "must hold 1 to 10,000 lines"));
    }
    let written = state.store.put_spend(&body.lines, &actor.0).await?;
    Ok(Json(json!({ "written": written })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The channel of every row (an ad platform's export is all one channel).
    channel: Option<String>,
}

/// Imports a cost file (CSV: an ad platform's export or any file with a date, a source and
/// a cost): its rows added up per month and source and recorded, replacing the same
/// months' lines; the same file again changes nothing.
#[utoipa::path(post, path = "/api/v1/spend/import", tag = "analytics", params(ImportParams),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Object, description = "{\"rows\", \"lines\", \"written\"}"), (status = 422, body = Problem)),
    security(("api_key" = [])))]
async fn import(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(params): Query<ImportParams>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let file = crate::spend::read(&body, params.channel.as_deref()).map_err(ApiError::Invalid)?;
    let written = state
        .store
        .put_spend(&file.lines, &format!("import:{}", actor.0))
        .await?;
    Ok(Json(
        json!({"rows": file.rows, "lines": file.lines, "written": written}),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Currency {
    /// ISO 4217: `USD`, `EUR`, `VND`, `CNY`...
    currency: String,
}

/// Sets the currency the store's money is in (spend and deal values alike).
#[utoipa::path(put, path = "/api/v1/spend/currency", tag = "analytics", request_body = Currency,
    responses((status = 200, body = Object), (status = 422, body = Problem)), security(("api_key" = [])))]
async fn set_currency(
    State(state): State<AppState>,
    crate::http::body::Body(body): crate::http::body::Body<Currency>,
) -> Result<Json<Value>, ApiError> {
    state.store.set_currency(&body.currency).await?;
    Ok(Json(json!({ "currency": body.currency.trim() })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReturnsParams {
    from: Option<String>,
    to: Option<String>,
    /// `first_touch` (default), `last_touch` or `linear`.
    attribution: Option<String>,
    /// `campaign` (default), `channel` or `utm`.
    by: Option<String>,
}

/// The cost report: per source, spend, leads, MQLs, SQLs, won customers and won value (as
/// shares under the attribution), cost per each and return on spend; and the months' totals.
#[utoipa::path(get, path = "/api/v1/spend/returns", tag = "analytics", params(ReturnsParams),
    responses((status = 200, body = Object), (status = 422, body = Problem)), security(("api_key" = [])))]
async fn returns(
    State(state): State<AppState>,
    Query(params): Query<ReturnsParams>,
) -> Result<Json<Value>, ApiError> {
    let (attribution, by) = choices(params.attribution.as_deref(), params.by.as_deref())?;
    let report = leadgate_app::spend::report(
        &state.store,
        params.from.as_deref(),
        params.to.as_deref(),
        attribution,
        by,
    )
    .await?;
    let row = |r: &leadgate_core::spend::ReturnRow| {
        json!({"key": r.key, "spend": r.spend, "leads": r.leads, "mql": r.mql, "sql": r.sql, "won": r.won,
               "won_value": r.won_value, "cost_per_lead": r.cost_per(r.leads), "cost_per_mql": r.cost_per(r.mql),
               "cost_per_sql": r.cost_per(r.sql), "cost_per_won": r.cost_per(r.won),
               "return_on_spend": r.return_on_spend()})
    };
    Ok(Json(json!({
        "currency": report.currency, "from": report.from, "to": report.to,
        "attribution": attribution, "by": by,
        "rows": report.returns.rows.iter().map(row).collect::<Vec<_>>(),
        "months": report.returns.months.iter().map(row).collect::<Vec<_>>(),
    })))
}

/// The attribution and grouping asked for (defaults: first touch, by campaign).
pub(crate) fn choices(
    attribution: Option<&str>,
    by: Option<&str>,
) -> Result<(Attribution, Dimension), ApiError> {
    let attribution = attribution
        .filter(|a| !a.is_empty())
        .map(Attribution::parse)
        .transpose()
        .map_err(|reason| ApiError::Invalid(FieldError::new("attribution", reason).into()))?
        .unwrap_or_default();
    let by = by
        .filter(|b| !b.is_empty())
        .map(Dimension::parse)
        .transpose()
        .map_err(|reason| ApiError::Invalid(FieldError::new("by", reason).into()))?
        .unwrap_or_default();
    Ok((attribution, by))
}
