//! Tele-expertise through the API: a request's whole life with its emails, every refusal, the
//! billing rule, and who sees what.

use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::pathway::{ExitReason, Phase};
use sesame::domain::tele_expertise::Urgency::{Routine, Urgent};
use sesame::outbox::sender::Sender;

use crate::common::{Team, TestApp};
use crate::smtp::SmtpServer;

#[actix_web::test]
async fn a_request_runs_its_whole_life_with_its_emails_and_joins_the_timeline() {
    let smtp = SmtpServer::start();
    let app = TestApp::with(|s| smtp.configure(s)).await;
    let team = app.team().await;
    let patient = app.patient_of(&team.gp).named("Morel", "Inès").await;
    let case = app.case_in(Phase::Active).of(&patient).team(&team).await;
    let Team { gp, nurse, psy, .. } = team;
    // The assessment's PHQ-9, attached to the question.
    let timeline = app
        .get(&format!("/api/v1/cases/{case}/timeline"), &nurse)
        .await;
    let score = timeline.body["entries"][1]["scores"][0]["id"].clone();
    assert!(score.is_string(), "{}", timeline.text);
    let created = app
        .tele_expertise(&case, &nurse, &psy)
        .urgency(Urgent)
        .attach(json!([score]))
        .send()
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status"], "requested");
    assert_eq!(created.body["attached_score_ids"], json!([score]));
    // Urgent: due in 2 days.
    assert_eq!(created.body["due_at"], "2026-11-25T08:00:00Z");
    assert_eq!(created.body["requester_id"], nurse.id.as_str());

    // The expert's inbox shows it; accept, then answer.
    let inbox = app.get("/api/v1/tele-expertise", &psy).await;
    inbox.assert_status(200);
    assert_eq!(inbox.body["items"][0]["id"], id.as_str());
    let accepted = app
        .post(
            &format!("/api/v1/tele-expertise/{id}/accept"),
            Some(&psy),
            json!({}),
        )
        .await;
    accepted.assert_status(200);
    assert_eq!(accepted.body["status"], "accepted");
    let answered = app
        .post(
            &format!("/api/v1/tele-expertise/{id}/answer"),
            Some(&psy),
            json!({"answer": "Augmenter la posologie ; revoir dans 4 semaines.", "recommendations": "Suivi rapproché."}),
        )
        .await;
    answered.assert_status(200);
    assert_eq!(answered.body["status"], "answered");
    assert_eq!(answered.body["billing"]["billable"], true);
    assert_eq!(answered.body["billing"]["expert_code"], "TE2");
    assert_eq!(answered.body["billing"]["requester_code"], "RQD");

    // Read-only once answered.
    let again = app
        .post(
            &format!("/api/v1/tele-expertise/{id}/cancel"),
            Some(&nurse),
            json!({}),
        )
        .await;
    again.assert_problem(409);
    assert_eq!(again.body["allowed"], json!([]));

    // The answer is on the case's timeline.
    let timeline = app
        .get(&format!("/api/v1/cases/{case}/timeline"), &gp)
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
    let sender = Sender::new(app.state.clone()).unwrap();
    assert_eq!(sender.run_once().await.unwrap().sent, 3);
    let messages = smtp.messages();
    let to: Vec<&str> = messages.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to.iter().filter(|t| **t == psy.email).count(), 1, "{to:?}");
    assert_eq!(to.iter().filter(|t| **t == nurse.email).count(), 2);
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
    let app = TestApp::new().await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let Team { gp, nurse, psy, .. } = team;
    // No consent.
    let resp = app
        .tele_expertise(&case, &nurse, &psy)
        .without_consent()
        .send()
        .await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["patient_consent"]);
    // An expert who is not a psychiatrist of the practice.
    let resp = app.tele_expertise(&case, &nurse, &nurse).send().await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["expert_id"]);
    let elsewhere = app.practice_named("MSP des Lilas").await;
    let far = app.psychiatrist_of(&elsewhere).await;
    let resp = app.tele_expertise(&case, &nurse, &far).send().await;
    resp.assert_problem(422);
    // An attachment that is not a score of the case.
    let resp = app
        .tele_expertise(&case, &nurse, &psy)
        .attach(json!([uuid::Uuid::new_v4()]))
        .send()
        .await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["attached_score_ids"]);

    // Refused moves: 409 with the allowed ones for the caller's side.
    let id = app.tele_expertise(&case, &gp, &psy).await;
    let early = app
        .post(
            &format!("/api/v1/tele-expertise/{id}/answer"),
            Some(&psy),
            json!({"answer": "Trop tôt."}),
        )
        .await;
    early.assert_problem(409);
    assert_eq!(early.body["allowed"], json!(["accept", "decline"]));
    // Only the expert accepts; only the requester cancels.
    app.post(
        &format!("/api/v1/tele-expertise/{id}/accept"),
        Some(&nurse),
        json!({}),
    )
    .await
    .assert_problem(403);
    app.post(
        &format!("/api/v1/tele-expertise/{id}/cancel"),
        Some(&nurse),
        json!({}),
    )
    .await
    .assert_problem(403);
    let declined = app
        .post(
            &format!("/api/v1/tele-expertise/{id}/decline"),
            Some(&psy),
            json!({"reason": "Hors de mon champ ; voir le CMP."}),
        )
        .await;
    declined.assert_status(200);
    assert_eq!(
        declined.body["decline_reason"],
        "Hors de mon champ ; voir le CMP."
    );
    let cancel = app
        .post(
            &format!("/api/v1/tele-expertise/{id}/cancel"),
            Some(&gp),
            json!({}),
        )
        .await;
    cancel.assert_problem(409);
    assert_eq!(cancel.body["allowed"], json!([]));

    // A request on a closed case.
    app.close(&case, &nurse, ExitReason::PatientChoice).await;
    app.tele_expertise(&case, &gp, &psy)
        .send()
        .await
        .assert_problem(409);
}

