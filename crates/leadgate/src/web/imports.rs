//! The import page: upload a CSV, check it (a dry run with the guessed or given mapping,
//! rejects shown), confirm the mapping, then watch the import run and download its rejects.

use super::{html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::imports::rejects_csv;
use crate::http::{path_id, AppState};
use crate::import::{self, ImportOptions};
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_store::{ImportRecord, Reject};
use serde::Deserialize;
use std::io::Write;
use std::path::PathBuf;

/// Rejects shown on the check page (the rest are counted).
const SHOWN_REJECTS: usize = 50;

/// Where uploads wait between the check and the import.
fn upload_dir() -> PathBuf {
    std::env::temp_dir().join("leadgate-uploads")
}

/// Removes uploads left unconfirmed for a day (checked, never imported).
fn sweep_uploads() {
    let Ok(entries) = std::fs::read_dir(upload_dir()) else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// An upload's file from its token (URL-safe base64 only: no path tricks).
fn upload_path(token: &str) -> Result<PathBuf, WebError> {
    if token.is_empty()
        || token.len() > 64
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(WebError::Invalid(
            "upload: unknown upload; upload the file again".into(),
        ));
    }
    let path = upload_dir().join(format!("{token}.csv"));
    if !path.exists() {
        return Err(WebError::Invalid(
            "upload: this upload is gone; upload the file again".into(),
        ));
    }
    Ok(path)
}

pub struct ImportLine {
    pub id: i64,
    pub file: String,
    pub status: &'static str,
    pub started: String,
    pub rows: String,
    pub inserted: String,
    pub updated: String,
    pub unchanged: String,
    pub merged: String,
    pub rejected: i64,
    pub outcomes: String,
}

fn line(c: &Chrome, i: &ImportRecord) -> ImportLine {
    ImportLine {
        id: i.id,
        file: i.file_name.clone(),
        status: i.status.as_str(),
        started: c.when(&i.started_at),
        rows: c.t.int(i.rows_done),
        inserted: c.t.int(i.inserted),
        updated: c.t.int(i.updated),
        unchanged: c.t.int(i.unchanged),
        merged: c.t.int(i.merged),
        rejected: i.rejected,
        outcomes: c.t.int(i.outcomes),
    }
}

/// The result of checking an upload, to confirm.
pub struct Check {
    pub token: String,
    pub file: String,
    /// "N rows: V can be imported, R would be rejected."
    pub counts: String,
    pub guessed: bool,
    pub ignored: Vec<String>,
    /// Columns that look filled in after the outcome, each in a sentence with its evidence.
    pub suspects: Vec<String>,
    pub rejects: Vec<Reject>,
    pub mapping: String,
    /// "This file was imported with this mapping before (import 4, 26 Nov 2026)."
    pub imported_before: Option<String>,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    c: Chrome,
    imports: Vec<ImportLine>,
    running: bool,
    check: Option<Check>,
}

async fn render(
    state: &AppState,
    signed: &Signed,
    flash: &Flash,
    check: Option<Check>,
) -> PageResult {
    require(&signed.user, Permission::ManageData)?;
    let c = Chrome::new(signed, "imports").with_flash(flash);
    let records = state.store.imports(20).await?;
    html(ImportsPage {
        running: records
            .iter()
            .any(|i| i.status == leadgate_core::import::ImportStatus::Running),
        imports: records.iter().map(|i| line(&c, i)).collect(),
        check,
        c,
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(flash): Query<Flash>,
) -> PageResult {
    render(&state, &signed, &flash, None).await
}

/// Checks a file (dry run) with a mapping, guessed when `None`.
async fn check(
    state: &AppState,
    signed: &Signed,
    token: String,
    file: String,
    mapping: Option<String>,
) -> PageResult {
    let path = upload_path(&token)?;
    let options = ImportOptions {
        mapping,
        dry_run: true,
        again: false,
        actor: signed.user.name.clone(),
        file_name: file.clone(),
    };
    let mut rejects_csv: Vec<u8> = Vec::new();
    let report = match import::run(
        &state.store,
        &path,
        &options,
        |_, _| {},
        Some(&mut rejects_csv as &mut (dyn Write + Send)),
    )
    .await
    {
        Ok(report) => report,
        Err(e) => {
            let flash = Flash {
                error: Some(format!("{file}: {e}")),
                ..Flash::default()
            };
            return render(state, signed, &flash, None).await;
        }
    };
    let c = Chrome::new(signed, "imports");
    let rejects = csv::Reader::from_reader(rejects_csv.as_slice())
        .deserialize::<(i64, String, String)>()
        .filter_map(Result::ok)
        .take(SHOWN_REJECTS)
        .map(|(row_number, column, reason)| Reject {
            row_number,
            column,
            reason,
        })
        .collect();
    let checked = Check {
        token,
        file,
        counts: c.t.count(
            "imports.counts",
            report.rows,
            &[
                ("valid", &c.t.int(report.valid)),
                ("rejected", &c.t.int(report.rejected)),
            ],
        ),
        guessed: report.guessed,
        ignored: report.ignored_columns,
        suspects: report
            .suspects
            .iter()
            .map(|s| s.sentence(report.guessed))
            .collect(),
        rejects,
        mapping: report.mapping,
        imported_before: report.imported_before.map(|i| {
            c.t.tf(
                "imports.before",
                &[
                    ("id", &i.id.to_string()),
                    (
                        "when",
                        &i.finished_at.map(|t| c.day(&t)).unwrap_or_default(),
                    ),
                    ("rows", &c.t.int(i.rows_done)),
                ],
            )
        }),
    };
    render(state, signed, &Flash::default(), Some(checked)).await
}

/// Receives the file (multipart: csrf, file), keeps it for the import, and checks it.
pub async fn upload(
    State(state): State<AppState>,
    signed: Signed,
    mut multipart: Multipart,
) -> PageResult {
    require(&signed.user, Permission::ManageData)?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        WebError::Invalid(format!("file: {}", e.body_text()))
    };
    let mut csrf = String::new();
    let token = leadgate_store::random_token();
    sweep_uploads();
    std::fs::create_dir_all(upload_dir()).map_err(|e| WebError::Invalid(format!("upload: {e}")))?;
    let path = upload_dir().join(format!("{token}.csv"));
    let mut name = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "file" => {
                // The token must come first: nothing is written for a forged form.
                signed.check_csrf(&csrf)?;
                name = Some(field.file_name().unwrap_or("upload.csv").to_owned());
                let mut out = std::fs::File::create(&path)
                    .map_err(|e| WebError::Invalid(format!("upload: {e}")))?;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    out.write_all(&chunk)
                        .map_err(|e| WebError::Invalid(format!("upload: {e}")))?;
                }
            }
            _ => {}
        }
    }
    signed.check_csrf(&csrf)?;
    let Some(name) = name else {
        return Err(WebError::Invalid(
            "file: choose a CSV file to upload".into(),
        ));
    };
    check(&state, &signed, token, name, None).await
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    mapping: String,
    /// `check` (again, with the edited mapping) or `import`.
    #[serde(default)]
    action: String,
    /// Import a file that was imported with this mapping before once more.
    again: Option<String>,
}

