//! Case review meetings: the meeting, who took part, what it decided per case; the cases the
//! agenda considers, when each was last discussed; which practices met in a month.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl;
use diesel::prelude::*;

use super::DbConn;
use super::cases::{CaseRow, not_improving};
use super::schema::{
    cases, meeting_decisions as decisions, meeting_participants as participants, meetings,
    practices, user_practices, users,
};
use crate::domain::account::Role;
use crate::domain::pathway::{ExitReason, Phase};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = meetings)]
pub struct MeetingRow {
    pub id: String,
    pub practice_id: String,
    /// The day the team met (a local date).
    pub held_on: NaiveDate,
    pub note: Option<String>,
    /// The person who recorded it.
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = participants)]
pub struct ParticipantRow {
    pub meeting_id: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = decisions)]
pub struct DecisionRow {
    pub id: String,
    pub meeting_id: String,
    /// Its place in the meeting's list, from 0.
    pub position: i32,
    pub case_id: String,
    pub patient_id: String,
    pub note: String,
    pub clear_review: bool,
    /// The phase move the team plans (the case is not moved).
    pub planned_phase: Option<Phase>,
    pub planned_exit_reason: Option<ExitReason>,
    /// The tele-expertise request asked at the meeting.
    pub tele_expertise_id: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &MeetingRow) -> QueryResult<()> {
    diesel::insert_into(meetings::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn insert_participant(conn: &mut DbConn, row: &ParticipantRow) -> QueryResult<()> {
    diesel::insert_into(participants::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn insert_decision(conn: &mut DbConn, row: &DecisionRow) -> QueryResult<()> {
    diesel::insert_into(decisions::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<MeetingRow>> {
    meetings::table
        .find(id)
        .select(MeetingRow::as_select())
        .first(conn)
        .optional()
}

/// The people of `meeting_ids`: (meeting, person), by person.
pub fn participants_of(
    conn: &mut DbConn,
    meeting_ids: &[String],
) -> QueryResult<Vec<ParticipantRow>> {
    participants::table
        .filter(participants::meeting_id.eq_any(meeting_ids))
        .order((participants::meeting_id, participants::user_id))
        .select(ParticipantRow::as_select())
        .load(conn)
}

/// The decisions of `meeting_ids`, each meeting's in its order.
pub fn decisions_of(conn: &mut DbConn, meeting_ids: &[String]) -> QueryResult<Vec<DecisionRow>> {
    decisions::table
        .filter(decisions::meeting_id.eq_any(meeting_ids))
        .order((decisions::meeting_id, decisions::position))
        .select(DecisionRow::as_select())
        .load(conn)
}

/// How many cases each of `meeting_ids` discussed (meetings without any are absent).
pub fn decision_counts(
    conn: &mut DbConn,
    meeting_ids: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    decisions::table
        .filter(decisions::meeting_id.eq_any(meeting_ids))
        .group_by(decisions::meeting_id)
        .select((decisions::meeting_id, dsl::count_star()))
        .load(conn)
}

/// Which meetings a list shows: one practice's, held within `[from, to]` when given.
#[derive(Debug, Clone)]
pub struct MeetingFilter {
    pub practice_id: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// One page of a practice's meetings, the most recently held first (ties: the later recorded
/// first), after the meeting `after`; at most `limit`.
pub fn page(
    conn: &mut DbConn,
    filter: &MeetingFilter,
    after: Option<&MeetingRow>,
    limit: i64,
) -> QueryResult<Vec<MeetingRow>> {
    let mut query = meetings::table
        .select(MeetingRow::as_select())
        .filter(meetings::practice_id.eq(filter.practice_id.clone()))
        .order((meetings::held_on.desc(), meetings::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(meetings::held_on.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(meetings::held_on.le(to));
    }
    if let Some(a) = after {
        query = query.filter(
            meetings::held_on.lt(a.held_on).or(meetings::held_on
                .eq(a.held_on)
                .and(meetings::id.lt(a.id.clone()))),
        );
    }
    query.load(conn)
}

/// Of `user_ids`, those that are active accounts of one of `roles` working in `practice_id`.
pub fn members_with_roles(
    conn: &mut DbConn,
    practice_id: &str,
    user_ids: &[String],
    roles: &[Role],
) -> QueryResult<Vec<String>> {
    users::table
        .inner_join(user_practices::table)
        .filter(user_practices::practice_id.eq(practice_id))
        .filter(users::id.eq_any(user_ids))
        .filter(users::role.eq_any(roles.to_vec()))
        .filter(users::active.eq(true))
        .select(users::id)
        .load(conn)
}

/// The open cases of a practice that may belong on a meeting's agenda, by id: a safety alert,
/// a review asked for, not improving (assessed at or before `not_improving_assessed_by`, as
/// `domain::pathway::Cutoffs` says), or due before `overdue_due_before`.
/// `domain::meeting::agenda` decides.
pub fn agenda_candidates(
    conn: &mut DbConn,
    practice_id: &str,
    not_improving_assessed_by: NaiveDateTime,
    overdue_due_before: NaiveDate,
) -> QueryResult<Vec<CaseRow>> {
    cases::table
        .filter(cases::practice_id.eq(practice_id))
        .filter(cases::phase.ne(Phase::Closed))
        .filter(
            cases::safety_alert
                .eq(true)
                .or(cases::review_requested.eq(true))
                .or(not_improving(not_improving_assessed_by))
                .or(cases::due_on.lt(overdue_due_before)),
        )
        .order(cases::id)
        .select(CaseRow::as_select())
        .load(conn)
}

/// The day each of `case_ids` was last discussed at a meeting (cases never discussed are absent).
pub fn last_discussed(
    conn: &mut DbConn,
    case_ids: &[String],
) -> QueryResult<Vec<(String, Option<NaiveDate>)>> {
    decisions::table
        .inner_join(meetings::table)
        .filter(decisions::case_id.eq_any(case_ids))
        .group_by(decisions::case_id)
        .select((decisions::case_id, dsl::max(meetings::held_on)))
        .load(conn)
}

/// Every practice, for the coordinators' digest: (id, name, active, created at).
pub fn practices_standing(
    conn: &mut DbConn,
) -> QueryResult<Vec<(String, String, bool, NaiveDateTime)>> {
    practices::table
        .order(practices::id)
        .select((
            practices::id,
            practices::name,
            practices::active,
            practices::created_at,
        ))
        .load(conn)
}

/// The meetings held from `from` to `to` (days included): (practice, day held).
pub fn held_between(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(String, NaiveDate)>> {
    meetings::table
        .filter(meetings::held_on.ge(from))
        .filter(meetings::held_on.le(to))
        .select((meetings::practice_id, meetings::held_on))
        .load(conn)
}
