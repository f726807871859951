//! Sessions: what an access token belongs to (its `sid` claim). A revoked session refuses its
//! access tokens at once, on every instance sharing the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::sessions;

pub fn insert(
    conn: &mut DbConn,
    id: &str,
    subject_id: &str,
    subject_kind: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::subject_id.eq(subject_id),
            sessions::subject_kind.eq(subject_kind),
            sessions::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Whether `id` is a session of `subject_id` that nobody revoked.
pub fn is_live(conn: &mut DbConn, id: &str, subject_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .find(id)
            .filter(sessions::subject_id.eq(subject_id))
            .filter(sessions::revoked_at.is_null())
            .select(sessions::id),
    ))
    .get_result(conn)
}

pub fn revoke(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)
}

/// Every live session of an account or API client (deactivation, a new password, a lock).
pub fn revoke_all_of(
    conn: &mut DbConn,
    subject_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::subject_id.eq(subject_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)
}

/// Forgets sessions no token can use any more: revoked before `revoked_before`, and API
/// clients' sessions (one grant, no refresh) created before `grants_before`.
pub fn purge(
    conn: &mut DbConn,
    revoked_before: NaiveDateTime,
    grants_before: NaiveDateTime,
) -> QueryResult<usize> {
    let revoked = diesel::delete(sessions::table.filter(sessions::revoked_at.lt(revoked_before)))
        .execute(conn)?;
    let grants = diesel::delete(
        sessions::table
            .filter(sessions::subject_kind.eq("api_client"))
            .filter(sessions::created_at.lt(grants_before)),
    )
    .execute(conn)?;
    Ok(revoked + grants)
}