#[actix_web::test]
async fn the_fifth_answer_in_a_year_for_one_patient_is_not_billable() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let Team {
        mut gp, mut psy, ..
    } = team;
    let mut billable = Vec::new();
    for _ in 0..5 {
        // Tokens last 15 minutes; a month passes between requests.
        app.renew(&mut gp).await;
        app.renew(&mut psy).await;
        let id = app.tele_expertise(&case, &gp, &psy).await;
        app.post(
            &format!("/api/v1/tele-expertise/{id}/accept"),
            Some(&psy),
            json!({}),
        )
        .await
        .assert_status(200);
        let answered = app
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
        app.clock.advance(Duration::days(30));
    }
    assert_eq!(billable, vec![true, true, true, true, false]);

    // The requester's list, paged: all five answered, most recent first.
    app.renew(&mut gp).await;
    let mut seen = Vec::new();
    let mut next = Some(String::new());
    while let Some(cursor) = next {
        let after = if cursor.is_empty() {
            String::new()
        } else {
            format!("&after={cursor}")
        };
        let page = app
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
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let Team {
        practice,
        gp,
        nurse,
        mut psy,
    } = team;
    let id = app.tele_expertise(&case, &nurse, &psy).await.id;
    // Another psychiatrist of the same practice: not addressed to them.
    let psy2 = app.psychiatrist_of(&practice).await.token;
    app.get(&format!("/api/v1/tele-expertise/{id}"), &psy2)
        .await
        .assert_problem(404);
    let inbox = app.get("/api/v1/tele-expertise", &psy2).await;
    assert_eq!(inbox.body["items"], json!([]));
    // A nurse of another practice: 404, like an unknown id.
    let elsewhere = app.practice_named("MSP des Lilas").await;
    let far = app.nurse_of(&elsewhere).await;
    let hidden = app.get(&format!("/api/v1/tele-expertise/{id}"), &far).await;
    hidden.assert_problem(404);
    app.tele_expertise(&case, &far, &psy)
        .send()
        .await
        .assert_problem(404);
    // The GP of the practice reads it; the requester's list has it; admins are refused.
    app.get(&format!("/api/v1/tele-expertise/{id}"), &gp)
        .await
        .assert_status(200);
    let mine = app.get("/api/v1/tele-expertise", &nurse).await;
    assert_eq!(mine.body["items"][0]["id"], id.as_str());
    app.get("/api/v1/tele-expertise", &admin)
        .await
        .assert_problem(403);
    // Overdue after 8 days, marked in the inbox.
    app.clock.advance(Duration::days(8));
    app.renew(&mut psy).await;
    let overdue = app.get("/api/v1/tele-expertise?overdue=true", &psy).await;
    assert_eq!(overdue.body["items"][0]["overdue"], true);
}

