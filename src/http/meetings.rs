//! Case review meetings over HTTP: the doors of `service::meetings` (record a meeting of a
//! practice's care team, list its meetings, read one, the agenda proposed for the next one).

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
use crate::service::meetings::{
    self as service, Agenda, Meeting, MeetingPage, MeetingQuery, NewMeeting,
};

/// Record a meeting of the practice's care team: who took part and what it decided, case by case.
#[utoipa::path(post, path = "/api/v1/practices/{id}/meetings", tag = "meetings", request_body = NewMeeting,
    params(("id" = Uuid, Path, description = "The practice"),
        crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded, with the review flags cleared, the timeline entries written and the tele-expertise questions asked", body = Meeting),
        (status = 403, description = "The practice's clinicians only; a tele-expertise question: its GPs, or the case's nurse", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<NewMeeting>,
) -> AppResult<HttpResponse> {
    let key = idempotency::key(&req)?;
    let caller = Caller::Actor(&actor);
    let done = service::hold(&state.ctx(), caller, id.into_inner(), body, key).await?;
    let location = format!("/api/v1/meetings/{}", done.value.id);
    Ok(idempotency::respond(
        StatusCode::CREATED,
        &done,
        Some(location),
        None,
    ))
}

/// The practice's meetings, the most recently held first.
#[utoipa::path(get, path = "/api/v1/practices/{id}/meetings", tag = "meetings",
    params(("id" = Uuid, Path, description = "The practice"), MeetingQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of meetings (without what was decided for coordinators and admins)", body = MeetingPage),
        (status = 403, description = "The practice's clinicians, software and coordinators, and admins, only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`to` before `from`", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    query: Query<MeetingQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let (ctx, caller) = (state.ctx(), Caller::Actor(&actor));
    let page = service::list(
        &ctx,
        caller,
        id.into_inner(),
        query.into_inner(),
        page.into_inner(),
    );
    Ok(HttpResponse::Ok().json(page.await?))
}

/// The agenda the server proposes for the practice's next meeting.
#[utoipa::path(get, path = "/api/v1/practices/{id}/meetings/agenda", tag = "meetings",
    params(("id" = Uuid, Path, description = "The practice")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The open cases to discuss, in priority order", body = Agenda),
        (status = 403, description = "The practice's clinicians only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn agenda(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let agenda = service::agenda(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(agenda))
}

/// One meeting.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The meeting (without what was decided for coordinators and admins)", body = Meeting),
        (status = 403, description = "The practice's clinicians, software and coordinators, and admins, only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let meeting = service::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(meeting))
}
