//! Properties ARM refuses to change on an existing resource: a tracked resource's
//! `location` (ARM's own check, for every provider), a Cognitive Services account's
//! `kind` and `customSubDomainName` once set, and a deployment's model name and format.
//! Each refusal uses the code and message real ARM answers, quoted from the source cited
//! beside it, so a client (and the product's replacement planning) sees what Azure says.

use serde_json::Value;

use super::str_at;
use crate::address::region_key;
use crate::reply::ArmError;

/// ARM refuses a PUT that would move an existing resource to another region.
///
/// Source: ARM's `InvalidResourceLocation`, quoted in MicrosoftDocs/azure-docs#70422,
/// microsoft/BotFramework-Composer#8427 and Azure/azure-service-operator#784: "The
/// resource '{name}' already exists in location '{old}' in resource group '{rg}'. A
/// resource with the same name cannot be created in location '{new}'. Please select a
/// new resource name." ARM answers it with 409 Conflict (as for the resource-group
/// variant `InvalidResourceGroupLocation`, hashicorp/terraform-provider-azurerm's
/// "StatusCode=409" in microsoft/bedrock#100). Regions compare as ARM normalises them
/// ("West US" is "westus"); the message repeats what was stored and what was sent.
pub fn location(
    existing: &Value,
    name: &str,
    group: &str,
    sent: Option<&str>,
) -> Result<(), ArmError> {
    let (Some(old), Some(new)) = (existing["location"].as_str(), sent) else {
        return Ok(());
    };
    if region_key(old) == region_key(new) {
        return Ok(());
    }
    Err(ArmError::conflict(
        "InvalidResourceLocation",
        format!(
            "The resource '{name}' already exists in location '{old}' in resource group '{group}'. A resource with the same name cannot be created in location '{new}'. Please select a new resource name."
        ),
    ))
}

/// A Cognitive Services account keeps its `kind` and, once set, its `customSubDomainName`.
///
/// `kind`: Azure/bicep#15446 quotes the resource provider's answer to a PUT with another
/// kind: `{"code": "UpdateKindNotAllowed", "message": "It's not allowed to update kind of
/// API account."}` (the status is not quoted; the provider's validation errors are 400).
///
/// `customSubDomainName`: Microsoft Learn, "Custom subdomain names for Azure AI
/// services" (learn.microsoft.com/azure/ai-services/cognitive-services-custom-subdomains):
/// "After you've created a custom subdomain name it cannot be changed." (azurerm marks
/// `custom_subdomain_name` as forcing a new resource.) No recorded error text was found,
/// so the emulator answers ARM's generic `400 BadRequest` with the documented rule.
/// Omitting the subdomain on a later PUT keeps the one set (see `kept_subdomain`).
///
/// One kind change is allowed from api-version 2025-06-01: an `OpenAI` account upgraded
/// to `AIServices` (Microsoft Foundry) and rolled back (azure-cli #32089, which moved to
/// 2025-06-01 for it: "Adds support for updating the account `kind` during an update. This
/// is only supported for upgrading Azure OpenAI account kinds to Azure AI Foundry
/// (AIServices kind) or rolling back to an Azure OpenAI account"; Microsoft Learn,
/// "Upgrade from Azure OpenAI to Microsoft Foundry").
pub fn account(existing: &Value, body: &Value, api_version: &str) -> Result<(), ArmError> {
    let upgrade = |a: &str, b: &str| {
        let pair = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
        matches!(
            (pair.0.as_str(), pair.1.as_str()),
            ("openai", "aiservices") | ("aiservices", "openai")
        ) && api_version.get(..10).is_some_and(|d| d >= "2025-06-01")
    };
    if let (Some(old), Some(new)) = (existing["kind"].as_str(), body["kind"].as_str())
        && !old.eq_ignore_ascii_case(new)
        && !upgrade(old, new)
    {
        return Err(ArmError::bad_request(
            "UpdateKindNotAllowed",
            "It's not allowed to update kind of API account.",
        ));
    }
    let old = str_at(existing, "/properties/customSubDomainName");
    let new = str_at(body, "/properties/customSubDomainName");
    if let (Some(old), Some(new)) = (old, new)
        && !old.eq_ignore_ascii_case(new)
    {
        return Err(ArmError::bad_request(
            "BadRequest",
            format!(
                "The custom subdomain name '{old}' of this account cannot be changed to '{new}'. After you've created a custom subdomain name it cannot be changed."
            ),
        ));
    }
    Ok(())
}

