//! Sessions: signing in (a person's password, an API client's credentials), refreshing with
//! rotation, signing out, and resolving an access token to the caller. The doors add what is
//! theirs: the API counts refusals (`Unauthorized`) against the client address's budget.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Ctx;
use crate::db::audit;
use crate::db::tokens::RefreshTokenRow;
use crate::db::{self, DbConn, accounts, naive, utc};
use crate::domain::account::{Locale, LockoutPolicy, normalize_email, whole_seconds};
use crate::domain::credentials::{
    burn_verification_time, random_secret, secret_digest, verify_password,
};
use crate::domain::policy::Actor;
use crate::domain::tokens::{SubjectKind, TokenError};
use crate::error::{AppError, AppResult};

const BAD_LOGIN: &str = "invalid email or password";
const BAD_CLIENT: &str = "invalid client credentials";
const BAD_REFRESH: &str = "the refresh token is not valid; log in again";

// What a sign-in or a refresh gives.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// A signed JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// An opaque token for `POST /api/v1/auth/refresh` (people only, not API clients); single use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// A person signs in from `addr` (the client address: failed logins lock the account for that
/// address only). 401 for a wrong email or password or a deactivated account, 423 when locked
/// (by an admin, or for this address after repeated failures), 429 while the account's failures
/// from this address ask to wait.
pub async fn password_grant(
    ctx: &Ctx,
    email: &str,
    password: String,
    addr: &str,
) -> AppResult<TokenResponse> {
    let lookup = normalize_email(email);
    let pair_addr = addr.to_owned();
    let record = ctx
        .db
        .run(move |conn| {
            let Some(record) = accounts::find_user_by_email(conn, &lookup)? else {
                return Ok(None);
            };
            let failures = accounts::find_login_failures(conn, &record.user.id, &pair_addr)?;
            Ok(Some((record, failures)))
        })
        .await?;
    let now = ctx.now();
    let policy = LockoutPolicy::from(ctx.settings.as_ref());
    let Some((record, failures)) = record else {
        actix_web::web::block(move || burn_verification_time(&password))
            .await
            .ok();
        refuse(
            ctx,
            anonymous(),
            "auth.login",
            audit::DENIED_BAD_CREDENTIALS,
        )
        .await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.to_owned()));
    };
    let user = record.user;
    // An admin's lock holds for every address until an admin lifts it; a lock after failed
    // logins holds only for the address they came from (so nobody can lock a colleague out from
    // elsewhere), and for `SESAME_LOCKOUT_MINUTES` when set.
    let pair_lock = failures.as_ref().and_then(|f| f.locked_at).map(utc);
    let locked = if user.locked_at.is_some() {
        Some((
            "an administrator has locked this account; ask an administrator to unlock it",
            None,
        ))
    } else if policy.is_locked(pair_lock, now) {
        Some((
            "this account is locked for your address after repeated failed logins; try again \
             later, from your usual workstation, or ask an administrator",
            policy.lock_remaining(pair_lock, now).map(whole_seconds),
        ))
    } else {
        None
    };
    if let Some((detail, retry_after)) = locked {
        refuse(
            ctx,
            user_attempt(&user.id),
            "auth.login",
            audit::DENIED_LOCKED,
        )
        .await?;
        return Err(AppError::Locked {
            detail: detail.to_owned(),
            retry_after,
        });
    }
    if let Some(f) = failures.as_ref().filter(|f| f.locked_at.is_none())
        && let Some(wait) = policy.wait_before_next(f.failed, utc(f.last_failed_at), now)
    {
        return Err(AppError::TooManyRequests {
            detail: "too many failed logins for this account from your address; wait before \
                     trying again"
                .to_owned(),
            retry_after: whole_seconds(wait),
        });
    }
    let stored = user.password_hash.clone();
    let verified = actix_web::web::block(move || verify_password(&password, &stored))
        .await
        .map_err(|_| AppError::Unavailable("the server is shutting down".to_owned()))?;
    let user_id = user.id.clone();
    let pair_addr = addr.to_owned();
    if !verified {
        let lock_expired = policy.has_expired(pair_lock, now);
        let who = user_attempt(&user_id);
        ctx.db
            .transaction(move |conn| {
                accounts::record_login_failure(
                    conn,
                    &user_id,
                    &pair_addr,
                    lock_expired,
                    |n| policy.locks_after(n),
                    naive(now),
                )?;
                audit::record_refusal(
                    conn,
                    &who,
                    "auth.login",
                    audit::DENIED_BAD_CREDENTIALS,
                    naive(now),
                )?;
                Ok(())
            })
            .await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.to_owned()));
    }
    if !user.active {
        refuse(
            ctx,
            user_attempt(&user.id),
            "auth.login",
            audit::DENIED_BAD_CREDENTIALS,
        )
        .await?;
        return Err(AppError::Unauthorized(BAD_LOGIN.to_owned()));
    }
    let refresh_ttl = ctx.settings.refresh_token_ttl_secs;
    let session = Uuid::now_v7().to_string();
    let family = session.clone();
    let refresh_token = ctx
        .db
        .transaction(move |conn| {
            accounts::clear_login_failures(conn, &user_id, &pair_addr)?;
            db::sessions::insert(conn, &family, &user_id, "user", naive(now))?;
            issue_refresh_token(conn, &user_id, &family, now, refresh_ttl)
        })
        .await?;
    access_token(
        ctx,
        SubjectKind::User,
        &user.id,
        &session,
        Some(refresh_token),
    )
}

