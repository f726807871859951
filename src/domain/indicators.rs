//! Program indicators (PATHWAY.md §6) as plain functions over plain data, each stated once here
//! and in `docs/indicators.md`: who counts as followed in a period, ages, the process measures of
//! the Sésame register, outcomes at 12 and 24 weeks, the small-cell rule, and the windows of
//! time each definition looks at (the queries that gather the facts take their bounds from them).

use std::ops::{Add, Sub};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use utoipa::ToSchema;

use super::instruments::{Instrument, is_remission, is_response};

// The windows of the definitions. Each is named once here; `db::reports` reads a little more
// (`QUERY_SLACK_DAYS` on each side) and the functions below decide.

/// Weeks after the initial assessment at which outcomes are reported (`docs/indicators.md`,
/// "Outcomes": PHQ-9 and GAD-7 at 12 and at 24 weeks).
pub const OUTCOME_WEEKS: [i64; 2] = [12, 24];

/// Half the window around an outcome mark, in weeks: the score at week W is the one measured
/// nearest to the mark within ±2 weeks ("Outcomes", `measured`; `score_at_week`).
pub const OUTCOME_SCORE_WEEKS: i64 = 2;

/// The first weeks after the initial assessment in which the register counts completed contacts,
/// the assessment and the end both included ("Process", `four_contacts_in_twelve_weeks`); their
/// end is the mark of the twelve-week cohort (`twelve_week_cohort`).
pub const EARLY_CONTACT_WEEKS: i64 = 12;

/// Completed contacts the register asks for in those weeks ("Process",
/// `four_contacts_in_twelve_weeks`).
pub const EARLY_CONTACTS_REQUIRED: usize = 4;

/// The period's last days in which an active case's latest completed contact should fall, `to`
/// − 29 to `to` ("Process", `contacted_in_last_30_days`).
pub const RECENT_CONTACT_DAYS: i64 = 30;

/// Days of a month in patient-months ("Process", `patient_months`, `contacts_per_patient_month`).
pub const DAYS_PER_MONTH: f64 = 30.44;

/// Days the database's windows keep on each side of a definition's window: a query reads a
/// superset and the functions here decide, so a fact at a window's edge (a local midnight, a
/// change of summer time, a stored instant's rounding) is never left out. Not a definition.
pub const QUERY_SLACK_DAYS: i64 = 1;

/// A window of whole days relative to each case's own assessment, both ends included, as a query
/// reads it (the definition's window with the slack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysAfterAssessment {
    pub from: i64,
    pub to: i64,
}

/// The scores a query reads for the outcome at `week`: ±`OUTCOME_SCORE_WEEKS` around the mark,
/// with the slack.
pub fn outcome_score_days(week: i64) -> DaysAfterAssessment {
    let (mark, half) = (week * 7, OUTCOME_SCORE_WEEKS * 7);
    DaysAfterAssessment {
        from: mark - half - QUERY_SLACK_DAYS,
        to: mark + half + QUERY_SLACK_DAYS,
    }
}

/// The completed contacts a query reads for the register's measure: from the assessment to
/// `EARLY_CONTACT_WEEKS` after it, with the slack.
pub fn early_contact_days() -> DaysAfterAssessment {
    DaysAfterAssessment {
        from: -QUERY_SLACK_DAYS,
        to: EARLY_CONTACT_WEEKS * 7 + QUERY_SLACK_DAYS,
    }
}

/// The assessments whose mark `weeks` after may fall in a period of instants `[start, end)`:
/// from `start` − `weeks` to `end` − `weeks`, with the slack on each side (both included).
pub fn assessed_for_mark<T>(start: T, end: T, weeks: i64) -> (T, T)
where
    T: Add<Duration, Output = T> + Sub<Duration, Output = T>,
{
    let (mark, slack) = (Duration::weeks(weeks), Duration::days(QUERY_SLACK_DAYS));
    (start - mark - slack, end - mark + slack)
}

/// Every mark a report looks at, in weeks after the assessment: the outcome weeks and the end of
/// the early-contact weeks.
fn mark_weeks() -> impl Iterator<Item = i64> {
    OUTCOME_WEEKS.into_iter().chain([EARLY_CONTACT_WEEKS])
}

/// The assessments any of whose marks may fall in a period of instants `[start, end)` (the union
/// of `assessed_for_mark` over `mark_weeks`).
pub fn assessed_for_any_mark<T>(start: T, end: T) -> (T, T)
where
    T: Add<Duration, Output = T> + Sub<Duration, Output = T> + Copy,
{
    let latest = mark_weeks().max().unwrap_or(0);
    let earliest = mark_weeks().min().unwrap_or(0);
    (
        assessed_for_mark(start, end, latest).0,
        assessed_for_mark(start, end, earliest).1,
    )
}

