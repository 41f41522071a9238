//! The ARM layer against a scripted ARM: every long-running-operation style, retries
//! that honour Retry-After (asserted on the server's request timestamps, not with
//! sleeps), errors that carry ARM's code and message, and logs that hold no secret.

use std::time::{Duration, Instant};

use aoai_lb::arm::ArmError;
use serde_json::{Value, json};

use crate::scripted::{Scripted, Seen, TOKEN, client, fast_options, reply};

const ID: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a1";
const V: &str = "2024-10-01";

fn resource(state: &str) -> Value {
    json!({ "id": ID, "name": "a1", "properties": { "provisioningState": state, "endpoint": "https://a1.openai.azure.com/" } })
}

fn gaps(seen: &[Seen], method: &str, path_part: &str) -> Vec<Duration> {
    let times: Vec<Duration> = seen
        .iter()
        .filter(|s| s.method == method && s.path.contains(path_part))
        .map(|s| s.at)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test]
async fn azure_async_operation_is_polled_at_retry_after_then_the_resource_is_read() {
    let server = Scripted::start(|method, path, n, base| match (method, path) {
        ("PUT", _) => reply(201, resource("Creating"))
            .header(
                "azure-asyncoperation",
                format!("{base}/ops/1?api-version=2024-10-01"),
            )
            .header("retry-after-ms", "60"),
        ("GET", "/ops/1") if n < 3 => {
            reply(200, json!({ "status": "InProgress" })).header("retry-after-ms", "60")
        }
        ("GET", "/ops/1") => reply(200, json!({ "status": "Succeeded" })),
        ("GET", _) => reply(200, resource("Succeeded")),
        _ => reply(500, json!({})),
    })
    .await;
    let c = client(&server.url, fast_options());
    let body = c
        .put(ID, V, &json!({ "location": "westus" }))
        .await
        .unwrap();
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    let seen = server.seen();
    let polls = gaps(&seen, "GET", "/ops/1");
    assert_eq!(polls.len(), 2, "{seen:?}");
    // The first poll waits the PUT's Retry-After, each next one the poll's.
    let put_at = seen.iter().find(|s| s.method == "PUT").unwrap().at;
    let first_poll = seen.iter().find(|s| s.path == "/ops/1").unwrap().at;
    assert!(
        first_poll - put_at >= Duration::from_millis(60),
        "{:?}",
        first_poll - put_at
    );
    assert!(
        polls.iter().all(|g| *g >= Duration::from_millis(60)),
        "{polls:?}"
    );
    let counts = c.counts();
    assert_eq!((counts.writes, counts.polls, counts.reads), (1, 3, 1));
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some(&format!("Bearer {TOKEN}")))
    );
}

#[tokio::test]
async fn location_is_polled_until_it_stops_answering_202() {
    let server = Scripted::start(|method, path, n, base| match (method, path) {
        ("PUT", _) => reply(202, Value::Null)
            .header("location", format!("{base}/loc/7"))
            .header("retry-after-ms", "30"),
        ("GET", "/loc/7") if n < 2 => reply(202, Value::Null).header("retry-after-ms", "30"),
        ("GET", "/loc/7") => reply(200, resource("Succeeded")),
        ("GET", _) => reply(200, resource("Succeeded")),
        _ => reply(500, json!({})),
    })
    .await;
    let c = client(&server.url, fast_options());
    c.put(ID, V, &json!({})).await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.iter().filter(|s| s.path == "/loc/7").count(), 2);
    assert!(
        gaps(&seen, "GET", "/loc/7")
            .iter()
            .all(|g| *g >= Duration::from_millis(30))
    );
}

#[tokio::test]
async fn provisioning_state_alone_is_followed_and_nothing_is_done_while_creating() {
    let server = Scripted::start(|method, _path, n, _| match method {
        "PUT" => reply(201, resource("Creating")),
        _ if n < 4 => reply(200, resource("Creating")).header("retry-after-ms", "20"),
        _ => reply(200, resource("Succeeded")),
    })
    .await;
    let c = client(&server.url, fast_options());
    let body = c.put(ID, V, &json!({})).await.unwrap();
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        server.seen().iter().filter(|s| s.method == "GET").count(),
        4
    );
}

#[tokio::test]
async fn an_operation_that_says_succeeded_while_the_resource_still_provisions_is_not_done() {
    let server = Scripted::start(|method, path, n, base| match (method, path) {
        ("PUT", _) => {
            reply(201, resource("Creating")).header("azure-asyncoperation", format!("{base}/ops/2"))
        }
        ("GET", "/ops/2") => reply(200, json!({ "status": "Succeeded" })),
        ("GET", _) if n < 3 => reply(200, resource("Updating")),
        ("GET", _) => reply(200, resource("Succeeded")),
        _ => reply(500, json!({})),
    })
    .await;
    let c = client(&server.url, fast_options());
    let body = c.put(ID, V, &json!({})).await.unwrap();
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        server
            .seen()
            .iter()
            .filter(|s| s.method == "GET" && s.path == ID)
            .count(),
        3
    );
}

