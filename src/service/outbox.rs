//! The outgoing email queue, for admins: what waits, what was sent, what failed and why; and a
//! failed message tried again.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, Ctx};
use crate::db::outbox::{self as store, OutboxRow};
use crate::db::{naive, stored_id, utc};
pub use crate::domain::outbox::MessageStatus;
use crate::domain::policy::Action;
use crate::error::{AppError, AppResult};

/// A message of the queue (its bodies are not shown).
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: Uuid,
    /// What makes a second copy impossible, e.g. `digest:nurse:{user}:{date}`.
    pub dedupe_key: String,
    /// `case_attention`, `nurse_digest`, `patient_reminder`, …
    pub kind: String,
    pub recipient: String,
    pub locale: String,
    pub subject: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The SMTP server's words on the last failed attempt.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl OutboxMessage {
    fn from_row(row: OutboxRow) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            dedupe_key: row.dedupe_key,
            kind: row.kind,
            recipient: row.recipient,
            locale: row.locale,
            subject: row.subject,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: utc(row.next_attempt_at),
            last_error: row.last_error,
            sent_at: row.sent_at.map(utc),
            created_at: utc(row.created_at),
        })
    }
}

/// Which messages, from where, how many.
#[derive(Debug, Clone, Default)]
pub struct OutboxSearch {
    /// Of one status; every status when `None`.
    pub status: Option<MessageStatus>,
    /// Only the messages after this one (the previous page's last).
    pub after: Option<Uuid>,
    /// At most this many.
    pub limit: i64,
}

/// The queue, oldest first: admins only (`Action::ManageOutbox`). One read, no audit (no
/// patient's data is shown: a message's bodies are not).
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    search: OutboxSearch,
) -> AppResult<Vec<OutboxMessage>> {
    caller.may(Action::ManageOutbox)?;
    let status = search.status;
    let after = search.after.map(|id| id.to_string());
    let rows = ctx
        .db
        .run(move |conn| Ok(store::list(conn, status, after.as_deref(), search.limit)?))
        .await?;
    rows.into_iter().map(OutboxMessage::from_row).collect()
}

/// Tries a failed message again, its attempts counted afresh, in one transaction: admins only;
/// 404 for no such message, 409 for one that has not failed.
pub async fn retry(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<OutboxMessage> {
    caller.may(Action::ManageOutbox)?;
    let (id, now) = (id.to_string(), ctx.now());
    let row = ctx
        .db
        .transaction(move |conn| {
            let current = store::find(conn, &id)?.ok_or_else(|| AppError::not_found("message"))?;
            if !store::retry(conn, &id, naive(now))? {
                return Err(AppError::conflict(format!(
                    "only a failed message is retried; this one is {}",
                    current.status
                )));
            }
            store::find(conn, &id)?.ok_or_else(|| AppError::not_found("message"))
        })
        .await?;
    OutboxMessage::from_row(row)
}
