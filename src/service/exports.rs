//! The research export: pseudonymised case rows for studies, read, audited and handed over a page
//! at a time, so that memory stays flat whatever the number of cases. It covers the scope of a
//! report (`reports::resolve`) but is its own operation: its own action, a caller's key, rows of
//! cases rather than figures, and a cursor that outlives the call.

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::reports::{ReportQuery, account, resolve};
use super::{Caller, Ctx};
use crate::db::audit;
use crate::db::reports::{self as store, Coverage, ExportCase, Span};
use crate::db::{naive, utc};
use crate::domain::policy::{Action, Actor};
use crate::domain::research::{Pseudonymiser, ResearchRow, birth_year, key_text};
use crate::error::{AppError, AppResult};

/// Cases per page (and per audit batch).
const PAGE: i64 = 1000;
/// The name of the pseudonymisation key where a refusal names it (the API's header).
pub const KEY_FIELD: &str = "Pseudonym-Key";
/// The audit action of each exported case.
const EXPORT_ACTION: &str = "case.export";

/// What the research export is asked for.
#[derive(Debug, Clone)]
pub struct ResearchRequest {
    pub query: ReportQuery,
    /// The key of this export's pseudonyms as given (the API's `Pseudonym-Key` header): required,
    /// printable text (`key_text`), 32 to 512 characters. Never stored or logged.
    pub key: Option<Vec<u8>>,
}

/// Pseudonymised case rows for research (CNIL MR-004): one row per case open on at least one day
/// of the period, for admins and coordinators (`Action::ExportResearch`), in the scope of a
/// report. The scope is checked before the key. The rows are then read a page at a time
/// (`ResearchExport::next_page`), each page audited (`case.export`, one row per case) before it
/// is handed over.
pub async fn research(
    ctx: &Ctx,
    caller: Caller<'_>,
    request: ResearchRequest,
) -> AppResult<ResearchExport> {
    let scope = caller.may(Action::ExportResearch)?;
    let actor = account(caller)?;
    let resolved = resolve(ctx, actor, scope, &request.query).await?;
    let raw = request
        .key
        .ok_or_else(|| AppError::BadRequest(format!("the {KEY_FIELD} header is required")))?;
    let key =
        key_text(&raw).ok_or_else(|| AppError::invalid(KEY_FIELD, "must be printable text"))?;
    let keys = Pseudonymiser::new(key).map_err(|e| AppError::invalid(KEY_FIELD, e.to_string()))?;
    Ok(ResearchExport {
        ctx: ctx.clone(),
        zone: ctx.settings.timezone,
        actor: actor.clone(),
        span: resolved.span,
        coverage: resolved.coverage,
        keys,
        after: None,
        done: false,
    })
}

/// An export under way: where it stands between pages.
pub struct ResearchExport {
    ctx: Ctx,
    zone: Tz,
    actor: Actor,
    span: Span,
    coverage: Coverage,
    keys: Pseudonymiser,
    after: Option<String>,
    done: bool,
}

impl ResearchExport {
    /// The next page of rows (the first may be empty), once its cases are audited; `None` when
    /// every case has been handed over. An error ends the export.
    pub async fn next_page(&mut self) -> AppResult<Option<Vec<ResearchRow>>> {
        if self.done {
            return Ok(None);
        }
        let page = self.read_and_audit().await;
        self.done = page
            .as_ref()
            .map_or(true, |page| (page.len() as i64) < PAGE);
        let page = page?;
        self.after = page.last().map(|c| c.id.clone());
        Ok(Some(
            page.into_iter().map(|case| self.row_of(case)).collect(),
        ))
    }

    async fn read_and_audit(&self) -> AppResult<Vec<ExportCase>> {
        let (span, coverage, after) = (self.span, self.coverage.clone(), self.after.clone());
        let page = self
            .ctx
            .db
            .run(move |conn| store::export_page(conn, span, &coverage, after.as_deref(), PAGE))
            .await
            .inspect_err(|error| tracing::error!(%error, "the research export stopped"))?;
        let reads: Vec<(String, String)> = page
            .iter()
            .map(|c| (c.patient_id.clone(), c.id.clone()))
            .collect();
        let (actor, now) = (self.actor.clone(), naive(self.ctx.now()));
        self.ctx
            .db
            .transaction(move |conn| {
                Ok(audit::record_case_reads(
                    conn,
                    &actor,
                    EXPORT_ACTION,
                    &reads,
                    now,
                )?)
            })
            .await
            .inspect_err(|error| {
                tracing::error!(%error, "the research export stopped: its audit could not be written")
            })?;
        Ok(page)
    }

    fn row_of(&self, case: ExportCase) -> ResearchRow {
        let day = |at: NaiveDateTime| utc(at).with_timezone(&self.zone).date_naive();
        let keys = &self.keys;
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
}
