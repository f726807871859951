//! Concurrent writes, sent at once on both backends: a stale `If-Match` loses (exactly one of two
//! PATCHes with the same version wins), and writers without `If-Match` take turns and all succeed.

use actix_web::test::TestRequest;
use futures_util::future::join_all;
use serde_json::{Value, json};
use sesame::domain::pathway::Phase;

use crate::common::{Bearer, Resp, Team, TestApp, bearer};

/// Sends `bodies` as PATCHes of `url`, all at once, each with `If-Match: "version"`.
async fn patches_at_once(
    app: &TestApp,
    url: &str,
    who: &impl Bearer,
    version: &str,
    bodies: Vec<Value>,
) -> Vec<Resp> {
    join_all(bodies.into_iter().map(|body| {
        app.send(
            TestRequest::patch()
                .uri(url)
                .insert_header(bearer(who))
                .insert_header(("If-Match", format!("\"{version}\"")))
                .set_json(body),
        )
    }))
    .await
}

/// Exactly one of the two answers is 200 and the other a 412 problem; the stored version moved
/// by one.
async fn one_wins(app: &TestApp, what: &str, url: &str, who: &impl Bearer, bodies: Vec<Value>) {
    let before = app.get(url, who).await;
    before.assert_status(200);
    let version = before.body["version"].as_i64().expect("a version");
    let answers = patches_at_once(app, url, who, &version.to_string(), bodies).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 412], "{what}: {statuses:?}");
    answers
        .iter()
        .find(|r| r.status.as_u16() == 412)
        .map(|r| r.assert_problem(412));
    let after = app.get(url, who).await;
    assert_eq!(after.body["version"], version + 1, "{what}");
}

#[actix_web::test]
async fn two_patches_with_the_same_if_match_one_wins() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let Team {
        practice,
        gp,
        nurse,
        psy,
    } = app.team().await;

    let patient = app.patient_of(&gp).await;
    one_wins(
        &app,
        "patient",
        &format!("/api/v1/patients/{patient}"),
        &gp,
        vec![
            json!({"phone": "0601020304"}),
            json!({"phone": "0605060708"}),
        ],
    )
    .await;

    let user = app.nurse_of(&practice).await;
    one_wins(
        &app,
        "user",
        &format!("/api/v1/users/{}", user.id),
        &admin,
        vec![json!({"name": "Claire A"}), json!({"name": "Claire B"})],
    )
    .await;

    one_wins(
        &app,
        "practice",
        &format!("/api/v1/practices/{practice}"),
        &admin,
        vec![json!({"name": "Cabinet A"}), json!({"name": "Cabinet B"})],
    )
    .await;

    let client = app.api_client_of(&practice).await;
    one_wins(
        &app,
        "API client",
        &format!("/api/v1/api-clients/{}", client.id),
        &admin,
        vec![json!({"name": "Logiciel A"}), json!({"name": "Logiciel B"})],
    )
    .await;

    let case = app
        .case_in(Phase::Referred)
        .of(&patient)
        .referred_by(&gp)
        .await;
    one_wins(
        &app,
        "case",
        &case.url(),
        &gp,
        vec![
            json!({"nurse_id": nurse.id}),
            json!({"psychiatrist_id": psy.id}),
        ],
    )
    .await;
}

#[actix_web::test]
async fn sixteen_contacts_at_once_without_if_match_all_succeed() {
    let app = TestApp::new().await;
    let Team { gp, mut nurse, .. } = app.team().await;
    let case = app.case_in(Phase::Referred).referred_by(&gp).await;
    let url = case.url();
    app.clock.advance(chrono::Duration::days(3));
    app.renew(&mut nurse).await;
    app.assess(&case, &nurse).await;
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
    let app = TestApp::new().await;
    let team = app.team().await;
    let case = app.case_in(Phase::Active).team(&team).await;
    // Two accepts at once: the second to take the row finds it accepted (409), where both used
    // to read "requested" and one got a 412 nobody asked for.
    let asked = app.tele_expertise(&case, &team.nurse, &team.psy).await;
    let accept = format!("/api/v1/tele-expertise/{asked}/accept");
    let psy = &team.psy.token;
    let answers = join_all((0..2).map(|_| app.post(&accept, Some(psy), json!({})))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409]);
    let read = app.get(&accept.replace("/accept", ""), psy).await;
    assert_eq!(read.body["version"], 2, "one move: {}", read.text);
}

#[actix_web::test]
async fn a_request_asked_while_its_case_closes_is_cancelled_or_refused() {
    let app = TestApp::new().await;
    let team = app.team().await;
    // Several rounds, so that the two writes meet in both orders: whichever takes the case row
    // first, no request is left pending on a closed case.
    for round in 0..6 {
        let case = app.case_in(Phase::Active).team(&team).await;
        let transitions = format!("{}/transitions", case.url());
        let close = app.post(
            &transitions,
            Some(&team.nurse),
            json!({"to": "closed", "exit_reason": "remission"}),
        );
        let ask = app.tele_expertise(&case, &team.nurse, &team.psy).send();
        let (closed, asked) = futures_util::future::join(close, ask).await;
        closed.assert_status(200);
        match asked.status.as_u16() {
            409 => {
                asked.assert_problem(409);
            }
            201 => {
                let id = asked.body["id"].as_str().expect("an id");
                let read = app
                    .get(&format!("/api/v1/tele-expertise/{id}"), &team.psy)
                    .await;
                assert_eq!(
                    read.body["status"], "cancelled",
                    "round {round}: a request on a closed case must not stay pending: {}",
                    read.text
                );
            }
            other => panic!("round {round}: unexpected {other}: {}", asked.text),
        }
    }
}
