//! A microstructure team runs a case through the API: the GP refers, the psychologist records
//! the inclusion (days of use, EPICES, the team), the psychologist and the social worker hold
//! their weekly consultations, each with their own due date on their worklist, the team meets,
//! and the case closes; the same people find nothing of another practice.

use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::account::Role;
use sesame::domain::pathway::Phase;
use sesame::outbox::digests::run_day_now;

use crate::common::{Account, Case, ClockNow, Resp, TestApp};

/// 75.14 − 11.83 (complementary insurance) + 14.80 (financial difficulty) − 9.47 − 9.47 − 7.10
/// (family contacts, someone to house them, someone to help): 52.07, precarious.
const EPICES: [bool; 11] = [
    false, true, false, false, true, false, false, false, true, true, true,
];

fn consultation(at: &str, kind: Option<&str>, extra: Value) -> Value {
    let mut body = json!({"occurred_at": at, "mode": "in_person", "outcome": "completed",
                          "duration_minutes": 45});
    if let Some(kind) = kind {
        body["kind"] = json!(kind);
    }
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

async fn worklist_line(app: &TestApp, who: &Account, case: &Case) -> Value {
    let list = app.get("/api/v1/worklist", who).await;
    list.assert_status(200);
    list.body["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["case_id"] == case.id.as_str()))
        .cloned()
        .unwrap_or(Value::Null)
}

fn detail(resp: &Resp) -> String {
    resp.body["detail"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn a_psychologist_and_a_social_worker_run_a_case_from_inclusion_to_exit() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let mut gp = team.gp.clone();
    let mut psychologist = app.account(Role::Psychologist, &[&team.practice]).await;
    let mut social = app.account(Role::SocialWorker, &[&team.practice]).await;

    // The GP includes an adult of the practice for an addiction (alcohol, cocaine) and precarity.
    let patient = app.patient_of(&gp).await;
    let referred = app
        .post(
            "/api/v1/cases",
            Some(&gp),
            json!({"patient_id": patient, "program": "microstructure_addiction",
                   "indications": ["addiction", "precarity"], "substances": ["cocaine", "alcohol"],
                   "screening": {"phq2": [1, 2]}}),
        )
        .await;
    referred.assert_status(201);
    let case = Case {
        id: referred.body["id"].as_str().unwrap_or_default().to_owned(),
        patient,
    };
    assert_eq!(
        referred.body["consultations"]["psychological"]["next_due"],
        Value::Null
    );

    // A nurse does not care for a microstructure case; the inclusion needs every product's use.
    let nurse_try = app
        .post(
            &format!("{}/assessment", case.url()),
            Some(&team.nurse),
            json!({"care_plan": "Suivi."}),
        )
        .await;
    nurse_try.assert_problem(403);
    assert_eq!(
        detail(&nurse_try),
        "a microstructure case is cared for by its team: the GP, the psychologist and the social worker"
    );
    let inclusion = |uses: Value| {
        json!({"care_plan": "Consultations hebdomadaires ; point social logement.",
               "phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0], "substance_use": uses,
               "epices": EPICES, "social_worker_id": social.id})
    };
    let partial = app
        .post(
            &format!("{}/assessment", case.url()),
            Some(&psychologist),
            inclusion(json!([{"substance": "alcohol", "days": 20}])),
        )
        .await;
    partial.assert_problem(422);
    assert_eq!(partial.field_errors(), vec!["substance_use"]);
    let out_of_range = app
        .post(
            &format!("{}/assessment", case.url()),
            Some(&psychologist),
            inclusion(json!([{"substance": "alcohol", "days": 29}])),
        )
        .await;
    assert_eq!(out_of_range.field_errors(), vec!["substance_use[0].days"]);

    // The psychologist includes the patient (Monday 23 November), naming the social worker.
    let included = app
        .post(
            &format!("{}/assessment", case.url()),
            Some(&psychologist),
            inclusion(json!([{"substance": "alcohol", "days": 20},
                             {"substance": "cocaine", "days": 4}])),
        )
        .await;
    included.assert_status(200);
    let body = &included.body;
    assert_eq!(body["phase"], "active");
    assert_eq!(body["nurse_id"], Value::Null);
    assert_eq!(body["psychologist_id"], psychologist.id.as_str());
    assert_eq!(body["social_worker_id"], social.id.as_str());
    assert_eq!(body["baseline"]["phq9"]["total"], 8);
    assert_eq!(body["epices"]["baseline"]["score"], 52.07);
    assert_eq!(body["epices"]["baseline"]["precarious"], true);
    assert_eq!(
        body["substance_use"]["baseline"],
        json!([{"substance": "alcohol", "days": 20}, {"substance": "cocaine", "days": 4}])
    );
    assert_eq!(body["substance_use"]["improved"], Value::Null);
    // Weekly: each discipline is due a week after the inclusion.
    for discipline in ["psychological", "social"] {
        assert_eq!(
            body["consultations"][discipline]["next_due"], "2026-11-30",
            "{discipline}"
        );
    }
    // Without a PHQ-9 improvement, a microstructure case is no more "not improving" than a
    // Sésame one before 10 weeks.
    assert_eq!(body["flags"], json!([]));

    // Friday: a psychological consultation (its kind is the psychologist's), a social one.
    app.clock.advance(Duration::days(4));
    for who in [&mut gp, &mut psychologist, &mut social] {
        app.renew(who).await;
    }
    let wrong_kind = app
        .post(
            &format!("{}/contacts", case.url()),
            Some(&social),
            consultation("2026-11-27T06:00:00Z", Some("psychological"), json!({})),
        )
        .await;
    wrong_kind.assert_problem(422);
    assert_eq!(wrong_kind.field_errors(), vec!["kind"]);
    let psy = app
        .post(
            &format!("{}/contacts", case.url()),
            Some(&psychologist),
            consultation(
                "2026-11-27T06:00:00Z",
                None,
                json!({"substance_use": [{"substance": "alcohol", "days": 12}]}),
            ),
        )
        .await;
    psy.assert_status(201);
    assert_eq!(psy.body["contact"]["kind"], "psychological");
    assert_eq!(
        psy.body["contact"]["substance_use"],
        json!([{"substance": "alcohol", "days": 12}])
    );
    assert_eq!(
        psy.body["case"]["consultations"]["psychological"]["next_due"],
        "2026-12-04"
    );
    assert_eq!(
        psy.body["case"]["consultations"]["social"]["next_due"],
        "2026-11-30"
    );
    assert_eq!(psy.body["case"]["substance_use"]["improved"], true);
    let soc = app
        .post(
            &format!("{}/contacts", case.url()),
            Some(&social),
            consultation(
                "2026-11-27T06:30:00Z",
                Some("social"),
                json!({"epices": EPICES.map(|_| false)}),
            ),
        )
        .await;
    soc.assert_status(201);
    assert_eq!(soc.body["contact"]["kind"], "social");
    assert_eq!(soc.body["case"]["epices"]["latest"]["score"], 75.14);
    assert_eq!(soc.body["case"]["epices"]["baseline"]["score"], 52.07);
    // A GP's consultation is medical and moves neither discipline's due date.
    let medical = app
        .post(
            &format!("{}/contacts", case.url()),
            Some(&gp),
            consultation("2026-11-27T07:00:00Z", None, json!({})),
        )
        .await;
    medical.assert_status(201);
    assert_eq!(medical.body["contact"]["kind"], "medical");
    assert_eq!(
        medical.body["case"]["consultations"]["social"]["next_due"],
        "2026-12-04"
    );

    // Nine days later, nobody has seen the patient: each sees their own overdue on their list.
    app.clock.advance(Duration::days(9));
    for who in [&mut gp, &mut psychologist, &mut social] {
        app.renew(who).await;
    }
    assert_eq!(app.clock.now_at().date_naive().to_string(), "2026-12-06");
    let mine = worklist_line(&app, &psychologist, &case).await;
    assert_eq!(mine["program"], "microstructure_addiction");
    assert_eq!(mine["next_contact_due"], "2026-12-04");
    assert_eq!(mine["overdue_days"], 2);
    let theirs = worklist_line(&app, &social, &case).await;
    assert_eq!(theirs["overdue_days"], 2);
    let another = app.account(Role::Psychologist, &[&team.practice]).await;
    assert_eq!(worklist_line(&app, &another, &case).await, Value::Null);
    // The social worker sees them again on Monday; only the psychologist stays overdue.
    app.post(
        &format!("{}/contacts", case.url()),
        Some(&social),
        consultation("2026-12-06T06:00:00Z", None, json!({})),
    )
    .await
    .assert_status(201);
    assert_eq!(worklist_line(&app, &social, &case).await["overdue_days"], 0);
    assert_eq!(
        worklist_line(&app, &psychologist, &case).await["overdue_days"],
        2
    );
    let late = app
        .post(
            &format!("{}/contacts", case.url()),
            Some(&psychologist),
            consultation(
                "2026-12-06T07:00:00Z",
                None,
                json!({"substance_use": [{"substance": "alcohol", "days": 6},
                                         {"substance": "cocaine", "days": 0}]}),
            ),
        )
        .await;
    late.assert_status(201);
    assert_eq!(
        late.body["case"]["substance_use"]["latest"],
        json!([{"substance": "alcohol", "days": 6}, {"substance": "cocaine", "days": 0}])
    );

    // The monthly synthesis meeting: GP, psychologist, social worker and psychiatrist decide.
    let meeting = app
        .post(
            &format!("/api/v1/practices/{}/meetings", team.practice),
            Some(&psychologist),
            json!({"held_on": "2026-12-06",
                   "participants": [gp.id, psychologist.id, social.id, team.psy.id],
                   "decisions": [{"case_id": case.id,
                                  "note": "Consommations en baisse : préparer la prévention de la rechute.",
                                  "plan_transition": {"to": "relapse_prevention"}}]}),
        )
        .await;
    meeting.assert_status(201);
    let timeline = app.get(&format!("{}/timeline", case.url()), &social).await;
    let kinds: Vec<&str> = timeline.body["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds,
        vec![
            "referral",
            "assessment",
            "contact",
            "contact",
            "contact",
            "contact",
            "contact",
            "meeting"
        ]
    );

    // The social worker moves the case on; the psychologist closes it; the GP is told.
    let version = late.body["case"]["version"].as_i64().unwrap_or_default() + 1;
    let moved = app
        .post(
            &format!("{}/transitions", case.url()),
            Some(&social),
            json!({"to": "relapse_prevention"}),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["version"], version + 1);
    // Monthly now: the social worker's next consultation is due a month after their last one.
    assert_eq!(
        moved.body["consultations"]["social"]["next_due"],
        "2027-01-05"
    );
    let closed = app
        .post(
            &format!("{}/transitions", case.url()),
            Some(&psychologist),
            json!({"to": "closed", "exit_reason": "remission"}),
        )
        .await;
    closed.assert_status(200);
    assert_eq!(closed.body["phase"], "closed");
    let admin = app.admin().await;
    let outbox = app.get("/api/v1/outbox", &admin).await;
    let told = outbox.body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|m| m["kind"] == "case_closed" && m["recipient"] == gp.email.as_str())
                .count()
        })
        .unwrap_or_default();
    assert_eq!(told, 1, "{}", outbox.text);
    assert_eq!(worklist_line(&app, &psychologist, &case).await, Value::Null);

    // The same people find nothing of another practice: its case, its contacts, its meetings.
    let other = app.team().await;
    let other_case = app
        .case_in(Phase::Active)
        .team(&other)
        .microstructure()
        .await;
    let other_meeting = app
        .post(
            &format!("/api/v1/practices/{}/meetings", other.practice),
            Some(&other.gp),
            json!({"held_on": "2026-12-06", "participants": [other.gp.id],
                   "decisions": [{"case_id": other_case.id, "note": "Poursuivre."}]}),
        )
        .await;
    other_meeting.assert_status(201);
    let other_meeting = other_meeting.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for who in [&psychologist, &social] {
        for path in [
            other_case.url(),
            format!("{}/contacts", other_case.url()),
            format!("{}/timeline", other_case.url()),
            format!("/api/v1/meetings/{other_meeting}"),
            format!("/api/v1/practices/{}/meetings", other.practice),
            format!("/api/v1/practices/{}/meetings/agenda", other.practice),
        ] {
            app.get(&path, who).await.assert_problem(404);
        }
        let write = app
            .post(
                &format!("{}/contacts", other_case.url()),
                Some(who),
                consultation("2026-12-06T07:00:00Z", None, json!({})),
            )
            .await;
        write.assert_problem(404);
        assert_eq!(detail(&write), "case not found");
    }
}

