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

/// A raw JSON body (for what `json!` cannot write: a trailing comma, a key twice, a huge integer).
fn raw_post(path: &str, token: &str, body: &'static str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(bearer(token))
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body)
}

/// Asserts one field error: its status, its field and a fragment of its message.
#[track_caller]
fn assert_field(resp: &crate::common::Resp, status: u16, field: &str, fragment: &str) {
    resp.assert_problem(status);
    let errors = resp.body["errors"].as_array().expect("errors");
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field
                && e["message"].as_str().is_some_and(|m| m.contains(fragment))),
        "{field}: {fragment} in {}",
        resp.text
    );
}

#[actix_web::test]
async fn wrong_types_in_bodies_name_the_field_and_what_was_expected() {
    let app = TestApp::new().await;
    let admin = app.admin().await.token;
    // The body is read before anything is looked up: no case needs to exist.
    let contacts = "/api/v1/cases/01a20000-0000-7000-8000-000000000000/contacts";
    let contact = |changes: serde_json::Value| {
        let mut body = json!({"occurred_at": "2026-01-05T09:00:00+01:00", "mode": "phone",
            "outcome": "completed"});
        for (key, value) in changes.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    let resp = app
        .post(contacts, Some(&admin), contact(json!({"mode": true})))
        .await;
    assert_field(
        &resp,
        422,
        "mode",
        r#"expected one of "in_person", "phone", "video"; found a boolean"#,
    );
    assert_eq!(resp.body["type"], "urn:sesame:problem:validation");
    let resp = app
        .post(contacts, Some(&admin), contact(json!({"outcome": null})))
        .await;
    assert_field(&resp, 422, "outcome", "must not be null");
    let resp = app
        .post(
            contacts,
            Some(&admin),
            contact(json!({"occurred_at": "2026-12-01T09:00:00"})),
        )
        .await;
    assert_field(
        &resp,
        422,
        "occurred_at",
        "expected an RFC 3339 date-time with offset, e.g. 2026-12-01T09:00:00+01:00",
    );
    let resp = app
        .post(contacts, Some(&admin), json!({"mode": "phone"}))
        .await;
    assert_field(&resp, 422, "occurred_at", "is required");
    let resp = app
        .post(
            contacts,
            Some(&admin),
            contact(json!({"phq9": [0, 0, 1.5]})),
        )
        .await;
    assert_field(&resp, 422, "phq9[2]", "expected a whole number");
    let resp = app
        .post(contacts, Some(&admin), contact(json!({"mood": "fine"})))
        .await;
    assert_field(&resp, 422, "mood", "unknown field");
    let resp = app
        .send(raw_post(
            contacts,
            &admin,
            r#"{"occurred_at": "2026-01-05T09:00:00+01:00", "mode": "phone",
                "outcome": "completed", "duration_minutes": 1000000000000000000000000000000}"#,
        ))
        .await;
    assert_field(
        &resp,
        422,
        "duration_minutes",
        "expected a whole number from -2147483648 to 2147483647",
    );
    assert!(!resp.text.contains("floating point"), "{}", resp.text);

    // A patient's consent is one of its words, not a boolean.
    let resp = app
        .post(
            "/api/v1/patients",
            Some(&admin),
            json!({"practice_id": "01a20000-0000-7000-8000-000000000000", "external_id": "x",
                "family_name": "Morel", "given_names": "Inès", "birth_date": "1988-08-08",
                "sex": "F", "consent": true}),
        )
        .await;
    assert_field(&resp, 422, "consent", "expected one of");
    assert_field(&resp, 422, "consent", "found a boolean");
    // Nested paths are named.
    let resp = app
        .post(
            "/api/v1/cases",
            Some(&admin),
            json!({"patient_id": "01a20000-0000-7000-8000-000000000000", "program": "sesame",
                "indications": ["anxiety"], "screening": {"gad7": [1, 1, 1, "x", 1, 1, 1]}}),
        )
        .await;
    assert_field(&resp, 422, "screening.gad7[3]", "found \"x\"");

    // Not JSON at all: 400, with where it broke, and never a field error.
    let resp = app
        .send(raw_post(
            "/api/v1/practices",
            &admin,
            r#"{"name": "x", "region": "y",}"#,
        ))
        .await;
    resp.assert_problem(400);
    let detail = resp.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("the body is not valid JSON") && detail.contains("line 1 column"),
        "{detail}"
    );
    assert!(resp.body.get("errors").is_none(), "{}", resp.text);
    let resp = app
        .send(raw_post("/api/v1/practices", &admin, r#"{"a":1,}"#))
        .await;
    resp.assert_problem(400);
    assert!(!resp.text.contains("unknown field"), "{}", resp.text);
    // A key twice in one object is refused, not silently the last one.
    let resp = app
        .send(raw_post(
            "/api/v1/practices",
            &admin,
            r#"{"name": "x", "region": "y", "name": "z"}"#,
        ))
        .await;
    resp.assert_problem(400);
    assert!(resp.text.contains("appears twice"), "{}", resp.text);
    // Nothing was written by any of these.
    let list = app.get("/api/v1/practices", &admin).await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_web::test]
async fn query_parameters_are_named_and_unknown_ones_refused() {
    let app = TestApp::new().await;
    let admin = app.admin().await.token;
    let resp = app.get("/api/v1/practices?limit=-1", &admin).await;
    assert_field(&resp, 400, "limit", "expected a whole number from 1 to 200");
    assert!(!resp.text.contains("invalid digit"), "{}", resp.text);
    assert_eq!(resp.body["type"], "urn:sesame:problem:bad-query");
    let resp = app.get("/api/v1/practices?limit=201", &admin).await;
    assert_field(&resp, 400, "limit", "found 201");
    let resp = app.get("/api/v1/users?role=surgeon", &admin).await;
    assert_field(&resp, 400, "role", "expected one of \"admin\"");
    let resp = app
        .get("/api/v1/audit?from=2026-01-05T09:00:00", &admin)
        .await;
    assert_field(&resp, 400, "from", "expected an RFC 3339 date-time");
    let resp = app.get("/api/v1/practices?active=yes", &admin).await;
    assert_field(&resp, 400, "active", "expected true or false");
    // Unknown parameters: 400, each named, on operations with parameters and without.
    let resp = app
        .get("/api/v1/practices?colour=red&limit=3", &admin)
        .await;
    assert_field(&resp, 400, "colour", "unknown query parameter");
    assert_eq!(resp.field_errors(), vec!["colour"]);
    let resp = app.get("/api/v1/me?verbose=1", &admin).await;
    assert_field(&resp, 400, "verbose", "takes none");
    let resp = app.get("/api/v1/practices?limit=3&limit=4", &admin).await;
    assert_field(&resp, 400, "limit", "more than once");
    // Known ones still work, and paths outside the contract keep their own answers.
    app.get("/api/v1/practices?limit=3&active=true", &admin)
        .await
        .assert_status(200);
    app.get("/api/v1/nothing?x=1", &admin)
        .await
        .assert_problem(404);
    app.send(TestRequest::get().uri("/healthz?x=1"))
        .await
        .assert_status(200);
}

#[actix_web::test]
async fn an_audit_window_that_ends_before_it_starts_is_refused_like_a_report_period() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let resp = app
        .get(
            "/api/v1/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            &admin,
        )
        .await;
    assert_field(&resp, 422, "to", "must not be before from");
    app.get(
        "/api/v1/audit?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        &admin,
    )
    .await
    .assert_status(200);
    let resp = app
        .get(
            "/api/v1/reports/program?from=2026-02-01&to=2026-01-01",
            &admin,
        )
        .await;
    assert_field(&resp, 422, "to", "must be on or after from");
}
