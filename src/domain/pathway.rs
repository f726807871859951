//! The pathway of a case (PATHWAY.md §2): its phases, the one table of allowed moves, exit
//! reasons, cadences, and the state derived from stored facts (due dates, flags).

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::case::{Program, RuleError, broken};
use super::instruments::{Instrument, is_remission, is_response};

vocabulary!(
    Phase {
        /// Created by the GP's referral; the nurse's initial assessment is due.
        Referred => "referred",
        /// Nurse-led care, a completed contact every fortnight.
        Active => "active",
        /// The patient has responded; monthly contacts.
        RelapsePrevention => "relapse_prevention",
        /// Ended with an exit reason; read-only, but for the microstructure's exit survey.
        Closed => "closed",
    }
);

/// How a case may move. `Assessment` is the nurse's initial assessment (its own endpoint); the
/// others are what `POST /cases/{id}/transitions` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Assessment,
    To(Phase),
}

/// The one transition table. `None`: refused.
pub fn next_phase(from: Phase, requested: Move) -> Option<Phase> {
    use Phase::*;
    match (from, requested) {
        (Referred, Move::Assessment) => Some(Active),
        (Active, Move::To(RelapsePrevention)) => Some(RelapsePrevention),
        // A relapse.
        (RelapsePrevention, Move::To(Active)) => Some(Active),
        (Referred | Active | RelapsePrevention, Move::To(Closed)) => Some(Closed),
        _ => None,
    }
}

/// The phases `POST /transitions` may reach from `from` (the body of a refused move).
pub fn allowed_transitions(from: Phase) -> Vec<Phase> {
    Phase::ALL
        .iter()
        .copied()
        .filter(|&to| next_phase(from, Move::To(to)).is_some())
        .collect()
}

/// A move of a case to another phase, as it is written on the case and on its timeline entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseChange {
    pub from: Phase,
    pub to: Phase,
    /// When the case entered `to` (its `phase_since`).
    pub since: DateTime<Utc>,
    /// When it closed, on a move to `closed`.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it closed, on a move to `closed`.
    pub exit_reason: Option<ExitReason>,
}

/// What a case's state refuses (409): `detail` says why; `allowed` lists the phases
/// `POST /transitions` may reach when the refusal is of a move (empty on a closed case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub detail: String,
    pub allowed: Option<Vec<Phase>>,
}

impl Refused {
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            allowed: None,
        }
    }

    /// A refused move: why, then the phases the case may move to from where it is.
    pub fn refused_move(from: Phase, why: &str) -> Self {
        let allowed = allowed_transitions(from);
        let names: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
        Self {
            detail: format!(
                "{why}; from {} the case may move to: {}",
                from.as_str(),
                if names.is_empty() {
                    "nothing".to_owned()
                } else {
                    names.join(", ")
                }
            ),
            allowed: Some(allowed),
        }
    }
}

/// A closed case is read-only: every change is refused (the microstructure's exit survey is not a
/// change of the case: `domain::survey`).
pub fn ensure_open(phase: Phase) -> Result<(), Refused> {
    if phase == Phase::Closed {
        Err(Refused {
            detail: "the case is closed and read-only; a new episode is a new case".to_owned(),
            allowed: Some(vec![]),
        })
    } else {
        Ok(())
    }
}

/// The nurse's initial assessment, dated `at`: a referred case becomes active.
pub fn assess(from: Phase, at: DateTime<Utc>) -> Result<PhaseChange, Refused> {
    let to = next_phase(from, Move::Assessment).ok_or_else(|| {
        Refused::refused_move(
            from,
            "the initial assessment is recorded once, on a referred case",
        )
    })?;
    Ok(PhaseChange {
        from,
        to,
        since: at,
        closed_at: None,
        exit_reason: None,
    })
}

/// The exit reason goes with closing: required to close, refused on any other move.
pub fn check_exit_reason(to: Phase, exit_reason: Option<ExitReason>) -> Result<(), RuleError> {
    match (to, exit_reason) {
        (Phase::Closed, None) => Err(broken("exit_reason", "required to close a case")),
        (to, Some(_)) if to != Phase::Closed => {
            Err(broken("exit_reason", "given only when closing a case"))
        }
        _ => Ok(()),
    }
}

