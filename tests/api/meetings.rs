//! Case review meetings through the API: a team records what it decided about its cases (flags
//! cleared, moves planned but not made, questions asked, every case's timeline), the agenda it is
//! proposed, who sees what, what is refused with nothing written, and the coordinators' monthly
//! reminder of the practices that did not meet.

use actix_web::test::TestRequest;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use sesame::domain::account::Role;
use sesame::domain::pathway::Phase;
use sesame::outbox::digests::{DayReport, run_day_now};

use crate::common::{Account, Case, Resp, Team, TestApp, bearer};

/// The team's GP records a meeting of the team's practice.
async fn hold(app: &TestApp, team: &Team, who: &Account, body: Value) -> Resp {
    let url = format!("/api/v1/practices/{}/meetings", team.practice);
    app.post(&url, Some(who), body).await
}

/// A meeting of the team's GP, nurse and psychiatrist today (23 November) with these decisions.
fn meeting_of(team: &Team, decisions: Value) -> Value {
    json!({
        "held_on": "2026-11-23",
        "participants": [team.gp.id, team.nurse.id, team.psy.id],
        "note": "Réunion mensuelle.",
        "decisions": decisions,
    })
}

async fn case_body(app: &TestApp, case: &Case, who: &Account) -> Value {
    let resp = app.get(&case.url(), who).await;
    resp.assert_status(200);
    resp.body
}

async fn last_timeline_entry(app: &TestApp, case: &Case, who: &Account) -> Value {
    let resp = app.get(&format!("{}/timeline", case.url()), who).await;
    resp.assert_status(200);
    let entries = resp.body["entries"].as_array().expect("entries").clone();
    entries.last().expect("an entry").clone()
}

