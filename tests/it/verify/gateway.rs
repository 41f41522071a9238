//! The emulator's APIM gateway as API Management behaves: subscription keys, deployments,
//! budgets per region with 429 + Retry-After, the managed identity's role on each account;
//! and the `random` template's even spread, seen through `verify`.

use std::path::Path;

use aoai_lb::core::ids::api_version;
use serde_json::{Value, json};

use super::{Http, apply, example, start, verify_json};
use crate::emu::Emu;
use crate::util::load_example;

/// Chat completions through the gateway of the plan's API, with the subscription key.
struct Gateway<'a> {
    http: &'a Http,
    api: String,
    key: String,
}

impl Gateway<'_> {
    fn chat(
        &self,
        deployment: &str,
        headers: &[(&str, &str)],
        query: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let api = &self.api;
        self.http.send(
            reqwest::Method::POST,
            &format!(
                "{api}/deployments/{deployment}/chat/completions?api-version=2024-02-01{query}"
            ),
            headers,
            Some(json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})),
        )
    }
}

#[test]
fn the_gateway_checks_keys_roles_and_deployments_like_api_management() {
    let plan = example("two-regions.yaml");
    let emu = start(&plan, 5, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let gateway = Gateway {
        http: &http,
        api: format!("{}/gateway/apim-aoai-lb/openai-lb", emu.url()),
        key: http.key(&emu, &plan),
    };
    keys_and_deployments(&gateway, &emu);
    a_budget_per_region(&gateway, &emu);
    no_role_no_completion(&gateway, &emu, &plan);
}

/// No key, a wrong key: 401; the key (header or query): a completion; an unknown
/// deployment: 404. No key reaches the log.
fn keys_and_deployments(g: &Gateway, emu: &Emu) {
    let key = g.key.as_str();
    let (status, _, body) = g.chat("gpt-4o", &[], "");
    assert_eq!(status, 401);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("missing subscription key")
    );
    let (status, _, body) = g.chat("gpt-4o", &[("api-key", "not-the-key")], "");
    assert_eq!(status, 401);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("invalid subscription key")
    );
    let (status, headers, body) = g.chat("gpt-4o", &[("api-key", key)], "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["usage"]["completion_tokens"], 3);
    assert_eq!(body["model"], "gpt-4o-2024-11-20");
    let region = headers["x-ms-region"].to_str().unwrap();
    assert!(region == "West US" || region == "East US");
    assert!(headers.contains_key("x-ratelimit-remaining-requests"));
    assert!(headers.contains_key("x-ratelimit-remaining-tokens"));
    // The key in the query parameter works too, and never reaches the log.
    let (status, _, _) = g.chat("gpt-4o", &[], &format!("&api-key={key}"));
    assert_eq!(status, 200);
    let (status, _, body) = g.chat("gpt-5", &[("api-key", key)], "");
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    let dp = g.http.dataplane(emu);
    assert!(!dp.to_string().contains(key), "a key in the data-plane log");
}

/// A budget per region: East US allows 2 requests per window, then 429 with Retry-After.
fn a_budget_per_region(g: &Gateway, emu: &Emu) {
    g.http.set_dataplane(
        emu,
        json!({"seed": 5, "accounts": {"East US": {"requests": 2}}}),
    );
    let mut east_ok = 0;
    let mut throttled = None;
    for _ in 0..40 {
        let (status, headers, body) = g.chat("gpt-4o", &[("api-key", &g.key)], "");
        let region = headers["x-ms-region"].to_str().unwrap().to_string();
        match (status, region.as_str()) {
            (200, "East US") => east_ok += 1,
            (429, "East US") => throttled = Some((headers, body)),
            (200, "West US") => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        east_ok <= 2,
        "{east_ok} East US answers beyond a budget of 2"
    );
    let (headers, body) = throttled.expect("East US was asked more than twice in 40 requests");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(headers.contains_key("retry-after-ms"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exceeded call rate limit")
    );
}

/// No role assignment, no completion: Azure OpenAI refuses APIM's identity.
fn no_role_no_completion(g: &Gateway, emu: &Emu, plan: &Path) {
    g.http.set_dataplane(emu, json!({"seed": 5}));
    let model = load_example(plan);
    let assignment = emu
        .state()
        .into_iter()
        .find(|r| {
            r["id"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("/roleassignments/")
                && r["properties"]["scope"]
                    .as_str()
                    .unwrap()
                    .ends_with(&model.accounts[1].name)
        })
        .unwrap();
    let url = format!(
        "{}{}?api-version={}",
        emu.url(),
        assignment["id"].as_str().unwrap(),
        api_version::AUTHORIZATION
    );
    let (status, _, _) = g.http.send(
        reqwest::Method::DELETE,
        &url,
        &[("authorization", "Bearer t")],
        None,
    );
    assert_eq!(status, 200);
    let mut denied = 0;
    for _ in 0..30 {
        let (status, headers, body) = g.chat("gpt-4o", &[("api-key", &g.key)], "");
        match status {
            200 => assert_eq!(headers["x-ms-region"], "West US"),
            401 => {
                assert_eq!(body["error"]["code"], "PermissionDenied");
                denied += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(denied > 0);
}

#[test]
fn the_random_template_spreads_evenly_over_the_accounts() {
    let plan = example("random-user-assigned.yaml");
    let emu = start(&plan, 21, 1.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let (code, v, stderr) = verify_json(
        &emu,
        dir.path(),
        &plan,
        &["--requests", "300", "--concurrency", "6"],
    );
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    let rows = v["backends"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert!((r["expectedShare"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert!(r["count"].as_u64().unwrap() > 60, "{r}");
    }
}
