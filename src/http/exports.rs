//! `GET /exports/research`: pseudonymised case rows for studies, streamed page by page so that
//! memory stays flat whatever the number of cases. Each page's cases are audited as it is sent.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono_tz::Tz;
use futures_util::stream;

use super::reports::{ReportQuery, csv_field, resolve, wants};
use crate::app::AppState;
use crate::db::audit;
use crate::db::reports::{self as store, Coverage, ExportCase, Span};
use crate::db::{naive, utc};
use crate::domain::policy::{Action, Actor};
use crate::domain::research::{COLUMNS, Pseudonymiser, ResearchRow, birth_year};
use crate::error::{AppError, AppResult};

/// Cases per page (and per audit batch).
const PAGE: i64 = 1000;
/// The header carrying the caller's pseudonymisation key.
pub const KEY_HEADER: &str = "Pseudonym-Key";
const NDJSON: &str = "application/x-ndjson";

fn row_of(case: ExportCase, keys: &Pseudonymiser, zone: Tz) -> ResearchRow {
    let day = |at: chrono::NaiveDateTime| utc(at).with_timezone(&zone).date_naive();
    ResearchRow {
        case: keys.pseudonym("case", &case.id),
        patient: keys.pseudonym("patient", &case.patient_id),
        practice: keys.pseudonym("practice", &case.practice_id),
        region: case.region,
        program: case.program,
        sex: case.sex,
        birth_year: birth_year(case.birth_date),
        indications: case.indications.replace(',', " "),
        substances: case.substances.replace(',', " "),
        phase: case.phase,
        referred_on: day(case.referred_at),
        assessed_on: case.assessed_at.map(day),
        closed_on: case.closed_at.map(day),
        exit_reason: case.exit_reason,
        baseline_phq9: case.baseline_phq9,
        baseline_gad7: case.baseline_gad7,
        latest_phq9: case.latest_phq9,
        latest_gad7: case.latest_gad7,
        completed_contacts: case.completed_contacts,
        unsuccessful_contacts: case.unsuccessful_contacts,
        tele_expertise_requests: case.tele_expertise_requests,
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// Where the stream stands between pages.
struct Cursor {
    state: web::Data<AppState>,
    actor: Actor,
    span: Span,
    coverage: Coverage,
    keys: Pseudonymiser,
    csv: bool,
    after: Option<String>,
    header_sent: bool,
    done: bool,
}

/// Reads, audits and renders the next page; `None` when every case has been sent.
async fn next_chunk(mut cursor: Cursor) -> Option<(Result<Bytes, AppError>, Cursor)> {
    if cursor.done {
        return None;
    }
    let mut out = String::new();
    if cursor.csv && !cursor.header_sent {
        out.push_str(&csv_line(&COLUMNS.map(str::to_owned)));
    }
    cursor.header_sent = true;
    let (span, coverage, after) = (cursor.span, cursor.coverage.clone(), cursor.after.clone());
    let page = cursor
        .state
        .db
        .run(move |conn| store::export_page(conn, span, &coverage, after.as_deref(), PAGE))
        .await;
    let page = match page {
        Ok(page) => page,
        Err(error) => {
            tracing::error!(%error, "the research export stopped");
            cursor.done = true;
            return Some((Err(error), cursor));
        }
    };
    cursor.done = (page.len() as i64) < PAGE;
    cursor.after = page.last().map(|c| c.id.clone());
    let reads: Vec<(String, String)> = page
        .iter()
        .map(|c| (c.patient_id.clone(), c.id.clone()))
        .collect();
    let (actor, now) = (cursor.actor.clone(), naive(cursor.state.clock.now()));
    let audited = cursor
        .state
        .db
        .transaction(move |conn| {
            Ok(audit::record_case_reads(
                conn,
                &actor,
                "case.export",
                &reads,
                now,
            )?)
        })
        .await;
    if let Err(error) = audited {
        tracing::error!(%error, "the research export stopped: its audit could not be written");
        cursor.done = true;
        return Some((Err(error), cursor));
    }
    let zone = cursor.state.settings.timezone;
    for case in page {
        let row = row_of(case, &cursor.keys, zone);
        if cursor.csv {
            out.push_str(&csv_line(&row.fields()));
        } else {
            match serde_json::to_string(&row) {
                Ok(line) => {
                    out.push_str(&line);
                    out.push('\n');
                }
                Err(error) => {
                    cursor.done = true;
                    return Some((Err(AppError::Internal(error.to_string())), cursor));
                }
            }
        }
    }
    Some((Ok(Bytes::from(out)), cursor))
}

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
    let resolved = resolve(&state, &actor, Action::ExportResearch, &query).await?;
    let key = req
        .headers()
        .get(KEY_HEADER)
        .ok_or_else(|| AppError::BadRequest(format!("the {KEY_HEADER} header is required")))?
        .to_str()
        .map_err(|_| AppError::invalid(KEY_HEADER, "must be printable text"))?;
    let keys = Pseudonymiser::new(key).map_err(|e| AppError::invalid(KEY_HEADER, e.to_string()))?;
    let csv = wants(&req, "text/csv");
    let cursor = Cursor {
        state: state.clone(),
        actor,
        span: resolved.span,
        coverage: resolved.coverage,
        keys,
        csv,
        after: None,
        header_sent: false,
        done: false,
    };
    Ok(HttpResponse::Ok()
        .content_type(if csv {
            "text/csv; charset=utf-8"
        } else {
            NDJSON
        })
        .insert_header(("Cache-Control", "no-store"))
        .streaming(stream::unfold(cursor, next_chunk)))
}
