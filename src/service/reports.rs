//! Reports: the program's indicators for a period and a scope, and the scope that they and the
//! research export (`service::exports`) cover.

use std::time::Instant;

use chrono::NaiveDate;
use chrono_tz::Tz;
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Caller, Ctx};
use crate::db::audit::{self, Outcome};
use crate::db::reports::{self as store, Coverage, Span};
use crate::db::{Db, DbConn, naive};
use crate::domain::case::Program;
use crate::domain::indicators::{OUTCOME_WEEKS, Period, suppresses_small_cells};
use crate::domain::policy::{Action, Actor, Scope};
use crate::domain::report::{Facts, PracticeFacts, ProgramReport, program_report};
use crate::error::{AppError, AppResult};

/// The audit action of a program report (one row, no patient: aggregates only).
const REPORT_ACTION: &str = "report.program";

/// The period and scope of a report or an export (the API reads it from the query string).
#[derive(Debug, Clone, Deserialize, IntoParams)]
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

/// How a report is published: the small-cell rule always applies to CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
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

/// Program indicators for a period and scope (PATHWAY.md §6; definitions in
/// `docs/indicators.md`): admins see every practice, coordinators their own. Counts from 1 to 4
/// are published as `"<5"` when the scope holds more than one practice, and always in CSV. The
/// facts are read on several connections at once (`read_facts`); the report is then audited
/// (one `report.program` row, aggregates only) in one transaction before it is returned.
pub async fn program(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: ReportQuery,
    format: Format,
) -> AppResult<ProgramReportView> {
    let scope = caller.may(Action::ReadReports)?;
    let actor = account(caller)?;
    let (db, zone, now) = (&ctx.db, ctx.settings.timezone, ctx.now());
    let resolved = resolve(ctx, actor, scope, &query).await?;
    let practices = resolved.practices.len();
    let suppress = suppresses_small_cells(practices, format == Format::Csv);
    let started = Instant::now();
    let facts = read_facts(db, zone, resolved, started).await?;
    log_read("assembled", started);
    let figures = program_report(&facts, suppress);
    log_read("figures", started);
    let who = actor.clone();
    db.transaction(move |conn| {
        let at = naive(now);
        Ok(audit::record(
            conn,
            &who,
            REPORT_ACTION,
            None,
            None,
            Outcome::Ok,
            at,
        )?)
    })
    .await?;
    Ok(ProgramReportView {
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
    })
}

/// The account an audited read is written under. The command line's operator has none, so the
/// reads whose audit rows name an account are refused to it.
pub(super) fn account<'a>(caller: Caller<'a>) -> AppResult<&'a Actor> {
    match caller {
        Caller::Actor(actor) => Ok(actor),
        Caller::Operator => Err(AppError::Forbidden(
            "this read is audited under an account; the command line has none".to_owned(),
        )),
    }
}

/// A resolved report request: the period as days and as stored instants, and the cases covered.
pub(super) struct Resolved {
    pub period: Period,
    pub span: Span,
    pub coverage: Coverage,
    pub practices: Vec<PracticeFacts>,
}

/// Checks the query, and finds the practices of the scope among those `scope` lets the caller
/// see. A practice asked for outside it is audited (`filter`) and answered 404, as one that does
/// not exist.
pub(super) async fn resolve(
    ctx: &Ctx,
    actor: &Actor,
    scope: Scope,
    query: &ReportQuery,
) -> AppResult<Resolved> {
    let db = &ctx.db;
    let period = Period::of_days(query.from, query.to)
        .map_err(|(field, why)| AppError::invalid(field, why))?;
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
    let all = db.run(|conn| Ok(store::practices(conn)?)).await?;
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
        let (who, now) = (actor.clone(), ctx.now());
        return db
            .transaction(move |conn| {
                let (practice, at) = (wanted_id.as_deref(), naive(now));
                audit::record_filter_outside_scope(
                    conn,
                    &who,
                    REPORT_ACTION,
                    practice,
                    &scope,
                    at,
                )?;
                Err(AppError::not_found("practice").recorded())
            })
            .await;
    }
    let every_practice = scope == Scope::All && !filters.iter().any(|f| *f);
    let (start, end) = period.bounds(ctx.settings.timezone);
    let ids: Vec<String> = chosen.iter().map(|p| p.0.clone()).collect();
    let mut periods = db
        .run(move |conn| Ok(crate::db::practices::programs_of(conn, &ids)?))
        .await?;
    Ok(Resolved {
        period,
        span: Span {
            start: naive(start),
            end: naive(end),
        },
        coverage: Coverage {
            practice_ids: (!every_practice).then(|| chosen.iter().map(|p| p.0.clone()).collect()),
            program: query.program,
        },
        practices: chosen
            .into_iter()
            .map(|(id, region, network)| {
                let (mine, rest) = periods.drain(..).partition(|p| p.practice_id == id);
                periods = rest;
                let mine: Vec<crate::db::practices::ProgramRow> = mine;
                PracticeFacts {
                    region,
                    network,
                    programs: mine.iter().map(|p| p.period()).collect(),
                }
            })
            .collect(),
    })
}

/// The facts of the report in independent reads on as many connections at once — the cases, the
/// scores at each outcome week, the activity — so the report waits for the longest read only.
/// The reads do not share a snapshot (`docs/ARCHITECTURE.md`, "Reports").
async fn read_facts(db: &Db, zone: Tz, resolved: Resolved, started: Instant) -> AppResult<Facts> {
    let Resolved {
        period,
        span,
        coverage,
        practices,
    } = resolved;
    let scores = OUTCOME_WEEKS.map(|week| {
        let coverage = coverage.clone();
        timed_read(db, format!("scores at week {week}"), started, move |conn| {
            store::follow_up_scores(conn, span, &coverage, week)
        })
    });
    let (for_cases, for_activity, for_tables) = (coverage.clone(), coverage.clone(), coverage);
    let (cases, scores, activity, tables) = tokio::join!(
        timed_read(db, "cases".to_owned(), started, move |conn| {
            store::cases(conn, span, &for_cases)
        }),
        try_join_all(scores),
        timed_read(db, "activity".to_owned(), started, move |conn| {
            store::activity(conn, span, &for_activity)
        }),
        timed_read(db, "tables".to_owned(), started, move |conn| {
            store::table_facts(conn, span, &for_tables, period)
        }),
    );
    let scores = scores?.into_iter().flatten().collect();
    Ok(store::assemble(
        period, zone, cases?, scores, activity?, practices, tables?,
    ))
}

/// One read on a pooled connection, logged with its duration (debug level) to show where a slow
/// report spends its time.
async fn timed_read<T: Send + 'static>(
    db: &Db,
    part: String,
    started: Instant,
    read: impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    db.run(move |conn| {
        let out = read(conn);
        log_read(&part, started);
        out
    })
    .await
}

fn log_read(part: &str, started: Instant) {
    tracing::debug!(
        part,
        elapsed_ms = started.elapsed().as_millis(),
        "report read"
    );
}
