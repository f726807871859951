//! Who may do what, decided in one place. Each endpoint names its `Action`; the answer is either a
//! refusal (403) or the `Scope` of practices the caller may touch, which queries then apply (an
//! object outside the scope answers 404, so existence does not leak).

use super::account::{Locale, Role};
use super::tokens::SubjectKind;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub kind: SubjectKind,
    /// `None` for an API client (a machine account of one practice).
    pub role: Option<Role>,
    pub practice_ids: Vec<String>,
    pub locale: Locale,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read practices (list, one).
    ReadPractices,
    /// Create, update, deactivate practices.
    ManagePractices,
    /// Read user accounts.
    ReadUsers,
    /// Create, update, deactivate, unlock user accounts.
    ManageUsers,
    /// Create, read, update, deactivate API clients.
    ManageApiClients,
    /// Read patients' identity and consent.
    ReadPatients,
    /// Register and change patients.
    WritePatients,
    /// Refer a patient into a program (creates the case with its screening).
    Refer,
    /// Read cases, their contacts and timeline.
    ReadCases,
    /// Record the initial assessment, log contacts, move a case between phases (of the cases of
    /// a program the role cares for).
    CareForCase,
    /// Ask for (or clear) a psychiatric review of a case.
    FlagReview,
    /// Reassign a case's nurse or referring psychiatrist.
    ReassignCase,
    /// Read the audit log.
    ReadAudit,
    /// Read one's own worklist (a nurse's caseload, a psychiatrist's cases, a GP's referrals, the
    /// microstructure cases a psychologist or social worker follows).
    ReadWorklist,
    /// Read the email queue and retry failed messages.
    ManageOutbox,
    /// Ask a psychiatrist a question about a case.
    RequestTeleExpertise,
    /// Read tele-expertise requests (one's own, or of one's practices' cases).
    ReadTeleExpertise,
    /// Accept, decline and answer the requests addressed to one.
    AnswerTeleExpertise,
    /// Read the program indicators (aggregates, small cells suppressed across practices).
    ReadReports,
    /// Export pseudonymised case rows for research.
    ExportResearch,
    /// Record a practice's case review meeting, and read the agenda proposed for the next one.
    HoldMeetings,
    /// Read a practice's meetings: when, who took part, how many cases were discussed.
    ReadMeetings,
    /// Read what a meeting decided, case by case (the cases, the notes, the plans).
    ReadMeetingDecisions,
}

impl Action {
    pub const ALL: [Action; 23] = [
        Action::ReadPractices,
        Action::ManagePractices,
        Action::ReadUsers,
        Action::ManageUsers,
        Action::ManageApiClients,
        Action::ReadPatients,
        Action::WritePatients,
        Action::Refer,
        Action::ReadCases,
        Action::CareForCase,
        Action::FlagReview,
        Action::ReassignCase,
        Action::ReadAudit,
        Action::ReadWorklist,
        Action::ManageOutbox,
        Action::RequestTeleExpertise,
        Action::ReadTeleExpertise,
        Action::AnswerTeleExpertise,
        Action::ReadReports,
        Action::ExportResearch,
        Action::HoldMeetings,
        Action::ReadMeetings,
        Action::ReadMeetingDecisions,
    ];
}

/// The practices an allowed action reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Practices(Vec<String>),
}

impl Scope {
    pub fn covers(&self, practice_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Practices(ids) => ids.iter().any(|id| id == practice_id),
        }
    }

    /// For an object in several practices (a user): reached if any one is in scope.
    pub fn covers_any<'a>(&self, mut practice_ids: impl Iterator<Item = &'a str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Practices(_) => practice_ids.any(|id| self.covers(id)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("your role may not do this")]
pub struct Denied;

/// `None` in a list of roles stands for an API client (a machine account of one practice).
const API_CLIENT: Option<Role> = None;
const CLINICIANS: [Option<Role>; 5] = [
    Some(Role::Gp),
    Some(Role::Nurse),
    Some(Role::Psychiatrist),
    Some(Role::Psychologist),
    Some(Role::SocialWorker),
];

