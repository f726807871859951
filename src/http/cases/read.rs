//! Reads of cases over HTTP: one case, lists with filters, contacts, the timeline, the
//! worklist, each one call of `service::cases`.

use actix_web::{HttpResponse, web};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::http::PageQuery;
use crate::http::extract::{Query, ok_with_etag};
use crate::service::Caller;
use crate::service::cases::{self, Case};
use crate::service::cases::{CasePage, CaseQuery, ContactPage, Timeline, Worklist};

/// Cases of the caller's practices, oldest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of cases", body = CasePage),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: Query<CaseQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let page = cases::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One case, with its derived state.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = Case),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let case = cases::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(ok_with_etag(case.version, case))
}

/// A case's contacts, most recent first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/contacts", tag = "cases", params(("id" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of contacts", body = ContactPage),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn contacts(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let page = cases::contacts(&state.ctx(), caller, id.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Everything that happened to a case: referral, assessment, contacts, scores, phase moves,
/// reassignments and review flags, in time order.
#[utoipa::path(get, path = "/api/v1/cases/{id}/timeline", tag = "cases", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case's timeline", body = Timeline),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn timeline(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let timeline = cases::timeline(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(timeline))
}

/// The caller's caseload in priority order. A nurse: the open cases assigned to them and the
/// referrals of their practices waiting for assessment. A psychiatrist: the open cases they are
/// referring psychiatrist of, and those of their practices that need review. A GP: the open cases
/// they referred.
#[utoipa::path(get, path = "/api/v1/worklist", tag = "cases",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caseload, most urgent first", body = Worklist),
        (status = 403, description = "Nurses, psychiatrists and GPs only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn worklist(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let worklist = cases::worklist(&state.ctx(), Caller::Actor(&actor)).await?;
    Ok(HttpResponse::Ok().json(worklist))
}
