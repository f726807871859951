use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{TestApp, bearer};

#[actix_web::test]
async fn malformed_unsupported_and_oversized_bodies() {
    let app = TestApp::with(|s| s.max_body_bytes = 2048).await;
    let admin = app.admin().await;
    let post = |body: &'static str, content_type: &'static str| {
        TestRequest::post()
            .uri("/api/v1/practices")
            .insert_header(bearer(&admin))
            .insert_header(("Content-Type", content_type))
            .set_payload(body)
    };
    app.send(post("{\"name\": ", "application/json"))
        .await
        .assert_problem(400);
    app.send(post("", "application/json"))
        .await
        .assert_problem(400);
    app.send(post("[1, 2]", "application/json"))
        .await
        .assert_problem(422);
    app.send(post("name=x", "application/x-www-form-urlencoded"))
        .await
        .assert_problem(415);
    app.send(
        TestRequest::post()
            .uri("/api/v1/practices")
            .insert_header(bearer(&admin))
            .set_payload("{}"),
    )
    .await
    .assert_problem(415);
    let big = format!("{{\"name\": \"{}\", \"region\": \"x\"}}", "a".repeat(4096));
    app.send(
        TestRequest::post()
            .uri("/api/v1/practices")
            .insert_header(bearer(&admin))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(big),
    )
    .await
    .assert_problem(413);
    // Wrong types name the field.
    let wrong = app
        .post(
            "/api/v1/practices",
            Some(&admin),
            json!({"name": 3, "region": "x"}),
        )
        .await;
    wrong.assert_problem(422);
    assert_eq!(wrong.field_errors(), vec!["name"]);
    // Nothing was written by any of these.
    let list = app.get("/api/v1/practices", &admin).await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_web::test]
async fn unknown_paths_methods_ids_and_queries() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.get("/api/v1/nothing-here", &admin)
        .await
        .assert_problem(404);
    app.get("/nothing-here", &admin).await.assert_problem(404);
    let not_allowed = app
        .send(
            TestRequest::delete()
                .uri("/api/v1/practices")
                .insert_header(bearer(&admin)),
        )
        .await;
    not_allowed.assert_problem(405);
    assert_eq!(not_allowed.header("allow"), Some("GET, POST"));
    app.send(TestRequest::put().uri("/api/v1/me"))
        .await
        .assert_problem(405);
    app.get("/api/v1/practices/not-a-uuid", &admin)
        .await
        .assert_problem(404);
    app.get(
        "/api/v1/practices/01a20000-0000-7000-8000-000000000000",
        &admin,
    )
    .await
    .assert_problem(404);
    app.get("/api/v1/practices?limit=0", &admin)
        .await
        .assert_problem(400);
    app.get("/api/v1/practices?limit=201", &admin)
        .await
        .assert_problem(400);
    app.get("/api/v1/practices?limit=ten", &admin)
        .await
        .assert_problem(400);
    app.get("/api/v1/practices?after=nope", &admin)
        .await
        .assert_problem(400);
    app.get("/api/v1/users?role=surgeon", &admin)
        .await
        .assert_problem(400);
    let bad_if_match = app
        .send(
            TestRequest::patch()
                .uri("/api/v1/practices/01a20000-0000-7000-8000-000000000000")
                .insert_header(bearer(&admin))
                .insert_header(("If-Match", "yesterday"))
                .set_json(json!({})),
        )
        .await;
    bad_if_match.assert_problem(400);
}

#[actix_web::test]
async fn an_exhausted_pool_answers_503_not_a_hang() {
    let app = TestApp::with(|s| {
        s.db_pool_size = 1;
        s.db_pool_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let admin = app.admin().await;
    let held = app.state.db.conn().expect("the one connection");
    let resp = app.get("/api/v1/practices", &admin).await;
    resp.assert_problem(503);
    assert_eq!(resp.header("retry-after"), Some("1"));
    app.send(TestRequest::get().uri("/readyz"))
        .await
        .assert_problem(503);
    // Liveness does not depend on the database.
    app.send(TestRequest::get().uri("/healthz"))
        .await
        .assert_status(200);
    drop(held);
    app.get("/api/v1/practices", &admin)
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::new().await;
    let fresh = app.send(TestRequest::get().uri("/healthz")).await;
    assert!(
        fresh
            .header("x-request-id")
            .is_some_and(|id| id.len() == 36)
    );
    let echoed = app
        .send(
            TestRequest::get()
                .uri("/nothing")
                .insert_header(("X-Request-Id", "abc-123")),
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123"));
    let refused = app
        .send(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "bad id\twith spaces")),
        )
        .await;
    assert_ne!(refused.header("x-request-id"), Some("bad id\twith spaces"));
}
