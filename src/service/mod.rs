//! The application layer: one function per operation, called by every door (the REST API, the
//! command line, `demo seed`, the tests). An operation takes who asks and a typed input, decides
//! whether they may (`domain::policy`), runs in one transaction and returns a typed result or an
//! `AppError`; the doors only parse, call and map. Nothing here knows HTTP.

pub mod accounts;
pub mod api_clients;
pub mod audit;
pub mod cases;
pub mod exports;
pub mod idempotency;
pub mod input;
pub mod meetings;
pub mod outbox;
pub mod patients;
pub mod practices;
pub mod reports;
pub mod sessions;
pub mod surveys;
pub mod tele_expertise;
mod versioned;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::Db;
use crate::db::audit::{DENIED_PRACTICE, Outcome};
use crate::domain::policy::{Action, Actor, Scope, authorize};
use crate::error::{AppError, AppResult};

/// What operations run on: the database, the clock, the settings and the token keys. Cheap to
/// clone (it holds handles), so an operation can move a copy into its transaction.
#[derive(Clone)]
pub struct Ctx {
    pub db: Db,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub tokens: Arc<crate::domain::tokens::TokenKeys>,
}

impl Ctx {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in the program's time zone (a referral's day, a program's period).
    pub fn today(&self) -> chrono::NaiveDate {
        self.now()
            .with_timezone(&self.settings.timezone)
            .date_naive()
    }
}

/// Who asks for an operation.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A person or practice software, authenticated by a token.
    Actor(&'a Actor),
    /// Whoever runs the program's command line on the server (the first admin is made so): they
    /// hold the database already, so they may do what an admin may.
    Operator,
}

impl Caller<'_> {
    /// The scope `action` gives this caller, or 403.
    pub fn may(&self, action: Action) -> AppResult<Scope> {
        match self {
            Caller::Actor(actor) => Ok(authorize(actor, action)?),
            Caller::Operator => Ok(Scope::All),
        }
    }
}

/// The object `found`, if the caller may see it (`may_see`), or 404 naming `what`. One that
/// exists out of the caller's reach is audited as denied (`audit_denial`, given the outcome to
/// record) and the refusal is `recorded`, so that the transaction commits that audit row.
pub(crate) fn within_reach<R>(
    found: Option<R>,
    what: &str,
    may_see: impl FnOnce(&R) -> bool,
    audit_denial: impl FnOnce(&R, Outcome) -> AppResult<()>,
) -> AppResult<R> {
    match found {
        Some(row) if may_see(&row) => Ok(row),
        Some(row) => {
            audit_denial(&row, Outcome::Denied(DENIED_PRACTICE))?;
            Err(AppError::not_found(what).recorded())
        }
        None => Err(AppError::not_found(what)),
    }
}
