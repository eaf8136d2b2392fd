//! Versioned policies: every applied document is kept with its author and message; the
//! newest version of a product's policy is the one in force.

use crate::time::Ts;
use crate::{on_read_pool, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use leadgate_core::policy::Policy;
use std::sync::Arc;

/// One stored version of a product's policy.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PolicyVersion {
    pub id: i64,
    pub product: String,
    pub version: i64,
    pub name: String,
    pub document: String,
    pub author: String,
    pub message: String,
    #[sqlx(rename = "created_at")]
    created: Ts,
}

impl PolicyVersion {
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created.0
    }
}

/// The policy in force for a product: a stored version, or the starter policy (version 0)
/// until one is applied.
#[derive(Debug, Clone)]
pub struct ActivePolicy {
    pub version: i64,
    pub policy: Arc<Policy>,
}

const COLUMNS: &str = "id, product, version, name, document, author, message, created_at";

impl Store {
    /// Checks a document and stores it as the next version of its product's policy. A
    /// document with mistakes is refused and the policy in force stays as it was.
    pub async fn apply_policy(
        &self,
        document: &str,
        author: &str,
        message: &str,
    ) -> Result<PolicyVersion> {
        // One kind of line ending (a browser's text area sends CRLF), so a version's diff
        // from the one before shows only the lines that changed.
        let document = &document.replace("\r\n", "\n");
        let policy = Policy::parse(document).map_err(StoreError::Policy)?;
        if message.trim().is_empty() {
            return Err(StoreError::Invalid(
                leadgate_core::FieldError::new("message", "say why the policy changes").into(),
            ));
        }
        self.check_routing_teams(&policy).await?;
        let sql = format!(
            "INSERT INTO policies (product, version, name, document, author, message, created_at)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6 FROM policies WHERE product = $1
             RETURNING {COLUMNS}"
        );
        let mut tx = self.begin().await?;
        let stored: PolicyVersion = crate::on_tx!(&mut tx, conn => sqlx::query_as(&sql)
            .bind(&policy.product)
            .bind(&policy.name)
            .bind(document)
            .bind(author)
            .bind(message.trim())
            .bind(Ts(Utc::now()))
            .fetch_one(conn)
            .await)
        .map_err(|e| {
            crate::conflict_on(
                e,
                "policy",
                "another version was applied at the same moment; apply again",
            )
        })?;
        // Which event types start automation for this product now.
        crate::on_tx!(&mut tx, conn => sqlx::query("DELETE FROM automation_triggers WHERE product = $1")
            .bind(&policy.product)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let mut triggers: Vec<&str> = policy.automation.iter().map(|r| r.on.name()).collect();
        triggers.sort_unstable();
        triggers.dedup();
        for event_type in triggers {
            crate::on_tx!(&mut tx, conn => sqlx::query("INSERT INTO automation_triggers (product, event_type) VALUES ($1, $2)")
                .bind(&policy.product)
                .bind(event_type)
                .execute(conn)
                .await
                .map(|_| ()))?;
        }
        // Every lead of the product is scored again under it, page by page, in the background
        // or by whoever applied it (`RescoreRun`).
        tx.start_rescore(&policy.product, stored.version, stored.created_at())
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The policy in force for a product.
    pub async fn active_policy(&self, product: &str) -> Result<ActivePolicy> {
        let sql = format!(
            "SELECT {COLUMNS} FROM policies WHERE product = $1 ORDER BY version DESC LIMIT 1"
        );
        let row: Option<PolicyVersion> = on_read_pool!(self, pool => sqlx::query_as(&sql).bind(product).fetch_optional(pool).await)?;
        let (version, document) = match &row {
            Some(stored) => (stored.version, stored.document.as_str()),
            None => (0, Policy::STARTER),
        };
        let key = (product.to_owned(), version);
        let cached = self
            .parsed_policies
            .lock()
            .ok()
            .and_then(|cache| cache.get(&key).cloned());
        let policy = match cached {
            Some(policy) => policy,
            None => {
                let parsed = Arc::new(Policy::parse(document).map_err(StoreError::Policy)?);
                if let Ok(mut cache) = self.parsed_policies.lock() {
                    cache.insert(key, parsed.clone());
                }
                parsed
            }
        };
        Ok(ActivePolicy { version, policy })
    }

    /// Every stored version, newest first; of one product if given.
    pub async fn policy_versions(&self, product: Option<&str>) -> Result<Vec<PolicyVersion>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM policies WHERE ($1 IS NULL OR product = $1) ORDER BY product, version DESC"
        );
        Ok(on_read_pool!(self, pool => sqlx::query_as(&sql).bind(product).fetch_all(pool).await)?)
    }

    pub async fn policy_version(&self, product: &str, version: i64) -> Result<PolicyVersion> {
        let sql = format!("SELECT {COLUMNS} FROM policies WHERE product = $1 AND version = $2");
        let row: Option<PolicyVersion> = on_read_pool!(self, pool => sqlx::query_as(&sql).bind(product).bind(version).fetch_optional(pool).await)?;
        row.ok_or_else(|| {
            StoreError::NotFound(format!("policy '{product}' has no version {version}"))
        })
    }
}
