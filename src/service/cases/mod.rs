//! Cases: the GP's referral, the nurse's assessment and contacts, phase moves, reassignment and
//! the review flag (`write`); one case, lists, contacts, the timeline and the worklist (`read`).
//! Every read and write of a case is audited; every write is one transaction (a read audits what
//! it showed in a transaction of its own, after reading).

mod read;
mod write;

pub use read::{
    CasePage, CaseQuery, ContactPage, Timeline, TimelineEntry, Worklist, WorklistItem, contacts,
    get, list, timeline, worklist,
};
pub use write::{
    Assessment, CaseUpdate, ContactRecorded, NewCase, NewContact, Transition, assess, log_contact,
    refer, transition, update,
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Caller, within_reach};
use crate::config::Settings;
use crate::db::audit::{self, Outcome};
use crate::db::cases::{
    self as store, CaseRow, ContactRow, EventRow, ScoreRow, facts, optional_score, stored_score,
};
use crate::db::stored_id;
use crate::db::{DbConn, naive, utc};
use crate::domain::case::{
    ContactMode, ContactOutcome, EventKind, Indication, Program, RuleError, Substance, split_set,
    weeks_in_treatment,
};
use crate::domain::epices;
use crate::domain::instruments::{Band, Instrument, Score, score};
use crate::domain::microstructure::{
    ConsultationKind, SubstanceUse, consultation_due, consumption_improved, merge_use,
    split_epices, split_use,
};
use crate::domain::pathway::{Cadences, ExitReason, Flag, Phase, Refused, derive};
use crate::domain::policy::{Action, Actor, Denied, Scope};
use crate::error::{AppError, AppResult, FieldError};

impl From<RuleError> for AppError {
    fn from(e: RuleError) -> Self {
        AppError::invalid(e.field, e.message)
    }
}

impl From<Refused> for AppError {
    fn from(refused: Refused) -> Self {
        AppError::Conflict {
            detail: refused.detail,
            allowed: refused
                .allowed
                .map(|phases| phases.iter().map(|p| p.as_str().to_owned()).collect()),
        }
    }
}

/// The person or practice software acting on cases, and the practices `action` lets them reach.
/// Cases are the care team's: the operator of the command line, like an admin, may not.
pub(crate) fn clinician<'a>(caller: Caller<'a>, action: Action) -> AppResult<(&'a Actor, Scope)> {
    let scope = caller.may(action)?;
    match caller {
        Caller::Actor(actor) => Ok((actor, scope)),
        Caller::Operator => Err(Denied.into()),
    }
}

/// A questionnaire as scored by the server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScoreView {
    /// The score's id, to attach it to a tele-expertise request (absent in a case's
    /// baseline/latest summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    pub instrument: Instrument,
    /// The answers, each 0–3, in the questionnaire's order.
    pub items: Vec<u8>,
    pub total: u8,
    pub band: Band,
    /// LOINC code of the total.
    pub loinc: String,
    /// PHQ-9 only: item 9 (thoughts of self-harm) answered above 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item9_positive: Option<bool>,
    /// When it was measured (absent in a case's baseline/latest summary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<DateTime<Utc>>,
}

impl ScoreView {
    fn of(score: &Score, measured_at: Option<DateTime<Utc>>) -> Self {
        Self {
            id: None,
            instrument: score.instrument,
            items: score.items.clone(),
            total: score.total,
            band: score.band,
            loinc: score.instrument.loinc().to_owned(),
            item9_positive: (score.instrument == Instrument::Phq9).then(|| score.item9_positive()),
            measured_at,
        }
    }

    fn stored(id: &str, score: &Score, measured_at: DateTime<Utc>) -> AppResult<Self> {
        Ok(Self {
            id: Some(stored_id(id)?),
            ..Self::of(score, Some(measured_at))
        })
    }

