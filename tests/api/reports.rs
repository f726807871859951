//! Program indicators and the research export over a fixture population built through the API,
//! whose every figure was counted by hand (the comments say how).
//!
//! Practice A (network "Réseau Est"): P1–P6 referred 2026-11-23; P6 closed the next day (not
//! followed in the period); P7 referred 2026-12-03 and never assessed. P1–P5 assessed 2026-12-03
//! (10 days after referral) with PHQ-9 20 and GAD-7 14. P1–P3: completed contacts at weeks 2, 4,
//! 6, 8 and 12, PHQ-9 at week 12 of 8, 4 and 15; P1 also GAD-7 6 at week 12 and a contact on
//! 2027-03-15. P4: contacts at weeks 2 and 6 (PHQ-9 10 at week 6, outside the week-12 window).
//! P5: one unanswered call, closed lost to follow-up on 2027-02-26. Tele-expertise: one request
//! answered in 48 h, one declined. Practice B (no network): Q1, microstructure (addiction,
//! alcohol), referred 2026-12-03, assessed 3 days later.
//!
//! The period: 2026-12-01 to 2027-03-31.

use actix_web::test::TestRequest;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sesame::domain::pathway::{ExitReason, Phase};
use sha2::Sha256;

use crate::common::{Account, Bearer, Case, Patient, Practice, TestApp, bearer, gad7, phq9};

const PERIOD: &str = "from=2026-12-01&to=2027-03-31";
const KEY: &str = "a research key of at least 32 characters";

/// The population above, and the people the tests read it as.
struct Population {
    app: TestApp,
    admin: Account,
    practice_a: Practice,
    practice_b: Practice,
    /// P1–P7 (index 0–6), then Q1.
    cases: Vec<Case>,
    patients: Vec<Patient>,
    gp_a: Account,
    nurse_a: Account,
    psy_a: Account,
    coordinator_a: Account,
}

