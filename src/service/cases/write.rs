//! Writes on cases: the referral, reassignment and review flag, the initial assessment, contacts
//! and phase moves. A closed case refuses them all (409); the version the caller holds guards
//! against lost updates (412); a key makes a retried write safe.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use uuid::Uuid;
use validator::Validate;

use super::{
    Answers, Case, Contact, Measured, audit_case, case_in_scope, clinician, ensure_open, event,
    record_scores, score_answers,
};
use crate::config::Settings;
use crate::db::audit::Outcome;
use crate::db::cases::{self as store, CaseRow, ContactRow, items_text, refresh_derived};
use crate::db::locks::{Versioned, lock_for_update};
use crate::db::practices::{self, ProgramRow};
use crate::db::{DbConn, accounts, naive, utc};
use crate::domain::account::Role;
use crate::domain::case::{
    ContactMode, ContactOutcome, Declared, EventKind, Indication, Program, Substance,
    check_consent, check_contact, check_eligibility, check_indications, check_no_open_case,
    check_occurred_at, check_program_indications, check_screening, contact_detail, join_set,
    last_completed_contact, nurse_after_assessment, reassignment_detail, referral_detail,
    referring_gp, review_detail, split_set, update_actions,
};
use crate::domain::epices;
use crate::domain::instruments::{Instrument, Score};
use crate::domain::microstructure::{
    ConsultationKind, SubstanceUse, cares_for, check_assessment, check_substance_use,
    consultation_kind, join_epices, join_use, merge_use, not_yours, split_use,
};
use crate::domain::pathway::{
    ExitReason, Phase, assess as assessed, check_contact_phase, check_exit_reason,
    transition as moved,
};
use crate::domain::policy::{Action, Actor, Denied, Scope};
use crate::domain::programs::check_runs;
use crate::domain::text::{FreeText, described};
use crate::error::{AppError, AppResult};
use crate::service::idempotency::{Done, Key, once};
use crate::service::{Caller, Ctx};

/// The GP's referral: the patient, the program, why, and the screening.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub patient_id: Uuid,
    /// One the patient's practice runs on the referral day (its `programs`); Sésame treats
    /// depression or anxiety, the addiction strand addictions or precarity, the mental-health
    /// strand psychic troubles. Every program takes adults only.
    pub program: Program,
    #[schema(min_items = 1)]
    pub indications: Vec<Indication>,
    /// Required with the `addiction` indication, refused without it.
    #[serde(default)]
    pub substances: Vec<Substance>,
    /// At least one questionnaire; scored by the server.
    pub screening: Answers,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = FreeText::<4000>::nullable)]
    pub note: Option<FreeText<4000>>,
    /// The referring GP: required when practice software refers; a GP refers in their own name
    /// (leave it out).
    pub referring_gp_id: Option<Uuid>,
    /// A nurse of the practice to assign at once (otherwise the nurse who assesses).
    pub nurse_id: Option<Uuid>,
    /// The practice's referring psychiatrist for this case.
    pub psychiatrist_id: Option<Uuid>,
    /// The GP declares an ongoing psychiatric follow-up: a Sésame referral then needs
    /// `eligibility_override`.
    #[serde(default)]
    #[schema(default = false)]
    pub psychiatric_follow_up: bool,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = eligibility_override)]
    pub eligibility_override: Option<FreeText<2000>>,
}

/// The schema of `NewCase::eligibility_override`, with its description.
fn eligibility_override() -> RefOr<Schema> {
    described(
        FreeText::<2000>::nullable(),
        "The GP's reason to refer a Sésame patient outside the criteria (an ongoing psychiatric \
         follow-up, or neither PHQ-9 nor GAD-7 of 10 or more at screening); it never lifts the \
         age (18+). Kept on the referral's timeline entry (`detail`). Sésame only.",
    )
}

