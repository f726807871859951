//! Tele-expertise requests.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::tele_expertise_requests as requests;
use crate::domain::tele_expertise::{INBOX_ORDER, InboxSection, SortKey, Status, Urgency};

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
    pub urgency: Urgency,
    /// When the requester recorded the patient's consent (with the request).
    pub patient_consent_at: NaiveDateTime,
    /// Ids of scores of the case attached to the question, comma-separated.
    pub attached_score_ids: String,
    pub status: Status,
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

impl Inbox {
    /// Whether `row` is in this inbox.
    pub fn holds(&self, row: &RequestRow) -> bool {
        match self {
            Inbox::Expert(id) => &row.expert_id == id,
            Inbox::Requester(id) => &row.requester_id == id,
        }
    }
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

/// What a list of requests shows: whose inbox, which status, only the overdue ones.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub inbox: Inbox,
    pub status: Option<Status>,
    /// Only pending requests due before this instant.
    pub overdue_at: Option<NaiveDateTime>,
}

/// One page of a list, in `domain::tele_expertise::INBOX_ORDER`: each section in its sort key,
/// one after the other. `after` is the last request of the previous page; at most `limit` rows.
pub fn page(
    conn: &mut DbConn,
    filter: &ListFilter,
    after: Option<&RequestRow>,
    limit: i64,
) -> QueryResult<Vec<RequestRow>> {
    let after_section = after.map(|a| InboxSection::of(a.status));
    // Sections before the cursor's were shown already.
    let mut reached = after_section.is_none();
    let mut rows = Vec::new();
    for (section, key) in INBOX_ORDER {
        let cursor = after.filter(|_| after_section == Some(section));
        reached |= cursor.is_some();
        let statuses: Vec<Status> = section
            .statuses()
            // Only a pending request is ever overdue (`domain::tele_expertise::is_overdue`).
            .filter(|s| filter.overdue_at.is_none() || s.is_pending())
            .collect();
        let left = limit - i64::try_from(rows.len()).unwrap_or(limit);
        if !reached || left <= 0 || statuses.is_empty() {
            continue;
        }
        let mut query = requests::table
            .select(RequestRow::as_select())
            .filter(requests::status.eq_any(statuses))
            .limit(left)
            .into_boxed();
        query = match &filter.inbox {
            Inbox::Expert(id) => query.filter(requests::expert_id.eq(id.clone())),
            Inbox::Requester(id) => query.filter(requests::requester_id.eq(id.clone())),
        };
        if let Some(status) = filter.status {
            query = query.filter(requests::status.eq(status));
        }
        if let Some(at) = filter.overdue_at {
            query = query.filter(requests::due_at.lt(at));
        }
        query = match key {
            SortKey::DueAtAscending => query.order((requests::due_at.asc(), requests::id.asc())),
            SortKey::CreatedAtDescending => {
                query.order((requests::created_at.desc(), requests::id.desc()))
            }
        };
        if let Some(a) = cursor {
            query = match key {
                SortKey::DueAtAscending => query.filter(
                    requests::due_at.gt(a.due_at).or(requests::due_at
                        .eq(a.due_at)
                        .and(requests::id.gt(a.id.clone()))),
                ),
                SortKey::CreatedAtDescending => query.filter(
                    requests::created_at
                        .lt(a.created_at)
                        .or(requests::created_at
                            .eq(a.created_at)
                            .and(requests::id.lt(a.id.clone()))),
                ),
            };
        }
        rows.extend(query.load(conn)?);
    }
    Ok(rows)
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

/// Every pending request: (expert, due at).
pub fn pending_dues(conn: &mut DbConn) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    requests::table
        .filter(requests::status.eq_any(Status::PENDING))
        .select((requests::expert_id, requests::due_at))
        .load(conn)
}
