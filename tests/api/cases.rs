//! The care pathway through the API: referral → assessment → contacts → relapse prevention →
//! relapse → exit, the worklist, the refusals, safe retries and concurrent edits.

use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{Value, json};
use sesame::domain::pathway::Phase;

use crate::common::{ClockNow, Patient, Resp, Team, TestApp, bearer, gad7, phq9};

fn kinds(timeline: &Resp) -> Vec<String> {
    timeline.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_whole_episode_from_referral_to_exit() {
    let app = TestApp::new().await;
    let Team {
        practice,
        mut gp,
        mut nurse,
        ..
    } = app.team().await;
    let patient = app.patient_of(&gp).await;

    // The GP refers, with the screening.
    let referred = app.refer(&gp, &patient).await;
    referred.assert_status(201);
    let case = referred.body["id"].as_str().unwrap().to_owned();
    let url = format!("/api/v1/cases/{case}");
    assert_eq!(referred.header("location"), Some(url.as_str()));
    assert_eq!(referred.header("etag"), Some("\"1\""));
    let body = &referred.body;
    assert_eq!(body["phase"], "referred");
    assert_eq!(body["referring_gp_id"], gp.id.as_str());
    assert_eq!(body["practice_id"], practice.id.as_str());
    assert_eq!(body["indications"], json!(["depression", "anxiety"]));
    assert_eq!(body["latest"]["phq9"]["total"], 14);
    assert_eq!(body["latest"]["phq9"]["band"], "moderate");
    assert_eq!(body["latest"]["phq9"]["loinc"], "44261-6");
    assert_eq!(body["latest"]["phq9"]["item9_positive"], false);
    // Assessment due 14 days after the referral (2026-11-23).
    assert_eq!(body["next_contact_due"], "2026-12-07");
    assert_eq!(body["overdue_days"], 0);
    assert_eq!(body["flags"], json!([]));

    // A second open case for the same patient is refused.
    app.refer(&gp, &patient).await.assert_problem(409);

    // Three days later the nurse assesses: baselines, care plan, the case becomes active and
    // the assessing nurse holds it.
    app.clock.advance(Duration::days(3));
    app.renew(&mut nurse).await;
    let assessed = app
        .post(
            &format!("{url}/assessment"),
            Some(&nurse),
            json!({"phq9": phq9(18), "gad7": gad7(15), "care_plan": "Activation comportementale.\nAppel tous les 15 jours."}),
        )
        .await;
    assessed.assert_status(200);
    assert_eq!(assessed.body["phase"], "active");
    assert_eq!(assessed.body["nurse_id"], nurse.id.as_str());
    assert_eq!(assessed.body["baseline"]["phq9"]["total"], 18);
    assert_eq!(assessed.body["baseline"]["gad7"]["total"], 15);
    assert_eq!(assessed.body["next_contact_due"], "2026-12-10");
    assert_eq!(assessed.header("etag"), Some("\"2\""));
    // Only once.
    app.post(
        &format!("{url}/assessment"),
        Some(&nurse),
        json!({"phq9": phq9(18), "gad7": gad7(15), "care_plan": "x"}),
    )
    .await
    .assert_problem(409);

    // A missed call is logged but does not move the due date; a completed contact does.
    app.clock.advance(Duration::days(14));
    app.renew(&mut nurse).await;
    let missed = app
        .post(
            &format!("{url}/contacts"),
            Some(&nurse),
            json!({"occurred_at": "2026-12-10T07:00:00Z", "mode": "phone", "outcome": "no_answer"}),
        )
        .await;
    missed.assert_status(201);
    assert_eq!(missed.body["case"]["next_contact_due"], "2026-12-10");
    let done = app
        .post(
            &format!("{url}/contacts"),
            Some(&nurse),
            json!({"occurred_at": "2026-12-10T07:30:00Z", "mode": "phone", "outcome": "completed",
                   "duration_minutes": 25, "phq9": phq9(12), "gad7": gad7(10),
                   "next_planned_at": "2026-12-24T14:00:00Z"}),
        )
        .await;
    done.assert_status(201);
    assert_eq!(done.body["contact"]["scores"][0]["total"], 12);
    assert_eq!(done.body["case"]["latest"]["phq9"]["total"], 12);
    assert_eq!(done.body["case"]["next_contact_due"], "2026-12-24");

    // Logged after the fact, a month on: the patient responded (PHQ-9 18 → 8).
    app.clock.advance(Duration::days(30));
    app.renew(&mut nurse).await;
    let later = app
        .post(
            &format!("{url}/contacts"),
            Some(&nurse),
            json!({"occurred_at": "2027-01-05T10:00:00Z", "mode": "in_person", "outcome": "completed",
                   "phq9": phq9(8), "gad7": gad7(6)}),
        )
        .await;
    later.assert_status(201);
    assert_eq!(later.body["case"]["responded"], true);
    let version = later.body["case"]["version"].as_i64().unwrap();

    // Relapse prevention: monthly.
    let rp = app
        .post(
            &format!("{url}/transitions"),
            Some(&nurse),
            json!({"to": "relapse_prevention", "note": "Réponse au traitement."}),
        )
        .await;
    rp.assert_status(200);
    assert_eq!(rp.body["phase"], "relapse_prevention");
    assert_eq!(rp.body["version"], version + 1);
    assert_eq!(rp.body["next_contact_due"], "2027-02-04");

    // A relapse: back to active.
    app.clock.advance(Duration::days(20));
    app.renew(&mut nurse).await;
    app.post(
        &format!("{url}/transitions"),
        Some(&nurse),
        json!({"to": "active", "note": "Rechute."}),
    )
    .await
    .assert_status(200);

    // Remission, then exit.
    app.post(
        &format!("{url}/contacts"),
        Some(&nurse),
        json!({"occurred_at": "2027-01-28T10:00:00Z", "mode": "video", "outcome": "completed",
               "phq9": phq9(3), "gad7": gad7(2)}),
    )
    .await
    .assert_status(201);
    let closed = app
        .post(
            &format!("{url}/transitions"),
            Some(&nurse),
            json!({"to": "closed", "exit_reason": "remission"}),
        )
        .await;
    closed.assert_status(200);
    assert_eq!(closed.body["phase"], "closed");
    assert_eq!(closed.body["exit_reason"], "remission");
    assert_eq!(closed.body["remitted"], true);
    assert_eq!(closed.body["next_contact_due"], Value::Null);
    assert!(closed.body["closed_at"].is_string());

    // The closed case refuses every write.
    for (path, body) in [
        (
            format!("{url}/contacts"),
            json!({"occurred_at": "2027-01-28T11:00:00Z", "mode": "phone", "outcome": "completed"}),
        ),
        (format!("{url}/transitions"), json!({"to": "active"})),
        (
            format!("{url}/assessment"),
            json!({"phq9": phq9(3), "gad7": gad7(2), "care_plan": "x"}),
        ),
    ] {
        let refused = app.post(&path, Some(&nurse), body).await;
        refused.assert_problem(409);
        assert_eq!(refused.body["allowed"], json!([]), "{path}");
    }
    app.patch(&url, &nurse, json!({"review_requested": true}))
        .await
        .assert_problem(409);

    // Every step on the timeline, in time order, with who.
    app.renew(&mut gp).await;
    let timeline = app.get(&format!("{url}/timeline"), &gp).await;
    timeline.assert_status(200);
    assert_eq!(
        kinds(&timeline),
        vec![
            "referral",
            "assessment",
            "contact",
            "contact",
            "contact",
            "transition",
            // Logged after the relapse, but it happened the day before.
            "contact",
            "transition",
            "transition"
        ]
    );
    let entries = timeline.body["entries"].as_array().unwrap();
    assert_eq!(entries[0]["actor_id"], gp.id.as_str());
    assert_eq!(entries[0]["scores"].as_array().unwrap().len(), 2);
    assert_eq!(entries[1]["to_phase"], "active");
    assert_eq!(entries[2]["contact"]["outcome"], "no_answer");
    assert_eq!(entries[5]["note"], "Réponse au traitement.");
    assert_eq!(entries[7]["from_phase"], "relapse_prevention");
    assert_eq!(entries[8]["exit_reason"], "remission");
    assert_eq!(entries[8]["actor_id"], nurse.id.as_str());

    // Contacts, most recent first, paged.
    let page = app.get(&format!("{url}/contacts?limit=2"), &gp).await;
    page.assert_status(200);
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["occurred_at"], "2027-01-28T10:00:00Z");
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!("{url}/contacts?limit=2&after={cursor}"), &gp)
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["next_cursor"], Value::Null);

    // A new episode is a new case.
    app.refer(&gp, &patient).await.assert_status(201);

    // Every read and write is in the audit log.
    let audit = app
        .get(
            &format!("/api/v1/audit?case_id={case}&limit=200"),
            &app.admin().await,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for action in [
        "case.create",
        "case.assessment",
        "case.contact",
        "case.transition",
        "case.timeline",
        "case.contacts",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
}

#[actix_web::test]
async fn a_positive_item_9_raises_the_safety_alert_and_leads_the_worklist() {
    let app = TestApp::new().await;
    let Team {
        mut gp,
        mut nurse,
        mut psy,
        ..
    } = app.team().await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(app.case_in(Phase::Referred).referred_by(&gp).await);
    }
    for case in &cases {
        app.assess_with(
            case,
            &nurse,
            json!({"phq9": phq9(16), "gad7": gad7(12), "care_plan": "Suivi."}),
        )
        .await;
    }
    // Twenty days on, all three are overdue by 6 days; the last one's contact reports item 9.
    app.clock.advance(Duration::days(20));
    app.renew(&mut nurse).await;
    let mut items = phq9(14);
    items[8] = json!(1);
    let alert = app
        .post(
            &format!("/api/v1/cases/{}/contacts", cases[2]),
            Some(&nurse),
            json!({"occurred_at": "2026-12-12T10:00:00Z", "mode": "phone", "outcome": "completed", "phq9": items}),
        )
        .await;
    alert.assert_status(201);
    assert_eq!(
        alert.body["case"]["flags"],
        json!(["safety_alert", "needs_review"])
    );
    assert_eq!(alert.body["contact"]["scores"][0]["item9_positive"], true);

    let worklist = app.get("/api/v1/worklist", &nurse).await;
    worklist.assert_status(200);
    let items = worklist.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["case_id"], cases[2].id.as_str());
    assert_eq!(items[0]["family_name"], "Martin");
    assert_eq!(items[0]["last_phq9"], 15);
    assert_eq!(items[0]["first_phq9"], 16);
    assert_eq!(items[1]["overdue_days"], 6);
    assert_eq!(items[1]["weeks_in_treatment"], 2);

    // The flag filter finds it; the overdue filter finds the other two.
    let flagged = app.get("/api/v1/cases?flag=safety_alert", &nurse).await;
    assert_eq!(flagged.body["items"].as_array().unwrap().len(), 1);
    let overdue = app.get("/api/v1/cases?overdue=true", &nurse).await;
    assert_eq!(overdue.body["items"].as_array().unwrap().len(), 2);
    let review = app.get("/api/v1/cases?flag=needs_review", &nurse).await;
    assert_eq!(review.body["items"].as_array().unwrap().len(), 1);

    // The psychiatrist's worklist shows the case needing review; the GP's shows their referrals.
    app.renew(&mut psy).await;
    let theirs = app.get("/api/v1/worklist", &psy).await;
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 1);
    app.renew(&mut gp).await;
    let referred = app.get("/api/v1/worklist", &gp).await;
    assert_eq!(referred.body["items"].as_array().unwrap().len(), 3);

    // A later PHQ-9 with item 9 at 0 clears the alert.
    app.post(
        &format!("/api/v1/cases/{}/contacts", cases[2]),
        Some(&nurse),
        json!({"occurred_at": "2026-12-13T07:00:00Z", "mode": "phone", "outcome": "completed", "phq9": phq9(12)}),
    )
    .await
    .assert_status(201);
    let flagged = app.get("/api/v1/cases?flag=safety_alert", &nurse).await;
    assert_eq!(flagged.body["items"], json!([]));
}

