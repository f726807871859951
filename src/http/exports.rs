//! `GET /exports/research`: pseudonymised case rows for studies, streamed page by page so that
//! memory stays flat whatever the number of cases. The operation is `service::exports::research`;
//! each page's cases are audited there before the page is sent.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::{Stream, stream};

use super::reports::wants;
use crate::app::AppState;
use crate::domain::policy::Actor;
use crate::domain::report::csv_line;
use crate::domain::research::{COLUMNS, ResearchRow};
use crate::error::{AppError, AppResult};
use crate::service::Caller;
use crate::service::exports::{self, KEY_FIELD, ResearchExport, ResearchRequest};
use crate::service::reports::ReportQuery;

const NDJSON: &str = "application/x-ndjson";

/// Pseudonymised case rows for research (CNIL MR-004): one row per case open on at least one day
/// of the period, patient, case and practice replaced by HMAC-SHA-256 under the key given in the
/// `Pseudonym-Key` header (never stored), the birth year instead of the date, and no names,
/// contact details, INS or free text. NDJSON by default, CSV with `Accept: text/csv`; streamed.
/// Every exported case is audited.
#[utoipa::path(get, path = "/api/v1/exports/research", tag = "reports",
    params(
        ReportQuery,
        ("Pseudonym-Key" = String, Header, min_length = 32, max_length = 512, description = "The key of this export's pseudonyms, 32 to 512 characters. The same key gives the same pseudonyms."),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rows, streamed", content(
            (ResearchRow = "application/x-ndjson"),
            (String = "text/csv", example = "case,patient,practice,region,program,sex,birth_year,...\n"),
        )),
        (status = 400, description = "A missing or malformed parameter", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Admins and coordinators only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such practice among the caller's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A key too short or too long, or an impossible period or scope", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn research(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    query: crate::http::extract::Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let request = ResearchRequest {
        query: query.into_inner(),
        key: req.headers().get(KEY_FIELD).map(|v| v.as_bytes().to_vec()),
    };
    let export = exports::research(&state.ctx(), Caller::Actor(&actor), request).await?;
    let csv = wants(&req, "text/csv");
    Ok(HttpResponse::Ok()
        .content_type(if csv {
            "text/csv; charset=utf-8"
        } else {
            NDJSON
        })
        .insert_header(("Cache-Control", "no-store"))
        .streaming(pages(export, csv)))
}

/// The export's pages as chunks of the body (the CSV header before the first); the body ends
/// after the last page, or with the first error.
fn pages(export: ResearchExport, csv: bool) -> impl Stream<Item = AppResult<Bytes>> {
    let header = csv.then(|| csv_line(&COLUMNS));
    stream::unfold(Some((export, header)), move |state| async move {
        let (mut export, header) = state?;
        let chunk = match export.next_page().await {
            Ok(None) => return None,
            Ok(Some(rows)) => render(header.unwrap_or_default(), &rows, csv),
            Err(error) => Err(error),
        };
        let next = chunk.is_ok().then_some((export, None));
        Some((chunk, next))
    })
}

fn render(mut out: String, rows: &[ResearchRow], csv: bool) -> AppResult<Bytes> {
    for row in rows {
        if csv {
            out.push_str(&csv_line(&row.fields()));
        } else {
            let line = serde_json::to_string(row)
                .map_err(|e| AppError::internal("a research row as JSON", &e))?;
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(Bytes::from(out))
}
