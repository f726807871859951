//! Typed settings read once from the environment (`SESAME_*`, `DATABASE_URL`, `.env` allowed) and
//! validated at start. Secrets are never printed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::pathway::Cadences;

/// Where the data lives, chosen by the scheme of `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .ok_or_else(|| "must start with sqlite:// or postgres://".to_owned())?;
        if path.is_empty() || path == ":memory:" {
            return Err("needs a file path, e.g. sqlite://sesame.db (an in-memory database would be empty on every connection)".to_owned());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    // The PostgreSQL URL may carry a password: show only where it points.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => {
                let host = url.rsplit_once('@').map_or_else(
                    || url.split_once("://").map_or("", |(_, rest)| rest),
                    |(_, host)| host,
                );
                let host = host.split('?').next().unwrap_or_default();
                write!(f, "postgres://…@{host}")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret that never shows in `Debug` output.
#[derive(Clone)]
pub struct Secret(pub Vec<u8>);

impl Secret {
    /// The secret as text (environment values are text).
    pub fn expose_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub migrate_on_start: bool,
    pub db_pool_size: u32,
    pub db_pool_timeout: Duration,
    /// PostgreSQL: how long one connection attempt may take (libpq's `connect_timeout`), so that
    /// the pool retries an unreachable server promptly.
    pub db_connect_timeout: Duration,
    pub sqlite_busy_timeout: Duration,
    pub bind: String,
    pub data_dir: PathBuf,
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
    /// A connection whose request line and headers have not all arrived by then gets 408.
    pub header_timeout: Duration,
    /// A request body that has not all arrived by then (once its handler starts reading it) gets
    /// 408 and the connection is closed.
    pub body_timeout: Duration,
    pub max_body_bytes: usize,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub lockout_threshold: i32,
    /// `None`: a locked account stays locked until an admin unlocks it.
    pub lockout_minutes: Option<i64>,
    /// Requests to the token endpoints per client address and minute (a burst of as many).
    pub auth_requests_per_minute: u32,
    /// Failed authentications (logins, refresh tokens, bearer tokens) per client address and
    /// minute before 429.
    pub auth_failures_per_minute: u32,
    /// Peers whose client-address header is believed (a reverse proxy); nobody else's is.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The header a trusted proxy puts the client's address in.
    pub client_ip_header: String,
    /// Due dates and flag thresholds of the pathway.
    pub cadences: Cadences,
    /// `None`: emails are written as files in `data_dir/outbox-mail`.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// The application's address, for the links in emails.
    pub public_url: String,
    /// Dates in emails and the digest's local time are in this zone.
    pub timezone: chrono_tz::Tz,
    /// Local time of the daily digests.
    pub digest_time: chrono::NaiveTime,
    /// Run the outbox sender and the scheduler inside `serve`.
    pub background_jobs: bool,
    pub outbox_poll: Duration,
    pub outbox_max_attempts: i32,
    pub outbox_lease_secs: i64,
    /// Tele-expertise response deadlines.
    pub tele_expertise: crate::domain::tele_expertise::Deadlines,
}

impl Settings {
    /// Defaults for everything: what `sesame serve` uses with no configuration at all.
    pub fn embedded_default() -> Self {
        Self {
            database_url: DatabaseUrl::Sqlite(PathBuf::from("sesame.db")),
            migrate_on_start: true,
            db_pool_size: 8,
            db_pool_timeout: Duration::from_secs(5),
            db_connect_timeout: Duration::from_secs(3),
            sqlite_busy_timeout: Duration::from_secs(5),
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("."),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            shutdown_timeout_secs: 30,
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            max_body_bytes: 256 * 1024,
            log_format: LogFormat::Text,
            log_filter: "info".to_owned(),
            jwt_secret: None,
            jwt_issuer: "sesame".to_owned(),
            jwt_audience: "sesame-api".to_owned(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 12 * 60 * 60,
            lockout_threshold: 5,
            lockout_minutes: Some(15),
            auth_requests_per_minute: 120,
            auth_failures_per_minute: 20,
            trusted_proxies: Vec::new(),
            client_ip_header: "x-forwarded-for".to_owned(),
            cadences: Cadences::default(),
            smtp_url: None,
            mail_from: "Sésame <no-reply@sesame.invalid>".to_owned(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            timezone: chrono_tz::Europe::Paris,
            digest_time: chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default(),
            background_jobs: true,
            outbox_poll: Duration::from_secs(2),
            outbox_max_attempts: 8,
            outbox_lease_secs: 300,
            tele_expertise: crate::domain::tele_expertise::Deadlines::default(),
        }
    }

    /// Reads the process environment (after loading `.env`, if there is one).
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is the normal case; a malformed one is worth refusing.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(error) if error.not_found() => {}
            Err(error) => return Err(ConfigError(vec![format!(".env: {error}")])),
        }
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads settings through `lookup`, collecting every problem before refusing.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut s = Self::embedded_default();
        let mut problems = Vec::new();
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());

        // The timeouts: whole seconds from 1 to 300.
        let seconds_up_to_300 = |v: &str| {
            v.parse::<u64>()
                .ok()
                .filter(|n| (1..=300).contains(n))
                .map(Duration::from_secs)
        };

        macro_rules! parse_into {
            ($field:expr, $key:literal, $parse:expr, $expect:literal) => {
                if let Some(raw) = get($key) {
                    match $parse(raw.trim()) {
                        Some(value) => $field = value,
                        None => problems.push(format!("{}: expected {}", $key, $expect)),
                    }
                }
            };
        }

        if let Some(raw) = get("DATABASE_URL") {
            match DatabaseUrl::parse(&raw) {
                Ok(url) => s.database_url = url,
                Err(why) => problems.push(format!("DATABASE_URL: {why}")),
            }
        }
        parse_into!(
            s.migrate_on_start,
            "SESAME_MIGRATE_ON_START",
            parse_bool,
            "true or false"
        );
        parse_into!(
            s.db_pool_size,
            "SESAME_DB_POOL_SIZE",
            |v: &str| v.parse().ok().filter(|n| (1..=256).contains(n)),
            "a number of connections from 1 to 256"
        );
        parse_into!(
            s.db_pool_timeout,
            "SESAME_DB_POOL_TIMEOUT_MS",
            parse_millis,
            "milliseconds, at least 1"
        );
        parse_into!(
            s.db_connect_timeout,
            "SESAME_DB_CONNECT_TIMEOUT_SECS",
            seconds_up_to_300,
            "seconds from 1 to 300"
        );
        parse_into!(
            s.sqlite_busy_timeout,
            "SESAME_SQLITE_BUSY_TIMEOUT_MS",
            parse_millis,
            "milliseconds, at least 1"
        );
        if let Some(bind) = get("SESAME_BIND") {
            if bind.parse::<std::net::SocketAddr>().is_ok()
                || bind
                    .rsplit_once(':')
                    .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
            {
                s.bind = bind;
            } else {
                problems.push("SESAME_BIND: expected HOST:PORT, e.g. 127.0.0.1:8080".to_owned());
            }
        }
        if let Some(dir) = get("SESAME_DATA_DIR") {
            s.data_dir = PathBuf::from(dir);
        }
        parse_into!(
            s.workers,
            "SESAME_WORKERS",
            |v: &str| v.parse().ok().filter(|n| (1..=512).contains(n)),
            "a number of worker threads from 1 to 512"
        );
        parse_into!(
            s.shutdown_timeout_secs,
            "SESAME_SHUTDOWN_TIMEOUT_SECS",
            |v: &str| v.parse().ok(),
            "seconds"
        );
        parse_into!(
            s.header_timeout,
            "SESAME_HEADER_TIMEOUT_SECS",
            seconds_up_to_300,
            "seconds from 1 to 300"
        );
        parse_into!(
            s.body_timeout,
            "SESAME_BODY_TIMEOUT_SECS",
            seconds_up_to_300,
            "seconds from 1 to 300"
        );
        parse_into!(
            s.max_body_bytes,
            "SESAME_MAX_BODY_BYTES",
            |v: &str| v.parse().ok().filter(|n| *n >= 1024),
            "bytes, at least 1024"
        );
        parse_into!(
            s.log_format,
            "SESAME_LOG_FORMAT",
            |v: &str| match v {
                "text" => Some(LogFormat::Text),
                "json" => Some(LogFormat::Json),
                _ => None,
            },
            "text or json"
        );
        if let Some(filter) = get("SESAME_LOG") {
            if tracing_subscriber::EnvFilter::try_new(&filter).is_ok() {
                s.log_filter = filter;
            } else {
                problems.push(
                    "SESAME_LOG: expected a log filter such as info or info,sesame=debug"
                        .to_owned(),
                );
            }
        }
        if let Some(secret) = get("SESAME_JWT_SECRET") {
            if secret.len() < 32 {
                problems.push("SESAME_JWT_SECRET: must be at least 32 bytes long".to_owned());
            } else {
                s.jwt_secret = Some(Secret(secret.into_bytes()));
            }
        }
        if let Some(issuer) = get("SESAME_JWT_ISSUER") {
            s.jwt_issuer = issuer;
        }
        if let Some(audience) = get("SESAME_JWT_AUDIENCE") {
            s.jwt_audience = audience;
        }
        parse_into!(
            s.access_token_ttl_secs,
            "SESAME_ACCESS_TOKEN_TTL_SECS",
            |v: &str| v.parse().ok().filter(|n| (30..=86_400).contains(n)),
            "seconds from 30 to 86400"
        );
        parse_into!(
            s.refresh_token_ttl_secs,
            "SESAME_REFRESH_TOKEN_TTL_SECS",
            |v: &str| v.parse().ok().filter(|n| (60..=90 * 86_400).contains(n)),
            "seconds from 60 to 7776000 (90 days)"
        );
        parse_into!(
            s.lockout_threshold,
            "SESAME_LOCKOUT_THRESHOLD",
            |v: &str| v.parse().ok().filter(|n| (1..=100).contains(n)),
            "a number of failed logins from 1 to 100"
        );
        parse_into!(
            s.lockout_minutes,
            "SESAME_LOCKOUT_MINUTES",
            |v: &str| v
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=525_600).contains(n))
                .map(|n| (n > 0).then_some(n)),
            "minutes from 0 (until an admin unlocks) to 525600"
        );
        parse_into!(
            s.auth_requests_per_minute,
            "SESAME_AUTH_RATE_PER_MINUTE",
            |v: &str| v.parse().ok().filter(|n| (1..=1_000_000).contains(n)),
            "requests per minute from 1 to 1000000"
        );
        parse_into!(
            s.auth_failures_per_minute,
            "SESAME_AUTH_FAILURES_PER_MINUTE",
            |v: &str| v.parse().ok().filter(|n| (1..=1_000_000).contains(n)),
            "failed attempts per minute from 1 to 1000000"
        );
        parse_into!(
            s.trusted_proxies,
            "SESAME_TRUSTED_PROXIES",
            |v: &str| v
                .split(',')
                .map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
                .collect::<Option<Vec<_>>>(),
            "a comma-separated list of IP addresses, e.g. 127.0.0.1,::1"
        );
        parse_into!(
            s.client_ip_header,
            "SESAME_CLIENT_IP_HEADER",
            |v: &str| actix_web::http::header::HeaderName::from_bytes(v.as_bytes())
                .ok()
                .map(|h| h.as_str().to_owned()),
            "a header name such as X-Forwarded-For or X-Real-IP"
        );
        let days = |v: &str| v.parse::<i64>().ok().filter(|n| (1..=3650).contains(n));
        parse_into!(
            s.cadences.assessment_due_days,
            "SESAME_ASSESSMENT_DUE_DAYS",
            days,
            "days from 1 to 3650"
        );
        parse_into!(
            s.cadences.active_contact_days,
            "SESAME_ACTIVE_CONTACT_DAYS",
            days,
            "days from 1 to 3650"
        );
        parse_into!(
            s.cadences.relapse_prevention_contact_days,
            "SESAME_RELAPSE_PREVENTION_CONTACT_DAYS",
            days,
            "days from 1 to 3650"
        );
        parse_into!(
            s.cadences.consultation_days,
            "SESAME_CONSULTATION_DAYS",
            days,
            "days from 1 to 3650"
        );
        parse_into!(
            s.cadences.not_improving_weeks,
            "SESAME_NOT_IMPROVING_WEEKS",
            |v: &str| v.parse::<i64>().ok().filter(|n| (1..=520).contains(n)),
            "weeks from 1 to 520"
        );
        parse_into!(
            s.cadences.long_episode_days,
            "SESAME_LONG_EPISODE_DAYS",
            days,
            "days from 1 to 3650"
        );
        if let Some(url) = get("SESAME_SMTP_URL") {
            if url.starts_with("smtp://") || url.starts_with("smtps://") {
                s.smtp_url = Some(Secret(url.trim().as_bytes().to_vec()));
            } else {
                problems.push(
                    "SESAME_SMTP_URL: expected smtp://[user:pass@]host[:port][?tls=required] or smtps://…"
                        .to_owned(),
                );
            }
        }
        if let Some(from) = get("SESAME_MAIL_FROM") {
            if from.parse::<lettre::message::Mailbox>().is_ok() {
                s.mail_from = from.trim().to_owned();
            } else {
                problems.push(
                    "SESAME_MAIL_FROM: expected an address, e.g. Sésame <no-reply@example.fr>"
                        .to_owned(),
                );
            }
        }
        if let Some(url) = get("SESAME_PUBLIC_URL") {
            if url.starts_with("http://") || url.starts_with("https://") {
                s.public_url = url.trim().trim_end_matches('/').to_owned();
            } else {
                problems.push("SESAME_PUBLIC_URL: expected http(s)://host[/path]".to_owned());
            }
        }
        parse_into!(
            s.timezone,
            "SESAME_TIMEZONE",
            |v: &str| v.parse::<chrono_tz::Tz>().ok(),
            "an IANA time zone such as Europe/Paris"
        );
        parse_into!(
            s.digest_time,
            "SESAME_DIGEST_TIME",
            |v: &str| chrono::NaiveTime::parse_from_str(v, "%H:%M").ok(),
            "a local time HH:MM"
        );
        parse_into!(
            s.background_jobs,
            "SESAME_BACKGROUND_JOBS",
            parse_bool,
            "true or false"
        );
        parse_into!(
            s.outbox_poll,
            "SESAME_OUTBOX_POLL_MS",
            parse_millis,
            "milliseconds, at least 1"
        );
        parse_into!(
            s.outbox_max_attempts,
            "SESAME_OUTBOX_MAX_ATTEMPTS",
            |v: &str| v.parse().ok().filter(|n| (1..=100).contains(n)),
            "attempts from 1 to 100"
        );
        parse_into!(
            s.outbox_lease_secs,
            "SESAME_OUTBOX_LEASE_SECS",
            |v: &str| v.parse().ok().filter(|n| (10..=86_400).contains(n)),
            "seconds from 10 to 86400"
        );
        parse_into!(
            s.tele_expertise.routine_days,
            "SESAME_TELE_EXPERTISE_ROUTINE_DAYS",
            |v: &str| v.parse::<i64>().ok().filter(|n| (1..=90).contains(n)),
            "days from 1 to 90"
        );
        parse_into!(
            s.tele_expertise.urgent_days,
            "SESAME_TELE_EXPERTISE_URGENT_DAYS",
            |v: &str| v.parse::<i64>().ok().filter(|n| (1..=90).contains(n)),
            "days from 1 to 90"
        );

        if problems.is_empty() {
            Ok(s)
        } else {
            Err(ConfigError(problems))
        }
    }
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_millis(raw: &str) -> Option<Duration> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .map(Duration::from_millis)
}