/// Changes to who holds the case, or to its review flag; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    /// A nurse of the case's practice (GPs and nurses may reassign); `null` unassigns.
    #[serde(default, deserialize_with = "crate::service::input::present")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub nurse_id: Option<Option<Uuid>>,
    /// A psychiatrist of the case's practice (GPs and nurses may reassign); `null` unassigns.
    #[serde(default, deserialize_with = "crate::service::input::present")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub psychiatrist_id: Option<Option<Uuid>>,
    /// Microstructure: the psychologist who follows the case (GPs and nurses may reassign);
    /// `null` removes them.
    #[serde(default, deserialize_with = "crate::service::input::present")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub psychologist_id: Option<Option<Uuid>>,
    /// Microstructure: the social worker who follows the case; `null` removes them.
    #[serde(default, deserialize_with = "crate::service::input::present")]
    #[schema(value_type = Option<Uuid>, nullable)]
    pub social_worker_id: Option<Option<Uuid>>,
    /// Ask for (or withdraw) a review at the next meeting or by the psychiatrist (nurses,
    /// psychiatrists, psychologists and social workers).
    pub review_requested: Option<bool>,
    /// Why, for the timeline.
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = why_note)]
    pub note: Option<FreeText<4000>>,
}

/// The schema of `CaseUpdate::note`, with its description.
fn why_note() -> RefOr<Schema> {
    described(FreeText::<4000>::nullable(), "Why, for the timeline.")
}

/// The initial assessment: the nurse's on a Sésame case (PHQ-9 and GAD-7 baselines required);
/// on a microstructure case, the inclusion by the GP, the psychologist or the social worker, with
/// the days of use of each of the case's products, the EPICES answers and the team.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// Required on Sésame.
    #[schema(min_items = 9, max_items = 9, value_type = Option<Vec<u8>>)]
    pub phq9: Option<Vec<i64>>,
    /// Required on Sésame.
    #[schema(min_items = 7, max_items = 7, value_type = Option<Vec<u8>>)]
    pub gad7: Option<Vec<i64>>,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(inline)]
    pub care_plan: FreeText<8000>,
    /// When it took place (default now); not in the future, not before the referral.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Days of use of the case's products over the last 28 days; at inclusion, every product of
    /// the case. Microstructure only.
    #[serde(default)]
    #[schema(max_items = 9)]
    pub substance_use: Vec<SubstanceUse>,
    /// The 11 EPICES answers (true for yes), in the questionnaire's order; scored by the server
    /// (0–100, precarious from 30.17). Microstructure only.
    #[schema(min_items = 11, max_items = 11)]
    pub epices: Option<Vec<bool>>,
    /// Microstructure: the psychologist who follows the case (an assessing psychologist follows
    /// it unless another is named).
    pub psychologist_id: Option<Uuid>,
    /// Microstructure: the social worker who follows the case (likewise).
    pub social_worker_id: Option<Uuid>,
}

/// The EPICES answers, checked (11 of them).
fn epices_answers(yes: Option<&Vec<bool>>) -> AppResult<Option<epices::Answers>> {
    yes.map(|yes| {
        epices::Answers::from_slice(yes).map_err(|e| AppError::invalid("epices", e.message))
    })
    .transpose()
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
    #[schema(schema_with = FreeText::<4000>::nullable)]
    pub note: Option<FreeText<4000>>,
    /// After `occurred_at`.
    pub next_planned_at: Option<DateTime<Utc>>,
    /// A microstructure consultation's kind, which is the one its author holds (psychologist:
    /// `psychological`, social worker: `social`, GP: `medical`); may be left out. None on Sésame.
    pub kind: Option<ConsultationKind>,
    /// Days of use of the case's products over the last 28 days; at inclusion, every product of
    /// the case. Microstructure only.
    #[serde(default)]
    #[schema(max_items = 9)]
    pub substance_use: Vec<SubstanceUse>,
    /// The 11 EPICES answers (true for yes), in the questionnaire's order; scored by the server
    /// (0–100, precarious from 30.17). Microstructure only.
    #[schema(min_items = 11, max_items = 11)]
    pub epices: Option<Vec<bool>>,
}

