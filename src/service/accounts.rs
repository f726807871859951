//! Accounts: the people who use the registry. Admins create, change, deactivate and unlock
//! them; coordinators read those of their practices; everyone reads their own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::versioned::{self, VersionedRow};
use super::{Caller, Ctx};
use crate::config::Settings;
use crate::db::accounts::{self as store, UserChanges, UserFilter, UserRecord, UserRow};
use crate::db::locks::Versioned;
use crate::db::stored_id;
use crate::db::{self, Db, DbConn, naive, utc};
use crate::domain::account::{
    AccountChange, Locale, LockoutPolicy, Role, check_new_password, is_valid_email, normalize_email,
};
use crate::domain::credentials::hash_password;
use crate::domain::policy::{Action, Actor};
use crate::domain::text::PlainText;
use crate::domain::tokens::SubjectKind;
use crate::error::{AppError, AppResult};
use crate::service::input::{PageQuery, uuids_as_strings};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub practice_ids: Vec<Uuid>,
    pub locale: Locale,
    pub active: bool,
    /// Locked after repeated failed logins (or by an admin); unlock with `locked: false`.
    pub locked: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// The account as shown; `locked` as `locked_ids` found it.
    pub fn from_record(record: UserRecord, locked: bool) -> AppResult<Self> {
        let UserRecord { user, practice_ids } = record;
        Ok(Self {
            id: stored_id(&user.id)?,
            email: user.email,
            name: user.name,
            role: user.role,
            practice_ids: ids(&practice_ids)?,
            locale: user.locale,
            active: user.active,
            locked,
            version: user.version,
            created_at: utc(user.created_at),
            updated_at: utc(user.updated_at),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's own account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    /// `user` for a person, `api_client` for practice software.
    pub kind: SubjectKind,
    /// A person's email (absent for an API client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub name: String,
    /// A person's role (absent for an API client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub practice_ids: Vec<Uuid>,
    pub locale: Locale,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[validate(custom(function = "crate::domain::account::email_address"))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(inline)]
    pub name: PlainText<200>,
    pub role: Role,
    /// The practices the person works in; each must exist.
    #[serde(default)]
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub practice_ids: Vec<Uuid>,
    #[serde(default)]
    pub locale: Locale,
    /// The initial password, 12 to 256 characters.
    #[validate(custom(function = "crate::domain::account::new_password"))]
    #[schema(min_length = 12, max_length = 256, pattern = r"\S")]
    pub password: String,
}

/// The API's body is checked field by field before it becomes the input every door gives.
impl From<NewUser> for NewAccount {
    fn from(body: NewUser) -> Self {
        NewAccount {
            email: body.email,
            name: body.name.trimmed(),
            role: body.role,
            practice_ids: uuids_as_strings(&body.practice_ids),
            locale: body.locale,
            password: body.password,
        }
    }
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub name: Option<PlainText<200>>,
    pub role: Option<Role>,
    /// Replaces the person's practices.
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    pub practice_ids: Option<Vec<Uuid>>,
    pub locale: Option<Locale>,
    /// `false` deactivates the account: its tokens stop working at once and it cannot log in.
    pub active: Option<bool>,
    /// `false` unlocks an account locked by failed logins; `true` locks it.
    pub locked: Option<bool>,
    /// Sets a new password (12 to 256 characters).
    #[validate(custom(function = "crate::domain::account::new_password"))]
    #[schema(min_length = 12, max_length = 256, pattern = r"\S")]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    /// Only members of this practice.
    pub practice_id: Option<Uuid>,
    pub active: Option<bool>,
}

impl VersionedRow for UserRecord {
    const TABLE: Versioned = Versioned::Users;

    fn version(&self) -> i32 {
        self.user.version
    }
}

impl From<&Settings> for LockoutPolicy {
    fn from(settings: &Settings) -> Self {
        LockoutPolicy {
            threshold: settings.lockout_threshold,
            lock_minutes: settings.lockout_minutes,
        }
    }
}

/// A new account, as any door hands it over.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The practices the person works in; each must exist.
    pub practice_ids: Vec<String>,
    pub locale: Locale,
    pub password: String,
}

/// Creates an account: the caller must manage accounts (an admin, or the operator); the email
/// must be free, the practices must exist and the password must meet the policy. The password is
/// hashed off the async workers, then the account and its practices are written in one
/// transaction.
pub async fn create(
    db: &Db,
    caller: Caller<'_>,
    input: NewAccount,
    now: DateTime<Utc>,
) -> AppResult<UserRecord> {
    caller.may(Action::ManageUsers)?;
    check(&input)?;
    let hash = hash(input.password.clone()).await?;
    db.transaction(move |conn| insert(conn, input, hash, now))
        .await
}

/// A page of the accounts the caller may read (all for an admin, a coordinator's practices),
/// oldest first; a filter on a practice of others is audited (and shows nothing).
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: UserQuery,
    page: PageQuery,
) -> AppResult<UserPage> {
    let scope = caller.may(Action::ReadUsers)?;
    let filter = UserFilter {
        role: query.role,
        practice_id: query.practice_id.map(|p| p.to_string()),
        active: query.active,
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let actor = acting(caller).cloned();
    let (policy, now) = (LockoutPolicy::from(&*ctx.settings), ctx.now());
    let (records, locked) = ctx
        .db
        .transaction(move |conn| {
            if let Some(actor) = &actor {
                let (practice, at) = (filter.practice_id.as_deref(), naive(now));
                db::audit::record_filter_outside_scope(
                    conn,
                    actor,
                    "user.list",
                    practice,
                    &scope,
                    at,
                )?;
            }
            let records = store::list_users(conn, &scope, &filter)?;
            let rows: Vec<&UserRow> = records.iter().map(|r| &r.user).collect();
            let locked = locked_ids(conn, policy, now, &rows)?;
            Ok((records, locked))
        })
        .await?;
    let (items, next_cursor) = page.show(
        records,
        |r| r.user.id.clone(),
        |r| {
            let is_locked = locked.contains(&r.user.id);
            User::from_record(r, is_locked)
        },
    )?;
    Ok(UserPage { items, next_cursor })
}

/// One account the caller may read.
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<User> {
    let scope = caller.may(Action::ReadUsers)?;
    let (id, policy, now) = (
        id.to_string(),
        LockoutPolicy::from(&*ctx.settings),
        ctx.now(),
    );
    ctx.db
        .run(move |conn| {
            let record = find(conn, &id)?;
            if !scope.covers_any(record.practice_ids.iter().map(String::as_str)) {
                return Err(AppError::not_found("account"));
            }
            shown(conn, policy, now, record)
        })
        .await
}

/// Changes an account (admins), against the version the caller holds: its name, role, practices
/// (each must exist), locale, whether it is active or locked, its password. Deactivation, a new
/// password, a lock or an unlock end its sessions at once; an admin cannot deactivate, lock or
/// demote their own account (409).
pub async fn update(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: UserUpdate,
    expected: Option<i32>,
) -> AppResult<User> {
    caller.may(Action::ManageUsers)?;
    let id = id.to_string();
    let change = AccountChange {
        active: input.active,
        locked: input.locked,
        role: input.role,
        new_password: input.password.is_some(),
    };
    if acting(caller).is_some_and(|actor| actor.id == id) {
        change.check_own().map_err(AppError::conflict)?;
    }
    let password_hash = match input.password {
        Some(password) => Some(hash(password).await?),
        None => None,
    };
    let (policy, now) = (LockoutPolicy::from(&*ctx.settings), ctx.now());
    let changes = UserChanges {
        name: input.name.map(|n| n.trimmed()),
        role: input.role,
        locale: input.locale,
        active: input.active,
        password_hash,
        failed_logins: input.locked.map(|_| 0),
        locked_at: input.locked.map(|locked| locked.then_some(naive(now))),
    };
    let practice_ids = input.practice_ids.as_deref().map(uuids_as_strings);
    ctx.db
        .transaction(move |conn| {
            let record = versioned::change(conn, &id, expected, find, |conn, _| {
                if let Some(practice_ids) = &practice_ids {
                    require_practices(conn, practice_ids)?;
                    store::set_practices(conn, &id, practice_ids)?;
                }
                store::update_user(conn, &id, &changes, naive(now))?;
                if change.forgets_login_failures() {
                    store::clear_all_login_failures(conn, &id)?;
                }
                if change.ends_sessions() {
                    // Refresh tokens and sessions both: access tokens stop working on every
                    // instance at once.
                    db::tokens::revoke_all_of_user(conn, &id, naive(now))?;
                    db::sessions::revoke_all_of(conn, &id, naive(now))?;
                }
                Ok(())
            })?;
            shown(conn, policy, now, record)
        })
        .await
}

/// The caller's own account, role and practices (a person's, or practice software's).
pub async fn me(ctx: &Ctx, actor: &Actor) -> AppResult<Me> {
    let actor = actor.clone();
    ctx.db
        .run(move |conn| {
            let (email, name) = match actor.kind {
                SubjectKind::User => {
                    let user = find(conn, &actor.id)?.user;
                    (Some(user.email), user.name)
                }
                SubjectKind::ApiClient => {
                    let client = store::find_api_client(conn, &actor.id)?
                        .ok_or_else(|| AppError::not_found("account"))?;
                    (None, client.name)
                }
            };
            Ok(Me {
                id: stored_id(&actor.id)?,
                kind: actor.kind,
                email,
                name,
                role: actor.role,
                practice_ids: ids(&actor.practice_ids)?,
                locale: actor.locale,
            })
        })
        .await
}

/// The person or software asking, when not the operator of the command line.
fn acting<'a>(caller: Caller<'a>) -> Option<&'a Actor> {
    match caller {
        Caller::Actor(actor) => Some(actor),
        Caller::Operator => None,
    }
}

