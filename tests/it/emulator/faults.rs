//! Fault injection (reproducible with a seed, no state change when faulted, dropped
//! connections, failing operations), the test hooks, the state file across a restart, and
//! the `aoai-lb emulator` command.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use super::{Arm, COG, RES, account, account_path, rg_path, service_path, with_apim};
use aoai_lb::emulator::{Config, FailLro, Faults, LroKind};

fn faulty(seed: u64) -> Config {
    Config {
        faults: Faults {
            seed,
            throttle: 0.3,
            server_error: 0.2,
            retry_after_seconds: 2.0,
            ..Faults::default()
        },
        ..Config::default()
    }
}

/// PUTs 30 resource groups; returns the statuses.
async fn thirty_puts(arm: &Arm) -> Vec<u16> {
    let mut out = Vec::new();
    for i in 0..30 {
        let r = arm
            .put(
                &rg_path(&format!("rg{i}")),
                RES,
                &json!({"location": "westus"}),
            )
            .await;
        match r.status {
            429 => {
                assert_eq!(r.code(), "TooManyRequests");
                assert_eq!(r.header("retry-after"), Some("2"));
                assert_eq!(r.header("retry-after-ms"), Some("2000"));
            }
            500 => assert_eq!(r.code(), "InternalServerError"),
            503 => assert_eq!(r.code(), "ServiceUnavailable"),
            201 => {}
            other => panic!("unexpected {other}: {}", r.body),
        }
        out.push(r.status);
    }
    out
}

#[tokio::test]
async fn faults_with_a_fixed_seed_are_reproducible_and_change_nothing() {
    let arm = Arm::start(faulty(7)).await;
    let first = thirty_puts(&arm).await;
    for status in [201, 429, 500, 503] {
        assert!(first.contains(&status), "{status} in {first:?}");
    }
    let log = arm.log().await;
    for (entry, status) in log.iter().zip(&first) {
        let fault = match status {
            429 => json!("throttle"),
            500 | 503 => json!("server-error"),
            _ => Value::Null,
        };
        assert_eq!(entry["fault"], fault, "{entry}");
    }

    // A faulted request changed no state: exactly the 201s exist.
    arm.hook(Method::PUT, "faults", Some(&json!({}))).await;
    for (i, status) in first.iter().enumerate() {
        let got = arm.get(&rg_path(&format!("rg{i}")), RES).await.status;
        assert_eq!(got == 200, *status == 201, "rg{i}: PUT {status}, GET {got}");
    }

    // The same seed and requests give the same faults: after a reset, and in a new emulator.
    assert_eq!(arm.hook(Method::POST, "reset", None).await.status, 204);
    assert!(arm.log().await.is_empty(), "reset clears the log");
    assert_eq!(thirty_puts(&arm).await, first);
    let other = Arm::start(faulty(7)).await;
    assert_eq!(thirty_puts(&other).await, first);
    let different = Arm::start(faulty(8)).await;
    assert_ne!(thirty_puts(&different).await, first);
    // And through the hook.
    arm.hook(Method::POST, "reset", None).await;
    let set = arm
        .hook(
            Method::PUT,
            "faults",
            Some(&json!({"seed": 7, "throttle": 0.3, "serverError": 0.2, "retryAfterSeconds": 2})),
        )
        .await;
    assert_eq!(set.status, 200);
    arm.hook(Method::POST, "reset", None).await;
    assert_eq!(thirty_puts(&arm).await, first);
    let bad = arm
        .hook(Method::PUT, "faults", Some(&json!({"throttle": 3})))
        .await;
    assert_eq!(bad.status, 400);
    for a in [arm, other, different] {
        a.stop().await;
    }
}

#[tokio::test]
async fn a_dropped_connection_gets_no_response() {
    let arm = Arm::start(Config::default()).await;
    arm.hook(
        Method::PUT,
        "faults",
        Some(&json!({"seed": 1, "drop": 1.0})),
    )
    .await;
    let target = format!("{}?api-version={RES}", rg_path("rg1"));
    let err = arm
        .try_send(
            Method::PUT,
            &target,
            Some(&json!({"location": "westus"})),
            true,
        )
        .await
        .expect_err("no response");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    // The hooks are never faulted, and not logged.
    assert_eq!(arm.hook(Method::GET, "nothing", None).await.status, 404);
    let log = arm.log().await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["fault"], "drop");
    assert_eq!(log[0]["status"], Value::Null);
    arm.hook(Method::PUT, "faults", Some(&json!({}))).await;
    arm.get(&rg_path("rg1"), RES)
        .await
        .expect_error(404, "ResourceGroupNotFound");
    arm.stop().await;
}

