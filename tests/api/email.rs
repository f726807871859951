//! Emails through the outbox to a real SMTP server on loopback: the right people, once, in their
//! language, valid MIME, no clinical content; an SMTP outage loses nothing.

use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::pathway::{ExitReason, Phase};
use sesame::email::content::FORBIDDEN_WORDS;
use sesame::outbox::sender::{PassReport, Sender};

use crate::common::{Account, Case, TestApp, bearer};
use crate::smtp::{Received, SmtpServer};

/// An app mailing to `smtp` with links to its public address, with a GP and a nurse of one
/// practice; the nurse reads English.
async fn clinic_mailing_to(smtp: &SmtpServer) -> (TestApp, Account, Account) {
    let app = TestApp::with(|s| {
        smtp.configure(s);
        s.public_url = "https://sesame.example.fr".to_owned();
        s.outbox_max_attempts = 3;
    })
    .await;
    let practice = app.practice().await;
    let gp = app.gp_of(&practice).await;
    let nurse = app.nurse_of(&practice).await;
    app.patch(
        &format!("/api/v1/users/{}", nurse.id),
        &app.admin().await,
        json!({"locale": "en"}),
    )
    .await
    .assert_status(200);
    (app, gp, nurse)
}

/// A referral whose screening PHQ-9 answers item 9 above 0.
async fn refer_with_alert(app: &TestApp, gp: &Account) -> Case {
    let patient = app
        .patient_of(gp)
        .named("Zéphyrin", "Anatole")
        .born("1975-03-09")
        .sex("M")
        .await;
    app.case_in(Phase::Referred)
        .of(&patient)
        .referred_by(gp)
        .with_safety_alert()
        .await
}

/// No name, score, instrument or forbidden word in anything a server received.
fn assert_clean(messages: &[Received]) {
    for m in messages {
        let all = format!("{}\n{}\n{}", m.subject, m.text, m.html).to_lowercase();
        for word in
            FORBIDDEN_WORDS
                .iter()
                .chain(&["zéphyrin", "anatole", "phq", "gad", "score", "item"])
        {
            assert!(!all.contains(word), "{word:?} in {m:?}");
        }
        assert_eq!(m.defects, 0, "MIME defects in {m:?}");
        assert_eq!(m.content_type, "multipart/alternative");
        assert!(m.text.contains("https://sesame.example.fr/"), "{m:?}");
        assert!(
            m.html.contains("<a href=\"https://sesame.example.fr/"),
            "{m:?}"
        );
    }
}

#[actix_web::test]
async fn a_safety_alert_reaches_the_gp_and_the_nurse_once_in_their_language() {
    let smtp = SmtpServer::start();
    let (app, gp, nurse) = clinic_mailing_to(&smtp).await;
    let case = refer_with_alert(&app, &gp).await;
    let sender = Sender::new(app.state.clone()).unwrap();
    let pass = sender.run_once().await.unwrap();
    assert_eq!(
        pass,
        PassReport {
            sent: 2,
            retrying: 0,
            failed: 0
        }
    );
    // A second pass sends nothing again.
    assert_eq!(sender.run_once().await.unwrap(), PassReport::default());

    let mut messages = smtp.messages();
    messages.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].to, gp.email);
    assert_eq!(
        messages[0].subject,
        "Sésame : un dossier demande votre attention"
    );
    assert_eq!(messages[1].to, nurse.email);
    assert_eq!(messages[1].subject, "Sésame: a case needs your attention");
    assert!(messages[1].text.contains(&format!("/cases/{case}")));
    assert_ne!(messages[0].message_id, messages[1].message_id);
    assert_clean(&messages);

    // The admin sees them as sent.
    let admin = app.admin().await;
    let sent = app.get("/api/v1/outbox?status=sent", &admin).await;
    sent.assert_status(200);
    assert_eq!(sent.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(sent.body["items"][0]["kind"], "case_attention");
    app.get("/api/v1/outbox", &nurse).await.assert_problem(403);
}

