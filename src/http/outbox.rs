//! The outgoing email queue, for admins: `GET /outbox` and `POST /outbox/{id}/retry`. The
//! operations are in `service::outbox`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::PageQuery;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::outbox::{self, MessageStatus, OutboxMessage, OutboxSearch};

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
    let search = OutboxSearch {
        status: query.status,
        after: page.after,
        limit: page.fetch_limit(),
    };
    let messages = outbox::list(&state.ctx(), Caller::Actor(&actor), search).await?;
    let (items, next_cursor) = page.split(messages, |m| m.id.to_string());
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
    let message = outbox::retry(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(message))
}
