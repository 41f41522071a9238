//! API Management (service identity, backends and pools, APIs, policies, subscriptions)
//! and role assignments, with the checks ARM and API Management make.

use serde_json::{Value, json};

use super::{
    APIM, AUTH, Arm, MSI, account, account_path, openapi_json, rg_path, seed_identity,
    service_path, with_apim,
};

const OPENAI_USER: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
const NAME_1: &str = "6f3b8a52-0d7e-4f3a-9a61-3c1f0b6c2d11";
const NAME_2: &str = "0b9d2e4c-7a11-4c55-8e2f-5d6a7b8c9d22";

fn svc() -> String {
    service_path("rg-apim", "apim1")
}

fn role_body(sub_scope: &str, principal: &str) -> Value {
    json!({"properties": {
        "roleDefinitionId": format!("{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{OPENAI_USER}"),
        "principalId": principal,
        "principalType": "ServicePrincipal"
    }})
}

/// Turns on the service's system-assigned identity; returns its principal id.
async fn system_identity(arm: &Arm) -> String {
    let r = arm
        .patch(
            &svc(),
            APIM,
            &json!({"identity": {"type": "SystemAssigned"}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.header("location").is_some() && r.header("azure-asyncoperation").is_some());
    let done = arm
        .send(reqwest::Method::GET, r.header("location").unwrap(), None)
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    done.body["identity"]["principalId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_service_and_its_identity() {
    let mut config = with_apim(&[("apim1", "rg-apim")]);
    seed_identity(&mut config, "apim-id", "rg-apim");
    let arm = Arm::start(config).await;
    let got = arm.get(&svc(), APIM).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.body["properties"]["gatewayUrl"],
        format!("{}/gateway/apim1", arm.url),
        "the gateway is the emulator's data plane"
    );
    assert_eq!(got.body["sku"]["name"], "Developer");
    assert_eq!(got.body["identity"]["type"], "None");
    arm.get(&service_path("rg-apim", "other"), APIM)
        .await
        .expect_error(404, "ResourceNotFound");

    let principal = system_identity(&arm).await;
    let again = arm
        .patch(
            &svc(),
            APIM,
            &json!({"identity": {"type": "SystemAssigned"}}),
        )
        .await;
    arm.wait(&again).await;
    assert_eq!(
        arm.get(&svc(), APIM).await.body["identity"]["principalId"],
        principal,
        "an identity already on keeps its principal"
    );

    let uai = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/apim-id",
        rg_path("rg-apim")
    );
    let identity = arm.get(&uai, MSI).await;
    assert_eq!(identity.status, 200);
    let client_id = identity.body["properties"]["clientId"]
        .as_str()
        .unwrap()
        .to_string();
    let both = json!({"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {uai.clone(): {}}}});
    arm.wait(&arm.patch(&svc(), APIM, &both).await).await;
    let got = arm.get(&svc(), APIM).await.body;
    assert_eq!(got["identity"]["principalId"], principal);
    assert_eq!(
        got["identity"]["userAssignedIdentities"][&uai]["clientId"],
        client_id
    );

    let missing = uai.replace("apim-id", "nobody");
    arm.patch(
        &svc(),
        APIM,
        &json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {missing: {}}}}),
    )
    .await
    .expect_error(400, "ValidationError");
    arm.patch(&svc(), APIM, &json!({"identity": {"type": "Sometimes"}}))
        .await
        .expect_error(400, "ValidationError");
    arm.wait(
        &arm.patch(&svc(), APIM, &json!({"identity": {"type": "None"}}))
            .await,
    )
    .await;
    assert_eq!(
        arm.get(&svc(), APIM).await.body["identity"],
        json!({"type": "None"})
    );
    arm.stop().await;
}

