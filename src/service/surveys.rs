//! The microstructures' patient experience survey (seeds/002): the case's team records the
//! patient's answers at six months of care or at exit, one of each per case, and whoever reads
//! the case reads them. The exit survey is the one write a closed case accepts. Every write and
//! read is audited; a write is one transaction that also leaves a `survey` entry on the case's
//! timeline.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::idempotency::{Done, Key, once};
use super::{Caller, Ctx};
use crate::db::audit::Outcome;
use crate::db::cases::{self as case_store, CaseRow};
use crate::db::locks::{Versioned, lock_for_update};
use crate::db::surveys::{self as store, SurveyRow};
use crate::db::{DbConn, naive, stored_id, utc};
use crate::domain::case::{EventKind, Indication, Program, split_set};
use crate::domain::meeting::entry_time;
use crate::domain::microstructure::{cares_for, not_yours};
use crate::domain::policy::{Action, Actor};
use crate::domain::survey::{
    Agreement, Answers, Standing, SurveyContext, check_answered, check_answered_on, check_answers,
    check_context, check_not_future, check_not_recorded, check_program, survey_detail,
};
use crate::error::{AppError, AppResult};
use crate::service::cases::{audit_case, case_in_scope, clinician, event};

/// The patient's answers, as the team records them. Each statement is answered on the
/// agreement scale, or left out (or `null`) where the patient did not answer; at least one is
/// answered.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "context": "six_months",
    "answered_on": "2027-05-31",
    "never_seen_social_worker": "strongly_agree",
    "never_seen_psychiatrist": "agree",
    "never_seen_psychologist": "disagree",
    "quality_of_life_improved": "agree",
    "better_consumption": "agree",
    "would_recommend": "strongly_agree"
})))]
pub struct NewSurvey {
    /// `six_months`: at least 26 weeks after the inclusion, the case still open; `exit`: the
    /// case closed, answered on or after its closing day and within 60 days of it. One of each
    /// per case (409 on the second).
    pub context: SurveyContext,
    /// The day the patient answered (a date in the program's time zone); not in the future.
    pub answered_on: NaiveDate,
    /// « Avant la microstructure, je n'avais jamais vu de travailleur social »: before the
    /// microstructure, the patient had never seen a social worker.
    pub never_seen_social_worker: Option<Agreement>,
    /// « … jamais vu de psychiatre »: before the microstructure, the patient had never seen a
    /// psychiatrist.
    pub never_seen_psychiatrist: Option<Agreement>,
    /// « … jamais vu de psychologue »: before the microstructure, the patient had never seen a
    /// psychologist.
    pub never_seen_psychologist: Option<Agreement>,
    /// « Ma qualité de vie s'est améliorée »: the patient's quality of life has improved since
    /// they joined.
    pub quality_of_life_improved: Option<Agreement>,
    /// « Je gère mieux mes consommations »: the patient manages their consumption better since
    /// they joined. Only on a case with the `addiction` indication (422 otherwise).
    pub better_consumption: Option<Agreement>,
    /// « Je recommanderais la microstructure »: the patient would recommend the microstructure
    /// to people in their situation.
    pub would_recommend: Option<Agreement>,
}

impl NewSurvey {
    fn answers(&self) -> Answers {
        Answers {
            never_seen_social_worker: self.never_seen_social_worker,
            never_seen_psychiatrist: self.never_seen_psychiatrist,
            never_seen_psychologist: self.never_seen_psychologist,
            quality_of_life_improved: self.quality_of_life_improved,
            better_consumption: self.better_consumption,
            would_recommend: self.would_recommend,
        }
    }
}

/// A patient experience survey as recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Survey {
    /// The survey's id.
    pub id: Uuid,
    /// The case surveyed.
    pub case_id: Uuid,
    /// The case's patient.
    pub patient_id: Uuid,
    /// The case's practice.
    pub practice_id: Uuid,
    /// The case's program (a microstructure strand).
    pub program: Program,
    /// At six months of care, or at exit.
    pub context: SurveyContext,
    /// The day the patient answered.
    pub answered_on: NaiveDate,
    /// Before the microstructure, the patient had never seen a social worker; `null`: not
    /// answered.
    pub never_seen_social_worker: Option<Agreement>,
    /// Before the microstructure, the patient had never seen a psychiatrist; `null`: not
    /// answered.
    pub never_seen_psychiatrist: Option<Agreement>,
    /// Before the microstructure, the patient had never seen a psychologist; `null`: not
    /// answered.
    pub never_seen_psychologist: Option<Agreement>,
    /// The patient's quality of life has improved since they joined; `null`: not answered.
    pub quality_of_life_improved: Option<Agreement>,
    /// The patient manages their consumption better since they joined (addiction cases only);
    /// `null`: not answered.
    pub better_consumption: Option<Agreement>,
    /// The patient would recommend the microstructure to people in their situation; `null`: not
    /// answered.
    pub would_recommend: Option<Agreement>,
    /// The team member who recorded it.
    pub recorded_by: Uuid,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl Survey {
    fn from_row(row: SurveyRow) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            case_id: stored_id(&row.case_id)?,
            patient_id: stored_id(&row.patient_id)?,
            practice_id: stored_id(&row.practice_id)?,
            program: row.program,
            context: row.context,
            answered_on: row.answered_on,
            never_seen_social_worker: row.never_seen_social_worker,
            never_seen_psychiatrist: row.never_seen_psychiatrist,
            never_seen_psychologist: row.never_seen_psychologist,
            quality_of_life_improved: row.quality_of_life_improved,
            better_consumption: row.better_consumption,
            would_recommend: row.would_recommend,
            recorded_by: stored_id(&row.recorded_by)?,
            created_at: utc(row.created_at),
        })
    }
}