/// The one field error of a refused referral, and its message.
fn refusal(resp: &Resp) -> (String, String) {
    resp.assert_problem(422);
    let errors = resp.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", resp.text);
    (
        errors[0]["field"].as_str().unwrap().to_owned(),
        errors[0]["message"].as_str().unwrap().to_owned(),
    )
}

#[actix_web::test]
async fn sesame_eligibility_is_checked_at_referral() {
    let app = TestApp::new().await;
    let Team { gp, .. } = app.team().await;
    let patient = app.patient_of(&gp).await;
    let refer = |body: Value| {
        let mut body = body;
        body["patient_id"] = json!(patient);
        app.post("/api/v1/cases", Some(&gp), body)
    };
    let sesame = |screening: Value| json!({"program": "sesame", "indications": ["depression"], "screening": screening});

    // A positive PHQ-2 alone, or PHQ-9 and GAD-7 both below 10: not moderate enough.
    for screening in [
        json!({"phq2": [3, 3]}),
        json!({"phq2": [3, 3], "phq9": phq9(9), "gad7": gad7(9)}),
    ] {
        let (field, message) = refusal(&refer(sesame(screening)).await);
        assert_eq!(field, "screening");
        assert_eq!(
            message,
            "the Sésame program needs PHQ-9 ≥ 10 or GAD-7 ≥ 10 at screening, \
             or eligibility_override with the reason"
        );
    }
    // An ongoing psychiatric follow-up, even with a moderate screening.
    let mut followed = sesame(json!({"phq9": phq9(14)}));
    followed["psychiatric_follow_up"] = json!(true);
    let (field, message) = refusal(&refer(followed.clone()).await);
    assert_eq!(field, "psychiatric_follow_up");
    assert_eq!(
        message,
        "the Sésame program is for patients without an ongoing psychiatric follow-up; \
         give eligibility_override with the reason to refer them anyway"
    );
    // A blank reason is no reason.
    let mut blank = followed.clone();
    blank["eligibility_override"] = json!("  ");
    assert_eq!(refusal(&refer(blank).await).0, "eligibility_override");
    // Nothing was created.
    let list = app.get("/api/v1/cases", &gp).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);

    // A minor is refused even with the GP's override: the program is for adults.
    let minor = app
        .patient_of(&gp)
        .named("Petit", "Léo")
        .born("2012-05-01")
        .sex("M")
        .await;
    let mut body = sesame(json!({"phq9": phq9(14)}));
    body["patient_id"] = json!(minor);
    body["eligibility_override"] = json!("Adolescent suivi au cabinet.");
    let (field, message) = refusal(&app.post("/api/v1/cases", Some(&gp), body).await);
    assert_eq!(field, "patient_id");
    assert_eq!(
        message,
        "the Sésame program takes adults (18+); eligibility_override does not lift the age"
    );

    // With the GP's reason, a followed patient screened with a PHQ-2 only is referred; the
    // reason is kept on the referral's timeline entry, beside the referral note.
    let mut overridden = sesame(json!({"phq2": [3, 3]}));
    overridden["psychiatric_follow_up"] = json!(true);
    overridden["note"] = json!("Humeur basse.");
    overridden["eligibility_override"] =
        json!("  Psychiatre de secteur injoignable avant 3 mois.\nAccord du patient. ");
    let referred = refer(overridden).await;
    referred.assert_status(201);
    assert_eq!(referred.body["phase"], "referred");
    assert_eq!(referred.body["referral_note"], "Humeur basse.");
    let case = referred.body["id"].as_str().unwrap();
    let timeline = app
        .get(&format!("/api/v1/cases/{case}/timeline"), &gp)
        .await;
    timeline.assert_status(200);
    let entry = &timeline.body["entries"][0];
    assert_eq!(entry["kind"], "referral");
    assert_eq!(entry["note"], "Humeur basse.");
    assert_eq!(
        entry["detail"],
        "eligibility_override=Psychiatre de secteur injoignable avant 3 mois.\nAccord du patient."
    );

    // An eligible referral leaves no override on its entry.
    let other = app.patient_of(&gp).await;
    let case = app
        .case_in(Phase::Referred)
        .of(&other)
        .referred_by(&gp)
        .await;
    let timeline = app.get(&format!("{}/timeline", case.url()), &gp).await;
    assert_eq!(timeline.body["entries"][0]["detail"], Value::Null);
}