#[tokio::test]
async fn an_operation_configured_to_fail_ends_failed() {
    let mut config = Config::default();
    config.faults.fail_lro = vec![FailLro {
        kind: LroKind::Deployment,
        times: Some(1),
    }];
    let arm = Arm::start(config).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let body = json!({"sku": {"name": "Standard", "capacity": 1},
                      "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}}});
    let path = format!("{}/deployments/d1", account_path("rg1", "acc1"));
    let r = arm.put(&path, COG, &body).await;
    assert_eq!(r.status, 201);
    let end = arm.wait(&r).await;
    assert_eq!(end.body["status"], "Failed");
    assert_eq!(end.body["error"]["code"], "OperationFailed");
    assert!(end.body["error"]["message"].is_string());
    assert_eq!(
        arm.get(&path, COG).await.body["properties"]["provisioningState"],
        "Failed"
    );
    // Only once: the retry succeeds.
    let r = arm.put(&path, COG, &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(arm.wait(&r).await.body["status"], "Succeeded");
    arm.stop().await;
}

#[tokio::test]
async fn the_state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = Config {
        state_file: Some(file.clone()),
        ..with_apim(&[("apim1", "rg-apim")])
    };
    let arm = Arm::start(config.clone()).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let before = arm.get(&account_path("rg1", "acc1"), COG).await.body;
    let state = arm.state().await;
    arm.stop().await;
    let on_disk: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(on_disk.is_object());

    let arm = Arm::start(config).await;
    assert_eq!(
        arm.get(&account_path("rg1", "acc1"), COG).await.body,
        before
    );
    // The gateway moves with the emulator's port; everything else is as it was.
    let gateway = |v: &mut Vec<Value>, url: &str| {
        for r in v.iter_mut() {
            if let Some(g) = r.pointer_mut("/properties/gatewayUrl") {
                assert!(g.as_str().unwrap().starts_with(url), "{g}");
                *g = Value::Null;
            }
        }
    };
    let (mut now, mut then) = (arm.state().await, state);
    gateway(&mut now, &arm.url);
    gateway(&mut then, "http://127.0.0.1:");
    assert_eq!(now, then, "the seeds are not added twice");
    assert_eq!(
        arm.get(&service_path("rg-apim", "apim1"), "2024-05-01")
            .await
            .status,
        200
    );
    arm.stop().await;
}

#[tokio::test]
async fn the_state_hook_lists_everything_by_id_and_reset_restores_the_seeds() {
    let arm = Arm::start(with_apim(&[("apim1", "rg-apim")])).await;
    account(&arm, "rg1", "acc1", "westus").await;
    let ids: Vec<String> = arm
        .state()
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 4, "{ids:?}");
    arm.hook(Method::POST, "reset", None).await;
    assert_eq!(arm.state().await.len(), 2, "the seeded group and service");
    arm.stop().await;
}

#[test]
fn the_command_prints_its_url_and_answers() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aoai-lb"))
        .args(["emulator", "--port", "0", "--seed-apim", "apim1@rg1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let mut token_line = String::new();
    stdout.read_line(&mut token_line).unwrap();
    let token = token_line
        .trim()
        .strip_prefix("aoai-lb emulator test hooks need the header x-aoai-lb-emulator-token: ")
        .unwrap_or_else(|| panic!("second line: {token_line:?}"))
        .to_string();
    let url = line
        .trim()
        .strip_prefix("aoai-lb emulator listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, hooks) = runtime.block_on(async {
        let http = reqwest::Client::new();
        let status = http
            .get(format!(
                "{url}{}?api-version=2024-05-01",
                service_path("rg1", "apim1")
            ))
            .bearer_auth("t")
            .send()
            .await
            .map(|r| r.status().as_u16());
        let state = format!("{url}/_emulator/state");
        let mut hooks = Vec::new();
        for token in [None, Some(token.as_str())] {
            let mut req = http.get(&state);
            if let Some(t) = token {
                req = req.header("x-aoai-lb-emulator-token", t);
            }
            hooks.push(req.send().await.map(|r| r.status().as_u16()).ok());
        }
        (status, hooks)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status.unwrap(), 200);
    assert_eq!(
        hooks,
        [Some(401), Some(200)],
        "hooks without and with the token"
    );
}

#[test]
fn the_command_refuses_bad_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_aoai-lb"))
        .args(["emulator", "--faults", "throttle=2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("between 0 and 1"), "{stderr}");
}
