//! Email templates and the outbox: emails rendered for a lead (never to a person who refused
//! email), each sent by a job that marks it `sending` first, so a crash between sending and
//! marking leaves it `uncertain` rather than sent twice.

use crate::jobs::{ClaimedJob, NewJob};
use crate::leads::NewEvent;
use crate::time::{to_micros, Ts};
use crate::{on_pool, on_read_pool, on_tx, Result, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use leadgate_core::email::{EmailState, EmailTemplate};
use leadgate_core::id::LeadId;
use leadgate_core::job::JobKind;
use leadgate_core::{EventDraft, EventType};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::Serialize;
use serde_json::json;

/// An email in the outbox.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Email {
    pub id: i64,
    pub lead_id: LeadId,
    pub template: Option<String>,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    #[sqlx(try_from = "String")]
    pub state: EmailState,
    pub message_id: String,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: Ts,
    pub sent_at: Option<Ts>,
}

/// What a send job should do with its email.
#[derive(Debug, Clone)]
pub enum Sending {
    /// Send it (it is marked `sending` now).
    Send(Box<Email>),
    /// Nothing: it was sent, or an earlier attempt may have sent it (now `uncertain`).
    Nothing(String),
}

const EMAIL_COLUMNS: &str = "id, lead_id, template, to_address, subject, body, state, message_id, \
                             error, created_by, created_at, sent_at";

impl Tx {
    async fn email(&mut self, id: i64) -> Result<Email> {
        let sql = format!("SELECT {EMAIL_COLUMNS} FROM emails WHERE id = $1");
        let email: Option<Email> =
            on_tx!(self, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)?;
        email.ok_or_else(|| StoreError::NotFound(format!("no email has id {id}")))
    }

    /// Renders template `name` for the lead into the outbox, with its send job. Refused for a
    /// person who refused email or has no address.
    pub async fn queue_email(
        &mut self,
        lead_id: LeadId,
        name: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Email> {
        let lead = self
            .lead(lead_id, true)
            .await?
            .ok_or(StoreError::LeadNotFound(lead_id))?;
        if lead.do_not_email {
            return Err(StoreError::Conflict {
                field: "lead".into(),
                reason: format!("the person behind lead {lead_id} refused email (Do Not Email)"),
            });
        }
        let Some(to) = lead.lead.email.as_ref().map(|e| e.as_str().to_owned()) else {
            return Err(StoreError::Conflict {
                field: "lead".into(),
                reason: format!("lead {lead_id} has no email address"),
            });
        };
        let bounced: Option<i64> = on_tx!(self, conn => sqlx::query_scalar(
            "SELECT id FROM emails WHERE to_address = $1 AND state = 'bounced' LIMIT 1",
        )
        .bind(&to)
        .fetch_optional(conn)
        .await)?;
        if let Some(email) = bounced {
            return Err(StoreError::Conflict {
                field: "lead".into(),
                reason: format!(
                    "the address {to} bounced (email {email}): correct the lead's email first"
                ),
            });
        }
        let row: Option<(String, String)> = on_tx!(self, conn => sqlx::query_as(
            "SELECT subject, body FROM email_templates WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(conn)
        .await)?;
        let (subject, body) = row
            .ok_or_else(|| StoreError::NotFound(format!("no email template is named '{name}'")))?;
        let template = EmailTemplate { subject, body };
        let (subject, body) = template.render(
            &lead.lead,
            lead.id,
            lead.lead.owner.as_ref().map(|o| o.as_str()),
        );
        self.outbox(lead_id, Some(name), &to, &subject, &body, actor, now)
            .await
    }

    /// Puts an email in the outbox with its send job: to the lead, or (reminders) to a rep
    /// about the lead.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn outbox(
        &mut self,
        lead_id: LeadId,
        template: Option<&str>,
        to: &str,
        subject: &str,
        body: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Email> {
        let message_id = format!(
            "{}.{}@leadgate",
            lead_id,
            rand::thread_rng()
                .sample_iter(Alphanumeric)
                .take(20)
                .map(char::from)
                .collect::<String>()
        );
        let id: i64 = on_tx!(self, conn => sqlx::query_scalar(
            "INSERT INTO emails (lead_id, template, to_address, subject, body, state, message_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8) RETURNING id",
        )
        .bind(lead_id)
        .bind(template)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(&message_id)
        .bind(actor)
        .bind(Ts(to_micros(now)))
        .fetch_one(conn)
        .await)?;
        self.enqueue_job(
            &NewJob::new(JobKind::SendEmail, json!({"email_id": id}), now)
                .keyed(format!("email:{id}")),
        )
        .await?;
        self.email(id).await
    }
}

fn email_id(job: &ClaimedJob) -> Result<i64> {
    job.payload["email_id"]
        .as_i64()
        .ok_or_else(|| StoreError::Conflict {
            field: "payload.email_id".into(),
            reason: "a send job names its email".into(),
        })
}

impl Store {
    /// Creates or replaces template `name`. Returns whether it is new.
    pub async fn put_email_template(&self, name: &str, template: &EmailTemplate) -> Result<bool> {
        let ok = !name.trim().is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(leadgate_core::FieldError::new(
                "name",
                "must be 1 to 64 letters, digits, - or _",
            )
            .into());
        }
        let created: bool = on_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO email_templates (name, subject, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (name) DO UPDATE SET subject = excluded.subject, body = excluded.body,
                 updated_at = excluded.updated_at
             RETURNING created_at = updated_at",
        )
        .bind(name)
        .bind(&template.subject)
        .bind(&template.body)
        .bind(Ts(to_micros(Utc::now())))
        .fetch_one(pool)
        .await)?;
        Ok(created)
    }