#[tokio::test]
async fn principal_not_found_during_replication_then_success() {
    let mut config = with_apim(&[("apim1", "rg-apim")]);
    config.principal_replication_seconds = Some(0.3);
    let arm = Arm::start(config).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let principal = system_identity(&arm).await;
    let scope = account_path("rg1", "acc1");
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{NAME_1}");
    let body = role_body(
        "/subscriptions/00000000-0000-0000-0000-000000000000",
        &principal,
    );
    // Retry with backoff, as a client must (azure-docs #103085).
    let mut refused = 0;
    let created = loop {
        let r = arm.put(&path, AUTH, &body).await;
        if r.status != 400 {
            break r;
        }
        let message = r.expect_error(400, "PrincipalNotFound");
        assert!(message.contains(&principal.replace('-', "")), "{message}");
        refused += 1;
        assert!(refused < 100, "still not replicated");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        refused >= 1,
        "the first attempt falls in the replication window"
    );
    let log = arm.log().await;
    let patch = log.iter().find(|e| e["method"] == "PATCH").unwrap();
    let success = log
        .iter()
        .rev()
        .find(|e| e["method"] == "PUT" && e["status"] == 201)
        .unwrap();
    // The principal is issued while the PATCH is handled, after its start; its end can
    // be logged later still on a loaded machine, so the window is counted from the start.
    assert!(
        success["startMs"].as_u64().unwrap() + 5 >= patch["startMs"].as_u64().unwrap() + 300,
        "success only after the window: {patch} {success}"
    );
    arm.stop().await;
}

#[tokio::test]
async fn role_assignment_rules() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let principal = system_identity(&arm).await;
    let scope = account_path("rg1", "acc1");
    let at =
        |name: &str| format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}");
    let sub_scope = "/subscriptions/00000000-0000-0000-0000-000000000000";
    let body = role_body(sub_scope, &principal);

    arm.put(&at("not-a-guid"), AUTH, &body)
        .await
        .expect_error(400, "InvalidRoleAssignmentId");
    let mut bad_role = body.clone();
    bad_role["properties"]["roleDefinitionId"] = json!(format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{NAME_2}"
    ));
    arm.put(&at(NAME_1), AUTH, &bad_role)
        .await
        .expect_error(400, "RoleDefinitionDoesNotExist");
    arm.put(&at(NAME_1), AUTH, &role_body(sub_scope, NAME_2))
        .await
        .expect_error(400, "PrincipalNotFound");
    let elsewhere = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/{NAME_1}",
        account_path("rg1", "nothing")
    );
    arm.put(&elsewhere, AUTH, &body)
        .await
        .expect_error(404, "ResourceNotFound");

    let created = arm.put(&at(NAME_1), AUTH, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let props = &created.body["properties"];
    assert_eq!(props["scope"], scope);
    assert_eq!(props["principalType"], "ServicePrincipal");
    assert!(props["createdOn"].is_string() && props["updatedOn"].is_string());
    assert_eq!(
        arm.put(&at(NAME_1), AUTH, &body).await.status,
        200,
        "idempotent"
    );
    let mut described = body.clone();
    described["properties"]["description"] = json!("marked");
    let updated = arm.put(&at(NAME_1), AUTH, &described).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        arm.get(&at(NAME_1), AUTH).await.body["properties"]["description"],
        "marked",
        "the description of an assignment changes in place"
    );

    arm.put(&at(NAME_2), AUTH, &body)
        .await
        .expect_error(409, "RoleAssignmentExists");
    let mut other_role = body.clone();
    other_role["properties"]["roleDefinitionId"] = json!(format!(
        "{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908"
    ));
    arm.put(&at(NAME_1), AUTH, &other_role)
        .await
        .expect_error(400, "RoleAssignmentUpdateNotPermitted");

    let deleted = arm.delete(&at(NAME_1), AUTH).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["name"], NAME_1);
    assert_eq!(arm.delete(&at(NAME_1), AUTH).await.status, 204);
    arm.get(&at(NAME_1), AUTH)
        .await
        .expect_error(404, "ResourceNotFound");
    arm.stop().await;
}

fn single(url: &str) -> Value {
    json!({"properties": {"url": url, "protocol": "http", "description": "d",
        "circuitBreaker": {"rules": [{"name": "r", "failureCondition": {"count": 1, "interval": "PT1M",
            "statusCodeRanges": [{"min": 429, "max": 429}]}, "tripDuration": "PT1M", "acceptRetryAfter": true}]}}})
}

fn pool(members: &[(&str, i64)]) -> Value {
    let services: Vec<Value> = members
        .iter()
        .map(
            |(id, p)| json!({"id": format!("{}/backends/{id}", svc()), "priority": p, "weight": 1}),
        )
        .collect();
    json!({"properties": {"type": "Pool", "description": "pool", "pool": {"services": services}}})
}

