//! Operations: liveness, readiness, the contract and its docs, request logging, and the safety
//! net that gives every error response a problem+json body.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use serde::Serialize;
use tracing::Instrument;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::{AppError, AppResult, PROBLEM_CONTENT_TYPE};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the process is up; `ready` when it can also reach its database.
    pub status: String,
    /// `sqlite` or `postgres` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
        database: None,
    })
}

/// The process is up, without a body (for probes and load balancers that ask with HEAD).
#[utoipa::path(head, path = "/healthz", tag = "operations", operation_id = "healthz_head",
    responses((status = 200, description = "The process is up")))]
pub async fn healthz_head() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// The process can reach its database.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let backend = state
        .db
        .run(|conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("SELECT 1")?;
            Ok(match conn {
                crate::db::DbConn::Postgres(_) => "postgres",
                crate::db::DbConn::Sqlite(_) => "sqlite",
            })
        })
        .await
        .map_err(|_| AppError::Unavailable("the database does not answer".to_owned()))?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ready".to_owned(),
        database: Some(backend.to_owned()),
    }))
}

/// Readiness without a body: 200 when the database answers, 503 with `Retry-After` otherwise.
#[utoipa::path(head, path = "/readyz", tag = "operations", operation_id = "readyz_head",
    responses(
        (status = 200, description = "The database answers"),
        (status = 503, description = "The database does not answer"),
    ))]
pub async fn readyz_head(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    readyz(state).await.map(|_| HttpResponse::Ok().finish())
}

/// The API contract, as YAML.
#[utoipa::path(get, path = "/openapi.yaml", tag = "operations",
    responses((status = 200, description = "This document", content_type = "application/yaml", body = serde_json::Value)))]
pub async fn openapi_yaml() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(crate::http::openapi::yaml())
}

pub async fn no_such_path() -> AppResult<HttpResponse> {
    Err(AppError::NotFound("no such path".to_owned()))
}

/// Logs one line per request: method, route pattern (never the concrete path or query, which may
/// carry identifiers), status and duration; and gives every response an `X-Request-Id`.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!("request", request_id = %request_id);
    let method = req.method().clone();
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

/// Audits every 403 given to an authenticated caller (their role may not, or they are not a
/// party to the object), named by method and route pattern, never by the concrete path. Cross-
/// practice 404s, refused logins and refused tokens are audited where they are decided.
pub async fn audit_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let response = next.call(req).await?;
    let reason = response
        .response()
        .extensions()
        .get::<crate::error::Refusal>()
        .map(|refusal| refusal.0);
    let actor = response
        .request()
        .extensions()
        .get::<crate::domain::policy::Actor>()
        .cloned();
    if let (Some(reason), Some(actor), Some(state)) = (
        reason,
        actor,
        response
            .request()
            .app_data::<web::Data<AppState>>()
            .cloned(),
    ) {
        let action = format!(
            "{} {}",
            response.request().method(),
            response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "(unmatched)".to_owned())
        );
        let at = crate::db::naive(state.clock.now());
        let who = crate::db::audit::Attempt {
            actor_id: actor.id.clone(),
            actor_kind: match actor.kind {
                crate::domain::tokens::SubjectKind::User => "user",
                crate::domain::tokens::SubjectKind::ApiClient => "api_client",
            },
        };
        let written = state
            .db
            .transaction(move |conn| {
                Ok(crate::db::audit::record_refusal(
                    conn, &who, &action, reason, at,
                )?)
            })
            .await;
        if let Err(error) = written {
            // The refusal stands; the missing row is worth an operator's attention.
            tracing::warn!(%error, "could not audit a refusal");
        }
    }
    Ok(response)
}

/// Any error response produced outside `AppError` (by the framework itself) gets a problem body.
pub async fn problem_for_bare_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let response = next.call(req).await?;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(PROBLEM_CONTENT_TYPE.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return Ok(response.map_into_left_body());
    }
    let (req, original) = response.into_parts();
    let mut problem = crate::error::bare_problem(status);
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, problem).map_into_right_body())
}
