//! Patient identity rules: sex, the INS (NIR with its control key, Corsica included) and its
//! status, and care-team consent.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

/// Where the INS stands (référentiel INS): only a qualified INS may be used to share data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsStatus {
    Provisional,
    Retrieved,
    Validated,
    Qualified,
}

impl InsStatus {
    pub const ALL: [InsStatus; 4] = [
        InsStatus::Provisional,
        InsStatus::Retrieved,
        InsStatus::Validated,
        InsStatus::Qualified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InsStatus::Provisional => "provisional",
            InsStatus::Retrieved => "retrieved",
            InsStatus::Validated => "validated",
            InsStatus::Qualified => "qualified",
        }
    }

    pub fn parse(raw: &str) -> Option<InsStatus> {
        InsStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The patient's position on sharing within the care team (CSP L1110-4: informed, may object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// Informed of the care-team sharing and did not object.
    Informed,
    /// Objected to sharing: no referral can be made.
    Objected,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Informed => "informed",
            ConsentStatus::Objected => "objected",
        }
    }

    pub fn parse(raw: &str) -> Option<ConsentStatus> {
        [ConsentStatus::Informed, ConsentStatus::Objected]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

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
        for status in InsStatus::ALL {
            assert_eq!(InsStatus::parse(status.as_str()), Some(status));
        }
        for consent in [ConsentStatus::Informed, ConsentStatus::Objected] {
            assert_eq!(ConsentStatus::parse(consent.as_str()), Some(consent));
        }
    }
}