    fn from_row(row: &ScoreRow) -> AppResult<Self> {
        Self::stored(
            &row.id,
            &stored_score(row.instrument, &row.items)?,
            utc(row.measured_at),
        )
    }
}

/// PHQ-9 and GAD-7 at one point of the episode.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScorePair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phq9: Option<ScoreView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gad7: Option<ScoreView>,
}

impl ScorePair {
    fn stored(phq9: Option<&str>, gad7: Option<&str>) -> AppResult<Self> {
        let view = |instrument, items| -> AppResult<Option<ScoreView>> {
            Ok(optional_score(instrument, items)?.map(|s| ScoreView::of(&s, None)))
        };
        Ok(Self {
            phq9: view(Instrument::Phq9, phq9)?,
            gad7: view(Instrument::Gad7, gad7)?,
        })
    }
}

/// One episode of care, with the state derived from its facts at the time of the response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Case {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub practice_id: Uuid,
    pub program: Program,
    pub indications: Vec<Indication>,
    /// With the `addiction` indication: the substances involved.
    pub substances: Vec<Substance>,
    pub phase: Phase,
    /// The account (GP or practice software) that made the referral.
    pub referred_by: Uuid,
    pub referring_gp_id: Option<Uuid>,
    pub nurse_id: Option<Uuid>,
    pub psychiatrist_id: Option<Uuid>,
    pub referred_at: DateTime<Utc>,
    pub assessed_at: Option<DateTime<Utc>>,
    /// When the case entered its current phase.
    pub phase_since: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub exit_reason: Option<ExitReason>,
    pub referral_note: Option<String>,
    pub care_plan: Option<String>,
    /// A psychiatric review asked for by the nurse or the psychiatrist.
    pub review_requested: bool,
    pub last_completed_contact_at: Option<DateTime<Utc>>,
    /// The assessment's due date while referred; then the next completed contact's.
    pub next_contact_due: Option<NaiveDate>,
    /// Days past `next_contact_due` (0 when not overdue).
    pub overdue_days: i64,
    /// Whole weeks since the initial assessment.
    pub weeks_in_treatment: i64,
    /// PHQ-9 or GAD-7 down by half from baseline.
    pub responded: bool,
    /// Latest PHQ-9 (and GAD-7, if measured) below 5.
    pub remitted: bool,
    pub flags: Vec<Flag>,
    /// Scores at the initial assessment.
    pub baseline: ScorePair,
    /// The most recent scores (the screening's until the assessment).
    pub latest: ScorePair,
    /// Microstructure: the psychologist who follows the case.
    pub psychologist_id: Option<Uuid>,
    /// Microstructure: the social worker who follows the case.
    pub social_worker_id: Option<Uuid>,
    /// Microstructure: each discipline's consultations (null on Sésame).
    pub consultations: Option<Consultations>,
    /// Microstructure: the days of use of the case's products over the last 28 days, at inclusion
    /// and most recently (null on Sésame).
    pub substance_use: Option<SubstanceUseSummary>,
    /// Microstructure: EPICES at inclusion and most recently (null on Sésame).
    pub epices: Option<EpicesPair>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A microstructure case's psychological and social consultations, each with its own due date.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Consultations {
    pub psychological: DisciplineDue,
    pub social: DisciplineDue,
}

/// One discipline's consultations on a case: weekly while active (`SESAME_CONSULTATION_DAYS`),
/// monthly in relapse prevention, from the inclusion; none due without a professional of the
/// discipline following the case.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DisciplineDue {
    /// The last completed consultation.
    pub last_at: Option<DateTime<Utc>>,
    pub next_due: Option<NaiveDate>,
    /// Days past `next_due` (0 when not overdue).
    pub overdue_days: i64,
}

