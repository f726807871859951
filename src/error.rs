//! The one error type of the service and its RFC 9457 `application/problem+json` rendering.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request, dotted (`screening.phq9`), or the parameter name.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document: the body of every 4xx and 5xx response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:sesame:problem:<kind>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Field-level errors: invalid fields (422), malformed or unknown query parameters (400).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Phase transitions or other moves allowed from the current state (409 on a refused move).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed(Vec<Method>),
    #[error("{detail}")]
    Conflict {
        detail: String,
        allowed: Option<Vec<String>>,
    },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// Query parameters that are malformed, repeated or unknown to the operation (400, each named
    /// in `errors`).
    #[error("the query has malformed or unknown parameters")]
    BadQuery(Vec<FieldError>),
    /// The body did not arrive in time; the connection is closed after the answer.
    #[error("{0}")]
    RequestTimeout(String),
    /// A login refused for a while: the account is locked for this client address (or by an
    /// admin); `retry_after` in seconds when the lock has an end.
    #[error("{detail}")]
    Locked {
        detail: String,
        retry_after: Option<u64>,
    },
    /// Too many requests (or failed attempts) from this client address; retry after the delay.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// Never shown to the client beyond a generic sentence; logged with its cause.
    #[error("internal error: {0}")]
    Internal(String),
    /// A refusal whose audit row must stay (`AppError::recorded`): `Db::transaction` commits
    /// what was written, then answers with the inner error. Answers as the inner error anywhere.
    #[error("{0}")]
    Recorded(Box<AppError>),
}

pub type AppResult<T> = Result<T, AppError>;

/// The problem body for an error status the framework produced without an `AppError`.
pub fn bare_problem(status: StatusCode) -> HttpResponse {
    let reason = status.canonical_reason().unwrap_or("Error");
    let problem = Problem {
        kind: format!("urn:sesame:problem:http-{}", status.as_u16()),
        title: reason.to_owned(),
        status: status.as_u16(),
        detail: reason.to_lowercase(),
        errors: None,
        allowed: None,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE))
        .body(serde_json::to_vec(&problem).unwrap_or_default())
}