#[actix_web::test]
async fn a_microstructure_takes_the_practices_adults_with_no_sesame_criteria() {
    let app = TestApp::new().await;
    let Team { gp, .. } = app.team().await;
    let minor = app
        .patient_of(&gp)
        .named("Petit", "Léo")
        .born("2012-05-01")
        .sex("M")
        .await;
    let adult = app.patient_of(&gp).await;
    let body = |patient: &Patient| {
        json!({"patient_id": patient, "program": "microstructure_addiction",
               "indications": ["addiction"], "substances": ["cannabis", "synthetic_drugs"],
               "screening": {"phq2": [1, 0]}, "psychiatric_follow_up": true})
    };
    // Nothing to override: the field is refused rather than kept for nothing.
    let mut overridden = body(&adult);
    overridden["eligibility_override"] = json!("Suivi psychiatrique en cours.");
    let (field, _) = refusal(&app.post("/api/v1/cases", Some(&gp), overridden).await);
    assert_eq!(field, "eligibility_override");
    // Adults of the practice only.
    let (field, detail) = refusal(&app.post("/api/v1/cases", Some(&gp), body(&minor)).await);
    assert_eq!(field, "patient_id");
    assert_eq!(
        detail,
        "the microstructures take the adult patients of the practice (18+)"
    );
    // The strand treats addictions and precarity, not a depression alone.
    let mut depression = body(&adult);
    depression["indications"] = json!(["depression"]);
    depression["substances"] = json!([]);
    let (field, detail) = refusal(&app.post("/api/v1/cases", Some(&gp), depression).await);
    assert_eq!(
        (field.as_str(), detail.as_str()),
        (
            "indications",
            "the microstructure_addiction program treats addiction or precarity"
        )
    );
    // An adult followed by a psychiatrist, with a negative PHQ-2: referred.
    let referred = app.post("/api/v1/cases", Some(&gp), body(&adult)).await;
    referred.assert_status(201);
    assert_eq!(referred.body["program"], "microstructure_addiction");
    assert_eq!(
        referred.body["substances"],
        json!(["cannabis", "synthetic_drugs"])
    );
}