/// A move of the case to another phase.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: Phase,
    /// Required when closing, refused otherwise.
    pub exit_reason: Option<ExitReason>,
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = FreeText::<4000>::nullable)]
    pub note: Option<FreeText<4000>>,
}

/// A logged contact and the case as it now stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactRecorded {
    pub contact: Contact,
    pub case: Case,
}

/// Refers a patient (GPs, and practice software naming the GP): creates the case with its
/// screening. 404 for a patient outside the caller's practices; 409 when the patient objected
/// to care-team sharing or already has an open case.
pub async fn refer(
    ctx: &Ctx,
    caller: Caller<'_>,
    input: NewCase,
    key: Option<Key>,
) -> AppResult<Done<Case>> {
    let (actor, scope) = clinician(caller, Action::Refer)?;
    check_indications(&input.indications, &input.substances)?;
    check_program_indications(input.program, &input.indications)?;
    let screening = score_answers(
        "screening",
        &[
            (Instrument::Phq2, input.screening.phq2.as_ref()),
            (Instrument::Phq9, input.screening.phq9.as_ref()),
            (Instrument::Gad7, input.screening.gad7.as_ref()),
        ],
    )?;
    check_screening(&screening)?;
    let (now, today) = (ctx.now(), ctx.today());
    let given_gp = input.referring_gp_id.map(|id| id.to_string());
    let gp = referring_gp(actor.role == Some(Role::Gp), &actor.id, given_gp.as_deref())?;
    let (settings, actor) = (ctx.settings.clone(), actor.clone());
    ctx.db
        .transaction(move |conn| {
            once(conn, &actor.id, key.as_ref(), true, naive(now), |conn| {
                let referral = Referral {
                    actor: &actor,
                    scope: &scope,
                    gp,
                    screening,
                    now,
                    today,
                };
                referral.open_case(conn, &settings, input)
            })
        })
        .await
}

/// A referral checked outside the transaction, to write in it.
struct Referral<'a> {
    actor: &'a Actor,
    scope: &'a Scope,
    gp: String,
    screening: Vec<Score>,
    now: DateTime<Utc>,
    /// The referral's day in the program's time zone.
    today: NaiveDate,
}

impl Referral<'_> {
    fn open_case(self, conn: &mut DbConn, settings: &Settings, input: NewCase) -> AppResult<Case> {
        let (actor, now) = (self.actor, self.now);
        let patient_id = input.patient_id.to_string();
        // Held until the case is written: a consent withdrawn at the same time (which locks the
        // patient too) comes either before this referral, which then sees it, or after it.
        lock_for_update(conn, Versioned::Patients, &patient_id)?;
        let patient = crate::service::patients::in_scope(
            conn,
            actor,
            self.scope,
            &patient_id,
            "case.create",
            naive(now),
        )?;
        check_consent(patient.consent_status)?;
        let eligibility_override = input.eligibility_override.map(|r| r.trimmed());
        let declared = Declared {
            psychiatric_follow_up: input.psychiatric_follow_up,
            screening: &self.screening,
            overridden: eligibility_override.is_some(),
        };
        check_eligibility(input.program, patient.birth_date, self.today, &declared)?;
        let periods = practices::programs_of(conn, std::slice::from_ref(&patient.practice_id))?;
        let periods: Vec<_> = periods.iter().map(ProgramRow::period).collect();
        check_runs(&periods, input.program, self.today)?;
        check_no_open_case(store::open_case_of(conn, &patient_id)?.as_deref())?;
        let practice = patient.practice_id;
        let nurse_id = input.nurse_id.map(|id| id.to_string());
        let psychiatrist_id = input.psychiatrist_id.map(|id| id.to_string());
        for (field, id, role) in [
            ("referring_gp_id", Some(&self.gp), Role::Gp),
            ("nurse_id", nurse_id.as_ref(), Role::Nurse),
            (
                "psychiatrist_id",
                psychiatrist_id.as_ref(),
                Role::Psychiatrist,
            ),
        ] {
            check_member(conn, field, id.map(String::as_str), role, &practice)?;
        }
        let mut row = CaseRow {
            indications: join_set(&input.indications, Indication::as_str),
            substances: join_set(&input.substances, Substance::as_str),
            referring_gp_id: Some(self.gp),
            nurse_id,
            psychiatrist_id,
            referral_note: input.note.map(|n| n.trimmed()),
            ..CaseRow::referred(
                Uuid::now_v7().to_string(),
                patient_id,
                practice,
                input.program,
                actor.id.clone(),
                naive(now),
            )
        };
        store::insert(conn, &row)?;
        let mut referral = event(&row.id, EventKind::Referral, actor, now, now);
        referral.phases(None, Phase::Referred, None);
        referral.note = row.referral_note.clone();
        referral.detail = referral_detail(eligibility_override.as_deref());
        store::insert_event(conn, &referral)?;
        let measured = Measured {
            event_id: &referral.id,
            at: naive(now),
            context: "screening",
            by: actor,
        };
        record_scores(conn, settings, &mut row, &self.screening, &measured, now)?;
        refresh_derived(&mut row, &settings.cadences)?;
        store::save(conn, &row, 1)?;
        audit_case(conn, actor, "case.create", &row, Outcome::Ok, naive(now))?;
        Case::from_row(row, &settings.cadences, now)
    }
}

