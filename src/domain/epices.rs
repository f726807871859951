//! The EPICES precarity score (« Évaluation de la précarité et des inégalités de santé dans les
//! centres d'examens de santé »): 11 yes/no questions, each "yes" weighted, added to a constant,
//! giving a score from 0 (no precarity) to 100 (the most precarious). Scored here, from the
//! answers, like the other instruments; recorded at a microstructure's inclusion and consultations (`domain::microstructure`).
//!
//! Source: Sass C. et al., « Le score EPICES : un score individuel de
//! précarité. Construction du score et mesure des relations avec des données de santé, dans une
//! population de 197 389 personnes », BEH 2006 n°14 (Cetaf, Centres d'examens de santé
//! de l'Assurance Maladie), presented by Santé publique France at
//! <https://www.santepubliquefrance.fr/docs/le-score-epices-un-score-individuel-de-precarite.-construction-du-score-et-mesure-des-relations-avec-des-donnees-de-sante-dans-une-population-de>.
//!
//! What was checked, and where (the BEH article's own table could not be read from here):
//! - the 11 questions, their order and wording: <https://medicalcul.mgdsoft.fr/epices.html> and
//!   <https://www.2i2l.fr/limesurvey-et-le-score-epices-calculer-l-evaluation-de-la-precarite-epices>
//!   (the same questions in the same order; they differ only in spelling, « Y a-t-il » /
//!   « Il y a-t-il », « Etes » / « Êtes »);
//! - the coefficients of each "yes" and the constant 75.14: the CRAN package `amscorer` 0.1.0,
//!   `R/epices_score.R` (Sass et al. 2006 as reference), <https://rdrr.io/cran/amscorer/src/R/epices_score.R>.
//!   They are consistent with the published 0–100 range: the nine negative weights add up to
//!   −75.14 exactly, and 75.14 + 10.06 + 14.80 = 100 (both checked by the tests below);
//! - the threshold 30.17 and the quintiles Q1 [0 – 7.10[, Q2 [7.10 – 16.56[, Q3 [16.56 – 30.17[,
//!   Q4 [30.17 – …: the 2i2l page above (« Le score de 30,17 est utilisé comme seuil de précarité
//!   EPICES »). Other pages (medicalcul, and the UNSPF course
//!   <http://unt-ori2.crihan.fr/unspf/Concours/2013_Grenoble_Faucitano_Precarite/co/module_Concours%20preca_7.html>)
//!   give the threshold as « 30 ».
//!
//! The sources disagree on the comparison: the issue says "> 30.17"; the published quintiles are
//! closed below, so a score of exactly 30.17 opens Q4, on the precarious side: ">= 30.17";
//! the pages saying « seuil de 30 » read as "> 30" or ">= 30". The registry follows the quintiles:
//! precarious means a score of 30.17 or more. For real answers this agrees with "30": no set of
//! answers scores between 29.59 and 30.17 (the tests check all 2 048), so ">= 30", "> 30" and
//! ">= 30.17" classify every answer set alike. Only "> 30.17" differs: it would clear the five
//! answer sets that score exactly 30.17. The UNSPF page also words its age-specific cut-off as
//! « supérieur ou égal à 37,27 » for people aged 16–25; that higher cut-off is not applied here.

use super::instruments::ItemError;

/// One EPICES question, in the questionnaire's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// Its number in the questionnaire, 1 to 11.
    pub number: u8,
    /// The wording of the validated (French) questionnaire.
    pub french: &'static str,
    /// An English gloss, for readers of the code; not a validated translation.
    pub english: &'static str,
    /// What a "yes" adds to the score, in hundredths (−1183 is −11.83); a "no" adds nothing.
    pub yes_hundredths: i32,
}

impl Question {
    /// What a "yes" adds to the score.
    pub fn yes_weight(&self) -> f64 {
        f64::from(self.yes_hundredths) / 100.0
    }