impl AppError {
    /// A failure of the server itself, with `error`'s whole source chain for the log
    /// (`context: error: its source: …`). Only for errors of drivers, libraries and the
    /// server, whose messages carry no request values.
    pub fn internal(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self::Internal(format!("{context}: {}", source_chain(error)))
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            allowed: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// This refusal, after its audit row was written in the request's transaction: the
    /// transaction commits (keeping the row) and the refusal is answered.
    pub fn recorded(self) -> Self {
        match self {
            Self::Recorded(_) => self,
            other => Self::Recorded(Box::new(other)),
        }
    }

    /// The error itself, without the `Recorded` mark.
    pub fn unmarked(self) -> Self {
        match self {
            Self::Recorded(inner) => inner.unmarked(),
            other => other,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Recorded(inner) => inner.kind(),
            Self::BadRequest(_) => "bad-request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::Conflict { .. } => "conflict",
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Validation(_) => "validation",
            Self::BadQuery(_) => "bad-query",
            Self::RequestTimeout(_) => "request-timeout",
            Self::Locked { .. } => "account-locked",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn problem(&self) -> Problem {
        if let Self::Recorded(inner) = self {
            return inner.problem();
        }
        let status = self.status_code();
        let detail = match self {
            Self::Internal(_) => "the server could not complete the request".to_owned(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:sesame:problem:{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                Self::Validation(errors) | Self::BadQuery(errors) => Some(errors.clone()),
                _ => None,
            },
            allowed: match self {
                Self::Conflict { allowed, .. } => allowed.clone(),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Recorded(inner) => inner.status_code(),
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Locked { .. } => StatusCode::LOCKED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Recorded(inner) = self {
            return inner.error_response();
        }
        if let Self::Internal(cause) = self {
            // The cause comes from the database driver or the server, never from a request body.
            tracing::error!(error = %cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed(methods) => {
                let allow = methods
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                response.insert_header((header::ALLOW, allow));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            Self::RequestTimeout(_) => {
                // The rest of the body may still come: the connection cannot be reused.
                response.force_close();
            }
            Self::TooManyRequests { retry_after, .. }
            | Self::Locked {
                retry_after: Some(retry_after),
                ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after.max(&1).to_string()));
            }
            _ => {}
        }
        let refusal = match self {
            Self::Forbidden(detail) if *detail == crate::domain::policy::Denied.to_string() => {
                Some(crate::db::audit::DENIED_ROLE)
            }
            Self::Forbidden(_) => Some(crate::db::audit::DENIED_PARTY),
            _ => None,
        };
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = response.body(body);
        if let Some(reason) = refusal {
            // For the middleware that audits refusals (`http::ops::audit_refusals`).
            response.extensions_mut().insert(Refusal(reason));
        }
        response
    }
}

/// Marks a response as a refusal of an authenticated caller, with the reason to audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            // A handler that means 404 asks with `.optional()` and names what is missing; a row
            // missing where the request needed one is the server's fault, not the client's.
            Error::NotFound => {
                Self::Internal("database: a row the request needed is missing".to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::conflict("a record with the same unique value already exists")
            }
            Error::DatabaseError(_, info) if sqlite_busy(info.message()) => {
                Self::Unavailable("the database was busy; retry the request".to_owned())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::Unavailable("the database was busy; retry the request".to_owned())
            }
            other if connection_lost(&other) => {
                Self::Unavailable("the database connection was lost; retry the request".to_owned())
            }
            other => Self::internal("database", &other),
        }
    }
}

/// An error and its sources, outermost first, joined by `: ` (a source whose words its wrapper
/// already shows is not repeated).
pub fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let words = source.to_string();
        if !text.ends_with(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        next = source.source();
    }
    text
}

/// Whether SQLite refused for another writer (`SQLITE_BUSY`, or `SQLITE_LOCKED` within one
/// connection). Diesel keeps an SQLite error's message, not its code; for these codes the message
/// is SQLite's fixed text for the code (`sqlite3_errstr`), which is asked of the library itself
/// rather than copied here.
fn sqlite_busy(message: &str) -> bool {
    use std::sync::OnceLock;
    static WORDS: OnceLock<[String; 2]> = OnceLock::new();
    WORDS
        .get_or_init(|| {
            [
                sqlite_code_text(libsqlite3_sys::SQLITE_BUSY),
                sqlite_code_text(libsqlite3_sys::SQLITE_LOCKED),
            ]
        })
        .iter()
        .any(|words| message == words)
}

fn sqlite_code_text(code: std::os::raw::c_int) -> String {
    // SAFETY: sqlite3_errstr takes any integer and returns a pointer to a static, NUL-terminated
    // English string owned by the library (never null, never freed).
    let text = unsafe { std::ffi::CStr::from_ptr(libsqlite3_sys::sqlite3_errstr(code)) };
    text.to_string_lossy().into_owned()
}

/// What PostgreSQL and libpq say when the server went away or is not (yet, or no longer)
/// accepting work: admin shutdown (57P01), crash of another backend (57P02), cannot connect now
/// (57P03), idle-session timeout (57P05), and libpq's own words for a dropped socket. Diesel does
/// not expose the SQLSTATE, so the English messages are matched; a server localised otherwise is
/// still caught by `Db::run`, which tests the connection after any failure.
const LOST_CONNECTION_MESSAGES: &[&str] = &[
    "terminating connection",
    "the database system is",
    "server closed the connection",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "connection to server",
    "ssl connection has been closed",
    "ssl syscall error",
];

/// Whether a diesel error means the database connection is gone (not the request's fault).
pub fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        )
        | Error::BrokenTransactionManager => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            LOST_CONNECTION_MESSAGES
                .iter()
                .any(|words| message.contains(words))
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => connection_lost(commit_error),
        _ => false,
    }
}

impl From<crate::domain::policy::Denied> for AppError {
    fn from(denied: crate::domain::policy::Denied) -> Self {
        Self::Forbidden(denied.to_string())
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        Self::Validation(field_errors(&errors))
    }
}

/// Flattens validator's nested errors into dotted field paths.
pub fn field_errors(errors: &validator::ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out
}

/// What a validator rule without its own message means, in words: `range` and `length` say the
/// bounds (from the rule's parameters) rather than their code.
fn plain_message(error: &validator::ValidationError) -> String {
    let bound = |name: &str| error.params.get(name).map(ToString::to_string);
    let (min, max) = (bound("min"), bound("max"));
    match (error.code.as_ref(), min, max) {
        ("range", Some(min), Some(max)) => format!("must be from {min} to {max}"),
        ("range", Some(min), None) => format!("must be at least {min}"),
        ("range", None, Some(max)) => format!("must be at most {max}"),
        ("length", Some(min), Some(max)) => {
            format!("must have from {min} to {max} characters or items")
        }
        ("length", Some(min), None) => format!("must have at least {min} characters or items"),
        ("length", None, Some(max)) => format!("must have at most {max} characters or items"),
        (code, _, _) => code.replace('_', " "),
    }
}

