//! The outgoing email queue, for admins: `GET /outbox` and `POST /outbox/{id}/retry`. The
//! operations are in `service::outbox`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::PageQuery;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::outbox::{self, OutboxMessage, OutboxPage, OutboxQuery};

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
    let caller = Caller::Actor(&actor);
    let page = outbox::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
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