/// Scores the PHQ-9 and GAD-7 of an assessment or a contact (a bad item is named `phq9[i]`).
fn follow_up_scores(phq9: Option<&Vec<i64>>, gad7: Option<&Vec<i64>>) -> AppResult<Vec<Score>> {
    score_answers("", &[(Instrument::Phq9, phq9), (Instrument::Gad7, gad7)])
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
        && !accounts::is_active_member(conn, id, role, practice_id)?
    {
        return Err(AppError::invalid(
            field,
            format!("must be an active {} of the case's practice", role.as_str()),
        ));
    }
    Ok(())
}

/// What a change of one case is: when, the audit row's action, the version the caller holds
/// (`If-Match`), the caller's key, and whether it creates something (201 rather than 200).
struct Change {
    at: DateTime<Utc>,
    audit_action: &'static str,
    expected: Option<i32>,
    key: Option<Key>,
    created: bool,
    /// Care for the case (`Action::CareForCase`): only the carers of its program may.
    care: bool,
}

impl Change {
    fn new(
        audit_action: &'static str,
        at: DateTime<Utc>,
        expected: Option<i32>,
        key: Option<Key>,
    ) -> Self {
        Self {
            at,
            audit_action,
            expected,
            key,
            created: false,
            care: false,
        }
    }
}

/// What a change of a case answers: the case as it now stands, with what the change made.
trait Answer<Made> {
    fn answer(case: Case, made: Made) -> Self;
}

impl Answer<()> for Case {
    fn answer(case: Case, (): ()) -> Self {
        case
    }
}

impl Answer<Contact> for ContactRecorded {
    fn answer(case: Case, contact: Contact) -> Self {
        Self { contact, case }
    }
}

