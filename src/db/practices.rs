//! Practices (cabinets, maisons de santé): the unit that partitions all clinical data.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{practice_programs, practices};
use crate::domain::case::Program;
use crate::domain::policy::Scope;
use crate::domain::programs::{Funding, ProgramPeriod};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = practices)]
pub struct PracticeRow {
    pub id: String,
    pub name: String,
    pub network: Option<String>,
    pub region: String,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = practices)]
pub struct PracticeChanges {
    pub name: Option<String>,
    pub network: Option<Option<String>>,
    pub region: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Default, Clone)]
pub struct PracticeFilter {
    pub network: Option<String>,
    pub region: Option<String>,
    pub active: Option<bool>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn insert(conn: &mut DbConn, row: &PracticeRow) -> QueryResult<()> {
    diesel::insert_into(practices::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<PracticeRow>> {
    practices::table
        .find(id)
        .select(PracticeRow::as_select())
        .first(conn)
        .optional()
}

/// Practices in scope, in creation order (ids are time-ordered UUIDs), after the cursor.
pub fn list(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &PracticeFilter,
) -> QueryResult<Vec<PracticeRow>> {
    let mut query = practices::table
        .select(PracticeRow::as_select())
        .order(practices::id)
        .limit(filter.limit)
        .into_boxed();
    if let Scope::Practices(ids) = scope {
        query = query.filter(practices::id.eq_any(ids.clone()));
    }
    if let Some(network) = &filter.network {
        query = query.filter(practices::network.eq(network.clone()));
    }
    if let Some(region) = &filter.region {
        query = query.filter(practices::region.eq(region.clone()));
    }
    if let Some(active) = filter.active {
        query = query.filter(practices::active.eq(active));
    }
    if let Some(after) = &filter.after {
        query = query.filter(practices::id.gt(after.clone()));
    }
    query.load(conn)
}

/// Applies the changes and bumps the version; `false` when no such practice exists.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    changes: &PracticeChanges,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = practices::table.find(id);
    let touched = diesel::update(target)
        .set((
            practices::version.eq(practices::version + 1),
            practices::updated_at.eq(now),
        ))
        .execute(conn)?;
    if touched == 0 {
        return Ok(false);
    }
    if changes.name.is_some()
        || changes.network.is_some()
        || changes.region.is_some()
        || changes.active.is_some()
    {
        diesel::update(target).set(changes).execute(conn)?;
    }
    Ok(true)
}

/// Of `ids`, those that name no practice.
pub fn missing(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<String>> {
    let found: Vec<String> = practices::table
        .filter(practices::id.eq_any(ids))
        .select(practices::id)
        .load(conn)?;
    Ok(ids
        .iter()
        .filter(|id| !found.contains(id))
        .cloned()
        .collect())
}

/// A period during which a practice runs a program.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = practice_programs)]
pub struct ProgramRow {
    pub practice_id: String,
    pub program: Program,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub funding: Funding,
}

impl ProgramRow {
    pub fn period(&self) -> ProgramPeriod {
        ProgramPeriod {
            program: self.program,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            funding: self.funding,
        }
    }
}

/// The program periods of the given practices, by practice then program then start.
pub fn programs_of(conn: &mut DbConn, practice_ids: &[String]) -> QueryResult<Vec<ProgramRow>> {
    practice_programs::table
        .filter(practice_programs::practice_id.eq_any(practice_ids))
        .select(ProgramRow::as_select())
        .order((
            practice_programs::practice_id,
            practice_programs::program,
            practice_programs::starts_on,
        ))
        .load(conn)
}

/// Replaces a practice's program periods with `rows`.
pub fn replace_programs(
    conn: &mut DbConn,
    practice_id: &str,
    rows: &[ProgramRow],
) -> QueryResult<()> {
    diesel::delete(practice_programs::table.filter(practice_programs::practice_id.eq(practice_id)))
        .execute(conn)?;
    // One row at a time: the multi-backend connection has no multi-row insert (a practice has a
    // handful of periods).
    for row in rows {
        diesel::insert_into(practice_programs::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}
