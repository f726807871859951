//! Tele-expertise through the API: a request's whole life with its emails, every refusal, the
//! billing rule, and who sees what.

use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::account::Role;
use sesame::outbox::sender::Sender;

use crate::common::TestApp;
use crate::smtp::SmtpServer;

struct Setup {
    app: TestApp,
    admin: String,
    practice: String,
    gp: String,
    nurse: String,
    psy: String,
    psy_id: String,
    nurse_id: String,
}

async fn setup(smtp: Option<&SmtpServer>) -> Setup {
    let url = smtp.map(SmtpServer::url);
    let app = TestApp::with(move |s| {
        s.smtp_url = url.map(|u| sesame::config::Secret(u.into_bytes()));
    })
    .await;
    let admin = app.admin().await;
    let practice = app.practice(&admin, "Cabinet Voltaire").await;
    app.user("gp@example.fr", Role::Gp, &[&practice]).await;
    let nurse_id = app
        .user("nurse@example.fr", Role::Nurse, &[&practice])
        .await;
    let psy_id = app
        .user("psy@example.fr", Role::Psychiatrist, &[&practice])
        .await;
    Setup {
        gp: app.token("gp@example.fr").await,
        nurse: app.token("nurse@example.fr").await,
        psy: app.token("psy@example.fr").await,
        admin,
        practice,
        psy_id,
        nurse_id,
        app,
    }
}

/// A patient referred and assessed by the nurse; returns the case id.
async fn active_case(s: &Setup, external_id: &str) -> String {
    let patient = s
        .app
        .post(
            "/api/v1/patients",
            Some(&s.gp),
            json!({"external_id": external_id, "family_name": "Morel", "given_names": "Inès",
                   "birth_date": "1988-08-08", "sex": "F", "consent": "informed"}),
        )
        .await;
    patient.assert_status(201);
    let case = s
        .app
        .post(
            "/api/v1/cases",
            Some(&s.gp),
            json!({"patient_id": patient.body["id"], "program": "sesame", "indications": ["anxiety"],
                   "screening": {"gad7": [2, 2, 2, 2, 2, 1, 1]}}),
        )
        .await;
    case.assert_status(201);
    let id = case.body["id"].as_str().unwrap().to_owned();
    s.app
        .post(
            &format!("/api/v1/cases/{id}/assessment"),
            Some(&s.nurse),
            json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0], "gad7": [2, 2, 2, 2, 2, 1, 1], "care_plan": "Suivi."}),
        )
        .await
        .assert_status(200);
    id
}

fn ask(expert: &str, urgency: &str) -> Value {
    json!({"expert_id": expert, "question": "Faut-il adapter le traitement ?",
           "urgency": urgency, "patient_consent": true})
}