/// Hashes a password on the blocking pool (argon2id is slow on purpose).
async fn hash(password: String) -> AppResult<String> {
    actix_web::web::block(move || hash_password(&password))
        .await
        .map_err(|_| AppError::Unavailable("the server is shutting down".to_owned()))?
        .map_err(AppError::Internal)
}

fn find(conn: &mut DbConn, id: &str) -> AppResult<UserRecord> {
    store::find_user(conn, id)?.ok_or_else(|| AppError::not_found("account"))
}

/// One account as shown, with whether it is locked now.
fn shown(
    conn: &mut DbConn,
    policy: LockoutPolicy,
    now: DateTime<Utc>,
    record: UserRecord,
) -> AppResult<User> {
    let locked = !locked_ids(conn, policy, now, &[&record.user])?.is_empty();
    User::from_record(record, locked)
}

/// Which of `users` are locked: by an admin (for every address), or after failed logins from
/// some client address by a lock still in force.
fn locked_ids(
    conn: &mut DbConn,
    policy: LockoutPolicy,
    now: DateTime<Utc>,
    users: &[&UserRow],
) -> AppResult<Vec<String>> {
    let since = policy.locks_in_force_since(now).map(naive);
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let mut locked = store::locked_for_some_address(conn, &ids, since)?;
    locked.extend(
        users
            .iter()
            .filter(|u| u.locked_at.is_some())
            .map(|u| u.id.clone()),
    );
    Ok(locked)
}

