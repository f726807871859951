//! Who may do what, over HTTP: every role (and the practice software) × every clinical endpoint ×
//! an object of their own practice / of another practice. Refused roles get 403; an object of
//! another practice is 404 exactly like one that does not exist, and lists never show it.

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sesame::domain::account::Role;
use sesame::domain::pathway::{ExitReason, Phase};
use uuid::Uuid;

use crate::common::{Account, Case, Resp, Team, TestApp, bearer};

const ROLES: [&str; 8] = [
    "admin",
    "coordinator",
    "gp",
    "nurse",
    "psychiatrist",
    "psychologist",
    "social_worker",
    "api_client",
];

/// Sends one endpoint's request as `token`, against objects of `team`'s practice (`case`, an
/// assessed, active case of theirs); fresh objects are made for writes that change a case's phase,
/// so that each attempt starts from the same state. New referrals name `referrer` as their GP.
async fn call(
    app: &TestApp,
    endpoint: &str,
    token: &str,
    (team, case): (&Team, &Case),
    referrer: &Account,
) -> Resp {
    let n = app.serial();
    let (method, path, body): (&str, String, Option<Value>) = match endpoint {
        "GET /patients" => (
            "GET",
            format!("/api/v1/patients?practice_id={}", team.practice),
            None,
        ),
        "POST /patients" => (
            "POST",
            "/api/v1/patients".into(),
            Some(
                json!({"practice_id": team.practice, "external_id": format!("m-{n}"),
                "family_name": "Roux", "given_names": "Paul", "birth_date": "1960-06-01",
                "sex": "M", "consent": "informed"}),
            ),
        ),
        "GET /patients/{id}" => ("GET", format!("/api/v1/patients/{}", case.patient), None),
        "PATCH /patients/{id}" => (
            "PATCH",
            format!("/api/v1/patients/{}", case.patient),
            Some(json!({"phone": "01 23 45 67 89"})),
        ),
        "POST /cases" => {
            let patient = app.patient_of(&team.gp).await;
            (
                "POST",
                "/api/v1/cases".into(),
                // In the name of the caller's practice's GP (a GP may name
                // themself; practice software must name one).
                Some(json!({"patient_id": patient, "program": "sesame",
                    "referring_gp_id": referrer.id,
                    "indications": ["depression"], "screening": {"phq2": [2, 1], "phq9": [2, 2, 2, 2, 1, 1, 0, 0, 0]}})),
            )
        }
        "GET /cases" => (
            "GET",
            format!("/api/v1/cases?practice_id={}", team.practice),
            None,
        ),
        "GET /cases/{id}" => ("GET", format!("/api/v1/cases/{}", case), None),
        "PATCH /cases/{id} review" => (
            "PATCH",
            format!("/api/v1/cases/{}", case),
            Some(json!({"review_requested": true})),
        ),
        "PATCH /cases/{id} reassign" => (
            "PATCH",
            format!("/api/v1/cases/{}", case),
            Some(json!({"psychiatrist_id": team.psy.id})),
        ),
        "POST /cases/{id}/assessment" => {
            let case = app.case_in(Phase::Referred).team(team).await;
            (
                "POST",
                format!("/api/v1/cases/{case}/assessment"),
                Some(json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0],
                    "gad7": [1, 1, 1, 1, 1, 1, 1], "care_plan": "Suivi."})),
            )
        }
        "POST /cases/{id}/contacts" => (
            "POST",
            format!("/api/v1/cases/{}/contacts", case),
            Some(
                json!({"occurred_at": "2026-11-23T08:00:00Z", "mode": "phone", "outcome": "no_answer"}),
            ),
        ),
        "GET /cases/{id}/contacts" => ("GET", format!("/api/v1/cases/{}/contacts", case), None),
        "POST /cases/{id}/transitions" => {
            let case = app.case_in(Phase::Active).team(team).await;
            (
                "POST",
                format!("/api/v1/cases/{case}/transitions"),
                Some(json!({"to": "relapse_prevention"})),
            )
        }
        "GET /cases/{id}/timeline" => ("GET", format!("/api/v1/cases/{}/timeline", case), None),
        // The same writes on a case of the addiction microstructure, cared for by its team.
        "POST /cases/{id}/assessment microstructure" => {
            let case = app
                .case_in(Phase::Referred)
                .team(team)
                .microstructure()
                .await;
            (
                "POST",
                format!("/api/v1/cases/{case}/assessment"),
                Some(json!({"care_plan": "Suivi.",
                    "substance_use": [{"substance": "alcohol", "days": 12}]})),
            )
        }
        "POST /cases/{id}/contacts microstructure" => {
            let case = app.case_in(Phase::Active).team(team).microstructure().await;
            (
                "POST",
                format!("/api/v1/cases/{case}/contacts"),
                Some(
                    json!({"occurred_at": "2026-11-23T08:00:00Z", "mode": "in_person",
                    "outcome": "completed"}),
                ),
            )
        }
        "POST /cases/{id}/transitions microstructure" => {
            let case = app.case_in(Phase::Active).team(team).microstructure().await;
            (
                "POST",
                format!("/api/v1/cases/{case}/transitions"),
                Some(json!({"to": "relapse_prevention"})),
            )
        }
        // The patient experience survey: the exit survey of a microstructure case its team
        // included and closed, answered today; read on the matrix's (Sésame) case.
        "POST /cases/{id}/surveys" => {
            let case = app.case_in(Phase::Active).team(team).microstructure().await;
            app.close(&case, &team.gp, ExitReason::Remission).await;
            (
                "POST",
                format!("/api/v1/cases/{case}/surveys"),
                Some(json!({"context": "exit", "answered_on": "2026-11-23",
                    "quality_of_life_improved": "agree", "would_recommend": "strongly_agree"})),
            )
        }
        "GET /cases/{id}/surveys" => ("GET", format!("/api/v1/cases/{}/surveys", case), None),
        "GET /worklist" => ("GET", "/api/v1/worklist".into(), None),
        "POST /cases/{id}/tele-expertise" => (
            "POST",
            format!("/api/v1/cases/{}/tele-expertise", case),
            Some(json!({"expert_id": team.psy.id, "question": "Avis ?",
                "urgency": "urgent", "patient_consent": true})),
        ),
        "GET /tele-expertise" => ("GET", "/api/v1/tele-expertise".into(), None),
        "GET /tele-expertise/{id}" => {
            let request = app.tele_expertise(case, &team.gp, &team.psy).await;
            ("GET", format!("/api/v1/tele-expertise/{request}"), None)
        }
        "POST /tele-expertise/{id}/accept" => {
            let request = app.tele_expertise(case, &team.gp, &team.psy).await;
            (
                "POST",
                format!("/api/v1/tele-expertise/{request}/accept"),
                Some(json!({})),
            )
        }
        "POST /tele-expertise/{id}/cancel" => {
            let request = app.tele_expertise(case, &team.gp, &team.psy).await;
            (
                "POST",
                format!("/api/v1/tele-expertise/{request}/cancel"),
                Some(json!({})),
            )
        }
        "GET /audit" => (
            "GET",
            format!("/api/v1/audit?patient_id={}", case.patient),
            None,
        ),
        "GET /reports/program" => (
            "GET",
            format!(
                "/api/v1/reports/program?from=2026-01-01&to=2026-12-31&practice_id={}",
                team.practice
            ),
            None,
        ),
        "GET /exports/research" => (
            "GET",
            format!(
                "/api/v1/exports/research?from=2026-01-01&to=2026-12-31&practice_id={}",
                team.practice
            ),
            None,
        ),
        "POST /practices/{id}/meetings" => (
            "POST",
            format!("/api/v1/practices/{}/meetings", team.practice),
            Some(
                json!({"held_on": "2026-11-23", "participants": [team.gp.id],
                "decisions": [{"case_id": case.id, "note": "Poursuivre."}]}),
            ),
        ),
        "GET /practices/{id}/meetings" => (
            "GET",
            format!("/api/v1/practices/{}/meetings", team.practice),
            None,
        ),
        "GET /practices/{id}/meetings/agenda" => (
            "GET",
            format!("/api/v1/practices/{}/meetings/agenda", team.practice),
            None,
        ),
        "GET /meetings/{id}" => {
            let url = format!("/api/v1/practices/{}/meetings", team.practice);
            let body = json!({"held_on": "2026-11-23", "participants": [team.nurse.id],
                "decisions": [{"case_id": case.id, "note": "Poursuivre."}]});
            let made = app.post(&url, Some(&team.gp), body).await;
            made.assert_status(201);
            (
                "GET",
                format!(
                    "/api/v1/meetings/{}",
                    made.body["id"].as_str().unwrap_or_default()
                ),
                None,
            )
        }
        other => panic!("unknown endpoint {other}"),
    };
    let req = match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        _ => TestRequest::patch(),
    }
    .uri(&path)
    .insert_header(bearer(token))
    .insert_header((
        "Pseudonym-Key",
        "a key for the matrix, 32 characters or more",
    ));
    let req = match body {
        Some(body) => req.set_json(body),
        None => req,
    };
    app.send(req).await
}

