//! The conversion models of a product: each with how well it did on leads it never saw,
//! which one predicts, its report; train a new one now or make an earlier one active.

use super::{back, html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use crate::jobs::model::enqueue;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_core::conversion_model::ModelStatus;
use leadgate_core::job::JobKind;
use leadgate_ml::model::Evaluation;
use serde::Deserialize;

/// One model as a row.
pub struct Row {
    pub id: i64,
    pub status: &'static str,
    pub active: bool,
    pub created: String,
    pub trained_on: String,
    /// ROC-AUC on the held-back leads, against the baseline's.
    pub auc: String,
    pub baseline_auc: String,
    /// Whether it has an evaluation report (a model imported from a file has none).
    pub report: bool,
}

#[derive(Template)]
#[template(path = "models.html")]
struct ModelsPage {
    c: Chrome,
    product: String,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
pub struct ProductQuery {
    #[serde(default)]
    product: String,
}

/// The product a form or link names, as the API reads it (none: the default product).
fn product_of(raw: &str) -> Result<String, WebError> {
    if raw.trim().is_empty() {
        return Ok("default".into());
    }
    crate::http::models::product_line(Some(raw)).map_err(|_| {
        WebError::Invalid(
            "product: must be a product line's name, without control characters".into(),
        )
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<ProductQuery>,
    Query(flash): Query<Flash>,
) -> PageResult {
    require(&signed.user, Permission::ManageModels)?;
    let c = Chrome::new(&signed, "models").with_flash(&flash);
    let product = product_of(&q.product)?;
    let auc = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| c.t.num(v, 3));
    let rows = state
        .store
        .models(&product)
        .await?
        .into_iter()
        .map(|m| {
            let evaluation = serde_json::from_value::<Evaluation>(m.evaluation.clone()).ok();
            Row {
                id: m.id,
                status: m.status.as_str(),
                active: m.status == ModelStatus::Active,
                created: c.when(&m.created_at),
                trained_on: c.t.int(m.trained_on),
                auc: auc(evaluation.as_ref().and_then(|e| e.model.roc_auc)),
                baseline_auc: auc(evaluation.as_ref().and_then(|e| e.baseline.roc_auc)),
                report: evaluation.is_some(),
            }
        })
        .collect();
    html(ModelsPage { c, product, rows })
}

#[derive(Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    product: String,
}

/// Queues training a new model on the product's closed leads (the job makes it active when
/// it does better than the one in use, and predicts the open leads).
pub async fn train(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ProductForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageModels)?;
    let product = product_of(&form.product)?;
    let page = models_page(&product);
    enqueue(&state.store, JobKind::TrainModel, &product, None).await?;
    Ok(back(&page, Ok("training")))
}

/// Makes an earlier model active again and queues predictions for the open leads.
pub async fn activate(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
    Form(form): Form<ProductForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageModels)?;
    let id = model_id(&raw)?;
    let record = state.models.activate(id).await?;
    enqueue(&state.store, JobKind::PredictLeads, &record.product, None).await?;
    let page = models_page(&record.product);
    Ok(back(&page, Ok("model_active")))
}

/// The model's evaluation report (gains, lift, calibration) as its own page.
pub async fn report(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> PageResult {
    require(&signed.user, Permission::ManageModels)?;
    let record = state.store.model(model_id(&raw)?).await?;
    crate::http::models::report_page(&record).map_err(WebError::NotFound)
}

/// The models page of a product, to come back to after an action.
fn models_page(product: &str) -> String {
    format!(
        "/models?{}",
        serde_urlencoded::to_string([("product", product)]).unwrap_or_default()
    )
}

fn model_id(raw: &str) -> Result<i64, WebError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| WebError::NotFound(format!("no model has id '{raw}'")))
}
