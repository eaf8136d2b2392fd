//! Web-to-lead form definitions, stored by key.

use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use leadgate_core::form::FormDefinition;

/// A stored form.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredForm {
    pub key: String,
    pub definition: FormDefinition,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct FormRow {
    key: String,
    definition: String,
    created_at: Ts,
    updated_at: Ts,
}

impl TryFrom<FormRow> for StoredForm {
    type Error = StoreError;
    fn try_from(row: FormRow) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(&row.definition)
            .map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))?;
        let definition = FormDefinition::parse(&value)?;
        Ok(StoredForm {
            key: row.key,
            definition,
            created_at: row.created_at.0,
            updated_at: row.updated_at.0,
        })
    }
}

impl Store {
    /// Creates or replaces the form at `key`. Returns whether it is new.
    pub async fn save_form(&self, key: &str, definition: &FormDefinition) -> Result<bool> {
        leadgate_core::form::check_key(key).map_err(leadgate_core::FieldErrors::from)?;
        let text = serde_json::to_string(definition)
            .map_err(|e| StoreError::from(sqlx::Error::Encode(Box::new(e))))?;
        let now = Ts(to_micros(Utc::now()));
        let created: bool = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO forms (key, definition, created_at, updated_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (key) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
             RETURNING created_at = updated_at",
        )
        .bind(key)
        .bind(text)
        .bind(now)
        .fetch_one(pool)
        .await)?;
        Ok(created)
    }

    pub async fn form(&self, key: &str) -> Result<StoredForm> {
        let row: Option<FormRow> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT key, definition, created_at, updated_at FROM forms WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(pool)
        .await)?;
        row.ok_or_else(|| StoreError::NotFound(format!("no form has key '{key}'")))?
            .try_into()
    }

    pub async fn forms(&self) -> Result<Vec<StoredForm>> {
        let rows: Vec<FormRow> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT key, definition, created_at, updated_at FROM forms ORDER BY key",
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(StoredForm::try_from).collect()
    }
}
