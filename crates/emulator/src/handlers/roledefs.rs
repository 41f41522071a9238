//! Built-in role definitions: RoleDefinitions_Get (`GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{id}`)
//! and RoleDefinitions_List (`GET {scope}/providers/Microsoft.Authorization/roleDefinitions`,
//! `$filter=roleName eq '…'` or `type eq 'BuiltInRole'`), authorization-RoleDefinitionsCalls.json
//! at 2022-04-01, shaped as GetRoleDefinitionById.json: `{id, type, name, properties:
//! {roleName, type, description, assignableScopes, permissions: [{actions, notActions,
//! dataActions, notDataActions}]}}` (the read-only `createdOn`/`updatedOn` are left out:
//! the documentation does not give them).
//!
//! The definitions are the built-in roles the emulator knows (`authz::BUILT_IN_ROLES`),
//! as Microsoft documents them ("Azure built-in roles", MicrosoftDocs/azure-docs
//! articles/role-based-access-control/built-in-roles/ai-machine-learning.md and
//! privileged.md / general.md). A definition's id is given at the scope asked (ARM answers
//! `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}` for a
//! subscription scope and below). An unknown id is `404 RoleDefinitionDoesNotExist`.

use serde_json::{Value, json};

use super::Cx;
use super::lists::{clauses, invalid_filter, page};
use crate::address::Address;
use crate::reply::{ArmError, Reply};

/// (GUID, role name, description, actions, notActions, dataActions, notDataActions).
type Def = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const AUTH_READS: [&str; 2] = [
    "Microsoft.Authorization/roleAssignments/read",
    "Microsoft.Authorization/roleDefinitions/read",
];

