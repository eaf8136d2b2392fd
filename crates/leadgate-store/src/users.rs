//! Dashboard users and their sessions: argon2 password hashes, cookie tokens stored only as
//! SHA-256 hashes, a CSRF token per session.

use crate::time::Ts;
use crate::{on_pool, on_read_pool, Result, Store, StoreError};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use leadgate_core::access::{LeadScope, Role};
use leadgate_core::{FieldError, FieldErrors};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A user as stored, never with the password hash.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    /// The login name; for sales roles also the owner name their leads carry.
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub team: Option<String>,
    pub locale: String,
    /// IANA name (`Asia/Shanghai`): the dashboard shows times in it.
    pub time_zone: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn scope(&self) -> LeadScope {
        LeadScope::of(self.role, self.team.as_deref())
    }

    /// The user's time zone (stored names always parse; UTC otherwise).
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC)
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub team: Option<String>,
    pub locale: String,
    /// IANA name; empty for UTC.
    pub time_zone: String,
    pub password: String,
}

/// A session just opened: the cookie token exists only here and in the browser.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// The user behind a live session, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub csrf: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    name: String,
    display_name: String,
    role: String,
    team: Option<String>,
    locale: String,
    time_zone: String,
    disabled_at: Option<Ts>,
    created_at: Ts,
}

const USER_COLUMNS: &str =
    "id, name, display_name, role, team, locale, time_zone, disabled_at, created_at";

impl UserRow {
    fn into_user(self) -> Result<User> {
        let role = self.role.parse().map_err(|reason: String| {
            StoreError::Internal(format!("user {}: {reason}", self.id))
        })?;
        Ok(User {
            id: self.id,
            name: self.name,
            display_name: self.display_name,
            role,
            team: self.team,
            locale: self.locale,
            time_zone: self.time_zone,
            disabled: self.disabled_at.is_some(),
            created_at: self.created_at.0,
        })
    }
}

/// A time zone as stored: the IANA name as the tz database spells it (`asia/shanghai` is
/// `Asia/Shanghai`), UTC when empty.
fn time_zone(given: &str) -> std::result::Result<String, FieldError> {
    let given = given.trim();
    if given.is_empty() {
        return Ok("UTC".into());
    }
    chrono_tz::TZ_VARIANTS
        .iter()
        .find(|zone| zone.name().eq_ignore_ascii_case(given))
        .map(|zone| zone.name().to_owned())
        .ok_or_else(|| {
            FieldError::new(
                "time_zone",
                format!("'{given}' is not a time zone name such as Europe/Berlin or Asia/Shanghai"),
            )
        })
}

/// 32 random bytes, URL-safe base64: session, CSRF and form tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn password_problem(password: &str) -> Option<FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    (password.len() > 1024).then(|| FieldError::new("password", "must be at most 1024 bytes"))
}

/// Hashing is deliberately slow (argon2id): off the async threads.
async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| StoreError::Internal(format!("password hashing stopped: {e}")))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// What an admin changes of a user.
#[derive(Debug, Clone)]
pub struct UserChange {
    pub display_name: String,
    pub role: Role,
    pub team: Option<String>,
    /// A locale the dashboard speaks (the caller checks it).
    pub locale: String,
    /// An IANA time zone name; empty is UTC.
    pub time_zone: String,
}

