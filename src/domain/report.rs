//! The program report: the figures of PATHWAY.md §6 for a period and a scope, assembled from plain
//! facts by the definitions of `indicators` (stated in `docs/indicators.md`). The database layer
//! gathers the facts; nothing here touches it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::case::Program;
use super::indicators::{
    Count, EARLY_CONTACT_WEEKS, OUTCOME_WEEKS, Period, age_band, contacts_per_patient_month,
    days_to_assessment, four_contacts_in_twelve_weeks, known_by, mean, median, open_days_in,
    outcome_at_week, patient_months, recent_contact_from, round, share,
};
use super::instruments::Instrument;
use super::microstructure::SubstanceUse;
use super::programs::ProgramPeriod;

mod tables;

pub use tables::{
    ConsumptionFigures, KindRate, ProgramPopulation, ProgramTables, STATEMENTS, StatementFigures,
    SurveyFacts, SurveyFigures,
};

/// One case as the report sees it, as known at the period's end (`CaseFacts::as_of`).
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub patient_id: String,
    pub program: Program,
    pub nurse_id: Option<String>,
    pub indications: Vec<String>,
    pub substances: Vec<String>,
    pub sex: String,
    pub birth_date: NaiveDate,
    pub referred_at: DateTime<Utc>,
    pub assessed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub exit_reason: Option<String>,
    pub baseline_phq9: Option<u8>,
    pub baseline_gad7: Option<u8>,
    /// The latest completed contact up to the period's end.
    pub last_completed_contact_at: Option<DateTime<Utc>>,
    /// Completed contacts around the first 12 weeks after assessment (a superset is fine).
    pub early_completed_contacts: Vec<DateTime<Utc>>,
    /// PHQ-9 and GAD-7 totals measured around the outcome weeks (a superset is fine).
    pub follow_up_scores: Vec<(Instrument, DateTime<Utc>, u8)>,
    /// Microstructure: days of use at inclusion, and each product's last figure measured at a
    /// consultation since, up to the period's end.
    pub baseline_substance_use: Vec<SubstanceUse>,
    pub substance_use_since: Vec<SubstanceUse>,
}

impl CaseFacts {
    /// Forgets what happened from `end` on (`known_by`): an assessment, closing (and its reason)
    /// or latest contact after the period's end are not facts of the period. A baseline exists
    /// only with its assessment.
    pub fn as_of(mut self, end: DateTime<Utc>) -> Self {
        self.assessed_at = known_by(self.assessed_at, end);
        self.closed_at = known_by(self.closed_at, end);
        self.last_completed_contact_at = known_by(self.last_completed_contact_at, end);
        if self.closed_at.is_none() {
            self.exit_reason = None;
        }
        if self.assessed_at.is_none() {
            self.baseline_phq9 = None;
            self.baseline_gad7 = None;
            self.baseline_substance_use.clear();
        }
        self
    }
}

/// A tele-expertise request as the report sees it (dates after the period's end already cleared).
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub accepted: bool,
    pub declined: bool,
    pub cancelled: bool,
    pub answered_at: Option<DateTime<Utc>>,
}

impl RequestFacts {
    /// A request as known at `end` (`known_by`): a move made later has not happened yet.
    pub fn as_of(
        created_at: DateTime<Utc>,
        due_at: DateTime<Utc>,
        moves: [Option<DateTime<Utc>>; 4],
        end: DateTime<Utc>,
    ) -> Self {
        let [accepted, declined, cancelled, answered] = moves.map(|at| known_by(at, end));
        RequestFacts {
            created_at,
            due_at,
            accepted: accepted.is_some(),
            declined: declined.is_some(),
            cancelled: cancelled.is_some(),
            answered_at: answered,
        }
    }
}

/// A practice of the scope.
#[derive(Debug, Clone)]
pub struct PracticeFacts {
    pub region: String,
    pub network: Option<String>,
    /// The programs it runs or ran.
    pub programs: Vec<ProgramPeriod>,
}

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct Facts {
    /// Whole local days of `zone`.
    pub period: Period,
    pub zone: Tz,
    /// Cases open on at least one day of the period, plus those whose outcome or 12-week marks
    /// fall in it (each is tested against its own definition).
    pub cases: Vec<CaseFacts>,
    /// Completed contacts dated in the period, and unsuccessful attempts.
    pub completed_contacts: u64,
    pub unsuccessful_attempts: u64,
    pub practices: Vec<PracticeFacts>,
    /// (user, role) of everyone who recorded something on a case of the scope in the period.
    pub professionals: Vec<(String, String)>,
    /// Requests made in the period.
    pub requests: Vec<RequestFacts>,
    /// (user, role) of the active clinicians of the scope's practices.
    pub roster: Vec<(String, String)>,
    /// Completed microstructure consultations dated in the period: (kind, how many).
    pub consultations: Vec<(String, u64)>,
    /// Case review meetings held in the period by the scope's practices.
    pub meetings: u64,
    /// Patient surveys answered in the period on the scope's cases.
    pub surveys: Vec<SurveyFacts>,
}

