//! Practices: created and changed by admins; everyone reads the practices they belong to
//! (`service::practices`).

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::PageQuery;
use super::extract::{Json, Query, etag, if_match, ok_with_etag};
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::practices::{
    self, NewPractice, Practice, PracticePage, PracticeQuery, PracticeUpdate,
};

/// Create a practice.
#[utoipa::path(post, path = "/api/v1/practices", tag = "organisation", request_body = NewPractice,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Practice),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(body): Json<NewPractice>,
) -> AppResult<HttpResponse> {
    let practice = practices::create(&state.ctx(), Caller::Actor(&actor), body).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/practices/{}", practice.id)))
        .insert_header(etag(practice.version))
        .json(practice))
}

/// The practices the caller may see (all of them for an admin), oldest first.
#[utoipa::path(get, path = "/api/v1/practices", tag = "organisation", params(PracticeQuery, PageQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One page of practices", body = PracticePage)))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: Query<PracticeQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let page = practices::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One practice.
#[utoipa::path(get, path = "/api/v1/practices/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The practice", body = Practice)))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let practice = practices::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(ok_with_etag(practice.version, practice))
}

/// Change or deactivate a practice.
#[utoipa::path(patch, path = "/api/v1/practices/{id}", tag = "organisation", request_body = PracticeUpdate,
    params(("id" = Uuid, Path), crate::http::extract::IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The practice as changed", body = Practice),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<PracticeUpdate>,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let caller = Caller::Actor(&actor);
    let practice = practices::update(&state.ctx(), caller, id.into_inner(), body, expected).await?;
    Ok(ok_with_etag(practice.version, practice))
}
