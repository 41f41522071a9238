//! What to do about an ARM error, in one line, for every error code users meet with
//! this tool (see docs/troubleshooting.md, which lists the same table).

/// (code, what to do). Codes compare case-insensitively.
pub const HINTS: &[(&str, &str)] = &[
    (
        "AuthenticationFailed",
        "the token was refused: sign in again (az login) or refresh AOAI_LB_ACCESS_TOKEN",
    ),
    (
        "InvalidAuthenticationToken",
        "the token is not for ARM or has expired: get one for https://management.azure.com (az account get-access-token)",
    ),
    (
        "ExpiredAuthenticationToken",
        "the token has expired: get a new one (az account get-access-token) or let the credential chain fetch one",
    ),
    (
        "AuthorizationFailed",
        "the signed-in principal lacks a role: it needs Contributor on the resource group and User Access Administrator (or Role Based Access Control Administrator) on the accounts for role assignments",
    ),
    (
        "LinkedAuthorizationFailed",
        "the principal may write the resource but not a resource it links to (the APIM service or the identity): grant it Contributor there too",
    ),
    (
        "SubscriptionNotFound",
        "check subscriptionId (or AZURE_SUBSCRIPTION_ID) and that the principal can see that subscription",
    ),
    (
        "MissingSubscriptionRegistration",
        "register the resource provider once: az provider register --namespace Microsoft.CognitiveServices (or Microsoft.ApiManagement)",
    ),
    (
        "ResourceGroupNotFound",
        "the resource group does not exist: check resourceGroup.name, or apim.resourceGroup for the APIM service",
    ),
    (
        "ResourceNotFound",
        "check the names in the plan; an APIM service must exist before apply (creating one takes 30-45 minutes)",
    ),
    (
        "FlagMustBeSetForRestore",
        "an account of this name was deleted in the last 48 hours (after the plan was made): run `aoai-lb plan` again, which plans its restore when it is this deployment's; otherwise set `restore: true` on it, or purge it (az cognitiveservices account purge)",
    ),
    (
        "CustomDomainInUse",
        "the custom subdomain is taken (subdomains are global): set another `customSubDomain` for the account",
    ),
    (
        "InsufficientQuota",
        "the region has no quota left for this model and SKU: lower `capacity`, pick another region or SKU, or request quota in the Azure AI Foundry portal",
    ),
    (
        "SpecialFeatureOrQuotaIdRequired",
        "the subscription may not deploy this model or SKU: pick another model version or SKU, or request access",
    ),
    (
        "DeploymentModelNotSupported",
        "the model version is not offered in this region or SKU: change `version`, `sku` or the account's `location`",
    ),
    (
        "ServiceModelDeprecated",
        "this version is retired on this SKU: pick a version the region's model catalog offers (`plan` lists them), for example a generally available one",
    ),
    (
        "ServiceModelDeprecating",
        "this version is in Microsoft's Deprecated stage: only subscriptions that have deployed it before may create deployments of it; pick a generally available version (`plan` warns and lists them)",
    ),
    (
        "InvalidResourceProperties",
        "ARM refused a property value: check the model name, version and SKU against the region's model list",
    ),
    (
        "InvalidResourceLocation",
        "the resource exists in another region and ARM cannot move it: keep the account's `location` as deployed, or give the account a new name (and delete the old one)",
    ),
    (
        "UpdateKindNotAllowed",
        "an account's kind cannot change: an account of this name exists with another kind; give the account a new name, or delete the existing one first. From `OpenAI` to `AIServices` (Foundry), upgrade the account in Azure instead (`az cognitiveservices account update --kind AIServices`, api-version 2025-06-01), then set `kind: AIServices` in the plan",
    ),
    (
        "CannotChangeDeploymentModel",
        "a deployment's model cannot change (only its version and capacity): give the deployment a new name, or delete the existing one first",
    ),
    (
        "AnotherOperationInProgress",
        "the account is busy with another operation: wait a minute and run apply again",
    ),
    (
        "RequestConflict",
        "another operation is running on the account (ARM allows one deployment operation per account at a time): aoai-lb retried it for 10 minutes; wait for that operation to end and run apply again",
    ),
    (
        "PrincipalNotFound",
        "the new managed identity has not replicated yet: run apply again in a minute",
    ),
    (
        "RoleAssignmentExists",
        "the identity already has this role on the account under another assignment: nothing to do",
    ),
    (
        "RoleAssignmentUpdateNotPermitted",
        "an assignment with this name exists for another principal: delete it (az role assignment delete --ids <id>) and apply again",
    ),
    (
        "InvalidApiVersionParameter",
        "ARM does not serve this api-version for the type: report it as an aoai-lb bug (the versions it sends are fixed)",
    ),
    (
        "NoRegisteredProviderFound",
        "the provider does not serve this api-version or region for the type: check the `location` in the plan; if it is valid, report it as an aoai-lb bug",
    ),
    (
        "InvalidRequestContent",
        "ARM could not read the body: a field is misspelt or not supported by this api-version (report it as an aoai-lb bug)",
    ),
    (
        "ValidationError",
        "API Management refused the entity: read the message; for a pool, members must exist and it may not have a url",
    ),
    (
        "TooManyRequests",
        "ARM is throttling this subscription: wait a few minutes, or lower --parallelism",
    ),
    (
        "SubscriptionRequestsThrottled",
        "another client of the subscription is using up ARM's request buckets (aoai-lb paces itself by them): wait a minute, or find that client",
    ),
    (
        "Conflict",
        "the resource is changing: wait and run the command again",
    ),
];

/// The hint for an error code, if there is one.
pub fn hint(code: &str) -> Option<&'static str> {
    HINTS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, h)| *h)
}

/// A hint for an error message that carries `{status} {Code}:` (the form
/// [`super::ArmError`] prints), so it works on errors that reach the views as text.
pub fn hint_in(message: &str) -> Option<&'static str> {
    HINTS
        .iter()
        .find(|(c, _)| message.contains(&format!(" {c}:")))
        .map(|(_, h)| *h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_in_arm_notes_has_a_hint() {
        for code in [
            "FlagMustBeSetForRestore",
            "AnotherOperationInProgress",
            "RequestConflict",
            "InsufficientQuota",
            "SpecialFeatureOrQuotaIdRequired",
            "PrincipalNotFound",
            "RoleAssignmentExists",
            "ValidationError",
            "InvalidResourceLocation",
            "UpdateKindNotAllowed",
            "CannotChangeDeploymentModel",
            "InvalidApiVersionParameter",
            "NoRegisteredProviderFound",
        ] {
            assert!(hint(code).is_some(), "{code}");
        }
        assert!(
            hint_in("PUT /x: 409 FlagMustBeSetForRestore: deleted")
                .unwrap()
                .contains("restore: true")
        );
    }
}
