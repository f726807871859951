//! The outbox: messages written with the events that cause them, claimed and delivered by the
//! sender. A unique `dedupe_key` makes a second copy impossible; a claim is a lease, so a message
//! whose sender died is taken up again once the lease expires. On PostgreSQL several senders share
//! the table (`FOR UPDATE SKIP LOCKED`); on SQLite one writer at a time claims.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::DbConn;
use super::schema::outbox;
use crate::domain::outbox::MessageStatus;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub dedupe_key: String,
    pub kind: String,
    pub recipient: String,
    pub recipient_user_id: Option<String>,
    pub locale: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub status: MessageStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Writes a message unless one with its key exists; `true` when written.
pub fn enqueue(conn: &mut DbConn, row: &OutboxRow) -> QueryResult<bool> {
    let written = match conn {
        DbConn::Postgres(pg) => diesel::insert_into(outbox::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConn::Sqlite(sqlite) => diesel::insert_or_ignore_into(outbox::table)
            .values(row)
            .execute(sqlite)?,
    };
    Ok(written == 1)
}

/// Claims up to `limit` due messages for `claimer` until `lease_until`: pending ones whose next
/// attempt has come, and sending ones whose lease expired (their sender died).
pub fn claim(
    conn: &mut DbConn,
    claimer: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    match conn {
        DbConn::Postgres(pg) => diesel::sql_query(
            "UPDATE outbox SET status = 'sending', claimed_by = $1, lease_until = $2, \
                 attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM outbox \
                 WHERE (status = 'pending' AND next_attempt_at <= $3) \
                    OR (status = 'sending' AND lease_until < $3) \
                 ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING *",
        )
        .bind::<Text, _>(claimer)
        .bind::<Timestamp, _>(lease_until)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(limit)
        .load(pg),
        DbConn::Sqlite(sqlite) => sqlite.immediate_transaction(|conn| {
            let due: Vec<String> = outbox::table
                .filter(
                    outbox::status
                        .eq(MessageStatus::Pending)
                        .and(outbox::next_attempt_at.le(now))
                        .or(outbox::status
                            .eq(MessageStatus::Sending)
                            .and(outbox::lease_until.lt(now))),
                )
                .order(outbox::next_attempt_at)
                .limit(limit)
                .select(outbox::id)
                .load(conn)?;
            diesel::update(outbox::table.filter(outbox::id.eq_any(&due)))
                .set((
                    outbox::status.eq(MessageStatus::Sending),
                    outbox::claimed_by.eq(claimer),
                    outbox::lease_until.eq(lease_until),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::updated_at.eq(now),
                ))
                .execute(conn)?;
            outbox::table
                .filter(outbox::id.eq_any(&due))
                .filter(outbox::claimed_by.eq(claimer))
                .order(outbox::next_attempt_at)
                .select(OutboxRow::as_select())
                .load(conn)
        }),
    }
}

/// Records a delivery, if the claim is still this sender's.
pub fn mark_sent(
    conn: &mut DbConn,
    id: &str,
    claimer: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::claimed_by.eq(claimer)),
    )
    .set((
        outbox::status.eq(MessageStatus::Sent),
        outbox::sent_at.eq(Some(now)),
        outbox::lease_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records a failed attempt: back to pending until `next_attempt_at`, or failed for good.
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    id: &str,
    claimer: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::claimed_by.eq(claimer));
    let error: String = error.chars().take(1000).collect();
    let changed = match retry_at {
        Some(at) => diesel::update(target)
            .set((
                outbox::status.eq(MessageStatus::Pending),
                outbox::next_attempt_at.eq(at),
                outbox::claimed_by.eq(None::<String>),
                outbox::lease_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(Some(error)),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                outbox::status.eq(MessageStatus::Failed),
                outbox::claimed_by.eq(None::<String>),
                outbox::lease_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(Some(error)),
                outbox::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// Messages, oldest first, optionally of one status.
pub fn list(
    conn: &mut DbConn,
    status: Option<MessageStatus>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut query = outbox::table
        .select(OutboxRow::as_select())
        .order(outbox::id)
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(outbox::status.eq(status));
    }
    if let Some(after) = after {
        query = query.filter(outbox::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// A failed message goes back to pending, with its attempts counted afresh.
pub fn retry(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(MessageStatus::Failed)),
    )
    .set((
        outbox::status.eq(MessageStatus::Pending),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
        outbox::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}
