//! The microstructures' patient experience surveys: one row per case and context.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::patient_surveys as surveys;
use crate::domain::case::Program;
use crate::domain::survey::{Agreement, Answers, SurveyContext};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = surveys)]
pub struct SurveyRow {
    pub id: String,
    pub case_id: String,
    pub patient_id: String,
    pub practice_id: String,
    /// The case's program (a microstructure strand).
    pub program: Program,
    pub context: SurveyContext,
    /// The day the patient answered (a local date).
    pub answered_on: NaiveDate,
    /// Each statement's answer; `None` where the patient did not answer.
    pub never_seen_social_worker: Option<Agreement>,
    pub never_seen_psychiatrist: Option<Agreement>,
    pub never_seen_psychologist: Option<Agreement>,
    pub quality_of_life_improved: Option<Agreement>,
    pub better_consumption: Option<Agreement>,
    pub would_recommend: Option<Agreement>,
    /// The team member who recorded it.
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

impl SurveyRow {
    pub fn answers(&self) -> Answers {
        Answers {
            never_seen_social_worker: self.never_seen_social_worker,
            never_seen_psychiatrist: self.never_seen_psychiatrist,
            never_seen_psychologist: self.never_seen_psychologist,
            quality_of_life_improved: self.quality_of_life_improved,
            better_consumption: self.better_consumption,
            would_recommend: self.would_recommend,
        }
    }
}

pub fn insert(conn: &mut DbConn, row: &SurveyRow) -> QueryResult<()> {
    diesel::insert_into(surveys::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The case's surveys, in the order answered (six months, then exit).
pub fn of_case(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<SurveyRow>> {
    surveys::table
        .filter(surveys::case_id.eq(case_id))
        .order((surveys::answered_on, surveys::id))
        .select(SurveyRow::as_select())
        .load(conn)
}

/// The contexts the case already has a survey of.
pub fn contexts_of(conn: &mut DbConn, case_id: &str) -> QueryResult<Vec<SurveyContext>> {
    surveys::table
        .filter(surveys::case_id.eq(case_id))
        .select(surveys::context)
        .load(conn)
}