    /// The answer that makes someone less precarious: "no" for the two questions with a positive
    /// weight (meeting a social worker, financial difficulties), "yes" for the others.
    pub fn least_precarious_answer(&self) -> bool {
        self.yes_hundredths < 0
    }
}

/// How many questions EPICES has.
pub const QUESTION_COUNT: usize = 11;

/// The constant the weighted answers are added to: 75.14, in hundredths.
pub const CONSTANT_HUNDREDTHS: i32 = 7514;

/// The constant the weighted answers are added to.
pub const CONSTANT: f64 = 75.14;

/// The precarity threshold, in hundredths: a score of 30.17 or more is precarious.
pub const THRESHOLD_HUNDREDTHS: i32 = 3017;

/// The precarity threshold: a score of 30.17 or more is precarious (see the module's notes).
pub const THRESHOLD: f64 = 30.17;

/// The 11 questions, in the questionnaire's order, with the weight of a "yes".
pub const QUESTIONS: [Question; QUESTION_COUNT] = [
    Question {
        number: 1,
        french: "Rencontrez-vous parfois un travailleur social ?",
        english: "Do you sometimes meet a social worker?",
        yes_hundredths: 1006,
    },
    Question {
        number: 2,
        french: "Bénéficiez-vous d'une assurance maladie complémentaire ?",
        english: "Do you have complementary health insurance?",
        yes_hundredths: -1183,
    },
    Question {
        number: 3,
        french: "Vivez-vous en couple ?",
        english: "Do you live with a partner?",
        yes_hundredths: -828,
    },
    Question {
        number: 4,
        french: "Êtes-vous propriétaire de votre logement ?",
        english: "Do you own your home?",
        yes_hundredths: -828,
    },
    Question {
        number: 5,
        french: "Y a-t-il des périodes dans le mois où vous rencontrez de réelles difficultés \
                 financières à faire face à vos besoins (alimentation, loyer, EDF…) ?",
        english: "Are there times in the month when you have real financial difficulty meeting \
                  your needs (food, rent, electricity…)?",
        yes_hundredths: 1480,
    },
    Question {
        number: 6,
        french: "Vous est-il arrivé de faire du sport au cours des 12 derniers mois ?",
        english: "Have you done any sport in the last 12 months?",
        yes_hundredths: -651,
    },
    Question {
        number: 7,
        french: "Êtes-vous allé au spectacle au cours des 12 derniers mois ?",
        english: "Have you been to a show in the last 12 months?",
        yes_hundredths: -710,
    },
    Question {
        number: 8,
        french: "Êtes-vous parti en vacances au cours des 12 derniers mois ?",
        english: "Have you gone on holiday in the last 12 months?",
        yes_hundredths: -710,
    },
    Question {
        number: 9,
        french: "Au cours des 6 derniers mois, avez-vous eu des contacts avec des membres de votre \
                 famille autres que vos parents ou vos enfants ?",
        english: "In the last 6 months, have you been in touch with family members other than \
                  your parents or your children?",
        yes_hundredths: -947,
    },
    Question {
        number: 10,
        french: "En cas de difficultés, y a-t-il dans votre entourage des personnes sur qui vous \
                 puissiez compter pour vous héberger quelques jours en cas de besoin ?",
        english: "If you were in difficulty, is there anyone around you who could put you up for \
                  a few days if needed?",
        yes_hundredths: -947,
    },
    Question {
        number: 11,
        french: "En cas de difficultés, y a-t-il dans votre entourage des personnes sur qui vous \
                 puissiez compter pour vous apporter une aide matérielle ?",
        english: "If you were in difficulty, is there anyone around you who could give you \
                  material help?",
        yes_hundredths: -710,
    },
];

/// The 11 answers, in the questionnaire's order: `true` is "yes" (« oui »).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answers([bool; QUESTION_COUNT]);

impl Answers {
    pub fn new(yes: [bool; QUESTION_COUNT]) -> Answers {
        Answers(yes)
    }