#[actix_web::test]
async fn a_request_runs_its_whole_life_with_its_emails_and_joins_the_timeline() {
    let smtp = SmtpServer::start();
    let s = setup(Some(&smtp)).await;
    let case = active_case(&s, "DOS-1").await;
    // The assessment's PHQ-9, attached to the question.
    let timeline = s
        .app
        .get(&format!("/api/v1/cases/{case}/timeline"), &s.nurse)
        .await;
    let score = timeline.body["entries"][1]["scores"][0]["id"].clone();
    assert!(score.is_string(), "{}", timeline.text);
    let mut body = ask(&s.psy_id, "urgent");
    body["attached_score_ids"] = json!([score]);
    let created = s
        .app
        .post(
            &format!("/api/v1/cases/{case}/tele-expertise"),
            Some(&s.nurse),
            body,
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status"], "requested");
    assert_eq!(created.body["attached_score_ids"], json!([score]));
    // Urgent: due in 2 days.
    assert_eq!(created.body["due_at"], "2026-11-25T08:00:00Z");
    assert_eq!(created.body["requester_id"], s.nurse_id.as_str());

    // The expert's inbox shows it; accept, then answer.
    let inbox = s.app.get("/api/v1/tele-expertise", &s.psy).await;
    inbox.assert_status(200);
    assert_eq!(inbox.body["items"][0]["id"], id.as_str());
    let accepted = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{id}/accept"),
            Some(&s.psy),
            json!({}),
        )
        .await;
    accepted.assert_status(200);
    assert_eq!(accepted.body["status"], "accepted");
    let answered = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{id}/answer"),
            Some(&s.psy),
            json!({"answer": "Augmenter la posologie ; revoir dans 4 semaines.", "recommendations": "Suivi rapproché."}),
        )
        .await;
    answered.assert_status(200);
    assert_eq!(answered.body["status"], "answered");
    assert_eq!(answered.body["billing"]["billable"], true);
    assert_eq!(answered.body["billing"]["expert_code"], "TE2");
    assert_eq!(answered.body["billing"]["requester_code"], "RQD");

    // Read-only once answered.
    let again = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{id}/cancel"),
            Some(&s.nurse),
            json!({}),
        )
        .await;
    again.assert_problem(409);
    assert_eq!(again.body["allowed"], json!([]));

    // The answer is on the case's timeline.
    let timeline = s
        .app
        .get(&format!("/api/v1/cases/{case}/timeline"), &s.gp)
        .await;
    let entries = timeline.body["entries"].as_array().unwrap();
    let te: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "tele_expertise")
        .collect();
    assert_eq!(te.len(), 3);
    assert_eq!(
        te[2]["note"],
        "Augmenter la posologie ; revoir dans 4 semaines."
    );
    assert!(
        te[2]["detail"]
            .as_str()
            .unwrap()
            .ends_with("status=answered")
    );

    // Emails: the expert on the request, the requester on accept and answer; nothing clinical.
    let sender = Sender::new(s.app.state.clone()).unwrap();
    assert_eq!(sender.run_once().await.unwrap().sent, 3);
    let messages = smtp.messages();
    let to: Vec<&str> = messages.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        to.iter().filter(|t| **t == "psy@example.fr").count(),
        1,
        "{to:?}"
    );
    assert_eq!(to.iter().filter(|t| **t == "nurse@example.fr").count(), 2);
    for m in &messages {
        let all = format!("{} {} {}", m.subject, m.text, m.html).to_lowercase();
        for word in sesame::email::content::FORBIDDEN_WORDS {
            assert!(!all.contains(word), "{word} in {m:?}");
        }
        assert!(
            !all.contains("posologie") && !all.contains("morel") && !all.contains("traitement")
        );
    }
}

#[actix_web::test]
async fn every_refusal_has_its_precise_problem() {
    let s = setup(None).await;
    let case = active_case(&s, "DOS-1").await;
    let url = format!("/api/v1/cases/{case}/tele-expertise");
    // No consent.
    let mut body = ask(&s.psy_id, "routine");
    body["patient_consent"] = json!(false);
    let resp = s.app.post(&url, Some(&s.nurse), body).await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["patient_consent"]);
    // An expert who is not a psychiatrist of the practice.
    let resp = s
        .app
        .post(&url, Some(&s.nurse), ask(&s.nurse_id, "routine"))
        .await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["expert_id"]);
    let elsewhere = s.app.practice(&s.admin, "MSP des Lilas").await;
    let far = s
        .app
        .user("far@example.fr", Role::Psychiatrist, &[&elsewhere])
        .await;
    let resp = s.app.post(&url, Some(&s.nurse), ask(&far, "routine")).await;
    resp.assert_problem(422);
    // An attachment that is not a score of the case.
    let mut body = ask(&s.psy_id, "routine");
    body["attached_score_ids"] = json!([uuid::Uuid::new_v4()]);
    let resp = s.app.post(&url, Some(&s.nurse), body).await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["attached_score_ids"]);

    // Refused moves: 409 with the allowed ones for the caller's side.
    let created = s
        .app
        .post(&url, Some(&s.gp), ask(&s.psy_id, "routine"))
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let early = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{id}/answer"),
            Some(&s.psy),
            json!({"answer": "Trop tôt."}),
        )
        .await;
    early.assert_problem(409);
    assert_eq!(early.body["allowed"], json!(["accept", "decline"]));
    // Only the expert accepts; only the requester cancels.
    s.app
        .post(
            &format!("/api/v1/tele-expertise/{id}/accept"),
            Some(&s.nurse),
            json!({}),
        )
        .await
        .assert_problem(403);
    s.app
        .post(
            &format!("/api/v1/tele-expertise/{id}/cancel"),
            Some(&s.nurse),
            json!({}),
        )
        .await
        .assert_problem(403);
    let declined = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{id}/decline"),
            Some(&s.psy),
            json!({"reason": "Hors de mon champ ; voir le CMP."}),
        )
        .await;
    declined.assert_status(200);
    assert_eq!(
        declined.body["decline_reason"],
        "Hors de mon champ ; voir le CMP."
    );
    let cancel = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{id}/cancel"),
            Some(&s.gp),
            json!({}),
        )
        .await;
    cancel.assert_problem(409);
    assert_eq!(cancel.body["allowed"], json!([]));

    // A request on a closed case.
    s.app
        .post(
            &format!("/api/v1/cases/{case}/transitions"),
            Some(&s.nurse),
            json!({"to": "closed", "exit_reason": "patient_choice"}),
        )
        .await
        .assert_status(200);
    s.app
        .post(&url, Some(&s.gp), ask(&s.psy_id, "routine"))
        .await
        .assert_problem(409);
}

