//! Case review meetings (the microstructure's réunion de synthèse, Sésame's caseload review): the
//! care team of a practice records a meeting — who took part, and what it decided about each case
//! discussed, in one transaction that also clears review flags, writes each case's timeline entry
//! and asks the tele-expertise questions decided there; reads its meetings; and reads the agenda
//! the server proposes for the next one. Coordinators and admins read that a team met, not what it
//! said about whom. Every write of a case and every read of what was decided is audited, one row
//! per case.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::idempotency::{self, Done, Key};
use super::{Caller, Ctx, within_reach};
use crate::config::Settings;
use crate::db::audit::{self, DENIED_PRACTICE, Outcome};
use crate::db::cases::{self as case_store, CaseRow, refresh_derived};
use crate::db::locks::{Versioned, lock_for_update};
use crate::db::meetings::{self as store, DecisionRow, MeetingFilter, MeetingRow, ParticipantRow};
use crate::db::practices::{self as practice_store, PracticeRow};
use crate::db::{DbConn, naive, stored_id, utc};
use crate::domain::case::{EventKind, Program};
use crate::domain::meeting::{
    MAX_DECISIONS, NOT_A_TEAM_MEMBER, NOT_AN_OPEN_CASE, Standing, TEAM, agenda as proposed,
    check_discussed_after_referral, check_held_on, check_plan, decision_detail, entry_time,
    repeated,
};
use crate::domain::pathway::{ExitReason, Flag, Phase};
use crate::domain::policy::{Action, Actor, Denied, Scope};
use crate::domain::tele_expertise::Urgency;
use crate::domain::text::{FreeText, described};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::cases::{Case, audit_case, event};
use crate::service::input::PageQuery;
use crate::service::tele_expertise::{Question, ask};

/// A meeting of the practice's care team, as the team records it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// The day the team met (a date in the program's time zone); not in the future.
    pub held_on: NaiveDate,
    /// Who took part, each once: active GPs, nurses, psychiatrists, psychologists or social
    /// workers of the practice. The person recording the meeting need not be listed.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50)]
    pub participants: Vec<Uuid>,
    // Described in `meeting_note`.
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = meeting_note)]
    pub note: Option<FreeText<8000>>,
    /// What the team decided, one entry per case discussed, each case once, in the order
    /// discussed.
    #[serde(default)]
    #[validate(nested)]
    #[schema(max_items = 200)]
    pub decisions: Vec<NewDecision>,
}

fn meeting_note() -> RefOr<Schema> {
    described(
        FreeText::<8000>::nullable(),
        "The meeting's own note (shown to the care team and the practice's software only).",
    )
}

/// What the team decided about one case.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// An open case of the practice.
    pub case_id: Uuid,
    // Described in `decision_note`.
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = decision_note)]
    pub note: FreeText<8000>,
    /// `true`: the team reviewed the case, and its request for a psychiatric review is cleared.
    #[serde(default)]
    #[schema(default = false)]
    pub clear_review: bool,
    /// A phase move the team plans: recorded with the decision; the case does not move (its
    /// nurse moves it, `POST /cases/{id}/transitions`).
    pub plan_transition: Option<PlannedTransition>,
    /// A question to a psychiatrist of the practice, asked at once as a tele-expertise request on
    /// the case (by a GP, or by the case's nurse: 403 otherwise).
    #[validate(nested)]
    pub tele_expertise: Option<MeetingQuestion>,
}

fn decision_note() -> RefOr<Schema> {
    described(
        FreeText::<8000>::schema(),
        "What the team decided about the case; also the note of the case's `meeting` timeline \
         entry.",
    )
}

/// A phase move the team plans for a case; the case does not move.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedTransition {
    /// A phase the pathway leads to from the case's phase (`active` for a referred case: by its
    /// assessment).
    pub to: Phase,
    /// Given exactly when `to` is `closed`.
    pub exit_reason: Option<ExitReason>,
}

