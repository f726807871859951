//! Cases and what hangs off them: scores, contacts, timeline events.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl;
use diesel::prelude::*;

use super::schema::{case_events, cases, contacts, patients, scores};
use super::{DbConn, naive, utc};
use crate::domain::account::Role;
use crate::domain::case::{ContactMode, ContactOutcome, EventKind, Program};
use crate::domain::instruments::{Band, Instrument, Score, score};
use crate::domain::microstructure::ConsultationKind;
use crate::domain::pathway::{Cadences, CaseFacts, ExitReason, Phase, PhaseChange, derive};
use crate::domain::patient::ConsentStatus;
use crate::domain::policy::Scope;
use crate::error::{AppError, AppResult};

fn stored(what: &str) -> AppError {
    AppError::Internal(format!("stored {what} unknown"))
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct CaseRow {
    pub id: String,
    pub patient_id: String,
    pub practice_id: String,
    pub program: Program,
    pub indications: String,
    pub substances: String,
    pub referred_by: String,
    pub referring_gp_id: Option<String>,
    pub nurse_id: Option<String>,
    pub psychiatrist_id: Option<String>,
    pub phase: Phase,
    pub referred_at: NaiveDateTime,
    pub assessed_at: Option<NaiveDateTime>,
    pub phase_since: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub exit_reason: Option<ExitReason>,
    pub referral_note: Option<String>,
    pub care_plan: Option<String>,
    pub review_requested: bool,
    pub last_completed_contact_at: Option<NaiveDateTime>,
    /// Next contact (or assessment) due; derived, kept for filtering and ordering.
    pub due_on: Option<NaiveDate>,
    /// Item answers, comma-separated (`"1,0,2,…"`); totals are computed from them.
    pub baseline_phq9: Option<String>,
    pub baseline_gad7: Option<String>,
    pub latest_phq9: Option<String>,
    pub latest_gad7: Option<String>,
    /// Derived from baseline and latest, kept for filtering.
    pub responded: bool,
    /// Derived: item 9 of the latest PHQ-9 above 0.
    pub safety_alert: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The microstructure team following the case.
    pub psychologist_id: Option<String>,
    pub social_worker_id: Option<String>,
    /// The last completed psychological and social consultations (each discipline's due date).
    pub last_psychological_at: Option<NaiveDateTime>,
    pub last_social_at: Option<NaiveDateTime>,
    /// Days of use per product (`alcohol=12,tobacco=28`): at inclusion; each product's last
    /// figure measured at a consultation since.
    pub baseline_substance_use: Option<String>,
    pub latest_substance_use: Option<String>,
    /// EPICES answers (`1,0,…`), at inclusion and most recently.
    pub baseline_epices: Option<String>,
    pub latest_epices: Option<String>,
}

impl CaseRow {
    /// A case of `program` just referred: nothing assessed, measured or assigned yet (set the
    /// indications and holders on the result).
    pub fn referred(
        id: String,
        patient_id: String,
        practice_id: String,
        program: Program,
        referred_by: String,
        at: NaiveDateTime,
    ) -> Self {
        Self {
            id,
            patient_id,
            practice_id,
            program,
            indications: String::new(),
            substances: String::new(),
            referred_by,
            referring_gp_id: None,
            nurse_id: None,
            psychiatrist_id: None,
            phase: Phase::Referred,
            referred_at: at,
            assessed_at: None,
            phase_since: at,
            closed_at: None,
            exit_reason: None,
            referral_note: None,
            care_plan: None,
            review_requested: false,
            last_completed_contact_at: None,
            due_on: None,
            baseline_phq9: None,
            baseline_gad7: None,
            latest_phq9: None,
            latest_gad7: None,
            responded: false,
            safety_alert: false,
            version: 1,
            created_at: at,
            updated_at: at,
            psychologist_id: None,
            social_worker_id: None,
            last_psychological_at: None,
            last_social_at: None,
            baseline_substance_use: None,
            latest_substance_use: None,
            baseline_epices: None,
            latest_epices: None,
        }
    }
}

impl CaseRow {
    /// Writes a phase change on the case.
    pub fn apply(&mut self, change: &PhaseChange) {
        self.phase = change.to;
        self.phase_since = naive(change.since);
        if let Some(at) = change.closed_at {
            self.closed_at = Some(naive(at));
        }
        if let Some(reason) = change.exit_reason {
            self.exit_reason = Some(reason);
        }
    }

    /// The column keeping the baseline answers of `instrument` (PHQ-9, GAD-7; PHQ-2 has none).
    pub fn baseline_of(&mut self, instrument: Instrument) -> Option<&mut Option<String>> {
        match instrument {
            Instrument::Phq9 => Some(&mut self.baseline_phq9),
            Instrument::Gad7 => Some(&mut self.baseline_gad7),
            Instrument::Phq2 => None,
        }
    }

    /// The column keeping the latest answers of `instrument` (PHQ-9, GAD-7; PHQ-2 has none).
    pub fn latest_of(&mut self, instrument: Instrument) -> Option<&mut Option<String>> {
        match instrument {
            Instrument::Phq9 => Some(&mut self.latest_phq9),
            Instrument::Gad7 => Some(&mut self.latest_gad7),
            Instrument::Phq2 => None,
        }
    }
}

impl ScoreRow {
    /// A score as stored: its answers, total, band and LOINC code, and where it was measured.
    pub fn of(
        id: String,
        case_id: &str,
        event_id: &str,
        score: &Score,
        measured_at: NaiveDateTime,
        context: &str,
        recorded_by: &str,
    ) -> Self {
        Self {
            id,
            case_id: case_id.to_owned(),
            event_id: event_id.to_owned(),
            instrument: score.instrument,
            items: items_text(score),
            total: i32::from(score.total),
            band: score.band,
            loinc: score.instrument.loinc().to_owned(),
            measured_at,
            context: context.to_owned(),
            recorded_by: recorded_by.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = scores)]
pub struct ScoreRow {
    pub id: String,
    pub case_id: String,
    /// The timeline event the score was measured at.
    pub event_id: String,
    pub instrument: Instrument,
    pub items: String,
    pub total: i32,
    pub band: Band,
    pub loinc: String,
    pub measured_at: NaiveDateTime,
    /// `screening`, `assessment` or `contact`.
    pub context: String,
    pub recorded_by: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contacts)]
pub struct ContactRow {
    pub id: String,
    pub case_id: String,
    pub occurred_at: NaiveDateTime,
    pub mode: ContactMode,
    pub outcome: ContactOutcome,
    pub duration_minutes: Option<i32>,
    pub note: Option<String>,
    pub next_planned_at: Option<NaiveDateTime>,
    pub author_id: String,
    pub created_at: NaiveDateTime,
    /// A microstructure consultation's kind; none on a Sésame contact.
    pub kind: Option<ConsultationKind>,
    /// Days of use per product measured at the consultation (`alcohol=12`).
    pub substance_use: Option<String>,
    /// EPICES answers recorded at the consultation (`1,0,…`).
    pub epices: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_events)]
