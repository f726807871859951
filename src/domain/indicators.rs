//! Program indicators (PATHWAY.md §6) as plain functions over plain data, each stated once here
//! and in `docs/indicators.md`: who counts as followed in a period, ages, the process measures of
//! the Sésame register, outcomes at 12 and 24 weeks, and the small-cell rule.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::instruments::{Instrument, is_remission, is_response};

/// A count as published: exact, or `"<5"` when it is from 1 to 4 and the scope calls for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Count {
    Exact(u64),
    /// Always the text `"<5"`.
    #[schema(value_type = String)]
    Small(SmallCell),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallCell;

impl Serialize for SmallCell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<5")
    }
}

/// The small-cell rule applies when the scope holds more than one practice, and in every CSV.
pub fn suppresses_small_cells(practices_in_scope: usize, csv: bool) -> bool {
    csv || practices_in_scope > 1
}

impl Count {
    /// Applies the small-cell rule when `suppress` (a scope wider than one practice, or any CSV).
    pub fn of(n: u64, suppress: bool) -> Self {
        if suppress && (1..5).contains(&n) {
            Count::Small(SmallCell)
        } else {
            Count::Exact(n)
        }
    }

    pub fn is_suppressed(&self) -> bool {
        matches!(self, Count::Small(_))
    }
}

/// A share with its numerator and denominator; withheld (`None`) when either count is
/// suppressed or the denominator is 0.
pub fn share(numerator: Count, denominator: Count) -> Option<f64> {
    match (numerator, denominator) {
        (Count::Exact(n), Count::Exact(d)) if d > 0 => Some(round(n as f64 / d as f64, 4)),
        _ => None,
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// A period `[from, to]` of whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A case is followed in the period when it was open on at least one of its days: referred on
    /// or before its last day, and not closed before its first.
    pub fn follows(&self, referred_on: NaiveDate, closed_on: Option<NaiveDate>) -> bool {
        referred_on <= self.to && closed_on.is_none_or(|c| c >= self.from)
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// The period as instants `[start, end)`: local midnight of `from` to local midnight after
    /// `to` in `zone`.
    pub fn bounds(&self, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = |day: NaiveDate| {
            let local = day.and_time(NaiveTime::MIN);
            zone.from_local_datetime(&local)
                .earliest()
                .map_or(local.and_utc(), |at| at.to_utc())
        };
        let after = self.to.succ_opt().unwrap_or(self.to);
        (midnight(self.from), midnight(after))
    }
}

/// What was known at `end`: an instant from `end` on is not known yet. Facts dated after a
/// period's end are left out of its report, so that the report of a past period does not change.
pub fn known_by(at: Option<DateTime<Utc>>, end: DateTime<Utc>) -> Option<DateTime<Utc>> {
    at.filter(|at| *at < end)
}

/// The median of the values (mean of the two middle ones for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Age bands of the reports.
pub const AGE_BANDS: [(&str, i32, i32); 6] = [
    ("18-29", 18, 29),
    ("30-44", 30, 44),
    ("45-59", 45, 59),
    ("60-74", 60, 74),
    ("75+", 75, i32::MAX),
    ("under 18", i32::MIN, 17),
];

pub fn age_band(age: i32) -> &'static str {
    AGE_BANDS
        .iter()
        .find(|(_, low, high)| (*low..=*high).contains(&age))
        .map_or("unknown", |(name, _, _)| name)
}

/// Whole days from referral to the initial assessment.
pub fn days_to_assessment(referred_at: DateTime<Utc>, assessed_at: DateTime<Utc>) -> i64 {
    (assessed_at - referred_at).num_days().max(0)
}

/// The register's measure: at least 4 completed nurse contacts in the first 12 weeks after the
/// initial assessment.
pub fn four_contacts_in_twelve_weeks(
    assessed_at: DateTime<Utc>,
    completed_contacts: &[DateTime<Utc>],
) -> bool {
    let end = assessed_at + Duration::weeks(12);
    completed_contacts
        .iter()
        .filter(|at| **at >= assessed_at && **at <= end)
        .count()
        >= 4
}

/// The score that stands for week `week` of treatment: the one measured closest to it within
/// ±2 weeks (the later on a tie); `None` when there is none in the window.
pub fn score_at_week(
    assessed_at: DateTime<Utc>,
    week: i64,
    scores: &[(DateTime<Utc>, u8)],
) -> Option<u8> {
    let target = assessed_at + Duration::weeks(week);
    let window = Duration::weeks(2);
    scores
        .iter()
        .filter(|(at, _)| (*at - target).abs() <= window)
        .min_by_key(|(at, _)| ((*at - target).abs(), std::cmp::Reverse(*at)))
        .map(|(_, total)| *total)
}

/// Response and remission at a week, for a patient with a baseline and a score in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub responded: bool,
    pub remitted: bool,
}

pub fn outcome_at_week(
    instrument: Instrument,
    baseline: u8,
    assessed_at: DateTime<Utc>,
    week: i64,
    scores: &[(DateTime<Utc>, u8)],
) -> Option<Outcome> {
    score_at_week(assessed_at, week, scores).map(|latest| Outcome {
        responded: is_response(baseline, latest),
        remitted: is_remission(instrument, latest),
    })
}

