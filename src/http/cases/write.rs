//! Writes on cases: the referral, reassignment and review flag, the initial assessment, contacts
//! and phase moves. A closed case refuses them all (409); `If-Match` guards against lost updates
//! (412); `Idempotency-Key` makes a retried POST safe.

use crate::db::locks::{Versioned, lock_for_update};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::{
    Answers, Case, Contact, ScoreView, case_in_scope, ensure_open, record_scores, refresh_derived,
    score_answers,
};
use crate::app::AppState;
use crate::db::audit::{self, Outcome};
use crate::db::cases::{self as store, CaseRow, ContactRow, EventRow};
use crate::db::{DbConn, accounts, naive, utc};
use crate::domain::account::Role;
use crate::domain::case::{
    ContactMode, ContactOutcome, EventKind, Indication, Program, RuleError, Substance,
    check_contact, check_eligibility, check_indications, check_occurred_at, join_set, referring_gp,
};
use crate::domain::instruments::{Instrument, Score};
use crate::domain::pathway::{ExitReason, Move, Phase, allowed_transitions, next_phase};
use crate::domain::patient::ConsentStatus;
use crate::domain::policy::{Action, Actor, Scope, authorize};
use crate::error::{AppError, AppResult};
use crate::http::extract::{Json, check_version, if_match};
use crate::http::idempotency::{self, Idempotency, Kept};

impl From<RuleError> for AppError {
    fn from(e: RuleError) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

/// The GP's referral: the patient, the program, why, and the screening.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub patient_id: Uuid,
    pub program: Program,
    #[schema(min_items = 1)]
    pub indications: Vec<Indication>,
    /// Required with the `addiction` indication, refused without it.
    #[serde(default)]
    pub substances: Vec<Substance>,
    /// At least one questionnaire; scored by the server.
    pub screening: Answers,
    #[validate(custom(function = "crate::http::free_text"), length(max = 4000))]
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub note: Option<String>,
    /// The referring GP: required when practice software refers; a GP refers in their own name
    /// (leave it out).
    pub referring_gp_id: Option<Uuid>,
    /// A nurse of the practice to assign at once (otherwise the nurse who assesses).
    pub nurse_id: Option<Uuid>,
    /// The practice's referring psychiatrist for this case.
    pub psychiatrist_id: Option<Uuid>,
}

/// Changes to who holds the case, or to its review flag; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    /// A nurse of the case's practice (GPs and nurses may reassign); `null` unassigns.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub nurse_id: Option<Option<Uuid>>,
    /// A psychiatrist of the case's practice (GPs and nurses may reassign); `null` unassigns.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub psychiatrist_id: Option<Option<Uuid>>,
    /// Ask for (or withdraw) a psychiatric review (nurses and psychiatrists).
    pub review_requested: Option<bool>,
    /// Why, for the timeline.
    #[validate(custom(function = "crate::http::free_text"), length(max = 4000))]
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub note: Option<String>,
}

/// The nurse's initial assessment: baselines and the care plan.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    #[schema(min_items = 9, max_items = 9, value_type = Vec<u8>)]
    pub phq9: Vec<i64>,
    #[schema(min_items = 7, max_items = 7, value_type = Vec<u8>)]
    pub gad7: Vec<i64>,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(inline)]
    pub care_plan: crate::domain::text::FreeText<8000>,
    /// When it took place (default now); not in the future, not before the referral.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A contact with the patient, logged at the time or after the fact.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    /// Not in the future, not before the referral.
    pub occurred_at: DateTime<Utc>,
    pub mode: ContactMode,
    /// Only `completed` resets the due date.
    pub outcome: ContactOutcome,
    #[validate(range(min = 1, max = 600))]
    #[schema(minimum = 1, maximum = 600)]
    pub duration_minutes: Option<i32>,
    /// At a completed contact only.
    #[schema(min_items = 9, max_items = 9, value_type = Option<Vec<u8>>)]
    pub phq9: Option<Vec<i64>>,
    /// At a completed contact only.
    #[schema(min_items = 7, max_items = 7, value_type = Option<Vec<u8>>)]
    pub gad7: Option<Vec<i64>>,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = crate::domain::text::FreeText::<4000>::nullable)]
    pub note: Option<crate::domain::text::FreeText<4000>>,
    /// After `occurred_at`.
    pub next_planned_at: Option<DateTime<Utc>>,
}