#[actix_web::test]
async fn with_the_smtp_server_down_events_commit_and_messages_wait_then_arrive_once() {
    let mut smtp = SmtpServer::start();
    let (app, gp, _) = clinic_mailing_to(&smtp).await;
    smtp.stop();
    // The referral commits although no email can leave.
    refer_with_alert(&app, &gp).await;
    refer_with_alert(&app, &gp).await;
    let sender = Sender::new(app.state.clone()).unwrap();
    let pass = sender.run_once().await.unwrap();
    assert_eq!(
        pass,
        PassReport {
            sent: 0,
            retrying: 4,
            failed: 0
        }
    );
    let admin = app.admin().await;
    let waiting = app.get("/api/v1/outbox?status=pending", &admin).await;
    let items = waiting.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(
        items[0]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    assert_eq!(items[0]["attempts"], 1);
    // Not before the backoff is over.
    assert_eq!(sender.run_once().await.unwrap(), PassReport::default());

    smtp.resume();
    app.clock.advance(Duration::seconds(31));
    let pass = sender.run_once().await.unwrap();
    assert_eq!(pass.sent, 4);
    assert_eq!(sender.run_once().await.unwrap(), PassReport::default());
    let messages = smtp.messages();
    assert_eq!(messages.len(), 4, "each exactly once");
    assert_clean(&messages);
}

#[actix_web::test]
async fn a_message_failing_every_attempt_is_failed_with_the_error_and_can_be_retried() {
    let mut smtp = SmtpServer::start();
    let (app, gp, _) = clinic_mailing_to(&smtp).await;
    smtp.stop();
    refer_with_alert(&app, &gp).await;
    let sender = Sender::new(app.state.clone()).unwrap();
    // Three attempts (the setting), 30 s then 60 s apart.
    for wait in [0, 31, 61] {
        app.clock.advance(Duration::seconds(wait));
        sender.run_once().await.unwrap();
    }
    let admin = app.admin().await;
    let failed = app.get("/api/v1/outbox?status=failed", &admin).await;
    let items = failed.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["attempts"], 3);
    assert!(items[0]["last_error"].is_string());

    smtp.resume();
    let id = items[0]["id"].as_str().unwrap();
    let retried = app
        .post(
            &format!("/api/v1/outbox/{id}/retry"),
            Some(&admin),
            json!({}),
        )
        .await;
    retried.assert_status(200);
    assert_eq!(retried.body["status"], "pending");
    app.post(
        &format!("/api/v1/outbox/{id}/retry"),
        Some(&admin),
        json!({}),
    )
    .await
    .assert_problem(409);
    assert_eq!(sender.run_once().await.unwrap().sent, 1);
    assert_eq!(smtp.messages().len(), 1);
}

#[actix_web::test]
async fn a_full_pathway_run_mails_digests_and_reminders_once_and_nothing_clinical() {
    let smtp = SmtpServer::start();
    let (app, gp, nurse) = clinic_mailing_to(&smtp).await;
    // A nurse of another practice, with nothing to do, gets no digest.
    let elsewhere = app.practice_named("MSP des Lilas").await;
    let idle = app.nurse_of(&elsewhere).await;

    // One referral with an alert, assessed at once; another waiting for its assessment.
    let alerted = refer_with_alert(&app, &gp).await;
    refer_with_alert(&app, &gp).await;
    app.post(
        &format!("/api/v1/cases/{alerted}/assessment"),
        Some(&nurse),
        json!({"phq9": [2, 2, 2, 2, 2, 2, 1, 1, 1], "gad7": [2, 2, 2, 2, 1, 1, 1], "care_plan": "Suivi."}),
    )
    .await
    .assert_status(200);
    // The patient gave an email: the contact planned for tomorrow (Paris) gets a reminder.
    app.patch(
        &format!("/api/v1/patients/{}", alerted.patient),
        &gp,
        json!({"email": "anatole.z@example.org"}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/cases/{alerted}/contacts"),
        Some(&nurse),
        json!({"occurred_at": "2026-11-23T08:00:00Z", "mode": "phone", "outcome": "completed",
               "phq9": [2, 2, 2, 2, 2, 1, 1, 1, 0], "next_planned_at": "2026-11-24T13:00:00Z"}),
    )
    .await
    .assert_status(201);

    // Three weeks on, the active case is overdue and the referral still waits.
    app.clock.advance(Duration::days(20));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 13).unwrap();
    let first = sesame::outbox::digests::run_day_now(&app.state, day)
        .await
        .unwrap();
    assert_eq!(first.nurse_digests, 1, "only the nurse with work");
    assert_eq!(
        first.patient_reminders, 0,
        "nothing planned for 14 December"
    );
    // The day before the planned contact (23 November, Paris): the reminder.
    let eve = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let reminders = sesame::outbox::digests::run_day_now(&app.state, eve)
        .await
        .unwrap();
    assert_eq!(reminders.patient_reminders, 1);
    // Running the days again writes nothing twice.
    for d in [day, eve] {
        let again = sesame::outbox::digests::run_day_now(&app.state, d)
            .await
            .unwrap();
        assert_eq!(again, sesame::outbox::digests::DayReport::default());
    }

    let sender = Sender::new(app.state.clone()).unwrap();
    sender.run_once().await.unwrap();
    let messages = smtp.messages();
    let digest: Vec<&Received> = messages
        .iter()
        .filter(|m| m.subject.starts_with("Sésame: your day"))
        .collect();
    // The 13 December one, and the 23 November one (the referral was waiting then too).
    assert_eq!(digest.len(), 2, "{messages:#?}");
    let digest: Vec<&Received> = digest
        .into_iter()
        .filter(|m| m.subject == "Sésame: your day, Sunday 13 December 2026")
        .collect();
    assert_eq!(digest[0].to, nurse.email);
    assert!(
        digest[0].text.contains("1 follow-up overdue"),
        "{}",
        digest[0].text
    );
    assert!(
        digest[0].text.contains("1 initial assessment waiting"),
        "{}",
        digest[0].text
    );
    let reminder: Vec<&Received> = messages
        .iter()
        .filter(|m| m.to == "anatole.z@example.org")
        .collect();
    assert_eq!(reminder.len(), 1);
    assert!(
        reminder[0].text.contains("mardi 24 novembre 2026 à 14:00"),
        "{}",
        reminder[0].text
    );
    assert!(!messages.iter().any(|m| m.to == idle.email));
    // Alerts (two referrals and the assessment, each to the GP and the nurse), two digests, the
    // reminder: every one exactly once, every one clean.
    assert_eq!(messages.len(), 9);
    assert_clean(&messages);
}

