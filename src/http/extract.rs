//! Request extractors that answer with problem+json: JSON bodies (415, 413, 400, 422), the
//! authenticated caller (401), and If-Match preconditions (412).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::{AppError, FieldError};

/// A JSON body, deserialised with the path of any bad field and then validated.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = req
            .app_data::<web::Data<AppState>>()
            .map_or(256 * 1024, |s| s.settings.max_body_bytes);
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            let is_json = content_type.as_deref().is_some_and(|ct| {
                let essence = ct
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            });
            if !is_json {
                return Err(AppError::UnsupportedMediaType(
                    "the request body must be JSON (Content-Type: application/json)".to_owned(),
                ));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| {
                    AppError::BadRequest("the request body could not be read".to_owned())
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::PayloadTooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            let parsed = parse_json_body(&body).map(Json)?;
            super::idempotency::remember_body(&req, &body);
            Ok(parsed)
        })
    }
}

/// Deserialises and validates; a syntax error is 400, a well-formed body with wrong fields is 422.
pub fn parse_json_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("a JSON body is required".to_owned()));
    }
    // serde would also read a struct from an array of its fields in order: only objects are bodies.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
            return Err(AppError::BadRequest(
                "the body is not valid JSON".to_owned(),
            ));
        }
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            let field = if path == "." { "body".to_owned() } else { path };
            // serde's message names the expected type and never echoes the submitted value.
            AppError::Validation(vec![FieldError::new(
                field,
                strip_position(&inner.to_string()),
            )])
        } else {
            AppError::BadRequest(format!(
                "the body is not valid JSON: {}",
                strip_position(&inner.to_string())
            ))
        }
    })?;
    value.validate()?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// Flattens validator's nested errors into dotted field paths.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let message = error
                        .message
                        .as_ref()
                        .map_or_else(|| error.code.to_string(), ToString::to_string);
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

/// The caller, from `Authorization: Bearer <access token>`; the account must still be active.
impl FromRequest for Actor {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::Internal("application state missing".to_owned()))?;
            let token = match authorization {
                None => {
                    return Err(AppError::Unauthorized(
                        "authentication required: send Authorization: Bearer <access token>"
                            .to_owned(),
                    ));
                }
                Some(Err(_)) => {
                    return Err(AppError::Unauthorized(
                        "the Authorization header is not readable".to_owned(),
                    ));
                }
                Some(Ok(value)) => bearer_token(&value).ok_or_else(|| {
                    AppError::Unauthorized(
                        "the Authorization header must use the Bearer scheme".to_owned(),
                    )
                })?,
            };
            let addr = state.limits.client_addr(&req);
            let actor = crate::http::auth::authenticate(&state, &token, &addr).await?;
            // For the middleware that audits refusals (a 403 names who was refused).
            req.extensions_mut().insert(actor.clone());
            Ok(actor)
        })
    }
}

fn bearer_token(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_owned())
}

/// The version a client says it holds (`If-Match: "3"`); `None` when the header is absent or `*`.
pub fn if_match(req: &HttpRequest) -> Result<Option<i32>, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let raw = value
        .to_str()
        .map_err(|_| AppError::BadRequest("If-Match is not readable".to_owned()))?
        .trim();
    if raw == "*" {
        return Ok(None);
    }
    // Lenient about the quotes (a bare `3` is understood as `"3"`), strict about the rest.
    let tag = raw.strip_prefix("W/").unwrap_or(raw);
    let tag = tag.strip_prefix('"').unwrap_or(tag);
    Some(tag.strip_suffix('"').unwrap_or(tag))
        .filter(|v| !v.is_empty() && v.len() <= 9 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::BadRequest(
                "If-Match must be an ETag this server gave, such as \"3\"".to_owned(),
            )
        })
}

/// Refuses a change made against a version other than the current one.
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), AppError> {
    match expected {
        Some(v) if v != current => Err(AppError::PreconditionFailed(format!(
            "the resource has changed (version {current}, you sent {v}); read it again"
        ))),
        _ => Ok(()),
    }
}

pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    struct Sample {
        #[validate(length(min = 1, message = "must not be empty"))]
        name: String,
        #[allow(dead_code)]
        age: u8,
    }

    #[test]
    fn syntax_errors_are_400_and_field_errors_422() {
        assert!(matches!(
            parse_json_body::<Sample>(b"{not json"),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json_body::<Sample>(b""),
            Err(AppError::BadRequest(_))
        ));
        match parse_json_body::<Sample>(br#"{"name": "x", "age": 300}"#) {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "age"),
            other => panic!("{other:?}"),
        }
        match parse_json_body::<Sample>(br#"{"age": 3}"#) {
            Err(AppError::Validation(errors)) => {
                assert!(errors[0].message.contains("name"), "{errors:?}")
            }
            other => panic!("{other:?}"),
        }
        match parse_json_body::<Sample>(br#"{"name": "", "age": 3}"#) {
            Err(AppError::Validation(errors)) => {
                assert_eq!(errors, vec![FieldError::new("name", "must not be empty")]);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_json_body::<Sample>(br#"{"name": "x", "age": 3}"#).is_ok());
        match parse_json_body::<Sample>(br#"["x", 3]"#) {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "body"),
            other => panic!("an array is not a body: {other:?}"),
        }
        assert!(matches!(
            parse_json_body::<Sample>(b"[1,"),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn bearer_tokens_and_etags_parse() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc".to_owned()));
        assert_eq!(bearer_token("bearer  abc "), Some("abc".to_owned()));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        let req = |v: &str| {
            actix_web::test::TestRequest::default()
                .insert_header(("If-Match", v))
                .to_http_request()
        };
        assert_eq!(if_match(&req("\"3\"")).ok(), Some(Some(3)));
        assert_eq!(if_match(&req("W/\"3\"")).ok(), Some(Some(3)));
        assert_eq!(if_match(&req("*")).ok(), Some(None));
        assert_eq!(if_match(&req("3")).ok(), Some(Some(3)));
        for bad in ["null", "\"\"", "\"-1\"", "\"9999999999\"", "W/W/\"3\""] {
            assert!(if_match(&req(bad)).is_err(), "{bad}");
        }
        assert!(check_version(Some(2), 2).is_ok());
        assert!(check_version(None, 2).is_ok());
        assert!(matches!(
            check_version(Some(1), 2),
            Err(AppError::PreconditionFailed(_))
        ));
    }
}
