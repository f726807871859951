//! Factories for what a test starts from, in the style of the crates.io test suite. Everything is
//! made through the application itself — the HTTP API in-process, or the accounts service as
//! `sesame user create` uses it — never by writing rows, so that setting up walks the real paths.
//!
//! ```ignore
//! let app = TestApp::new().await;
//! let team = app.team().await; // a practice with its GP, nurse and psychiatrist
//! let coordinator = app.coordinator_of(&team.practice).email("Coord@Example.fr").await;
//! let minor = app.patient_of(&team.gp).born("2012-05-01").await;
//! let case = app.case_in(Phase::Active).team(&team).await; // referred, then assessed
//! let request = app.tele_expertise(&case, &team.nurse, &team.psy).await;
//! ```
//!
//! Awaiting a builder makes the thing and asserts that the application agreed; `send()` gives the
//! application's raw answer instead, for the tests of the making itself.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use sesame::domain::account::{Locale, Role};
use sesame::domain::pathway::{ExitReason, Phase};
use sesame::domain::tele_expertise::Urgency;
use sesame::service::Caller;
use sesame::service::accounts::{self, NewAccount};

use super::{Bearer, ClockNow, PASSWORD, Resp, TestApp};

/// What awaiting a builder runs.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Builders are awaited directly: `app.nurse_of(&practice).await`.
macro_rules! awaitable {
    ($($spec:ty => $thing:ty),* $(,)?) => {$(
        impl<'a> IntoFuture for $spec {
            type Output = $thing;
            type IntoFuture = Pending<'a, $thing>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.make())
            }
        }
    )*};
}

awaitable!(
    AccountSpec<'a> => Account,
    Making<'a, Practice> => Practice,
    Making<'a, Patient> => Patient,
    CaseSpec<'a> => Case,
    Making<'a, TeleExpertise> => TeleExpertise,
);

/// Things known by their id print as it (`format!("/api/v1/cases/{case}")`) and go into request
/// bodies as it (`json!({"patient_id": patient})`).
macro_rules! known_by_id {
    ($($thing:ident),*) => {$(
        impl From<String> for $thing {
            fn from(id: String) -> Self {
                Self { id }
            }
        }
        impl fmt::Display for $thing {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.id)
            }
        }
        impl Serialize for $thing {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.id)
            }
        }
    )*};
}

known_by_id!(Practice, Patient, TeleExpertise);

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

fn id_of(resp: &Resp) -> String {
    resp.body["id"].as_str().expect("an id").to_owned()
}

/// A thing in the making: the application makes it on a POST of `body` to `url` by `who` (by the
/// administrator when `None`), and answers 201 with its id.
pub struct Making<'a, T> {
    app: &'a TestApp,
    who: Option<String>,
    url: String,
    body: Value,
    made: PhantomData<T>,
}

impl<'a, T: From<String>> Making<'a, T> {
    fn post(app: &'a TestApp, who: Option<&dyn Bearer>, url: String, body: Value) -> Self {
        let who = who.map(|who| who.token().to_owned());
        let made = PhantomData;
        Self {
            app,
            who,
            url,
            body,
            made,
        }
    }

    fn with(mut self, field: &str, value: impl Serialize) -> Self {
        self.body[field] = json!(value);
        self
    }

    /// The application's raw answer.
    pub async fn send(self) -> Resp {
        let who = match self.who {
            Some(token) => token,
            None => self.app.admin().await.token,
        };
        self.app.post(&self.url, Some(&who), self.body).await
    }

    async fn make(self) -> T {
        let resp = self.send().await;
        resp.assert_status(201);
        T::from(id_of(&resp))
    }
}

/// A person's account, signed in. The token lives 15 minutes of the test clock: `app.renew(&mut
/// account)` after moving the clock on.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub token: String,
    signed_in: DateTime<Utc>,
}

impl Bearer for Account {
    fn token(&self) -> &str {
        &self.token
    }
}

pub struct AccountSpec<'a> {
    app: &'a TestApp,
    role: Role,
    practices: Vec<String>,
    email: Option<String>,
}

