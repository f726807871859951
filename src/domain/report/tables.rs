//! The tables the programs publish (seeds/000 and 002, the CNRMS deck): practices by program,
//! region and network with the share of polyvalentes; professionals by role from the roster;
//! patients followed by program with their sex, mean age, main products and troubles; the
//! microstructures' consultations by kind per patient-month, meetings per practice-month,
//! "better management of consumption" as measured, and the patient survey's shares. Each figure
//! is stated in `docs/indicators.md`.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::{CaseFacts, Facts, Tally, age_on, guarded, tallies};
use crate::domain::case::Program;
use crate::domain::indicators::{
    Count, DAYS_PER_MONTH, contacts_per_patient_month, mean, open_days_in, round, share,
};
use crate::domain::microstructure::consumption_improved;

/// A survey as the report sees it: for each statement, whether the patient agreed (agree or
/// strongly agree), or `None` when they did not answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyFacts {
    pub never_seen_social_worker: Option<bool>,
    pub never_seen_psychiatrist: Option<bool>,
    pub never_seen_psychologist: Option<bool>,
    pub quality_of_life_improved: Option<bool>,
    pub better_consumption: Option<bool>,
    pub would_recommend: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProgramTables {
    /// Practices of the scope running each program on at least one day of the period.
    pub practices_by_program: Vec<Tally>,
    /// Practices running at least one microstructure strand on a day of the period.
    pub microstructures: Count,
    /// Of those, the ones running both strands on a same day of the period ("polyvalentes").
    pub polyvalentes: Count,
    pub share_polyvalentes: Option<f64>,
    /// The microstructures by region.
    pub microstructures_by_region: Vec<Tally>,
    /// The networks the microstructures belong to.
    pub microstructure_networks: Count,
    /// Active accounts of the scope's practices at the time of the report, by role (the roster,
    /// not only those who wrote; shares of the roster).
    pub roster_by_role: Vec<Tally>,
    /// Patients followed in the period, by the program of their case.
    pub by_program: Vec<ProgramPopulation>,
    /// Completed microstructure consultations dated in the period, by kind, with their rate per
    /// patient-month of the microstructure cases followed.
    pub consultations_by_kind: Vec<KindRate>,
    /// Months (30.44 days) the followed microstructure cases were open within the period.
    pub microstructure_patient_months: f64,
    /// Case review meetings held in the period by the scope's practices.
    pub meetings: Count,
    /// The scope's practices × the period's months.
    pub practice_months: f64,
    pub meetings_per_practice_month: Option<f64>,
    pub consumption: ConsumptionFigures,
    pub survey: SurveyFigures,
}

/// The patients followed in one program.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProgramPopulation {
    pub program: Program,
    pub patients_followed: Count,
    /// By sex (F, M, U), shares of the program's patients.
    pub sex: Vec<Tally>,
    /// At referral, in years (1 decimal).
    pub mean_age: Option<f64>,
    /// Products of the addictions, most frequent first.
    pub products: Vec<Tally>,
    /// Indications other than addiction (psychic troubles, precarity), most frequent first.
    pub troubles: Vec<Tally>,
}

/// A kind of consultation: how many, and per patient-month.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KindRate {
    pub kind: String,
    pub count: Count,
    pub per_patient_month: Option<f64>,
}

/// "Better management of consumption", measured: of the addiction cases followed in the period
/// with days of use measured at inclusion and again by the period's end, those whose days of use
/// went down in total.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConsumptionFigures {
    pub measured: Count,
    pub improved: Count,
    pub share_improved: Option<f64>,
}

/// The patient survey: respondents in the period, and for each statement those who answered it
/// (the denominator) and those who agreed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SurveyFigures {
    pub respondents: Count,
    pub statements: Vec<StatementFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatementFigures {
    pub statement: String,
    pub answered: Count,
    pub agreed: Count,
    pub share_agreed: Option<f64>,
}