/// A count of one group, with its share of the section's denominator.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Tally {
    pub group: String,
    pub count: Count,
    /// Withheld when the count or the denominator is suppressed, or the denominator is 0.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProgramReport {
    pub population: Population,
    pub structure: Structure,
    pub process: Process,
    /// PHQ-9 and GAD-7 at 12 and 24 weeks.
    pub outcomes: Vec<OutcomeFigures>,
    /// Cases closed in the period, by exit reason, most frequent first.
    pub exits: Vec<Tally>,
    pub tele_expertise: TeleExpertiseFigures,
    /// The tables the programs publish (the microstructures' deck).
    pub tables: ProgramTables,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Population {
    /// Patients with a case open on at least one day of the period.
    pub patients_followed: Count,
    /// Cases referred in the period.
    pub new_referrals: Count,
    /// Patients followed, by sex (F, M, U).
    pub sex: Vec<Tally>,
    /// Mean age at referral, in years (1 decimal); withheld when `patients_followed` is.
    pub mean_age: Option<f64>,
    pub median_age: Option<f64>,
    pub age_bands: Vec<Tally>,
    /// Followed patients' indications, most frequent first (a case may have several; shares are
    /// of patients followed).
    pub indications: Vec<Tally>,
    /// Substances of the addiction cases, most frequent first (shares of patients followed).
    pub substances: Vec<Tally>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Structure {
    pub practices: Count,
    pub practices_by_region: Vec<Tally>,
    /// Practices by network (`none` for a practice in no network).
    pub practices_by_network: Vec<Tally>,
    /// Professionals who recorded something on a case of the scope in the period, by role.
    pub professionals_by_role: Vec<Tally>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Process {
    /// Cases assessed in the period (the median's denominator).
    pub assessed: Count,
    pub median_days_to_assessment: Option<f64>,
    pub completed_contacts: Count,
    /// Months (30.44 days) the followed cases were open within the period.
    pub patient_months: f64,
    pub contacts_per_patient_month: Option<f64>,
    /// Cases assessed and still open at the period's end.
    pub active_at_end: Count,
    /// Of those, the ones with a completed contact in the period's last 30 days.
    pub contacted_in_last_30_days: Count,
    pub share_contacted_in_last_30_days: Option<f64>,
    /// Cases whose 12th week after assessment ends in the period.
    pub twelve_week_cohort: Count,
    /// Of those, the ones with at least 4 completed contacts in the 12 weeks.
    pub four_contacts_in_twelve_weeks: Count,
    pub share_four_contacts_in_twelve_weeks: Option<f64>,
    /// Nurses holding at least one case open at the period's end.
    pub nurses_with_caseload: Count,
    pub mean_caseload_per_nurse: Option<f64>,
    pub median_caseload_per_nurse: Option<f64>,
    /// Contacts in the period that did not take place (no answer, cancelled).
    pub unsuccessful_attempts: Count,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OutcomeFigures {
    /// `phq9` or `gad7`.
    pub instrument: String,
    pub week: i64,
    /// Cases whose week mark falls in the period, with a baseline of the instrument.
    pub with_baseline: Count,
    /// Of those, the ones with a score within ±2 weeks of the mark: the denominator.
    pub measured: Count,
    pub responded: Count,
    pub remitted: Count,
    pub response_share: Option<f64>,
    pub remission_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TeleExpertiseFigures {
    /// Requests made in the period; the others count among these.
    pub requests: Count,
    pub accepted: Count,
    pub declined: Count,
    pub cancelled: Count,
    pub answered: Count,
    pub median_hours_to_answer: Option<f64>,
    pub answered_within_due: Count,
    /// Of the answered ones.
    pub share_answered_within_due: Option<f64>,
}

/// Age in whole years on a day (0 for a day before the birth).
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    day.years_since(birth)
        .map_or(0, |y| i32::try_from(y).unwrap_or(i32::MAX))
}

impl Facts {
    /// The local day of an instant.
    pub fn day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }
}

/// A case's local days, converted once: time-zone conversions are most of the report's own work.
struct Days {
    referred: NaiveDate,
    assessed: Option<NaiveDate>,
    closed: Option<NaiveDate>,
    last_contact: Option<NaiveDate>,
    /// The days of the outcome marks, in the order of `OUTCOME_WEEKS`.
    marks: [Option<NaiveDate>; OUTCOME_WEEKS.len()],
    /// The day the `EARLY_CONTACT_WEEKS` after assessment end (the contact measure's mark).
    twelve_weeks: Option<NaiveDate>,
}

impl Days {
    fn of(facts: &Facts, case: &CaseFacts) -> Self {
        let day = |at: Option<DateTime<Utc>>| at.map(|at| facts.day(at));
        let after = |weeks: i64| day(case.assessed_at.map(|at| at + Duration::weeks(weeks)));
        let marks = OUTCOME_WEEKS.map(after);
        Days {
            referred: facts.day(case.referred_at),
            assessed: day(case.assessed_at),
            closed: day(case.closed_at),
            last_contact: day(case.last_completed_contact_at),
            twelve_weeks: after(EARLY_CONTACT_WEEKS),
            marks,
        }
    }

    fn open_at_end(&self, period: &Period) -> bool {
        self.closed.is_none_or(|d| d > period.to)
    }
}

fn within(period: &Period, day: Option<NaiveDate>) -> bool {
    day.is_some_and(|d| period.contains(d))
}

/// Counts by group, most frequent first then by name, with shares of `denominator`.
fn tallies<'a>(
    groups: impl IntoIterator<Item = &'a str>,
    denominator: Count,
    suppress: bool,
) -> Vec<Tally> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for group in groups {
        *counts.entry(group).or_default() += 1;
    }
    let mut rows: Vec<(&str, u64)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    rows.into_iter()
        .map(|(group, n)| {
            let count = Count::of(n, suppress);
            Tally {
                group: group.to_owned(),
                count,
                share: share(count, denominator),
            }
        })
        .collect()
}

