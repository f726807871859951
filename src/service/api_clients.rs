//! API clients: machine accounts of practice software, bound to one practice, managed by admins.
//! The secret is shown once, at creation, and only its digest is kept.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::versioned::{self, VersionedRow};
use super::{Caller, Ctx};
use crate::db::accounts::{self as store, ApiClientChanges, ApiClientRow};
use crate::db::locks::Versioned;
use crate::db::stored_id;
use crate::db::{self, DbConn, naive, utc};
use crate::domain::account::AccountChange;
use crate::domain::credentials::{random_secret, secret_digest};
use crate::domain::policy::Action;
use crate::domain::text::{PlainText, described};
use crate::error::{AppError, AppResult};
use crate::service::input::PageQuery;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiClient {
    /// The `client_id` of the client-credentials grant.
    pub id: Uuid,
    pub practice_id: Uuid,
    pub name: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApiClient {
    fn from_row(row: ApiClientRow) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            practice_id: stored_id(&row.practice_id)?,
            name: row.name,
            active: row.active,
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

/// A new API client with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiClientWithSecret {
    #[serde(flatten)]
    pub client: ApiClient,
    /// The `client_secret` of the client-credentials grant. Keep it: it cannot be shown again.
    pub client_secret: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiClientPage {
    pub items: Vec<ApiClient>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiClient {
    pub practice_id: Uuid,
    /// What the software is (the contract's words: `name_schema`).
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = name_schema)]
    pub name: PlainText<200>,
}

/// The schema of `NewApiClient::name`: plain text, described.
fn name_schema() -> RefOr<Schema> {
    let what = "What the software is, e.g. \"Cabinet Voltaire — logiciel métier\".";
    described(PlainText::<200>::schema(), what)
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiClientUpdate {
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub name: Option<PlainText<200>>,
    /// `false` deactivates the client: its tokens stop working at once.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApiClientQuery {
    /// Only the clients of this practice.
    pub practice_id: Option<Uuid>,
}

impl VersionedRow for ApiClientRow {
    const TABLE: Versioned = Versioned::ApiClients;

    fn version(&self) -> i32 {
        self.version
    }
}

/// Creates an API client for one existing practice (admins), with a new secret.
pub async fn create(
    ctx: &Ctx,
    caller: Caller<'_>,
    input: NewApiClient,
) -> AppResult<ApiClientWithSecret> {
    caller.may(Action::ManageApiClients)?;
    let now = naive(ctx.now());
    let secret = random_secret();
    let row = ApiClientRow {
        id: Uuid::now_v7().to_string(),
        practice_id: input.practice_id.to_string(),
        name: input.name.trimmed(),
        secret_hash: secret_digest(&secret),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let row = ctx
        .db
        .transaction(move |conn| {
            if db::practices::find(conn, &row.practice_id)?.is_none() {
                return Err(AppError::invalid("practice_id", "no such practice"));
            }
            store::insert_api_client(conn, &row)?;
            Ok(row)
        })
        .await?;
    Ok(ApiClientWithSecret {
        client: ApiClient::from_row(row)?,
        client_secret: secret,
    })
}

/// A page of API clients (admins), oldest first.
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: ApiClientQuery,
    page: PageQuery,
) -> AppResult<ApiClientPage> {
    caller.may(Action::ManageApiClients)?;
    let practice_id = query.practice_id.map(|p| p.to_string());
    let (after, limit) = (page.after_id()?, page.fetch_limit());
    let rows = ctx
        .db
        .run(move |conn| {
            let practice_id = practice_id.as_deref();
            Ok(store::list_api_clients(
                conn,
                practice_id,
                after.as_deref(),
                limit,
            )?)
        })
        .await?;
    let (items, next_cursor) = page.show(rows, |row| row.id.clone(), ApiClient::from_row)?;
    Ok(ApiClientPage { items, next_cursor })
}

/// One API client (admins).
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<ApiClient> {
    caller.may(Action::ManageApiClients)?;
    let id = id.to_string();
    let row = ctx.db.run(move |conn| find(conn, &id)).await?;
    ApiClient::from_row(row)
}

/// Renames, deactivates or reactivates an API client (admins), against the version the caller
/// holds; a change of `active` ends the client's sessions at once.
pub async fn update(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: ApiClientUpdate,
    expected: Option<i32>,
) -> AppResult<ApiClient> {
    caller.may(Action::ManageApiClients)?;
    let (id, now) = (id.to_string(), naive(ctx.now()));
    let change = AccountChange {
        active: input.active,
        ..AccountChange::default()
    };
    let changes = ApiClientChanges {
        name: input.name.map(|n| n.trimmed()),
        active: input.active,
    };
    let row = ctx
        .db
        .transaction(move |conn| {
            versioned::change(conn, &id, expected, find, |conn, _| {
                store::update_api_client(conn, &id, &changes, now)?;
                if change.ends_sessions() {
                    db::sessions::revoke_all_of(conn, &id, now)?;
                }
                Ok(())
            })
        })
        .await?;
    ApiClient::from_row(row)
}

fn find(conn: &mut DbConn, id: &str) -> AppResult<ApiClientRow> {
    store::find_api_client(conn, id)?.ok_or_else(|| AppError::not_found("API client"))
}
