//! Program indicators for coordinators and funders: `GET /reports/program` (JSON or CSV), and the
//! scope and period parsing the research export shares.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::AppState;
use crate::db::audit::{self, Outcome};
use crate::db::naive;
use crate::db::reports::{self as store, Coverage, Span};
use crate::domain::case::Program;
use crate::domain::indicators::{Period, suppresses_small_cells};
use crate::domain::policy::{Action, Actor, Scope, authorize};
use crate::domain::report::{PracticeFacts, ProgramReport, program_report};
use crate::error::{AppError, AppResult};

/// The period and scope of a report or an export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day of the period (a local date, included).
    pub from: NaiveDate,
    /// Last day of the period (included).
    pub to: NaiveDate,
    /// One practice. At most one of `practice_id`, `network` and `region`; with none, every
    /// practice the caller may see.
    pub practice_id: Option<Uuid>,
    /// The practices of one network.
    pub network: Option<String>,
    /// The practices of one region.
    pub region: Option<String>,
    /// One program; both when absent.
    pub program: Option<Program>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportScope {
    pub practice_id: Option<Uuid>,
    pub network: Option<String>,
    pub region: Option<String>,
    pub program: Option<Program>,
    /// How many practices the scope holds.
    pub practices: usize,
    /// Whether counts from 1 to 4 are shown as `"<5"` (a scope wider than one practice).
    pub small_cells_suppressed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPeriod {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The program report. Definitions: `docs/indicators.md`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramReportView {
    pub period: ReportPeriod,
    pub scope: ReportScope,
    #[serde(flatten)]
    pub figures: ProgramReport,
}

/// A resolved report request: the period as days and as stored instants, and the cases covered.
pub struct Resolved {
    pub period: Period,
    pub span: Span,
    pub coverage: Coverage,
    pub practices: Vec<PracticeFacts>,
}

/// Checks the query, and finds the practices of the scope among those the caller may see.
pub async fn resolve(
    state: &AppState,
    actor: &Actor,
    action: Action,
    query: &ReportQuery,
) -> AppResult<Resolved> {
    let scope = authorize(actor, action)?;
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    let latest = NaiveDate::from_ymd_opt(2200, 12, 31).unwrap_or(NaiveDate::MAX);
    for (field, day) in [("from", query.from), ("to", query.to)] {
        if day < earliest || day > latest {
            return Err(AppError::invalid(
                field,
                "must be from 1900-01-01 to 2200-12-31",
            ));
        }
    }
    if crate::domain::ends_before_start(Some(query.from), Some(query.to)) {
        return Err(AppError::invalid("to", "must be on or after from"));
    }
    let filters = [
        query.practice_id.is_some(),
        query.network.is_some(),
        query.region.is_some(),
    ];
    if filters.iter().filter(|f| **f).count() > 1 {
        return Err(AppError::invalid(
            "practice_id",
            "give at most one of practice_id, network and region",
        ));
    }
    let all = state.db.run(|conn| Ok(store::practices(conn)?)).await?;
    let wanted_id = query.practice_id.map(|id| id.to_string());
    let chosen: Vec<(String, String, Option<String>)> = all
        .into_iter()
        .filter(|(id, _, _)| scope.covers(id))
        .filter(|(id, region, network)| {
            wanted_id.as_ref().is_none_or(|w| w == id)
                && query.region.as_ref().is_none_or(|r| r == region)
                && query
                    .network
                    .as_ref()
                    .is_none_or(|n| network.as_ref() == Some(n))
        })
        .collect();
    if wanted_id.is_some() && chosen.is_empty() {
        let at = naive(state.clock.now());
        let (who, practice) = (actor.clone(), wanted_id.clone());
        state
            .db
            .transaction(move |conn| {
                Ok(audit::record_filter_outside_scope(
                    conn,
                    &who,
                    "report.program",
                    practice.as_deref(),
                    &scope,
                    at,
                )?)
            })
            .await?;
        return Err(AppError::not_found("practice"));
    }
    let every_practice = scope == Scope::All && !filters.iter().any(|f| *f);
    let coverage = Coverage {
        practice_ids: (!every_practice).then(|| chosen.iter().map(|p| p.0.clone()).collect()),
        program: query.program.map(|p| p.as_str().to_owned()),
    };
    let period = Period {
        from: query.from,
        to: query.to,
    };
    let (start, end) = period.bounds(state.settings.timezone);
    Ok(Resolved {
        period,
        span: Span {
            start: naive(start),
            end: naive(end),
        },
        coverage,
        practices: chosen
            .into_iter()
            .map(|(_, region, network)| PracticeFacts { region, network })
            .collect(),
    })
}

/// Whether the client asked for CSV (`Accept: text/csv` before any JSON).
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

/// One CSV field: quoted when needed, and never read as a formula by a spreadsheet.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
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
    let query = query.into_inner();
    let resolved = resolve(&state, &actor, Action::ReadReports, &query).await?;
    let csv = wants(&req, "text/csv");
    let suppress = suppresses_small_cells(resolved.practices.len(), csv);
    let zone = state.settings.timezone;
    let now = naive(state.clock.now());
    let practices = resolved.practices.len();
    // Four independent reads on four connections: the report waits for the longest only.
    let span = resolved.span;
    let coverage = resolved.coverage;
    let started = std::time::Instant::now();
    // Each read logs its duration (debug level) to show where a slow report spends its time.
    let timed = |part: &'static str| {
        move || {
            tracing::debug!(
                part,
                elapsed_ms = started.elapsed().as_millis(),
                "report read"
            )
        }
    };
    let scores_at = |week: i64, done: &'static str| {
        let (coverage, log) = (coverage.clone(), timed(done));
        state.db.run(move |conn| {
            let scores = store::follow_up_scores(conn, span, &coverage, week);
            log();
            scores
        })
    };
    let (for_cases, for_activity) = (coverage.clone(), coverage.clone());
    let (cases_done, activity_done) = (timed("cases"), timed("activity"));
    let (cases, at_12, at_24, activity) = tokio::join!(
        state.db.run(move |conn| {
            let cases = store::cases(conn, span, &for_cases);
            cases_done();
            cases
        }),
        scores_at(12, "scores at week 12"),
        scores_at(24, "scores at week 24"),
        state.db.run(move |conn| {
            let activity = store::activity(conn, span, &for_activity);
            activity_done();
            activity
        }),
    );
    let mut scores = at_12?;
    scores.extend(at_24?);
    let facts = store::assemble(
        resolved.period,
        zone,
        cases?,
        scores,
        activity?,
        resolved.practices,
    );
    timed("assembled")();
    let figures = program_report(&facts, suppress);
    timed("figures")();
    state
        .db
        .transaction(move |conn| {
            Ok(audit::record(
                conn,
                &actor,
                "report.program",
                None,
                None,
                Outcome::Ok,
                now,
            )?)
        })
        .await?;
    if csv {
        let mut body = String::from("section,measure,group,value\n");
        for row in figures.rows() {
            let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            body.push_str(&fields.join(","));
            body.push('\n');
        }
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(body));
    }
    Ok(HttpResponse::Ok().json(ProgramReportView {
        period: ReportPeriod {
            from: query.from,
            to: query.to,
        },
        scope: ReportScope {
            practice_id: query.practice_id,
            network: query.network,
            region: query.region,
            program: query.program,
            practices,
            small_cells_suppressed: suppress,
        },
        figures,
    }))
}
