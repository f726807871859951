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
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::ReadPractices,
        Action::ManagePractices,
        Action::ReadUsers,
        Action::ManageUsers,
        Action::ManageApiClients,
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

pub fn authorize(actor: &Actor, action: Action) -> Result<Scope, Denied> {
    let own = || Scope::Practices(actor.practice_ids.clone());
    match (actor.role, action) {
        (Some(Role::Admin), _) => Ok(Scope::All),
        (_, Action::ReadPractices) => Ok(own()),
        (Some(Role::Coordinator), Action::ReadUsers) => Ok(own()),
        _ => Err(Denied),
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
        // (role, read practices, manage practices, read users, manage users, manage API clients)
        // 'A' all practices, 'O' own practices, '-' refused.
        let table: [(Option<Role>, [char; 5]); 8] = [
            (Some(Role::Admin), ['A', 'A', 'A', 'A', 'A']),
            (Some(Role::Coordinator), ['O', '-', 'O', '-', '-']),
            (Some(Role::Gp), ['O', '-', '-', '-', '-']),
            (Some(Role::Nurse), ['O', '-', '-', '-', '-']),
            (Some(Role::Psychiatrist), ['O', '-', '-', '-', '-']),
            (Some(Role::Psychologist), ['O', '-', '-', '-', '-']),
            (Some(Role::SocialWorker), ['O', '-', '-', '-', '-']),
            (None, ['O', '-', '-', '-', '-']),
        ];
        let actions = [
            ReadPractices,
            ManagePractices,
            ReadUsers,
            ManageUsers,
            ManageApiClients,
        ];
        assert_eq!(actions.len(), Action::ALL.len());
        for (role, row) in table {
            for (action, cell) in actions.into_iter().zip(row) {
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
