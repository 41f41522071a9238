//! The model catalog snapshot as ARM's clients see it: Models_List per region, paged;
//! Usages_List and ModelCapacities_List reflecting the deployments; and a deployment of a combination the region
//! does not offer, or one retired by `catalog.today`, refused with ARM's code and message
//! and no resource written.

use aoai_lb::emulator::{CatalogSettings, Config};
use reqwest::Method;
use serde_json::{Value, json};

use super::{Arm, COG, SUB, account, account_path};

fn location(region: &str, list: &str) -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/locations/{region}/{list}")
}

fn deployment(sku: &str, capacity: u64, name: &str, version: &str) -> Value {
    json!({"sku": {"name": sku, "capacity": capacity},
        "properties": {"model": {"format": "OpenAI", "name": name, "version": version}}})
}

/// Every item of Models_List for a region, following `nextLink` page by page.
async fn all_models(arm: &Arm, region: &str, top: usize) -> (Vec<Value>, usize) {
    let mut target = format!(
        "{}?api-version={COG}&$top={top}",
        location(region, "models")
    );
    let (mut items, mut pages) = (Vec::new(), 0);
    loop {
        let r = arm.send(Method::GET, &target, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.body["value"].as_array().unwrap();
        assert!(page.len() <= top);
        items.extend(page.iter().cloned());
        pages += 1;
        match r.body["nextLink"].as_str() {
            Some(next) => target = next.to_string(),
            None => return (items, pages),
        }
    }
}

fn has(items: &[Value], name: &str, version: &str) -> bool {
    items
        .iter()
        .any(|i| i["model"]["name"] == name && i["model"]["version"] == version)
}

#[tokio::test]
async fn models_list_pages_through_a_regions_catalog() {
    let arm = Arm::start(Config::default()).await;
    let (eastus, pages) = all_models(&arm, "eastus", 3).await;
    assert!(pages >= 3, "13 models in pages of 3: {pages}");
    assert!(has(&eastus, "gpt-5.1", "2025-11-13"));
    assert!(has(&eastus, "gpt-4o", "2024-11-20"));
    let item = eastus
        .iter()
        .find(|i| i["model"]["name"] == "gpt-4o" && i["model"]["version"] == "2024-08-06")
        .expect("gpt-4o 2024-08-06 in eastus");
    assert_eq!(item["kind"], "OpenAI");
    assert_eq!(item["skuName"], "S0");
    let standard = item["model"]["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Standard")
        .expect("on Standard");
    assert_eq!(standard["usageName"], "OpenAI.Standard.gpt-4o");
    assert_eq!(standard["deprecationDate"], "2026-03-31T00:00:00Z");
    assert!(standard["capacity"]["maximum"].as_u64().unwrap() > 0);

    // Microsoft's region tables: West US offers gpt-5.1 on Standard but not on regional
    // ProvisionedManaged.
    let (westus, _) = all_models(&arm, "westus", 100).await;
    let gpt51: Vec<&str> = westus
        .iter()
        .filter(|i| i["model"]["name"] == "gpt-5.1" && i["model"]["version"] == "2025-11-13")
        .flat_map(|i| i["model"]["skus"].as_array().unwrap())
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        gpt51.contains(&"Standard") && !gpt51.contains(&"ProvisionedManaged"),
        "{gpt51:?}"
    );
    let (nowhere, _) = all_models(&arm, "lab", 100).await;
    assert!(nowhere.is_empty());
    arm.stop().await;
}

fn usage<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"]["value"] == name)
        .unwrap_or_else(|| panic!("no usage {name} in {body}"))
}

