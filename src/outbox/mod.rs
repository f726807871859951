//! The transactional outbox: `notices` writes messages in the transaction of the event that causes
//! them; `sender` delivers them, retrying with backoff, never twice on purpose.

pub mod digests;
pub mod notices;
pub mod sender;

use chrono::Duration;

/// When to try again after `attempts` failed attempts: 30 s, 1 min, 2 min, … capped at 1 hour;
/// `None` once `max_attempts` have been made (the message is then failed for good).
pub fn retry_delay(attempts: i32, max_attempts: i32) -> Option<Duration> {
    if attempts >= max_attempts {
        return None;
    }
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    let seconds = 30i64.saturating_mul(1i64 << exponent).min(3600);
    Some(Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour_then_gives_up() {
        let delays: Vec<i64> = (1..=9)
            .map(|a| retry_delay(a, 10).map_or(-1, |d| d.num_seconds()))
            .collect();
        assert_eq!(delays, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_delay(10, 10), None);
        assert_eq!(retry_delay(1, 1), None);
    }
}
