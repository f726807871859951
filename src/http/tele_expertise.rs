//! Tele-expertise: the case's nurse or a GP of its practice asks a psychiatrist covering the
//! practice; the psychiatrist accepts or declines, then answers; the answer joins the case's
//! timeline. Every read and write is audited; every move is one transaction.

use crate::db::locks::{Versioned, lock_for_update};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::PageQuery;
use super::auth::parse_id;
use super::cases::write::{event, trimmed};
use super::cases::{case_in_scope, ensure_open};
use super::extract::Json;
use super::idempotency::{self, Idempotency, Kept};
use crate::app::AppState;
use crate::config::Settings;
use crate::db::audit::{self, Outcome};
use crate::db::cases as case_store;
use crate::db::tele_expertise::{self as store, Inbox, ListFilter, RequestRow};
use crate::db::{DbConn, accounts, naive, utc};
use crate::domain::account::Role;
use crate::domain::case::EventKind;
use crate::domain::policy::{Action, Actor, authorize};
use crate::domain::tele_expertise::{
    Move, Party, Status, Urgency, allowed_moves, due_at, is_billable, next_status, on_case_closed,
};
use crate::email::content::{Notice, OpinionUpdate};
use crate::error::{AppError, AppResult};
use crate::outbox::notices::{enqueue, recipient_of};

/// The billing codes (Assurance maladie): the expert's act and the requester's.
pub const EXPERT_CODE: &str = "TE2";
pub const REQUESTER_CODE: &str = "RQD";