/// Changes a case in the caller's scope, in one transaction: gives back the kept answer of a key
/// already answered, locks the case, refuses a closed case (409) or a stale version (412), runs
/// `work` on the row, bumps the version with a compare-and-set, recomputes the derived columns,
/// audits, and keeps the answer for retries.
async fn change_case<Made, T, W>(
    ctx: &Ctx,
    (actor, scope): (&Actor, Scope),
    id: Uuid,
    change: Change,
    work: W,
) -> AppResult<Done<T>>
where
    T: Answer<Made> + Serialize + DeserializeOwned + Send + 'static,
    W: FnOnce(&mut DbConn, &Settings, &Actor, &mut CaseRow) -> AppResult<Made> + Send + 'static,
{
    let (settings, cadences) = (ctx.settings.clone(), ctx.settings.cadences);
    let actor = actor.clone();
    let id = id.to_string();
    let Change {
        at: now,
        audit_action,
        expected,
        key,
        created,
        care,
    } = change;
    ctx.db
        .transaction(move |conn| {
            once(conn, &actor.id, key.as_ref(), created, naive(now), |conn| {
                // Writers of one case take turns: without a version every one of them succeeds.
                lock_for_update(conn, Versioned::Cases, &id)?;
                let mut row = case_in_scope(conn, &actor, &scope, &id, audit_action, naive(now))?;
                if care && !actor.role.is_some_and(|role| cares_for(role, row.program)) {
                    return Err(AppError::Forbidden(not_yours(row.program)));
                }
                ensure_open(&row)?;
                crate::service::input::check_version(expected, row.version)?;
                let read_version = row.version;
                let made = work(conn, &settings, &actor, &mut row)?;
                row.version = read_version + 1;
                row.updated_at = naive(now);
                refresh_derived(&mut row, &cadences)?;
                if !store::save(conn, &row, read_version)? {
                    return Err(AppError::PreconditionFailed(
                        "the case changed while this request ran; read it again".to_owned(),
                    ));
                }
                audit_case(conn, &actor, audit_action, &row, Outcome::Ok, naive(now))?;
                Ok(T::answer(Case::from_row(row, &cadences, now)?, made))
            })
        })
        .await
}

/// Reassigns the nurse or the referring psychiatrist (GPs and nurses; `Some(None)` unassigns),
/// and asks for or withdraws a psychiatric review (nurses and psychiatrists); each change is a
/// timeline entry with the note.
pub async fn update(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: CaseUpdate,
    expected: Option<i32>,
) -> AppResult<Case> {
    let team = Team {
        psychologist_id: input.psychologist_id.map(|id| id.map(|id| id.to_string())),
        social_worker_id: input.social_worker_id.map(|id| id.map(|id| id.to_string())),
    };
    let reassigning = input.nurse_id.is_some() || input.psychiatrist_id.is_some() || team.given();
    let mut allowed = None;
    for action in update_actions(reassigning, input.review_requested.is_some())? {
        allowed = Some(clinician(caller, action)?);
    }
    let allowed = allowed.ok_or_else(|| AppError::Internal("no action".to_owned()))?;
    let now = ctx.now();
    let change = Change::new("case.update", now, expected, None);
    let done = change_case(ctx, allowed, id, change, move |conn, _, actor, row| {
        let note = input.note.map(|n| n.trimmed());
        if reassigning {
            let nurse = input.nurse_id.map(|id| id.map(|id| id.to_string()));
            let psychiatrist = input.psychiatrist_id.map(|id| id.map(|id| id.to_string()));
            for (field, holder, role) in [
                ("nurse_id", &nurse, Role::Nurse),
                ("psychiatrist_id", &psychiatrist, Role::Psychiatrist),
            ] {
                let id = holder.as_ref().and_then(Option::as_deref);
                check_member(conn, field, id, role, &row.practice_id)?;
            }
            if team.given() && !row.program.is_microstructure() {
                let field = if team.psychologist_id.is_some() {
                    "psychologist_id"
                } else {
                    "social_worker_id"
                };
                return Err(AppError::invalid(
                    field,
                    "only a microstructure case has a psychologist and a social worker",
                ));
            }
            let mut e = event(&row.id, EventKind::Reassignment, actor, now, now);
            e.detail = Some(reassignment_detail(&[
                ("nurse_id", holder(&nurse)),
                ("psychiatrist_id", holder(&psychiatrist)),
                ("psychologist_id", holder(&team.psychologist_id)),
                ("social_worker_id", holder(&team.social_worker_id)),
            ]));
            e.note = note.clone();
            store::insert_event(conn, &e)?;
            if let Some(nurse) = nurse {
                row.nurse_id = nurse;
            }
            if let Some(psychiatrist) = psychiatrist {
                row.psychiatrist_id = psychiatrist;
            }
            team.apply(conn, row)?;
        }
        if let Some(requested) = input.review_requested {
            row.review_requested = requested;
            let mut e = event(&row.id, EventKind::Review, actor, now, now);
            e.detail = Some(review_detail(requested));
            e.note = note;
            store::insert_event(conn, &e)?;
        }
        Ok(())
    })
    .await?;
    Ok(done.value)
}

