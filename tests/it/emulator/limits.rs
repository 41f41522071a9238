//! What ARM refuses before a resource provider sees it (a body over 4 MB), nesting no
//! reader may recurse into (deep JSON, deep policies), and the test hooks, which answer
//! only with the token of the run.

use reqwest::Method;
use serde_json::json;

use super::{APIM, Arm, RES, openapi_json, rg_path, service_path, with_apim};

fn svc() -> String {
    service_path("rg-apim", "apim1")
}

/// An emulator with a seeded service and an imported API `openai`; the policy's path.
async fn with_api() -> (Arm, String) {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let body = json!({"properties": {"format": "openapi+json", "value": openapi_json("acc1.openai.azure.com"),
        "path": "openai", "displayName": "Azure OpenAI", "protocols": ["https"]}});
    let r = arm
        .put(&format!("{}/apis/openai", svc()), APIM, &body)
        .await;
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    let path = format!("{}/apis/openai/policies/policy", svc());
    (arm, path)
}

fn nested(depth: usize) -> String {
    format!(
        "<policies>{}{}</policies>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    )
}

#[tokio::test]
async fn deep_policies_are_refused_with_a_validation_error() {
    let (arm, path) = with_api().await;
    let put = |value: String| json!({"properties": {"format": "rawxml", "value": value}});
    // 20,000 levels (within the 256 KiB policy limit): the nesting limit names itself.
    let message = arm
        .put(&path, APIM, &put(nested(20_000)))
        .await
        .expect_error(400, "ValidationError");
    assert!(
        message.contains("nested deeper than 64 levels"),
        "{message}"
    );
    // 100,000 levels: over API Management's 256 KiB policy document limit.
    let message = arm
        .put(&path, APIM, &put(nested(100_000)))
        .await
        .expect_error(400, "ValidationError");
    assert!(message.contains("256 KiB"), "{message}");
    // Nothing was stored, and the emulator still answers.
    arm.get(&path, APIM)
        .await
        .expect_error(404, "ResourceNotFound");
    let ok = arm.put(&path, APIM, &put(nested(10))).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    arm.stop().await;
}

#[tokio::test]
async fn deep_json_is_invalid_request_content() {
    let arm = Arm::start(with_apim(&[])).await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = Arm::answer(
        arm.http
            .put(format!(
                "{}{}?api-version={RES}",
                arm.url,
                rg_path("rg-deep")
            ))
            .bearer_auth("t")
            .header("content-type", "application/json")
            .body(deep),
    )
    .await
    .unwrap();
    let message = r.expect_error(400, "InvalidRequestContent");
    assert!(message.contains("recursion limit"), "{message}");
    arm.get(&rg_path("rg-deep"), RES)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    arm.stop().await;
}

#[tokio::test]
async fn bodies_over_4_mb_are_refused_as_arm_does() {
    let arm = Arm::start(with_apim(&[])).await;
    let url = format!("{}{}?api-version={RES}", arm.url, rg_path("rg-big"));
    let big = json!({"location": "westus", "tags": {"t": "x".repeat(4 * 1024 * 1024)}});
    let r = Arm::answer(arm.http.put(&url).bearer_auth("t").json(&big))
        .await
        .unwrap();
    let message = r.expect_error(413, "RequestContentTooLarge");
    assert_eq!(
        message,
        "The request content size exceeds the maximum size of 4 MB."
    );
    arm.get(&rg_path("rg-big"), RES)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    // Just under the cap is read (and judged on its merits).
    let under = json!({"location": "westus", "tags": {"t": "x".repeat(4 * 1024 * 1024 - 100)}});
    let r = Arm::answer(arm.http.put(&url).bearer_auth("t").json(&under))
        .await
        .unwrap();
    assert_ne!(r.status, 413, "{}", r.body);
    let log = arm.log().await;
    assert_eq!(log[0]["status"], 413, "{log:?}");
    arm.stop().await;
}

#[tokio::test]
async fn hooks_answer_only_with_the_token_of_the_run() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    let created = arm
        .put(&rg_path("rg-mine"), RES, &json!({"location": "westus"}))
        .await;
    assert_eq!(created.status, 201);
    let token = arm.running.hook_token().to_string();
    assert_eq!(token.len(), 32, "a 128-bit random token");
    for hook in ["requests", "state", "dataplane", "nothing-here"] {
        let r = arm.hook_with(Method::GET, hook, None, None).await;
        assert_eq!(r.status, 401, "{hook}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "HookTokenRequired");
        let r = arm.hook_with(Method::GET, hook, None, Some("guess")).await;
        assert_eq!(r.status, 403, "{hook}: {}", r.body);
    }
    // Refused calls change nothing: no reset, no faults.
    let r = arm.hook_with(Method::POST, "reset", None, None).await;
    assert_eq!(r.status, 401);
    let faults = json!({"throttle": 1.0});
    let r = arm
        .hook_with(Method::PUT, "faults", Some(&faults), Some(&token[1..]))
        .await;
    assert_eq!(r.status, 403);
    let state = arm.state().await;
    assert!(
        state.iter().any(|r| r["name"] == "rg-mine"),
        "the group survived: {state:?}"
    );
    assert_eq!(
        arm.get(&rg_path("rg-mine"), RES).await.status,
        200,
        "no throttling was configured"
    );
    // Another run has another token.
    let other = Arm::start(with_apim(&[])).await;
    assert_ne!(other.running.hook_token(), token);
    let r = other
        .hook_with(Method::GET, "state", None, Some(&token))
        .await;
    assert_eq!(r.status, 403);
    other.stop().await;
    arm.stop().await;
}
