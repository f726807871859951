//! A case's vocabulary (program, indications, substances, contact modes and outcomes) and the
//! rules of referral, contacts and the worklist's order, as plain functions.

use std::cmp::Reverse;

use chrono::{DateTime, NaiveDate, Utc};

use super::instruments::{Instrument, Score};
use super::pathway::{Flag, Refused};
use super::patient::ConsentStatus;
use super::policy::Action;

vocabulary!(
    /// The care program a case belongs to: Sésame, or one of the two strands of the
    /// microstructures médicales (addictions and precarity; mental health).
    Program {
        Sesame => "sesame",
        MicrostructureAddiction => "microstructure_addiction",
        MicrostructureMentalHealth => "microstructure_mental_health",
    }
);

impl Program {
    /// A strand of the microstructures médicales: its team is the GP, a psychologist and a
    /// social worker, with no coordinating nurse.
    pub fn is_microstructure(self) -> bool {
        self != Program::Sesame
    }
}

vocabulary!(
    /// Why the patient was referred.
    Indication {
        Depression => "depression",
        Anxiety => "anxiety",
        Addiction => "addiction",
        Precarity => "precarity",
        Other => "other",
    }
);

vocabulary!(
    /// Substances (or behaviours) involved in an addiction.
    Substance {
        Alcohol => "alcohol",
        Tobacco => "tobacco",
        Cannabis => "cannabis",
        Opiates => "opiates",
        Cocaine => "cocaine",
        Medications => "medications",
        Gambling => "gambling",
        /// « Produits de synthèse » (synthetic cathinones, cannabinoids…), emerging in PACA.
        SyntheticDrugs => "synthetic_drugs",
        Other => "other",
    }
);

vocabulary!(
    /// How a contact took place.
    ContactMode {
        InPerson => "in_person",
        Phone => "phone",
        Video => "video",
    }
);

vocabulary!(
    /// Whether a contact happened. Only `completed` resets the due date.
    ContactOutcome {
        Completed => "completed",
        NoAnswer => "no_answer",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// What a timeline entry records.
    EventKind {
        /// The GP's referral, with the screening.
        Referral => "referral",
        /// The nurse's initial assessment, with the baselines.
        Assessment => "assessment",
        /// A contact, completed or not, with any scores.
        Contact => "contact",
        /// A phase move (with the exit reason when closing).
        Transition => "transition",
        /// The nurse or the referring psychiatrist changed.
        Reassignment => "reassignment",
        /// A psychiatric review asked for or withdrawn.
        Review => "review",
        /// A tele-expertise request asked, accepted, declined, answered or cancelled.
        TeleExpertise => "tele_expertise",
        /// The care team discussed the case at a meeting (its decision as the note).
        Meeting => "meeting",
        /// The microstructure team recorded the patient's experience survey (six months, exit).
        Survey => "survey",
    }
);

/// Stores a set as sorted, de-duplicated, comma-separated names.
pub fn join_set<T: Copy + Ord>(values: &[T], name: fn(T) -> &'static str) -> String {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.into_iter().map(name).collect::<Vec<_>>().join(",")
}

/// Reads a stored set back; `None` if a name is unknown.
pub fn split_set<T>(raw: &str, parse: fn(&str) -> Option<T>) -> Option<Vec<T>> {
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

/// A rule broken by a request, with the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The field's name, indexed where it is one of a list (`programs[2].ends_on`).
    pub field: std::borrow::Cow<'static, str>,
    pub message: String,
}

pub(crate) fn broken(field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        field: field.into(),
        message: message.into(),
    }
}

/// Whose referral it is: a GP refers in their own name; anyone else who may refer (practice
/// software) names the referring GP, so that the case shows on that GP's list.
pub fn referring_gp(
    actor_is_gp: bool,
    actor_id: &str,
    given: Option<&str>,
) -> Result<String, RuleError> {
    match (actor_is_gp, given) {
        (true, Some(id)) if id != actor_id => Err(broken(
            "referring_gp_id",
            "a GP refers in their own name; leave it out",
        )),
        (true, _) => Ok(actor_id.to_owned()),
        (false, Some(id)) => Ok(id.to_owned()),
        (false, None) => Err(broken(
            "referring_gp_id",
            "is required: name the GP of the practice who refers the patient",
        )),
    }
}

