//! The facts of the program report (`domain::report`), gathered for one period and scope with a
//! handful of narrow queries. Where a definition needs a window relative to each case's own
//! assessment, the query keeps a slightly wider window (a superset) and the domain function
//! decides; nothing is defined here, and every window's bounds come from `domain::indicators`.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamp};

use super::cases::optional_score;
use super::schema::{
    cases, contacts, meetings, patient_surveys, patients, practices, scores,
    tele_expertise_requests, user_practices, users,
};
use super::surveys::SurveyRow;
use super::{DbConn, utc};
use crate::domain::account::Role;
use crate::domain::case::{ContactOutcome, Program, split_set};
use crate::domain::indicators::{
    DaysAfterAssessment, EARLY_CONTACT_WEEKS, Period, assessed_for_any_mark, assessed_for_mark,
    early_contact_days, outcome_score_days, recent_contact_lookback,
};
use crate::domain::instruments::Instrument;
use crate::domain::microstructure::{ConsultationKind, SubstanceUse, merge_use, split_use};
use crate::domain::report::{CaseFacts, Facts, PracticeFacts, RequestFacts, SurveyFacts};
use crate::domain::survey::{Agreement, agrees};
use crate::error::{AppError, AppResult};

/// Which cases a report (or an export) covers.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// `None`: every practice.
    pub practice_ids: Option<Vec<String>>,
    pub program: Option<Program>,
}

/// The period as stored instants: `[start, end)`, from local midnight to local midnight.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// Applies the coverage to a boxed query over `cases`.
macro_rules! covered {
    ($query:expr, $coverage:expr) => {{
        let mut query = $query;
        if let Some(ids) = &$coverage.practice_ids {
            query = query.filter(cases::practice_id.eq_any(ids.clone()));
        }
        if let Some(program) = $coverage.program {
            query = query.filter(cases::program.eq(program));
        }
        query
    }};
}

/// `column` within `days` of `cases.assessed_at` (both ends included), in the backend's own date
/// arithmetic.
fn within_days_of_assessment(conn: &DbConn, column: &str, days: DaysAfterAssessment) -> String {
    let DaysAfterAssessment {
        from: from_days,
        to: to_days,
    } = days;
    match conn {
        DbConn::Postgres(_) => format!(
            "({column} BETWEEN cases.assessed_at + interval '{from_days} days' \
             AND cases.assessed_at + interval '{to_days} days')"
        ),
        DbConn::Sqlite(_) => format!(
            "({column} BETWEEN datetime(cases.assessed_at, '{from_days:+} days') \
             AND datetime(cases.assessed_at, '{to_days:+} days'))"
        ),
    }
}

type CaseTuple = (
    String,
    String,
    Option<String>,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    chrono::NaiveDate,
    Option<NaiveDateTime>,
    Program,
    Option<String>,
);