/// A holder as the timeline's detail names it: absent, removed (`None`) or an id.
fn holder(given: &Option<Option<String>>) -> Option<Option<&str>> {
    given.as_ref().map(Option::as_deref)
}

/// Records the initial assessment: on Sésame the nurse's (baselines and care plan; the case is
/// then held by the assessing nurse unless it had one); on a microstructure the inclusion, by
/// the GP, the psychologist or the social worker (the days of use of the case's products, the
/// EPICES answers, the team). The referred case becomes active. 409 on any other phase; 403 for
/// a role that does not care for the case's program.
pub async fn assess(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: Assessment,
    expected: Option<i32>,
    key: Option<Key>,
) -> AppResult<Done<Case>> {
    let allowed = clinician(caller, Action::CareForCase)?;
    let scores = follow_up_scores(input.phq9.as_ref(), input.gad7.as_ref())?;
    let epices = epices_answers(input.epices.as_ref())?;
    let now = ctx.now();
    let occurred_at = input.occurred_at.unwrap_or(now);
    let care_plan = input.care_plan.trimmed();
    let microstructure_field = [
        (!input.substance_use.is_empty(), "substance_use"),
        (epices.is_some(), "epices"),
        (input.psychologist_id.is_some(), "psychologist_id"),
        (input.social_worker_id.is_some(), "social_worker_id"),
    ]
    .into_iter()
    .find_map(|(given, field)| given.then_some(field));
    let (phq9, gad7) = (input.phq9.is_some(), input.gad7.is_some());
    let team = Team {
        psychologist_id: input.psychologist_id.map(|id| Some(id.to_string())),
        social_worker_id: input.social_worker_id.map(|id| Some(id.to_string())),
    };
    let change = Change {
        care: true,
        ..Change::new("case.assessment", now, expected, key)
    };
    change_case(
        ctx,
        allowed,
        id,
        change,
        move |conn, settings, actor, row| {
            let change = assessed(row.phase, occurred_at)?;
            check_assessment(row.program, phq9, gad7, microstructure_field)?;
            check_occurred_at("occurred_at", occurred_at, utc(row.referred_at), now)?;
            row.apply(&change);
            row.assessed_at = Some(naive(occurred_at));
            row.care_plan = Some(care_plan);
            if row.program.is_microstructure() {
                team.join(conn, row, actor)?;
                let substances = case_substances(row)?;
                check_substance_use(&input.substance_use, &substances, true)?;
                // The latest figures are the consultations' (compared with this baseline).
                row.baseline_substance_use = join_use(&input.substance_use);
                row.baseline_epices = epices.as_ref().map(join_epices);
                row.latest_epices = row.baseline_epices.clone();
            } else {
                row.nurse_id = Some(nurse_after_assessment(row.nurse_id.take(), &actor.id));
            }
            for s in &scores {
                if let Some(baseline) = row.baseline_of(s.instrument) {
                    *baseline = Some(items_text(s));
                }
            }
            let mut e = event(&row.id, EventKind::Assessment, actor, occurred_at, now);
            e.moved(&change);
            store::insert_event(conn, &e)?;
            let measured = Measured {
                event_id: &e.id,
                at: naive(occurred_at),
                context: "assessment",
                by: actor,
            };
            record_scores(conn, settings, row, &scores, &measured, now)?;
            Ok(())
        },
    )
    .await
}

/// The case's products, as stored.
fn case_substances(row: &CaseRow) -> AppResult<Vec<Substance>> {
    split_set(&row.substances, Substance::parse)
        .ok_or_else(|| AppError::Internal("stored substances unknown".to_owned()))
}

/// Changes to a microstructure case's team: `Some(None)` removes the professional.
struct Team {
    psychologist_id: Option<Option<String>>,
    social_worker_id: Option<Option<String>>,
}

