//! The command line: `serve`, `migrate`, `user create`, `openapi`.

use std::io::BufRead;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

use crate::app::{AppState, build_app};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::account::{Locale, Role};
use crate::service::Caller;
use crate::service::accounts::{self, NewAccount};

#[derive(Debug, Parser)]
#[command(
    name = "sesame",
    version,
    about = "Collaborative-care case registry (Sésame, microstructures)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (SESAME_BIND, default 127.0.0.1:8080).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts from the command line (the first admin is made this way).
    #[command(subcommand)]
    User(UserCommand),
    /// Print the OpenAPI contract (YAML) and exit.
    Openapi,
    /// Demonstration data.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// The outgoing email queue.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Daily digests and patient reminders.
    #[command(subcommand)]
    Reminders(RemindersCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemindersCommand {
    /// Write one day's digests and reminders into the outbox (for cron; running a day twice
    /// writes nothing twice). The sender delivers them.
    Run {
        /// The local day (YYYY-MM-DD, in SESAME_TIMEZONE); default today.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Deliver every message due now, once, and exit (for a deployment without `serve`'s sender).
    Send,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Fill an empty database with a deterministic synthetic population (to try and to measure).
    Seed {
        /// How many patients (about 800 per practice, 100 open cases per nurse).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=2_000_000))]
        patients: u32,
        /// The same seed gives the same population (relative to today).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create(CreateUser),
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// admin, coordinator, gp, nurse, psychiatrist, psychologist or social_worker.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// A practice id the person works in (repeat for several).
    #[arg(long = "practice")]
    pub practices: Vec<Uuid>,
    /// fr or en.
    #[arg(long, default_value = "fr", value_parser = parse_locale)]
    pub locale: Locale,
    /// Read the password from the first line of standard input (required: passwords never go on
    /// the command line, where other users and shell history can see them).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role; one of {}", names.join(", "))
    })
}

fn parse_locale(raw: &str) -> Result<Locale, String> {
    Locale::parse(raw).ok_or_else(|| "fr or en".to_owned())
}

/// Runs a command; the error is what to print before exiting non-zero.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Openapi => {
            print!("{}", crate::http::openapi::yaml());
            Ok(())
        }
        Command::Serve => serve(load_settings()?).await,
        Command::Migrate => {
            let settings = load_settings()?;
            let db = Db::connect(&settings)?;
            let applied = db.migrate()?;
            println!(
                "{applied} migration(s) applied to {:?}",
                settings.database_url
            );
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => create_user(load_settings()?, args).await,
        Command::Outbox(OutboxCommand::Send) => {
            let state = AppState::start(load_settings()?, Arc::new(SystemClock))?;
            let sender = crate::outbox::sender::Sender::new(state)?;
            tracing::info!(mail = %sender.describe(), "outbox: one pass");
            let report = sender.run_once().await.map_err(|e| e.to_string())?;
            println!(
                "{} sent, {} to retry, {} failed",
                report.sent, report.retrying, report.failed
            );
            Ok(())
        }
        Command::Reminders(RemindersCommand::Run { date }) => {
            let state = AppState::start(load_settings()?, Arc::new(SystemClock))?;
            let day = date.unwrap_or_else(|| {
                state
                    .clock
                    .now()
                    .with_timezone(&state.settings.timezone)
                    .date_naive()
            });
            let report = crate::outbox::digests::run_day_now(&state, day)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{day}: {} nurse digests, {} psychiatrist digests, {} patient reminders and {} \
                 coordinator digests written",
                report.nurse_digests,
                report.expert_digests,
                report.patient_reminders,
                report.coordinator_digests
            );
            Ok(())
        }
        Command::Demo(DemoCommand::Seed { patients, seed }) => {
            demo_seed(load_settings()?, patients as usize, seed)
        }
    }
}

fn load_settings() -> Result<Settings, String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    crate::telemetry::init(&settings);
    Ok(settings)
}