#[actix_web::test]
async fn a_microstructure_referral_does_not_wait_for_the_practices_nurse() {
    let app = TestApp::new().await;
    let team = app.team().await;
    app.case_in(Phase::Referred)
        .team(&team)
        .microstructure()
        .await;
    let day = app.clock.now_at().date_naive();
    let report = run_day_now(&app.state, day).await.unwrap_or_default();
    assert_eq!(report.nurse_digests, 0, "{report:?}");
    // A Sésame referral does.
    app.case_in(Phase::Referred).team(&team).await;
    let report = run_day_now(&app.state, day + Duration::days(1))
        .await
        .unwrap_or_default();
    assert_eq!(report.nurse_digests, 1, "{report:?}");
}

#[actix_web::test]
async fn sesame_stays_the_nurses_and_the_microstructure_fields_are_refused_there() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let psychologist = app.account(Role::Psychologist, &[&team.practice]).await;
    let referred = app.case_in(Phase::Referred).team(&team).await;
    let by_psychologist = app
        .post(
            &format!("{}/assessment", referred.url()),
            Some(&psychologist),
            json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0], "gad7": [1, 1, 1, 1, 1, 1, 1],
                   "care_plan": "Suivi."}),
        )
        .await;
    by_psychologist.assert_problem(403);
    assert_eq!(
        detail(&by_psychologist),
        "a Sésame case is cared for by the coordinating nurse"
    );
    let without_gad7 = app
        .post(
            &format!("{}/assessment", referred.url()),
            Some(&team.nurse),
            json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0], "care_plan": "Suivi."}),
        )
        .await;
    assert_eq!(without_gad7.field_errors(), vec!["gad7"]);
    let with_epices = app
        .post(
            &format!("{}/assessment", referred.url()),
            Some(&team.nurse),
            json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0], "gad7": [1, 1, 1, 1, 1, 1, 1],
                   "care_plan": "Suivi.", "epices": EPICES}),
        )
        .await;
    assert_eq!(with_epices.field_errors(), vec!["epices"]);
    let active = app.case_in(Phase::Active).team(&team).await;
    let kind = app
        .post(
            &format!("{}/contacts", active.url()),
            Some(&team.nurse),
            consultation("2026-11-23T08:00:00Z", Some("medical"), json!({})),
        )
        .await;
    assert_eq!(kind.field_errors(), vec!["kind"]);
    let contact = app
        .post(
            &format!("{}/contacts", active.url()),
            Some(&team.nurse),
            consultation("2026-11-23T08:00:00Z", None, json!({})),
        )
        .await;
    contact.assert_status(201);
    assert_eq!(contact.body["contact"]["kind"], Value::Null);
    assert_eq!(contact.body["case"]["consultations"], Value::Null);
    assert_eq!(contact.body["case"]["substance_use"], Value::Null);
    let team_change = app
        .patch(
            &active.url(),
            &team.gp,
            json!({"psychologist_id": psychologist.id}),
        )
        .await;
    assert_eq!(team_change.field_errors(), vec!["psychologist_id"]);
}

