//! The microstructures' patient experience survey: the team records it at six months of care and
//! at exit (the one write a closed case accepts), once of each; too early, twice, on a Sésame
//! case, by a nurse or by another practice's team, it is refused and nothing is written; reads
//! and writes are audited.

use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::account::Role;
use sesame::domain::pathway::Phase;

use crate::common::{Account, Case, Resp, TestApp, bearer};

/// A survey of `context` answered on `answered_on`, every statement answered.
fn survey(context: &str, answered_on: &str) -> Value {
    json!({"context": context, "answered_on": answered_on,
           "never_seen_social_worker": "strongly_agree", "never_seen_psychiatrist": "agree",
           "never_seen_psychologist": "disagree", "quality_of_life_improved": "agree",
           "better_consumption": "agree", "would_recommend": "strongly_agree"})
}

async fn post_survey(app: &TestApp, case: &Case, who: &Account, body: Value) -> Resp {
    app.post(&format!("{}/surveys", case.url()), Some(who), body)
        .await
}

fn detail(resp: &Resp) -> &str {
    resp.body["detail"].as_str().unwrap_or_default()
}

/// The actions of the audit rows of `case`, as the admin reads them.
async fn audited(app: &TestApp, case: &Case) -> Vec<(String, String)> {
    let admin = app.admin().await;
    let audit = app
        .get(&format!("/api/v1/audit?case_id={case}&limit=200"), &admin)
        .await;
    audit.assert_status(200);
    audit.body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    (s("action"), s("outcome"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn a_team_records_the_six_month_and_the_exit_surveys_once_each() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let mut psychologist = app.account(Role::Psychologist, &[&team.practice]).await;
    let mut social = app.account(Role::SocialWorker, &[&team.practice]).await;
    // Included by the GP on Monday 23 November 2026 (alcohol, precarity).
    let case = app
        .case_in(Phase::Active)
        .team(&team)
        .microstructure()
        .await;
    let url = format!("{}/surveys", case.url());

    // Too early: the six-month survey comes 26 weeks after the inclusion (422 on the day).
    let early = post_survey(
        &app,
        &case,
        &psychologist,
        survey("six_months", "2026-11-23"),
    )
    .await;
    early.assert_problem(422);
    assert_eq!(early.field_errors(), vec!["answered_on"]);
    assert_eq!(
        early.body["errors"][0]["message"],
        "the six-month survey is answered at least 26 weeks after the inclusion (2026-11-23): \
         on or after 2027-05-24"
    );
    // The exit survey waits for the case to close (409); a day to come is refused (422); so is
    // a survey that answers nothing, and a word off the scale.
    let exit_open = post_survey(&app, &case, &psychologist, survey("exit", "2026-11-23")).await;
    exit_open.assert_problem(409);
    assert_eq!(
        detail(&exit_open),
        "the exit survey is recorded once the case is closed"
    );
    let future = post_survey(
        &app,
        &case,
        &psychologist,
        survey("six_months", "2026-11-24"),
    )
    .await;
    assert_eq!(future.field_errors(), vec!["answered_on"]);
    let empty = post_survey(
        &app,
        &case,
        &psychologist,
        json!({"context": "exit", "answered_on": "2026-11-23", "would_recommend": null}),
    )
    .await;
    empty.assert_problem(422);
    assert_eq!(empty.field_errors(), vec!["body"]);
    let mut off_scale = survey("six_months", "2026-11-23");
    off_scale["would_recommend"] = json!("yes");
    let off_scale = post_survey(&app, &case, &psychologist, off_scale).await;
    assert_eq!(off_scale.field_errors(), vec!["would_recommend"]);
    // A nurse does not care for a microstructure case.
    let nurse = post_survey(&app, &case, &team.nurse, survey("six_months", "2026-11-23")).await;
    nurse.assert_problem(403);

    // 26 weeks later: the psychologist records the six-month survey, once under a key.
    app.clock.advance(Duration::weeks(26));
    for who in [&mut psychologist, &mut social] {
        app.renew(who).await;
    }
    let send = |key: &str, body: Value| {
        TestRequest::post()
            .uri(&url)
            .insert_header(bearer(&psychologist))
            .insert_header(("Idempotency-Key", key.to_owned()))
            .set_json(body)
    };
    let mut answers = survey("six_months", "2027-05-24");
    answers["never_seen_psychiatrist"] = Value::Null;
    if let Some(body) = answers.as_object_mut() {
        body.remove("never_seen_psychologist");
    }
    let recorded = app.send(send("survey-1", answers.clone())).await;
    recorded.assert_status(201);
    assert_eq!(recorded.header("location"), Some(url.as_str()));
    let body = &recorded.body;
    assert_eq!(body["context"], "six_months");
    assert_eq!(body["answered_on"], "2027-05-24");
    assert_eq!(body["program"], "microstructure_addiction");
    assert_eq!(body["case_id"], case.id.as_str());
    assert_eq!(body["patient_id"], case.patient.id.as_str());
    assert_eq!(body["practice_id"], team.practice.id.as_str());
    assert_eq!(body["recorded_by"], psychologist.id.as_str());
    assert_eq!(body["never_seen_social_worker"], "strongly_agree");
    assert_eq!(body["never_seen_psychiatrist"], Value::Null);
    assert_eq!(body["never_seen_psychologist"], Value::Null);
    assert_eq!(body["better_consumption"], "agree");
    let again = app.send(send("survey-1", answers.clone())).await;
    again.assert_status(201);
    assert_eq!(again.header("Idempotent-Replayed"), Some("true"));
    assert_eq!(again.body, recorded.body);
    // A second six-month survey is refused, whoever records it.
    let twice = app.send(send("survey-2", answers)).await;
    twice.assert_problem(409);
    assert_eq!(
        detail(&twice),
        "the case already has its six_months survey; a case has one of each"
    );

    // The social worker closes the case; the six-month survey is no more, the exit one is.
    app.post(
        &format!("{}/transitions", case.url()),
        Some(&social),
        json!({"to": "closed", "exit_reason": "remission"}),
    )
    .await
    .assert_status(200);
    let late_six = post_survey(&app, &case, &social, survey("six_months", "2027-05-24")).await;
    late_six.assert_problem(409);
    assert_eq!(
        detail(&late_six),
        "the case is closed: record the exit survey (context exit)"
    );
    let before_close = post_survey(&app, &case, &social, survey("exit", "2027-05-23")).await;
    assert_eq!(before_close.field_errors(), vec!["answered_on"]);
    // Recorded 70 days after the closing: answered within the 60 days, accepted; answered after
    // them, refused.
    app.clock.advance(Duration::days(70));
    app.renew(&mut social).await;
    let too_late = post_survey(&app, &case, &social, survey("exit", "2027-07-24")).await;
    too_late.assert_problem(422);
    assert_eq!(too_late.field_errors(), vec!["answered_on"]);
    let exit = post_survey(&app, &case, &social, survey("exit", "2027-07-23")).await;
    exit.assert_status(201);
    assert_eq!(exit.body["context"], "exit");
    let exit_twice = post_survey(&app, &case, &social, survey("exit", "2027-07-23")).await;
    exit_twice.assert_problem(409);
    // The closed case itself did not change: its other writes are still refused.
    let contact = app
        .post(
            &format!("{}/contacts", case.url()),
            Some(&social),
            json!({"occurred_at": "2027-07-20T08:00:00Z", "mode": "phone", "outcome": "completed"}),
        )
        .await;
    contact.assert_problem(409);

    // Whoever reads the case reads its surveys, in the order answered; the timeline shows them.
    let mut gp = team.gp.clone();
    app.renew(&mut gp).await;
    let list = app.get(&url, &gp).await;
    list.assert_status(200);
    assert_eq!(list.body["case_id"], case.id.as_str());
    let contexts: Vec<&str> = list.body["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|s| s["context"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(contexts, vec!["six_months", "exit"]);
    assert_eq!(list.body["items"][0], recorded.body);
    let timeline = app.get(&format!("{}/timeline", case.url()), &gp).await;
    let surveys: Vec<(Value, Value)> = timeline.body["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter(|e| e["kind"] == "survey")
                .map(|e| (e["detail"].clone(), e["actor_id"].clone()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        surveys,
        vec![
            (json!("context=six_months"), json!(psychologist.id)),
            (json!("context=exit"), json!(social.id))
        ]
    );
    let actions = audited(&app, &case).await;
    for action in ["case.survey", "case.surveys"] {
        assert!(
            actions.contains(&(action.to_owned(), "ok".to_owned())),
            "{action}: {actions:?}"
        );
    }
    let written = actions
        .iter()
        .filter(|(action, _)| action == "case.survey")
        .count();
    assert_eq!(written, 2, "one audit row per survey written: {actions:?}");
}

#[actix_web::test]
async fn the_survey_is_the_microstructures_and_their_teams() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let psychologist = app.account(Role::Psychologist, &[&team.practice]).await;

    // A Sésame case has no survey, whoever asks; its list is empty.
    let sesame = app.case_in(Phase::Active).team(&team).await;
    for who in [&team.gp, &team.nurse, &psychologist] {
        let refused = post_survey(&app, &sesame, who, survey("six_months", "2026-11-23")).await;
        refused.assert_problem(409);
        assert_eq!(
            detail(&refused),
            "the patient experience survey is the microstructures'; a Sésame case has none"
        );
    }
    let none = app
        .get(&format!("{}/surveys", sesame.url()), &team.nurse)
        .await;
    none.assert_status(200);
    assert_eq!(none.body["items"], json!([]));

    // A patient never included has nothing to say of the microstructure.
    let referred = app
        .case_in(Phase::Referred)
        .team(&team)
        .microstructure()
        .await;
    let not_included = post_survey(
        &app,
        &referred,
        &psychologist,
        survey("six_months", "2026-11-23"),
    )
    .await;
    not_included.assert_problem(409);

    // "I manage my consumption better" is for a case treating an addiction: not a mental-health
    // case.
    let patient = app.patient_of(&team.gp).await;
    let mental = app
        .post(
            "/api/v1/cases",
            Some(&team.gp),
            json!({"patient_id": patient, "program": "microstructure_mental_health",
                   "indications": ["anxiety"], "screening": {"gad7": [2, 2, 2, 1, 1, 1, 1]}}),
        )
        .await;
    mental.assert_status(201);
    let mental = Case {
        id: mental.body["id"].as_str().unwrap_or_default().to_owned(),
        patient,
    };
    app.assess_with(
        &mental,
        &psychologist,
        json!({"care_plan": "Suivi hebdomadaire."}),
    )
    .await;
    app.close(
        &mental,
        &psychologist,
        sesame::domain::pathway::ExitReason::PatientChoice,
    )
    .await;
    let consumption = post_survey(&app, &mental, &psychologist, survey("exit", "2026-11-23")).await;
    consumption.assert_problem(422);
    assert_eq!(consumption.field_errors(), vec!["better_consumption"]);
    let mut answers = survey("exit", "2026-11-23");
    if let Some(body) = answers.as_object_mut() {
        body.remove("better_consumption");
    }
    let exit = post_survey(&app, &mental, &psychologist, answers).await;
    exit.assert_status(201);
    assert_eq!(exit.body["program"], "microstructure_mental_health");
    assert_eq!(exit.body["better_consumption"], Value::Null);

    // Another practice's psychologist finds neither the case nor its surveys; the attempts are
    // audited as denied and nothing is written.
    let other = app.practice_named("Cabinet Pasteur").await;
    let stranger = app.account(Role::Psychologist, &[&other]).await;
    let write = post_survey(&app, &mental, &stranger, survey("six_months", "2026-11-23")).await;
    write.assert_problem(404);
    assert_eq!(detail(&write), "case not found");
    let read = app
        .get(&format!("{}/surveys", mental.url()), &stranger)
        .await;
    read.assert_problem(404);
    assert_eq!(detail(&read), "case not found");
    let actions = audited(&app, &mental).await;
    for action in ["case.survey", "case.surveys"] {
        assert!(
            actions.contains(&(action.to_owned(), "denied".to_owned())),
            "{action}: {actions:?}"
        );
    }
    let list = app
        .get(&format!("{}/surveys", mental.url()), &team.gp)
        .await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
    // The practice's software reads them too.
    let client = app.api_client_of(&team.practice).await;
    let by_software = app.get(&format!("{}/surveys", mental.url()), &client).await;
    by_software.assert_status(200);
    assert_eq!(by_software.body, list.body);
}
