//! The microstructures' patient experience survey (seeds/002, "enquête de satisfaction des
//! patients"): six statements answered on a four-point agreement scale, recorded by the team at
//! six months of care or at exit; when each may be recorded, what it must hold, and its timeline
//! detail.

use chrono::{Duration, NaiveDate};

use super::case::{Indication, Program, RuleError, broken};
use super::pathway::{Phase, Refused};

vocabulary!(
    /// How far the patient agrees with a statement.
    Agreement {
        /// « Pas du tout d'accord ».
        StronglyDisagree => "strongly_disagree",
        /// « Plutôt pas d'accord ».
        Disagree => "disagree",
        /// « Plutôt d'accord ».
        Agree => "agree",
        /// « Tout à fait d'accord ».
        StronglyAgree => "strongly_agree",
    }
);

/// Agrees or strongly agrees: what the deck counts ("87 % sont d'accord ou tout à fait d'accord").
pub fn agrees(answer: Agreement) -> bool {
    matches!(answer, Agreement::Agree | Agreement::StronglyAgree)
}

vocabulary!(
    /// When the survey is answered.
    SurveyContext {
        /// After 26 weeks of care (the case still open).
        SixMonths => "six_months",
        /// At the end of care (the case closed, within 60 days of its closing).
        Exit => "exit",
    }
);

/// The six-month survey comes at least this many weeks after the inclusion.
pub const SIX_MONTHS_WEEKS: i64 = 26;

/// The exit survey is answered within this many days of the closing day.
pub const EXIT_WINDOW_DAYS: i64 = 60;

/// The statements, each with its field, the deck's French wording and an English gloss, in the
/// questionnaire's order.
pub const STATEMENTS: [(&str, &str, &str); 6] = [
    (
        "never_seen_social_worker",
        "Avant la microstructure, je n'avais jamais vu de travailleur social",
        "Before the microstructure I had never seen a social worker",
    ),
    (
        "never_seen_psychiatrist",
        "Avant la microstructure, je n'avais jamais vu de psychiatre",
        "Before the microstructure I had never seen a psychiatrist",
    ),
    (
        "never_seen_psychologist",
        "Avant la microstructure, je n'avais jamais vu de psychologue",
        "Before the microstructure I had never seen a psychologist",
    ),
    (
        "quality_of_life_improved",
        "Ma qualité de vie s'est améliorée depuis mon entrée dans la microstructure",
        "My quality of life has improved since I joined",
    ),
    (
        "better_consumption",
        "Je gère mieux mes consommations depuis mon entrée dans la microstructure",
        "I manage my consumption better since I joined",
    ),
    (
        "would_recommend",
        "Je recommanderais la microstructure à des personnes dans ma situation",
        "I would recommend the microstructure to people in my situation",
    ),
];

/// A patient's answers, one per statement; `None` where they did not answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    pub never_seen_social_worker: Option<Agreement>,
    pub never_seen_psychiatrist: Option<Agreement>,
    pub never_seen_psychologist: Option<Agreement>,
    pub quality_of_life_improved: Option<Agreement>,
    pub better_consumption: Option<Agreement>,
    pub would_recommend: Option<Agreement>,
}

impl Answers {
    /// The answers in the order of `STATEMENTS`.
    pub fn in_order(&self) -> [Option<Agreement>; 6] {
        [
            self.never_seen_social_worker,
            self.never_seen_psychiatrist,
            self.never_seen_psychologist,
            self.quality_of_life_improved,
            self.better_consumption,
            self.would_recommend,
        ]
    }
}

/// What a survey must hold: at least one statement answered, and "I manage my consumption
/// better" only for a case treating an addiction (there is no consumption to manage otherwise).
pub fn check_answers(answers: &Answers, indications: &[Indication]) -> Result<(), RuleError> {
    check_answered(answers)?;
    if answers.better_consumption.is_some() && !indications.contains(&Indication::Addiction) {
        return Err(broken(
            "better_consumption",
            "is answered only on a case with the addiction indication",
        ));
    }
    Ok(())
}

/// At least one statement answered (checked before the case is read).
pub fn check_answered(answers: &Answers) -> Result<(), RuleError> {
    if answers.in_order().iter().all(Option::is_none) {
        let fields: Vec<&str> = STATEMENTS.iter().map(|(field, _, _)| *field).collect();
        return Err(broken(
            "body",
            format!("answer at least one statement: {}", fields.join(", ")),
        ));
    }
    Ok(())
}

/// The patient answered on a day that has come (`today` in the program's time zone).
pub fn check_not_future(answered_on: NaiveDate, today: NaiveDate) -> Result<(), RuleError> {
    if answered_on > today {
        return Err(broken("answered_on", "cannot be in the future"));
    }
    Ok(())
}

/// The survey is the microstructures' (seeds/002); Sésame has none (409).
pub fn check_program(program: Program) -> Result<(), Refused> {
    if program.is_microstructure() {
        Ok(())
    } else {
        Err(Refused::new(
            "the patient experience survey is the microstructures'; a Sésame case has none",
        ))
    }
}