pub struct EventRow {
    pub id: String,
    pub case_id: String,
    pub occurred_at: NaiveDateTime,
    pub recorded_at: NaiveDateTime,
    /// `referral`, `assessment`, `contact`, `transition`, `reassignment`, `review`.
    pub kind: EventKind,
    pub actor_id: String,
    pub from_phase: Option<Phase>,
    pub to_phase: Option<Phase>,
    pub exit_reason: Option<ExitReason>,
    pub contact_id: Option<String>,
    /// A short machine-readable detail (`nurse_id=…`, `review_requested=true`).
    pub detail: Option<String>,
    pub note: Option<String>,
}

impl EventRow {
    /// A timeline entry of `kind` on a case, by `actor_id`, with nothing else said yet.
    pub fn new(
        id: String,
        case_id: &str,
        kind: crate::domain::case::EventKind,
        actor_id: &str,
        occurred_at: NaiveDateTime,
        recorded_at: NaiveDateTime,
    ) -> Self {
        Self {
            id,
            case_id: case_id.to_owned(),
            occurred_at,
            recorded_at,
            kind,
            actor_id: actor_id.to_owned(),
            from_phase: None,
            to_phase: None,
            exit_reason: None,
            contact_id: None,
            detail: None,
            note: None,
        }
    }