/// Practice software signs in with its client id and secret (RFC 6749 §4.4); 401 otherwise, or
/// when the client or its practice is deactivated.
pub async fn client_grant(ctx: &Ctx, client_id: Uuid, secret: String) -> AppResult<TokenResponse> {
    let client_id = client_id.to_string();
    let client = ctx
        .db
        .run(move |conn| {
            let Some(client) = accounts::find_api_client(conn, &client_id)? else {
                return Ok(None);
            };
            let practice_active = db::practices::find(conn, &client.practice_id)?
                .is_some_and(|practice| practice.active);
            Ok(Some((client, practice_active)))
        })
        .await?;
    match client {
        Some((client, true))
            if client.active && constant_time_eq(&secret_digest(&secret), &client.secret_hash) =>
        {
            let now = ctx.now();
            let session = Uuid::now_v7().to_string();
            let (id, sid) = (client.id.clone(), session.clone());
            ctx.db
                .transaction(move |conn| {
                    Ok(db::sessions::insert(
                        conn,
                        &sid,
                        &id,
                        "api_client",
                        naive(now),
                    )?)
                })
                .await?;
            access_token(ctx, SubjectKind::ApiClient, &client.id, &session, None)
        }
        other => {
            let who = match &other {
                Some((client, _)) => attempt(&client.id, SubjectKind::ApiClient),
                None => anonymous(),
            };
            refuse(
                ctx,
                who,
                "auth.client_credentials",
                audit::DENIED_BAD_CREDENTIALS,
            )
            .await?;
            Err(AppError::Unauthorized(BAD_CLIENT.to_owned()))
        }
    }
}

/// Trades a refresh token for new tokens; the one given stops working. A replayed token (already
/// rotated) means it was copied: its whole family — the session and the access tokens issued in
/// it — is revoked, and that sticks although the request is refused (401).
pub async fn refresh(ctx: &Ctx, refresh_token: &str) -> AppResult<TokenResponse> {
    let now = ctx.now();
    let ttl = ctx.settings.refresh_token_ttl_secs;
    let digest = secret_digest(refresh_token);
    let (user_id, session, token) = ctx
        .db
        .transaction(move |conn| {
            let Some(row) = db::tokens::find_by_hash(conn, &digest)? else {
                return Err(AppError::Unauthorized(BAD_REFRESH.to_owned()));
            };
            let refused = |conn: &mut DbConn, reason| -> AppResult<_> {
                audit::record_refusal(
                    conn,
                    &user_attempt(&row.user_id),
                    "auth.refresh",
                    reason,
                    naive(now),
                )?;
                Err(AppError::Unauthorized(BAD_REFRESH.to_owned()).recorded())
            };
            if row.revoked_at.is_some() {
                db::tokens::revoke_family(conn, &row.family_id, naive(now))?;
                db::sessions::revoke(conn, &row.family_id, naive(now))?;
                return refused(conn, audit::DENIED_TOKEN);
            }
            if utc(row.expires_at) <= now {
                return refused(conn, audit::DENIED_TOKEN);
            }
            let active = accounts::find_user(conn, &row.user_id)?.is_some_and(|u| u.user.active);
            if !active || !db::tokens::revoke(conn, &row.id, naive(now))? {
                return refused(conn, audit::DENIED_TOKEN);
            }
            let token = issue_refresh_token(conn, &row.user_id, &row.family_id, now, ttl)?;
            Ok((row.user_id, row.family_id, token))
        })
        .await?;
    access_token(ctx, SubjectKind::User, &user_id, &session, Some(token))
}

/// Revokes a refresh token and every token rotated from the same login, with their session (so
/// the access tokens stop working too, on every instance). An unknown token is no error.
pub async fn logout(ctx: &Ctx, refresh_token: &str) -> AppResult<()> {
    let now = ctx.now();
    let digest = secret_digest(refresh_token);
    ctx.db
        .transaction(move |conn| {
            if let Some(row) = db::tokens::find_by_hash(conn, &digest)? {
                db::tokens::revoke_family(conn, &row.family_id, naive(now))?;
                db::sessions::revoke(conn, &row.family_id, naive(now))?;
            }
            Ok(())
        })
        .await
}

