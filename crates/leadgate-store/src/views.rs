//! A person's saved lead lists: the filters of a list kept under a name, to open again.

use crate::time::Ts;
use crate::{on_pool, on_read_pool, Result, Store, StoreError};
use chrono::Utc;
use leadgate_core::FieldError;

/// A saved list: its name and the list's query string.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SavedView {
    pub id: i64,
    pub name: String,
    pub query: String,
}

/// How many lists one person keeps.
pub const MAX_VIEWS: i64 = 50;

impl Store {
    /// A person's saved lists, by name.
    pub async fn saved_views(&self, user_id: i64) -> Result<Vec<SavedView>> {
        Ok(on_read_pool!(self, pool => sqlx::query_as(
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name",
        )
        .bind(user_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Saves a list under a name (1 to 60 characters), replacing the person's list of that
    /// name; at most `MAX_VIEWS` per person.
    pub async fn save_view(&self, user_id: i64, name: &str, query: &str) -> Result<SavedView> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(FieldError::new("name", "must be 1 to 60 characters").into());
        }
        let mut tx = self.begin().await?;
        let kept: i64 = crate::on_tx!(&mut tx, conn => sqlx::query_scalar(
            "SELECT count(*) FROM saved_views WHERE user_id = $1 AND name <> $2",
        )
        .bind(user_id)
        .bind(name)
        .fetch_one(conn)
        .await)?;
        if kept >= MAX_VIEWS {
            return Err(FieldError::new(
                "name",
                format!("you keep {MAX_VIEWS} lists already; delete one first"),
            )
            .into());
        }
        let view: SavedView = crate::on_tx!(&mut tx, conn => sqlx::query_as(
            "INSERT INTO saved_views (user_id, name, query, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query
             RETURNING id, name, query",
        )
        .bind(user_id)
        .bind(name)
        .bind(query)
        .bind(Ts(Utc::now()))
        .fetch_one(conn)
        .await)?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes one of the person's saved lists (another person's is not found).
    pub async fn delete_view(&self, user_id: i64, id: i64) -> Result<()> {
        let gone = on_pool!(self, pool => sqlx::query(
            "DELETE FROM saved_views WHERE id = $1 AND user_id = $2",
        )
        .bind(id)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if gone == 0 {
            return Err(StoreError::NotFound(format!("you have no saved list {id}")));
        }
        Ok(())
    }
}
