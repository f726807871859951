use serde_json::json;

use crate::common::{Account, Making, Patient, TestApp};

/// Claire Durand, with an email and a provisional INS, registered by `gp`.
fn claire<'a>(app: &'a TestApp, gp: &Account, external_id: &str) -> Making<'a, Patient> {
    app.patient_of(gp)
        .external_id(external_id)
        .named("Durand", "Claire")
        .born("1979-04-12")
        .email("Claire.Durand@example.fr")
        .ins("2 69 02 99 341 732 85")
}

#[actix_web::test]
async fn gps_register_patients_of_their_practice_and_every_access_is_audited() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let mine = app.practice().await;
    let theirs = app.practice_named("MSP des Lilas").await;
    let gp = app.gp_of(&mine).await;
    let nurse = app.nurse_of(&mine).await.token;
    let other = app.gp_of(&theirs).await.token;

    // One practice: it need not be named.
    let created = claire(&app, &gp, "DOS-1").send().await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["practice_id"], mine.id.as_str());
    assert_eq!(created.body["ins"], "269029934173285");
    assert_eq!(created.body["ins_status"], "provisional");
    assert_eq!(created.body["email"], "claire.durand@example.fr");
    assert_eq!(created.body["consent"]["status"], "informed");

    claire(&app, &gp, "DOS-1").send().await.assert_problem(409);

    app.get(&format!("/api/v1/patients/{id}"), &nurse)
        .await
        .assert_status(200);
    let list = app.get("/api/v1/patients?external_id=DOS-1", &nurse).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    app.patch(
        &format!("/api/v1/patients/{id}"),
        &nurse,
        json!({"phone": "06 12 34 56 78"}),
    )
    .await
    .assert_problem(403);
    let changed = app
        .patch(
            &format!("/api/v1/patients/{id}"),
            &gp,
            json!({"phone": "06 12 34 56 78", "consent": "objected"}),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["consent"]["status"], "objected");
    assert_eq!(changed.body["version"], 2);

    // Another practice's GP: not found, and the attempt is on record.
    app.get(&format!("/api/v1/patients/{id}"), &other)
        .await
        .assert_problem(404);
    assert_eq!(
        app.get("/api/v1/patients", &other).await.body["items"],
        json!([])
    );
    // Admins manage accounts, not patients.
    app.get(&format!("/api/v1/patients/{id}"), &admin)
        .await
        .assert_problem(403);

    let audit = app
        .get(&format!("/api/v1/audit?patient_id={id}"), &admin)
        .await;
    audit.assert_status(200);
    let events: Vec<(String, String)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("patient.create", "ok"),
        ("patient.read", "ok"),
        ("patient.list", "ok"),
        ("patient.update", "ok"),
        ("patient.read", "denied"),
    ];
    assert_eq!(
        events,
        expected.map(|(a, o)| (a.to_owned(), o.to_owned())).to_vec()
    );
    app.get("/api/v1/audit", &gp).await.assert_problem(403);
}

#[actix_web::test]
async fn identity_is_checked_field_by_field() {
    let app = TestApp::new().await;
    let practice = app.practice().await;
    let other = app.practice_named("MSP des Lilas").await;
    let gp = app.gp_of(&practice).await;

    let bad_key = claire(&app, &gp, "DOS-2").ins("269029934173286");
    let resp = bad_key.send().await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["ins"]);

    let future = claire(&app, &gp, "DOS-3").born("2027-01-01");
    let resp = future.send().await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["birth_date"]);

    let elsewhere = claire(&app, &gp, "DOS-4").in_practice(&other);
    elsewhere.send().await.assert_problem(403);

    let resp = app
        .patient_of(&gp)
        .external_id("X")
        .named("", "A")
        .born("1980-01-01")
        .sex("X")
        .send()
        .await;
    resp.assert_problem(422);
}
