//! ARM resource ids and api-versions for everything aoai-lb touches.
//!
//! One place builds ids, so the desired state, the engine and the emulator agree on
//! them to the character.

/// api-version per resource provider (see `docs/arm-notes.md` for why each).
pub mod api_version {
    pub const RESOURCES: &str = "2021-04-01";
    pub const COGNITIVE_SERVICES: &str = "2024-10-01";
    pub const API_MANAGEMENT: &str = "2024-05-01";
    pub const AUTHORIZATION: &str = "2022-04-01";
    pub const MANAGED_IDENTITY: &str = "2023-01-31";
    /// Microsoft.Insights/components: created with `apim.appInsights.name`, and read at
    /// apply for the logger's connection string.
    pub const INSIGHTS: &str = "2020-02-02";
    /// Microsoft.OperationalInsights/workspaces: read by `doctor` for the workspace a
    /// created component stores its telemetry in.
    pub const LOG_ANALYTICS: &str = "2025-07-01";
}

/// Built-in role "Cognitive Services OpenAI User".
pub const ROLE_OPENAI_USER: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";

/// The audience APIM asks a token for when it calls Azure OpenAI.
pub const COGNITIVE_SERVICES_RESOURCE: &str = "https://cognitiveservices.azure.com";

pub fn subscription(sub: &str) -> String {
    format!("/subscriptions/{sub}")
}

pub fn resource_group(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

pub fn account(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.CognitiveServices/accounts/{name}",
        resource_group(sub, rg)
    )
}

pub fn deployment(account_id: &str, name: &str) -> String {
    format!("{account_id}/deployments/{name}")
}

/// A soft-deleted account (purge with DELETE).
pub fn deleted_account(sub: &str, location: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/{location}/resourceGroups/{rg}/deletedAccounts/{name}"
    )
}

pub fn apim_service(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.ApiManagement/service/{name}",
        resource_group(sub, rg)
    )
}

pub fn apim_backend(service_id: &str, name: &str) -> String {
    format!("{service_id}/backends/{name}")
}

pub fn apim_api(service_id: &str, name: &str) -> String {
    format!("{service_id}/apis/{name}")
}

pub fn apim_api_policy(api_id: &str) -> String {
    format!("{api_id}/policies/policy")
}

pub fn apim_subscription(service_id: &str, name: &str) -> String {
    format!("{service_id}/subscriptions/{name}")
}

pub fn apim_logger(service_id: &str, name: &str) -> String {
    format!("{service_id}/loggers/{name}")
}

pub fn apim_api_diagnostic(api_id: &str, name: &str) -> String {
    format!("{api_id}/diagnostics/{name}")
}

pub fn role_definition(sub: &str, role: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}")
}

pub fn role_assignment(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

/// Namespace of aoai-lb's UUID v5 names. Fixed forever: changing it renames every
/// role assignment the tool ever made.
const NAME_NAMESPACE: uuid::Uuid = uuid::uuid!("6f1c3f0e-4a55-5c7b-9d0e-a0a1b2c3d4e5");

/// The deterministic name of a role assignment: UUID v5 of scope, role and principal
/// (lower-cased, since ARM ids compare case-insensitively), so a re-apply PUTs the
/// same name and is a no-op.
pub fn role_assignment_name(scope: &str, role_definition_id: &str, principal_id: &str) -> String {
    let key = format!("{scope}|{role_definition_id}|{principal_id}").to_lowercase();
    uuid::Uuid::new_v5(&NAME_NAMESPACE, key.as_bytes()).to_string()
}

/// The shape of a user-assigned identity id, checked before any call.
/// Returns (subscription, resource group, name).
pub fn parse_user_assigned_identity(id: &str) -> Option<(&str, &str, &str)> {
    parse_group_resource(id, "Microsoft.ManagedIdentity", "userAssignedIdentities")
}

/// The shape of an Application Insights component id, checked before any call.
/// Returns (subscription, resource group, name).
pub fn parse_insights_component(id: &str) -> Option<(&str, &str, &str)> {
    parse_group_resource(id, "Microsoft.Insights", "components")
}

/// The shape of a Log Analytics workspace id, checked before any call.
/// Returns (subscription, resource group, name).
pub fn parse_log_analytics_workspace(id: &str) -> Option<(&str, &str, &str)> {
    parse_group_resource(id, "Microsoft.OperationalInsights", "workspaces")
}

/// An Application Insights component.
pub fn insights_component(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.Insights/components/{name}",
        resource_group(sub, rg)
    )
}

/// `/subscriptions/{guid}/resourceGroups/{rg}/providers/{provider}/{kind}/{name}`.
fn parse_group_resource<'a>(
    id: &'a str,
    provider: &str,
    kind: &str,
) -> Option<(&'a str, &'a str, &'a str)> {
    let parts: Vec<&str> = id.split('/').collect();
    // "", subscriptions, {sub}, resourceGroups, {rg}, providers, {provider}, {kind}, {name}
    if parts.len() != 9 || !parts[0].is_empty() {
        return None;
    }
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    if !(eq(parts[1], "subscriptions")
        && eq(parts[3], "resourceGroups")
        && eq(parts[5], "providers")
        && eq(parts[6], provider)
        && eq(parts[7], kind))
    {
        return None;
    }
    if !crate::names::is_guid(parts[2]) || parts[4].is_empty() || parts[8].is_empty() {
        return None;
    }
    Some((parts[2], parts[4], parts[8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_assignment_names_are_stable_guids() {
        let a = role_assignment_name("/subscriptions/x/a", "/r", "p");
        assert_eq!(a, role_assignment_name("/SUBSCRIPTIONS/x/A", "/r", "P"));
        assert_ne!(a, role_assignment_name("/subscriptions/x/b", "/r", "p"));
        assert!(crate::names::is_guid(&a));
    }

    #[test]
    fn user_assigned_identity_ids() {
        let ok = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
        assert_eq!(
            parse_user_assigned_identity(ok),
            Some(("00000000-0000-0000-0000-000000000000", "rg", "id1"))
        );
        assert_eq!(
            parse_user_assigned_identity("/subscriptions/x/resourceGroups/rg"),
            None
        );
        assert_eq!(
            parse_user_assigned_identity(&ok.replace("ManagedIdentity", "Compute")),
            None
        );
    }
}