async fn population() -> Population {
    let app = TestApp::new().await;
    let practice_a = app.practice_named("Cabinet A").await;
    let practice_b = app.practice_named("Cabinet B").without_network().await;
    let mut gp_a = app.gp_of(&practice_a).await;
    let mut nurse_a = app.nurse_of(&practice_a).await;
    let mut psy_a = app.psychiatrist_of(&practice_a).await;
    let mut gp_b = app.gp_of(&practice_b).await;
    let coordinator_a = app.coordinator_of(&practice_a).await;

    // Day 0, 2026-11-23: the patients, and P1–P6 referred.
    let people = [
        ("P1", "1980-01-01", "F"),
        ("P2", "1990-01-01", "F"),
        ("P3", "1975-06-01", "F"),
        ("P4", "2000-01-01", "F"),
        ("P5", "1960-01-01", "M"),
        ("P6", "1950-01-01", "M"),
        ("P7", "1956-01-01", "F"),
        ("Q1", "1985-01-01", "M"),
    ];
    let mut patients = Vec::new();
    for (k, (external, birth, sex)) in people.iter().enumerate() {
        let gp = if k == 7 { &gp_b } else { &gp_a };
        let patient = app
            .patient_of(gp)
            .external_id(external)
            .named("Durand", "Camille")
            .born(birth)
            .sex(sex);
        patients.push(patient.await);
    }
    let refer = |gp: &Account, patient: &Patient, body: Value| {
        app.case_in(Phase::Referred)
            .of(patient)
            .referred_by(gp)
            .referral(body)
    };
    let depression = json!({"program": "sesame", "indications": ["depression"],
                            "screening": {"phq2": [2, 2], "phq9": phq9(12)}});
    let mut cases = Vec::new();
    for (k, patient) in patients.iter().take(6).enumerate() {
        let mut body = depression.clone();
        if k == 0 {
            body["indications"] = json!(["depression", "anxiety"]);
        }
        cases.push(refer(&gp_a, patient, body).await);
    }

    // Day 1: P6 is not eligible.
    app.clock.advance(Duration::days(1));
    app.renew(&mut nurse_a).await;
    app.close(&cases[5], &nurse_a, ExitReason::NotEligible)
        .await;

    // Day 10, 2026-12-03: P7 and Q1 referred; P1–P5 assessed; two questions to the psychiatrist.
    app.clock.advance(Duration::days(9));
    for who in [&mut gp_a, &mut gp_b, &mut nurse_a, &mut psy_a] {
        app.renew(who).await;
    }
    cases.push(refer(&gp_a, &patients[6], depression.clone()).await);
    cases.push(
        refer(
            &gp_b,
            &patients[7],
            json!({"program": "microstructure_addiction", "indications": ["addiction"],
                   "substances": ["alcohol"], "screening": {"phq2": [1, 1]}}),
        )
        .await,
    );
    for case in &cases[..5] {
        app.assess_with(
            case,
            &nurse_a,
            json!({"phq9": phq9(20), "gad7": gad7(14), "care_plan": "Suivi."}),
        )
        .await;
    }
    let mut requests = Vec::new();
    for case in &cases[..2] {
        requests.push(app.tele_expertise(case, &nurse_a, &psy_a).await);
    }
    app.post(
        &format!("/api/v1/tele-expertise/{}/accept", requests[0]),
        Some(&psy_a),
        json!({}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/api/v1/tele-expertise/{}/decline", requests[1]),
        Some(&psy_a),
        json!({"reason": "Hors champ."}),
    )
    .await
    .assert_status(200);

    // Day 12: the answer, 48 hours after the question.
    app.clock.advance(Duration::days(2));
    app.renew(&mut psy_a).await;
    app.post(
        &format!("/api/v1/tele-expertise/{}/answer", requests[0]),
        Some(&psy_a),
        json!({"answer": "Poursuivre."}),
    )
    .await
    .assert_status(200);

    // Day 13: Q1 included by the GP of the microstructure, 3 days after referral.
    app.clock.advance(Duration::days(1));
    app.renew(&mut gp_b).await;
    app.assess_with(
        &cases[7],
        &gp_b,
        json!({"phq9": phq9(10), "gad7": gad7(8), "care_plan": "Suivi.",
               "substance_use": [{"substance": "alcohol", "days": 20}]}),
    )
    .await;

    // 2027-02-26: the first 12 weeks logged after the fact, then P5 closed.
    app.clock.advance(Duration::days(82));
    app.renew(&mut nurse_a).await;
    let assessed = chrono::DateTime::parse_from_rfc3339("2026-12-03T08:00:00Z").unwrap();
    let contact = |case: &Case, weeks: i64, outcome: &str, scores: Value| {
        let mut body = json!({"occurred_at": (assessed + Duration::weeks(weeks)).to_rfc3339(),
                              "mode": "phone", "outcome": outcome});
        if let Value::Object(extra) = scores {
            body.as_object_mut().unwrap().extend(extra);
        }
        let (app, url, nurse) = (
            &app,
            format!("{}/contacts", case.url()),
            nurse_a.token.clone(),
        );
        async move {
            app.post(&url, Some(&nurse), body).await.assert_status(201);
        }
    };
    for (case, week12) in cases[..3].iter().zip([8u8, 4, 15]) {
        for week in [2, 4, 6, 8] {
            contact(case, week, "completed", json!({})).await;
        }
        let mut scores = json!({"phq9": phq9(week12)});
        if case.id == cases[0].id {
            scores["gad7"] = gad7(6);
        }
        contact(case, 12, "completed", scores).await;
    }
    contact(&cases[3], 2, "completed", json!({})).await;
    contact(&cases[3], 6, "completed", json!({"phq9": phq9(10)})).await;
    contact(&cases[4], 2, "no_answer", json!({})).await;
    app.close(&cases[4], &nurse_a, ExitReason::LostToFollowUp)
        .await;

    // 2027-03-15: P1 seen again, in the period's last 30 days.
    app.clock.advance(Duration::days(17));
    app.renew(&mut nurse_a).await;
    app.post(
        &format!("{}/contacts", cases[0].url()),
        Some(&nurse_a),
        json!({"occurred_at": "2027-03-15T08:00:00Z", "mode": "in_person", "outcome": "completed"}),
    )
    .await
    .assert_status(201);

    // The report is asked for on 2027-04-02.
    app.clock.advance(Duration::days(18));
    Population {
        admin: app.admin().await,
        practice_a,
        practice_b,
        cases,
        patients,
        gp_a,
        nurse_a,
        psy_a,
        coordinator_a,
        app,
    }
}

async fn get_with(
    app: &TestApp,
    path: &str,
    who: &impl Bearer,
    headers: &[(&str, &str)],
) -> crate::common::Resp {
    let mut req = TestRequest::get().uri(path).insert_header(bearer(who));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    app.send(req).await
}

fn tally(list: &Value) -> Vec<(String, Value, Value)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["group"].as_str().unwrap().to_owned(),
                t["count"].clone(),
                t["share"].clone(),
            )
        })
        .collect()
}

