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
}

/// What happened: `ok`, or `denied` (an object outside the caller's practices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
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
    let row = audit_row(actor, action, patient_id, case_id, outcome, at);
    diesel::insert_into(audit_events::table)
        .values(&row)
        .execute(conn)
        .map(drop)
}

/// One row per (patient, case) read by a list, written in batches (a worklist reads 100+ cases).
pub fn record_reads(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    reads: &[(&str, Option<&str>)],
    at: NaiveDateTime,
) -> QueryResult<()> {
    // Batches stay under SQLite's bound-parameter limit (32766; 8 per row).
    for chunk in reads.chunks(500) {
        let rows: Vec<AuditRow> = chunk
            .iter()
            .map(|(patient, case)| audit_row(actor, action, Some(patient), *case, Outcome::Ok, at))
            .collect();
        match conn {
            DbConn::Postgres(pg) => diesel::insert_into(audit_events::table)
                .values(&rows)
                .execute(pg)?,
            DbConn::Sqlite(sqlite) => diesel::insert_into(audit_events::table)
                .values(&rows)
                .execute(sqlite)?,
        };
    }
    Ok(())
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

fn audit_row(
    actor: &Actor,
    action: &str,
    patient_id: Option<&str>,
    case_id: Option<&str>,
    outcome: Outcome,
    at: NaiveDateTime,
) -> AuditRow {
    AuditRow {
        id: Uuid::now_v7().to_string(),
        occurred_at: at,
        actor_id: actor.id.clone(),
        actor_kind: match actor.kind {
            SubjectKind::User => "user",
            SubjectKind::ApiClient => "api_client",
        }
        .to_owned(),
        action: action.to_owned(),
        patient_id: patient_id.map(str::to_owned),
        case_id: case_id.map(str::to_owned),
        outcome: match outcome {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
        }
        .to_owned(),
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
