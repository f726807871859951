//! The outgoing email queue, for admins: what waits, what was sent, what failed and why; and a
//! failed message tried again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Caller, Ctx};
use crate::db::outbox::{self as store, OutboxRow};
use crate::db::{naive, stored_id, utc};
pub use crate::domain::outbox::MessageStatus;
use crate::domain::policy::Action;
use crate::error::{AppError, AppResult};
use crate::service::input::PageQuery;

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

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPage {
    pub items: Vec<OutboxMessage>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    pub status: Option<MessageStatus>,
}

/// A page of the queue, oldest first: admins only (`Action::ManageOutbox`). One read, not audited:
/// a message's bodies are not shown, but its recipient is, and a patient's reminder goes to the
/// patient's own address (an admin's view of the queue, not of the patient's record).
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: OutboxQuery,
    page: PageQuery,
) -> AppResult<OutboxPage> {
    caller.may(Action::ManageOutbox)?;
    let status = query.status;
    let (after, limit) = (page.after.map(|id| id.to_string()), page.fetch_limit());
    let rows = ctx
        .db
        .run(move |conn| Ok(store::list(conn, status, after.as_deref(), limit)?))
        .await?;
    let messages = rows
        .into_iter()
        .map(OutboxMessage::from_row)
        .collect::<AppResult<_>>()?;
    let (items, next_cursor) = page.split(messages, |m| m.id.to_string());
    Ok(OutboxPage { items, next_cursor })
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
