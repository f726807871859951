//! The pseudonymised research export (CNIL MR-004): one row per case, people and practices replaced
//! by keyed hashes (HMAC-SHA-256 under a key the caller gives for this export and that is never
//! stored), the birth year instead of the date, and no names, contact details, INS or free text.

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// Shortest key accepted: 32 characters (a passphrase, or 16 random bytes in hex).
pub const MIN_KEY_CHARS: usize = 32;
pub const MAX_KEY_CHARS: usize = 512;

/// Keyed hashing of identifiers. The same key gives the same pseudonym, so exports made with one
/// key can be linked; another key gives unrelated ones.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the key must be {MIN_KEY_CHARS} to {MAX_KEY_CHARS} characters long")]
pub struct WeakKey;

/// A key as text: every byte visible ASCII or a tab (what an HTTP header carries as text, and
/// what a key may hold); `None` otherwise.
pub fn key_text(raw: &[u8]) -> Option<&str> {
    let printable = raw.iter().all(|b| *b == b'\t' || (0x20..0x7f).contains(b));
    printable.then(|| std::str::from_utf8(raw).ok()).flatten()
}

impl Pseudonymiser {
    pub fn new(key: &str) -> Result<Self, WeakKey> {
        let length = key.chars().count();
        if !(MIN_KEY_CHARS..=MAX_KEY_CHARS).contains(&length) {
            return Err(WeakKey);
        }
        let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).map_err(|_| WeakKey)?;
        Ok(Self { mac })
    }

    /// The lowercase hex HMAC-SHA-256 of `kind:id`; the kind keeps a patient's pseudonym apart
    /// from a case's with the same id.
    pub fn pseudonym(&self, kind: &str, id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(id.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// One exported case (a line of the NDJSON; the CSV has the same columns). Days are local dates;
/// scores are totals.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResearchRow {
    /// HMAC-SHA-256 of the case id, hex.
    pub case: String,
    /// HMAC-SHA-256 of the patient id, hex: the same for every case of a patient under one key.
    pub patient: String,
    /// HMAC-SHA-256 of the practice id, hex.
    pub practice: String,
    pub region: String,
    pub program: String,
    pub sex: String,
    pub birth_year: i32,
    /// Space-separated.
    pub indications: String,
    pub substances: String,
    pub phase: String,
    pub referred_on: NaiveDate,
    pub assessed_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub exit_reason: Option<String>,
    pub baseline_phq9: Option<u8>,
    pub baseline_gad7: Option<u8>,
    pub latest_phq9: Option<u8>,
    pub latest_gad7: Option<u8>,
    pub completed_contacts: u64,
    pub unsuccessful_contacts: u64,
    pub tele_expertise_requests: u64,
}

/// The columns of the CSV, in the order of `ResearchRow::fields`.
pub const COLUMNS: [&str; 21] = [
    "case",
    "patient",
    "practice",
    "region",
    "program",
    "sex",
    "birth_year",
    "indications",
    "substances",
    "phase",
    "referred_on",
    "assessed_on",
    "closed_on",
    "exit_reason",
    "baseline_phq9",
    "baseline_gad7",
    "latest_phq9",
    "latest_gad7",
    "completed_contacts",
    "unsuccessful_contacts",
    "tele_expertise_requests",
];

pub fn birth_year(birth_date: NaiveDate) -> i32 {
    birth_date.year()
}

impl ResearchRow {
    /// The row's values as text, in the order of `COLUMNS` (absent values empty).
    pub fn fields(&self) -> [String; 21] {
        fn opt<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map(ToString::to_string).unwrap_or_default()
        }
        [
            self.case.clone(),
            self.patient.clone(),
            self.practice.clone(),
            self.region.clone(),
            self.program.clone(),
            self.sex.clone(),
            self.birth_year.to_string(),
            self.indications.clone(),
            self.substances.clone(),
            self.phase.clone(),
            self.referred_on.to_string(),
            opt(&self.assessed_on),
            opt(&self.closed_on),
            opt(&self.exit_reason),
            opt(&self.baseline_phq9),
            opt(&self.baseline_gad7),
            opt(&self.latest_phq9),
            opt(&self.latest_gad7),
            self.completed_contacts.to_string(),
            self.unsuccessful_contacts.to_string(),
            self.tele_expertise_requests.to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_hmacs() {
        // Computed independently: `printf 'patient:p1' | openssl dgst -sha256 -hmac KEY`.
        let key = "0123456789abcdef0123456789abcdef";
        let p = Pseudonymiser::new(key).unwrap();
        assert_eq!(
            p.pseudonym("patient", "p1"),
            "8cd0a94745dc438b70c3482460ecd03b6c6b60b9f130b2457388def4be6e6e5b"
        );
        assert_eq!(p.pseudonym("patient", "p1"), p.pseudonym("patient", "p1"));
        assert_ne!(p.pseudonym("patient", "p1"), p.pseudonym("case", "p1"));
        let other = Pseudonymiser::new("another key of thirty-two chars!").unwrap();
        assert_ne!(
            p.pseudonym("patient", "p1"),
            other.pseudonym("patient", "p1")
        );
        assert_eq!(p.pseudonym("case", "x").len(), 64);
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Pseudonymiser::new("short").is_err());
        assert!(Pseudonymiser::new(&"k".repeat(31)).is_err());
        assert!(Pseudonymiser::new(&"k".repeat(32)).is_ok());
        assert!(Pseudonymiser::new(&"k".repeat(513)).is_err());
    }

    #[test]
    fn a_key_is_printable_text() {
        assert_eq!(key_text(b"a key\twith a tab"), Some("a key\twith a tab"));
        assert_eq!(key_text(b"~ !"), Some("~ !"));
        assert_eq!(key_text(b"line\nbreak"), None);
        assert_eq!(key_text(b"del\x7f"), None);
        assert_eq!(key_text("clé".as_bytes()), None);
    }
}
