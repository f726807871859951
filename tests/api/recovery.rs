//! The service through a PostgreSQL restart and an outage, over real sockets against a real
//! `sesame serve` on a throwaway cluster of its own (the machine's server is not touched): under
//! continuous load, no request is ever answered 500; every failure is 503 problem+json with
//! `Retry-After`; requests succeed again within 5 s of the database accepting connections, with
//! no restart of `sesame`; `/readyz` follows the database; the outbox sender survives.
//!
//! PostgreSQL pass only (`TEST_DATABASE_URL` set); the figures are printed and written to
//! `target/recovery-times.txt`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::Connection;

use crate::common::{self, PASSWORD, Server, backend, free_port};
use crate::smtp::SmtpServer;

/// The target the issue sets: requests succeed again this soon after the database is back.
const RECOVERY_TARGET: Duration = Duration::from_secs(5);

/// The newest PostgreSQL server binaries installed (`/usr/lib/postgresql/<version>/bin`).
fn postgres_bin() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A PostgreSQL cluster of this test's own, on a free port, removed when dropped (even on panic).
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// initdb and pg_ctl refuse to run as root: they run as `postgres` then.
    as_postgres: bool,
}

impl Cluster {
    fn start(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().expect("cluster dir");
        let as_postgres = running_as_root();
        if as_postgres {
            let owned = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(owned.success(), "chown the cluster dir to postgres");
        }
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        let made = cluster
            .tool("initdb")
            .args(["-A", "trust", "--no-sync", "-U", "postgres", "-D"])
            .arg(cluster.data())
            .stdout(Stdio::null())
            .status()
            .expect("initdb");
        assert!(made.success(), "initdb failed");
        assert!(cluster.launch(true), "the cluster did not start");
        cluster
    }

    /// `pg_ctl start` on this cluster's port and socket directory (never the machine's server's),
    /// waiting until it accepts connections or not.
    fn launch(&self, wait: bool) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&[if wait { "-w" } else { "-W" }, "-o", &options, "start"])
            .expect("pg_ctl start")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// Runs `pg_ctl -D DATA -l LOG <args>`; whether it succeeded.
    fn pg_ctl(&self, args: &[&str]) -> std::io::Result<bool> {
        self.tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
    }

    /// Waits until the server accepts a connection; the moment it did.
    fn wait_accepting(&self) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if diesel::PgConnection::establish(&self.url()).is_ok() {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "the cluster did not come back");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }
}

/// `sesame` on the cluster, logging as `SESAME_TEST_RECOVERY_LOG` says (warnings by default).
fn sesame(url: &str, data_dir: &Path) -> Command {
    let mut command = common::sesame(url, data_dir);
    if let Ok(level) = std::env::var("SESAME_TEST_RECOVERY_LOG") {
        command.env("SESAME_LOG", level);
    }
    command
}

fn serve(url: &str, data_dir: &Path, smtp: &SmtpServer) -> Server {
    let port = free_port();
    let log = std::fs::File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("recovery.log"))
        .expect("server log");
    let child = sesame(url, data_dir)
        .arg("serve")
        .env("SESAME_BIND", format!("127.0.0.1:{port}"))
        .env("SESAME_WORKERS", "2")
        .env("SESAME_SMTP_URL", smtp.url())
        .env("SESAME_OUTBOX_POLL_MS", "200")
        .env("SESAME_AUTH_RATE_PER_MINUTE", "100000")
        .env("SESAME_AUTH_FAILURES_PER_MINUTE", "100000")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start sesame serve");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while request(port, "GET", "/healthz", None, "").status != 200 {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// One response as read off the socket.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    /// Lower-cased head (status line and headers).
    head: String,
    body: String,
}

