//! Cognitive Services accounts and deployments: asynchronous create, endpoints and extras,
//! schema checks, subdomain uniqueness, soft delete / restore / purge, one deployment
//! operation per account, quota.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Arm, COG, RES, SUB, account, account_path, rg_path};
use aoai_lb::emulator::Config;

fn openai(location: &str, subdomain: &str) -> Value {
    json!({"kind": "OpenAI", "sku": {"name": "S0"}, "location": location,
           "properties": {"customSubDomainName": subdomain, "publicNetworkAccess": "Enabled"},
           "tags": {"managed-by": "aoai-lb"}})
}

fn gpt4o(capacity: u64) -> Value {
    json!({"sku": {"name": "Standard", "capacity": capacity},
           "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}}})
}

const DELETED: &str = "/providers/Microsoft.CognitiveServices/deletedAccounts";

#[tokio::test]
async fn accounts_are_created_asynchronously_with_their_endpoint() {
    let arm = Arm::start(Config::default()).await;
    let path = account_path("rg1", "acc1");
    arm.put(&path, COG, &openai("westus", "acc1"))
        .await
        .expect_error(404, "ResourceGroupNotFound");
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let r = arm.put(&path, COG, &openai("westus", "acc1")).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    assert!(r.header("azure-asyncoperation").is_some());
    assert!(r.header("retry-after").is_some() && r.header("retry-after-ms").is_some());
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let got = arm.get(&path, COG).await.body;
    let props = &got["properties"];
    assert_eq!(props["provisioningState"], "Succeeded");
    assert_eq!(props["endpoint"], "https://acc1.openai.azure.com/");
    for extra in ["endpoints", "capabilities", "dateCreated", "internalId"] {
        assert!(!props[extra].is_null(), "{extra} in {got}");
    }
    for extra in ["id", "name", "type", "etag", "systemData"] {
        assert!(!got[extra].is_null(), "{extra} in {got}");
    }
    assert_eq!(got["type"], "Microsoft.CognitiveServices/accounts");
    assert_eq!(got["tags"]["managed-by"], "aoai-lb");
    arm.stop().await;
}

#[tokio::test]
async fn an_unknown_field_in_an_account_body_is_refused() {
    let arm = Arm::start(Config::default()).await;
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let mut body = openai("westus", "acc1");
    body["properties"]["customSubDomian"] = json!("typo");
    let r = arm.put(&account_path("rg1", "acc1"), COG, &body).await;
    let message = r.expect_error(400, "InvalidRequestContent");
    assert!(message.contains("customSubDomian"), "{message}");
    assert!(!r.body["error"]["details"].as_array().unwrap().is_empty());
    assert_eq!(arm.get(&account_path("rg1", "acc1"), COG).await.status, 404);
    arm.stop().await;
}

#[tokio::test]
async fn custom_subdomains_are_unique_across_the_emulator() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    arm.create(&rg_path("rg2"), RES, &json!({"location": "eastus"}))
        .await;
    arm.put(&account_path("rg2", "acc2"), COG, &openai("eastus", "ACC1"))
        .await
        .expect_error(409, "CustomDomainInUse");
    arm.stop().await;
}

#[tokio::test]
async fn soft_delete_restore_and_purge() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let path = account_path("rg1", "acc1");
    arm.create(&format!("{path}/deployments/gpt-4o"), COG, &gpt4o(10))
        .await;

    let r = arm.delete(&path, COG).await;
    assert_eq!(r.status, 202);
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    arm.get(&path, COG)
        .await
        .expect_error(404, "ResourceNotFound");
    let list = arm
        .get(&format!("/subscriptions/{SUB}{DELETED}"), COG)
        .await;
    let deleted = &list.body["value"][0];
    assert_eq!(deleted["name"], "acc1");
    assert_eq!(
        deleted["type"],
        "Microsoft.CognitiveServices/deletedAccounts"
    );
    assert!(deleted["properties"]["deletionDate"].is_string());

    // The name is taken until it is restored or purged.
    let r = arm.put(&path, COG, &openai("westus", "acc1")).await;
    let message = r.expect_error(409, "FlagMustBeSetForRestore");
    assert!(message.contains("restore"), "{message}");
    let mut restore = openai("westus", "acc1");
    restore["properties"]["restore"] = json!(true);
    let r = arm.put(&path, COG, &restore).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["properties"].get("restore").is_none());
    arm.wait(&r).await;
    assert_eq!(arm.get(&path, COG).await.status, 200);
    assert_eq!(
        arm.get(&format!("{path}/deployments/gpt-4o"), COG)
            .await
            .status,
        200,
        "deployments come back with the account"
    );

    // Delete again and purge.
    let r = arm.delete(&path, COG).await;
    arm.wait(&r).await;
    let purge_path = format!(
        "/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/westus/resourceGroups/rg1/deletedAccounts/acc1"
    );
    assert_eq!(arm.get(&purge_path, COG).await.body["name"], "acc1");
    let r = arm.delete(&purge_path, COG).await;
    assert_eq!(r.status, 202);
    assert!(r.header("location").is_some());
    assert_eq!(arm.wait(&r).await.status, 204);
    let list = arm
        .get(&format!("/subscriptions/{SUB}{DELETED}"), COG)
        .await;
    assert_eq!(list.body["value"], json!([]));
    arm.delete(&purge_path, COG)
        .await
        .expect_error(404, "ResourceNotFound");
    let r = arm.put(&path, COG, &openai("westus", "acc1")).await;
    assert_eq!(r.status, 201, "the name is free again: {}", r.body);
    arm.stop().await;
}

