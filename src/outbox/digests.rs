//! The daily run (PATHWAY.md §5): each nurse's digest of overdue contacts, contacts due within two
//! days and assessments waiting; a neutral reminder to patients the day before a planned contact;
//! each coordinator's list of their practices that held no case review meeting the month before.
//! Nothing to say, no email. Every message's key names its day, so running the day twice (two
//! instances, a restart, cron and the server) writes nothing twice.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::notices::{Recipient, enqueue};
use crate::app::AppState;
use crate::config::Settings;
use crate::db::cases::OpenCaseDue;
use crate::db::{DbConn, accounts, cases, meetings, naive, utc};
use crate::domain::account::{Locale, Role};
use crate::domain::meeting::{PracticeStanding, previous_month, without_meeting};
use crate::domain::pathway::Phase;
use crate::email::content::Notice;
use crate::error::AppResult;

/// What a run wrote (a message already written by an earlier run of the day is not counted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DayReport {
    pub nurse_digests: usize,
    pub expert_digests: usize,
    pub patient_reminders: usize,
    pub coordinator_digests: usize,
}

/// A nurse's counts for `day` over the open cases: (overdue, due within 2 days, assessments
/// waiting).
pub fn nurse_counts(
    nurse: &str,
    practices: &[String],
    cases: &[OpenCaseDue],
    day: NaiveDate,
) -> (usize, usize, usize) {
    let (mut overdue, mut due_soon, mut waiting) = (0, 0, 0);
    let soon = day + Duration::days(2);
    for case in cases {
        let mine = case.nurse_id.as_deref() == Some(nurse);
        if case.phase == Phase::Referred {
            // A referral waits for whoever assesses it: the assigned nurse, or any nurse of the
            // practice while none is.
            if mine || (case.nurse_id.is_none() && practices.contains(&case.practice_id)) {
                waiting += 1;
            }
        } else if mine {
            match &case.due_on {
                Some(d) if *d < day => overdue += 1,
                Some(d) if *d <= soon => due_soon += 1,
                _ => {}
            }
        }
    }
    (overdue, due_soon, waiting)
}

/// Each expert's pending requests due by `soon_ends` but not yet late, and those due before
/// `late_before`: expert → (due soon, overdue).
pub fn expert_counts(
    pending: &[(String, DateTime<Utc>)],
    late_before: DateTime<Utc>,
    soon_ends: DateTime<Utc>,
) -> HashMap<String, (usize, usize)> {
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    for (expert, due) in pending {
        let entry = counts.entry(expert.clone()).or_default();
        if *due < late_before {
            entry.1 += 1;
        } else if *due < soon_ends {
            entry.0 += 1;
        }
    }
    counts
}

/// The UTC bounds of a local day.
fn local_day_bounds(day: NaiveDate, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
    };
    (start(day), start(day + Duration::days(1)))
}