/// A move of the case to another phase.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: Phase,
    /// Required when closing, refused otherwise.
    pub exit_reason: Option<ExitReason>,
    #[validate(custom(function = "crate::http::free_text"), length(max = 4000))]
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub note: Option<String>,
}

/// A logged contact and the case as it now stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactRecorded {
    pub contact: Contact,
    pub case: Case,
}

pub(crate) fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned())
}

pub(crate) fn event(
    case_id: &str,
    kind: EventKind,
    actor: &Actor,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> EventRow {
    EventRow::new(
        Uuid::now_v7().to_string(),
        case_id,
        kind,
        &actor.id,
        naive(occurred_at),
        naive(now),
    )
}

/// Refuses an account that is not an active `role` of the practice.
fn check_member(
    conn: &mut DbConn,
    field: &str,
    user_id: Option<&str>,
    role: Role,
    practice_id: &str,
) -> AppResult<()> {
    if let Some(id) = user_id
        && !accounts::is_active_member(conn, id, role.as_str(), practice_id)?
    {
        return Err(AppError::invalid(
            field,
            format!("must be an active {} of the case's practice", role.as_str()),
        ));
    }
    Ok(())
}

/// Refer a patient: creates the case with its screening.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]{1,255}$", description = "Makes a retry safe: the same key and body get the first response back")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Referred", body = Case,
            headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, description = "GPs and API clients of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such patient in the caller's practices", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The patient already has an open case, or objected to care-team sharing", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn refer(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    Json(body): Json<NewCase>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::Refer)?;
    let idem = Idempotency::of(&req)?;
    check_indications(&body.indications, &body.substances)?;
    let screening = score_answers(
        "screening",
        &[
            (Instrument::Phq2, body.screening.phq2.as_ref()),
            (Instrument::Phq9, body.screening.phq9.as_ref()),
            (Instrument::Gad7, body.screening.gad7.as_ref()),
        ],
    )?;
    if screening.is_empty() {
        return Err(AppError::invalid(
            "screening",
            "give at least one questionnaire (phq2, phq9 or gad7)",
        ));
    }
    let now = state.clock.now();
    let cadences = state.settings.cadences;
    let settings = state.settings.clone();
    let given_gp = body.referring_gp_id.map(|id| id.to_string());
    let referring_gp = referring_gp(actor.role == Some(Role::Gp), &actor.id, given_gp.as_deref())?;
    let result = state
        .db
        .transaction(move |conn| {
            if let Some(kept) = idempotency::replay(conn, &actor, idem.as_ref())? {
                return Ok(kept);
            }
            let patient_id = body.patient_id.to_string();
            let patient = crate::http::patients::patient_in_scope(
                conn,
                &actor,
                &scope,
                &patient_id,
                "case.create",
                naive(now),
            )?;
            if patient.consent_status == ConsentStatus::Objected.as_str() {
                return Err(AppError::conflict(
                    "the patient objected to care-team sharing; record their consent first",
                ));
            }
            check_eligibility(body.program, patient.birth_date, now.date_naive())?;
            if let Some(open) = store::open_case_of(conn, &patient_id)? {
                return Err(AppError::conflict(format!(
                    "the patient already has an open case ({open}); close it before a new referral"
                )));
            }
            let practice = patient.practice_id.clone();
            check_member(
                conn,
                "referring_gp_id",
                Some(&referring_gp),
                Role::Gp,
                &practice,
            )?;
            let nurse_id = body.nurse_id.map(|id| id.to_string());
            check_member(
                conn,
                "nurse_id",
                nurse_id.as_deref(),
                Role::Nurse,
                &practice,
            )?;
            let psychiatrist_id = body.psychiatrist_id.map(|id| id.to_string());
            check_member(
                conn,
                "psychiatrist_id",
                psychiatrist_id.as_deref(),
                Role::Psychiatrist,
                &practice,
            )?;
            let mut row = CaseRow {
                program: body.program.as_str().to_owned(),
                indications: join_set(&body.indications, Indication::as_str),
                substances: join_set(&body.substances, Substance::as_str),
                referring_gp_id: Some(referring_gp),
                nurse_id,
                psychiatrist_id,
                referral_note: trimmed(body.note),
                ..CaseRow::referred(
                    Uuid::now_v7().to_string(),
                    patient_id,
                    practice,
                    actor.id.clone(),
                    naive(now),
                )
            };
            store::insert(conn, &row)?;
            let mut referral = event(&row.id, EventKind::Referral, &actor, now, now);
            referral.to_phase = Some(Phase::Referred.as_str().to_owned());
            referral.note = row.referral_note.clone();
            store::insert_event(conn, &referral)?;
            record_scores(
                conn,
                &mut row,
                &referral.id,
                &screening,
                naive(now),
                "screening",
                &actor,
                &settings,
                now,
            )?;
            refresh_derived(&mut row, &cadences)?;
            store::save(conn, &row, 1)?;
            audit::record(
                conn,
                &actor,
                "case.create",
                Some(&row.patient_id),
                Some(&row.id),
                Outcome::Ok,
                naive(now),
            )?;
            let case = Case::from_row(row, &cadences, now)?;
            let kept = Kept::json(StatusCode::CREATED, &case)?
                .location(format!("/api/v1/cases/{}", case.id))
                .etag(case.version);
            idempotency::keep(conn, &actor, idem.as_ref(), &kept, naive(now))?;
            Ok(kept)
        })
        .await?;
    Ok(result.into_response())
}

