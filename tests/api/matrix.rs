//! Who may do what, over HTTP: every role (and the practice software) × every clinical endpoint ×
//! an object of their own practice / of another practice. Refused roles get 403; an object of
//! another practice is 404 exactly like one that does not exist, and lists never show it.

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sesame::domain::account::Role;
use uuid::Uuid;

use crate::common::{Resp, TestApp, bearer};

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

/// The objects one practice holds for the walk.
struct Site {
    practice: String,
    gp: String,
    gp_token: String,
    nurse_token: String,
    psychiatrist: String,
    patient: String,
    /// An assessed, active case.
    case: String,
}

struct World {
    app: TestApp,
    own: Site,
    other: Site,
    tokens: Vec<(&'static str, String)>,
    serial: std::cell::Cell<u32>,
}

impl World {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let admin = app.admin().await;
        let own = Self::site(&app, &admin, "own").await;
        let other = Self::site(&app, &admin, "other").await;
        let mut tokens = vec![("admin", admin.clone())];
        for (name, role) in [
            ("coordinator", Role::Coordinator),
            ("psychologist", Role::Psychologist),
            ("social_worker", Role::SocialWorker),
        ] {
            let email = format!("{name}@own.example.fr");
            app.user(&email, role, &[&own.practice]).await;
            tokens.push((name, app.token(&email).await));
        }
        tokens.push(("gp", own.gp_token.clone()));
        tokens.push(("nurse", own.nurse_token.clone()));
        tokens.push((
            "psychiatrist",
            app.token("psychiatrist@own.example.fr").await,
        ));
        let client = app
            .post(
                "/api/v1/api-clients",
                Some(&admin),
                json!({"practice_id": own.practice, "name": "Logiciel métier"}),
            )
            .await;
        client.assert_status(201);
        let grant = json!({"grant_type": "client_credentials",
            "client_id": client.body["id"], "client_secret": client.body["client_secret"]});
        let token = app.post("/api/v1/auth/token", None, grant).await;
        token.assert_status(200);
        tokens.push((
            "api_client",
            token.body["access_token"].as_str().unwrap().to_owned(),
        ));
        // Columns of the matrix in the order of `ROLES`.
        tokens.sort_by_key(|(role, _)| ROLES.iter().position(|r| r == role));
        assert_eq!(
            tokens.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            ROLES.to_vec()
        );
        Self {
            app,
            own,
            other,
            tokens,
            serial: std::cell::Cell::new(0),
        }
    }

    async fn site(app: &TestApp, admin: &str, name: &str) -> Site {
        let practice = app.practice(admin, &format!("Cabinet {name}")).await;
        let gp = format!("gp@{name}.example.fr");
        let nurse = format!("nurse@{name}.example.fr");
        let gp_id = app.user(&gp, Role::Gp, &[&practice]).await;
        app.user(&nurse, Role::Nurse, &[&practice]).await;
        let psychiatrist = app
            .user(
                &format!("psychiatrist@{name}.example.fr"),
                Role::Psychiatrist,
                &[&practice],
            )
            .await;
        let mut site = Site {
            practice,
            gp: gp_id,
            gp_token: app.token(&gp).await,
            nurse_token: app.token(&nurse).await,
            psychiatrist,
            patient: String::new(),
            case: String::new(),
        };
        site.patient = Self::new_patient(app, &site, &format!("{name}-base")).await;
        site.case = Self::new_case(app, &site, &site.patient, true).await;
        site
    }

    async fn new_patient(app: &TestApp, site: &Site, external_id: &str) -> String {
        let resp = app
            .post(
                "/api/v1/patients",
                Some(&site.gp_token),
                json!({"external_id": external_id, "family_name": "Roux", "given_names": "Anne",
                       "birth_date": "1970-01-01", "sex": "F", "consent": "informed"}),
            )
            .await;
        resp.assert_status(201);
        resp.body["id"].as_str().unwrap().to_owned()
    }

