//! Concurrent writes, sent at once on both backends: a stale `If-Match` loses (exactly one of two
//! PATCHes with the same version wins), and writers without `If-Match` take turns and all succeed.

use actix_web::test::TestRequest;
use futures_util::future::join_all;
use serde_json::{Value, json};
use sesame::domain::account::Role;

use crate::cases::Clinic;
use crate::common::{Resp, bearer};

/// Sends `bodies` as PATCHes of `url`, all at once, each with `If-Match: "version"`.
async fn patches_at_once(
    c: &Clinic,
    url: &str,
    token: &str,
    version: &str,
    bodies: Vec<Value>,
) -> Vec<Resp> {
    join_all(bodies.into_iter().map(|body| {
        c.app.send(
            TestRequest::patch()
                .uri(url)
                .insert_header(bearer(token))
                .insert_header(("If-Match", format!("\"{version}\"")))
                .set_json(body),
        )
    }))
    .await
}

/// Exactly one of the two answers is 200 and the other a 412 problem; the stored version moved
/// by one.
async fn one_wins(c: &Clinic, what: &str, url: &str, token: &str, bodies: Vec<Value>) {
    let before = c.app.get(url, token).await;
    before.assert_status(200);
    let version = before.body["version"].as_i64().expect("a version");
    let answers = patches_at_once(c, url, token, &version.to_string(), bodies).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 412], "{what}: {statuses:?}");
    answers
        .iter()
        .find(|r| r.status.as_u16() == 412)
        .map(|r| r.assert_problem(412));
    let after = c.app.get(url, token).await;
    assert_eq!(after.body["version"], version + 1, "{what}");
}

#[actix_web::test]
async fn two_patches_with_the_same_if_match_one_wins() {
    let c = Clinic::new().await;
    let app = &c.app;
    let admin = app.token("admin@example.fr").await;
    let (gp, _, _) = c.tokens().await;

    let patient = c.patient(&gp, "DOS-1").await;
    one_wins(
        &c,
        "patient",
        &format!("/api/v1/patients/{patient}"),
        &gp,
        vec![
            json!({"phone": "0601020304"}),
            json!({"phone": "0605060708"}),
        ],
    )
    .await;

    let user = app
        .user("other@example.fr", Role::Nurse, &[&c.practice])
        .await;
    one_wins(
        &c,
        "user",
        &format!("/api/v1/users/{user}"),
        &admin,
        vec![json!({"name": "Claire A"}), json!({"name": "Claire B"})],
    )
    .await;

    one_wins(
        &c,
        "practice",
        &format!("/api/v1/practices/{}", c.practice),
        &admin,
        vec![json!({"name": "Cabinet A"}), json!({"name": "Cabinet B"})],
    )
    .await;

    let client = app
        .post(
            "/api/v1/api-clients",
            Some(&admin),
            json!({"practice_id": c.practice, "name": "Logiciel"}),
        )
        .await;
    client.assert_status(201);
    let client = client.body["id"].as_str().unwrap().to_owned();
    one_wins(
        &c,
        "API client",
        &format!("/api/v1/api-clients/{client}"),
        &admin,
        vec![json!({"name": "Logiciel A"}), json!({"name": "Logiciel B"})],
    )
    .await;

    let case = c.refer(&gp, &patient).await;
    case.assert_status(201);
    let case = case.body["id"].as_str().unwrap().to_owned();
    one_wins(
        &c,
        "case",
        &format!("/api/v1/cases/{case}"),
        &gp,
        vec![
            json!({"nurse_id": c.nurse_id}),
            json!({"psychiatrist_id": c.psychiatrist_id}),
        ],
    )
    .await;
}

#[actix_web::test]
async fn sixteen_contacts_at_once_without_if_match_all_succeed() {
    let c = Clinic::new().await;
    let app = &c.app;
    let (gp, _, _) = c.tokens().await;
    let patient = c.patient(&gp, "DOS-1").await;
    let case = c.refer(&gp, &patient).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/api/v1/cases/{case}");
    app.clock.advance(chrono::Duration::days(3));
    let nurse = app.token("nurse@example.fr").await;
    app.post(
        &format!("{url}/assessment"),
        Some(&nurse),
        json!({"phq9": [2, 2, 2, 2, 2, 2, 1, 1, 0], "gad7": [2, 2, 2, 2, 1, 1, 1], "care_plan": "Suivi."}),
    )
    .await
    .assert_status(200);
    let version = app.get(&url, &nurse).await.body["version"]
        .as_i64()
        .unwrap();

    let contacts_url = format!("{url}/contacts");
    let answers = join_all((0..16).map(|i| {
        app.post(
            &contacts_url,
            Some(&nurse),
            json!({"occurred_at": format!("2026-11-2{}T{:02}:00:00Z", 4 + i % 2, 8 + i % 8),
                   "mode": "phone", "outcome": "completed", "duration_minutes": 10}),
        )
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        vec![201; 16],
        "{:?}",
        answers.last().map(|r| &r.body)
    );

    let contacts = app.get(&format!("{url}/contacts?limit=50"), &nurse).await;
    contacts.assert_status(200);
    let stored = contacts.body["items"]
        .as_array()
        .or_else(|| contacts.body.as_array())
        .map(Vec::len);
    assert_eq!(stored, Some(16), "{}", contacts.body);
    assert_eq!(app.get(&url, &nurse).await.body["version"], version + 16);
}

#[actix_web::test]
async fn two_moves_of_one_tele_expertise_request_at_once_one_wins() {
    let c = Clinic::new().await;
    let app = &c.app;
    let (gp, nurse, psy) = c.tokens().await;
    let patient = c.patient(&gp, "DOS-1").await;
    let case = c.refer(&gp, &patient).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/cases/{case}/assessment"),
        Some(&nurse),
        json!({"phq9": [2, 2, 2, 2, 2, 2, 1, 1, 0], "gad7": [2, 2, 2, 2, 1, 1, 1], "care_plan": "Suivi."}),
    )
    .await
    .assert_status(200);
    // Two accepts at once: the second to take the row finds it accepted (409), where both used
    // to read "requested" and one got a 412 nobody asked for.
    let asked = app
        .post(
            &format!("/api/v1/cases/{case}/tele-expertise"),
            Some(&nurse),
            json!({"expert_id": c.psychiatrist_id, "question": "Et le sommeil ?",
                   "urgency": "routine", "patient_consent": true}),
        )
        .await;
    asked.assert_status(201);
    let accept = format!(
        "/api/v1/tele-expertise/{}/accept",
        asked.body["id"].as_str().unwrap()
    );
    let answers = join_all((0..2).map(|_| app.post(&accept, Some(&psy), json!({})))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409]);
    let read = app.get(&accept.replace("/accept", ""), &psy).await;
    assert_eq!(read.body["version"], 2, "one move: {}", read.text);
}