/// A move asked of `POST /transitions` at `at` (the exit reason already checked by
/// `check_exit_reason`); a closing move carries its date and reason.
pub fn transition(
    from: Phase,
    to: Phase,
    exit_reason: Option<ExitReason>,
    at: DateTime<Utc>,
) -> Result<PhaseChange, Refused> {
    if next_phase(from, Move::To(to)).is_none() {
        let why = if from == Phase::Referred && to == Phase::Active {
            "a referred case becomes active by its initial assessment (POST /assessment)".to_owned()
        } else {
            format!(
                "a case cannot move from {} to {}",
                from.as_str(),
                to.as_str()
            )
        };
        return Err(Refused::refused_move(from, &why));
    }
    let closing = to == Phase::Closed;
    Ok(PhaseChange {
        from,
        to,
        since: at,
        closed_at: closing.then_some(at),
        exit_reason: exit_reason.filter(|_| closing),
    })
}

/// Contacts follow the initial assessment: a referred case refuses them.
pub fn check_contact_phase(phase: Phase) -> Result<(), Refused> {
    if phase == Phase::Referred {
        Err(Refused::new(
            "the case is waiting for its initial assessment: record it first (POST /assessment)",
        ))
    } else {
        Ok(())
    }
}

vocabulary!(
    ExitReason {
        Remission => "remission",
        SpecialistReferral => "specialist_referral",
        PatientChoice => "patient_choice",
        LostToFollowUp => "lost_to_follow_up",
        NotEligible => "not_eligible",
        Moved => "moved",
        Deceased => "deceased",
        Other => "other",
    }
);

/// Program settings that shape due dates and flags (defaults from PATHWAY.md; configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadences {
    pub assessment_due_days: i64,
    pub active_contact_days: i64,
    pub relapse_prevention_contact_days: i64,
    /// The microstructures' psychological and social consultations: weekly (seeds/002).
    pub consultation_days: i64,
    pub not_improving_weeks: i64,
    pub long_episode_days: i64,
}

impl Default for Cadences {
    fn default() -> Self {
        Self {
            assessment_due_days: 14,
            active_contact_days: 14,
            relapse_prevention_contact_days: 30,
            consultation_days: 7,
            not_improving_weeks: 10,
            long_episode_days: 365,
        }
    }
}

/// The instants at which the flags that grow with time turn on, seen at one instant: `derive`
/// compares each case's dates with them, and the lists and worklists ask the database the same
/// questions of the stored columns (so a filter and the flags it filters on agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// An active case assessed at or before this instant, without response, is not improving.
    pub not_improving_assessed_by: DateTime<Utc>,
    /// An open case referred before this instant is a long episode.
    pub long_episode_referred_before: DateTime<Utc>,
    /// An open case due before this day is overdue.
    pub overdue_due_before: NaiveDate,
}

impl Cadences {
    /// The cutoffs at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        Cutoffs {
            not_improving_assessed_by: now - Duration::weeks(self.not_improving_weeks),
            long_episode_referred_before: now - Duration::days(self.long_episode_days),
            overdue_due_before: now.date_naive(),
        }
    }
}

/// The stored facts of a case that its derived state depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub program: Program,
    pub phase: Phase,
    pub referred_at: DateTime<Utc>,
    pub assessed_at: Option<DateTime<Utc>>,
    /// When the case last entered its current phase.
    pub phase_since: DateTime<Utc>,
    pub last_completed_contact_at: Option<DateTime<Utc>>,
    pub baseline_phq9: Option<u8>,
    pub latest_phq9: Option<u8>,
    pub baseline_gad7: Option<u8>,
    pub latest_gad7: Option<u8>,
    /// Item 9 of the most recent PHQ-9 was above 0.
    pub latest_phq9_item9_positive: bool,
    /// Set by the nurse or the psychiatrist.
    pub review_requested: bool,
}

vocabulary!(
    Flag {
        SafetyAlert => "safety_alert",
        NotImproving => "not_improving",
        NeedsReview => "needs_review",
        LongEpisode => "long_episode",
    }
);

/// What is computed from the facts at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedState {
    pub next_contact_due: Option<NaiveDate>,
    pub overdue_days: i64,
    pub responded: bool,
    pub remitted: bool,
    pub flags: Vec<Flag>,
}

