//! Tokens: the password and client-credentials grants, refresh with rotation, logout, and `/me`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::extract::Json;
use crate::app::AppState;
use crate::db::audit;
use crate::db::tokens::RefreshTokenRow;
use crate::db::{self, accounts, naive, utc};
use crate::domain::account::{Locale, normalize_email};
use crate::domain::credentials::{
    burn_verification_time, random_secret, secret_digest, verify_password,
};
use crate::domain::policy::Actor;
use crate::domain::tokens::{SubjectKind, TokenError};
use crate::error::{AppError, AppResult};
pub use crate::service::accounts::Me;

/// How to obtain a token: a person's email and password, or an API client's credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    Password {
        #[schema(max_length = 254)]
        email: String,
        #[schema(max_length = 256)]
        password: String,
    },
    ClientCredentials {
        client_id: Uuid,
        #[schema(max_length = 256)]
        client_secret: String,
    },
}

impl Validate for TokenRequest {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        // Only lengths: anything else about a credential is for the login to judge (401).
        let too_long = |field: &'static str,
                        value: &str,
                        max: usize,
                        errors: &mut validator::ValidationErrors| {
            if value.chars().count() > max {
                let message = format!("must be at most {max} characters long");
                errors.add(
                    field,
                    validator::ValidationError::new("length").with_message(message.into()),
                );
            }
        };
        let mut errors = validator::ValidationErrors::new();
        match self {
            TokenRequest::Password { email, password } => {
                too_long("email", email, 254, &mut errors);
                too_long("password", password, 256, &mut errors);
            }
            TokenRequest::ClientCredentials { client_secret, .. } => {
                too_long("client_secret", client_secret, 256, &mut errors);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A signed JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// An opaque token for `POST /api/v1/auth/refresh` (people only, not API clients); single use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub refresh_token: String,
}

const BAD_LOGIN: &str = "invalid email or password";
const BAD_CLIENT: &str = "invalid client credentials";
const BAD_REFRESH: &str = "the refresh token is not valid; log in again";

/// Exchange credentials for tokens.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "Tokens issued", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong credentials, or a deactivated account", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 423, description = "Account locked for this client address after repeated failed logins (or by an admin, for every address); `Retry-After` says how long when the lock has an end", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<TokenRequest>,
) -> AppResult<HttpResponse> {
    let addr = admit_to_token_endpoint(&state, &req)?;
    let response = match request {
        TokenRequest::Password { email, password } => {
            password_grant(&state, &normalize_email(&email), password, &addr).await?
        }
        TokenRequest::ClientCredentials {
            client_id,
            client_secret,
        } => client_grant(&state, client_id.to_string(), client_secret, &addr).await?,
    };
    Ok(token_response(response))
}

fn token_response(body: TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn too_many(retry_after: u64) -> AppError {
    AppError::TooManyRequests {
        detail: "too many attempts from your address; wait before trying again".to_owned(),
        retry_after,
    }
}

/// The token endpoints' general limit per client address (every request counts), and the
/// address itself.
fn admit_to_token_endpoint(state: &AppState, req: &HttpRequest) -> AppResult<String> {
    let addr = state.limits.client_addr(req);
    state.limits.auth_requests.take(&addr).map_err(too_many)?;
    Ok(addr)
}

/// Counts a failed authentication from `addr`; the next ones get 429 once the budget is spent.
fn count_failure(state: &AppState, addr: &str) {
    // Spent already: the refusal at hand stands; the next attempt meets the 429.
    let _ = state.limits.auth_failures.take(addr);
}

/// A refused attempt, audited in a transaction of its own (nothing else is written).
async fn audit_refusal(
    state: &AppState,
    who: audit::Attempt,
    action: &'static str,
    reason: &'static str,
) -> AppResult<()> {
    let at = naive(state.clock.now());
    state
        .db
        .transaction(move |conn| Ok(audit::record_refusal(conn, &who, action, reason, at)?))
        .await
}

fn user_attempt(id: &str) -> audit::Attempt {
    audit::Attempt {
        actor_id: id.to_owned(),
        actor_kind: "user",
    }
}

async fn password_grant(
    state: &AppState,
    email: &str,
    password: String,
    addr: &str,
) -> AppResult<TokenResponse> {
    // Spent failures stop the attempt before the (deliberately slow) password check.
    state.limits.auth_failures.peek(addr).map_err(too_many)?;
    let lookup = email.to_owned();
    let pair_addr = addr.to_owned();
    let record = state
        .db
        .run(move |conn| {
            let Some(record) = accounts::find_user_by_email(conn, &lookup)? else {
                return Ok(None);
            };
            let failures = accounts::find_login_failures(conn, &record.user.id, &pair_addr)?;
            Ok(Some((record, failures)))
        })
        .await?;
    let now = state.clock.now();
    let policy = state.lockout();
    let Some((record, failures)) = record else {
        web::block(move || burn_verification_time(&password))
            .await
            .ok();
        count_failure(state, addr);
        let anonymous = audit::Attempt {
            actor_id: audit::ANONYMOUS_ID.to_owned(),
            actor_kind: "anonymous",
        };
        audit_refusal(
            state,
            anonymous,
            "auth.login",
            audit::DENIED_BAD_CREDENTIALS,
        )
        .await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.to_owned()));
    };
    let user = record.user;
    // An admin's lock holds for every address until an admin lifts it; a lock after failed
    // logins holds only for the address they came from (so nobody can lock a colleague out from
    // elsewhere), and for `SESAME_LOCKOUT_MINUTES` when set.
    let pair_lock = failures.as_ref().and_then(|f| f.locked_at).map(utc);
    let refusal = if user.locked_at.is_some() {
        Some((
            "an administrator has locked this account; ask an administrator to unlock it",
            None,
        ))
    } else if policy.is_locked(pair_lock, now) {
        Some((
            "this account is locked for your address after repeated failed logins; try again \
             later, from your usual workstation, or ask an administrator",
            policy
                .lock_remaining(pair_lock, now)
                .map(crate::http::limits::seconds),
        ))
    } else {
        None
    };
    if let Some((detail, retry_after)) = refusal {
        audit_refusal(
            state,
            user_attempt(&user.id),
            "auth.login",
            audit::DENIED_LOCKED,
        )
        .await?;
        return Err(AppError::Locked {
            detail: detail.to_owned(),
            retry_after,
        });
    }
    if let Some(f) = failures.as_ref().filter(|f| f.locked_at.is_none())
        && let Some(wait) = policy.wait_before_next(f.failed, utc(f.last_failed_at), now)
    {
        return Err(AppError::TooManyRequests {
            detail: "too many failed logins for this account from your address; wait before \
                     trying again"
                .to_owned(),
            retry_after: crate::http::limits::seconds(wait),
        });
    }
    let stored = user.password_hash.clone();
    let verified = web::block(move || verify_password(&password, &stored))
        .await
        .map_err(|_| AppError::Unavailable("the server is shutting down".to_owned()))?;
    let user_id = user.id.clone();
    let pair_addr = addr.to_owned();
    if !verified {
        let lock_expired = policy.has_expired(pair_lock, now);
        count_failure(state, addr);
        let who = user_attempt(&user_id);
        state
            .db
            .transaction(move |conn| {
                accounts::record_login_failure(
                    conn,
                    &user_id,
                    &pair_addr,
                    lock_expired,
                    |n| policy.locks_after(n),
                    naive(now),
                )?;
                audit::record_refusal(
                    conn,
                    &who,
                    "auth.login",
                    audit::DENIED_BAD_CREDENTIALS,
                    naive(now),
                )?;
                Ok(())
            })
            .await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.to_owned()));
    }
    if !user.active {
        count_failure(state, addr);
        audit_refusal(
            state,
            user_attempt(&user.id),
            "auth.login",
            audit::DENIED_BAD_CREDENTIALS,
        )
        .await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.to_owned()));
    }
    let refresh_ttl = state.settings.refresh_token_ttl_secs;
    let session = Uuid::now_v7().to_string();
    let family = session.clone();
    let refresh_token = state
        .db
        .transaction(move |conn| {
            accounts::clear_login_failures(conn, &user_id, &pair_addr)?;
            db::sessions::insert(conn, &family, &user_id, "user", naive(now))?;
            issue_refresh_token(conn, &user_id, &family, now, refresh_ttl)
        })
        .await?;
    access_token(
        state,
        SubjectKind::User,
        &user.id,
        &session,
        Some(refresh_token),
    )
}