/// Indications and substances: at least one indication; substances exactly when an addiction is
/// among the indications.
pub fn check_indications(
    indications: &[Indication],
    substances: &[Substance],
) -> Result<(), RuleError> {
    if indications.is_empty() {
        return Err(broken("indications", "at least one indication is needed"));
    }
    let addiction = indications.contains(&Indication::Addiction);
    if addiction && substances.is_empty() {
        return Err(broken(
            "substances",
            "an addiction needs the substances involved",
        ));
    }
    if !addiction && !substances.is_empty() {
        return Err(broken(
            "substances",
            "substances are given only with the addiction indication",
        ));
    }
    Ok(())
}

/// What each program treats: Sésame, depressive and anxious troubles (PATHWAY.md §2); the
/// addiction strand, addictions and precarity; the mental-health strand, psychic troubles
/// (depression, anxiety or another) — the indications of seeds/002.
pub fn check_program_indications(
    program: Program,
    indications: &[Indication],
) -> Result<(), RuleError> {
    use Indication::*;
    let (needed, words): (&[Indication], &str) = match program {
        Program::Sesame => (&[Depression, Anxiety], "depression or anxiety"),
        Program::MicrostructureAddiction => (&[Addiction, Precarity], "addiction or precarity"),
        Program::MicrostructureMentalHealth => (
            &[Depression, Anxiety, Other],
            "a psychic trouble (depression, anxiety or other)",
        ),
    };
    if indications.iter().any(|i| needed.contains(i)) {
        Ok(())
    } else {
        Err(broken(
            "indications",
            format!("the {} program treats {words}", program.as_str()),
        ))
    }
}

/// A referral carries a screening: at least one questionnaire (PHQ-2, PHQ-9 or GAD-7).
pub fn check_screening(screening: &[Score]) -> Result<(), RuleError> {
    if screening.is_empty() {
        return Err(broken(
            "screening",
            "give at least one questionnaire (phq2, phq9 or gad7)",
        ));
    }
    Ok(())
}

/// A patient who objected to care-team sharing cannot be referred.
pub fn check_consent(consent: ConsentStatus) -> Result<(), Refused> {
    match consent {
        ConsentStatus::Objected => Err(Refused::new(
            "the patient objected to care-team sharing; record their consent first",
        )),
        ConsentStatus::Informed => Ok(()),
    }
}

/// One open case per patient: `open` is the one they have, if any.
pub fn check_no_open_case(open: Option<&str>) -> Result<(), Refused> {
    match open {
        Some(open) => Err(Refused::new(format!(
            "the patient already has an open case ({open}); close it before a new referral"
        ))),
        None => Ok(()),
    }
}

/// What a change to a case (`PATCH /cases/{id}`) needs the caller to be allowed: reassigning
/// (the nurse or the psychiatrist) and the review flag are separate actions, and the change must
/// ask for one of them.
pub fn update_actions(reassigning: bool, flagging: bool) -> Result<Vec<Action>, RuleError> {
    if !reassigning && !flagging {
        return Err(broken(
            "body",
            "give nurse_id, psychiatrist_id, psychologist_id, social_worker_id or \
             review_requested",
        ));
    }
    Ok([
        (reassigning, Action::ReassignCase),
        (flagging, Action::FlagReview),
    ]
    .into_iter()
    .filter_map(|(asked, action)| asked.then_some(action))
    .collect())
}

/// Who holds a case once assessed: its nurse if one was assigned, else the nurse who assessed.
pub fn nurse_after_assessment(assigned: Option<String>, assessor: &str) -> String {
    assigned.unwrap_or_else(|| assessor.to_owned())
}

/// The last completed contact once a contact is logged: only a completed one counts, and one
/// logged after the fact does not move it back.
pub fn last_completed_contact(
    last: Option<DateTime<Utc>>,
    outcome: ContactOutcome,
    occurred_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if outcome == ContactOutcome::Completed && last.is_none_or(|last| last < occurred_at) {
        Some(occurred_at)
    } else {
        last
    }
}

/// A worklist's "first" score of an instrument: the baseline; before the assessment, the
/// screening's (then the latest).
pub fn first_score(baseline: Option<u8>, latest: Option<u8>, assessed: bool) -> Option<u8> {
    baseline.or(if assessed { None } else { latest })
}

