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
pub mod outbox;
pub mod patients;
pub mod practices;
pub mod reports;
pub mod sessions;
pub mod tele_expertise;
mod versioned;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::policy::{Action, Actor, Scope, authorize};
use crate::error::AppResult;

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