async fn serve(settings: Settings) -> Result<(), String> {
    let bind = settings.bind.clone();
    let workers = settings.workers;
    let shutdown = settings.shutdown_timeout_secs;
    let database = format!("{:?}", settings.database_url);
    let background = settings.background_jobs;
    let poll = settings.outbox_poll;
    let state = AppState::start(settings, Arc::new(SystemClock))?;
    forget_what_has_expired(state.clone());
    if background {
        let sender = crate::outbox::sender::Sender::new(state.clone())?;
        tracing::info!(mail = %sender.describe(), "outbox sender running");
        sender.spawn(poll);
        crate::outbox::digests::spawn_scheduler(state.clone());
    } else {
        tracing::info!("background jobs off (SESAME_BACKGROUND_JOBS=false): no email is sent");
    }
    let header_timeout = state.settings.header_timeout;
    // A connection silent this long while a request is unfinished is closed (see http::wire).
    let idle_limit =
        header_timeout.max(state.settings.body_timeout) + std::time::Duration::from_secs(5);
    let server = actix_server::Server::build()
        .workers(workers)
        .shutdown_timeout(shutdown)
        .bind("sesame", &bind, move || {
            use actix_service::ServiceFactoryExt as _;
            let app = build_app(state.clone());
            actix_service::fn_service(move |io: actix_web::rt::net::TcpStream| async move {
                let io = crate::http::wire::ProblemIo::new(io).with_idle_limit(idle_limit);
                let peer = io.peer_addr();
                Ok::<_, actix_web::Error>((io, peer))
            })
            .and_then(
                actix_http::HttpService::build()
                    .client_request_timeout(header_timeout)
                    .h1(actix_service::map_config(app, |_| {
                        actix_web::dev::AppConfig::default()
                    }))
                    .map_err(|_| actix_web::error::ErrorInternalServerError("connection"))
                    .map_init_err(|_| ()),
            )
        })
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    tracing::info!(%bind, %database, workers, "sesame serving; API docs at /docs/");
    // Stops accepting on SIGINT/SIGTERM and lets in-flight requests finish (up to the timeout).
    server.run().await.map_err(|e| format!("server error: {e}"))
}

/// An hourly task forgets what no request can use any more, and after a failure (the database
/// gone) tries again with backoff: `Idempotency-Key` responses older than a day (a retry comes
/// within seconds or minutes), sessions revoked more than a day ago and API clients' sessions
/// older than a day (an access token lives at most a day; a missing session is refused like a
/// revoked one).
fn forget_what_has_expired(state: AppState) {
    actix_web::rt::spawn(async move {
        let mut backoff = crate::background::Backoff::new();
        loop {
            let before = crate::db::naive(state.clock.now() - chrono::Duration::days(1));
            let wait = match state
                .db
                .run(move |conn| {
                    let keys = crate::db::idempotency::purge(conn, before)?;
                    let sessions = crate::db::sessions::purge(conn, before, before)?;
                    Ok((keys, sessions))
                })
                .await
            {
                Ok((keys, sessions)) => {
                    backoff.succeeded();
                    tracing::debug!(
                        keys,
                        sessions,
                        "expired idempotency keys and sessions forgotten"
                    );
                    std::time::Duration::from_secs(3600)
                }
                Err(error) => {
                    let wait = backoff.failed();
                    tracing::warn!(
                        %error,
                        retry_in_secs = wait.as_secs(),
                        "could not forget expired idempotency keys and sessions"
                    );
                    wait
                }
            };
            actix_web::rt::time::sleep(wait).await;
        }
    });
}

async fn create_user(settings: Settings, args: CreateUser) -> Result<(), String> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    let input = NewAccount {
        email: args.email,
        name: args.name,
        role: args.role,
        practice_ids: args.practices.iter().map(|id| id.to_string()).collect(),
        locale: args.locale,
        password,
    };
    let db = Db::connect(&settings)?;
    if settings.migrate_on_start {
        db.migrate()?;
    }
    let record = accounts::create(&db, Caller::Operator, input, chrono::Utc::now())
        .await
        .map_err(|error| match error {
            crate::error::AppError::Validation(errors) => errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })?;
    println!("{}", record.user.id);
    Ok(())
}

fn demo_seed(settings: Settings, patients: usize, seed: u64) -> Result<(), String> {
    let db = Db::connect(&settings)?;
    if settings.migrate_on_start {
        db.migrate()?;
    }
    let report = crate::demo::seed(&db, settings.cadences, chrono::Utc::now(), patients, seed)?;
    let [referred, active, relapse_prevention, closed] = report.by_phase;
    println!(
        "seeded {:?} in {:.1} s:\n  {} practices in {} networks; {} GPs, {} nurses, {} psychiatrists\n  \
         {} patients, {} cases ({referred} referred, {active} active, {relapse_prevention} in relapse \
         prevention, {closed} closed), {} contacts, {} scores, {} safety alerts\n\
         every demo account's password: {}\n  e.g. {} (nurse), {} (GP), {} (psychiatrist), admin@demo.sesame.test",
        settings.database_url,
        report.seconds,
        report.practices,
        report.networks,
        report.gps,
        report.nurses,
        report.psychiatrists,
        report.patients,
        report.cases,
        report.contacts,
        report.scores,
        report.safety_alerts,
        crate::demo::DEMO_PASSWORD,
        report.sample_nurse,
        report.sample_gp,
        report.sample_psychiatrist,
    );
    Ok(())
}
