//! Database access: one connection type over SQLite and PostgreSQL, the pool, the migrations, and
//! the bridge that runs every query off the async workers.

pub mod accounts;
pub mod audit;
pub mod bulk;
pub mod cases;
pub mod idempotency;
pub mod locks;
pub mod meetings;
pub mod outbox;
pub mod patients;
pub mod practices;
pub mod reports;
pub mod schema;
pub mod sessions;
pub mod surveys;
pub mod tele_expertise;
pub mod tokens;
pub mod vocabulary;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{DatabaseUrl, Settings};
use crate::error::{AppError, AppResult};

/// One connection to whichever backend `DATABASE_URL` names. Queries written once against this
/// type run on both; backend-specific SQL matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// One tree for both backends: the SQL is written in what SQLite and PostgreSQL both accept.
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Opens connections of the backend chosen by the URL's scheme. (Diesel's own `establish` on the
/// enum tries each backend in turn, and SQLite accepts any string as a file name, so a refused
/// PostgreSQL URL would silently become a SQLite file.)
#[derive(Debug, Clone)]
pub struct ConnectionOpener {
    url: DatabaseUrl,
    sqlite_busy_timeout: Duration,
}

impl ConnectionOpener {
    /// `connect_timeout` bounds each PostgreSQL connection attempt (libpq waits for ever by
    /// default, which would hold the pool's reconnection behind an unreachable host).
    pub fn new(url: DatabaseUrl, sqlite_busy_timeout: Duration, connect_timeout: Duration) -> Self {
        let url = match url {
            DatabaseUrl::Postgres(url) => {
                DatabaseUrl::Postgres(with_connect_timeout(&url, connect_timeout))
            }
            sqlite => sqlite,
        };
        Self {
            url,
            sqlite_busy_timeout,
        }
    }

    pub fn open(&self) -> Result<DbConn, ConnectionError> {
        match &self.url {
            DatabaseUrl::Postgres(url) => {
                Ok(DbConn::Postgres(diesel::PgConnection::establish(url)?))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not valid UTF-8".to_owned(),
                    )
                })?;
                let mut conn = diesel::SqliteConnection::establish(path)?;
                // busy_timeout first, so that even switching a new file to WAL waits for another
                // process opening it at the same moment; WAL lets readers proceed during a write; SQLite leaves foreign keys off unless asked. Reading through
                // a memory map and a larger page cache spares a system call and a copy per page
                // (the default 2 MB cache is small for a registry of 100,000 patients).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA mmap_size = 4294967296; PRAGMA cache_size = -32768; \
                     PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = {};",
                    self.sqlite_busy_timeout.as_millis(),
                    AUTOCHECKPOINT_PAGES
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionOpener {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        self.open().map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection whose transaction state is lost (libpq no longer knows it: the server went
    /// away) or left open is not put back: the pool opens a new one instead.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// The PostgreSQL URL with `connect_timeout` (whole seconds, libpq's unit) added, unless the URL
/// already sets one.
pub fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    if query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("connect_timeout"))
    {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={}", timeout.as_secs().max(1))
}

/// The pool opens connections in the background; a failure there is logged (r2d2's default
/// handler writes to the `log` crate, which this program does not read). The error names the
/// server, never a patient.
#[derive(Debug)]
struct LogPoolErrors;

impl r2d2::HandleError<r2d2::Error> for LogPoolErrors {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::warn!(%error, "a database connection could not be opened");
    }
}

pub type Pool = r2d2::Pool<ConnectionOpener>;
pub type PooledConn = r2d2::PooledConnection<ConnectionOpener>;

/// Applies the pending migrations of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, String> {
    type Failure = Box<dyn std::error::Error + Send + Sync>;
    // Several processes may start at once on a fresh database (two servers, a command): each
    // migrates under a lock, so the first applies and the others find nothing pending.
    let result = match conn {
        DbConn::Postgres(pg) => pg.transaction::<_, Failure, _>(|pg| {
            pg.batch_execute("SELECT pg_advisory_xact_lock(7170101)")?;
            Ok(pg.run_pending_migrations(MIGRATIONS)?.len())
        }),
        DbConn::Sqlite(sqlite) => sqlite.immediate_transaction::<_, Failure, _>(|sqlite| {
            Ok(sqlite.run_pending_migrations(MIGRATIONS)?.len())
        }),
    };
    result.map_err(|error| error.to_string())
}

