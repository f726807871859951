//! Reads of cases: one case, lists with filters, contacts, the timeline, the worklist. Each read
//! is audited (lists: one row per case shown, in one batch).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Case, Contact, ScoreView, audit_case, case_in_scope, clinician};
use crate::db::audit::{self, Outcome};
use crate::db::cases::{
    self as store, CaseFilter, CaseWithPatient, ContactRow, EventRow, ScoreRow,
};
use crate::db::stored_id;
use crate::db::{naive, utc};
use crate::domain::account::Role;
use crate::domain::case::{EventKind, Priority, Program, first_score};
use crate::domain::pathway::{ExitReason, Flag, Phase};
use crate::domain::policy::{Action, Actor};
use crate::error::{AppError, AppResult};
use crate::service::input::PageQuery;
use crate::service::{Caller, Ctx};

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

impl CaseQuery {
    /// What the database filters on at `now`: a flag is asked of the stored columns with the
    /// cutoffs `derive` uses, so the cases listed are the ones that carry it.
    fn filter(
        self,
        cutoffs: &crate::domain::pathway::Cutoffs,
        page: &PageQuery,
    ) -> AppResult<CaseFilter> {
        let mut filter = CaseFilter {
            phase: self.phase,
            nurse_id: self.nurse_id.map(|id| id.to_string()),
            practice_id: self.practice_id.map(|id| id.to_string()),
            patient_id: self.patient_id.map(|id| id.to_string()),
            due_before: (self.overdue == Some(true)).then_some(cutoffs.overdue_due_before),
            after: page.after_id()?,
            limit: page.fetch_limit(),
            ..CaseFilter::default()
        };
        let assessed_by = naive(cutoffs.not_improving_assessed_by);
        match self.flag {
            Some(Flag::SafetyAlert) => filter.safety_alert = true,
            Some(Flag::NotImproving) => filter.not_improving_assessed_by = Some(assessed_by),
            Some(Flag::NeedsReview) => filter.needs_review_assessed_by = Some(assessed_by),
            Some(Flag::LongEpisode) => {
                filter.referred_before = Some(naive(cutoffs.long_episode_referred_before));
            }
            None => {}
        }
        Ok(filter)
    }
}

/// Cases of the caller's practices, oldest first, one page; audits the cases shown (and a filter
/// on a practice outside the caller's).
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: CaseQuery,
    page: PageQuery,
) -> AppResult<CasePage> {
    let (actor, scope) = clinician(caller, Action::ReadCases)?;
    let now = ctx.now();
    let cadences = ctx.settings.cadences;
    let filter = query.filter(&cadences.cutoffs(now), &page)?;
    let actor = actor.clone();
    let (rows, next_cursor) = ctx
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
            let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
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
    Ok(CasePage { items, next_cursor })
}

/// One case, with its derived state; audited.
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<Case> {
    let (actor, scope) = clinician(caller, Action::ReadCases)?;
    let id = id.to_string();
    let now = ctx.now();
    let actor = actor.clone();
    let row = ctx
        .db
        .transaction(move |conn| {
            let row = case_in_scope(conn, &actor, &scope, &id, "case.read", naive(now))?;
            audit_case(conn, &actor, "case.read", &row, Outcome::Ok, naive(now))?;
            Ok(row)
        })
        .await?;
    Case::from_row(row, &ctx.settings.cadences, now)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    /// Pass as `after` to get the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A case's contacts, most recent first, one page, each with the scores measured at it; audited.
pub async fn contacts(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    page: PageQuery,
) -> AppResult<ContactPage> {
    let (actor, scope) = clinician(caller, Action::ReadCases)?;
    let id = id.to_string();
    let after = page.after_id()?;
    let limit = page.fetch_limit();
    let now = naive(ctx.now());
    let actor = actor.clone();
    let (rows, scores, events) = ctx
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
            audit_case(conn, &actor, "case.contacts", &case, Outcome::Ok, now)?;
            Ok((rows, scores, events))
        })
        .await?;
    let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
    let contact_of_event: HashMap<String, String> = events
        .into_iter()
        .filter_map(|e| e.contact_id.map(|c| (e.id, c)))
        .collect();
    let mut by_contact: HashMap<String, Vec<ScoreView>> = HashMap::new();
    for score in &scores {
        if let Some(contact_id) = contact_of_event.get(&score.event_id) {
            by_contact
                .entry(contact_id.clone())
                .or_default()
                .push(ScoreView::from_row(score)?);
        }
    }
    let items = rows
        .into_iter()
        .map(|row| {
            let scores = by_contact.remove(&row.id).unwrap_or_default();
            Contact::from_row(row, scores)
        })
        .collect::<AppResult<_>>()?;
    Ok(ContactPage { items, next_cursor })
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
    /// Detail as `key=value`: the contact's outcome, who was assigned, the review flag, what a
    /// case review meeting decided (`meeting=<id> clear_review=… planned=<phase>
    /// tele_expertise=<request>`), the survey recorded (`context=six_months` or `context=exit`),
    /// or on a referral the GP's reason to refer outside the Sésame criteria
    /// (`eligibility_override=…`, their own words).
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

