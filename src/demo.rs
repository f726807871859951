//! `sesame demo seed`: a realistic, deterministic synthetic population to try the API on and to
//! measure it — practices across networks and regions, GPs, nurses (about 100 open cases each),
//! psychiatrists covering several practices, adult patients, cases in every phase with fortnightly
//! then monthly contact histories and score trajectories (some responding, some not), a few safety
//! alerts. The same seed on the same day gives the same data. Rows are bulk-inserted, one
//! transaction per practice.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::accounts::UserRow;
use crate::db::cases::{CaseRow, ContactRow, EventRow, ScoreRow, items_text, refresh_derived};
use crate::db::patients::PatientRow;
use crate::db::practices::{PracticeRow, ProgramRow};
use crate::db::{Db, DbConn, bulk, naive};
use crate::domain::account::{Locale, Role};
use crate::domain::case::{
    ContactMode, ContactOutcome, EventKind, Indication, Program, Substance, contact_detail,
    join_set, last_completed_contact, nurse_after_assessment,
};
use crate::domain::instruments::{Instrument, Score, score};
use crate::domain::pathway::{Cadences, ExitReason, Phase, Refused, assess, transition};
use crate::domain::patient::{ConsentStatus, Sex};
use crate::domain::programs::Funding;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo password 2026";
const DOMAIN: &str = "demo.sesame.test";
const PATIENTS_PER_PRACTICE: usize = 800;
const PRACTICES_PER_NETWORK: usize = 6;
const PRACTICES_PER_PSYCHIATRIST: usize = 4;
const OPEN_CASES_PER_NURSE: usize = 100;

const REGIONS: [&str; 7] = [
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Auvergne-Rhône-Alpes",
    "Occitanie",
    "Nouvelle-Aquitaine",
    "Provence-Alpes-Côte d'Azur",
];
const TOWNS: [&str; 12] = [
    "Voltaire",
    "des Lilas",
    "du Parc",
    "Pasteur",
    "de la Gare",
    "des Tilleuls",
    "Saint-Michel",
    "du Canal",
    "Jean Jaurès",
    "des Vignes",
    "du Marché",
    "Victor Hugo",
];
const FAMILY_NAMES: [&str; 24] = [
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau",
    "Laurent", "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel",
    "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
];
const WOMEN: [&str; 12] = [
    "Marie",
    "Nathalie",
    "Isabelle",
    "Sylvie",
    "Catherine",
    "Claire",
    "Sandrine",
    "Camille",
    "Julie",
    "Léa",
    "Chloé",
    "Inès",
];
const MEN: [&str; 12] = [
    "Jean",
    "Philippe",
    "Michel",
    "Alain",
    "Nicolas",
    "Christophe",
    "Pierre",
    "Thomas",
    "Julien",
    "Lucas",
    "Hugo",
    "Karim",
];

/// What was written.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub practices: usize,
    pub networks: usize,
    pub gps: usize,
    pub nurses: usize,
    pub psychiatrists: usize,
    pub patients: usize,
    pub cases: usize,
    pub by_phase: [usize; 4],
    pub contacts: usize,
    pub scores: usize,
    pub safety_alerts: usize,
    pub seconds: f64,
    pub sample_nurse: String,
    pub sample_gp: String,
    pub sample_psychiatrist: String,
}

/// Rows of one practice, written in one transaction.
#[derive(Default)]
struct Batch {
    practices: Vec<PracticeRow>,
    programs: Vec<ProgramRow>,
    users: Vec<UserRow>,
    memberships: Vec<(String, String)>,
    patients: Vec<PatientRow>,
    cases: Vec<CaseRow>,
    contacts: Vec<ContactRow>,
    scores: Vec<ScoreRow>,
    events: Vec<EventRow>,
}

struct Generator {
    rng: StdRng,
    now: DateTime<Utc>,
    cadences: Cadences,
    password_hash: String,
}