#[actix_web::test]
async fn the_gp_changes_a_microstructure_team_and_the_new_member_finds_the_case() {
    let app = TestApp::new().await;
    let team = app.team().await;
    let first = app.account(Role::SocialWorker, &[&team.practice]).await;
    let second = app.account(Role::SocialWorker, &[&team.practice]).await;
    let case = app
        .case_in(Phase::Active)
        .team(&team)
        .microstructure()
        .await;
    let changed = app
        .patch(&case.url(), &team.gp, json!({"social_worker_id": first.id}))
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["social_worker_id"], first.id.as_str());
    let timeline = app.get(&format!("{}/timeline", case.url()), &team.gp).await;
    let entries = timeline.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let last = entries.last().cloned().unwrap_or_default();
    assert_eq!(last["kind"], "reassignment");
    assert_eq!(last["detail"], format!("social_worker_id={}", first.id));
    assert_eq!(
        worklist_line(&app, &first, &case).await["program"],
        "microstructure_addiction"
    );
    // A nurse is not a social worker.
    let wrong = app
        .patch(
            &case.url(),
            &team.gp,
            json!({"social_worker_id": team.nurse.id}),
        )
        .await;
    assert_eq!(wrong.field_errors(), vec!["social_worker_id"]);
    let moved = app
        .patch(
            &case.url(),
            &team.gp,
            json!({"social_worker_id": second.id}),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(worklist_line(&app, &first, &case).await, Value::Null);
    assert_eq!(
        worklist_line(&app, &second, &case).await["case_id"],
        case.id.as_str()
    );
}