/// A statistic over `n` values, withheld when `n` itself is published as `"<5"` or is 0.
fn guarded(n: Count, value: Option<f64>) -> Option<f64> {
    match n {
        Count::Exact(n) if n > 0 => value,
        _ => None,
    }
}

/// The report. `suppress` applies the small-cell rule (a scope wider than one practice, or CSV).
pub fn program_report(facts: &Facts, suppress: bool) -> ProgramReport {
    let period = &facts.period;
    let count = |n: usize| Count::of(n as u64, suppress);
    let days: Vec<Days> = facts.cases.iter().map(|c| Days::of(facts, c)).collect();
    let cases = || facts.cases.iter().zip(&days);
    let followed: Vec<(&CaseFacts, &Days)> = cases()
        .filter(|(_, d)| period.follows(d.referred, d.closed))
        .collect();

    // Population: each followed patient once, as of their latest referral followed in the period.
    let mut by_patient: HashMap<&str, (&CaseFacts, &Days)> = HashMap::new();
    for (case, day) in &followed {
        by_patient
            .entry(case.patient_id.as_str())
            .and_modify(|kept| {
                if case.referred_at > kept.0.referred_at {
                    *kept = (case, day);
                }
            })
            .or_insert((case, day));
    }
    let patients: Vec<(&CaseFacts, &Days)> = by_patient.into_values().collect();
    let patients_followed = count(patients.len());
    let ages: Vec<f64> = patients
        .iter()
        .map(|(c, d)| f64::from(age_on(c.birth_date, d.referred)))
        .collect();
    let mut indications_seen: Vec<&str> = Vec::new();
    let mut substances_seen: Vec<&str> = Vec::new();
    for (patient, _) in &patients {
        let mine: HashSet<&str> = patient.indications.iter().map(String::as_str).collect();
        indications_seen.extend(mine);
        let mine: HashSet<&str> = patient.substances.iter().map(String::as_str).collect();
        substances_seen.extend(mine);
    }
    let population = Population {
        patients_followed,
        new_referrals: count(
            followed
                .iter()
                .filter(|(_, d)| period.contains(d.referred))
                .count(),
        ),
        sex: tallies(
            patients.iter().map(|(c, _)| c.sex.as_str()),
            patients_followed,
            suppress,
        ),
        mean_age: guarded(patients_followed, mean(&ages).map(|m| round(m, 1))),
        median_age: guarded(patients_followed, median(&ages)),
        age_bands: tallies(
            ages.iter().map(|a| age_band(*a as i32)),
            patients_followed,
            suppress,
        ),
        indications: tallies(indications_seen, patients_followed, suppress),
        substances: tallies(substances_seen, patients_followed, suppress),
    };

    // Structure.
    let practices = count(facts.practices.len());
    let mut people: Vec<(&str, &str)> = facts
        .professionals
        .iter()
        .map(|(id, role)| (id.as_str(), role.as_str()))
        .collect();
    people.sort_unstable();
    people.dedup();
    let structure = Structure {
        practices,
        practices_by_region: tallies(
            facts.practices.iter().map(|p| p.region.as_str()),
            practices,
            suppress,
        ),
        practices_by_network: tallies(
            facts
                .practices
                .iter()
                .map(|p| p.network.as_deref().unwrap_or("none")),
            practices,
            suppress,
        ),
        professionals_by_role: tallies(
            people.iter().map(|(_, role)| *role),
            count(people.len()),
            suppress,
        ),
    };

    // Process.
    let assessed_days: Vec<f64> = followed
        .iter()
        .filter(|(_, d)| within(period, d.assessed))
        .filter_map(|(c, _)| {
            c.assessed_at
                .map(|at| days_to_assessment(c.referred_at, at) as f64)
        })
        .collect();
    let assessed = count(assessed_days.len());
    let open_days: i64 = followed
        .iter()
        .map(|(_, d)| open_days_in(period, d.referred, d.closed))
        .sum();
    let open_at_end: Vec<&(&CaseFacts, &Days)> = followed
        .iter()
        .filter(|(_, d)| d.open_at_end(period))
        .collect();
    let active: Vec<&&(&CaseFacts, &Days)> = open_at_end
        .iter()
        .filter(|(_, d)| d.assessed.is_some_and(|a| a <= period.to))
        .collect();
    let recent_from = recent_contact_from(period);
    let contacted = active
        .iter()
        .filter(|(_, d)| {
            d.last_contact
                .is_some_and(|c| c >= recent_from && c <= period.to)
        })
        .count();
    let cohort: Vec<&CaseFacts> = cases()
        .filter(|(_, d)| within(period, d.twelve_weeks))
        .map(|(c, _)| c)
        .collect();
    let with_four = cohort
        .iter()
        .filter(|c| {
            c.assessed_at
                .is_some_and(|at| four_contacts_in_twelve_weeks(at, &c.early_completed_contacts))
        })
        .count();
    let mut caseloads: HashMap<&str, u64> = HashMap::new();
    for (case, _) in &open_at_end {
        if let Some(nurse) = &case.nurse_id {
            *caseloads.entry(nurse.as_str()).or_default() += 1;
        }
    }
    let loads: Vec<f64> = caseloads.values().map(|n| *n as f64).collect();
    let nurses = count(loads.len());
    let active_count = count(active.len());
    let contacted_count = count(contacted);
    let cohort_count = count(cohort.len());
    let with_four_count = count(with_four);
    let completed = Count::of(facts.completed_contacts, suppress);
    let process = Process {
        assessed,
        median_days_to_assessment: guarded(assessed, median(&assessed_days)),
        completed_contacts: completed,
        patient_months: patient_months(open_days),
        contacts_per_patient_month: guarded(
            completed,
            contacts_per_patient_month(facts.completed_contacts, open_days),
        ),
        active_at_end: active_count,
        contacted_in_last_30_days: contacted_count,
        share_contacted_in_last_30_days: share(contacted_count, active_count),
        twelve_week_cohort: cohort_count,
        four_contacts_in_twelve_weeks: with_four_count,
        share_four_contacts_in_twelve_weeks: share(with_four_count, cohort_count),
        nurses_with_caseload: nurses,
        mean_caseload_per_nurse: guarded(nurses, mean(&loads).map(|m| round(m, 1))),
        median_caseload_per_nurse: guarded(nurses, median(&loads)),
        unsuccessful_attempts: Count::of(facts.unsuccessful_attempts, suppress),
    };

    // Outcomes.
    let mut outcomes = Vec::new();
    for instrument in [Instrument::Phq9, Instrument::Gad7] {
        for (mark, week) in OUTCOME_WEEKS.into_iter().enumerate() {
            let cohort = cases().filter(|(_, d)| within(period, d.marks[mark]));
            outcomes.push(outcome_figures(cohort, instrument, week, suppress));
        }
    }

    // Exits.
    let closed: Vec<&str> = followed
        .iter()
        .filter(|(_, d)| within(period, d.closed))
        .map(|(c, _)| c.exit_reason.as_deref().unwrap_or("unknown"))
        .collect();
    let exits = tallies(closed.iter().copied(), count(closed.len()), suppress);

    let followed_cases: Vec<&CaseFacts> = followed.iter().map(|(c, _)| *c).collect();
    ProgramReport {
        population,
        structure,
        process,
        outcomes,
        exits,
        tele_expertise: tele_expertise_figures(&facts.requests, suppress),
        tables: tables::tables(facts, &followed_cases, suppress),
    }
}