/// What the survey rules look at in its case: its phase, the local days it was included
/// (assessed) and closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub phase: Phase,
    pub included_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

/// Whether the case is where `context` is recorded (409 otherwise): the patient was included;
/// the six-month survey while the case is open, the exit survey once it is closed. The exit
/// survey is the one write a closed case accepts.
pub fn check_context(context: SurveyContext, case: &Standing) -> Result<(), Refused> {
    if case.included_on.is_none() {
        return Err(Refused::new(
            "the patient was never included in the microstructure (the case has no assessment): \
             there is no care to survey",
        ));
    }
    match (context, case.phase == Phase::Closed) {
        (SurveyContext::SixMonths, true) => Err(Refused::new(
            "the case is closed: record the exit survey (context exit)",
        )),
        (SurveyContext::Exit, false) => Err(Refused::new(
            "the exit survey is recorded once the case is closed",
        )),
        _ => Ok(()),
    }
}

/// The first day the six-month survey may be answered: 26 weeks after the inclusion.
pub fn six_months_from(included_on: NaiveDate) -> NaiveDate {
    included_on + Duration::weeks(SIX_MONTHS_WEEKS)
}

/// The last day the exit survey may be answered: 60 days after the closing day.
pub fn exit_until(closed_on: NaiveDate) -> NaiveDate {
    closed_on + Duration::days(EXIT_WINDOW_DAYS)
}

