//! `POST /imports` (a CSV upload, imported or dry-run checked), the imports made, their
//! rejects reports, and `GET /leads/export` (the filtered leads as streamed CSV).

use crate::export::CsvExport;
use crate::http::body::BodyLimit;
use crate::http::body::Query;
use crate::http::error::{ApiError, Problem};
use crate::http::reads::Reads;
use crate::http::{Actor, AppState};
use crate::import::{self, ImportError, ImportOptions, ImportReport};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use leadgate_core::export::safe_cell;
use leadgate_core::FieldErrors;
use leadgate_store::ImportRecord;
use serde::{Deserialize, Serialize};
use std::io::Write;
use utoipa::{IntoParams, ToSchema};

/// Largest CSV upload. Bigger files go through `leadgate import`, which streams from disk.
pub const IMPORT_BODY_LIMIT: usize = 100 * 1024 * 1024;
/// Rejects a dry run returns in its answer (the rest are counted).
const DRY_RUN_REJECTS: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/imports", post(create_import).get(list_imports))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT))
        .layer(middleware::from_fn(
            |mut request: Request, next: Next| async move {
                request
                    .extensions_mut()
                    .insert(BodyLimit(IMPORT_BODY_LIMIT));
                let response: Response = next.run(request).await;
                response
            },
        ))
        .route("/imports/{id}", get(get_import))
        .route("/imports/{id}/rejects", get(import_rejects))
        .route("/leads/export", get(export_leads))
}

/// Options of an upload, as query parameters (or, in a multipart body, as fields).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row and report the rejects, storing nothing.
    #[serde(default)]
    dry_run: bool,
    /// Import a file imported with the same mapping before.
    #[serde(default)]
    again: bool,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    /// The stored import: id, counts (inserted, updated, unchanged, rejected, outcomes,
    /// merged, suggested), status and times. Null for a dry run.
    #[schema(value_type = Object)]
    import: Option<ImportRecord>,
    rows: i64,
    valid: i64,
    rejected: i64,
    resumed: bool,
    /// The mapping used, as TOML (guessed from the header when none was sent).
    mapping: String,
    guessed: bool,
    ignored_columns: Vec<String>,
    /// Columns that look filled in after the outcome, each in a sentence with its evidence
    /// (a guessed mapping marks them after_outcome itself).
    suspect_columns: Vec<String>,
    #[schema(value_type = String)]
    delimiter: char,
    /// Where the rejects report is (CSV: row, column, reason).
    rejects_url: Option<String>,
    /// A dry run's rejects (the first 1,000).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    rejects: Vec<leadgate_store::Reject>,
}

/// Import a CSV file: `multipart/form-data` with a `file` part (and optional `mapping`,
/// `dry_run`, `again` parts), or the file itself as a `text/csv` body. Rows that cannot be
/// read are reported, never fatal; importing a file twice changes nothing.
#[utoipa::path(post, path = "/api/v1/imports", tag = "imports",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file, or multipart/form-data with parts file, mapping, dry_run, again"),
    responses(
        (status = 201, description = "Imported", body = ImportView),
        (status = 200, description = "Dry run: checked, nothing stored", body = ImportView),
        (status = 409, description = "This file was imported with this mapping before (pass again=true)", body = Problem),
        (status = 413, description = "Larger than 100 MiB", body = Problem),
        (status = 415, description = "Neither CSV nor multipart", body = Problem),
        (status = 422, description = "The file or the mapping cannot be used; errors name the field", body = Problem),
    ),
    security(("api_key" = [])))]
#[tracing::instrument(skip_all, fields(actor = %actor.0))]
async fn create_import(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut file = tempfile::NamedTempFile::new().map_err(internal)?;
    let mut options = ImportOptions {
        dry_run: query.dry_run,
        again: query.again,
        actor: actor.0.clone(),
        file_name: "upload.csv".into(),
        mapping: None,
    };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::invalid("body", e.body_text()))?;
        let mut has_file = false;
        while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
            match field.name().unwrap_or("") {
                "file" => {
                    has_file = true;
                    if let Some(name) = field.file_name() {
                        options.file_name = name.to_owned();
                    }
                    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                        file.write_all(&chunk).map_err(internal)?;
                    }
                }
                "mapping" => options.mapping = Some(text_field(field, "mapping").await?),
                "dry_run" => {
                    options.dry_run = flag(&text_field(field, "dry_run").await?, "dry_run")?
                }
                "again" => options.again = flag(&text_field(field, "again").await?, "again")?,
                other => {
                    return Err(ApiError::invalid(
                        other,
                        "is not a part of an import; send file, mapping, dry_run or again",
                    ))
                }
            }
        }
        if !has_file {
            return Err(ApiError::invalid(
                "file",
                "is missing: send the CSV as the part named file",
            ));
        }
    } else if content_type.starts_with("text/csv")
        || content_type.starts_with("text/plain")
        || content_type.starts_with("application/octet-stream")
    {
        let mut stream = request.into_body().into_data_stream();
        let mut size = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| ApiError::TooLarge(IMPORT_BODY_LIMIT))?;
            size += chunk.len();
            if size > IMPORT_BODY_LIMIT {
                return Err(ApiError::TooLarge(IMPORT_BODY_LIMIT));
            }
            file.write_all(&chunk).map_err(internal)?;
        }
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "CSV (Content-Type: text/csv) or multipart/form-data with a file part",
        ));
    }
    file.flush().map_err(internal)?;

    let mut rejects = Vec::new();
    let report = import::run(
        &state.store,
        file.path(),
        &options,
        |_, _| {},
        options
            .dry_run
            .then_some(&mut rejects as &mut (dyn Write + Send)),
    )
    .await
    .map_err(import_error)?;
    let status = if options.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(view(report, &rejects))))
}

