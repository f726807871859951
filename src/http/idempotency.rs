//! `Idempotency-Key` on the API's POSTs, the door's part: the key and a digest of the request
//! (method, path, canonical JSON body) for the operation, which keeps its first result
//! (`service::idempotency`); the answer, with `Idempotent-Replayed: true` when it is a kept one.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
pub use crate::service::idempotency::HEADER;
use crate::service::idempotency::{Done, Key};

/// Set on a response that repeats the one first given to this key.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// The digest of a request's method, path and JSON body (keys sorted, whitespace ignored).
#[derive(Debug, Clone)]
struct RequestDigest(String);

/// Called by the JSON extractor: keeps the digest when the request carries a key.
pub fn remember_body(req: &HttpRequest, body: &[u8]) {
    if !req.headers().contains_key(HEADER) {
        return;
    }
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_else(|_| body.to_vec());
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b" ");
    hasher.update(req.path());
    hasher.update(b"\n");
    hasher.update(&canonical);
    req.extensions_mut()
        .insert(RequestDigest(format!("{:x}", hasher.finalize())));
}

/// The key a request carries, for the operation (`service::idempotency::once`); 400 when the
/// header is not 1 to 255 visible ASCII characters. Read after the body was extracted.
pub fn key(req: &HttpRequest) -> AppResult<Option<Key>> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let digest = req
        .extensions()
        .get::<RequestDigest>()
        .map(|d| d.0.clone())
        .ok_or_else(|| AppError::Internal("request digest missing".to_owned()))?;
    value
        .to_str()
        .ok()
        .and_then(|text| Key::new(text, digest))
        .map(Some)
        .ok_or_else(|| {
            AppError::BadRequest(
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is usual)"
                    .to_owned(),
            )
        })
}

/// The answer to a write: `status` with the result as JSON, `Location` when given, its version
/// as `ETag` when given, and `Idempotent-Replayed: true` when the result is a kept one.
pub fn respond<T: Serialize>(
    status: StatusCode,
    done: &Done<T>,
    location: Option<String>,
    version: Option<i32>,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if let Some(location) = location {
        response.insert_header((header::LOCATION, location));
    }
    if let Some(version) = version {
        response.insert_header(super::extract::etag(version));
    }
    if done.replayed {
        response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    }
    response.json(&done.value)
}

/// The `Idempotency-Key` header of a POST that may be retried, declared once for the contract
/// (`params(IdempotencyKey)` on the operation; the value is read by `key`).
pub struct IdempotencyKey;

impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        vec![
            ParameterBuilder::new()
                .name(HEADER)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes a retry safe: the same key and body get the first response back",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .pattern(Some(r"^[!-~]{1,255}$")),
                ))
                .build(),
        ]
    }
}
