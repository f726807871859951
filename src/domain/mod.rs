//! The rules of the registry as plain functions over plain data: no database, no HTTP.

pub mod account;
pub mod case;
pub mod credentials;
pub mod indicators;
pub mod instruments;
pub mod pathway;
pub mod patient;
pub mod policy;
pub mod report;
pub mod research;
pub mod tele_expertise;
pub mod text;
pub mod tokens;

/// A window (of days or instants) whose end comes before its start: a mistake of the request, not
/// an empty answer. Either bound may be open.
pub fn ends_before_start<T: PartialOrd>(from: Option<T>, to: Option<T>) -> bool {
    matches!((from, to), (Some(from), Some(to)) if to < from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_window_may_be_open_or_one_instant_but_not_reversed() {
        use super::ends_before_start;
        assert!(ends_before_start(Some(2), Some(1)));
        assert!(!ends_before_start(Some(1), Some(1)));
        assert!(!ends_before_start(Some(1), Some(2)));
        assert!(!ends_before_start(None, Some(1)));
        assert!(!ends_before_start(Some(1), None::<i32>));
    }
}