impl TestApp {
    /// An account of `role` working in `practices`, made as `sesame user create` makes it, then
    /// signed in. Its email is `{role}@example.fr`, then `{role}2@example.fr`…, unless given.
    pub fn account(&self, role: Role, practices: &[&Practice]) -> AccountSpec<'_> {
        AccountSpec {
            app: self,
            role,
            practices: practices.iter().map(|p| p.id.clone()).collect(),
            email: None,
        }
    }

    pub fn gp_of(&self, practice: &Practice) -> AccountSpec<'_> {
        self.account(Role::Gp, &[practice])
    }

    pub fn nurse_of(&self, practice: &Practice) -> AccountSpec<'_> {
        self.account(Role::Nurse, &[practice])
    }

    pub fn psychiatrist_of(&self, practice: &Practice) -> AccountSpec<'_> {
        self.account(Role::Psychiatrist, &[practice])
    }

    pub fn coordinator_of(&self, practice: &Practice) -> AccountSpec<'_> {
        self.account(Role::Coordinator, &[practice])
    }

    /// The administrator (`admin@example.fr`), made on first use; the factories act as them. Signed
    /// in again when the clock has moved on since.
    pub async fn admin(&self) -> Account {
        let known = self.admin.borrow().clone();
        let admin = match known {
            Some(admin) if self.clock.now_at() - admin.signed_in < Duration::minutes(10) => {
                return admin;
            }
            Some(mut admin) => {
                self.renew(&mut admin).await;
                admin
            }
            None => self.account(Role::Admin, &[]).await,
        };
        self.admin.replace(Some(admin.clone()));
        admin
    }

    /// Signs `who` in again: a fresh token at the test clock's time.
    pub async fn renew(&self, who: &mut Account) {
        who.token = self.token(&who.email).await;
        who.signed_in = self.clock.now_at();
    }

    fn next_email(&self, role: Role) -> String {
        let mut made = self.accounts_of_role.borrow_mut();
        let n = made.entry(role.as_str()).or_default();
        *n += 1;
        match *n {
            1 => format!("{}@example.fr", role.as_str()),
            n => format!("{}{n}@example.fr", role.as_str()),
        }
    }

    /// A number no other call on this app gives, for names that must be unique.
    pub fn serial(&self) -> u32 {
        self.serial.set(self.serial.get() + 1);
        self.serial.get()
    }
}

impl AccountSpec<'_> {
    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }

    async fn make(self) -> Account {
        let app = self.app;
        let input = NewAccount {
            email: self.email.unwrap_or_else(|| app.next_email(self.role)),
            name: format!("Test {}", self.role.as_str()),
            role: self.role,
            practice_ids: self.practices,
            locale: Locale::Fr,
            password: PASSWORD.to_owned(),
        };
        let record = accounts::create(&app.state.db, Caller::Operator, input, app.clock.now_at())
            .await
            .expect("create account");
        let mut account = Account {
            id: record.user.id,
            email: record.user.email,
            token: String::new(),
            signed_in: app.clock.now_at(),
        };
        app.renew(&mut account).await;
        account
    }
}

/// Practice software: an API client of one practice, with a token of the client-credentials grant.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub id: String,
    pub token: String,
}

impl Bearer for ApiClient {
    fn token(&self) -> &str {
        &self.token
    }
}

impl TestApp {
    pub async fn api_client_of(&self, practice: &Practice) -> ApiClient {
        let admin = self.admin().await;
        let created = self
            .post(
                "/api/v1/api-clients",
                Some(&admin),
                json!({"practice_id": practice, "name": "Logiciel métier"}),
            )
            .await;
        created.assert_status(201);
        let grant = json!({"grant_type": "client_credentials",
            "client_id": created.body["id"], "client_secret": created.body["client_secret"]});
        let token = self.post("/api/v1/auth/token", None, grant).await;
        token.assert_status(200);
        ApiClient {
            id: id_of(&created),
            token: token.body["access_token"]
                .as_str()
                .expect("token")
                .to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Practice {
    pub id: String,
}

impl TestApp {
    /// A practice, "Cabinet Voltaire" of the network "Réseau Est" in the region "Grand Est", made
    /// by the administrator; it runs every program since 2020 (`running` says which).
    pub fn practice(&self) -> Making<'_, Practice> {
        self.practice_named("Cabinet Voltaire")
    }

    pub fn practice_named(&self, name: &str) -> Making<'_, Practice> {
        let body = json!({"name": name, "network": "Réseau Est", "region": "Grand Est"});
        Making::post(self, None, "/api/v1/practices".into(), body).running(&[
            "sesame",
            "microstructure_addiction",
            "microstructure_mental_health",
        ])
    }
}

impl Making<'_, Practice> {
    /// Runs these programs since 2020-01-01, under a permanent scheme.
    pub fn running(self, programs: &[&str]) -> Self {
        let periods: Vec<Value> = programs
            .iter()
            .map(|program| {
                json!({"program": program, "starts_on": "2020-01-01", "funding": "permanent"})
            })
            .collect();
        self.with("programs", periods)
    }

    pub fn in_region(self, region: &str) -> Self {
        self.with("region", region)
    }

    pub fn in_network(self, network: &str) -> Self {
        self.with("network", network)
    }

    /// Runs exactly these periods.
    pub fn with_programs(self, periods: Value) -> Self {
        self.with("programs", periods)
    }