/// Created, due, accepted, declined, cancelled, answered.
type RequestTuple = (
    NaiveDateTime,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// The total of stored answers (`"1,0,2,…"`), scored as everywhere else.
fn total(instrument: Instrument, items: Option<&str>) -> AppResult<Option<u8>> {
    Ok(optional_score(instrument, items)?.map(|score| score.total))
}

impl Coverage {
    /// Every case of every practice: queries need not join `cases` to filter.
    fn is_everything(&self) -> bool {
        self.practice_ids.is_none() && self.program.is_none()
    }
}

/// A time column compared in a query that also filters on `cases`. SQLite's planner, given an
/// index on the time, walks the period's rows and looks each case up, which is ten times slower
/// than walking the scope's cases and each one's rows when the scope is wide; the unary `+` (a
/// no-op on the value) keeps it on the second plan.
fn per_case(conn: &DbConn, column: &str) -> String {
    match conn {
        DbConn::Sqlite(_) => format!("+{column}"),
        DbConn::Postgres(_) => column.to_owned(),
    }
}

/// The cases of the report: open on a day of the period, or one of whose marks may fall in it
/// (`assessed_for_any_mark`); with the patient's sex and birth date. Facts after the period's end are cleared.
pub fn cases(
    conn: &mut DbConn,
    span: Span,
    coverage: &Coverage,
) -> AppResult<Vec<(String, CaseFacts)>> {
    let Span { start, end } = span;
    let (marks_from, marks_to) = assessed_for_any_mark(start, end);
    let rows: Vec<CaseTuple> = covered!(
        cases::table
            .inner_join(patients::table)
            .filter(cases::referred_at.lt(end))
            .filter(
                cases::closed_at
                    .is_null()
                    .or(cases::closed_at.ge(start))
                    .or(cases::assessed_at.between(marks_from, marks_to)),
            )
            .select((
                cases::id,
                cases::patient_id,
                cases::nurse_id,
                cases::indications,
                cases::substances,
                cases::referred_at,
                cases::assessed_at,
                cases::closed_at,
                cases::exit_reason,
                cases::baseline_phq9,
                cases::baseline_gad7,
                patients::sex,
                patients::birth_date,
                cases::last_completed_contact_at,
                cases::program,
                cases::baseline_substance_use,
            ))
            .into_boxed(),
        coverage
    )
    .load(conn)?;
    let since = substance_use_since(conn, &rows, end)?;
    // A case's latest completed contact is on its row; when that is after the period, the latest
    // before the period's end is looked for in the period's last weeks (the report only asks
    // whether it falls in its recent-contact days). None are when the period ends today.
    let later: Vec<&str> = rows
        .iter()
        .filter(|row| row.13.is_some_and(|at| at >= end))
        .map(|row| row.0.as_str())
        .collect();
    let mut before_end: HashMap<String, NaiveDateTime> = HashMap::new();
    for chunk in later.chunks(1000) {
        let found: Vec<(String, NaiveDateTime)> = contacts::table
            .filter(contacts::case_id.eq_any(chunk))
            .filter(contacts::outcome.eq(ContactOutcome::Completed))
            .filter(contacts::occurred_at.ge(end - recent_contact_lookback()))
            .filter(contacts::occurred_at.lt(end))
            .select((contacts::case_id, contacts::occurred_at))
            .load(conn)?;
        for (case, at) in found {
            let kept = before_end.entry(case).or_insert(at);
            *kept = (*kept).max(at);
        }
    }
    let end_instant = utc(end);
    rows.into_iter()
        .map(|row| {
            let facts = CaseFacts {
                baseline_phq9: total(Instrument::Phq9, row.9.as_deref())?,
                baseline_gad7: total(Instrument::Gad7, row.10.as_deref())?,
                patient_id: row.1,
                nurse_id: row.2,
                indications: words(&row.3),
                substances: words(&row.4),
                sex: row.11,
                birth_date: row.12,
                referred_at: utc(row.5),
                assessed_at: row.6.map(utc),
                closed_at: row.7.map(utc),
                exit_reason: row.8,
                // Found above when the row's latest is after the period.
                last_completed_contact_at: before_end.get(&row.0).copied().or(row.13).map(utc),
                early_completed_contacts: Vec::new(),
                follow_up_scores: Vec::new(),
                program: row.14,
                baseline_substance_use: stored_use(row.15.as_deref())?,
                substance_use_since: since.get(&row.0).cloned().unwrap_or_default(),
            };
            Ok((row.0, facts.as_of(end_instant)))
        })
        .collect()
}

/// Stored days of use, read back.
fn stored_use(raw: Option<&str>) -> AppResult<Vec<SubstanceUse>> {
    raw.map_or(Ok(Vec::new()), |raw| {
        split_use(raw).ok_or_else(|| AppError::Internal("stored substance use unknown".to_owned()))
    })
}

/// For the cases with days of use at inclusion: each product's last figure measured at a
/// consultation before the period's end (the consultations in the order they took place).
fn substance_use_since(
    conn: &mut DbConn,
    rows: &[CaseTuple],
    end: NaiveDateTime,
) -> AppResult<HashMap<String, Vec<SubstanceUse>>> {
    let measured: Vec<&str> = rows
        .iter()
        .filter(|row| row.15.is_some())
        .map(|row| row.0.as_str())
        .collect();
    let mut since: HashMap<String, Vec<SubstanceUse>> = HashMap::new();
    for chunk in measured.chunks(1000) {
        let found: Vec<(String, Option<String>)> = contacts::table
            .filter(contacts::case_id.eq_any(chunk))
            .filter(contacts::substance_use.is_not_null())
            .filter(contacts::occurred_at.lt(end))
            .order((contacts::case_id, contacts::occurred_at))
            .select((contacts::case_id, contacts::substance_use))
            .load(conn)?;
        for (case, used) in found {
            let used = stored_use(used.as_deref())?;
            let kept = since.entry(case).or_default();
            *kept = merge_use(kept, &used);
        }
    }
    Ok(since)
}

/// What the published tables need besides the cases: the roster of the scope's practices, the
/// microstructure consultations of the period by kind, and the meetings held in it.
pub fn table_facts(
    conn: &mut DbConn,
    span: Span,
    coverage: &Coverage,
    period: Period,
) -> AppResult<TableFacts> {
    let clinicians = [
        Role::Gp,
        Role::Nurse,
        Role::Psychiatrist,
        Role::Psychologist,
        Role::SocialWorker,
    ];
    let mut roster = users::table
        .inner_join(user_practices::table)
        .filter(users::active.eq(true))
        .filter(users::role.eq_any(clinicians))
        .select((users::id, users::role))
        .distinct()
        .into_boxed();
    if let Some(ids) = &coverage.practice_ids {
        roster = roster.filter(user_practices::practice_id.eq_any(ids.clone()));
    }
    let roster: Vec<(String, Role)> = roster.load(conn)?;

    let kinds: Vec<(Option<ConsultationKind>, i64)> = covered!(
        contacts::table
            .inner_join(cases::table)
            .filter(contacts::kind.is_not_null())
            .filter(contacts::outcome.eq(ContactOutcome::Completed))
            .filter(contacts::occurred_at.ge(span.start))
            .filter(contacts::occurred_at.lt(span.end))
            .group_by(contacts::kind)
            .select((contacts::kind, diesel::dsl::count_star()))
            .into_boxed(),
        coverage
    )
    .load(conn)?;

    let mut meetings = meetings::table
        .filter(meetings::held_on.between(period.from, period.to))
        .select(diesel::dsl::count_star())
        .into_boxed();
    if let Some(ids) = &coverage.practice_ids {
        meetings = meetings.filter(meetings::practice_id.eq_any(ids.clone()));
    }
    let meetings: i64 = meetings.first(conn)?;

    let mut surveys = patient_surveys::table
        .filter(patient_surveys::answered_on.between(period.from, period.to))
        .select(SurveyRow::as_select())
        .into_boxed();
    if let Some(ids) = &coverage.practice_ids {
        surveys = surveys.filter(patient_surveys::practice_id.eq_any(ids.clone()));
    }
    if let Some(program) = coverage.program {
        surveys = surveys.filter(patient_surveys::program.eq(program));
    }
    let agreed = |a: Option<Agreement>| a.map(agrees);
    let surveys = surveys
        .load::<SurveyRow>(conn)?
        .into_iter()
        .map(|s| SurveyFacts {
            never_seen_social_worker: agreed(s.never_seen_social_worker),
            never_seen_psychiatrist: agreed(s.never_seen_psychiatrist),
            never_seen_psychologist: agreed(s.never_seen_psychologist),
            quality_of_life_improved: agreed(s.quality_of_life_improved),
            better_consumption: agreed(s.better_consumption),
            would_recommend: agreed(s.would_recommend),
        })
        .collect();
    Ok(TableFacts {
        roster: roster
            .into_iter()
            .map(|(id, role)| (id, role.as_str().to_owned()))
            .collect(),
        consultations: kinds
            .into_iter()
            .filter_map(|(kind, n)| Some((kind?.as_str().to_owned(), u64::try_from(n).ok()?)))
            .collect(),
        meetings: u64::try_from(meetings).unwrap_or(0),
        surveys,
    })
}

/// See `table_facts`.
pub struct TableFacts {
    pub roster: Vec<(String, String)>,
    pub consultations: Vec<(String, u64)>,
    pub meetings: u64,
    /// The surveys answered in the period, as agreed or not per statement.
    pub surveys: Vec<SurveyFacts>,
}

/// Scores of the outcome measures: PHQ-9 and GAD-7 around week `week` after assessment
/// (`outcome_score_days`), up to the period's end, for the cases whose mark may fall in the
/// period. Each case's window is an index range on `scores_by_case (case_id, instrument,
/// measured_at)`.
pub fn follow_up_scores(
    conn: &mut DbConn,
    span: Span,
    coverage: &Coverage,
    week: i64,
) -> AppResult<Vec<(String, Instrument, NaiveDateTime, u8)>> {
    let (from, to) = assessed_for_mark(span.start, span.end, week);
    let window = within_days_of_assessment(conn, "scores.measured_at", outcome_score_days(week));
    let rows: Vec<(String, Instrument, NaiveDateTime, i32)> = covered!(
        scores::table
            .inner_join(cases::table)
            .filter(cases::assessed_at.between(from, to))
            .filter(scores::instrument.eq_any([Instrument::Phq9, Instrument::Gad7]))
            .filter(scores::measured_at.lt(span.end))
            .filter(sql::<Bool>(&window))
            .select((
                scores::case_id,
                scores::instrument,
                scores::measured_at,
                scores::total
            ))
            .into_boxed(),
        coverage
    )
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(case, instrument, at, total)| {
            Some((case, instrument, at, u8::try_from(total).ok()?))
        })
        .collect())
}