#[actix_web::test]
async fn requests_near_or_past_due_are_in_the_psychiatrists_digest() {
    let smtp = SmtpServer::start();
    let app = TestApp::with(|s| smtp.configure(s)).await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let psy = &team.psy;
    for urgency in [Urgent, Routine] {
        app.tele_expertise(&case, &team.nurse, psy)
            .urgency(urgency)
            .await;
    }
    // The next day (24 November): the urgent one is due on the 25th, the routine one on the 30th.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    let report = sesame::outbox::digests::run_day_now(&app.state, day)
        .await
        .unwrap();
    assert_eq!(report.expert_digests, 1);
    // A week later both are past due.
    let later = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    sesame::outbox::digests::run_day_now(&app.state, later)
        .await
        .unwrap();
    Sender::new(app.state.clone())
        .unwrap()
        .run_once()
        .await
        .unwrap();
    let digests: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.to == psy.email && m.subject.contains("vos demandes d'avis"))
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
    let app = TestApp::with(|s| smtp.configure(s)).await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let Team { nurse, psy, .. } = team;
    let pending = app.tele_expertise(&case, &nurse, &psy).await.id;
    let settled = app
        .tele_expertise(&case, &nurse, &psy)
        .urgency(Urgent)
        .await
        .id;
    for step in ["accept", "answer"] {
        let body = if step == "answer" {
            json!({"answer": "Pas de changement."})
        } else {
            json!({})
        };
        app.post(
            &format!("/api/v1/tele-expertise/{settled}/{step}"),
            Some(&psy),
            body,
        )
        .await
        .assert_status(200);
    }
    // The outbox so far: two requests to the expert, accept and answer to the nurse.
    let sender = Sender::new(app.state.clone()).unwrap();
    assert_eq!(sender.run_once().await.unwrap().sent, 4);

    app.close(&case, &nurse, ExitReason::PatientChoice).await;

    // The pending request is cancelled and can no longer be answered; the answered one stays.
    let read = app
        .get(&format!("/api/v1/tele-expertise/{pending}"), &psy)
        .await;
    read.assert_status(200);
    assert_eq!(read.body["status"], "cancelled");
    let late = app
        .post(
            &format!("/api/v1/tele-expertise/{pending}/accept"),
            Some(&psy),
            json!({}),
        )
        .await;
    late.assert_problem(409);
    assert_eq!(
        app.get(&format!("/api/v1/tele-expertise/{settled}"), &psy)
            .await
            .body["status"],
        "answered"
    );
    let timeline = app
        .get(&format!("/api/v1/cases/{case}/timeline"), &nurse)
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

    // Both parties are told, once each, without anything clinical (and the GP that the case
    // they referred is closed).
    assert_eq!(sender.run_once().await.unwrap().sent, 3);
    let messages = smtp.messages();
    let withdrawn: Vec<_> = messages[4..]
        .iter()
        .filter(|m| m.subject.contains("annulée"))
        .collect();
    let told: Vec<&str> = withdrawn.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told.contains(&nurse.email.as_str()) && told.contains(&psy.email.as_str()),
        "{told:?}"
    );
    for m in &messages[4..] {
        let all = format!("{} {} {}", m.subject, m.text, m.html).to_lowercase();
        for word in sesame::email::content::FORBIDDEN_WORDS {
            assert!(!all.contains(word), "{word} in {m:?}");
        }
    }
}

#[actix_web::test]
async fn the_inbox_is_ordered_and_paged_by_the_database_and_audits_what_it_shows() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let Team { nurse, mut psy, .. } = team;
    let mut ids = Vec::new();
    for urgency in [Routine, Routine, Urgent, Routine, Urgent] {
        let request = app.tele_expertise(&case, &nurse, &psy).urgency(urgency);
        ids.push(request.await.id);
        app.clock.advance(Duration::minutes(2));
    }
    app.renew(&mut psy).await;
    let mv = |id: &str, step: &str, body: Value| {
        let path = format!("/api/v1/tele-expertise/{id}/{step}");
        let psy = psy.token.clone();
        let app = &app;
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
        let page = app
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
    let audit = app
        .get(
            &format!("/api/v1/audit?actor_id={}&limit=200", psy.id),
            &admin,
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
    app.clock.advance(Duration::days(3));
    app.renew(&mut psy).await;
    let overdue = app.get("/api/v1/tele-expertise?overdue=true", &psy).await;
    overdue.assert_status(200);
    let overdue: Vec<&str> = overdue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(overdue, vec![ids[2].as_str()]);

    // A cursor that is not of this list.
    let stranger = app
        .get(
            &format!("/api/v1/tele-expertise?side=requester&after={}", ids[1]),
            &psy,
        )
        .await;
    stranger.assert_problem(400);
    assert_eq!(stranger.field_errors(), vec!["after"]);
}