    pub fn without_network(mut self) -> Self {
        self.body.as_object_mut().expect("body").remove("network");
        self
    }
}

/// A practice with the care team of its cases: a GP, a nurse and a psychiatrist (`psy`).
#[derive(Debug, Clone)]
pub struct Team {
    pub practice: Practice,
    pub gp: Account,
    pub nurse: Account,
    pub psy: Account,
}

impl TestApp {
    pub async fn team(&self) -> Team {
        let practice = self.practice().await;
        Team {
            gp: self.gp_of(&practice).await,
            nurse: self.nurse_of(&practice).await,
            psy: self.psychiatrist_of(&practice).await,
            practice,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Patient {
    pub id: String,
}

impl TestApp {
    /// A patient registered by `registrar` (a GP, or the practice software) in their practice:
    /// Lucie Martin, born 1981-02-03, informed of the program, under a new file number `DOS-n`.
    pub fn patient_of(&self, registrar: &impl Bearer) -> Making<'_, Patient> {
        let body = json!({
            "external_id": format!("DOS-{}", self.serial()), "family_name": "Martin",
            "given_names": "Lucie", "birth_date": "1981-02-03", "sex": "F", "consent": "informed"
        });
        Making::post(self, Some(registrar), "/api/v1/patients".into(), body)
    }
}

impl Making<'_, Patient> {
    pub fn external_id(self, id: &str) -> Self {
        self.with("external_id", id)
    }

    pub fn named(self, family_name: &str, given_names: &str) -> Self {
        self.with("family_name", family_name)
            .with("given_names", given_names)
    }

    pub fn born(self, birth_date: &str) -> Self {
        self.with("birth_date", birth_date)
    }

    pub fn sex(self, sex: &str) -> Self {
        self.with("sex", sex)
    }

    pub fn email(self, email: &str) -> Self {
        self.with("email", email)
    }

    pub fn ins(self, ins: &str) -> Self {
        self.with("ins", ins)
    }

    pub fn in_practice(self, practice: &Practice) -> Self {
        self.with("practice_id", practice)
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub patient: Patient,
}

impl Case {
    pub fn url(&self) -> String {
        format!("/api/v1/cases/{}", self.id)
    }
}

/// A PHQ-9 answered for `total`, 3 at most an item from the first; item 9 stays 0 up to 24.
pub fn phq9(total: u8) -> Value {
    items(total, 9)
}

/// A GAD-7 answered for `total`, 3 at most an item from the first.
pub fn gad7(total: u8) -> Value {
    items(total, 7)
}

fn items(total: u8, count: usize) -> Value {
    let mut left = total;
    let answers: Vec<u8> = (0..count)
        .map(|_| {
            let answer = left.min(3);
            left -= answer;
            answer
        })
        .collect();
    assert_eq!(left, 0, "{total} is more than {count} items hold");
    json!(answers)
}

/// The standard referral: depression and anxiety, screened with a PHQ-2 and a PHQ-9 of 14
/// (item 9 at 0), with a note.
fn referral() -> Value {
    json!({
        "program": "sesame", "indications": ["depression", "anxiety"],
        "screening": {"phq2": [2, 2], "phq9": [2, 2, 2, 2, 2, 2, 1, 1, 0]},
        "note": "Humeur basse depuis 3 mois."
    })
}

pub struct CaseSpec<'a> {
    app: &'a TestApp,
    phase: Phase,
    patient: Option<Patient>,
    gp: Option<Account>,
    nurse: Option<Account>,
    referral: Value,
    /// A case of the addiction microstructure, included and moved by the GP.
    microstructure: bool,
}

impl TestApp {
    /// A case brought to `phase` along the pathway: referred by its GP, then for `Active`
    /// assessed by its nurse (PHQ-9 15, GAD-7 11), for `RelapsePrevention` also moved on by them,
    /// for `Closed` closed by them at once (exit reason `other`; `close` for another). The patient
    /// is a new one of the GP's unless given.
    pub fn case_in(&self, phase: Phase) -> CaseSpec<'_> {
        CaseSpec {
            app: self,
            phase,
            patient: None,
            gp: None,
            nurse: None,
            referral: referral(),
            microstructure: false,
        }
    }

    /// The GP's standard referral of `patient`: the application's raw answer.
    pub async fn refer(&self, gp: &Account, patient: &Patient) -> Resp {
        let mut body = referral();
        body["patient_id"] = json!(patient);
        self.post("/api/v1/cases", Some(gp), body).await
    }

    /// The nurse's initial assessment (PHQ-9 15, GAD-7 11): the case becomes active.
    pub async fn assess(&self, case: &Case, nurse: &Account) {
        self.assess_with(
            case,
            nurse,
            json!({"phq9": phq9(15), "gad7": gad7(11), "care_plan": "Suivi."}),
        )
        .await;
    }

