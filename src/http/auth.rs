//! Tokens: the password and client-credentials grants, refresh with rotation, logout, and `/me`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::extract::Json;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::{AppError, AppResult};
pub use crate::service::accounts::Me;
use crate::service::sessions;

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

pub use crate::service::sessions::TokenResponse;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub refresh_token: String,
}

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
    // Spent failures stop the attempt before the (deliberately slow) password check.
    state.limits.auth_failures.peek(&addr).map_err(too_many)?;
    let ctx = state.ctx();
    let issued = match request {
        TokenRequest::Password { email, password } => {
            sessions::password_grant(&ctx, &email, password, &addr).await
        }
        TokenRequest::ClientCredentials {
            client_id,
            client_secret,
        } => sessions::client_grant(&ctx, client_id, client_secret).await,
    };
    Ok(token_response(counting_refusals(&state, &addr, issued)?))
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

/// A refusal of credentials (401) counts against the client address's failure budget; the next
/// attempts get 429 once it is spent.
fn counting_refusals<T>(state: &AppState, addr: &str, result: AppResult<T>) -> AppResult<T> {
    if let Err(AppError::Unauthorized(_)) = &result {
        // Spent already: the refusal at hand stands; the next attempt meets the 429.
        let _ = state.limits.auth_failures.take(addr);
    }
    result
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
    let issued = sessions::refresh(&state.ctx(), &request.refresh_token).await;
    Ok(token_response(counting_refusals(&state, &addr, issued)?))
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
    sessions::logout(&state.ctx(), &request.refresh_token).await?;
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

/// The caller an access token names (`service::sessions::authenticate`); a refused token counts
/// against the client address's failure budget (429 once spent).
pub async fn authenticate(state: &AppState, token: &str, addr: &str) -> AppResult<Actor> {
    match sessions::authenticate(&state.ctx(), token).await {
        Err(AppError::Unauthorized(detail)) => match state.limits.auth_failures.take(addr) {
            Ok(()) => Err(AppError::Unauthorized(detail)),
            Err(wait) => Err(too_many(wait)),
        },
        other => other,
    }
}
