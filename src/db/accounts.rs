//! User accounts with their practices, and API clients (machine accounts of one practice).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{api_clients, login_failures, user_practices, users};
use crate::domain::account::{Locale, Role};
use crate::domain::policy::Scope;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub locale: Locale,
    pub active: bool,
    pub password_hash: String,
    pub failed_logins: i32,
    pub locked_at: Option<NaiveDateTime>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A user with the practices they belong to.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: UserRow,
    pub practice_ids: Vec<String>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub locale: Option<Locale>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub failed_logins: Option<i32>,
    pub locked_at: Option<Option<NaiveDateTime>>,
}

impl UserChanges {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.role.is_none()
            && self.locale.is_none()
            && self.active.is_none()
            && self.password_hash.is_none()
            && self.failed_logins.is_none()
            && self.locked_at.is_none()
    }
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub practice_id: Option<String>,
    pub active: Option<bool>,
    pub after: Option<String>,
    pub limit: i64,
}

pub fn insert_user(conn: &mut DbConn, user: &UserRow, practice_ids: &[String]) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)?;
    set_practices(conn, &user.id, practice_ids)
}

pub fn set_practices(conn: &mut DbConn, user_id: &str, practice_ids: &[String]) -> QueryResult<()> {
    diesel::delete(user_practices::table.filter(user_practices::user_id.eq(user_id)))
        .execute(conn)?;
    // One statement per row: multi-row VALUES is not in what both backends share through diesel.
    for practice_id in practice_ids {
        diesel::insert_into(user_practices::table)
            .values((
                user_practices::user_id.eq(user_id),
                user_practices::practice_id.eq(practice_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn practice_ids_of(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<String>> {
    user_practices::table
        .filter(user_practices::user_id.eq(user_id))
        .select(user_practices::practice_id)
        .order(user_practices::practice_id)
        .load(conn)
}

fn with_practices(conn: &mut DbConn, user: Option<UserRow>) -> QueryResult<Option<UserRecord>> {
    user.map(|user| {
        Ok(UserRecord {
            practice_ids: practice_ids_of(conn, &user.id)?,
            user,
        })
    })
    .transpose()
}

pub fn find_user(conn: &mut DbConn, id: &str) -> QueryResult<Option<UserRecord>> {
    let user = users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    with_practices(conn, user)
}

pub fn find_user_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRecord>> {
    let user = users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    with_practices(conn, user)
}

pub fn email_taken(conn: &mut DbConn, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::email.eq(email)),
    ))
    .get_result(conn)
}

/// Users in scope (a user is in scope when one of their practices is), in creation order.
pub fn list_users(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &UserFilter,
) -> QueryResult<Vec<UserRecord>> {
    let mut query = users::table
        .select(UserRow::as_select())
        .order(users::id)
        .limit(filter.limit)
        .into_boxed();
    if let Scope::Practices(ids) = scope {
        let members = user_practices::table
            .filter(user_practices::practice_id.eq_any(ids.clone()))
            .select(user_practices::user_id);
        query = query.filter(users::id.eq_any(members));
    }
    if let Some(practice_id) = &filter.practice_id {
        let members = user_practices::table
            .filter(user_practices::practice_id.eq(practice_id.clone()))
            .select(user_practices::user_id);
        query = query.filter(users::id.eq_any(members));
    }
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(after) = &filter.after {
        query = query.filter(users::id.gt(after.clone()));
    }
    let rows = query.load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|u| u.id.as_str()).collect();
    let memberships: Vec<(String, String)> = user_practices::table
        .filter(user_practices::user_id.eq_any(ids))
        .select((user_practices::user_id, user_practices::practice_id))
        .order((user_practices::user_id, user_practices::practice_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|user| {
            let practice_ids = memberships
                .iter()
                .filter(|(u, _)| *u == user.id)
                .map(|(_, p)| p.clone())
                .collect();
            UserRecord { user, practice_ids }
        })
        .collect())
}

/// Applies the changes and bumps the version; `false` when no such user exists.
pub fn update_user(
    conn: &mut DbConn,
    id: &str,
    changes: &UserChanges,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = users::table.find(id);
    let touched = diesel::update(target)
        .set((
            users::version.eq(users::version + 1),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if touched > 0 && !changes.is_empty() {
        diesel::update(target).set(changes).execute(conn)?;
    }
    Ok(touched > 0)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_clients)]
pub struct ApiClientRow {
    pub id: String,
    pub practice_id: String,
    pub name: String,
    pub secret_hash: String,
    pub active: bool,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = api_clients)]
pub struct ApiClientChanges {
    pub name: Option<String>,
    pub active: Option<bool>,
}

pub fn insert_api_client(conn: &mut DbConn, row: &ApiClientRow) -> QueryResult<()> {
    diesel::insert_into(api_clients::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn find_api_client(conn: &mut DbConn, id: &str) -> QueryResult<Option<ApiClientRow>> {
    api_clients::table
        .find(id)
        .select(ApiClientRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_api_clients(
    conn: &mut DbConn,
    practice_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ApiClientRow>> {
    let mut query = api_clients::table
        .select(ApiClientRow::as_select())
        .order(api_clients::id)
        .limit(limit)
        .into_boxed();
    if let Some(practice_id) = practice_id {
        query = query.filter(api_clients::practice_id.eq(practice_id.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(api_clients::id.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn update_api_client(
    conn: &mut DbConn,
    id: &str,
    changes: &ApiClientChanges,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = api_clients::table.find(id);
    let touched = diesel::update(target)
        .set((
            api_clients::version.eq(api_clients::version + 1),
            api_clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    if touched > 0 && (changes.name.is_some() || changes.active.is_some()) {
        diesel::update(target).set(changes).execute(conn)?;
    }
    Ok(touched > 0)
}

/// Failed logins of one account from one client address.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_failures)]
pub struct LoginFailureRow {
    pub failed: i32,
    pub last_failed_at: NaiveDateTime,
    pub locked_at: Option<NaiveDateTime>,
}

pub fn find_login_failures(
    conn: &mut DbConn,
    user_id: &str,
    client_addr: &str,
) -> QueryResult<Option<LoginFailureRow>> {
    login_failures::table
        .find((user_id, client_addr))
        .select(LoginFailureRow::as_select())
        .first(conn)
        .optional()
}

/// Counts one more failure of `user_id` from `client_addr` (atomically, also under concurrent
/// attempts) and locks the pair when `lock` says the new count is enough; an expired lock first
/// starts the count again. Returns the new count.
pub fn record_login_failure(
    conn: &mut DbConn,
    user_id: &str,
    client_addr: &str,
    lock_expired: bool,
    lock: impl Fn(i32) -> bool,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    let pair = login_failures::table.find((user_id, client_addr));
    if lock_expired {
        diesel::delete(pair).execute(conn)?;
    }
    let first = (
        login_failures::user_id.eq(user_id),
        login_failures::client_addr.eq(client_addr),
        login_failures::failed.eq(1),
        login_failures::last_failed_at.eq(now),
    );
    let again = (
        login_failures::failed.eq(login_failures::failed + 1),
        login_failures::last_failed_at.eq(now),
    );
    // ON CONFLICT is not in what both backends share through the MultiConnection.
    match conn {
        DbConn::Postgres(pg) => diesel::insert_into(login_failures::table)
            .values(first)
            .on_conflict((login_failures::user_id, login_failures::client_addr))
            .do_update()
            .set(again)
            .execute(pg)?,
        DbConn::Sqlite(sqlite) => diesel::insert_into(login_failures::table)
            .values(first)
            .on_conflict((login_failures::user_id, login_failures::client_addr))
            .do_update()
            .set(again)
            .execute(sqlite)?,
    };
    let row = pair.select(LoginFailureRow::as_select()).first(conn)?;
    if lock(row.failed) && row.locked_at.is_none() {
        diesel::update(pair)
            .set(login_failures::locked_at.eq(now))
            .execute(conn)?;
    }
    Ok(row.failed)
}

/// A successful login from an address forgets that address's failures.
pub fn clear_login_failures(
    conn: &mut DbConn,
    user_id: &str,
    client_addr: &str,
) -> QueryResult<()> {
    diesel::delete(login_failures::table.find((user_id, client_addr)))
        .execute(conn)
        .map(drop)
}

/// An admin's unlock forgets the account's failures from every address.
pub fn clear_all_login_failures(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::user_id.eq(user_id)))
        .execute(conn)
        .map(drop)
}

/// The accounts among `user_ids` locked for some address by a lock set at or after `since`
/// (`None`: any lock, when locks last until an admin unlocks).
pub fn locked_for_some_address(
    conn: &mut DbConn,
    user_ids: &[&str],
    since: Option<NaiveDateTime>,
) -> QueryResult<Vec<String>> {
    let mut query = login_failures::table
        .filter(login_failures::user_id.eq_any(user_ids))
        .filter(login_failures::locked_at.is_not_null())
        .select(login_failures::user_id)
        .distinct()
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(login_failures::locked_at.ge(since));
    }
    query.load(conn)
}

/// A successful login clears the count of failures.
pub fn record_successful_login(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(
        users::table.find(id).filter(
            users::failed_logins
                .ne(0)
                .or(users::locked_at.is_not_null()),
        ),
    )
    .set((
        users::failed_logins.eq(0),
        users::locked_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(drop)
}

/// Whether `user_id` is an active account of `role` working in `practice_id`.
pub fn is_active_member(
    conn: &mut DbConn,
    user_id: &str,
    role: Role,
    practice_id: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .inner_join(user_practices::table)
            .filter(users::id.eq(user_id))
            .filter(users::role.eq(role))
            .filter(users::active.eq(true))
            .filter(user_practices::practice_id.eq(practice_id)),
    ))
    .get_result(conn)
}

/// The active accounts of `role` in a practice.
pub fn active_members_with_role(
    conn: &mut DbConn,
    practice_id: &str,
    role: Role,
) -> QueryResult<Vec<String>> {
    users::table
        .inner_join(user_practices::table)
        .filter(user_practices::practice_id.eq(practice_id))
        .filter(users::role.eq(role))
        .filter(users::active.eq(true))
        .select(users::id)
        .order(users::id)
        .load(conn)
}

/// An account to write to, with its practices.
#[derive(Debug, Clone)]
pub struct Correspondent {
    pub id: String,
    pub email: String,
    pub locale: Locale,
    pub practice_ids: Vec<String>,
}

/// Every active account of `role`, with its email, locale and practices.
pub fn active_with_role(conn: &mut DbConn, role: Role) -> QueryResult<Vec<Correspondent>> {
    let people: Vec<(String, String, Locale)> = users::table
        .filter(users::role.eq(role))
        .filter(users::active.eq(true))
        .select((users::id, users::email, users::locale))
        .order(users::id)
        .load(conn)?;
    let memberships: Vec<(String, String)> = user_practices::table
        .inner_join(users::table)
        .filter(users::role.eq(role))
        .filter(users::active.eq(true))
        .select((user_practices::user_id, user_practices::practice_id))
        .load(conn)?;
    let mut by_user: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (user, practice) in memberships {
        by_user.entry(user).or_default().push(practice);
    }
    Ok(people
        .into_iter()
        .map(|(id, email, locale)| Correspondent {
            practice_ids: by_user.remove(&id).unwrap_or_default(),
            id,
            email,
            locale,
        })
        .collect())
}
