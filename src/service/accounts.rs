//! Accounts: the people who use the registry.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Caller;
use crate::db::accounts::{self as store, UserRecord, UserRow};
use crate::db::{Db, DbConn, naive};
use crate::domain::account::{Locale, Role, check_new_password, is_valid_email, normalize_email};
use crate::domain::credentials::hash_password;
use crate::domain::policy::Action;
use crate::error::{AppError, AppResult};

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
    let password = input.password.clone();
    let hash = actix_web::web::block(move || hash_password(&password))
        .await
        .map_err(|_| AppError::Unavailable("the server is shutting down".to_owned()))?
        .map_err(AppError::Internal)?;
    db.transaction(move |conn| insert(conn, input, hash, now))
        .await
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
        role: input.role.as_str().to_owned(),
        locale: input.locale.as_str().to_owned(),
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