    /// The phases this entry moved the case between (`from` absent at the referral), and the
    /// exit reason when it closed.
    pub fn phases(&mut self, from: Option<Phase>, to: Phase, exit_reason: Option<ExitReason>) {
        self.from_phase = from;
        self.to_phase = Some(to);
        self.exit_reason = exit_reason;
    }

    /// This entry records `change`.
    pub fn moved(&mut self, change: &PhaseChange) {
        self.phases(Some(change.from), change.to, change.exit_reason);
    }
}

/// Scores stored answers (`"1,0,2"`).
pub fn stored_score(instrument: Instrument, items: &str) -> AppResult<Score> {
    let answers: Vec<i64> = items
        .split(',')
        .map(|a| a.parse().map_err(|_| stored("answers")))
        .collect::<AppResult<_>>()?;
    score(instrument, &answers).map_err(|_| stored("answers"))
}

pub fn optional_score(instrument: Instrument, items: Option<&str>) -> AppResult<Option<Score>> {
    items.map(|i| stored_score(instrument, i)).transpose()
}

pub fn items_text(score: &Score) -> String {
    score
        .items
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The facts of a stored case, for the domain's `derive`.
pub fn facts(row: &CaseRow) -> AppResult<CaseFacts> {
    let total = |s: Option<Score>| s.map(|s| s.total);
    let latest_phq9 = optional_score(Instrument::Phq9, row.latest_phq9.as_deref())?;
    Ok(CaseFacts {
        program: row.program,
        phase: row.phase,
        referred_at: utc(row.referred_at),
        assessed_at: row.assessed_at.map(utc),
        phase_since: utc(row.phase_since),
        last_completed_contact_at: row.last_completed_contact_at.map(utc),
        baseline_phq9: total(optional_score(
            Instrument::Phq9,
            row.baseline_phq9.as_deref(),
        )?),
        latest_phq9_item9_positive: latest_phq9.as_ref().is_some_and(Score::item9_positive),
        latest_phq9: total(latest_phq9),
        baseline_gad7: total(optional_score(
            Instrument::Gad7,
            row.baseline_gad7.as_deref(),
        )?),
        latest_gad7: total(optional_score(
            Instrument::Gad7,
            row.latest_gad7.as_deref(),
        )?),
        review_requested: row.review_requested,
    })
}

/// Recomputes the derived columns kept on the row (they do not depend on the time of reading).
pub fn refresh_derived(row: &mut CaseRow, cadences: &Cadences) -> AppResult<()> {
    let facts = facts(row)?;
    let derived = derive(&facts, cadences, facts.referred_at);
    row.due_on = derived.next_contact_due;
    row.responded = derived.responded;
    row.safety_alert = facts.latest_phq9_item9_positive;
    Ok(())
}

/// What `GET /cases` filters on.
#[derive(Debug, Default, Clone)]
pub struct CaseFilter {
    pub phase: Option<Phase>,
    pub nurse_id: Option<String>,
    pub practice_id: Option<String>,
    pub patient_id: Option<String>,
    /// Cases whose due date is before this day.
    pub due_before: Option<NaiveDate>,
    /// Only cases with a safety alert.
    pub safety_alert: bool,
    /// Only cases not improving: active, assessed at or before this instant, without response.
    pub not_improving_assessed_by: Option<NaiveDateTime>,
    /// Only cases that need review: a safety alert, review requested, or not improving (as above).
    pub needs_review_assessed_by: Option<NaiveDateTime>,
    /// Only open cases referred before this instant.
    pub referred_before: Option<NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn insert(conn: &mut DbConn, row: &CaseRow) -> QueryResult<()> {
    diesel::insert_into(cases::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<CaseRow>> {
    cases::table
        .find(id)
        .select(CaseRow::as_select())
        .first(conn)
        .optional()
}

/// The patient's open case, if any.
pub fn open_case_of(conn: &mut DbConn, patient_id: &str) -> QueryResult<Option<String>> {
    cases::table
        .filter(cases::patient_id.eq(patient_id))
        .filter(cases::phase.ne(Phase::Closed))
        .select(cases::id)
        .first(conn)
        .optional()
}

/// Writes the whole row back if nobody changed it since `expected_version`; `false` otherwise.
/// The row's own `version` is the new one.
pub fn save(conn: &mut DbConn, row: &CaseRow, expected_version: i32) -> QueryResult<bool> {
    let changed = diesel::update(
        cases::table
            .filter(cases::id.eq(&row.id))
            .filter(cases::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    Ok(changed == 1)
}

pub(crate) type NotImproving = dsl::And<
    dsl::And<
        dsl::And<dsl::Eq<cases::phase, Phase>, dsl::LtEq<cases::assessed_at, NaiveDateTime>>,
        dsl::Eq<cases::responded, bool>,
    >,
    dsl::Or<dsl::IsNotNull<cases::baseline_phq9>, dsl::IsNotNull<cases::baseline_gad7>>,
>;

/// `domain::pathway::derive`'s "not improving", asked of the stored columns: active, assessed at
/// or before the cutoff (`Cutoffs::not_improving_assessed_by`), no response (`responded` is
/// derived on every write), with a baseline to improve on.
pub(crate) fn not_improving(assessed_by: NaiveDateTime) -> NotImproving {
    cases::phase
        .eq(Phase::Active)
        .and(cases::assessed_at.le(assessed_by))
        .and(cases::responded.eq(false))
        .and(
            cases::baseline_phq9
                .is_not_null()
                .or(cases::baseline_gad7.is_not_null()),
        )
}

pub fn list(conn: &mut DbConn, scope: &Scope, filter: &CaseFilter) -> QueryResult<Vec<CaseRow>> {
    let closed = Phase::Closed;
    let mut query = cases::table
        .select(CaseRow::as_select())
        .order(cases::id)
        .limit(filter.limit)
        .into_boxed();
    if let Scope::Practices(ids) = scope {
        query = query.filter(cases::practice_id.eq_any(ids.clone()));
    }
    if let Some(phase) = filter.phase {
        query = query.filter(cases::phase.eq(phase));
    }
    if let Some(v) = &filter.nurse_id {
        query = query.filter(cases::nurse_id.eq(v.clone()));
    }
    if let Some(v) = &filter.practice_id {
        query = query.filter(cases::practice_id.eq(v.clone()));
    }
    if let Some(v) = &filter.patient_id {
        query = query.filter(cases::patient_id.eq(v.clone()));
    }
    if let Some(day) = filter.due_before {
        query = query
            .filter(cases::phase.ne(closed))
            .filter(cases::due_on.lt(day));
    }
    if filter.safety_alert {
        query = query
            .filter(cases::phase.ne(closed))
            .filter(cases::safety_alert.eq(true));
    }
    if let Some(by) = filter.not_improving_assessed_by {
        query = query.filter(not_improving(by));
    }
    if let Some(by) = filter.needs_review_assessed_by {
        query = query.filter(cases::phase.ne(closed)).filter(
            cases::safety_alert
                .eq(true)
                .or(cases::review_requested.eq(true))
                .or(not_improving(by)),
        );
    }
    if let Some(before) = filter.referred_before {
        query = query
            .filter(cases::phase.ne(closed))
            .filter(cases::referred_at.lt(before));
    }
    if let Some(after) = &filter.after {
        query = query.filter(cases::id.gt(after.clone()));
    }
    query.load(conn)
}

/// A case with the names the worklist shows.
pub type CaseWithPatient = (CaseRow, (String, String));

/// A nurse's caseload: the open cases assigned to them, and the referrals of their practices
/// still waiting for assessment (served by `cases_by_nurse` and `cases_by_practice`).
pub fn caseload_of_nurse(
    conn: &mut DbConn,
    nurse_id: &str,
    practice_ids: &[String],
) -> QueryResult<Vec<CaseWithPatient>> {
    let waiting = Phase::Referred;
    let mut rows: Vec<CaseWithPatient> = cases::table
        .inner_join(patients::table)
        .filter(cases::nurse_id.eq(nurse_id))
        .filter(cases::phase.ne(Phase::Closed))
        .select((
            CaseRow::as_select(),
            (patients::family_name, patients::given_names),
        ))
        .load(conn)?;
    let referrals: Vec<CaseWithPatient> = cases::table
        .inner_join(patients::table)
        .filter(cases::practice_id.eq_any(practice_ids))
        .filter(cases::phase.eq(waiting))
        .filter(cases::nurse_id.is_null().or(cases::nurse_id.ne(nurse_id)))
        .select((
            CaseRow::as_select(),
            (patients::family_name, patients::given_names),
        ))
        .load(conn)?;
    rows.extend(referrals);
    Ok(rows)
}

/// A psychiatrist's worklist: the open cases they are the referring psychiatrist of, and the open
/// cases of their practices flagged for review (safety alert, review requested, not improving).
pub fn caseload_of_psychiatrist(
    conn: &mut DbConn,
    psychiatrist_id: &str,
    practice_ids: &[String],
    not_improving_assessed_by: NaiveDateTime,
) -> QueryResult<Vec<CaseWithPatient>> {
    let closed = Phase::Closed;
    cases::table
        .inner_join(patients::table)
        .filter(cases::practice_id.eq_any(practice_ids))
        .filter(cases::phase.ne(closed))
        .filter(
            cases::psychiatrist_id
                .eq(psychiatrist_id)
                .or(cases::safety_alert.eq(true))
                .or(cases::review_requested.eq(true))
                .or(not_improving(not_improving_assessed_by)),
        )
        .select((
            CaseRow::as_select(),
            (patients::family_name, patients::given_names),
        ))
        .load(conn)
}

/// A psychologist's or social worker's worklist: the open cases they follow (`psychologist_id`,
/// `social_worker_id`); `None` for another role.
pub fn caseload_of_follower(
    conn: &mut DbConn,
    user_id: &str,
    role: Role,
) -> QueryResult<Vec<CaseWithPatient>> {
    let open = cases::phase.ne(Phase::Closed);
    let query = cases::table
        .inner_join(patients::table)
        .filter(open)
        .select((
            CaseRow::as_select(),
            (patients::family_name, patients::given_names),
        ))
        .into_boxed();
    let query = match role {
        Role::Psychologist => query.filter(cases::psychologist_id.eq(user_id)),
        Role::SocialWorker => query.filter(cases::social_worker_id.eq(user_id)),
        _ => return Ok(Vec::new()),
    };
    query.load(conn)
}

/// A GP's worklist: the open cases they referred.
pub fn caseload_of_gp(conn: &mut DbConn, gp_id: &str) -> QueryResult<Vec<CaseWithPatient>> {
    cases::table
        .inner_join(patients::table)
        .filter(cases::referring_gp_id.eq(gp_id))
        .filter(cases::phase.ne(Phase::Closed))
        .select((
            CaseRow::as_select(),
            (patients::family_name, patients::given_names),
        ))
        .load(conn)
}

pub fn insert_score(conn: &mut DbConn, row: &ScoreRow) -> QueryResult<()> {
    diesel::insert_into(scores::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The most recent score of one instrument on a case (ties: the last recorded).
pub fn latest_score(
    conn: &mut DbConn,
    case_id: &str,
    instrument: Instrument,
) -> QueryResult<Option<ScoreRow>> {
    scores::table
        .filter(scores::case_id.eq(case_id))
        .filter(scores::instrument.eq(instrument))
        .order((scores::measured_at.desc(), scores::id.desc()))
        .select(ScoreRow::as_select())
        .first(conn)
        .optional()
}

pub fn scores_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<ScoreRow>> {
    scores::table
        .filter(scores::case_id.eq(case_id))
        .order((scores::measured_at, scores::id))
        .select(ScoreRow::as_select())
        .load(conn)
}

pub fn insert_contact(conn: &mut DbConn, row: &ContactRow) -> QueryResult<()> {
    diesel::insert_into(contacts::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// A case's contacts, most recent first; `before` is a cursor (a contact id).
pub fn contacts_of(
    conn: &mut DbConn,
    case_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ContactRow>> {
    let mut query = contacts::table
        .filter(contacts::case_id.eq(case_id))
        .order((contacts::occurred_at.desc(), contacts::id.desc()))
        .select(ContactRow::as_select())
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            contacts::occurred_at
                .lt(at)
                .or(contacts::occurred_at.eq(at).and(contacts::id.lt(id))),
        );
    }
    query.load(conn)
}

pub fn find_contact(conn: &mut DbConn, case_id: &str, id: &str) -> QueryResult<Option<ContactRow>> {
    contacts::table
        .filter(contacts::case_id.eq(case_id))
        .filter(contacts::id.eq(id))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()
}

pub fn all_contacts_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<ContactRow>> {
    contacts::table
        .filter(contacts::case_id.eq(case_id))
        .select(ContactRow::as_select())
        .load(conn)
}

pub fn insert_event(conn: &mut DbConn, row: &EventRow) -> QueryResult<()> {
    diesel::insert_into(case_events::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The timeline, in time order (ties in the order recorded).
pub fn events_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<EventRow>> {
    case_events::table
        .filter(case_events::case_id.eq(case_id))
        .order((case_events::occurred_at, case_events::id))
        .select(EventRow::as_select())
        .load(conn)
}

/// What the daily digests count of an open case.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct OpenCaseDue {
    pub practice_id: String,
    pub nurse_id: Option<String>,
    pub phase: Phase,
    pub due_on: Option<NaiveDate>,
}

/// The open Sésame cases, for the nurses' digests (a microstructure case has no nurse: its
/// referral waits for the microstructure team, not for the practice's nurses).
pub fn open_case_dues(conn: &mut DbConn) -> QueryResult<Vec<OpenCaseDue>> {
    cases::table
        .filter(cases::phase.ne(Phase::Closed))
        .filter(cases::program.eq(Program::Sesame))
        .select((
            cases::practice_id,
            cases::nurse_id,
            cases::phase,
            cases::due_on,
        ))
        .load(conn)
}

/// A contact planned in `[from, to)` on an open case, with the patient's email when they gave one
/// and did not object to the care team's messages: (case id, planned at, email).
pub fn planned_contacts_to_remind(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime, String)>> {
    let rows: Vec<(String, Option<NaiveDateTime>, Option<String>)> = contacts::table
        .inner_join(cases::table.inner_join(patients::table))
        .filter(contacts::next_planned_at.ge(from))
        .filter(contacts::next_planned_at.lt(to))
        .filter(cases::phase.ne(Phase::Closed))
        .filter(patients::email.is_not_null())
        .filter(patients::consent_status.eq(ConsentStatus::Informed))
        .select((cases::id, contacts::next_planned_at, patients::email))
        .order((cases::id, contacts::next_planned_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(case, at, email)| Some((case, at?, email?)))
        .collect())
}