/// Every configuration problem found, one per line.
#[derive(Debug)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration:")?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|key| env.get(key).cloned())
    }

    #[test]
    fn no_configuration_means_the_embedded_default() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.database_url,
            DatabaseUrl::Sqlite(PathBuf::from("sesame.db"))
        );
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.access_token_ttl_secs, 900);
        assert_eq!(s.lockout_threshold, 5);
        assert!(s.migrate_on_start);
    }

    #[test]
    fn database_url_scheme_chooses_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db").unwrap(),
            DatabaseUrl::Sqlite("x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("sesame.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://:memory:").is_err());
    }

    #[test]
    fn database_url_debug_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://sesame:hunter2@db.local:5432/sesame").unwrap();
        let shown = format!("{url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.local:5432/sesame"), "{shown}");
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let error = settings(&[
            ("SESAME_DB_POOL_SIZE", "zero"),
            ("SESAME_LOG_FORMAT", "xml"),
            ("SESAME_JWT_SECRET", "short"),
            ("SESAME_MIGRATE_ON_START", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(error.0.len(), 4, "{error}");
        let text = error.to_string();
        assert!(text.contains("SESAME_DB_POOL_SIZE"));
        assert!(
            !text.contains("short"),
            "the secret must not be echoed: {text}"
        );
    }

    #[test]
    fn the_connect_timeout_is_read_and_checked() {
        assert_eq!(
            settings(&[]).unwrap().db_connect_timeout,
            Duration::from_secs(3)
        );
        assert_eq!(
            settings(&[("SESAME_DB_CONNECT_TIMEOUT_SECS", "10")])
                .unwrap()
                .db_connect_timeout,
            Duration::from_secs(10)
        );
        assert!(settings(&[("SESAME_DB_CONNECT_TIMEOUT_SECS", "0")]).is_err());
    }

    #[test]
    fn lockout_minutes_zero_means_until_an_admin_unlocks() {
        assert_eq!(
            settings(&[("SESAME_LOCKOUT_MINUTES", "0")])
                .unwrap()
                .lockout_minutes,
            None
        );
        assert_eq!(
            settings(&[("SESAME_LOCKOUT_MINUTES", "30")])
                .unwrap()
                .lockout_minutes,
            Some(30)
        );
    }

    #[test]
    fn trusted_proxies_and_limits_are_read_and_checked() {
        let s = settings(&[
            ("SESAME_TRUSTED_PROXIES", "127.0.0.1, ::1"),
            ("SESAME_CLIENT_IP_HEADER", "X-Real-IP"),
            ("SESAME_AUTH_FAILURES_PER_MINUTE", "5"),
        ])
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.client_ip_header, "x-real-ip");
        assert_eq!(s.auth_failures_per_minute, 5);
        let error = settings(&[
            ("SESAME_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("SESAME_AUTH_RATE_PER_MINUTE", "0"),
        ])
        .unwrap_err();
        assert_eq!(error.0.len(), 2, "{error}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = settings(&[("SESAME_JWT_SECRET", "0123456789abcdef0123456789abcdef")]).unwrap();
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
    }
}
