//! Row locks for read-check-write transactions. A versioned write reads the row, checks the
//! client's `If-Match` against its version and writes the next version: two such transactions on
//! PostgreSQL (READ COMMITTED) could both read version 3 and both "succeed". Locking the row
//! first makes the second wait for the first and then read version 4, so a stale `If-Match` gets
//! 412 and a write without one simply follows the other. SQLite needs nothing: one writer at a
//! time holds the database (see `Db::transaction`).

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::DbConn;

/// The tables whose rows carry a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioned {
    Patients,
    Users,
    Practices,
    ApiClients,
    Cases,
    TeleExpertiseRequests,
}

impl Versioned {
    fn table(self) -> &'static str {
        match self {
            Self::Patients => "patients",
            Self::Users => "users",
            Self::Practices => "practices",
            Self::ApiClients => "api_clients",
            Self::Cases => "cases",
            Self::TeleExpertiseRequests => "tele_expertise_requests",
        }
    }
}

/// Locks the row `id` of `table` until the transaction ends (PostgreSQL; a no-op on SQLite). A
/// missing row locks nothing: the read that follows finds nothing and answers 404.
pub fn lock_for_update(conn: &mut DbConn, table: Versioned, id: &str) -> QueryResult<()> {
    if let DbConn::Postgres(pg) = conn {
        // The table name comes from the closed list above, never from a request.
        diesel::sql_query(format!(
            "SELECT 1 FROM {} WHERE id = $1 FOR UPDATE",
            table.table()
        ))
        .bind::<Text, _>(id)
        .execute(pg)?;
    }
    Ok(())
}
