//! What each API route needs: the permission a key's role must hold, and for sales keys
//! (bound to a team) which routes they may reach and which lead a route touches.

use axum::http::Method;

use super::error::ApiError;
use leadgate_core::access::Permission;

/// The permission a request under `/api/v1` needs (`path` without the prefix). Routes not
/// named here need the admin's user management, so a new route is closed until listed.
pub fn permission(method: &Method, path: &str) -> Permission {
    use Permission::*;
    let read = *method == Method::GET;
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["leads"] => {
            if read {
                ReadLeads
            } else {
                CaptureLeads
            }
        }
        ["leads", "export"] => ManageData,
        ["leads", _] => {
            if read {
                ReadLeads
            } else {
                CaptureLeads
            }
        }
        ["leads", _, "timeline" | "score" | "prediction" | "clocks"] => ReadLeads,
        ["leads", _, "transitions" | "bant" | "tasks" | "interactions"] => WorkLeads,
        ["leads", _, "junk"] => CaptureLeads,
        ["leads", _, "emails"] => WorkLeads,
        ["leads", _, "assign"] => ManageTeams,
        ["leads", _, "consents"] => {
            if read {
                ReadLeads
            } else {
                Privacy
            }
        }
        ["events"] => CaptureLeads,
        ["tasks"] | ["tasks", _] | ["notifications"] => ReadLeads,
        ["tasks", _, _] | ["notifications", _, "read"] => WorkLeads,
        ["imports", ..] | ["dedupe"] | ["merges", ..] => ManageData,
        // What the sources cost: read with the analytics, recorded by who manages data.
        ["spend", ..] if read => ReadAnalytics,
        ["spend", ..] => ManageData,
        ["forms", ..] | ["trackers", ..] => {
            if read {
                ReadLeads
            } else {
                ManageForms
            }
        }
        ["policies"] | ["policies", _, _] if read => ReadLeads,
        ["policies", ..] => EditPolicy,
        ["models", ..] => {
            if read {
                ReadLeads
            } else {
                ManageModels
            }
        }
        ["teams", ..] | ["reps", ..] | ["sla", "clocks"] => {
            if read {
                ReadLeads
            } else {
                ManageTeams
            }
        }
        ["sla", "compliance"] => ReadAnalytics,
        ["webhooks", ..]
        | ["email-templates", ..]
        | ["emails", ..]
        | ["jobs", ..]
        | ["inbound", ..] => ManageIntegrations,
        ["gdpr", _] => Privacy,
        _ => ManageUsers,
    }
}

/// The lead a route is about (`/leads/{id}` and below), for team checks.
pub fn lead_in_path(path: &str) -> Option<&str> {
    let mut parts = path.trim_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some("leads"), Some(id)) if id != "export" => Some(id),
        _ => None,
    }
}

/// A path segment as axum's `Path` extractor hands it to a handler: percent-decoded UTF-8.
pub fn decode_segment(segment: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::NotFound(format!("no lead has id '{segment}'")))
}

/// Whether a team-bound (sales) key may use a route at all: the leads (checked one by one,
/// lists narrowed to the team) and its follow-up. Collections across teams are closed.
pub fn team_key_may_reach(path: &str) -> bool {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(
        parts.as_slice(),
        ["leads", ..] | ["notifications"] | ["notifications", _, "read"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadgate_core::access::Role;

    #[test]
    fn sales_work_leads_marketing_shapes_them_viewers_only_read() {
        let post = Method::POST;
        let get = Method::GET;
        let put = Method::PUT;
        let cases = [
            (&get, "/leads", [true, true, true, true, true]),
            (
                &post,
                "/leads/4/transitions",
                [true, false, true, true, false],
            ),
            (&post, "/policies", [true, true, false, false, false]),
            (&get, "/policies", [true, true, true, true, true]),
            (&post, "/imports", [true, true, false, false, false]),
            (&post, "/leads/4/assign", [true, false, true, false, false]),
            (&post, "/webhooks", [true, true, false, false, false]),
            (&post, "/inbound/email", [true, true, false, false, false]),
            (&post, "/trackers", [true, true, false, false, false]),
            (&get, "/spend/returns", [true, true, true, false, true]),
            (&put, "/spend", [true, true, false, false, false]),
            (&get, "/trackers", [true, true, true, true, true]),
            (&post, "/gdpr/erase", [true, false, false, false, false]),
            (&get, "/sla/compliance", [true, true, true, false, true]),
            (&get, "/something-new", [true, false, false, false, false]),
        ];
        for (method, path, allowed) in cases {
            for (role, want) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(
                    role.allows(permission(method, path)),
                    want,
                    "{role} {method} {path}"
                );
            }
        }
    }

    #[test]
    fn team_keys_reach_their_leads_only() {
        assert_eq!(lead_in_path("/leads/12/score"), Some("12"));
        assert_eq!(lead_in_path("/leads"), None);
        assert_eq!(lead_in_path("/leads/export"), None);
        assert!(team_key_may_reach("/leads"));
        assert!(team_key_may_reach("/leads/12/transitions"));
        assert!(!team_key_may_reach("/tasks"));
        assert!(!team_key_may_reach("/sla/clocks"));
    }
}