impl DisciplineDue {
    fn of(
        row: &CaseRow,
        last: Option<NaiveDateTime>,
        followed: bool,
        cadences: &Cadences,
        now: DateTime<Utc>,
    ) -> Self {
        let next_due = consultation_due(
            row.phase,
            row.assessed_at.map(utc),
            last.map(utc),
            followed,
            cadences,
        );
        let today = cadences.cutoffs(now).overdue_due_before;
        Self {
            last_at: last.map(utc),
            next_due,
            overdue_days: next_due.map_or(0, |d| (today - d).num_days().max(0)),
        }
    }
}

/// Days of use at inclusion and most recently (each product's last figure, the inclusion's
/// until a consultation measures it), and whether they went down.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubstanceUseSummary {
    pub baseline: Vec<SubstanceUse>,
    pub latest: Vec<SubstanceUse>,
    /// The days of use of the products measured at inclusion and since went down in total
    /// ("better management of consumption"); null with nothing to compare.
    pub improved: Option<bool>,
}

/// EPICES answers as scored by the server.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EpicesView {
    /// The 11 answers (true for yes), in the questionnaire's order.
    pub answers: Vec<bool>,
    /// 0 to 100, two decimals.
    pub score: f64,
    /// The score is 30.17 or more.
    pub precarious: bool,
}

impl EpicesView {
    fn stored(raw: &str) -> AppResult<Self> {
        let answers = split_epices(raw).ok_or_else(|| stored("EPICES answers"))?;
        Ok(Self::of(&answers))
    }

    fn of(answers: &epices::Answers) -> Self {
        let scored = epices::score(answers);
        Self {
            answers: answers.yes().to_vec(),
            score: scored.score,
            precarious: scored.precarious,
        }
    }
}

/// EPICES at inclusion and most recently.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EpicesPair {
    pub baseline: Option<EpicesView>,
    pub latest: Option<EpicesView>,
}

fn stored_use(raw: Option<&str>) -> AppResult<Vec<SubstanceUse>> {
    raw.map_or(Ok(Vec::new()), |raw| {
        split_use(raw).ok_or_else(|| stored("substance use"))
    })
}

fn stored_epices(raw: Option<&str>) -> AppResult<Option<EpicesView>> {
    raw.map(EpicesView::stored).transpose()
}

/// The microstructure parts of a case's answer (all null on Sésame).
type MicrostructureParts = (
    Option<Consultations>,
    Option<SubstanceUseSummary>,
    Option<EpicesPair>,
);

fn microstructure_parts(
    row: &CaseRow,
    cadences: &Cadences,
    now: DateTime<Utc>,
) -> AppResult<MicrostructureParts> {
    if !row.program.is_microstructure() {
        return Ok((None, None, None));
    }
    let consultations = Consultations {
        psychological: DisciplineDue::of(
            row,
            row.last_psychological_at,
            row.psychologist_id.is_some(),
            cadences,
            now,
        ),
        social: DisciplineDue::of(
            row,
            row.last_social_at,
            row.social_worker_id.is_some(),
            cadences,
            now,
        ),
    };
    let baseline = stored_use(row.baseline_substance_use.as_deref())?;
    let since = stored_use(row.latest_substance_use.as_deref())?;
    let substance_use = SubstanceUseSummary {
        improved: consumption_improved(&baseline, &since),
        latest: merge_use(&baseline, &since),
        baseline,
    };
    let epices = EpicesPair {
        baseline: stored_epices(row.baseline_epices.as_deref())?,
        latest: stored_epices(row.latest_epices.as_deref())?,
    };
    Ok((Some(consultations), Some(substance_use), Some(epices)))
}

fn stored(what: &str) -> AppError {
    AppError::Internal(format!("stored {what} unknown"))
}

fn parse_optional_id(id: Option<&str>) -> AppResult<Option<Uuid>> {
    id.map(stored_id).transpose()
}