#[actix_web::test]
async fn without_smtp_messages_are_written_as_eml_files_in_the_data_directory() {
    let app = TestApp::new().await;
    let practice = app.practice().await;
    let gp = app.gp_of(&practice).await;
    app.nurse_of(&practice).await;
    refer_with_alert(&app, &gp).await;
    let sender = Sender::new(app.state.clone()).unwrap();
    assert!(
        sender.describe().contains("outbox-mail"),
        "{}",
        sender.describe()
    );
    assert_eq!(sender.run_once().await.unwrap().sent, 2);
    let folder = app.database().data_dir().join("outbox-mail");
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 2);
    let raw = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(raw.contains("multipart/alternative"), "{raw}");
}

#[actix_web::test]
async fn closing_a_case_tells_its_gp_once_in_their_language_without_the_reason_or_the_patient() {
    let smtp = SmtpServer::start();
    let (app, gp, nurse) = clinic_mailing_to(&smtp).await;
    let patient = app
        .patient_of(&gp)
        .named("Zéphyrin", "Anatole")
        .born("1975-03-09")
        .await;
    let case = app
        .case_in(Phase::Referred)
        .of(&patient)
        .referred_by(&gp)
        .await;
    app.assess(&case, &nurse).await;
    let admin = app.admin().await;
    let before = app.get("/api/v1/outbox", &admin).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    // Closed with a key, then the same request retried: one email to the GP.
    let close = || {
        TestRequest::post()
            .uri(&format!("{}/transitions", case.url()))
            .insert_header(bearer(&nurse))
            .insert_header(("Idempotency-Key", "exit-1"))
            .set_json(json!({"to": "closed", "exit_reason": ExitReason::Remission}))
    };
    app.send(close()).await.assert_status(200);
    let again = app.send(close()).await;
    again.assert_status(200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let outbox = app.get("/api/v1/outbox", &admin).await;
    let items = outbox.body["items"].as_array().unwrap();
    let exits: Vec<&Value> = items
        .iter()
        .filter(|m| m["kind"] == "case_closed")
        .collect();
    assert_eq!(items.len(), before + 1, "{}", outbox.text);
    assert_eq!(exits.len(), 1, "{}", outbox.text);
    assert_eq!(exits[0]["recipient"], gp.email.as_str());
    assert_eq!(exits[0]["dedupe_key"], format!("exit:{case}:{}", gp.id));
    assert_eq!(exits[0]["locale"], "fr");

    let sender = Sender::new(app.state.clone()).unwrap();
    sender.run_once().await.unwrap();
    let messages = smtp.messages();
    let told: Vec<&Received> = messages
        .iter()
        .filter(|m| m.subject == "Sésame : un suivi que vous avez adressé est terminé")
        .collect();
    assert_eq!(told.len(), 1, "{messages:#?}");
    assert_eq!(told[0].to, gp.email);
    assert!(
        told[0]
            .text
            .contains(&format!("https://sesame.example.fr/cases/{case}"))
    );
    for m in &told {
        let all = format!("{}\n{}\n{}", m.subject, m.text, m.html).to_lowercase();
        for word in ["remission", "rémission", "zéphyrin", "anatole", "1975"] {
            assert!(!all.contains(word), "{word:?} in {m:?}");
        }
    }
    assert_clean(&messages);

    // In English for a GP who reads English; nothing for an inactive one.
    app.patch(
        &format!("/api/v1/users/{}", gp.id),
        &admin,
        json!({"locale": "en"}),
    )
    .await
    .assert_status(200);
    let english = app.case_in(Phase::Referred).referred_by(&gp).await;
    let gone = app.case_in(Phase::Referred).referred_by(&gp).await;
    app.close(&english, &nurse, ExitReason::Other).await;
    app.patch(
        &format!("/api/v1/users/{}", gp.id),
        &admin,
        json!({"active": false}),
    )
    .await
    .assert_status(200);
    app.close(&gone, &nurse, ExitReason::Other).await;
    let exits: Vec<Value> = app.get("/api/v1/outbox", &admin).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "case_closed")
        .cloned()
        .collect();
    assert_eq!(exits.len(), 2, "{exits:#?}");
    let en = exits
        .iter()
        .find(|m| m["dedupe_key"] == format!("exit:{english}:{}", gp.id))
        .unwrap();
    assert_eq!(en["subject"], "Sésame: a case you referred has been closed");
    assert_eq!(en["locale"], "en");
}