/// A write that changes nothing but takes SQLite's write lock for the transaction.
const SQLITE_TAKE_WRITE_LOCK: &str =
    "UPDATE __diesel_schema_migrations SET version = version WHERE 0";

/// SQLite: a write transaction that finds the WAL this long (in pages) copies it back into the
/// database itself, inside the request. The background checkpointer normally does it first.
const AUTOCHECKPOINT_PAGES: u32 = 16_000;
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// SQLite: copies the WAL back into the database from a thread of its own, so that requests do
/// not pay for it (a PASSIVE checkpoint waits for no reader or writer). Stops when the last
/// clone of the `Db` is dropped.
fn start_checkpointer(opener: ConnectionOpener, alive: std::sync::Weak<()>) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".to_owned())
        .spawn(move || {
            let Ok(mut conn) = opener.open() else {
                tracing::warn!(
                    "the SQLite checkpointer could not connect; checkpoints stay inline"
                );
                return;
            };
            while alive.upgrade().is_some() {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(error) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(%error, "SQLite checkpoint failed");
                }
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "the SQLite checkpointer did not start; checkpoints stay inline");
    }
}

/// The pool and the bridge from async handlers to blocking diesel calls.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// SQLite has one writer at a time, and two transactions that both read then write can
    /// deadlock (SQLITE_BUSY without waiting). Serialising this process's write transactions
    /// avoids that at no cost in throughput. `None` on PostgreSQL.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// Keeps the SQLite checkpointer running while any clone lives.
    _checkpointer: Option<Arc<()>>,
    /// How many times a connection was found lost (the server restarted, the network dropped).
    /// A loss usually ends every connection of the pool at once: each one checked out after a
    /// loss is tested (`SELECT 1`) once before use, and a dead one is replaced rather than given
    /// to a request.
    losses: Arc<AtomicU64>,
}

/// Tagged on a pooled connection: the loss count when it was last known good.
struct CheckedAfter(u64);

