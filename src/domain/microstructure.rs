//! The microstructure team's rules (PATHWAY.md §7; seeds/000 and 002): who cares for which
//! program's cases, the kinds of consultation and each discipline's weekly due date, the use of
//! each product over the last 28 days, and the EPICES answers as recorded.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::account::Role;
use super::case::{Program, RuleError, Substance, broken};
use super::epices;
use super::pathway::{Cadences, Phase};

vocabulary!(
    /// What a microstructure consultation is, by who holds it.
    ConsultationKind {
        /// With the psychologist (weekly).
        Psychological => "psychological",
        /// With the social worker (weekly).
        Social => "social",
        /// With the GP.
        Medical => "medical",
    }
);

/// Who cares for a case (its assessment, contacts and phase moves): the coordinating nurse for
/// Sésame; the GP, the psychologist and the social worker for the microstructures.
pub fn cares_for(role: Role, program: Program) -> bool {
    match role {
        Role::Nurse => program == Program::Sesame,
        Role::Gp | Role::Psychologist | Role::SocialWorker => program.is_microstructure(),
        _ => false,
    }
}

/// Why `cares_for` refused (403).
pub fn not_yours(program: Program) -> String {
    if program.is_microstructure() {
        "a microstructure case is cared for by its team: the GP, the psychologist and the social \
         worker"
            .to_owned()
    } else {
        "a Sésame case is cared for by the coordinating nurse".to_owned()
    }
}

/// The kind of a consultation on a case of `program` by `role`: none on Sésame (a nurse's
/// contact); on a microstructure, the kind its author holds, which a given `kind` must match.
pub fn consultation_kind(
    program: Program,
    role: Role,
    given: Option<ConsultationKind>,
) -> Result<Option<ConsultationKind>, RuleError> {
    if !program.is_microstructure() {
        return match given {
            Some(_) => Err(broken("kind", "a Sésame contact has no kind; leave it out")),
            None => Ok(None),
        };
    }
    let held = match role {
        Role::Psychologist => ConsultationKind::Psychological,
        Role::SocialWorker => ConsultationKind::Social,
        _ => ConsultationKind::Medical,
    };
    match given {
        Some(kind) if kind != held => Err(broken(
            "kind",
            format!("a {} holds {} consultations", role.as_str(), held.as_str()),
        )),
        _ => Ok(Some(held)),
    }
}

/// When a discipline's next consultation is due on an open microstructure case followed by one of
/// its professionals: a week (the cadence) after the last completed one, or after the inclusion;
/// monthly in relapse prevention. None while the case waits for its inclusion, once it is
/// closed, or without a professional of that discipline.
pub fn consultation_due(
    phase: Phase,
    assessed_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    followed: bool,
    cadences: &Cadences,
) -> Option<NaiveDate> {
    let days = match phase {
        Phase::Active => cadences.consultation_days,
        Phase::RelapsePrevention => cadences.relapse_prevention_contact_days,
        Phase::Referred | Phase::Closed => return None,
    };
    if !followed {
        return None;
    }
    last_at
        .or(assessed_at)
        .map(|from| (from + Duration::days(days)).date_naive())
}

/// What an assessment must and may carry: on Sésame, the PHQ-9 and GAD-7 baselines and nothing
/// of the microstructures (`microstructure_field`: the first such field given); on a
/// microstructure, any of them.
pub fn check_assessment(
    program: Program,
    phq9: bool,
    gad7: bool,
    microstructure_field: Option<&'static str>,
) -> Result<(), RuleError> {
    if program.is_microstructure() {
        return Ok(());
    }
    if let Some(field) = microstructure_field {
        return Err(broken(field, "is given on a microstructure case only"));
    }
    for (given, field) in [(phq9, "phq9"), (gad7, "gad7")] {
        if !given {
            return Err(broken(
                field,
                "is required: a Sésame assessment records the PHQ-9 and GAD-7 baselines",
            ));
        }
    }
    Ok(())
}

