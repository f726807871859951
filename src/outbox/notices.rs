//! Messages written in the transaction of the event that causes them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::cases::CaseRow;
use crate::db::outbox::{self as store, OutboxRow};
use crate::db::{DbConn, accounts, naive};
use crate::domain::account::{Locale, Role};
use crate::domain::outbox::MessageStatus;
use crate::email::content::{Notice, OpinionUpdate, render};
use crate::error::AppResult;

/// Someone to write to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub user_id: Option<String>,
    pub locale: Locale,
}

/// Writes `notice` for `to` unless a message with `key` exists; `true` when written.
pub fn enqueue(
    conn: &mut DbConn,
    settings: &Settings,
    key: String,
    notice: &Notice,
    to: &Recipient,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let message = render(notice, to.locale, &settings.public_url, settings.timezone);
    let row = OutboxRow {
        id: Uuid::now_v7().to_string(),
        dedupe_key: key,
        kind: notice.kind().to_owned(),
        recipient: to.email.clone(),
        recipient_user_id: to.user_id.clone(),
        locale: to.locale.as_str().to_owned(),
        subject: message.subject,
        body_text: message.text,
        body_html: message.html,
        status: MessageStatus::Pending,
        attempts: 0,
        next_attempt_at: naive(now),
        claimed_by: None,
        lease_until: None,
        last_error: None,
        sent_at: None,
        created_at: naive(now),
        updated_at: naive(now),
    };
    Ok(store::enqueue(conn, &row)?)
}

/// An active account as a recipient (its email and locale); `None` when inactive or unknown.
pub fn recipient_of(conn: &mut DbConn, user_id: &str) -> AppResult<Option<Recipient>> {
    Ok(accounts::find_user(conn, user_id)?
        .filter(|u| u.user.active)
        .map(|u| Recipient {
            email: u.user.email,
            user_id: Some(u.user.id),
            locale: u.user.locale,
        }))
}

/// A PHQ-9 answered with item 9 above 0 (`score_id`) on a case: at once, to the case's GP and to
/// its nurse — or, while no nurse is assigned, to the nurses of the practice. Says only that a
/// case needs attention, with a link.
pub fn safety_alert(
    conn: &mut DbConn,
    settings: &Settings,
    case: &CaseRow,
    score_id: &str,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut people: Vec<String> = case.referring_gp_id.iter().cloned().collect();
    match &case.nurse_id {
        Some(nurse) => people.push(nurse.clone()),
        None => people.extend(accounts::active_members_with_role(
            conn,
            &case.practice_id,
            Role::Nurse,
        )?),
    }
    people.sort();
    people.dedup();
    let notice = Notice::CaseNeedsAttention {
        case_id: case.id.clone(),
    };
    let mut written = 0;
    for user_id in people {
        if let Some(to) = recipient_of(conn, &user_id)? {
            let key = format!("safety:{score_id}:{user_id}");
            written += usize::from(enqueue(conn, settings, key, &notice, &to, now)?);
        }
    }
    Ok(written)
}

/// A case closed: to its referring GP, once, if they are active; says only that a case they
/// referred was closed, with a link (not the exit reason).
pub fn case_closed(
    conn: &mut DbConn,
    settings: &Settings,
    case: &CaseRow,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let Some(gp) = &case.referring_gp_id else {
        return Ok(false);
    };
    let notice = Notice::CaseClosed {
        case_id: case.id.clone(),
    };
    let key = format!("exit:{}:{gp}", case.id);
    to_account(conn, settings, gp, key, &notice, now)
}

/// Writes `notice` to the account `user_id` if it is active; `true` when written.
fn to_account(
    conn: &mut DbConn,
    settings: &Settings,
    user_id: &str,
    key: String,
    notice: &Notice,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    match recipient_of(conn, user_id)? {
        Some(to) => enqueue(conn, settings, key, notice, &to, now),
        None => Ok(false),
    }
}

/// A request for an opinion (tele-expertise): to the expert it is addressed to, once.
pub fn opinion_requested(
    conn: &mut DbConn,
    settings: &Settings,
    request_id: &str,
    expert_id: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let notice = Notice::OpinionRequested {
        request_id: request_id.to_owned(),
    };
    let key = format!("opinion:requested:{request_id}");
    to_account(conn, settings, expert_id, key, &notice, now)
}

/// A request for an opinion moved: the requester is told that the expert accepted, declined or
/// answered it; both parties, each once, that it was withdrawn with its case.
pub fn opinion_update(
    conn: &mut DbConn,
    settings: &Settings,
    request_id: &str,
    what: OpinionUpdate,
    to_user: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let key = match what {
        OpinionUpdate::Withdrawn => format!("opinion:withdrawn:{request_id}:{to_user}"),
        _ => format!("opinion:{}:{request_id}", what.as_str()),
    };
    let notice = Notice::OpinionUpdate {
        request_id: request_id.to_owned(),
        what,
    };
    to_account(conn, settings, to_user, key, &notice, now)
}
