//! Cases: the GP's referral, the nurse's assessment and contacts, phase moves, the timeline and
//! the worklist. Every read and write of a case is audited; every write is one transaction.

pub mod read;
pub mod write;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::parse_id;
use crate::config::Settings;
use crate::db::audit::{self, Outcome};
use crate::db::cases::{
    self as store, CaseRow, ContactRow, ScoreRow, facts, optional_score, stored_score,
};
pub use crate::db::cases::{items_text, refresh_derived};
use crate::db::{DbConn, utc};
use crate::domain::case::{
    ContactMode, ContactOutcome, Indication, Program, Substance, split_set, weeks_in_treatment,
};
use crate::domain::instruments::{Band, Instrument, Score, score};
use crate::domain::pathway::{Cadences, ExitReason, Flag, Phase, derive};
use crate::domain::policy::{Actor, Scope};
use crate::error::{AppError, AppResult, FieldError};

/// A questionnaire as scored by the server.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

    fn from_row(row: &ScoreRow) -> AppResult<Self> {
        let instrument = Instrument::parse(&row.instrument)
            .ok_or_else(|| AppError::Internal("stored instrument unknown".to_owned()))?;
        let score = stored_score(instrument, &row.items)?;
        Ok(Self {
            id: Some(parse_id(&row.id)?),
            ..Self::of(&score, Some(utc(row.measured_at)))
        })
    }
}

/// PHQ-9 and GAD-7 at one point of the episode.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScorePair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phq9: Option<ScoreView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gad7: Option<ScoreView>,
}

/// One episode of care, with the state derived from its facts at the time of the response.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn stored(what: &str) -> AppError {
    AppError::Internal(format!("stored {what} unknown"))
}

fn parse_optional_id(id: Option<&str>) -> AppResult<Option<Uuid>> {
    id.map(parse_id).transpose()
}

impl Case {
    pub fn from_row(row: CaseRow, cadences: &Cadences, now: DateTime<Utc>) -> AppResult<Self> {
        let facts = facts(&row)?;
        let derived = derive(&facts, cadences, now);
        let pair = |phq9: Option<&str>, gad7: Option<&str>| -> AppResult<ScorePair> {
            Ok(ScorePair {
                phq9: optional_score(Instrument::Phq9, phq9)?.map(|s| ScoreView::of(&s, None)),
                gad7: optional_score(Instrument::Gad7, gad7)?.map(|s| ScoreView::of(&s, None)),
            })
        };
        Ok(Self {
            id: parse_id(&row.id)?,
            patient_id: parse_id(&row.patient_id)?,
            practice_id: parse_id(&row.practice_id)?,
            program: Program::parse(&row.program).ok_or_else(|| stored("program"))?,
            indications: split_set(&row.indications, Indication::parse)
                .ok_or_else(|| stored("indications"))?,
            substances: split_set(&row.substances, Substance::parse)
                .ok_or_else(|| stored("substances"))?,
            phase: facts.phase,
            referred_by: parse_id(&row.referred_by)?,
            referring_gp_id: parse_optional_id(row.referring_gp_id.as_deref())?,
            nurse_id: parse_optional_id(row.nurse_id.as_deref())?,
            psychiatrist_id: parse_optional_id(row.psychiatrist_id.as_deref())?,
            referred_at: facts.referred_at,
            assessed_at: facts.assessed_at,
            phase_since: facts.phase_since,
            closed_at: row.closed_at.map(utc),
            exit_reason: row
                .exit_reason
                .as_deref()
                .map(|r| ExitReason::parse(r).ok_or_else(|| stored("exit reason")))
                .transpose()?,
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
            baseline: pair(row.baseline_phq9.as_deref(), row.baseline_gad7.as_deref())?,
            latest: pair(row.latest_phq9.as_deref(), row.latest_gad7.as_deref())?,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// A nurse's contact with the patient.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
    pub created_at: DateTime<Utc>,
}

impl Contact {
    pub fn from_row(row: ContactRow, scores: Vec<ScoreView>) -> AppResult<Self> {
        Ok(Self {
            id: parse_id(&row.id)?,
            case_id: parse_id(&row.case_id)?,
            occurred_at: utc(row.occurred_at),
            mode: ContactMode::parse(&row.mode).ok_or_else(|| stored("mode"))?,
            outcome: ContactOutcome::parse(&row.outcome).ok_or_else(|| stored("outcome"))?,
            duration_minutes: row.duration_minutes,
            note: row.note,
            next_planned_at: row.next_planned_at.map(utc),
            author_id: parse_id(&row.author_id)?,
            scores,
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

/// Writes the scores measured at one event (returning their ids), brings the case's latest scores up to date, and
/// writes the safety-alert notices of a PHQ-9 with item 9 above 0.
#[allow(clippy::too_many_arguments)]
pub fn record_scores(
    conn: &mut DbConn,
    case: &mut CaseRow,
    event_id: &str,
    scores: &[Score],
    measured_at: NaiveDateTime,
    context: &str,
    actor: &Actor,
    settings: &Settings,
    now: DateTime<Utc>,
) -> AppResult<Vec<String>> {
    let mut ids = Vec::with_capacity(scores.len());
    for s in scores {
        let score_id = Uuid::now_v7().to_string();
        ids.push(score_id.clone());
        store::insert_score(
            conn,
            &ScoreRow::of(
                score_id.clone(),
                &case.id,
                event_id,
                s,
                measured_at,
                context,
                &actor.id,
            ),
        )?;
        // PHQ-9 item 9 above 0: the GP and the nurse are told at once, in this transaction.
        if s.item9_positive() {
            crate::outbox::notices::safety_alert(conn, settings, case, &score_id, now)?;
        }
    }
    for instrument in [Instrument::Phq9, Instrument::Gad7] {
        if scores.iter().any(|s| s.instrument == instrument) {
            let latest = store::latest_score(conn, &case.id, instrument.as_str())?;
            let items = latest.map(|row| row.items);
            match instrument {
                Instrument::Phq9 => case.latest_phq9 = items,
                _ => case.latest_gad7 = items,
            }
        }
    }
    Ok(ids)
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
    match store::find(conn, id)? {
        Some(row) if scope.covers(&row.practice_id) => Ok(row),
        Some(row) => {
            audit::record(
                conn,
                actor,
                action,
                Some(&row.patient_id),
                Some(&row.id),
                Outcome::Denied(audit::DENIED_PRACTICE),
                now,
            )?;
            Err(AppError::not_found("case").recorded())
        }
        None => Err(AppError::not_found("case")),
    }
}

/// A closed case is read-only.
pub fn ensure_open(row: &CaseRow) -> AppResult<()> {
    if row.phase == Phase::Closed.as_str() {
        Err(AppError::Conflict {
            detail: "the case is closed and read-only; a new episode is a new case".to_owned(),
            allowed: Some(vec![]),
        })
    } else {
        Ok(())
    }
}
