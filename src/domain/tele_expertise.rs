//! Tele-expertise (PATHWAY.md §4): a question about a case from its nurse or a GP of its practice
//! (the requester) to a psychiatrist covering the practice (the expert). Who may ask, see and move
//! a request; its lifecycle as one table of moves by party, with the refusal of any other move;
//! its due date and when it is overdue; the order of an inbox; and the billing rule (TE2 for the
//! expert, RQD for the requester, at most 4 billable per patient per rolling year).

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::account::Role;
use super::policy::{Action, Actor};

vocabulary!(
    Status {
        Requested => "requested",
        Accepted => "accepted",
        Declined => "declined",
        Answered => "answered",
        Cancelled => "cancelled",
    }
);

impl Status {
    /// The statuses still waiting for the expert (accept or answer).
    pub const PENDING: [Status; 2] = [Status::Requested, Status::Accepted];

    /// Still waiting for the expert (accept or answer).
    pub fn is_pending(self) -> bool {
        Status::PENDING.contains(&self)
    }
}

vocabulary!(
    Urgency {
        Routine => "routine",
        Urgent => "urgent",
    }
);

/// Who asks for a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Requester,
    Expert,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Requester => "requester",
            Party::Expert => "expert",
        }
    }
}

/// The people a request concerns: who asked, who is asked, and the practice of its case (whose
/// care team follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties<'a> {
    pub requester_id: &'a str,
    pub expert_id: &'a str,
    pub practice_id: &'a str,
}

/// The refusal of anyone of the team who is neither party and asks to move a request (403).
pub const ONLY_THE_PARTIES_MOVE: &str =
    "only the expert (accept, decline, answer) or the requester (cancel) moves a request";

/// The refusal of a nurse asking about a case that is not theirs (403).
pub const ONLY_THE_CASES_NURSE_ASKS: &str =
    "only the case's nurse or a GP of its practice asks for an opinion";

/// The refusal of a request made without the patient's consent (422 on `patient_consent`).
pub const CONSENT_REQUIRED: &str = "the patient must be informed and agree (true)";

/// The party `user_id` is to a request, if any (the expert first: nobody is both).
pub fn party_of(user_id: &str, request: &Parties<'_>) -> Option<Party> {
    if request.expert_id == user_id {
        Some(Party::Expert)
    } else if request.requester_id == user_id {
        Some(Party::Requester)
    } else {
        None
    }
}

/// Who may see a request: its two parties, and the GPs and nurses of its case's practice (the
/// care team). Anyone else is told it does not exist.
pub fn may_see(actor: &Actor, request: &Parties<'_>) -> bool {
    let team = matches!(actor.role, Some(Role::Gp | Role::Nurse))
        && actor.practice_ids.iter().any(|p| p == request.practice_id);
    party_of(&actor.id, request).is_some() || team
}

/// Who may move a request: its parties only (which moves, `next_status` says); anyone else of the
/// team is refused with `ONLY_THE_PARTIES_MOVE`.
pub fn mover(actor: &Actor, request: &Parties<'_>) -> Result<Party, &'static str> {
    party_of(&actor.id, request).ok_or(ONLY_THE_PARTIES_MOVE)
}

/// Who may ask about a case they may act on (`Action::RequestTeleExpertise` in its practice): a GP
/// of the practice, or the nurse the case is assigned to.
pub fn may_ask(actor: &Actor, case_nurse_id: Option<&str>) -> Result<(), &'static str> {
    if actor.role == Some(Role::Nurse) && case_nurse_id != Some(actor.id.as_str()) {
        Err(ONLY_THE_CASES_NURSE_ASKS)
    } else {
        Ok(())
    }
}

/// A request is made only once the patient was informed and agreed.
pub fn check_consent(patient_consent: bool) -> Result<(), &'static str> {
    if patient_consent {
        Ok(())
    } else {
        Err(CONSENT_REQUIRED)
    }
}

/// The scores attached to a question, sorted and each once: every one must be a score of the
/// case (`Err` names the first that is not).
pub fn attached_scores(asked: &[String], of_case: &[String]) -> Result<Vec<String>, String> {
    let mut attached = asked.to_vec();
    attached.sort();
    attached.dedup();
    match attached.iter().find(|s| !of_case.contains(s)) {
        Some(stranger) => Err(format!("{stranger} is not a score of this case")),
        None => Ok(attached),
    }
}