/// The machine-readable `detail` of a contact's timeline entry.
pub fn contact_detail(outcome: ContactOutcome) -> String {
    format!("outcome={}", outcome.as_str())
}

/// The `detail` of a review entry.
pub fn review_detail(requested: bool) -> String {
    format!("review_requested={requested}")
}

/// The `detail` of a reassignment entry: each holder changed, `none` when unassigned.
pub fn reassignment_detail(changes: &[(&str, Option<Option<&str>>)]) -> String {
    changes
        .iter()
        .filter_map(|(field, holder)| holder.map(|id| format!("{field}={}", id.unwrap_or("none"))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whole years between a birth date and a day.
pub fn age_on(birth_date: NaiveDate, day: NaiveDate) -> i32 {
    day.years_since(birth_date)
        .and_then(|y| i32::try_from(y).ok())
        .unwrap_or(0)
}

/// The least PHQ-9 or GAD-7 total at screening for Sésame: moderate depression or anxiety.
pub const SESAME_MIN_SCREENING_TOTAL: u8 = 10;

/// What a referral says about the patient's eligibility, besides their age.
#[derive(Debug, Clone, Copy)]
pub struct Declared<'a> {
    /// The GP declares an ongoing psychiatric follow-up.
    pub psychiatric_follow_up: bool,
    /// The screening, scored.
    pub screening: &'a [Score],
    /// The GP gave a reason to refer outside the criteria (`eligibility_override`).
    pub overridden: bool,
}

/// Eligibility at referral. Every program takes adults (18+): Sésame (PATHWAY.md §2) and the
/// microstructures ("les patients adultes du cabinet médical", seeds/002). Sésame also asks for no
/// ongoing psychiatric follow-up and a moderate to severe depression or anxiety (PHQ-9 or GAD-7 of
/// 10 or more at screening); the GP's override (a reason) lifts those two, never the age. The
/// microstructures have no such criteria, hence nothing to override.
pub fn check_eligibility(
    program: Program,
    birth_date: NaiveDate,
    today: NaiveDate,
    declared: &Declared<'_>,
) -> Result<(), RuleError> {
    if program.is_microstructure() {
        if declared.overridden {
            return Err(broken(
                "eligibility_override",
                "only a Sésame referral has eligibility criteria to override; leave it out",
            ));
        }
        if age_on(birth_date, today) < 18 {
            return Err(broken(
                "patient_id",
                "the microstructures take the adult patients of the practice (18+)",
            ));
        }
        return Ok(());
    }
    if age_on(birth_date, today) < 18 {
        return Err(broken(
            "patient_id",
            "the Sésame program takes adults (18+); eligibility_override does not lift the age",
        ));
    }
    if declared.overridden {
        return Ok(());
    }
    if declared.psychiatric_follow_up {
        return Err(broken(
            "psychiatric_follow_up",
            "the Sésame program is for patients without an ongoing psychiatric follow-up; \
             give eligibility_override with the reason to refer them anyway",
        ));
    }
    let moderate = declared.screening.iter().any(|s| {
        matches!(s.instrument, Instrument::Phq9 | Instrument::Gad7)
            && s.total >= SESAME_MIN_SCREENING_TOTAL
    });
    if !moderate {
        return Err(broken(
            "screening",
            "the Sésame program needs PHQ-9 ≥ 10 or GAD-7 ≥ 10 at screening, \
             or eligibility_override with the reason",
        ));
    }
    Ok(())
}

/// The `detail` of a referral entry: the GP's reason to refer outside the Sésame criteria, if
/// they gave one.
pub fn referral_detail(eligibility_override: Option<&str>) -> Option<String> {
    eligibility_override.map(|reason| format!("eligibility_override={reason}"))
}

/// When a contact or an assessment may be dated: not in the future, not before the referral.
pub fn check_occurred_at(
    field: &'static str,
    occurred_at: DateTime<Utc>,
    referred_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), RuleError> {
    if occurred_at > now {
        return Err(broken(field, "cannot be in the future"));
    }
    if occurred_at < referred_at {
        return Err(broken(field, "cannot be before the referral"));
    }
    Ok(())
}

/// Scores are measured at a completed contact only; the next planned date follows the contact.
pub fn check_contact(
    outcome: ContactOutcome,
    has_scores: bool,
    occurred_at: DateTime<Utc>,
    next_planned_at: Option<DateTime<Utc>>,
) -> Result<(), RuleError> {
    if has_scores && outcome != ContactOutcome::Completed {
        return Err(broken(
            "outcome",
            "questionnaires are recorded only at a completed contact",
        ));
    }
    if next_planned_at.is_some_and(|next| next <= occurred_at) {
        return Err(broken(
            "next_planned_at",
            "must be after the contact's occurred_at",
        ));
    }
    Ok(())
}

/// What the worklist orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub safety_alert: bool,
    pub overdue_days: i64,
    pub needs_review: bool,
    pub next_contact_due: Option<NaiveDate>,
}

impl Priority {
    pub fn of(flags: &[Flag], overdue_days: i64, next_contact_due: Option<NaiveDate>) -> Self {
        Self {
            safety_alert: flags.contains(&Flag::SafetyAlert),
            overdue_days,
            needs_review: flags.contains(&Flag::NeedsReview),
            next_contact_due,
        }
    }

    /// Sort key, smallest first: safety alerts, then most overdue, then needing review, then due
    /// soonest (no due date last).
    pub fn key(&self) -> impl Ord + use<> {
        (
            Reverse(self.safety_alert),
            Reverse(self.overdue_days),
            Reverse(self.needs_review),
            self.next_contact_due.is_none(),
            self.next_contact_due,
        )
    }
}

/// Whole weeks since the initial assessment (0 before it).
pub fn weeks_in_treatment(assessed_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> i64 {
    assessed_at.map_or(0, |at| (now - at).num_weeks().max(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(Program::ALL, Program::as_str));
        assert!(crate::domain::words_agree(
            Indication::ALL,
            Indication::as_str
        ));
        assert!(crate::domain::words_agree(
            Substance::ALL,
            Substance::as_str
        ));
        assert!(crate::domain::words_agree(
            ContactMode::ALL,
            ContactMode::as_str
        ));
        assert!(crate::domain::words_agree(
            ContactOutcome::ALL,
            ContactOutcome::as_str
        ));
        assert!(crate::domain::words_agree(
            EventKind::ALL,
            EventKind::as_str
        ));
    }

    #[test]
    fn a_referral_names_its_gp() {
        assert_eq!(referring_gp(true, "gp", None), Ok("gp".to_owned()));
        assert_eq!(referring_gp(true, "gp", Some("gp")), Ok("gp".to_owned()));
        assert_eq!(
            referring_gp(true, "gp", Some("other")).map_err(|e| e.field),
            Err("referring_gp_id".into())
        );
        assert_eq!(
            referring_gp(false, "client", Some("gp")),
            Ok("gp".to_owned())
        );
        assert_eq!(
            referring_gp(false, "client", None).map_err(|e| e.field),
            Err("referring_gp_id".into())
        );
    }

    use chrono::Duration;

    use super::*;
    use crate::domain::instruments::score;

    #[test]
    fn vocabularies_round_trip() {
        for v in Program::ALL {
            assert_eq!(Program::parse(v.as_str()), Some(*v));
        }
        for v in Indication::ALL {
            assert_eq!(Indication::parse(v.as_str()), Some(*v));
        }
        for v in Substance::ALL {
            assert_eq!(Substance::parse(v.as_str()), Some(*v));
        }
        for v in ContactMode::ALL {
            assert_eq!(ContactMode::parse(v.as_str()), Some(*v));
        }
        for v in ContactOutcome::ALL {
            assert_eq!(ContactOutcome::parse(v.as_str()), Some(*v));
        }
        for v in EventKind::ALL {
            assert_eq!(EventKind::parse(v.as_str()), Some(*v));
        }
        assert_eq!(Program::parse("Sesame"), None);
    }

    #[test]
    fn sets_are_stored_sorted_and_unique() {
        let stored = join_set(
            &[
                Indication::Anxiety,
                Indication::Depression,
                Indication::Anxiety,
            ],
            Indication::as_str,
        );
        assert_eq!(stored, "depression,anxiety");
        assert_eq!(
            split_set(&stored, Indication::parse),
            Some(vec![Indication::Depression, Indication::Anxiety])
        );
        assert_eq!(split_set("", Substance::parse), Some(vec![]));
        assert_eq!(split_set("alcohol,wine", Substance::parse), None);
    }

    #[test]
    fn indications_and_substances() {
        use Indication::*;
        assert_eq!(
            check_indications(&[], &[]).unwrap_err().field,
            "indications"
        );
        assert!(check_indications(&[Depression, Anxiety], &[]).is_ok());
        assert_eq!(
            check_indications(&[Addiction], &[]).unwrap_err().field,
            "substances"
        );
        assert!(check_indications(&[Addiction, Precarity], &[Substance::Alcohol]).is_ok());
        assert_eq!(
            check_indications(&[Depression], &[Substance::Tobacco])
                .unwrap_err()
                .field,
            "substances"
        );
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn sesame_takes_adults() {
        let today = day("2026-11-24");
        assert_eq!(age_on(day("2008-11-24"), today), 18);
        assert_eq!(age_on(day("2008-11-25"), today), 17);
        let phq9 = score(Instrument::Phq9, &[2, 2, 2, 2, 1, 1, 0, 0, 0]).unwrap();
        let eligible = Declared {
            psychiatric_follow_up: false,
            screening: std::slice::from_ref(&phq9),
            overridden: false,
        };
        let field = |program, born, declared: Declared<'_>| {
            check_eligibility(program, day(born), today, &declared).map_err(|e| e.field)
        };
        assert_eq!(field(Program::Sesame, "2008-11-24", eligible), Ok(()));
        assert_eq!(
            field(Program::Sesame, "2008-11-25", eligible),
            Err("patient_id".into())
        );
        // The override never lifts the age.
        let overridden = Declared {
            overridden: true,
            ..eligible
        };
        assert_eq!(
            field(Program::Sesame, "2008-11-25", overridden),
            Err("patient_id".into())
        );
        // The microstructures take the practice's adults too, with no other criterion.
        for micro in [
            Program::MicrostructureAddiction,
            Program::MicrostructureMentalHealth,
        ] {
            assert_eq!(field(micro, "2008-11-24", eligible), Ok(()));
            assert_eq!(
                field(micro, "2008-11-25", eligible),
                Err("patient_id".into())
            );
        }
    }

    #[test]
    fn sesame_needs_no_psychiatric_follow_up_and_a_moderate_screening_unless_overridden() {
        let today = day("2026-11-24");
        let adult = day("1980-01-01");
        let phq2 = score(Instrument::Phq2, &[3, 3]).unwrap();
        let phq9_9 = score(Instrument::Phq9, &[1, 1, 1, 1, 1, 1, 1, 1, 1]).unwrap();
        let phq9_10 = score(Instrument::Phq9, &[2, 1, 1, 1, 1, 1, 1, 1, 1]).unwrap();
        let gad7_9 = score(Instrument::Gad7, &[2, 2, 2, 1, 1, 1, 0]).unwrap();
        let gad7_10 = score(Instrument::Gad7, &[2, 2, 2, 1, 1, 1, 1]).unwrap();
        let check = |program, follow_up, screening: Vec<Score>, overridden| {
            let declared = Declared {
                psychiatric_follow_up: follow_up,
                screening: &screening,
                overridden,
            };
            check_eligibility(program, adult, today, &declared)
        };
        let sesame = Program::Sesame;
        // The thresholds: PHQ-9 or GAD-7 of 10 or more; a PHQ-2 alone is not enough.
        assert!(check(sesame, false, vec![phq9_10.clone()], false).is_ok());
        assert!(check(sesame, false, vec![gad7_10.clone()], false).is_ok());
        assert!(check(sesame, false, vec![phq9_9.clone(), gad7_10.clone()], false).is_ok());
        assert_eq!(
            check(
                sesame,
                false,
                vec![phq2.clone(), phq9_9.clone(), gad7_9],
                false
            ),
            Err(broken(
                "screening",
                "the Sésame program needs PHQ-9 ≥ 10 or GAD-7 ≥ 10 at screening, \
                 or eligibility_override with the reason"
            ))
        );
        assert_eq!(
            check(sesame, false, vec![phq2.clone()], false).map_err(|e| e.field),
            Err("screening".into())
        );
        // An ongoing psychiatric follow-up, even with a moderate screening.
        assert_eq!(
            check(sesame, true, vec![phq9_10.clone()], false),
            Err(broken(
                "psychiatric_follow_up",
                "the Sésame program is for patients without an ongoing psychiatric follow-up; \
                 give eligibility_override with the reason to refer them anyway"
            ))
        );
        // The GP's override lifts both.
        assert!(check(sesame, true, vec![phq2.clone()], true).is_ok());
        // The microstructures have no such criteria, hence nothing to override.
        let micro = Program::MicrostructureAddiction;
        assert!(check(micro, true, vec![phq2.clone()], false).is_ok());
        assert_eq!(
            check(micro, false, vec![phq9_10], true).map_err(|e| e.field),
            Err("eligibility_override".into())
        );
    }

    #[test]
    fn each_program_treats_its_indications() {
        use Indication::*;
        use Program::*;
        let field = |program, indications: &[Indication]| {
            check_program_indications(program, indications).map_err(|e| e.message)
        };
        assert_eq!(field(Sesame, &[Depression]), Ok(()));
        assert_eq!(field(Sesame, &[Anxiety, Precarity]), Ok(()));
        assert_eq!(
            field(Sesame, &[Addiction]),
            Err("the sesame program treats depression or anxiety".to_owned())
        );
        assert_eq!(field(MicrostructureAddiction, &[Addiction]), Ok(()));
        assert_eq!(
            field(MicrostructureAddiction, &[Precarity, Anxiety]),
            Ok(())
        );
        assert_eq!(
            field(MicrostructureAddiction, &[Depression]),
            Err("the microstructure_addiction program treats addiction or precarity".to_owned())
        );
        assert_eq!(field(MicrostructureMentalHealth, &[Anxiety]), Ok(()));
        assert_eq!(field(MicrostructureMentalHealth, &[Other]), Ok(()));
        assert!(field(MicrostructureMentalHealth, &[Addiction, Precarity]).is_err());
        assert!(Program::MicrostructureMentalHealth.is_microstructure());
        assert!(!Program::Sesame.is_microstructure());
    }

    #[test]
    fn a_referral_entry_keeps_the_override_reason() {
        assert_eq!(referral_detail(None), None);
        assert_eq!(
            referral_detail(Some("Psychiatre injoignable.")).as_deref(),
            Some("eligibility_override=Psychiatre injoignable.")
        );
    }

    #[test]
    fn contacts_are_dated_between_referral_and_now() {
        let now = Utc::now();
        let referred = now - Duration::days(20);
        assert!(check_occurred_at("occurred_at", now, referred, now).is_ok());
        assert!(check_occurred_at("occurred_at", referred, referred, now).is_ok());
        let future = check_occurred_at("occurred_at", now + Duration::seconds(1), referred, now);
        assert_eq!(future.unwrap_err().message, "cannot be in the future");
        let early = check_occurred_at("occurred_at", referred - Duration::days(1), referred, now);
        assert_eq!(early.unwrap_err().message, "cannot be before the referral");
    }

    #[test]
    fn scores_only_at_completed_contacts() {
        let at = Utc::now();
        assert!(check_contact(ContactOutcome::Completed, true, at, None).is_ok());
        assert!(check_contact(ContactOutcome::NoAnswer, false, at, None).is_ok());
        assert_eq!(
            check_contact(ContactOutcome::Cancelled, true, at, None)
                .unwrap_err()
                .field,
            "outcome"
        );
        assert_eq!(
            check_contact(ContactOutcome::Completed, false, at, Some(at))
                .unwrap_err()
                .field,
            "next_planned_at"
        );
        assert!(
            check_contact(
                ContactOutcome::Completed,
                false,
                at,
                Some(at + Duration::days(14))
            )
            .is_ok()
        );
    }

    #[test]
    fn worklist_priority_order() {
        let due = |d: &str| Some(day(d));
        let alert = Priority::of(
            &[Flag::SafetyAlert, Flag::NeedsReview],
            0,
            due("2026-12-01"),
        );
        let overdue_5 = Priority::of(&[], 5, due("2026-11-19"));
        let overdue_2 = Priority::of(&[Flag::NeedsReview], 2, due("2026-11-22"));
        let review = Priority::of(&[Flag::NeedsReview], 0, due("2026-12-10"));
        let soon = Priority::of(&[], 0, due("2026-11-25"));
        let later = Priority::of(&[], 0, due("2026-12-05"));
        let undated = Priority::of(&[], 0, None);
        let mut list = vec![undated, later, review, soon, overdue_2, alert, overdue_5];
        list.sort_by_key(Priority::key);
        assert_eq!(
            list,
            vec![alert, overdue_5, overdue_2, review, soon, later, undated]
        );
    }

    #[test]
    fn a_referral_needs_a_screening_consent_and_no_open_case() {
        let phq2 = crate::domain::instruments::score(
            crate::domain::instruments::Instrument::Phq2,
            &[1, 2],
        )
        .unwrap();
        assert!(check_screening(&[phq2]).is_ok());
        assert_eq!(
            check_screening(&[]),
            Err(broken(
                "screening",
                "give at least one questionnaire (phq2, phq9 or gad7)"
            ))
        );
        assert!(check_consent(ConsentStatus::Informed).is_ok());
        assert!(check_consent(ConsentStatus::Objected).is_err());
        assert!(check_no_open_case(None).is_ok());
        assert_eq!(
            check_no_open_case(Some("c1")).unwrap_err().detail,
            "the patient already has an open case (c1); close it before a new referral"
        );
    }

    #[test]
    fn a_case_update_names_the_actions_it_needs() {
        use Action::*;
        assert_eq!(update_actions(true, false), Ok(vec![ReassignCase]));
        assert_eq!(update_actions(false, true), Ok(vec![FlagReview]));
        assert_eq!(
            update_actions(true, true),
            Ok(vec![ReassignCase, FlagReview])
        );
        assert_eq!(
            update_actions(false, false),
            Err(broken(
                "body",
                "give nurse_id, psychiatrist_id, psychologist_id, social_worker_id or \
                 review_requested"
            ))
        );
    }

    #[test]
    fn the_assessor_holds_a_case_nobody_held() {
        assert_eq!(nurse_after_assessment(None, "n1"), "n1");
        assert_eq!(nurse_after_assessment(Some("n0".into()), "n1"), "n0");
    }

    #[test]
    fn only_a_later_completed_contact_moves_the_last_one() {
        use ContactOutcome::*;
        let now = Utc::now();
        let before = now - Duration::days(3);
        assert_eq!(last_completed_contact(None, Completed, now), Some(now));
        assert_eq!(last_completed_contact(None, NoAnswer, now), None);
        assert_eq!(
            last_completed_contact(Some(before), Completed, now),
            Some(now)
        );
        assert_eq!(
            last_completed_contact(Some(now), Completed, before),
            Some(now)
        );
        assert_eq!(
            last_completed_contact(Some(before), Cancelled, now),
            Some(before)
        );
    }

    #[test]
    fn the_first_score_is_the_baseline_or_before_it_the_screening() {
        assert_eq!(first_score(Some(18), Some(9), true), Some(18));
        assert_eq!(first_score(None, Some(9), false), Some(9));
        assert_eq!(first_score(None, Some(9), true), None);
        assert_eq!(first_score(None, None, false), None);
    }

    #[test]
    fn timeline_details() {
        assert_eq!(
            contact_detail(ContactOutcome::NoAnswer),
            "outcome=no_answer"
        );
        assert_eq!(review_detail(true), "review_requested=true");
        assert_eq!(
            reassignment_detail(&[
                ("nurse_id", Some(Some("n1"))),
                ("psychiatrist_id", Some(None))
            ]),
            "nurse_id=n1 psychiatrist_id=none"
        );
        assert_eq!(
            reassignment_detail(&[
                ("nurse_id", None),
                ("psychiatrist_id", Some(Some("p1"))),
                ("social_worker_id", Some(Some("s1")))
            ]),
            "psychiatrist_id=p1 social_worker_id=s1"
        );
    }

    #[test]
    fn weeks_count_from_the_assessment() {
        let now = Utc::now();
        assert_eq!(weeks_in_treatment(None, now), 0);
        assert_eq!(weeks_in_treatment(Some(now - Duration::days(20)), now), 2);
        assert_eq!(weeks_in_treatment(Some(now + Duration::days(1)), now), 0);
    }
}
