//! Accounts: roles, locales, the rules an account must satisfy, and lockout after failed logins.

use chrono::{DateTime, Duration, Utc};
use validator::ValidationError;

vocabulary!(
    /// What a person does in the program; decides what they may see and do (see `policy`).
    Role {
        Admin => "admin",
        Coordinator => "coordinator",
        Gp => "gp",
        Nurse => "nurse",
        Psychiatrist => "psychiatrist",
        Psychologist => "psychologist",
        SocialWorker => "social_worker",
    }
);

impl Role {
    /// Everyone but an admin works inside practices and needs at least one.
    pub fn needs_practice(self) -> bool {
        self != Role::Admin
    }
}

vocabulary!(
    #[derive(Default)]
    Locale {
        #[default]
        Fr => "fr",
        En => "en",
    }
);

pub const PASSWORD_MIN_CHARS: usize = 12;
/// Long inputs make hashing expensive for nothing; refuse them before hashing.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// Checks a new password against the policy; the message says what to change.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!(
            "must be at least {PASSWORD_MIN_CHARS} characters long"
        ));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!(
            "must be at most {PASSWORD_MAX_CHARS} characters long"
        ));
    }
    if password.trim().is_empty() {
        return Err("must not be only spaces".to_owned());
    }
    Ok(())
}

/// Emails are compared without regard to case or surrounding spaces.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A plausible mailbox address (the same rule the contract states: `local@domain`).
pub fn is_valid_email(email: &str) -> bool {
    email.parse::<lettre::Address>().is_ok() && email.len() <= 254
}

/// The validator's entry points for an email address and a new password
/// (`#[validate(custom(function = "crate::domain::account::email_address"))]`).
pub fn email_address(value: &str) -> Result<(), ValidationError> {
    if is_valid_email(&normalize_email(value)) {
        Ok(())
    } else {
        Err(ValidationError::new("email").with_message("must be an email address".into()))
    }
}

/// See `email_address`.
pub fn new_password(value: &str) -> Result<(), ValidationError> {
    check_new_password(value)
        .map_err(|why| ValidationError::new("password").with_message(why.into()))
}

/// An admin's change to an account (a person's, or practice software's), as far as the rules
/// about sessions and one's own account go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub active: Option<bool>,
    /// `Some(true)` locks the account for every address, `Some(false)` unlocks it.
    pub locked: Option<bool>,
    pub role: Option<Role>,
    pub new_password: bool,
}

impl AccountChange {
    /// Refuses what an admin may not do to their own account: deactivate, lock or demote it
    /// (another administrator must, so that one slip cannot leave the registry without one).
    pub fn check_own(&self) -> Result<(), &'static str> {
        if self.active == Some(false)
            || self.locked == Some(true)
            || self.role.is_some_and(|r| r != Role::Admin)
        {
            Err("you cannot deactivate, lock or demote your own account; ask another administrator")
        } else {
            Ok(())
        }
    }

    /// Tokens issued before a deactivation (or a reactivation), a new password, or a lock or an
    /// unlock stop working at once: the account's sessions end.
    pub fn ends_sessions(&self) -> bool {
        self.active.is_some() || self.new_password || self.locked.is_some()
    }

    /// An admin's unlock also forgets the failed logins of every client address.
    pub fn forgets_login_failures(&self) -> bool {
        self.locked == Some(false)
    }
}

/// The lockout rule: after `threshold` failed logins in a row an account locks; it unlocks when an
/// admin says so or, if `lock_minutes` is set, once that time has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub threshold: i32,
    pub lock_minutes: Option<i64>,
}

impl LockoutPolicy {
    pub fn is_locked(&self, locked_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        match (locked_at, self.lock_minutes) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(at), Some(minutes)) => now < at + Duration::minutes(minutes),
        }
    }

    /// Locks set at or after this time still hold (`None`: every lock holds until an admin
    /// unlocks).
    pub fn locks_in_force_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lock_minutes
            .map(|minutes| now - Duration::minutes(minutes))
    }

    /// Whether `failed` logins in a row are enough to lock the account.
    pub fn locks_after(&self, failed: i32) -> bool {
        failed >= self.threshold
    }

    /// A lock whose time has passed: the count of failures starts again from zero.
    pub fn has_expired(&self, locked_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        locked_at.is_some() && !self.is_locked(locked_at, now)
    }

    /// How long a lock set at `locked_at` still lasts (`None`: no lock, or no end).
    pub fn lock_remaining(
        &self,
        locked_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        let end = locked_at? + Duration::minutes(self.lock_minutes?);
        (end > now).then(|| end - now)
    }

    /// Failed logins slow down before they lock: after the second failure in a row the next
    /// attempt waits 1 s, then 2 s, 4 s, … (doubling) until the threshold locks. `Some(wait)`
    /// while an attempt now would come too soon. A person retyping a password never notices;
    /// a script guessing gets a handful of tries per minute before the lock.
    pub fn wait_before_next(
        &self,
        failed: i32,
        last_failed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        if failed < 2 || self.locks_after(failed) {
            return None;
        }
        let delay = Duration::seconds(1_i64 << (failed - 2).min(20));
        let ready = last_failed_at + delay;
        (ready > now).then(|| ready - now)
    }
}

