//! Practices: created and changed by admins; everyone reads the practices they belong to.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::versioned::{self, VersionedRow};
use super::{Caller, Ctx};
use crate::db::locks::Versioned;
use crate::db::practices::{
    self as store, PracticeChanges, PracticeFilter, PracticeRow, ProgramRow,
};
use crate::db::stored_id;
use crate::db::{DbConn, naive, utc};
use crate::domain::case::Program;
use crate::domain::policy::Action;
use crate::domain::programs::{Funding, ProgramPeriod, check_periods, polyvalente};
use crate::domain::text::PlainText;
use crate::error::{AppError, AppResult};
use crate::service::input::{PageQuery, text_filter};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Practice {
    pub id: Uuid,
    pub name: String,
    /// The network (réseau) the practice belongs to, if any.
    pub network: Option<String>,
    pub region: String,
    /// The programs it runs or ran, each over its period: a case's program must be one its
    /// practice runs on the referral day.
    pub programs: Vec<ProgramPeriod>,
    /// It runs both microstructure strands (addictions, mental health) today.
    pub polyvalente: bool,
    pub active: bool,
    /// Increases with every change; send it back in `If-Match` to update safely.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Practice {
    fn from_row(
        row: PracticeRow,
        programs: Vec<ProgramPeriod>,
        today: NaiveDate,
    ) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            name: row.name,
            network: row.network,
            region: row.region,
            polyvalente: polyvalente(&programs, today),
            programs,
            active: row.active,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// The rows of a practice's periods, checked (422 naming `programs[i]`).
fn program_rows(practice_id: &str, periods: &[ProgramPeriod]) -> AppResult<Vec<ProgramRow>> {
    check_periods(periods)?;
    Ok(periods
        .iter()
        .map(|p| ProgramRow {
            practice_id: practice_id.to_owned(),
            program: p.program,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            funding: p.funding,
        })
        .collect())
}

/// Reads the practices' periods and makes each practice's answer.
fn with_programs(
    conn: &mut DbConn,
    rows: Vec<PracticeRow>,
    today: NaiveDate,
) -> AppResult<Vec<Practice>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut periods = store::programs_of(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let (mine, rest) = periods.drain(..).partition(|p| p.practice_id == row.id);
            periods = rest;
            let mine: Vec<ProgramRow> = mine;
            Practice::from_row(row, mine.iter().map(ProgramRow::period).collect(), today)
        })
        .collect()
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PracticePage {
    pub items: Vec<Practice>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPractice {
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(inline)]
    pub name: PlainText<200>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub network: Option<PlainText<200>>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(inline)]
    pub region: PlainText<100>,
    /// The programs it runs, each over its period. Left out: Sésame from today, under a
    /// permanent scheme.
    #[schema(max_items = 30)]
    pub programs: Option<Vec<ProgramPeriod>>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PracticeUpdate {
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub name: Option<PlainText<200>>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub network: Option<PlainText<200>>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<100>::nullable)]
    pub region: Option<PlainText<100>>,
    /// `false` deactivates the practice: its API clients can no longer get or use tokens.
    pub active: Option<bool>,
    /// Replaces the practice's programs and their periods (its cases keep their program).
    #[schema(max_items = 30)]
    pub programs: Option<Vec<ProgramPeriod>>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PracticeQuery {
    /// Only practices of this network (exact name).
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub network: Option<String>,
    /// Only practices of this region (exact name).
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub region: Option<String>,
    pub active: Option<bool>,
}

impl VersionedRow for PracticeRow {
    const TABLE: Versioned = Versioned::Practices;

    fn version(&self) -> i32 {
        self.version
    }
}

/// Creates a practice (admins).
pub async fn create(ctx: &Ctx, caller: Caller<'_>, input: NewPractice) -> AppResult<Practice> {
    caller.may(Action::ManagePractices)?;
    let (now, today) = (naive(ctx.now()), ctx.today());
    let id = Uuid::now_v7().to_string();
    let periods = input.programs.unwrap_or_else(|| {
        vec![ProgramPeriod {
            program: Program::Sesame,
            starts_on: today,
            ends_on: None,
            funding: Funding::Permanent,
        }]
    });
    let programs = program_rows(&id, &periods)?;
    let row = PracticeRow {
        id,
        name: input.name.trimmed(),
        network: input.network.map(|n| n.trimmed()),
        region: input.region.trimmed(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let row = ctx
        .db
        .transaction(move |conn| {
            store::insert(conn, &row)?;
            store::replace_programs(conn, &row.id, &programs)?;
            Ok(row)
        })
        .await?;
    Practice::from_row(row, periods, today)
}

/// A page of the practices the caller may see (all of them for an admin), oldest first.
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: PracticeQuery,
    page: PageQuery,
) -> AppResult<PracticePage> {
    let scope = caller.may(Action::ReadPractices)?;
    let filter = PracticeFilter {
        network: text_filter("network", query.network)?,
        region: text_filter("region", query.region)?,
        active: query.active,
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let today = ctx.today();
    let rows = ctx
        .db
        .run(move |conn| {
            let rows = store::list(conn, &scope, &filter)?;
            with_programs(conn, rows, today)
        })
        .await?;
    let (items, next_cursor) = page.show(rows, |p| p.id.to_string(), Ok)?;
    Ok(PracticePage { items, next_cursor })
}

/// One practice the caller may see.
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<Practice> {
    let scope = caller.may(Action::ReadPractices)?;
    let (id, today) = (id.to_string(), ctx.today());
    ctx.db
        .run(move |conn| {
            let row = store::find(conn, &id)?
                .filter(|row| scope.covers(&row.id))
                .ok_or_else(|| AppError::not_found("practice"))?;
            one_with_programs(conn, row, today)
        })
        .await
}

fn one_with_programs(conn: &mut DbConn, row: PracticeRow, today: NaiveDate) -> AppResult<Practice> {
    with_programs(conn, vec![row], today)?
        .pop()
        .ok_or_else(|| AppError::Internal("a practice read back as none".to_owned()))
}

/// Changes or deactivates a practice (admins), against the version the caller holds.
pub async fn update(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: PracticeUpdate,
    expected: Option<i32>,
) -> AppResult<Practice> {
    caller.may(Action::ManagePractices)?;
    let (id, now, today) = (id.to_string(), naive(ctx.now()), ctx.today());
    let programs = input
        .programs
        .as_deref()
        .map(|periods| program_rows(&id, periods))
        .transpose()?;
    let changes = PracticeChanges {
        name: input.name.map(|v| v.trimmed()),
        network: input.network.map(|v| Some(v.trimmed())),
        region: input.region.map(|v| v.trimmed()),
        active: input.active,
    };
    ctx.db
        .transaction(move |conn| {
            let row = versioned::change(conn, &id, expected, find, |conn, _| {
                store::update(conn, &id, &changes, now)?;
                if let Some(programs) = &programs {
                    store::replace_programs(conn, &id, programs)?;
                }
                Ok(())
            })?;
            one_with_programs(conn, row, today)
        })
        .await
}

fn find(conn: &mut DbConn, id: &str) -> AppResult<PracticeRow> {
    store::find(conn, id)?.ok_or_else(|| AppError::not_found("practice"))
}