#[actix_web::test]
async fn the_fifth_answer_in_a_year_for_one_patient_is_not_billable() {
    let s = setup(None).await;
    let case = active_case(&s, "DOS-1").await;
    let mut billable = Vec::new();
    for _ in 0..5 {
        // Tokens last 15 minutes; a month passes between requests.
        let gp = s.app.token("gp@example.fr").await;
        let psy = s.app.token("psy@example.fr").await;
        let created = s
            .app
            .post(
                &format!("/api/v1/cases/{case}/tele-expertise"),
                Some(&gp),
                ask(&s.psy_id, "routine"),
            )
            .await;
        created.assert_status(201);
        let id = created.body["id"].as_str().unwrap().to_owned();
        s.app
            .post(
                &format!("/api/v1/tele-expertise/{id}/accept"),
                Some(&psy),
                json!({}),
            )
            .await
            .assert_status(200);
        let answered = s
            .app
            .post(
                &format!("/api/v1/tele-expertise/{id}/answer"),
                Some(&psy),
                json!({"answer": "Avis."}),
            )
            .await;
        answered.assert_status(200);
        billable.push(answered.body["billing"]["billable"].as_bool().unwrap());
        if billable.len() == 5 {
            assert!(
                answered.body["billing"]["note"]
                    .as_str()
                    .unwrap()
                    .contains("4 billable")
            );
        }
        s.app.clock.advance(Duration::days(30));
    }
    assert_eq!(billable, vec![true, true, true, true, false]);

    // The requester's list, paged: all five answered, most recent first.
    let gp = s.app.token("gp@example.fr").await;
    let mut seen = Vec::new();
    let mut next = Some(String::new());
    while let Some(cursor) = next {
        let after = if cursor.is_empty() {
            String::new()
        } else {
            format!("&after={cursor}")
        };
        let page = s
            .app
            .get(
                &format!("/api/v1/tele-expertise?side=requester&limit=2{after}"),
                &gp,
            )
            .await;
        page.assert_status(200);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["answered_at"].as_str().unwrap().to_owned());
        }
        next = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");
}

