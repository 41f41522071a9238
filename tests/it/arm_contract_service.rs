//! The rest of the resource contract: the API Management service's PUT (create, and of
//! the existing service, as Bicep and Terraform send it) and PATCH with any valid
//! property, an account's keys (listKeys, regenerateKey) and built-in role definitions
//! by id and by `$filter=roleName eq '…'`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::emulator::{
    APIM, AUTH, Arm, COG, RES, SUB, account, account_path, rg_path, seed_identity, service_path,
    with_apim,
};

fn svc() -> String {
    service_path("rg-apim", "apim1")
}

/// A whole service body, as Bicep's `Microsoft.ApiManagement/service` resource sends it.
fn bicep_body(identity: Value) -> Value {
    json!({
        "location": "westus",
        "sku": {"name": "Developer", "capacity": 1},
        "identity": identity,
        "properties": {"publisherEmail": "admin@contoso.com", "publisherName": "Contoso"}
    })
}

#[tokio::test]
async fn put_of_the_existing_service_sets_its_identity_and_is_long_running() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let r = arm
        .put(&svc(), APIM, &bicep_body(json!({"type": "SystemAssigned"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("azure-asyncoperation").is_some() && r.header("location").is_some());
    assert_eq!(r.body["properties"]["provisioningState"], "Updating");
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let got = arm.get(&svc(), APIM).await.body;
    assert!(got["identity"]["principalId"].is_string(), "{got}");
    assert_eq!(got["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        got["properties"]["gatewayUrl"],
        format!("{}/gateway/apim1", arm.url),
        "read-only properties are kept"
    );

    // A GET's body sent back (read-only members included) is accepted, as ARM ignores them.
    let mut echoed = got.clone();
    echoed["tags"] = json!({"env": "test"});
    let r = arm.put(&svc(), APIM, &echoed).await;
    assert_eq!(r.status, 200, "{}", r.body);
    arm.wait(&r).await;
    let again = arm.get(&svc(), APIM).await.body;
    assert_eq!(again["tags"], json!({"env": "test"}));
    assert_eq!(
        again["identity"]["principalId"], got["identity"]["principalId"],
        "the system-assigned principal is kept"
    );

    let mut moved = bicep_body(json!({"type": "None"}));
    moved["location"] = json!("eastus");
    arm.put(&svc(), APIM, &moved)
        .await
        .expect_error(409, "InvalidResourceLocation");
    let mut bad = bicep_body(json!({"type": "None"}));
    bad["properties"]["virtualNetworkType"] = json!("Sideways");
    arm.put(&svc(), APIM, &bad)
        .await
        .expect_error(400, "ValidationError");
    arm.stop().await;
}

#[tokio::test]
async fn put_creates_a_service_as_api_management_records_it() {
    let arm = Arm::start(with_apim(&[])).await;
    arm.create(&rg_path("rg-new"), RES, &json!({"location": "westus"}))
        .await;
    let path = service_path("rg-new", "apim-new");
    let r = arm
        .put(&path, APIM, &bicep_body(json!({"type": "None"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["properties"]["provisioningState"], "Created");
    assert_eq!(
        r.body["properties"]["targetProvisioningState"],
        "Activating"
    );
    assert!(r.header("azure-asyncoperation").is_some());
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let got = arm.get(&path, APIM).await;
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        got.body["properties"]["gatewayUrl"],
        format!("{}/gateway/apim-new", arm.url)
    );
    assert!(got.header("etag").is_some());

    let mut no_publisher = bicep_body(json!({"type": "None"}));
    no_publisher["properties"] = json!({"publisherName": "x"});
    arm.put(&service_path("rg-new", "apim-2"), APIM, &no_publisher)
        .await
        .expect_error(400, "ValidationError");
    arm.put(
        &service_path("nope", "apim-3"),
        APIM,
        &bicep_body(json!({"type": "None"})),
    )
    .await
    .expect_error(404, "ResourceGroupNotFound");
    arm.stop().await;
}

#[tokio::test]
async fn patch_takes_any_valid_property_as_the_python_sdk_sends_it() {
    let mut config = with_apim(&[("apim1", "rg-apim")]);
    seed_identity(&mut config, "apim-id", "rg-apim");
    let arm = Arm::start(config).await;
    // azure-mgmt-apimanagement's begin_update sends `properties` with the identity.
    let body = json!({"properties": {"publisherName": "Fabrikam"},
        "identity": {"type": "SystemAssigned"}, "tags": {"a": "b"}});
    let r = arm.patch(&svc(), APIM, &body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    arm.wait(&r).await;
    let got = arm.get(&svc(), APIM).await.body;
    assert_eq!(got["properties"]["publisherName"], "Fabrikam");
    assert_eq!(got["properties"]["publisherEmail"], "admin@contoso.com");
    assert_eq!(got["tags"], json!({"a": "b"}));
    assert!(got["identity"]["principalId"].is_string());

    let r = arm
        .patch(
            &svc(),
            APIM,
            &json!({"properties": {}, "identity": {"type": "None"}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    arm.wait(&r).await;
    assert_eq!(
        arm.get(&svc(), APIM).await.body["identity"],
        json!({"type": "None"})
    );

    arm.patch(
        &svc(),
        APIM,
        &json!({"properties": {"publicNetworkAccess": "Sometimes"}}),
    )
    .await
    .expect_error(400, "ValidationError");
    arm.patch(&svc(), APIM, &json!({"location": "eastus"}))
        .await
        .expect_error(400, "ValidationError");
    arm.stop().await;
}

#[tokio::test]
async fn account_keys_are_listed_and_regenerated_and_never_shown_elsewhere() {
    let arm = Arm::start(with_apim(&[])).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let path = account_path("rg1", "acc1");
    let got = arm.get(&path, COG).await;
    assert_eq!(
        got.header("etag"),
        got.body["etag"].as_str(),
        "an account's ETag header is its body's etag"
    );
    let keys = arm.post(&format!("{path}/listKeys"), COG).await;
    assert_eq!(keys.status, 200, "{}", keys.body);
    let (k1, k2) = (
        keys.body["key1"].as_str().unwrap().to_string(),
        keys.body["key2"].as_str().unwrap().to_string(),
    );
    assert_eq!(k1.len(), 32);
    assert_ne!(k1, k2);
    assert_eq!(
        arm.post(&format!("{path}/listKeys"), COG).await.body,
        keys.body
    );

    let url = format!("{}{path}/regenerateKey?api-version={COG}", arm.url);
    let r = arm
        .send(Method::POST, &url, Some(&json!({"keyName": "Key2"})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["key1"], k1.as_str());
    assert_ne!(r.body["key2"], k2.as_str());
    arm.send(Method::POST, &url, Some(&json!({"keyName": "Key9"})))
        .await
        .expect_error(400, "InvalidRequestContent");

    let everywhere = format!(
        "{} {} {:?}",
        arm.get(&path, COG).await.body,
        serde_json::to_string(&arm.state().await).unwrap(),
        arm.log().await
    );
    assert!(
        !everywhere.contains(&k1),
        "a key leaked into a GET, the state or the log"
    );
    arm.post(&format!("{}/listKeys", account_path("rg1", "nope")), COG)
        .await
        .expect_error(404, "ResourceNotFound");
    arm.stop().await;
}

#[tokio::test]
async fn built_in_role_definitions_by_id_and_by_name() {
    let arm = Arm::start(with_apim(&[])).await;
    let scope = format!("/subscriptions/{SUB}");
    let user = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
    let by_id = format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{user}");
    let r = arm.get(&by_id, AUTH).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], by_id);
    assert_eq!(
        r.body["properties"]["roleName"],
        "Cognitive Services OpenAI User"
    );
    assert_eq!(r.body["properties"]["type"], "BuiltInRole");
    assert!(
        r.body["properties"]["permissions"][0]["dataActions"]
            .as_array()
            .unwrap()
            .contains(&json!(
                "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
            ))
    );
    let list =
        format!("{scope}/providers/Microsoft.Authorization/roleDefinitions?api-version={AUTH}");
    let named = arm
        .send(
            Method::GET,
            &format!("{list}&$filter=roleName eq 'Cognitive Services OpenAI User'"),
            None,
        )
        .await;
    assert_eq!(named.status, 200, "{}", named.body);
    assert_eq!(named.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(named.body["value"][0]["name"], user);
    let all = arm.send(Method::GET, &list, None).await;
    assert!(all.body["value"].as_array().unwrap().len() >= 8);
    arm.get(
        &format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000001"),
        AUTH,
    )
    .await
    .expect_error(404, "RoleDefinitionDoesNotExist");
    arm.send(
        Method::GET,
        &format!("{list}&$filter=description eq 'x'"),
        None,
    )
    .await
    .expect_error(400, "InvalidFilterInQueryString");
    arm.stop().await;
}

#[tokio::test]
async fn accounts_and_deployments_are_updated_as_begin_update_sends_them() {
    let arm = Arm::start(with_apim(&[])).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let path = account_path("rg1", "acc1");
    // azure-mgmt-cognitiveservices' accounts.begin_update(Account(sku=..., properties=...)).
    let body = json!({"sku": {"name": "S0"}, "properties": {"publicNetworkAccess": "Disabled"}});
    let r = arm.patch(&path, COG, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["publicNetworkAccess"], "Disabled");
    assert_eq!(
        r.body["properties"]["customSubDomainName"], "acc1",
        "what is not sent is kept"
    );
    arm.patch(&path, COG, &json!({"properties": {"noSuchThing": 1}}))
        .await
        .expect_error(400, "InvalidRequestContent");
    arm.patch(&path, COG, &json!({"location": "eastus"}))
        .await
        .expect_error(409, "InvalidResourceLocation");

    let deployment = format!("{path}/deployments/gpt-4o");
    let d = json!({"sku": {"name": "Standard", "capacity": 10},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}}});
    arm.create(&deployment, COG, &d).await;
    // deployments.begin_update(PatchResourceTagsAndSku(sku=Sku(name=..., capacity=20))).
    let r = arm
        .patch(
            &deployment,
            COG,
            &json!({"sku": {"name": "Standard", "capacity": 20}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    arm.wait(&r).await;
    let got = arm.get(&deployment, COG).await.body;
    assert_eq!(got["sku"]["capacity"], 20);
    assert_eq!(got["properties"]["model"]["name"], "gpt-4o");
    arm.patch(
        &deployment,
        COG,
        &json!({"sku": {"name": "Standard", "capacity": 100000}}),
    )
    .await
    .expect_error(400, "InsufficientQuota");
    arm.patch(&deployment, COG, &json!({"properties": {}}))
        .await
        .expect_error(400, "InvalidRequestContent");
    arm.stop().await;
}
