//! Unit tests of the version windows, the type a path names and the version-dependent
//! body adaptations.

use serde_json::json;

use super::*;

#[test]
fn paths_name_their_resource_type() {
    let rg = "/subscriptions/s/resourceGroups/rg";
    assert_eq!(resource_type(rg), "resourceGroups");
    assert_eq!(resource_type(&format!("{rg}/resources")), "resources");
    assert_eq!(resource_type("/subscriptions/s/resources"), "resources");
    let account = format!("{rg}/providers/Microsoft.CognitiveServices/accounts/a");
    assert_eq!(resource_type(&account), "accounts");
    assert_eq!(
        resource_type(&format!("{account}/deployments/d")),
        "accounts/deployments"
    );
    assert_eq!(
        resource_type(&format!("{account}/deployments")),
        "accounts/deployments"
    );
    assert_eq!(
        resource_type(&format!(
            "{account}/providers/Microsoft.Authorization/roleAssignments/x"
        )),
        "roleAssignments"
    );
    assert_eq!(
        resource_type("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions"),
        "roleDefinitions"
    );
    assert_eq!(
        resource_type(
            "/subscriptions/s/providers/Microsoft.CognitiveServices/locations/westus/operationResults/1"
        ),
        "locations/operationResults"
    );
    assert_eq!(
        resource_type(&format!(
            "{rg}/providers/Microsoft.ApiManagement/service/x/backends/b"
        )),
        "service/backends"
    );
}

#[test]
fn windows_hold_the_product_and_sdk_defaults() {
    let product = [
        (Namespace::Resources, "resourceGroups", "2021-04-01"),
        (Namespace::CognitiveServices, "accounts", "2024-10-01"),
        (Namespace::ApiManagement, "service/apis", "2024-05-01"),
        (Namespace::Authorization, "roleAssignments", "2022-04-01"),
        (
            Namespace::ManagedIdentity,
            "userAssignedIdentities",
            "2023-01-31",
        ),
        (Namespace::Insights, "components", "2020-02-02"),
        (Namespace::ApiManagement, "service/loggers", "2024-05-01"),
        (
            Namespace::ApiManagement,
            "service/apis/diagnostics",
            "2024-05-01",
        ),
    ];
    let sdk = [
        (Namespace::Resources, "resourceGroups", "2025-04-01"),
        (Namespace::Resources, "resources", "2025-04-01"),
        (
            Namespace::CognitiveServices,
            "accounts/deployments",
            "2025-09-01",
        ),
        (Namespace::ApiManagement, "service", "2024-05-01"),
        (Namespace::Authorization, "roleAssignments", "2022-04-01"),
        (Namespace::Authorization, "roleDefinitions", "2022-04-01"),
        (Namespace::OperationalInsights, "workspaces", "2025-07-01"),
        (Namespace::Insights, "components", "2020-02-02"),
    ];
    for (ns, t, v) in product.into_iter().chain(sdk) {
        assert_eq!(check(ns, t, v), Ok(()), "{ns:?} {t} {v}");
    }
    // Every namespace's embedded-schema version is served (bodies are checked with it).
    for ns in Namespace::ALL {
        assert!(served(ns, "x").contains(&ns.api_version()), "{ns:?}");
    }
    // Per type: role definitions are not role assignments.
    assert!(
        check(
            Namespace::Authorization,
            "roleDefinitions",
            "2022-05-01-preview"
        )
        .is_ok()
    );
    assert!(
        check(
            Namespace::Authorization,
            "roleAssignments",
            "2022-05-01-preview"
        )
        .is_err()
    );
    assert!(
        check(
            Namespace::Authorization,
            "roleDefinitions",
            "2020-10-01-preview"
        )
        .is_err()
    );
    // Newest first, no duplicates.
    for w in WINDOWS {
        for pair in w.versions.windows(2).filter(|p| !p[1].starts_with("2014")) {
            // By date; a stable version before its same-day preview, as ARM lists them.
            assert!(
                pair[0] != pair[1] && pair[0][..10] >= pair[1][..10],
                "{:?} {pair:?}",
                w.namespace
            );
        }
    }
}