/// Completed contacts per patient-month: contacts in the period over the months (30.44 days) the
/// followed cases were open within it.
pub fn contacts_per_patient_month(contacts: u64, open_days: i64) -> Option<f64> {
    (open_days > 0).then(|| round(contacts as f64 / (open_days as f64 / 30.44), 2))
}

/// The days of the period a case was open: from the later of referral and the period's start to
/// the earlier of closing and the period's end, both included.
pub fn open_days_in(period: &Period, referred_on: NaiveDate, closed_on: Option<NaiveDate>) -> i64 {
    let start = referred_on.max(period.from);
    let end = closed_on.map_or(period.to, |c| c.min(period.to));
    ((end - start).num_days() + 1).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        d(s).and_hms_opt(10, 0, 0).unwrap().and_utc()
    }

    #[test]
    fn small_cells_and_withheld_shares() {
        assert_eq!(Count::of(0, true), Count::Exact(0));
        assert_eq!(Count::of(3, true), Count::Small(SmallCell));
        assert_eq!(Count::of(3, false), Count::Exact(3));
        assert_eq!(Count::of(5, true), Count::Exact(5));
        assert_eq!(
            serde_json::to_string(&Count::of(4, true)).unwrap(),
            "\"<5\""
        );
        assert_eq!(serde_json::to_string(&Count::of(12, true)).unwrap(), "12");
        assert_eq!(share(Count::of(3, true), Count::of(12, true)), None);
        assert_eq!(share(Count::of(6, true), Count::of(12, true)), Some(0.5));
        assert_eq!(share(Count::of(0, true), Count::of(0, true)), None);
        assert_eq!(
            share(Count::of(1, false), Count::of(3, false)),
            Some(0.3333)
        );
    }

    #[test]
    fn small_cells_beyond_one_practice_and_in_csv() {
        assert!(!suppresses_small_cells(1, false));
        assert!(!suppresses_small_cells(0, false));
        assert!(suppresses_small_cells(2, false));
        assert!(suppresses_small_cells(1, true));
    }

    #[test]
    fn a_period_runs_from_local_midnight_to_local_midnight() {
        // Paris: UTC+1 in winter, UTC+2 from the last Sunday of March.
        let p = Period {
            from: d("2026-01-01"),
            to: d("2026-03-31"),
        };
        let (start, end) = p.bounds(chrono_tz::Europe::Paris);
        assert_eq!(start.to_rfc3339(), "2025-12-31T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-03-31T22:00:00+00:00");
        assert_eq!(known_by(Some(end), end), None);
        let before = end - Duration::seconds(1);
        assert_eq!(known_by(Some(before), end), Some(before));
    }

    #[test]
    fn followed_means_open_on_one_day_of_the_period() {
        let p = Period {
            from: d("2026-01-01"),
            to: d("2026-03-31"),
        };
        assert!(p.follows(d("2025-06-01"), None));
        assert!(p.follows(d("2025-06-01"), Some(d("2026-01-01"))));
        assert!(!p.follows(d("2025-06-01"), Some(d("2025-12-31"))));
        assert!(p.follows(d("2026-03-31"), None));
        assert!(!p.follows(d("2026-04-01"), None));
        assert_eq!(open_days_in(&p, d("2025-06-01"), None), 90);
        assert_eq!(open_days_in(&p, d("2026-03-01"), Some(d("2026-03-10"))), 10);
    }

    #[test]
    fn medians_means_and_bands() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(mean(&[40.0, 50.0]), Some(45.0));
        assert_eq!(age_band(18), "18-29");
        assert_eq!(age_band(44), "30-44");
        assert_eq!(age_band(75), "75+");
        assert_eq!(age_band(16), "under 18");
    }

    #[test]
    fn process_measures() {
        assert_eq!(days_to_assessment(t("2026-01-01"), t("2026-01-11")), 10);
        let assessed = t("2026-01-01");
        let fortnightly: Vec<_> = (1..=4).map(|k| assessed + Duration::weeks(2 * k)).collect();
        assert!(four_contacts_in_twelve_weeks(assessed, &fortnightly));
        assert!(!four_contacts_in_twelve_weeks(assessed, &fortnightly[..3]));
        let late: Vec<_> = (1..=4)
            .map(|k| assessed + Duration::weeks(3 * k + 1))
            .collect();
        assert!(!four_contacts_in_twelve_weeks(assessed, &late));
        // 6 contacts over 61 open days: about 3 a month.
        assert_eq!(contacts_per_patient_month(6, 61), Some(2.99));
        assert_eq!(contacts_per_patient_month(6, 0), None);
    }

    #[test]
    fn outcomes_use_the_score_nearest_the_week() {
        let assessed = t("2026-01-01");
        let scores = vec![
            (assessed + Duration::weeks(10), 12),
            (assessed + Duration::weeks(13), 8),
            (assessed + Duration::weeks(30), 3),
        ];
        assert_eq!(score_at_week(assessed, 12, &scores), Some(8));
        assert_eq!(score_at_week(assessed, 24, &scores), None);
        let at12 = outcome_at_week(Instrument::Phq9, 18, assessed, 12, &scores).unwrap();
        assert_eq!(
            at12,
            Outcome {
                responded: true,
                remitted: false
            }
        );
        // A tie: the later one.
        let tie = vec![
            (assessed + Duration::weeks(11), 10),
            (assessed + Duration::weeks(13), 6),
        ];
        assert_eq!(score_at_week(assessed, 12, &tie), Some(6));
    }
}
