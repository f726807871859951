//! Program indicators for coordinators and funders: `GET /reports/program` (JSON or CSV), and the
//! content negotiation the research export shares. The operation is `service::reports::program`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::error::AppResult;
use crate::service::Caller;
use crate::service::reports::{self, Format, ProgramReportView, ReportQuery};

/// Whether the client asked for `media` (e.g. `text/csv`) before any JSON.
pub fn wants(req: &HttpRequest, media: &str) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept
        .split(',')
        .map(|range| range.split(';').next().unwrap_or("").trim())
        .find(|range| *range == media || *range == "application/json" || *range == "*/*")
        .is_some_and(|range| range == media)
}

/// Program indicators for a period and scope (PATHWAY.md §6; definitions in
/// `docs/indicators.md`). Admins see every practice, coordinators their own. Counts from 1 to 4
/// are shown as `"<5"` when the scope holds more than one practice, and always in CSV.
#[utoipa::path(get, path = "/api/v1/reports/program", tag = "reports", params(ReportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The figures", content(
            (ProgramReportView = "application/json"),
            (String = "text/csv", example = "section,measure,group,value\npopulation,patients_followed,,128\n"),
        )),
        (status = 400, description = "A missing or malformed parameter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and coordinators only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such practice among the caller's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An impossible period or scope", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn program(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    query: crate::http::extract::Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let format = if wants(&req, "text/csv") {
        Format::Csv
    } else {
        Format::Json
    };
    let caller = Caller::Actor(&actor);
    let report = reports::program(&state.ctx(), caller, query.into_inner(), format).await?;
    Ok(match format {
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(report.figures.csv()),
        Format::Json => HttpResponse::Ok().json(report),
    })
}
