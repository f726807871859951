//! Practices: created and changed by admins; everyone reads the practices they belong to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::versioned::{self, VersionedRow};
use super::{Caller, Ctx};
use crate::db::locks::Versioned;
use crate::db::practices::{self as store, PracticeChanges, PracticeFilter, PracticeRow};
use crate::db::stored_id;
use crate::db::{DbConn, naive, utc};
use crate::domain::policy::Action;
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
    pub active: bool,
    /// Increases with every change; send it back in `If-Match` to update safely.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Practice {
    fn from_row(row: PracticeRow) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            name: row.name,
            network: row.network,
            region: row.region,
            active: row.active,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
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
    let now = naive(ctx.now());
    let row = PracticeRow {
        id: Uuid::now_v7().to_string(),
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
            Ok(row)
        })
        .await?;
    Practice::from_row(row)
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
    let rows = ctx
        .db
        .run(move |conn| Ok(store::list(conn, &scope, &filter)?))
        .await?;
    let (items, next_cursor) = page.show(rows, |row| row.id.clone(), Practice::from_row)?;
    Ok(PracticePage { items, next_cursor })
}

/// One practice the caller may see.
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<Practice> {
    let scope = caller.may(Action::ReadPractices)?;
    let id = id.to_string();
    let row = ctx
        .db
        .run(move |conn| Ok(store::find(conn, &id)?))
        .await?
        .filter(|row| scope.covers(&row.id))
        .ok_or_else(|| AppError::not_found("practice"))?;
    Practice::from_row(row)
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
    let (id, now) = (id.to_string(), naive(ctx.now()));
    let changes = PracticeChanges {
        name: input.name.map(|v| v.trimmed()),
        network: input.network.map(|v| Some(v.trimmed())),
        region: input.region.map(|v| v.trimmed()),
        active: input.active,
    };
    let row = ctx
        .db
        .transaction(move |conn| {
            versioned::change(conn, &id, expected, find, |conn, _| {
                store::update(conn, &id, &changes, now)?;
                Ok(())
            })
        })
        .await?;
    Practice::from_row(row)
}

fn find(conn: &mut DbConn, id: &str) -> AppResult<PracticeRow> {
    store::find(conn, id)?.ok_or_else(|| AppError::not_found("practice"))
}