/// Derives due date, overdue days, response, remission and flags at `now`.
pub fn derive(facts: &CaseFacts, cadences: &Cadences, now: DateTime<Utc>) -> DerivedState {
    let due = match facts.phase {
        Phase::Referred => Some(facts.referred_at + Duration::days(cadences.assessment_due_days)),
        Phase::Active | Phase::RelapsePrevention => {
            let cadence = match facts.phase {
                Phase::Active if facts.program.is_microstructure() => cadences.consultation_days,
                Phase::Active => cadences.active_contact_days,
                _ => cadences.relapse_prevention_contact_days,
            };
            facts
                .last_completed_contact_at
                .or(facts.assessed_at)
                .map(|from| from + Duration::days(cadence))
        }
        Phase::Closed => None,
    };
    let cutoffs = cadences.cutoffs(now);
    let next_contact_due = due.map(|d| d.date_naive());
    let overdue_days =
        next_contact_due.map_or(0, |d| (cutoffs.overdue_due_before - d).num_days().max(0));

    let responded = pair_responded(facts.baseline_phq9, facts.latest_phq9)
        || pair_responded(facts.baseline_gad7, facts.latest_gad7);
    let remitted = facts
        .latest_phq9
        .is_some_and(|s| is_remission(Instrument::Phq9, s))
        && facts
            .latest_gad7
            .is_none_or(|s| is_remission(Instrument::Gad7, s));

    let open = facts.phase != Phase::Closed;
    let safety_alert = open && facts.latest_phq9_item9_positive;
    // Only what was measured at baseline can fail to improve: a microstructure case included
    // without PHQ-9 or GAD-7 is never "not improving".
    let measured = facts.baseline_phq9.is_some() || facts.baseline_gad7.is_some();
    let not_improving = facts.phase == Phase::Active
        && measured
        && facts
            .assessed_at
            .is_some_and(|at| at <= cutoffs.not_improving_assessed_by)
        && !responded;
    let needs_review = open && (safety_alert || not_improving || facts.review_requested);
    let long_episode = open && facts.referred_at < cutoffs.long_episode_referred_before;

    let flags = [
        (safety_alert, Flag::SafetyAlert),
        (not_improving, Flag::NotImproving),
        (needs_review, Flag::NeedsReview),
        (long_episode, Flag::LongEpisode),
    ]
    .into_iter()
    .filter_map(|(on, flag)| on.then_some(flag))
    .collect();
    DerivedState {
        next_contact_due,
        overdue_days,
        responded,
        remitted,
        flags,
    }
}