#[test]
fn unsupported_versions_get_arms_errors() {
    let e = check(Namespace::Resources, "resourceGroups", "2019-01-01")
        .unwrap_err()
        .arm_error("westus");
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "InvalidApiVersionParameter")
    );
    assert!(
        e.message
            .starts_with("The api-version '2019-01-01' is invalid. The supported versions are '2025-04-01,2024-08-01,"),
        "{}",
        e.message
    );
    assert!(e.message.ends_with(",2014-04'."), "{}", e.message);
    let e = check(Namespace::CognitiveServices, "accounts", "2017-04-18")
        .unwrap_err()
        .arm_error("westus");
    assert_eq!(
        (e.status, e.code.as_str()),
        (400, "NoRegisteredProviderFound")
    );
    assert!(
        e.message.starts_with(
            "No registered resource provider found for location 'westus' and API version '2017-04-18' for type 'accounts'. The supported api-versions are '2026-03-01, 2025-10-01-preview, 2025-09-01,"
        ),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("'. The supported locations are 'eastasia, southeastasia, "),
        "{}",
        e.message
    );
}

#[test]
fn backends_before_2023_05_01_preview_have_no_pools() {
    let mut body = json!({"properties": {"type": "Pool", "pool": {"services": []},
                          "circuitBreaker": {"rules": []}, "url": "https://x", "protocol": "http"}});
    let untouched = body.clone();
    adapt_request("service/backends", "2023-05-01-preview", &mut body);
    assert_eq!(body, untouched);
    adapt_request("service/apis", "2022-08-01", &mut body);
    assert_eq!(body, untouched);
    adapt_request("service/backends", "2022-08-01", &mut body);
    assert_eq!(
        body,
        json!({"properties": {"url": "https://x", "protocol": "http"}})
    );
    let mut page = json!({"value": [untouched.clone(), untouched.clone()]});
    adapt_response("service/backends", "2021-08-01", &mut page);
    assert_eq!(page["value"][1], body);
    let mut one = untouched.clone();
    adapt_response("service/backends", "2024-05-01", &mut one);
    assert_eq!(one, untouched);
}

#[test]
fn cognitive_operation_urls_add_only_their_recorded_version() {
    assert_eq!(&COGNITIVE_OPERATIONS[..COGNITIVE.len()], COGNITIVE);
    assert_eq!(COGNITIVE_OPERATIONS[COGNITIVE.len()..], ["2017-04-18"]);
    let t = "locations/operationResults";
    assert!(check(Namespace::CognitiveServices, t, "2017-04-18").is_ok());
    assert!(check(Namespace::CognitiveServices, "accounts", "2017-04-18").is_err());
}

#[test]
fn deployments_before_2023_05_01_have_scale_settings_not_a_sku() {
    let t = "accounts/deployments";
    let mut body = json!({"sku": {"name": "GlobalStandard", "capacity": 9},
        "properties": {"model": {"name": "gpt-4o"}, "versionUpgradeOption": "NoAutoUpgrade",
                       "scaleSettings": {"scaleType": "Standard", "capacity": 3}}});
    let untouched = body.clone();
    adapt_request(t, "2023-05-01", &mut body);
    assert_eq!(body, untouched);
    adapt_request(t, "2022-10-01", &mut body);
    assert_eq!(body["sku"], json!({"name": "Standard", "capacity": 3}));
    assert!(body["properties"].get("versionUpgradeOption").is_none());
    let mut no_capacity = json!({"sku": {"name": "Standard"}, "properties": {"scaleSettings": {"scaleType": "Standard"}}});
    adapt_request(t, "2021-10-01", &mut no_capacity);
    assert!(no_capacity.get("sku").is_none(), "{no_capacity}");

    let stored = json!({"sku": {"name": "Standard", "capacity": 3}, "properties": {
        "model": {"name": "gpt-4o"}, "currentCapacity": 3, "raiPolicyName": "Microsoft.DefaultV2",
        "rateLimits": [], "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
        "provisioningState": "Succeeded"}});
    let mut old = json!({"value": [stored.clone()]});
    adapt_response(t, "2022-10-01", &mut old);
    assert_eq!(
        old["value"][0],
        json!({"properties": {"model": {"name": "gpt-4o"}, "provisioningState": "Succeeded"}})
    );
    let mut new = stored.clone();
    adapt_response(t, "2024-10-01", &mut new);
    assert_eq!(new, stored);
}
