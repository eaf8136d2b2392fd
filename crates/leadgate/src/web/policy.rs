//! The policy page: the definition in force, readable by marketing and sales alike, its
//! version history with diffs, and edit-then-backtest before applying (marketing, admins).

use super::{html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::Form;
use chrono::Utc;
use leadgate_core::access::Permission;
use leadgate_core::backtest::{BacktestReport, Summary};
use leadgate_core::policy::Policy;
use leadgate_store::{RescoreRun, StoreError};
use serde::Deserialize;

pub struct VersionLine {
    pub version: i64,
    pub author: String,
    pub message: String,
    pub when: String,
}

/// One line of a unified diff, with its kind for colouring (`add`, `del`, `ctx`, `hunk`).
pub struct DiffLine {
    pub kind: &'static str,
    pub text: String,
}

/// The backtest in rows: what, under the policy in force, under the candidate.
pub struct Comparison {
    pub rows: Vec<(String, String, String)>,
    pub notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    c: Chrome,
    product: String,
    products: Vec<String>,
    version: i64,
    document: String,
    versions: Vec<VersionLine>,
    diff: Option<(i64, i64, Vec<DiffLine>)>,
    can_edit: bool,
    draft: String,
    problems: Vec<String>,
    comparison: Option<Comparison>,
    rescore: Option<RescoreLine>,
}

/// The product's latest rescoring pass, in words, and how far it has got.
pub struct RescoreLine {
    pub text: String,
    pub done: i64,
    pub total: i64,
    pub running: bool,
}

fn rescore_line(c: &Chrome, run: &RescoreRun) -> RescoreLine {
    let running = run.finished_at().is_none();
    let args = [
        ("version", c.t.int(run.policy_version)),
        ("done", c.t.int(run.done)),
        ("total", c.t.int(run.total)),
        ("became", c.t.int(run.became_mql)),
        ("left", c.t.int(run.left_mql)),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let key = if running {
        "policy.rescoring"
    } else {
        "policy.rescored"
    };
    RescoreLine {
        text: c.t.tf(key, &args),
        done: run.done.min(run.total),
        total: run.total,
        running,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PolicyQuery {
    #[serde(default)]
    product: String,
    /// Show the diff of this version against the one before.
    diff: Option<i64>,
}

async fn document_of(state: &AppState, product: &str, version: i64) -> Result<String, WebError> {
    if version == 0 {
        return Ok(Policy::STARTER.to_owned());
    }
    Ok(state.store.policy_version(product, version).await?.document)
}

/// A draft being edited: its text, what is wrong with it, its backtest.
#[derive(Default)]
struct Draft {
    document: Option<String>,
    problems: Vec<String>,
    comparison: Option<Comparison>,
}

impl Draft {
    fn refused(document: String, problems: Vec<String>) -> Self {
        Draft {
            document: Some(document),
            problems,
            comparison: None,
        }
    }
}

async fn render(
    state: &AppState,
    signed: &Signed,
    flash: &Flash,
    product: &str,
    diff_of: Option<i64>,
    draft: Draft,
) -> PageResult {
    let c = Chrome::new(signed, "policy").with_flash(flash);
    let active = state.store.active_policy(product).await?;
    let rescore = state.store.latest_rescore(product).await?;
    let document = document_of(state, product, active.version).await?;
    let mut all = state.store.policy_versions(None).await?;
    let mut products: Vec<String> = all.iter().map(|v| v.product.clone()).collect();
    products.push("default".into());
    products.sort();
    products.dedup();
    all.retain(|v| v.product == product);
    all.sort_by_key(|v| std::cmp::Reverse(v.version));
    let diff = match diff_of {
        Some(to) if to >= 1 => {
            let (old, new) = (
                document_of(state, product, to - 1).await?,
                document_of(state, product, to).await?,
            );
            let text = similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(3)
                .to_string();
            let lines = text
                .lines()
                .map(|l| DiffLine {
                    kind: if l.starts_with("@@") {
                        "hunk"
                    } else if l.starts_with('+') {
                        "add"
                    } else if l.starts_with('-') {
                        "del"
                    } else {
                        "ctx"
                    },
                    text: l.to_owned(),
                })
                .collect();
            Some((to - 1, to, lines))
        }
        _ => None,
    };
    html(PolicyPage {
        product: product.to_owned(),
        products,
        version: active.version,
        versions: all
            .iter()
            .map(|v| VersionLine {
                version: v.version,
                author: v.author.clone(),
                message: v.message.clone(),
                when: c.when(&v.created_at()),
            })
            .collect(),
        diff,
        can_edit: signed.user.role.allows(Permission::EditPolicy),
        draft: draft.document.unwrap_or_else(|| document.clone()),
        document,
        problems: draft.problems,
        comparison: draft.comparison,
        rescore: rescore.as_ref().map(|run| rescore_line(&c, run)),
        c,
    })
}

fn product_or_default(raw: &str) -> String {
    let p = raw.trim();
    if p.is_empty() {
        "default".into()
    } else {
        p.to_owned()
    }
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<PolicyQuery>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let product = product_or_default(&q.product);
    render(&state, &signed, &flash, &product, q.diff, Draft::default()).await
}

#[derive(Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    message: String,
    /// `backtest` or `apply`.
    #[serde(default)]
    action: String,
}

fn lines(errors: &leadgate_core::policy::PolicyErrors) -> Vec<String> {
    errors
        .0
        .iter()
        .map(|e| format!("line {}: {}", e.line, e.message))
        .collect()
}

fn pct(c: &Chrome, rate: Option<f64>) -> String {
    rate.map(|r| c.t.pct(r)).unwrap_or_else(|| "-".into())
}

fn compare(c: &Chrome, report: &BacktestReport) -> Comparison {
    let line = |key: &str, f: &dyn Fn(&Summary) -> String| {
        (
            c.tk("policy.bt", key),
            f(&report.current),
            f(&report.candidate),
        )
    };
    let rows = vec![
        line("mqls", &|s| c.t.int(s.mqls as i64)),
        line("mql_sql", &|s| pct(c, s.mql_to_sql_rate)),
        line("mql_won", &|s| pct(c, s.mql_to_won_rate)),
        line("precision", &|s| pct(c, s.precision)),
        line("recall", &|s| pct(c, s.recall)),
        line("f1", &|s| {
            s.f1.map(|f| c.t.num(f, 3)).unwrap_or_else(|| "-".into())
        }),
    ];
    let mut notes = vec![c.t.count(
        "policy.bt_moved",
        report.leads as i64,
        &[
            ("closed", &c.t.int(report.closed as i64)),
            ("became", &c.t.int(report.became_mql as i64)),
            ("stopped", &c.t.int(report.stopped_mql as i64)),
        ],
    )];
    if let Some(best) = &report.best_f1 {
        notes.push(c.t.tf(
            "policy.bt_best",
            &[
                ("score", &c.t.num(best.min_score, 0)),
                ("f1", &best.f1.map(|f| c.t.num(f, 3)).unwrap_or_default()),
                ("mqls", &c.t.num(best.mqls_per_week, 1)),
            ],
        ));
    }
    Comparison { rows, notes }
}

/// What became of a submitted draft.
enum Judged {
    Applied(String),
    Refused(Vec<String>),
    Backtested(Box<BacktestReport>),
}

async fn judge(
    state: &AppState,
    signed: &Signed,
    form: &DraftForm,
    product: &str,
) -> Result<Judged, WebError> {
    let candidate = match Policy::parse(&form.document) {
        Ok(p) => p,
        Err(errors) => return Ok(Judged::Refused(lines(&errors))),
    };
    if candidate.product != product {
        return Ok(Judged::Refused(vec![format!(
            "product: the document is for '{}', this page for '{product}'",
            candidate.product
        )]));
    }
    if form.action != "apply" {
        let report =
            leadgate_app::rescore::backtest(&state.store, &candidate, None, Utc::now(), |_| {})
                .await?;
        return Ok(Judged::Backtested(Box::new(report)));
    }
    match state
        .store
        .apply_policy(&form.document, &signed.user.name, &form.message)
        .await
    {
        // The server's background loop rescores the product; the page shows how far.
        Ok(stored) => Ok(Judged::Applied(stored.product)),
        Err(StoreError::Invalid(errors)) => Ok(Judged::Refused(
            errors.0.iter().map(ToString::to_string).collect(),
        )),
        Err(StoreError::Policy(errors)) => Ok(Judged::Refused(lines(&errors))),
        Err(other) => Err(other.into()),
    }
}

/// Backtests a draft against the store's history, or applies it (its product then rescored
/// in the background).
pub async fn draft(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<DraftForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::EditPolicy)?;
    let product = product_or_default(&form.product);
    let draft = match judge(&state, &signed, &form, &product).await? {
        Judged::Applied(product) => {
            return Ok(super::back(
                &format!("/policy?product={product}"),
                Ok("policy"),
            ))
        }
        Judged::Refused(problems) => Draft::refused(form.document, problems),
        Judged::Backtested(report) => Draft {
            comparison: Some(compare(&Chrome::new(&signed, "policy"), &report)),
            document: Some(form.document),
            problems: Vec::new(),
        },
    };
    render(&state, &signed, &Flash::default(), &product, None, draft).await
}
