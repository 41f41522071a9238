//! The official ARM examples (`tests/fixtures/arm-examples/`, copied from
//! Azure/azure-rest-api-specs) replayed against the emulator: each request gets the
//! documented status code and a body of the documented shape. What an example needs
//! (the APIM service, pool members, the account, the scope and principal) is seeded first.

use reqwest::Method;
use serde_json::{Value, json};

use super::{APIM, AUTH, Arm, COG, RES, Resp, assert_shape, openapi_json, with_apim};
use aoai_lb::emulator::{Config, SeedPrincipal};

fn example(name: &str) -> Value {
    let path = crate::util::repo()
        .join("tests/fixtures/arm-examples")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Asserts the documented status and body shape.
#[track_caller]
fn documented(ex: &Value, status: u16, got: &Resp) {
    assert_eq!(got.status, status, "{}", got.body);
    let expected = &ex["responses"][status.to_string()];
    assert!(!expected.is_null(), "the example documents {status}");
    assert_shape(&expected["body"], &got.body, "");
    for name in expected["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        assert!(got.header(name).is_some(), "header {name} is missing");
    }
}

const SERVICE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ApiManagement/service/apimService1";

fn apim_service1() -> Config {
    with_apim(&[("apimService1", "rg1")])
}

#[tokio::test]
async fn create_account() {
    let ex = example("CreateAccount.json");
    let p = &ex["parameters"];
    let arm = Arm::start(Config::default()).await;
    let rg = format!(
        "/subscriptions/{}/resourceGroups/{}",
        p["subscriptionId"].as_str().unwrap(),
        p["resourceGroupName"].as_str().unwrap()
    );
    arm.create(&rg, RES, &json!({"location": "westus"})).await;
    let path = format!(
        "{rg}/providers/Microsoft.CognitiveServices/accounts/{}",
        p["accountName"].as_str().unwrap()
    );
    let created = arm.put(&path, COG, &p["account"]).await;
    documented(&ex, 201, &created);
    assert_eq!(created.body["properties"]["provisioningState"], "Creating");
    assert_eq!(arm.wait(&created).await.body["status"], "Succeeded");
    let again = arm.put(&path, COG, &p["account"]).await;
    documented(&ex, 200, &again);
    assert_eq!(again.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        again.body["identity"]["principalId"], created.body["identity"]["principalId"],
        "a system-assigned identity keeps its principal"
    );
    arm.stop().await;
}

#[tokio::test]
async fn put_deployment() {
    let ex = example("PutDeployment.json");
    let p = &ex["parameters"];
    let arm = Arm::start(Config::default()).await;
    let rg = format!(
        "/subscriptions/{}/resourceGroups/{}",
        p["subscriptionId"].as_str().unwrap(),
        p["resourceGroupName"].as_str().unwrap()
    );
    let account = format!(
        "{rg}/providers/Microsoft.CognitiveServices/accounts/{}",
        p["accountName"].as_str().unwrap()
    );
    // The example deploys a placeholder model ("ada" "1") that no region's catalog offers;
    // its account stands in a region the emulator's catalog snapshot does not cover, where
    // any model is accepted (docs/emulator.md, Model catalog).
    arm.create(&rg, RES, &json!({"location": "westeurope"}))
        .await;
    arm.create(
        &account,
        COG,
        &json!({"kind": "OpenAI", "sku": {"name": "S0"}, "location": "westeurope",
                "properties": {"customSubDomainName": "example-account-name"}}),
    )
    .await;
    let path = format!(
        "{account}/deployments/{}",
        p["deploymentName"].as_str().unwrap()
    );
    let created = arm.put(&path, COG, &p["deployment"]).await;
    documented(&ex, 201, &created);
    assert!(created.header("azure-asyncoperation").is_some());
    assert_eq!(arm.wait(&created).await.body["status"], "Succeeded");
    let again = arm.put(&path, COG, &p["deployment"]).await;
    documented(&ex, 200, &again);
    arm.wait(&again).await;
    assert_eq!(
        arm.get(&path, COG).await.body["properties"]["provisioningState"],
        "Succeeded"
    );
    arm.stop().await;
}

#[tokio::test]
async fn role_assignment_for_a_resource() {
    let ex = example("RoleAssignments_CreateForResource.json");
    let p = &ex["parameters"];
    let scope = format!("/{}", p["scope"].as_str().unwrap());
    let props = &p["parameters"]["properties"];
    let role = props["roleDefinitionId"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    // The example's scope is a Cosmos DB account, its role a custom role and its principal
    // a user: none of them is something the emulator creates, so they are seeded.
    let mut config = Config::default();
    config.seed.scopes.push(scope.clone());
    config.seed.role_definitions.push(role.to_string());
    config.seed.principals.push(SeedPrincipal {
        id: props["principalId"].as_str().unwrap().into(),
        principal_type: "User".into(),
    });
    let arm = Arm::start(config).await;
    let path = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{}",
        p["roleAssignmentName"].as_str().unwrap()
    );
    let created = arm.put(&path, AUTH, &p["parameters"]).await;
    documented(&ex, 201, &created);
    assert_eq!(created.body["properties"]["scope"], scope);
    let again = arm.put(&path, AUTH, &p["parameters"]).await;
    documented(&ex, 200, &again);
    arm.stop().await;
}

#[tokio::test]
async fn proxy_backend() {
    let ex = example("ApiManagementCreateBackendProxyBackend.json");
    let p = &ex["parameters"];
    let arm = Arm::start(apim_service1()).await;
    let path = format!("{SERVICE}/backends/{}", p["backendId"].as_str().unwrap());
    // Every member the example sends is in the 2024-05-01 schema, so ARM accepts it.
    documented(&ex, 201, &arm.put(&path, APIM, &p["parameters"]).await);
    let again = arm.put(&path, APIM, &p["parameters"]).await;
    documented(&ex, 200, &again);
    assert_eq!(again.body["properties"]["type"], "Single");
    arm.stop().await;
}

async fn pool_example(file: &str) {
    let ex = example(file);
    let p = &ex["parameters"];
    let arm = Arm::start(apim_service1()).await;
    for member in p["parameters"]["properties"]["pool"]["services"]
        .as_array()
        .unwrap()
    {
        let id = member["id"].as_str().unwrap();
        let r = arm
            .put(
                id,
                APIM,
                &json!({"properties": {"url": "https://backend.example/", "protocol": "http"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let path = format!("{SERVICE}/backends/{}", p["backendId"].as_str().unwrap());
    documented(&ex, 201, &arm.put(&path, APIM, &p["parameters"]).await);
    documented(&ex, 200, &arm.put(&path, APIM, &p["parameters"]).await);
    arm.stop().await;
}

#[tokio::test]
async fn priority_based_pool() {
    pool_example("ApiManagementCreateBackendWithPriorityBasedLoadBalancer.json").await;
}

#[tokio::test]
async fn simple_pool() {
    pool_example("ApiManagementCreateBackendWithSimpleLoadBalancer.json").await;
}

#[tokio::test]
async fn api_policy() {
    let ex = example("ApiManagementCreateApiPolicy.json");
    let p = &ex["parameters"];
    let arm = Arm::start(apim_service1()).await;
    let api = format!("{SERVICE}/apis/{}", p["apiId"].as_str().unwrap());
    arm.create(
        &api,
        APIM,
        &json!({"properties": {"format": "openapi+json", "value": openapi_json("a.openai.azure.com"), "path": "openai"}}),
    )
    .await;
    let path = format!(
        "{api}/policies/{}?api-version={APIM}",
        p["policyId"].as_str().unwrap()
    );
    let send = || async {
        let r = arm
            .http
            .put(format!("{}{path}", arm.url))
            .bearer_auth("t")
            .header("If-Match", p["If-Match"].as_str().unwrap())
            .json(&p["parameters"])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Resp {
            status,
            headers,
            body: r.json().await.unwrap(),
        }
    };
    let created = send().await;
    documented(&ex, 201, &created);
    // The value comes back reformatted exactly as the example shows.
    assert_eq!(
        created.body["properties"]["value"],
        ex["responses"]["201"]["body"]["properties"]["value"]
    );
    let again = send().await;
    documented(&ex, 200, &again);
    assert_eq!(
        again.body["properties"]["value"],
        ex["responses"]["200"]["body"]["properties"]["value"]
    );
    arm.stop().await;
}

/// The petstore document the example links to, inline (written here, not downloaded).
const PETSTORE: &str = "openapi: 3.0.0
info:
  title: Swagger Petstore
  version: 1.0.0
servers:
  - url: http://petstore.swagger.io/v1
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        '200':
          description: A list of pets.
";

#[tokio::test]
async fn api_import_openapi3() {
    let ex = example("ApiManagementCreateApiUsingOai3Import.json");
    let p = &ex["parameters"];
    let arm = Arm::start(apim_service1()).await;
    let path = format!("{SERVICE}/apis/{}", p["apiId"].as_str().unwrap());

    // As sent, the example asks ARM to download the spec from GitHub. Real ARM answers 201
    // when it can download the link and 400 ValidationError when it cannot; the emulator
    // has no network (tests reach only 127.0.0.1), so it cannot, and answers what ARM
    // answers for an unreachable link. Nothing is created.
    let linked = arm.put(&path, APIM, &p["parameters"]).await;
    let message = linked.expect_error(400, "ValidationError");
    assert!(message.contains("Unable to download"), "{message}");
    assert_eq!(arm.get(&path, APIM).await.status, 404);

    // The same import with the document inline gets the documented answers.
    let mut inline = p["parameters"].clone();
    inline["properties"]["format"] = json!("openapi");
    inline["properties"]["value"] = json!(PETSTORE);
    let created = arm.put(&path, APIM, &inline).await;
    documented(&ex, 201, &created);
    assert_eq!(
        created.body["properties"]["displayName"],
        "Swagger Petstore"
    );
    assert_eq!(
        created.body["properties"]["serviceUrl"],
        "http://petstore.swagger.io/v1"
    );
    assert_eq!(
        created.body["properties"]["provisioningState"],
        "InProgress"
    );
    // The example's operation URLs: Location is the API's own URL with asyncId and the
    // asyncCode it ends with; Azure-AsyncOperation is the service's tenant/operationResults.
    let location = created.header("location").unwrap().to_string();
    assert!(
        location.contains(&format!("{path}?api-version={APIM}&asyncId="))
            && location.ends_with("&asyncCode=201"),
        "{location}"
    );
    let status = created.header("azure-asyncoperation").unwrap();
    assert!(
        status.contains(&format!("{SERVICE}/tenant/operationResults/")),
        "{status}"
    );
    let done = arm.send(Method::GET, &location, None).await;
    assert_eq!(
        done.status, 201,
        "Location ends with the asyncCode and the API: {}",
        done.body
    );
    assert_eq!(done.body["properties"]["path"], "petstore");
    let replaced = arm.put(&path, APIM, &inline).await;
    documented(&ex, 200, &replaced);
    assert!(
        replaced
            .header("location")
            .unwrap()
            .ends_with("&asyncCode=200"),
        "{:?}",
        replaced.header("location")
    );
    arm.stop().await;
}
