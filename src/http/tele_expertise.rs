//! Tele-expertise over HTTP: the doors of `service::tele_expertise` (a question about a case to a
//! psychiatrist covering its practice; accept, decline, answer, cancel; the inbox).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::PageQuery;
use super::extract::{Json, Query};
use super::idempotency;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::tele_expertise::{
    self as service, Answer, Decline, NewTeleExpertise, TeleExpertisePage, TeleExpertiseQuery,
    TeleExpertiseRequest,
};

/// The contract names the list's `side` parameter here.
pub use crate::domain::tele_expertise::Side;

/// Ask the case's referring psychiatrist (or another covering the practice) a question.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tele-expertise", tag = "tele-expertise", request_body = NewTeleExpertise,
    params(("id" = Uuid, Path),
        crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Requested; the expert is told by email", body = TeleExpertiseRequest),
        (status = 403, description = "The case's nurse or a GP of its practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<NewTeleExpertise>,
) -> AppResult<HttpResponse> {
    let key = idempotency::key(&req)?;
    let caller = Caller::Actor(&actor);
    let done = service::create(&state.ctx(), caller, id.into_inner(), body, key).await?;
    let location = format!("/api/v1/tele-expertise/{}", done.value.id);
    let version = done.value.version;
    Ok(idempotency::respond(
        StatusCode::CREATED,
        &done,
        Some(location),
        Some(version),
    ))
}

/// One request.
#[utoipa::path(get, path = "/api/v1/tele-expertise/{id}", tag = "tele-expertise", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = TeleExpertiseRequest),
        (status = 403, description = "GPs, nurses and psychiatrists only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let request = service::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The caller's inbox (an expert) or requests (a requester).
#[utoipa::path(get, path = "/api/v1/tele-expertise", tag = "tele-expertise", params(TeleExpertiseQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests", body = TeleExpertisePage),
        (status = 403, description = "GPs, nurses and psychiatrists only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: Query<TeleExpertiseQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let list = service::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The expert accepts the request.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/accept", tag = "tele-expertise", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Accepted; the requester is told", body = TeleExpertiseRequest),
        (status = 403, description = "The expert only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let request = service::accept(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The expert declines the request, with a reason.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/decline", tag = "tele-expertise", params(("id" = Uuid, Path)), request_body = Decline,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Declined; the requester is told", body = TeleExpertiseRequest),
        (status = 403, description = "The expert only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn decline(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    Json(body): Json<Decline>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let request = service::decline(&state.ctx(), caller, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The expert answers: the answer joins the case's timeline; the billing facts are recorded.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/answer", tag = "tele-expertise", params(("id" = Uuid, Path)), request_body = Answer,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Answered; `billing` says whether it is billable", body = TeleExpertiseRequest),
        (status = 403, description = "The expert only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    Json(body): Json<Answer>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let request = service::answer(&state.ctx(), caller, id.into_inner(), body).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// The requester cancels a request not yet answered.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/cancel", tag = "tele-expertise", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = TeleExpertiseRequest),
        (status = 403, description = "The requester only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let request = service::cancel(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(request))
}
