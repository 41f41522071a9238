//! What ARM cannot change in place. A plan that changes one of these properties of a
//! resource that exists must delete the resource and create it again (`-/+ must be
//! replaced`, Terraform's `# forces replacement`): sending the PUT would only earn a
//! refusal from ARM. The engine asks [`forces_replacement`] for every field it finds
//! different; each rule names where ARM's behaviour is documented.

use serde_json::Value;

use super::desired::Kind;

/// Whether changing the field at `path` (dotted, as the diff reports it) of a `kind`
/// resource from `old` (as ARM returns it; Null when unset) needs a new resource.
pub fn forces_replacement(kind: Kind, path: &str, old: &Value) -> bool {
    reason(kind, path, old).is_some()
}

/// Why ARM refuses the change in place, for the plan's reader and the code's.
pub fn reason(kind: Kind, path: &str, old: &Value) -> Option<&'static str> {
    let set = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    match (kind, path) {
        // ARM never moves a resource between regions: a PUT with another location is
        // refused with `InvalidResourceLocation`, a group's with
        // `InvalidResourceGroupLocation` ("Troubleshoot common Azure deployment
        // errors", learn.microsoft.com; the refusal is quoted in aoai-lb issue 12).
        (Kind::Account | Kind::ResourceGroup | Kind::Component, "location") => {
            Some("ARM cannot move a resource to another region")
        }
        // `kind` and `customSubDomainName` are fixed at creation: azurerm's
        // cognitive_account documents both as "Changing this forces a new resource to be
        // created" (hashicorp/terraform-provider-azurerm, website/docs/r/
        // cognitive_account.html.markdown; issue #28585). A subdomain can be set on an
        // account that has none (the regional endpoint), never changed once set.
        (Kind::Account, "kind") => Some("an account's kind is fixed when it is created"),
        (Kind::Account, "properties.customSubDomainName") if set(old) => {
            Some("an account's custom subdomain cannot be changed once set")
        }
        // "CannotChangeDeploymentModel: The model of deployment cannot be changed."
        // (Azure-Samples/azure-search-openai-demo issues #1330, #1429). The model's
        // version is upgraded in place (`versionUpgradeOption`, "Working with models",
        // learn.microsoft.com), so only its name and format force a new deployment.
        (Kind::Deployment, "properties.model.name" | "properties.model.format") => {
            Some("ARM cannot change a deployment's model, only its version")
        }
        // A role assignment cannot be updated: "RoleAssignmentUpdateNotPermitted:
        // Tenant ID, application ID, principal ID, and scope are not allowed to be
        // updated." (Azure RBAC troubleshooting, learn.microsoft.com). aoai-lb names
        // an assignment by the v5 UUID of scope, role and principal, so a new principal
        // or role is a new id anyway; these rules catch an assignment changed by hand.
        (Kind::RoleAssignment, "properties.principalId" | "properties.roleDefinitionId") => {
            Some("a role assignment cannot be updated")
        }
        // A backend is a single backend (`url`) or a pool (`pool.services`), and the
        // two shapes exclude each other ("Url is not supported for backend pool"):
        // aoai-lb does not morph one into the other in place, it replaces it.
        (Kind::Pool | Kind::Backend, "properties.type") if set(old) => {
            Some("a backend cannot turn into a pool or back")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn regions_kinds_subdomains_and_models_force_replacement() {
        let was = json!("westus");
        assert!(forces_replacement(Kind::Account, "location", &was));
        assert!(forces_replacement(Kind::Account, "kind", &json!("OpenAI")));
        assert!(forces_replacement(
            Kind::Account,
            "properties.customSubDomainName",
            &json!("old")
        ));
        assert!(forces_replacement(
            Kind::Deployment,
            "properties.model.name",
            &json!("gpt-4o")
        ));
        assert!(forces_replacement(
            Kind::Pool,
            "properties.type",
            &json!("Single")
        ));
    }

    #[test]
    fn what_arm_changes_in_place_does_not() {
        // A subdomain set for the first time, a model upgraded, capacity and tags.
        assert!(!forces_replacement(
            Kind::Account,
            "properties.customSubDomainName",
            &Value::Null
        ));
        assert!(!forces_replacement(
            Kind::Deployment,
            "properties.model.version",
            &json!("2024-05-13")
        ));
        assert!(!forces_replacement(
            Kind::Deployment,
            "sku.capacity",
            &json!(10)
        ));
        assert!(!forces_replacement(Kind::Account, "tags", &json!({})));
        assert!(!forces_replacement(
            Kind::Backend,
            "properties.url",
            &json!("https://a")
        ));
    }
}
