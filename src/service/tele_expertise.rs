//! Tele-expertise requests: the case's nurse or a GP of its practice asks a psychiatrist covering
//! the practice; the psychiatrist accepts or declines, then answers; the requester may cancel;
//! closing the case cancels what is pending. Every read and write is audited; every operation is
//! one transaction, and every move adds a `tele_expertise` entry to the case's timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::idempotency::{self, Done, Key};
use super::{Caller, Ctx, within_reach};
use crate::config::Settings;
use crate::db::audit::{self, Outcome};
use crate::db::cases as case_store;
use crate::db::locks::{Versioned, lock_for_update};
use crate::db::stored_id;
use crate::db::tele_expertise::{self as store, Inbox, ListFilter, RequestRow};
use crate::db::{DbConn, accounts, naive, utc};
use crate::domain::account::Role;
use crate::domain::case::EventKind;
use crate::domain::policy::{Action, Actor, Denied, Scope};
use crate::domain::tele_expertise::{
    EXPERT_CODE, Move, Parties, REQUESTER_CODE, Side, Status, Urgency, attached_scores,
    billing_note, billing_year_start, check_consent, default_side, due_at, is_billable, is_overdue,
    may_ask, may_see, move_request, mover, on_case_closed,
};
use crate::domain::text::{FreeText, described};
use crate::email::content::OpinionUpdate;
use crate::error::{AppError, AppResult, FieldError};
use crate::outbox::notices;
use crate::service::cases::event;
use crate::service::cases::{case_in_scope, ensure_open};
use crate::service::input::PageQuery;

// A question about a case, to a psychiatrist covering its practice. (A plain comment: the
// contract has never described this body.)
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTeleExpertise {
    /// A psychiatrist working in the case's practice.
    pub expert_id: Uuid,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(inline)]
    pub question: FreeText<8000>,
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
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(inline)]
    pub reason: FreeText<4000>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    // Described in `answer_schema`.
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = answer_schema)]
    pub answer: FreeText<20000>,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = FreeText::<8000>::nullable)]
    pub recommendations: Option<FreeText<8000>>,
}