/// Everything that happened to a case (referral, assessment, contacts, scores, phase moves,
/// reassignments, review flags, tele-expertise, meetings, surveys), in time order; audited.
pub async fn timeline(ctx: &Ctx, caller: Caller<'_>, case_id: Uuid) -> AppResult<Timeline> {
    let (actor, scope) = clinician(caller, Action::ReadCases)?;
    let id = case_id.to_string();
    let now = naive(ctx.now());
    let actor = actor.clone();
    let (events, contacts, scores) = ctx
        .db
        .transaction(move |conn| {
            let case = case_in_scope(conn, &actor, &scope, &id, "case.timeline", now)?;
            let events = store::events_of(conn, &id)?;
            let contacts = store::all_contacts_of(conn, &id)?;
            let scores = store::scores_of(conn, &id)?;
            audit_case(conn, &actor, "case.timeline", &case, Outcome::Ok, now)?;
            Ok((events, contacts, scores))
        })
        .await?;
    Ok(Timeline {
        case_id,
        entries: entries(events, contacts, &scores)?,
    })
}

/// The timeline's entries: each event with the scores measured at it and its contact.
fn entries(
    events: Vec<EventRow>,
    contacts: Vec<ContactRow>,
    scores: &[ScoreRow],
) -> AppResult<Vec<TimelineEntry>> {
    let mut scores_by_event: HashMap<String, Vec<ScoreView>> = HashMap::new();
    for score in scores {
        scores_by_event
            .entry(score.event_id.clone())
            .or_default()
            .push(ScoreView::from_row(score)?);
    }
    let mut contacts: HashMap<String, _> =
        contacts.into_iter().map(|c| (c.id.clone(), c)).collect();
    events
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
                id: stored_id(&e.id)?,
                kind: e.kind,
                occurred_at: utc(e.occurred_at),
                recorded_at: utc(e.recorded_at),
                actor_id: stored_id(&e.actor_id)?,
                from_phase: e.from_phase,
                to_phase: e.to_phase,
                exit_reason: e.exit_reason,
                detail: e.detail,
                note: e.note,
                contact,
                scores,
            })
        })
        .collect()
}

/// One line of a worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorklistItem {
    pub case_id: Uuid,
    pub patient_id: Uuid,
    pub family_name: String,
    pub given_names: String,
    pub practice_id: Uuid,
    pub program: Program,
    pub phase: Phase,
    pub nurse_id: Option<Uuid>,
    pub weeks_in_treatment: i64,
    /// PHQ-9 total at baseline (the screening's before the assessment).
    pub first_phq9: Option<u8>,
    pub last_phq9: Option<u8>,
    pub first_gad7: Option<u8>,
    pub last_gad7: Option<u8>,
    /// The next contact (or assessment) due; on a psychologist's or social worker's worklist,
    /// their discipline's next consultation.
    pub next_contact_due: Option<NaiveDate>,
    pub overdue_days: i64,
    pub flags: Vec<Flag>,
    pub version: i32,
}

