//! The care team's case review meeting (PATHWAY.md §7: the microstructure's monthly réunion de
//! synthèse; Sésame's nurse–psychiatrist caseload review): who may take part, when it may be
//! dated, what a decision may plan, the timeline entry it leaves on a case, the agenda the server
//! proposes for the next one, and which practices went a month without one.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::account::Role;
use super::case::{Priority, RuleError, broken};
use super::indicators::Period;
use super::pathway::{ExitReason, Flag, Move, Phase, check_exit_reason, next_phase};

/// The roles of a practice's care team: who takes part in its meetings.
pub const TEAM: [Role; 5] = [
    Role::Gp,
    Role::Nurse,
    Role::Psychiatrist,
    Role::Psychologist,
    Role::SocialWorker,
];

/// At most this many cases decided at one meeting.
pub const MAX_DECISIONS: usize = 200;

/// Said of a participant who is not an active member of the practice's care team.
pub const NOT_A_TEAM_MEMBER: &str = "must be an active GP, nurse, psychiatrist, psychologist or \
                                     social worker of the practice";

/// Said of a decided case that is not an open case of the practice (missing, closed, or of
/// another practice: the same words, so that another practice's case is not told apart).
pub const NOT_AN_OPEN_CASE: &str = "must be an open case of the practice";

/// The earliest day a meeting may be dated (older records are typing mistakes).
pub fn earliest_meeting_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// A meeting is recorded once it has taken place: not after `today` (the program's local date),
/// not before 2000.
pub fn check_held_on(held_on: NaiveDate, today: NaiveDate) -> Result<(), RuleError> {
    if held_on > today {
        return Err(broken("held_on", "cannot be in the future"));
    }
    if held_on < earliest_meeting_day() {
        return Err(broken("held_on", "must be on or after 2000-01-01"));
    }
    Ok(())
}

/// A case is discussed once it exists: not at a meeting held before the day it was referred
/// (`referred_on`, a local date).
pub fn check_discussed_after_referral(
    held_on: NaiveDate,
    referred_on: NaiveDate,
) -> Result<(), RuleError> {
    if held_on < referred_on {
        return Err(broken("case_id", "was referred after the meeting's day"));
    }
    Ok(())
}

/// When a meeting's entries go on the timelines: midday of the day it was held in `zone` (the
/// hour is not recorded), or now if that is still to come.
pub fn entry_time(held_on: NaiveDate, zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let day = Period {
        from: held_on,
        to: held_on,
    };
    let (midnight, _) = day.bounds(zone);
    (midnight + Duration::hours(12)).min(now)
}

/// The positions of the items that repeat an earlier one (each person or case is named once).
pub fn repeated<T: PartialEq>(items: &[T]) -> Vec<usize> {
    (0..items.len())
        .filter(|&i| items[..i].contains(&items[i]))
        .collect()
}