/// The schema of `Answer::answer`: free text with a description.
fn answer_schema() -> RefOr<Schema> {
    let what = "The written answer (compte rendu); it joins the case's timeline.";
    described(FreeText::<20000>::schema(), what)
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
        let status = row.status;
        let due = utc(row.due_at);
        Ok(Self {
            id: stored_id(&row.id)?,
            case_id: stored_id(&row.case_id)?,
            patient_id: stored_id(&row.patient_id)?,
            practice_id: stored_id(&row.practice_id)?,
            requester_id: stored_id(&row.requester_id)?,
            expert_id: stored_id(&row.expert_id)?,
            question: row.question,
            urgency: row.urgency,
            patient_consent: true,
            consent_recorded_at: utc(row.patient_consent_at),
            attached_score_ids: row
                .attached_score_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(stored_id)
                .collect::<AppResult<_>>()?,
            status,
            due_at: due,
            overdue: is_overdue(status, due, now),
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
                note: billing_note(billable).map(str::to_owned),
            }),
            version: row.version,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeleExpertisePage {
    /// Pending first, soonest due first; then the others, most recent first.
    pub items: Vec<TeleExpertiseRequest>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Asks the expert a question about the case `case_id`: a GP of the case's practice or the
/// case's nurse, with the patient's consent, to an active psychiatrist of the practice, with
/// scores of the case attached. The expert is told by email. Idempotent under `key`.
pub async fn create(
    ctx: &Ctx,
    caller: Caller<'_>,
    case_id: Uuid,
    input: NewTeleExpertise,
    key: Option<Key>,
) -> AppResult<Done<TeleExpertiseRequest>> {
    let scope = caller.may(Action::RequestTeleExpertise)?;
    let actor = person(caller)?.clone();
    check_consent(input.patient_consent)
        .map_err(|why| AppError::invalid("patient_consent", why))?;
    let now = ctx.now();
    let settings = ctx.settings.clone();
    ctx.db
        .transaction(move |conn| {
            idempotency::once(conn, &actor.id, key.as_ref(), true, naive(now), |conn| {
                let question = Question {
                    expert_id: input.expert_id,
                    question: input.question.trimmed(),
                    urgency: input.urgency,
                    consent_at: now,
                    attached_score_ids: &input.attached_score_ids,
                };
                ask(conn, &settings, &actor, &scope, case_id, &question, now)
            })
        })
        .await
}

/// A question as an operation asks it: `create` (the consent recorded as the request is made), or
/// a case review meeting (`service::meetings`, the consent recorded when the patient gave it).
pub(crate) struct Question<'a> {
    pub expert_id: Uuid,
    /// Trimmed.
    pub question: String,
    pub urgency: Urgency,
    /// When the patient was informed and agreed.
    pub consent_at: DateTime<Utc>,
    pub attached_score_ids: &'a [Uuid],
}

/// Asks a question about the case `case_id` inside the caller's transaction, for a caller whose
/// role may ask (`Action::RequestTeleExpertise`, giving `scope`): the checks that need the case
/// (404 out of scope, 403 for a nurse who does not hold it, 409 when closed, 422 for an expert who
/// does not cover its practice or a score not of the case), then the request, its timeline entry,
/// the expert's email and the audit row.
pub(crate) fn ask(
    conn: &mut DbConn,
    settings: &Settings,
    actor: &Actor,
    scope: &Scope,
    case_id: Uuid,
    input: &Question<'_>,
    now: DateTime<Utc>,
) -> AppResult<TeleExpertiseRequest> {
    let action = "tele_expertise.create";
    // The case is locked as a write on it would lock it: a close running at the same time either
    // sees this request (and cancels it) or is seen by it (409), never neither.
    lock_for_update(conn, Versioned::Cases, &case_id.to_string())?;
    let case = case_in_scope(conn, actor, scope, &case_id.to_string(), action, naive(now))?;
    may_ask(actor, case.nurse_id.as_deref()).map_err(|why| AppError::Forbidden(why.to_owned()))?;
    ensure_open(&case)?;
    let expert = input.expert_id.to_string();
    if !accounts::is_active_member(conn, &expert, Role::Psychiatrist, &case.practice_id)? {
        return Err(AppError::invalid(
            "expert_id",
            "must be an active psychiatrist covering the case's practice",
        ));
    }
    let of_case: Vec<String> = case_store::scores_of(conn, &case.id)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let asked: Vec<String> = input
        .attached_score_ids
        .iter()
        .map(Uuid::to_string)
        .collect();
    let attached = attached_scores(&asked, &of_case)
        .map_err(|why| AppError::invalid("attached_score_ids", why))?;
    let row = RequestRow {
        id: Uuid::now_v7().to_string(),
        case_id: case.id,
        patient_id: case.patient_id,
        practice_id: case.practice_id,
        requester_id: actor.id.clone(),
        expert_id: expert,
        question: input.question.clone(),
        urgency: input.urgency,
        patient_consent_at: naive(input.consent_at),
        attached_score_ids: attached.join(","),
        status: Status::Requested,
        due_at: naive(due_at(now, input.urgency, &settings.tele_expertise)),
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
    let note = Some(row.question.clone());
    timeline(conn, actor, &row, Status::Requested, note, None, now)?;
    notices::opinion_requested(conn, settings, &row.id, &row.expert_id, now)?;
    record(conn, actor, action, &row, Outcome::Ok, now)?;
    TeleExpertiseRequest::from_row(row, now)
}

/// One request, to whoever may see it (`domain::tele_expertise::may_see`); 404 to anyone else.
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<TeleExpertiseRequest> {
    caller.may(Action::ReadTeleExpertise)?;
    let actor = person(caller)?.clone();
    let now = ctx.now();
    let row = ctx
        .db
        .transaction(move |conn| {
            let action = "tele_expertise.read";
            let row = visible(conn, &actor, &id.to_string(), action, now)?;
            record(conn, &actor, action, &row, Outcome::Ok, now)?;
            Ok(row)
        })
        .await?;
    TeleExpertiseRequest::from_row(row, now)
}

/// One page of the caller's inbox (an expert) or requests (a requester), in the order of
/// `domain::tele_expertise::INBOX_ORDER`, after the request `after` (a `next_cursor`); the
/// requests shown are audited.
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: TeleExpertiseQuery,
    page: PageQuery,
) -> AppResult<TeleExpertisePage> {
    caller.may(Action::ReadTeleExpertise)?;
    let actor = person(caller)?.clone();
    let inbox = match query.side.unwrap_or(default_side(actor.role)) {
        Side::Expert => Inbox::Expert(actor.id.clone()),
        Side::Requester => Inbox::Requester(actor.id.clone()),
    };
    let now = ctx.now();
    let filter = ListFilter {
        inbox,
        status: query.status,
        overdue_at: (query.overdue == Some(true)).then(|| naive(now)),
    };
    let (rows, next_cursor) = ctx
        .db
        .transaction(move |conn| {
            let after = match page.after {
                Some(id) => Some(
                    store::find(conn, &id.to_string())?
                        .filter(|row| filter.inbox.holds(row))
                        .ok_or_else(|| {
                            AppError::BadQuery(vec![FieldError::new(
                                "after",
                                "is not a request of this list",
                            )])
                        })?,
                ),
                None => None,
            };
            let rows = store::page(conn, &filter, after.as_ref(), page.fetch_limit())?;
            let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
            // Audited: what the page shows, not the row read to know another page follows.
            let reads: Vec<(&str, Option<&str>)> = rows
                .iter()
                .map(|r| (r.patient_id.as_str(), Some(r.case_id.as_str())))
                .collect();
            audit::record_reads(conn, &actor, "tele_expertise.list", &reads, naive(now))?;
            Ok((rows, next_cursor))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| TeleExpertiseRequest::from_row(row, now))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(TeleExpertisePage { items, next_cursor })
}

/// The expert accepts the request; the requester is told.
pub async fn accept(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<TeleExpertiseRequest> {
    apply(ctx, caller, id, Move::Accept, |_, row, now| {
        row.accepted_at = Some(naive(now));
        Ok(())
    })
    .await
}

/// The expert declines the request, with a reason (it joins the timeline); the requester is told.
pub async fn decline(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: Decline,
) -> AppResult<TeleExpertiseRequest> {
    let reason = input.reason.trimmed();
    apply(ctx, caller, id, Move::Decline, move |_, row, now| {
        row.declined_at = Some(naive(now));
        row.decline_reason = Some(reason);
        Ok(())
    })
    .await
}

/// The expert answers: the answer joins the case's timeline, and whether it is billable is
/// decided from the patient's billable answers of the rolling year; the requester is told.
pub async fn answer(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: Answer,
) -> AppResult<TeleExpertiseRequest> {
    let text = input.answer.trimmed();
    let recommendations = input.recommendations.as_ref().map(FreeText::trimmed);
    apply(ctx, caller, id, Move::Answer, move |conn, row, now| {
        // Answers for one patient take turns, so that two at once cannot both count as
        // billable within the year's limit.
        lock_for_update(conn, Versioned::Patients, &row.patient_id)?;
        let since = naive(billing_year_start(now));
        let earlier: Vec<DateTime<Utc>> =
            store::billable_answers_since(conn, &row.patient_id, since)?
                .into_iter()
                .map(utc)
                .collect();
        row.billable = Some(is_billable(now, &earlier));
        row.answered_at = Some(naive(now));
        row.answer = Some(text);
        row.recommendations = recommendations;
        Ok(())
    })
    .await
}

/// The requester cancels a request not yet answered.
pub async fn cancel(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<TeleExpertiseRequest> {
    apply(ctx, caller, id, Move::Cancel, |_, row, now| {
        row.cancelled_at = Some(naive(now));
        Ok(())
    })
    .await
}

/// When a case closes (in the closing transaction): its pending requests are cancelled, each with
/// a timeline entry, and the requester and the expert are told. Returns how many.
pub fn cancel_with_closed_case(
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
        let Some(to) = on_case_closed(row.status) else {
            continue;
        };
        row.cancelled_at = Some(naive(now));
        if !save(conn, &mut row, to, now)? {
            return Err(AppError::PreconditionFailed(
                "a tele-expertise request of the case changed while it closed; try again"
                    .to_owned(),
            ));
        }
        timeline(conn, actor, &row, to, None, Some("case_closed"), now)?;
        for person in [&row.requester_id, &row.expert_id] {
            let what = OpinionUpdate::Withdrawn;
            notices::opinion_update(conn, settings, &row.id, what, person, now)?;
        }
        cancelled += 1;
    }
    Ok(cancelled)
}

/// Applies a move by its party, in one transaction: the row locked and read, the party decided
/// (404 to who may not see it, 403 to who sees it but is no party), the move checked against the
/// table (409 with the allowed moves), `change` applied, the version bumped, the timeline entry,
/// the requester's email and the audit row written.
async fn apply(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    requested: Move,
    change: impl FnOnce(&mut DbConn, &mut RequestRow, DateTime<Utc>) -> AppResult<()> + Send + 'static,
) -> AppResult<TeleExpertiseRequest> {
    caller.may(requested.action())?;
    let actor = person(caller)?.clone();
    let now = ctx.now();
    let settings = ctx.settings.clone();
    let row = ctx
        .db
        .transaction(move |conn| {
            let id = id.to_string();
            let action = format!("tele_expertise.{}", requested.as_str());
            // Two moves of one request take turns, so the second sees the first's status.
            lock_for_update(conn, Versioned::TeleExpertiseRequests, &id)?;
            let mut row = visible(conn, &actor, &id, &action, now)?;
            let party =
                mover(&actor, &parties(&row)).map_err(|why| AppError::Forbidden(why.to_owned()))?;
            let from = row.status;
            // Requests left pending on a case closed before closing cancelled them.
            if from.is_pending()
                && let Some(case) = case_store::find(conn, &row.case_id)?
            {
                ensure_open(&case)?;
            }
            let to =
                move_request(from, requested, party).map_err(|refused| AppError::Conflict {
                    detail: refused.to_string(),
                    allowed: Some(
                        refused
                            .allowed
                            .iter()
                            .map(|m| m.as_str().to_owned())
                            .collect(),
                    ),
                })?;
            change(conn, &mut row, now)?;
            if !save(conn, &mut row, to, now)? {
                return Err(AppError::PreconditionFailed(
                    "the request changed while this one ran; read it again".to_owned(),
                ));
            }
            let note = match to {
                Status::Answered => row.answer.clone(),
                Status::Declined => row.decline_reason.clone(),
                _ => None,
            };
            timeline(conn, &actor, &row, to, note, None, now)?;
            if let Some(what) = OpinionUpdate::after(to) {
                notices::opinion_update(conn, &settings, &row.id, what, &row.requester_id, now)?;
            }
            record(conn, &actor, &action, &row, Outcome::Ok, now)?;
            Ok(row)
        })
        .await?;
    TeleExpertiseRequest::from_row(row, now)
}

/// Tele-expertise is between the people of a care team: the operator of the command line, who is
/// nobody's colleague, has no part in it.
fn person<'a>(caller: Caller<'a>) -> AppResult<&'a Actor> {
    match caller {
        Caller::Actor(actor) => Ok(actor),
        Caller::Operator => Err(Denied.into()),
    }
}

fn parties(row: &RequestRow) -> Parties<'_> {
    Parties {
        requester_id: &row.requester_id,
        expert_id: &row.expert_id,
        practice_id: &row.practice_id,
    }
}

