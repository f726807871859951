//! User accounts: admins create, change, deactivate and unlock them; coordinators read the
//! accounts of their practices.

use crate::db::locks::{Versioned, lock_for_update};
use crate::service::Caller;
use crate::service::accounts::{self, NewAccount};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::auth::parse_id;
use super::extract::{Json, check_version, etag, if_match};
use super::{PageQuery, uuids_as_strings};
use crate::app::AppState;
use crate::db::accounts::{self as store, UserChanges, UserFilter, UserRecord, UserRow};
use crate::db::{self, naive, utc};
use crate::domain::account::{Locale, Role};
use crate::domain::credentials::hash_password;
use crate::domain::policy::{Action, Actor, authorize};
use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub practice_ids: Vec<Uuid>,
    pub locale: Locale,
    pub active: bool,
    /// Locked after repeated failed logins (or by an admin); unlock with `locked: false`.
    pub locked: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    fn from_record(record: UserRecord, locked: bool) -> AppResult<Self> {
        let UserRecord { user, practice_ids } = record;
        Ok(Self {
            id: parse_id(&user.id)?,
            email: user.email,
            name: user.name,
            role: Role::parse(&user.role)
                .ok_or_else(|| AppError::Internal("stored role unknown".to_owned()))?,
            practice_ids: practice_ids
                .iter()
                .map(|id| parse_id(id))
                .collect::<AppResult<_>>()?,
            locale: Locale::parse(&user.locale).unwrap_or_default(),
            active: user.active,
            locked,
            version: user.version,
            created_at: utc(user.created_at),
            updated_at: utc(user.updated_at),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[validate(custom(function = "super::email_address"))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    pub role: Role,
    /// The practices the person works in; each must exist.
    #[serde(default)]
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub practice_ids: Vec<Uuid>,
    #[serde(default)]
    pub locale: Locale,
    /// The initial password, 12 to 256 characters.
    #[validate(custom(function = "super::new_password"))]
    #[schema(min_length = 12, max_length = 256, pattern = r"\S")]
    pub password: String,
}

impl From<NewUser> for NewAccount {
    fn from(body: NewUser) -> Self {
        NewAccount {
            email: body.email,
            name: body.name,
            role: body.role,
            practice_ids: uuids_as_strings(&body.practice_ids),
            locale: body.locale,
            password: body.password,
        }
    }
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    pub role: Option<Role>,
    /// Replaces the person's practices.
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub practice_ids: Option<Vec<Uuid>>,
    pub locale: Option<Locale>,
    /// `false` deactivates the account: its tokens stop working at once and it cannot log in.
    pub active: Option<bool>,
    /// `false` unlocks an account locked by failed logins; `true` locks it.
    pub locked: Option<bool>,
    /// Sets a new password (12 to 256 characters).
    #[validate(custom(function = "super::new_password"))]
    #[schema(min_length = 12, max_length = 256, pattern = r"\S")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    /// Only members of this practice.
    pub practice_id: Option<Uuid>,
    pub active: Option<bool>,
}

/// Which of `users` are locked: by an admin (for every address), or after failed logins from
/// some client address.
fn locked_ids(
    conn: &mut db::DbConn,
    state: &AppState,
    users: &[&UserRow],
) -> AppResult<Vec<String>> {
    let policy = state.lockout();
    let now = state.clock.now();
    let since = policy
        .lock_minutes
        .map(|minutes| naive(now - chrono::Duration::minutes(minutes)));
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let mut locked = store::locked_for_some_address(conn, &ids, since)?;
    locked.extend(
        users
            .iter()
            .filter(|u| u.locked_at.is_some())
            .map(|u| u.id.clone()),
    );
    Ok(locked)
}

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
    let record = accounts::create(
        &state.db,
        Caller::Actor(&actor),
        body.into(),
        state.clock.now(),
    )
    .await?;
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
    query: crate::http::extract::Query<UserQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadUsers)?;
    let query = query.into_inner();
    let filter = UserFilter {
        role: query.role.map(|r| r.as_str().to_owned()),
        practice_id: query.practice_id.map(|p| p.to_string()),
        active: query.active,
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let shared = state.clone();
    let at = naive(state.clock.now());
    let (records, locked) = state
        .db
        .transaction(move |conn| {
            crate::db::audit::record_filter_outside_scope(
                conn,
                &actor,
                "user.list",
                filter.practice_id.as_deref(),
                &scope,
                at,
            )?;
            let records = store::list_users(conn, &scope, &filter)?;
            let rows: Vec<&UserRow> = records.iter().map(|r| &r.user).collect();
            let locked = locked_ids(conn, &shared, &rows)?;
            Ok((records, locked))
        })
        .await?;
    let (records, next_cursor) = page.split(records, |r| r.user.id.clone());
    let items = records
        .into_iter()
        .map(|r| {
            let is_locked = locked.contains(&r.user.id);
            User::from_record(r, is_locked)
        })
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(UserPage { items, next_cursor }))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "organisation", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = User,
            headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, description = "Admins and coordinators only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadUsers)?;
    let id = id.into_inner().to_string();
    let shared = state.clone();
    let (record, locked) = state
        .db
        .run(move |conn| {
            let record = store::find_user(conn, &id)?
                .filter(|r| scope.covers_any(r.practice_ids.iter().map(String::as_str)))
                .ok_or_else(|| AppError::not_found("account"))?;
            let locked = !locked_ids(conn, &shared, &[&record.user])?.is_empty();
            Ok((record, locked))
        })
        .await?;
    let user = User::from_record(record, locked)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(user))
}

