//! Sales teams in the dashboard: a team's office hours, holidays and manager, and its reps
//! (team, address, share of new leads, daily cap, away). Admins change every team; a sales
//! manager changes their own team's hours and reps.

use super::form_field as field;
use super::settings::answer;
use super::{back, require, PageResult, Signed, WebError};
use crate::http::AppState;
use axum::extract::State;
use axum::Form;
use leadgate_core::access::Permission;
use leadgate_core::calendar::BusinessCalendar;
use leadgate_store::{RepInput, Team, User};
use serde_json::{json, Map, Value};

/// The weekdays as the calendar names them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A team as its form shows it.
pub struct TeamForm {
    pub name: String,
    pub zone: String,
    /// Each weekday's hours as typed: "09:00-12:00, 13:00-18:00"; empty is a day off.
    pub days: Vec<(&'static str, String)>,
    /// Holidays, one date (YYYY-MM-DD) after another.
    pub holidays: String,
    pub manager: String,
}

impl TeamForm {
    pub fn of(team: &Team) -> Self {
        let calendar = serde_json::to_value(&team.calendar).unwrap_or(Value::Null);
        let days = DAYS
            .into_iter()
            .map(|day| {
                let text = calendar["hours"][day]
                    .as_array()
                    .map(|spans| {
                        spans
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                (day, text)
            })
            .collect();
        TeamForm {
            name: team.name.clone(),
            zone: team.calendar.timezone.name().to_owned(),
            days,
            holidays: team
                .calendar
                .holidays
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            manager: team.manager.clone().unwrap_or_default(),
        }
    }
}

/// Whether `user` may change `team`: an admin any, a manager their own.
fn may_change(user: &User, team: &str) -> Result<(), WebError> {
    require(user, Permission::ManageTeams)?;
    if user.role.allows(Permission::ManageUsers) || user.team.as_deref() == Some(team) {
        Ok(())
    } else {
        Err(WebError::Forbidden(format!(
            "team: you change the team '{}' only",
            user.team.as_deref().unwrap_or("-")
        )))
    }
}

/// Creates or changes a team: its calendar read as the API reads it, every bad part named.
pub async fn save_team(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    let name = field(&form, "name");
    may_change(&signed.user, name)?;
    let mut hours = Map::new();
    for day in DAYS {
        let spans: Vec<Value> = field(&form, &format!("hours_{day}"))
            .split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_owned()))
            .collect();
        if !spans.is_empty() {
            hours.insert(day.to_owned(), Value::Array(spans));
        }
    }
    let holidays: Vec<&str> = field(&form, "holidays")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let document =
        json!({"timezone": field(&form, "timezone"), "hours": hours, "holidays": holidays});
    let calendar = match BusinessCalendar::parse(&document, "") {
        Ok(calendar) => calendar,
        Err(errors) => return Ok(back("/settings", Err(errors.to_string()))),
    };
    // A manager keeps the team's manager as it is; an admin names one.
    let manager = if signed.user.role.allows(Permission::ManageUsers) {
        Some(field(&form, "manager"))
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
    } else {
        state
            .store
            .teams()
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .and_then(|t| t.manager)
    };
    answer(
        state
            .store
            .put_team(name, &calendar, manager.as_deref())
            .await,
        "team",
    )
}

/// Adds or changes a rep: their team, address, share of new leads, daily cap and whether
/// they are away (away reps get no new leads).
pub async fn save_rep(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult {
    signed.check_csrf(field(&form, "csrf"))?;
    let name = field(&form, "name");
    let team = field(&form, "team");
    may_change(&signed.user, team)?;
    // A manager changes only their own reps: not one of another team's.
    if !signed.user.role.allows(Permission::ManageUsers) {
        if let Some(now) = state.store.owner_team(name).await? {
            may_change(&signed.user, &now)?;
        }
    }
    let number = |key: &str| -> Result<Option<f64>, String> {
        match field(&form, key) {
            "" => Ok(None),
            raw => raw
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("{key}: '{raw}' is not a number")),
        }
    };
    let (weight, cap) = match (number("weight"), number("daily_cap")) {
        (Ok(w), Ok(c)) => (w.unwrap_or(1.0), c),
        (Err(e), _) | (_, Err(e)) => return Ok(back("/settings", Err(e))),
    };
    if cap.is_some_and(|c| c.fract() != 0.0 || c > i32::MAX as f64) {
        return Ok(back(
            "/settings",
            Err("daily_cap: must be a whole number".into()),
        ));
    }
    let input = RepInput {
        team: team.to_owned(),
        email: Some(field(&form, "email"))
            .filter(|e| !e.is_empty())
            .map(str::to_owned),
        weight,
        daily_cap: cap.map(|c| c as i32),
        away: !field(&form, "away").is_empty(),
    };
    answer(state.store.put_rep(name, &input).await, "rep")
}