/// The tables, from the facts (`followed`: the cases open on a day of the period).
pub(super) fn tables(facts: &Facts, followed: &[&CaseFacts], suppress: bool) -> ProgramTables {
    let count = |n: usize| Count::of(n as u64, suppress);
    let period = &facts.period;

    // Practices and their programs over the period.
    let running: Vec<Vec<Program>> = facts
        .practices
        .iter()
        .map(|p| {
            Program::ALL
                .iter()
                .copied()
                .filter(|&program| {
                    p.programs.iter().any(|r| {
                        r.program == program
                            && r.starts_on <= period.to
                            && r.ends_on.is_none_or(|end| end >= period.from)
                    })
                })
                .collect()
        })
        .collect();
    let practices = count(facts.practices.len());
    let micro: Vec<usize> = running
        .iter()
        .enumerate()
        .filter(|(_, programs)| programs.iter().any(|p| p.is_microstructure()))
        .map(|(i, _)| i)
        .collect();
    let polyvalentes = micro
        .iter()
        .filter(|&&i| both_strands_on_a_day(&facts.practices[i].programs, period))
        .count();
    let microstructures = count(micro.len());
    let polyvalentes = count(polyvalentes);
    let networks: HashSet<&str> = micro
        .iter()
        .filter_map(|&i| facts.practices[i].network.as_deref())
        .collect();

    // The roster.
    let roster = count(facts.roster.len());

    // Patients by program, each once per program (their latest case followed in it).
    let mut by_program = Vec::new();
    for &program in Program::ALL {
        let mut latest: HashMap<&str, &CaseFacts> = HashMap::new();
        for case in followed.iter().filter(|c| c.program == program) {
            latest
                .entry(case.patient_id.as_str())
                .and_modify(|kept| {
                    if case.referred_at > kept.referred_at {
                        *kept = case;
                    }
                })
                .or_insert(case);
        }
        let patients: Vec<&CaseFacts> = latest.into_values().collect();
        let n = count(patients.len());
        let ages: Vec<f64> = patients
            .iter()
            .map(|c| f64::from(age_on(c.birth_date, facts.day(c.referred_at))))
            .collect();
        let products = patients.iter().flat_map(|c| unique(&c.substances));
        let troubles = patients
            .iter()
            .flat_map(|c| unique(&c.indications))
            .filter(|i| *i != "addiction");
        by_program.push(ProgramPopulation {
            program,
            patients_followed: n,
            sex: tallies(patients.iter().map(|c| c.sex.as_str()), n, suppress),
            mean_age: guarded(n, mean(&ages).map(|m| round(m, 1))),
            products: tallies(products, n, suppress),
            troubles: tallies(troubles, n, suppress),
        });
    }

    // Consultations and their rate.
    let micro_days: i64 = followed
        .iter()
        .filter(|c| c.program.is_microstructure())
        .map(|c| {
            open_days_in(
                period,
                facts.day(c.referred_at),
                c.closed_at.map(|at| facts.day(at)),
            )
        })
        .sum();
    let consultations_by_kind = ["psychological", "social", "medical"]
        .into_iter()
        .map(|kind| {
            let n = facts
                .consultations
                .iter()
                .find(|(k, _)| k == kind)
                .map_or(0, |(_, n)| *n);
            let counted = Count::of(n, suppress);
            KindRate {
                kind: kind.to_owned(),
                count: counted,
                per_patient_month: guarded(counted, contacts_per_patient_month(n, micro_days)),
            }
        })
        .collect();

    // Meetings per practice-month.
    let period_days = (period.to - period.from).num_days() + 1;
    let practice_months = round(
        facts.practices.len() as f64 * period_days as f64 / DAYS_PER_MONTH,
        2,
    );
    let meetings = Count::of(facts.meetings, suppress);

    // Consumption, as measured.
    let compared: Vec<bool> = followed
        .iter()
        .filter(|c| c.indications.iter().any(|i| i == "addiction"))
        .filter_map(|c| consumption_improved(&c.baseline_substance_use, &c.substance_use_since))
        .collect();
    let measured = count(compared.len());
    let improved = count(compared.iter().filter(|i| **i).count());

    ProgramTables {
        practices_by_program: tallies(
            running.iter().flatten().map(|p| p.as_str()),
            practices,
            suppress,
        ),
        microstructures,
        polyvalentes,
        share_polyvalentes: share(polyvalentes, microstructures),
        microstructures_by_region: tallies(
            micro.iter().map(|&i| facts.practices[i].region.as_str()),
            microstructures,
            suppress,
        ),
        microstructure_networks: count(networks.len()),
        roster_by_role: tallies(
            facts.roster.iter().map(|(_, role)| role.as_str()),
            roster,
            suppress,
        ),
        by_program,
        consultations_by_kind,
        microstructure_patient_months: round(micro_days as f64 / DAYS_PER_MONTH, 2),
        meetings,
        practice_months,
        meetings_per_practice_month: (practice_months > 0.0)
            .then(|| round(facts.meetings as f64 / practice_months, 2))
            .filter(|_| matches!(meetings, Count::Exact(_))),
        consumption: ConsumptionFigures {
            measured,
            improved,
            share_improved: share(improved, measured),
        },
        survey: survey_figures(&facts.surveys, suppress),
    }
}

/// A case's words, each once.
fn unique(words: &[String]) -> Vec<&str> {
    let set: HashSet<&str> = words.iter().map(String::as_str).collect();
    set.into_iter().collect()
}

