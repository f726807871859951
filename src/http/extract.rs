//! Request extractors that answer with problem+json: JSON bodies (415, 413, 408, 400, 422), query
//! strings (400, and unknown parameters refused by `known_query_only`), the authenticated caller
//! (401), and If-Match preconditions (412).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::decode;
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
        let (limit, timeout) = req
            .app_data::<web::Data<AppState>>()
            .map_or((256 * 1024, Duration::from_secs(10)), |s| {
                (s.settings.max_body_bytes, s.settings.body_timeout)
            });
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
            let read = async {
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
                Ok(body)
            };
            let body = actix_web::rt::time::timeout(timeout, read)
                .await
                .map_err(|_| {
                    AppError::RequestTimeout(format!(
                        "the request body did not arrive within {} s",
                        timeout.as_secs()
                    ))
                })??;
            let parsed = parse_json_body(&body).map(Json)?;
            super::idempotency::remember_body(&req, &body);
            Ok(parsed)
        })
    }
}

/// Deserialises and validates. Not JSON (a syntax error, a key twice in one object) is 400; JSON
/// whose fields do not fit the request (a wrong type, a value out of range, a missing or unknown
/// field) is 422 with each field named, as a validator failure is.
pub fn parse_json_body<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("a JSON body is required".to_owned()));
    }
    let value = decode::json_value(body)
        .map_err(|why| AppError::BadRequest(format!("the body is not valid JSON: {why}")))?;
    // serde would also read a struct from an array of its fields in order: only objects are bodies.
    if !value.is_object() {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    let value: T = decode::from_value(&value).map_err(|error| {
        let field = match error.path() {
            "" => "body".to_owned(),
            path => path.to_owned(),
        };
        AppError::Validation(vec![FieldError::new(field, error.message)])
    })?;
    value.validate()?;
    Ok(value)
}

/// Query parameters, read with the same field-naming messages as bodies (400, `errors`).
/// Parameters that no field takes are refused for the whole of `/api/v1` by `known_query_only`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let pairs = query_pairs(query);
    decode::from_pairs(&pairs).map_err(|error| {
        let field = match error.path() {
            "" => "query".to_owned(),
            path => path.to_owned(),
        };
        AppError::BadQuery(vec![FieldError::new(field, error.message)])
    })
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Refuses query parameters the operation does not declare in the contract, and any given twice:
/// the server refuses what it does not understand, as it does for body fields. Paths and methods
/// the contract does not know pass on (to their 404 or 405).
pub async fn known_query_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !req.query_string().is_empty()
        && let Some(pattern) = req.match_pattern()
        && let Some(known) = super::openapi::query_parameters(req.method(), &pattern)
    {
        let errors = query_problems(&query_pairs(req.query_string()), known);
        if !errors.is_empty() {
            let response = AppError::BadQuery(errors).error_response();
            return Ok(req.into_response(response));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn query_problems(pairs: &[(String, String)], known: &[String]) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    for (index, (key, _)) in pairs.iter().enumerate() {
        if errors.iter().any(|e| e.field == *key) {
            continue;
        }
        if !known.iter().any(|k| k == key) {
            let message = if known.is_empty() {
                "unknown query parameter: this operation takes none".to_owned()
            } else {
                format!(
                    "unknown query parameter; this operation takes {}",
                    known
                        .iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            errors.push(FieldError::new(key.as_str(), message));
        } else if pairs[index + 1..].iter().any(|(k, _)| k == key) {
            errors.push(FieldError::new(key.as_str(), "is given more than once"));
        }
    }
    errors
}

pub use crate::error::field_errors;

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
                        "the Authorization header must be `Bearer <access token>`, the token \
                         not empty"
                            .to_owned(),
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

pub use crate::service::input::check_version;

pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// 200 with a versioned resource, its version in `ETag` (what a later `If-Match` sends back).
pub fn ok_with_etag(version: i32, body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(version)).json(body)
}

/// The `If-Match` header of a versioned write, declared once for the contract
/// (`params(IfMatch)` on the operation; the value is read by `if_match`). The operation answers
/// 412 when the resource changed since that version; without the header it always proceeds.
pub struct IfMatch;

impl utoipa::IntoParams for IfMatch {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        vec![
            ParameterBuilder::new()
                .name("If-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The ETag last read; the change is refused (412) if the resource changed since",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .pattern(Some(r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#)),
                ))
                .build(),
        ]
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn rules_without_a_message_say_their_bounds() {
        #[derive(validator::Validate)]
        struct Contact {
            #[validate(range(min = 1, max = 600))]
            minutes: i32,
            #[validate(length(max = 3))]
            note: String,
        }
        let errors = validator::Validate::validate(&Contact {
            minutes: 601,
            note: "long".to_owned(),
        })
        .expect_err("invalid");
        let mut messages: Vec<(String, String)> = field_errors(&errors)
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect();
        messages.sort();
        assert_eq!(
            messages,
            vec![
                ("minutes".to_owned(), "must be from 1 to 600".to_owned()),
                (
                    "note".to_owned(),
                    "must have at most 3 characters or items".to_owned()
                ),
            ]
        );
    }

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
                assert_eq!(errors, vec![FieldError::new("name", "is required")]);
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
        // A trailing comma is a syntax error, whatever the fields before it.
        match parse_json_body::<Sample>(br#"{"a":1,}"#) {
            Err(AppError::BadRequest(detail)) => {
                assert!(detail.contains("at line 1 column 8"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json_body::<Sample>(br#"{"name": "x", "age": 3, "age": 4}"#),
            Err(AppError::BadRequest(_))
        ));
    }

    #[test]
    fn unknown_and_repeated_query_parameters_are_named() {
        let known = ["limit".to_owned(), "after".to_owned()];
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(query_problems(&pairs(&[("limit", "3")]), &known).is_empty());
        let errors = query_problems(
            &pairs(&[("limt", "3"), ("after", "x"), ("after", "y"), ("limt", "4")]),
            &known,
        );
        assert_eq!(
            errors,
            vec![
                FieldError::new(
                    "limt",
                    "unknown query parameter; this operation takes \"limit\", \"after\""
                ),
                FieldError::new("after", "is given more than once"),
            ]
        );
        let none = query_problems(&pairs(&[("x", "")]), &[]);
        assert_eq!(
            none[0].message,
            "unknown query parameter: this operation takes none"
        );
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
