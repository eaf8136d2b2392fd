//! Who may do what: the roles people and API keys carry, what each role may do, and which
//! leads each may see and change.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role, held by a user or an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, keys and integrations.
    Admin,
    /// Policies, forms, imports, models and analytics; reads every lead, works none.
    Marketing,
    /// Works and reassigns the leads of their team; sees the team's analytics.
    SalesManager,
    /// Works the leads of their team (their own first).
    SalesRep,
    /// Reads everything, changes nothing.
    Viewer,
}

/// Something a role may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read leads (within the role's scope), their timelines, scores and predictions.
    ReadLeads,
    /// Create leads and append events: the capture side.
    CaptureLeads,
    /// Sales work on a lead: move it, confirm BANT, log interactions, tasks, outcomes.
    WorkLeads,
    /// Assign and reassign leads, manage teams and reps, SLA settings.
    ManageTeams,
    /// Read the closed-loop analytics.
    ReadAnalytics,
    /// Apply policies and run backtests.
    EditPolicy,
    /// Web forms and their definitions.
    ManageForms,
    /// CSV imports, exports, dedupe and merge decisions.
    ManageData,
    /// Train and activate conversion models.
    ManageModels,
    /// Webhooks, email templates, sequences and the job queue.
    ManageIntegrations,
    /// Users and API keys.
    ManageUsers,
    /// GDPR export and erasure, consents.
    Privacy,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Marketing,
        Role::SalesManager,
        Role::SalesRep,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Marketing => "marketing",
            Role::SalesManager => "sales_manager",
            Role::SalesRep => "sales_rep",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role may do `what` (on leads, only within its scope).
    pub fn allows(self, what: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Marketing => matches!(
                what,
                ReadLeads
                    | CaptureLeads
                    | ReadAnalytics
                    | EditPolicy
                    | ManageForms
                    | ManageData
                    | ManageModels
                    | ManageIntegrations
            ),
            Role::SalesManager => matches!(
                what,
                ReadLeads | CaptureLeads | WorkLeads | ManageTeams | ReadAnalytics
            ),
            Role::SalesRep => matches!(what, ReadLeads | CaptureLeads | WorkLeads),
            Role::Viewer => matches!(what, ReadLeads | ReadAnalytics),
        }
    }

    /// Whether the role's reach over leads is one team's (sales) rather than all of them.
    pub fn is_team_bound(self) -> bool {
        matches!(self, Role::SalesManager | Role::SalesRep)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown role '{s}'; use admin, marketing, sales_manager, sales_rep or viewer"
                )
            })
    }
}

/// Which leads someone may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadScope {
    /// Every lead.
    All,
    /// Leads owned by a member of this team.
    Team(String),
    /// A sales manager's reach: the leads of their team, and the leads nobody owns yet (the
    /// queue they assign from; assigning one to their team makes it theirs).
    TeamAndUnowned(String),
    /// No lead at all: a sales role without a team.
    Nothing,
}

impl LeadScope {
    /// The scope of a role held with an optional team.
    pub fn of(role: Role, team: Option<&str>) -> Self {
        if !role.is_team_bound() {
            return LeadScope::All;
        }
        match team {
            Some(team) if !team.trim().is_empty() => {
                if role == Role::SalesManager {
                    LeadScope::TeamAndUnowned(team.to_owned())
                } else {
                    LeadScope::Team(team.to_owned())
                }
            }
            _ => LeadScope::Nothing,
        }
    }

    /// The team a team-bound scope is limited to.
    pub fn team(&self) -> Option<&str> {
        match self {
            LeadScope::Team(team) | LeadScope::TeamAndUnowned(team) => Some(team),
            LeadScope::All | LeadScope::Nothing => None,
        }
    }

    /// Whether a lead is within the scope: `owner` is its owner, `owner_team` the team that
    /// owner is a rep of (none when the owner is not a rep).
    pub fn covers_lead(&self, owner: Option<&str>, owner_team: Option<&str>) -> bool {
        match owner {
            None => matches!(self, LeadScope::All | LeadScope::TeamAndUnowned(_)),
            Some(_) => self.covers(owner_team),
        }
    }

    /// Whether a lead whose owner sits in `owner_team` is within the scope.
    pub fn covers(&self, owner_team: Option<&str>) -> bool {
        match self {
            LeadScope::All => true,
            LeadScope::Team(team) | LeadScope::TeamAndUnowned(team) => {
                owner_team == Some(team.as_str())
            }
            LeadScope::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_named() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "boss".parse::<Role>().unwrap_err();
        assert!(err.contains("'boss'"), "{err}");
    }

    #[test]
    fn only_sales_roles_work_leads_and_only_admins_manage_users() {
        let workers: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(Permission::WorkLeads))
            .collect();
        assert_eq!(
            workers,
            vec![Role::Admin, Role::SalesManager, Role::SalesRep]
        );
        let user_admins: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.allows(Permission::ManageUsers))
            .collect();
        assert_eq!(user_admins, vec![Role::Admin]);
        assert!(Role::Marketing.allows(Permission::EditPolicy));
        assert!(!Role::SalesManager.allows(Permission::EditPolicy));
        assert!(!Role::SalesRep.allows(Permission::ReadAnalytics));
        assert!(!Role::Viewer.allows(Permission::CaptureLeads));
    }

    #[test]
    fn sales_roles_see_their_team_only() {
        let rep = LeadScope::of(Role::SalesRep, Some("hcmc"));
        assert!(rep.covers(Some("hcmc")));
        assert!(!rep.covers(Some("tehran")));
        assert!(!rep.covers(None));
        assert_eq!(LeadScope::of(Role::SalesRep, None), LeadScope::Nothing);
        assert!(!LeadScope::Nothing.covers(Some("hcmc")));
        assert_eq!(LeadScope::of(Role::Viewer, Some("hcmc")), LeadScope::All);
        assert!(LeadScope::All.covers(None));
    }

    #[test]
    fn a_sales_manager_also_reaches_leads_nobody_owns() {
        let manager = LeadScope::of(Role::SalesManager, Some("hcmc"));
        assert_eq!(manager.team(), Some("hcmc"));
        assert!(manager.covers_lead(None, None));
        assert!(manager.covers_lead(Some("an"), Some("hcmc")));
        assert!(!manager.covers_lead(Some("bao"), Some("tehran")));
        // An owner who is no rep is somebody's lead, not the unowned queue.
        assert!(!manager.covers_lead(Some("ghost"), None));
        let rep = LeadScope::of(Role::SalesRep, Some("hcmc"));
        assert!(!rep.covers_lead(None, None));
        assert!(!LeadScope::of(Role::SalesManager, None).covers_lead(None, None));
    }
}