/// Contacts, people and requests of the period.
pub struct Activity {
    pub completed_contacts: u64,
    pub unsuccessful_attempts: u64,
    /// Completed contacts in (about) the early-contact weeks of cases whose last such week may end
    /// in the period.
    pub early: Vec<(String, NaiveDateTime)>,
    pub professionals: Vec<(String, String)>,
    pub requests: Vec<RequestFacts>,
}

pub fn activity(conn: &mut DbConn, span: Span, coverage: &Coverage) -> AppResult<Activity> {
    let Span { start, end } = span;
    let completed = ContactOutcome::Completed;
    let everything = coverage.is_everything();

    // Contacts of the period, by outcome.
    let by_outcome: Vec<(ContactOutcome, i64)> = if everything {
        contacts::table
            .filter(
                contacts::occurred_at
                    .ge(start)
                    .and(contacts::occurred_at.lt(end)),
            )
            .group_by(contacts::outcome)
            .select((contacts::outcome, diesel::dsl::count_star()))
            .load(conn)?
    } else {
        let column = per_case(conn, "contacts.occurred_at");
        let period = sql::<Bool>(&format!("{column} >= "))
            .bind::<Timestamp, _>(start)
            .sql(&format!(" AND {column} < "))
            .bind::<Timestamp, _>(end);
        covered!(
            contacts::table
                .inner_join(cases::table)
                .filter(period)
                .group_by(contacts::outcome)
                .select((contacts::outcome, diesel::dsl::count_star()))
                .into_boxed(),
            coverage
        )
        .load(conn)?
    };
    let (mut completed_contacts, mut unsuccessful_attempts) = (0u64, 0u64);
    for (outcome, n) in by_outcome {
        let n = u64::try_from(n).unwrap_or(0);
        if outcome == completed {
            completed_contacts += n;
        } else {
            unsuccessful_attempts += n;
        }
    }

    let early_window =
        within_days_of_assessment(conn, "contacts.occurred_at", early_contact_days());
    let (assessed_from, assessed_to) = assessed_for_mark(start, end, EARLY_CONTACT_WEEKS);
    let early: Vec<(String, NaiveDateTime)> = covered!(
        contacts::table
            .inner_join(cases::table)
            .filter(cases::assessed_at.between(assessed_from, assessed_to))
            .filter(contacts::outcome.eq(completed))
            .filter(contacts::occurred_at.lt(end))
            .filter(sql::<Bool>(&early_window))
            .select((contacts::case_id, contacts::occurred_at))
            .into_boxed(),
        coverage
    )
    .load(conn)?;

    let professionals = professionals(conn, span, coverage)?;

    let requests: Vec<RequestTuple> = covered!(
        tele_expertise_requests::table
            .inner_join(cases::table.on(cases::id.eq(tele_expertise_requests::case_id)))
            .filter(tele_expertise_requests::created_at.ge(start))
            .filter(tele_expertise_requests::created_at.lt(end))
            .select((
                tele_expertise_requests::created_at,
                tele_expertise_requests::due_at,
                tele_expertise_requests::accepted_at,
                tele_expertise_requests::declined_at,
                tele_expertise_requests::cancelled_at,
                tele_expertise_requests::answered_at,
            ))
            .into_boxed(),
        coverage
    )
    .load(conn)?;
    let requests = requests
        .into_iter()
        .map(|(created, due, accepted, declined, cancelled, answered)| {
            let moves = [accepted, declined, cancelled, answered].map(|at| at.map(utc));
            RequestFacts::as_of(utc(created), utc(due), moves, utc(end))
        })
        .collect();

    Ok(Activity {
        completed_contacts,
        unsuccessful_attempts,
        early,
        professionals,
        requests,
    })
}

