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
pub mod meetings;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod patients;
pub mod practices;
pub mod reports;
pub mod surveys;
pub mod tele_expertise;
pub mod users;
pub mod wire;

use actix_web::http::Method;
use actix_web::{Resource, web};

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
                resource("/practices/{id}/meetings", &[Method::GET, Method::POST])
                    .route(get().to(meetings::list))
                    .route(post().to(meetings::create)),
            )
            .service(
                resource("/practices/{id}/meetings/agenda", &[Method::GET])
                    .route(get().to(meetings::agenda)),
            )
            .service(resource("/meetings/{id}", &[Method::GET]).route(get().to(meetings::get)))
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
                resource("/cases/{id}/surveys", &[Method::GET, Method::POST])
                    .route(get().to(surveys::list))
                    .route(post().to(surveys::create)),
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

pub use crate::service::input::{
    DEFAULT_PAGE, MAX_PAGE, PageQuery, PageSize, present, text_filter, uuids_as_strings,
};