pub fn authorize(actor: &Actor, action: Action) -> Result<Scope, Denied> {
    use Action::*;
    let role = actor.role;
    let admin = role == Some(Role::Admin);
    let own = Scope::Practices(actor.practice_ids.clone());
    let one_of = |roles: &[Option<Role>]| {
        if roles.contains(&role) {
            Ok(own.clone())
        } else {
            Err(Denied)
        }
    };
    match action {
        ReadPractices if admin => Ok(Scope::All),
        ReadPractices => Ok(own),
        ManagePractices | ManageUsers | ManageApiClients | ReadAudit | ManageOutbox if admin => {
            Ok(Scope::All)
        }
        ManagePractices | ManageUsers | ManageApiClients | ReadAudit | ManageOutbox => Err(Denied),
        ReadUsers if admin => Ok(Scope::All),
        ReadUsers => one_of(&[Some(Role::Coordinator)]),
        // Clinical data: the care team of the practice, and its software. Admins and coordinators
        // manage accounts and read aggregates, not patients.
        ReadPatients | ReadCases => {
            let mut readers = CLINICIANS.to_vec();
            readers.push(API_CLIENT);
            one_of(&readers)
        }
        WritePatients | Refer => one_of(&[Some(Role::Gp), API_CLIENT]),
        // Of each case, the program's carers only (`domain::microstructure::cares_for`): the
        // nurse for Sésame, the GP, psychologist and social worker for the microstructures.
        CareForCase => one_of(&[
            Some(Role::Nurse),
            Some(Role::Gp),
            Some(Role::Psychologist),
            Some(Role::SocialWorker),
        ]),
        FlagReview => one_of(&[
            Some(Role::Nurse),
            Some(Role::Psychiatrist),
            Some(Role::Psychologist),
            Some(Role::SocialWorker),
        ]),
        ReassignCase => one_of(&[Some(Role::Gp), Some(Role::Nurse)]),
        ReadWorklist => one_of(&CLINICIANS),
        ReadTeleExpertise => one_of(&[Some(Role::Gp), Some(Role::Nurse), Some(Role::Psychiatrist)]),
        RequestTeleExpertise => one_of(&[Some(Role::Gp), Some(Role::Nurse)]),
        AnswerTeleExpertise => one_of(&[Some(Role::Psychiatrist)]),
        // Aggregates and pseudonymised rows: the program's coordination, not the care team.
        ReadReports | ExportResearch if admin => Ok(Scope::All),
        ReadReports | ExportResearch => one_of(&[Some(Role::Coordinator)]),
        // The team meeting is the care team's; its software reads what was decided, as it reads
        // the cases. Coordination sees that a team met (when, who, how many cases), not what it
        // said about whom.
        HoldMeetings => one_of(&CLINICIANS),
        ReadMeetingDecisions => {
            let mut readers = CLINICIANS.to_vec();
            readers.push(API_CLIENT);
            one_of(&readers)
        }
        ReadMeetings if admin => Ok(Scope::All),
        ReadMeetings => {
            let mut readers = CLINICIANS.to_vec();
            readers.extend([API_CLIENT, Some(Role::Coordinator)]);
            one_of(&readers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Option<Role>) -> Actor {
        Actor {
            id: "a".into(),
            kind: if role.is_some() {
                SubjectKind::User
            } else {
                SubjectKind::ApiClient
            },
            role,
            practice_ids: vec!["p1".into()],
            locale: Locale::Fr,
        }
    }

    /// Every role (and the machine account, `None`) against every action, from a written-out table.
    #[test]
    fn the_whole_matrix() {
        use Action::*;
        let actions = [
            ReadPractices,
            ManagePractices,
            ReadUsers,
            ManageUsers,
            ManageApiClients,
            ReadPatients,
            WritePatients,
            Refer,
            ReadCases,
            CareForCase,
            FlagReview,
            ReassignCase,
            ReadAudit,
            ReadWorklist,
            ManageOutbox,
            RequestTeleExpertise,
            ReadTeleExpertise,
            AnswerTeleExpertise,
            ReadReports,
            ExportResearch,
        ];
        // 'A' all practices, 'O' own practices, '-' refused; columns in the order of `actions`.
        let table: [(Option<Role>, &str); 8] = [
            (Some(Role::Admin), "AAAAA-------A-A---AA"),
            (Some(Role::Coordinator), "O-O---------------OO"),
            (Some(Role::Gp), "O----OOOOO-O-O-OO---"),
            (Some(Role::Nurse), "O----O--OOOO-O-OO---"),
            (Some(Role::Psychiatrist), "O----O--O-O--O--OO--"),
            (Some(Role::Psychologist), "O----O--OOO--O------"),
            (Some(Role::SocialWorker), "O----O--OOO--O------"),
            (None, "O----OOOO-----------"),
        ];
        // The case review meeting: holding it (and its agenda), reading that it took place,
        // reading what it decided; columns in the order of `meeting_actions`.
        let meeting_actions = [HoldMeetings, ReadMeetings, ReadMeetingDecisions];
        let meeting_table: [(Option<Role>, &str); 8] = [
            (Some(Role::Admin), "-A-"),
            (Some(Role::Coordinator), "-O-"),
            (Some(Role::Gp), "OOO"),
            (Some(Role::Nurse), "OOO"),
            (Some(Role::Psychiatrist), "OOO"),
            (Some(Role::Psychologist), "OOO"),
            (Some(Role::SocialWorker), "OOO"),
            (None, "-OO"),
        ];
        assert_eq!(actions.len() + meeting_actions.len(), Action::ALL.len());
        let rows = (table.iter().map(|&(role, row)| (role, &actions[..], row))).chain(
            meeting_table
                .iter()
                .map(|&(role, row)| (role, &meeting_actions[..], row)),
        );
        for (role, actions, row) in rows {
            assert_eq!(row.len(), actions.len());
            for (&action, cell) in actions.iter().zip(row.chars()) {
                let want = match cell {
                    'A' => Ok(Scope::All),
                    'O' => Ok(Scope::Practices(vec!["p1".into()])),
                    _ => Err(Denied),
                };
                assert_eq!(authorize(&actor(role), action), want, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn scopes_cover_their_practices_only() {
        let scope = Scope::Practices(vec!["p1".into(), "p2".into()]);
        assert!(scope.covers("p2"));
        assert!(!scope.covers("p3"));
        assert!(scope.covers_any(["p3", "p1"].into_iter()));
        assert!(!scope.covers_any(["p3"].into_iter()));
        assert!(Scope::All.covers("anything"));
    }
}
