//! The tables the microstructures publish (seeds/002), rebuilt by `/reports/program` over a small
//! fixture made through the API, every figure counted by hand.
//!
//! Eleven practices: G1–G5 in Grand Est (network "Réseau Alsace") run both microstructure strands
//! (polyvalentes), O1–O5 in Occitanie ("Réseau Sud") the addiction strand only, S1 in
//! Île-de-France Sésame only. Roster: a GP, a psychologist and a social worker in each
//! microstructure, a psychiatrist in each of G1–G5, a GP and a nurse in S1 — and a psychologist of
//! O1 whose account was deactivated, who is not counted: GP 11, psychologist 10, social worker 10,
//! psychiatrist 5, nurse 1 (37).
//!
//! Patients, all referred on 2026-11-23. Addiction strand, 12: 7 men and 5 women aged 30, 35, 40,
//! 45, 50, 55, 60, 42, 48, 38, 52 and 45 (mean 45.0); alcohol 9, tobacco 7, opiates 5, cocaine
//! 2, synthetic drugs 1; precarity 6 (A1–A5 with an addiction, A12 alone). Mental-health strand,
//! 15: 10 women and 5 men aged 25, 35, 45, 55, 65, 40, 50, 30, 60, 45, 44, 46, 38, 52 and 45
//! (mean 45.0); anxiety 9, depression 6.
//!
//! In G1, A1–A6 are included with their days of use; on 2026-11-27 the psychologist sees each
//! (6 psychological consultations, measuring again: A1–A5 less, A6 as much), the social worker
//! sees A1–A5 (5 social ones), the GP A1 and A2 (2 medical ones). G1–G5 each hold a meeting.
//!
//! The period: 2026-11-01 to 2026-12-31. Then, on 2027-01-05, A1–A6 close and answer the exit
//! survey: January's report counts six respondents and each statement over those who answered it.

use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::account::Role;

use crate::common::{Account, Practice, TestApp, bearer};

const PERIOD: &str = "from=2026-11-01&to=2026-12-31";

struct Site {
    practice: Practice,
    gp: Account,
    psychologist: Option<Account>,
    social: Option<Account>,
}

async fn practice(
    app: &TestApp,
    name: &str,
    region: &str,
    network: Option<&str>,
    programs: &[&str],
) -> Practice {
    let periods: Vec<Value> = programs
        .iter()
        .map(|p| json!({"program": p, "starts_on": "2024-01-01", "funding": "permanent"}))
        .collect();
    let mut making = app.practice_named(name).with_programs(json!(periods));
    making = match network {
        Some(network) => making.in_network(network),
        None => making.without_network(),
    };
    making.in_region(region).await
}

/// Registers and refers a patient of `site` into `program`.
async fn refer(
    app: &TestApp,
    site: &Site,
    program: &str,
    born: &str,
    sex: &str,
    indications: Value,
    substances: Value,
) -> String {
    let patient = app.patient_of(&site.gp).born(born).sex(sex).await;
    let referred = app
        .post(
            "/api/v1/cases",
            Some(&site.gp),
            json!({"patient_id": patient, "program": program, "indications": indications,
                   "substances": substances, "screening": {"phq2": [1, 1]}}),
        )
        .await;
    referred.assert_status(201);
    referred.body["id"].as_str().unwrap_or_default().to_owned()
}

fn tally(list: &Value, group: &str) -> (Value, Value) {
    let found = list
        .as_array()
        .and_then(|l| l.iter().find(|t| t["group"] == group))
        .cloned()
        .unwrap_or(Value::Null);
    (found["count"].clone(), found["share"].clone())
}

