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
    let practice = app.practice().await;
    app.nurse_of(&practice).email("Nurse@Example.fr").await;

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
    let admin = app.admin().await.token;
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
            "session",
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
        "session",
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
    let admin = app.admin().await;
    let wrong = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({"grant_type": "password", "email": admin.email, "password": "wrong password!"}),
        )
        .await;
    wrong.assert_problem(401);
    let unknown = app
        .post("/api/v1/auth/token", None, json!({"grant_type": "password", "email": "nobody@example.fr", "password": "wrong password!"}))
        .await;
    unknown.assert_problem(401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

async fn fail_login(app: &TestApp, email: &str) -> crate::common::Resp {
    login_from(app, email, "not the password", "203.0.113.10").await
}

/// A login from a client address (the in-process app sees the peer address a socket would give).
async fn login_from(app: &TestApp, email: &str, password: &str, addr: &str) -> crate::common::Resp {
    app.send(
        TestRequest::post()
            .uri("/api/v1/auth/token")
            .peer_addr(format!("{addr}:40000").parse().unwrap())
            .set_json(json!({"grant_type": "password", "email": email, "password": password})),
    )
    .await
}

/// Fails `n` logins from the usual test address, waiting out each delay on the test clock.
async fn fail_logins(app: &TestApp, email: &str, n: usize) {
    for _ in 0..n {
        let resp = fail_login(app, email).await;
        if resp.status.as_u16() == 429 {
            let wait: i64 = resp.header("retry-after").unwrap().parse().unwrap();
            app.clock.advance(Duration::seconds(wait));
            fail_login(app, email).await.assert_problem(401);
        } else {
            resp.assert_problem(401);
        }
    }
}

#[actix_web::test]
async fn failures_slow_down_then_lock_the_account_for_that_address_only() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let gp = app.account(Role::Gp, &[]).await;

    // Two failures cost nothing; the third too soon gets 429 with the delay to wait, doubling.
    fail_login(&app, &gp.email).await.assert_problem(401);
    fail_login(&app, &gp.email).await.assert_problem(401);
    let early = fail_login(&app, &gp.email).await;
    early.assert_problem(429);
    assert_eq!(early.header("retry-after"), Some("1"));
    app.clock.advance(Duration::seconds(1));
    fail_login(&app, &gp.email).await.assert_problem(401);
    let early = fail_login(&app, &gp.email).await;
    early.assert_problem(429);
    assert_eq!(early.header("retry-after"), Some("2"));
    // A success before the fifth failure forgets them.
    app.clock.advance(Duration::seconds(2));
    login_from(&app, &gp.email, PASSWORD, "203.0.113.10")
        .await
        .assert_status(200);
    fail_logins(&app, &gp.email, 5).await;

    // Locked now for that address: even the right password is refused there, with 423 and
    // how long it lasts…
    let locked = login_from(&app, &gp.email, PASSWORD, "203.0.113.10").await;
    locked.assert_problem(423);
    assert_eq!(locked.header("retry-after"), Some("900"));
    // … while the GP signs in from their own workstation.
    login_from(&app, &gp.email, PASSWORD, "198.51.100.20")
        .await
        .assert_status(200);
    let user = app.get(&format!("/api/v1/users/{}", gp.id), &admin).await;
    assert_eq!(user.body["locked"], true);

    // The lock lasts 15 minutes by default.
    app.clock.advance(Duration::minutes(14));
    fail_login(&app, &gp.email).await.assert_problem(423);
    app.clock.advance(Duration::minutes(1));
    login_from(&app, &gp.email, PASSWORD, "203.0.113.10")
        .await
        .assert_status(200);

    // Lock again, then an admin unlocks.
    fail_logins(&app, &gp.email, 5).await;
    fail_login(&app, &gp.email).await.assert_problem(423);
    let admin = app.admin().await; // the first token has expired meanwhile
    let unlocked = app
        .patch(
            &format!("/api/v1/users/{}", gp.id),
            &admin,
            json!({"locked": false}),
        )
        .await;
    unlocked.assert_status(200);
    assert_eq!(unlocked.body["locked"], false);
    login_from(&app, &gp.email, PASSWORD, "203.0.113.10")
        .await
        .assert_status(200);

    // An admin's lock holds for every address, until unlocked.
    app.patch(
        &format!("/api/v1/users/{}", gp.id),
        &admin,
        json!({"locked": true}),
    )
    .await
    .assert_status(200);
    login_from(&app, &gp.email, PASSWORD, "198.51.100.20")
        .await
        .assert_problem(423);
    // ... also long after the lockout minutes, and without a Retry-After: it has no end.
    app.clock.advance(Duration::days(2));
    let locked = login_from(&app, &gp.email, PASSWORD, "198.51.100.21").await;
    locked.assert_problem(423);
    assert_eq!(locked.header("retry-after"), None);
    assert!(
        locked.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("administrator has locked")),
        "{}",
        locked.body
    );
}

