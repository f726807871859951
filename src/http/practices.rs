//! Practices: created and changed by admins; everyone reads the practices they belong to.

use crate::db::locks::{Versioned, lock_for_update};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::auth::parse_id;
use super::extract::{Json, check_version, etag, if_match};
use super::{PageQuery, text_filter};
use crate::app::AppState;
use crate::db::practices::{self as store, PracticeChanges, PracticeFilter, PracticeRow};
use crate::db::{naive, utc};
use crate::domain::policy::{Action, Actor, authorize};
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct Practice {
    pub id: Uuid,
    pub name: String,
    /// The network (réseau) the practice belongs to, if any.
    pub network: Option<String>,
    pub region: String,
    pub active: bool,
    /// Increases with every change; send it back in `If-Match` to update safely.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Practice {
    fn from_row(row: PracticeRow) -> AppResult<Self> {
        Ok(Self {
            id: parse_id(&row.id)?,
            name: row.name,
            network: row.network,
            region: row.region,
            active: row.active,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PracticePage {
    pub items: Vec<Practice>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPractice {
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub network: Option<String>,
    #[validate(custom(function = "super::plain_text"), length(max = 100))]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub region: String,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticeUpdate {
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub network: Option<String>,
    #[validate(custom(function = "super::plain_text"), length(max = 100))]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub region: Option<String>,
    /// `false` deactivates the practice: its API clients can no longer get or use tokens.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PracticeQuery {
    /// Only practices of this network (exact name).
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub network: Option<String>,
    /// Only practices of this region (exact name).
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub region: Option<String>,
    pub active: Option<bool>,
}

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
    authorize(&actor, Action::ManagePractices)?;
    let now = naive(state.clock.now());
    let row = PracticeRow {
        id: Uuid::now_v7().to_string(),
        name: body.name.trim().to_owned(),
        network: body.network.as_deref().map(|n| n.trim().to_owned()),
        region: body.region.trim().to_owned(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let row = state
        .db
        .transaction(move |conn| {
            store::insert(conn, &row)?;
            Ok(row)
        })
        .await?;
    let practice = Practice::from_row(row)?;
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
    query: crate::http::extract::Query<PracticeQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadPractices)?;
    let query = query.into_inner();
    let filter = PracticeFilter {
        network: text_filter("network", query.network)?,
        region: text_filter("region", query.region)?,
        active: query.active,
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let rows = state
        .db
        .run(move |conn| Ok(store::list(conn, &scope, &filter)?))
        .await?;
    let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
    let items = rows
        .into_iter()
        .map(Practice::from_row)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(PracticePage { items, next_cursor }))
}

/// One practice.
#[utoipa::path(get, path = "/api/v1/practices/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "The practice", body = Practice,
        headers(("ETag" = String, description = "The version, for If-Match")))))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadPractices)?;
    let id = id.into_inner().to_string();
    let row = state
        .db
        .run(move |conn| Ok(store::find(conn, &id)?))
        .await?
        .filter(|row| scope.covers(&row.id))
        .ok_or_else(|| AppError::not_found("practice"))?;
    let practice = Practice::from_row(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(practice.version))
        .json(practice))
}

/// Change or deactivate a practice.
#[utoipa::path(patch, path = "/api/v1/practices/{id}", tag = "organisation", request_body = PracticeUpdate,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; the change is refused (412) if the practice changed since")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The practice as changed", body = Practice,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<PracticeUpdate>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManagePractices)?;
    let expected = if_match(&req)?;
    let id = id.into_inner().to_string();
    let now = naive(state.clock.now());
    let changes = PracticeChanges {
        name: body.name.map(|v| v.trim().to_owned()),
        network: body.network.map(|v| Some(v.trim().to_owned())),
        region: body.region.map(|v| v.trim().to_owned()),
        active: body.active,
    };
    let row = state
        .db
        .transaction(move |conn| {
            lock_for_update(conn, Versioned::Practices, &id)?;
            let current = store::find(conn, &id)?.ok_or_else(|| AppError::not_found("practice"))?;
            check_version(expected, current.version)?;
            store::update(conn, &id, &changes, now)?;
            store::find(conn, &id)?.ok_or_else(|| AppError::not_found("practice"))
        })
        .await?;
    let practice = Practice::from_row(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(practice.version))
        .json(practice))
}