/// A tele-expertise question decided at the meeting.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuestion {
    /// An active psychiatrist of the practice.
    pub expert_id: Uuid,
    // Described in `question_schema`.
    #[validate(custom(function = "crate::domain::text::free"))]
    #[schema(schema_with = question_schema)]
    pub question: FreeText<8000>,
    /// `urgent`: an answer is due within 2 days rather than 7.
    pub urgency: Urgency,
    /// When the patient was informed and agreed; not in the future.
    pub patient_consent_at: DateTime<Utc>,
}

fn question_schema() -> RefOr<Schema> {
    described(
        FreeText::<8000>::schema(),
        "The question to the psychiatrist.",
    )
}

/// A case review meeting. What it decided (`note`, `decisions`) is shown to the care team and
/// the practice's software only; coordinators and admins see when it was held, who took part and
/// how many cases were discussed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Meeting {
    /// The meeting's id.
    pub id: Uuid,
    /// The practice whose team met.
    pub practice_id: Uuid,
    /// The day the team met.
    pub held_on: NaiveDate,
    /// Who took part (account ids).
    pub participants: Vec<Uuid>,
    /// Who recorded the meeting.
    pub recorded_by: Uuid,
    /// How many cases were discussed.
    pub cases_discussed: usize,
    /// The meeting's note; absent when none was written, and for readers outside the care team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What was decided, case by case, in the order discussed; absent for readers outside the
    /// care team (coordinators, admins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<Vec<Decision>>,
    /// When the meeting was recorded.
    pub created_at: DateTime<Utc>,
}

/// What a meeting decided about one case.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// The decision's id.
    pub id: Uuid,
    /// The case discussed.
    pub case_id: Uuid,
    /// The case's patient.
    pub patient_id: Uuid,
    /// What the team decided.
    pub note: String,
    /// Whether the case's request for a psychiatric review was cleared.
    pub clear_review: bool,
    /// The phase move the team planned, if any.
    pub plan_transition: Option<PlannedTransition>,
    /// The tele-expertise request asked at the meeting, if any.
    pub tele_expertise_id: Option<Uuid>,
}

impl Decision {
    fn from_row(row: DecisionRow) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            case_id: stored_id(&row.case_id)?,
            patient_id: stored_id(&row.patient_id)?,
            note: row.note,
            clear_review: row.clear_review,
            plan_transition: row.planned_phase.map(|to| PlannedTransition {
                to,
                exit_reason: row.planned_exit_reason,
            }),
            tele_expertise_id: row
                .tele_expertise_id
                .as_deref()
                .map(stored_id)
                .transpose()?,
        })
    }
}

/// What a reader is shown of a meeting's decisions.
enum Decided {
    /// Everything (the care team, the practice's software).
    Shown(Vec<DecisionRow>),
    /// How many cases (coordinators, admins).
    Counted(usize),
}