impl Answer {
    /// 503, problem+json, with `Retry-After`: the one acceptable failure.
    fn is_unavailable_problem(&self) -> bool {
        self.status == 503
            && self.head.contains("content-type: application/problem+json")
            && self.head.contains("retry-after: ")
            && self.body.contains("\"status\":503")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// One HTTP/1.1 request on its own connection (status 0: no answer at all).
fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let none = Answer {
        status: 0,
        head: String::new(),
        body: String::new(),
    };
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return none;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err() {
        return none;
    }
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Answer {
        status: head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

fn login(port: u16, email: &str) -> Answer {
    request(
        port,
        "POST",
        "/api/v1/auth/token",
        None,
        &format!(r#"{{"grant_type":"password","email":"{email}","password":"{PASSWORD}"}}"#),
    )
}

/// What one request of the load met.
#[derive(Debug, Clone)]
struct Sample {
    what: &'static str,
    started: Instant,
    elapsed: Duration,
    answer: Answer,
}

impl Sample {
    fn ended(&self) -> Instant {
        self.started + self.elapsed
    }

    fn succeeded(&self) -> bool {
        (200..300).contains(&self.answer.status)
    }
}

type Samples = Arc<Mutex<Vec<Sample>>>;

/// Threads sending requests until dropped (stopped even when the test panics).
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    samples: Samples,
    readiness: Samples,
}

impl Load {
    /// A reader (GET practices), a writer (POST practices), a login, each about every 10 ms, and
    /// a readiness probe every 100 ms.
    fn start(port: u16, admin_token: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples: Samples = Arc::default();
        let readiness: Samples = Arc::default();
        let mut threads = Vec::new();
        let kinds: [&'static str; 3] = ["GET /practices", "POST /practices", "POST /auth/token"];
        for what in kinds {
            let (stop, samples, token) = (stop.clone(), samples.clone(), admin_token.to_owned());
            threads.push(std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let started = Instant::now();
                    let answer = match what {
                        "GET /practices" => {
                            request(port, "GET", "/api/v1/practices", Some(&token), "")
                        }
                        "POST /practices" => request(
                            port,
                            "POST",
                            "/api/v1/practices",
                            Some(&token),
                            &format!(
                                r#"{{"name":"Cabinet {n}","network":"Réseau Est","region":"Grand Est"}}"#
                            ),
                        ),
                        _ => login(port, "admin@example.fr"),
                    };
                    let elapsed = started.elapsed();
                    samples.lock().expect("samples").push(Sample {
                        what,
                        started,
                        elapsed,
                        answer,
                    });
                    std::thread::sleep(Duration::from_millis(10));
                }
            }));
        }
        let (stop_probe, probes) = (stop.clone(), readiness.clone());
        threads.push(std::thread::spawn(move || {
            while !stop_probe.load(Ordering::Relaxed) {
                let started = Instant::now();
                let answer = request(port, "GET", "/readyz", None, "");
                let elapsed = started.elapsed();
                probes.lock().expect("probes").push(Sample {
                    what: "GET /readyz",
                    started,
                    elapsed,
                    answer,
                });
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
        Self {
            stop,
            threads,
            samples,
            readiness,
        }
    }

    fn samples(&self) -> Vec<Sample> {
        self.samples.lock().expect("samples").clone()
    }

    fn readiness(&self) -> Vec<Sample> {
        self.readiness.lock().expect("probes").clone()
    }

    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One disruption of the database and what the load met around it.
struct Outage {
    name: &'static str,
    /// When the stop (or restart) was asked.
    down_at: Instant,
    /// When the database accepted a connection again.
    back_at: Instant,
    /// Until when the load is examined.
    until: Instant,
}

/// What an outage cost, as reported.
struct Figures {
    line: String,
    recovery: Duration,
}

impl Outage {
    /// The samples of requests started from a second before the stop and answered by the end of
    /// the window (one still waiting then belongs to the next disruption, which may fail it).
    fn window<'a>(&self, samples: &'a [Sample]) -> Vec<&'a Sample> {
        let from = self.down_at.checked_sub(Duration::from_secs(1));
        samples
            .iter()
            .filter(|s| from.is_none_or(|from| s.started >= from) && s.ended() <= self.until)
            .collect()
    }

    /// Checks the promises and returns the figures.
    fn examine(&self, samples: &[Sample], readiness: &[Sample], outage: bool) -> Figures {
        let window = self.window(samples);
        assert!(!window.is_empty(), "{}: no request was made", self.name);
        for sample in &window {
            assert!(
                sample.succeeded() || sample.answer.is_unavailable_problem(),
                "{}: {} answered {} (only 503 problem+json with Retry-After may fail): {} {}",
                self.name,
                sample.what,
                sample.answer.status,
                sample.answer.head,
                sample.answer.body
            );
        }
        let unavailable = window.iter().filter(|s| !s.succeeded()).count();
        let first_success = window
            .iter()
            .filter(|s| s.succeeded() && s.started >= self.back_at)
            .map(|s| s.ended())
            .min()
            .unwrap_or_else(|| {
                panic!(
                    "{}: no request succeeded after the database came back",
                    self.name
                )
            });
        let recovery = first_success.duration_since(self.back_at);
        let late_failures = window
            .iter()
            .filter(|s| !s.succeeded() && s.started >= self.back_at + RECOVERY_TARGET)
            .count();
        let slowest = window
            .iter()
            .max_by_key(|s| s.elapsed)
            .map(|s| (s.elapsed, s.what))
            .unwrap_or_default();
        let ready_after = readiness
            .iter()
            .filter(|s| s.started >= self.back_at && s.answer.status == 200)
            .map(|s| s.ended().duration_since(self.back_at))
            .min();
        let not_ready_during = readiness
            .iter()
            .filter(|s| s.started >= self.down_at && s.ended() <= self.back_at)
            .filter(|s| s.answer.status == 503)
            .count();
        let line = format!(
            "{}: database down {:.2} s; first success {:.2} s after it accepted connections; \
             {unavailable} × 503 of {} requests (no 500); slowest request {:.2} s ({}); \
             /readyz 503 × {not_ready_during} while down, 200 again {} after",
            self.name,
            self.back_at.duration_since(self.down_at).as_secs_f64(),
            recovery.as_secs_f64(),
            window.len(),
            slowest.0.as_secs_f64(),
            slowest.1,
            ready_after.map_or("never".to_owned(), |d| format!("{:.2} s", d.as_secs_f64())),
        );
        println!("{line}");
        assert!(
            recovery < RECOVERY_TARGET,
            "{}: requests succeeded again only {recovery:?} after the database was back",
            self.name
        );
        assert_eq!(
            late_failures, 0,
            "{}: requests still failed more than {RECOVERY_TARGET:?} after the database was back",
            self.name
        );
        assert!(
            ready_after.is_some_and(|d| d < RECOVERY_TARGET),
            "{}: /readyz did not answer 200 again within {RECOVERY_TARGET:?}",
            self.name
        );
        if outage {
            assert!(
                not_ready_during > 0,
                "{}: /readyz never answered 503 while the database was down",
                self.name
            );
        }
        Figures { line, recovery }
    }
}

/// Waits until the SMTP server has a safety notice (or 60 s).
fn safety_notices(smtp: &SmtpServer) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let count = smtp
            .messages()
            .iter()
            .filter(|m| m.subject.contains("attention"))
            .count();
        if count > 0 || Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A practice, a GP and a nurse made through the API; the GP's token.
fn clinic(port: u16, admin: &str) -> String {
    let practice = request(
        port,
        "POST",
        "/api/v1/practices",
        Some(admin),
        r#"{"name":"Cabinet Voltaire","network":"Réseau Est","region":"Grand Est"}"#,
    );
    assert_eq!(practice.status, 201, "{}", practice.body);
    let practice_id = practice.json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (email, role) in [("gp@example.fr", "gp"), ("nurse@example.fr", "nurse")] {
        let made = request(
            port,
            "POST",
            "/api/v1/users",
            Some(admin),
            &serde_json::json!({"email": email, "name": format!("Test {role}"), "role": role,
                "practice_ids": [practice_id], "password": PASSWORD})
            .to_string(),
        );
        assert_eq!(made.status, 201, "{}", made.body);
    }
    let gp = login(port, "gp@example.fr");
    assert_eq!(gp.status, 200, "{}", gp.body);
    gp.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A referral whose screening raises a safety alert: the outbox gets a notice for the GP and
/// the nurse.
fn refer_with_alert(port: u16, gp: &str) {
    let patient = request(
        port,
        "POST",
        "/api/v1/patients",
        Some(gp),
        r#"{"external_id":"R-1","family_name":"Roux","given_names":"Jo","birth_date":"1970-01-01","sex":"F","consent":"informed"}"#,
    );
    assert_eq!(patient.status, 201, "{}", patient.body);
    let case = request(
        port,
        "POST",
        "/api/v1/cases",
        Some(gp),
        &serde_json::json!({"patient_id": patient.json()["id"], "program": "sesame",
            "indications": ["anxiety"], "screening": {"phq9": [2, 2, 1, 1, 1, 1, 1, 1, 1]}})
        .to_string(),
    );
    assert_eq!(case.status, 201, "{}", case.body);
}

#[test]
fn requests_recover_from_a_postgresql_restart_and_outage_without_a_500() {
    if backend() != "postgres" {
        println!("recovery: PostgreSQL only (set TEST_DATABASE_URL); skipped on SQLite");
        return;
    }
    let Some(bin) = postgres_bin() else {
        println!("recovery: no PostgreSQL server binaries in /usr/lib/postgresql; skipped");
        return;
    };
    let cluster = Cluster::start(bin);
    let data_dir = tempfile::tempdir().expect("data dir");
    let smtp = SmtpServer::start();
    let url = cluster.url();

    let mut create = sesame(&url, data_dir.path())
        .args([
            "user",
            "create",
            "--email",
            "admin@example.fr",
            "--name",
            "Admin",
        ])
        .args(["--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sesame user create");
    if let Some(mut stdin) = create.stdin.take() {
        writeln!(stdin, "{PASSWORD}").expect("password");
    }
    assert!(create.wait().expect("user create").success());

    let server = serve(&url, data_dir.path(), &smtp);
    let port = server.port;
    let admin = login(port, "admin@example.fr");
    assert_eq!(admin.status, 200, "{}", admin.body);
    let admin = admin.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let gp = clinic(port, &admin);

    let load = Load::start(port, &admin);
    std::thread::sleep(Duration::from_secs(2));

    // 1. A fast restart, as an operator does it.
    let down_at = Instant::now();
    assert!(
        cluster
            .pg_ctl(&["-m", "fast", "-W", "restart"])
            .expect("pg_ctl restart")
    );
    let back_at = cluster.wait_accepting();
    std::thread::sleep(Duration::from_secs(8));
    let restart = Outage {
        name: "fast restart",
        down_at,
        back_at,
        until: Instant::now(),
    };

    // 2. An outage: immediate stop, 10 s without a database, start again.
    let down_at = Instant::now();
    assert!(
        cluster
            .pg_ctl(&["-m", "immediate", "-w", "stop"])
            .expect("pg_ctl stop")
    );
    std::thread::sleep(Duration::from_secs(10));
    assert!(cluster.launch(false));
    let back_at = cluster.wait_accepting();
    std::thread::sleep(Duration::from_secs(8));
    let outage = Outage {
        name: "10 s outage",
        down_at,
        back_at,
        until: Instant::now(),
    };

    let (samples, readiness) = (load.samples(), load.readiness());
    load.finish();
    let before = samples
        .iter()
        .filter(|s| s.started < restart.down_at - Duration::from_secs(1))
        .collect::<Vec<_>>();
    assert!(
        before.iter().all(|s| s.succeeded()),
        "the load failed before any outage"
    );
    let figures = [
        restart.examine(&samples, &readiness, false),
        outage.examine(&samples, &readiness, true),
    ];
    let total = samples.len();
    let unavailable = samples.iter().filter(|s| !s.succeeded()).count();

    // The email sender lived through both: a notice written now is delivered.
    refer_with_alert(port, &gp);
    let notices = safety_notices(&smtp);

    let report = format!(
        "PostgreSQL recovery ({}):\n{}\n{}\nin all: {unavailable} × 503 of {total} requests, none 500; \
         worst recovery {:.2} s (target < {} s); outbox after both: {notices} safety notice(s) delivered\n",
        url,
        figures[0].line,
        figures[1].line,
        figures
            .iter()
            .map(|f| f.recovery)
            .max()
            .unwrap_or_default()
            .as_secs_f64(),
        RECOVERY_TARGET.as_secs(),
    );
    eprintln!("{report}");
    let _ = std::fs::write(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/recovery-times.txt"),
        &report,
    );
    assert!(
        notices > 0,
        "the outbox sender did not deliver after the outages"
    );
    drop(server);
}