impl Team {
    fn given(&self) -> bool {
        self.psychologist_id.is_some() || self.social_worker_id.is_some()
    }

    /// Checks and writes the changes; at the inclusion (`joining`), an including psychologist
    /// or social worker follows the case unless another was named.
    fn apply(self, conn: &mut DbConn, row: &mut CaseRow) -> AppResult<()> {
        for (field, holder, role, column) in [
            (
                "psychologist_id",
                self.psychologist_id,
                Role::Psychologist,
                &mut row.psychologist_id,
            ),
            (
                "social_worker_id",
                self.social_worker_id,
                Role::SocialWorker,
                &mut row.social_worker_id,
            ),
        ] {
            if let Some(holder) = holder {
                check_member(conn, field, holder.as_deref(), role, &row.practice_id)?;
                *column = holder;
            }
        }
        Ok(())
    }

    /// At the inclusion: the named professionals, and the including psychologist or social
    /// worker unless another of their discipline was named.
    fn join(mut self, conn: &mut DbConn, row: &mut CaseRow, actor: &Actor) -> AppResult<()> {
        let own = match actor.role {
            Some(Role::Psychologist) => {
                Some((&mut self.psychologist_id, row.psychologist_id.is_some()))
            }
            Some(Role::SocialWorker) => {
                Some((&mut self.social_worker_id, row.social_worker_id.is_some()))
            }
            _ => None,
        };
        if let Some((slot, held)) = own
            && slot.is_none()
            && !held
        {
            *slot = Some(Some(actor.id.clone()));
        }
        self.apply(conn, row)
    }
}

/// Logs a contact with the patient, completed or not, with PHQ-9/GAD-7 at a completed one: a
/// Sésame nurse's contact, or a microstructure consultation (its kind is its author's: the
/// psychologist's, the social worker's or the GP's), with the days of use and EPICES answers
/// measured. A completed consultation moves its discipline's due date, and its author follows
/// the case when nobody of their discipline did. 409 while the case waits for its assessment.
pub async fn log_contact(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: NewContact,
    key: Option<Key>,
) -> AppResult<Done<ContactRecorded>> {
    let allowed = clinician(caller, Action::CareForCase)?;
    let scores = follow_up_scores(input.phq9.as_ref(), input.gad7.as_ref())?;
    let epices = epices_answers(input.epices.as_ref())?;
    let measured = !scores.is_empty() || !input.substance_use.is_empty() || epices.is_some();
    check_contact(
        input.outcome,
        measured,
        input.occurred_at,
        input.next_planned_at,
    )?;
    let now = ctx.now();
    let change = Change {
        created: true,
        care: true,
        ..Change::new("case.contact", now, None, key)
    };
    change_case(
        ctx,
        allowed,
        id,
        change,
        move |conn, settings, actor, row| {
            check_contact_phase(row.phase)?;
            check_occurred_at("occurred_at", input.occurred_at, utc(row.referred_at), now)?;
            let role = actor.role.ok_or(Denied)?;
            let kind = consultation_kind(row.program, role, input.kind)?;
            if !row.program.is_microstructure() {
                check_assessment(row.program, true, true, measure_field(&input, &epices))?;
            }
            check_substance_use(&input.substance_use, &case_substances(row)?, false)?;
            let contact = ContactRow {
                id: Uuid::now_v7().to_string(),
                case_id: row.id.clone(),
                occurred_at: naive(input.occurred_at),
                mode: input.mode,
                outcome: input.outcome,
                duration_minutes: input.duration_minutes,
                note: input.note.map(|n| n.trimmed()),
                next_planned_at: input.next_planned_at.map(naive),
                author_id: actor.id.clone(),
                created_at: naive(now),
                kind,
                substance_use: join_use(&input.substance_use),
                epices: epices.as_ref().map(join_epices),
            };
            store::insert_contact(conn, &contact)?;
            let mut e = event(&row.id, EventKind::Contact, actor, input.occurred_at, now);
            e.contact_id = Some(contact.id.clone());
            e.detail = Some(contact_detail(input.outcome));
            store::insert_event(conn, &e)?;
            let measured = Measured {
                event_id: &e.id,
                at: contact.occurred_at,
                context: "contact",
                by: actor,
            };
            let views = record_scores(conn, settings, row, &scores, &measured, now)?;
            let last = row.last_completed_contact_at.map(utc);
            row.last_completed_contact_at =
                last_completed_contact(last, input.outcome, input.occurred_at).map(naive);
            if let Some(kind) = kind {
                let at = (input.outcome, input.occurred_at);
                let measures = (input.substance_use.as_slice(), epices.as_ref());
                consulted(row, kind, actor, at, measures)?;
            }
            Contact::from_row(contact, views)
        },
    )
    .await
}

