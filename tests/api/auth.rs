use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde_json::json;
use sesame::domain::account::Role;
use sesame::domain::tokens::{SubjectKind, TokenKeys};

use crate::common::{PASSWORD, SECRET, TestApp};

#[actix_web::test]
async fn password_grant_gives_a_token_that_me_accepts() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let practice = app.practice(&admin, "Cabinet Voltaire").await;
    app.user("Nurse@Example.fr", Role::Nurse, &[&practice])
        .await;

    // Emails are matched without regard to case.
    let tokens = app.login("nurse@EXAMPLE.fr").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 40)
    );

    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    me.assert_status(200);
    assert_eq!(me.body["email"], "nurse@example.fr");
    assert_eq!(me.body["role"], "nurse");
    assert_eq!(me.body["kind"], "user");
    assert_eq!(me.body["practice_ids"], json!([practice]));
    assert_eq!(me.body["locale"], "fr");
}

#[actix_web::test]
async fn bad_tokens_are_refused_with_401_problems() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let parts: Vec<&str> = admin.split('.').collect();

    // Tampered claims, signature kept.
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("00000000-0000-0000-0000-000000000000");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    // Signed with our key for another audience.
    let subject = app.get("/api/v1/me", &admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_audience = TokenKeys::new(SECRET, "sesame", "another-api", 900)
        .issue(
            SubjectKind::User,
            &subject,
            sesame::clock::Clock::now(&*app.clock),
        )
        .unwrap();
    // Signed with another key.
    let other_key = TokenKeys::new(
        b"another-secret-0123456789abcdef-0123",
        "sesame",
        "sesame-api",
        900,
    )
    .issue(
        SubjectKind::User,
        &subject,
        sesame::clock::Clock::now(&*app.clock),
    )
    .unwrap();

    for (what, token) in [
        ("tampered", tampered.as_str()),
        ("alg none", none.as_str()),
        ("other audience", other_audience.as_str()),
        ("other key", other_key.as_str()),
        ("garbage", "not-a-jwt"),
    ] {
        let resp = app.get("/api/v1/me", token).await;
        resp.assert_problem(401);
        assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{what}");
    }

    // Expired: the same valid token, once the clock has passed its 15 minutes.
    app.get("/api/v1/me", &admin).await.assert_status(200);
    app.clock.advance(Duration::minutes(15));
    let resp = app.get("/api/v1/me", &admin).await;
    resp.assert_problem(401);
    assert!(resp.body["detail"].as_str().unwrap().contains("expired"));

    // No token, or another scheme.
    app.send(TestRequest::get().uri("/api/v1/me"))
        .await
        .assert_problem(401);
    app.send(
        TestRequest::get()
            .uri("/api/v1/me")
            .insert_header(("Authorization", "Basic YTpi")),
    )
    .await
    .assert_problem(401);
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer() {
    let app = TestApp::new().await;
    app.admin().await;
    let wrong = app
        .post("/api/v1/auth/token", None, json!({"grant_type": "password", "email": "admin@example.fr", "password": "wrong password!"}))
        .await;
    wrong.assert_problem(401);
    let unknown = app
        .post("/api/v1/auth/token", None, json!({"grant_type": "password", "email": "nobody@example.fr", "password": "wrong password!"}))
        .await;
    unknown.assert_problem(401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

async fn fail_login(app: &TestApp, email: &str) -> crate::common::Resp {
    app.post(
        "/api/v1/auth/token",
        None,
        json!({"grant_type": "password", "email": email, "password": "not the password"}),
    )
    .await
}

#[actix_web::test]
async fn five_failures_lock_the_account_until_time_passes_or_an_admin_unlocks() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let gp = app.user("gp@example.fr", Role::Gp, &[]).await;

    for _ in 0..4 {
        fail_login(&app, "gp@example.fr").await.assert_problem(401);
    }
    // A success before the fifth failure resets the count.
    app.login("gp@example.fr").await;
    for _ in 0..4 {
        fail_login(&app, "gp@example.fr").await.assert_problem(401);
    }
    fail_login(&app, "gp@example.fr").await.assert_problem(401);
    // Locked now: even the right password is refused, with 423.
    let locked = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({"grant_type": "password", "email": "gp@example.fr", "password": PASSWORD}),
        )
        .await;
    locked.assert_problem(423);
    let user = app.get(&format!("/api/v1/users/{gp}"), &admin).await;
    assert_eq!(user.body["locked"], true);

    // The lock lasts 15 minutes by default.
    app.clock.advance(Duration::minutes(14));
    fail_login(&app, "gp@example.fr").await.assert_problem(423);
    app.clock.advance(Duration::minutes(1));
    app.login("gp@example.fr").await;

    // Lock again, then an admin unlocks.
    for _ in 0..5 {
        fail_login(&app, "gp@example.fr").await;
    }
    fail_login(&app, "gp@example.fr").await.assert_problem(423);
    let admin = app.token("admin@example.fr").await; // the first token has expired meanwhile
    let unlocked = app
        .patch(
            &format!("/api/v1/users/{gp}"),
            &admin,
            json!({"locked": false}),
        )
        .await;
    unlocked.assert_status(200);
    assert_eq!(unlocked.body["locked"], false);
    app.login("gp@example.fr").await;
}

#[actix_web::test]
async fn lockout_without_expiry_needs_an_admin() {
    let app = TestApp::with(|s| s.lockout_minutes = None).await;
    app.admin().await;
    app.user("gp@example.fr", Role::Gp, &[]).await;
    for _ in 0..5 {
        fail_login(&app, "gp@example.fr").await;
    }
    app.clock.advance(Duration::days(30));
    fail_login(&app, "gp@example.fr").await.assert_problem(423);
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let app = TestApp::new().await;
    app.admin().await;
    let first = app.login("admin@example.fr").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let second = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    second.assert_status(200);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    app.get("/api/v1/me", second.body["access_token"].as_str().unwrap())
        .await
        .assert_status(200);

    // The spent token is refused, and its replay revokes the newer one too.
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await
        .assert_problem(401);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r2}))
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn logout_and_expiry_end_a_refresh_token() {
    let app = TestApp::new().await;
    app.admin().await;
    let r = app.login("admin@example.fr").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/v1/auth/logout", None, json!({"refresh_token": r}))
        .await
        .assert_status(204);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r}))
        .await
        .assert_problem(401);
    // Logging out twice, or with an unknown token, is not an error.
    app.post("/api/v1/auth/logout", None, json!({"refresh_token": r}))
        .await
        .assert_status(204);

    let r = app.login("admin@example.fr").await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::hours(12));
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r}))
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn deactivating_an_account_ends_its_tokens_at_once() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let nurse_id = app.user("nurse@example.fr", Role::Nurse, &[]).await;
    let tokens = app.login("nurse@example.fr").await;
    let access = tokens["access_token"].as_str().unwrap();
    app.get("/api/v1/me", access).await.assert_status(200);

    app.patch(
        &format!("/api/v1/users/{nurse_id}"),
        &admin,
        json!({"active": false}),
    )
    .await
    .assert_status(200);
    app.get("/api/v1/me", access).await.assert_problem(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .assert_problem(401);
    let login = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({"grant_type": "password", "email": "nurse@example.fr", "password": PASSWORD}),
        )
        .await;
    login.assert_problem(401);
}

