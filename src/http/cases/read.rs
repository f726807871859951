//! Reads of cases: one case, lists with filters, contacts, the timeline, the worklist. Each case
//! read is audited (lists write one row per case, in one batch).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Case, Contact, ScoreView, case_in_scope};
use crate::app::AppState;
use crate::db::audit::{self, Outcome};
use crate::db::cases::{self as store, CaseFilter, CaseWithPatient};
use crate::db::{naive, utc};
use crate::domain::account::Role;
use crate::domain::case::{EventKind, Priority, weeks_in_treatment};
use crate::domain::pathway::{ExitReason, Flag, Phase};
use crate::domain::policy::{Action, Actor, authorize};
use crate::error::{AppError, AppResult};
use crate::http::PageQuery;
use crate::http::auth::parse_id;
use crate::http::extract::etag;

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<Case>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    pub phase: Option<Phase>,
    pub nurse_id: Option<Uuid>,
    pub practice_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    /// `true`: only open cases past their due date.
    pub overdue: Option<bool>,
    /// Only open cases carrying this flag.
    pub flag: Option<Flag>,
}

/// Cases of the caller's practices, oldest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of cases", body = CasePage),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: crate::http::extract::Query<CaseQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadCases)?;
    let now = state.clock.now();
    let cadences = state.settings.cadences;
    let query = query.into_inner();
    let not_improving_before = naive(now - Duration::weeks(cadences.not_improving_weeks));
    let mut filter = CaseFilter {
        phase: query.phase,
        nurse_id: query.nurse_id.map(|id| id.to_string()),
        practice_id: query.practice_id.map(|id| id.to_string()),
        patient_id: query.patient_id.map(|id| id.to_string()),
        due_before: (query.overdue == Some(true)).then(|| now.date_naive()),
        after: page.after_id()?,
        limit: page.fetch_limit(),
        ..CaseFilter::default()
    };
    match query.flag {
        Some(Flag::SafetyAlert) => filter.safety_alert = true,
        Some(Flag::NotImproving) => filter.not_improving_before = Some(not_improving_before),
        Some(Flag::NeedsReview) => filter.needs_review_before = Some(not_improving_before),
        Some(Flag::LongEpisode) => {
            filter.referred_before = Some(naive(now - Duration::days(cadences.long_episode_days)));
        }
        None => {}
    }
    let paging = page.into_inner();
    let (rows, next_cursor) = state
        .db
        .transaction(move |conn| {
            audit::record_filter_outside_scope(
                conn,
                &actor,
                "case.list",
                filter.practice_id.as_deref(),
                &scope,
                naive(now),
            )?;
            let rows = store::list(conn, &scope, &filter)?;
            // Audited: what the page shows, not the row read to know another page follows.
            let (rows, next_cursor) = paging.split(rows, |row| row.id.clone());
            let reads: Vec<(&str, Option<&str>)> = rows
                .iter()
                .map(|r| (r.patient_id.as_str(), Some(r.id.as_str())))
                .collect();
            audit::record_reads(conn, &actor, "case.list", &reads, naive(now))?;
            Ok((rows, next_cursor))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| Case::from_row(row, &cadences, now))
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(CasePage { items, next_cursor }))
}

/// One case, with its derived state.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = Case,
            headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadCases)?;
    let id = id.into_inner().to_string();
    let now = state.clock.now();
    let cadences = state.settings.cadences;
    let row = state
        .db
        .transaction(move |conn| {
            let row = case_in_scope(conn, &actor, &scope, &id, "case.read", naive(now))?;
            audit::record(
                conn,
                &actor,
                "case.read",
                Some(&row.patient_id),
                Some(&row.id),
                Outcome::Ok,
                naive(now),
            )?;
            Ok(row)
        })
        .await?;
    let case = Case::from_row(row, &cadences, now)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(case.version))
        .json(case))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    /// Pass as `after` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A case's contacts, most recent first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/contacts", tag = "cases", params(("id" = Uuid, Path), PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of contacts", body = ContactPage),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn contacts(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadCases)?;
    let id = id.into_inner().to_string();
    let after = page.after_id()?;
    let limit = page.fetch_limit();
    let now = naive(state.clock.now());
    let (rows, scores, events) = state
        .db
        .transaction(move |conn| {
            let case = case_in_scope(conn, &actor, &scope, &id, "case.contacts", now)?;
            let before = match after {
                Some(cursor) => Some(
                    store::find_contact(conn, &id, &cursor)?
                        .map(|c| (c.occurred_at, c.id))
                        .ok_or_else(|| {
                            AppError::BadRequest("after is not a contact of this case".to_owned())
                        })?,
                ),
                None => None,
            };
            let rows = store::contacts_of(conn, &id, before, limit)?;
            let scores = store::scores_of(conn, &id)?;
            let events = store::events_of(conn, &id)?;
            audit::record(
                conn,
                &actor,
                "case.contacts",
                Some(&case.patient_id),
                Some(&case.id),
                Outcome::Ok,
                now,
            )?;
            Ok((rows, scores, events))
        })
        .await?;
    let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
    let mut by_event: HashMap<String, Vec<ScoreView>> = HashMap::new();
    let contact_of_event: HashMap<String, String> = events
        .into_iter()
        .filter_map(|e| e.contact_id.map(|c| (e.id, c)))
        .collect();
    for score in &scores {
        if let Some(contact_id) = contact_of_event.get(&score.event_id) {
            by_event
                .entry(contact_id.clone())
                .or_default()
                .push(ScoreView::from_row(score)?);
        }
    }
    let items = rows
        .into_iter()
        .map(|row| {
            let scores = by_event.remove(&row.id).unwrap_or_default();
            Contact::from_row(row, scores)
        })
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(ContactPage { items, next_cursor }))
}