#[tokio::test]
async fn usages_and_model_capacities_count_the_deployments_per_usage_name() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg-cat", "aoai-cat", "eastus").await;
    let d = format!("{}/deployments/chat", account_path("rg-cat", "aoai-cat"));
    arm.create(
        &d,
        COG,
        &deployment("Standard", 250, "gpt-4o", "2024-11-20"),
    )
    .await;
    // Quota is per usage name: another model on Standard has its own 300.
    let other = format!("{}/deployments/other", account_path("rg-cat", "aoai-cat"));
    arm.create(
        &other,
        COG,
        &deployment("Standard", 100, "gpt-5.1", "2025-11-13"),
    )
    .await;

    let r = arm.get(&location("eastus", "usages"), COG).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let gpt4o = usage(&r.body, "OpenAI.Standard.gpt-4o");
    assert_eq!(gpt4o["currentValue"], 250);
    assert_eq!(gpt4o["limit"], 300);
    assert_eq!(gpt4o["unit"], "Count");
    assert_eq!(
        usage(&r.body, "OpenAI.Standard.gpt-5.1")["currentValue"],
        100
    );
    assert_eq!(
        usage(&r.body, "OpenAI.GlobalStandard.gpt-4o")["currentValue"],
        0
    );
    // Another region's usages do not count East US's deployments.
    let w = arm.get(&location("westus", "usages"), COG).await;
    assert_eq!(usage(&w.body, "OpenAI.Standard.gpt-4o")["currentValue"], 0);

    // ModelCapacities_List: what is left of the quota, per region offering the model.
    let capacities = arm
        .get(
            &format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/modelCapacities?modelFormat=OpenAI&modelName=gpt-4o&modelVersion=2024-11-20"),
            COG,
        )
        .await;
    assert_eq!(capacities.status, 200, "{}", capacities.body);
    let left = |region: &str, sku: &str| {
        let item = capacities.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["location"] == region && c["name"] == sku)
            .unwrap_or_else(|| panic!("no {sku} capacity in {region}: {}", capacities.body));
        assert_eq!(item["properties"]["model"]["version"], "2024-11-20");
        assert_eq!(
            item["type"],
            "Microsoft.CognitiveServices/locations/models/skuCapacities"
        );
        item["properties"]["availableCapacity"].as_u64().unwrap()
    };
    assert_eq!(left("eastus", "Standard"), 50);
    assert_eq!(left("westus", "Standard"), 300);
    assert_eq!(left("eastus", "GlobalStandard"), 450);
    let gpt51 = arm
        .get(
            &format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/modelCapacities?modelFormat=OpenAI&modelName=gpt-5.1&modelVersion=2025-11-13"),
            COG,
        )
        .await;
    let offered: Vec<(&str, &str)> = gpt51.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| Some((c["location"].as_str()?, c["name"].as_str()?)))
        .collect();
    assert!(
        offered.contains(&("eastus", "ProvisionedManaged"))
            && !offered.contains(&("westus", "ProvisionedManaged")),
        "{offered:?}"
    );

    let third = format!("{}/deployments/third", account_path("rg-cat", "aoai-cat"));
    arm.put(
        &third,
        COG,
        &deployment("Standard", 60, "gpt-4o", "2024-11-20"),
    )
    .await
    .expect_error(400, "InsufficientQuota");
    arm.stop().await;
}

#[tokio::test]
async fn a_combination_the_region_does_not_offer_is_refused_without_a_write() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg-cat", "aoai-west", "westus").await;
    let d = format!("{}/deployments/chat", account_path("rg-cat", "aoai-west"));
    let message = arm
        .put(
            &d,
            COG,
            &deployment("ProvisionedManaged", 50, "gpt-5.1", "2025-11-13"),
        )
        .await
        .expect_error(400, "InvalidResourceProperties");
    assert_eq!(
        message,
        "The specified SKU 'ProvisionedManaged' for model 'gpt-5.1 2025-11-13' is not supported in this region 'westus'."
    );
    // gpt-5.4 has no regional Standard anywhere in Microsoft's table.
    arm.put(
        &d,
        COG,
        &deployment("Standard", 10, "gpt-5.4", "2026-03-05"),
    )
    .await
    .expect_error(400, "InvalidResourceProperties");
    arm.put(&d, COG, &deployment("Standard", 10, "gpt-4o", "2099-01-01"))
        .await
        .expect_error(400, "InvalidResourceProperties");
    assert_eq!(arm.get(&d, COG).await.status, 404);
    arm.stop().await;
}

