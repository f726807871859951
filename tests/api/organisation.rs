use actix_web::test::TestRequest;
use serde_json::json;
use sesame::domain::account::Role;

use crate::common::{TestApp, bearer};

#[actix_web::test]
async fn admins_create_list_and_change_practices() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/v1/practices",
            Some(&admin),
            json!({"name": "  MSP des Lilas ", "region": "Île-de-France"}),
        )
        .await;
    created.assert_status(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["name"], "MSP des Lilas");
    assert_eq!(created.body["network"], serde_json::Value::Null);
    assert_eq!(created.body["active"], true);
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/practices/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));

    let changed = app
        .patch(
            &format!("/api/v1/practices/{id}"),
            &admin,
            json!({"network": "Réseau Nord"}),
        )
        .await;
    changed.assert_status(200);
    assert_eq!(changed.body["network"], "Réseau Nord");
    assert_eq!(changed.body["version"], 2);

    // A change made against a stale version is refused.
    let stale = app
        .send(
            TestRequest::patch()
                .uri(&format!("/api/v1/practices/{id}"))
                .insert_header(bearer(&admin))
                .insert_header(("If-Match", "\"1\""))
                .set_json(json!({"name": "Lost update"})),
        )
        .await;
    stale.assert_problem(412);
    let fresh = app
        .send(
            TestRequest::patch()
                .uri(&format!("/api/v1/practices/{id}"))
                .insert_header(bearer(&admin))
                .insert_header(("If-Match", "\"2\""))
                .set_json(json!({"active": false})),
        )
        .await;
    fresh.assert_status(200);
    assert_eq!(fresh.body["active"], false);

    let other = app.practice().await;
    let page = app.get("/api/v1/practices?limit=1", &admin).await;
    page.assert_status(200);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["items"][0]["id"], id.as_str());
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let next = app
        .get(&format!("/api/v1/practices?limit=1&after={cursor}"), &admin)
        .await;
    assert_eq!(next.body["items"][0]["id"], other.id.as_str());
    assert_eq!(next.body["next_cursor"], serde_json::Value::Null);

    let inactive = app.get("/api/v1/practices?active=false", &admin).await;
    assert_eq!(inactive.body["items"].as_array().unwrap().len(), 1);
    let by_region = app
        .get("/api/v1/practices?region=Grand%20Est", &admin)
        .await;
    assert_eq!(by_region.body["items"][0]["id"], other.id.as_str());
}

#[actix_web::test]
async fn people_see_only_their_own_practices() {
    let app = TestApp::new().await;
    let mine = app.practice().await;
    let theirs = app.practice_named("MSP des Lilas").await;
    let nurse = app.nurse_of(&mine).await.token;

    let list = app.get("/api/v1/practices", &nurse).await;
    list.assert_status(200);
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![mine.id.as_str()]);
    app.get(&format!("/api/v1/practices/{mine}"), &nurse)
        .await
        .assert_status(200);
    // Another practice does not exist, as far as this nurse can tell.
    app.get(&format!("/api/v1/practices/{theirs}"), &nurse)
        .await
        .assert_problem(404);

    app.post(
        "/api/v1/practices",
        Some(&nurse),
        json!({"name": "X", "region": "Y"}),
    )
    .await
    .assert_problem(403);
    app.patch(
        &format!("/api/v1/practices/{mine}"),
        &nurse,
        json!({"name": "X"}),
    )
    .await
    .assert_problem(403);
}