impl Db {
    pub fn connect(settings: &Settings) -> Result<Self, String> {
        if let DatabaseUrl::Sqlite(path) = &settings.database_url
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                format!(
                    "cannot create the folder {} for the database: {e}",
                    parent.display()
                )
            })?;
        }
        let opener = ConnectionOpener::new(
            settings.database_url.clone(),
            settings.sqlite_busy_timeout,
            settings.db_connect_timeout,
        );
        // Open one connection first so that a wrong URL is reported plainly, not as a pool timeout.
        opener
            .open()
            .map_err(|e| format!("cannot connect to {:?}: {e}", settings.database_url))?;
        let pool = r2d2::Pool::builder()
            .max_size(settings.db_pool_size)
            .min_idle(Some(1))
            .connection_timeout(settings.db_pool_timeout)
            .test_on_check_out(false)
            .error_handler(Box::new(LogPoolErrors))
            .build(opener.clone())
            .map_err(|e| format!("cannot open the connection pool: {e}"))?;
        let sqlite = matches!(settings.database_url, DatabaseUrl::Sqlite(_));
        let sqlite_writer = sqlite.then(Arc::default);
        let checkpointer = sqlite.then(|| Arc::new(()));
        if let Some(alive) = &checkpointer {
            start_checkpointer(opener, Arc::downgrade(alive));
        }
        Ok(Self {
            pool,
            sqlite_writer,
            _checkpointer: checkpointer,
            losses: Arc::default(),
        })
    }

    pub fn migrate(&self) -> Result<usize, String> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| format!("no database connection: {e}"))?;
        run_migrations(&mut conn)
    }

    /// A pooled connection (blocking), known good since the last connection loss.
    pub fn conn(&self) -> AppResult<PooledConn> {
        let losses = self.losses.load(Ordering::Acquire);
        // Every idle connection may be dead after a loss; each is tried once at most.
        for _ in 0..=self.pool.max_size() {
            let mut conn = self.pool.get().map_err(pool_unavailable)?;
            let checked = r2d2::PooledConnection::extensions(&conn)
                .get::<CheckedAfter>()
                .map_or(0, |c| c.0);
            if checked >= losses {
                return Ok(conn);
            }
            if conn.batch_execute("SELECT 1").is_ok() {
                r2d2::PooledConnection::extensions_mut(&mut conn).insert(CheckedAfter(losses));
                return Ok(conn);
            }
            // Dropped here: the pool sees it broken (`has_broken`) and opens another.
            tracing::debug!("a pooled connection was lost; replaced");
        }
        Err(lost())
    }

    /// Whether `conn`, after a failed request, is still usable; if not, the loss is counted so
    /// that the pool's other connections are tested before their next use.
    fn survived(&self, conn: &mut DbConn) -> bool {
        if !conn.is_broken() && conn.batch_execute("SELECT 1").is_ok() {
            return true;
        }
        self.losses.fetch_add(1, Ordering::AcqRel);
        tracing::warn!("the database connection was lost; the pool reconnects");
        false
    }

    /// Runs `work` on the blocking thread pool with a pooled connection. An error on a connection
    /// that did not survive it is the database's absence, not the request's fault: 503.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || {
            let mut conn = db.conn()?;
            match work(&mut conn) {
                Err(AppError::Internal(_) | AppError::Unavailable(_))
                    if !db.survived(&mut conn) =>
                {
                    Err(lost())
                }
                done => done,
            }
        })
        .await
        .map_err(|_| AppError::Unavailable("the server is shutting down".to_owned()))?
    }

    /// Runs `work` in one transaction: everything it wrote commits together, or nothing does —
    /// except that a refusal marked `AppError::recorded` commits what was written before it (its
    /// audit row) and is then answered.
    pub async fn transaction<T, F>(&self, work: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    {
        let writer = self.sqlite_writer.clone();
        self.run(move |conn| {
            let _turn = writer
                .as_ref()
                .map(|w| w.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            conn.transaction(|conn| {
                if matches!(conn, DbConn::Sqlite(_)) {
                    // Take the write lock first, as BEGIN IMMEDIATE would: a transaction that read
                    // before writing cannot upgrade once another process (a second server, a
                    // command) has written, and fails at once; waiting for the lock is what
                    // busy_timeout is for.
                    conn.batch_execute(SQLITE_TAKE_WRITE_LOCK)?;
                }
                // A recorded refusal commits what it wrote (its audit row) and then answers.
                match work(conn) {
                    Err(AppError::Recorded(refusal)) => Ok(Err(refusal.unmarked())),
                    other => other.map(Ok),
                }
            })
        })
        .await?
    }
}

/// The answer when no connection can be had in time: the pool stayed exhausted, or the database
/// does not accept connections (the pool's error says why when it knows; it names no
/// credentials, and it is not shown to the client).
fn pool_unavailable(error: r2d2::PoolError) -> AppError {
    tracing::debug!(%error, "no database connection");
    AppError::Unavailable(
        "no database connection could be had (the database is busy or unreachable); retry shortly"
            .to_owned(),
    )
}

fn lost() -> AppError {
    AppError::Unavailable("the database connection was lost; retry the request".to_owned())
}

/// What makes a database not empty for `demo seed`: the first of accounts, API clients,
/// practices and patients that has a row (`None` when there is none).
pub fn first_registry_data(conn: &mut DbConn) -> QueryResult<Option<&'static str>> {
    use diesel::dsl::exists;
    use schema::{api_clients, patients, practices, users};
    let checks: [(&'static str, bool); 4] = [
        (
            "accounts",
            diesel::select(exists(users::table.select(users::id))).get_result(conn)?,
        ),
        (
            "API clients",
            diesel::select(exists(api_clients::table.select(api_clients::id))).get_result(conn)?,
        ),
        (
            "practices",
            diesel::select(exists(practices::table.select(practices::id))).get_result(conn)?,
        ),
        (
            "patients",
            diesel::select(exists(patients::table.select(patients::id))).get_result(conn)?,
        ),
    ];
    Ok(checks
        .into_iter()
        .find(|(_, any)| *any)
        .map(|(what, _)| what))
}

/// Current UTC time as stored in the database (timestamps without zone, always UTC).
pub fn naive(at: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    at.naive_utc()
}

/// Back from the stored form to an instant.
pub fn utc(at: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    at.and_utc()
}

/// Back from the stored form to an id: ids are stored as UUID text, so anything else is the
/// database's fault (500, never the caller's).
pub fn stored_id(id: &str) -> AppResult<uuid::Uuid> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| AppError::Internal("a stored id is not a UUID".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_timeout_is_added_unless_the_url_has_one() {
        let three = Duration::from_secs(3);
        assert_eq!(
            with_connect_timeout("postgres://u@h/db", three),
            "postgres://u@h/db?connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?options=-csearch_path%3Dx", three),
            "postgres://u@h/db?options=-csearch_path%3Dx&connect_timeout=3"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=require&connect_timeout=9", three),
            "postgres://u@h/db?sslmode=require&connect_timeout=9"
        );
    }

    /// Migration 9 splits the microstructure cases into the two strands and gives every existing
    /// practice the programs it could refer into until then.
    #[test]
    fn existing_practices_keep_their_programs_and_microstructure_cases_join_a_strand() {
        use diesel::connection::SimpleConnection;
        let mut conn = SqliteConnection::establish(":memory:").expect("open");
        for _ in 0..8 {
            conn.run_next_migration(MIGRATIONS).expect("migration");
        }
        conn.batch_execute(
            "INSERT INTO practices (id, name, network, region, active, version, created_at, updated_at)
             VALUES ('p1', 'A', NULL, 'Grand Est', TRUE, 1, '2025-03-04 10:11:12.5', '2025-03-04 10:11:12.5'),
                    ('p2', 'B', NULL, 'Occitanie', TRUE, 1, '2026-01-02 00:00:00', '2026-01-02 00:00:00');
             INSERT INTO patients (id, practice_id, external_id, family_name, given_names, birth_date,
                sex, consent_status, consent_at, consent_by, version, created_at, updated_at)
             VALUES ('pa1', 'p1', 'x1', 'F', 'G', '1980-01-01', 'F', 'informed', '2025-04-01 00:00:00', 'u', 1,
                     '2025-04-01 00:00:00', '2025-04-01 00:00:00');",
        )
        .expect("practices");
        for (id, program, indications) in [
            ("c1", "microstructure", "addiction"),
            ("c2", "microstructure", "precarity,anxiety"),
            ("c3", "microstructure", "anxiety"),
            ("c4", "sesame", "depression"),
        ] {
            conn.batch_execute(&format!(
                "INSERT INTO cases (id, patient_id, practice_id, program, indications, substances,
                    referred_by, phase, referred_at, phase_since, review_requested, responded,
                    safety_alert, version, created_at, updated_at)
                 VALUES ('{id}', 'pa1', 'p1', '{program}', '{indications}', '', 'u', 'closed',
                    '2025-04-01 00:00:00', '2025-04-01 00:00:00', FALSE, FALSE, FALSE, 1,
                    '2025-04-01 00:00:00', '2025-04-01 00:00:00')"
            ))
            .expect("case");
        }
        conn.run_pending_migrations(MIGRATIONS).expect("the rest");
        let mut conn = DbConn::Sqlite(conn);
        use crate::db::schema::cases;
        let programs: Vec<(String, String)> = cases::table
            .select((cases::id, cases::program))
            .order(cases::id)
            .load(&mut conn)
            .expect("cases");
        let want = [
            ("c1", "microstructure_addiction"),
            ("c2", "microstructure_addiction"),
            ("c3", "microstructure_mental_health"),
            ("c4", "sesame"),
        ];
        assert_eq!(
            programs,
            want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
        );
        let periods = practices::programs_of(&mut conn, &["p1".into(), "p2".into()])
            .expect("periods")
            .into_iter()
            .map(|r| {
                (
                    r.practice_id,
                    r.program.as_str(),
                    r.starts_on.to_string(),
                    r.ends_on,
                )
            })
            .collect::<Vec<_>>();
        let since = |p: &str, program, day: &str| (p.to_owned(), program, day.to_owned(), None);
        assert_eq!(
            periods,
            vec![
                since("p1", "microstructure_addiction", "2025-03-04"),
                since("p1", "microstructure_mental_health", "2025-03-04"),
                since("p1", "sesame", "2025-03-04"),
                since("p2", "sesame", "2026-01-02"),
            ]
        );
    }
}