/// Writes the digests and reminders of `day` (a local date in the settings' time zone).
pub fn run_day(
    conn: &mut DbConn,
    settings: &Settings,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<DayReport> {
    let mut report = DayReport::default();
    let open = cases::open_case_dues(conn)?;
    for person in accounts::active_with_role(conn, Role::Nurse)? {
        let nurse = person.id;
        let (overdue, due_soon, assessments_waiting) =
            nurse_counts(&nurse, &person.practice_ids, &open, day);
        if overdue + due_soon + assessments_waiting == 0 {
            continue;
        }
        let notice = Notice::NurseDigest {
            day,
            overdue,
            due_soon,
            assessments_waiting,
        };
        let to = Recipient {
            email: person.email,
            user_id: Some(nurse.clone()),
            locale: person.locale,
        };
        let key = format!("digest:nurse:{nurse}:{day}");
        report.nurse_digests += usize::from(enqueue(conn, settings, key, &notice, &to, now)?);
    }

    // Psychiatrists: requests past due, or due by the end of tomorrow.
    let (_, tomorrow_ends) = local_day_bounds(day + Duration::days(1), settings.timezone);
    let (today_starts, _) = local_day_bounds(day, settings.timezone);
    let pending: Vec<(String, DateTime<Utc>)> = crate::db::tele_expertise::pending_dues(conn)?
        .into_iter()
        .map(|(expert, due)| (expert, utc(due)))
        .collect();
    let dues = expert_counts(&pending, today_starts, tomorrow_ends);
    for person in accounts::active_with_role(conn, Role::Psychiatrist)? {
        let Some(&(due_soon, overdue)) = dues.get(&person.id) else {
            continue;
        };
        if due_soon + overdue == 0 {
            continue;
        }
        let notice = Notice::ExpertDigest {
            day,
            due_soon,
            overdue,
        };
        let to = Recipient {
            email: person.email,
            user_id: Some(person.id.clone()),
            locale: person.locale,
        };
        let key = format!("digest:psychiatrist:{}:{day}", person.id);
        report.expert_digests += usize::from(enqueue(conn, settings, key, &notice, &to, now)?);
    }

    // Patients: the day before, once per case and day, only with an email and consent.
    let (from, to) = local_day_bounds(day + Duration::days(1), settings.timezone);
    let mut reminded: HashMap<String, ()> = HashMap::new();
    for (case, at, email) in cases::planned_contacts_to_remind(conn, naive(from), naive(to))? {
        if reminded.insert(case.clone(), ()).is_some() {
            continue;
        }
        let notice = Notice::PatientReminder { at: utc(at) };
        let to = Recipient {
            email,
            user_id: None,
            locale: Locale::Fr,
        };
        let key = format!("reminder:patient:{case}:{}", day + Duration::days(1));
        report.patient_reminders += usize::from(enqueue(conn, settings, key, &notice, &to, now)?);
    }

    report.coordinator_digests = coordinator_digests(conn, settings, day, now)?;
    Ok(report)
}

/// Each active coordinator's digest of `day`: the names of their practices that should have held
/// a case review meeting in the previous calendar month and did not
/// (`domain::meeting::without_meeting`); none when every one did. Returns how many were written.
fn coordinator_digests(
    conn: &mut DbConn,
    settings: &Settings,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let month = previous_month(day);
    let practices = meetings::practices_standing(conn)?;
    let standing: Vec<PracticeStanding<'_>> = practices
        .iter()
        .map(|(id, _, active, created_at)| PracticeStanding {
            id,
            active: *active,
            created_at: utc(*created_at),
        })
        .collect();
    let held = meetings::held_between(conn, month.from, month.to)?;
    let silent = without_meeting(&month, settings.timezone, &standing, &held);
    if silent.is_empty() {
        return Ok(0);
    }
    let names: HashMap<&str, &str> = practices
        .iter()
        .map(|(id, name, _, _)| (id.as_str(), name.as_str()))
        .collect();
    let mut written = 0;
    for person in accounts::active_with_role(conn, Role::Coordinator)? {
        let mut theirs: Vec<String> = silent
            .iter()
            .filter(|id| person.practice_ids.iter().any(|p| p == *id))
            .filter_map(|id| names.get(id).map(|name| (*name).to_owned()))
            .collect();
        if theirs.is_empty() {
            continue;
        }
        theirs.sort();
        let notice = Notice::CoordinatorDigest {
            day,
            month: month.from,
            practices: theirs,
        };
        let to = Recipient {
            email: person.email,
            user_id: Some(person.id.clone()),
            locale: person.locale,
        };
        let key = format!("digest:coordinator:{}:{day}", person.id);
        written += usize::from(enqueue(conn, settings, key, &notice, &to, now)?);
    }
    Ok(written)
}

/// Runs the day in one transaction.
pub async fn run_day_now(state: &AppState, day: NaiveDate) -> AppResult<DayReport> {
    let settings = state.settings.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| run_day(conn, &settings, day, now))
        .await
}

