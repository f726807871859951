//! The contract, generated from the handlers' annotations. `openapi.yaml` at the top of the
//! repository is this document written out; a test fails when they differ.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::Method;

use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{
    api_clients, audit_log, auth, cases, exports, meetings, ops, outbox, patients, practices,
    reports, surveys, tele_expertise, users,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sésame case registry",
        description = "Collaborative-care case registry for the Sésame and microstructure programs. \
            Every error is an RFC 9457 problem document (`application/problem+json`). \
            The server refuses what it does not understand: a body field or a query parameter \
            an operation does not declare is named in `errors` (422 for a body field, 400 for a \
            query parameter), as is every value of the wrong type, with what was expected. \
            A body that does not arrive within the body timeout is answered 408.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        ops::healthz, ops::healthz_head, ops::readyz, ops::readyz_head, ops::openapi_yaml,
        auth::token, auth::refresh, auth::logout, auth::me,
        practices::create, practices::list, practices::get, practices::update,
        users::create, users::list, users::get, users::update,
        api_clients::create, api_clients::list, api_clients::get, api_clients::update,
        patients::create, patients::list, patients::get, patients::update,
        cases::write::refer, cases::read::list, cases::read::get, cases::write::update,
        cases::write::assess, cases::write::log_contact, cases::read::contacts,
        cases::write::transition, cases::read::timeline, cases::read::worklist,
        surveys::create, surveys::list,
        audit_log::list,
        tele_expertise::create, tele_expertise::list, tele_expertise::get,
        tele_expertise::accept, tele_expertise::decline, tele_expertise::answer, tele_expertise::cancel,
        outbox::list, outbox::retry,
        reports::program, exports::research,
        meetings::create, meetings::list, meetings::agenda, meetings::get,
    ),
    // Schemas only query parameters name (utoipa collects those of bodies and responses itself).
    components(schemas(crate::error::Problem, crate::error::FieldError, tele_expertise::Side)),
    modifiers(&BearerScheme, &ProblemResponses, &VersionHeaders),
    tags(
        (name = "operations", description = "Liveness, readiness and this contract"),
        (name = "auth", description = "Tokens and the caller's own account"),
        (name = "organisation", description = "Practices, accounts and API clients"),
        (name = "patients", description = "Patients of the caller's practices (every access audited)"),
        (name = "cases", description = "Episodes of care: referral, assessment, contacts, phases, timeline, worklist, the microstructures' patient experience survey (every access audited)"),
        (name = "tele-expertise", description = "Questions to the referring psychiatrist about a case (every access audited)"),
        (name = "meetings", description = "Case review meetings of a practice's care team (réunion de synthèse, caseload review): when, who, what was decided per case, the agenda proposed for the next one. What was decided and the agenda are the care team's (and its software's, for what was decided); coordinators and admins see that a team met. Every access to a case audited"),
        (name = "outbox", description = "The outgoing email queue (admins)"),
        (name = "audit", description = "Who read or wrote which patient's data"),
        (name = "reports", description = "Program indicators and the pseudonymised research export (admins, coordinators)"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The error responses that follow from an operation's shape, added in one place so that no
/// handler forgets one: a body can be malformed (400), too large (413), not JSON (415) or invalid
/// (422); a query can be malformed or carry a parameter the operation does not take (400, for
/// every operation under `/api/v1`); a path id can name nothing (404); a secured operation
/// can lack a valid token (401), and a client address that sent too many bad tokens or login
/// attempts is made to wait (429); a write sent with `If-Match` finds the resource changed (412);
/// anything that touches the database can find it busy (503).
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let uses_database = path.starts_with("/api/") || path == "/readyz";
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_problem_responses(path, operation, uses_database);
            }
        }
    }
}