fn collect(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            validator::ValidationErrorsKind::Field(list) => {
                for error in list {
                    let message = error
                        .message
                        .as_ref()
                        .map_or_else(|| plain_message(error), ToString::to_string);
                    out.push(FieldError::new(path.clone(), message));
                }
            }
            validator::ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            validator::ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_recorded_refusal_answers_as_itself() {
        let refusal = AppError::not_found("case").recorded().recorded();
        assert_eq!(refusal.status_code(), StatusCode::NOT_FOUND);
        assert_eq!(refusal.problem().kind, "urn:sesame:problem:not-found");
        assert_eq!(refusal.error_response().status(), StatusCode::NOT_FOUND);
        assert!(matches!(refusal.unmarked(), AppError::NotFound(_)));
    }

    use super::*;

    #[test]
    fn every_variant_has_its_status_and_a_problem_body() {
        let cases = [
            (AppError::BadRequest("x".into()), 400),
            (AppError::Unauthorized("x".into()), 401),
            (AppError::Forbidden("x".into()), 403),
            (AppError::NotFound("x".into()), 404),
            (AppError::MethodNotAllowed(vec![Method::GET]), 405),
            (AppError::conflict("x"), 409),
            (AppError::PreconditionFailed("x".into()), 412),
            (AppError::PayloadTooLarge(10), 413),
            (AppError::UnsupportedMediaType("x".into()), 415),
            (AppError::invalid("email", "bad"), 422),
            (
                AppError::BadQuery(vec![FieldError::new("limit", "bad")]),
                400,
            ),
            (AppError::RequestTimeout("x".into()), 408),
            (
                AppError::Locked {
                    detail: "x".into(),
                    retry_after: Some(60),
                },
                423,
            ),
            (
                AppError::TooManyRequests {
                    detail: "x".into(),
                    retry_after: 3,
                },
                429,
            ),
            (AppError::Unavailable("x".into()), 503),
            (AppError::Internal("secret cause".into()), 500),
        ];
        for (error, status) in cases {
            let problem = error.problem();
            assert_eq!(problem.status, status, "{error:?}");
            assert_eq!(error.status_code().as_u16(), status);
            assert!(problem.kind.starts_with("urn:sesame:problem:"));
            assert!(!problem.detail.is_empty());
        }
    }

    #[test]
    fn a_lost_database_connection_is_unavailable_not_internal() {
        use diesel::result::{DatabaseErrorKind, Error};
        let db = |kind, message: &str| Error::DatabaseError(kind, Box::new(message.to_owned()));
        let lost = [
            db(DatabaseErrorKind::ClosedConnection, "gone"),
            db(DatabaseErrorKind::UnableToSendCommand, "no connection"),
            db(
                DatabaseErrorKind::Unknown,
                "FATAL:  terminating connection due to administrator command",
            ),
            db(
                DatabaseErrorKind::Unknown,
                "FATAL:  the database system is starting up",
            ),
            db(
                DatabaseErrorKind::Unknown,
                "server closed the connection unexpectedly",
            ),
            Error::BrokenTransactionManager,
        ];
        for error in lost {
            let app: AppError = error.into();
            assert_eq!(app.status_code().as_u16(), 503, "{app:?}");
            let response = app.error_response();
            assert_eq!(
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
        }
        let other: AppError = db(DatabaseErrorKind::Unknown, "syntax error").into();
        assert_eq!(other.status_code().as_u16(), 500);
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let problem = AppError::Internal("password=hunter2".into()).problem();
        assert!(!problem.detail.contains("hunter2"));
    }

    #[test]
    fn validation_problems_carry_field_errors() {
        let problem = AppError::invalid("email", "not an email address").problem();
        let errors = problem.errors.unwrap();
        assert_eq!(
            errors,
            vec![FieldError::new("email", "not an email address")]
        );
    }
}

#[cfg(test)]
mod database_errors {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    use super::*;

    #[test]
    fn sqlite_busy_is_recognised_from_a_real_refusal() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = dir.path().join("busy.db").display().to_string();
        let mut holder = SqliteConnection::establish(&url).expect("open");
        holder
            .batch_execute("CREATE TABLE t (x INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .expect("take the write lock");
        let mut other = SqliteConnection::establish(&url).expect("open");
        let refused = other
            .batch_execute("PRAGMA busy_timeout = 0; INSERT INTO t VALUES (2);")
            .expect_err("the file is locked by the other connection");
        let error = AppError::from(refused);
        assert!(
            matches!(&error, AppError::Unavailable(_)),
            "busy must be 503, got {error:?}"
        );
        assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn another_database_error_is_internal_with_its_words() {
        let mut conn = SqliteConnection::establish(":memory:").expect("open");
        let error = AppError::from(
            conn.batch_execute("SELECT * FROM no_such_table")
                .expect_err("no such table"),
        );
        match error {
            AppError::Internal(text) => assert_eq!(text, "database: no such table: no_such_table"),
            other => panic!("expected an internal error, got {other:?}"),
        }
    }

    #[test]
    fn the_source_chain_is_kept_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("could not read the key file")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let outer = Outer(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "permission denied",
        ));
        assert_eq!(
            AppError::internal("start", &outer).to_string(),
            "internal error: start: could not read the key file: permission denied"
        );
    }
}