/// Change, deactivate, unlock an account or set its password.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "organisation", request_body = UserUpdate,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; the change is refused (412) if the account changed since")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account as changed", body = User,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin cannot deactivate, lock or demote their own account", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<UserUpdate>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ManageUsers)?;
    let expected = if_match(&req)?;
    let id = id.into_inner().to_string();
    if id == actor.id
        && (body.active == Some(false)
            || body.locked == Some(true)
            || body.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(AppError::conflict(
            "you cannot deactivate, lock or demote your own account; ask another administrator",
        ));
    }
    let password_hash = match body.password.clone() {
        Some(password) => Some(
            web::block(move || hash_password(&password))
                .await
                .map_err(|_| AppError::Unavailable("the server is shutting down".to_owned()))?
                .map_err(AppError::Internal)?,
        ),
        None => None,
    };
    let now = state.clock.now();
    let changes = UserChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        role: body.role.map(|r| r.as_str().to_owned()),
        locale: body.locale.map(|l| l.as_str().to_owned()),
        active: body.active,
        password_hash,
        failed_logins: body.locked.map(|_| 0),
        locked_at: body.locked.map(|locked| locked.then_some(naive(now))),
    };
    let practice_ids = body.practice_ids.as_deref().map(uuids_as_strings);
    let shared = state.clone();
    let (record, locked) = state
        .db
        .transaction(move |conn| {
            lock_for_update(conn, Versioned::Users, &id)?;
            let current =
                store::find_user(conn, &id)?.ok_or_else(|| AppError::not_found("account"))?;
            check_version(expected, current.user.version)?;
            if let Some(practice_ids) = &practice_ids {
                accounts::require_practices(conn, practice_ids)?;
                store::set_practices(conn, &id, practice_ids)?;
            }
            store::update_user(conn, &id, &changes, naive(now))?;
            if changes.locked_at == Some(None) {
                store::clear_all_login_failures(conn, &id)?;
            }
            // Access tokens issued before a deactivation, a new password, or a lock or unlock
            // stop working now, on every instance: their sessions are revoked with the
            // refresh tokens.
            if changes.active.is_some()
                || changes.password_hash.is_some()
                || changes.locked_at.is_some()
            {
                db::tokens::revoke_all_of_user(conn, &id, naive(now))?;
                db::sessions::revoke_all_of(conn, &id, naive(now))?;
            }
            let record =
                store::find_user(conn, &id)?.ok_or_else(|| AppError::not_found("account"))?;
            let locked = !locked_ids(conn, &shared, &[&record.user])?.is_empty();
            Ok((record, locked))
        })
        .await?;
    let user = User::from_record(record, locked)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(user))
}