fn groups(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(|t| t["group"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn the_microstructures_tables_from_a_hand_counted_fixture() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let both = ["microstructure_addiction", "microstructure_mental_health"];
    let mut sites: Vec<Site> = Vec::new();
    for k in 1..=10 {
        let (region, network, programs): (&str, &str, &[&str]) = if k <= 5 {
            ("Grand Est", "Réseau Alsace", &both)
        } else {
            ("Occitanie", "Réseau Sud", &["microstructure_addiction"])
        };
        let practice = practice(
            &app,
            &format!("Microstructure {k}"),
            region,
            Some(network),
            programs,
        )
        .await;
        let gp = app.gp_of(&practice).await;
        let psychologist = app.account(Role::Psychologist, &[&practice]).await;
        let social = app.account(Role::SocialWorker, &[&practice]).await;
        if k <= 5 {
            app.psychiatrist_of(&practice).await;
        }
        sites.push(Site {
            practice,
            gp,
            psychologist: Some(psychologist),
            social: Some(social),
        });
    }
    let sesame = practice(&app, "Cabinet Sésame", "Île-de-France", None, &["sesame"]).await;
    app.gp_of(&sesame).await;
    app.nurse_of(&sesame).await;
    // A psychologist who left O1: not on the roster.
    let gone = app.account(Role::Psychologist, &[&sites[5].practice]).await;
    app.patch(
        &format!("/api/v1/users/{}", gone.id),
        &admin,
        json!({"active": false}),
    )
    .await
    .assert_status(200);

    // The addiction strand: (age, sex, indications, substances); A1–A6 in G1, the others spread.
    let addiction: [(i32, &str, Value, Value); 12] = [
        (
            30,
            "M",
            json!(["addiction", "precarity"]),
            json!(["alcohol", "tobacco"]),
        ),
        (
            35,
            "M",
            json!(["addiction", "precarity"]),
            json!(["alcohol", "tobacco"]),
        ),
        (
            40,
            "F",
            json!(["addiction", "precarity"]),
            json!(["alcohol", "tobacco", "opiates"]),
        ),
        (
            45,
            "M",
            json!(["addiction", "precarity"]),
            json!(["alcohol", "opiates"]),
        ),
        (
            50,
            "F",
            json!(["addiction", "precarity"]),
            json!(["alcohol", "tobacco", "cocaine"]),
        ),
        (55, "M", json!(["addiction"]), json!(["alcohol", "opiates"])),
        (60, "F", json!(["addiction"]), json!(["alcohol", "tobacco"])),
        (
            42,
            "M",
            json!(["addiction"]),
            json!(["alcohol", "tobacco", "opiates"]),
        ),
        (
            48,
            "M",
            json!(["addiction"]),
            json!(["alcohol", "synthetic_drugs"]),
        ),
        (38, "F", json!(["addiction"]), json!(["tobacco", "opiates"])),
        (52, "M", json!(["addiction"]), json!(["cocaine"])),
        (45, "F", json!(["precarity"]), json!([])),
    ];
    let mut included = Vec::new();
    for (i, (age, sex, indications, substances)) in addiction.into_iter().enumerate() {
        let site = if i < 6 { &sites[0] } else { &sites[i - 3] };
        let born = format!("{}-01-01", 2026 - age);
        let case = refer(
            &app,
            site,
            "microstructure_addiction",
            &born,
            sex,
            indications,
            substances.clone(),
        )
        .await;
        if i < 6 {
            included.push((case, substances));
        }
    }
    let mental: [(i32, &str, &str); 15] = [
        (25, "F", "anxiety"),
        (35, "F", "anxiety"),
        (45, "F", "anxiety"),
        (55, "M", "anxiety"),
        (65, "F", "anxiety"),
        (40, "F", "anxiety"),
        (50, "M", "anxiety"),
        (30, "F", "anxiety"),
        (60, "F", "anxiety"),
        (45, "M", "depression"),
        (44, "F", "depression"),
        (46, "F", "depression"),
        (38, "M", "depression"),
        (52, "F", "depression"),
        (45, "M", "depression"),
    ];
    for (i, (age, sex, trouble)) in mental.into_iter().enumerate() {
        let born = format!("{}-01-01", 2026 - age);
        refer(
            &app,
            &sites[i % 5],
            "microstructure_mental_health",
            &born,
            sex,
            json!([trouble]),
            json!([]),
        )
        .await;
    }

    // G1's psychologist includes A1–A6: 10 days of use of each product.
    let g1 = &sites[0];
    let (Some(psychologist), Some(social)) = (g1.psychologist.clone(), g1.social.clone()) else {
        panic!("G1's team");
    };
    for (case, substances) in &included {
        let uses: Vec<Value> = substances
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| json!({"substance": s, "days": 10}))
            .collect();
        app.post(
            &format!("/api/v1/cases/{case}/assessment"),
            Some(&psychologist),
            json!({"care_plan": "Suivi hebdomadaire.", "substance_use": uses}),
        )
        .await
        .assert_status(200);
    }
    // Four days later, the consultations.
    app.clock.advance(Duration::days(4));
    let (mut psychologist, mut social, mut gp) = (psychologist, social, g1.gp.clone());
    const STATEMENTS: [&str; 6] = [
        "never_seen_social_worker",
        "never_seen_psychiatrist",
        "never_seen_psychologist",
        "quality_of_life_improved",
        "better_consumption",
        "would_recommend",
    ];
    for who in [&mut psychologist, &mut social, &mut gp] {
        app.renew(who).await;
    }
    for (k, (case, substances)) in included.iter().enumerate() {
        let days = if k < 5 { 4 } else { 10 };
        let uses: Vec<Value> = substances
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| json!({"substance": s, "days": days}))
            .collect();
        let mut visits = vec![(&psychologist, json!({"substance_use": uses}))];
        if k < 5 {
            visits.push((&social, json!({})));
        }
        if k < 2 {
            visits.push((&gp, json!({})));
        }
        for (who, extra) in visits {
            let mut body = json!({"occurred_at": "2026-11-27T07:00:00Z", "mode": "in_person",
                                  "outcome": "completed"});
            if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
                body.extend(extra.clone());
            }
            app.post(&format!("/api/v1/cases/{case}/contacts"), Some(who), body)
                .await
                .assert_status(201);
        }
    }
    for site in &sites[..5] {
        let mut gp = site.gp.clone();
        app.renew(&mut gp).await;
        app.post(
            &format!("/api/v1/practices/{}/meetings", site.practice),
            Some(&gp),
            json!({"held_on": "2026-11-27", "participants": [gp.id]}),
        )
        .await
        .assert_status(201);
    }

    let admin = app.admin().await;
    let report = app
        .get(&format!("/api/v1/reports/program?{PERIOD}"), &admin)
        .await;
    report.assert_status(200);
    let structure = &report.body["structure"];
    let tables = &report.body["tables"];

    // Practices by region and by program; the share of polyvalentes; networks.
    assert_eq!(structure["practices"], 11);
    assert_eq!(
        tally(&structure["practices_by_region"], "Grand Est"),
        (json!(5), json!(0.4545))
    );
    assert_eq!(
        tally(&structure["practices_by_region"], "Occitanie"),
        (json!(5), json!(0.4545))
    );
    assert_eq!(
        tally(&structure["practices_by_region"], "Île-de-France"),
        (json!("<5"), Value::Null)
    );
    assert_eq!(
        groups(&tables["practices_by_program"]),
        vec![
            "microstructure_addiction",
            "microstructure_mental_health",
            "sesame"
        ]
    );
    assert_eq!(
        tally(&tables["practices_by_program"], "microstructure_addiction"),
        (json!(10), json!(0.9091))
    );
    assert_eq!(
        tally(
            &tables["practices_by_program"],
            "microstructure_mental_health"
        )
        .0,
        5
    );
    assert_eq!(tables["microstructures"], 10);
    assert_eq!(tables["polyvalentes"], 5);
    assert_eq!(tables["share_polyvalentes"], 0.5);
    assert_eq!(
        tally(&tables["microstructures_by_region"], "Grand Est"),
        (json!(5), json!(0.5))
    );
    assert_eq!(
        tally(&tables["microstructures_by_region"], "Occitanie"),
        (json!(5), json!(0.5))
    );
    assert_eq!(tables["microstructure_networks"], "<5");

    // Professionals by role, from the roster.
    let roster = &tables["roster_by_role"];
    assert_eq!(
        groups(roster),
        vec![
            "gp",
            "psychologist",
            "social_worker",
            "psychiatrist",
            "nurse"
        ]
    );
    assert_eq!(tally(roster, "gp"), (json!(11), json!(0.2973)));
    assert_eq!(tally(roster, "psychologist"), (json!(10), json!(0.2703)));
    assert_eq!(tally(roster, "social_worker"), (json!(10), json!(0.2703)));
    assert_eq!(tally(roster, "psychiatrist"), (json!(5), json!(0.1351)));
    assert_eq!(tally(roster, "nurse"), (json!("<5"), Value::Null));

    // Patients followed by strand: sex, mean age, products and troubles ranked.
    let strand = |program: &str| {
        tables["by_program"]
            .as_array()
            .and_then(|l| l.iter().find(|p| p["program"] == program))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let addiction = strand("microstructure_addiction");
    assert_eq!(addiction["patients_followed"], 12);
    assert_eq!(tally(&addiction["sex"], "M"), (json!(7), json!(0.5833)));
    assert_eq!(tally(&addiction["sex"], "F"), (json!(5), json!(0.4167)));
    assert_eq!(addiction["mean_age"], 45.0);
    assert_eq!(
        groups(&addiction["products"]),
        vec![
            "alcohol",
            "tobacco",
            "opiates",
            "cocaine",
            "synthetic_drugs"
        ]
    );
    assert_eq!(
        tally(&addiction["products"], "alcohol"),
        (json!(9), json!(0.75))
    );
    assert_eq!(
        tally(&addiction["products"], "tobacco"),
        (json!(7), json!(0.5833))
    );
    assert_eq!(
        tally(&addiction["products"], "opiates"),
        (json!(5), json!(0.4167))
    );
    assert_eq!(
        tally(&addiction["products"], "cocaine"),
        (json!("<5"), Value::Null)
    );
    assert_eq!(
        tally(&addiction["troubles"], "precarity"),
        (json!(6), json!(0.5))
    );
    let mental = strand("microstructure_mental_health");
    assert_eq!(mental["patients_followed"], 15);
    assert_eq!(tally(&mental["sex"], "F"), (json!(10), json!(0.6667)));
    assert_eq!(tally(&mental["sex"], "M"), (json!(5), json!(0.3333)));
    assert_eq!(mental["mean_age"], 45.0);
    assert_eq!(groups(&mental["troubles"]), vec!["anxiety", "depression"]);
    assert_eq!(
        tally(&mental["troubles"], "anxiety"),
        (json!(9), json!(0.6))
    );
    assert_eq!(
        tally(&mental["troubles"], "depression"),
        (json!(6), json!(0.4))
    );
    assert_eq!(mental["products"], json!([]));
    assert_eq!(strand("sesame")["patients_followed"], 0);

    // Consultations: 27 cases open 39 days each in the period (23 November to 31 December) are
    // 1,053 days, 34.59 patient-months; 6 psychological (0.17 a patient-month), 5 social (0.14),
    // 2 medical (withheld).
    assert_eq!(tables["microstructure_patient_months"], 34.59);
    let kinds = &tables["consultations_by_kind"];
    assert_eq!(
        kinds[0],
        json!({"kind": "psychological", "count": 6, "per_patient_month": 0.17})
    );
    assert_eq!(
        kinds[1],
        json!({"kind": "social", "count": 5, "per_patient_month": 0.14})
    );
    assert_eq!(
        kinds[2],
        json!({"kind": "medical", "count": "<5", "per_patient_month": null})
    );
    // Meetings: 5 over 11 practices × 61 days / 30.44 = 22.04 practice-months.
    assert_eq!(tables["meetings"], 5);
    assert_eq!(tables["practice_months"], 22.04);
    assert_eq!(tables["meetings_per_practice_month"], 0.23);
    // Better management of consumption: A1–A5 of the six measured twice.
    assert_eq!(
        tables["consumption"],
        json!({"measured": 6, "improved": 5, "share_improved": 0.8333})
    );

    // The same tables in the CSV, long form.
    let req = TestRequest::get()
        .uri(&format!("/api/v1/reports/program?{PERIOD}"))
        .insert_header(bearer(&admin))
        .insert_header(("Accept", "text/csv"));
    let csv = app.send(req).await;
    csv.assert_status(200);
    for line in [
        "tables,polyvalentes,,5",
        "tables,share_polyvalentes,,0.5",
        "tables,roster_by_role,gp,11",
        "tables,patients_followed,microstructure_addiction,12",
        "tables,product,microstructure_addiction:alcohol,9",
        "tables,sex_share,microstructure_mental_health:F,0.6667",
        "tables,consultations,medical,<5",
        "tables,meetings_per_practice_month,,0.23",
    ] {
        assert!(
            csv.text.lines().any(|l| l == line),
            "{line} not in\n{}",
            csv.text
        );
    }

    // 5 January 2027: A1–A6 close, and each answers the exit survey. In January's report, six
    // respondents; each statement over those who answered it.
    app.clock.advance(Duration::days(39));
    app.renew(&mut psychologist).await;
    let (a, sa, d, sd) = ("agree", "strongly_agree", "disagree", "strongly_disagree");
    let answers: [[Option<&str>; 6]; 6] = [
        [Some(sa), Some(a), Some(a), Some(a), Some(a), Some(sa)],
        [Some(a), Some(a), Some(a), Some(sa), Some(a), Some(a)],
        [Some(a), Some(d), Some(a), Some(a), Some(d), Some(a)],
        [Some(a), Some(a), Some(a), Some(a), Some(a), Some(a)],
        [Some(a), Some(a), Some(a), Some(d), Some(a), Some(a)],
        [Some(d), Some(a), None, Some(a), None, Some(sd)],
    ];
    for ((case, _), answered) in included.iter().zip(answers) {
        app.post(
            &format!("/api/v1/cases/{case}/transitions"),
            Some(&psychologist),
            json!({"to": "closed", "exit_reason": "remission"}),
        )
        .await
        .assert_status(200);
        let mut survey = json!({"context": "exit", "answered_on": "2027-01-05"});
        for (statement, answer) in STATEMENTS.iter().zip(answered) {
            survey[*statement] = json!(answer);
        }
        app.post(
            &format!("/api/v1/cases/{case}/surveys"),
            Some(&psychologist),
            survey,
        )
        .await
        .assert_status(201);
    }
    let admin = app.admin().await;
    let january = app
        .get(
            "/api/v1/reports/program?from=2027-01-01&to=2027-01-31",
            &admin,
        )
        .await;
    january.assert_status(200);
    let survey = &january.body["tables"]["survey"];
    assert_eq!(survey["respondents"], 6);
    let statement = |name: &str| {
        survey["statements"]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["statement"] == name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (name, answered, agreed, share) in [
        (
            "never_seen_social_worker",
            json!(6),
            json!(5),
            json!(0.8333),
        ),
        ("never_seen_psychiatrist", json!(6), json!(5), json!(0.8333)),
        ("never_seen_psychologist", json!(5), json!(5), json!(1.0)),
        (
            "quality_of_life_improved",
            json!(6),
            json!(5),
            json!(0.8333),
        ),
        ("better_consumption", json!(5), json!("<5"), Value::Null),
        ("would_recommend", json!(6), json!(5), json!(0.8333)),
    ] {
        assert_eq!(
            statement(name),
            json!({"statement": name, "answered": answered, "agreed": agreed, "share_agreed": share}),
        );
    }
    // November–December's figures stay as they were: the January closings are not of that period.
    let again = app
        .get(&format!("/api/v1/reports/program?{PERIOD}"), &admin)
        .await;
    assert_eq!(again.body["tables"], report.body["tables"]);
}