impl Store {
    /// Creates a user; every bad field is named.
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let mut errors = FieldErrors::default();
        let name = new.name.trim().to_owned();
        if name.is_empty()
            || name.chars().count() > 64
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            errors.push(FieldError::new(
                "name",
                "must be 1 to 64 characters without spaces",
            ));
        }
        let display_name = new
            .display_name
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| name.clone());
        if display_name.chars().count() > 200 {
            errors.push(FieldError::new(
                "display_name",
                "must be at most 200 characters",
            ));
        }
        if let Some(problem) = password_problem(&new.password) {
            errors.push(problem);
        }
        let time_zone = match time_zone(&new.time_zone) {
            Ok(zone) => zone,
            Err(problem) => {
                errors.push(problem);
                String::new()
            }
        };
        let team = self.checked_team(new.role, new.team, &mut errors).await?;
        if !errors.is_empty() {
            return Err(errors.into());
        }
        if self.user(&name).await?.is_some() {
            return Err(FieldError::new("name", format!("a user named '{name}' exists")).into());
        }
        let hash = hash_password(new.password).await?;
        let now = Ts(Utc::now());
        let row: UserRow = on_pool!(self, pool => sqlx::query_as(&format!(
            "INSERT INTO users (name, display_name, role, team, locale, time_zone, password_hash,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {USER_COLUMNS}"
        ))
        .bind(&name)
        .bind(&display_name)
        .bind(new.role.as_str())
        .bind(&team)
        .bind(&new.locale)
        .bind(&time_zone)
        .bind(&hash)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        row.into_user()
    }

    /// A role's team as given: a sales role needs one, and it must exist.
    async fn checked_team(
        &self,
        role: Role,
        team: Option<String>,
        errors: &mut FieldErrors,
    ) -> Result<Option<String>> {
        let team = team.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        match &team {
            None if role.is_team_bound() => {
                errors.push(FieldError::new("team", format!("a {role} needs a team")))
            }
            Some(t) if !self.teams().await?.iter().any(|known| &known.name == t) => {
                errors.push(FieldError::new("team", format!("no team is named '{t}'")))
            }
            _ => {}
        }
        Ok(team)
    }

    /// Changes a user's name as shown, role, team, language and time zone (an admin's
    /// edit); every bad field is named. Their open sessions see the change at once.
    pub async fn update_user(&self, name: &str, change: UserChange) -> Result<User> {
        let Some(user) = self.user(name).await? else {
            return Err(StoreError::NotFound(format!("no user is named '{name}'")));
        };
        let mut errors = FieldErrors::default();
        let display_name = change.display_name.trim().to_owned();
        let display_name = if display_name.is_empty() {
            user.name.clone()
        } else {
            display_name
        };
        if display_name.chars().count() > 200 {
            errors.push(FieldError::new(
                "display_name",
                "must be at most 200 characters",
            ));
        }
        let time_zone = time_zone(&change.time_zone).unwrap_or_else(|problem| {
            errors.push(problem);
            String::new()
        });
        let team = self
            .checked_team(change.role, change.team, &mut errors)
            .await?;
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let row: UserRow = on_pool!(self, pool => sqlx::query_as(&format!(
            "UPDATE users SET display_name = $1, role = $2, team = $3, locale = $4,
                time_zone = $5, updated_at = $6
             WHERE name = $7 RETURNING {USER_COLUMNS}"
        ))
        .bind(&display_name)
        .bind(change.role.as_str())
        .bind(&team)
        .bind(&change.locale)
        .bind(&time_zone)
        .bind(Ts(Utc::now()))
        .bind(name)
        .fetch_one(pool)
        .await)?;
        row.into_user()
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = on_read_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE name = $1"
        ))
        .bind(name.trim())
        .fetch_optional(pool)
        .await)?;
        row.map(UserRow::into_user).transpose()
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = on_read_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY name"
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }

    /// Sets a new password and ends the user's sessions. `false`: no such user.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<bool> {
        if let Some(problem) = password_problem(password) {
            return Err(problem.into());
        }
        let hash = hash_password(password.to_owned()).await?;
        let Some(user) = self.user(name).await? else {
            return Ok(false);
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(&hash)
                .bind(Ts(Utc::now()))
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        Ok(true)
    }

    /// Disables (or re-enables) a user; disabling ends their sessions. `false`: no such user.
    pub async fn set_user_disabled(&self, name: &str, disabled: bool) -> Result<bool> {
        let Some(user) = self.user(name).await? else {
            return Ok(false);
        };
        let now = Ts(Utc::now());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE users SET disabled_at = $1, updated_at = $2 WHERE id = $3")
                .bind(disabled.then_some(now))
                .bind(now)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user.id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(true)
    }

    /// Changes the language a user reads the dashboard in.
    pub async fn set_user_locale(&self, user_id: i64, locale: &str) -> Result<()> {
        self.set_user_preference(user_id, "locale", locale).await
    }

    /// Sets the time zone a user's pages show times in (an IANA name; empty for UTC).
    pub async fn set_user_time_zone(&self, user_id: i64, zone: &str) -> Result<()> {
        self.set_user_preference(user_id, "time_zone", &time_zone(zone)?)
            .await
    }

    /// `column` is one of the fixed names above, never from input.
    async fn set_user_preference(&self, user_id: i64, column: &str, value: &str) -> Result<()> {
        let sql = format!("UPDATE users SET {column} = $1, updated_at = $2 WHERE id = $3");
        on_pool!(self, pool => sqlx::query(&sql)
            .bind(value)
            .bind(Ts(Utc::now()))
            .bind(user_id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Checks a name and password; on success opens a session lasting `ttl`. `None` for an
    /// unknown name, a wrong password or a disabled user alike (the caller cannot tell which,
    /// nor can an attacker).
    pub async fn log_in(
        &self,
        name: &str,
        password: &str,
        ttl: Duration,
    ) -> Result<Option<(User, NewSession)>> {
        let row: Option<(i64, String)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, password_hash FROM users WHERE name = $1 AND disabled_at IS NULL",
        )
        .bind(name.trim())
        .fetch_optional(pool)
        .await)?;
        // An unknown name still costs one verification, so timing does not tell names apart.
        const UNKNOWN: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNoZmFrZWhhc2g";
        let (id, hash) = row.unwrap_or((0, UNKNOWN.to_owned()));
        if !verify_password(password.to_owned(), hash).await || id == 0 {
            return Ok(None);
        }
        let session = NewSession {
            token: random_token(),
            csrf: random_token(),
            expires_at: Utc::now() + ttl,
        };
        let now = Ts(Utc::now());
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Expired sessions are swept as new ones open.
            sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash(&session.token))
            .bind(id)
            .bind(&session.csrf)
            .bind(now)
            .bind(Ts(session.expires_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })?;
        let row: UserRow = on_read_pool!(self, pool => sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(pool)
        .await)?;
        Ok(Some((row.into_user()?, session)))
    }

    /// Whether `password` is the active user `name`'s (for changing one's own password).
    pub async fn check_user_password(&self, name: &str, password: &str) -> Result<bool> {
        let row: Option<(String,)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT password_hash FROM users WHERE name = $1 AND disabled_at IS NULL",
        )
        .bind(name.trim())
        .fetch_optional(pool)
        .await)?;
        Ok(match row {
            Some((hash,)) => verify_password(password.to_owned(), hash).await,
            None => false,
        })
    }

    /// The user of a live session (not expired, user not disabled).
    pub async fn session(&self, token: &str) -> Result<Option<SessionUser>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            csrf: String,
        }
        let row: Option<Row> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT u.id, u.name, u.display_name, u.role, u.team, u.locale, u.time_zone,
                    u.disabled_at, u.created_at, s.csrf
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_hash(token))
        .bind(Ts(Utc::now()))
        .fetch_optional(pool)
        .await)?;
        row.map(|r| {
            Ok(SessionUser {
                user: r.user.into_user()?,
                csrf: r.csrf,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn log_out(&self, token: &str) -> Result<()> {
        on_pool!(self, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Whether a lead lies within `scope` (core's `LeadScope::covers_lead`, with its owner's
    /// team read here).
    pub async fn lead_in_scope(&self, lead: &crate::StoredLead, scope: &LeadScope) -> Result<bool> {
        if *scope == LeadScope::All {
            return Ok(true);
        }
        let owner = lead.lead.owner.as_ref().map(|o| o.as_str());
        let team = match owner {
            Some(owner) => self.owner_team(owner).await?,
            None => None,
        };
        Ok(scope.covers_lead(owner, team.as_deref()))
    }

    /// The team a rep (by owner name) belongs to, for access checks on one lead.
    pub async fn owner_team(&self, owner: &str) -> Result<Option<String>> {
        let team: Option<(String,)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT team FROM reps WHERE name = $1",
        )
        .bind(owner)
        .fetch_optional(pool)
        .await)?;
        Ok(team.map(|(t,)| t))
    }
}

impl crate::Tx {
    /// The team a rep (by owner name) belongs to, read inside the transaction that acts on
    /// it.
    pub async fn rep_team(&mut self, owner: &str) -> Result<Option<String>> {
        let team: Option<(String,)> = crate::on_tx!(self, conn => sqlx::query_as(
            "SELECT team FROM reps WHERE name = $1",
        )
        .bind(owner)
        .fetch_optional(conn)
        .await)?;
        Ok(team.map(|(t,)| t))
    }
}