/// Runs `work` on a case in the caller's scope, in one transaction: replays a kept response,
/// refuses a closed case (409) or a stale `If-Match` (412), bumps the version, recomputes the
/// derived columns, audits, and keeps the response for `Idempotency-Key` retries.
#[allow(clippy::too_many_arguments)]
async fn change_case<R, W, F>(
    state: &AppState,
    actor: Actor,
    scope: Scope,
    id: Uuid,
    audit_action: &'static str,
    expected: Option<i32>,
    idem: Option<Idempotency>,
    work: W,
    reply: F,
) -> AppResult<HttpResponse>
where
    R: Send + 'static,
    W: FnOnce(&mut DbConn, &Actor, &mut CaseRow, DateTime<Utc>) -> AppResult<R> + Send + 'static,
    F: FnOnce(Case, R) -> AppResult<Kept> + Send + 'static,
{
    let now = state.clock.now();
    let cadences = state.settings.cadences;
    let id = id.to_string();
    let kept = state
        .db
        .transaction(move |conn| {
            if let Some(kept) = idempotency::replay(conn, &actor, idem.as_ref())? {
                return Ok(kept);
            }
            // Writers of one case take turns: without If-Match every one of them succeeds.
            lock_for_update(conn, Versioned::Cases, &id)?;
            let mut row = case_in_scope(conn, &actor, &scope, &id, audit_action, naive(now))?;
            ensure_open(&row)?;
            check_version(expected, row.version)?;
            let read_version = row.version;
            let extra = work(conn, &actor, &mut row, now)?;
            row.version = read_version + 1;
            row.updated_at = naive(now);
            refresh_derived(&mut row, &cadences)?;
            if !store::save(conn, &row, read_version)? {
                return Err(AppError::PreconditionFailed(
                    "the case changed while this request ran; read it again".to_owned(),
                ));
            }
            audit::record(
                conn,
                &actor,
                audit_action,
                Some(&row.patient_id),
                Some(&row.id),
                Outcome::Ok,
                naive(now),
            )?;
            let case = Case::from_row(row, &cadences, now)?;
            let version = case.version;
            let kept = reply(case, extra)?.etag(version);
            idempotency::keep(conn, &actor, idem.as_ref(), &kept, naive(now))?;
            Ok(kept)
        })
        .await?;
    Ok(kept.into_response())
}

