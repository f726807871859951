//! The audit log: who read or wrote which patient's data, when, and with what outcome. Writes are
//! audited in the transaction of the write itself.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::DbConn;
use super::schema::audit_events;
use crate::domain::policy::Actor;
use crate::domain::tokens::SubjectKind;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_id: String,
    pub actor_kind: String,
    pub action: String,
    pub patient_id: Option<String>,
    pub case_id: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
}

/// What happened: `ok`, or `denied` with the reason (see the `DENIED_*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied(&'static str),
}

/// The object is outside the caller's practices (answered 404).
pub const DENIED_PRACTICE: &str = "practice";
/// The caller's role may not do this (403).
pub const DENIED_ROLE: &str = "role";
/// The caller is not a party to this object (a tele-expertise request of another expert; 403).
pub const DENIED_PARTY: &str = "party";
/// A login with a wrong password, or for an unknown or inactive account (401).
pub const DENIED_BAD_CREDENTIALS: &str = "bad_credentials";
/// A login refused because the account is locked for this client address, or by an admin (423).
pub const DENIED_LOCKED: &str = "locked";
/// A refresh token that is unknown, spent (a replay revokes its family), expired or whose
/// account is inactive (401).
pub const DENIED_TOKEN: &str = "token";
/// A well-signed access token past its expiry (401).
pub const DENIED_EXPIRED: &str = "expired";
/// A well-signed access token whose session was revoked or whose account is inactive (401).
pub const DENIED_REVOKED: &str = "revoked";

/// The actor of a login attempt for an email no account has (`actor_kind` `anonymous`).
pub const ANONYMOUS_ID: &str = "00000000-0000-0000-0000-000000000000";

/// Who attempted something, for rows written without an authenticated `Actor` (refused logins
/// and tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub actor_id: String,
    /// `user`, `api_client` or `anonymous`.
    pub actor_kind: &'static str,
}

/// A list filtered on a practice outside the caller's (answered with what is in scope: nothing).
pub const DENIED_FILTER: &str = "filter";

impl From<&Actor> for Attempt {
    fn from(actor: &Actor) -> Self {
        Self {
            actor_id: actor.id.clone(),
            actor_kind: match actor.kind {
                SubjectKind::User => "user",
                SubjectKind::ApiClient => "api_client",
            },
        }
    }
}

/// Audits a list whose `practice_id` filter names a practice outside `scope` (the list then
/// shows nothing of it); does nothing for a filter in scope or no filter.
pub fn record_filter_outside_scope(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    practice_id: Option<&str>,
    scope: &crate::domain::policy::Scope,
    at: NaiveDateTime,
) -> QueryResult<()> {
    match practice_id {
        Some(practice) if !scope.covers(practice) => {
            record_refusal(conn, &actor.into(), action, DENIED_FILTER, at)
        }
        _ => Ok(()),
    }
}

/// One refused attempt (a failed login, a refused token, a 403) in a transaction of its own.
pub fn record_refusal(
    conn: &mut DbConn,
    who: &Attempt,
    action: &str,
    reason: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let row = audit_row(who, action, (None, None), Some(reason), at);
    super::bulk::audit_events(conn, &[row]).map(drop)
}

pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    patient_id: Option<&str>,
    case_id: Option<&str>,
    outcome: Outcome,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let row = audit_row(
        &actor.into(),
        action,
        (patient_id, case_id),
        outcome.reason(),
        at,
    );
    super::bulk::audit_events(conn, &[row]).map(drop)
}

/// One row per (patient, case) read by a list, written in multi-row inserts (a worklist reads
/// 100+ cases, an export page 1,000).
pub fn record_reads(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    reads: &[(&str, Option<&str>)],
    at: NaiveDateTime,
) -> QueryResult<()> {
    let who = Attempt::from(actor);
    let rows: Vec<AuditRow> = reads
        .iter()
        .map(|(patient, case)| audit_row(&who, action, (Some(patient), *case), None, at))
        .collect();
    super::bulk::audit_events(conn, &rows).map(drop)
}

/// `record_reads` for owned (patient, case) pairs, as handlers hold them after their read.
pub fn record_case_reads(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    reads: &[(String, String)],
    at: NaiveDateTime,
) -> QueryResult<()> {
    let reads: Vec<(&str, Option<&str>)> = reads
        .iter()
        .map(|(patient, case)| (patient.as_str(), Some(case.as_str())))
        .collect();
    record_reads(conn, actor, action, &reads, at)
}

impl Outcome {
    /// Why it was refused; `None` when `ok`.
    fn reason(self) -> Option<&'static str> {
        match self {
            Outcome::Ok => None,
            Outcome::Denied(why) => Some(why),
        }
    }
}

/// The one way a row is made: `ok` without a reason, `denied` with one.
fn audit_row(
    who: &Attempt,
    action: &str,
    (patient_id, case_id): (Option<&str>, Option<&str>),
    denied: Option<&str>,
    at: NaiveDateTime,
) -> AuditRow {
    AuditRow {
        id: Uuid::now_v7().to_string(),
        occurred_at: at,
        actor_id: who.actor_id.clone(),
        actor_kind: who.actor_kind.to_owned(),
        action: action.to_owned(),
        patient_id: patient_id.map(str::to_owned),
        case_id: case_id.map(str::to_owned),
        outcome: if denied.is_some() { "denied" } else { "ok" }.to_owned(),
        reason: denied.map(str::to_owned),
    }
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub patient_id: Option<String>,
    pub case_id: Option<String>,
    pub actor_id: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_events::table
        .select(AuditRow::as_select())
        .order(audit_events::id)
        .limit(filter.limit)
        .into_boxed();
    if let Some(v) = &filter.patient_id {
        query = query.filter(audit_events::patient_id.eq(v.clone()));
    }
    if let Some(v) = &filter.case_id {
        query = query.filter(audit_events::case_id.eq(v.clone()));
    }
    if let Some(v) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        query = query.filter(audit_events::occurred_at.ge(v));
    }
    if let Some(v) = filter.to {
        query = query.filter(audit_events::occurred_at.lt(v));
    }
    if let Some(v) = &filter.after {
        query = query.filter(audit_events::id.gt(v.clone()));
    }
    query.load(conn)
}