impl Meeting {
    fn of(row: MeetingRow, participants: Vec<String>, decided: Decided) -> AppResult<Self> {
        let (cases_discussed, note, decisions) = match decided {
            Decided::Shown(rows) => {
                let decisions = rows
                    .into_iter()
                    .map(Decision::from_row)
                    .collect::<AppResult<Vec<_>>>()?;
                (decisions.len(), row.note, Some(decisions))
            }
            Decided::Counted(n) => (n, None, None),
        };
        Ok(Self {
            id: stored_id(&row.id)?,
            practice_id: stored_id(&row.practice_id)?,
            held_on: row.held_on,
            participants: participants
                .iter()
                .map(|id| stored_id(id))
                .collect::<AppResult<_>>()?,
            recorded_by: stored_id(&row.recorded_by)?,
            cases_discussed,
            note,
            decisions,
            created_at: utc(row.created_at),
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingQuery {
    /// Only meetings held on or after this day.
    pub from: Option<NaiveDate>,
    /// Only meetings held on or before this day; not before `from` (422).
    pub to: Option<NaiveDate>,
}

/// One page of a practice's meetings.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingPage {
    /// The most recently held first.
    pub items: Vec<Meeting>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One case the server proposes to discuss.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgendaItem {
    /// The case.
    pub case_id: Uuid,
    /// The case's patient.
    pub patient_id: Uuid,
    /// The case's program.
    pub program: Program,
    /// The case's phase.
    pub phase: Phase,
    /// Its flags now (why it is on the agenda, with `overdue_days`).
    pub flags: Vec<Flag>,
    /// Days past its next contact's due date (0 when not overdue).
    pub overdue_days: i64,
    /// Its next contact's due date (the assessment's while referred).
    pub next_contact_due: Option<NaiveDate>,
    /// The day it was last discussed at a meeting; `null` if never.
    pub last_discussed_on: Option<NaiveDate>,
}

/// The cases the server proposes the team discuss at its next meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct Agenda {
    /// The practice whose team meets.
    pub practice_id: Uuid,
    /// The open cases with a safety alert, not improving, needing review or overdue, in the
    /// worklist's order: safety alerts, most overdue, needing review, due soonest.
    pub items: Vec<AgendaItem>,
}

/// Records a meeting of the practice `practice_id`'s care team (its clinicians), idempotent under
/// `key`, in one transaction: the meeting and who took part; for each case decided, in the order
/// given, the tele-expertise question it asks (`service::tele_expertise::ask`), the review flag
/// cleared, the case's version bumped and its derived columns refreshed, a `meeting` timeline
/// entry and the audit row. The planned moves are recorded, not made. Anything refused leaves
/// nothing written (but the audit row of a case outside the caller's practices).
pub async fn hold(
    ctx: &Ctx,
    caller: Caller<'_>,
    practice_id: Uuid,
    input: NewMeeting,
    key: Option<Key>,
) -> AppResult<Done<Meeting>> {
    let scope = caller.may(Action::HoldMeetings)?;
    let actor = person(caller)?.clone();
    // Asking a psychiatrist is the GPs' and nurses' right, at a meeting as anywhere.
    let asking = if input.decisions.iter().any(|d| d.tele_expertise.is_some()) {
        Some(caller.may(Action::RequestTeleExpertise)?)
    } else {
        None
    };
    let now = ctx.now();
    let today = now.with_timezone(&ctx.settings.timezone).date_naive();
    check_alone(&input, today, now)?;
    let settings = ctx.settings.clone();
    ctx.db
        .transaction(move |conn| {
            idempotency::once(conn, &actor.id, key.as_ref(), true, naive(now), |conn| {
                let recording = Recording {
                    actor: &actor,
                    scope: &scope,
                    asking: asking.as_ref(),
                    settings: &settings,
                    now,
                };
                recording.write(conn, &practice_id.to_string(), input)
            })
        })
        .await
}

/// The checks that need nothing stored: at most 200 decisions, the day, nobody or no case named
/// twice, no consent in the future. Every field at fault is named.
fn check_alone(input: &NewMeeting, today: NaiveDate, now: DateTime<Utc>) -> AppResult<()> {
    let mut errors = Vec::new();
    if input.decisions.len() > MAX_DECISIONS {
        errors.push(FieldError::new(
            "decisions",
            format!("must have at most {MAX_DECISIONS} items"),
        ));
    }
    if let Err(e) = check_held_on(input.held_on, today) {
        errors.push(FieldError::new(e.field, e.message));
    }
    for i in repeated(&input.participants) {
        errors.push(FieldError::new(
            format!("participants[{i}]"),
            "names someone already listed",
        ));
    }
    let case_ids: Vec<Uuid> = input.decisions.iter().map(|d| d.case_id).collect();
    for i in repeated(&case_ids) {
        errors.push(FieldError::new(
            format!("decisions[{i}].case_id"),
            "names a case already decided at this meeting",
        ));
    }
    for (i, decision) in input.decisions.iter().enumerate() {
        if let Some(q) = &decision.tele_expertise
            && q.patient_consent_at > now
        {
            errors.push(FieldError::new(
                format!("decisions[{i}].tele_expertise.patient_consent_at"),
                "cannot be in the future",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A meeting being recorded, by whom and when.
struct Recording<'a> {
    actor: &'a Actor,
    scope: &'a Scope,
    /// The scope of `Action::RequestTeleExpertise`, when a decision asks a question.
    asking: Option<&'a Scope>,
    settings: &'a Settings,
    now: DateTime<Utc>,
}

const CREATE: &str = "meeting.create";

impl Recording<'_> {
    fn write(&self, conn: &mut DbConn, practice_id: &str, input: NewMeeting) -> AppResult<Meeting> {
        let (actor, now) = (self.actor, self.now);
        let practice = practice_in_reach(conn, actor, self.scope, practice_id, CREATE, now)?;
        let cases = self.check(conn, &practice, &input)?;

        let meeting = MeetingRow {
            id: Uuid::now_v7().to_string(),
            practice_id: practice.id,
            held_on: input.held_on,
            note: input.note.as_ref().map(FreeText::trimmed),
            recorded_by: actor.id.clone(),
            created_at: naive(now),
        };
        store::insert(conn, &meeting)?;
        let mut participants: Vec<String> =
            input.participants.iter().map(Uuid::to_string).collect();
        participants.sort();
        for user_id in &participants {
            let row = ParticipantRow {
                meeting_id: meeting.id.clone(),
                user_id: user_id.clone(),
            };
            store::insert_participant(conn, &row)?;
        }
        let at = entry_time(input.held_on, self.settings.timezone, now);
        let mut decided = Vec::with_capacity(input.decisions.len());
        for ((i, decision), case) in input.decisions.into_iter().enumerate().zip(cases) {
            let row = self
                .decide(conn, &meeting.id, i, decision, case, at)
                .map_err(|e| within(&format!("decisions[{i}]"), e))?;
            decided.push(row);
        }
        Meeting::of(meeting, participants, Decided::Shown(decided))
    }

    /// The checks that need the practice's people and cases: every participant of its team,
    /// every case an open one of it (locked, in id order so that two meetings deciding the same
    /// cases cannot deadlock), referred by the meeting's day, with a plan the pathway allows.
    /// Returns the cases in the order of the decisions. A case outside the caller's practices is
    /// audited as denied, and answered as a missing one.
    fn check(
        &self,
        conn: &mut DbConn,
        practice: &PracticeRow,
        input: &NewMeeting,
    ) -> AppResult<Vec<CaseRow>> {
        let mut errors = Vec::new();
        let ids: Vec<String> = input.participants.iter().map(Uuid::to_string).collect();
        let members = store::members_with_roles(conn, &practice.id, &ids, &TEAM)?;
        for (i, id) in ids.iter().enumerate() {
            if !members.contains(id) {
                errors.push(FieldError::new(
                    format!("participants[{i}]"),
                    NOT_A_TEAM_MEMBER,
                ));
            }
        }
        let mut order: Vec<String> = input
            .decisions
            .iter()
            .map(|d| d.case_id.to_string())
            .collect();
        order.sort();
        let mut found: HashMap<String, CaseRow> = HashMap::new();
        for id in order {
            lock_for_update(conn, Versioned::Cases, &id)?;
            if let Some(row) = case_store::find(conn, &id)? {
                found.insert(id, row);
            }
        }
        let mut denied = false;
        let mut cases = Vec::with_capacity(input.decisions.len());
        let zone = self.settings.timezone;
        for (i, decision) in input.decisions.iter().enumerate() {
            let field = |name: &str| format!("decisions[{i}].{name}");
            let Some(case) = found.remove(&decision.case_id.to_string()) else {
                errors.push(FieldError::new(field("case_id"), NOT_AN_OPEN_CASE));
                continue;
            };
            if case.practice_id != practice.id || case.phase == Phase::Closed {
                if !self.scope.covers(&case.practice_id) {
                    let outcome = Outcome::Denied(DENIED_PRACTICE);
                    audit_case(conn, self.actor, CREATE, &case, outcome, naive(self.now))?;
                    denied = true;
                }
                errors.push(FieldError::new(field("case_id"), NOT_AN_OPEN_CASE));
                continue;
            }
            let referred_on = utc(case.referred_at).with_timezone(&zone).date_naive();
            let mut rules = vec![check_discussed_after_referral(input.held_on, referred_on)];
            if let Some(plan) = &decision.plan_transition {
                rules.push(
                    check_plan(case.phase, plan.to, plan.exit_reason).map_err(|mut e| {
                        e.field = if e.field == "to" {
                            "plan_transition.to".into()
                        } else {
                            "plan_transition.exit_reason".into()
                        };
                        e
                    }),
                );
            }
            for broken in rules.into_iter().filter_map(Result::err) {
                errors.push(FieldError::new(field(&broken.field), broken.message));
            }
            cases.push(case);
        }
        if errors.is_empty() {
            return Ok(cases);
        }
        let refused = AppError::Validation(errors);
        Err(if denied { refused.recorded() } else { refused })
    }

    /// One decision on its (locked, checked) case: the question asked, the flag cleared, the
    /// version bumped, the derived columns refreshed, the timeline entry and the audit row.
    fn decide(
        &self,
        conn: &mut DbConn,
        meeting_id: &str,
        position: usize,
        decision: NewDecision,
        mut case: CaseRow,
        at: DateTime<Utc>,
    ) -> AppResult<DecisionRow> {
        let (actor, now) = (self.actor, self.now);
        let request = match (&decision.tele_expertise, self.asking) {
            (Some(q), Some(scope)) => {
                let question = Question {
                    expert_id: q.expert_id,
                    question: q.question.trimmed(),
                    urgency: q.urgency,
                    consent_at: q.patient_consent_at,
                    attached_score_ids: &[],
                };
                let case_id = stored_id(&case.id)?;
                let asked = ask(conn, self.settings, actor, scope, case_id, &question, now)
                    .map_err(|e| within("tele_expertise", e))?;
                Some(asked.id.to_string())
            }
            (Some(_), None) => return Err(Denied.into()),
            (None, _) => None,
        };
        if decision.clear_review {
            case.review_requested = false;
        }
        let read_version = case.version;
        case.version = read_version + 1;
        case.updated_at = naive(now);
        refresh_derived(&mut case, &self.settings.cadences)?;
        if !case_store::save(conn, &case, read_version)? {
            return Err(AppError::PreconditionFailed(
                "a case changed while the meeting was recorded; try again".to_owned(),
            ));
        }
        let planned = decision
            .plan_transition
            .as_ref()
            .map(|p| (p.to, p.exit_reason));
        let note = decision.note.trimmed();
        let mut entry = event(&case.id, EventKind::Meeting, actor, at, now);
        entry.detail = Some(decision_detail(
            meeting_id,
            decision.clear_review,
            planned,
            request.as_deref(),
        ));
        entry.note = Some(note.clone());
        case_store::insert_event(conn, &entry)?;
        audit_case(
            conn,
            actor,
            "meeting.decision",
            &case,
            Outcome::Ok,
            naive(now),
        )?;
        let row = DecisionRow {
            id: Uuid::now_v7().to_string(),
            meeting_id: meeting_id.to_owned(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            case_id: case.id,
            patient_id: case.patient_id,
            note,
            clear_review: decision.clear_review,
            planned_phase: planned.map(|(to, _)| to),
            planned_exit_reason: planned.and_then(|(_, reason)| reason),
            tele_expertise_id: request,
        };
        store::insert_decision(conn, &row)?;
        Ok(row)
    }
}

/// An error of a step done for one part of the body, with its fields named within that part
/// (`expert_id` of a decision's question is `decisions[2].tele_expertise.expert_id`).
fn within(prefix: &str, error: AppError) -> AppError {
    match error {
        AppError::Validation(errors) => AppError::Validation(
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("{prefix}.{}", e.field), e.message))
                .collect(),
        ),
        AppError::Recorded(inner) => within(prefix, *inner).recorded(),
        other => other,
    }
}

/// One page of the practice's meetings, the most recently held first, within `from`–`to`. The
/// care team and the practice's software see what was decided (audited, one row per case shown);
/// coordinators and admins, that the team met.
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    practice_id: Uuid,
    query: MeetingQuery,
    page: PageQuery,
) -> AppResult<MeetingPage> {
    let scope = caller.may(Action::ReadMeetings)?;
    let actor = person(caller)?.clone();
    let full = caller.may(Action::ReadMeetingDecisions).is_ok();
    page.after_id()?;
    if crate::domain::ends_before_start(query.from, query.to) {
        return Err(AppError::invalid("to", "must be on or after from"));
    }
    let now = ctx.now();
    let filter = MeetingFilter {
        practice_id: practice_id.to_string(),
        from: query.from,
        to: query.to,
    };
    ctx.db
        .transaction(move |conn| {
            let action = "meeting.list";
            practice_in_reach(conn, &actor, &scope, &filter.practice_id, action, now)?;
            let after = match page.after {
                Some(id) => Some(
                    store::find(conn, &id.to_string())?
                        .filter(|m| m.practice_id == filter.practice_id)
                        .ok_or_else(|| {
                            AppError::BadQuery(vec![FieldError::new(
                                "after",
                                "is not a meeting of this list",
                            )])
                        })?,
                ),
                None => None,
            };
            let rows = store::page(conn, &filter, after.as_ref(), page.fetch_limit())?;
            let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
            let items = shown(conn, &actor, rows, full, action, now)?;
            Ok(MeetingPage { items, next_cursor })
        })
        .await
}

/// One meeting, to whoever may read its practice's meetings (404 to anyone else): in full to the
/// care team and the practice's software (audited, one row per case), in part to the others.
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<Meeting> {
    let scope = caller.may(Action::ReadMeetings)?;
    let actor = person(caller)?.clone();
    let full = caller.may(Action::ReadMeetingDecisions).is_ok();
    let now = ctx.now();
    ctx.db
        .transaction(move |conn| {
            let action = "meeting.read";
            let row = within_reach(
                store::find(conn, &id.to_string())?,
                "meeting",
                |m| scope.covers(&m.practice_id),
                |_, denied| {
                    Ok(audit::record(
                        conn,
                        &actor,
                        action,
                        None,
                        None,
                        denied,
                        naive(now),
                    )?)
                },
            )?;
            shown(conn, &actor, vec![row], full, action, now)?
                .pop()
                .ok_or_else(|| AppError::not_found("meeting"))
        })
        .await
}

/// The meetings `rows` as the reader sees them: with their decisions (each case audited as read
/// under `action`) or their count.
fn shown(
    conn: &mut DbConn,
    actor: &Actor,
    rows: Vec<MeetingRow>,
    full: bool,
    action: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<Meeting>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut people: HashMap<String, Vec<String>> = HashMap::new();
    for p in store::participants_of(conn, &ids)? {
        people.entry(p.meeting_id).or_default().push(p.user_id);
    }
    let mut decided: HashMap<String, Decided> = HashMap::new();
    if full {
        let decisions = store::decisions_of(conn, &ids)?;
        let reads: Vec<(&str, Option<&str>)> = decisions
            .iter()
            .map(|d| (d.patient_id.as_str(), Some(d.case_id.as_str())))
            .collect();
        audit::record_reads(conn, actor, action, &reads, naive(now))?;
        for d in decisions {
            match decided
                .entry(d.meeting_id.clone())
                .or_insert_with(|| Decided::Shown(Vec::new()))
            {
                Decided::Shown(list) => list.push(d),
                Decided::Counted(_) => {}
            }
        }
    } else {
        for (meeting, n) in store::decision_counts(conn, &ids)? {
            decided.insert(meeting, Decided::Counted(usize::try_from(n).unwrap_or(0)));
        }
    }
    rows.into_iter()
        .map(|row| {
            let participants = people.remove(&row.id).unwrap_or_default();
            let none = if full {
                Decided::Shown(Vec::new())
            } else {
                Decided::Counted(0)
            };
            let decisions = decided.remove(&row.id).unwrap_or(none);
            Meeting::of(row, participants, decisions)
        })
        .collect()
}

/// The agenda proposed for the practice's next meeting (its care team): its open cases with a
/// safety alert, not improving, needing review or overdue, in the worklist's priority order
/// (`domain::meeting::agenda`), each with the day it was last discussed; audited, one row per
/// case.
pub async fn agenda(ctx: &Ctx, caller: Caller<'_>, practice_id: Uuid) -> AppResult<Agenda> {
    let scope = caller.may(Action::HoldMeetings)?;
    let actor = person(caller)?.clone();
    let now = ctx.now();
    let cadences = ctx.settings.cadences;
    let cutoffs = cadences.cutoffs(now);
    ctx.db
        .transaction(move |conn| {
            let action = "meeting.agenda";
            let id = practice_id.to_string();
            practice_in_reach(conn, &actor, &scope, &id, action, now)?;
            let rows = store::agenda_candidates(
                conn,
                &id,
                naive(cutoffs.not_improving_assessed_by),
                cutoffs.overdue_due_before,
            )?;
            let cases = rows
                .into_iter()
                .map(|row| Case::from_row(row, &cadences, now))
                .collect::<AppResult<Vec<_>>>()?;
            let cases = proposed(cases, |c| Standing {
                flags: c.flags.clone(),
                overdue_days: c.overdue_days,
                next_contact_due: c.next_contact_due,
            });
            let ids: Vec<String> = cases.iter().map(|c| c.id.to_string()).collect();
            let last: HashMap<String, NaiveDate> = store::last_discussed(conn, &ids)?
                .into_iter()
                .filter_map(|(case, day)| Some((case, day?)))
                .collect();
            let reads: Vec<(String, String)> = cases
                .iter()
                .map(|c| (c.patient_id.to_string(), c.id.to_string()))
                .collect();
            audit::record_case_reads(conn, &actor, action, &reads, naive(now))?;
            let items = cases
                .into_iter()
                .map(|c| AgendaItem {
                    last_discussed_on: last.get(&c.id.to_string()).copied(),
                    case_id: c.id,
                    patient_id: c.patient_id,
                    program: c.program,
                    phase: c.phase,
                    flags: c.flags,
                    overdue_days: c.overdue_days,
                    next_contact_due: c.next_contact_due,
                })
                .collect();
            Ok(Agenda { practice_id, items })
        })
        .await
}

/// Meetings are the people's of a care team and of its software: the operator of the command
/// line has no part in them.
fn person<'a>(caller: Caller<'a>) -> AppResult<&'a Actor> {
    match caller {
        Caller::Actor(actor) => Ok(actor),
        Caller::Operator => Err(Denied.into()),
    }
}

/// The practice `id` if the caller's scope covers it, or 404 as for one that does not exist
/// (audited as denied under `action`, and `recorded` so that the audit row stays).
fn practice_in_reach(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    action: &str,
    now: DateTime<Utc>,
) -> AppResult<PracticeRow> {
    within_reach(
        practice_store::find(conn, id)?,
        "practice",
        |p| scope.covers(&p.id),
        |_, denied| {
            Ok(audit::record(
                conn,
                actor,
                action,
                None,
                None,
                denied,
                naive(now),
            )?)
        },
    )
}