impl Case {
    pub fn from_row(row: CaseRow, cadences: &Cadences, now: DateTime<Utc>) -> AppResult<Self> {
        let facts = facts(&row)?;
        let derived = derive(&facts, cadences, now);
        let (consultations, substance_use, epices) = microstructure_parts(&row, cadences, now)?;
        Ok(Self {
            id: stored_id(&row.id)?,
            patient_id: stored_id(&row.patient_id)?,
            practice_id: stored_id(&row.practice_id)?,
            program: row.program,
            indications: split_set(&row.indications, Indication::parse)
                .ok_or_else(|| stored("indications"))?,
            substances: split_set(&row.substances, Substance::parse)
                .ok_or_else(|| stored("substances"))?,
            phase: facts.phase,
            referred_by: stored_id(&row.referred_by)?,
            referring_gp_id: parse_optional_id(row.referring_gp_id.as_deref())?,
            nurse_id: parse_optional_id(row.nurse_id.as_deref())?,
            psychiatrist_id: parse_optional_id(row.psychiatrist_id.as_deref())?,
            referred_at: facts.referred_at,
            assessed_at: facts.assessed_at,
            phase_since: facts.phase_since,
            closed_at: row.closed_at.map(utc),
            exit_reason: row.exit_reason,
            referral_note: row.referral_note,
            care_plan: row.care_plan,
            review_requested: row.review_requested,
            last_completed_contact_at: facts.last_completed_contact_at,
            next_contact_due: derived.next_contact_due,
            overdue_days: derived.overdue_days,
            weeks_in_treatment: weeks_in_treatment(facts.assessed_at, now),
            responded: derived.responded,
            remitted: derived.remitted,
            flags: derived.flags,
            baseline: ScorePair::stored(
                row.baseline_phq9.as_deref(),
                row.baseline_gad7.as_deref(),
            )?,
            latest: ScorePair::stored(row.latest_phq9.as_deref(), row.latest_gad7.as_deref())?,
            psychologist_id: parse_optional_id(row.psychologist_id.as_deref())?,
            social_worker_id: parse_optional_id(row.social_worker_id.as_deref())?,
            consultations,
            substance_use,
            epices,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// A nurse's contact with the patient, or a microstructure consultation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub case_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub mode: ContactMode,
    pub outcome: ContactOutcome,
    pub duration_minutes: Option<i32>,
    pub note: Option<String>,
    pub next_planned_at: Option<DateTime<Utc>>,
    pub author_id: Uuid,
    /// Questionnaires answered at this contact.
    pub scores: Vec<ScoreView>,
    /// A microstructure consultation's kind (null on a Sésame contact).
    pub kind: Option<ConsultationKind>,
    /// Days of use measured at this consultation.
    pub substance_use: Vec<SubstanceUse>,
    /// EPICES answered at this consultation.
    pub epices: Option<EpicesView>,
    pub created_at: DateTime<Utc>,
}

impl Contact {
    pub fn from_row(row: ContactRow, scores: Vec<ScoreView>) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            case_id: stored_id(&row.case_id)?,
            occurred_at: utc(row.occurred_at),
            mode: row.mode,
            outcome: row.outcome,
            duration_minutes: row.duration_minutes,
            note: row.note,
            next_planned_at: row.next_planned_at.map(utc),
            author_id: stored_id(&row.author_id)?,
            scores,
            kind: row.kind,
            substance_use: stored_use(row.substance_use.as_deref())?,
            epices: stored_epices(row.epices.as_deref())?,
            created_at: utc(row.created_at),
        })
    }
}

/// Questionnaire answers as sent by a client: PHQ-2 (2 items), PHQ-9 (9), GAD-7 (7), each 0–3.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[schema(min_items = 2, max_items = 2, value_type = Option<Vec<u8>>)]
    pub phq2: Option<Vec<i64>>,
    #[schema(min_items = 9, max_items = 9, value_type = Option<Vec<u8>>)]
    pub phq9: Option<Vec<i64>>,
    #[schema(min_items = 7, max_items = 7, value_type = Option<Vec<u8>>)]
    pub gad7: Option<Vec<i64>>,
}

