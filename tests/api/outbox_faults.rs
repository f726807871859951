//! The outbox under faults, with real `sesame serve` processes: two instances on one database
//! deliver a burst exactly once; a process killed while sending loses nothing.

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sesame::domain::pathway::Phase;

use crate::common::{Account, TestApp, TestDatabase, free_port};
use crate::smtp::SmtpServer;

fn serve(db: &TestDatabase, smtp: &SmtpServer, lease_secs: u32) -> Child {
    let port = free_port();
    db.sesame()
        .arg("serve")
        .env("SESAME_BIND", format!("127.0.0.1:{port}"))
        .env("SESAME_SMTP_URL", smtp.url())
        .env("SESAME_OUTBOX_POLL_MS", "50")
        .env("SESAME_OUTBOX_LEASE_SECS", lease_secs.to_string())
        .env("SESAME_WORKERS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sesame serve")
}

/// Waits until `count` distinct safety-alert notices arrived (or 60 s); returns Message-ID →
/// copies. (A server started after the digest time also writes the day's digest: not counted.)
fn wait_for(smtp: &SmtpServer, count: usize) -> HashMap<String, usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut copies: HashMap<String, usize> = HashMap::new();
        for m in smtp.messages() {
            if m.subject.contains("attention") {
                *copies.entry(m.message_id).or_default() += 1;
            }
        }
        if copies.len() >= count || Instant::now() > deadline {
            return copies;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An app on `db` with a GP and a nurse of one practice: the GP.
async fn clinic(db: TestDatabase) -> (TestApp, Account) {
    let app = TestApp::on(db).await;
    let practice = app.practice().await;
    let gp = app.gp_of(&practice).await;
    app.nurse_of(&practice).await;
    (app, gp)
}

/// `alerts` referrals whose screening raises a safety alert (two messages each: the GP and the
/// nurse).
async fn burst(app: &TestApp, gp: &Account, alerts: usize) {
    for _ in 0..alerts {
        app.case_in(Phase::Referred)
            .referred_by(gp)
            .with_safety_alert()
            .await;
    }
}

#[actix_web::test]
async fn two_servers_on_one_database_deliver_a_burst_exactly_once() {
    let smtp = SmtpServer::start();
    let db = TestDatabase::new();
    let mut servers = [serve(&db, &smtp, 300), serve(&db, &smtp, 300)];
    let (app, gp) = clinic(db).await;
    // The burst arrives while both senders poll.
    burst(&app, &gp, 40).await;
    let copies = wait_for(&smtp, 80);
    for server in &mut servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    let total: usize = copies.values().sum();
    println!(
        "two servers: 80 messages made, {} delivered, {} duplicated",
        copies.len(),
        total - copies.len()
    );
    assert_eq!(copies.len(), 80, "every message arrived");
    assert_eq!(total, 80, "none twice");
}

#[actix_web::test]
async fn a_server_killed_while_sending_loses_nothing() {
    let smtp = SmtpServer::start();
    let db = TestDatabase::new();
    let (app, gp) = clinic(db).await;
    burst(&app, &gp, 60).await;
    // Kill the first sender as soon as it has started delivering.
    let mut first = serve(app.database(), &smtp, 10);
    let deadline = Instant::now() + Duration::from_secs(30);
    while smtp.messages().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = first.kill();
    let _ = first.wait();
    let before_restart = smtp.messages().len();
    // Its claims expire after the 10 s lease; a new process takes them up.
    let mut second = serve(app.database(), &smtp, 10);
    let copies = wait_for(&smtp, 120);
    let _ = second.kill();
    let _ = second.wait();
    let total: usize = copies.values().sum();
    println!(
        "killed while sending: 120 messages made, {before_restart} delivered before the kill, \
         {} delivered in all, {} duplicated",
        copies.len(),
        total - copies.len()
    );
    assert_eq!(copies.len(), 120, "nothing lost");
    assert!(
        total - copies.len() <= 1,
        "at most the one message in flight at the kill is sent twice"
    );
}
