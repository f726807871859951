//! The outgoing email queue, for admins: what waits, what was sent, what failed and why.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::PageQuery;
use super::auth::parse_id;
use crate::app::AppState;
use crate::db::outbox::{self as store, OutboxRow};
use crate::db::{naive, utc};
use crate::domain::policy::{Action, Actor, authorize};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Claimed by a sender (until its lease expires).
    Sending,
    Sent,
    /// Given up: a permanent refusal, or the last attempt failed.
    Failed,
}

impl MessageStatus {
    fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => store::PENDING,
            MessageStatus::Sending => store::SENDING,
            MessageStatus::Sent => store::SENT,
            MessageStatus::Failed => store::FAILED,
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Sending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

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
            id: parse_id(&row.id)?,
            dedupe_key: row.dedupe_key,
            kind: row.kind,
            recipient: row.recipient,
            locale: row.locale,
            subject: row.subject,
            status: MessageStatus::parse(&row.status)
                .ok_or_else(|| AppError::Internal("stored message status unknown".to_owned()))?,
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

/// The email queue, oldest first.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "outbox", params(OutboxQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of messages", body = OutboxPage),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: crate::http::extract::Query<OutboxQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManageOutbox)?;
    let status = query.status.map(MessageStatus::as_str);
    let after = page.after_id()?;
    let limit = page.fetch_limit();
    let rows = state
        .db
        .run(move |conn| Ok(store::list(conn, status, after.as_deref(), limit)?))
        .await?;
    let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
    let items = rows
        .into_iter()
        .map(OutboxMessage::from_row)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(OutboxPage { items, next_cursor }))
}

/// Try a failed message again (its attempts start afresh).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "outbox", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Pending again", body = OutboxMessage),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message has not failed", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManageOutbox)?;
    let id = id.into_inner().to_string();
    let now = naive(state.clock.now());
    let row = state
        .db
        .transaction(move |conn| {
            let current = store::find(conn, &id)?.ok_or_else(|| AppError::not_found("message"))?;
            if !store::retry(conn, &id, now)? {
                return Err(AppError::conflict(format!(
                    "only a failed message is retried; this one is {}",
                    current.status
                )));
            }
            store::find(conn, &id)?.ok_or_else(|| AppError::not_found("message"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(OutboxMessage::from_row(row)?))
}
