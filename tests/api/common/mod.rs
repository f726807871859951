//! The test harness: the real application, in-process, on a real database of its own — a temp
//! SQLite file, or a fresh schema of the PostgreSQL database named by `TEST_DATABASE_URL`; and
//! (in `factories`) the builders that give a test its practices, people, patients and cases.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};
use sesame::app::{AppState, build_app};
use sesame::clock::FixedClock;
use sesame::config::{DatabaseUrl, Secret, Settings};
use uuid::Uuid;

mod factories;
mod processes;

pub use factories::*;
pub use processes::*;

pub const SECRET: &[u8] = b"test-secret-0123456789abcdef-0123456789";
pub const PASSWORD: &str = "correct horse battery";

/// `postgres` when the suite runs against PostgreSQL.
pub fn backend() -> &'static str {
    if postgres_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database for one test, removed afterwards.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDatabase {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match postgres_url() {
            None => Self {
                url: DatabaseUrl::Sqlite(dir.path().join("test.db")),
                _dir: dir,
                pg: None,
            },
            Some(base) => {
                let schema = format!("t_{}", Uuid::new_v4().simple());
                let mut admin =
                    diesel::PgConnection::establish(&base).expect("connect to TEST_DATABASE_URL");
                admin
                    .batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
                Self {
                    url: DatabaseUrl::Postgres(url),
                    _dir: dir,
                    pg: Some((base, schema)),
                }
            }
        }
    }

    /// The URL as `DATABASE_URL` takes it.
    pub fn env_url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().to_path_buf()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg
            && let Ok(mut admin) = diesel::PgConnection::establish(base)
        {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    /// Kept so the database outlives the application, and is dropped with it.
    _db: TestDatabase,
    /// The factories' bookkeeping: the admin they act as, the accounts made of each role (for
    /// their emails), a counter for the other things that need a unique name.
    admin: RefCell<Option<Account>>,
    accounts_of_role: RefCell<HashMap<&'static str, u32>>,
    serial: Cell<u32>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json body with this status and a detail.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        assert!(
            self.body["type"].as_str().is_some_and(|t| !t.is_empty()),
            "{}",
            self.text
        );
        assert!(
            self.body["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{}",
            self.text
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|t| !t.is_empty()),
            "{}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        self
    }

    pub fn field_errors(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::start(TestDatabase::new(), adjust)
    }

    /// The application on a database something else has already written to.
    pub async fn on(db: TestDatabase) -> Self {
        Self::start(db, |_| {})
    }

    fn start(db: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::embedded_default();
        settings.database_url = db.url.clone();
        settings.data_dir = db.data_dir();
        settings.jwt_secret = Some(Secret(SECRET.to_vec()));
        settings.db_pool_size = 4;
        adjust(&mut settings);
        let clock = Arc::new(FixedClock::new(start_time()));
        let state = AppState::start(settings, clock.clone()).expect("application starts");
        Self {
            state,
            clock,
            _db: db,
            admin: RefCell::default(),
            accounts_of_role: RefCell::default(),
            serial: Cell::new(0),
        }
    }

    pub async fn send(&self, req: TestRequest) -> Resp {
        let app = test::init_service(build_app(self.state.clone())).await;
        let response = test::call_service(&app, req.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, who: &(impl Bearer + ?Sized)) -> Resp {
        self.send(TestRequest::get().uri(path).insert_header(bearer(who)))
            .await
    }

    /// A POST as `who`, or anonymous (`None`).
    pub async fn post(&self, path: &str, who: Option<&dyn Bearer>, body: Value) -> Resp {
        let mut req = TestRequest::post().uri(path).set_json(body);
        if let Some(who) = who {
            req = req.insert_header(bearer(who));
        }
        self.send(req).await
    }

    pub async fn patch(&self, path: &str, who: &(impl Bearer + ?Sized), body: Value) -> Resp {
        self.send(
            TestRequest::patch()
                .uri(path)
                .insert_header(bearer(who))
                .set_json(body),
        )
        .await
    }

    /// The password grant for an account made with the tests' `PASSWORD`: the whole answer.
    pub async fn login(&self, email: &str) -> Value {
        self.password_grant(email, PASSWORD).await
    }

    /// An access token for an account made with the tests' `PASSWORD`.
    pub async fn token(&self, email: &str) -> String {
        access_token(self.login(email).await)
    }

    /// A token for an account made by something else (the demo seed), with its password.
    pub async fn login_as(&self, email: &str) -> String {
        access_token(
            self.password_grant(email, sesame::demo::DEMO_PASSWORD)
                .await,
        )
    }

    async fn password_grant(&self, email: &str, password: &str) -> Value {
        let resp = self
            .post(
                "/api/v1/auth/token",
                None,
                json!({"grant_type": "password", "email": email, "password": password}),
            )
            .await;
        resp.assert_status(200);
        resp.body
    }

    /// The database this app runs on (for other processes to share).
    pub fn database(&self) -> &TestDatabase {
        &self._db
    }
}

fn access_token(grant: Value) -> String {
    grant["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

/// Whoever holds a bearer token: a token itself, a person's account, the practice software.
pub trait Bearer {
    fn token(&self) -> &str;
}

impl Bearer for str {
    fn token(&self) -> &str {
        self
    }
}

impl Bearer for String {
    fn token(&self) -> &str {
        self
    }
}

/// The `Authorization` header of `who`'s requests.
pub fn bearer(who: &(impl Bearer + ?Sized)) -> (&'static str, String) {
    ("Authorization", format!("Bearer {}", who.token()))
}

/// The test clock's time, without naming the `Clock` trait at each call.
pub trait ClockNow {
    fn now_at(&self) -> DateTime<Utc>;
}

impl ClockNow for FixedClock {
    fn now_at(&self) -> DateTime<Utc> {
        sesame::clock::Clock::now(self)
    }
}