/// Checks again with an edited mapping, or starts the import in the background.
pub async fn confirm(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<ConfirmForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageData)?;
    let mapping = Some(form.mapping.clone()).filter(|m| !m.trim().is_empty());
    if form.action != "import" {
        return check(&state, &signed, form.token, form.file, mapping).await;
    }
    let path = upload_path(&form.token)?;
    let options = ImportOptions {
        mapping,
        dry_run: false,
        again: form.again.is_some(),
        actor: signed.user.name.clone(),
        file_name: form.file.clone(),
    };
    // Refused here, before the run goes to the background where no one would read why.
    if !options.again {
        match import::imported_before(&state.store, &path, &options).await {
            Ok(None) => {}
            Ok(Some(before)) => {
                let c = Chrome::new(&signed, "imports");
                let flash = Flash {
                    error: Some(c.t.tf("imports.refused_again", &[("id", &before.id.to_string())])),
                    ..Flash::default()
                };
                return render(&state, &signed, &flash, None).await;
            }
            Err(e) => {
                let flash = Flash {
                    error: Some(format!("{}: {e}", form.file)),
                    ..Flash::default()
                };
                return render(&state, &signed, &flash, None).await;
            }
        }
    }
    let store = state.store.clone();
    // The page shows its progress; a failure is logged and the import stays resumable.
    tokio::spawn(async move {
        match import::run(&store, &path, &options, |_, _| {}, None).await {
            Ok(report) => tracing::info!(rows = report.rows, "web import finished"),
            Err(e) => tracing::warn!(error = %e, "web import failed"),
        }
        let _ = std::fs::remove_file(&path);
    });
    Ok(Redirect::to("/imports?done=import").into_response())
}

pub async fn rejects(
    State(state): State<AppState>,
    signed: Signed,
    Path(raw): Path<String>,
) -> PageResult {
    require(&signed.user, Permission::ManageData)?;
    let id = path_id(raw.trim_end_matches(".csv"), "import")
        .map_err(|_| WebError::NotFound(format!("no import has id '{raw}'")))?;
    let bytes = rejects_csv(&state.store, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{id}-rejects.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
