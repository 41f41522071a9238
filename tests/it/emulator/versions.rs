//! The api-version windows as a client sees them: the official SDKs' default versions
//! work end to end, operation URLs carry the version ARM puts there, versions outside a
//! type's window get ARM's error, and an older APIM version's backend contract has no
//! pools.

use serde_json::{Value, json};

use super::{APIM, Arm, COG, account_path, rg_path, service_path, with_apim};
use aoai_lb::emulator::Config;

/// azure-mgmt-resource 26.0.0 and azure-mgmt-cognitiveservices 14.1.0 defaults.
const RES_SDK: &str = "2025-04-01";
const COG_SDK: &str = "2025-09-01";

fn query_version(url: &str) -> &str {
    url.split("api-version=").nth(1).unwrap_or_default()
}

#[tokio::test]
async fn the_sdk_default_versions_create_poll_and_read() {
    let arm = Arm::start(Config::default()).await;
    let r = arm
        .put(&rg_path("rg1"), RES_SDK, &json!({"location": "westus"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let path = account_path("rg1", "acc1");
    let body = json!({"kind": "OpenAI", "sku": {"name": "S0"}, "location": "westus",
                      "properties": {"customSubDomainName": "acc1"}});
    let r = arm.put(&path, COG_SDK, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Cognitive Services writes 2017-04-18 on its operation URLs whatever was asked
    // (recorded at 2022-10-01, 2023-05-01 and 2024-10-01), and serves it there.
    let poll = r.header("azure-asyncoperation").unwrap().to_string();
    assert_eq!(query_version(&poll), "2017-04-18", "{poll}");
    assert!(
        poll.contains("/providers/Microsoft.CognitiveServices/locations/westus/operationResults/"),
        "{poll}"
    );
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let got = arm.get(&path, COG_SDK).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    // The same account read with the product's version, and a deployment in Bicep's.
    assert_eq!(arm.get(&path, COG).await.status, 200);
    let d = arm
        .put(
            &format!("{path}/deployments/chat"),
            "2023-05-01",
            &json!({"sku": {"name": "Standard", "capacity": 1},
                    "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}}}),
        )
        .await;
    assert_eq!(d.status, 201, "{}", d.body);
    arm.wait(&d).await;
    // Other providers' operation URLs carry the version that was asked.
    let r = arm.delete(&rg_path("rg1"), RES_SDK).await;
    assert_eq!(r.status, 202);
    let location = r.header("location").unwrap();
    assert_eq!(query_version(location), RES_SDK, "{location}");
    assert_eq!(arm.wait(&r).await.status, 200);
    arm.stop().await;
}

#[tokio::test]
async fn versions_outside_a_types_window_get_arms_error() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let message = arm
        .put(
            &rg_path("rg1"),
            "2019-01-01",
            &json!({"location": "eastus"}),
        )
        .await
        .expect_error(400, "InvalidApiVersionParameter");
    assert!(
        message.starts_with("The api-version '2019-01-01' is invalid. The supported versions are '2025-04-01,2024-08-01,"),
        "{message}"
    );
    // The location named is the body's; the versions are the type's own window.
    let message = arm
        .put(
            &account_path("rg-apim", "a1"),
            "2017-04-18",
            &json!({"kind": "OpenAI", "sku": {"name": "S0"}, "location": "eastus"}),
        )
        .await
        .expect_error(400, "NoRegisteredProviderFound");
    assert!(
        message.starts_with("No registered resource provider found for location 'eastus' and API version '2017-04-18' for type 'accounts'. The supported api-versions are '2026-03-01, "),
        "{message}"
    );
    assert!(message.contains(", 2024-10-01, "), "{message}");
    assert!(
        message.contains("The supported locations are '"),
        "{message}"
    );
    // Role definitions and role assignments have windows of their own.
    let scope = service_path("rg-apim", "apim1");
    let message = arm
        .get(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-000000000001"),
            "2022-05-01-preview",
        )
        .await
        .expect_error(400, "NoRegisteredProviderFound");
    assert!(message.contains("for type 'roleAssignments'"), "{message}");
    assert!(
        message.contains("'2022-04-01, 2020-10-01-preview'"),
        "{message}"
    );
    // Nothing was created by the refused requests.
    assert_eq!(arm.get(&rg_path("rg1"), RES_SDK).await.status, 404);
    arm.stop().await;
}

fn pool_body(service: &str) -> Value {
    json!({"properties": {"type": "Pool", "pool": {"services": [
        {"id": format!("{service}/backends/b1"), "priority": 1, "weight": 1}]}}})
}

#[tokio::test]
async fn backends_before_2023_05_01_preview_have_no_pools() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let service = service_path("rg-apim", "apim1");
    let b1 = format!("{service}/backends/b1");
    let single =
        json!({"properties": {"url": "https://acc1.openai.azure.com/openai", "protocol": "http"}});
    assert_eq!(arm.put(&b1, "2022-08-01", &single).await.status, 201);
    // A 2022-08-01 body's `type`/`pool` are not in that contract: a "pool" is a backend
    // without a url, which API Management refuses.
    let pool = format!("{service}/backends/p");
    arm.put(&pool, "2022-08-01", &pool_body(&service))
        .await
        .expect_error(400, "ValidationError");
    let created = arm
        .put(&pool, "2023-05-01-preview", &pool_body(&service))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["properties"]["type"], "Pool");
    // Read with each version: the pool's fields only where the contract has them.
    let old = arm.get(&pool, "2021-08-01").await.body;
    assert!(old["properties"].get("pool").is_none(), "{old}");
    assert!(old["properties"].get("type").is_none(), "{old}");
    let new = arm.get(&pool, APIM).await.body;
    assert_eq!(new["properties"]["type"], "Pool");
    assert_eq!(new["properties"]["pool"]["services"][0]["priority"], 1);
    arm.stop().await;
}

#[tokio::test]
async fn role_definitions_are_served_at_their_own_window() {
    let arm = Arm::start(Config::default()).await;
    let sub = format!("/subscriptions/{}", super::SUB);
    // Cognitive Services OpenAI User, read as azure-mgmt-authorization 4.0.0 (2022-04-01)
    // and as Terraform azurerm (2022-05-01-preview) read it.
    let role = format!(
        "{sub}/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
    );
    for version in ["2022-04-01", "2022-05-01-preview"] {
        let r = arm.get(&role, version).await;
        assert_eq!(r.status, 200, "{version}: {}", r.body);
        assert_eq!(
            r.body["properties"]["roleName"],
            "Cognitive Services OpenAI User"
        );
    }
    // A role assignments' version is not a role definitions' one, and the reverse.
    let message = arm
        .get(&role, "2020-10-01-preview")
        .await
        .expect_error(400, "NoRegisteredProviderFound");
    assert!(message.contains("for type 'roleDefinitions'"), "{message}");
    assert!(
        message.contains("'2022-05-01-preview, 2022-04-01'"),
        "{message}"
    );
    let assignments = format!("{sub}/providers/Microsoft.Authorization/roleAssignments");
    arm.get(&assignments, "2022-05-01-preview")
        .await
        .expect_error(400, "NoRegisteredProviderFound");
    assert_eq!(
        arm.get(&assignments, "2020-10-01-preview").await.status,
        200
    );
    arm.stop().await;
}
