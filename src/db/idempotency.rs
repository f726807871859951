//! Responses kept for `Idempotency-Key` retries, per caller.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::idempotency_keys;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct SavedResponse {
    pub actor_id: String,
    pub idempotency_key: String,
    /// SHA-256 of the method, the path and the canonical JSON body.
    pub request_digest: String,
    pub status: i32,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: String,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, actor_id: &str, key: &str) -> QueryResult<Option<SavedResponse>> {
    idempotency_keys::table
        .find((actor_id, key))
        .select(SavedResponse::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConn, row: &SavedResponse) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Forgets keys older than `before` (they are kept for a day).
pub fn purge(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
}