#[actix_web::test]
async fn lockout_without_expiry_needs_an_admin() {
    let app = TestApp::with(|s| s.lockout_minutes = None).await;
    app.admin().await;
    let gp = app.account(Role::Gp, &[]).await;
    fail_logins(&app, &gp.email, 5).await;
    app.clock.advance(Duration::days(30));
    fail_login(&app, &gp.email).await.assert_problem(423);
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let first = app.login(&admin.email).await;
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
    let admin = app.admin().await;
    let r = app.login(&admin.email).await["refresh_token"]
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

    let r = app.login(&admin.email).await["refresh_token"]
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
    let nurse = app.account(Role::Nurse, &[]).await;
    let tokens = app.login(&nurse.email).await;
    let access = tokens["access_token"].as_str().unwrap();
    app.get("/api/v1/me", access).await.assert_status(200);

    app.patch(
        &format!("/api/v1/users/{}", nurse.id),
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
            json!({"grant_type": "password", "email": nurse.email, "password": PASSWORD}),
        )
        .await;
    login.assert_problem(401);
}

#[actix_web::test]
async fn api_clients_use_client_credentials_for_their_one_practice() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let practice = app.practice().await;

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
    let admin = app.admin().await;
    let resp = app
        .post(
            "/api/v1/auth/token",
            None,
            json!({"grant_type": "password", "email": admin.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

fn claims_of(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[actix_web::test]
async fn logout_and_a_replayed_refresh_token_end_the_family_access_tokens_at_once() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let phone = app.login(&admin.email).await;
    let laptop = app.login(&admin.email).await;
    let phone_access = phone["access_token"].as_str().unwrap();
    let laptop_access = laptop["access_token"].as_str().unwrap();
    app.get("/api/v1/me", phone_access).await.assert_status(200);

    app.post(
        "/api/v1/auth/logout",
        None,
        json!({"refresh_token": phone["refresh_token"]}),
    )
    .await
    .assert_status(204);
    let refused = app.get("/api/v1/me", phone_access).await;
    refused.assert_problem(401);
    assert!(refused.body["detail"].as_str().unwrap().contains("revoked"));
    // Another login of the same person is another session: untouched.
    app.get("/api/v1/me", laptop_access)
        .await
        .assert_status(200);

    // A replayed refresh token revokes its family: the access tokens issued in it too.
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": laptop["refresh_token"]}),
        )
        .await;
    rotated.assert_status(200);
    let rotated_access = rotated.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        claims_of(&rotated_access)["sid"],
        claims_of(laptop_access)["sid"],
        "a refresh stays in its session"
    );
    app.get("/api/v1/me", &rotated_access)
        .await
        .assert_status(200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": laptop["refresh_token"]}),
    )
    .await
    .assert_problem(401);
    app.get("/api/v1/me", &rotated_access)
        .await
        .assert_problem(401);
    app.get("/api/v1/me", laptop_access)
        .await
        .assert_problem(401);

    // The hourly clean-up forgets sessions revoked more than a day ago; their tokens stay refused.
    let later = sesame::db::naive(sesame::clock::Clock::now(&*app.clock) + Duration::days(2));
    let forgotten = app
        .state
        .db
        .run(move |conn| Ok(sesame::db::sessions::purge(conn, later, later)?))
        .await
        .unwrap();
    assert_eq!(forgotten, 2, "the phone's and the laptop's sessions");
    app.get("/api/v1/me", phone_access)
        .await
        .assert_problem(401);
}

#[actix_web::test]
async fn a_new_password_a_lock_or_a_reactivation_does_not_revive_old_tokens() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let nurse = app.account(Role::Nurse, &[]).await;
    let change = |body: serde_json::Value| {
        let path = format!("/api/v1/users/{}", nurse.id);
        let admin = admin.clone();
        let app = &app;
        async move {
            app.patch(&path, &admin, body).await.assert_status(200);
        }
    };

    let old = app.token(&nurse.email).await;
    change(json!({"active": false})).await;
    change(json!({"active": true})).await;
    app.get("/api/v1/me", &old).await.assert_problem(401);

    let old = app.token(&nurse.email).await;
    change(json!({"password": "another long password"})).await;
    app.get("/api/v1/me", &old).await.assert_problem(401);

    let old = login_from(&app, &nurse.email, "another long password", "192.0.2.1").await;
    let old = old.body["access_token"].as_str().unwrap().to_owned();
    change(json!({"locked": true})).await;
    change(json!({"locked": false})).await;
    app.get("/api/v1/me", &old).await.assert_problem(401);
}

