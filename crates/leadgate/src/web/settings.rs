//! Settings: one's own password and language; for admins the users and API keys; the sales
//! teams and their reps; web forms with the snippet to paste into a website.

use super::{back, html, require, Chrome, Flash, PageResult, Signed, WebError};
use crate::http::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Form;
use leadgate_core::access::{Permission, Role};
use leadgate_store::{NewUser, StoreError};
use serde::Deserialize;

pub struct TeamView {
    pub name: String,
    pub manager: String,
    pub reps: Vec<String>,
}

pub struct KeyView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub team: String,
    pub created: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    c: Chrome,
    users: Vec<leadgate_store::User>,
    keys: Vec<KeyView>,
    teams: Vec<TeamView>,
    /// The teams this user may change, as their forms show them.
    team_forms: Vec<super::teams::TeamForm>,
    /// Their reps.
    team_reps: Vec<leadgate_store::Rep>,
    days: Vec<&'static str>,
    /// Each form: key, title, how many fields, the snippet to paste.
    forms: Vec<(String, String, usize, String)>,
    manage_users: bool,
    roles: Vec<&'static str>,
    /// A key's secret, shown once right after it was made.
    new_secret: Option<String>,
}

async fn render(
    state: &AppState,
    signed: &Signed,
    headers: &HeaderMap,
    flash: &Flash,
    secret: Option<String>,
) -> PageResult {
    let c = Chrome::new(signed, "settings").with_flash(flash);
    let manage_users = signed.user.role.allows(Permission::ManageUsers);
    let (users, keys) = if manage_users {
        let keys = state
            .store
            .list_api_keys()
            .await?
            .into_iter()
            .map(|k| KeyView {
                id: k.id,
                created: c.when(&k.created_at()),
                revoked: k.revoked_at().is_some(),
                role: k.role().as_str().to_owned(),
                team: k.team.clone().unwrap_or_default(),
                name: k.name,
                prefix: k.prefix,
            })
            .collect();
        (state.store.users().await?, keys)
    } else {
        (Vec::new(), Vec::new())
    };
    let all_teams = state.store.teams().await?;
    // The teams this user changes (an admin every one, a manager their own) and their reps.
    let mut team_forms = Vec::new();
    let mut team_reps = Vec::new();
    if signed.user.role.allows(Permission::ManageTeams) {
        for team in &all_teams {
            if manage_users || signed.user.team.as_deref() == Some(team.name.as_str()) {
                team_forms.push(super::teams::TeamForm::of(team));
                team_reps.extend(state.store.reps(Some(&team.name)).await?);
            }
        }
    }
    let mut teams = Vec::new();
    for team in all_teams {
        let reps = state
            .store
            .reps(Some(&team.name))
            .await?
            .into_iter()
            .map(|r| {
                if r.away {
                    format!("{} ({})", r.name, c.t("assign.away"))
                } else {
                    r.name
                }
            })
            .collect();
        teams.push(TeamView {
            manager: team.manager.clone().unwrap_or_default(),
            name: team.name,
            reps,
        });
    }
    let forms = super::forms::snippets(state, headers).await?;
    html(SettingsPage {
        users,
        keys,
        teams,
        team_forms,
        team_reps,
        days: super::teams::DAYS.to_vec(),
        forms,
        manage_users,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        new_secret: secret,
        c,
    })
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Query(flash): Query<Flash>,
) -> PageResult {
    render(&state, &signed, &headers, &flash, None).await
}

/// A refusal with field errors becomes a message on the settings page.
/// Back to the settings page with what was done, or why not (a bad value: on the page).
pub(super) fn answer<T>(result: Result<T, StoreError>, done: &str) -> PageResult {
    match result.map_err(WebError::from) {
        Ok(_) => Ok(back("/settings", Ok(done))),
        Err(WebError::Invalid(message)) => Ok(back("/settings", Err(message))),
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

pub async fn password(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    if !state
        .store
        .check_user_password(&signed.user.name, &form.current)
        .await?
    {
        return Ok(back(
            "/settings",
            Err("current: the password is wrong".into()),
        ));
    }
    // A new password ends every session, this one too: sign in again.
    match state.store.set_password(&signed.user.name, &form.new).await {
        Ok(_) => Ok(axum::response::Redirect::to("/login").into_response()),
        Err(e) => answer(Err::<(), _>(e), "password"),
    }
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<UserForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageUsers)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return Ok(back("/settings", Err(format!("role: {e}")))),
    };
    let locale = if super::i18n::is_supported(&form.locale) {
        form.locale
    } else {
        "en".into()
    };
    let made = state
        .store
        .create_user(NewUser {
            name: form.name,
            display_name: Some(form.display_name),
            role,
            team: Some(form.team),
            locale,
            time_zone: form.time_zone,
            password: form.password,
        })
        .await;
    answer(made, "user")
}

/// An admin changes a user's name as shown, role, team, language and time zone.
pub async fn update_user(
    State(state): State<AppState>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<UserForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageUsers)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return Ok(back("/settings", Err(format!("role: {e}")))),
    };
    if !super::i18n::is_supported(&form.locale) {
        return Ok(back(
            "/settings",
            Err(format!(
                "locale: '{}' is not one of {}",
                form.locale,
                super::i18n::LOCALES.join(", ")
            )),
        ));
    }
    if name == signed.user.name && role != Role::Admin {
        return Ok(back(
            "/settings",
            Err("role: you cannot take your own admin role away".into()),
        ));
    }
    let changed = state
        .store
        .update_user(
            &name,
            leadgate_store::UserChange {
                display_name: form.display_name,
                role,
                team: Some(form.team),
                locale: form.locale,
                time_zone: form.time_zone,
            },
        )
        .await;
    match changed {
        Err(leadgate_store::StoreError::NotFound(m)) => Err(WebError::NotFound(m)),
        other => answer(other, "user"),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn set_user_state(
    State(state): State<AppState>,
    signed: Signed,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageUsers)?;
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        other => return Err(WebError::NotFound(format!("no user action '{other}'"))),
    };
    if disabled && name == signed.user.name {
        return Ok(back(
            "/settings",
            Err("name: you cannot disable yourself".into()),
        ));
    }
    if !state.store.set_user_disabled(&name, disabled).await? {
        return Err(WebError::NotFound(format!("no user is named '{name}'")));
    }
    Ok(back("/settings", Ok("user")))
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: String,
}

pub async fn create_key(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<KeyForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageUsers)?;
    let role = match form.role.parse::<Role>() {
        Ok(r) => r,
        Err(e) => return Ok(back("/settings", Err(format!("role: {e}")))),
    };
    let team = Some(form.team.as_str()).filter(|t| !t.trim().is_empty());
    let secret = match state.store.create_api_key(&form.name, role, team).await {
        Ok(made) => made.secret,
        Err(e) => return answer(Err::<(), _>(e), "key"),
    };
    // Shown on this response only: never in a URL, a log or a later page.
    let flash = Flash {
        done: Some("key".into()),
        ..Flash::default()
    };
    render(&state, &signed, &headers, &flash, Some(secret)).await
}

pub async fn revoke_key(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    require(&signed.user, Permission::ManageUsers)?;
    if !state.store.revoke_api_key(&id).await? {
        return Err(WebError::NotFound(format!(
            "no active API key has id '{id}'"
        )));
    }
    Ok(back("/settings", Ok("revoked")))
}
