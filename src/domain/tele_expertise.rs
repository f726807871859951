//! Tele-expertise (PATHWAY.md §4): a question about a case from its nurse or a GP of its practice
//! (the requester) to a psychiatrist covering the practice (the expert). Its lifecycle as one
//! table of moves by party, its due date, and the billing rule (TE2 for the expert, RQD for the
//! requester, at most 4 billable per patient per rolling year).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Requested,
    Accepted,
    Declined,
    Answered,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Requested,
        Status::Accepted,
        Status::Declined,
        Status::Answered,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Requested => "requested",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Answered => "answered",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Still waiting for the expert (accept or answer).
    pub fn is_pending(self) -> bool {
        matches!(self, Status::Requested | Status::Accepted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Routine,
    Urgent,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Urgent => "urgent",
        }
    }

    pub fn parse(raw: &str) -> Option<Urgency> {
        [Urgency::Routine, Urgency::Urgent]
            .into_iter()
            .find(|u| u.as_str() == raw)
    }
}

/// Who asks for a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Requester,
    Expert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    Accept,
    Decline,
    Answer,
    Cancel,
}

impl Move {
    pub const ALL: [Move; 4] = [Move::Accept, Move::Decline, Move::Answer, Move::Cancel];

    pub fn as_str(self) -> &'static str {
        match self {
            Move::Accept => "accept",
            Move::Decline => "decline",
            Move::Answer => "answer",
            Move::Cancel => "cancel",
        }
    }
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
        .into_iter()
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

/// At most this many billable tele-expertises per patient per rolling year.
pub const BILLABLE_PER_YEAR: usize = 4;

/// Whether an answer given at `answered_at` is billable, given when the patient's earlier
/// billable answers were given: fewer than 4 in the 365 days before it.
pub fn is_billable(answered_at: DateTime<Utc>, earlier_billable: &[DateTime<Utc>]) -> bool {
    let from = answered_at - Duration::days(365);
    earlier_billable
        .iter()
        .filter(|at| **at > from && **at <= answered_at)
        .count()
        < BILLABLE_PER_YEAR
}

#[cfg(test)]
mod tests {

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
        for from in Status::ALL {
            for m in Move::ALL {
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
        for s in Status::ALL {
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