#[tokio::test]
async fn backends_and_pools() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let b = |id: &str| format!("{}/backends/{id}", svc());
    let r = arm
        .put(
            &b("b1"),
            APIM,
            &single("https://acc1.openai.azure.com/openai"),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        arm.get(&b("b1"), APIM).await.body["properties"]["type"],
        "Single"
    );
    arm.put(
        &b("b2"),
        APIM,
        &json!({"properties": {"description": "no url"}}),
    )
    .await
    .expect_error(400, "ValidationError");

    let mut with_url = pool(&[("b1", 1)]);
    with_url["properties"]["url"] = json!("https://x/");
    let message = arm
        .put(&b("p"), APIM, &with_url)
        .await
        .expect_error(400, "ValidationError");
    assert!(
        message.contains("Url is not supported for backend pool"),
        "{message}"
    );
    arm.put(&b("p"), APIM, &pool(&[("b1", 1), ("missing", 2)]))
        .await
        .expect_error(400, "ValidationError");
    arm.put(&b("p"), APIM, &pool(&[("b1", 101)]))
        .await
        .expect_error(400, "ValidationError");
    let created = arm.put(&b("p"), APIM, &pool(&[("b1", 1)])).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["properties"]["type"], "Pool");

    arm.delete(&b("b1"), APIM)
        .await
        .expect_error(409, "Conflict");
    assert_eq!(arm.delete(&b("p"), APIM).await.status, 200);
    assert_eq!(arm.delete(&b("b1"), APIM).await.status, 200);
    assert_eq!(arm.delete(&b("b1"), APIM).await.status, 204);
    arm.stop().await;
}

async fn api(arm: &Arm, id: &str, path: &str) -> super::Resp {
    let body = json!({"properties": {"format": "openapi+json", "value": openapi_json("acc1.openai.azure.com"),
        "path": path, "displayName": "Azure OpenAI", "protocols": ["https"],
        "subscriptionKeyParameterNames": {"header": "api-key", "query": "api-key"}}});
    arm.put(&format!("{}/apis/{id}", svc()), APIM, &body).await
}

#[tokio::test]
async fn api_import() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let r = api(&arm, "openai", "openai").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.header("location").is_some() && r.header("azure-asyncoperation").is_some());
    assert_eq!(r.body["properties"]["provisioningState"], "InProgress");
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let got = arm.get(&format!("{}/apis/openai", svc()), APIM).await.body;
    let p = &got["properties"];
    assert_eq!(p["apiRevision"], "1");
    assert_eq!(p["isCurrent"], true);
    assert!(p.get("type").is_none(), "an http API has no type: {p}");
    assert_eq!(p["serviceUrl"], "https://acc1.openai.azure.com/openai");
    assert!(p.get("value").is_none(), "GET does not return the document");

    api(&arm, "other", "/OpenAI/")
        .await
        .expect_error(409, "Conflict");
    let bad = json!({"properties": {"format": "openapi+json", "value": "{\"swagger\": \"2.0\"}", "path": "x"}});
    arm.put(&format!("{}/apis/bad", svc()), APIM, &bad)
        .await
        .expect_error(400, "ValidationError");
    arm.stop().await;
}

const RAW_POLICY: &str = r#"<policies>
    <inbound>
        <base />
        <authentication-managed-identity resource="https://cognitiveservices.azure.com" output-token-variable-name="t" />
        <set-header name="Authorization" exists-action="override">
            <value>@("Bearer " + (string)context.Variables["t"])</value>
        </set-header>
        <set-backend-service backend-id="pool" />
    </inbound>
    <backend>
        <retry condition="@(context.Response.StatusCode == 429 && context.Response != null)" count="1" interval="0">
            <forward-request buffer-request-body="true" />
        </retry>
    </backend>
</policies>"#;

