//! Cases over HTTP: the handlers of `service::cases` (`write`: referral, changes, assessment,
//! contacts, moves; `read`: one case, lists, contacts, the timeline, the worklist).

pub mod read;
pub mod write;

// Kept at their old paths for the code that still names them here (tele-expertise).
pub use crate::db::cases::{items_text, refresh_derived};
pub use crate::service::cases::{
    Answers, Case, Contact, ScorePair, ScoreView, case_in_scope, ensure_open, score_answers,
};