#[tokio::test]
async fn restore_without_a_deleted_account_is_not_found() {
    let arm = Arm::start(Config::default()).await;
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let mut body = openai("westus", "acc1");
    body["properties"]["restore"] = json!(true);
    arm.put(&account_path("rg1", "acc1"), COG, &body)
        .await
        .expect_error(404, "ResourceNotFound");
    arm.stop().await;
}

#[tokio::test]
async fn two_parallel_deployments_on_one_account_get_exactly_one_conflict() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let base = account_path("rg1", "acc1");
    let (one, two, body) = (
        format!("{base}/deployments/one"),
        format!("{base}/deployments/two"),
        gpt4o(10),
    );
    let (a, b) = tokio::join!(arm.put(&one, COG, &body), arm.put(&two, COG, &body));
    let statuses = [a.status, b.status];
    assert!(statuses.contains(&201), "{statuses:?}");
    let conflict = if a.status == 409 { &a } else { &b };
    let message = conflict.expect_error(409, "RequestConflict");
    assert!(
        message.contains("Another operation is being performed on the parent resource"),
        "{message}"
    );
    // Once the first is done, the second goes through.
    let winner = if a.status == 201 { &a } else { &b };
    arm.wait(winner).await;
    let loser = if a.status == 409 { "one" } else { "two" };
    arm.create(&format!("{base}/deployments/{loser}"), COG, &gpt4o(10))
        .await;
    arm.stop().await;
}

#[tokio::test]
async fn deployments_need_a_succeeded_account_and_quota() {
    let mut config = Config::default();
    config.quota.insert("Standard".into(), 50);
    let arm = Arm::start(config).await;
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let acc = account_path("rg1", "acc1");
    arm.put(&format!("{acc}/deployments/d"), COG, &gpt4o(1))
        .await
        .expect_error(404, "ResourceNotFound");
    let created = arm.put(&acc, COG, &openai("westus", "acc1")).await;
    arm.put(&format!("{acc}/deployments/d"), COG, &gpt4o(1))
        .await
        .expect_error(409, "RequestConflict");
    arm.wait(&created).await;

    // Quota is per subscription, region and sku: 30 + 30 > 50 in westus.
    account(&arm, "rg1", "acc2", "West US").await;
    account(&arm, "rg3", "acc3", "eastus").await;
    arm.create(&format!("{acc}/deployments/a"), COG, &gpt4o(30))
        .await;
    let r = arm
        .put(
            &format!("{}/deployments/b", account_path("rg1", "acc2")),
            COG,
            &gpt4o(30),
        )
        .await;
    let message = r.expect_error(400, "InsufficientQuota");
    assert!(message.contains("quota limit is 50"), "{message}");
    arm.create(
        &format!("{}/deployments/b", account_path("rg3", "acc3")),
        COG,
        &gpt4o(30),
    )
    .await;
    // Replacing a deployment does not count its old capacity twice.
    arm.create(&format!("{acc}/deployments/a"), COG, &gpt4o(40))
        .await;
    arm.stop().await;
}