#[actix_web::test]
async fn a_referral_is_into_a_program_its_practice_runs_that_day() {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    // Left out, the programs are Sésame from today.
    let plain = app
        .post(
            "/api/v1/practices",
            Some(&admin),
            json!({"name": "Cabinet Pasteur", "region": "Occitanie"}),
        )
        .await;
    plain.assert_status(201);
    let today = app.clock.now_at().date_naive().to_string();
    assert_eq!(
        plain.body["programs"],
        json!([{"program": "sesame", "starts_on": today, "ends_on": null, "funding": "permanent"}])
    );
    assert_eq!(plain.body["polyvalente"], false);
    // An addiction microstructure whose experiment ended, then under a permanent scheme; a
    // mental-health strand whose experiment ended and was not renewed.
    let practice = app
        .practice_named("Cabinet Zola")
        .with_programs(json!([
            {"program": "microstructure_addiction", "starts_on": "2021-01-01", "ends_on": "2023-12-31", "funding": "equip_addict"},
            {"program": "microstructure_addiction", "starts_on": "2024-01-01", "funding": "permanent"},
            {"program": "microstructure_mental_health", "starts_on": "2021-06-01", "ends_on": "2024-01-31", "funding": "microstructures_sante_mentale"},
        ]))
        .await;
    let read = app
        .get(&format!("/api/v1/practices/{practice}"), &admin)
        .await;
    read.assert_status(200);
    assert_eq!(read.body["programs"].as_array().map(Vec::len), Some(3));
    assert_eq!(read.body["polyvalente"], false);
    let gp = app.gp_of(&practice).await;
    let patient = app.patient_of(&gp).await;
    let referral = |program: &str, indications: Value| {
        json!({"patient_id": patient, "program": program, "indications": indications,
               "substances": [], "screening": {"phq9": [2, 2, 2, 2, 1, 1, 0, 0, 0]}})
    };
    for (program, indications) in [
        ("sesame", json!(["depression"])),
        ("microstructure_mental_health", json!(["anxiety"])),
    ] {
        let refused = app
            .post("/api/v1/cases", Some(&gp), referral(program, indications))
            .await;
        let (field, detail) = refusal(&refused);
        assert_eq!(field, "program");
        assert_eq!(
            detail,
            format!(
                "the practice does not run the {program} program on {today}; \
                 it runs microstructure_addiction"
            )
        );
    }
    let referred = app
        .post(
            "/api/v1/cases",
            Some(&gp),
            referral("microstructure_addiction", json!(["precarity"])),
        )
        .await;
    referred.assert_status(201);

    // The admin renews the mental-health strand: the practice is polyvalente again.
    let renewed = app
        .patch(
            &format!("/api/v1/practices/{practice}"),
            &admin,
            json!({"programs": [
                {"program": "microstructure_addiction", "starts_on": "2024-01-01", "funding": "permanent"},
                {"program": "microstructure_mental_health", "starts_on": "2024-09-01", "funding": "permanent"},
            ]}),
        )
        .await;
    renewed.assert_status(200);
    assert_eq!(renewed.body["polyvalente"], true);
    assert_eq!(renewed.body["version"], 2);

    // Periods that break a rule, each named.
    for (programs, field) in [
        (
            json!([{"program": "microstructure_addiction", "starts_on": "2021-01-01", "funding": "equip_addict"}]),
            "programs[0].ends_on",
        ),
        (
            json!([{"program": "sesame", "starts_on": "2021-01-01", "ends_on": "2022-01-01", "funding": "microstructures_sante_mentale"}]),
            "programs[0].funding",
        ),
        (
            json!([{"program": "sesame", "starts_on": "2021-01-01", "funding": "permanent"},
                   {"program": "sesame", "starts_on": "2025-01-01", "funding": "other"}]),
            "programs[1].starts_on",
        ),
    ] {
        let refused = app
            .patch(
                &format!("/api/v1/practices/{practice}"),
                &admin,
                json!({ "programs": programs }),
            )
            .await;
        assert_eq!(refusal(&refused).0, field, "{programs}");
    }
    let unchanged = app
        .get(&format!("/api/v1/practices/{practice}"), &admin)
        .await;
    assert_eq!(unchanged.body["version"], 2);
}

