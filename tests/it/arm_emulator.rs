//! The ARM layer against the emulator, faults on: every long-running-operation style the
//! emulator (and ARM) uses completes, retries wait what Retry-After says (asserted on the
//! emulator's request log), a failed operation surfaces ARM's error, and nothing is
//! reported done while the resource is still provisioning.

use std::time::Duration;

use aoai_lb::arm::auth::{CredentialChain, StaticToken};
use aoai_lb::arm::{ArmClient, ArmClientOptions, ArmError, LroOptions, RetryOptions};
use aoai_lb::core::ids::{self, api_version};
use aoai_lb::emulator::{Config, FailLro, Latency, LroKind, SeedApim, SeedApimIdentity};
use serde_json::{Value, json};

use crate::emu::Emu;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn config() -> Config {
    let mut c = Config::default();
    c.seed.apim.push(SeedApim {
        name: "apim1".into(),
        resource_group: "rg-apim".into(),
        subscription: SUB.into(),
        location: "westus".into(),
        sku: "Developer".into(),
        identity: SeedApimIdentity::None,
    });
    c
}

fn client(emu: &Emu) -> ArmClient {
    let options = ArmClientOptions {
        retry: RetryOptions {
            max_server_retries: 8,
            max_connection_retries: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(200),
            conflict_window: Duration::from_secs(5),
            principal_window: Duration::from_secs(5),
        },
        lro: LroOptions {
            default_poll: Duration::from_millis(20),
            timeout: Duration::from_secs(20),
        },
        max_in_flight: 8,
        ..Default::default()
    };
    ArmClient::new(
        &emu.url(),
        CredentialChain::single("test", StaticToken::new("t".into())),
        options,
    )
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn account_body() -> Value {
    json!({ "kind": "OpenAI", "sku": { "name": "S0" }, "location": "westus", "properties": { "customSubDomainName": "arm-test-1" } })
}

#[test]
fn every_long_running_operation_style_completes_and_none_is_done_early() {
    let mut c = config();
    c.latency = Latency::Azure;
    c.time_scale = 0.005;
    let emu = Emu::start(c);
    let arm = client(&emu);
    let rg = ids::resource_group(SUB, "rg1");
    let account = ids::account(SUB, "rg1", "a1");
    let deployment = ids::deployment(&account, "gpt-4o");
    let service = ids::apim_service(SUB, "rg-apim", "apim1");
    let api = ids::apim_api(&service, "api1");
    rt().block_on(async {
        arm.put(&rg, api_version::RESOURCES, &json!({ "location": "westus" })).await.unwrap();
        // Azure-AsyncOperation, then the resource.
        let a = arm.put(&account, api_version::COGNITIVE_SERVICES, &account_body()).await.unwrap();
        assert_eq!(a["properties"]["provisioningState"], "Succeeded");
        assert_eq!(a["properties"]["endpoint"], "https://arm-test-1.openai.azure.com/");
        let d = arm
            .put(&deployment, api_version::COGNITIVE_SERVICES, &json!({ "sku": { "name": "Standard", "capacity": 10 }, "properties": { "model": { "format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20" } } }))
            .await
            .unwrap();
        assert_eq!(d["properties"]["provisioningState"], "Succeeded");
        // 202 + Location + Azure-AsyncOperation (APIM identity PATCH).
        let s = arm.patch(&service, api_version::API_MANAGEMENT, &json!({ "identity": { "type": "SystemAssigned" } })).await.unwrap();
        assert!(s["identity"]["principalId"].is_string());
        // 201 + Location + Azure-AsyncOperation (API import).
        let spec = json!({ "openapi": "3.0.0", "info": { "title": "t", "version": "1" }, "servers": [{ "url": "https://arm-test-1.openai.azure.com/openai" }], "paths": {} });
        let imported = arm
            .put(&api, api_version::API_MANAGEMENT, &json!({ "properties": { "format": "openapi+json", "value": spec.to_string(), "path": "openai" } }))
            .await
            .unwrap();
        assert_eq!(imported["properties"]["path"], "openai");
        // 202 + Location on delete.
        arm.delete(&rg, api_version::RESOURCES).await.unwrap();
        assert!(arm.get(&rg, api_version::RESOURCES).await.unwrap().is_none());
    });
    let log = emu.requests();
    assert!(
        log.iter()
            .any(|r| r["path"].as_str().unwrap().contains("operation")),
        "no operation was polled"
    );
    let early: Vec<&Value> = log.iter().filter(|r| r["early"] == true).collect();
    assert!(
        early.is_empty(),
        "polled sooner than Retry-After: {early:?}"
    );
}

#[test]
fn throttled_requests_wait_the_retry_after_the_emulator_sent() {
    let mut c = config();
    c.faults.seed = 11;
    c.faults.throttle = 0.5;
    c.faults.retry_after_seconds = 0.15;
    let emu = Emu::start(c);
    let arm = client(&emu);
    let service = ids::apim_service(SUB, "rg-apim", "apim1");
    rt().block_on(async {
        for _ in 0..8 {
            assert!(
                arm.get(&service, api_version::API_MANAGEMENT)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    });
    let log = emu.requests();
    let mut checked = 0;
    for (i, r) in log.iter().enumerate() {
        if r["fault"].is_null() || r["status"] != 429 {
            continue;
        }
        let next = &log[i + 1];
        let gap = next["startMs"].as_u64().unwrap() - r["endMs"].as_u64().unwrap();
        assert!(
            gap >= 149,
            "retried {gap} ms after a 429 that asked for 150 ms"
        );
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} throttled requests to check");
    assert!(arm.counts().retries >= checked as u64);
}

#[test]
fn a_failed_operation_surfaces_the_arm_error_and_server_errors_are_retried() {
    let mut c = config();
    c.faults.fail_lro = vec![FailLro {
        kind: LroKind::Account,
        times: Some(1),
    }];
    c.faults.seed = 3;
    c.faults.server_error = 0.3;
    c.faults.retry_after_seconds = 0.01;
    let emu = Emu::start(c);
    let arm = client(&emu);
    let rg = ids::resource_group(SUB, "rg1");
    let account = ids::account(SUB, "rg1", "a1");
    rt().block_on(async {
        arm.put(
            &rg,
            api_version::RESOURCES,
            &json!({ "location": "westus" }),
        )
        .await
        .unwrap();
        let err = arm
            .put(&account, api_version::COGNITIVE_SERVICES, &account_body())
            .await
            .unwrap_err();
        assert!(matches!(err, ArmError::OperationFailed { .. }), "{err}");
        assert!(err.code().is_some_and(|c| !c.is_empty()));
        assert!(err.to_string().contains(&account), "{err}");
        // The next try succeeds: the fault was for one operation.
        let a = arm
            .put(&account, api_version::COGNITIVE_SERVICES, &account_body())
            .await
            .unwrap();
        assert_eq!(a["properties"]["provisioningState"], "Succeeded");
    });
    assert!(
        emu.requests()
            .iter()
            .any(|r| r["status"].as_u64().unwrap_or(0) >= 500),
        "no server error was injected"
    );
}

#[test]
fn dropped_connections_are_retried() {
    let mut c = config();
    c.faults.seed = 5;
    c.faults.drop = 0.3;
    let emu = Emu::start(c);
    let arm = client(&emu);
    let service = ids::apim_service(SUB, "rg-apim", "apim1");
    rt().block_on(async {
        for _ in 0..10 {
            assert!(
                arm.get(&service, api_version::API_MANAGEMENT)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    });
    assert!(
        emu.requests()
            .iter()
            .any(|r| r["fault"].as_str().is_some_and(|f| f.contains("drop"))),
        "no connection was dropped"
    );
}