/// The most days of use a 28-day window holds.
pub const WINDOW_DAYS: u8 = 28;

/// Days of use of one product over the last 28 days.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct SubstanceUse {
    pub substance: Substance,
    /// Days of use over the last 28 days (0–28).
    #[schema(minimum = 0, maximum = 28)]
    pub days: u8,
}

/// Days of use as given: each of the case's products, once, 0–28 days; at the inclusion, every
/// product of the case (the baseline the consultations are compared with).
pub fn check_substance_use(
    given: &[SubstanceUse],
    case_substances: &[Substance],
    inclusion: bool,
) -> Result<(), RuleError> {
    for (i, used) in given.iter().enumerate() {
        let at = |what: &str| format!("substance_use[{i}].{what}");
        if used.days > WINDOW_DAYS {
            return Err(indexed(at("days"), "is 0 to 28 (days of the last 28)"));
        }
        if !case_substances.contains(&used.substance) {
            return Err(indexed(
                at("substance"),
                "is not among the case's substances",
            ));
        }
        if given[..i].iter().any(|u| u.substance == used.substance) {
            return Err(indexed(at("substance"), "is given twice"));
        }
    }
    if inclusion
        && let Some(missing) = case_substances
            .iter()
            .find(|s| !given.iter().any(|u| u.substance == **s))
    {
        return Err(broken(
            "substance_use",
            format!(
                "give the days of use of each of the case's substances at inclusion ({} is \
                 missing)",
                missing.as_str()
            ),
        ));
    }
    Ok(())
}

fn indexed(field: String, message: &str) -> RuleError {
    RuleError {
        field: field.into(),
        message: message.to_owned(),
    }
}

