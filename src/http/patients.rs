//! Patients: registered by the GPs of a practice or its software; read by its care team. Every
//! read and write is audited (`service::patients`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::PageQuery;
use super::extract::{Json, Query, if_match, ok_with_etag};
use super::idempotency;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::patients::{
    self, NewPatient, Patient, PatientPage, PatientQuery, PatientUpdate,
};

/// Register a patient.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = NewPatient,
    params(crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = Patient),
        (status = 403, description = "GPs and API clients of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This external id is already used in the practice", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    Json(body): Json<NewPatient>,
) -> AppResult<HttpResponse> {
    let key = idempotency::key(&req)?;
    let done = patients::register(&state.ctx(), Caller::Actor(&actor), body, key).await?;
    let location = format!("/api/v1/patients/{}", done.value.id);
    let version = done.value.version;
    Ok(idempotency::respond(
        StatusCode::CREATED,
        &done,
        Some(location),
        Some(version),
    ))
}

/// Patients of the caller's practices, oldest first.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PatientQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of patients", body = PatientPage),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: Query<PatientQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let page = patients::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One patient.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The patient", body = Patient),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let patient = patients::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(ok_with_etag(patient.version, patient))
}

/// Change a patient's identity, contact details, INS or consent.
#[utoipa::path(patch, path = "/api/v1/patients/{id}", tag = "patients", request_body = PatientUpdate,
    params(("id" = Uuid, Path), crate::http::extract::IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The patient as changed", body = Patient),
        (status = 403, description = "GPs and API clients of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This external id is already used in the practice", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<PatientUpdate>,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let caller = Caller::Actor(&actor);
    let patient = patients::update(&state.ctx(), caller, id.into_inner(), body, expected).await?;
    Ok(ok_with_etag(patient.version, patient))
}