#[derive(QueryableByName)]
struct Professional {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    role: String,
}

/// Everyone who recorded something on a case of the scope in the period (of the members of its
/// practices, when it is not every practice): for each account, one probe of `case_events_by_actor (actor_id, recorded_at)` that stops at the first event found.
/// (Diesel cannot box a correlated `EXISTS` for both backends, hence the SQL text; every value
/// is bound.)
fn professionals(
    conn: &mut DbConn,
    span: Span,
    coverage: &Coverage,
) -> QueryResult<Vec<(String, String)>> {
    let ids = coverage.practice_ids.as_deref().unwrap_or_default();
    let postgres = matches!(conn, DbConn::Postgres(_));
    let mut n = 0;
    let mut next = || {
        n += 1;
        if postgres {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    };
    let mut text = format!(
        "SELECT users.id, users.role FROM users WHERE EXISTS (SELECT 1 FROM case_events \
         JOIN cases ON cases.id = case_events.case_id WHERE case_events.actor_id = users.id \
         AND case_events.recorded_at >= {} AND case_events.recorded_at < {}",
        next(),
        next()
    );
    if coverage.program.is_some() {
        text.push_str(&format!(" AND cases.program = {}", next()));
    }
    if coverage.practice_ids.is_some() {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = ids.iter().map(|_| next()).collect();
        let marks = marks.join(", ");
        text.push_str(&format!(" AND cases.practice_id IN ({marks})"));
        // Only members of the scope's practices act on its cases: probing the others would walk
        // all their events of the period for nothing.
        let members: Vec<String> = ids.iter().map(|_| next()).collect();
        text.push_str(&format!(
            ") AND users.id IN (SELECT user_id FROM user_practices WHERE practice_id IN ({})",
            members.join(", ")
        ));
    }
    text.push(')');
    macro_rules! load {
        ($conn:expr, $backend:ty) => {{
            let mut query = diesel::sql_query(text)
                .into_boxed::<$backend>()
                .bind::<Timestamp, _>(span.start)
                .bind::<Timestamp, _>(span.end);
            if let Some(program) = &coverage.program {
                query = query.bind::<Text, _>(program);
            }
            // The practices twice: the cases', then the members'.
            for id in ids.iter().chain(ids) {
                query = query.bind::<Text, _>(id.clone());
            }
            query.load::<Professional>($conn)?
        }};
    }
    let rows = match conn {
        DbConn::Postgres(pg) => load!(pg, diesel::pg::Pg),
        DbConn::Sqlite(sqlite) => load!(sqlite, diesel::sqlite::Sqlite),
    };
    Ok(rows.into_iter().map(|p| (p.id, p.role)).collect())
}

/// Puts the parts together as the facts of `domain::report::program_report`.
pub fn assemble(
    period: Period,
    zone: Tz,
    cases: Vec<(String, CaseFacts)>,
    scores: Vec<(String, Instrument, NaiveDateTime, u8)>,
    activity: Activity,
    practices: Vec<PracticeFacts>,
    tables: TableFacts,
) -> Facts {
    let index: HashMap<&str, usize> = cases
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let positions = |list: &[(String, NaiveDateTime)]| -> Vec<(usize, NaiveDateTime)> {
        list.iter()
            .filter_map(|(case, at)| index.get(case.as_str()).map(|i| (*i, *at)))
            .collect()
    };
    let early = positions(&activity.early);
    let scored: Vec<(usize, Instrument, NaiveDateTime, u8)> = scores
        .iter()
        .filter_map(|(case, instrument, at, total)| {
            index
                .get(case.as_str())
                .map(|i| (*i, *instrument, *at, *total))
        })
        .collect();
    drop(index);
    let mut cases: Vec<CaseFacts> = cases.into_iter().map(|(_, facts)| facts).collect();
    for (i, at) in early {
        cases[i].early_completed_contacts.push(utc(at));
    }
    for (i, instrument, at, total) in scored {
        cases[i].follow_up_scores.push((instrument, utc(at), total));
    }
    Facts {
        period,
        zone,
        cases,
        completed_contacts: activity.completed_contacts,
        unsuccessful_attempts: activity.unsuccessful_attempts,
        practices,
        professionals: activity.professionals,
        requests: activity.requests,
        roster: tables.roster,
        consultations: tables.consultations,
        meetings: tables.meetings,
        surveys: tables.surveys,
    }
}

/// A stored set (`"alcohol,tobacco"`) as its words.
fn words(set: &str) -> Vec<String> {
    split_set(set, |w| Some(w.to_owned())).unwrap_or_default()
}

/// Every practice with its region and network (a few hundred rows at most).
pub fn practices(conn: &mut DbConn) -> QueryResult<Vec<(String, String, Option<String>)>> {
    practices::table
        .select((practices::id, practices::region, practices::network))
        .order(practices::id)
        .load(conn)
}

/// A case as the research export reads it (identity columns are never selected).
pub struct ExportCase {
    pub id: String,
    pub patient_id: String,
    pub practice_id: String,
    pub region: String,
    pub program: String,
    pub indications: String,
    pub substances: String,
    pub phase: String,
    pub referred_at: NaiveDateTime,
    pub assessed_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub exit_reason: Option<String>,
    pub baseline_phq9: Option<u8>,
    pub baseline_gad7: Option<u8>,
    pub latest_phq9: Option<u8>,
    pub latest_gad7: Option<u8>,
    pub sex: String,
    pub birth_date: chrono::NaiveDate,
    pub completed_contacts: u64,
    pub unsuccessful_contacts: u64,
    pub tele_expertise_requests: u64,
}

type ExportTuple = (
    (String, String, String, String, String, String, String),
    (
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    ),
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    (String, chrono::NaiveDate, String),
);

/// One page of the export: the cases open on at least one day of the span, in id order after
/// `after`, with their contact and request counts.
pub fn export_page(
    conn: &mut DbConn,
    span: Span,
    coverage: &Coverage,
    after: Option<&str>,
    limit: i64,
) -> AppResult<Vec<ExportCase>> {
    let mut query = covered!(
        cases::table
            .inner_join(patients::table)
            .inner_join(practices::table.on(practices::id.eq(cases::practice_id)))
            .filter(cases::referred_at.lt(span.end))
            .filter(
                cases::closed_at
                    .is_null()
                    .or(cases::closed_at.ge(span.start))
            )
            .select((
                (
                    cases::id,
                    cases::patient_id,
                    cases::practice_id,
                    cases::program,
                    cases::indications,
                    cases::substances,
                    cases::phase,
                ),
                (
                    cases::referred_at,
                    cases::assessed_at,
                    cases::closed_at,
                    cases::exit_reason,
                ),
                (
                    cases::baseline_phq9,
                    cases::baseline_gad7,
                    cases::latest_phq9,
                    cases::latest_gad7,
                ),
                (patients::sex, patients::birth_date, practices::region),
            ))
            .order(cases::id)
            .limit(limit)
            .into_boxed(),
        coverage
    );
    if let Some(after) = after {
        query = query.filter(cases::id.gt(after.to_owned()));
    }
    let rows: Vec<ExportTuple> = query.load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.0.0.as_str()).collect();
    let contact_counts: Vec<(String, ContactOutcome, i64)> = contacts::table
        .filter(contacts::case_id.eq_any(&ids))
        .group_by((contacts::case_id, contacts::outcome))
        .select((
            contacts::case_id,
            contacts::outcome,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let request_counts: Vec<(String, i64)> = tele_expertise_requests::table
        .filter(tele_expertise_requests::case_id.eq_any(&ids))
        .group_by(tele_expertise_requests::case_id)
        .select((tele_expertise_requests::case_id, diesel::dsl::count_star()))
        .load(conn)?;
    let mut counts: HashMap<&str, (u64, u64, u64)> = HashMap::with_capacity(ids.len());
    for (case_id, outcome, n) in &contact_counts {
        let entry = counts.entry(case_id.as_str()).or_default();
        let n = u64::try_from(*n).unwrap_or(0);
        if *outcome == ContactOutcome::Completed {
            entry.0 += n;
        } else {
            entry.1 += n;
        }
    }
    for (case_id, n) in &request_counts {
        counts.entry(case_id.as_str()).or_default().2 += u64::try_from(*n).unwrap_or(0);
    }
    rows.iter()
        .map(|(a, b, c, d)| {
            let (completed, unsuccessful, requests) =
                counts.get(a.0.as_str()).copied().unwrap_or_default();
            Ok(ExportCase {
                id: a.0.clone(),
                patient_id: a.1.clone(),
                practice_id: a.2.clone(),
                program: a.3.clone(),
                indications: a.4.clone(),
                substances: a.5.clone(),
                phase: a.6.clone(),
                referred_at: b.0,
                assessed_at: b.1,
                closed_at: b.2,
                exit_reason: b.3.clone(),
                baseline_phq9: total(Instrument::Phq9, c.0.as_deref())?,
                baseline_gad7: total(Instrument::Gad7, c.1.as_deref())?,
                latest_phq9: total(Instrument::Phq9, c.2.as_deref())?,
                latest_gad7: total(Instrument::Gad7, c.3.as_deref())?,
                sex: d.0.clone(),
                birth_date: d.1,
                region: d.2.clone(),
                completed_contacts: completed,
                unsuccessful_contacts: unsuccessful,
                tele_expertise_requests: requests,
            })
        })
        .collect()
}