/// Stored ids as UUIDs.
fn ids(stored: &[String]) -> AppResult<Vec<Uuid>> {
    stored.iter().map(|id| stored_id(id)).collect()
}

/// The rules a new account meets whatever door it came through (the API's validation reports
/// every field at once before this; the command line relies on it).
fn check(input: &NewAccount) -> AppResult<()> {
    if !is_valid_email(&normalize_email(&input.email)) {
        return Err(AppError::invalid("email", "must be an email address"));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "name",
            "must be 1 to 200 characters of plain text",
        ));
    }
    check_new_password(&input.password).map_err(|why| AppError::invalid("password", why))
}

fn insert(
    conn: &mut DbConn,
    input: NewAccount,
    password_hash: String,
    now: DateTime<Utc>,
) -> AppResult<UserRecord> {
    let email = normalize_email(&input.email);
    if store::email_taken(conn, &email)? {
        return Err(AppError::conflict(
            "an account with this email already exists",
        ));
    }
    require_practices(conn, &input.practice_ids)?;
    let user = UserRow {
        id: Uuid::now_v7().to_string(),
        email,
        name: input.name.trim().to_owned(),
        role: input.role,
        locale: input.locale,
        active: true,
        password_hash,
        failed_logins: 0,
        locked_at: None,
        version: 1,
        created_at: naive(now),
        updated_at: naive(now),
    };
    store::insert_user(conn, &user, &input.practice_ids)?;
    Ok(UserRecord {
        user,
        practice_ids: input.practice_ids,
    })
}

/// Every practice named exists, or 422 naming the missing ones.
pub fn require_practices(conn: &mut DbConn, ids: &[String]) -> AppResult<()> {
    let missing = crate::db::practices::missing(conn, ids)?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(
            "practice_ids",
            format!("no such practice: {}", missing.join(", ")),
        ))
    }
}