fn add_problem_responses(path: &str, operation: &mut Operation, uses_database: bool) {
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_query = params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    let has_body = operation.request_body.is_some();
    let versioned = takes_if_match(operation);
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    // Every operation under /api/v1 refuses query parameters it does not declare.
    let api = path.starts_with("/api/v1/");
    if has_body {
        wanted.push((
            "400",
            "Malformed JSON (or a key twice in one object), header, or query parameter",
        ));
        wanted.push(("413", "Body too large"));
        wanted.push(("415", "Body not JSON"));
        wanted.push(("422", "Invalid fields: see `errors`"));
    }
    if has_query || api {
        wanted.push((
            "400",
            "Malformed, repeated or unknown query parameter: see `errors`",
        ));
    }
    if secured {
        wanted.push((
            "401",
            "Missing, invalid or expired access token, or a deactivated account",
        ));
    }
    if secured {
        wanted.push((
            "429",
            "Too many refused tokens from this client address; wait `Retry-After` seconds",
        ));
    }
    if path.starts_with("/api/v1/auth/") && !secured {
        wanted.push((
            "429",
            "Too many requests or failed attempts from this client address; wait `Retry-After` \
             seconds",
        ));
    }
    if versioned {
        wanted.push(("412", "Changed since the If-Match version"));
    }
    if path.contains('{') {
        wanted.push(("404", "No such resource, or not one the caller may see"));
    }
    if uses_database {
        wanted.push(("503", "Database unavailable or busy; retry"));
    }
    for (status, description) in wanted {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        crate::error::PROBLEM_CONTENT_TYPE,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .into()
            });
    }
}

/// The `ETag` of a versioned resource, declared in one place: the 200 of its GET carries the
/// version a write sends back in `If-Match`, and the success of every write that takes `If-Match`
/// carries the new version.
struct VersionHeaders;

impl Modify for VersionHeaders {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let versioned = item.patch.as_ref().is_some_and(takes_if_match);
            if let Some(get) = item.get.as_mut().filter(|_| versioned) {
                add_etag(get, "The version, for If-Match");
            }
            for write in [&mut item.post, &mut item.patch, &mut item.put]
                .into_iter()
                .flatten()
                .filter(|operation| takes_if_match(operation))
            {
                add_etag(write, "The new version");
            }
        }
    }
}

fn takes_if_match(operation: &Operation) -> bool {
    operation.parameters.iter().flatten().any(
        |p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name == "If-Match"),
    )
}

/// `ETag` on the operation's success responses (2xx).
fn add_etag(operation: &mut Operation, description: &str) {
    for (status, response) in &mut operation.responses.responses {
        if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
            let mut header = Header::default();
            header.description = Some(description.to_owned());
            response.headers.insert("ETag".to_owned(), header.into());
        }
    }
}

/// The query parameters the contract declares for an operation (method and route pattern, as
/// `HttpRequest::match_pattern` gives it); `None` for an operation it does not have.
pub fn query_parameters(method: &Method, pattern: &str) -> Option<&'static [String]> {
    type Known = HashMap<(String, String), Vec<String>>;
    static KNOWN: OnceLock<Known> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let mut known = Known::new();
        for (path, item) in ApiDoc::openapi().paths.paths {
            for (name, operation) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PATCH", &item.patch),
                ("PUT", &item.put),
                ("DELETE", &item.delete),
            ] {
                let Some(operation) = operation else { continue };
                let names = operation
                    .parameters
                    .iter()
                    .flatten()
                    .filter_map(|p| match p {
                        RefOr::T(p) if p.parameter_in == ParameterIn::Query => Some(p.name.clone()),
                        _ => None,
                    })
                    .collect();
                known.insert((name.to_owned(), path.clone()), names);
            }
        }
        known
    });
    known
        .get(&(method.as_str().to_owned(), pattern.to_owned()))
        .map(Vec::as_slice)
}

/// The contract as YAML, made once.
pub fn yaml() -> &'static str {
    static YAML: OnceLock<String> = OnceLock::new();
    YAML.get_or_init(|| {
        ApiDoc::openapi()
            .to_yaml()
            .unwrap_or_else(|error| format!("# the contract could not be written: {error}\n"))
    })
}

/// Interactive documentation at `/docs/`, bundled in the binary (works offline), reading
/// `/openapi.yaml`.
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}").config(Config::from("/openapi.yaml"))
}