async fn client_grant(
    state: &AppState,
    client_id: String,
    secret: String,
    addr: &str,
) -> AppResult<TokenResponse> {
    state.limits.auth_failures.peek(addr).map_err(too_many)?;
    let client = state
        .db
        .run(move |conn| {
            let Some(client) = accounts::find_api_client(conn, &client_id)? else {
                return Ok(None);
            };
            let practice_active = db::practices::find(conn, &client.practice_id)?
                .is_some_and(|practice| practice.active);
            Ok(Some((client, practice_active)))
        })
        .await?;
    match client {
        Some((client, true))
            if client.active && constant_time_eq(&secret_digest(&secret), &client.secret_hash) =>
        {
            let now = state.clock.now();
            let session = Uuid::now_v7().to_string();
            let (id, sid) = (client.id.clone(), session.clone());
            state
                .db
                .transaction(move |conn| {
                    Ok(db::sessions::insert(
                        conn,
                        &sid,
                        &id,
                        "api_client",
                        naive(now),
                    )?)
                })
                .await?;
            access_token(state, SubjectKind::ApiClient, &client.id, &session, None)
        }
        other => {
            count_failure(state, addr);
            let who = match &other {
                Some((client, _)) => audit::Attempt {
                    actor_id: client.id.clone(),
                    actor_kind: "api_client",
                },
                None => audit::Attempt {
                    actor_id: audit::ANONYMOUS_ID.to_owned(),
                    actor_kind: "anonymous",
                },
            };
            audit_refusal(
                state,
                who,
                "auth.client_credentials",
                audit::DENIED_BAD_CREDENTIALS,
            )
            .await?;
            Err(AppError::Unauthorized(BAD_CLIENT.to_owned()))
        }
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn access_token(
    state: &AppState,
    kind: SubjectKind,
    subject: &str,
    session: &str,
    refresh_token: Option<String>,
) -> AppResult<TokenResponse> {
    let access_token = state
        .tokens
        .issue(kind, subject, session, state.clock.now())
        .map_err(AppError::Internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: state.tokens.ttl_secs(),
        refresh_token,
    })
}

fn issue_refresh_token(
    conn: &mut db::DbConn,
    user_id: &str,
    family_id: &str,
    now: chrono::DateTime<chrono::Utc>,
    ttl_secs: i64,
) -> AppResult<String> {
    let token = random_secret();
    db::tokens::insert(
        conn,
        &RefreshTokenRow {
            id: Uuid::now_v7().to_string(),
            token_hash: secret_digest(&token),
            family_id: family_id.to_owned(),
            user_id: user_id.to_owned(),
            issued_at: naive(now),
            expires_at: naive(now + Duration::seconds(ttl_secs)),
            revoked_at: None,
        },
    )?;
    Ok(token)
}

/// Trade a refresh token for new tokens; the old refresh token stops working.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the refresh token given is now spent", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Unknown, spent, revoked or expired refresh token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    let addr = admit_to_token_endpoint(&state, &req)?;
    state.limits.auth_failures.peek(&addr).map_err(too_many)?;
    let now = state.clock.now();
    let ttl = state.settings.refresh_token_ttl_secs;
    let digest = secret_digest(&request.refresh_token);
    // A replayed token (already rotated) means it was copied: the whole family — its session
    // and the access tokens issued in it — is revoked, and that must stick even though the
    // request fails, so it commits on its own, with the refusal's audit row.
    let outcome = state
        .db
        .transaction(move |conn| {
            let Some(row) = db::tokens::find_by_hash(conn, &digest)? else {
                return Err(AppError::Unauthorized(BAD_REFRESH.to_owned()));
            };
            let refuse = |conn: &mut db::DbConn, reason| -> AppResult<_> {
                audit::record_refusal(
                    conn,
                    &user_attempt(&row.user_id),
                    "auth.refresh",
                    reason,
                    naive(now),
                )?;
                Err(AppError::Unauthorized(BAD_REFRESH.to_owned()).recorded())
            };
            if row.revoked_at.is_some() {
                db::tokens::revoke_family(conn, &row.family_id, naive(now))?;
                db::sessions::revoke(conn, &row.family_id, naive(now))?;
                return refuse(conn, audit::DENIED_TOKEN);
            }
            if utc(row.expires_at) <= now {
                return refuse(conn, audit::DENIED_TOKEN);
            }
            let active = accounts::find_user(conn, &row.user_id)?.is_some_and(|u| u.user.active);
            if !active || !db::tokens::revoke(conn, &row.id, naive(now))? {
                return refuse(conn, audit::DENIED_TOKEN);
            }
            let token = issue_refresh_token(conn, &row.user_id, &row.family_id, now, ttl)?;
            Ok((row.user_id, row.family_id, token))
        })
        .await;
    let (user_id, session, token) = match outcome {
        Ok(issued) => issued,
        Err(AppError::Unauthorized(detail)) => {
            count_failure(&state, &addr);
            return Err(AppError::Unauthorized(detail));
        }
        Err(other) => return Err(other),
    };
    Ok(token_response(access_token(
        &state,
        SubjectKind::User,
        &user_id,
        &session,
        Some(token),
    )?))
}