/// The nurse asks for a psychiatric review of the case.
async fn flag_for_review(app: &TestApp, case: &Case, nurse: &Account) {
    app.patch(&case.url(), nurse, json!({"review_requested": true}))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn a_team_meeting_clears_a_review_plans_a_move_and_writes_both_timelines() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let psychologist = app.account(Role::Psychologist, &[&team.practice]).await;
    let reviewed = app.case_in(Phase::Active).team(&team).await;
    let planned = app.case_in(Phase::Active).team(&team).await;
    flag_for_review(&app, &reviewed, &team.nurse).await;
    let before = case_body(&app, &reviewed, &team.nurse).await;
    assert_eq!(before["review_requested"], true);
    assert!(
        before["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("needs_review"))
    );
    let planned_before = case_body(&app, &planned, &team.nurse).await;

    let mut body = meeting_of(
        &team,
        json!([
            {"case_id": reviewed.id, "note": "Revu en équipe : poursuivre.", "clear_review": true},
            {"case_id": planned.id, "note": "Bonne réponse : prévention de la rechute.",
             "plan_transition": {"to": "relapse_prevention"}},
        ]),
    );
    body["participants"]
        .as_array_mut()
        .unwrap()
        .push(json!(psychologist.id));
    let created = hold(&app, &team, &psychologist, body).await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/meetings/{id}").as_str())
    );
    assert_eq!(created.body["held_on"], "2026-11-23");
    assert_eq!(created.body["cases_discussed"], 2);
    assert_eq!(created.body["recorded_by"], psychologist.id.as_str());
    assert_eq!(created.body["participants"].as_array().unwrap().len(), 4);
    assert_eq!(created.body["note"], "Réunion mensuelle.");
    let decisions = created.body["decisions"].as_array().unwrap();
    assert_eq!(decisions[0]["case_id"], reviewed.id.as_str());
    assert_eq!(decisions[0]["patient_id"], reviewed.patient.id.as_str());
    assert_eq!(decisions[0]["clear_review"], true);
    assert_eq!(decisions[1]["plan_transition"]["to"], "relapse_prevention");
    assert_eq!(decisions[1]["clear_review"], false);

    // The review flag is cleared, and the case changed version.
    let after = case_body(&app, &reviewed, &team.nurse).await;
    assert_eq!(after["review_requested"], false);
    assert!(
        !after["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("needs_review"))
    );
    assert_eq!(after["version"], before["version"].as_i64().unwrap() + 1);
    // The planned move is the team's plan: the case did not move.
    let planned_after = case_body(&app, &planned, &team.nurse).await;
    assert_eq!(planned_after["phase"], "active");
    assert_eq!(
        planned_after["version"],
        planned_before["version"].as_i64().unwrap() + 1
    );

    // Both timelines say what was decided (held this morning: dated now rather than at midday).
    let entry = last_timeline_entry(&app, &reviewed, &team.gp).await;
    assert_eq!(entry["kind"], "meeting");
    assert_eq!(entry["note"], "Revu en équipe : poursuivre.");
    assert_eq!(
        entry["detail"],
        format!("meeting={id} clear_review=true").as_str()
    );
    assert_eq!(entry["occurred_at"], "2026-11-23T08:00:00Z");
    assert_eq!(entry["actor_id"], psychologist.id.as_str());
    let entry = last_timeline_entry(&app, &planned, &team.gp).await;
    assert_eq!(entry["kind"], "meeting");
    assert_eq!(
        entry["detail"],
        format!("meeting={id} clear_review=false planned=relapse_prevention").as_str()
    );

    // The team reads it, one meeting or the list; every case read is audited.
    let one = app
        .get(&format!("/api/v1/meetings/{id}"), &team.nurse)
        .await;
    one.assert_status(200);
    assert_eq!(one.body, created.body);
    let list = app
        .get(
            &format!("/api/v1/practices/{}/meetings", team.practice),
            &team.psy,
        )
        .await;
    list.assert_status(200);
    assert_eq!(list.body["items"][0], created.body);
    let admin = app.admin().await;
    let audit = app
        .get(&format!("/api/v1/audit?case_id={reviewed}"), &admin)
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["case_id"] == reviewed.id.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["meeting.decision", "meeting.read", "meeting.list"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
}

#[actix_web::test]
async fn the_agenda_lists_flagged_and_overdue_cases_first_things_first_and_not_quiet_ones() {
    let app = TestApp::new().await;
    let mut team = app.team().await;
    // Assessed now, overdue in three weeks.
    let overdue = app.case_in(Phase::Active).team(&team).await;
    app.clock.advance(Duration::days(20));
    for who in [&mut team.gp, &mut team.nurse, &mut team.psy] {
        app.renew(who).await;
    }
    let alert = app
        .case_in(Phase::Referred)
        .team(&team)
        .with_safety_alert()
        .await;
    let review = app.case_in(Phase::Active).team(&team).await;
    flag_for_review(&app, &review, &team.nurse).await;
    let quiet = app.case_in(Phase::Active).team(&team).await;
    let waiting = app.case_in(Phase::Referred).team(&team).await;
    let closed = app.case_in(Phase::Closed).team(&team).await;
    let elsewhere = app.team().await;
    app.case_in(Phase::Referred)
        .team(&elsewhere)
        .with_safety_alert()
        .await;

    let url = format!("/api/v1/practices/{}/meetings/agenda", team.practice);
    let agenda = app.get(&url, &team.nurse).await;
    agenda.assert_status(200);
    assert_eq!(agenda.body["practice_id"], team.practice.id.as_str());
    let items = agenda.body["items"].as_array().unwrap();
    let shown: Vec<&str> = items
        .iter()
        .map(|i| i["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown,
        vec![alert.id.as_str(), overdue.id.as_str(), review.id.as_str()]
    );
    for absent in [&quiet, &waiting, &closed] {
        assert!(!shown.contains(&absent.id.as_str()));
    }
    assert_eq!(items[0]["flags"], json!(["safety_alert", "needs_review"]));
    assert_eq!(items[0]["phase"], "referred");
    assert_eq!(items[0]["program"], "sesame");
    assert_eq!(items[0]["patient_id"], alert.patient.id.as_str());
    assert_eq!(items[1]["overdue_days"], 6);
    assert_eq!(items[2]["flags"], json!(["needs_review"]));
    assert!(items.iter().all(|i| i["last_discussed_on"].is_null()));

    // Discussed (without clearing the flag): still on the agenda, with the day.
    let decisions = json!([{"case_id": review.id, "note": "À revoir le mois prochain."}]);
    let mut body = meeting_of(&team, decisions);
    body["held_on"] = json!("2026-12-13");
    hold(&app, &team, &team.gp, body).await.assert_status(201);
    let agenda = app.get(&url, &team.psy).await;
    assert_eq!(agenda.body["items"][2]["case_id"], review.id.as_str());
    assert_eq!(agenda.body["items"][2]["last_discussed_on"], "2026-12-13");
    assert!(agenda.body["items"][0]["last_discussed_on"].is_null());

    // Every case shown is audited as read.
    let admin = app.admin().await;
    let audit = app
        .get(
            &format!(
                "/api/v1/audit?case_id={overdue}&patient_id={}",
                overdue.patient
            ),
            &admin,
        )
        .await;
    assert!(
        audit.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "meeting.agenda"),
        "{}",
        audit.text
    );
}

#[actix_web::test]
async fn coordinators_and_admins_see_that_the_team_met_and_nothing_it_decided() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let coordinator = app.coordinator_of(&team.practice).await;
    let client = app.api_client_of(&team.practice).await;
    let admin = app.admin().await;
    let a = app.case_in(Phase::Active).team(&team).await;
    let b = app.case_in(Phase::Referred).team(&team).await;
    let decisions = json!([
        {"case_id": a.id, "note": "Idées noires évoquées : rappel sous 48 h."},
        {"case_id": b.id, "note": "Évaluation à programmer."},
    ]);
    let created = hold(&app, &team, &team.nurse, meeting_of(&team, decisions)).await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let one = format!("/api/v1/meetings/{id}");
    let list = format!("/api/v1/practices/{}/meetings", team.practice);

    for reader in [&coordinator.token, &admin.token] {
        for resp in [app.get(&one, reader).await, app.get(&list, reader).await] {
            resp.assert_status(200);
            let meeting = if resp.body["items"].is_array() {
                resp.body["items"][0].clone()
            } else {
                resp.body.clone()
            };
            assert_eq!(meeting["id"], id.as_str());
            assert_eq!(meeting["held_on"], "2026-11-23");
            assert_eq!(meeting["cases_discussed"], 2);
            assert_eq!(meeting["participants"].as_array().unwrap().len(), 3);
            assert!(meeting.get("decisions").is_none(), "{}", resp.text);
            assert!(meeting.get("note").is_none(), "{}", resp.text);
            for secret in [
                a.id.as_str(),
                b.id.as_str(),
                a.patient.id.as_str(),
                "Idées",
                "mensuelle",
            ] {
                assert!(!resp.text.contains(secret), "{secret} in {}", resp.text);
            }
        }
        let agenda = app.get(&format!("{list}/agenda"), reader).await;
        agenda.assert_problem(403);
        let refused = app
            .post(&list, Some(reader), meeting_of(&team, json!([])))
            .await;
        refused.assert_problem(403);
    }
    // The practice's software reads it all (as it reads the cases), and records nothing.
    let full = app.get(&one, &client).await;
    full.assert_status(200);
    assert_eq!(full.body, created.body);
    app.post(&list, Some(&client), meeting_of(&team, json!([])))
        .await
        .assert_problem(403);
    app.get(&format!("{list}/agenda"), &client)
        .await
        .assert_problem(403);
}

#[actix_web::test]
async fn another_practice_is_out_of_reach_and_a_refused_meeting_writes_nothing() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let other = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let their_case = app.case_in(Phase::Active).team(&other).await;
    let decisions = json!([{"case_id": case.id, "note": "Poursuivre."}]);
    let created = hold(&app, &team, &team.gp, meeting_of(&team, decisions)).await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap();

    // Another practice's GP: as if nothing existed.
    let meeting = app.get(&format!("/api/v1/meetings/{id}"), &other.gp).await;
    meeting.assert_problem(404);
    assert_eq!(meeting.body["detail"], "meeting not found");
    let unknown = app
        .get(
            "/api/v1/meetings/01a20000-0000-7000-8000-000000000000",
            &other.gp,
        )
        .await;
    assert_eq!(unknown.body["detail"], meeting.body["detail"]);
    let list = format!("/api/v1/practices/{}/meetings", team.practice);
    for resp in [
        app.get(&list, &other.gp).await,
        app.get(&format!("{list}/agenda"), &other.gp).await,
        app.post(&list, Some(&other.gp), meeting_of(&other, json!([])))
            .await,
    ] {
        resp.assert_problem(404);
        assert_eq!(resp.body["detail"], "practice not found");
    }

    let version = case_body(&app, &case, &team.gp).await["version"].clone();
    let refused = |resp: Resp, fields: &[&str]| {
        resp.assert_problem(422);
        let mut named = resp.field_errors();
        named.sort();
        assert_eq!(named, fields, "{}", resp.text);
        resp
    };
    // Someone of another practice among the participants.
    let mut body = meeting_of(&team, json!([{"case_id": case.id, "note": "Poursuivre."}]));
    body["participants"] = json!([team.gp.id, other.psy.id]);
    let resp = hold(&app, &team, &team.gp, body).await;
    let resp = refused(resp, &["participants[1]"]);
    assert_eq!(
        resp.body["errors"][0]["message"],
        "must be an active GP, nurse, psychiatrist, psychologist or social worker of the practice"
    );
    // Another practice's case, beside one of the practice's: refused as one that does not exist.
    let with_theirs = json!([
        {"case_id": case.id, "note": "Poursuivre.", "clear_review": true},
        {"case_id": their_case.id, "note": "Voir."},
        {"case_id": "01a20000-0000-7000-8000-000000000000", "note": "Voir."},
    ]);
    let resp = hold(&app, &team, &team.gp, meeting_of(&team, with_theirs)).await;
    let resp = refused(resp, &["decisions[1].case_id", "decisions[2].case_id"]);
    assert_eq!(
        resp.body["errors"][0]["message"],
        resp.body["errors"][1]["message"]
    );
    // The attempt on the other practice's patient is audited as denied.
    let admin = app.admin().await;
    let audit = app
        .get(
            &format!("/api/v1/audit?case_id={their_case}&actor_id={}", team.gp.id),
            &admin,
        )
        .await;
    assert!(
        audit.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "meeting.create"
                && e["outcome"] == "denied"
                && e["reason"] == "practice"),
        "{}",
        audit.text
    );
    // A day to come, a case twice, a plan the pathway does not allow, a close without reason, a
    // meeting before the case was referred.
    let mut body = meeting_of(
        &team,
        json!([
            {"case_id": case.id, "note": "Poursuivre.", "plan_transition": {"to": "referred"}},
            {"case_id": case.id, "note": "Encore."},
        ]),
    );
    body["held_on"] = json!("2026-11-24");
    let resp = hold(&app, &team, &team.gp, body).await;
    refused(resp, &["decisions[1].case_id", "held_on"]);
    let plans = json!([{"case_id": case.id, "note": "Fin.", "plan_transition": {"to": "closed"}}]);
    let resp = hold(&app, &team, &team.gp, meeting_of(&team, plans)).await;
    refused(resp, &["decisions[0].plan_transition.exit_reason"]);
    let plans = json!([{"case_id": case.id, "note": "?", "plan_transition": {"to": "referred"}}]);
    let resp = hold(&app, &team, &team.gp, meeting_of(&team, plans)).await;
    refused(resp, &["decisions[0].plan_transition.to"]);
    let mut body = meeting_of(&team, json!([{"case_id": case.id, "note": "Poursuivre."}]));
    body["held_on"] = json!("2026-11-22");
    let resp = hold(&app, &team, &team.gp, body).await;
    refused(resp, &["decisions[0].case_id"]);
    // Nobody, or no note.
    let mut body = meeting_of(&team, json!([{"case_id": case.id, "note": " "}]));
    body["participants"] = json!([]);
    let resp = hold(&app, &team, &team.gp, body).await;
    refused(resp, &["decisions[0].note", "participants"]);

    // Nothing of the refused meetings was written.
    let after = case_body(&app, &case, &team.gp).await;
    assert_eq!(after["version"], version);
    let entry = last_timeline_entry(&app, &case, &team.gp).await;
    assert_eq!(entry["detail"], created_detail(id));
    let meetings = app.get(&list, &team.gp).await;
    assert_eq!(meetings.body["items"].as_array().unwrap().len(), 1);
}