/// Response and remission at `week` over the cases whose mark falls in the period.
fn outcome_figures<'a>(
    cohort: impl Iterator<Item = (&'a CaseFacts, &'a Days)>,
    instrument: Instrument,
    week: i64,
    suppress: bool,
) -> OutcomeFigures {
    let count = |n: usize| Count::of(n as u64, suppress);
    let (mut with_baseline, mut measured, mut responded, mut remitted) = (0, 0, 0, 0);
    for (case, _) in cohort {
        let Some(assessed_at) = case.assessed_at else {
            continue;
        };
        let baseline = match instrument {
            Instrument::Gad7 => case.baseline_gad7,
            _ => case.baseline_phq9,
        };
        let Some(baseline) = baseline else {
            continue;
        };
        with_baseline += 1;
        let scores: Vec<(DateTime<Utc>, u8)> = case
            .follow_up_scores
            .iter()
            .filter(|(i, _, _)| *i == instrument)
            .map(|(_, at, total)| (*at, *total))
            .collect();
        if let Some(outcome) = outcome_at_week(instrument, baseline, assessed_at, week, &scores) {
            measured += 1;
            responded += usize::from(outcome.responded);
            remitted += usize::from(outcome.remitted);
        }
    }
    let measured_count = count(measured);
    let responded_count = count(responded);
    let remitted_count = count(remitted);
    OutcomeFigures {
        instrument: instrument.as_str().to_owned(),
        week,
        with_baseline: count(with_baseline),
        measured: measured_count,
        responded: responded_count,
        remitted: remitted_count,
        response_share: share(responded_count, measured_count),
        remission_share: share(remitted_count, measured_count),
    }
}

