//! ARM's protocol, for every resource: bearer tokens, api-versions, case-insensitive
//! keywords and names, error bodies, long-running operation headers, unknown types.

use reqwest::Method;
use serde_json::json;

use super::{APIM, Arm, COG, RES, SUB, account, account_path, rg_path};
use aoai_lb::emulator::{Config, Latency};

#[tokio::test]
async fn requests_without_a_bearer_token_are_refused() {
    let arm = Arm::start(Config::default()).await;
    let target = format!("{}?api-version={RES}", rg_path("rg1"));
    let r = arm
        .try_send(
            Method::PUT,
            &target,
            Some(&json!({"location": "westus"})),
            false,
        )
        .await
        .unwrap();
    r.expect_error(401, "AuthenticationFailed");
    assert!(r.header("www-authenticate").is_some());
    assert_eq!(
        arm.get(&rg_path("rg1"), RES).await.status,
        404,
        "nothing was created"
    );
    let log = arm.log().await;
    assert_eq!(log[0]["status"], 401);
    assert_eq!(log[0]["method"], "PUT");
    arm.stop().await;
}

#[tokio::test]
async fn api_versions_are_required_and_checked_per_provider() {
    let arm = Arm::start(Config::default()).await;
    let r = arm.send(Method::GET, &rg_path("rg1"), None).await;
    r.expect_error(400, "MissingApiVersionParameter");
    // Microsoft.Resources answers for itself; a provider's type is refused by routing.
    let r = arm.get(&rg_path("rg1"), COG).await;
    let message = r.expect_error(400, "InvalidApiVersionParameter");
    assert!(
        message.starts_with(&format!(
            "The api-version '{COG}' is invalid. The supported versions are '2025-04-01,"
        )),
        "{message}"
    );
    assert!(message.contains(RES), "{message}");
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let message = arm
        .get(&account_path("rg1", "a1"), APIM)
        .await
        .expect_error(400, "NoRegisteredProviderFound");
    assert!(
        message.starts_with(&format!("No registered resource provider found for location 'westus' and API version '{APIM}' for type 'accounts'. The supported api-versions are '")),
        "{message}"
    );
    assert!(message.contains(COG), "{message}");
    arm.stop().await;
}

