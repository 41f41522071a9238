//! Properties ARM will not change in place: an account's location, kind and custom
//! subdomain, a deployment's model. Each refusal carries ARM's status, code and message,
//! and leaves the stored resource as it was.

use serde_json::{Value, json};

use super::{Arm, COG, account, account_path};
use aoai_lb::emulator::Config;

fn openai(location: &str, kind: &str, subdomain: Option<&str>) -> Value {
    let mut body = json!({"kind": kind, "sku": {"name": "S0"}, "location": location,
                          "properties": {"publicNetworkAccess": "Enabled"}});
    if let Some(s) = subdomain {
        body["properties"]["customSubDomainName"] = json!(s);
    }
    body
}

#[tokio::test]
async fn an_account_keeps_its_location_kind_and_subdomain() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let path = account_path("rg1", "acc1");

    let r = arm
        .put(&path, COG, &openai("eastus", "OpenAI", Some("acc1")))
        .await;
    let message = r.expect_error(409, "InvalidResourceLocation");
    assert_eq!(
        message,
        "The resource 'acc1' already exists in location 'westus' in resource group 'rg1'. A resource with the same name cannot be created in location 'eastus'. Please select a new resource name."
    );
    let r = arm
        .put(&path, COG, &openai("westus", "AIServices", Some("acc1")))
        .await;
    let message = r.expect_error(400, "UpdateKindNotAllowed");
    assert_eq!(message, "It's not allowed to update kind of API account.");
    let r = arm
        .put(&path, COG, &openai("westus", "OpenAI", Some("acc1-new")))
        .await;
    let message = r.expect_error(400, "BadRequest");
    assert!(message.contains("cannot be changed"), "{message}");

    let got = arm.get(&path, COG).await.body;
    assert_eq!(got["location"], "westus");
    assert_eq!(got["kind"], "OpenAI");
    assert_eq!(got["properties"]["customSubDomainName"], "acc1");
    assert_eq!(
        got["properties"]["endpoint"],
        "https://acc1.openai.azure.com/"
    );

    // The same region spelled as a display name, and a PUT without the subdomain, are
    // updates in place; the subdomain, once set, stays.
    let r = arm
        .put(&path, COG, &openai("West US", "OpenAI", None))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["customSubDomainName"], "acc1");
    assert_eq!(
        r.body["properties"]["endpoint"],
        "https://acc1.openai.azure.com/"
    );
    arm.stop().await;
}

#[tokio::test]
async fn a_subdomain_can_be_added_once_to_an_account_without_one() {
    let arm = Arm::start(Config::default()).await;
    let path = account_path("rg2", "plain");
    arm.create(
        &super::rg_path("rg2"),
        super::RES,
        &json!({"location": "westus"}),
    )
    .await;
    arm.create(&path, COG, &openai("westus", "OpenAI", None))
        .await;
    let r = arm
        .put(&path, COG, &openai("westus", "OpenAI", Some("plain1")))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["properties"]["endpoint"],
        "https://plain1.openai.azure.com/"
    );
    arm.put(&path, COG, &openai("westus", "OpenAI", Some("plain2")))
        .await
        .expect_error(400, "BadRequest");
    arm.stop().await;
}

#[tokio::test]
async fn a_deployment_keeps_its_model_but_not_its_version() {
    // 2024-08-06 is in the Deprecated stage: this subscription deployed it before.
    let mut config = Config::default();
    config.catalog.deployed_before = vec!["gpt-4o 2024-08-06".into()];
    let arm = Arm::start(config).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let path = format!("{}/deployments/chat", account_path("rg1", "acc1"));
    // GlobalStandard: the one sku on which gpt-4o offers two live versions (2024-08-06 and
    // 2024-11-20, both until 2027-04-14); 2024-08-06 retired on Standard on 2026-03-31.
    let model = |name: &str, version: &str| {
        json!({"sku": {"name": "GlobalStandard", "capacity": 1},
               "properties": {"model": {"format": "OpenAI", "name": name, "version": version}}})
    };
    arm.create(&path, COG, &model("gpt-4o", "2024-08-06")).await;
    let r = arm
        .put(&path, COG, &model("gpt-4o-mini", "2024-07-18"))
        .await;
    let message = r.expect_error(400, "CannotChangeDeploymentModel");
    assert_eq!(message, "The model of deployment cannot be changed.");
    assert_eq!(
        arm.get(&path, COG).await.body["properties"]["model"]["name"],
        "gpt-4o"
    );
    // A new version of the same model is an update in place.
    arm.create(&path, COG, &model("gpt-4o", "2024-11-20")).await;
    assert_eq!(
        arm.get(&path, COG).await.body["properties"]["model"]["version"],
        "2024-11-20"
    );
    arm.stop().await;
}
