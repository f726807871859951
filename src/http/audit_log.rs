//! The audit log, for admins: `GET /audit`. The operation is `service::audit::list`.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::audit::{self, AuditEvent, AuditQuery};

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of audit events", body = AuditPage),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`to` before `from`", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: crate::http::extract::Query<AuditQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let (after, limit) = (page.after, page.fetch_limit());
    let events = audit::list(
        &state.ctx(),
        Caller::Actor(&actor),
        query.into_inner(),
        after,
        limit,
    )
    .await?;
    let (items, next_cursor) = page.split(events, |e| e.id.to_string());
    Ok(HttpResponse::Ok().json(AuditPage { items, next_cursor }))
}
