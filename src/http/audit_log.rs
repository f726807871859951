//! The audit log, for admins: `GET /audit`. The operation is `service::audit::list`.

use actix_web::{HttpResponse, web};

use super::PageQuery;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::audit::{self, AuditPage, AuditQuery};

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
    let caller = Caller::Actor(&actor);
    let page = audit::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}
