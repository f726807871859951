//! Tele-expertise requests.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::tele_expertise_requests as requests;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = requests, treat_none_as_null = true)]
pub struct RequestRow {
    pub id: String,
    pub case_id: String,
    pub patient_id: String,
    pub practice_id: String,
    pub requester_id: String,
    pub expert_id: String,
    pub question: String,
    pub urgency: String,
    /// When the requester recorded the patient's consent (with the request).
    pub patient_consent_at: NaiveDateTime,
    /// Ids of scores of the case attached to the question, comma-separated.
    pub attached_score_ids: String,
    pub status: String,
    pub due_at: NaiveDateTime,
    pub decline_reason: Option<String>,
    pub answer: Option<String>,
    pub recommendations: Option<String>,
    pub accepted_at: Option<NaiveDateTime>,
    pub declined_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    /// Set on answer: whether it counts among the patient's 4 billable a year.
    pub billable: Option<bool>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Whose requests a list shows.
#[derive(Debug, Clone)]
pub enum Inbox {
    /// Addressed to this expert.
    Expert(String),
    /// Asked by this requester.
    Requester(String),
}

pub fn insert(conn: &mut DbConn, row: &RequestRow) -> QueryResult<()> {
    diesel::insert_into(requests::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<RequestRow>> {
    requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()
}

/// Writes the row back if its version is still `expected`.
pub fn save(conn: &mut DbConn, row: &RequestRow, expected: i32) -> QueryResult<bool> {
    diesel::update(
        requests::table
            .filter(requests::id.eq(&row.id))
            .filter(requests::version.eq(expected)),
    )
    .set(row)
    .execute(conn)
    .map(|n| n == 1)
}

/// A list's requests (at most `cap`), in no particular order: the caller sorts.
pub fn list(
    conn: &mut DbConn,
    inbox: &Inbox,
    status: Option<&str>,
    cap: i64,
) -> QueryResult<Vec<RequestRow>> {
    let mut query = requests::table
        .select(RequestRow::as_select())
        .limit(cap)
        .into_boxed();
    query = match inbox {
        Inbox::Expert(id) => query.filter(requests::expert_id.eq(id.clone())),
        Inbox::Requester(id) => query.filter(requests::requester_id.eq(id.clone())),
    };
    if let Some(status) = status {
        query = query.filter(requests::status.eq(status.to_owned()));
    }
    query.load(conn)
}

/// When the patient's billable answers were given since `since`.
pub fn billable_answers_since(
    conn: &mut DbConn,
    patient_id: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    let rows: Vec<Option<NaiveDateTime>> = requests::table
        .filter(requests::patient_id.eq(patient_id))
        .filter(requests::answered_at.gt(since))
        .filter(requests::billable.eq(true))
        .select(requests::answered_at)
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// Requests of a case, for its timeline.
pub fn of_case(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<RequestRow>> {
    requests::table
        .filter(requests::case_id.eq(case_id))
        .order(requests::created_at)
        .select(RequestRow::as_select())
        .load(conn)
}

/// Every pending request (requested or accepted): (expert, due at).
pub fn pending_dues(conn: &mut DbConn) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    requests::table
        .filter(requests::status.eq_any(["requested", "accepted"]))
        .select((requests::expert_id, requests::due_at))
        .load(conn)
}