/// A request the caller may see, or 404 (audited as denied when it exists; the denial is
/// `recorded`, so that the transaction keeps its audit row).
fn visible(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
    action: &str,
    now: DateTime<Utc>,
) -> AppResult<RequestRow> {
    within_reach(
        store::find(conn, id)?,
        "tele-expertise request",
        |row| may_see(actor, &parties(row)),
        |row, denied| record(conn, actor, action, row, denied, now),
    )
}

/// Moves the row to `to` and writes it under a compare-and-set on its version; `false` when the
/// version changed meanwhile (the row is locked first, so only without the lock).
fn save(
    conn: &mut DbConn,
    row: &mut RequestRow,
    to: Status,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let expected = row.version;
    row.status = to;
    row.version = expected + 1;
    row.updated_at = naive(now);
    Ok(store::save(conn, row, expected)?)
}

/// The case's timeline entry of a request reaching `to`, with what caused it when not its party.
fn timeline(
    conn: &mut DbConn,
    actor: &Actor,
    row: &RequestRow,
    to: Status,
    note: Option<String>,
    because: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut detail = format!("request={} status={}", row.id, to.as_str());
    if let Some(cause) = because {
        detail.push_str(&format!(" because={cause}"));
    }
    let mut e = event(&row.case_id, EventKind::TeleExpertise, actor, now, now);
    e.detail = Some(detail);
    e.note = note;
    Ok(case_store::insert_event(conn, &e)?)
}

fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    row: &RequestRow,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> AppResult<()> {
    Ok(audit::record(
        conn,
        actor,
        action,
        Some(&row.patient_id),
        Some(&row.case_id),
        outcome,
        naive(now),
    )?)
}