    pub async fn assess_with(&self, case: &Case, nurse: &Account, body: Value) {
        self.post(&format!("{}/assessment", case.url()), Some(nurse), body)
            .await
            .assert_status(200);
    }

    pub async fn close(&self, case: &Case, nurse: &Account, reason: ExitReason) {
        self.transition(case, nurse, json!({"to": "closed", "exit_reason": reason}))
            .await;
    }

    async fn transition(&self, case: &Case, nurse: &Account, body: Value) {
        self.post(&format!("{}/transitions", case.url()), Some(nurse), body)
            .await
            .assert_status(200);
    }
}

impl CaseSpec<'_> {
    /// Referred by the team's GP, and cared for by its nurse.
    pub fn team(mut self, team: &Team) -> Self {
        self.gp = Some(team.gp.clone());
        self.nurse = Some(team.nurse.clone());
        self
    }

    pub fn referred_by(mut self, gp: &Account) -> Self {
        self.gp = Some(gp.clone());
        self
    }

    pub fn of(mut self, patient: &Patient) -> Self {
        self.patient = Some(patient.clone());
        self
    }

    /// Another referral body (`patient_id` is added).
    pub fn referral(mut self, body: Value) -> Self {
        self.referral = body;
        self
    }

    /// A case of the addiction microstructure (alcohol, precarity), included (20 days of alcohol
    /// in the last 28) and moved by its GP, with no nurse.
    pub fn microstructure(mut self) -> Self {
        self.microstructure = true;
        self.referral(json!({"program": "microstructure_addiction",
            "indications": ["addiction", "precarity"], "substances": ["alcohol"],
            "screening": {"phq2": [1, 1]}}))
    }

    /// A referral for depression whose screening PHQ-9 answers item 9 above 0: the GP and the
    /// nurse are told at once.
    pub fn with_safety_alert(self) -> Self {
        self.referral(json!({"program": "sesame", "indications": ["depression"],
                             "screening": {"phq9": [3, 3, 2, 2, 2, 2, 1, 1, 2]}}))
    }

    async fn make(self) -> Case {
        let app = self.app;
        let gp = self
            .gp
            .expect("a case needs its referring GP: `.team(&team)` or `.referred_by(&gp)`");
        let patient = match self.patient {
            Some(patient) => patient,
            None => app.patient_of(&gp).await,
        };
        let mut body = self.referral;
        body["patient_id"] = json!(patient);
        let referred = app.post("/api/v1/cases", Some(&gp), body).await;
        referred.assert_status(201);
        let case = Case {
            id: id_of(&referred),
            patient,
        };
        if self.phase == Phase::Referred {
            return case;
        }
        let nurse = if self.microstructure {
            gp
        } else {
            self.nurse
                .expect("a case beyond its referral needs its nurse: `.team(&team)`")
        };
        let assessment = if self.microstructure {
            json!({"care_plan": "Suivi hebdomadaire.",
                   "substance_use": [{"substance": "alcohol", "days": 20}]})
        } else {
            json!({"phq9": phq9(15), "gad7": gad7(11), "care_plan": "Suivi."})
        };
        match self.phase {
            Phase::Referred => {}
            Phase::Active => app.assess_with(&case, &nurse, assessment).await,
            Phase::RelapsePrevention => {
                app.assess_with(&case, &nurse, assessment).await;
                let to = json!({"to": Phase::RelapsePrevention});
                app.transition(&case, &nurse, to).await;
            }
            Phase::Closed => app.close(&case, &nurse, ExitReason::Other).await,
        }
        case
    }
}

#[derive(Debug, Clone)]
pub struct TeleExpertise {
    pub id: String,
}

impl TestApp {
    /// A request on `case` from `requester` to `expert`: "Faut-il adapter le traitement ?",
    /// routine, with the patient's consent.
    pub fn tele_expertise(
        &self,
        case: &Case,
        requester: &Account,
        expert: &Account,
    ) -> Making<'_, TeleExpertise> {
        let body = json!({"expert_id": expert.id, "question": "Faut-il adapter le traitement ?",
                          "urgency": "routine", "patient_consent": true});
        let url = format!("{}/tele-expertise", case.url());
        Making::post(self, Some(requester), url, body)
    }
}

impl Making<'_, TeleExpertise> {
    pub fn urgency(self, urgency: Urgency) -> Self {
        self.with("urgency", urgency)
    }

    pub fn without_consent(self) -> Self {
        self.with("patient_consent", false)
    }

    /// Scores of the case, by id, attached to the question.
    pub fn attach(self, score_ids: Value) -> Self {
        self.with("attached_score_ids", score_ids)
    }
}