/// A case's surveys.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyList {
    /// The case.
    pub case_id: Uuid,
    /// Its surveys (at most one of each context), in the order answered; empty on a Sésame case.
    pub items: Vec<Survey>,
}

const CREATE: &str = "case.survey";
const READ: &str = "case.surveys";

/// Records the patient's survey on the microstructure case `case_id`, idempotent under `key`, in
/// one transaction: the case locked and read in the caller's scope (404 outside it, audited as
/// denied), a Sésame case refused (409), the caller one of the case's carers (GP, psychologist,
/// social worker: 403 otherwise), the context's rules (409 for the case's state or a second
/// survey of the context, 422 for the day or the answers), then the survey, its `survey` timeline
/// entry and the audit row. A closed case accepts its exit survey.
pub async fn record(
    ctx: &Ctx,
    caller: Caller<'_>,
    case_id: Uuid,
    input: NewSurvey,
    key: Option<Key>,
) -> AppResult<Done<Survey>> {
    let (actor, scope) = clinician(caller, Action::CareForCase)?;
    let answers = input.answers();
    check_answered(&answers)?;
    let (now, today) = (ctx.now(), ctx.today());
    check_not_future(input.answered_on, today)?;
    let zone = ctx.settings.timezone;
    let actor = actor.clone();
    let id = case_id.to_string();
    ctx.db
        .transaction(move |conn| {
            once(conn, &actor.id, key.as_ref(), true, naive(now), |conn| {
                // Writers of one case take turns: a close and a survey, or two surveys, one after
                // the other.
                lock_for_update(conn, Versioned::Cases, &id)?;
                let case = case_in_scope(conn, &actor, &scope, &id, CREATE, naive(now))?;
                check_program(case.program)?;
                if !actor.role.is_some_and(|role| cares_for(role, case.program)) {
                    return Err(AppError::Forbidden(not_yours(case.program)));
                }
                let standing = standing(&case, zone);
                check_context(input.context, &standing)?;
                check_answered_on(input.context, input.answered_on, &standing)?;
                let indications = split_set(&case.indications, Indication::parse)
                    .ok_or_else(|| AppError::Internal("stored indications unknown".to_owned()))?;
                check_answers(&answers, &indications)?;
                check_not_recorded(input.context, &store::contexts_of(conn, &case.id)?)?;
                write(
                    conn,
                    &actor,
                    &case,
                    &input,
                    entry_time(input.answered_on, zone, now),
                    now,
                )
            })
        })
        .await
}

/// The case as the survey's rules see it: its phase and the local days it was included and
/// closed.
fn standing(case: &CaseRow, zone: chrono_tz::Tz) -> Standing {
    let local = |at| utc(at).with_timezone(&zone).date_naive();
    Standing {
        phase: case.phase,
        included_on: case.assessed_at.map(local),
        closed_on: case.closed_at.map(local),
    }
}

/// The survey row, its timeline entry (dated `at`) and the audit row.
fn write(
    conn: &mut DbConn,
    actor: &Actor,
    case: &CaseRow,
    input: &NewSurvey,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Survey> {
    let row = SurveyRow {
        id: Uuid::now_v7().to_string(),
        case_id: case.id.clone(),
        patient_id: case.patient_id.clone(),
        practice_id: case.practice_id.clone(),
        program: case.program,
        context: input.context,
        answered_on: input.answered_on,
        never_seen_social_worker: input.never_seen_social_worker,
        never_seen_psychiatrist: input.never_seen_psychiatrist,
        never_seen_psychologist: input.never_seen_psychologist,
        quality_of_life_improved: input.quality_of_life_improved,
        better_consumption: input.better_consumption,
        would_recommend: input.would_recommend,
        recorded_by: actor.id.clone(),
        created_at: naive(now),
    };
    store::insert(conn, &row)?;
    let mut entry = event(&case.id, EventKind::Survey, actor, at, now);
    entry.detail = Some(survey_detail(input.context));
    case_store::insert_event(conn, &entry)?;
    audit_case(conn, actor, CREATE, case, Outcome::Ok, naive(now))?;
    Survey::from_row(row)
}

/// The case's surveys, to whoever reads the case (404 outside the caller's practices, audited as
/// denied); the read is audited.
pub async fn list(ctx: &Ctx, caller: Caller<'_>, case_id: Uuid) -> AppResult<SurveyList> {
    let (actor, scope) = clinician(caller, Action::ReadCases)?;
    let id = case_id.to_string();
    let now = naive(ctx.now());
    let actor = actor.clone();
    let rows = ctx
        .db
        .transaction(move |conn| {
            let case = case_in_scope(conn, &actor, &scope, &id, READ, now)?;
            let rows = store::of_case(conn, &id)?;
            audit_case(conn, &actor, READ, &case, Outcome::Ok, now)?;
            Ok(rows)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Survey::from_row)
        .collect::<AppResult<_>>()?;
    Ok(SurveyList { case_id, items })
}