#[actix_web::test]
async fn a_psychiatrist_sees_what_is_addressed_to_them_and_another_practice_sees_nothing() {
    let s = setup(None).await;
    let case = active_case(&s, "DOS-1").await;
    let created = s
        .app
        .post(
            &format!("/api/v1/cases/{case}/tele-expertise"),
            Some(&s.nurse),
            ask(&s.psy_id, "routine"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Another psychiatrist of the same practice: not addressed to them.
    s.app
        .user("psy2@example.fr", Role::Psychiatrist, &[&s.practice])
        .await;
    let psy2 = s.app.token("psy2@example.fr").await;
    s.app
        .get(&format!("/api/v1/tele-expertise/{id}"), &psy2)
        .await
        .assert_problem(404);
    let inbox = s.app.get("/api/v1/tele-expertise", &psy2).await;
    assert_eq!(inbox.body["items"], json!([]));
    // A nurse of another practice: 404, like an unknown id.
    let elsewhere = s.app.practice(&s.admin, "MSP des Lilas").await;
    s.app
        .user("far-nurse@example.fr", Role::Nurse, &[&elsewhere])
        .await;
    let far = s.app.token("far-nurse@example.fr").await;
    let hidden = s
        .app
        .get(&format!("/api/v1/tele-expertise/{id}"), &far)
        .await;
    hidden.assert_problem(404);
    s.app
        .post(
            &format!("/api/v1/cases/{case}/tele-expertise"),
            Some(&far),
            ask(&s.psy_id, "routine"),
        )
        .await
        .assert_problem(404);
    // The GP of the practice reads it; the requester's list has it; admins are refused.
    s.app
        .get(&format!("/api/v1/tele-expertise/{id}"), &s.gp)
        .await
        .assert_status(200);
    let mine = s.app.get("/api/v1/tele-expertise", &s.nurse).await;
    assert_eq!(mine.body["items"][0]["id"], id.as_str());
    s.app
        .get("/api/v1/tele-expertise", &s.admin)
        .await
        .assert_problem(403);
    // Overdue after 8 days, marked in the inbox.
    s.app.clock.advance(Duration::days(8));
    let psy = s.app.token("psy@example.fr").await;
    let overdue = s.app.get("/api/v1/tele-expertise?overdue=true", &psy).await;
    assert_eq!(overdue.body["items"][0]["overdue"], true);
}

#[actix_web::test]
async fn requests_near_or_past_due_are_in_the_psychiatrists_digest() {
    let smtp = SmtpServer::start();
    let s = setup(Some(&smtp)).await;
    let case = active_case(&s, "DOS-1").await;
    for urgency in ["urgent", "routine"] {
        s.app
            .post(
                &format!("/api/v1/cases/{case}/tele-expertise"),
                Some(&s.nurse),
                ask(&s.psy_id, urgency),
            )
            .await
            .assert_status(201);
    }
    // The next day (24 November): the urgent one is due on the 25th, the routine one on the 30th.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let report = sesame::outbox::digests::run_day_now(&s.app.state, day)
        .await
        .unwrap();
    assert_eq!(report.expert_digests, 1);
    // A week later both are past due.
    let later = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    sesame::outbox::digests::run_day_now(&s.app.state, later)
        .await
        .unwrap();
    Sender::new(s.app.state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    let digests: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.to == "psy@example.fr" && m.subject.contains("vos demandes d'avis"))
        .collect();
    assert_eq!(digests.len(), 2, "{digests:#?}");
    assert!(
        digests
            .iter()
            .any(|m| m.text.contains("1 demande à rendre d'ici demain"))
    );
    assert!(
        digests
            .iter()
            .any(|m| m.text.contains("2 demandes en retard"))
    );
}

#[actix_web::test]
async fn closing_a_case_cancels_its_pending_requests_and_tells_both_parties() {
    let smtp = SmtpServer::start();
    let s = setup(Some(&smtp)).await;
    let case = active_case(&s, "DOS-7").await;
    let requests_url = format!("/api/v1/cases/{case}/tele-expertise");
    let ask_one = |urgency: &str| {
        s.app
            .post(&requests_url, Some(&s.nurse), ask(&s.psy_id, urgency))
    };
    let pending = ask_one("routine").await;
    pending.assert_status(201);
    let pending = pending.body["id"].as_str().unwrap().to_owned();
    let settled = ask_one("urgent").await;
    settled.assert_status(201);
    let settled = settled.body["id"].as_str().unwrap().to_owned();
    for step in ["accept", "answer"] {
        let body = if step == "answer" {
            json!({"answer": "Pas de changement."})
        } else {
            json!({})
        };
        s.app
            .post(
                &format!("/api/v1/tele-expertise/{settled}/{step}"),
                Some(&s.psy),
                body,
            )
            .await
            .assert_status(200);
    }
    // The outbox so far: two requests to the expert, accept and answer to the nurse.
    let sender = Sender::new(s.app.state.clone()).unwrap();
    assert_eq!(sender.run_once().await.unwrap().sent, 4);

    s.app
        .post(
            &format!("/api/v1/cases/{case}/transitions"),
            Some(&s.nurse),
            json!({"to": "closed", "exit_reason": "patient_choice"}),
        )
        .await
        .assert_status(200);

    // The pending request is cancelled and can no longer be answered; the answered one stays.
    let read = s
        .app
        .get(&format!("/api/v1/tele-expertise/{pending}"), &s.psy)
        .await;
    read.assert_status(200);
    assert_eq!(read.body["status"], "cancelled");
    let late = s
        .app
        .post(
            &format!("/api/v1/tele-expertise/{pending}/accept"),
            Some(&s.psy),
            json!({}),
        )
        .await;
    late.assert_problem(409);
    assert_eq!(
        s.app
            .get(&format!("/api/v1/tele-expertise/{settled}"), &s.psy)
            .await
            .body["status"],
        "answered"
    );
    let timeline = s
        .app
        .get(&format!("/api/v1/cases/{case}/timeline"), &s.nurse)
        .await;
    let cancelled: Vec<&Value> = timeline.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&pending) && d.contains("because=case_closed"))
        })
        .collect();
    assert_eq!(cancelled.len(), 1, "{}", timeline.text);

    // Both parties are told, once each, without anything clinical.
    assert_eq!(sender.run_once().await.unwrap().sent, 2);
    let messages = smtp.messages();
    let told: Vec<&str> = messages[4..].iter().map(|m| m.to.as_str()).collect();
    assert!(
        told.contains(&"nurse@example.fr") && told.contains(&"psy@example.fr"),
        "{told:?}"
    );
    for m in &messages[4..] {
        assert!(m.subject.contains("annulée"), "{}", m.subject);
        let all = format!("{} {} {}", m.subject, m.text, m.html).to_lowercase();
        for word in sesame::email::content::FORBIDDEN_WORDS {
            assert!(!all.contains(word), "{word} in {m:?}");
        }
    }
}

