use serde_json::json;
use sesame::domain::account::Role;

use crate::common::TestApp;

fn patient(external_id: &str) -> serde_json::Value {
    json!({
        "external_id": external_id, "family_name": "Durand", "given_names": "Claire",
        "birth_date": "1979-04-12", "sex": "F", "email": "Claire.Durand@example.fr",
        "ins": "2 69 02 99 341 732 85", "consent": "informed"
    })
}

#[actix_web::test]
async fn gps_register_patients_of_their_practice_and_every_access_is_audited() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let mine = app.practice(&admin, "Cabinet Voltaire").await;
    let theirs = app.practice(&admin, "MSP des Lilas").await;
    app.user("gp@example.fr", Role::Gp, &[&mine]).await;
    app.user("nurse@example.fr", Role::Nurse, &[&mine]).await;
    app.user("other-gp@example.fr", Role::Gp, &[&theirs]).await;
    let gp = app.token("gp@example.fr").await;

    // One practice: it need not be named.
    let created = app
        .post("/api/v1/patients", Some(&gp), patient("DOS-1"))
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["practice_id"], mine.as_str());
    assert_eq!(created.body["ins"], "269029934173285");
    assert_eq!(created.body["ins_status"], "provisional");
    assert_eq!(created.body["email"], "claire.durand@example.fr");
    assert_eq!(created.body["consent"]["status"], "informed");

    app.post("/api/v1/patients", Some(&gp), patient("DOS-1"))
        .await
        .assert_problem(409);

    let nurse = app.token("nurse@example.fr").await;
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
    let other = app.token("other-gp@example.fr").await;
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
    let admin = app.admin().await;
    let practice = app.practice(&admin, "Cabinet Voltaire").await;
    let other = app.practice(&admin, "MSP des Lilas").await;
    app.user("gp@example.fr", Role::Gp, &[&practice]).await;
    let gp = app.token("gp@example.fr").await;

    let mut bad_key = patient("DOS-2");
    bad_key["ins"] = json!("269029934173286");
    let resp = app.post("/api/v1/patients", Some(&gp), bad_key).await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["ins"]);

    let mut future = patient("DOS-3");
    future["birth_date"] = json!("2027-01-01");
    let resp = app.post("/api/v1/patients", Some(&gp), future).await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["birth_date"]);

    let mut elsewhere = patient("DOS-4");
    elsewhere["practice_id"] = json!(other);
    app.post("/api/v1/patients", Some(&gp), elsewhere)
        .await
        .assert_problem(403);

    let resp = app
        .post("/api/v1/patients", Some(&gp), json!({"external_id": "X", "family_name": "", "given_names": "A", "birth_date": "1980-01-01", "sex": "X", "consent": "informed"}))
        .await;
    resp.assert_problem(422);
}