    async fn new_case(app: &TestApp, site: &Site, patient: &str, assessed: bool) -> String {
        let resp = app
            .post(
                "/api/v1/cases",
                Some(&site.gp_token),
                json!({"patient_id": patient, "program": "sesame", "indications": ["anxiety"],
                       "screening": {"gad7": [2, 2, 2, 2, 1, 1, 1]}}),
            )
            .await;
        resp.assert_status(201);
        let case = resp.body["id"].as_str().unwrap().to_owned();
        if assessed {
            app.post(
                &format!("/api/v1/cases/{case}/assessment"),
                Some(&site.nurse_token),
                json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0], "gad7": [2, 2, 2, 2, 1, 1, 1], "care_plan": "Suivi."}),
            )
            .await
            .assert_status(200);
        }
        case
    }

    async fn new_request(app: &TestApp, site: &Site) -> String {
        let resp = app
            .post(
                &format!("/api/v1/cases/{}/tele-expertise", site.case),
                Some(&site.gp_token),
                json!({"expert_id": site.psychiatrist, "question": "Avis ?", "urgency": "routine",
                       "patient_consent": true}),
            )
            .await;
        resp.assert_status(201);
        resp.body["id"].as_str().unwrap().to_owned()
    }

    fn next(&self) -> u32 {
        self.serial.set(self.serial.get() + 1);
        self.serial.get()
    }

    /// Sends one endpoint's request as `token`, against objects of `site`; fresh objects are made
    /// for writes that change a case's phase, so that each attempt starts from the same state.
    async fn call(&self, endpoint: &str, token: &str, site: &Site) -> Resp {
        let app = &self.app;
        let n = self.next();
        let (method, path, body): (&str, String, Option<Value>) = match endpoint {
            "GET /patients" => (
                "GET",
                format!("/api/v1/patients?practice_id={}", site.practice),
                None,
            ),
            "POST /patients" => (
                "POST",
                "/api/v1/patients".into(),
                Some(
                    json!({"practice_id": site.practice, "external_id": format!("m-{n}"),
                    "family_name": "Roux", "given_names": "Paul", "birth_date": "1960-06-01",
                    "sex": "M", "consent": "informed"}),
                ),
            ),
            "GET /patients/{id}" => ("GET", format!("/api/v1/patients/{}", site.patient), None),
            "PATCH /patients/{id}" => (
                "PATCH",
                format!("/api/v1/patients/{}", site.patient),
                Some(json!({"phone": "01 23 45 67 89"})),
            ),
            "POST /cases" => {
                let patient = Self::new_patient(app, site, &format!("r-{n}")).await;
                (
                    "POST",
                    "/api/v1/cases".into(),
                    // In the name of the caller's practice's GP (a GP may name
                    // themself; practice software must name one).
                    Some(json!({"patient_id": patient, "program": "sesame",
                        "referring_gp_id": self.own.gp,
                        "indications": ["depression"], "screening": {"phq2": [2, 1]}})),
                )
            }
            "GET /cases" => (
                "GET",
                format!("/api/v1/cases?practice_id={}", site.practice),
                None,
            ),
            "GET /cases/{id}" => ("GET", format!("/api/v1/cases/{}", site.case), None),
            "PATCH /cases/{id} review" => (
                "PATCH",
                format!("/api/v1/cases/{}", site.case),
                Some(json!({"review_requested": true})),
            ),
            "PATCH /cases/{id} reassign" => (
                "PATCH",
                format!("/api/v1/cases/{}", site.case),
                Some(json!({"psychiatrist_id": site.psychiatrist})),
            ),
            "POST /cases/{id}/assessment" => {
                let patient = Self::new_patient(app, site, &format!("a-{n}")).await;
                let case = Self::new_case(app, site, &patient, false).await;
                (
                    "POST",
                    format!("/api/v1/cases/{case}/assessment"),
                    Some(json!({"phq9": [1, 1, 1, 1, 1, 1, 1, 1, 0],
                        "gad7": [1, 1, 1, 1, 1, 1, 1], "care_plan": "Suivi."})),
                )
            }
            "POST /cases/{id}/contacts" => (
                "POST",
                format!("/api/v1/cases/{}/contacts", site.case),
                Some(
                    json!({"occurred_at": "2026-11-23T08:00:00Z", "mode": "phone", "outcome": "no_answer"}),
                ),
            ),
            "GET /cases/{id}/contacts" => {
                ("GET", format!("/api/v1/cases/{}/contacts", site.case), None)
            }
            "POST /cases/{id}/transitions" => {
                let patient = Self::new_patient(app, site, &format!("t-{n}")).await;
                let case = Self::new_case(app, site, &patient, true).await;
                (
                    "POST",
                    format!("/api/v1/cases/{case}/transitions"),
                    Some(json!({"to": "relapse_prevention"})),
                )
            }
            "GET /cases/{id}/timeline" => {
                ("GET", format!("/api/v1/cases/{}/timeline", site.case), None)
            }
            "GET /worklist" => ("GET", "/api/v1/worklist".into(), None),
            "POST /cases/{id}/tele-expertise" => (
                "POST",
                format!("/api/v1/cases/{}/tele-expertise", site.case),
                Some(json!({"expert_id": site.psychiatrist, "question": "Avis ?",
                    "urgency": "urgent", "patient_consent": true})),
            ),
            "GET /tele-expertise" => ("GET", "/api/v1/tele-expertise".into(), None),
            "GET /tele-expertise/{id}" => {
                let request = Self::new_request(app, site).await;
                ("GET", format!("/api/v1/tele-expertise/{request}"), None)
            }
            "POST /tele-expertise/{id}/accept" => {
                let request = Self::new_request(app, site).await;
                (
                    "POST",
                    format!("/api/v1/tele-expertise/{request}/accept"),
                    Some(json!({})),
                )
            }
            "POST /tele-expertise/{id}/cancel" => {
                let request = Self::new_request(app, site).await;
                (
                    "POST",
                    format!("/api/v1/tele-expertise/{request}/cancel"),
                    Some(json!({})),
                )
            }
            "GET /audit" => (
                "GET",
                format!("/api/v1/audit?patient_id={}", site.patient),
                None,
            ),
            "GET /reports/program" => (
                "GET",
                format!(
                    "/api/v1/reports/program?from=2026-01-01&to=2026-12-31&practice_id={}",
                    site.practice
                ),
                None,
            ),
            "GET /exports/research" => (
                "GET",
                format!(
                    "/api/v1/exports/research?from=2026-01-01&to=2026-12-31&practice_id={}",
                    site.practice
                ),
                None,
            ),
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
        [403, 403, 403, 200, 200, 403, 403, 403],
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
    ("GET /worklist", [403, 403, 200, 200, 200, 403, 403, 403]),
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
];

#[actix_web::test]
async fn every_role_on_every_endpoint_in_their_practice_and_another() {
    let world = World::new().await;
    // What a case that does not exist looks like: the other practice's must look the same.
    let unknown_case = world
        .app
        .get(
            &format!("/api/v1/cases/{}", Uuid::new_v4()),
            &world.own.gp_token,
        )
        .await;
    unknown_case.assert_problem(404);
    assert_eq!(unknown_case.body["detail"], "case not found");
    let mut failures = Vec::new();
    for (endpoint, row) in MATRIX {
        for ((role, token), want) in world.tokens.iter().zip(row) {
            let own = world.call(endpoint, token, &world.own).await;
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
            let other = world.call(endpoint, token, &world.other).await;
            let got = other.status.as_u16();
            let expected = match (*want, *endpoint) {
                // Refused on the object itself (of the team, but not the requester): another
                // practice's object is not found before that question arises.
                (403, "POST /tele-expertise/{id}/cancel") if *role == "nurse" => 404,
                (403, _) => 403,
                // An admin's reports reach every practice.
                (_, "GET /reports/program" | "GET /exports/research") if *role == "admin" => 200,
                // Lists filtered on another practice answer, and show nothing.
                (_, "GET /patients" | "GET /cases") => 200,
                // A new patient cannot be put in a practice one does not work in.
                (_, "POST /patients") => 403,
                _ => 404,
            };
            if got != expected {
                failures.push(format!("{role} {endpoint} other: {got} {}", other.text));
            } else if expected == 200
                && (endpoint.starts_with("GET /reports") || endpoint.starts_with("GET /exports"))
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
