//! `sesame demo seed`: the command fills a database that the API then serves consistently, and
//! the same seed gives the same population.

use serde_json::Value;

use crate::common::{TestApp, TestDatabase};

fn seed(db: &TestDatabase, patients: &str, seed: &str) -> std::process::Output {
    db.sesame()
        .args(["demo", "seed", "--patients", patients, "--seed", seed])
        .output()
        .expect("run sesame")
}

/// The summary line with the counts (the elapsed time removed).
fn counts(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().skip(1).collect::<Vec<_>>().join("\n")
}

#[actix_web::test]
async fn a_seeded_database_is_served_and_the_seed_is_deterministic() {
    let db = TestDatabase::new();
    let out = seed(&db, "1700", "3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = counts(&out);
    assert!(summary.contains("3 practices"), "{summary}");
    // A second seed of the same database is refused: it would duplicate the accounts.
    let again = seed(&db, "10", "3");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds accounts"));

    // Another database, the same seed: the same population.
    let twin = TestDatabase::new();
    let out_twin = seed(&twin, "1700", "3");
    assert!(out_twin.status.success());
    assert_eq!(counts(&out_twin), summary);

    let app = TestApp::on(db).await;
    let nurse = app.login_as("infirmier1-1@demo.sesame.test").await;
    let worklist = app.get("/api/v1/worklist", &nurse).await;
    worklist.assert_status(200);
    let items = worklist.body["items"].as_array().unwrap();
    assert!(
        items.len() >= 20,
        "a nurse holds a caseload: {}",
        items.len()
    );

    // Every phase is there, and each case reads back with its derived state.
    for phase in ["referred", "active", "relapse_prevention", "closed"] {
        let page = app
            .get(&format!("/api/v1/cases?phase={phase}&limit=5"), &nurse)
            .await;
        page.assert_status(200);
        let cases = page.body["items"].as_array().unwrap();
        assert!(!cases.is_empty(), "no {phase} case");
        for case in cases {
            assert_eq!(case["phase"], phase);
            let id = case["id"].as_str().unwrap();
            let timeline = app
                .get(&format!("/api/v1/cases/{id}/timeline"), &nurse)
                .await;
            timeline.assert_status(200);
            let entries = timeline.body["entries"].as_array().unwrap();
            assert_eq!(entries[0]["kind"], "referral");
            if phase != "referred" {
                assert_eq!(entries[1]["kind"], "assessment");
                assert!(case["baseline"]["phq9"]["total"].is_number());
            }
            if phase == "closed" {
                assert!(case["exit_reason"].is_string());
                assert_eq!(entries.last().unwrap()["to_phase"], "closed");
            }
        }
    }
    // Some active cases are overdue, as in real caseloads.
    let overdue = app
        .get("/api/v1/cases?overdue=true&phase=active", &nurse)
        .await;
    assert_ne!(overdue.body["items"], Value::Array(vec![]));
}

/// A database with real data (here one admin account, then one practice with no account) is
/// refused, exit non-zero, and nothing is written: demo accounts share a published password.
#[actix_web::test]
async fn a_database_holding_real_data_is_never_seeded() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.practice_named("Cabinet réel").await;
    let out = seed(app.database(), "10", "1");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to seed"), "{stderr}");
    assert!(stderr.contains("Nothing was written"), "{stderr}");
    let demo_admin = app
        .post(
            "/api/v1/auth/token",
            None,
            serde_json::json!({"grant_type": "password", "email": "admin@demo.sesame.test",
                "password": sesame::demo::DEMO_PASSWORD}),
        )
        .await;
    demo_admin.assert_problem(401);
    let users = app.get("/api/v1/users", &admin).await;
    assert_eq!(users.body["items"].as_array().map(Vec::len), Some(1));
}