impl WorklistItem {
    fn of(case: Case, (family_name, given_names): (String, String), role: Option<Role>) -> Self {
        let total = |s: &Option<ScoreView>| s.as_ref().map(|s| s.total);
        let assessed = case.assessed_at.is_some();
        // A psychologist's or social worker's own due date, once the case is included.
        let own = case.consultations.as_ref().and_then(|c| match role {
            Some(Role::Psychologist) => Some(&c.psychological),
            Some(Role::SocialWorker) => Some(&c.social),
            _ => None,
        });
        let (next_contact_due, overdue_days) = match own {
            Some(due) if case.phase != Phase::Referred => (due.next_due, due.overdue_days),
            _ => (case.next_contact_due, case.overdue_days),
        };
        Self {
            case_id: case.id,
            patient_id: case.patient_id,
            family_name,
            given_names,
            practice_id: case.practice_id,
            program: case.program,
            phase: case.phase,
            nurse_id: case.nurse_id,
            weeks_in_treatment: case.weeks_in_treatment,
            first_phq9: first_score(
                total(&case.baseline.phq9),
                total(&case.latest.phq9),
                assessed,
            ),
            last_phq9: total(&case.latest.phq9),
            first_gad7: first_score(
                total(&case.baseline.gad7),
                total(&case.latest.gad7),
                assessed,
            ),
            last_gad7: total(&case.latest.gad7),
            next_contact_due,
            overdue_days,
            flags: case.flags,
            version: case.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Worklist {
    /// In priority order: safety alerts, most overdue, needing review, due soonest.
    pub items: Vec<WorklistItem>,
}

/// The caller's caseload in priority order (`domain::case::Priority`). A nurse: the open cases
/// assigned to them and the referrals of their practices waiting for assessment. A
/// psychiatrist: the open cases they are referring psychiatrist of, and those of their practices
/// that need review. A GP: the open cases they referred. A psychologist or a social worker: the
/// open microstructure cases they follow, with their own discipline's due date. Audited (one row per case), and given
/// back only once the audit rows are committed.
pub async fn worklist(ctx: &Ctx, caller: Caller<'_>) -> AppResult<Worklist> {
    let (actor, _) = clinician(caller, Action::ReadWorklist)?;
    let now = ctx.now();
    let cadences = ctx.settings.cadences;
    let rows = caseload(
        ctx,
        actor,
        naive(cadences.cutoffs(now).not_improving_assessed_by),
    )
    .await?;
    let reads: Vec<(String, String)> = rows
        .iter()
        .map(|(r, _)| (r.patient_id.clone(), r.id.clone()))
        .collect();
    let reader = actor.clone();
    ctx.db
        .transaction(move |conn| {
            Ok(audit::record_case_reads(
                conn,
                &reader,
                "worklist.read",
                &reads,
                naive(now),
            )?)
        })
        .await?;
    let mut items = rows
        .into_iter()
        .map(|(row, names)| {
            Ok(WorklistItem::of(
                Case::from_row(row, &cadences, now)?,
                names,
                actor.role,
            ))
        })
        .collect::<AppResult<Vec<_>>>()?;
    items.sort_by_key(|i| {
        (
            Priority::of(&i.flags, i.overdue_days, i.next_contact_due).key(),
            i.case_id,
        )
    });
    Ok(Worklist { items })
}

/// The cases of `actor`'s worklist, read without the write lock (SQLite serialises writers).
async fn caseload(
    ctx: &Ctx,
    actor: &Actor,
    not_improving_assessed_by: chrono::NaiveDateTime,
) -> AppResult<Vec<CaseWithPatient>> {
    let actor = actor.clone();
    ctx.db
        .run(move |conn| {
            let rows = match actor.role {
                Some(Role::Nurse) => {
                    store::caseload_of_nurse(conn, &actor.id, &actor.practice_ids)?
                }
                Some(Role::Psychiatrist) => store::caseload_of_psychiatrist(
                    conn,
                    &actor.id,
                    &actor.practice_ids,
                    not_improving_assessed_by,
                )?,
                Some(role @ (Role::Psychologist | Role::SocialWorker)) => {
                    store::caseload_of_follower(conn, &actor.id, role)?
                }
                _ => store::caseload_of_gp(conn, &actor.id)?,
            };
            // A case whose practice the caller left is not theirs to see any more.
            Ok(rows
                .into_iter()
                .filter(|(case, _)| actor.practice_ids.contains(&case.practice_id))
                .collect())
        })
        .await
}