/// A phase move the team plans for a case (it does not move the case: the nurse does, later, at
/// `POST /cases/{id}/transitions`). The plan must be a move the pathway allows from where the case
/// is — a referred case becomes active by its assessment — with the exit reason exactly when it
/// plans to close. Fields are named within the plan (`to`, `exit_reason`).
pub fn check_plan(
    from: Phase,
    to: Phase,
    exit_reason: Option<ExitReason>,
) -> Result<(), RuleError> {
    check_exit_reason(to, exit_reason)?;
    let by_assessment = next_phase(from, Move::Assessment) == Some(to);
    if next_phase(from, Move::To(to)).is_none() && !by_assessment {
        return Err(broken(
            "to",
            format!(
                "the pathway does not lead from {} to {}",
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    Ok(())
}

/// The machine-readable `detail` of a case's `meeting` timeline entry:
/// `meeting=<id> clear_review=<bool>`, then `planned=<phase>` (and `exit_reason=<reason>`) for a
/// planned move, and `tele_expertise=<request id>` for a question asked there.
pub fn decision_detail(
    meeting_id: &str,
    clear_review: bool,
    planned: Option<(Phase, Option<ExitReason>)>,
    tele_expertise_id: Option<&str>,
) -> String {
    let mut detail = format!("meeting={meeting_id} clear_review={clear_review}");
    if let Some((to, exit_reason)) = planned {
        detail.push_str(&format!(" planned={}", to.as_str()));
        if let Some(reason) = exit_reason {
            detail.push_str(&format!(" exit_reason={}", reason.as_str()));
        }
    }
    if let Some(request) = tele_expertise_id {
        detail.push_str(&format!(" tele_expertise={request}"));
    }
    detail
}

/// What the agenda looks at in an open case, at the time it is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub flags: Vec<Flag>,
    pub overdue_days: i64,
    pub next_contact_due: Option<NaiveDate>,
}

impl Standing {
    /// A case the team should discuss: a safety alert, not improving, needing review (which a
    /// nurse's or psychiatrist's request also raises), or overdue. A long episode alone is not.
    pub fn belongs_on_agenda(&self) -> bool {
        self.overdue_days > 0
            || self.flags.iter().any(|f| {
                matches!(
                    f,
                    Flag::SafetyAlert | Flag::NotImproving | Flag::NeedsReview
                )
            })
    }

    fn priority(&self) -> Priority {
        Priority::of(&self.flags, self.overdue_days, self.next_contact_due)
    }
}

/// The proposed agenda: of the open `cases`, those that belong on it, in the worklist's priority
/// order (`domain::case::Priority`: safety alerts, most overdue, needing review, due soonest);
/// cases of equal priority keep the order they were given in.
pub fn agenda<T>(cases: Vec<T>, standing: impl Fn(&T) -> Standing) -> Vec<T> {
    let mut kept: Vec<(Standing, T)> = cases
        .into_iter()
        .map(|case| (standing(&case), case))
        .filter(|(s, _)| s.belongs_on_agenda())
        .collect();
    kept.sort_by_key(|(s, _)| s.priority().key());
    kept.into_iter().map(|(_, case)| case).collect()
}

/// The calendar month before the one of `day`.
pub fn previous_month(day: NaiveDate) -> Period {
    let first_of_this = day.with_day(1).unwrap_or(day);
    let last = first_of_this.pred_opt().unwrap_or(first_of_this);
    Period {
        from: last.with_day(1).unwrap_or(last),
        to: last,
    }
}

/// A practice as the coordinators' digest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeStanding<'a> {
    pub id: &'a str,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// Of `practices`, the ids of those that should have met in `month` and did not: active, created
/// before the month ended (its last day's local midnight in `zone`), and with no meeting held on a
/// day of the month among `held` (practice id, day held). In the order given.
pub fn without_meeting<'a>(
    month: &Period,
    zone: Tz,
    practices: &[PracticeStanding<'a>],
    held: &[(String, NaiveDate)],
) -> Vec<&'a str> {
    let (_, month_ended) = month.bounds(zone);
    practices
        .iter()
        .filter(|p| p.active && p.created_at < month_ended)
        .filter(|p| {
            !held
                .iter()
                .any(|(practice, day)| practice == p.id && month.contains(*day))
        })
        .map(|p| p.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::{Action, Actor, authorize};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_team_is_who_may_hold_a_meeting() {
        for &role in Role::ALL {
            let actor = Actor {
                id: "a".into(),
                kind: crate::domain::tokens::SubjectKind::User,
                role: Some(role),
                practice_ids: vec!["p1".into()],
                locale: crate::domain::account::Locale::Fr,
            };
            assert_eq!(
                TEAM.contains(&role),
                authorize(&actor, Action::HoldMeetings).is_ok(),
                "{role:?}"
            );
        }
    }

    #[test]
    fn a_meeting_is_dated_on_or_before_today() {
        let today = day("2026-11-23");
        assert_eq!(check_held_on(today, today), Ok(()));
        assert_eq!(check_held_on(day("2026-10-30"), today), Ok(()));
        assert_eq!(
            check_held_on(day("2026-11-24"), today),
            Err(broken("held_on", "cannot be in the future"))
        );
        assert_eq!(
            check_held_on(day("1999-12-31"), today).map_err(|e| e.field),
            Err("held_on".into())
        );
        assert_eq!(check_held_on(day("2000-01-01"), today), Ok(()));
    }

    #[test]
    fn a_case_is_discussed_from_its_referral_day() {
        assert_eq!(
            check_discussed_after_referral(day("2026-11-20"), day("2026-11-20")),
            Ok(())
        );
        assert_eq!(
            check_discussed_after_referral(day("2026-11-19"), day("2026-11-20"))
                .map_err(|e| e.field),
            Err("case_id".into())
        );
    }

    #[test]
    fn entries_are_dated_midday_of_the_meeting_or_now() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let paris = chrono_tz::Europe::Paris;
        let now = at("2026-11-23T08:00:00Z");
        assert_eq!(
            entry_time(day("2026-11-20"), paris, now),
            at("2026-11-20T11:00:00Z")
        );
        // Summer time.
        assert_eq!(
            entry_time(day("2026-07-01"), paris, now),
            at("2026-07-01T10:00:00Z")
        );
        // Held this morning: midday is still to come.
        assert_eq!(entry_time(day("2026-11-23"), paris, now), now);
    }

    #[test]
    fn repeats_are_found_after_their_first() {
        assert_eq!(repeated(&["a", "b", "a", "c", "b", "a"]), vec![2, 4, 5]);
        assert!(repeated::<&str>(&[]).is_empty());
        assert!(repeated(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn a_plan_is_a_move_the_pathway_allows_from_where_the_case_is() {
        use Phase::*;
        assert_eq!(check_plan(Active, RelapsePrevention, None), Ok(()));
        assert_eq!(check_plan(RelapsePrevention, Active, None), Ok(()));
        // A referred case becomes active by its assessment: a plan may say so.
        assert_eq!(check_plan(Referred, Active, None), Ok(()));
        for from in [Referred, Active, RelapsePrevention] {
            assert_eq!(
                check_plan(from, Closed, Some(ExitReason::Remission)),
                Ok(())
            );
        }
        assert_eq!(
            check_plan(Referred, RelapsePrevention, None),
            Err(broken(
                "to",
                "the pathway does not lead from referred to relapse_prevention"
            ))
        );
        assert_eq!(
            check_plan(Active, Active, None).map_err(|e| e.field),
            Err("to".into())
        );
        assert_eq!(
            check_plan(Active, Referred, None).map_err(|e| e.field),
            Err("to".into())
        );
        // The exit reason exactly when closing.
        assert_eq!(
            check_plan(Active, Closed, None).map_err(|e| e.field),
            Err("exit_reason".into())
        );
        assert_eq!(
            check_plan(Active, RelapsePrevention, Some(ExitReason::Other)).map_err(|e| e.field),
            Err("exit_reason".into())
        );
    }

    #[test]
    fn a_decisions_timeline_detail_says_what_was_decided() {
        assert_eq!(
            decision_detail("m1", true, None, None),
            "meeting=m1 clear_review=true"
        );
        assert_eq!(
            decision_detail("m1", false, Some((Phase::RelapsePrevention, None)), None),
            "meeting=m1 clear_review=false planned=relapse_prevention"
        );
        assert_eq!(
            decision_detail(
                "m1",
                true,
                Some((Phase::Closed, Some(ExitReason::SpecialistReferral))),
                Some("r9")
            ),
            "meeting=m1 clear_review=true planned=closed exit_reason=specialist_referral \
             tele_expertise=r9"
        );
    }

    fn standing(flags: &[Flag], overdue_days: i64, due: Option<&str>) -> Standing {
        Standing {
            flags: flags.to_vec(),
            overdue_days,
            next_contact_due: due.map(day),
        }
    }

    #[test]
    fn the_agenda_holds_flagged_and_overdue_cases_only() {
        use Flag::*;
        assert!(standing(&[SafetyAlert, NeedsReview], 0, None).belongs_on_agenda());
        assert!(standing(&[NotImproving, NeedsReview], 0, None).belongs_on_agenda());
        assert!(standing(&[NeedsReview], 0, None).belongs_on_agenda());
        assert!(standing(&[], 1, Some("2026-11-20")).belongs_on_agenda());
        assert!(!standing(&[], 0, Some("2026-11-20")).belongs_on_agenda());
        assert!(!standing(&[LongEpisode], 0, None).belongs_on_agenda());
    }

    #[test]
    fn the_agenda_is_in_the_worklists_priority_order() {
        use Flag::*;
        let cases = vec![
            ("quiet", standing(&[], 0, Some("2026-11-25"))),
            ("long", standing(&[LongEpisode], 0, Some("2026-11-26"))),
            ("review", standing(&[NeedsReview], 0, Some("2026-12-10"))),
            ("overdue_2", standing(&[], 2, Some("2026-11-21"))),
            (
                "review_too",
                standing(&[NeedsReview], 0, Some("2026-12-01")),
            ),
            (
                "alert",
                standing(&[SafetyAlert, NeedsReview], 0, Some("2026-12-05")),
            ),
            ("overdue_9", standing(&[], 9, Some("2026-11-14"))),
            (
                "same_review",
                standing(&[NeedsReview], 0, Some("2026-12-10")),
            ),
        ];
        let shown: Vec<&str> = agenda(cases, |(_, s)| s.clone())
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            shown,
            vec![
                "alert",
                "overdue_9",
                "overdue_2",
                "review_too",
                // Equal priority: as given.
                "review",
                "same_review",
            ]
        );
    }

    #[test]
    fn the_month_before() {
        let month = previous_month(day("2026-12-01"));
        assert_eq!(
            (month.from, month.to),
            (day("2026-11-01"), day("2026-11-30"))
        );
        let month = previous_month(day("2026-03-15"));
        assert_eq!(
            (month.from, month.to),
            (day("2026-02-01"), day("2026-02-28"))
        );
        let month = previous_month(day("2027-01-31"));
        assert_eq!(
            (month.from, month.to),
            (day("2026-12-01"), day("2026-12-31"))
        );
    }

    #[test]
    fn practices_that_went_a_month_without_meeting() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let practice = |id, active, created: &str| PracticeStanding {
            id,
            active,
            created_at: at(created),
        };
        let practices = [
            practice("met", true, "2026-01-01T00:00:00Z"),
            practice("silent", true, "2026-01-01T00:00:00Z"),
            practice("met_before", true, "2026-01-01T00:00:00Z"),
            practice("met_after", true, "2026-01-01T00:00:00Z"),
            practice("closed", false, "2026-01-01T00:00:00Z"),
            // 30 November 23:30 in Paris: it existed before November ended.
            practice("late_comer", true, "2026-11-30T22:30:00Z"),
            // 1 December 00:30 in Paris: November had ended.
            practice("new", true, "2026-11-30T23:30:00Z"),
        ];
        let held = vec![
            ("met".to_owned(), day("2026-11-30")),
            ("met".to_owned(), day("2026-11-02")),
            ("met_before".to_owned(), day("2026-10-31")),
            ("met_after".to_owned(), day("2026-12-01")),
            ("closed".to_owned(), day("2026-09-01")),
        ];
        let november = previous_month(day("2026-12-14"));
        assert_eq!(
            without_meeting(&november, chrono_tz::Europe::Paris, &practices, &held),
            vec!["silent", "met_before", "met_after", "late_comer"]
        );
        // With every practice met on the first of the month, nobody is named.
        let all_met: Vec<(String, NaiveDate)> = practices
            .iter()
            .map(|p| (p.id.to_owned(), day("2026-11-01")))
            .collect();
        assert!(
            without_meeting(&november, chrono_tz::Europe::Paris, &practices, &all_met).is_empty()
        );
    }
}
