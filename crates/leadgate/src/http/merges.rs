//! Duplicate people over the API: a dedupe pass, the merges it made or suggests, and a
//! person's decisions (apply, reject, undo).

use crate::http::body::Query;
use crate::http::error::{ApiError, Problem};
use crate::http::{Actor, AppState};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use leadgate_core::dedupe::MergeStatus;
use leadgate_store::{DedupeSummary, MergeRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dedupe", post(dedupe))
        .route("/merges", get(list_merges))
        .route("/merges/{id}/{decision}", post(decide))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DedupeQuery {
    /// Count only, change nothing.
    #[serde(default)]
    dry_run: bool,
}

/// Match every person against the others: merge the sure matches (score at least 0.95),
/// suggest the likely ones (0.80 to 0.95).
#[utoipa::path(post, path = "/api/v1/dedupe", tag = "dedupe", params(DedupeQuery),
    responses((status = 200, description = "people, pairs_found, merged, suggested", body = Object)),
    security(("api_key" = [])))]
async fn dedupe(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(query): Query<DedupeQuery>,
) -> Result<Json<DedupeSummary>, ApiError> {
    Ok(Json(
        leadgate_app::dedupe::dedupe(&state.store, &actor.0, query.dry_run).await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MergeQuery {
    /// suggested, merged, rejected or undone.
    #[param(schema_with = merge_status)]
    status: Option<String>,
}

fn merge_status() -> utoipa::openapi::Object {
    leadgate_core::openapi::one_of(MergeStatus::ALL.iter().map(|s| s.as_str()))
}

#[derive(Serialize, ToSchema)]
pub struct MergeList {
    #[schema(value_type = Vec<Object>)]
    merges: Vec<MergeRecord>,
}

#[utoipa::path(get, path = "/api/v1/merges", tag = "dedupe", params(MergeQuery),
    responses((status = 200, body = MergeList), (status = 400, body = Problem)),
    security(("api_key" = [])))]
async fn list_merges(
    State(state): State<AppState>,
    Query(query): Query<MergeQuery>,
) -> Result<Json<MergeList>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<MergeStatus>)
        .transpose()
        .map_err(|reason| {
            ApiError::BadQuery(leadgate_core::FieldError::new("status", reason).into())
        })?;
    Ok(Json(MergeList {
        merges: state.store.merges(status).await?,
    }))
}

/// `apply` a suggestion, `reject` it, or `undo` a merge.
#[utoipa::path(post, path = "/api/v1/merges/{id}/{decision}", tag = "dedupe",
    params(("id" = i64, Path), ("decision" = String, Path, description = "apply, reject or undo")),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, description = "Not in a state that allows it", body = Problem)),
    security(("api_key" = [])))]
async fn decide(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, decision)): Path<(String, String)>,
) -> Result<Json<MergeRecord>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no merge has id '{id}'")))?;
    let record = match decision.as_str() {
        "apply" => state.store.apply_merge(id, &actor.0).await?,
        "reject" => state.store.reject_merge(id, &actor.0).await?,
        "undo" => state.store.undo_merge(id, &actor.0).await?,
        other => {
            return Err(ApiError::NotFound(format!(
                "'{other}' is not a decision; use apply, reject or undo"
            )))
        }
    };
    Ok(Json(record))
}
