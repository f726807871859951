//! The shape every versioned change of the organisation and of patients shares: lock the row,
//! read it within the caller's reach, refuse a stale `If-Match`, apply the change (the store bumps
//! the version) and read the row back.

use crate::db::DbConn;
use crate::db::locks::{Versioned, lock_for_update};
use crate::error::AppResult;
use crate::service::input::check_version;

/// A stored row that carries a version, and the table it lives in.
pub(super) trait VersionedRow {
    const TABLE: Versioned;
    fn version(&self) -> i32;
}

/// Changes the row `id` in the transaction of `conn`. The row is locked first, so that of two
/// changes sent with the same version exactly one wins and the other gets 412, and changes sent
/// without one follow each other. `read` finds the row or refuses (404, audited when it must be);
/// `apply` writes the change, its side effects and audit rows.
pub(super) fn change<R: VersionedRow>(
    conn: &mut DbConn,
    id: &str,
    expected: Option<i32>,
    read: impl Fn(&mut DbConn, &str) -> AppResult<R>,
    apply: impl FnOnce(&mut DbConn, &R) -> AppResult<()>,
) -> AppResult<R> {
    lock_for_update(conn, R::TABLE, id)?;
    let current = read(conn, id)?;
    check_version(expected, current.version())?;
    apply(conn, &current)?;
    read(conn, id)
}
