//! Cases over HTTP: the handlers of `service::cases` (`write`: referral, changes, assessment,
//! contacts, moves; `read`: one case, lists, contacts, the timeline, the worklist).

pub mod read;
pub mod write;