/// Inside `serve`: once a minute, when the local time has passed the digest time and today's run
/// has not been done by this process, runs it (another instance or a restart running it too
/// writes nothing twice). A failed run (the database gone) is tried again with backoff.
pub fn spawn_scheduler(state: AppState) {
    let mut done: Option<NaiveDate> = None;
    crate::background::keep_running("daily digests not written", async move || {
        let local = state.clock.now().with_timezone(&state.settings.timezone);
        let today = local.date_naive();
        if local.time() < state.settings.digest_time || done == Some(today) {
            return Ok(CHECK_EVERY);
        }
        let report = run_day_now(&state, today).await?;
        done = Some(today);
        tracing::info!(
            %today,
            nurse_digests = report.nurse_digests,
            expert_digests = report.expert_digests,
            patient_reminders = report.patient_reminders,
            coordinator_digests = report.coordinator_digests,
            "daily digests and reminders written"
        );
        Ok::<_, crate::error::AppError>(CHECK_EVERY)
    });
}

/// How often the scheduler looks whether the day's digests are due.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_nurse_counts_her_cases_and_her_practices_referrals() {
        let row = |p: &str, n: Option<&str>, phase: &str, due: Option<&str>| OpenCaseDue {
            practice_id: p.to_owned(),
            nurse_id: n.map(str::to_owned),
            phase: Phase::parse(phase).expect("a phase"),
            due_on: due.map(d),
        };
        let cases = vec![
            row("p1", Some("n1"), "active", Some("2026-11-20")), // overdue
            row("p1", Some("n1"), "active", Some("2026-11-24")), // due today: soon
            row("p1", Some("n1"), "relapse_prevention", Some("2026-11-26")), // in 2 days: soon
            row("p1", Some("n1"), "active", Some("2026-11-27")), // later
            row("p1", Some("n2"), "active", Some("2026-11-01")), // another nurse's
            row("p1", None, "referred", Some("2026-12-01")),     // waiting, unassigned
            row("p2", None, "referred", Some("2026-12-01")),     // another practice
            row("p2", Some("n1"), "referred", Some("2026-12-01")), // assigned to her
            row("p1", Some("n2"), "referred", Some("2026-12-01")), // assigned to another
        ];
        let practices = vec!["p1".to_owned()];
        assert_eq!(
            nurse_counts("n1", &practices, &cases, d("2026-11-24")),
            (1, 2, 2)
        );
        assert_eq!(nurse_counts("n3", &[], &cases, d("2026-11-24")), (0, 0, 0));
    }

    #[test]
    fn an_expert_counts_late_and_soon_requests() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let pending = vec![
            ("e1".to_owned(), t("2026-11-23T12:00:00Z")), // late
            ("e1".to_owned(), t("2026-11-24T12:00:00Z")), // due today: soon
            ("e1".to_owned(), t("2026-11-25T22:59:00Z")), // end of tomorrow in Paris: soon
            ("e1".to_owned(), t("2026-11-26T09:00:00Z")), // later
            ("e2".to_owned(), t("2026-11-30T09:00:00Z")), // later
        ];
        let counts = expert_counts(
            &pending,
            t("2026-11-23T23:00:00Z"),
            t("2026-11-25T23:00:00Z"),
        );
        assert_eq!(counts.get("e1"), Some(&(2, 1)));
        assert_eq!(counts.get("e2"), Some(&(0, 0)));
    }

    #[test]
    fn a_local_day_in_utc() {
        let (from, to) = local_day_bounds(d("2026-11-25"), chrono_tz::Europe::Paris);
        assert_eq!(from.to_rfc3339(), "2026-11-24T23:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-25T23:00:00+00:00");
        // Summer time.
        let (from, _) = local_day_bounds(d("2026-07-01"), chrono_tz::Europe::Paris);
        assert_eq!(from.to_rfc3339(), "2026-06-30T22:00:00+00:00");
    }
}