vocabulary!(
    Move {
        Accept => "accept",
        Decline => "decline",
        Answer => "answer",
        Cancel => "cancel",
    }
);

impl Move {
    /// As the refusal of a move words it ("cannot be accepted by its expert").
    fn done(self) -> &'static str {
        match self {
            Move::Accept => "accepted",
            Move::Decline => "declined",
            Move::Answer => "answered",
            // The refusal's wording since the first release.
            Move::Cancel => "canceled",
        }
    }

    /// What a role must be allowed to ask for the move (`domain::policy`): the expert's moves are
    /// answering ones, the requester's cancel is the asker's.
    pub fn action(self) -> Action {
        match self {
            Move::Accept | Move::Decline | Move::Answer => Action::AnswerTeleExpertise,
            Move::Cancel => Action::RequestTeleExpertise,
        }
    }
}

/// A move the table refuses (409), with the moves the party may make instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedMove {
    pub from: Status,
    pub requested: Move,
    pub by: Party,
    pub allowed: Vec<Move>,
}

impl fmt::Display for RefusedMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let allowed: Vec<&str> = self.allowed.iter().map(|m| m.as_str()).collect();
        write!(
            f,
            "a {} request cannot be {} by its {}; allowed: {}",
            self.from.as_str(),
            self.requested.done(),
            self.by.as_str(),
            if allowed.is_empty() {
                "nothing".to_owned()
            } else {
                allowed.join(", ")
            }
        )
    }
}

/// The status `requested` by `by` leads to from `from`, or its refusal.
pub fn move_request(from: Status, requested: Move, by: Party) -> Result<Status, RefusedMove> {
    next_status(from, requested, by).ok_or_else(|| RefusedMove {
        from,
        requested,
        by,
        allowed: allowed_moves(from, by),
    })
}

/// The one table: `requested → accepted | declined`, `accepted → answered`, the requester may
/// cancel while not answered. `None`: refused.
pub fn next_status(from: Status, requested: Move, by: Party) -> Option<Status> {
    use Move::*;
    use Status::*;
    match (from, requested, by) {
        (Requested, Accept, Party::Expert) => Some(Accepted),
        (Requested, Decline, Party::Expert) => Some(Declined),
        (Accepted, Answer, Party::Expert) => Some(Answered),
        (Requested | Accepted, Cancel, Party::Requester) => Some(Cancelled),
        _ => None,
    }
}

/// What becomes of a request when its case closes: a pending one is cancelled (nobody may answer
/// about a closed case), a settled one stays as it is.
pub fn on_case_closed(status: Status) -> Option<Status> {
    status.is_pending().then_some(Status::Cancelled)
}

/// The moves `by` may make from `from` (the body of a refused move).
pub fn allowed_moves(from: Status, by: Party) -> Vec<Move> {
    Move::ALL
        .iter()
        .copied()
        .filter(|m| next_status(from, *m, by).is_some())
        .collect()
}

/// Response deadlines (defaults from PATHWAY.md §4; settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub routine_days: i64,
    pub urgent_days: i64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            routine_days: 7,
            urgent_days: 2,
        }
    }
}

pub fn due_at(
    requested_at: DateTime<Utc>,
    urgency: Urgency,
    deadlines: &Deadlines,
) -> DateTime<Utc> {
    requested_at
        + Duration::days(match urgency {
            Urgency::Routine => deadlines.routine_days,
            Urgency::Urgent => deadlines.urgent_days,
        })
}

/// Still pending after its due date.
pub fn is_overdue(status: Status, due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status.is_pending() && due_at < now
}

/// The billing codes (Assurance maladie): the expert's act.
pub const EXPERT_CODE: &str = "TE2";
/// The requester's act.
pub const REQUESTER_CODE: &str = "RQD";

/// At most this many billable tele-expertises per patient per rolling year.
pub const BILLABLE_PER_YEAR: usize = 4;

/// Said of an answer that is not billable.
pub const NOT_BILLABLE: &str =
    "not billable: the patient already had 4 billable tele-expertises in the last 12 months";

/// The rolling year before an answer given at `answered_at`: its earlier billable answers after
/// this instant count.
pub fn billing_year_start(answered_at: DateTime<Utc>) -> DateTime<Utc> {
    answered_at - Duration::days(365)
}