#[tokio::test]
async fn policies_in_xml_and_rawxml() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    arm.wait(&api(&arm, "openai", "openai").await).await;
    let path = format!("{}/apis/openai/policies/policy", svc());
    let put = |format: &str, value: &str| json!({"properties": {"format": format, "value": value}});

    arm.put(&path, APIM, &put("rawxml", RAW_POLICY))
        .await
        .expect_error(400, "ValidationError"); // managed identity off, backend missing
    system_identity(&arm).await;
    let message = arm
        .put(&path, APIM, &put("rawxml", RAW_POLICY))
        .await
        .expect_error(400, "ValidationError");
    assert!(
        message.contains("Backend with id 'pool' could not be found"),
        "{message}"
    );
    arm.put(
        &format!("{}/backends/b1", svc()),
        APIM,
        &single("https://a/"),
    )
    .await;
    arm.put(
        &format!("{}/backends/pool", svc()),
        APIM,
        &pool(&[("b1", 1)]),
    )
    .await;
    arm.put(&path, APIM, &put("xml", RAW_POLICY))
        .await
        .expect_error(400, "ValidationError");
    let with_client = RAW_POLICY.replace("output-token", "client-id=\"123\" output-token");
    arm.put(&path, APIM, &put("rawxml", &with_client))
        .await
        .expect_error(400, "ValidationError");
    arm.put(&path, APIM, &put("rawxml", "<inbound />"))
        .await
        .expect_error(400, "ValidationError");

    let created = arm.put(&path, APIM, &put("rawxml", RAW_POLICY)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let xml = arm.get(&path, APIM).await.body;
    assert_eq!(xml["properties"]["format"], "xml");
    let value = xml["properties"]["value"].as_str().unwrap();
    assert!(
        value.starts_with("<policies>\r\n  <inbound>\r\n    <base />\r\n"),
        "{value}"
    );
    assert!(
        value.contains("@(&quot;Bearer &quot; + (string)context.Variables[&quot;t&quot;])"),
        "{value}"
    );
    assert!(value.contains("condition=\"@(context.Response.StatusCode == 429 &amp;&amp; context.Response != null)\""), "{value}");
    assert!(
        !value.replace("\r\n", "").contains('\n'),
        "CRLF only: {value}"
    );
    let raw = arm.get(&format!("{path}?format=rawxml"), APIM).await.body;
    assert_eq!(raw["properties"]["format"], "rawxml");
    assert_eq!(raw["properties"]["value"], RAW_POLICY);
    // The xml form is accepted back as it is.
    assert_eq!(arm.put(&path, APIM, &put("xml", value)).await.status, 200);

    assert_eq!(arm.delete(&path, APIM).await.status, 200);
    assert_eq!(arm.get(&path, APIM).await.status, 404);
    arm.stop().await;
}

#[tokio::test]
async fn subscriptions_and_their_keys() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    arm.wait(&api(&arm, "openai", "openai").await).await;
    let path = format!("{}/subscriptions/clients", svc());
    let body = |scope: &str| json!({"properties": {"scope": scope, "displayName": "clients", "state": "active"}});
    arm.put(&path, APIM, &body("/apis/nothing"))
        .await
        .expect_error(400, "ValidationError");
    let created = arm.put(&path, APIM, &body("/apis/openai")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let got = arm.get(&path, APIM).await.body;
    assert!(
        got["properties"].get("primaryKey").is_none(),
        "GET omits keys: {got}"
    );
    assert!(
        got["properties"]["scope"]
            .as_str()
            .unwrap()
            .ends_with("/apis/openai")
    );
    let secrets = arm.post(&format!("{path}/listSecrets"), APIM).await;
    assert_eq!(secrets.status, 200);
    let primary = secrets.body["primaryKey"].as_str().unwrap().to_string();
    assert!(primary.len() >= 32 && secrets.body["secondaryKey"].is_string());
    arm.put(&path, APIM, &body("/apis/openai")).await;
    assert_eq!(
        arm.post(&format!("{path}/listSecrets"), APIM).await.body["primaryKey"],
        primary,
        "an update keeps the keys"
    );
    let state = serde_json::to_string(&arm.state().await).unwrap();
    assert!(!state.contains(&primary), "the state hook never shows keys");
    assert_eq!(arm.delete(&path, APIM).await.status, 200);
    arm.post(&format!("{path}/listSecrets"), APIM)
        .await
        .expect_error(404, "ResourceNotFound");
    arm.stop().await;
}