/// How far before the period's end (an instant) a query looks for a case's latest completed
/// contact: the recent-contact days, which are local days, with the slack on each side.
pub fn recent_contact_lookback() -> Duration {
    Duration::days(RECENT_CONTACT_DAYS + 2 * QUERY_SLACK_DAYS)
}

/// The first day of the period's recent-contact days (`to` − 29).
pub fn recent_contact_from(period: &Period) -> NaiveDate {
    period.to - Duration::days(RECENT_CONTACT_DAYS - 1)
}

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
    /// The period of the days asked for, from 1900-01-01 to 2200-12-31 and not ending before it
    /// starts; otherwise the field at fault and why.
    pub fn of_days(from: NaiveDate, to: NaiveDate) -> Result<Self, (&'static str, &'static str)> {
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
        let latest = NaiveDate::from_ymd_opt(2200, 12, 31).unwrap_or(NaiveDate::MAX);
        for (field, day) in [("from", from), ("to", to)] {
            if day < earliest || day > latest {
                return Err((field, "must be from 1900-01-01 to 2200-12-31"));
            }
        }
        if super::ends_before_start(Some(from), Some(to)) {
            return Err(("to", "must be on or after from"));
        }
        Ok(Self { from, to })
    }

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

/// The register's measure: at least `EARLY_CONTACTS_REQUIRED` (4) completed nurse contacts in the
/// first `EARLY_CONTACT_WEEKS` (12) weeks after the initial assessment.
pub fn four_contacts_in_twelve_weeks(
    assessed_at: DateTime<Utc>,
    completed_contacts: &[DateTime<Utc>],
) -> bool {
    let end = assessed_at + Duration::weeks(EARLY_CONTACT_WEEKS);
    completed_contacts
        .iter()
        .filter(|at| **at >= assessed_at && **at <= end)
        .count()
        >= EARLY_CONTACTS_REQUIRED
}