const DEFINITIONS: [Def; 8] = [
    (
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "Owner",
        "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        &["*"],
        &[],
        &[],
        &[],
    ),
    (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
        &["*"],
        &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        &[],
        &[],
    ),
    (
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "Reader",
        "View all resources, but does not allow you to make any changes.",
        &["*/read"],
        &[],
        &[],
        &[],
    ),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
        "Lets you manage user access to Azure resources.",
        &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        &[],
        &[],
        &[],
    ),
    (
        "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
        "Cognitive Services OpenAI User",
        "Ability to view files, models, deployments. Readers can't make any changes They can inference and create images",
        &[
            "Microsoft.CognitiveServices/*/read",
            AUTH_READS[0],
            AUTH_READS[1],
        ],
        &[],
        &[
            "Microsoft.CognitiveServices/accounts/OpenAI/*/read",
            "Microsoft.CognitiveServices/accounts/OpenAI/engines/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/engines/search/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/engines/generate/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/audio/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/search/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/realtime/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/extensions/chat/completions/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/deployments/embeddings/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/images/generations/action",
            "Microsoft.CognitiveServices/accounts/OpenAI/assistants/*",
        ],
        &["Microsoft.CognitiveServices/accounts/OpenAI/stored-completions/read"],
    ),
    (
        "a001fd3d-188f-4b5d-821b-7da978bf7442",
        "Cognitive Services OpenAI Contributor",
        "Full access including the ability to fine-tune, deploy and generate text",
        &[
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/deployments/write",
            "Microsoft.CognitiveServices/accounts/deployments/delete",
            "Microsoft.CognitiveServices/accounts/raiPolicies/read",
            "Microsoft.CognitiveServices/accounts/raiPolicies/write",
            "Microsoft.CognitiveServices/accounts/raiPolicies/delete",
            "Microsoft.CognitiveServices/accounts/commitmentplans/read",
            "Microsoft.CognitiveServices/accounts/commitmentplans/write",
            "Microsoft.CognitiveServices/accounts/commitmentplans/delete",
            AUTH_READS[0],
            AUTH_READS[1],
        ],
        &[],
        &["Microsoft.CognitiveServices/accounts/OpenAI/*"],
        &[],
    ),
    (
        "a97b65f3-24c7-4388-baec-2e87135dc908",
        "Cognitive Services User",
        "Lets you read and list keys of Cognitive Services.",
        &[
            "Microsoft.CognitiveServices/*/read",
            "Microsoft.CognitiveServices/accounts/listkeys/action",
            "Microsoft.Insights/alertRules/read",
            "Microsoft.Insights/diagnosticSettings/read",
            "Microsoft.Insights/logDefinitions/read",
            "Microsoft.Insights/metricdefinitions/read",
            "Microsoft.Insights/metrics/read",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/operations/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        &[],
        &["Microsoft.CognitiveServices/*"],
        &[],
    ),
    (
        "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
        "Cognitive Services Contributor",
        "Lets you create, read, update, delete and manage keys of Cognitive Services.",
        &[
            "Microsoft.Authorization/*/read",
            "Microsoft.CognitiveServices/*",
            "Microsoft.Features/features/read",
            "Microsoft.Features/providers/features/read",
            "Microsoft.Features/providers/features/register/action",
            "Microsoft.Insights/alertRules/*",
            "Microsoft.Insights/diagnosticSettings/*",
            "Microsoft.Insights/logDefinitions/read",
            "Microsoft.Insights/metricdefinitions/read",
            "Microsoft.Insights/metrics/read",
            "Microsoft.ResourceHealth/availabilityStatuses/read",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/deployments/operations/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Support/*",
        ],
        &[],
        &[],
        &[],
    ),
];

/// The subscription part of a scope (`/subscriptions/{s}`), where ARM puts the ids of
/// built-in definitions read below it.
fn subscription_of(scope: &str) -> String {
    scope.split('/').take(3).collect::<Vec<_>>().join("/")
}

/// A definition as ARM returns it, its id at `scope`'s subscription.
fn view(def: &Def, scope: &str) -> Value {
    let (guid, name, description, actions, not_actions, data, not_data) = *def;
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleDefinitions/{guid}", subscription_of(scope)),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": guid,
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "description": description,
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": actions,
                "notActions": not_actions,
                "dataActions": data,
                "notDataActions": not_data,
            }],
        },
    })
}

/// RoleDefinitions_Get.
pub fn get(scope: &str, id: &str) -> Result<Reply, ArmError> {
    DEFINITIONS
        .iter()
        .find(|d| d.0.eq_ignore_ascii_case(id))
        .map(|d| Reply::ok(view(d, scope)))
        .ok_or_else(|| {
            ArmError::new(
                404,
                "RoleDefinitionDoesNotExist",
                format!("The specified role definition with ID '{id}' does not exist."),
            )
        })
}

/// RoleDefinitions_List: every built-in definition, or those a `roleName eq '…'` /
/// `type eq 'BuiltInRole'` filter keeps (names compared without case).
pub fn list(cx: &mut Cx, addr: &Address, scope: &str) -> Result<Reply, ArmError> {
    let wanted = match cx.query.get("$filter") {
        Some(f) => clauses(f)
            .filter(|cs| cs.iter().all(|(n, _)| n == "rolename" || n == "type"))
            .ok_or_else(|| invalid_filter(f))?,
        None => vec![],
    };
    let items = DEFINITIONS
        .iter()
        .filter(|d| {
            wanted.iter().all(|(field, v)| match field.as_str() {
                "rolename" => d.1.eq_ignore_ascii_case(v),
                _ => v.eq_ignore_ascii_case("BuiltInRole"),
            })
        })
        .map(|d| view(d, scope))
        .collect();
    page(cx, addr, items, "$skiptoken")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_built_in_role_has_a_definition() {
        for (guid, name) in super::super::authz::BUILT_IN_ROLES {
            let def = DEFINITIONS.iter().find(|d| d.0 == guid).expect(name);
            assert_eq!(def.1, name);
        }
        let v = view(&DEFINITIONS[4], "/subscriptions/s/resourceGroups/rg");
        assert_eq!(
            v["id"],
            "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
        );
        assert_eq!(v["properties"]["type"], "BuiltInRole");
    }
}