fn tele_expertise_figures(requests: &[RequestFacts], suppress: bool) -> TeleExpertiseFigures {
    let count = |n: usize| Count::of(n as u64, suppress);
    let answered: Vec<&RequestFacts> = requests
        .iter()
        .filter(|r| r.answered_at.is_some())
        .collect();
    let hours: Vec<f64> = answered
        .iter()
        .filter_map(|r| {
            r.answered_at
                .map(|at| (at - r.created_at).num_minutes() as f64 / 60.0)
        })
        .collect();
    let within = answered
        .iter()
        .filter(|r| r.answered_at.is_some_and(|at| at <= r.due_at))
        .count();
    let answered_count = count(answered.len());
    let within_count = count(within);
    TeleExpertiseFigures {
        requests: count(requests.len()),
        accepted: count(requests.iter().filter(|r| r.accepted).count()),
        declined: count(requests.iter().filter(|r| r.declined).count()),
        cancelled: count(requests.iter().filter(|r| r.cancelled).count()),
        answered: answered_count,
        median_hours_to_answer: guarded(answered_count, median(&hours).map(|h| round(h, 1))),
        answered_within_due: within_count,
        share_answered_within_due: share(within_count, answered_count),
    }
}

/// A published figure as text: a count (or `"<5"`), or a withheld statistic as empty.
fn cell(count: &Count) -> String {
    match count {
        Count::Exact(n) => n.to_string(),
        Count::Small(_) => "<5".to_owned(),
    }
}

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV field: quoted when needed, and never read as a formula by a spreadsheet.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One CSV line of fields, ended by a newline (the reports' and the research export's).
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

impl ProgramReport {
    /// The report as CSV: a header, then `rows`.
    pub fn csv(&self) -> String {
        let mut body = csv_line(&["section", "measure", "group", "value"]);
        for row in self.rows() {
            body.push_str(&csv_line(&row));
        }
        body
    }

