//! ARM resource ids the emulator builds or reads outside its path parser (`address`):
//! the ids of a resource group, a soft-deleted account and a role assignment, GUIDs and
//! user-assigned identity ids. Shapes from the ARM REST reference of each type
//! (learn.microsoft.com/rest/api: "Resource Groups - Get", "Deleted Accounts - Get",
//! "Role Assignments - Create", "User Assigned Identities - Get").

use uuid::Uuid;

/// A GUID in the form ARM writes and expects in ids: 36 characters, 8-4-4-4-12 hex
/// digits (no braces, no `urn:uuid:`, no bare 32 digits). Role assignment names must be
/// such GUIDs ("The role assignment ID '...' is not valid", `InvalidRoleAssignmentId`).
pub fn is_guid(s: &str) -> bool {
    let hyphens_in_place = s.len() == 36
        && s.char_indices()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
    hyphens_in_place && Uuid::try_parse(s).is_ok()
}

/// `/subscriptions/{s}/resourceGroups/{rg}`.
pub fn resource_group(subscription: &str, group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{group}")
}

/// A soft-deleted account: `/subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{l}/resourceGroups/{rg}/deletedAccounts/{name}`
/// (the id "Deleted Accounts - List" returns and "Deleted Accounts - Purge" takes).
pub fn deleted_account(subscription: &str, location: &str, group: &str, name: &str) -> String {
    format!(
        "/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/{location}/resourceGroups/{group}/deletedAccounts/{name}"
    )
}

/// A role assignment at `scope`: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
pub fn role_assignment(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

/// A user-assigned identity id, split: `(subscription, resource group, name)`.
/// `/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}`,
/// keywords compared without case as ARM does.
pub fn parse_user_assigned_identity(id: &str) -> Option<(&str, &str, &str)> {
    let rest = id.strip_prefix('/')?;
    let segments: Vec<&str> = rest.split('/').collect();
    let [subs, sub, groups, group, providers, namespace, kind, name] = segments.as_slice() else {
        return None;
    };
    let keywords = [
        (subs, "subscriptions"),
        (groups, "resourceGroups"),
        (providers, "providers"),
        (namespace, "Microsoft.ManagedIdentity"),
        (kind, "userAssignedIdentities"),
    ];
    let keywords_ok = keywords.iter().all(|(s, k)| s.eq_ignore_ascii_case(k));
    (keywords_ok && is_guid(sub) && !group.is_empty() && !name.is_empty())
        .then_some((*sub, *group, *name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(is_guid("1A2b3C4d-0000-4000-8000-00000000000F"));
        assert!(!is_guid("1a2b3c4d00004000800000000000000f"));
        assert!(!is_guid("{1a2b3c4d-0000-4000-8000-00000000000f}"));
        assert!(!is_guid("1a2b3c4d-0000-4000-8000-00000000000g"));
        assert!(!is_guid("1a2b3c4d-00004-000-8000-00000000000f"));
        assert!(!is_guid(""));
    }

    #[test]
    fn user_assigned_identities() {
        let sub = "00000000-0000-0000-0000-000000000000";
        let id = format!(
            "/subscriptions/{sub}/resourcegroups/rg/providers/microsoft.managedidentity/userAssignedIdentities/id1"
        );
        assert_eq!(parse_user_assigned_identity(&id), Some((sub, "rg", "id1")));
        assert_eq!(parse_user_assigned_identity(&format!("{id}/")), None);
        assert_eq!(
            parse_user_assigned_identity(&id.replace("userAssignedIdentities", "things")),
            None
        );
        assert_eq!(parse_user_assigned_identity(&id.replace(sub, "sub")), None);
        assert_eq!(parse_user_assigned_identity(&id[1..]), None);
    }

    #[test]
    fn ids() {
        assert_eq!(
            resource_group("s", "rg"),
            "/subscriptions/s/resourceGroups/rg"
        );
        assert_eq!(
            role_assignment("/subscriptions/s", "n"),
            "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/n"
        );
        assert!(
            deleted_account("s", "westus", "rg", "a")
                .ends_with("/locations/westus/resourceGroups/rg/deletedAccounts/a")
        );
    }
}