/// When the patient answered (422 on `answered_on`), for a case `check_context` accepted: the
/// six-month survey at least 26 weeks after the inclusion; the exit survey on or after the
/// closing day and within 60 days of it.
pub fn check_answered_on(
    context: SurveyContext,
    answered_on: NaiveDate,
    case: &Standing,
) -> Result<(), RuleError> {
    match context {
        SurveyContext::SixMonths => {
            let Some(included) = case.included_on else {
                return Ok(());
            };
            let from = six_months_from(included);
            if answered_on < from {
                return Err(broken(
                    "answered_on",
                    format!(
                        "the six-month survey is answered at least {SIX_MONTHS_WEEKS} weeks after \
                         the inclusion ({included}): on or after {from}"
                    ),
                ));
            }
        }
        SurveyContext::Exit => {
            let Some(closed) = case.closed_on else {
                return Ok(());
            };
            if answered_on < closed {
                return Err(broken(
                    "answered_on",
                    format!("the exit survey is answered on or after the closing day ({closed})"),
                ));
            }
            let until = exit_until(closed);
            if answered_on > until {
                return Err(broken(
                    "answered_on",
                    format!(
                        "the exit survey is answered within {EXIT_WINDOW_DAYS} days of the \
                         closing day ({closed}): by {until}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// One survey per context per case (409 on the second): `recorded` are the contexts the case
/// already has.
pub fn check_not_recorded(
    context: SurveyContext,
    recorded: &[SurveyContext],
) -> Result<(), Refused> {
    if recorded.contains(&context) {
        return Err(Refused::new(format!(
            "the case already has its {} survey; a case has one of each",
            context.as_str()
        )));
    }
    Ok(())
}

/// The machine-readable `detail` of a case's `survey` timeline entry.
pub fn survey_detail(context: SurveyContext) -> String {
    format!("context={}", context.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn open(included: Option<&str>) -> Standing {
        Standing {
            phase: if included.is_some() {
                Phase::Active
            } else {
                Phase::Referred
            },
            included_on: included.map(day),
            closed_on: None,
        }
    }

    fn closed(included: Option<&str>, on: &str) -> Standing {
        Standing {
            phase: Phase::Closed,
            included_on: included.map(day),
            closed_on: Some(day(on)),
        }
    }

    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(
            Agreement::ALL,
            Agreement::as_str
        ));
        assert!(crate::domain::words_agree(
            SurveyContext::ALL,
            SurveyContext::as_str
        ));
        for v in Agreement::ALL {
            assert_eq!(Agreement::parse(v.as_str()), Some(*v));
        }
        assert_eq!(SurveyContext::parse("6_months"), None);
    }

    #[test]
    fn agreeing_is_agree_or_strongly_agree() {
        use Agreement::*;
        assert_eq!(
            Agreement::ALL
                .iter()
                .map(|&a| agrees(a))
                .collect::<Vec<_>>(),
            vec![false, false, true, true]
        );
        assert!(!agrees(StronglyDisagree));
    }

    #[test]
    fn the_statements_are_the_answers_fields_in_order() {
        let fields: Vec<&str> = STATEMENTS.iter().map(|(f, _, _)| *f).collect();
        assert_eq!(
            fields,
            vec![
                "never_seen_social_worker",
                "never_seen_psychiatrist",
                "never_seen_psychologist",
                "quality_of_life_improved",
                "better_consumption",
                "would_recommend"
            ]
        );
        let answers = Answers {
            better_consumption: Some(Agreement::Agree),
            ..Answers::default()
        };
        assert_eq!(answers.in_order()[4], Some(Agreement::Agree));
    }

    #[test]
    fn a_survey_answers_something_and_consumption_only_with_an_addiction() {
        use Indication::*;
        let empty = Answers::default();
        let err = check_answers(&empty, &[Addiction]).unwrap_err();
        assert_eq!(err.field, "body");
        assert_eq!(
            err.message,
            "answer at least one statement: never_seen_social_worker, never_seen_psychiatrist, \
             never_seen_psychologist, quality_of_life_improved, better_consumption, would_recommend"
        );
        let recommends = Answers {
            would_recommend: Some(Agreement::StronglyAgree),
            ..Answers::default()
        };
        assert!(check_answers(&recommends, &[Anxiety]).is_ok());
        let consumption = Answers {
            better_consumption: Some(Agreement::Disagree),
            ..recommends
        };
        assert!(check_answers(&consumption, &[Addiction, Precarity]).is_ok());
        let err = check_answers(&consumption, &[Precarity]).unwrap_err();
        assert_eq!(
            (err.field.as_ref(), err.message.as_str()),
            (
                "better_consumption",
                "is answered only on a case with the addiction indication"
            )
        );
    }

    #[test]
    fn the_survey_is_the_microstructures() {
        assert!(check_program(Program::MicrostructureAddiction).is_ok());
        assert!(check_program(Program::MicrostructureMentalHealth).is_ok());
        assert_eq!(
            check_program(Program::Sesame).unwrap_err().detail,
            "the patient experience survey is the microstructures'; a Sésame case has none"
        );
    }

    #[test]
    fn six_months_on_an_open_case_exit_on_a_closed_one_and_never_without_an_inclusion() {
        use SurveyContext::*;
        assert!(check_context(SixMonths, &open(Some("2026-01-05"))).is_ok());
        assert!(check_context(Exit, &closed(Some("2026-01-05"), "2026-09-01")).is_ok());
        assert_eq!(
            check_context(SixMonths, &closed(Some("2026-01-05"), "2026-09-01"))
                .unwrap_err()
                .detail,
            "the case is closed: record the exit survey (context exit)"
        );
        assert_eq!(
            check_context(Exit, &open(Some("2026-01-05")))
                .unwrap_err()
                .detail,
            "the exit survey is recorded once the case is closed"
        );
        for context in [SixMonths, Exit] {
            assert!(check_context(context, &open(None)).is_err());
            assert!(check_context(context, &closed(None, "2026-09-01")).is_err());
        }
    }

    #[test]
    fn the_six_month_survey_comes_26_weeks_after_the_inclusion() {
        let case = open(Some("2026-01-05"));
        assert_eq!(six_months_from(day("2026-01-05")), day("2026-07-06"));
        let on = |d| check_answered_on(SurveyContext::SixMonths, day(d), &case);
        assert!(on("2026-07-06").is_ok());
        assert!(on("2027-03-01").is_ok());
        let err = on("2026-07-05").unwrap_err();
        assert_eq!(
            (err.field.as_ref(), err.message.as_str()),
            (
                "answered_on",
                "the six-month survey is answered at least 26 weeks after the inclusion \
                 (2026-01-05): on or after 2026-07-06"
            )
        );
    }

    #[test]
    fn the_exit_survey_is_answered_from_the_closing_day_for_60_days() {
        let case = closed(Some("2026-01-05"), "2026-09-01");
        let on = |d| check_answered_on(SurveyContext::Exit, day(d), &case);
        assert!(on("2026-09-01").is_ok());
        assert!(on("2026-10-31").is_ok());
        assert_eq!(
            on("2026-08-31").unwrap_err().message,
            "the exit survey is answered on or after the closing day (2026-09-01)"
        );
        assert_eq!(
            on("2026-11-01").unwrap_err().message,
            "the exit survey is answered within 60 days of the closing day (2026-09-01): by \
             2026-10-31"
        );
    }

    #[test]
    fn answered_on_a_day_that_has_come() {
        let today = day("2026-11-23");
        assert!(check_not_future(today, today).is_ok());
        assert_eq!(
            check_not_future(day("2026-11-24"), today)
                .unwrap_err()
                .field,
            "answered_on"
        );
    }

    #[test]
    fn one_survey_of_each_context_per_case() {
        use SurveyContext::*;
        assert!(check_not_recorded(SixMonths, &[]).is_ok());
        assert!(check_not_recorded(Exit, &[SixMonths]).is_ok());
        assert_eq!(
            check_not_recorded(SixMonths, &[SixMonths])
                .unwrap_err()
                .detail,
            "the case already has its six_months survey; a case has one of each"
        );
    }

    #[test]
    fn the_timeline_detail_names_the_context() {
        assert_eq!(
            survey_detail(SurveyContext::SixMonths),
            "context=six_months"
        );
        assert_eq!(survey_detail(SurveyContext::Exit), "context=exit");
    }
}
