//! Patient identity rules: sex, the INS (NIR with its control key, Corsica included) and its
//! status, and care-team consent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::ValidationError;

use super::policy::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Sex {
    F,
    M,
    /// Unknown or not stated.
    U,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::F => "F",
            Sex::M => "M",
            Sex::U => "U",
        }
    }

    pub fn parse(raw: &str) -> Option<Sex> {
        [Sex::F, Sex::M, Sex::U]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

vocabulary!(
    /// Where the INS stands (référentiel INS): only a qualified INS may be used to share data.
    InsStatus {
        Provisional => "provisional",
        Retrieved => "retrieved",
        Validated => "validated",
        Qualified => "qualified",
    }
);

vocabulary!(
    /// The patient's position on sharing within the care team (CSP L1110-4: informed, may object).
    ConsentStatus {
        /// Informed of the care-team sharing and did not object.
        Informed => "informed",
        /// Objected to sharing: no referral can be made.
        Objected => "objected",
    }
);

/// Checks an INS (NIR): 13 characters (digits, with `2A`/`2B` for Corsican departments at
/// positions 6–7) and a 2-digit key equal to 97 − (number mod 97). Spaces are ignored.
/// Returns the normalised 15-character form.
pub fn check_nir(raw: &str) -> Result<String, &'static str> {
    let nir: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if nir.len() != 15 || !nir.is_ascii() {
        return Err("an INS has 15 characters: 13 for the number and 2 for the key");
    }
    let (number, key) = nir.split_at(13);
    let department = &number[5..7];
    let (digits, offset) = match department {
        "2A" => (format!("{}19{}", &number[..5], &number[7..]), 1_000_000),
        "2B" => (format!("{}18{}", &number[..5], &number[7..]), 2_000_000),
        _ => (number.to_owned(), 0),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !key.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an INS is made of digits (2A or 2B allowed for Corsica)");
    }
    let value: u64 = digits
        .parse::<u64>()
        .map_err(|_| "an INS is made of digits")?
        - offset;
    let expected = 97 - value % 97;
    let given: u64 = key.parse().map_err(|_| "the INS key is two digits")?;
    if given != expected {
        return Err("the INS key does not match its number");
    }
    Ok(nir)
}

/// The INS status of a new patient: the one given, `provisional` by default; none without an
/// INS (a status given without one is ignored at registration).
pub fn ins_status_of_new(ins_given: bool, status: Option<InsStatus>) -> Option<InsStatus> {
    ins_given.then(|| status.unwrap_or(InsStatus::Provisional))
}

/// The INS status a change of a patient stores (`None`: unchanged): the one given; a new INS
/// given without one starts again at `provisional`. A status needs an INS, the patient's or one
/// given with it.
pub fn ins_status_change(
    has_ins: bool,
    new_ins: bool,
    status: Option<InsStatus>,
) -> Result<Option<InsStatus>, &'static str> {
    match (status, new_ins) {
        (Some(_), false) if !has_ins => Err("the patient has no INS"),
        (Some(status), _) => Ok(Some(status)),
        (None, true) => Ok(Some(InsStatus::Provisional)),
        (None, false) => Ok(None),
    }
}

/// A phone number as people write it: 4 to 30 characters of digits, spaces and `+ . ( ) -`,
/// with at least one digit.
pub fn is_phone_number(value: &str) -> bool {
    (4..=30).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || " +.()-".contains(c))
        && value.chars().any(|c| c.is_ascii_digit())
}

/// The validator's entry points for a patient's phone number and INS
/// (`#[validate(custom(function = "crate::domain::patient::phone"))]`).
pub fn phone(value: &str) -> Result<(), ValidationError> {
    if is_phone_number(value) {
        Ok(())
    } else {
        Err(ValidationError::new("phone")
            .with_message("must be a phone number: digits, spaces, + . ( ) -".into()))
    }
}

/// See `phone`.
pub fn nir(value: &str) -> Result<(), ValidationError> {
    check_nir(value)
        .map(drop)
        .map_err(|why| ValidationError::new("ins").with_message(why.into()))
}

/// Why a patient cannot be registered where asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PracticeRefused {
    /// No practice named, and the caller works in several practices (or none).
    Unnamed,
    /// The practice named is not one the caller may register patients in.
    NotTheirs,
}

/// The practice a new patient goes to: the one named, or the caller's only one; it must be in
/// the caller's scope.
pub fn registering_practice(
    requested: Option<String>,
    own: &[String],
    scope: &Scope,
) -> Result<String, PracticeRefused> {
    let practice = match (requested, own) {
        (Some(id), _) => id,
        (None, [only]) => only.clone(),
        (None, _) => return Err(PracticeRefused::Unnamed),
    };
    if scope.covers(&practice) {
        Ok(practice)
    } else {
        Err(PracticeRefused::NotTheirs)
    }
}

