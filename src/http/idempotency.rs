//! `Idempotency-Key` on POSTs: the first response to a key is kept, in the transaction of the
//! request itself, and a retry with the same key and the same request gets it back without doing
//! anything again. The same key with another request is 422. Keys are per caller.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::DbConn;
use crate::db::idempotency::{self as store, SavedResponse};
use crate::domain::policy::Actor;
use crate::error::{AppError, AppResult};

pub const HEADER: &str = "Idempotency-Key";
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

/// The key a request carries, with the digest of what it asks.
#[derive(Debug, Clone)]
pub struct Idempotency {
    key: String,
    digest: String,
}

impl Idempotency {
    /// Reads the header (after the body was extracted). Keys are 1 to 255 visible ASCII characters.
    pub fn of(req: &HttpRequest) -> AppResult<Option<Self>> {
        let Some(value) = req.headers().get(HEADER) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                AppError::BadRequest(
                    "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is usual)"
                        .to_owned(),
                )
            })?;
        let digest = req
            .extensions()
            .get::<RequestDigest>()
            .map(|d| d.0.clone())
            .ok_or_else(|| AppError::Internal("request digest missing".to_owned()))?;
        Ok(Some(Self {
            key: key.to_owned(),
            digest,
        }))
    }
}

/// The key a request carries, for the operation (`service::idempotency::once`); 400 when the
/// header is not 1 to 255 visible ASCII characters. Read after the body was extracted.
pub fn key(req: &HttpRequest) -> AppResult<Option<crate::service::idempotency::Key>> {
    Ok(Idempotency::of(req)?.and_then(|i| crate::service::idempotency::Key::new(&i.key, i.digest)))
}

/// The answer to a write: `status` with the result as JSON, `Location` when given, its version
/// as `ETag` when given, and `Idempotent-Replayed: true` when the result is a kept one.
pub fn respond<T: Serialize>(
    status: StatusCode,
    done: &crate::service::idempotency::Done<T>,
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

/// A response as kept for replays.
#[derive(Debug, Clone)]
pub struct Kept {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    pub etag: Option<i32>,
    pub replayed: bool,
}

impl Kept {
    pub fn json(status: StatusCode, body: &impl Serialize) -> AppResult<Self> {
        Ok(Self {
            status,
            body: serde_json::to_string(body)
                .map_err(|e| AppError::Internal(format!("response not serialisable: {e}")))?,
            location: None,
            etag: None,
            replayed: false,
        })
    }

    pub fn location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn etag(mut self, version: i32) -> Self {
        self.etag = Some(version);
        self
    }

    pub fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type("application/json");
        if let Some(location) = self.location {
            response.insert_header((header::LOCATION, location));
        }
        if let Some(version) = self.etag {
            response.insert_header(super::extract::etag(version));
        }
        if self.replayed {
            response.insert_header((REPLAYED, HeaderValue::from_static("true")));
        }
        response.body(self.body)
    }
}

/// The kept response for this key, if the request was already answered (422 if the key was used
/// for another request).
pub fn replay(
    conn: &mut DbConn,
    actor: &Actor,
    idempotency: Option<&Idempotency>,
) -> AppResult<Option<Kept>> {
    let Some(idem) = idempotency else {
        return Ok(None);
    };
    let Some(saved) = store::find(conn, &actor.id, &idem.key)? else {
        return Ok(None);
    };
    if saved.request_digest != idem.digest {
        return Err(AppError::invalid(
            HEADER,
            "this key was already used for another request; use a new key for a new request",
        ));
    }
    Ok(Some(Kept {
        status: u16::try_from(saved.status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| AppError::Internal("kept status unknown".to_owned()))?,
        body: saved.body,
        location: saved.location,
        etag: saved.etag.and_then(|e| e.parse().ok()),
        replayed: true,
    }))
}

/// Keeps the response for later retries (in the request's transaction).
pub fn keep(
    conn: &mut DbConn,
    actor: &Actor,
    idempotency: Option<&Idempotency>,
    kept: &Kept,
    now: NaiveDateTime,
) -> AppResult<()> {
    let Some(idem) = idempotency else {
        return Ok(());
    };
    store::insert(
        conn,
        &SavedResponse {
            actor_id: actor.id.clone(),
            idempotency_key: idem.key.clone(),
            request_digest: idem.digest.clone(),
            status: i32::from(kept.status.as_u16()),
            location: kept.location.clone(),
            etag: kept.etag.map(|v| v.to_string()),
            body: kept.body.clone(),
            created_at: now,
        },
    )?;
    Ok(())
}