/// What happened to a case, in time order.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub kind: EventKind,
    /// When it happened (a contact or assessment may be logged after the fact).
    pub occurred_at: DateTime<Utc>,
    /// When it was written down.
    pub recorded_at: DateTime<Utc>,
    /// Who did it.
    pub actor_id: Uuid,
    pub from_phase: Option<Phase>,
    pub to_phase: Option<Phase>,
    pub exit_reason: Option<ExitReason>,
    /// Machine-readable detail: the contact's outcome, who was assigned, the review flag.
    pub detail: Option<String>,
    /// Why, in the words of the person who did it.
    pub note: Option<String>,
    /// For a `contact` entry: the contact.
    pub contact: Option<Contact>,
    /// Questionnaires answered at this step (screening, assessment, contact).
    pub scores: Vec<ScoreView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub case_id: Uuid,
    pub entries: Vec<TimelineEntry>,
}

/// Everything that happened to a case: referral, assessment, contacts, scores, phase moves,
/// reassignments and review flags, in time order.
#[utoipa::path(get, path = "/api/v1/cases/{id}/timeline", tag = "cases", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case's timeline", body = Timeline),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn timeline(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadCases)?;
    let case_id = id.into_inner();
    let id = case_id.to_string();
    let now = naive(state.clock.now());
    let (events, contacts, scores) = state
        .db
        .transaction(move |conn| {
            let case = case_in_scope(conn, &actor, &scope, &id, "case.timeline", now)?;
            let events = store::events_of(conn, &id)?;
            let contacts = store::all_contacts_of(conn, &id)?;
            let scores = store::scores_of(conn, &id)?;
            audit::record(
                conn,
                &actor,
                "case.timeline",
                Some(&case.patient_id),
                Some(&case.id),
                Outcome::Ok,
                now,
            )?;
            Ok((events, contacts, scores))
        })
        .await?;
    let mut scores_by_event: HashMap<String, Vec<ScoreView>> = HashMap::new();
    for score in &scores {
        scores_by_event
            .entry(score.event_id.clone())
            .or_default()
            .push(ScoreView::from_row(score)?);
    }
    let mut contacts: HashMap<String, _> =
        contacts.into_iter().map(|c| (c.id.clone(), c)).collect();
    let phase = |p: Option<String>| -> AppResult<Option<Phase>> {
        p.map(|p| {
            Phase::parse(&p).ok_or_else(|| AppError::Internal("stored phase unknown".to_owned()))
        })
        .transpose()
    };
    let entries = events
        .into_iter()
        .map(|e| {
            let scores = scores_by_event.remove(&e.id).unwrap_or_default();
            let contact = e
                .contact_id
                .as_ref()
                .and_then(|id| contacts.remove(id))
                .map(|c| Contact::from_row(c, scores.clone()))
                .transpose()?;
            Ok(TimelineEntry {
                id: parse_id(&e.id)?,
                kind: EventKind::parse(&e.kind)
                    .ok_or_else(|| AppError::Internal("stored event kind unknown".to_owned()))?,
                occurred_at: utc(e.occurred_at),
                recorded_at: utc(e.recorded_at),
                actor_id: parse_id(&e.actor_id)?,
                from_phase: phase(e.from_phase)?,
                to_phase: phase(e.to_phase)?,
                exit_reason: e
                    .exit_reason
                    .map(|r| {
                        ExitReason::parse(&r).ok_or_else(|| {
                            AppError::Internal("stored exit reason unknown".to_owned())
                        })
                    })
                    .transpose()?,
                detail: e.detail,
                note: e.note,
                contact,
                scores,
            })
        })
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(Timeline { case_id, entries }))
}

