//! API keys: random secrets shown once, stored only as SHA-256 hashes, revocable.

use crate::time::Ts;
use crate::{on_pool, on_read_pool, Result, Store};
use chrono::{DateTime, Utc};
use leadgate_core::access::{LeadScope, Role};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A key as listed: never the secret.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    /// What the key may do (keys made before roles existed are admin keys).
    #[sqlx(try_from = "String")]
    pub role: RoleColumn,
    /// The team a sales-role key works for.
    pub team: Option<String>,
    #[serde(skip)]
    #[sqlx(rename = "created_at")]
    created: Ts,
    #[serde(skip)]
    #[sqlx(rename = "revoked_at")]
    revoked: Option<Ts>,
}

/// A role as read from a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleColumn(pub Role);

impl TryFrom<String> for RoleColumn {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse().map(RoleColumn)
    }
}

impl ApiKey {
    pub fn role(&self) -> Role {
        self.role.0
    }
    pub fn scope(&self) -> LeadScope {
        LeadScope::of(self.role.0, self.team.as_deref())
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created.0
    }
    pub fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.revoked.map(|t| t.0)
    }
}

/// A freshly made key with its secret, which exists nowhere else.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The public part of a secret `lg_<prefix>_<random>`, used to find its row.
fn prefix_of(secret: &str) -> Option<&str> {
    let rest = secret.strip_prefix("lg_")?;
    let (prefix, random) = rest.split_once('_')?;
    (prefix.len() == 8 && random.len() == 32).then_some(prefix)
}

impl Store {
    /// Makes a key holding `role`; sales roles need the team they work for.
    pub async fn create_api_key(
        &self,
        name: &str,
        role: Role,
        team: Option<&str>,
    ) -> Result<NewApiKey> {
        let name = name.trim();
        let team = team.map(str::trim).filter(|t| !t.is_empty());
        match team {
            None if role.is_team_bound() => {
                return Err(leadgate_core::FieldError::new(
                    "team",
                    format!("a {role} key needs a team"),
                )
                .into())
            }
            Some(t) if !self.teams().await?.iter().any(|known| known.name == t) => {
                return Err(leadgate_core::FieldError::new(
                    "team",
                    format!("no team is named '{t}'"),
                )
                .into())
            }
            _ => {}
        }
        if name.is_empty() || name.chars().count() > 100 {
            return Err(
                leadgate_core::FieldErrors::from(leadgate_core::FieldError::new(
                    "name",
                    "must be 1 to 100 characters",
                ))
                .into(),
            );
        }
        // The thread's generator is not Send: it must be gone before the next await.
        let (prefix, random) = {
            let mut rng = rand::thread_rng();
            let prefix: String = (&mut rng)
                .sample_iter(Alphanumeric)
                .take(8)
                .map(char::from)
                .collect();
            let random: String = (&mut rng)
                .sample_iter(Alphanumeric)
                .take(32)
                .map(char::from)
                .collect();
            (prefix, random)
        };
        let secret = format!("lg_{prefix}_{random}");
        let key_hash = hash(&secret);
        let now = Ts(Utc::now());
        let key: ApiKey = on_pool!(self, pool => sqlx::query_as(
            "INSERT INTO api_keys (name, prefix, key_hash, created_at, role, team)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING id, name, prefix, role, team, created_at, revoked_at",
        )
        .bind(name)
        .bind(&prefix)
        .bind(&key_hash)
        .bind(now)
        .bind(role.as_str())
        .bind(team)
        .fetch_one(pool)
        .await)?;
        Ok(NewApiKey { key, secret })
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        Ok(on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, name, prefix, role, team, created_at, revoked_at FROM api_keys ORDER BY id",
        )
        .fetch_all(pool)
        .await)?)
    }

    /// Revokes a key by id or prefix. `false` when no live key matched.
    pub async fn revoke_api_key(&self, id_or_prefix: &str) -> Result<bool> {
        let id = id_or_prefix.parse::<i64>().unwrap_or(-1);
        let done = on_pool!(self, pool => sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE (id = $2 OR prefix = $3) AND revoked_at IS NULL",
        )
        .bind(Ts(Utc::now()))
        .bind(id)
        .bind(id_or_prefix)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// The live key a secret belongs to, if any.
    pub async fn verify_api_key(&self, secret: &str) -> Result<Option<ApiKey>> {
        let Some(prefix) = prefix_of(secret) else {
            return Ok(None);
        };
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            key: ApiKey,
            key_hash: String,
        }
        let row: Option<Row> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, name, prefix, role, team, created_at, revoked_at, key_hash FROM api_keys
             WHERE prefix = $1 AND revoked_at IS NULL",
        )
        .bind(prefix)
        .fetch_optional(pool)
        .await)?;
        // Compare hashes, not secrets: the comparison time then reveals nothing useful.
        Ok(row.and_then(|r| (r.key_hash == hash(secret)).then_some(r.key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_needs_the_full_shape() {
        assert_eq!(
            prefix_of("lg_abcdefgh_0123456789abcdef0123456789abcdef"),
            Some("abcdefgh")
        );
        assert_eq!(prefix_of("lg_abcdefgh_short"), None);
        assert_eq!(prefix_of("Bearer x"), None);
        assert_eq!(prefix_of(""), None);
    }
}