/// Reassign the nurse or the referring psychiatrist, or flag the case for review.
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases", request_body = CaseUpdate,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; the change is refused (412) if the case changed since")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case as changed", body = Case,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Reassignment: GPs and nurses; review flag: nurses and psychiatrists", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<CaseUpdate>,
) -> AppResult<HttpResponse> {
    let reassigning = body.nurse_id.is_some() || body.psychiatrist_id.is_some();
    let flagging = body.review_requested.is_some();
    if !reassigning && !flagging {
        return Err(AppError::invalid(
            "body",
            "give nurse_id, psychiatrist_id or review_requested",
        ));
    }
    let mut scope = None;
    if reassigning {
        scope = Some(authorize(&actor, Action::ReassignCase)?);
    }
    if flagging {
        scope = Some(authorize(&actor, Action::FlagReview)?);
    }
    let scope = scope.ok_or_else(|| AppError::Internal("no scope".to_owned()))?;
    let expected = if_match(&req)?;
    let note = trimmed(body.note);
    change_case(
        &state,
        actor,
        scope,
        id.into_inner(),
        "case.update",
        expected,
        None,
        move |conn, actor, row, now| {
            if reassigning {
                let nurse = body.nurse_id.map(|id| id.map(|id| id.to_string()));
                check_member(
                    conn,
                    "nurse_id",
                    nurse.as_ref().and_then(Option::as_deref),
                    Role::Nurse,
                    &row.practice_id,
                )?;
                let psychiatrist = body.psychiatrist_id.map(|id| id.map(|id| id.to_string()));
                check_member(
                    conn,
                    "psychiatrist_id",
                    psychiatrist.as_ref().and_then(Option::as_deref),
                    Role::Psychiatrist,
                    &row.practice_id,
                )?;
                let mut detail = Vec::new();
                if let Some(nurse) = nurse {
                    detail.push(format!("nurse_id={}", nurse.as_deref().unwrap_or("none")));
                    row.nurse_id = nurse;
                }
                if let Some(psychiatrist) = psychiatrist {
                    detail.push(format!(
                        "psychiatrist_id={}",
                        psychiatrist.as_deref().unwrap_or("none")
                    ));
                    row.psychiatrist_id = psychiatrist;
                }
                let mut e = event(&row.id, EventKind::Reassignment, actor, now, now);
                e.detail = Some(detail.join(" "));
                e.note = note.clone();
                store::insert_event(conn, &e)?;
            }
            if let Some(requested) = body.review_requested {
                row.review_requested = requested;
                let mut e = event(&row.id, EventKind::Review, actor, now, now);
                e.detail = Some(format!("review_requested={requested}"));
                e.note = note;
                store::insert_event(conn, &e)?;
            }
            Ok(())
        },
        |case, ()| Kept::json(StatusCode::OK, &case),
    )
    .await
}

