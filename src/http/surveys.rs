//! The microstructures' patient experience survey over HTTP: the doors of `service::surveys`
//! (record one on a case, read a case's).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::extract::Json;
use super::idempotency;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::surveys::{self as service, NewSurvey, Survey, SurveyList};

/// Record the patient's experience survey on a microstructure case, at six months of care or at
/// exit (the one write a closed case accepts).
#[utoipa::path(post, path = "/api/v1/cases/{id}/surveys", tag = "cases", request_body = NewSurvey,
    params(("id" = Uuid, Path, description = "The case"),
        crate::http::idempotency::IdempotencyKey),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded, with a `survey` entry on the case's timeline", body = Survey,
            headers(("Location" = String, description = "The case's surveys"))),
        (status = 403, description = "The case's carers only: the GP, psychologist and social worker of the practice", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A Sésame case (the survey is the microstructures'), a case never included, a six-month survey on a closed case or an exit survey on an open one, or a second survey of the context", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<NewSurvey>,
) -> AppResult<HttpResponse> {
    let key = idempotency::key(&req)?;
    let id = id.into_inner();
    let done = service::record(&state.ctx(), Caller::Actor(&actor), id, body, key).await?;
    let location = format!("/api/v1/cases/{id}/surveys");
    Ok(idempotency::respond(
        StatusCode::CREATED,
        &done,
        Some(location),
        None,
    ))
}

/// The case's patient experience surveys.
#[utoipa::path(get, path = "/api/v1/cases/{id}/surveys", tag = "cases",
    params(("id" = Uuid, Path, description = "The case")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case's surveys, in the order answered", body = SurveyList),
        (status = 403, description = "The practice's clinicians and software only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let surveys = service::list(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(surveys))
}
