//! The HTTP surface: thin handlers that parse, authorise through `domain::policy`, call the
//! database and map the result. Routes are declared here, once.

pub mod api_clients;
pub mod audit_log;
pub mod auth;
pub mod cases;
pub mod decode;
pub mod exports;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod patients;
pub mod practices;
pub mod reports;
pub mod tele_expertise;
pub mod users;
pub mod wire;

use actix_web::http::Method;
use actix_web::{Resource, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use validator::ValidationError;

use crate::error::AppError;

/// Every route of the service. `tests/contract.rs` checks this table against `openapi.yaml`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{get, patch, post};
    cfg.app_data(
        web::PathConfig::default()
            .error_handler(|_, _| AppError::NotFound("no such resource".to_owned()).into()),
    )
    .service(
        resource("/healthz", &[Method::GET, Method::HEAD])
            .route(get().to(ops::healthz))
            .route(web::head().to(ops::healthz_head)),
    )
    .service(
        resource("/readyz", &[Method::GET, Method::HEAD])
            .route(get().to(ops::readyz))
            .route(web::head().to(ops::readyz_head)),
    )
    .service(resource("/openapi.yaml", &[Method::GET]).route(get().to(ops::openapi_yaml)))
    .service(web::redirect("/docs", "/docs/"))
    .service(openapi::swagger_ui())
    .service(
        web::scope("/api/v1")
            .wrap(actix_web::middleware::from_fn(extract::known_query_only))
            .service(resource("/auth/token", &[Method::POST]).route(post().to(auth::token)))
            .service(resource("/auth/refresh", &[Method::POST]).route(post().to(auth::refresh)))
            .service(resource("/auth/logout", &[Method::POST]).route(post().to(auth::logout)))
            .service(resource("/me", &[Method::GET]).route(get().to(auth::me)))
            .service(
                resource("/practices", &[Method::GET, Method::POST])
                    .route(get().to(practices::list))
                    .route(post().to(practices::create)),
            )
            .service(
                resource("/practices/{id}", &[Method::GET, Method::PATCH])
                    .route(get().to(practices::get))
                    .route(patch().to(practices::update)),
            )
            .service(
                resource("/users", &[Method::GET, Method::POST])
                    .route(get().to(users::list))
                    .route(post().to(users::create)),
            )
            .service(
                resource("/users/{id}", &[Method::GET, Method::PATCH])
                    .route(get().to(users::get))
                    .route(patch().to(users::update)),
            )
            .service(
                resource("/api-clients", &[Method::GET, Method::POST])
                    .route(get().to(api_clients::list))
                    .route(post().to(api_clients::create)),
            )
            .service(
                resource("/api-clients/{id}", &[Method::GET, Method::PATCH])
                    .route(get().to(api_clients::get))
                    .route(patch().to(api_clients::update)),
            )
            .service(
                resource("/patients", &[Method::GET, Method::POST])
                    .route(get().to(patients::list))
                    .route(post().to(patients::create)),
            )
            .service(
                resource("/patients/{id}", &[Method::GET, Method::PATCH])
                    .route(get().to(patients::get))
                    .route(patch().to(patients::update)),
            )
            .service(
                resource("/cases", &[Method::GET, Method::POST])
                    .route(get().to(cases::read::list))
                    .route(post().to(cases::write::refer)),
            )
            .service(
                resource("/cases/{id}", &[Method::GET, Method::PATCH])
                    .route(get().to(cases::read::get))
                    .route(patch().to(cases::write::update)),
            )
            .service(
                resource("/cases/{id}/assessment", &[Method::POST])
                    .route(post().to(cases::write::assess)),
            )
            .service(
                resource("/cases/{id}/contacts", &[Method::GET, Method::POST])
                    .route(get().to(cases::read::contacts))
                    .route(post().to(cases::write::log_contact)),
            )
            .service(
                resource("/cases/{id}/transitions", &[Method::POST])
                    .route(post().to(cases::write::transition)),
            )
            .service(
                resource("/cases/{id}/timeline", &[Method::GET])
                    .route(get().to(cases::read::timeline)),
            )
            .service(
                resource("/cases/{id}/tele-expertise", &[Method::POST])
                    .route(post().to(tele_expertise::create)),
            )
            .service(
                resource("/tele-expertise", &[Method::GET]).route(get().to(tele_expertise::list)),
            )
            .service(
                resource("/tele-expertise/{id}", &[Method::GET])
                    .route(get().to(tele_expertise::get)),
            )
            .service(
                resource("/tele-expertise/{id}/accept", &[Method::POST])
                    .route(post().to(tele_expertise::accept)),
            )
            .service(
                resource("/tele-expertise/{id}/decline", &[Method::POST])
                    .route(post().to(tele_expertise::decline)),
            )
            .service(
                resource("/tele-expertise/{id}/answer", &[Method::POST])
                    .route(post().to(tele_expertise::answer)),
            )
            .service(
                resource("/tele-expertise/{id}/cancel", &[Method::POST])
                    .route(post().to(tele_expertise::cancel)),
            )
            .service(resource("/worklist", &[Method::GET]).route(get().to(cases::read::worklist)))
            .service(resource("/outbox", &[Method::GET]).route(get().to(outbox::list)))
            .service(
                resource("/outbox/{id}/retry", &[Method::POST]).route(post().to(outbox::retry)),
            )
            .service(resource("/audit", &[Method::GET]).route(get().to(audit_log::list)))
            .service(resource("/reports/program", &[Method::GET]).route(get().to(reports::program)))
            .service(
                resource("/exports/research", &[Method::GET]).route(get().to(exports::research)),
            )
            .default_service(web::to(ops::no_such_path)),
    );
}