/// Both strands run on a same day of the period.
fn both_strands_on_a_day(
    periods: &[crate::domain::programs::ProgramPeriod],
    period: &crate::domain::indicators::Period,
) -> bool {
    let window = |p: &crate::domain::programs::ProgramPeriod| {
        let from = p.starts_on.max(period.from);
        let to = p.ends_on.map_or(period.to, |end| end.min(period.to));
        (from <= to).then_some((from, to))
    };
    let of = |program| {
        periods
            .iter()
            .filter(move |p| p.program == program)
            .filter_map(window)
    };
    of(Program::MicrostructureAddiction).any(|(a_from, a_to)| {
        of(Program::MicrostructureMentalHealth)
            .any(|(m_from, m_to)| a_from <= m_to && m_from <= a_to)
    })
}

/// The survey's statements, in the seed's order, with how each survey answered them.
pub const STATEMENTS: [&str; 6] = [
    "never_seen_social_worker",
    "never_seen_psychiatrist",
    "never_seen_psychologist",
    "quality_of_life_improved",
    "better_consumption",
    "would_recommend",
];

fn answers(s: &SurveyFacts) -> [Option<bool>; 6] {
    [
        s.never_seen_social_worker,
        s.never_seen_psychiatrist,
        s.never_seen_psychologist,
        s.quality_of_life_improved,
        s.better_consumption,
        s.would_recommend,
    ]
}

fn survey_figures(surveys: &[SurveyFacts], suppress: bool) -> SurveyFigures {
    let statements = STATEMENTS
        .iter()
        .enumerate()
        .map(|(i, statement)| {
            let given: Vec<bool> = surveys.iter().filter_map(|s| answers(s)[i]).collect();
            let answered = Count::of(given.len() as u64, suppress);
            let agreed = Count::of(given.iter().filter(|a| **a).count() as u64, suppress);
            StatementFigures {
                statement: (*statement).to_owned(),
                answered,
                agreed,
                share_agreed: share(agreed, answered),
            }
        })
        .collect();
    SurveyFigures {
        respondents: Count::of(surveys.len() as u64, suppress),
        statements,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::indicators::Period;
    use crate::domain::programs::{Funding, ProgramPeriod};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn run(program: Program, from: &str, to: Option<&str>) -> ProgramPeriod {
        ProgramPeriod {
            program,
            starts_on: d(from),
            ends_on: to.map(d),
            funding: Funding::Permanent,
        }
    }

    #[test]
    fn polyvalente_means_both_strands_on_a_same_day_of_the_period() {
        use Program::*;
        let period = Period {
            from: d("2024-01-01"),
            to: d("2024-12-31"),
        };
        let both = [
            run(MicrostructureAddiction, "2020-01-01", None),
            run(MicrostructureMentalHealth, "2024-12-31", None),
        ];
        assert!(both_strands_on_a_day(&both, &period));
        // One strand ended before the other started: never both at once.
        let in_turn = [
            run(MicrostructureAddiction, "2020-01-01", Some("2024-03-31")),
            run(MicrostructureMentalHealth, "2024-04-01", None),
        ];
        assert!(!both_strands_on_a_day(&in_turn, &period));
        // Both, but before the period.
        let before = [
            run(MicrostructureAddiction, "2020-01-01", Some("2023-12-31")),
            run(MicrostructureMentalHealth, "2020-01-01", Some("2023-12-31")),
        ];
        assert!(!both_strands_on_a_day(&before, &period));
        assert!(!both_strands_on_a_day(
            &[run(Sesame, "2020-01-01", None)],
            &period
        ));
    }

    #[test]
    fn each_statement_has_its_own_denominator() {
        let yes = |a: Option<bool>| SurveyFacts {
            never_seen_social_worker: Some(true),
            never_seen_psychiatrist: Some(false),
            never_seen_psychologist: None,
            quality_of_life_improved: Some(true),
            better_consumption: a,
            would_recommend: Some(true),
        };
        let figures = survey_figures(&[yes(Some(true)), yes(None), yes(Some(false))], false);
        assert_eq!(figures.respondents, Count::Exact(3));
        let of = |name: &str| {
            figures
                .statements
                .iter()
                .find(|s| s.statement == name)
                .cloned()
                .unwrap()
        };
        let consumption = of("better_consumption");
        assert_eq!(
            (consumption.answered, consumption.agreed),
            (Count::Exact(2), Count::Exact(1))
        );
        assert_eq!(consumption.share_agreed, Some(0.5));
        assert_eq!(of("never_seen_psychologist").share_agreed, None);
        assert_eq!(of("never_seen_psychiatrist").share_agreed, Some(0.0));
        assert_eq!(of("would_recommend").share_agreed, Some(1.0));
        let suppressed = survey_figures(&[yes(Some(true))], true);
        assert_eq!(suppressed.statements[0].share_agreed, None);
    }
}