#[tokio::test]
async fn a_failed_operation_surfaces_arms_error() {
    let server = Scripted::start(|method, path, _, base| match (method, path) {
        ("PUT", _) => reply(201, resource("Creating")).header("azure-asyncoperation", format!("{base}/ops/3")),
        ("GET", "/ops/3") => reply(200, json!({ "status": "Failed", "error": { "code": "InsufficientQuota", "message": "not enough quota in westus" } })),
        _ => reply(500, json!({})),
    })
    .await;
    let c = client(&server.url, fast_options());
    let err = c.put(ID, V, &json!({})).await.unwrap_err();
    assert_eq!(err.code(), Some("InsufficientQuota"));
    let text = err.to_string();
    assert!(
        text.contains("PUT") && text.contains(ID) && text.contains("not enough quota in westus"),
        "{text}"
    );
}

#[tokio::test]
async fn throttling_waits_what_retry_after_says() {
    let server = Scripted::start(|_, _, n, _| {
        if n <= 2 {
            reply(
                429,
                json!({ "error": { "code": "TooManyRequests", "message": "slow down" } }),
            )
            .header("retry-after-ms", "120")
        } else {
            reply(200, resource("Succeeded"))
        }
    })
    .await;
    let c = client(&server.url, fast_options());
    assert!(c.get(ID, V).await.unwrap().is_some());
    let g = gaps(&server.seen(), "GET", ID);
    assert_eq!(g.len(), 2);
    assert!(g.iter().all(|g| *g >= Duration::from_millis(120)), "{g:?}");
    assert_eq!(c.counts().retries, 2);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured_too() {
    let server = Scripted::start(|_, _, n, _| {
        if n == 1 {
            reply(503, json!({})).header("retry-after", "1")
        } else {
            reply(200, resource("Succeeded"))
        }
    })
    .await;
    let c = client(&server.url, fast_options());
    c.get(ID, V).await.unwrap();
    assert!(gaps(&server.seen(), "GET", ID)[0] >= Duration::from_secs(1));
}

#[tokio::test]
async fn transient_errors_give_up_after_the_retry_budget_with_the_arm_error() {
    let server = Scripted::start(|_, _, _, _| {
        reply(
            500,
            json!({ "error": { "code": "InternalServerError", "message": "boom" } }),
        )
    })
    .await;
    let c = client(&server.url, fast_options());
    let err = c.get(ID, V).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(server.seen().len(), 5, "1 try + 4 retries");
}

#[tokio::test]
async fn another_operation_in_progress_is_retried() {
    let server = Scripted::start(|method, _, n, _| match method {
        "PUT" if n == 1 => reply(409, json!({ "error": { "code": "AnotherOperationInProgress", "message": "Another operation is being performed on the parent resource" } })),
        "PUT" => reply(200, resource("Succeeded")),
        _ => reply(200, resource("Succeeded")),
    })
    .await;
    let c = client(&server.url, fast_options());
    c.put(ID, V, &json!({})).await.unwrap();
    assert_eq!(
        server.seen().iter().filter(|s| s.method == "PUT").count(),
        2
    );
}

#[tokio::test]
async fn principal_not_found_is_retried_for_a_bounded_time_then_reported() {
    let server = Scripted::start(|_, _, _, _| {
        reply(400, json!({ "error": { "code": "PrincipalNotFound", "message": "Principal 1234 does not exist in the directory" } }))
    })
    .await;
    let c = client(&server.url, fast_options());
    let started = Instant::now();
    let err = c.put(ID, V, &json!({})).await.unwrap_err();
    assert_eq!(err.code(), Some("PrincipalNotFound"));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(server.seen().len() >= 3, "{}", server.seen().len());
}

#[tokio::test]
async fn other_client_errors_fail_at_once_naming_the_resource() {
    let server = Scripted::start(|_, _, _, _| {
        reply(400, json!({ "error": { "code": "InvalidRequestContent", "message": "Could not find member 'x'" } }))
    })
    .await;
    let c = client(&server.url, fast_options());
    let err = c.put(ID, V, &json!({})).await.unwrap_err();
    assert!(
        matches!(&err, ArmError::Api { status: 400, code, .. } if code == "InvalidRequestContent")
    );
    assert!(err.to_string().contains(ID));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_poll_url_on_another_host_is_refused() {
    let server = Scripted::start(|method, _, _, _| match method {
        "PUT" => reply(201, resource("Creating"))
            .header("azure-asyncoperation", "http://169.254.169.254/steal"),
        _ => reply(200, resource("Succeeded")),
    })
    .await;
    let c = client(&server.url, fast_options());
    let err = c.put(ID, V, &json!({})).await.unwrap_err();
    assert!(err.to_string().contains("another host"), "{err}");
}

/// Every running status ARM's operations report (the recorded Cognitive Services
/// `Creating`/`Deleting`, the spec's `Accepted`, `Running`, `InProgress`) keeps the
/// poller waiting; only a terminal one ends it.
#[tokio::test]
async fn every_running_status_value_keeps_polling() {
    const RUNNING: [&str; 6] = [
        "Accepted",
        "Running",
        "Creating",
        "Updating",
        "Deleting",
        "InProgress",
    ];
    let server = Scripted::start(|method, path, n, base| match (method, path) {
        ("PUT", _) => reply(201, resource("Creating"))
            .header("azure-asyncoperation", format!("{base}/ops/9"))
            .header("retry-after-ms", "5"),
        ("GET", "/ops/9") if n <= RUNNING.len() => {
            reply(200, json!({ "status": RUNNING[n - 1] })).header("retry-after-ms", "5")
        }
        ("GET", "/ops/9") => reply(200, json!({ "status": "Succeeded" })),
        ("GET", _) => reply(200, resource("Succeeded")),
        _ => reply(500, json!({})),
    })
    .await;
    let c = client(&server.url, fast_options());
    let body = c.put(ID, V, &json!({})).await.unwrap();
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    let polls = server.seen().iter().filter(|s| s.path == "/ops/9").count();
    assert_eq!(polls, RUNNING.len() + 1);
}

#[tokio::test]
async fn an_operation_that_never_ends_times_out() {
    let server = Scripted::start(|method, path, _, base| match (method, path) {
        ("PUT", _) => reply(201, resource("Creating"))
            .header("azure-asyncoperation", format!("{base}/ops/slow"))
            .header("retry-after-ms", "20"),
        _ => reply(200, json!({ "status": "InProgress" })).header("retry-after-ms", "20"),
    })
    .await;
    let mut options = fast_options();
    options.lro.timeout = Duration::from_millis(300);
    let c = client(&server.url, options);
    let err = c.put(ID, V, &json!({})).await.unwrap_err();
    assert!(matches!(err, ArmError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn delete_of_a_missing_resource_is_success_and_delete_waits_for_the_operation() {
    let server = Scripted::start(|method, path, n, base| match (method, path) {
        ("DELETE", p) if p.ends_with("/gone") => reply(
            404,
            json!({ "error": { "code": "ResourceNotFound", "message": "x" } }),
        ),
        ("DELETE", _) => reply(202, Value::Null)
            .header("location", format!("{base}/del/1"))
            .header("retry-after-ms", "20"),
        ("GET", "/del/1") if n < 2 => reply(202, Value::Null).header("retry-after-ms", "20"),
        ("GET", "/del/1") => reply(204, Value::Null),
        _ => reply(500, json!({})),
    })
    .await;
    let c = client(&server.url, fast_options());
    c.delete(&format!("{ID}/gone"), V).await.unwrap();
    c.delete(ID, V).await.unwrap();
    assert_eq!(
        server.seen().iter().filter(|s| s.path == "/del/1").count(),
        2
    );
}

#[tokio::test]
async fn request_conflict_on_the_parent_account_is_retried() {
    // ARM's code for a second deployment operation on one account (ARM-NOTES, 2026-12).
    let server = Scripted::start(|method, _, n, _| match method {
        "PUT" if n <= 2 => reply(409, json!({ "error": { "code": "RequestConflict", "message": "Another operation is being performed on the parent resource '/subscriptions/0/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a1'. Please try again later." } })),
        _ => reply(200, resource("Succeeded")),
    })
    .await;
    let c = client(&server.url, fast_options());
    c.put(&format!("{ID}/deployments/d1"), V, &json!({}))
        .await
        .unwrap();
    assert_eq!(
        server.seen().iter().filter(|s| s.method == "PUT").count(),
        3
    );
    assert!(aoai_lb::arm::hints::hint("RequestConflict").is_some());
}

#[tokio::test]
async fn a_resource_read_while_creating_is_waited_for_until_it_settles() {
    let server = Scripted::start(|_, _, n, _| {
        if n <= 2 {
            reply(200, resource("Creating")).header("retry-after-ms", "30")
        } else {
            reply(200, resource("Succeeded"))
        }
    })
    .await;
    let c = client(&server.url, fast_options());
    let body = c.get_settled(ID, V).await.unwrap().expect("exists");
    assert_eq!(body["properties"]["provisioningState"], "Succeeded");
    let g = gaps(&server.seen(), "GET", ID);
    assert_eq!(g.len(), 2, "{g:?}");
    assert!(g.iter().all(|g| *g >= Duration::from_millis(30)), "{g:?}");
    // A plain read takes what it finds.
    let plain = c.get(ID, V).await.unwrap().unwrap();
    assert_eq!(plain["properties"]["provisioningState"], "Succeeded");
}