#[tokio::test]
async fn a_retired_version_is_refused_once_today_passes_its_date() {
    let config = Config {
        catalog: CatalogSettings {
            today: Some("2026-04-01".into()),
            ..CatalogSettings::default()
        },
        ..Config::default()
    };
    let arm = Arm::start(config).await;
    account(&arm, "rg-cat", "aoai-east", "eastus").await;
    let d = format!("{}/deployments/chat", account_path("rg-cat", "aoai-east"));
    let message = arm
        .put(&d, COG, &deployment("Standard", 10, "gpt-4o", "2024-08-06"))
        .await
        .expect_error(400, "ServiceModelDeprecated");
    assert_eq!(
        message,
        "The model 'Format:OpenAI,Name:gpt-4o,Version:2024-08-06' has been deprecated since 03/31/2026 00:00:00."
    );
    assert_eq!(arm.get(&d, COG).await.status, 404);
    // The same version on GlobalStandard retires later (2027-04-14) but is in the
    // Deprecated stage: refused to this subscription, which never deployed it.
    let message = arm
        .put(
            &d,
            COG,
            &deployment("GlobalStandard", 10, "gpt-4o", "2024-08-06"),
        )
        .await
        .expect_error(400, "ServiceModelDeprecating");
    assert_eq!(
        message,
        "The model 'Format:OpenAI,Name:gpt-4o,Version:2024-08-06' is in deprecating state and cannot be used for new deployments."
    );
    assert_eq!(arm.get(&d, COG).await.status, 404);
    // The current version deploys.
    let next = format!("{}/deployments/next", account_path("rg-cat", "aoai-east"));
    arm.create(
        &next,
        COG,
        &deployment("Standard", 10, "gpt-4o", "2024-11-20"),
    )
    .await;
    arm.stop().await;
}

/// A version in the Deprecated stage (Models_List `Deprecating`) deploys for a subscription
/// that has deployed it before (`catalog.deployedBefore`), and updates of its existing
/// deployments go on; for another subscription a second account of the same version is a
/// new deployment and is refused.
#[tokio::test]
async fn an_existing_customer_still_deploys_a_deprecating_version() {
    let config = Config {
        catalog: CatalogSettings {
            deployed_before: vec!["gpt-4.1 2025-04-14".into()],
            ..CatalogSettings::default()
        },
        ..Config::default()
    };
    let arm = Arm::start(config).await;
    account(&arm, "rg-cat", "aoai-old", "eastus").await;
    let d = format!("{}/deployments/chat", account_path("rg-cat", "aoai-old"));
    arm.create(
        &d,
        COG,
        &deployment("GlobalStandard", 10, "gpt-4.1", "2025-04-14"),
    )
    .await;
    arm.create(
        &d,
        COG,
        &deployment("GlobalStandard", 20, "gpt-4.1", "2025-04-14"),
    )
    .await;
    assert_eq!(arm.get(&d, COG).await.body["sku"]["capacity"], 20);
    let mini = format!("{}/deployments/mini", account_path("rg-cat", "aoai-old"));
    arm.put(
        &mini,
        COG,
        &deployment("GlobalStandard", 10, "gpt-4o-mini", "2024-07-18"),
    )
    .await
    .expect_error(400, "ServiceModelDeprecating");
    arm.stop().await;
}

/// The catalog is the region's, whatever the account's kind: a Foundry (AIServices)
/// account deploys what an Azure OpenAI account may. Data zone provisioned throughput is
/// offered in the US and EU data zones only (the snapshot's source).
#[tokio::test]
async fn provisioned_skus_follow_the_catalog_for_foundry_accounts_too() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg-ptu", "aoai-jp", "japaneast").await;
    arm.create(
        &account_path("rg-ptu", "foundry-e2"),
        COG,
        &json!({
            "kind": "AIServices", "sku": {"name": "S0"}, "location": "eastus2",
            "properties": {"customSubDomainName": "foundry-e2"}
        }),
    )
    .await;
    let ptu = deployment("DataZoneProvisionedManaged", 15, "gpt-5.1", "2025-11-13");
    let foundry = format!("{}/deployments/ptu", account_path("rg-ptu", "foundry-e2"));
    arm.create(&foundry, COG, &ptu).await;
    let got = arm.get(&foundry, COG).await;
    assert_eq!(got.body["sku"]["name"], "DataZoneProvisionedManaged");
    let jp = format!("{}/deployments/ptu", account_path("rg-ptu", "aoai-jp"));
    let message = arm
        .put(&jp, COG, &ptu)
        .await
        .expect_error(400, "InvalidResourceProperties");
    assert!(message.contains("'japaneast'"), "{message}");
    arm.create(
        &jp,
        COG,
        &deployment("GlobalProvisionedManaged", 15, "gpt-5.1", "2025-11-13"),
    )
    .await;
    arm.stop().await;
}