fn row(group: &str, count: Value, share: Value) -> (String, Value, Value) {
    (group.to_owned(), count, share)
}

#[actix_web::test]
async fn the_fixture_population_gives_the_hand_counted_figures() {
    let f = population().await;
    let app = &f.app;

    // One practice: exact counts.
    let r = app
        .get(
            &format!(
                "/api/v1/reports/program?{PERIOD}&practice_id={}",
                f.practice_a
            ),
            &f.admin,
        )
        .await;
    r.assert_status(200);
    let b = &r.body;
    assert_eq!(b["scope"]["practices"], 1);
    assert_eq!(b["scope"]["small_cells_suppressed"], false);
    let p = &b["population"];
    // P1–P5 and P7 (P6 closed before the period).
    assert_eq!(p["patients_followed"], 6);
    assert_eq!(p["new_referrals"], 1);
    assert_eq!(
        tally(&p["sex"]),
        vec![
            row("F", json!(5), json!(0.8333)),
            row("M", json!(1), json!(0.1667))
        ]
    );
    // Ages at referral 46, 36, 51, 26, 66 and 70.
    assert_eq!(p["mean_age"], 49.2);
    assert_eq!(p["median_age"], 48.5);
    assert_eq!(
        tally(&p["age_bands"]),
        vec![
            row("45-59", json!(2), json!(0.3333)),
            row("60-74", json!(2), json!(0.3333)),
            row("18-29", json!(1), json!(0.1667)),
            row("30-44", json!(1), json!(0.1667)),
        ]
    );
    assert_eq!(
        tally(&p["indications"]),
        vec![
            row("depression", json!(6), json!(1.0)),
            row("anxiety", json!(1), json!(0.1667))
        ]
    );
    assert_eq!(p["substances"], json!([]));

    let s = &b["structure"];
    assert_eq!(s["practices"], 1);
    assert_eq!(
        tally(&s["practices_by_region"]),
        vec![row("Grand Est", json!(1), json!(1.0))]
    );
    assert_eq!(
        tally(&s["practices_by_network"]),
        vec![row("Réseau Est", json!(1), json!(1.0))]
    );
    // P7's GP, the nurse and the psychiatrist acted on A's cases in the period.
    assert_eq!(
        tally(&s["professionals_by_role"]),
        vec![
            row("gp", json!(1), json!(0.3333)),
            row("nurse", json!(1), json!(0.3333)),
            row("psychiatrist", json!(1), json!(0.3333)),
        ]
    );

    let q = &b["process"];
    assert_eq!(q["assessed"], 5);
    assert_eq!(q["median_days_to_assessment"], 10.0);
    // 5 + 5 + 5 + 2 completed contacts in the first 12 weeks, and P1's in March.
    assert_eq!(q["completed_contacts"], 18);
    // Open days: P1–P4 121 each, P5 88 (to 2027-02-26), P7 119 (from 2026-12-03): 691 days.
    assert_eq!(q["patient_months"], 22.7);
    assert_eq!(q["contacts_per_patient_month"], 0.79);
    assert_eq!(q["active_at_end"], 4);
    assert_eq!(q["contacted_in_last_30_days"], 1);
    assert_eq!(q["share_contacted_in_last_30_days"], 0.25);
    assert_eq!(q["twelve_week_cohort"], 5);
    assert_eq!(q["four_contacts_in_twelve_weeks"], 3);
    assert_eq!(q["share_four_contacts_in_twelve_weeks"], 0.6);
    assert_eq!(q["nurses_with_caseload"], 1);
    assert_eq!(q["mean_caseload_per_nurse"], 4.0);
    assert_eq!(q["median_caseload_per_nurse"], 4.0);
    assert_eq!(q["unsuccessful_attempts"], 1);

    let outcomes = b["outcomes"].as_array().unwrap();
    let phq12 = &outcomes[0];
    assert_eq!(
        (phq12["instrument"].as_str(), phq12["week"].as_i64()),
        (Some("phq9"), Some(12))
    );
    // Baseline 20: 8 and 4 respond, 15 does not; only 4 remits. P4 and P5 have no score near
    // week 12, and are outside the denominator.
    assert_eq!(phq12["with_baseline"], 5);
    assert_eq!(phq12["measured"], 3);
    assert_eq!(phq12["responded"], 2);
    assert_eq!(phq12["remitted"], 1);
    assert_eq!(phq12["response_share"], 0.6667);
    assert_eq!(phq12["remission_share"], 0.3333);
    // Week 24 (2027-05-20) is after the period.
    assert_eq!(outcomes[1]["week"], 24);
    assert_eq!(outcomes[1]["with_baseline"], 0);
    assert_eq!(outcomes[1]["response_share"], Value::Null);
    // GAD-7 14 → 6: a response, not a remission.
    assert_eq!(outcomes[2]["instrument"], "gad7");
    assert_eq!(outcomes[2]["with_baseline"], 5);
    assert_eq!(outcomes[2]["measured"], 1);
    assert_eq!(outcomes[2]["responded"], 1);
    assert_eq!(outcomes[2]["remitted"], 0);

    assert_eq!(
        tally(&b["exits"]),
        vec![row("lost_to_follow_up", json!(1), json!(1.0))]
    );
    let t = &b["tele_expertise"];
    assert_eq!(t["requests"], 2);
    assert_eq!(t["accepted"], 1);
    assert_eq!(t["declined"], 1);
    assert_eq!(t["cancelled"], 0);
    assert_eq!(t["answered"], 1);
    assert_eq!(t["median_hours_to_answer"], 48.0);
    assert_eq!(t["answered_within_due"], 1);
    assert_eq!(t["share_answered_within_due"], 1.0);

    // A period ending before P1's March contact: its latest contact by then is week 12's, which
    // with P2's and P3's is in the last 30 days (from 2027-02-09); P4's (week 6) is not.
    let earlier = app
        .get(
            &format!(
                "/api/v1/reports/program?from=2026-12-01&to=2027-03-10&practice_id={}",
                f.practice_a
            ),
            &f.admin,
        )
        .await;
    assert_eq!(earlier.body["process"]["active_at_end"], 4);
    assert_eq!(earlier.body["process"]["contacted_in_last_30_days"], 3);
    assert_eq!(
        earlier.body["process"]["share_contacted_in_last_30_days"],
        0.75
    );
    assert_eq!(earlier.body["process"]["completed_contacts"], 17);

    // Both practices: counts from 1 to 4 become "<5", and what derives from them is withheld.
    let all = app
        .get(&format!("/api/v1/reports/program?{PERIOD}"), &f.admin)
        .await;
    all.assert_status(200);
    let b = &all.body;
    assert_eq!(b["scope"]["practices"], 2);
    assert_eq!(b["scope"]["small_cells_suppressed"], true);
    assert_eq!(b["population"]["patients_followed"], 7);
    assert_eq!(b["population"]["new_referrals"], "<5");
    assert_eq!(
        tally(&b["population"]["sex"]),
        vec![
            row("F", json!(5), json!(0.7143)),
            row("M", json!("<5"), Value::Null)
        ]
    );
    // Q1 (41) joins: 336 / 7 years.
    assert_eq!(b["population"]["mean_age"], 48.0);
    assert_eq!(b["population"]["median_age"], 46.0);
    assert_eq!(
        tally(&b["population"]["substances"]),
        vec![row("alcohol", json!("<5"), Value::Null)]
    );
    assert_eq!(b["structure"]["practices"], "<5");
    assert_eq!(
        tally(&b["structure"]["practices_by_network"]),
        vec![
            row("Réseau Est", json!("<5"), Value::Null),
            row("none", json!("<5"), Value::Null)
        ]
    );
    // Six assessed (Q1 after 3 days): the median stays 10.
    assert_eq!(b["process"]["assessed"], 6);
    assert_eq!(b["process"]["median_days_to_assessment"], 10.0);
    assert_eq!(b["process"]["active_at_end"], 5);
    assert_eq!(b["process"]["share_contacted_in_last_30_days"], Value::Null);
    assert_eq!(b["outcomes"][0]["measured"], "<5");
    assert_eq!(b["outcomes"][0]["response_share"], Value::Null);
    assert_eq!(b["tele_expertise"]["median_hours_to_answer"], Value::Null);

    // The program filter: the microstructure alone is Q1.
    let micro = app
        .get(
            &format!("/api/v1/reports/program?{PERIOD}&program=microstructure_addiction"),
            &f.admin,
        )
        .await;
    assert_eq!(micro.body["population"]["patients_followed"], "<5");
    assert_eq!(micro.body["process"]["completed_contacts"], 0);

    // CSV: always suppressed, one figure per line.
    let csv = get_with(
        app,
        &format!(
            "/api/v1/reports/program?{PERIOD}&practice_id={}",
            f.practice_a
        ),
        &f.admin,
        &[("Accept", "text/csv")],
    )
    .await;
    csv.assert_status(200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], "section,measure,group,value");
    assert!(lines.contains(&"population,patients_followed,,6"));
    assert!(lines.contains(&"population,new_referrals,,<5"));
    assert!(lines.contains(&"population,sex,M,<5"));
    assert!(lines.contains(&"population,sex_share,M,"));
    assert!(lines.contains(&"process,completed_contacts,,18"));
    assert!(lines.contains(&"outcomes,measured,phq9_week_12,<5"));
    assert!(lines.contains(&"structure,practices_by_network,Réseau Est,<5"));
    assert!(
        lines.iter().skip(1).all(|l| l.split(',').count() == 4),
        "{}",
        csv.text
    );
}

