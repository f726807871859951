//! The audit log, for admins: who read or wrote which patient's data.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::PageQuery;
use super::auth::parse_id;
use crate::app::AppState;
use crate::db::audit::{self as store, AuditFilter, AuditRow};
use crate::db::{naive, utc};
use crate::domain::policy::{Action, Actor, authorize};
use crate::error::{AppError, AppResult};

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
    /// refused login), `token` (an expired token, a revoked session or an inactive account),
    /// `filter` (a list filtered on a practice outside the caller's). Absent when `ok`.
    pub reason: Option<String>,
}

impl AuditEvent {
    fn from_row(row: AuditRow) -> AppResult<Self> {
        Ok(Self {
            id: parse_id(&row.id)?,
            occurred_at: utc(row.occurred_at),
            actor_id: parse_id(&row.actor_id)?,
            actor_kind: row.actor_kind,
            action: row.action,
            patient_id: row.patient_id.as_deref().map(parse_id).transpose()?,
            case_id: row.case_id.as_deref().map(parse_id).transpose()?,
            outcome: row.outcome,
            reason: row.reason,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
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

/// The audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of audit events", body = AuditPage),
        (status = 403, description = "Admins only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`to` before `from`", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: crate::http::extract::Query<AuditQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    authorize(&actor, Action::ReadAudit)?;
    let query = query.into_inner();
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
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let rows = state
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
    let (rows, next_cursor) = page.split(rows, |row| row.id.clone());
    let items = rows
        .into_iter()
        .map(AuditEvent::from_row)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(AuditPage { items, next_cursor }))
}