fn created_detail(id: &str) -> String {
    format!("meeting={id} clear_review=false")
}

#[actix_web::test]
async fn a_retried_meeting_is_recorded_once() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let version = case_body(&app, &case, &team.gp).await["version"]
        .as_i64()
        .unwrap();
    let body = meeting_of(&team, json!([{"case_id": case.id, "note": "Poursuivre."}]));
    let url = format!("/api/v1/practices/{}/meetings", team.practice);
    let send = |key: &str| {
        TestRequest::post()
            .uri(&url)
            .insert_header(bearer(&team.gp))
            .insert_header(("Idempotency-Key", key.to_owned()))
            .set_json(body.clone())
    };
    let first = app.send(send("meeting-1")).await;
    first.assert_status(201);
    let again = app.send(send("meeting-1")).await;
    again.assert_status(201);
    assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    let after = case_body(&app, &case, &team.gp).await;
    assert_eq!(after["version"], version + 1);
    let list = app.get(&url, &team.gp).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_question_decided_at_the_meeting_is_a_tele_expertise_request() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let social_worker = app.account(Role::SocialWorker, &[&team.practice]).await;
    let case = app.case_in(Phase::Active).team(&team).await;
    let question = |expert: &str| {
        json!([{"case_id": case.id, "note": "Avis psychiatrique demandé.",
            "tele_expertise": {"expert_id": expert, "question": "Faut-il changer de traitement ?",
                "urgency": "urgent", "patient_consent_at": "2026-11-20T10:00:00Z"}}])
    };
    // A social worker may hold the meeting, not ask a psychiatrist: nothing is written.
    let version = case_body(&app, &case, &team.gp).await["version"].clone();
    let refused = hold(
        &app,
        &team,
        &social_worker,
        meeting_of(&team, question(&team.psy.id)),
    )
    .await;
    refused.assert_problem(403);
    // The expert must be a psychiatrist of the practice.
    let resp = hold(
        &app,
        &team,
        &team.gp,
        meeting_of(&team, question(&team.nurse.id)),
    )
    .await;
    resp.assert_problem(422);
    assert_eq!(
        resp.field_errors(),
        vec!["decisions[0].tele_expertise.expert_id"]
    );
    assert_eq!(case_body(&app, &case, &team.gp).await["version"], version);

    let created = hold(
        &app,
        &team,
        &team.gp,
        meeting_of(&team, question(&team.psy.id)),
    )
    .await;
    created.assert_status(201);
    let request = created.body["decisions"][0]["tele_expertise_id"]
        .as_str()
        .expect("a request")
        .to_owned();
    // The psychiatrist's inbox and the GP's requests show it.
    let inbox = app.get("/api/v1/tele-expertise", &team.psy).await;
    inbox.assert_status(200);
    let asked = &inbox.body["items"][0];
    assert_eq!(asked["id"], request.as_str());
    assert_eq!(asked["case_id"], case.id.as_str());
    assert_eq!(asked["requester_id"], team.gp.id.as_str());
    assert_eq!(asked["status"], "requested");
    assert_eq!(asked["urgency"], "urgent");
    assert_eq!(asked["consent_recorded_at"], "2026-11-20T10:00:00Z");
    assert_eq!(asked["due_at"], "2026-11-25T08:00:00Z");
    let mine = app.get("/api/v1/tele-expertise", &team.gp).await;
    assert_eq!(mine.body["items"][0]["id"], request.as_str());
    // The timeline has the request and the meeting's decision naming it.
    let timeline = app
        .get(&format!("{}/timeline", case.url()), &team.nurse)
        .await;
    let kinds: Vec<&str> = timeline.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"tele_expertise"), "{kinds:?}");
    let entry = last_timeline_entry(&app, &case, &team.gp).await;
    assert_eq!(entry["kind"], "meeting");
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .ends_with(&format!(" tele_expertise={request}")),
        "{entry}"
    );
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[actix_web::test]
async fn coordinators_hear_of_their_practices_that_went_a_month_without_a_meeting() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let met = app.practice_named("Cabinet Voltaire").await;
    let silent = app.practice_named("MSP des Lilas").await;
    let met_in_october = app.practice_named("Cabinet Pasteur").await;
    let closed = app.practice_named("Cabinet fermé").await;
    app.patch(
        &format!("/api/v1/practices/{closed}"),
        &admin,
        json!({"active": false}),
    )
    .await
    .assert_status(200);
    let everything = app
        .account(
            Role::Coordinator,
            &[&met, &silent, &met_in_october, &closed],
        )
        .await;
    let all_met = app.coordinator_of(&met).await;
    let english = app.coordinator_of(&silent).await;
    app.patch(
        &format!("/api/v1/users/{}", english.id),
        &admin,
        json!({"locale": "en"}),
    )
    .await
    .assert_status(200);
    for (practice, held_on) in [(&met, "2026-11-20"), (&met_in_october, "2026-10-30")] {
        let gp = app.gp_of(practice).await;
        let url = format!("/api/v1/practices/{practice}/meetings");
        let body = json!({"held_on": held_on, "participants": [gp.id]});
        app.post(&url, Some(&gp), body).await.assert_status(201);
    }

    // 1 December, Paris: November is over. A practice opened today was not due a meeting.
    let december = DateTime::parse_from_rfc3339("2026-12-01T07:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    app.clock.set(december);
    let newcomer = app.practice_named("Cabinet Neuf").await;
    app.coordinator_of(&newcomer).await;
    let first = run_day_now(&app.state, day("2026-12-01")).await.unwrap();
    assert_eq!(first.coordinator_digests, 2, "{first:?}");
    // The day again writes nothing twice.
    let again = run_day_now(&app.state, day("2026-12-01")).await.unwrap();
    assert_eq!(again, DayReport::default());

    let rows = app
        .state
        .db
        .run(|conn| Ok(sesame::db::outbox::list(conn, None, None, 100)?))
        .await
        .unwrap();
    let digests: Vec<_> = rows
        .iter()
        .filter(|m| m.kind == "coordinator_digest")
        .collect();
    assert_eq!(digests.len(), 2);
    let to_everything = digests
        .iter()
        .find(|m| m.recipient == everything.email)
        .expect("the coordinator of every practice");
    assert_eq!(
        to_everything.dedupe_key,
        format!("digest:coordinator:{}:2026-12-01", everything.id)
    );
    assert_eq!(
        to_everything.subject,
        "Sésame : réunions d'équipe du mardi 1 décembre 2026"
    );
    assert!(
        to_everything.body_text.starts_with(
            "Aucune réunion de synthèse n'a été enregistrée en novembre 2026 pour :\n\
             - Cabinet Pasteur\n- MSP des Lilas\nUne réunion"
        ),
        "{}",
        to_everything.body_text
    );
    let to_english = digests
        .iter()
        .find(|m| m.recipient == english.email)
        .expect("the English coordinator");
    assert!(
        to_english.body_text.starts_with(
            "No case review meeting was recorded in November 2026 for:\n- MSP des Lilas\n"
        ),
        "{}",
        to_english.body_text
    );
    assert!(!digests.iter().any(|m| m.recipient == all_met.email));
}
