//! User accounts: admins create, change, deactivate and unlock them; coordinators read the
//! accounts of their practices (`service::accounts`).

use actix_web::{HttpRequest, HttpResponse, web};
use uuid::Uuid;

use super::PageQuery;
use super::extract::{Json, Query, etag, if_match, ok_with_etag};
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::accounts::{self, NewUser, User, UserPage, UserQuery, UserUpdate};

/// Create an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "organisation", request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = User),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is already used", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    Json(body): Json<NewUser>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let record = accounts::create(&state.db, caller, body.into(), state.clock.now()).await?;
    let user = User::from_record(record, false)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", user.id)))
        .insert_header(etag(user.version))
        .json(user))
}

/// Accounts the caller may read (all for an admin; a coordinator's practices), oldest first.
#[utoipa::path(get, path = "/api/v1/users", tag = "organisation", params(UserQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of accounts", body = UserPage),
        (status = 403, description = "Admins and coordinators only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: Query<UserQuery>,
    page: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let caller = Caller::Actor(&actor);
    let page = accounts::list(&state.ctx(), caller, query.into_inner(), page.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = User),
        (status = 403, description = "Admins and coordinators only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let user = accounts::get(&state.ctx(), Caller::Actor(&actor), id.into_inner()).await?;
    Ok(ok_with_etag(user.version, user))
}

/// Change, deactivate, unlock an account or set its password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "organisation", request_body = UserUpdate,
    params(("id" = Uuid, Path), crate::http::extract::IfMatch),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account as changed", body = User),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin cannot deactivate, lock or demote their own account", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<UserUpdate>,
) -> AppResult<HttpResponse> {
    let expected = if_match(&req)?;
    let caller = Caller::Actor(&actor);
    let user = accounts::update(&state.ctx(), caller, id.into_inner(), body, expected).await?;
    Ok(ok_with_etag(user.version, user))
}
