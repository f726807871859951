//! Patients: registered by the GPs of a practice or its software, read and changed by its care
//! team. Every read and write is audited, and so is an attempt on a patient of another practice.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::idempotency::{self, Done, Key};
use super::versioned::{self, VersionedRow};
use super::{Caller, Ctx, within_reach};
use crate::db::audit::{self, Outcome};
use crate::db::locks::Versioned;
use crate::db::patients::{self as store, PatientChanges, PatientFilter, PatientRow};
use crate::db::stored_id;
use crate::db::{DbConn, naive, utc};
use crate::domain::account::normalize_email;
use crate::domain::patient::{
    ConsentStatus, InsStatus, PracticeRefused, Sex, check_nir, ins_status_change,
    ins_status_of_new, plausible_birth_date, registering_practice,
};
use crate::domain::policy::{Action, Actor, Denied, Scope};
use crate::domain::text::PlainText;
use crate::error::{AppError, AppResult};
use crate::service::input::{PageQuery, text_filter};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Consent {
    pub status: ConsentStatus,
    pub recorded_at: DateTime<Utc>,
    /// The account that recorded it.
    pub recorded_by: Uuid,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
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
        Ok(Self {
            id: stored_id(&row.id)?,
            practice_id: stored_id(&row.practice_id)?,
            external_id: row.external_id,
            family_name: row.family_name,
            given_names: row.given_names,
            birth_date: row.birth_date,
            sex: row.sex,
            email: row.email,
            phone: row.phone,
            ins: row.ins,
            ins_status: row.ins_status,
            consent: Consent {
                status: row.consent_status,
                recorded_at: utc(row.consent_at),
                recorded_by: stored_id(&row.consent_by)?,
            },
            version: row.version,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PatientPage {
    pub items: Vec<Patient>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatient {
    /// Required unless the caller works in exactly one practice.
    pub practice_id: Option<Uuid>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(inline)]
    pub external_id: PlainText<100>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(inline)]
    pub family_name: PlainText<200>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(inline)]
    pub given_names: PlainText<200>,
    /// Not in the future, not before 1900.
    pub birth_date: NaiveDate,
    pub sex: Sex,
    #[validate(custom(function = "crate::domain::account::email_address"))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "crate::domain::patient::phone"))]
    #[schema(pattern = r"^[0-9+ .()\-]{4,30}$")]
    pub phone: Option<String>,
    /// NIR: 13 digits (2A/2B for Corsica) and its 2-digit key; spaces allowed.
    #[validate(custom(function = "crate::domain::patient::nir"))]
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
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<100>::nullable)]
    pub external_id: Option<PlainText<100>>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub family_name: Option<PlainText<200>>,
    #[validate(custom(function = "crate::domain::text::plain"))]
    #[schema(schema_with = PlainText::<200>::nullable)]
    pub given_names: Option<PlainText<200>>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Sex>,
    #[validate(custom(function = "crate::domain::account::email_address"))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[validate(custom(function = "crate::domain::patient::phone"))]
    #[schema(pattern = r"^[0-9+ .()\-]{4,30}$")]
    pub phone: Option<String>,
    #[validate(custom(function = "crate::domain::patient::nir"))]
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

