//! Multi-row inserts for loading many rows at once (the demo population, the audit rows of a
//! list or an export page). Through the
//! `MultiConnection` enum diesel inserts one row per statement; matching on the backend gives each
//! its own multi-row `INSERT … VALUES (…), (…)`, in chunks under both backends' parameter limits.

use diesel::prelude::*;

use super::DbConn;
use super::accounts::UserRow;
use super::audit::AuditRow;
use super::cases::{CaseRow, ContactRow, EventRow, ScoreRow};
use super::patients::PatientRow;
use super::practices::{PracticeRow, ProgramRow};
use super::schema::{
    audit_events, case_events, cases, contacts, patients, practice_programs, practices, scores,
    user_practices, users,
};

/// Bound parameters per statement: SQLite allows 32766, PostgreSQL 65535.
const MAX_PARAMETERS: usize = 32_000;

macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr, $columns:expr) => {{
        let per_statement = (MAX_PARAMETERS / $columns).max(1);
        let mut written = 0;
        for chunk in $rows.chunks(per_statement) {
            written += match $conn {
                DbConn::Postgres(pg) => diesel::insert_into($table).values(chunk).execute(pg)?,
                DbConn::Sqlite(sqlite) => {
                    diesel::insert_into($table).values(chunk).execute(sqlite)?
                }
            };
        }
        Ok(written)
    }};
}

pub fn practices(conn: &mut DbConn, rows: &[PracticeRow]) -> QueryResult<usize> {
    insert_chunks!(conn, practices::table, rows, 8)
}

pub fn programs(conn: &mut DbConn, rows: &[ProgramRow]) -> QueryResult<usize> {
    insert_chunks!(conn, practice_programs::table, rows, 5)
}

pub fn users(conn: &mut DbConn, rows: &[UserRow]) -> QueryResult<usize> {
    insert_chunks!(conn, users::table, rows, 12)
}

/// (user id, practice id) pairs.
pub fn memberships(conn: &mut DbConn, pairs: &[(String, String)]) -> QueryResult<usize> {
    let rows: Vec<_> = pairs
        .iter()
        .map(|(user, practice)| {
            (
                user_practices::user_id.eq(user.as_str()),
                user_practices::practice_id.eq(practice.as_str()),
            )
        })
        .collect();
    insert_chunks!(conn, user_practices::table, rows, 2)
}

pub fn patients(conn: &mut DbConn, rows: &[PatientRow]) -> QueryResult<usize> {
    insert_chunks!(conn, patients::table, rows, 17)
}

pub fn cases(conn: &mut DbConn, rows: &[CaseRow]) -> QueryResult<usize> {
    insert_chunks!(conn, cases::table, rows, 30)
}

pub fn contacts(conn: &mut DbConn, rows: &[ContactRow]) -> QueryResult<usize> {
    insert_chunks!(conn, contacts::table, rows, 10)
}

pub fn scores(conn: &mut DbConn, rows: &[ScoreRow]) -> QueryResult<usize> {
    insert_chunks!(conn, scores::table, rows, 11)
}

pub fn events(conn: &mut DbConn, rows: &[EventRow]) -> QueryResult<usize> {
    insert_chunks!(conn, case_events::table, rows, 12)
}

pub fn audit_events(conn: &mut DbConn, rows: &[AuditRow]) -> QueryResult<usize> {
    insert_chunks!(conn, audit_events::table, rows, 9)
}