/// The writes that only the carers of a case's program make.
fn care_write(endpoint: &str) -> bool {
    [
        "POST /cases/{id}/assessment",
        "POST /cases/{id}/contacts",
        "POST /cases/{id}/transitions",
        "POST /cases/{id}/surveys",
    ]
    .iter()
    .any(|e| endpoint.starts_with(e))
}

/// The roles that care for the cases of one program or the other.
fn cares(role: &str) -> bool {
    matches!(role, "gp" | "nurse" | "psychologist" | "social_worker")
}

/// Statuses for the roles in the order of `ROLES`, own practice. On another practice a role
/// allowed here gets 404 (or an empty list), as for an object that does not exist.
const MATRIX: &[(&str, [u16; 8])] = &[
    //                           adm  coo  gp   nur  psy  plg  soc  cli
    ("GET /patients", [403, 403, 200, 200, 200, 200, 200, 200]),
    ("POST /patients", [403, 403, 201, 403, 403, 403, 403, 201]),
    (
        "GET /patients/{id}",
        [403, 403, 200, 200, 200, 200, 200, 200],
    ),
    (
        "PATCH /patients/{id}",
        [403, 403, 200, 403, 403, 403, 403, 200],
    ),
    ("POST /cases", [403, 403, 201, 403, 403, 403, 403, 201]),
    ("GET /cases", [403, 403, 200, 200, 200, 200, 200, 200]),
    ("GET /cases/{id}", [403, 403, 200, 200, 200, 200, 200, 200]),
    (
        "PATCH /cases/{id} review",
        [403, 403, 403, 200, 200, 200, 200, 403],
    ),
    (
        "PATCH /cases/{id} reassign",
        [403, 403, 200, 200, 403, 403, 403, 403],
    ),
    (
        "POST /cases/{id}/assessment",
        [403, 403, 403, 200, 403, 403, 403, 403],
    ),
    (
        "POST /cases/{id}/contacts",
        [403, 403, 403, 201, 403, 403, 403, 403],
    ),
    (
        "GET /cases/{id}/contacts",
        [403, 403, 200, 200, 200, 200, 200, 200],
    ),
    (
        "POST /cases/{id}/transitions",
        [403, 403, 403, 200, 403, 403, 403, 403],
    ),
    (
        "GET /cases/{id}/timeline",
        [403, 403, 200, 200, 200, 200, 200, 200],
    ),
    // A microstructure case: its GP, psychologist and social worker care for it, not a nurse.
    (
        "POST /cases/{id}/assessment microstructure",
        [403, 403, 200, 403, 403, 200, 200, 403],
    ),
    (
        "POST /cases/{id}/contacts microstructure",
        [403, 403, 201, 403, 403, 201, 201, 403],
    ),
    (
        "POST /cases/{id}/transitions microstructure",
        [403, 403, 200, 403, 403, 200, 200, 403],
    ),
    // The patient experience survey: a microstructure case's team records it; whoever reads the
    // case reads it.
    (
        "POST /cases/{id}/surveys",
        [403, 403, 201, 403, 403, 201, 201, 403],
    ),
    (
        "GET /cases/{id}/surveys",
        [403, 403, 200, 200, 200, 200, 200, 200],
    ),
    ("GET /worklist", [403, 403, 200, 200, 200, 200, 200, 403]),
    ("GET /audit", [200, 403, 403, 403, 403, 403, 403, 403]),
    // The requests below are asked by the site's GP of the site's psychiatrist.
    (
        "POST /cases/{id}/tele-expertise",
        [403, 403, 201, 201, 403, 403, 403, 403],
    ),
    (
        "GET /tele-expertise",
        [403, 403, 200, 200, 200, 403, 403, 403],
    ),
    (
        "GET /tele-expertise/{id}",
        [403, 403, 200, 200, 200, 403, 403, 403],
    ),
    // The nurse is of the team but neither the expert nor the requester.
    (
        "POST /tele-expertise/{id}/accept",
        [403, 403, 403, 403, 200, 403, 403, 403],
    ),
    (
        "POST /tele-expertise/{id}/cancel",
        [403, 403, 200, 403, 403, 403, 403, 403],
    ),
    // Aggregates and pseudonymised rows: the program's coordination, not the care team.
    (
        "GET /reports/program",
        [200, 200, 403, 403, 403, 403, 403, 403],
    ),
    (
        "GET /exports/research",
        [200, 200, 403, 403, 403, 403, 403, 403],
    ),
    // The case review meeting: the care team holds it and reads its agenda; coordinators and
    // admins read that it took place (without what it decided), the software reads it all.
    (
        "POST /practices/{id}/meetings",
        [403, 403, 201, 201, 201, 201, 201, 403],
    ),
    (
        "GET /practices/{id}/meetings",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
    (
        "GET /practices/{id}/meetings/agenda",
        [403, 403, 200, 200, 200, 200, 200, 403],
    ),
    (
        "GET /meetings/{id}",
        [200, 200, 200, 200, 200, 200, 200, 200],
    ),
];

#[actix_web::test]
async fn every_role_on_every_endpoint_in_their_practice_and_another() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let own_team = app.team().await;
    let own_case = app.case_in(Phase::Active).team(&own_team).await;
    let other_team = app.team().await;
    let other_case = app.case_in(Phase::Active).team(&other_team).await;
    let mut tokens = vec![("admin", admin.token)];
    for role in [Role::Coordinator, Role::Psychologist, Role::SocialWorker] {
        let account = app.account(role, &[&own_team.practice]).await;
        tokens.push((role.as_str(), account.token));
    }
    tokens.push(("gp", own_team.gp.token.clone()));
    tokens.push(("nurse", own_team.nurse.token.clone()));
    tokens.push(("psychiatrist", own_team.psy.token.clone()));
    let client = app.api_client_of(&own_team.practice).await;
    tokens.push(("api_client", client.token));
    // Columns of the matrix in the order of `ROLES`.
    tokens.sort_by_key(|(role, _)| ROLES.iter().position(|r| r == role));
    assert_eq!(
        tokens.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
        ROLES.to_vec()
    );
    let own_site = (&own_team, &own_case);
    let other_site = (&other_team, &other_case);
    // What a case that does not exist looks like: the other practice's must look the same.
    let unknown_case = app
        .get(&format!("/api/v1/cases/{}", Uuid::new_v4()), &own_team.gp)
        .await;
    unknown_case.assert_problem(404);
    assert_eq!(unknown_case.body["detail"], "case not found");
    let mut failures = Vec::new();
    for (endpoint, row) in MATRIX {
        for ((role, token), want) in tokens.iter().zip(row) {
            let own = call(&app, endpoint, token, own_site, &own_team.gp).await;
            if own.status.as_u16() != *want {
                failures.push(format!(
                    "{role} {endpoint} own: {} {}",
                    own.status, own.text
                ));
            }
            if *want >= 400 {
                own.assert_problem(*want);
            }
            // The same request on the other practice's objects.
            if matches!(
                *endpoint,
                "GET /worklist" | "GET /audit" | "GET /tele-expertise"
            ) {
                continue;
            }
            let other = call(&app, endpoint, token, other_site, &own_team.gp).await;
            let got = other.status.as_u16();
            let expected = match (*want, *endpoint) {
                // Refused on the object itself (of the team, but not the requester): another
                // practice's object is not found before that question arises.
                (403, "POST /tele-expertise/{id}/cancel") if *role == "nurse" => 404,
                // Refused for the case's program, which a case not found has none of: the carers
                // of the other program find nothing.
                (403, e) if care_write(e) && cares(role) => 404,
                (403, _) => 403,
                // An admin's reports reach every practice, and so does their view of meetings.
                (_, "GET /reports/program" | "GET /exports/research") if *role == "admin" => 200,
                (_, "GET /practices/{id}/meetings" | "GET /meetings/{id}") if *role == "admin" => {
                    200
                }
                // Lists filtered on another practice answer, and show nothing.
                (_, "GET /patients" | "GET /cases") => 200,
                // A new patient cannot be put in a practice one does not work in.
                (_, "POST /patients") => 403,
                _ => 404,
            };
            if got != expected {
                failures.push(format!("{role} {endpoint} other: {got} {}", other.text));
            } else if expected == 200
                && (endpoint.starts_with("GET /reports")
                    || endpoint.starts_with("GET /exports")
                    || endpoint.contains("meetings"))
            {
                // The admin's view of the other practice; nothing to compare with an empty list.
            } else if expected == 200 {
                if other.body["items"] != json!([]) {
                    failures.push(format!("{role} {endpoint} other leaks: {}", other.text));
                }
            } else if expected == 404 {
                // Indistinguishable from an object that does not exist.
                other.assert_problem(404);
                let what = if endpoint.contains("/patients") || *endpoint == "POST /cases" {
                    "patient not found"
                } else if endpoint.starts_with("GET /reports")
                    || endpoint.starts_with("GET /exports")
                {
                    "practice not found"
                } else if endpoint.starts_with("GET /tele-expertise/")
                    || endpoint.starts_with("POST /tele-expertise/")
                {
                    "tele-expertise request not found"
                } else if endpoint.contains("/practices/") {
                    "practice not found"
                } else if endpoint.starts_with("GET /meetings/") {
                    "meeting not found"
                } else {
                    "case not found"
                };
                if other.body["detail"] != what {
                    failures.push(format!("{role} {endpoint} other: {}", other.text));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