/// The score that stands for week `week` of treatment: the one measured closest to it within
/// ±`OUTCOME_SCORE_WEEKS` (the later on a tie); `None` when there is none in the window.
pub fn score_at_week(
    assessed_at: DateTime<Utc>,
    week: i64,
    scores: &[(DateTime<Utc>, u8)],
) -> Option<u8> {
    let target = assessed_at + Duration::weeks(week);
    let window = Duration::weeks(OUTCOME_SCORE_WEEKS);
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

/// Months of `DAYS_PER_MONTH` (30.44 days) in `days`, to 2 decimals.
pub fn patient_months(open_days: i64) -> f64 {
    round(open_days as f64 / DAYS_PER_MONTH, 2)
}

/// Completed contacts per patient-month: contacts in the period over the months
/// (`DAYS_PER_MONTH`) the followed cases were open within it.
pub fn contacts_per_patient_month(contacts: u64, open_days: i64) -> Option<f64> {
    (open_days > 0).then(|| round(contacts as f64 / (open_days as f64 / DAYS_PER_MONTH), 2))
}

/// The days of the period a case was open: from the later of referral and the period's start to
/// the earlier of closing and the period's end, both included.
pub fn open_days_in(period: &Period, referred_on: NaiveDate, closed_on: Option<NaiveDate>) -> i64 {
    let start = referred_on.max(period.from);
    let end = closed_on.map_or(period.to, |c| c.min(period.to));
    ((end - start).num_days() + 1).max(0)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A day written `YYYY-MM-DD` (the report's tests use it too).
    pub(in crate::domain) fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// 10:00 UTC on a day (11:00 or 12:00 in Paris).
    pub(in crate::domain) fn t(s: &str) -> DateTime<Utc> {
        d(s).and_hms_opt(10, 0, 0).unwrap().and_utc()
    }

    /// Local midnight of a day in a zone, as `Period::bounds` computes it.
    fn midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
        Period { from: day, to: day }.bounds(zone).0
    }

    /// Zones far apart: summer time, and the widest offsets either side of UTC.
    const ZONES: [Tz; 3] = [
        chrono_tz::Europe::Paris,
        chrono_tz::Pacific::Kiritimati,
        chrono_tz::Pacific::Pago_Pago,
    ];

    #[test]
    fn the_windows_are_those_of_the_definitions() {
        assert_eq!(OUTCOME_WEEKS, [12, 24]);
        assert_eq!(OUTCOME_SCORE_WEEKS, 2);
        assert_eq!((EARLY_CONTACT_WEEKS, EARLY_CONTACTS_REQUIRED), (12, 4));
        assert_eq!(RECENT_CONTACT_DAYS, 30);
        // The query windows as they were written before being named: ±2 weeks and a day, the
        // 12 weeks and a day, 32 days back, a day of slack.
        assert_eq!(
            outcome_score_days(12),
            DaysAfterAssessment { from: 69, to: 99 }
        );
        assert_eq!(
            outcome_score_days(24),
            DaysAfterAssessment { from: 153, to: 183 }
        );
        assert_eq!(
            early_contact_days(),
            DaysAfterAssessment { from: -1, to: 85 }
        );
        assert_eq!(recent_contact_lookback(), Duration::days(32));
        let (start, end) = (t("2026-04-01"), t("2026-07-01"));
        assert_eq!(
            assessed_for_any_mark(start, end),
            (
                start - Duration::weeks(24) - Duration::days(1),
                end - Duration::weeks(12) + Duration::days(1)
            )
        );
        let p = Period {
            from: d("2026-01-01"),
            to: d("2026-03-31"),
        };
        assert_eq!(recent_contact_from(&p), d("2026-03-02"));
        assert_eq!(patient_months(61), 2.0);
    }

    #[test]
    fn the_query_windows_hold_the_definitions_windows() {
        let assessed = t("2026-01-05");
        let day = Duration::days(1);
        let holds = |window: DaysAfterAssessment, at: DateTime<Utc>| {
            let (from, to) = (Duration::days(window.from), Duration::days(window.to));
            assessed + from <= at && at <= assessed + to
        };
        for week in OUTCOME_WEEKS {
            let mark = assessed + Duration::weeks(week);
            let half = Duration::weeks(OUTCOME_SCORE_WEEKS);
            for at in [mark - half, mark, mark + half] {
                assert_eq!(score_at_week(assessed, week, &[(at, 3)]), Some(3));
                assert!(holds(outcome_score_days(week), at));
            }
            // Just outside the definition's window: read by the query, refused by the rule.
            let beyond = mark + half + Duration::hours(1);
            assert_eq!(score_at_week(assessed, week, &[(beyond, 3)]), None);
            assert!(holds(outcome_score_days(week), beyond));
        }
        let twelve = assessed + Duration::weeks(EARLY_CONTACT_WEEKS);
        for at in [assessed, twelve] {
            assert!(holds(early_contact_days(), at));
        }
        assert!(holds(
            early_contact_days(),
            assessed - day + Duration::hours(1)
        ));
    }

    #[test]
    fn the_query_windows_hold_every_case_whose_mark_falls_in_the_period() {
        let p = Period {
            from: d("2026-03-01"),
            to: d("2026-03-31"),
        };
        for zone in ZONES {
            let (start, end) = p.bounds(zone);
            let last_instant = end - Duration::seconds(1);
            for weeks in OUTCOME_WEEKS.into_iter().chain([EARLY_CONTACT_WEEKS]) {
                let (from, to) = assessed_for_mark(start, end, weeks);
                let (any_from, any_to) = assessed_for_any_mark(start, end);
                // Marks on the first and the last instant of the period.
                for mark in [start, last_instant] {
                    let assessed = mark - Duration::weeks(weeks);
                    assert!(from <= assessed && assessed <= to, "{zone} {weeks}");
                    assert!(any_from <= assessed && assessed <= any_to, "{zone} {weeks}");
                }
            }
            // The first instant of the recent-contact days is within the lookback.
            let recent = midnight(recent_contact_from(&p), zone);
            assert!(end - recent_contact_lookback() <= recent, "{zone}");
        }
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
    fn a_period_is_of_days_from_1900_to_2200_in_order() {
        let p = Period::of_days(d("2026-01-01"), d("2026-01-01")).unwrap();
        assert_eq!((p.from, p.to), (d("2026-01-01"), d("2026-01-01")));
        let refused = |from: &str, to: &str| Period::of_days(d(from), d(to)).unwrap_err().0;
        assert_eq!(refused("2026-01-02", "2026-01-01"), "to");
        assert_eq!(refused("1899-12-31", "2026-01-01"), "from");
        assert_eq!(refused("2026-01-01", "2201-01-01"), "to");
        assert!(Period::of_days(d("1900-01-01"), d("2200-12-31")).is_ok());
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