#[actix_web::test]
async fn the_inbox_is_ordered_and_paged_by_the_database_and_audits_what_it_shows() {
    let s = setup(None).await;
    let case = active_case(&s, "DOS-3").await;
    let url = format!("/api/v1/cases/{case}/tele-expertise");
    let mut ids = Vec::new();
    for urgency in ["routine", "routine", "urgent", "routine", "urgent"] {
        let created = s
            .app
            .post(&url, Some(&s.nurse), ask(&s.psy_id, urgency))
            .await;
        created.assert_status(201);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
        s.app.clock.advance(Duration::minutes(2));
    }
    let psy = s.app.token("psy@example.fr").await;
    let mv = |id: &str, step: &str, body: Value| {
        let path = format!("/api/v1/tele-expertise/{id}/{step}");
        let psy = psy.clone();
        let app = &s.app;
        async move {
            app.post(&path, Some(&psy), body).await.assert_status(200);
        }
    };
    mv(&ids[0], "accept", json!({})).await;
    mv(&ids[0], "answer", json!({"answer": "Avis."})).await;
    mv(&ids[4], "decline", json!({"reason": "Hors de mon champ."})).await;

    // Pending, soonest due first: the urgent one (due 2 days after it was asked), then the
    // routine ones in order; then the settled ones, most recent first.
    let expected = vec![&ids[2], &ids[1], &ids[3], &ids[4], &ids[0]];
    let mut seen = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let page = s
            .app
            .get(&format!("/api/v1/tele-expertise?limit=2{after}"), &psy)
            .await;
        page.assert_status(200);
        pages += 1;
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => after = format!("&after={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.iter().collect::<Vec<_>>(), expected);

    // Each page audited the requests it showed, not the one read to know more follow.
    let audit = s
        .app
        .get(
            &format!("/api/v1/audit?actor_id={}&limit=200", s.psy_id),
            &s.admin,
        )
        .await;
    audit.assert_status(200);
    let listed = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "tele_expertise.list")
        .count();
    assert_eq!(listed, 5, "{}", audit.text);

    // Overdue: only pending requests past their due date.
    s.app.clock.advance(Duration::days(3));
    let psy = s.app.token("psy@example.fr").await;
    let overdue = s.app.get("/api/v1/tele-expertise?overdue=true", &psy).await;
    overdue.assert_status(200);
    let overdue: Vec<&str> = overdue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(overdue, vec![ids[2].as_str()]);

    // A cursor that is not of this list.
    let stranger = s
        .app
        .get(
            &format!("/api/v1/tele-expertise?side=requester&after={}", ids[1]),
            &psy,
        )
        .await;
    stranger.assert_problem(400);
    assert_eq!(stranger.field_errors(), vec!["after"]);
}