/// The subdomain an account keeps when a PUT omits it (set once, never removed).
pub fn kept_subdomain(existing: Option<&Value>, sent: Option<String>) -> Option<String> {
    sent.or_else(|| {
        existing
            .and_then(|e| str_at(e, "/properties/customSubDomainName"))
            .map(str::to_string)
    })
}

/// A deployment keeps its model: only the version (and capacity, sku, policy) change.
///
/// Source: the resource provider's answer quoted in Azure-Samples/azure-search-openai-demo
/// #1429: "CannotChangeDeploymentModel: The model of deployment cannot be changed." (an
/// azd redeploy with another model name). The status is not quoted; 400 as for the
/// provider's other validation errors. The model's format is part of the model.
pub fn deployment_model(existing: &Value, body: &Value) -> Result<(), ArmError> {
    let changed = |field: &str| {
        let pointer = format!("/properties/model/{field}");
        match (str_at(existing, &pointer), str_at(body, &pointer)) {
            (Some(old), Some(new)) => !old.eq_ignore_ascii_case(new),
            _ => false,
        }
    };
    if changed("name") || changed("format") {
        return Err(ArmError::bad_request(
            "CannotChangeDeploymentModel",
            "The model of deployment cannot be changed.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn location_compares_normalised_regions() {
        let existing = json!({"location": "westus"});
        assert!(location(&existing, "a", "rg", Some("West US")).is_ok());
        assert!(location(&existing, "a", "rg", None).is_ok());
        let e = location(&existing, "a", "rg", Some("eastus")).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (409, "InvalidResourceLocation")
        );
        assert_eq!(
            e.message,
            "The resource 'a' already exists in location 'westus' in resource group 'rg'. A resource with the same name cannot be created in location 'eastus'. Please select a new resource name."
        );
    }

    #[test]
    fn account_kind_and_subdomain() {
        let existing = json!({"kind": "OpenAI", "properties": {"customSubDomainName": "acc1"}});
        assert!(account(&existing, &json!({"kind": "openai"}), "2024-10-01").is_ok());
        assert!(
            account(
                &existing,
                &json!({"kind": "OpenAI", "properties": {"customSubDomainName": "ACC1"}}),
                "2024-10-01"
            )
            .is_ok()
        );
        let kind = account(&existing, &json!({"kind": "AIServices"}), "2024-10-01").unwrap_err();
        assert_eq!(
            (kind.status, kind.code.as_str()),
            (400, "UpdateKindNotAllowed")
        );
        // From 2025-06-01: OpenAI <-> AIServices (upgrade, rollback), nothing else.
        let foundry = json!({"kind": "AIServices"});
        assert!(account(&existing, &foundry, "2025-06-01").is_ok());
        assert!(account(&foundry, &existing, "2025-10-01-preview").is_ok());
        assert!(account(&existing, &foundry, "2025-04-01-preview").is_err());
        assert!(account(&existing, &json!({"kind": "SpeechServices"}), "2025-06-01").is_err());
        let sd = account(
            &existing,
            &json!({"kind": "OpenAI", "properties": {"customSubDomainName": "other"}}),
            "2024-10-01",
        )
        .unwrap_err();
        assert_eq!(sd.status, 400);
        assert!(sd.message.contains("cannot be changed"), "{}", sd.message);
        // Set once: an account without one may get one.
        assert!(
            account(
                &json!({"kind": "OpenAI", "properties": {}}),
                &json!({"kind": "OpenAI", "properties": {"customSubDomainName": "x"}}),
                "2024-10-01"
            )
            .is_ok()
        );
        assert_eq!(
            kept_subdomain(Some(&existing), None).as_deref(),
            Some("acc1")
        );
        assert_eq!(
            kept_subdomain(Some(&existing), Some("acc1".into())).as_deref(),
            Some("acc1")
        );
        assert_eq!(kept_subdomain(None, None), None);
    }

    #[test]
    fn deployment_model_name_and_format_are_fixed() {
        let existing = json!({"properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-08-06"}}});
        let same_new_version = json!({"properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}}});
        assert!(deployment_model(&existing, &same_new_version).is_ok());
        let other = json!({"properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini"}}});
        let e = deployment_model(&existing, &other).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str()),
            (400, "CannotChangeDeploymentModel")
        );
        assert_eq!(e.message, "The model of deployment cannot be changed.");
        let format = json!({"properties": {"model": {"format": "Other", "name": "gpt-4o"}}});
        assert!(deployment_model(&existing, &format).is_err());
    }
}
