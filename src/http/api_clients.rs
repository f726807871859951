//! API clients: machine accounts of practice software, bound to one practice. The secret is shown
//! once, at creation, and only its digest is kept.

use crate::db::locks::{Versioned, lock_for_update};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::PageQuery;
use super::auth::parse_id;
use super::extract::{Json, check_version, etag, if_match};
use crate::app::AppState;
use crate::db::accounts::{self as store, ApiClientChanges, ApiClientRow};
use crate::db::{self, naive, utc};
use crate::domain::credentials::{random_secret, secret_digest};
use crate::domain::policy::{Action, Actor, authorize};
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClient {
    /// The `client_id` of the client-credentials grant.
    pub id: Uuid,
    pub practice_id: Uuid,
    pub name: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApiClient {
    fn from_row(row: ApiClientRow) -> AppResult<Self> {
        Ok(Self {
            id: parse_id(&row.id)?,
            practice_id: parse_id(&row.practice_id)?,
            name: row.name,
            active: row.active,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// A new API client with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClientWithSecret {
    #[serde(flatten)]
    pub client: ApiClient,
    /// The `client_secret` of the client-credentials grant. Keep it: it cannot be shown again.
    pub client_secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiClientPage {
    pub items: Vec<ApiClient>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiClient {
    pub practice_id: Uuid,
    /// What the software is, e.g. "Cabinet Voltaire — logiciel métier".
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiClientUpdate {
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    /// `false` deactivates the client: its tokens stop working at once.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiClientQuery {
    /// Only the clients of this practice.
    pub practice_id: Option<Uuid>,
}

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
    authorize(&actor, Action::ManageApiClients)?;
    let now = naive(state.clock.now());
    let secret = random_secret();
    let row = ApiClientRow {
        id: Uuid::now_v7().to_string(),
        practice_id: body.practice_id.to_string(),
        name: body.name.trim().to_owned(),
        secret_hash: secret_digest(&secret),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let row = state
        .db
        .transaction(move |conn| {
            if db::practices::find(conn, &row.practice_id)?.is_none() {
                return Err(AppError::invalid("practice_id", "no such practice"));
            }
            store::insert_api_client(conn, &row)?;
            Ok(row)
        })
        .await?;
    let client = ApiClient::from_row(row)?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/api-clients/{}", client.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(ApiClientWithSecret {
            client,
            client_secret: secret,
        }))
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
    query: crate::http::extract::Query<ApiClientQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManageApiClients)?;
    let practice_id = query.practice_id.map(|p| p.to_string());
    let after = page.after_id()?;
    let limit = page.fetch_limit();
    let rows = state
        .db
        .run(move |conn| {
            Ok(store::list_api_clients(
                conn,
                practice_id.as_deref(),
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
    let items = rows
        .into_iter()
        .map(ApiClient::from_row)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(ApiClientPage { items, next_cursor }))
}

/// One API client.
#[utoipa::path(get, path = "/api/v1/api-clients/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The API client", body = ApiClient,
            headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManageApiClients)?;
    let id = id.into_inner().to_string();
    let row = state
        .db
        .run(move |conn| Ok(store::find_api_client(conn, &id)?))
        .await?
        .ok_or_else(|| AppError::not_found("API client"))?;
    let client = ApiClient::from_row(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(client.version))
        .json(client))
}

/// Rename or deactivate an API client.
#[utoipa::path(patch, path = "/api/v1/api-clients/{id}", tag = "organisation", request_body = ApiClientUpdate,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; the change is refused (412) if the client changed since")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The API client as changed", body = ApiClient,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<ApiClientUpdate>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManageApiClients)?;
    let expected = if_match(&req)?;
    let id = id.into_inner().to_string();
    let now = naive(state.clock.now());
    let changes = ApiClientChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        active: body.active,
    };
    let row = state
        .db
        .transaction(move |conn| {
            lock_for_update(conn, Versioned::ApiClients, &id)?;
            let current = store::find_api_client(conn, &id)?
                .ok_or_else(|| AppError::not_found("API client"))?;
            check_version(expected, current.version)?;
            store::update_api_client(conn, &id, &changes, now)?;
            if changes.active.is_some() {
                // Tokens issued before a deactivation (or a reactivation) stop working now.
                crate::db::sessions::revoke_all_of(conn, &id, now)?;
            }
            store::find_api_client(conn, &id)?.ok_or_else(|| AppError::not_found("API client"))
        })
        .await?;
    let client = ApiClient::from_row(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(client.version))
        .json(client))
}