#[actix_web::test]
async fn reports_are_for_admins_and_coordinators_of_their_practices() {
    let f = population().await;
    let app = &f.app;
    let coordinator = app.token(&f.coordinator_a.email).await;
    // The coordinator's "everything" is practice A: one practice, exact counts.
    let mine = app
        .get(&format!("/api/v1/reports/program?{PERIOD}"), &coordinator)
        .await;
    mine.assert_status(200);
    assert_eq!(mine.body["scope"]["practices"], 1);
    assert_eq!(mine.body["population"]["patients_followed"], 6);
    assert_eq!(mine.body["population"]["new_referrals"], 1);
    let network = app
        .get(
            &format!("/api/v1/reports/program?{PERIOD}&network=R%C3%A9seau%20Est"),
            &coordinator,
        )
        .await;
    assert_eq!(network.body["population"]["patients_followed"], 6);
    // Practice B is not theirs: as unknown as a made-up id.
    app.get(
        &format!(
            "/api/v1/reports/program?{PERIOD}&practice_id={}",
            f.practice_b
        ),
        &coordinator,
    )
    .await
    .assert_problem(404);
    // The care team reads cases, not program figures.
    for member in [&f.gp_a, &f.nurse_a, &f.psy_a] {
        let token = app.token(&member.email).await;
        app.get(&format!("/api/v1/reports/program?{PERIOD}"), &token)
            .await
            .assert_problem(403);
    }
    // Bad periods and scopes.
    let reversed = app
        .get(
            "/api/v1/reports/program?from=2027-01-01&to=2026-12-01",
            &f.admin,
        )
        .await;
    reversed.assert_problem(422);
    assert_eq!(reversed.field_errors(), vec!["to"]);
    let two = app
        .get(
            &format!(
                "/api/v1/reports/program?{PERIOD}&practice_id={}&region=Grand%20Est",
                f.practice_a
            ),
            &f.admin,
        )
        .await;
    two.assert_problem(422);
    app.get("/api/v1/reports/program?from=2026-12-01", &f.admin)
        .await
        .assert_problem(400);
    app.get(
        "/api/v1/reports/program?from=12/01/2026&to=2027-03-31",
        &f.admin,
    )
    .await
    .assert_problem(400);
}