#[tokio::test]
async fn deployments_return_service_defaults() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let path = format!("{}/deployments/gpt-4o", account_path("rg1", "acc1"));
    let body = json!({"sku": {"name": "GlobalStandard", "capacity": 5},
                      "properties": {"model": {"format": "OpenAI", "name": "gpt-4o"}}});
    let r = arm.create(&path, COG, &body).await;
    assert_eq!(r.status, 201);
    let got = arm.get(&path, COG).await.body;
    let props = &got["properties"];
    assert_eq!(props["raiPolicyName"], "Microsoft.DefaultV2");
    assert_eq!(
        props["versionUpgradeOption"],
        "OnceNewDefaultVersionAvailable"
    );
    assert_eq!(
        props["model"]["version"], "2024-11-20",
        "the default version"
    );
    assert!(props["capabilities"].is_object());
    assert!(props["rateLimits"].is_array());
    assert_eq!(props["provisioningState"], "Succeeded");

    let r = arm.delete(&path, COG).await;
    assert_eq!(r.status, 202);
    arm.wait(&r).await;
    arm.get(&path, COG)
        .await
        .expect_error(404, "ResourceNotFound");
    assert_eq!(arm.delete(&path, COG).await.status, 204);
    arm.stop().await;
}

#[tokio::test]
async fn a_deployment_body_with_an_unknown_field_is_refused() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let mut body = gpt4o(1);
    body["properties"]["modle"] = json!({});
    arm.put(
        &format!("{}/deployments/d", account_path("rg1", "acc1")),
        COG,
        &body,
    )
    .await
    .expect_error(400, "InvalidRequestContent");
    let log = arm.log().await;
    assert_eq!(log.last().unwrap()["status"], 400);
    assert_eq!(log.last().unwrap()["method"], Method::PUT.as_str());
    arm.stop().await;
}

#[tokio::test]
async fn a_tags_patch_changes_the_tags_of_an_account_or_deployment_and_nothing_else() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let acc = account_path("rg1", "acc1");
    let dep = format!("{acc}/deployments/gpt-4o");
    arm.create(&dep, COG, &gpt4o(10)).await;
    for id in [&acc, &dep] {
        let before = arm.get(id, COG).await.body;
        let tags = json!({"tags": {"owner": "me", "aoai-lb-deployment": "dev"}});
        let r = arm.patch(id, COG, &tags).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let after = arm.get(id, COG).await.body;
        assert_eq!(after["tags"], tags["tags"], "{id}");
        assert_eq!(after["properties"], before["properties"], "{id}");
        assert_eq!(after["sku"], before["sku"], "{id}");
        // A field outside the update contract (a deployment's `properties`, an account's
        // unknown property) is refused; `sku` and `properties` updates are tested in
        // arm_contract_service.rs.
        arm.patch(id, COG, &json!({"properties": {"noSuchThing": 1}}))
            .await
            .expect_error(400, "InvalidRequestContent");
        arm.patch(id, COG, &json!({"tags": {"n": 1}}))
            .await
            .expect_error(400, "InvalidRequestContent");
    }
    arm.patch(&account_path("rg1", "nothing"), COG, &json!({"tags": {}}))
        .await
        .expect_error(404, "ResourceNotFound");
}