#[actix_web::test]
async fn a_token_issued_in_the_future_is_refused() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let token = app.token(&admin.email).await;
    let claims = claims_of(&token);
    let now = sesame::clock::Clock::now(&*app.clock);
    let keys = TokenKeys::new(SECRET, "sesame", "sesame-api", 900);
    let issue = |at| {
        keys.issue(
            SubjectKind::User,
            claims["sub"].as_str().unwrap(),
            claims["sid"].as_str().unwrap(),
            at,
        )
        .unwrap()
    };
    // Our own signature and a live session: a day ahead is still not ours to accept.
    app.get("/api/v1/me", &issue(now + Duration::days(1)))
        .await
        .assert_problem(401);
    app.get("/api/v1/me", &issue(now + Duration::seconds(30)))
        .await
        .assert_status(200);
}

/// Every refusal leaves an audit row with its reason: a 403 by role, refused logins (known
/// account or not, never the password), a list filtered on another practice, a revoked token.
#[actix_web::test]
async fn every_refusal_is_audited_with_its_reason() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let here = app.practice().await;
    let elsewhere = app.practice_named("Cabinet Pasteur").await;
    let nurse = app.nurse_of(&here).await;
    let nurse_token = &nurse.token;

    app.get("/api/v1/users", nurse_token)
        .await
        .assert_problem(403);
    let filtered = app
        .get(
            &format!("/api/v1/cases?practice_id={elsewhere}"),
            nurse_token,
        )
        .await;
    filtered.assert_status(200);
    assert_eq!(filtered.body["items"], json!([]));
    login_from(&app, &nurse.email, "a wrong password", "192.0.2.7")
        .await
        .assert_problem(401);
    login_from(&app, "nobody@example.fr", "a wrong password", "192.0.2.7")
        .await
        .assert_problem(401);
    let tokens = app.login(&nurse.email).await;
    app.post(
        "/api/v1/auth/logout",
        None,
        json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .assert_status(204);
    app.get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await
        .assert_problem(401);

    let log = app
        .get(
            &format!("/api/v1/audit?actor_id={}&limit=200", nurse.id),
            &admin,
        )
        .await;
    log.assert_status(200);
    let denied: Vec<(String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "denied")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("GET /api/v1/users", "role"),
        ("case.list", "filter"),
        ("auth.login", "bad_credentials"),
        ("auth.token", "revoked"),
    ]
    .iter()
    .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(denied, expected);
    assert!(!log.text.contains("a wrong password"));

    let anonymous = app
        .get(
            "/api/v1/audit?actor_id=00000000-0000-0000-0000-000000000000",
            &admin,
        )
        .await;
    let items = anonymous.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["actor_kind"], "anonymous");
    assert_eq!(items[0]["action"], "auth.login");
    assert_eq!(items[0]["reason"], "bad_credentials");
}