/// A birth date the registry accepts: from 1900-01-01 to today.
pub fn plausible_birth_date(
    birth_date: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Result<(), &'static str> {
    let earliest = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(chrono::NaiveDate::MIN);
    if birth_date > today || birth_date < earliest {
        return Err("must be a date from 1900-01-01 to today");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(
            InsStatus::ALL,
            InsStatus::as_str
        ));
        assert!(crate::domain::words_agree(
            ConsentStatus::ALL,
            ConsentStatus::as_str
        ));
    }
    use super::*;

    #[test]
    fn valid_nirs_pass_and_are_normalised() {
        assert_eq!(
            check_nir("1 84 12 76 451 089 46").unwrap(),
            "184127645108946"
        );
        assert_eq!(check_nir("269029934173285").unwrap(), "269029934173285");
    }

    #[test]
    fn corsican_departments_use_their_own_rule() {
        assert!(check_nir("185072A12345692").is_ok());
        assert!(check_nir("185072a12345692").is_ok());
        assert!(check_nir("285072B12345696").is_ok());
        // The same digits read as a mainland number give another key.
        assert!(check_nir("185072A12345646").is_err());
    }

    #[test]
    fn wrong_keys_lengths_and_characters_are_refused() {
        assert_eq!(
            check_nir("184127645108947"),
            Err("the INS key does not match its number")
        );
        assert!(check_nir("18412764510894").is_err());
        assert!(check_nir("1841276451089466").is_err());
        assert!(check_nir("18412764510X946").is_err());
        assert!(check_nir("1841276451089é6").is_err());
        assert!(check_nir("").is_err());
    }

    #[test]
    fn birth_dates_from_1900_to_today() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = day("2026-11-23");
        assert!(plausible_birth_date(day("2026-11-23"), today).is_ok());
        assert!(plausible_birth_date(day("1900-01-01"), today).is_ok());
        assert!(plausible_birth_date(day("2026-11-24"), today).is_err());
        assert!(plausible_birth_date(day("1899-12-31"), today).is_err());
    }

    #[test]
    fn names_round_trip() {
        for sex in [Sex::F, Sex::M, Sex::U] {
            assert_eq!(Sex::parse(sex.as_str()), Some(sex));
        }
        for &status in InsStatus::ALL {
            assert_eq!(InsStatus::parse(status.as_str()), Some(status));
        }
        for consent in [ConsentStatus::Informed, ConsentStatus::Objected] {
            assert_eq!(ConsentStatus::parse(consent.as_str()), Some(consent));
        }
    }

    #[test]
    fn a_new_inses_status_defaults_to_provisional() {
        assert_eq!(ins_status_of_new(true, None), Some(InsStatus::Provisional));
        assert_eq!(
            ins_status_of_new(true, Some(InsStatus::Qualified)),
            Some(InsStatus::Qualified)
        );
        assert_eq!(ins_status_of_new(false, Some(InsStatus::Qualified)), None);
        assert_eq!(ins_status_of_new(false, None), None);
    }

    #[test]
    fn an_ins_status_change_needs_an_ins() {
        let qualified = Some(InsStatus::Qualified);
        assert_eq!(ins_status_change(true, false, qualified), Ok(qualified));
        assert_eq!(ins_status_change(false, true, qualified), Ok(qualified));
        assert_eq!(
            ins_status_change(false, false, qualified),
            Err("the patient has no INS")
        );
        // A new INS without a status starts again at provisional; nothing given, nothing changes.
        assert_eq!(
            ins_status_change(true, true, None),
            Ok(Some(InsStatus::Provisional))
        );
        assert_eq!(ins_status_change(true, false, None), Ok(None));
        assert_eq!(ins_status_change(false, false, None), Ok(None));
    }

    #[test]
    fn phone_numbers() {
        for ok in ["0612345678", "+33 6 12 34 56 78", "(01) 23.45-67"] {
            assert!(is_phone_number(ok), "{ok}");
        }
        for bad in ["123", "+ ()", "06 12 34 56 78 ext", &"1".repeat(31)] {
            assert!(!is_phone_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_new_patient_goes_to_the_practice_named_or_the_callers_only_one() {
        let own = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
        let mine = Scope::Practices(own(&["p1"]));
        assert_eq!(
            registering_practice(None, &own(&["p1"]), &mine),
            Ok("p1".to_owned())
        );
        assert_eq!(
            registering_practice(Some("p1".into()), &own(&["p1"]), &mine),
            Ok("p1".to_owned())
        );
        assert_eq!(
            registering_practice(Some("p2".into()), &own(&["p1"]), &mine),
            Err(PracticeRefused::NotTheirs)
        );
        let both = Scope::Practices(own(&["p1", "p2"]));
        assert_eq!(
            registering_practice(None, &own(&["p1", "p2"]), &both),
            Err(PracticeRefused::Unnamed)
        );
        assert_eq!(
            registering_practice(None, &[], &Scope::All),
            Err(PracticeRefused::Unnamed)
        );
    }
}
