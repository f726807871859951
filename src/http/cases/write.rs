//! Writes on cases over HTTP: the referral, reassignment and review flag, the initial
//! assessment, contacts and phase moves, each one call of `service::cases`. `If-Match` carries
//! the version the caller holds; `Idempotency-Key` makes a retried POST safe.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::http::extract::{Json, if_match, ok_with_etag};
use crate::http::idempotency::{key, respond};
use crate::service::Caller;
use crate::service::cases::{self, Case};
use crate::service::cases::{
    Assessment, CaseUpdate, ContactRecorded, NewCase, NewContact, Transition,
};

/// Refer a patient: creates the case with its screening.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    params(crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Referred", body = Case,
            headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, description = "GPs and API clients of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient in the caller's practices", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The patient already has an open case, or objected to care-team sharing", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn refer(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    Json(body): Json<NewCase>,
) -> AppResult<HttpResponse> {
    let key = key(&req)?;
    let done = cases::refer(&state.ctx(), Caller::Actor(&actor), body, key).await?;
    let location = format!("/api/v1/cases/{}", done.value.id);
    let version = done.value.version;
    Ok(respond(
        StatusCode::CREATED,
        &done,
        Some(location),
        Some(version),
    ))
}

/// Reassign the nurse or the referring psychiatrist, or flag the case for review.
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases", request_body = CaseUpdate,
    params(("id" = Uuid, Path), crate::http::extract::IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case as changed", body = Case),
        (status = 403, description = "Reassignment: GPs and nurses; review flag: nurses and psychiatrists", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<CaseUpdate>,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let caller = Caller::Actor(&actor);
    let case = cases::update(&state.ctx(), caller, id.into_inner(), body, expected).await?;
    Ok(ok_with_etag(case.version, case))
}

/// Record the nurse's initial assessment: baselines and care plan; the case becomes active.
#[utoipa::path(post, path = "/api/v1/cases/{id}/assessment", tag = "cases", request_body = Assessment,
    params(("id" = Uuid, Path),
        crate::http::extract::IfMatch,
        crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case, now active", body = Case),
        (status = 403, description = "Nurses of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is not waiting for its assessment (the allowed moves are listed)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn assess(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<Assessment>,
) -> AppResult<HttpResponse> {
    let (expected, key) = (if_match(&req)?, key(&req)?);
    let caller = Caller::Actor(&actor);
    let done = cases::assess(&state.ctx(), caller, id.into_inner(), body, expected, key).await?;
    Ok(case_changed(&done))
}

/// Log a contact with the patient (completed or not), with optional PHQ-9/GAD-7.
#[utoipa::path(post, path = "/api/v1/cases/{id}/contacts", tag = "cases", request_body = NewContact,
    params(("id" = Uuid, Path),
        crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Logged", body = ContactRecorded,
            headers(("ETag" = String, description = "The case's new version"))),
        (status = 403, description = "Nurses of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed, or still waiting for its assessment", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn log_contact(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<NewContact>,
) -> AppResult<HttpResponse> {
    let key = key(&req)?;
    let caller = Caller::Actor(&actor);
    let done = cases::log_contact(&state.ctx(), caller, id.into_inner(), body, key).await?;
    let location = format!("/api/v1/cases/{}/contacts", done.value.case.id);
    let version = done.value.case.version;
    Ok(respond(
        StatusCode::CREATED,
        &done,
        Some(location),
        Some(version),
    ))
}

/// Move the case to another phase (relapse prevention, back to active on relapse, closed).
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", request_body = Transition,
    params(("id" = Uuid, Path),
        crate::http::extract::IfMatch,
        crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case in its new phase", body = Case),
        (status = 403, description = "Nurses of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`), or the case is closed", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<Transition>,
) -> AppResult<HttpResponse> {
    let (expected, key) = (if_match(&req)?, key(&req)?);
    let caller = Caller::Actor(&actor);
    let id = id.into_inner();
    let done = cases::transition(&state.ctx(), caller, id, body, expected, key).await?;
    Ok(case_changed(&done))
}

/// 200 with the case as it now stands and its version.
fn case_changed(done: &crate::service::idempotency::Done<Case>) -> HttpResponse {
    respond(StatusCode::OK, done, None, Some(done.value.version))
}