/// A wait as whole seconds for `Retry-After`: rounded up, at least 1.
pub fn whole_seconds(wait: chrono::Duration) -> u64 {
    let ms = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
    ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(Role::ALL, Role::as_str));
        assert!(crate::domain::words_agree(Locale::ALL, Locale::as_str));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(chrono::Duration::milliseconds(10)), 1);
        assert_eq!(whole_seconds(chrono::Duration::milliseconds(1000)), 1);
        assert_eq!(whole_seconds(chrono::Duration::milliseconds(1500)), 2);
        assert_eq!(whole_seconds(chrono::Duration::seconds(600)), 600);
    }
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for &role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("surgeon"), None);
        assert!(!Role::Admin.needs_practice());
        assert!(Role::Nurse.needs_practice());
    }

    #[test]
    fn password_policy() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("            ").is_err());
        assert!(check_new_password(&"x".repeat(257)).is_err());
        assert!(check_new_password("correct horse battery").is_ok());
        // Counted in characters, not bytes.
        assert!(check_new_password("éééééééééééé").is_ok());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Marie.Curie@Example.FR "),
            "marie.curie@example.fr"
        );
        assert!(is_valid_email("marie.curie@example.fr"));
        assert!(!is_valid_email("marie.curie"));
        assert!(!is_valid_email("@example.fr"));
    }

    #[test]
    fn five_failures_in_a_row_lock_the_account() {
        let policy = LockoutPolicy {
            threshold: 5,
            lock_minutes: Some(15),
        };
        let locking: Vec<bool> = (1..=6).map(|failed| policy.locks_after(failed)).collect();
        assert_eq!(locking, [false, false, false, false, true, true]);
    }

    #[test]
    fn failures_slow_down_exponentially_before_the_lock() {
        let policy = LockoutPolicy {
            threshold: 5,
            lock_minutes: Some(15),
        };
        let last = at(0);
        let wait = |failed, seconds_later: i64| {
            policy
                .wait_before_next(failed, last, last + Duration::seconds(seconds_later))
                .map(|d| d.num_seconds())
        };
        assert_eq!(wait(1, 0), None, "one typo costs nothing");
        assert_eq!(wait(2, 0), Some(1));
        assert_eq!(wait(2, 1), None);
        assert_eq!(wait(3, 0), Some(2));
        assert_eq!(wait(4, 1), Some(3));
        assert_eq!(wait(4, 4), None);
        assert_eq!(wait(5, 0), None, "the lock takes over at the threshold");
        assert_eq!(
            policy
                .lock_remaining(Some(at(0)), at(5))
                .map(|d| d.num_minutes()),
            Some(10)
        );
        assert_eq!(policy.lock_remaining(Some(at(0)), at(15)), None);
        assert_eq!(policy.lock_remaining(None, at(0)), None);
    }

    #[test]
    fn a_lock_expires_after_its_time_or_never() {
        let timed = LockoutPolicy {
            threshold: 5,
            lock_minutes: Some(15),
        };
        assert!(!timed.is_locked(None, at(0)));
        assert!(timed.is_locked(Some(at(0)), at(14)));
        assert!(!timed.is_locked(Some(at(0)), at(15)));
        assert!(timed.has_expired(Some(at(0)), at(15)));
        assert!(!timed.has_expired(Some(at(0)), at(14)));
        assert!(!timed.has_expired(None, at(14)));
        let manual = LockoutPolicy {
            threshold: 5,
            lock_minutes: None,
        };
        assert!(manual.is_locked(Some(at(0)), at(100_000)));
    }

    #[test]
    fn an_admin_may_not_deactivate_lock_or_demote_themselves() {
        let refused = [
            AccountChange {
                active: Some(false),
                ..Default::default()
            },
            AccountChange {
                locked: Some(true),
                ..Default::default()
            },
            AccountChange {
                role: Some(Role::Gp),
                ..Default::default()
            },
        ];
        for change in refused {
            assert!(change.check_own().is_err(), "{change:?}");
        }
        let allowed = [
            AccountChange::default(),
            AccountChange {
                active: Some(true),
                locked: Some(false),
                role: Some(Role::Admin),
                new_password: true,
            },
        ];
        for change in allowed {
            assert!(change.check_own().is_ok(), "{change:?}");
        }
    }

    #[test]
    fn sessions_end_on_activity_password_and_lock_changes() {
        assert!(!AccountChange::default().ends_sessions());
        assert!(
            !AccountChange {
                role: Some(Role::Nurse),
                ..Default::default()
            }
            .ends_sessions()
        );
        for change in [
            AccountChange {
                active: Some(true),
                ..Default::default()
            },
            AccountChange {
                new_password: true,
                ..Default::default()
            },
            AccountChange {
                locked: Some(false),
                ..Default::default()
            },
        ] {
            assert!(change.ends_sessions(), "{change:?}");
        }
        let unlock = AccountChange {
            locked: Some(false),
            ..Default::default()
        };
        assert!(unlock.forgets_login_failures());
        let lock = AccountChange {
            locked: Some(true),
            ..Default::default()
        };
        assert!(!lock.forgets_login_failures());
    }

    #[test]
    fn locks_in_force_are_those_of_the_last_lock_minutes() {
        let timed = LockoutPolicy {
            threshold: 5,
            lock_minutes: Some(15),
        };
        assert_eq!(timed.locks_in_force_since(at(20)), Some(at(5)));
        let manual = LockoutPolicy {
            threshold: 5,
            lock_minutes: None,
        };
        assert_eq!(manual.locks_in_force_since(at(20)), None);
    }
}
