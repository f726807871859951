//! The audit log, for admins: who read or wrote which patient's data, when, with what outcome.
//! (Rows are written by the operations that read or write, in their own transactions, through
//! `db::audit`.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Caller, Ctx};
use crate::db::audit::{self as store, AuditFilter, AuditRow};
use crate::db::{naive, stored_id, utc};
use crate::domain::policy::Action;
use crate::error::{AppError, AppResult};
use crate::service::input::PageQuery;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The account; the nil UUID for a login attempt with an email no account has.
    pub actor_id: Uuid,
    /// `user`, `api_client`, or `anonymous` (a login attempt with an email no account has).
    pub actor_kind: String,
    /// What was done, e.g. `patient.read`, `patient.update`.
    pub action: String,
    pub patient_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    /// `ok`, or `denied` for a refused attempt.
    pub outcome: String,
    /// Why it was refused: `practice` (outside the caller's practices, answered 404), `role`
    /// (403), `party` (not the expert or requester, 403), `bad_credentials` or `locked` (a
    /// refused login), `expired` or `revoked` (an access token expired, or whose session was
    /// revoked or whose account is inactive), `token` (a refresh token refused), `filter` (a list
    /// filtered on a practice outside the caller's). Absent when `ok`.
    pub reason: Option<String>,
}

impl AuditEvent {
    fn from_row(row: AuditRow) -> AppResult<Self> {
        Ok(Self {
            id: stored_id(&row.id)?,
            occurred_at: utc(row.occurred_at),
            actor_id: stored_id(&row.actor_id)?,
            actor_kind: row.actor_kind,
            action: row.action,
            patient_id: row.patient_id.as_deref().map(stored_id).transpose()?,
            case_id: row.case_id.as_deref().map(stored_id).transpose()?,
            outcome: row.outcome,
            reason: row.reason,
        })
    }
}

/// Which events (the API reads it from the query string).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub patient_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Up to this instant (exclusive); not before `from` (422).
    pub to: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the audit log, oldest first: admins only (`Action::ReadAudit`). One read; reading
/// the log is not itself audited.
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: AuditQuery,
    page: PageQuery,
) -> AppResult<AuditPage> {
    caller.may(Action::ReadAudit)?;
    // As for the report's period: an end before the start is a mistake, not an empty window.
    if crate::domain::ends_before_start(query.from, query.to) {
        return Err(AppError::invalid("to", "must not be before from"));
    }
    let filter = AuditFilter {
        patient_id: query.patient_id.map(|v| v.to_string()),
        case_id: query.case_id.map(|v| v.to_string()),
        actor_id: query.actor_id.map(|v| v.to_string()),
        from: query.from.map(naive),
        to: query.to.map(naive),
        after: page.after.map(|v| v.to_string()),
        limit: page.fetch_limit(),
    };
    let rows = ctx
        .db
        .run(move |conn| {
            let mut filter = filter;
            // Rows are indexed by patient: a case is found through its patient. Cases are never
            // deleted, so an unknown case has no rows.
            if let Some(case_id) = &filter.case_id
                && filter.patient_id.is_none()
            {
                match crate::db::cases::find(conn, case_id)? {
                    Some(case) => filter.patient_id = Some(case.patient_id),
                    None => return Ok(Vec::new()),
                }
            }
            Ok(store::list(conn, &filter)?)
        })
        .await?;
    let events = rows
        .into_iter()
        .map(AuditEvent::from_row)
        .collect::<AppResult<_>>()?;
    let (items, next_cursor) = page.split(events, |e| e.id.to_string());
    Ok(AuditPage { items, next_cursor })
}