#[actix_web::test]
async fn api_clients_use_client_credentials_for_their_one_practice() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let practice = app.practice(&admin, "Cabinet Voltaire").await;

    let created = app
        .post(
            "/api/v1/api-clients",
            Some(&admin),
            json!({"practice_id": practice, "name": "Logiciel métier"}),
        )
        .await;
    created.assert_status(201);
    let client_id = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();

    // The secret is shown once: never in a later read.
    let read = app
        .get(&format!("/api/v1/api-clients/{client_id}"), &admin)
        .await;
    read.assert_status(200);
    assert!(read.body.get("client_secret").is_none());
    assert!(!read.text.contains(&secret));

    let grant = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    let tokens = app.post("/api/v1/auth/token", None, grant.clone()).await;
    tokens.assert_status(200);
    assert!(
        tokens.body.get("refresh_token").is_none(),
        "machine accounts get no refresh token"
    );
    let access = tokens.body["access_token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me", &access).await;
    me.assert_status(200);
    assert_eq!(me.body["kind"], "api_client");
    assert_eq!(me.body["practice_ids"], json!([practice]));
    assert!(me.body.get("role").is_none());

    // It reads its own practice, and nothing of the organisation beyond it.
    app.get(&format!("/api/v1/practices/{practice}"), &access)
        .await
        .assert_status(200);
    app.get("/api/v1/users", &access).await.assert_problem(403);
    app.get("/api/v1/api-clients", &access)
        .await
        .assert_problem(403);

    let wrong = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "guess"});
    app.post("/api/v1/auth/token", None, wrong)
        .await
        .assert_problem(401);

    // Deactivated: its token stops at once, and no new one is given.
    app.patch(
        &format!("/api/v1/api-clients/{client_id}"),
        &admin,
        json!({"active": false}),
    )
    .await
    .assert_status(200);
    app.get("/api/v1/me", &access).await.assert_problem(401);
    app.post("/api/v1/auth/token", None, grant.clone())
        .await
        .assert_problem(401);

    // A deactivated practice stops its clients too.
    app.patch(
        &format!("/api/v1/api-clients/{client_id}"),
        &admin,
        json!({"active": true}),
    )
    .await
    .assert_status(200);
    app.post("/api/v1/auth/token", None, grant.clone())
        .await
        .assert_status(200);
    app.patch(
        &format!("/api/v1/practices/{practice}"),
        &admin,
        json!({"active": false}),
    )
    .await
    .assert_status(200);
    app.post("/api/v1/auth/token", None, grant)
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn tokens_are_not_cached() {
    let app = TestApp::new().await;
    app.admin().await;
    let resp = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({"grant_type": "password", "email": "admin@example.fr", "password": PASSWORD}),
        )
        .await;
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}