#[actix_web::test]
async fn each_refusal_has_its_precise_problem() {
    let app = TestApp::new().await;
    let Team { gp, nurse, psy, .. } = app.team().await;
    let patient = app.patient_of(&gp).await;

    // Out-of-range and miscounted items: one field error each.
    let bad = app
        .post(
            "/api/v1/cases",
            Some(&gp),
            json!({"patient_id": patient, "program": "sesame", "indications": ["depression"],
                   "screening": {"phq9": [0, 1, 4, 0, 0, 0, 0, 0, -1], "gad7": [1, 1]}}),
        )
        .await;
    bad.assert_problem(422);
    assert_eq!(
        bad.field_errors(),
        vec!["screening.phq9[2]", "screening.phq9[8]", "screening.gad7"]
    );
    let empty = app
        .post(
            "/api/v1/cases",
            Some(&gp),
            json!({"patient_id": patient, "program": "sesame", "indications": ["depression"], "screening": {}}),
        )
        .await;
    empty.assert_problem(422);
    assert_eq!(empty.field_errors(), vec!["screening"]);
    let addiction = app
        .post(
            "/api/v1/cases",
            Some(&gp),
            json!({"patient_id": patient, "program": "microstructure_addiction", "indications": ["addiction"], "screening": {"phq2": [1, 1]}}),
        )
        .await;
    addiction.assert_problem(422);
    assert_eq!(addiction.field_errors(), vec!["substances"]);

    let case = app
        .case_in(Phase::Referred)
        .of(&patient)
        .referred_by(&gp)
        .await;
    let url = case.url();

    // An impossible transition: 409 with the allowed ones.
    let refused = app
        .post(
            &format!("{url}/transitions"),
            Some(&nurse),
            json!({"to": "relapse_prevention"}),
        )
        .await;
    refused.assert_problem(409);
    assert_eq!(refused.body["allowed"], json!(["closed"]));
    let closing = app
        .post(
            &format!("{url}/transitions"),
            Some(&nurse),
            json!({"to": "closed"}),
        )
        .await;
    closing.assert_problem(422);
    assert_eq!(closing.field_errors(), vec!["exit_reason"]);

    // Contacts wait for the assessment.
    app.post(
        &format!("{url}/contacts"),
        Some(&nurse),
        json!({"occurred_at": "2026-11-23T08:00:00Z", "mode": "phone", "outcome": "completed"}),
    )
    .await
    .assert_problem(409);
    app.assess(&case, &nurse).await;

    // A contact in the future, or before the referral, or scores at a missed call.
    for (body, field) in [
        (
            json!({"occurred_at": "2026-11-23T08:00:01Z", "mode": "phone", "outcome": "completed"}),
            "occurred_at",
        ),
        (
            json!({"occurred_at": "2026-11-01T08:00:00Z", "mode": "phone", "outcome": "completed"}),
            "occurred_at",
        ),
        (
            json!({"occurred_at": "2026-11-23T07:00:00Z", "mode": "phone", "outcome": "no_answer", "phq9": phq9(10)}),
            "outcome",
        ),
        (
            json!({"occurred_at": "2026-11-23T07:00:00Z", "mode": "phone", "outcome": "completed", "phq9": [1, 1, 1]}),
            "phq9",
        ),
        (
            json!({"occurred_at": "2026-11-23T07:00:00Z", "mode": "fax", "outcome": "completed"}),
            "mode",
        ),
    ] {
        let resp = app
            .post(&format!("{url}/contacts"), Some(&nurse), body)
            .await;
        resp.assert_problem(422);
        assert_eq!(resp.field_errors(), vec![field]);
    }

    // A patient who objected is not referred; a minor is not in Sésame.
    let objected = app.patient_of(&gp).await;
    app.patch(
        &format!("/api/v1/patients/{objected}"),
        &gp,
        json!({"consent": "objected"}),
    )
    .await
    .assert_status(200);
    app.refer(&gp, &objected).await.assert_problem(409);
    let minor = app
        .patient_of(&gp)
        .named("Petit", "Léo")
        .born("2012-05-01")
        .sex("M")
        .await;
    let resp = app.refer(&gp, &minor).await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["patient_id"]);

    // Reassigning to someone who is not a nurse of the practice.
    let resp = app.patch(&url, &gp, json!({"nurse_id": psy.id})).await;
    resp.assert_problem(422);
    assert_eq!(resp.field_errors(), vec!["nurse_id"]);
}

