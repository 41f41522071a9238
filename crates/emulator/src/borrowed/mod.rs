//! TEMPORARY: copies taken from the product while the workspace was split. They are being
//! replaced by the emulator's own implementations (issue 10); nothing here may stay.

pub mod policy_xml;
pub mod regions;

/// The api-versions the emulator serves.
pub mod api_version {
    pub const RESOURCES: &str = "2021-04-01";
    pub const COGNITIVE_SERVICES: &str = "2024-10-01";
    pub const API_MANAGEMENT: &str = "2024-05-01";
    pub const AUTHORIZATION: &str = "2022-04-01";
    pub const MANAGED_IDENTITY: &str = "2023-01-31";
}

pub fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok() && s.len() == 36
}

pub fn resource_group(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

pub fn deleted_account(sub: &str, location: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{location}/resourceGroups/{rg}/deletedAccounts/{name}"
    )
}

pub fn role_assignment(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

/// (subscription, resource group, name) of a user-assigned identity id.
pub fn parse_user_assigned_identity(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() != 9 || !parts[0].is_empty() {
        return None;
    }
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if !(eq(parts[1], "subscriptions")
        && eq(parts[3], "resourceGroups")
        && eq(parts[5], "providers")
        && eq(parts[6], "Microsoft.ManagedIdentity")
        && eq(parts[7], "userAssignedIdentities"))
    {
        return None;
    }
    if !is_guid(parts[2]) || parts[4].is_empty() || parts[8].is_empty() {
        return None;
    }
    Some((parts[2], parts[4], parts[8]))
}