/// Whether an answer given at `answered_at` is billable, given when the patient's earlier
/// billable answers were given: fewer than 4 in the 365 days before it.
pub fn is_billable(answered_at: DateTime<Utc>, earlier_billable: &[DateTime<Utc>]) -> bool {
    let from = billing_year_start(answered_at);
    earlier_billable
        .iter()
        .filter(|at| **at > from && **at <= answered_at)
        .count()
        < BILLABLE_PER_YEAR
}

/// What is said of an answer's billing beside the codes: why not, when it is not billable.
pub fn billing_note(billable: bool) -> Option<&'static str> {
    (!billable).then_some(NOT_BILLABLE)
}

// Whose requests a list shows. (A plain comment: the contract has never described it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Requests addressed to the caller.
    Expert,
    /// Requests the caller asked.
    Requester,
}

/// A psychiatrist's list is their inbox; anyone else's, the requests they asked.
pub fn default_side(role: Option<Role>) -> Side {
    if role == Some(Role::Psychiatrist) {
        Side::Expert
    } else {
        Side::Requester
    }
}

/// The two parts of a list, in the order they are shown: what still waits for the expert, then
/// what is settled. The list is paged by the database in `INBOX_ORDER`, one section after the
/// other; only the pending section can be overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxSection {
    Pending,
    Settled,
}

impl InboxSection {
    pub fn of(status: Status) -> Self {
        if status.is_pending() {
            InboxSection::Pending
        } else {
            InboxSection::Settled
        }
    }

    /// The statuses the section holds.
    pub fn statuses(self) -> impl Iterator<Item = Status> {
        Status::ALL
            .iter()
            .copied()
            .filter(move |s| InboxSection::of(*s) == self)
    }
}

/// How a section is sorted; ties are broken by the request's id in the same direction, so that a
/// request is a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The soonest due first.
    DueAtAscending,
    /// The most recently asked first.
    CreatedAtDescending,
}

/// The order of a list of requests, stated once: pending requests first, soonest due first; then
/// the others, most recent first.
pub const INBOX_ORDER: [(InboxSection, SortKey); 2] = [
    (InboxSection::Pending, SortKey::DueAtAscending),
    (InboxSection::Settled, SortKey::CreatedAtDescending),
];