#[tokio::test]
async fn keywords_and_names_are_case_insensitive_and_kept_as_first_written() {
    let arm = Arm::start(Config::default()).await;
    let created = arm
        .put(
            &format!("/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/MyGroup"),
            RES,
            &json!({"location": "westus"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let r = arm
        .get(&format!("/subscriptions/{SUB}/resourcegroups/mygroup"), RES)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "MyGroup");
    assert_eq!(
        r.body["id"],
        format!("/subscriptions/{SUB}/resourceGroups/MyGroup")
    );
    let again = arm
        .put(&rg_path("MYGROUP"), RES, &json!({"location": "westus"}))
        .await;
    assert_eq!(again.status, 200, "the same group");
    assert_eq!(again.body["name"], "MyGroup");

    account(&arm, "rg1", "Acc-One", "westus").await;
    let path = format!(
        "/subscriptions/{SUB}/resourcegroups/RG1/PROVIDERS/microsoft.cognitiveservices/ACCOUNTS/acc-one"
    );
    let r = arm.get(&path, COG).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Acc-One");
    arm.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_get_arm_errors() {
    let arm = Arm::start(Config::default()).await;
    arm.get(
        &format!(
            "{}/providers/Microsoft.Storage/storageAccounts/s1",
            rg_path("rg1")
        ),
        "2023-01-01",
    )
    .await
    .expect_error(400, "NoRegisteredProviderFound");
    arm.get(
        &format!(
            "{}/providers/Microsoft.ApiManagement/service/s/products/p",
            rg_path("rg1")
        ),
        APIM,
    )
    .await
    .expect_error(404, "InvalidResourceType");
    arm.send(Method::GET, "/nothing-here", None)
        .await
        .expect_error(404, "NotFound");
    arm.post(&rg_path("rg1"), RES)
        .await
        .expect_error(405, "MethodNotAllowed");
    arm.put(
        &rg_path("rg1"),
        RES,
        &json!({"location": "westus", "colour": "blue"}),
    )
    .await
    .expect_error(400, "InvalidRequestContent");
    arm.put(&rg_path("rg1"), RES, &json!({"tags": {}}))
        .await
        .expect_error(400, "LocationRequired");
    let r = arm
        .http
        .put(format!("{}{}?api-version={RES}", arm.url, rg_path("rg1")))
        .bearer_auth("t")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    arm.stop().await;
}

#[tokio::test]
async fn resource_group_delete_is_a_long_running_operation_that_takes_the_contents() {
    let arm = Arm::start(Config::default()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let r = arm.delete(&rg_path("rg1"), RES).await;
    assert_eq!(r.status, 202);
    // As recorded (TestDeployment.json): /subscriptions/{s}/operationresults/{token},
    // ending in 200 with no body.
    let location = r.header("location").unwrap();
    let path = location.split('?').next().unwrap();
    assert!(
        path.ends_with(&format!(
            "/subscriptions/{SUB}/operationresults/{}",
            path.rsplit('/').next().unwrap()
        )),
        "{location}"
    );
    assert!(
        location.ends_with(&format!("?api-version={RES}")),
        "{location}"
    );
    assert!(r.header("retry-after").is_some());
    let end = arm.wait(&r).await;
    assert_eq!(end.status, 200);
    assert_eq!(end.body, serde_json::Value::Null, "no body");
    arm.get(&rg_path("rg1"), RES)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    arm.get(&account_path("rg1", "acc1"), COG)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    let deleted = arm
        .get(
            &format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/deletedAccounts"),
            COG,
        )
        .await;
    assert_eq!(
        deleted.body["value"][0]["name"], "acc1",
        "accounts go to soft-delete"
    );
    arm.delete(&rg_path("rg1"), RES)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    arm.stop().await;
}

#[tokio::test]
async fn azure_latency_sends_scaled_retry_after_and_marks_early_polls() {
    let config = Config {
        latency: Latency::Azure,
        // Large enough that the immediate poll lands inside the operation (1.5 s) and
        // its Retry-After (0.5 s) even on a busy machine.
        time_scale: 0.05,
        ..Config::default()
    };
    let arm = Arm::start(config).await;
    arm.create(&rg_path("rg1"), RES, &json!({"location": "westus"}))
        .await;
    let r = arm
        .put(
            &account_path("rg1", "acc1"),
            COG,
            &json!({"kind": "OpenAI", "sku": {"name": "S0"}, "location": "westus", "properties": {"customSubDomainName": "acc1"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    // Account create: 30 s, Retry-After 10 s; scaled by 0.05.
    assert_eq!(
        r.header("retry-after"),
        Some("1"),
        "whole seconds, at least 1"
    );
    assert_eq!(r.header("retry-after-ms"), Some("500"));
    let status_url = r.header("azure-asyncoperation").unwrap().to_string();
    let poll = arm.send(Method::GET, &status_url, None).await;
    assert_eq!(poll.body["status"], "Creating", "1.5 s have not passed");
    assert_eq!(poll.header("retry-after-ms"), Some("500"));
    let end = arm.wait(&poll_with_url(&status_url)).await;
    assert_eq!(end.body["status"], "Succeeded");
    let log = arm.log().await;
    let polls: Vec<_> = log
        .iter()
        .filter(|e| e["path"].as_str().unwrap().contains("operationResults"))
        .collect();
    assert!(
        polls[0]["early"].as_bool().unwrap(),
        "the immediate poll was early: {log:?}"
    );
    let put = log
        .iter()
        .find(|e| e["method"] == "PUT" && e["path"].as_str().unwrap().contains("accounts"))
        .unwrap();
    let last = polls.last().unwrap();
    assert!(
        last["startMs"].as_u64().unwrap() >= put["startMs"].as_u64().unwrap() + 1500,
        "the operation ends no sooner than its scaled duration: {log:?}"
    );
    assert!(
        !last["early"].as_bool().unwrap(),
        "polls that honour retry-after-ms are not early"
    );
    arm.stop().await;
}

/// A response that only carries an `Azure-AsyncOperation` URL, to resume waiting on it.
fn poll_with_url(url: &str) -> super::Resp {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("azure-asyncoperation", url.parse().unwrap());
    super::Resp {
        status: 201,
        headers,
        body: serde_json::Value::Null,
    }
}
