//! Messages written in the transaction of the event that causes them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::cases::CaseRow;
use crate::db::outbox::{self as store, OutboxRow, PENDING};
use crate::db::{DbConn, accounts, naive};
use crate::domain::account::{Locale, Role};
use crate::email::content::{Notice, render};
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
        status: PENDING.to_owned(),
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
            locale: Locale::parse(&u.user.locale).unwrap_or_default(),
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
            Role::Nurse.as_str(),
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