/// Scores every questionnaire given, reporting each bad item as `prefix.instrument[index]`.
pub fn score_answers(
    prefix: &str,
    given: &[(Instrument, Option<&Vec<i64>>)],
) -> AppResult<Vec<Score>> {
    let mut scores = Vec::new();
    let mut errors = Vec::new();
    for (instrument, answers) in given {
        let Some(answers) = answers else { continue };
        let field = if prefix.is_empty() {
            instrument.as_str().to_owned()
        } else {
            format!("{prefix}.{}", instrument.as_str())
        };
        match score(*instrument, answers) {
            Ok(s) => scores.push(s),
            Err(problems) => errors.extend(problems.into_iter().map(|p| {
                let field = match p.item {
                    Some(i) => format!("{field}[{i}]"),
                    None => field.clone(),
                };
                FieldError::new(field, p.message)
            })),
        }
    }
    if errors.is_empty() {
        Ok(scores)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Scores measured at one event, with where and by whom.
struct Measured<'a> {
    event_id: &'a str,
    at: NaiveDateTime,
    /// `screening`, `assessment` or `contact`.
    context: &'a str,
    by: &'a Actor,
}

/// Writes the scores measured at one event (returning them as shown, with their ids), brings
/// the case's latest scores up to date, and writes the safety-alert notices of a PHQ-9 with item
/// 9 above 0.
fn record_scores(
    conn: &mut DbConn,
    settings: &Settings,
    case: &mut CaseRow,
    scores: &[Score],
    measured: &Measured<'_>,
    now: DateTime<Utc>,
) -> AppResult<Vec<ScoreView>> {
    let mut views = Vec::with_capacity(scores.len());
    for s in scores {
        let score_id = Uuid::now_v7().to_string();
        store::insert_score(
            conn,
            &ScoreRow::of(
                score_id.clone(),
                &case.id,
                measured.event_id,
                s,
                measured.at,
                measured.context,
                &measured.by.id,
            ),
        )?;
        // PHQ-9 item 9 above 0: the GP and the nurse are told at once, in this transaction.
        if s.item9_positive() {
            crate::outbox::notices::safety_alert(conn, settings, case, &score_id, now)?;
        }
        views.push(ScoreView::stored(&score_id, s, utc(measured.at))?);
    }
    for instrument in [Instrument::Phq9, Instrument::Gad7] {
        if scores.iter().any(|s| s.instrument == instrument) {
            let latest = store::latest_score(conn, &case.id, instrument)?;
            if let Some(column) = case.latest_of(instrument) {
                *column = latest.map(|row| row.items);
            }
        }
    }
    Ok(views)
}

/// A timeline entry of `kind` on a case, by `actor`, recorded now.
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

/// A case in the caller's scope, or 404 (an attempt outside it is audited as denied; the denial
/// is `recorded`, so that the transaction commits its audit row).
pub fn case_in_scope(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    action: &str,
    now: NaiveDateTime,
) -> AppResult<CaseRow> {
    within_reach(
        store::find(conn, id)?,
        "case",
        |row| scope.covers(&row.practice_id),
        |row, denied| audit_case(conn, actor, action, row, denied, now),
    )
}

/// A closed case is read-only (409); its exit survey (`service::surveys`) does not ask this.
pub fn ensure_open(row: &CaseRow) -> AppResult<()> {
    Ok(crate::domain::pathway::ensure_open(row.phase)?)
}

/// Writes the audit row of a read or write of one case (or of its refusal).
pub(crate) fn audit_case(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    row: &CaseRow,
    outcome: Outcome,
    now: NaiveDateTime,
) -> AppResult<()> {
    let (patient, case) = (Some(row.patient_id.as_str()), Some(row.id.as_str()));
    Ok(audit::record(
        conn, actor, action, patient, case, outcome, now,
    )?)
}