/// One line of a worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorklistItem {
    pub case_id: Uuid,
    pub patient_id: Uuid,
    pub family_name: String,
    pub given_names: String,
    pub practice_id: Uuid,
    pub phase: Phase,
    pub nurse_id: Option<Uuid>,
    pub weeks_in_treatment: i64,
    /// PHQ-9 total at baseline (the screening's before the assessment).
    pub first_phq9: Option<u8>,
    pub last_phq9: Option<u8>,
    pub first_gad7: Option<u8>,
    pub last_gad7: Option<u8>,
    pub next_contact_due: Option<NaiveDate>,
    pub overdue_days: i64,
    pub flags: Vec<Flag>,
    pub version: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Worklist {
    /// In priority order: safety alerts, most overdue, needing review, due soonest.
    pub items: Vec<WorklistItem>,
}

/// The caller's caseload in priority order. A nurse: the open cases assigned to them and the
/// referrals of their practices waiting for assessment. A psychiatrist: the open cases they are
/// referring psychiatrist of, and those of their practices that need review. A GP: the open cases
/// they referred.
#[utoipa::path(get, path = "/api/v1/worklist", tag = "cases",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caseload, most urgent first", body = Worklist),
        (status = 403, description = "Nurses, psychiatrists and GPs only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn worklist(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ReadWorklist)?;
    let now = state.clock.now();
    let cadences = state.settings.cadences;
    let not_improving_before = naive(now - Duration::weeks(cadences.not_improving_weeks));
    // Read without the write lock (SQLite serialises writers), then audit what was read; the
    // rows are returned only once their audit rows are committed.
    let reader = actor.clone();
    let rows: Vec<CaseWithPatient> = state
        .db
        .run(move |conn| {
            let actor = reader;
            let rows = match actor.role {
                Some(Role::Nurse) => {
                    store::caseload_of_nurse(conn, &actor.id, &actor.practice_ids)?
                }
                Some(Role::Psychiatrist) => store::caseload_of_psychiatrist(
                    conn,
                    &actor.id,
                    &actor.practice_ids,
                    not_improving_before,
                )?,
                _ => store::caseload_of_gp(conn, &actor.id)?,
            };
            // A case whose practice the caller left is not theirs to see any more.
            let rows: Vec<CaseWithPatient> = rows
                .into_iter()
                .filter(|(case, _)| actor.practice_ids.contains(&case.practice_id))
                .collect();
            Ok(rows)
        })
        .await?;
    let reads: Vec<(String, String)> = rows
        .iter()
        .map(|(r, _)| (r.patient_id.clone(), r.id.clone()))
        .collect();
    state
        .db
        .transaction(move |conn| {
            Ok(audit::record_case_reads(
                conn,
                &actor,
                "worklist.read",
                &reads,
                naive(now),
            )?)
        })
        .await?;
    let mut items = rows
        .into_iter()
        .map(|(row, (family_name, given_names))| {
            let case = Case::from_row(row, &cadences, now)?;
            let total = |s: &Option<ScoreView>| s.as_ref().map(|s| s.total);
            Ok(WorklistItem {
                case_id: case.id,
                patient_id: case.patient_id,
                family_name,
                given_names,
                practice_id: case.practice_id,
                phase: case.phase,
                nurse_id: case.nurse_id,
                weeks_in_treatment: weeks_in_treatment(case.assessed_at, now),
                first_phq9: total(&case.baseline.phq9).or(if case.assessed_at.is_none() {
                    total(&case.latest.phq9)
                } else {
                    None
                }),
                last_phq9: total(&case.latest.phq9),
                first_gad7: total(&case.baseline.gad7).or(if case.assessed_at.is_none() {
                    total(&case.latest.gad7)
                } else {
                    None
                }),
                last_gad7: total(&case.latest.gad7),
                next_contact_due: case.next_contact_due,
                overdue_days: case.overdue_days,
                flags: case.flags,
                version: case.version,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    items.sort_by_key(|i| {
        (
            Priority::of(&i.flags, i.overdue_days, i.next_contact_due).key(),
            i.case_id,
        )
    });
    Ok(HttpResponse::Ok().json(Worklist { items }))
}