#[actix_web::test]
async fn admins_manage_accounts() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let practice = app.practice().await;
    let body = json!({
        "email": " Dr.Martin@Example.fr ", "name": "Dr Martin", "role": "gp",
        "practice_ids": [practice], "locale": "en", "password": crate::common::PASSWORD
    });
    let created = app.post("/api/v1/users", Some(&admin), body.clone()).await;
    created.assert_status(201);
    assert_eq!(created.body["email"], "dr.martin@example.fr");
    assert_eq!(created.body["locale"], "en");
    assert_eq!(created.body["practice_ids"], json!([practice]));
    assert!(created.body.get("password").is_none() && !created.text.contains("argon2"));
    let id = created.body["id"].as_str().unwrap().to_owned();

    // The same email, in any case, is taken.
    let mut again = body.clone();
    again["email"] = json!("DR.MARTIN@example.fr");
    app.post("/api/v1/users", Some(&admin), again)
        .await
        .assert_problem(409);

    // The new person can log in with the password the admin set, then with a new one.
    app.token("dr.martin@example.fr").await;
    app.patch(
        &format!("/api/v1/users/{id}"),
        &admin,
        json!({"password": "another long password"}),
    )
    .await
    .assert_status(200);
    let old = app
        .post("/api/v1/auth/token", None, json!({"grant_type": "password", "email": "dr.martin@example.fr", "password": crate::common::PASSWORD}))
        .await;
    old.assert_problem(401);
    app.post("/api/v1/auth/token", None, json!({"grant_type": "password", "email": "dr.martin@example.fr", "password": "another long password"}))
        .await
        .assert_status(200);

    let moved = app
        .patch(
            &format!("/api/v1/users/{id}"),
            &admin,
            json!({"role": "psychiatrist", "practice_ids": []}),
        )
        .await;
    moved.assert_status(200);
    assert_eq!(moved.body["role"], "psychiatrist");
    assert_eq!(moved.body["practice_ids"], json!([]));

    let list = app.get("/api/v1/users?role=psychiatrist", &admin).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn account_input_is_checked_field_by_field() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let bad = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"email": "not-an-email", "name": " ", "role": "gp", "password": "short"}),
        )
        .await;
    bad.assert_problem(422);
    let mut fields = bad.field_errors();
    fields.sort();
    assert_eq!(fields, vec!["email", "name", "password"]);

    let unknown_role =
        app.post("/api/v1/users", Some(&admin), json!({"email": "a@b.fr", "name": "A", "role": "surgeon", "password": "long enough pass"})).await;
    unknown_role.assert_problem(422);
    assert_eq!(unknown_role.field_errors(), vec!["role"]);

    let no_practice = app
        .post(
            "/api/v1/users",
            Some(&admin),
            json!({"email": "a@b.fr", "name": "A", "role": "gp", "password": "long enough pass",
                   "practice_ids": ["01a20000-0000-7000-8000-000000000000"]}),
        )
        .await;
    no_practice.assert_problem(422);
    assert_eq!(no_practice.field_errors(), vec!["practice_ids"]);

    let control = app
        .post(
            "/api/v1/practices",
            Some(&admin),
            json!({"name": "A\u{0}B", "region": "Y"}),
        )
        .await;
    control.assert_problem(422);
    assert_eq!(control.field_errors(), vec!["name"]);

    let extra = app
        .post(
            "/api/v1/practices",
            Some(&admin),
            json!({"name": "A", "region": "Y", "colour": "red"}),
        )
        .await;
    extra.assert_problem(422);
}

#[actix_web::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let me = app.get("/api/v1/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for change in [
        json!({"active": false}),
        json!({"locked": true}),
        json!({"role": "gp"}),
    ] {
        app.patch(&format!("/api/v1/users/{me}"), &admin, change)
            .await
            .assert_problem(409);
    }
    app.patch(
        &format!("/api/v1/users/{me}"),
        &admin,
        json!({"name": "Admin Two"}),
    )
    .await
    .assert_status(200);
}

#[actix_web::test]
async fn coordinators_read_the_accounts_of_their_practices_only() {
    let app = TestApp::new().await;
    let mine = app.practice().await;
    let theirs = app.practice_named("MSP des Lilas").await;
    let coordinator = app.coordinator_of(&mine).await;
    let colleague = app.account(Role::Gp, &[&mine, &theirs]).await;
    let stranger = app.gp_of(&theirs).await;

    let list = app.get("/api/v1/users", &coordinator).await;
    list.assert_status(200);
    let mut emails: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    let mut expected = vec![coordinator.email.as_str(), colleague.email.as_str()];
    expected.sort_unstable();
    assert_eq!(emails, expected);
    app.get(&format!("/api/v1/users/{}", colleague.id), &coordinator)
        .await
        .assert_status(200);
    app.get(&format!("/api/v1/users/{}", stranger.id), &coordinator)
        .await
        .assert_problem(404);
    app.post(
        "/api/v1/users",
        Some(&coordinator),
        json!({"email": "x@y.fr", "name": "X", "role": "gp", "password": "long enough pass"}),
    )
    .await
    .assert_problem(403);

    let gp = stranger.token;
    app.get("/api/v1/users", &gp).await.assert_problem(403);
    app.get("/api/v1/api-clients", &gp)
        .await
        .assert_problem(403);
}