/// Revoke a refresh token (and every token rotated from the same login).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 204, description = "Revoked (also when the token was unknown or already revoked)"),
        (status = 400, description = "Malformed JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(request): Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    admit_to_token_endpoint(&state, &req)?;
    let now = state.clock.now();
    let digest = secret_digest(&request.refresh_token);
    state
        .db
        .transaction(move |conn| {
            if let Some(row) = db::tokens::find_by_hash(conn, &digest)? {
                // The family's access tokens stop working too, on every instance.
                db::tokens::revoke_family(conn, &row.family_id, naive(now))?;
                db::sessions::revoke(conn, &row.family_id, naive(now))?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account, role and practices.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Missing or invalid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    let me = crate::service::accounts::me(&state.ctx(), &actor).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// Resolves an access token to the caller. Every request re-reads the account and its session,
/// so deactivation, logout and revocation take effect at once rather than when tokens expire.
/// A refused token counts against the client address's failure budget (429 once spent); one
/// whose signature holds names a known account, and its refusal is audited.
pub async fn authenticate(state: &AppState, token: &str, addr: &str) -> AppResult<Actor> {
    let refused = |detail: String| -> AppError {
        match state.limits.auth_failures.take(addr) {
            Ok(()) => AppError::Unauthorized(detail),
            Err(wait) => too_many(wait),
        }
    };
    let claims = match state.tokens.verify(token, state.clock.now()) {
        Ok(claims) => claims,
        Err(TokenError::Invalid) => return Err(refused(TokenError::Invalid.to_string())),
        Err(error @ TokenError::Expired { .. }) => {
            let TokenError::Expired { subject, kind } = &error else {
                return Err(refused(error.to_string()));
            };
            audit_refusal(
                state,
                attempt(subject, *kind),
                "auth.token",
                audit::DENIED_EXPIRED,
            )
            .await?;
            return Err(refused(error.to_string()));
        }
    };
    let (sub, kind) = (claims.sub.clone(), claims.kind);
    let actor = state
        .db
        .run(move |conn| {
            if !db::sessions::is_live(conn, &claims.sid, &claims.sub)? {
                return Ok(None);
            }
            match claims.kind {
                SubjectKind::User => {
                    let Some(record) =
                        accounts::find_user(conn, &claims.sub)?.filter(|r| r.user.active)
                    else {
                        return Ok(None);
                    };
                    Ok(Some(Actor {
                        id: record.user.id,
                        kind: SubjectKind::User,
                        role: Some(record.user.role),
                        practice_ids: record.practice_ids,
                        locale: record.user.locale,
                    }))
                }
                SubjectKind::ApiClient => {
                    let Some(client) =
                        accounts::find_api_client(conn, &claims.sub)?.filter(|c| c.active)
                    else {
                        return Ok(None);
                    };
                    let practice_active =
                        db::practices::find(conn, &client.practice_id)?.is_some_and(|p| p.active);
                    Ok(practice_active.then(|| Actor {
                        id: client.id,
                        kind: SubjectKind::ApiClient,
                        role: None,
                        practice_ids: vec![client.practice_id],
                        locale: Locale::default(),
                    }))
                }
            }
        })
        .await?;
    match actor {
        Some(actor) => Ok(actor),
        None => {
            audit_refusal(
                state,
                attempt(&sub, kind),
                "auth.token",
                audit::DENIED_REVOKED,
            )
            .await?;
            Err(refused(
                "this token was revoked (logout, a new password, a deactivation or a lock); \
                 log in again"
                    .to_owned(),
            ))
        }
    }
}

fn attempt(subject: &str, kind: SubjectKind) -> audit::Attempt {
    audit::Attempt {
        actor_id: subject.to_owned(),
        actor_kind: match kind {
            SubjectKind::User => "user",
            SubjectKind::ApiClient => "api_client",
        },
    }
}