#[derive(Debug, Serialize, ToSchema)]
pub struct Billing {
    /// `TE2`.
    pub expert_code: String,
    /// `RQD`.
    pub requester_code: String,
    /// Whether this answer counts among the patient's 4 billable a year.
    pub billable: bool,
    /// Why not, when it is not.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeleExpertiseRequest {
    pub id: Uuid,
    pub case_id: Uuid,
    pub patient_id: Uuid,
    pub practice_id: Uuid,
    pub requester_id: Uuid,
    pub expert_id: Uuid,
    pub question: String,
    pub urgency: Urgency,
    /// Always true: a request is refused without the patient's consent.
    pub patient_consent: bool,
    pub consent_recorded_at: DateTime<Utc>,
    /// Scores of the case attached to the question.
    pub attached_score_ids: Vec<Uuid>,
    pub status: Status,
    pub due_at: DateTime<Utc>,
    /// Still pending after its due date.
    pub overdue: bool,
    pub decline_reason: Option<String>,
    pub answer: Option<String>,
    pub recommendations: Option<String>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Once answered.
    pub billing: Option<Billing>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

impl TeleExpertiseRequest {
    fn from_row(row: RequestRow, now: DateTime<Utc>) -> AppResult<Self> {
        let status = Status::parse(&row.status)
            .ok_or_else(|| AppError::Internal("stored request status unknown".to_owned()))?;
        let due = utc(row.due_at);
        Ok(Self {
            id: parse_id(&row.id)?,
            case_id: parse_id(&row.case_id)?,
            patient_id: parse_id(&row.patient_id)?,
            practice_id: parse_id(&row.practice_id)?,
            requester_id: parse_id(&row.requester_id)?,
            expert_id: parse_id(&row.expert_id)?,
            question: row.question,
            urgency: Urgency::parse(&row.urgency)
                .ok_or_else(|| AppError::Internal("stored urgency unknown".to_owned()))?,
            patient_consent: true,
            consent_recorded_at: utc(row.patient_consent_at),
            attached_score_ids: row
                .attached_score_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(parse_id)
                .collect::<AppResult<_>>()?,
            status,
            due_at: due,
            overdue: status.is_pending() && due < now,
            decline_reason: row.decline_reason,
            answer: row.answer,
            recommendations: row.recommendations,
            accepted_at: row.accepted_at.map(utc),
            declined_at: row.declined_at.map(utc),
            answered_at: row.answered_at.map(utc),
            cancelled_at: row.cancelled_at.map(utc),
            billing: row.billable.map(|billable| Billing {
                expert_code: EXPERT_CODE.to_owned(),
                requester_code: REQUESTER_CODE.to_owned(),
                billable,
                note: (!billable).then(|| {
                    "not billable: the patient already had 4 billable tele-expertises in the last 12 months"
                        .to_owned()
                }),
            }),
            version: row.version,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeleExpertise {
    /// A psychiatrist working in the case's practice.
    pub expert_id: Uuid,
    #[validate(custom(function = "crate::http::free_text"), length(max = 8000))]
    #[schema(
        min_length = 1,
        max_length = 8000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub question: String,
    pub urgency: Urgency,
    /// The patient was informed and agreed; required and true.
    pub patient_consent: bool,
    /// Scores already on the case to attach.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub attached_score_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    #[validate(custom(function = "crate::http::free_text"), length(max = 4000))]
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The written answer (compte rendu); it joins the case's timeline.
    #[validate(custom(function = "crate::http::free_text"), length(max = 20000))]
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub answer: String,
    #[validate(custom(function = "crate::http::free_text"), length(max = 8000))]
    #[schema(
        min_length = 1,
        max_length = 8000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub recommendations: Option<String>,
}

fn notify(
    conn: &mut DbConn,
    settings: &Settings,
    to_user: &str,
    key: String,
    notice: &Notice,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if let Some(to) = recipient_of(conn, to_user)? {
        enqueue(conn, settings, key, notice, &to, now)?;
    }
    Ok(())
}

/// When a case closes (in the closing transaction): its pending requests are cancelled, each with
/// a timeline entry, and the requester and the expert are told. Returns how many.
pub(crate) fn cancel_with_closed_case(
    conn: &mut DbConn,
    settings: &Settings,
    actor: &Actor,
    case_id: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut cancelled = 0;
    for listed in store::of_case(conn, case_id)? {
        // Locked, then read again: an expert answering at this moment either finished first
        // (and the answer stands) or waits and finds the request cancelled.
        lock_for_update(conn, Versioned::TeleExpertiseRequests, &listed.id)?;
        let Some(mut row) = store::find(conn, &listed.id)? else {
            continue;
        };
        let from = Status::parse(&row.status)
            .ok_or_else(|| AppError::Internal("stored request status unknown".to_owned()))?;
        let Some(to) = on_case_closed(from) else {
            continue;
        };
        let expected = row.version;
        row.status = to.as_str().to_owned();
        row.cancelled_at = Some(naive(now));
        row.version = expected + 1;
        row.updated_at = naive(now);
        if !store::save(conn, &row, expected)? {
            return Err(AppError::PreconditionFailed(
                "a tele-expertise request of the case changed while it closed; try again"
                    .to_owned(),
            ));
        }
        let mut e = event(case_id, EventKind::TeleExpertise, actor, now, now);
        e.detail = Some(format!(
            "request={} status={} because=case_closed",
            row.id,
            to.as_str()
        ));
        case_store::insert_event(conn, &e)?;
        for person in [&row.requester_id, &row.expert_id] {
            notify(
                conn,
                settings,
                person,
                format!("opinion:withdrawn:{}:{person}", row.id),
                &Notice::OpinionUpdate {
                    request_id: row.id.clone(),
                    what: OpinionUpdate::Withdrawn,
                },
                now,
            )?;
        }
        cancelled += 1;
    }
    Ok(cancelled)
}

/// Ask the case's referring psychiatrist (or another covering the practice) a question.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tele-expertise", tag = "tele-expertise", request_body = NewTeleExpertise,
    params(("id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]{1,255}$", description = "Makes a retry safe: the same key and body get the first response back")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Requested; the expert is told by email", body = TeleExpertiseRequest),
        (status = 403, description = "The case's nurse or a GP of its practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<NewTeleExpertise>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::RequestTeleExpertise)?;
    let idem = Idempotency::of(&req)?;
    if !body.patient_consent {
        return Err(AppError::invalid(
            "patient_consent",
            "the patient must be informed and agree (true)",
        ));
    }
    let case_id = id.into_inner().to_string();
    let now = state.clock.now();
    let settings = state.settings.clone();
    let kept = state
        .db
        .transaction(move |conn| {
            if let Some(kept) = idempotency::replay(conn, &actor, idem.as_ref())? {
                return Ok(kept);
            }
            let case = case_in_scope(
                conn,
                &actor,
                &scope,
                &case_id,
                "tele_expertise.create",
                naive(now),
            )?;
            if actor.role == Some(Role::Nurse) && case.nurse_id.as_deref() != Some(&actor.id) {
                return Err(AppError::Forbidden(
                    "only the case's nurse or a GP of its practice asks for an opinion".to_owned(),
                ));
            }
            ensure_open(&case)?;
            let expert = body.expert_id.to_string();
            if !accounts::is_active_member(
                conn,
                &expert,
                Role::Psychiatrist.as_str(),
                &case.practice_id,
            )? {
                return Err(AppError::invalid(
                    "expert_id",
                    "must be an active psychiatrist covering the case's practice",
                ));
            }
            let case_scores: Vec<String> = case_store::scores_of(conn, &case.id)?
                .into_iter()
                .map(|s| s.id)
                .collect();
            let mut attached: Vec<String> = body
                .attached_score_ids
                .iter()
                .map(Uuid::to_string)
                .collect();
            attached.sort();
            attached.dedup();
            if let Some(stranger) = attached.iter().find(|s| !case_scores.contains(s)) {
                return Err(AppError::invalid(
                    "attached_score_ids",
                    format!("{stranger} is not a score of this case"),
                ));
            }
            let row = RequestRow {
                id: Uuid::now_v7().to_string(),
                case_id: case.id.clone(),
                patient_id: case.patient_id.clone(),
                practice_id: case.practice_id.clone(),
                requester_id: actor.id.clone(),
                expert_id: expert,
                question: body.question.trim().to_owned(),
                urgency: body.urgency.as_str().to_owned(),
                patient_consent_at: naive(now),
                attached_score_ids: attached.join(","),
                status: Status::Requested.as_str().to_owned(),
                due_at: naive(due_at(now, body.urgency, &settings.tele_expertise)),
                decline_reason: None,
                answer: None,
                recommendations: None,
                accepted_at: None,
                declined_at: None,
                answered_at: None,
                cancelled_at: None,
                billable: None,
                version: 1,
                created_at: naive(now),
                updated_at: naive(now),
            };
            store::insert(conn, &row)?;
            let mut e = event(&case.id, EventKind::TeleExpertise, &actor, now, now);
            e.detail = Some(format!("request={} status=requested", row.id));
            e.note = Some(row.question.clone());
            case_store::insert_event(conn, &e)?;
            notify(
                conn,
                &settings,
                &row.expert_id,
                format!("opinion:requested:{}", row.id),
                &Notice::OpinionRequested {
                    request_id: row.id.clone(),
                },
                now,
            )?;
            audit::record(
                conn,
                &actor,
                "tele_expertise.create",
                Some(&row.patient_id),
                Some(&row.case_id),
                Outcome::Ok,
                naive(now),
            )?;
            let view = TeleExpertiseRequest::from_row(row, now)?;
            let kept = Kept::json(StatusCode::CREATED, &view)?
                .location(format!("/api/v1/tele-expertise/{}", view.id))
                .etag(view.version);
            idempotency::keep(conn, &actor, idem.as_ref(), &kept, naive(now))?;
            Ok(kept)
        })
        .await?;
    Ok(kept.into_response())
}

/// A request the caller may see: the expert, the requester, or the GPs and nurses of its practice.
/// Otherwise 404 (audited as denied when it exists).
fn visible(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    action: &str,
    now: DateTime<Utc>,
) -> AppResult<RequestRow> {
    let Some(row) = store::find(conn, id)? else {
        return Err(AppError::not_found("tele-expertise request"));
    };
    let team = matches!(actor.role, Some(Role::Gp | Role::Nurse))
        && actor.practice_ids.contains(&row.practice_id);
    if row.expert_id == actor.id || row.requester_id == actor.id || team {
        return Ok(row);
    }
    audit::record(
        conn,
        actor,
        action,
        Some(&row.patient_id),
        Some(&row.case_id),
        Outcome::Denied(audit::DENIED_PRACTICE),
        naive(now),
    )?;
    Err(AppError::not_found("tele-expertise request").recorded())
}

/// One request.
#[utoipa::path(get, path = "/api/v1/tele-expertise/{id}", tag = "tele-expertise", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request", body = TeleExpertiseRequest),
        (status = 403, description = "GPs, nurses and psychiatrists only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ReadTeleExpertise)?;
    let id = id.into_inner().to_string();
    let now = state.clock.now();
    let row = state
        .db
        .transaction(move |conn| {
            let row = visible(conn, &actor, &id, "tele_expertise.read", now)?;
            audit::record(
                conn,
                &actor,
                "tele_expertise.read",
                Some(&row.patient_id),
                Some(&row.case_id),
                Outcome::Ok,
                naive(now),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TeleExpertiseRequest::from_row(row, now)?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Requests addressed to the caller.
    Expert,
    /// Requests the caller asked.
    Requester,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeleExpertiseQuery {
    /// Default: `expert` for psychiatrists, `requester` for the others.
    pub side: Option<Side>,
    pub status: Option<Status>,
    /// `true`: only pending requests past their due date.
    pub overdue: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeleExpertisePage {
    /// Pending first, soonest due first; then the others, most recent first.
    pub items: Vec<TeleExpertiseRequest>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's inbox (an expert) or requests (a requester).
#[utoipa::path(get, path = "/api/v1/tele-expertise", tag = "tele-expertise", params(TeleExpertiseQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests", body = TeleExpertisePage),
        (status = 403, description = "GPs, nurses and psychiatrists only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: crate::http::extract::Query<TeleExpertiseQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ReadTeleExpertise)?;
    let query = query.into_inner();
    let side = query
        .side
        .unwrap_or(if actor.role == Some(Role::Psychiatrist) {
            Side::Expert
        } else {
            Side::Requester
        });
    let inbox = match side {
        Side::Expert => Inbox::Expert(actor.id.clone()),
        Side::Requester => Inbox::Requester(actor.id.clone()),
    };
    let now = state.clock.now();
    let filter = ListFilter {
        inbox,
        status: query.status.map(|s| s.as_str().to_owned()),
        overdue_at: (query.overdue == Some(true)).then(|| naive(now)),
    };
    let after = page.after_id()?;
    let limit = page.fetch_limit();
    let page_size = page.page_size()?;
    let rows = state
        .db
        .transaction(move |conn| {
            let after = match after {
                Some(id) => Some(
                    store::find(conn, &id)?
                        .filter(|row| filter.inbox.holds(row))
                        .ok_or_else(|| {
                            AppError::BadQuery(vec![crate::error::FieldError::new(
                                "after",
                                "is not a request of this list",
                            )])
                        })?,
                ),
                None => None,
            };
            let mut rows = store::page(conn, &filter, after.as_ref(), limit)?;
            let next_cursor = (rows.len() > page_size as usize).then(|| {
                rows.truncate(page_size as usize);
                rows.last().map(|r| r.id.clone())
            });
            // Audited: what the page shows, not the row read to know another page follows.
            let reads: Vec<(&str, Option<&str>)> = rows
                .iter()
                .map(|r| (r.patient_id.as_str(), Some(r.case_id.as_str())))
                .collect();
            audit::record_reads(conn, &actor, "tele_expertise.list", &reads, naive(now))?;
            Ok((rows, next_cursor.flatten()))
        })
        .await?;
    let (rows, next_cursor) = rows;
    let items = rows
        .into_iter()
        .map(|row| TeleExpertiseRequest::from_row(row, now))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(TeleExpertisePage { items, next_cursor }))
}

/// Applies a move by its party, in one transaction, with the timeline entry and the requester's
/// email.
async fn apply(
    state: &AppState,
    actor: Actor,
    id: Uuid,
    requested: Move,
    change: impl FnOnce(&mut DbConn, &mut RequestRow, DateTime<Utc>) -> AppResult<()> + Send + 'static,
) -> AppResult<HttpResponse> {
    let now = state.clock.now();
    let settings = state.settings.clone();
    let id = id.to_string();
    let action = format!("tele_expertise.{}", requested.as_str());
    let row = state
        .db
        .transaction(move |conn| {
            // Two moves of one request take turns, so the second sees the first's status.
            lock_for_update(conn, Versioned::TeleExpertiseRequests, &id)?;
            let mut row = visible(conn, &actor, &id, &action, now)?;
            let party = if row.expert_id == actor.id {
                Party::Expert
            } else if row.requester_id == actor.id {
                Party::Requester
            } else {
                return Err(AppError::Forbidden(
                    "only the expert (accept, decline, answer) or the requester (cancel) moves a request"
                        .to_owned(),
                ));
            };
            let from = Status::parse(&row.status)
                .ok_or_else(|| AppError::Internal("stored request status unknown".to_owned()))?;
            // Requests left pending on a case closed before closing cancelled them.
            if from.is_pending()
                && let Some(case) = case_store::find(conn, &row.case_id)?
            {
                ensure_open(&case)?;
            }
            let Some(to) = next_status(from, requested, party) else {
                let allowed: Vec<String> = allowed_moves(from, party)
                    .into_iter()
                    .map(|m| m.as_str().to_owned())
                    .collect();
                return Err(AppError::Conflict {
                    detail: format!(
                        "a {} request cannot be {}ed by its {}; allowed: {}",
                        from.as_str(),
                        requested.as_str().trim_end_matches('e'),
                        if party == Party::Expert { "expert" } else { "requester" },
                        if allowed.is_empty() { "nothing".to_owned() } else { allowed.join(", ") }
                    ),
                    allowed: Some(allowed),
                });
            };
            let expected = row.version;
            change(conn, &mut row, now)?;
            row.status = to.as_str().to_owned();
            row.version = expected + 1;
            row.updated_at = naive(now);
            if !store::save(conn, &row, expected)? {
                return Err(AppError::PreconditionFailed(
                    "the request changed while this one ran; read it again".to_owned(),
                ));
            }
            let mut e = event(&row.case_id, EventKind::TeleExpertise, &actor, now, now);
            e.detail = Some(format!("request={} status={}", row.id, to.as_str()));
            e.note = match to {
                Status::Answered => row.answer.clone(),
                Status::Declined => row.decline_reason.clone(),
                _ => None,
            };
            case_store::insert_event(conn, &e)?;
            let update = match to {
                Status::Accepted => Some(OpinionUpdate::Accepted),
                Status::Declined => Some(OpinionUpdate::Declined),
                Status::Answered => Some(OpinionUpdate::Answered),
                _ => None,
            };
            if let Some(what) = update {
                notify(
                    conn,
                    &settings,
                    &row.requester_id,
                    format!("opinion:{}:{}", to.as_str(), row.id),
                    &Notice::OpinionUpdate {
                        request_id: row.id.clone(),
                        what,
                    },
                    now,
                )?;
            }
            audit::record(
                conn,
                &actor,
                &action,
                Some(&row.patient_id),
                Some(&row.case_id),
                Outcome::Ok,
                naive(now),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TeleExpertiseRequest::from_row(row, now)?))
}

/// The expert accepts the request.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/accept", tag = "tele-expertise", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Accepted; the requester is told", body = TeleExpertiseRequest),
        (status = 403, description = "The expert only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::AnswerTeleExpertise)?;
    apply(
        &state,
        actor,
        id.into_inner(),
        Move::Accept,
        |_, row, now| {
            row.accepted_at = Some(naive(now));
            Ok(())
        },
    )
    .await
}

/// The expert declines the request, with a reason.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/decline", tag = "tele-expertise", params(("id" = Uuid, Path)), request_body = Decline,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Declined; the requester is told", body = TeleExpertiseRequest),
        (status = 403, description = "The expert only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn decline(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    Json(body): Json<Decline>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::AnswerTeleExpertise)?;
    let reason = body.reason.trim().to_owned();
    apply(
        &state,
        actor,
        id.into_inner(),
        Move::Decline,
        move |_, row, now| {
            row.declined_at = Some(naive(now));
            row.decline_reason = Some(reason);
            Ok(())
        },
    )
    .await
}

/// The expert answers: the answer joins the case's timeline; the billing facts are recorded.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/answer", tag = "tele-expertise", params(("id" = Uuid, Path)), request_body = Answer,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Answered; `billing` says whether it is billable", body = TeleExpertiseRequest),
        (status = 403, description = "The expert only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    Json(body): Json<Answer>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::AnswerTeleExpertise)?;
    let text = body.answer.trim().to_owned();
    let recommendations = trimmed(body.recommendations);
    apply(
        &state,
        actor,
        id.into_inner(),
        Move::Answer,
        move |conn, row, now| {
            let earlier: Vec<DateTime<Utc>> = store::billable_answers_since(
                conn,
                &row.patient_id,
                naive(now - Duration::days(366)),
            )?
            .into_iter()
            .map(utc)
            .collect();
            row.billable = Some(is_billable(now, &earlier));
            row.answered_at = Some(naive(now));
            row.answer = Some(text);
            row.recommendations = recommendations;
            Ok(())
        },
    )
    .await
}

/// The requester cancels a request not yet answered.
#[utoipa::path(post, path = "/api/v1/tele-expertise/{id}/cancel", tag = "tele-expertise", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Cancelled", body = TeleExpertiseRequest),
        (status = 403, description = "The requester only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Refused move (the allowed ones are in `allowed`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::RequestTeleExpertise)?;
    apply(
        &state,
        actor,
        id.into_inner(),
        Move::Cancel,
        |_, row, now| {
            row.cancelled_at = Some(naive(now));
            Ok(())
        },
    )
    .await
}