/// Record the nurse's initial assessment: baselines and care plan; the case becomes active.
#[utoipa::path(post, path = "/api/v1/cases/{id}/assessment", tag = "cases", request_body = Assessment,
    params(("id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; refused (412) if the case changed since"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]{1,255}$", description = "Makes a retry safe: the same key and body get the first response back")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case, now active", body = Case,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Nurses of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is not waiting for its assessment (the allowed moves are listed)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn assess(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<Assessment>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::CareForCase)?;
    let expected = if_match(&req)?;
    let idem = Idempotency::of(&req)?;
    let scores = score_answers(
        "",
        &[
            (Instrument::Phq9, Some(&body.phq9)),
            (Instrument::Gad7, Some(&body.gad7)),
        ],
    )?;
    let now = state.clock.now();
    let occurred_at = body.occurred_at.unwrap_or(now);
    let care_plan = body.care_plan.trimmed();
    let settings = state.settings.clone();
    change_case(
        &state,
        actor,
        scope,
        id.into_inner(),
        "case.assessment",
        expected,
        idem,
        move |conn, actor, row, now| {
            let phase = stored_phase(row)?;
            if next_phase(phase, Move::Assessment).is_none() {
                return Err(refused_move(
                    phase,
                    "the initial assessment is recorded once, on a referred case",
                ));
            }
            check_occurred_at("occurred_at", occurred_at, utc(row.referred_at), now)?;
            row.phase = Phase::Active.as_str().to_owned();
            row.phase_since = naive(occurred_at);
            row.assessed_at = Some(naive(occurred_at));
            row.care_plan = Some(care_plan);
            if row.nurse_id.is_none() {
                row.nurse_id = Some(actor.id.clone());
            }
            row.baseline_phq9 = scores
                .iter()
                .find(|s| s.instrument == Instrument::Phq9)
                .map(super::items_text);
            row.baseline_gad7 = scores
                .iter()
                .find(|s| s.instrument == Instrument::Gad7)
                .map(super::items_text);
            let mut e = event(&row.id, EventKind::Assessment, actor, occurred_at, now);
            e.from_phase = Some(phase.as_str().to_owned());
            e.to_phase = Some(Phase::Active.as_str().to_owned());
            store::insert_event(conn, &e)?;
            record_scores(
                conn,
                row,
                &e.id,
                &scores,
                naive(occurred_at),
                "assessment",
                actor,
                &settings,
                now,
            )?;
            Ok(())
        },
        |case, ()| Kept::json(StatusCode::OK, &case),
    )
    .await
}

fn stored_phase(row: &CaseRow) -> AppResult<Phase> {
    Phase::parse(&row.phase).ok_or_else(|| AppError::Internal("stored phase unknown".to_owned()))
}

/// A refused move: 409 with the phases `POST /transitions` may reach.
fn refused_move(from: Phase, why: &str) -> AppError {
    let allowed: Vec<String> = allowed_transitions(from)
        .into_iter()
        .map(|p| p.as_str().to_owned())
        .collect();
    AppError::Conflict {
        detail: format!(
            "{why}; from {} the case may move to: {}",
            from.as_str(),
            if allowed.is_empty() {
                "nothing".to_owned()
            } else {
                allowed.join(", ")
            }
        ),
        allowed: Some(allowed),
    }
}