fn hmac_hex(kind: &str, id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(format!("{kind}:{id}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[actix_web::test]
async fn the_research_export_is_pseudonymised_streamed_and_audited() {
    let f = population().await;
    let app = &f.app;
    let url = format!(
        "/api/v1/exports/research?{PERIOD}&practice_id={}",
        f.practice_a
    );
    let ndjson = get_with(app, &url, &f.admin, &[("Pseudonym-Key", KEY)]).await;
    ndjson.assert_status(200);
    assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
    let rows: Vec<Value> = ndjson
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // P1–P5 and P7: the cases of A open on a day of the period.
    assert_eq!(rows.len(), 6);
    let p1 = rows
        .iter()
        .find(|r| r["case"] == hmac_hex("case", &f.cases[0].id))
        .expect("P1's row, under its keyed hash");
    assert_eq!(p1["patient"], hmac_hex("patient", &f.patients[0].id));
    assert_eq!(p1["practice"], hmac_hex("practice", &f.practice_a.id));
    assert_eq!(p1["birth_year"], 1980);
    assert_eq!(p1["sex"], "F");
    assert_eq!(p1["indications"], "depression anxiety");
    assert_eq!(p1["referred_on"], "2026-11-23");
    assert_eq!(p1["assessed_on"], "2026-12-03");
    assert_eq!(p1["baseline_phq9"], 20);
    assert_eq!(p1["latest_phq9"], 8);
    assert_eq!(p1["completed_contacts"], 6);
    assert_eq!(p1["tele_expertise_requests"], 1);
    let p5 = rows
        .iter()
        .find(|r| r["case"] == hmac_hex("case", &f.cases[4].id))
        .unwrap();
    assert_eq!(p5["exit_reason"], "lost_to_follow_up");
    assert_eq!(p5["closed_on"], "2027-02-26");
    assert_eq!(p5["unsuccessful_contacts"], 1);
    // No identity, no internal id, no free text.
    for forbidden in [
        "Durand",
        "Camille",
        "1980-01-01",
        "P1",
        "Suivi",
        "Poursuivre",
        &f.cases[0].id,
        &f.patients[0].id,
    ] {
        assert!(
            !ndjson.text.contains(forbidden),
            "{forbidden} in the export"
        );
    }
    // Another key, other pseudonyms.
    let other = get_with(app, &url, &f.admin, &[("Pseudonym-Key", &"z".repeat(40))]).await;
    other.assert_status(200);
    assert_eq!(other.text.lines().count(), 6);
    assert!(!other.text.contains(&hmac_hex("patient", &f.patients[0].id)));

    // CSV with the same rows.
    let csv = get_with(
        app,
        &url,
        &f.admin,
        &[("Pseudonym-Key", KEY), ("Accept", "text/csv")],
    )
    .await;
    csv.assert_status(200);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(lines[0].starts_with("case,patient,practice,region,program,sex,birth_year,"));
    assert_eq!(lines.len(), 7);

    // Every exported case was audited, three exports of six.
    let audit = app
        .get(
            "/api/v1/audit?limit=200&from=2027-04-02T00:00:00Z",
            &f.admin,
        )
        .await;
    let exported = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "case.export")
        .count();
    assert_eq!(exported, 18);

    // A key is required, and must be long enough; the care team may not export.
    get_with(app, &url, &f.admin, &[]).await.assert_problem(400);
    let short = get_with(app, &url, &f.admin, &[("Pseudonym-Key", "short")]).await;
    short.assert_problem(422);
    assert_eq!(short.field_errors(), vec!["Pseudonym-Key"]);
    let nurse = app.token(&f.nurse_a.email).await;
    get_with(app, &url, &nurse, &[("Pseudonym-Key", KEY)])
        .await
        .assert_problem(403);
}
