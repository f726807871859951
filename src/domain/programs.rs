//! The programs a practice runs (PATHWAY.md §7; the CNRMS deck, seeds/002): each over a period,
//! under a funding scheme. A referral must be into a program its practice runs on the referral
//! day; a practice running both microstructure strands is "polyvalente".

use chrono::NaiveDate;

use super::case::{Program, RuleError, broken};

vocabulary!(
    /// What pays for a practice's program.
    Funding {
        /// Sésame's derogatory funding under Article 51 (Île-de-France, from 2023; seeds/003).
        SesameArticle51 => "sesame_article51",
        /// *Equip'Addict*, the addiction microstructures' Article 51 experiment carried by the
        /// ARS (5 regions), which ended on 2023-12-31 (seeds/002).
        EquipAddict => "equip_addict",
        /// *Microstructures post-Covid / santé mentale*, carried by the CNRMS (6 regions), which
        /// ended on 2024-01-31 (seeds/002).
        MicrostructuresSanteMentale => "microstructures_sante_mentale",
        /// A permanent scheme (common law funding, after the experiments).
        Permanent => "permanent",
        /// Anything else (a local grant, a pilot).
        Other => "other",
    }
);

impl Funding {
    /// The last day of an experiment that has ended.
    pub fn ended_on(self) -> Option<NaiveDate> {
        match self {
            Funding::EquipAddict => NaiveDate::from_ymd_opt(2023, 12, 31),
            Funding::MicrostructuresSanteMentale => NaiveDate::from_ymd_opt(2024, 1, 31),
            _ => None,
        }
    }

    /// The one program an experiment funded, if it is specific to one.
    pub fn program(self) -> Option<Program> {
        match self {
            Funding::SesameArticle51 => Some(Program::Sesame),
            Funding::EquipAddict => Some(Program::MicrostructureAddiction),
            Funding::MicrostructuresSanteMentale => Some(Program::MicrostructureMentalHealth),
            Funding::Permanent | Funding::Other => None,
        }
    }
}

/// A program a practice runs from `starts_on` to `ends_on` (both included; open-ended if none),
/// and what funds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramPeriod {
    pub program: Program,
    pub starts_on: NaiveDate,
    /// The last day (included); none while it runs on. An experiment's period ends by the day it
    /// ended (`equip_addict` 2023-12-31, `microstructures_sante_mentale` 2024-01-31).
    pub ends_on: Option<NaiveDate>,
    pub funding: Funding,
}

impl ProgramPeriod {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && self.ends_on.is_none_or(|end| day <= end)
    }

    fn overlaps(&self, other: &ProgramPeriod) -> bool {
        self.program == other.program
            && self.ends_on.is_none_or(|end| other.starts_on <= end)
            && other.ends_on.is_none_or(|end| self.starts_on <= end)
    }
}

/// The most periods a practice records (a practice runs three programs; a few changes of
/// funding each).
pub const MAX_PERIODS: usize = 30;

/// A practice's periods, as given (`programs[i]` names the one at fault): each ends on or after
/// it starts, an experiment funds only its own program and not after it ended, and the periods
/// of one program do not overlap.
pub fn check_periods(periods: &[ProgramPeriod]) -> Result<(), RuleError> {
    if periods.len() > MAX_PERIODS {
        return Err(broken("programs", format!("at most {MAX_PERIODS} periods")));
    }
    for (i, p) in periods.iter().enumerate() {
        let at = |field: &str| format!("programs[{i}].{field}");
        if p.ends_on.is_some_and(|end| end < p.starts_on) {
            return Err(named(at("ends_on"), "cannot be before starts_on"));
        }
        if let Some(funded) = p.funding.program()
            && funded != p.program
        {
            return Err(named(
                at("funding"),
                format!(
                    "{} funds the {} program only",
                    p.funding.as_str(),
                    funded.as_str()
                ),
            ));
        }
        if let Some(ended) = p.funding.ended_on()
            && p.ends_on.is_none_or(|end| end > ended)
        {
            return Err(named(
                at("ends_on"),
                format!(
                    "the {} experiment ended on {ended}: the period must end by then",
                    p.funding.as_str()
                ),
            ));
        }
        if let Some(j) = periods[..i].iter().position(|q| q.overlaps(p)) {
            return Err(named(
                at("starts_on"),
                format!("overlaps programs[{j}]: the periods of one program cannot overlap"),
            ));
        }
    }
    Ok(())
}

/// A rule broken at an indexed field (`programs[2].ends_on`).
fn named(field: String, message: impl Into<String>) -> RuleError {
    RuleError {
        field: field.into(),
        message: message.into(),
    }
}

/// The programs run on `day`, each once, in vocabulary order.
pub fn running_on(periods: &[ProgramPeriod], day: NaiveDate) -> Vec<Program> {
    Program::ALL
        .iter()
        .copied()
        .filter(|&program| {
            periods
                .iter()
                .any(|p| p.program == program && p.covers(day))
        })
        .collect()
}