/// Log a contact with the patient (completed or not), with optional PHQ-9/GAD-7.
#[utoipa::path(post, path = "/api/v1/cases/{id}/contacts", tag = "cases", request_body = NewContact,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]{1,255}$", description = "Makes a retry safe: the same key and body get the first response back")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Logged", body = ContactRecorded,
            headers(("ETag" = String, description = "The case's new version"))),
        (status = 403, description = "Nurses of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed, or still waiting for its assessment", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn log_contact(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<NewContact>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::CareForCase)?;
    let idem = Idempotency::of(&req)?;
    let scores = score_answers(
        "",
        &[
            (Instrument::Phq9, body.phq9.as_ref()),
            (Instrument::Gad7, body.gad7.as_ref()),
        ],
    )?;
    check_contact(
        body.outcome,
        !scores.is_empty(),
        body.occurred_at,
        body.next_planned_at,
    )?;
    let settings = state.settings.clone();
    change_case(
        &state,
        actor,
        scope,
        id.into_inner(),
        "case.contact",
        None,
        idem,
        move |conn, actor, row, now| {
            let phase = stored_phase(row)?;
            if phase == Phase::Referred {
                return Err(AppError::conflict(
                    "the case is waiting for its initial assessment: record it first (POST /assessment)",
                ));
            }
            check_occurred_at("occurred_at", body.occurred_at, utc(row.referred_at), now)?;
            let contact = ContactRow {
                id: Uuid::now_v7().to_string(),
                case_id: row.id.clone(),
                occurred_at: naive(body.occurred_at),
                mode: body.mode.as_str().to_owned(),
                outcome: body.outcome.as_str().to_owned(),
                duration_minutes: body.duration_minutes,
                note: body.note.map(|n| n.trimmed()),
                next_planned_at: body.next_planned_at.map(naive),
                author_id: actor.id.clone(),
                created_at: naive(now),
            };
            store::insert_contact(conn, &contact)?;
            let mut e = event(&row.id, EventKind::Contact, actor, body.occurred_at, now);
            e.contact_id = Some(contact.id.clone());
            e.detail = Some(format!("outcome={}", contact.outcome));
            store::insert_event(conn, &e)?;
            let score_ids = record_scores(
                conn,
                row,
                &e.id,
                &scores,
                contact.occurred_at,
                "contact",
                actor,
                &settings,
                now,
            )?;
            if body.outcome == ContactOutcome::Completed
                && row.last_completed_contact_at.is_none_or(|last| last < contact.occurred_at)
            {
                row.last_completed_contact_at = Some(contact.occurred_at);
            }
            let views = scores
                .iter()
                .zip(&score_ids)
                .map(|(s, id): (&Score, &String)| {
                    Ok(ScoreView {
                        id: Some(crate::http::auth::parse_id(id)?),
                        ..ScoreView::of(s, Some(body.occurred_at))
                    })
                })
                .collect::<AppResult<Vec<_>>>()?;
            Ok((contact, views))
        },
        |case, (contact, views)| {
            let location = format!("/api/v1/cases/{}/contacts", case.id);
            let contact = Contact::from_row(contact, views)?;
            Ok(Kept::json(StatusCode::CREATED, &ContactRecorded { contact, case })?.location(location))
        },
    )
    .await
}

/// Move the case to another phase (relapse prevention, back to active on relapse, closed).
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", request_body = Transition,
    params(("id" = Uuid, Path),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; refused (412) if the case changed since"),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]{1,255}$", description = "Makes a retry safe: the same key and body get the first response back")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case in its new phase", body = Case,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Nurses of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`), or the case is closed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn transition(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<Transition>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::CareForCase)?;
    let expected = if_match(&req)?;
    let idem = Idempotency::of(&req)?;
    match (body.to, body.exit_reason) {
        (Phase::Closed, None) => {
            return Err(AppError::invalid("exit_reason", "required to close a case"));
        }
        (to, Some(_)) if to != Phase::Closed => {
            return Err(AppError::invalid(
                "exit_reason",
                "given only when closing a case",
            ));
        }
        _ => {}
    }
    let note = trimmed(body.note);
    let settings = state.settings.clone();
    change_case(
        &state,
        actor,
        scope,
        id.into_inner(),
        "case.transition",
        expected,
        idem,
        move |conn, actor, row, now| {
            let from = stored_phase(row)?;
            if next_phase(from, Move::To(body.to)).is_none() {
                let why = if from == Phase::Referred && body.to == Phase::Active {
                    "a referred case becomes active by its initial assessment (POST /assessment)"
                        .to_owned()
                } else {
                    format!(
                        "a case cannot move from {} to {}",
                        from.as_str(),
                        body.to.as_str()
                    )
                };
                return Err(refused_move(from, &why));
            }
            row.phase = body.to.as_str().to_owned();
            row.phase_since = naive(now);
            if body.to == Phase::Closed {
                row.closed_at = Some(naive(now));
                row.exit_reason = body.exit_reason.map(|r| r.as_str().to_owned());
                crate::http::tele_expertise::cancel_with_closed_case(
                    conn, &settings, actor, &row.id, now,
                )?;
            }
            let mut e = event(&row.id, EventKind::Transition, actor, now, now);
            e.from_phase = Some(from.as_str().to_owned());
            e.to_phase = Some(body.to.as_str().to_owned());
            e.exit_reason = row.exit_reason.clone();
            e.note = note;
            store::insert_event(conn, &e)?;
            Ok(())
        },
        |case, ()| Kept::json(StatusCode::OK, &case),
    )
    .await
}