fn pair_responded(baseline: Option<u8>, latest: Option<u8>) -> bool {
    matches!((baseline, latest), (Some(b), Some(l)) if is_response(b, l))
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(Phase::ALL, Phase::as_str));
        assert!(crate::domain::words_agree(
            ExitReason::ALL,
            ExitReason::as_str
        ));
        assert!(crate::domain::words_agree(Flag::ALL, Flag::as_str));
    }
    use super::*;

    /// Every (phase, move) pair, against the table written out by hand.
    #[test]
    fn every_transition_pair() {
        use Phase::*;
        let moves = [
            Move::Assessment,
            Move::To(Referred),
            Move::To(Active),
            Move::To(RelapsePrevention),
            Move::To(Closed),
        ];
        // Rows: from; columns: the moves above. '-' refused.
        let table = [
            (Referred, [Some(Active), None, None, None, Some(Closed)]),
            (
                Active,
                [None, None, None, Some(RelapsePrevention), Some(Closed)],
            ),
            (
                RelapsePrevention,
                [None, None, Some(Active), None, Some(Closed)],
            ),
            (Closed, [None, None, None, None, None]),
        ];
        for (from, row) in table {
            for (requested, want) in moves.into_iter().zip(row) {
                assert_eq!(next_phase(from, requested), want, "{from:?} {requested:?}");
            }
        }
        assert_eq!(allowed_transitions(Referred), vec![Closed]);
        assert_eq!(allowed_transitions(Active), vec![RelapsePrevention, Closed]);
        assert_eq!(allowed_transitions(RelapsePrevention), vec![Active, Closed]);
        assert!(allowed_transitions(Closed).is_empty());
    }

    #[test]
    fn closing_takes_an_exit_reason_and_nothing_else_does() {
        use Phase::*;
        let reason = Some(ExitReason::Remission);
        assert!(check_exit_reason(Closed, reason).is_ok());
        assert!(check_exit_reason(RelapsePrevention, None).is_ok());
        let missing = check_exit_reason(Closed, None).unwrap_err();
        assert_eq!(
            (missing.field.as_ref(), missing.message.as_str()),
            ("exit_reason", "required to close a case")
        );
        let extra = check_exit_reason(Active, reason).unwrap_err();
        assert_eq!(
            (extra.field.as_ref(), extra.message.as_str()),
            ("exit_reason", "given only when closing a case")
        );
    }

    #[test]
    fn a_move_is_the_typed_change_to_write() {
        use Phase::*;
        let reason = Some(ExitReason::Moved);
        assert_eq!(
            transition(Active, Closed, reason, at(3)),
            Ok(PhaseChange {
                from: Active,
                to: Closed,
                since: at(3),
                closed_at: Some(at(3)),
                exit_reason: reason,
            })
        );
        assert_eq!(
            transition(Active, RelapsePrevention, None, at(3)),
            Ok(PhaseChange {
                from: Active,
                to: RelapsePrevention,
                since: at(3),
                closed_at: None,
                exit_reason: None,
            })
        );
        assert_eq!(
            assess(Referred, at(2)).map(|c| (c.from, c.to, c.since, c.closed_at)),
            Ok((Referred, Active, at(2), None))
        );
    }

    #[test]
    fn a_refused_move_says_why_and_where_the_case_may_go() {
        use Phase::*;
        assert_eq!(
            transition(Referred, Active, None, at(1)),
            Err(Refused {
                detail: "a referred case becomes active by its initial assessment \
                         (POST /assessment); from referred the case may move to: closed"
                    .to_owned(),
                allowed: Some(vec![Closed]),
            })
        );
        assert_eq!(
            transition(Active, Referred, None, at(1))
                .unwrap_err()
                .detail,
            "a case cannot move from active to referred; from active the case may move to: \
             relapse_prevention, closed"
        );
        assert_eq!(
            assess(Active, at(1)),
            Err(Refused {
                detail: "the initial assessment is recorded once, on a referred case; from \
                         active the case may move to: relapse_prevention, closed"
                    .to_owned(),
                allowed: Some(vec![RelapsePrevention, Closed]),
            })
        );
        assert_eq!(
            Refused::refused_move(Closed, "no").detail,
            "no; from closed the case may move to: nothing"
        );
    }

    #[test]
    fn a_closed_case_is_read_only_and_contacts_wait_for_the_assessment() {
        use Phase::*;
        assert!(ensure_open(RelapsePrevention).is_ok());
        assert_eq!(ensure_open(Closed).unwrap_err().allowed, Some(vec![]));
        assert!(check_contact_phase(Active).is_ok());
        assert_eq!(
            check_contact_phase(Referred),
            Err(Refused::new(
                "the case is waiting for its initial assessment: record it first (POST /assessment)"
            ))
        );
    }

    #[test]
    fn the_cutoffs_are_where_derive_turns_the_flags_on() {
        let c = Cadences::default();
        let now = at(400);
        let cut = c.cutoffs(now);
        let assessed_by = cut.not_improving_assessed_by;
        let flags_assessed = |assessed_at: DateTime<Utc>| {
            let facts = CaseFacts {
                assessed_at: Some(assessed_at),
                referred_at: assessed_at,
                ..active(0, (20, 15))
            };
            derive(&facts, &c, now).flags
        };
        assert!(flags_assessed(assessed_by).contains(&Flag::NotImproving));
        assert!(!flags_assessed(assessed_by + Duration::seconds(1)).contains(&Flag::NotImproving));
        let long = |referred_at: DateTime<Utc>| {
            let facts = CaseFacts {
                referred_at,
                ..referred()
            };
            derive(&facts, &c, now).flags.contains(&Flag::LongEpisode)
        };
        let before = cut.long_episode_referred_before;
        assert!(long(before - Duration::seconds(1)));
        assert!(!long(before));
        let due_on = |day: NaiveDate| {
            let facts = CaseFacts {
                referred_at: day.and_hms_opt(9, 0, 0).unwrap().and_utc()
                    - Duration::days(c.assessment_due_days),
                ..referred()
            };
            derive(&facts, &c, now).overdue_days
        };
        assert_eq!(due_on(cut.overdue_due_before - Duration::days(1)), 1);
        assert_eq!(due_on(cut.overdue_due_before), 0);
    }

    #[test]
    fn names_round_trip() {
        for &phase in Phase::ALL {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
        }
        for &reason in ExitReason::ALL {
            assert_eq!(ExitReason::parse(reason.as_str()), Some(reason));
        }
    }

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-05T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::days(day)
    }

    fn referred() -> CaseFacts {
        CaseFacts {
            program: Program::Sesame,
            phase: Phase::Referred,
            referred_at: at(0),
            assessed_at: None,
            phase_since: at(0),
            last_completed_contact_at: None,
            baseline_phq9: None,
            latest_phq9: None,
            baseline_gad7: None,
            latest_gad7: None,
            latest_phq9_item9_positive: false,
            review_requested: false,
        }
    }

    fn active(assessed: i64, phq9: (u8, u8)) -> CaseFacts {
        CaseFacts {
            phase: Phase::Active,
            assessed_at: Some(at(assessed)),
            phase_since: at(assessed),
            baseline_phq9: Some(phq9.0),
            latest_phq9: Some(phq9.1),
            ..referred()
        }
    }

    #[test]
    fn the_assessment_is_due_fourteen_days_after_referral() {
        let c = Cadences::default();
        let d = derive(&referred(), &c, at(14));
        assert_eq!(d.next_contact_due, Some(at(14).date_naive()));
        assert_eq!(d.overdue_days, 0);
        assert_eq!(derive(&referred(), &c, at(17)).overdue_days, 3);
    }

    #[test]
    fn only_completed_contacts_move_the_due_date() {
        let c = Cadences::default();
        let mut facts = active(2, (18, 16));
        assert_eq!(
            derive(&facts, &c, at(3)).next_contact_due,
            Some(at(16).date_naive())
        );
        facts.last_completed_contact_at = Some(at(10));
        assert_eq!(
            derive(&facts, &c, at(30)).next_contact_due,
            Some(at(24).date_naive())
        );
        assert_eq!(derive(&facts, &c, at(30)).overdue_days, 6);
        facts.phase = Phase::RelapsePrevention;
        assert_eq!(
            derive(&facts, &c, at(30)).next_contact_due,
            Some(at(40).date_naive())
        );
        facts.phase = Phase::Closed;
        let closed = derive(&facts, &c, at(300));
        assert_eq!((closed.next_contact_due, closed.overdue_days), (None, 0));
    }

    #[test]
    fn not_improving_after_ten_weeks_without_response() {
        let c = Cadences::default();
        let facts = active(0, (20, 12));
        assert!(
            !derive(&facts, &c, at(69))
                .flags
                .contains(&Flag::NotImproving)
        );
        let d = derive(&facts, &c, at(70));
        assert_eq!(d.flags, vec![Flag::NotImproving, Flag::NeedsReview]);
        // A response on either instrument clears it.
        assert!(derive(&active(0, (20, 10)), &c, at(70)).flags.is_empty());
        let gad_response = CaseFacts {
            baseline_gad7: Some(16),
            latest_gad7: Some(8),
            ..facts
        };
        assert!(derive(&gad_response, &c, at(70)).flags.is_empty());
    }

    #[test]
    fn safety_alert_review_and_long_episodes() {
        let c = Cadences::default();
        let alert = CaseFacts {
            latest_phq9_item9_positive: true,
            ..active(0, (20, 20))
        };
        assert_eq!(
            derive(&alert, &c, at(1)).flags,
            vec![Flag::SafetyAlert, Flag::NeedsReview]
        );
        let asked = CaseFacts {
            review_requested: true,
            ..active(0, (20, 9))
        };
        assert_eq!(derive(&asked, &c, at(1)).flags, vec![Flag::NeedsReview]);
        let long = active(0, (20, 9));
        assert!(
            !derive(&long, &c, at(365))
                .flags
                .contains(&Flag::LongEpisode)
        );
        assert!(
            derive(&long, &c, at(366))
                .flags
                .contains(&Flag::LongEpisode)
        );
        let closed = CaseFacts {
            phase: Phase::Closed,
            ..alert
        };
        assert!(derive(&closed, &c, at(400)).flags.is_empty());
    }

    #[test]
    fn response_and_remission_from_baseline_and_latest() {
        let c = Cadences::default();
        let d = derive(&active(0, (20, 4)), &c, at(1));
        assert!(d.responded && d.remitted);
        let d = derive(&active(0, (20, 11)), &c, at(1));
        assert!(!d.responded && !d.remitted);
        let gad_high = CaseFacts {
            baseline_gad7: Some(15),
            latest_gad7: Some(9),
            ..active(0, (20, 3))
        };
        assert!(
            !derive(&gad_high, &c, at(1)).remitted,
            "remission needs GAD-7 below 5 too when measured"
        );
    }
}