    /// Templates by name.
    pub async fn email_templates(&self) -> Result<Vec<(String, EmailTemplate)>> {
        let rows: Vec<(String, String, String)> = on_read_pool!(self, pool => sqlx::query_as(
            "SELECT name, subject, body FROM email_templates ORDER BY name",
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(name, subject, body)| (name, EmailTemplate { subject, body }))
            .collect())
    }

    /// Puts template `name`, rendered for the lead, in the outbox.
    pub async fn queue_email(&self, lead_id: LeadId, name: &str, actor: &str) -> Result<Email> {
        let mut tx = self.begin().await?;
        let email = tx.queue_email(lead_id, name, actor, Utc::now()).await?;
        tx.commit().await?;
        Ok(email)
    }

    /// The outbox, newest first (one lead's, or all).
    /// Marks an email undeliverable, with what the receiving server said. `false` when it
    /// was already marked.
    pub async fn email_bounced(&self, email_id: i64, diagnostic: &str) -> Result<bool> {
        let changed = crate::on_pool!(self, pool => sqlx::query(
            "UPDATE emails SET state = 'bounced', error = $1 WHERE id = $2 AND state <> 'bounced'",
        )
        .bind(diagnostic)
        .bind(email_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(changed > 0)
    }

    /// The email whose Message-ID is `token` (the unguessable part of its tracking and
    /// unsubscribe addresses); `None` when there is none.
    pub async fn email_by_token(&self, token: &str) -> Result<Option<Email>> {
        let sql = format!("SELECT {EMAIL_COLUMNS} FROM emails WHERE message_id = $1");
        Ok(crate::on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(token)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn emails(&self, lead_id: Option<LeadId>, limit: i64) -> Result<Vec<Email>> {
        let sql = format!(
            "SELECT {EMAIL_COLUMNS} FROM emails WHERE ($1 IS NULL OR lead_id = $1) ORDER BY id DESC LIMIT $2"
        );
        Ok(on_read_pool!(self, pool => sqlx::query_as(&sql)
            .bind(lead_id)
            .bind(limit.clamp(1, 1000))
            .fetch_all(pool)
            .await)?)
    }

    /// Takes a send job's email: marked `sending` (committed) before it goes out. One still
    /// `sending` had an attempt die mid-send: it becomes `uncertain` and is not sent again.
    pub async fn begin_send(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<Sending> {
        let id = email_id(job)?;
        let now = Ts(to_micros(now));
        let mut tx = self.begin().await?;
        let email = tx.email(id).await?;
        let nothing = match email.state {
            EmailState::Sent | EmailState::Bounced => Some("already sent".to_owned()),
            EmailState::Sending | EmailState::Uncertain => {
                on_tx!(&mut tx, conn => sqlx::query(
                    "UPDATE emails SET state = 'uncertain',
                        error = 'an attempt stopped between sending and recording it; check the mailbox before resending'
                     WHERE id = $1",
                )
                .bind(id)
                .execute(conn)
                .await
                .map(|_| ()))?;
                Some("uncertain: not sent again".to_owned())
            }
            EmailState::Queued | EmailState::Failed => None,
        };
        if let Some(reason) = nothing {
            tx.finish_claim(job, now).await?;
            tx.commit().await?;
            return Ok(Sending::Nothing(reason));
        }
        on_tx!(&mut tx, conn => sqlx::query("UPDATE emails SET state = 'sending' WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        Ok(Sending::Send(Box::new(Email {
            state: EmailState::Sending,
            ..email
        })))
    }

    /// The SMTP server took the email: it is sent (an `email_sent` event on the lead), and
    /// the job done.
    pub async fn email_sent(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<()> {
        let id = email_id(job)?;
        let now = Ts(to_micros(now));
        let mut tx = self.begin().await?;
        let email = tx.email(id).await?;
        tx.finish_claim(job, now).await?;
        on_tx!(&mut tx, conn => sqlx::query("UPDATE emails SET state = 'sent', sent_at = $1, error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        let event = EventDraft::new(
            EventType::EmailSent,
            now.0,
            json!({"email_id": id, "template": email.template, "subject": email.subject,
                   "message_id": email.message_id}),
        )
        .with_actor(&email.created_by);
        tx.insert_events(
            &[NewEvent {
                lead_id: email.lead_id,
                draft: &event,
            }],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The SMTP server refused it or could not be reached: nothing went out, so it waits for
    /// the job's next attempt (`failed` after the last).
    pub async fn email_not_sent(
        &self,
        job: &ClaimedJob,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let id = email_id(job)?;
        let state = match self.fail_job(job, error, now).await? {
            Some(leadgate_core::job::JobState::Dead) => EmailState::Failed,
            _ => EmailState::Queued,
        };
        on_pool!(self, pool => sqlx::query("UPDATE emails SET state = $1, error = $2 WHERE id = $3 AND state = 'sending'")
            .bind(state.as_str())
            .bind(error)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Queues a failed or uncertain email again (a person checked it did not arrive).
    pub async fn resend_email(&self, id: i64) -> Result<Email> {
        let mut tx = self.begin().await?;
        let email = tx.email(id).await?;
        if !email.state.can_resend() {
            return Err(StoreError::Conflict {
                field: "state".into(),
                reason: format!(
                    "email {id} is {}; only failed or uncertain emails are resent",
                    email.state
                ),
            });
        }
        on_tx!(&mut tx, conn => sqlx::query("UPDATE emails SET state = 'queued' WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map(|_| ()))?;
        tx.enqueue_job(&NewJob::new(
            JobKind::SendEmail,
            json!({"email_id": id}),
            Utc::now(),
        ))
        .await?;
        let email = tx.email(id).await?;
        tx.commit().await?;
        Ok(email)
    }
}