#[actix_web::test]
async fn reassignment_review_flags_and_stale_versions() {
    let app = TestApp::new().await;
    let Team {
        practice,
        gp,
        nurse,
        psy,
    } = app.team().await;
    let second_nurse = app.nurse_of(&practice).await;
    let case = app.case_in(Phase::Referred).referred_by(&gp).await;
    let url = case.url();

    // A nurse assigned at once keeps the case when another nurse assesses.
    let assigned = app
        .patch(
            &url,
            &gp,
            json!({"nurse_id": second_nurse.id, "psychiatrist_id": psy.id}),
        )
        .await;
    assigned.assert_status(200);
    assert_eq!(assigned.header("etag"), Some("\"2\""));
    app.assess(&case, &nurse).await;
    let now = app.get(&url, &gp).await;
    assert_eq!(now.body["nurse_id"], second_nurse.id.as_str());
    assert_eq!(now.body["psychiatrist_id"], psy.id.as_str());

    // The psychiatrist flags for review; may not reassign.
    let flagged = app
        .send(
            TestRequest::patch()
                .uri(&url)
                .insert_header(bearer(&psy))
                .insert_header(("If-Match", "\"3\""))
                .set_json(json!({"review_requested": true, "note": "À revoir en synthèse."})),
        )
        .await;
    flagged.assert_status(200);
    assert_eq!(flagged.body["flags"], json!(["needs_review"]));
    app.patch(&url, &psy, json!({"nurse_id": nurse.id}))
        .await
        .assert_problem(403);

    // A write against version 3 after the flag made it 4 is refused.
    let stale = app
        .send(
            TestRequest::post()
                .uri(&format!("{url}/transitions"))
                .insert_header(bearer(&nurse))
                .insert_header(("If-Match", "\"3\""))
                .set_json(json!({"to": "relapse_prevention"})),
        )
        .await;
    stale.assert_problem(412);

    // `null` unassigns; an absent field stays as it is.
    let unassigned = app.patch(&url, &gp, json!({"psychiatrist_id": null})).await;
    unassigned.assert_status(200);
    assert!(unassigned.body["psychiatrist_id"].is_null());
    assert_eq!(unassigned.body["nurse_id"], second_nurse.id.as_str());

    let timeline = app.get(&format!("{url}/timeline"), &nurse).await;
    assert_eq!(
        kinds(&timeline),
        vec![
            "referral",
            "reassignment",
            "assessment",
            "review",
            "reassignment"
        ]
    );
}