    /// Answers from a list, which must hold exactly 11 of them.
    pub fn from_slice(yes: &[bool]) -> Result<Answers, ItemError> {
        <[bool; QUESTION_COUNT]>::try_from(yes)
            .map(Answers)
            .map_err(|_| ItemError {
                item: None,
                message: format!(
                    "epices needs exactly {QUESTION_COUNT} answers, got {}",
                    yes.len()
                ),
            })
    }

    pub fn yes(&self) -> &[bool; QUESTION_COUNT] {
        &self.0
    }
}

/// A scored EPICES questionnaire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epices {
    /// From 0 to 100, with 2 decimals.
    pub score: f64,
    /// The score is at or above the threshold (30.17).
    pub precarious: bool,
}

/// The score in hundredths: the constant plus the weight of every "yes". Exact, from 0 to 10000.
pub fn score_hundredths(answers: &Answers) -> i32 {
    CONSTANT_HUNDREDTHS
        + QUESTIONS
            .iter()
            .zip(answers.0)
            .filter(|(_, yes)| *yes)
            .map(|(question, _)| question.yes_hundredths)
            .sum::<i32>()
}

/// Scores the answers. The sum is made in hundredths, so the score is exact to 2 decimals and the
/// threshold is compared without floating-point error.
pub fn score(answers: &Answers) -> Epices {
    let hundredths = score_hundredths(answers);
    Epices {
        score: f64::from(hundredths) / 100.0,
        precarious: hundredths >= THRESHOLD_HUNDREDTHS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn least_precarious() -> [bool; QUESTION_COUNT] {
        QUESTIONS.map(|q| q.least_precarious_answer())
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn the_table_is_the_questionnaire_in_order() {
        assert_eq!(
            QUESTIONS.map(|q| q.number),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
        );
        assert_eq!(
            QUESTIONS.map(|q| q.yes_hundredths),
            [
                1006, -1183, -828, -828, 1480, -651, -710, -710, -947, -947, -710
            ]
        );
        // Only meeting a social worker and financial difficulties make the score worse.
        let positive: Vec<u8> = QUESTIONS
            .iter()
            .filter(|q| q.yes_hundredths > 0)
            .map(|q| q.number)
            .collect();
        assert_eq!(positive, [1, 5]);
        assert_close(CONSTANT, f64::from(CONSTANT_HUNDREDTHS) / 100.0);
        assert_close(THRESHOLD, f64::from(THRESHOLD_HUNDREDTHS) / 100.0);
        assert_close(QUESTIONS[1].yes_weight(), -11.83);
        assert!(QUESTIONS.iter().all(|q| q.french.ends_with(" ?")));
        assert!(QUESTIONS.iter().all(|q| q.english.ends_with('?')));
    }

    #[test]
    fn the_least_precarious_answers_score_0() {
        let epices = score(&Answers::new(least_precarious()));
        assert_close(epices.score, 0.0);
        assert!(!epices.precarious);
        // That is: the negative weights cancel the constant exactly.
        let negatives: i32 = QUESTIONS.iter().map(|q| q.yes_hundredths.min(0)).sum();
        assert_eq!(negatives, -CONSTANT_HUNDREDTHS);
    }

    #[test]
    fn the_most_precarious_answers_score_100() {
        let epices = score(&Answers::new(least_precarious().map(|yes| !yes)));
        assert_close(epices.score, 100.0);
        assert!(epices.precarious);
    }

    #[test]
    fn all_yes_and_all_no() {
        // All "no": only the constant.
        let none = score(&Answers::new([false; QUESTION_COUNT]));
        assert_close(none.score, 75.14);
        assert!(none.precarious);
        // All "yes": 75.14 + 10.06 + 14.80 − 75.14.
        let all = score(&Answers::new([true; QUESTION_COUNT]));
        assert_close(all.score, 24.86);
        assert!(!all.precarious);
    }

    #[test]
    fn worked_examples() {
        // No worked example could be read in the BEH article; these are the first two rows of
        // the example in `amscorer`'s `epices_score` documentation, computed by hand:
        // 75.14 + 10.06 − 8.28 − 6.51 − 9.47 − 7.10 = 53.84.
        let first = [
            true, false, false, true, false, true, false, false, true, false, true,
        ];
        let epices = score(&Answers::new(first));
        assert_close(epices.score, 53.84);
        assert!(epices.precarious);
        // 75.14 − 11.83 + 14.80 − 7.10 − 9.47 = 61.54.
        let second = [
            false, true, false, false, true, false, true, false, true, false, false,
        ];
        assert_close(score(&Answers::new(second)).score, 61.54);
        // Someone with a complementary insurance, a partner, a home of their own, sport, shows,
        // holidays, family contacts and people to count on, but who meets a social worker:
        // 10.06, in the first quintile.
        let mut answers = least_precarious();
        answers[0] = true;
        let epices = score(&Answers::new(answers));
        assert_close(epices.score, 10.06);
        assert!(!epices.precarious);
    }

    #[test]
    fn the_threshold_is_30_17_inclusive() {
        // 75.14 − 11.83 − 7.10 − 7.10 − 9.47 − 9.47 = 30.17 exactly: precarious.
        let at = [
            false, true, false, false, false, false, true, true, true, true, false,
        ];
        let epices = score(&Answers::new(at));
        assert_eq!(score_hundredths(&Answers::new(at)), 3017);
        assert_close(epices.score, THRESHOLD);
        assert!(epices.precarious);
        // The nearest score below: 75.14 − 11.83 − 8.28 + 14.80 − 7.10 − 7.10 − 9.47 − 9.47 − 7.10
        // = 29.59 (no answer set scores between 29.59 and 30.17).
        let below = [
            false, true, true, false, true, false, true, true, true, true, true,
        ];
        let epices = score(&Answers::new(below));
        assert_close(epices.score, 29.59);
        assert!(!epices.precarious);
    }

    #[test]
    fn every_answer_set_scores_within_0_to_100_and_the_threshold_splits_them() {
        // 2^11 = 2 048 answer sets.
        let mut at_threshold = 0;
        for code in 0..(1u32 << QUESTION_COUNT) {
            let yes: [bool; QUESTION_COUNT] = std::array::from_fn(|i| code & (1 << i) != 0);
            let answers = Answers::new(yes);
            let hundredths = score_hundredths(&answers);
            assert!((0..=10_000).contains(&hundredths), "{yes:?}: {hundredths}");
            let epices = score(&answers);
            assert_close(epices.score, f64::from(hundredths) / 100.0);
            assert_eq!(epices.precarious, epices.score >= THRESHOLD);
            // "> 30" (as some sources word it) and ">= 30.17" agree on every answer set.
            assert_eq!(epices.precarious, epices.score > 30.0, "{yes:?}");
            assert!(
                !(2960..THRESHOLD_HUNDREDTHS).contains(&hundredths),
                "{yes:?}"
            );
            if hundredths == THRESHOLD_HUNDREDTHS {
                at_threshold += 1;
            }
        }
        assert_eq!(at_threshold, 5, "answer sets scoring exactly 30.17");
    }

    #[test]
    fn a_wrong_number_of_answers_is_refused() {
        assert!(Answers::from_slice(&[false; QUESTION_COUNT]).is_ok());
        for n in [0, 10, 12] {
            let error = Answers::from_slice(&vec![true; n]).unwrap_err();
            assert_eq!(error.item, None);
            assert_eq!(
                error.message,
                format!("epices needs exactly 11 answers, got {n}")
            );
        }
        let answers = Answers::from_slice(&least_precarious()).unwrap();
        assert_eq!(answers.yes(), &least_precarious());
        assert_close(score(&answers).score, 0.0);
    }
}