impl Generator {
    /// A time-ordered id (UUIDv7 layout) from the simulated creation time and the seeded generator.
    fn id(&mut self, at: DateTime<Utc>) -> String {
        let random: [u8; 10] = self.rng.random();
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn days(&mut self, low: i64, high: i64) -> Duration {
        Duration::days(self.rng.random_range(low..=high))
    }

    /// Item answers (0–3 each) adding up to `total`, spread at random; item 9 of a PHQ-9 at 0
    /// unless `item9`.
    fn answers(&mut self, instrument: Instrument, total: i64, item9: bool) -> Score {
        let count = instrument.item_count();
        let mut items = vec![0i64; count];
        let free = if instrument == Instrument::Phq9 {
            count - 1
        } else {
            count
        };
        if item9 && instrument == Instrument::Phq9 {
            items[8] = 1;
        }
        let mut left = (total - items.iter().sum::<i64>()).clamp(0, 3 * free as i64);
        while left > 0 {
            let i = self.rng.random_range(0..free);
            if items[i] < 3 {
                items[i] += 1;
                left -= 1;
            }
        }
        // Answers in range by construction.
        score(instrument, &items).unwrap_or(Score {
            instrument,
            items: vec![0; count],
            total: 0,
            band: crate::domain::instruments::band(instrument, 0),
        })
    }

    fn user(&mut self, role: Role, email: String, name: String, at: DateTime<Utc>) -> UserRow {
        UserRow {
            id: self.id(at),
            email,
            name,
            role,
            locale: Locale::Fr,
            active: true,
            password_hash: self.password_hash.clone(),
            failed_logins: 0,
            locked_at: None,
            version: 1,
            created_at: naive(at),
            updated_at: naive(at),
        }
    }
}

fn event(
    g: &mut Generator,
    case_id: &str,
    kind: EventKind,
    actor: &str,
    at: DateTime<Utc>,
) -> EventRow {
    EventRow::new(g.id(at), case_id, kind, actor, naive(at), naive(at))
}

/// Fills the database. Refuses any database that already holds an account, a practice or a
/// patient: demo accounts share a published password, so they must never sit beside real data
/// (an admin with a known password would open every real record).
pub fn seed(
    db: &Db,
    cadences: Cadences,
    now: DateTime<Utc>,
    patients: usize,
    seed: u64,
) -> Result<SeedReport, String> {
    let started = Instant::now();
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    if let Some(what) = crate::db::first_registry_data(&mut conn).map_err(|e| e.to_string())? {
        return Err(format!(
            "refusing to seed: this database already holds {what}. Demo accounts share a published \
             password and must never sit beside real data; seed an empty database (a new \
             DATABASE_URL). Nothing was written."
        ));
    }
    let first_admin = format!("admin@{DOMAIN}");
    let password_hash = crate::domain::credentials::hash_password(DEMO_PASSWORD)?;
    let mut g = Generator {
        rng: StdRng::seed_from_u64(seed),
        now,
        cadences,
        password_hash,
    };
    let practices = patients.div_ceil(PATIENTS_PER_PRACTICE).max(1);
    let mut report = SeedReport {
        practices,
        networks: practices.div_ceil(PRACTICES_PER_NETWORK),
        ..SeedReport::default()
    };
    let setup_at = now - Duration::days(800);
    let mut admin_batch = Batch::default();
    let admin = g.user(Role::Admin, first_admin, "Admin démo".to_owned(), setup_at);
    admin_batch.users.push(admin);
    write(&mut conn, &admin_batch)?;

    let mut psychiatrist: Option<String> = None;
    let mut remaining = patients;
    for p in 0..practices {
        let count = remaining.min(PATIENTS_PER_PRACTICE.min(patients.div_ceil(practices)));
        let count = if p + 1 == practices { remaining } else { count };
        remaining -= count;
        let mut batch = Batch::default();
        let network = p / PRACTICES_PER_NETWORK;
        let practice_id = g.id(setup_at);
        let town = *g.pick(&TOWNS);
        batch.practices.push(PracticeRow {
            id: practice_id.clone(),
            name: format!("Maison de santé {town} {}", p + 1),
            network: Some(format!("Réseau {}", network + 1)),
            region: REGIONS[network % REGIONS.len()].to_owned(),
            active: true,
            version: 1,
            created_at: naive(setup_at),
            updated_at: naive(setup_at),
        });
        // Every demo practice runs every program, since it was set up.
        for &program in Program::ALL {
            batch.programs.push(ProgramRow {
                practice_id: practice_id.clone(),
                program,
                starts_on: setup_at.date_naive(),
                ends_on: None,
                funding: Funding::Permanent,
            });
        }
        // A psychiatrist covers a group of practices.
        if p % PRACTICES_PER_PSYCHIATRIST == 0 {
            let n = p / PRACTICES_PER_PSYCHIATRIST + 1;
            let user = g.user(
                Role::Psychiatrist,
                format!("psychiatre{n}@{DOMAIN}"),
                format!("Dr Psychiatre {n}"),
                setup_at,
            );
            if n == 1 {
                report.sample_psychiatrist = user.email.clone();
            }
            psychiatrist = Some(user.id.clone());
            batch.users.push(user);
            report.psychiatrists += 1;
        }
        let psychiatrist_id = psychiatrist.clone().unwrap_or_default();
        batch
            .memberships
            .push((psychiatrist_id.clone(), practice_id.clone()));
        let mut gps = Vec::new();
        for k in 1..=3 {
            let user = g.user(
                Role::Gp,
                format!("medecin{}-{k}@{DOMAIN}", p + 1),
                format!("Dr Généraliste {}-{k}", p + 1),
                setup_at,
            );
            if p == 0 && k == 1 {
                report.sample_gp = user.email.clone();
            }
            gps.push(user.id.clone());
            batch
                .memberships
                .push((user.id.clone(), practice_id.clone()));
            batch.users.push(user);
        }
        report.gps += gps.len();
        let plans: Vec<PatientPlan> = (0..count).map(|_| plan_patient(&mut g)).collect();
        let open_assigned = plans
            .iter()
            .filter(|pl| matches!(pl.phase, Some(Phase::Active | Phase::RelapsePrevention)))
            .count();
        let mut nurses = Vec::new();
        for k in 1..=open_assigned.div_ceil(OPEN_CASES_PER_NURSE).max(1) {
            let user = g.user(
                Role::Nurse,
                format!("infirmier{}-{k}@{DOMAIN}", p + 1),
                format!("IDE {}-{k}", p + 1),
                setup_at,
            );
            if p == 0 && k == 1 {
                report.sample_nurse = user.email.clone();
            }
            nurses.push(user.id.clone());
            batch
                .memberships
                .push((user.id.clone(), practice_id.clone()));
            batch.users.push(user);
        }
        report.nurses += nurses.len();
        let team = Team {
            practice_id: &practice_id,
            gps: &gps,
            nurses: &nurses,
            psychiatrist_id: &psychiatrist_id,
        };
        for (i, plan) in plans.into_iter().enumerate() {
            build_patient(&mut g, &mut batch, &team, p, i, plan)?;
        }
        for case in &batch.cases {
            if let Some(i) = Phase::ALL.iter().position(|&p| p == case.phase) {
                report.by_phase[i] += 1;
            }
            report.safety_alerts += usize::from(case.safety_alert);
        }
        report.patients += batch.patients.len();
        report.cases += batch.cases.len();
        report.contacts += batch.contacts.len();
        report.scores += batch.scores.len();
        write(&mut conn, &batch)?;
    }
    // Fresh statistics for the query planners after a bulk load.
    diesel::connection::SimpleConnection::batch_execute(&mut *conn, "ANALYZE")
        .map_err(|e| format!("cannot analyse the demo data: {e}"))?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn write(conn: &mut DbConn, batch: &Batch) -> Result<(), String> {
    diesel::Connection::transaction(conn, |conn| {
        bulk::practices(conn, &batch.practices)?;
        bulk::programs(conn, &batch.programs)?;
        bulk::users(conn, &batch.users)?;
        bulk::memberships(conn, &batch.memberships)?;
        bulk::patients(conn, &batch.patients)?;
        bulk::cases(conn, &batch.cases)?;
        bulk::events(conn, &batch.events)?;
        bulk::contacts(conn, &batch.contacts)?;
        bulk::scores(conn, &batch.scores)?;
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(|e| format!("cannot write the demo data: {e}"))
}

struct Team<'a> {
    practice_id: &'a str,
    gps: &'a [String],
    nurses: &'a [String],
    psychiatrist_id: &'a str,
}

/// What is decided for a patient before any row is made.
struct PatientPlan {
    objected: bool,
    /// `None`: no case (yet).
    phase: Option<Phase>,
}

fn plan_patient(g: &mut Generator) -> PatientPlan {
    let objected = g.chance(0.03);
    let phase = if objected || g.chance(0.30) {
        None
    } else {
        let r: f64 = g.rng.random();
        Some(if r < 0.06 {
            Phase::Referred
        } else if r < 0.38 {
            Phase::Active
        } else if r < 0.53 {
            Phase::RelapsePrevention
        } else {
            Phase::Closed
        })
    };
    PatientPlan { objected, phase }
}

#[allow(clippy::too_many_arguments)]
fn build_patient(
    g: &mut Generator,
    batch: &mut Batch,
    team: &Team<'_>,
    practice_index: usize,
    index: usize,
    plan: PatientPlan,
) -> Result<(), String> {
    let now = g.now;
    let sex_roll: f64 = g.rng.random();
    let (sex, given) = if sex_roll < 0.61 {
        (Sex::F, *g.pick(&WOMEN))
    } else if sex_roll < 0.995 {
        (Sex::M, *g.pick(&MEN))
    } else {
        (Sex::U, *g.pick(&WOMEN))
    };
    // Ages 18–89, centred on the mid-forties as in the programs' reports.
    let age = (18.0
        + (g.rng.random::<f64>() + g.rng.random::<f64>() + g.rng.random::<f64>()) / 3.0 * 62.0)
        .round() as i64;
    let birth_date: NaiveDate =
        (now - Duration::days(age * 365 + g.rng.random_range(0..365))).date_naive();
    let registered = now - g.days(30, 900);
    let gp = g.pick(team.gps).clone();
    let patient_id = g.id(registered);
    let family = *g.pick(&FAMILY_NAMES);
    let with_email = g.chance(0.6);
    batch.patients.push(PatientRow {
        id: patient_id.clone(),
        practice_id: team.practice_id.to_owned(),
        external_id: format!("DEMO-{}-{}", practice_index + 1, index + 1),
        family_name: family.to_owned(),
        given_names: given.to_owned(),
        birth_date,
        sex,
        email: with_email
            .then(|| format!("patient{}-{}@example.org", practice_index + 1, index + 1)),
        phone: None,
        ins: None,
        ins_status: None,
        consent_status: if plan.objected {
            ConsentStatus::Objected
        } else {
            ConsentStatus::Informed
        },
        consent_at: naive(registered),
        consent_by: gp.clone(),
        version: 1,
        created_at: naive(registered),
        updated_at: naive(registered),
    });
    let Some(phase) = plan.phase else {
        return Ok(());
    };

    // The episode's dates.
    let cadences = g.cadences;
    let (referred_at, episode_end) = match phase {
        Phase::Referred => (now - g.days(0, 20), now),
        Phase::Active => (now - g.days(20, 300), now),
        Phase::RelapsePrevention => (now - g.days(100, 380), now),
        Phase::Closed => {
            let start = now - g.days(60, 720);
            let length = g.days(50, 360);
            (start, (start + length).min(now - Duration::days(1)))
        }
    };
    let referred_at = referred_at.max(registered);
    let program = match g.rng.random_range(0..100) {
        0..80 => Program::Sesame,
        80..92 => Program::MicrostructureAddiction,
        _ => Program::MicrostructureMentalHealth,
    };
    let (indications, substances) = indications_for(g, program);
    let case_id = g.id(referred_at);
    let mut row = CaseRow {
        indications: join_set(&indications, Indication::as_str),
        substances: join_set(&substances, Substance::as_str),
        referring_gp_id: Some(gp.clone()),
        ..CaseRow::referred(
            case_id.clone(),
            patient_id.clone(),
            team.practice_id.to_owned(),
            program,
            gp.clone(),
            naive(referred_at),
        )
    };
    let severity = g.rng.random_range(10..=24i64);
    let anxiety = g.rng.random_range(8..=20i64);
    let screening = g.answers(Instrument::Phq9, severity, false);
    let mut referral = event(g, &case_id, EventKind::Referral, &gp, referred_at);
    referral.phases(None, Phase::Referred, None);
    push_score(
        g,
        batch,
        &mut row,
        &referral.id,
        &screening,
        referred_at,
        "screening",
        &gp,
    );
    batch.events.push(referral);

    if phase == Phase::Referred {
        if g.chance(0.2) {
            row.nurse_id = Some(g.pick(team.nurses).clone());
        }
        return finish(batch, row, &cadences);
    }

    // The initial assessment.
    let nurse = g.pick(team.nurses).clone();
    let assessed_at = (referred_at + g.days(1, 18)).min(episode_end);
    let assessed = assess(Phase::Referred, assessed_at).map_err(refused)?;
    row.nurse_id = Some(nurse_after_assessment(row.nurse_id.take(), &nurse));
    if g.chance(0.5) {
        row.psychiatrist_id = Some(team.psychiatrist_id.to_owned());
    }
    row.apply(&assessed);
    row.assessed_at = Some(naive(assessed_at));
    row.care_plan =
        Some("Plan de soins (démo) : suivi infirmier, activation comportementale.".to_owned());
    let baseline_phq9 = g.answers(Instrument::Phq9, severity, false);
    let baseline_gad7 = g.answers(Instrument::Gad7, anxiety, false);
    for s in [&baseline_phq9, &baseline_gad7] {
        if let Some(baseline) = row.baseline_of(s.instrument) {
            *baseline = Some(items_text(s));
        }
    }
    let mut assessment = event(g, &case_id, EventKind::Assessment, &nurse, assessed_at);
    assessment.moved(&assessed);
    let assessment_id = assessment.id.clone();
    batch.events.push(assessment);
    push_score(
        g,
        batch,
        &mut row,
        &assessment_id,
        &baseline_phq9,
        assessed_at,
        "assessment",
        &nurse,
    );
    push_score(
        g,
        batch,
        &mut row,
        &assessment_id,
        &baseline_gad7,
        assessed_at,
        "assessment",
        &nurse,
    );

    // Contacts: fortnightly while active, monthly in relapse prevention; some calls unanswered;
    // some open cases fall behind.
    let responder = g.chance(0.55);
    let relapse_prevention_from = matches!(phase, Phase::RelapsePrevention)
        .then(|| assessed_at + g.days(56, 112))
        .filter(|at| *at < episode_end);
    let behind = phase != Phase::Closed && g.chance(0.2);
    let stop_at = if behind {
        episode_end - g.days(14, 45)
    } else {
        episode_end
    };
    let alert = phase != Phase::Closed && g.chance(0.012);
    let mut at = assessed_at;
    let mut moved_to_rp = false;
    loop {
        let monthly = relapse_prevention_from.is_some_and(|from| at >= from);
        if monthly && !moved_to_rp {
            moved_to_rp = true;
            let from = relapse_prevention_from.unwrap_or(at);
            let change =
                transition(Phase::Active, Phase::RelapsePrevention, None, from).map_err(refused)?;
            let mut t = event(g, &case_id, EventKind::Transition, &nurse, from);
            t.moved(&change);
            batch.events.push(t);
            row.apply(&change);
        }
        let cadence = if monthly {
            cadences.relapse_prevention_contact_days
        } else {
            cadences.active_contact_days
        };
        let next = at + Duration::days(cadence) + g.days(-3, 3);
        if next > stop_at {
            break;
        }
        at = next;
        if g.chance(0.15) {
            let outcome = if g.chance(0.7) {
                ContactOutcome::NoAnswer
            } else {
                ContactOutcome::Cancelled
            };
            push_contact(g, batch, &case_id, &nurse, at, outcome, None);
            at += g.days(1, 4);
            if at > stop_at {
                break;
            }
        }
        let weeks = (at - assessed_at).num_days() as f64 / 7.0;
        let improvement = if responder {
            0.65 * (weeks / 12.0).min(1.0)
        } else {
            0.15 * (weeks / 12.0).min(1.0)
        };
        let noise = g.rng.random_range(-2..=2i64);
        let phq = ((severity as f64 * (1.0 - improvement)).round() as i64 + noise).clamp(0, 27);
        let gad = ((anxiety as f64 * (1.0 - improvement)).round() as i64 + noise).clamp(0, 21);
        let last_before_stop = at + Duration::days(cadence) > stop_at;
        let phq9 = g.answers(Instrument::Phq9, phq, alert && last_before_stop);
        let mut scores = vec![phq9];
        if g.chance(0.5) {
            scores.push(g.answers(Instrument::Gad7, gad, false));
        }
        let completed = ContactOutcome::Completed;
        let event_id = push_contact(g, batch, &case_id, &nurse, at, completed, Some(&scores));
        for s in &scores {
            push_score(g, batch, &mut row, &event_id, s, at, "contact", &nurse);
        }
        let last = row.last_completed_contact_at.map(crate::db::utc);
        row.last_completed_contact_at = last_completed_contact(last, completed, at).map(naive);
    }
    if phase == Phase::Closed {
        let reasons = [
            (ExitReason::Remission, 40),
            (ExitReason::PatientChoice, 15),
            (ExitReason::SpecialistReferral, 15),
            (ExitReason::LostToFollowUp, 15),
            (ExitReason::Moved, 5),
            (ExitReason::NotEligible, 5),
            (ExitReason::Other, 5),
        ];
        let mut roll = g.rng.random_range(0..100);
        let mut reason = ExitReason::Other;
        for (r, weight) in reasons {
            if roll < weight {
                reason = r;
                break;
            }
            roll -= weight;
        }
        let from = row.phase;
        let change = transition(from, Phase::Closed, Some(reason), episode_end).map_err(refused)?;
        let mut t = event(g, &case_id, EventKind::Transition, &nurse, episode_end);
        t.moved(&change);
        batch.events.push(t);
        row.apply(&change);
    } else if g.chance(0.03) {
        row.review_requested = true;
    }
    row.updated_at = row
        .last_completed_contact_at
        .unwrap_or(row.phase_since)
        .max(row.phase_since);
    finish(batch, row, &cadences)
}

/// A move the pathway refuses: the demo's plan is wrong.
fn refused(refusal: Refused) -> String {
    refusal.detail
}

fn finish(batch: &mut Batch, mut row: CaseRow, cadences: &Cadences) -> Result<(), String> {
    refresh_derived(&mut row, cadences).map_err(|e| e.to_string())?;
    batch.cases.push(row);
    Ok(())
}

fn indications_for(g: &mut Generator, program: Program) -> (Vec<Indication>, Vec<Substance>) {
    let mut indications = Vec::new();
    let mut substances = Vec::new();
    match program {
        Program::Sesame => {
            if g.chance(0.65) {
                indications.push(Indication::Depression);
            }
            if indications.is_empty() || g.chance(0.45) {
                indications.push(Indication::Anxiety);
            }
        }
        Program::MicrostructureMentalHealth => {
            // Anxious and mood troubles predominate (seeds/002).
            indications.push(if g.chance(0.6) {
                Indication::Anxiety
            } else {
                Indication::Depression
            });
        }
        Program::MicrostructureAddiction => {
            if g.chance(0.6) {
                indications.push(Indication::Addiction);
                // Alcohol > tobacco > opiates > cocaine, as the programs report.
                for (substance, p) in [
                    (Substance::Alcohol, 0.55),
                    (Substance::Tobacco, 0.4),
                    (Substance::Opiates, 0.2),
                    (Substance::Cocaine, 0.12),
                    (Substance::Cannabis, 0.12),
                    (Substance::Medications, 0.06),
                    (Substance::Gambling, 0.03),
                ] {
                    if g.chance(p) {
                        substances.push(substance);
                    }
                }
                if substances.is_empty() {
                    substances.push(Substance::Alcohol);
                }
            }
            if indications.is_empty() || g.chance(0.4) {
                indications.push(Indication::Precarity);
            }
            if g.chance(0.3) {
                indications.push(Indication::Anxiety);
            }
        }
    }
    (indications, substances)
}

#[allow(clippy::too_many_arguments)]
fn push_score(
    g: &mut Generator,
    batch: &mut Batch,
    row: &mut CaseRow,
    event_id: &str,
    s: &Score,
    at: DateTime<Utc>,
    context: &str,
    by: &str,
) {
    let id = g.id(at);
    batch.scores.push(ScoreRow::of(
        id,
        &row.id,
        event_id,
        s,
        naive(at),
        context,
        by,
    ));
    // Scores come in time order here: the last one is the latest.
    if let Some(latest) = row.latest_of(s.instrument) {
        *latest = Some(items_text(s));
    }
}

/// Writes a contact and its timeline event; returns the event's id.
fn push_contact(
    g: &mut Generator,
    batch: &mut Batch,
    case_id: &str,
    nurse: &str,
    at: DateTime<Utc>,
    outcome: ContactOutcome,
    scores: Option<&[Score]>,
) -> String {
    let contact_id = g.id(at);
    let mode = *g.pick(&[
        ContactMode::Phone,
        ContactMode::Phone,
        ContactMode::InPerson,
        ContactMode::Video,
    ]);
    batch.contacts.push(ContactRow {
        id: contact_id.clone(),
        case_id: case_id.to_owned(),
        occurred_at: naive(at),
        mode,
        outcome,
        duration_minutes: scores.map(|_| g.rng.random_range(10..=45)),
        note: None,
        next_planned_at: None,
        author_id: nurse.to_owned(),
        created_at: naive(at),
        kind: None,
        substance_use: None,
        epices: None,
    });
    let mut e = event(g, case_id, EventKind::Contact, nurse, at);
    e.contact_id = Some(contact_id);
    e.detail = Some(contact_detail(outcome));
    let id = e.id.clone();
    batch.events.push(e);
    id
}