#[cfg(test)]
mod tests {
    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(Status::ALL, Status::as_str));
        assert!(crate::domain::words_agree(Urgency::ALL, Urgency::as_str));
        assert!(crate::domain::words_agree(Move::ALL, Move::as_str));
    }

    #[test]
    fn closing_the_case_cancels_what_is_pending_only() {
        assert_eq!(on_case_closed(Status::Requested), Some(Status::Cancelled));
        assert_eq!(on_case_closed(Status::Accepted), Some(Status::Cancelled));
        for settled in [Status::Declined, Status::Answered, Status::Cancelled] {
            assert_eq!(on_case_closed(settled), None);
        }
    }

    use super::*;

    /// Every (status, move, party), against the table written out by hand.
    #[test]
    fn every_move_by_every_party() {
        use Move::*;
        use Status::*;
        let mut allowed = Vec::new();
        for &from in Status::ALL {
            for &m in Move::ALL {
                for by in [Party::Requester, Party::Expert] {
                    if let Some(to) = next_status(from, m, by) {
                        allowed.push((from, m, by, to));
                    }
                }
            }
        }
        assert_eq!(
            allowed,
            vec![
                (Requested, Accept, Party::Expert, Accepted),
                (Requested, Decline, Party::Expert, Declined),
                (Requested, Cancel, Party::Requester, Cancelled),
                (Accepted, Answer, Party::Expert, Answered),
                (Accepted, Cancel, Party::Requester, Cancelled),
            ]
        );
        assert_eq!(
            allowed_moves(Requested, Party::Expert),
            vec![Accept, Decline]
        );
        assert_eq!(allowed_moves(Accepted, Party::Requester), vec![Cancel]);
        for done in [Declined, Answered, Cancelled] {
            assert!(allowed_moves(done, Party::Expert).is_empty());
            assert!(allowed_moves(done, Party::Requester).is_empty());
            assert!(!done.is_pending());
        }
    }

    #[test]
    fn names_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for u in [Urgency::Routine, Urgency::Urgent] {
            assert_eq!(Urgency::parse(u.as_str()), Some(u));
        }
    }

    fn at(day: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::days(day)
    }

    #[test]
    fn seven_days_or_two_when_urgent() {
        let d = Deadlines::default();
        assert_eq!(due_at(at(0), Urgency::Routine, &d), at(7));
        assert_eq!(due_at(at(0), Urgency::Urgent, &d), at(2));
    }

    fn actor(id: &str, role: Role, practices: &[&str]) -> Actor {
        Actor {
            id: id.to_owned(),
            kind: crate::domain::tokens::SubjectKind::User,
            role: Some(role),
            practice_ids: practices.iter().map(|p| (*p).to_owned()).collect(),
            locale: crate::domain::account::Locale::Fr,
        }
    }

    const REQUEST: Parties<'static> = Parties {
        requester_id: "nurse",
        expert_id: "psy",
        practice_id: "p1",
    };

    #[test]
    fn the_parties_and_the_care_team_see_a_request_and_nobody_else() {
        let seen = |a: &Actor| may_see(a, &REQUEST);
        assert!(seen(&actor("nurse", Role::Nurse, &["p1"])));
        // The expert, even when covering the practice no longer.
        assert!(seen(&actor("psy", Role::Psychiatrist, &[])));
        // The care team of the case's practice.
        assert!(seen(&actor("gp", Role::Gp, &["p2", "p1"])));
        assert!(seen(&actor("nurse2", Role::Nurse, &["p1"])));
        // Not another psychiatrist of the practice, nor the team of another practice, nor the
        // practice's other roles.
        assert!(!seen(&actor("psy2", Role::Psychiatrist, &["p1"])));
        assert!(!seen(&actor("gp2", Role::Gp, &["p2"])));
        assert!(!seen(&actor("psl", Role::Psychologist, &["p1"])));
        assert!(!seen(&actor("coord", Role::Coordinator, &["p1"])));
    }

    #[test]
    fn only_the_parties_move_a_request() {
        assert_eq!(
            mover(&actor("psy", Role::Psychiatrist, &["p1"]), &REQUEST),
            Ok(Party::Expert)
        );
        assert_eq!(
            mover(&actor("nurse", Role::Nurse, &["p1"]), &REQUEST),
            Ok(Party::Requester)
        );
        for stranger in [
            actor("gp", Role::Gp, &["p1"]),
            actor("psy2", Role::Psychiatrist, &["p1"]),
        ] {
            assert_eq!(mover(&stranger, &REQUEST), Err(ONLY_THE_PARTIES_MOVE));
        }
        assert_eq!(party_of("nobody", &REQUEST), None);
    }

    #[test]
    fn a_gp_of_the_practice_or_the_cases_own_nurse_asks() {
        assert_eq!(may_ask(&actor("gp", Role::Gp, &["p1"]), None), Ok(()));
        assert_eq!(
            may_ask(&actor("gp", Role::Gp, &["p1"]), Some("nurse")),
            Ok(())
        );
        assert_eq!(
            may_ask(&actor("nurse", Role::Nurse, &["p1"]), Some("nurse")),
            Ok(())
        );
        assert_eq!(
            may_ask(&actor("nurse2", Role::Nurse, &["p1"]), Some("nurse")),
            Err(ONLY_THE_CASES_NURSE_ASKS)
        );
        assert_eq!(
            may_ask(&actor("nurse", Role::Nurse, &["p1"]), None),
            Err(ONLY_THE_CASES_NURSE_ASKS)
        );
    }

    #[test]
    fn a_request_needs_consent_and_scores_of_its_case() {
        assert_eq!(check_consent(true), Ok(()));
        assert_eq!(check_consent(false), Err(CONSENT_REQUIRED));
        let of_case = ["s1".to_owned(), "s2".to_owned(), "s3".to_owned()];
        let asked = ["s3".to_owned(), "s1".to_owned(), "s3".to_owned()];
        assert_eq!(
            attached_scores(&asked, &of_case),
            Ok(vec!["s1".to_owned(), "s3".to_owned()])
        );
        assert_eq!(attached_scores(&[], &of_case), Ok(vec![]));
        assert_eq!(
            attached_scores(&["s2".to_owned(), "x9".to_owned()], &of_case),
            Err("x9 is not a score of this case".to_owned())
        );
    }

    #[test]
    fn a_refused_move_says_what_the_party_may_do() {
        use Move::*;
        use Status::*;
        assert_eq!(move_request(Requested, Accept, Party::Expert), Ok(Accepted));
        let refused = move_request(Requested, Answer, Party::Expert).unwrap_err();
        assert_eq!(refused.allowed, vec![Accept, Decline]);
        assert_eq!(
            refused.to_string(),
            "a requested request cannot be answered by its expert; allowed: accept, decline"
        );
        assert_eq!(
            move_request(Answered, Cancel, Party::Requester)
                .unwrap_err()
                .to_string(),
            "a answered request cannot be canceled by its requester; allowed: nothing"
        );
        assert_eq!(
            move_request(Accepted, Accept, Party::Requester)
                .unwrap_err()
                .to_string(),
            "a accepted request cannot be accepted by its requester; allowed: cancel"
        );
    }

    #[test]
    fn the_expert_answers_and_the_requester_cancels_under_their_own_rights() {
        assert_eq!(Move::Accept.action(), Action::AnswerTeleExpertise);
        assert_eq!(Move::Decline.action(), Action::AnswerTeleExpertise);
        assert_eq!(Move::Answer.action(), Action::AnswerTeleExpertise);
        assert_eq!(Move::Cancel.action(), Action::RequestTeleExpertise);
        // Every move a party may make is one its role is allowed to ask for.
        for &from in Status::ALL {
            for m in allowed_moves(from, Party::Expert) {
                assert_eq!(m.action(), Action::AnswerTeleExpertise, "{m:?}");
            }
            for m in allowed_moves(from, Party::Requester) {
                assert_eq!(m.action(), Action::RequestTeleExpertise, "{m:?}");
            }
        }
    }

    #[test]
    fn only_a_pending_request_is_overdue_and_only_after_its_due_date() {
        assert!(is_overdue(Status::Requested, at(0), at(1)));
        assert!(is_overdue(Status::Accepted, at(0), at(1)));
        assert!(!is_overdue(Status::Requested, at(1), at(1)));
        assert!(!is_overdue(Status::Requested, at(2), at(1)));
        for settled in [Status::Declined, Status::Answered, Status::Cancelled] {
            assert!(!is_overdue(settled, at(0), at(1)));
        }
    }

    #[test]
    fn a_list_shows_the_pending_first_then_the_settled() {
        assert_eq!(
            INBOX_ORDER,
            [
                (InboxSection::Pending, SortKey::DueAtAscending),
                (InboxSection::Settled, SortKey::CreatedAtDescending),
            ]
        );
        let pending: Vec<Status> = InboxSection::Pending.statuses().collect();
        assert_eq!(pending, vec![Status::Requested, Status::Accepted]);
        let settled: Vec<Status> = InboxSection::Settled.statuses().collect();
        assert_eq!(
            settled,
            vec![Status::Declined, Status::Answered, Status::Cancelled]
        );
        // Every status in exactly one section, each section once in the order.
        for &s in Status::ALL {
            assert_eq!(
                INBOX_ORDER
                    .iter()
                    .filter(|(section, _)| section.statuses().any(|x| x == s))
                    .count(),
                1
            );
        }
        assert_eq!(default_side(Some(Role::Psychiatrist)), Side::Expert);
        for other in [Some(Role::Gp), Some(Role::Nurse), None] {
            assert_eq!(default_side(other), Side::Requester);
        }
    }

    #[test]
    fn the_codes_and_the_note_of_an_answer() {
        assert_eq!((EXPERT_CODE, REQUESTER_CODE), ("TE2", "RQD"));
        assert_eq!(billing_note(true), None);
        assert_eq!(billing_note(false), Some(NOT_BILLABLE));
        assert_eq!(billing_year_start(at(365)), at(0));
    }

    #[test]
    fn the_fifth_in_a_rolling_year_is_not_billable() {
        let four = [at(0), at(30), at(60), at(90)];
        assert!(is_billable(at(100), &four[..3]));
        assert!(!is_billable(at(100), &four));
        // A year and a day after the first, it has left the window.
        assert!(is_billable(at(365), &four));
        assert!(!is_billable(at(364), &four));
    }
}