/// The caller an access token names. Every request re-reads the account and its session, so
/// deactivation, logout and revocation take effect at once rather than when tokens expire. 401
/// for a token that is not valid, expired or revoked; one whose signature holds names a known
/// account, and its refusal is audited.
pub async fn authenticate(ctx: &Ctx, token: &str) -> AppResult<Actor> {
    let claims = match ctx.tokens.verify(token, ctx.now()) {
        Ok(claims) => claims,
        Err(TokenError::Invalid) => {
            return Err(AppError::Unauthorized(TokenError::Invalid.to_string()));
        }
        Err(error @ TokenError::Expired { .. }) => {
            if let TokenError::Expired { subject, kind } = &error {
                refuse(
                    ctx,
                    attempt(subject, *kind),
                    "auth.token",
                    audit::DENIED_EXPIRED,
                )
                .await?;
            }
            return Err(AppError::Unauthorized(error.to_string()));
        }
    };
    let (sub, kind) = (claims.sub.clone(), claims.kind);
    let actor = ctx
        .db
        .run(move |conn| {
            if !db::sessions::is_live(conn, &claims.sid, &claims.sub)? {
                return Ok(None);
            }
            match claims.kind {
                SubjectKind::User => {
                    let Some(record) =
                        accounts::find_user(conn, &claims.sub)?.filter(|r| r.user.active)
                    else {
                        return Ok(None);
                    };
                    Ok(Some(Actor {
                        id: record.user.id,
                        kind: SubjectKind::User,
                        role: Some(record.user.role),
                        practice_ids: record.practice_ids,
                        locale: record.user.locale,
                    }))
                }
                SubjectKind::ApiClient => {
                    let Some(client) =
                        accounts::find_api_client(conn, &claims.sub)?.filter(|c| c.active)
                    else {
                        return Ok(None);
                    };
                    let practice_active =
                        db::practices::find(conn, &client.practice_id)?.is_some_and(|p| p.active);
                    Ok(practice_active.then(|| Actor {
                        id: client.id,
                        kind: SubjectKind::ApiClient,
                        role: None,
                        practice_ids: vec![client.practice_id],
                        locale: Locale::default(),
                    }))
                }
            }
        })
        .await?;
    match actor {
        Some(actor) => Ok(actor),
        None => {
            refuse(
                ctx,
                attempt(&sub, kind),
                "auth.token",
                audit::DENIED_REVOKED,
            )
            .await?;
            Err(AppError::Unauthorized(
                "this token was revoked (logout, a new password, a deactivation or a lock); \
                 log in again"
                    .to_owned(),
            ))
        }
    }
}

/// A refused attempt, audited in a transaction of its own (nothing else is written).
async fn refuse(
    ctx: &Ctx,
    who: audit::Attempt,
    action: &'static str,
    reason: &'static str,
) -> AppResult<()> {
    let at = naive(ctx.now());
    ctx.db
        .transaction(move |conn| Ok(audit::record_refusal(conn, &who, action, reason, at)?))
        .await
}

fn anonymous() -> audit::Attempt {
    audit::Attempt {
        actor_id: audit::ANONYMOUS_ID.to_owned(),
        actor_kind: "anonymous",
    }
}

fn user_attempt(id: &str) -> audit::Attempt {
    attempt(id, SubjectKind::User)
}

fn attempt(subject: &str, kind: SubjectKind) -> audit::Attempt {
    audit::Attempt {
        actor_id: subject.to_owned(),
        actor_kind: match kind {
            SubjectKind::User => "user",
            SubjectKind::ApiClient => "api_client",
        },
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn access_token(
    ctx: &Ctx,
    kind: SubjectKind,
    subject: &str,
    session: &str,
    refresh_token: Option<String>,
) -> AppResult<TokenResponse> {
    let access_token = ctx
        .tokens
        .issue(kind, subject, session, ctx.now())
        .map_err(AppError::Internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ctx.tokens.ttl_secs(),
        refresh_token,
    })
}

fn issue_refresh_token(
    conn: &mut DbConn,
    user_id: &str,
    family_id: &str,
    now: DateTime<Utc>,
    ttl_secs: i64,
) -> AppResult<String> {
    let token = random_secret();
    db::tokens::insert(
        conn,
        &RefreshTokenRow {
            id: Uuid::now_v7().to_string(),
            token_hash: secret_digest(&token),
            family_id: family_id.to_owned(),
            user_id: user_id.to_owned(),
            issued_at: naive(now),
            expires_at: naive(now + Duration::seconds(ttl_secs)),
            revoked_at: None,
        },
    )?;
    Ok(token)
}