    /// The report in long form, one figure per row: `(section, measure, group, value)`. A
    /// withheld statistic is an empty value. This is what the CSV holds.
    pub fn rows(&self) -> Vec<[String; 4]> {
        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut push = |section: &str, measure: &str, group: &str, value: String| {
            rows.push([section.into(), measure.into(), group.into(), value]);
        };
        let tallies = |push: &mut dyn FnMut(&str, &str, &str, String),
                       section: &str,
                       measure: &str,
                       list: &[Tally]| {
            for t in list {
                push(section, measure, &t.group, cell(&t.count));
                push(
                    section,
                    &format!("{measure}_share"),
                    &t.group,
                    number(t.share),
                );
            }
        };
        let p = &self.population;
        push(
            "population",
            "patients_followed",
            "",
            cell(&p.patients_followed),
        );
        push("population", "new_referrals", "", cell(&p.new_referrals));
        tallies(&mut push, "population", "sex", &p.sex);
        push("population", "mean_age", "", number(p.mean_age));
        push("population", "median_age", "", number(p.median_age));
        tallies(&mut push, "population", "age_band", &p.age_bands);
        tallies(&mut push, "population", "indication", &p.indications);
        tallies(&mut push, "population", "substance", &p.substances);
        let s = &self.structure;
        push("structure", "practices", "", cell(&s.practices));
        tallies(
            &mut push,
            "structure",
            "practices_by_region",
            &s.practices_by_region,
        );
        tallies(
            &mut push,
            "structure",
            "practices_by_network",
            &s.practices_by_network,
        );
        tallies(
            &mut push,
            "structure",
            "professionals_by_role",
            &s.professionals_by_role,
        );
        let q = &self.process;
        push("process", "assessed", "", cell(&q.assessed));
        push(
            "process",
            "median_days_to_assessment",
            "",
            number(q.median_days_to_assessment),
        );
        push(
            "process",
            "completed_contacts",
            "",
            cell(&q.completed_contacts),
        );
        push(
            "process",
            "patient_months",
            "",
            q.patient_months.to_string(),
        );
        push(
            "process",
            "contacts_per_patient_month",
            "",
            number(q.contacts_per_patient_month),
        );
        push("process", "active_at_end", "", cell(&q.active_at_end));
        push(
            "process",
            "contacted_in_last_30_days",
            "",
            cell(&q.contacted_in_last_30_days),
        );
        push(
            "process",
            "share_contacted_in_last_30_days",
            "",
            number(q.share_contacted_in_last_30_days),
        );
        push(
            "process",
            "twelve_week_cohort",
            "",
            cell(&q.twelve_week_cohort),
        );
        push(
            "process",
            "four_contacts_in_twelve_weeks",
            "",
            cell(&q.four_contacts_in_twelve_weeks),
        );
        push(
            "process",
            "share_four_contacts_in_twelve_weeks",
            "",
            number(q.share_four_contacts_in_twelve_weeks),
        );
        push(
            "process",
            "nurses_with_caseload",
            "",
            cell(&q.nurses_with_caseload),
        );
        push(
            "process",
            "mean_caseload_per_nurse",
            "",
            number(q.mean_caseload_per_nurse),
        );
        push(
            "process",
            "median_caseload_per_nurse",
            "",
            number(q.median_caseload_per_nurse),
        );
        push(
            "process",
            "unsuccessful_attempts",
            "",
            cell(&q.unsuccessful_attempts),
        );
        for o in &self.outcomes {
            let group = format!("{}_week_{}", o.instrument, o.week);
            push("outcomes", "with_baseline", &group, cell(&o.with_baseline));
            push("outcomes", "measured", &group, cell(&o.measured));
            push("outcomes", "responded", &group, cell(&o.responded));
            push("outcomes", "remitted", &group, cell(&o.remitted));
            push(
                "outcomes",
                "response_share",
                &group,
                number(o.response_share),
            );
            push(
                "outcomes",
                "remission_share",
                &group,
                number(o.remission_share),
            );
        }
        tallies(&mut push, "exits", "exit_reason", &self.exits);
        let t = &self.tele_expertise;
        push("tele_expertise", "requests", "", cell(&t.requests));
        push("tele_expertise", "accepted", "", cell(&t.accepted));
        push("tele_expertise", "declined", "", cell(&t.declined));
        push("tele_expertise", "cancelled", "", cell(&t.cancelled));
        push("tele_expertise", "answered", "", cell(&t.answered));
        push(
            "tele_expertise",
            "median_hours_to_answer",
            "",
            number(t.median_hours_to_answer),
        );
        push(
            "tele_expertise",
            "answered_within_due",
            "",
            cell(&t.answered_within_due),
        );
        push(
            "tele_expertise",
            "share_answered_within_due",
            "",
            number(t.share_answered_within_due),
        );
        let x = &self.tables;
        let section = "tables";
        tallies(
            &mut push,
            section,
            "practices_by_program",
            &x.practices_by_program,
        );
        push(section, "microstructures", "", cell(&x.microstructures));
        push(section, "polyvalentes", "", cell(&x.polyvalentes));
        push(
            section,
            "share_polyvalentes",
            "",
            number(x.share_polyvalentes),
        );
        tallies(
            &mut push,
            section,
            "microstructures_by_region",
            &x.microstructures_by_region,
        );
        push(
            section,
            "microstructure_networks",
            "",
            cell(&x.microstructure_networks),
        );
        tallies(&mut push, section, "roster_by_role", &x.roster_by_role);
        for p in &x.by_program {
            let program = p.program.as_str();
            push(
                section,
                "patients_followed",
                program,
                cell(&p.patients_followed),
            );
            push(section, "mean_age", program, number(p.mean_age));
            for (measure, list) in [
                ("sex", &p.sex),
                ("product", &p.products),
                ("trouble", &p.troubles),
            ] {
                for t in list {
                    let group = format!("{program}:{}", t.group);
                    push(section, measure, &group, cell(&t.count));
                    push(
                        section,
                        &format!("{measure}_share"),
                        &group,
                        number(t.share),
                    );
                }
            }
        }
        for k in &x.consultations_by_kind {
            push(section, "consultations", &k.kind, cell(&k.count));
            push(
                section,
                "consultations_per_patient_month",
                &k.kind,
                number(k.per_patient_month),
            );
        }
        push(
            section,
            "microstructure_patient_months",
            "",
            x.microstructure_patient_months.to_string(),
        );
        push(section, "meetings", "", cell(&x.meetings));
        push(
            section,
            "practice_months",
            "",
            x.practice_months.to_string(),
        );
        push(
            section,
            "meetings_per_practice_month",
            "",
            number(x.meetings_per_practice_month),
        );
        let c = &x.consumption;
        push(section, "consumption_measured", "", cell(&c.measured));
        push(section, "consumption_improved", "", cell(&c.improved));
        push(
            section,
            "share_consumption_improved",
            "",
            number(c.share_improved),
        );
        push(
            section,
            "survey_respondents",
            "",
            cell(&x.survey.respondents),
        );
        for st in &x.survey.statements {
            push(
                section,
                "survey_answered",
                &st.statement,
                cell(&st.answered),
            );
            push(section, "survey_agreed", &st.statement, cell(&st.agreed));
            push(
                section,
                "survey_share_agreed",
                &st.statement,
                number(st.share_agreed),
            );
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::indicators::tests::{d, t};

    fn case(patient: &str, referred: &str) -> CaseFacts {
        CaseFacts {
            patient_id: patient.into(),
            program: Program::Sesame,
            nurse_id: Some("n1".into()),
            indications: vec!["depression".into()],
            substances: vec![],
            sex: "F".into(),
            birth_date: d("1980-06-15"),
            referred_at: t(referred),
            assessed_at: None,
            closed_at: None,
            exit_reason: None,
            baseline_phq9: None,
            baseline_gad7: None,
            last_completed_contact_at: None,
            early_completed_contacts: vec![],
            follow_up_scores: vec![],
            baseline_substance_use: vec![],
            substance_use_since: vec![],
        }
    }

    fn facts(cases: Vec<CaseFacts>) -> Facts {
        Facts {
            period: Period {
                from: d("2026-01-01"),
                to: d("2026-06-30"),
            },
            zone: chrono_tz::Europe::Paris,
            cases,
            completed_contacts: 12,
            unsuccessful_attempts: 3,
            practices: vec![
                PracticeFacts {
                    region: "Bretagne".into(),
                    network: Some("R1".into()),
                    programs: vec![],
                },
                PracticeFacts {
                    region: "Bretagne".into(),
                    network: None,
                    programs: vec![],
                },
            ],
            professionals: vec![
                ("n1".into(), "nurse".into()),
                ("n1".into(), "nurse".into()),
                ("g1".into(), "gp".into()),
            ],
            requests: vec![
                RequestFacts {
                    created_at: t("2026-02-01"),
                    due_at: t("2026-02-08"),
                    accepted: true,
                    declined: false,
                    cancelled: false,
                    answered_at: Some(t("2026-02-03")),
                },
                RequestFacts {
                    created_at: t("2026-03-01"),
                    due_at: t("2026-03-03"),
                    accepted: true,
                    declined: false,
                    cancelled: false,
                    answered_at: Some(t("2026-03-05")),
                },
                RequestFacts {
                    created_at: t("2026-03-01"),
                    due_at: t("2026-03-08"),
                    accepted: false,
                    declined: true,
                    cancelled: false,
                    answered_at: None,
                },
            ],
            roster: vec![],
            consultations: vec![],
            meetings: 0,
            surveys: vec![],
        }
    }

    /// Three patients: one referred before the period and assessed, followed fortnightly, with a
    /// response at 12 weeks; one referred in the period, closed in remission; one closed before
    /// the period (not followed).
    fn three_patients() -> Facts {
        let mut a = case("p1", "2025-12-01");
        a.birth_date = d("1970-12-02"); // 54 at referral
        let assessed = t("2025-12-15");
        a.assessed_at = Some(assessed);
        a.baseline_phq9 = Some(16);
        a.baseline_gad7 = Some(10);
        a.early_completed_contacts = (1..=5).map(|k| assessed + Duration::weeks(2 * k)).collect();
        a.last_completed_contact_at = Some(t("2026-06-20"));
        a.follow_up_scores = vec![
            (Instrument::Phq9, assessed + Duration::weeks(12), 7),
            (Instrument::Gad7, assessed + Duration::weeks(13), 6),
            (Instrument::Phq9, assessed + Duration::weeks(24), 4),
        ];
        let mut b = case("p2", "2026-02-01");
        b.sex = "M".into();
        b.birth_date = d("2000-01-01"); // 26
        b.indications = vec!["addiction".into(), "anxiety".into()];
        b.substances = vec!["alcohol".into()];
        b.assessed_at = Some(t("2026-02-11"));
        b.closed_at = Some(t("2026-05-01"));
        b.exit_reason = Some("remission".into());
        b.nurse_id = Some("n2".into());
        let mut c = case("p3", "2025-01-01");
        c.closed_at = Some(t("2025-12-31"));
        facts(vec![a, b, c])
    }

    #[test]
    fn a_hand_counted_report() {
        let r = program_report(&three_patients(), false);
        let p = &r.population;
        assert_eq!(p.patients_followed, Count::Exact(2));
        assert_eq!(p.new_referrals, Count::Exact(1));
        assert_eq!(p.mean_age, Some(40.0));
        assert_eq!(p.median_age, Some(40.0));
        assert_eq!(
            p.sex,
            vec![
                Tally {
                    group: "F".into(),
                    count: Count::Exact(1),
                    share: Some(0.5)
                },
                Tally {
                    group: "M".into(),
                    count: Count::Exact(1),
                    share: Some(0.5)
                },
            ]
        );
        assert_eq!(p.indications[0].group, "addiction");
        assert_eq!(p.indications.len(), 3);
        assert_eq!(p.substances[0].count, Count::Exact(1));
        assert_eq!(r.structure.practices_by_network[0].group, "R1");
        assert_eq!(r.structure.professionals_by_role.len(), 2);
        let q = &r.process;
        // Only b was assessed in the period, 10 days after referral.
        assert_eq!(q.assessed, Count::Exact(1));
        assert_eq!(q.median_days_to_assessment, Some(10.0));
        // a open all 181 days; b 2026-02-01..2026-05-01 = 90 days; 271 days = 8.90 months.
        assert_eq!(q.patient_months, 8.9);
        assert_eq!(q.contacts_per_patient_month, Some(1.35));
        assert_eq!(q.active_at_end, Count::Exact(1));
        assert_eq!(q.contacted_in_last_30_days, Count::Exact(1));
        assert_eq!(q.share_contacted_in_last_30_days, Some(1.0));
        // a's 12th week (2026-03-09) and b's (2026-05-06) are in the period; only a had 4.
        assert_eq!(q.twelve_week_cohort, Count::Exact(2));
        assert_eq!(q.four_contacts_in_twelve_weeks, Count::Exact(1));
        assert_eq!(q.share_four_contacts_in_twelve_weeks, Some(0.5));
        assert_eq!(q.nurses_with_caseload, Count::Exact(1));
        assert_eq!(q.mean_caseload_per_nurse, Some(1.0));
        let phq12 = &r.outcomes[0];
        assert_eq!((phq12.instrument.as_str(), phq12.week), ("phq9", 12));
        assert_eq!(phq12.with_baseline, Count::Exact(1));
        assert_eq!(phq12.measured, Count::Exact(1));
        assert_eq!(phq12.responded, Count::Exact(1));
        assert_eq!(phq12.remitted, Count::Exact(0));
        assert_eq!(phq12.response_share, Some(1.0));
        // a's 24th week (2026-06-01) in the period: 4 is a remission.
        assert_eq!(r.outcomes[1].remitted, Count::Exact(1));
        // GAD-7 10 → 6 at week 13: no response.
        assert_eq!(r.outcomes[2].measured, Count::Exact(1));
        assert_eq!(r.outcomes[2].responded, Count::Exact(0));
        assert_eq!(r.exits[0].group, "remission");
        let te = &r.tele_expertise;
        assert_eq!(te.requests, Count::Exact(3));
        assert_eq!(te.answered, Count::Exact(2));
        assert_eq!(te.median_hours_to_answer, Some(72.0));
        assert_eq!(te.answered_within_due, Count::Exact(1));
        assert_eq!(te.share_answered_within_due, Some(0.5));
    }

    #[test]
    fn small_cells_hide_counts_and_what_derives_from_them() {
        let r = program_report(&three_patients(), true);
        assert!(r.population.patients_followed.is_suppressed());
        assert_eq!(r.population.mean_age, None);
        assert_eq!(r.population.sex[0].share, None);
        assert_eq!(r.process.median_days_to_assessment, None);
        assert_eq!(r.process.share_four_contacts_in_twelve_weeks, None);
        assert_eq!(r.tele_expertise.median_hours_to_answer, None);
        // 12 completed contacts is not a small cell, and the rate is not a count.
        assert_eq!(r.process.completed_contacts, Count::Exact(12));
        assert_eq!(r.process.contacts_per_patient_month, Some(1.35));
        let rows = r.rows();
        assert!(rows.contains(&[
            "population".into(),
            "patients_followed".into(),
            String::new(),
            "<5".into()
        ]));
        assert!(rows.iter().all(|row| row[3] != "1" && row[3] != "2"));
    }

    #[test]
    fn what_happens_after_the_end_is_forgotten() {
        let mut c = case("p1", "2026-01-05");
        c.assessed_at = Some(t("2026-02-01"));
        c.baseline_phq9 = Some(16);
        c.closed_at = Some(t("2026-05-01"));
        c.exit_reason = Some("remission".into());
        c.last_completed_contact_at = Some(t("2026-04-20"));
        let at_march = c.clone().as_of(t("2026-03-01"));
        assert_eq!(at_march.assessed_at, Some(t("2026-02-01")));
        assert_eq!(at_march.baseline_phq9, Some(16));
        assert_eq!((at_march.closed_at, at_march.exit_reason), (None, None));
        assert_eq!(at_march.last_completed_contact_at, None);
        let at_january = c.as_of(t("2026-01-20"));
        assert_eq!(
            (at_january.assessed_at, at_january.baseline_phq9),
            (None, None)
        );
        let request = RequestFacts::as_of(
            t("2026-01-10"),
            t("2026-01-17"),
            [Some(t("2026-01-11")), None, None, Some(t("2026-02-02"))],
            t("2026-02-01"),
        );
        assert!(request.accepted);
        assert_eq!(request.answered_at, None);
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-3"), "-3");
        assert_eq!(csv_field("@x,y"), "\"'@x,y\"");
        assert_eq!(csv_line(&["a", "", "<5"]), "a,,<5\n");
        let csv = program_report(&three_patients(), true).csv();
        assert!(csv.starts_with("section,measure,group,value\npopulation,patients_followed,,"));
    }

    #[test]
    fn ages_in_whole_years() {
        assert_eq!(age_on(d("1980-06-15"), d("2026-06-14")), 45);
        assert_eq!(age_on(d("1980-06-15"), d("2026-06-15")), 46);
    }
}