/// The first microstructure measure a contact gives, if any (refused on Sésame).
fn measure_field(input: &NewContact, epices: &Option<epices::Answers>) -> Option<&'static str> {
    if input.kind.is_some() {
        Some("kind")
    } else if !input.substance_use.is_empty() {
        Some("substance_use")
    } else {
        epices.is_some().then_some("epices")
    }
}

/// A microstructure consultation written on its case: the latest days of use and EPICES
/// answers; for a completed psychological or social one, its discipline's last consultation
/// (never moved back), and its author follows the case when nobody of the discipline did.
fn consulted(
    row: &mut CaseRow,
    kind: ConsultationKind,
    actor: &Actor,
    (outcome, at): (ContactOutcome, DateTime<Utc>),
    (used, epices): (&[SubstanceUse], Option<&epices::Answers>),
) -> AppResult<()> {
    if !used.is_empty() {
        let latest = match row.latest_substance_use.as_deref() {
            Some(raw) => split_use(raw)
                .ok_or_else(|| AppError::Internal("stored substance use unknown".to_owned()))?,
            None => Vec::new(),
        };
        row.latest_substance_use = join_use(&merge_use(&latest, used));
    }
    if let Some(answers) = epices {
        row.latest_epices = Some(join_epices(answers));
    }
    if outcome != ContactOutcome::Completed {
        return Ok(());
    }
    let (last, holder) = match kind {
        ConsultationKind::Psychological => {
            (&mut row.last_psychological_at, &mut row.psychologist_id)
        }
        ConsultationKind::Social => (&mut row.last_social_at, &mut row.social_worker_id),
        ConsultationKind::Medical => return Ok(()),
    };
    if last.is_none_or(|last| last < naive(at)) {
        *last = Some(naive(at));
    }
    if holder.is_none() {
        *holder = Some(actor.id.clone());
    }
    Ok(())
}

/// Moves the case to another phase (nurses): relapse prevention, back to active on relapse, or
/// closed with its exit reason (which cancels its pending tele-expertise requests and tells the
/// referring GP by email). 409 with the allowed phases on a refused move.
pub async fn transition(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: Transition,
    expected: Option<i32>,
    key: Option<Key>,
) -> AppResult<Done<Case>> {
    let allowed = clinician(caller, Action::CareForCase)?;
    check_exit_reason(input.to, input.exit_reason)?;
    let now = ctx.now();
    let change = Change {
        care: true,
        ..Change::new("case.transition", now, expected, key)
    };
    change_case(
        ctx,
        allowed,
        id,
        change,
        move |conn, settings, actor, row| {
            let change = moved(row.phase, input.to, input.exit_reason, now)?;
            row.apply(&change);
            if change.closed_at.is_some() {
                crate::service::tele_expertise::cancel_with_closed_case(
                    conn, settings, actor, &row.id, now,
                )?;
                crate::outbox::notices::case_closed(conn, settings, row, now)?;
            }
            let mut e = event(&row.id, EventKind::Transition, actor, now, now);
            e.moved(&change);
            e.note = input.note.map(|n| n.trimmed());
            store::insert_event(conn, &e)?;
            Ok(())
        },
    )
    .await
}