/// A referral into `program` on `day`: the practice must run it then (422 on `program`).
pub fn check_runs(
    periods: &[ProgramPeriod],
    program: Program,
    day: NaiveDate,
) -> Result<(), RuleError> {
    let running = running_on(periods, day);
    if running.contains(&program) {
        return Ok(());
    }
    let names: Vec<&str> = running.iter().map(|p| p.as_str()).collect();
    Err(broken(
        "program",
        format!(
            "the practice does not run the {} program on {day}; it runs {}",
            program.as_str(),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// A practice running both microstructure strands on `day` is "polyvalente".
pub fn polyvalente(periods: &[ProgramPeriod], day: NaiveDate) -> bool {
    let running = running_on(periods, day);
    running.contains(&Program::MicrostructureAddiction)
        && running.contains(&Program::MicrostructureMentalHealth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn period(program: Program, from: &str, to: Option<&str>, funding: Funding) -> ProgramPeriod {
        ProgramPeriod {
            program,
            starts_on: d(from),
            ends_on: to.map(d),
            funding,
        }
    }

    #[test]
    fn json_words_are_stored_words() {
        assert!(crate::domain::words_agree(Funding::ALL, Funding::as_str));
    }

    #[test]
    fn a_period_covers_its_days_both_ends_included() {
        let p = period(
            Program::Sesame,
            "2024-01-01",
            Some("2024-12-31"),
            Funding::Permanent,
        );
        assert!(!p.covers(d("2023-12-31")));
        assert!(p.covers(d("2024-01-01")));
        assert!(p.covers(d("2024-12-31")));
        assert!(!p.covers(d("2025-01-01")));
        let open = period(Program::Sesame, "2024-01-01", None, Funding::Permanent);
        assert!(open.covers(d("2099-01-01")));
    }

    #[test]
    fn the_experiments_fund_their_own_program_until_they_ended() {
        use Program::*;
        let equip = |to| {
            period(
                MicrostructureAddiction,
                "2021-01-01",
                to,
                Funding::EquipAddict,
            )
        };
        assert!(check_periods(&[equip(Some("2023-12-31"))]).is_ok());
        let late = check_periods(&[equip(Some("2024-01-01"))]).unwrap_err();
        assert_eq!(late.field, "programs[0].ends_on");
        assert_eq!(
            late.message,
            "the equip_addict experiment ended on 2023-12-31: the period must end by then"
        );
        assert_eq!(
            check_periods(&[equip(None)]).unwrap_err().field,
            "programs[0].ends_on"
        );
        let mental = period(
            MicrostructureMentalHealth,
            "2021-02-01",
            Some("2024-01-31"),
            Funding::MicrostructuresSanteMentale,
        );
        assert!(check_periods(&[mental]).is_ok());
        let wrong = period(
            Sesame,
            "2021-01-01",
            Some("2023-01-01"),
            Funding::EquipAddict,
        );
        let err = check_periods(&[wrong]).unwrap_err();
        assert_eq!(
            (err.field.as_ref(), err.message.as_str()),
            (
                "programs[0].funding",
                "equip_addict funds the microstructure_addiction program only"
            )
        );
        assert!(
            check_periods(&[period(Sesame, "2023-10-10", None, Funding::SesameArticle51)]).is_ok()
        );
    }

    #[test]
    fn periods_of_one_program_do_not_overlap_and_end_after_they_start() {
        use Program::*;
        let experiment = period(
            MicrostructureAddiction,
            "2021-01-01",
            Some("2023-12-31"),
            Funding::EquipAddict,
        );
        let after = period(
            MicrostructureAddiction,
            "2024-01-01",
            None,
            Funding::Permanent,
        );
        let overlapping = period(
            MicrostructureAddiction,
            "2023-12-31",
            None,
            Funding::Permanent,
        );
        let other_program = period(Sesame, "2020-01-01", None, Funding::Permanent);
        assert!(check_periods(&[experiment.clone(), after, other_program.clone()]).is_ok());
        let err = check_periods(&[other_program, experiment, overlapping]).unwrap_err();
        assert_eq!(err.field, "programs[2].starts_on");
        assert_eq!(
            err.message,
            "overlaps programs[1]: the periods of one program cannot overlap"
        );
        let reversed = period(Sesame, "2024-01-02", Some("2024-01-01"), Funding::Other);
        assert_eq!(
            check_periods(&[reversed]).unwrap_err().field,
            "programs[0].ends_on"
        );
        let many = vec![period(Sesame, "2024-01-01", Some("2024-01-01"), Funding::Other); 31];
        assert_eq!(check_periods(&many).unwrap_err().field, "programs");
    }

    #[test]
    fn a_referral_is_into_a_program_run_on_its_day() {
        use Program::*;
        let periods = [
            period(
                MicrostructureAddiction,
                "2021-01-01",
                Some("2023-12-31"),
                Funding::EquipAddict,
            ),
            period(
                MicrostructureAddiction,
                "2024-01-01",
                None,
                Funding::Permanent,
            ),
            period(
                MicrostructureMentalHealth,
                "2021-06-01",
                Some("2024-01-31"),
                Funding::MicrostructuresSanteMentale,
            ),
        ];
        assert!(check_runs(&periods, MicrostructureAddiction, d("2023-12-31")).is_ok());
        assert!(check_runs(&periods, MicrostructureAddiction, d("2026-12-02")).is_ok());
        assert!(check_runs(&periods, MicrostructureMentalHealth, d("2024-01-31")).is_ok());
        let err = check_runs(&periods, MicrostructureMentalHealth, d("2024-02-01")).unwrap_err();
        assert_eq!(
            (err.field.as_ref(), err.message.as_str()),
            (
                "program",
                "the practice does not run the microstructure_mental_health program on \
                 2024-02-01; it runs microstructure_addiction"
            )
        );
        let err = check_runs(&periods, Sesame, d("2020-01-01")).unwrap_err();
        assert!(err.message.ends_with("it runs none"), "{}", err.message);
        assert!(polyvalente(&periods, d("2023-06-01")));
        assert!(!polyvalente(&periods, d("2024-06-01")));
        assert!(!polyvalente(&periods, d("2020-06-01")));
        assert_eq!(
            running_on(&periods, d("2023-06-01")),
            vec![MicrostructureAddiction, MicrostructureMentalHealth]
        );
    }
}
