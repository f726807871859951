//! API clients: machine accounts of practice software, bound to one practice
//! (`service::api_clients`). The secret is shown once, at creation.

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::PageQuery;
use super::extract::{Json, Query, if_match, ok_with_etag};
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::api_clients::{
    self, ApiClient, ApiClientPage, ApiClientQuery, ApiClientUpdate, ApiClientWithSecret,
    NewApiClient,
};

/// Create an API client for one practice.
#[utoipa::path(post, path = "/api/v1/api-clients", tag = "organisation", request_body = NewApiClient,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the secret is in this response only", body = ApiClientWithSecret),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(body): Json<NewApiClient>,
) -> AppResult<HttpResponse> {
    let created = api_clients::create(&state.ctx(), Caller::Actor(&actor), body).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/api-clients/{}", created.client.id),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .json(created))
}

/// API clients, oldest first.
#[utoipa::path(get, path = "/api/v1/api-clients", tag = "organisation", params(ApiClientQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of API clients", body = ApiClientPage),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: Query<ApiClientQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let page =
        api_clients::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One API client.
#[utoipa::path(get, path = "/api/v1/api-clients/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The API client", body = ApiClient),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let client = api_clients::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(ok_with_etag(client.version, client))
}

/// Rename or deactivate an API client.
#[utoipa::path(patch, path = "/api/v1/api-clients/{id}", tag = "organisation", request_body = ApiClientUpdate,
    params(("id" = Uuid, Path), crate::http::extract::IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The API client as changed", body = ApiClient),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<ApiClientUpdate>,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let caller = Caller::Actor(&actor);
    let client = api_clients::update(&state.ctx(), caller, id.into_inner(), body, expected).await?;
    Ok(ok_with_etag(client.version, client))
}