impl NewPatient {
    /// The row to insert: text trimmed, the email normalised, the INS status defaulted; the
    /// consent recorded by `by`.
    fn into_row(
        self,
        practice_id: String,
        ins: Option<String>,
        by: &str,
        at: NaiveDateTime,
    ) -> PatientRow {
        PatientRow {
            id: Uuid::now_v7().to_string(),
            practice_id,
            external_id: self.external_id.trimmed(),
            family_name: self.family_name.trimmed(),
            given_names: self.given_names.trimmed(),
            birth_date: self.birth_date,
            sex: self.sex,
            email: self.email.as_deref().map(normalize_email),
            phone: self.phone.map(|p| p.trim().to_owned()),
            ins_status: ins_status_of_new(ins.is_some(), self.ins_status),
            ins,
            consent_status: self.consent,
            consent_at: at,
            consent_by: by.to_owned(),
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
}

impl PatientUpdate {
    /// The columns to write: text trimmed, the email normalised; a consent given records who and
    /// when.
    fn into_changes(
        self,
        ins: Option<String>,
        ins_status: Option<InsStatus>,
        by: &str,
        at: NaiveDateTime,
    ) -> PatientChanges {
        PatientChanges {
            external_id: self.external_id.map(|v| v.trimmed()),
            family_name: self.family_name.map(|v| v.trimmed()),
            given_names: self.given_names.map(|v| v.trimmed()),
            birth_date: self.birth_date,
            sex: self.sex,
            email: self.email.as_deref().map(|e| Some(normalize_email(e))),
            phone: self.phone.map(|p| Some(p.trim().to_owned())),
            ins_status: ins_status.map(Some),
            ins: ins.map(Some),
            consent_status: self.consent,
            consent_at: self.consent.map(|_| at),
            consent_by: self.consent.map(|_| by.to_owned()),
        }
    }
}

impl VersionedRow for PatientRow {
    const TABLE: Versioned = Versioned::Patients;

    fn version(&self) -> i32 {
        self.version
    }
}

/// Registers a patient in the practice named (or the caller's only one), once per idempotency
/// key: GPs and the software of the practice only; the external id must be free in the practice.
pub async fn register(
    ctx: &Ctx,
    caller: Caller<'_>,
    input: NewPatient,
    key: Option<Key>,
) -> AppResult<Done<Patient>> {
    let (actor, scope) = acting(caller, Action::WritePatients)?;
    let now = ctx.now();
    check_birth_date(input.birth_date, now.date_naive())?;
    let requested = input.practice_id.map(|id| id.to_string());
    let practice_id =
        registering_practice(requested, &actor.practice_ids, &scope).map_err(practice_refused)?;
    let ins = normal_ins(input.ins.as_deref())?;
    let row = input.into_row(practice_id, ins, &actor.id, naive(now));
    let actor = actor.clone();
    ctx.db
        .transaction(move |conn| {
            idempotency::once(conn, &actor.id, key.as_ref(), true, naive(now), |conn| {
                external_id_free(conn, &row.practice_id, &row.external_id, None)?;
                store::insert(conn, &row)?;
                audited(conn, &actor, "patient.create", &row.id, naive(now))?;
                Patient::from_row(row)
            })
        })
        .await
}

/// One patient of the caller's practices (audited).
pub async fn get(ctx: &Ctx, caller: Caller<'_>, id: Uuid) -> AppResult<Patient> {
    let (actor, scope) = acting(caller, Action::ReadPatients)?;
    let (actor, id, now) = (actor.clone(), id.to_string(), naive(ctx.now()));
    let row = ctx
        .db
        .transaction(move |conn| {
            let row = in_scope(conn, &actor, &scope, &id, "patient.read", now)?;
            audited(conn, &actor, "patient.read", &row.id, now)?;
            Ok(row)
        })
        .await?;
    Patient::from_row(row)
}

/// A page of the patients of the caller's practices, oldest first; each one shown is audited,
/// and so is a filter on a practice of others (which shows nothing).
pub async fn list(
    ctx: &Ctx,
    caller: Caller<'_>,
    query: PatientQuery,
    page: PageQuery,
) -> AppResult<PatientPage> {
    let (actor, scope) = acting(caller, Action::ReadPatients)?;
    let filter = PatientFilter {
        practice_id: query.practice_id.map(|p| p.to_string()),
        external_id: text_filter("external_id", query.external_id)?,
        after: page.after_id()?,
        limit: page.fetch_limit(),
    };
    let (actor, now) = (actor.clone(), naive(ctx.now()));
    let (rows, next_cursor) = ctx
        .db
        .transaction(move |conn| {
            let practice = filter.practice_id.as_deref();
            audit::record_filter_outside_scope(
                conn,
                &actor,
                "patient.list",
                practice,
                &scope,
                now,
            )?;
            // Audited: what the page shows, not the row read to know another page follows.
            let (rows, next_cursor) =
                page.split(store::list(conn, &scope, &filter)?, |row| row.id.clone());
            let reads: Vec<_> = rows.iter().map(|row| (row.id.as_str(), None)).collect();
            audit::record_reads(conn, &actor, "patient.list", &reads, now)?;
            Ok((rows, next_cursor))
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Patient::from_row)
        .collect::<AppResult<_>>()?;
    Ok(PatientPage { items, next_cursor })
}

/// Changes a patient's identity, contact details, INS or consent (a consent given records who
/// and when), against the version the caller holds (`expected`, 412 if stale).
pub async fn update(
    ctx: &Ctx,
    caller: Caller<'_>,
    id: Uuid,
    input: PatientUpdate,
    expected: Option<i32>,
) -> AppResult<Patient> {
    let (actor, scope) = acting(caller, Action::WritePatients)?;
    let now = ctx.now();
    if let Some(birth_date) = input.birth_date {
        check_birth_date(birth_date, now.date_naive())?;
    }
    let ins = normal_ins(input.ins.as_deref())?;
    let (actor, id, at) = (actor.clone(), id.to_string(), naive(now));
    let row = ctx
        .db
        .transaction(move |conn| {
            let read = |conn: &mut DbConn, id: &str| {
                in_scope(conn, &actor, &scope, id, "patient.update", at)
            };
            versioned::change(conn, &id, expected, read, |conn, current| {
                let ins_status =
                    ins_status_change(current.ins.is_some(), ins.is_some(), input.ins_status)
                        .map_err(|why| AppError::invalid("ins_status", why))?;
                let changes = input.into_changes(ins, ins_status, &actor.id, at);
                if let Some(external_id) = &changes.external_id {
                    external_id_free(conn, &current.practice_id, external_id, Some(&current.id))?;
                }
                store::update(conn, &current.id, &changes, at)?;
                audited(conn, &actor, "patient.update", &current.id, at)?;
                Ok(())
            })
        })
        .await?;
    Patient::from_row(row)
}

/// A patient in the caller's scope, or 404. An attempt on a patient of another practice is
/// audited as denied, and the refusal is `recorded` so that the transaction commits that row.
pub fn in_scope(
    conn: &mut DbConn,
    actor: &Actor,
    scope: &Scope,
    id: &str,
    action: &str,
    now: NaiveDateTime,
) -> AppResult<PatientRow> {
    within_reach(
        store::find(conn, id)?,
        "patient",
        |row| scope.covers(&row.practice_id),
        |row, denied| {
            let patient = Some(row.id.as_str());
            Ok(audit::record(
                conn, actor, action, patient, None, denied, now,
            )?)
        },
    )
}

/// Who acts on patients, and in which practices. Every access names its account in the audit
/// log, so the operator of the command line (who may do what an admin may: not this) is refused.
fn acting(caller: Caller<'_>, action: Action) -> AppResult<(&Actor, Scope)> {
    match caller {
        Caller::Actor(actor) => Ok((actor, caller.may(action)?)),
        Caller::Operator => Err(Denied.into()),
    }
}

fn practice_refused(refused: PracticeRefused) -> AppError {
    match refused {
        PracticeRefused::Unnamed => AppError::invalid(
            "practice_id",
            "required: you work in several practices (or none)",
        ),
        PracticeRefused::NotTheirs => {
            AppError::Forbidden("you do not work in this practice".to_owned())
        }
    }
}

/// A read or write of the patient, audited as done.
fn audited(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    patient_id: &str,
    at: NaiveDateTime,
) -> AppResult<()> {
    Ok(audit::record(
        conn,
        actor,
        action,
        Some(patient_id),
        None,
        Outcome::Ok,
        at,
    )?)
}

fn check_birth_date(birth_date: NaiveDate, today: NaiveDate) -> AppResult<()> {
    plausible_birth_date(birth_date, today).map_err(|why| AppError::invalid("birth_date", why))
}

/// The INS as stored (15 characters, no spaces).
fn normal_ins(ins: Option<&str>) -> AppResult<Option<String>> {
    ins.map(check_nir)
        .transpose()
        .map_err(|why| AppError::invalid("ins", why))
}

/// 409 when another patient of the practice (than `except`) has this external id.
fn external_id_free(
    conn: &mut DbConn,
    practice_id: &str,
    external_id: &str,
    except: Option<&str>,
) -> AppResult<()> {
    if store::external_id_taken(conn, practice_id, external_id, except)? {
        return Err(AppError::conflict(
            "a patient with this external_id already exists in the practice",
        ));
    }
    Ok(())
}