#[actix_web::test]
async fn retries_with_an_idempotency_key_do_nothing_twice() {
    let app = TestApp::new().await;
    let Team { gp, nurse, .. } = app.team().await;
    let patient = app.patient_of(&gp).await;
    let referral = |key: &str, note: &str| {
        TestRequest::post()
            .uri("/api/v1/cases")
            .insert_header(bearer(&gp))
            .insert_header(("Idempotency-Key", key.to_owned()))
            .set_json(json!({
                "patient_id": patient, "program": "sesame", "indications": ["depression"],
                "screening": {"phq2": [3, 2], "phq9": phq9(12)}, "note": note
            }))
    };
    let first = app.send(referral("k-1", "Première.")).await;
    first.assert_status(201);
    let again = app.send(referral("k-1", "Première.")).await;
    again.assert_status(201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    // Same key, another body.
    let other = app.send(referral("k-1", "Autre.")).await;
    other.assert_problem(422);
    assert_eq!(other.field_errors(), vec!["Idempotency-Key"]);
    // One case only.
    let list = app.get("/api/v1/cases", &gp).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // A contact retried is logged once.
    let case = first.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/cases/{case}/assessment"),
        Some(&nurse),
        json!({"phq9": phq9(15), "gad7": gad7(11), "care_plan": "Suivi."}),
    )
    .await
    .assert_status(200);
    let contact = || {
        TestRequest::post()
            .uri(&format!("/api/v1/cases/{case}/contacts"))
            .insert_header(bearer(&nurse))
            .insert_header(("Idempotency-Key", "contact-1"))
            .set_json(json!({"occurred_at": "2026-11-23T08:00:00Z", "mode": "phone", "outcome": "completed"}))
    };
    let a = app.send(contact()).await;
    a.assert_status(201);
    let b = app.send(contact()).await;
    assert_eq!(b.body["contact"]["id"], a.body["contact"]["id"]);
    let contacts = app
        .get(&format!("/api/v1/cases/{case}/contacts"), &nurse)
        .await;
    assert_eq!(contacts.body["items"].as_array().unwrap().len(), 1);

    // A key that is not a token of visible characters is a malformed request.
    let bad_key = app.send(referral("a b", "Autre.")).await;
    bad_key.assert_problem(400);

    // Kept responses are forgotten after a day (the server does it hourly).
    let before = sesame::db::naive(app.clock.now_at() - Duration::hours(1));
    let kept = app
        .state
        .db
        .run(move |conn| Ok(sesame::db::idempotency::purge(conn, before)?))
        .await
        .unwrap();
    assert_eq!(kept, 0, "nothing is a day old yet");
    app.clock.advance(Duration::days(1) + Duration::hours(1));
    let before = sesame::db::naive(app.clock.now_at() - Duration::days(1));
    let forgotten = app
        .state
        .db
        .run(move |conn| Ok(sesame::db::idempotency::purge(conn, before)?))
        .await
        .unwrap();
    assert_eq!(forgotten, 2, "the referral's key and the contact's");
}

