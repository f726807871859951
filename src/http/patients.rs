//! Patients: registered by the GPs of a practice or its software; read by its care team. Every
//! read and write is audited.

use crate::db::locks::{Versioned, lock_for_update};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::PageQuery;
use super::auth::parse_id;
use super::extract::{Json, check_version, etag, if_match};
use super::idempotency::{self, Idempotency, Kept};
use crate::app::AppState;
use crate::db::audit::{self, Outcome};
use crate::db::patients::{self as store, PatientChanges, PatientFilter, PatientRow};
use crate::db::{DbConn, naive, utc};
use crate::domain::account::normalize_email;
use crate::domain::patient::{ConsentStatus, InsStatus, Sex, check_nir, plausible_birth_date};
use crate::domain::policy::{Action, Actor, Scope, authorize};
use crate::error::{AppError, AppResult};
use actix_web::http::StatusCode;

#[derive(Debug, Serialize, ToSchema)]
pub struct Consent {
    pub status: ConsentStatus,
    pub recorded_at: DateTime<Utc>,
    /// The account that recorded it.
    pub recorded_by: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Patient {
    pub id: Uuid,
    pub practice_id: Uuid,
    /// The practice software's own id for this patient, unique within the practice.
    pub external_id: String,
    pub family_name: String,
    pub given_names: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The INS (NIR, 15 characters with its key).
    pub ins: Option<String>,
    pub ins_status: Option<InsStatus>,
    pub consent: Consent,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Patient {
    fn from_row(row: PatientRow) -> AppResult<Self> {
        let stored = |what: &str| AppError::Internal(format!("stored {what} unknown"));
        Ok(Self {
            id: parse_id(&row.id)?,
            practice_id: parse_id(&row.practice_id)?,
            external_id: row.external_id,
            family_name: row.family_name,
            given_names: row.given_names,
            birth_date: row.birth_date,
            sex: Sex::parse(&row.sex).ok_or_else(|| stored("sex"))?,
            email: row.email,
            phone: row.phone,
            ins: row.ins,
            ins_status: row
                .ins_status
                .as_deref()
                .map(|s| InsStatus::parse(s).ok_or_else(|| stored("INS status")))
                .transpose()?,
            consent: Consent {
                status: ConsentStatus::parse(&row.consent_status)
                    .ok_or_else(|| stored("consent"))?,
                recorded_at: utc(row.consent_at),
                recorded_by: parse_id(&row.consent_by)?,
            },
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatientPage {
    pub items: Vec<Patient>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

fn phone_number(value: &str) -> Result<(), ValidationError> {
    let ok = (4..=30).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || " +.()-".contains(c))
        && value.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new("phone")
            .with_message("must be a phone number: digits, spaces, + . ( ) -".into()))
    }
}

fn nir(value: &str) -> Result<(), ValidationError> {
    check_nir(value)
        .map(drop)
        .map_err(|why| ValidationError::new("ins").with_message(why.into()))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatient {
    /// Required unless the caller works in exactly one practice.
    pub practice_id: Option<Uuid>,
    #[validate(custom(function = "super::plain_text"), length(max = 100))]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub external_id: String,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub family_name: String,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub given_names: String,
    /// Not in the future, not before 1900.
    pub birth_date: NaiveDate,
    pub sex: Sex,
    #[validate(custom(function = "super::email_address"))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "phone_number"))]
    #[schema(pattern = r"^[0-9+ .()\-]{4,30}$")]
    pub phone: Option<String>,
    /// NIR: 13 digits (2A/2B for Corsica) and its 2-digit key; spaces allowed.
    #[validate(custom(function = "nir"))]
    #[schema(pattern = r"^[0-9 ]{5}[0-9ABab ][0-9 ]{1,30}$", max_length = 40)]
    pub ins: Option<String>,
    /// Defaults to `provisional` when an INS is given.
    pub ins_status: Option<InsStatus>,
    /// Whether the patient was informed of care-team sharing, or objected.
    pub consent: ConsentStatus,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientUpdate {
    #[validate(custom(function = "super::plain_text"), length(max = 100))]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub external_id: Option<String>,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub family_name: Option<String>,
    #[validate(custom(function = "super::plain_text"), length(max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub given_names: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    #[validate(custom(function = "super::email_address"))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "phone_number"))]
    #[schema(pattern = r"^[0-9+ .()\-]{4,30}$")]
    pub phone: Option<String>,
    #[validate(custom(function = "nir"))]
    #[schema(pattern = r"^[0-9 ]{5}[0-9ABab ][0-9 ]{1,30}$", max_length = 40)]
    pub ins: Option<String>,
    pub ins_status: Option<InsStatus>,
    /// A change of the patient's position records who and when.
    pub consent: Option<ConsentStatus>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    pub practice_id: Option<Uuid>,
    /// The practice software's id (exact).
    #[param(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub external_id: Option<String>,
}

fn check_birth_date(birth_date: NaiveDate, today: NaiveDate) -> AppResult<()> {
    plausible_birth_date(birth_date, today).map_err(|why| AppError::invalid("birth_date", why))
}

/// The practice a new patient goes to: the one named, or the caller's only one.
fn target_practice(actor: &Actor, scope: &Scope, requested: Option<Uuid>) -> AppResult<String> {
    let practice = match requested {
        Some(id) => id.to_string(),
        None => match actor.practice_ids.as_slice() {
            [only] => only.clone(),
            _ => {
                return Err(AppError::invalid(
                    "practice_id",
                    "required: you work in several practices (or none)",
                ));
            }
        },
    };
    if scope.covers(&practice) {
        Ok(practice)
    } else {
        Err(AppError::Forbidden(
            "you do not work in this practice".to_owned(),
        ))
    }
}

/// A patient in the caller's scope, or 404 (an attempt outside it is audited as denied; the
/// denial is `recorded`, so that the transaction commits its audit row).
pub fn patient_in_scope(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    action: &str,
    now: chrono::NaiveDateTime,
) -> AppResult<PatientRow> {
    match store::find(conn, id)? {
        Some(row) if scope.covers(&row.practice_id) => Ok(row),
        Some(row) => {
            audit::record(
                conn,
                actor,
                action,
                Some(&row.id),
                None,
                Outcome::Denied(audit::DENIED_PRACTICE),
                now,
            )?;
            Err(AppError::not_found("patient").recorded())
        }
        None => Err(AppError::not_found("patient")),
    }
}

/// Register a patient.
#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = NewPatient,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]{1,255}$", description = "Makes a retry safe: the same key and body get the first response back")),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = Patient),
        (status = 403, description = "GPs and API clients of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This external id is already used in the practice", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    Json(body): Json<NewPatient>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::WritePatients)?;
    let idem = Idempotency::of(&req)?;
    let now = state.clock.now();
    check_birth_date(body.birth_date, now.date_naive())?;
    let practice_id = target_practice(&actor, &scope, body.practice_id)?;
    let ins = body
        .ins
        .as_deref()
        .map(check_nir)
        .transpose()
        .map_err(|why| AppError::invalid("ins", why))?;
    let row = PatientRow {
        id: Uuid::now_v7().to_string(),
        practice_id,
        external_id: body.external_id.trim().to_owned(),
        family_name: body.family_name.trim().to_owned(),
        given_names: body.given_names.trim().to_owned(),
        birth_date: body.birth_date,
        sex: body.sex.as_str().to_owned(),
        email: body.email.as_deref().map(normalize_email),
        phone: body.phone.map(|p| p.trim().to_owned()),
        ins_status: ins.as_ref().map(|_| {
            body.ins_status
                .unwrap_or(InsStatus::Provisional)
                .as_str()
                .to_owned()
        }),
        ins,
        consent_status: body.consent.as_str().to_owned(),
        consent_at: naive(now),
        consent_by: actor.id.clone(),
        version: 1,
        created_at: naive(now),
        updated_at: naive(now),
    };
    let kept = state
        .db
        .transaction(move |conn| {
            if let Some(kept) = idempotency::replay(conn, &actor, idem.as_ref())? {
                return Ok(kept);
            }
            if store::external_id_taken(conn, &row.practice_id, &row.external_id, None)? {
                return Err(AppError::conflict(
                    "a patient with this external_id already exists in the practice",
                ));
            }
            store::insert(conn, &row)?;
            audit::record(
                conn,
                &actor,
                "patient.create",
                Some(&row.id),
                None,
                Outcome::Ok,
                naive(now),
            )?;
            let patient = Patient::from_row(row)?;
            let kept = Kept::json(StatusCode::CREATED, &patient)?
                .location(format!("/api/v1/patients/{}", patient.id))
                .etag(patient.version);
            idempotency::keep(conn, &actor, idem.as_ref(), &kept, naive(now))?;
            Ok(kept)
        })
        .await?;
    Ok(kept.into_response())
}

/// Patients of the caller's practices, oldest first.
#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PatientQuery, PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of patients", body = PatientPage),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    actor: Actor,
    query: crate::http::extract::Query<PatientQuery>,
    page: crate::http::extract::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadPatients)?;
    let query = query.into_inner();
    let filter = PatientFilter {
        practice_id: query.practice_id.map(|p| p.to_string()),
        external_id: super::text_filter("external_id", query.external_id)?,
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let now = naive(state.clock.now());
    let paging = page.into_inner();
    let (rows, next_cursor) = state
        .db
        .transaction(move |conn| {
            audit::record_filter_outside_scope(
                conn,
                &actor,
                "patient.list",
                filter.practice_id.as_deref(),
                &scope,
                now,
            )?;
            let rows = store::list(conn, &scope, &filter)?;
            // Audited: what the page shows, not the row read to know another page follows.
            let (rows, next_cursor) = paging.split(rows, |row| row.id.clone());
            for row in &rows {
                audit::record(
                    conn,
                    &actor,
                    "patient.list",
                    Some(&row.id),
                    None,
                    Outcome::Ok,
                    now,
                )?;
            }
            Ok((rows, next_cursor))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Patient::from_row)
        .collect::<AppResult<_>>()?;
    Ok(HttpResponse::Ok().json(PatientPage { items, next_cursor }))
}

/// One patient.
#[utoipa::path(get, path = "/api/v1/patients/{id}", tag = "patients", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The patient", body = Patient,
            headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 403, description = "The care team and API clients only", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::ReadPatients)?;
    let id = id.into_inner().to_string();
    let now = naive(state.clock.now());
    let row = state
        .db
        .transaction(move |conn| {
            let row = patient_in_scope(conn, &actor, &scope, &id, "patient.read", now)?;
            audit::record(
                conn,
                &actor,
                "patient.read",
                Some(&row.id),
                None,
                Outcome::Ok,
                now,
            )?;
            Ok(row)
        })
        .await?;
    let patient = Patient::from_row(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(patient.version))
        .json(patient))
}

/// Change a patient's identity, contact details, INS or consent.
#[utoipa::path(patch, path = "/api/v1/patients/{id}", tag = "patients", request_body = PatientUpdate,
    params(("id" = Uuid, Path), ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(\*|(W/)?"?[0-9]{1,9}"?)$"#, description = "The ETag last read; the change is refused (412) if the patient changed since")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The patient as changed", body = Patient,
            headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "GPs and API clients of the practice only", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "This external id is already used in the practice", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since the If-Match version", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    actor: Actor,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(body): Json<PatientUpdate>,
) -> AppResult<HttpResponse> {
    let scope = authorize(&actor, Action::WritePatients)?;
    let expected = if_match(&req)?;
    let id = id.into_inner().to_string();
    let now = state.clock.now();
    if let Some(birth_date) = body.birth_date {
        check_birth_date(birth_date, now.date_naive())?;
    }
    let ins = body
        .ins
        .as_deref()
        .map(check_nir)
        .transpose()
        .map_err(|why| AppError::invalid("ins", why))?;
    let changes = PatientChanges {
        external_id: body.external_id.map(|v| v.trim().to_owned()),
        family_name: body.family_name.map(|v| v.trim().to_owned()),
        given_names: body.given_names.map(|v| v.trim().to_owned()),
        birth_date: body.birth_date,
        sex: body.sex.map(|s| s.as_str().to_owned()),
        email: body.email.as_deref().map(|e| Some(normalize_email(e))),
        phone: body.phone.map(|p| Some(p.trim().to_owned())),
        ins_status: match (&ins, body.ins_status) {
            (_, Some(status)) => Some(Some(status.as_str().to_owned())),
            (Some(_), None) => Some(Some(InsStatus::Provisional.as_str().to_owned())),
            (None, None) => None,
        },
        ins: ins.map(Some),
        consent_status: body.consent.map(|c| c.as_str().to_owned()),
        consent_at: body.consent.map(|_| naive(now)),
        consent_by: body.consent.map(|_| actor.id.clone()),
    };
    let row = state
        .db
        .transaction(move |conn| {
            lock_for_update(conn, Versioned::Patients, &id)?;
            let current =
                patient_in_scope(conn, &actor, &scope, &id, "patient.update", naive(now))?;
            check_version(expected, current.version)?;
            if current.ins.is_none() && changes.ins.is_none() && changes.ins_status.is_some() {
                return Err(AppError::invalid("ins_status", "the patient has no INS"));
            }
            if let Some(external_id) = &changes.external_id
                && store::external_id_taken(conn, &current.practice_id, external_id, Some(&id))?
            {
                return Err(AppError::conflict(
                    "a patient with this external_id already exists in the practice",
                ));
            }
            store::update(conn, &id, &changes, naive(now))?;
            audit::record(
                conn,
                &actor,
                "patient.update",
                Some(&id),
                None,
                Outcome::Ok,
                naive(now),
            )?;
            store::find(conn, &id)?.ok_or_else(|| AppError::not_found("patient"))
        })
        .await?;
    let patient = Patient::from_row(row)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(patient.version))
        .json(patient))
}
