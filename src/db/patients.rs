//! Patients: identity, INS and consent; each belongs to one practice.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::patients;
use crate::domain::patient::{ConsentStatus, InsStatus, Sex};
use crate::domain::policy::Scope;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = patients)]
pub struct PatientRow {
    pub id: String,
    pub practice_id: String,
    pub external_id: String,
    pub family_name: String,
    pub given_names: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub ins: Option<String>,
    pub ins_status: Option<InsStatus>,
    pub consent_status: ConsentStatus,
    pub consent_at: NaiveDateTime,
    pub consent_by: String,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = patients)]
pub struct PatientChanges {
    pub external_id: Option<String>,
    pub family_name: Option<String>,
    pub given_names: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub ins: Option<Option<String>>,
    pub ins_status: Option<Option<InsStatus>>,
    pub consent_status: Option<ConsentStatus>,
    pub consent_at: Option<NaiveDateTime>,
    pub consent_by: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct PatientFilter {
    pub practice_id: Option<String>,
    pub external_id: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn insert(conn: &mut DbConn, row: &PatientRow) -> QueryResult<()> {
    diesel::insert_into(patients::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<PatientRow>> {
    patients::table
        .find(id)
        .select(PatientRow::as_select())
        .first(conn)
        .optional()
}

pub fn external_id_taken(
    conn: &mut DbConn,
    practice_id: &str,
    external_id: &str,
    except: Option<&str>,
) -> QueryResult<bool> {
    let mut query = patients::table
        .filter(patients::practice_id.eq(practice_id))
        .filter(patients::external_id.eq(external_id))
        .select(patients::id)
        .into_boxed();
    if let Some(id) = except {
        query = query.filter(patients::id.ne(id.to_owned()));
    }
    Ok(query.first::<String>(conn).optional()?.is_some())
}

pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &PatientFilter,
) -> QueryResult<Vec<PatientRow>> {
    let mut query = patients::table
        .select(PatientRow::as_select())
        .order(patients::id)
        .limit(filter.limit)
        .into_boxed();
    if let Scope::Practices(ids) = scope {
        query = query.filter(patients::practice_id.eq_any(ids.clone()));
    }
    if let Some(practice_id) = &filter.practice_id {
        query = query.filter(patients::practice_id.eq(practice_id.clone()));
    }
    if let Some(external_id) = &filter.external_id {
        query = query.filter(patients::external_id.eq(external_id.clone()));
    }
    if let Some(after) = &filter.after {
        query = query.filter(patients::id.gt(after.clone()));
    }
    query.load(conn)
}

pub fn update(
    conn: &mut DbConn,
    id: &str,
    changes: &PatientChanges,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let target = patients::table.find(id);
    diesel::update(target)
        .set((
            patients::version.eq(patients::version + 1),
            patients::updated_at.eq(now),
        ))
        .execute(conn)?;
    // An empty changeset is an error in diesel; a PATCH that changes nothing still bumps the version.
    if changes.external_id.is_some()
        || changes.family_name.is_some()
        || changes.given_names.is_some()
        || changes.birth_date.is_some()
        || changes.sex.is_some()
        || changes.email.is_some()
        || changes.phone.is_some()
        || changes.ins.is_some()
        || changes.ins_status.is_some()
        || changes.consent_status.is_some()
    {
        diesel::update(target).set(changes).execute(conn)?;
    }
    Ok(())
}