/// Stored as `alcohol=12,tobacco=28`, in the order given.
pub fn join_use(given: &[SubstanceUse]) -> Option<String> {
    (!given.is_empty()).then(|| {
        given
            .iter()
            .map(|u| format!("{}={}", u.substance.as_str(), u.days))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Reads stored days of use back; `None` if the text is not as `join_use` writes it.
pub fn split_use(raw: &str) -> Option<Vec<SubstanceUse>> {
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (substance, days) = pair.split_once('=')?;
            Some(SubstanceUse {
                substance: Substance::parse(substance)?,
                days: days.parse().ok().filter(|d| *d <= WINDOW_DAYS)?,
            })
        })
        .collect()
}

/// The latest days of use once more are measured: each product's most recent figure.
pub fn merge_use(latest: &[SubstanceUse], measured: &[SubstanceUse]) -> Vec<SubstanceUse> {
    let mut merged: Vec<SubstanceUse> = latest
        .iter()
        .filter(|u| !measured.iter().any(|m| m.substance == u.substance))
        .copied()
        .collect();
    merged.extend_from_slice(measured);
    merged.sort_by_key(|u| u.substance);
    merged
}

/// "Better management of consumption" (seeds/002), measured: of the products measured at
/// inclusion and since, the days of use went down in total. `None` when there is nothing to
/// compare (no product measured twice).
pub fn consumption_improved(baseline: &[SubstanceUse], latest: &[SubstanceUse]) -> Option<bool> {
    let pairs: Vec<(u32, u32)> = baseline
        .iter()
        .filter_map(|b| {
            latest
                .iter()
                .find(|l| l.substance == b.substance)
                .map(|l| (u32::from(b.days), u32::from(l.days)))
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let (before, after) = pairs.iter().fold((0, 0), |(b, a), (x, y)| (b + x, a + y));
    Some(after < before)
}

/// EPICES answers stored as `1,0,…` (1 for yes), in the questionnaire's order.
pub fn join_epices(answers: &epices::Answers) -> String {
    answers
        .yes()
        .iter()
        .map(|&yes| if yes { "1" } else { "0" })
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads stored EPICES answers back; `None` if the text is not as `join_epices` writes it.
pub fn split_epices(raw: &str) -> Option<epices::Answers> {
    let yes: Option<Vec<bool>> = raw
        .split(',')
        .map(|a| match a {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        })
        .collect();
    epices::Answers::from_slice(&yes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(
            ConsultationKind::ALL,
            ConsultationKind::as_str
        ));
    }

    #[test]
    fn the_nurse_cares_for_sesame_the_microstructure_team_for_its_strands() {
        use Program::*;
        let micro = [MicrostructureAddiction, MicrostructureMentalHealth];
        assert!(cares_for(Role::Nurse, Sesame));
        for program in micro {
            assert!(!cares_for(Role::Nurse, program));
            for role in [Role::Gp, Role::Psychologist, Role::SocialWorker] {
                assert!(cares_for(role, program), "{role:?}");
            }
        }
        for role in [Role::Gp, Role::Psychologist, Role::SocialWorker] {
            assert!(!cares_for(role, Sesame), "{role:?}");
        }
        for role in [Role::Admin, Role::Coordinator, Role::Psychiatrist] {
            assert!(Program::ALL.iter().all(|&p| !cares_for(role, p)));
        }
    }

    #[test]
    fn a_consultation_is_of_the_kind_its_author_holds() {
        use ConsultationKind::*;
        let micro = Program::MicrostructureMentalHealth;
        assert_eq!(
            consultation_kind(micro, Role::Psychologist, None),
            Ok(Some(Psychological))
        );
        assert_eq!(
            consultation_kind(micro, Role::SocialWorker, Some(Social)),
            Ok(Some(Social))
        );
        assert_eq!(consultation_kind(micro, Role::Gp, None), Ok(Some(Medical)));
        let err = consultation_kind(micro, Role::SocialWorker, Some(Psychological)).unwrap_err();
        assert_eq!(
            (err.field.as_ref(), err.message.as_str()),
            ("kind", "a social_worker holds social consultations")
        );
        assert_eq!(
            consultation_kind(Program::Sesame, Role::Nurse, None),
            Ok(None)
        );
        assert_eq!(
            consultation_kind(Program::Sesame, Role::Nurse, Some(Medical))
                .unwrap_err()
                .field,
            "kind"
        );
    }

    #[test]
    fn a_sesame_assessment_has_its_baselines_and_nothing_of_the_microstructures() {
        let sesame = Program::Sesame;
        assert!(check_assessment(sesame, true, true, None).is_ok());
        assert_eq!(
            check_assessment(sesame, false, true, None)
                .unwrap_err()
                .field,
            "phq9"
        );
        assert_eq!(
            check_assessment(sesame, true, false, None)
                .unwrap_err()
                .field,
            "gad7"
        );
        let err = check_assessment(sesame, true, true, Some("epices")).unwrap_err();
        assert_eq!(
            (err.field.as_ref(), err.message.as_str()),
            ("epices", "is given on a microstructure case only")
        );
        let micro = Program::MicrostructureAddiction;
        assert!(check_assessment(micro, false, false, Some("substance_use")).is_ok());
        assert!(check_assessment(micro, true, false, None).is_ok());
    }

    #[test]
    fn each_discipline_is_due_weekly_from_its_last_consultation() {
        let cadences = Cadences::default();
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
                .unwrap()
                .and_utc()
        };
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let included = Some(at("2026-11-02 10:00"));
        let last = Some(at("2026-11-20 18:00"));
        assert_eq!(
            consultation_due(Phase::Active, included, None, true, &cadences),
            Some(day("2026-11-09"))
        );
        assert_eq!(
            consultation_due(Phase::Active, included, last, true, &cadences),
            Some(day("2026-11-27"))
        );
        assert_eq!(
            consultation_due(Phase::RelapsePrevention, included, last, true, &cadences),
            Some(day("2026-12-20"))
        );
        assert_eq!(
            consultation_due(Phase::Active, included, last, false, &cadences),
            None
        );
        assert_eq!(
            consultation_due(Phase::Referred, None, None, true, &cadences),
            None
        );
        assert_eq!(
            consultation_due(Phase::Closed, included, last, true, &cadences),
            None
        );
    }

    fn used(substance: Substance, days: u8) -> SubstanceUse {
        SubstanceUse { substance, days }
    }

    #[test]
    fn days_of_use_are_of_the_cases_products_within_28_days() {
        use Substance::*;
        let products = [Alcohol, Tobacco];
        assert!(
            check_substance_use(&[used(Alcohol, 28), used(Tobacco, 0)], &products, true).is_ok()
        );
        assert!(check_substance_use(&[used(Tobacco, 3)], &products, false).is_ok());
        let field = |given: &[SubstanceUse], inclusion| {
            check_substance_use(given, &products, inclusion)
                .unwrap_err()
                .field
                .into_owned()
        };
        assert_eq!(field(&[used(Alcohol, 29)], false), "substance_use[0].days");
        assert_eq!(
            field(&[used(Tobacco, 1), used(Cocaine, 2)], false),
            "substance_use[1].substance"
        );
        assert_eq!(
            field(&[used(Tobacco, 1), used(Tobacco, 2)], false),
            "substance_use[1].substance"
        );
        let missing = check_substance_use(&[used(Tobacco, 1)], &products, true).unwrap_err();
        assert_eq!(
            missing.message,
            "give the days of use of each of the case's substances at inclusion (alcohol is missing)"
        );
        assert!(check_substance_use(&[], &[], true).is_ok());
    }

    #[test]
    fn days_of_use_are_stored_and_read_back() {
        use Substance::*;
        let given = [used(Tobacco, 28), used(SyntheticDrugs, 4)];
        let stored = join_use(&given).unwrap();
        assert_eq!(stored, "tobacco=28,synthetic_drugs=4");
        assert_eq!(split_use(&stored), Some(given.to_vec()));
        assert_eq!(join_use(&[]), None);
        assert_eq!(split_use("wine=3"), None);
        assert_eq!(split_use("alcohol=29"), None);
        assert_eq!(split_use("alcohol"), None);
    }

    #[test]
    fn the_latest_use_keeps_each_products_last_figure_and_tells_whether_it_went_down() {
        use Substance::*;
        let baseline = [used(Alcohol, 20), used(Tobacco, 28)];
        let first = merge_use(&baseline, &[used(Alcohol, 10)]);
        assert_eq!(first, vec![used(Alcohol, 10), used(Tobacco, 28)]);
        assert_eq!(consumption_improved(&baseline, &first), Some(true));
        let worse = merge_use(&first, &[used(Tobacco, 28), used(Alcohol, 21)]);
        assert_eq!(consumption_improved(&baseline, &worse), Some(false));
        // Alcohol up by 5, tobacco down by 5: no better in total.
        let traded = [used(Alcohol, 25), used(Tobacco, 23)];
        assert_eq!(consumption_improved(&baseline, &traded), Some(false));
        assert_eq!(consumption_improved(&baseline, &[used(Cocaine, 1)]), None);
        assert_eq!(consumption_improved(&[], &first), None);
    }

    #[test]
    fn epices_answers_are_stored_and_read_back() {
        let mut yes = [false; epices::QUESTION_COUNT];
        yes[0] = true;
        yes[4] = true;
        let answers = epices::Answers::new(yes);
        let stored = join_epices(&answers);
        assert_eq!(stored, "1,0,0,0,1,0,0,0,0,0,0");
        assert_eq!(split_epices(&stored), Some(answers));
        assert_eq!(split_epices("1,0"), None);
        assert_eq!(split_epices("1,0,0,0,1,0,0,0,0,0,2"), None);
    }
}