#[actix_web::test]
async fn practice_software_refers_in_the_name_of_a_gp_of_the_practice() {
    let app = TestApp::new().await;
    let Team {
        practice,
        gp,
        nurse,
        ..
    } = app.team().await;
    let software = app.api_client_of(&practice).await;
    let patient = app.patient_of(&software).await;
    let referral = |gp_id: Option<&str>| {
        let mut body = json!({
            "patient_id": patient, "program": "sesame", "indications": ["depression"],
            "screening": {"phq9": [2, 2, 2, 2, 2, 2, 1, 1, 0]}
        });
        if let Some(id) = gp_id {
            body["referring_gp_id"] = json!(id);
        }
        body
    };

    // Without a GP the case would show on nobody's list: refused, naming the field.
    let unnamed = app
        .post("/api/v1/cases", Some(&software), referral(None))
        .await;
    unnamed.assert_problem(422);
    assert_eq!(unnamed.field_errors(), vec!["referring_gp_id"]);
    // A nurse is not a referring GP.
    app.post("/api/v1/cases", Some(&software), referral(Some(&nurse.id)))
        .await
        .assert_problem(422);

    let referred = app
        .post("/api/v1/cases", Some(&software), referral(Some(&gp.id)))
        .await;
    referred.assert_status(201);
    assert_eq!(referred.body["referring_gp_id"], gp.id.as_str());
    let read = app
        .get(
            &format!("/api/v1/cases/{}", referred.body["id"].as_str().unwrap()),
            &gp,
        )
        .await;
    read.assert_status(200);
    assert_eq!(read.body["referring_gp_id"], gp.id.as_str());
}