fn view(report: ImportReport, dry_rejects: &[u8]) -> ImportView {
    let rejects = if report.import.is_none() {
        let mut reader = csv::Reader::from_reader(dry_rejects);
        reader
            .deserialize::<(i64, String, String)>()
            .filter_map(Result::ok)
            .take(DRY_RUN_REJECTS)
            .map(|(row_number, column, reason)| leadgate_store::Reject {
                row_number,
                column,
                reason,
            })
            .collect()
    } else {
        Vec::new()
    };
    ImportView {
        rejects_url: report
            .import
            .as_ref()
            .map(|i| format!("/api/v1/imports/{}/rejects", i.id)),
        import: report.import,
        rows: report.rows,
        valid: report.valid,
        rejected: report.rejected,
        resumed: report.resumed,
        mapping: report.mapping,
        guessed: report.guessed,
        ignored_columns: report.ignored_columns,
        suspect_columns: report
            .suspects
            .iter()
            .map(|s| s.sentence(report.guessed))
            .collect(),
        delimiter: report.delimiter,
        rejects,
    }
}

async fn text_field(
    field: axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, ApiError> {
    field
        .text()
        .await
        .map_err(|e| ApiError::invalid(name, format!("is not readable text: {e}")))
}

fn flag(value: &str, name: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(ApiError::invalid(
            name,
            format!("'{other}' is not true or false"),
        )),
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(IMPORT_BODY_LIMIT)
    } else {
        ApiError::invalid(
            "body",
            format!("is not valid multipart/form-data: {}", e.body_text()),
        )
    }
}

fn internal(e: std::io::Error) -> ApiError {
    ApiError::Internal(Box::new(e))
}

fn import_error(e: ImportError) -> ApiError {
    match e {
        ImportError::Store(e) => e.into(),
        ImportError::Settle(e) => e.into(),
        ImportError::Io { source, .. } => internal(source),
        ImportError::Reader(reason) => internal(std::io::Error::other(reason)),
        ImportError::AlreadyDone(_) | ImportError::Busy(_) => ApiError::Conflict {
            field: "file".into(),
            reason: e.to_string(),
        },
        ImportError::Mapping(errors) => ApiError::Invalid(FieldErrors(
            errors
                .0
                .into_iter()
                .map(|mut e| {
                    e.field = format!("mapping: {}", e.field);
                    e
                })
                .collect(),
        )),
        ImportError::MappingSyntax(reason) => ApiError::invalid("mapping", reason),
        other => ApiError::invalid("file", other.to_string()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ImportList {
    #[schema(value_type = Vec<Object>)]
    imports: Vec<ImportRecord>,
}

/// The latest imports, newest first.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = ImportList), (status = 401, body = Problem)),
    security(("api_key" = [])))]
async fn list_imports(State(state): State<AppState>) -> Result<Json<ImportList>, ApiError> {
    Ok(Json(ImportList {
        imports: state.store.imports(100).await?,
    }))
}

/// One import: its progress and counts.
#[utoipa::path(get, path = "/api/v1/imports/{id}", tag = "imports",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The import", body = Object), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn get_import(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ImportRecord>, ApiError> {
    Ok(Json(state.store.import(parse_import_id(&id)?).await?))
}

/// The rows an import refused, as CSV: row (the header is row 1), column, reason.
#[utoipa::path(get, path = "/api/v1/imports/{id}/rejects", tag = "imports",
    params(("id" = i64, Path)),
    responses((status = 200, description = "CSV", body = String, content_type = "text/csv"), (status = 404, body = Problem)),
    security(("api_key" = [])))]
async fn import_rejects(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_import_id(&id)?;
    let bytes = rejects_csv(&state.store, id).await?;
    Ok(csv_response(
        Body::from(bytes),
        &format!("import-{id}-rejects.csv"),
    ))
}

/// An import's rejects as CSV (row, column, reason), cells safe for spreadsheets.
pub(crate) async fn rejects_csv(
    store: &leadgate_store::Store,
    id: i64,
) -> Result<Vec<u8>, leadgate_store::StoreError> {
    let failed = |e: csv::Error| leadgate_store::StoreError::Internal(e.to_string());
    store.import(id).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["row", "column", "reason"])
        .map_err(failed)?;
    for reject in store.import_rejects(id).await? {
        writer
            .write_record([
                reject.row_number.to_string().as_str(),
                &safe_cell(&reject.column),
                &safe_cell(&reject.reason),
            ])
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| leadgate_store::StoreError::Internal(e.to_string()))
}

fn parse_import_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::NotFound(format!("no import has id '{raw}'")))
}

fn csv_response(body: Body, file_name: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    (headers, body).into_response()
}

/// The leads the filters select (the list's filters: stage, source, owner, q, grade...), as
/// CSV streamed page by page, with cells safe to open in a spreadsheet.
#[utoipa::path(get, path = "/api/v1/leads/export", tag = "leads",
    responses((status = 200, description = "CSV", body = String, content_type = "text/csv"), (status = 400, description = "Bad filter", body = Problem)),
    security(("api_key" = [])))]
async fn export_leads(
    Reads(reads): Reads,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let filter = crate::http::leads::lead_filter(params)?;
    let export = CsvExport::new(reads, filter);
    // The state is None once a page failed: the response then ends, cut short.
    let stream = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(export))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "export stopped");
                Some((Err(e), None))
            }
        }
    });
    Ok(csv_response(Body::from_stream(stream), "leads.csv"))
}