/// A resource that answers 405 with `Allow` for the methods it does not have.
fn resource(path: &str, allowed: &[Method]) -> Resource {
    let allowed = allowed.to_vec();
    web::resource(path).default_service(web::to(move || {
        let allowed = allowed.clone();
        async move { Err::<actix_web::HttpResponse, _>(AppError::MethodNotAllowed(allowed)) }
    }))
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

/// Cursor pagination: items come in creation order; `after` is the `next_cursor` of the page before.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items, 1 to 200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<PageSize>,
    /// The `next_cursor` of the previous page.
    pub after: Option<Uuid>,
}

/// A page size from 1 to `MAX_PAGE`, refused when read (so the message says the range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(pub u32);

impl<'de> Deserialize<'de> for PageSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Size;
        impl serde::de::Visitor<'_> for Size {
            type Value = PageSize;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a whole number from 1 to {MAX_PAGE}")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<PageSize, E> {
                u32::try_from(n)
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .map(PageSize)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<PageSize, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(n), &self)),
                }
            }
        }
        deserializer.deserialize_u32(Size)
    }
}

impl PageQuery {
    pub fn page_size(&self) -> Result<u32, AppError> {
        Ok(self.limit.map_or(DEFAULT_PAGE, |PageSize(n)| n))
    }

    /// One more than the page, to know whether another page follows.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.page_size().unwrap_or(DEFAULT_PAGE)) + 1
    }

    pub fn after_id(&self) -> Result<Option<String>, AppError> {
        self.page_size()?;
        Ok(self.after.map(|id| id.to_string()))
    }

    /// Cuts the extra item off and turns it into the cursor of the next page.
    pub fn split<T>(
        &self,
        mut items: Vec<T>,
        id_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let size = self.page_size().unwrap_or(DEFAULT_PAGE) as usize;
        if items.len() > size {
            items.truncate(size);
            let cursor = items.last().map(id_of);
            (items, cursor)
        } else {
            (items, None)
        }
    }
}

/// For PATCH fields where `null` means something (remove) and absence means "leave as is": an
/// absent field stays `None` (with `#[serde(default)]`), `null` becomes `Some(None)`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// Text a person typed as a name: not blank, no control characters (which PostgreSQL refuses, and
/// which have no place in a name).
pub fn plain_text(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new("control")
            .with_message("must not contain control characters".into()));
    }
    Ok(())
}

/// A text filter from the query: trimmed, empty means no filter; control characters (never stored,
/// and refused by PostgreSQL) are a malformed query.
pub fn text_filter(name: &str, value: Option<String>) -> Result<Option<String>, AppError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().any(char::is_control) => Err(AppError::BadRequest(format!(
            "{name} must not contain control characters"
        ))),
        other => Ok(other),
    }
}

/// Ids as stored (text), deduplicated and sorted.
pub fn uuids_as_strings(ids: &[Uuid]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Text written by a clinician (a note, a care plan): not blank; line breaks and tabs allowed,
/// no other control characters.
pub fn free_text(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::new("control").with_message(
            "must not contain control characters other than line breaks and tabs".into(),
        ));
    }
    Ok(())
}
