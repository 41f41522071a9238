//! The v1 API (`/openai/v1/...`, the deployment in the body's `model`, no dated
//! api-version) applied with the binary and called through the emulator's gateway: alone
//! (`spec: v1`) and next to a dated spec in one API (`v1: true`, examples/v1-and-dated.yaml),
//! `verify` on the v1 shape, and what `output` prints for each shape, each snippet's
//! request sent as printed.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::emu::Emu;
use crate::util::run;
use crate::verify::{Http, apply, example, start};

/// examples/v1-and-dated.yaml with the v1 spec alone, written in `dir`.
fn v1_only(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(example("v1-and-dated.yaml")).unwrap();
    let text = text
        .replace("spec: 2024-10-21", "spec: v1")
        .replace("    v1: true\n", "");
    assert!(text.contains("spec: v1") && !text.contains("v1: true"));
    let path = dir.join("v1.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn post(
    http: &Http,
    url: &str,
    key: &str,
    body: Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let (status, h, text) =
        http.send_text(reqwest::Method::POST, url, &[("api-key", key)], Some(body));
    (
        status,
        h,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 5})
}

/// The v1 shape of an applied API at `api`: chat and embeddings by `model`, streaming,
/// and Azure OpenAI's answers for a model no account deploys and a body without one.
fn the_v1_shape_answers(http: &Http, api: &str, key: &str) {
    let (status, h, v) = post(
        http,
        &format!("{api}/v1/chat/completions"),
        key,
        chat("gpt-5.1"),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    assert!(v["model"].as_str().unwrap().starts_with("gpt-5.1"), "{v}");
    assert_eq!(h["x-ms-deployment-name"], "gpt-5.1");
    assert!(["East US", "West US"].contains(&h["x-ms-region"].to_str().unwrap()));

    let mut body = chat("gpt-5.1");
    body["stream"] = json!(true);
    let (status, h, text) = http.send_text(
        reqwest::Method::POST,
        &format!("{api}/v1/chat/completions"),
        &[("api-key", key)],
        Some(body),
    );
    assert_eq!(status, 200, "{text}");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");

    let e = json!({"model": "embeddings", "input": "hello"});
    let (status, _, v) = post(http, &format!("{api}/v1/embeddings"), key, e);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"][0]["object"], "embedding");

    let (status, _, v) = post(
        http,
        &format!("{api}/v1/chat/completions"),
        key,
        chat("gpt-9"),
    );
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "DeploymentNotFound");
    let no_model = json!({"messages": [{"role": "user", "content": "hi"}]});
    let (status, _, v) = post(http, &format!("{api}/v1/chat/completions"), key, no_model);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "model");
}

#[test]
fn the_v1_api_alone_answers_by_model_and_verify_splits_it() {
    let dir = tempfile::tempdir().unwrap();
    let plan = v1_only(dir.path());
    let emu = start(&plan, 5, 1.0);
    apply(&emu, dir.path(), &plan);
    let http = Http::new();
    let key = http.key(&emu, &plan);
    let api = format!("{}/gateway/apim-aoai-lb/openai", emu.url());
    the_v1_shape_answers(&http, &api, &key);

    // The dated shape is not imported: APIM's own 404, no backend called.
    let dated = format!("{api}/deployments/gpt-5.1/chat/completions?api-version=2024-10-21");
    let (status, _, v) = post(&http, &dated, &key, chat("gpt-5.1"));
    assert_eq!(status, 404, "{v}");
    assert_eq!(
        v,
        json!({"statusCode": 404, "message": "Resource not found"})
    );

    let out = run(emu.cli(dir.path()).args([
        "verify",
        plan.to_str().unwrap(),
        "--requests",
        "60",
        "--output",
        "json",
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (v["succeeded"].as_u64(), v["apiVersion"].as_str()),
        (Some(60), Some("v1"))
    );
    // What the gateway saw: verify's requests on the v1 operation, none on a dated URL.
    let log = http.dataplane(&emu)["requests"].as_array().unwrap().clone();
    let v1_calls = log
        .iter()
        .filter(|e| e["operation"] == "createChatCompletion" && e["status"] == 200)
        .count();
    assert!(v1_calls >= 60, "{log:?}");

    snippets_of(&emu, dir.path(), &plan, &http, &key, &["v1"]);
}

#[test]
fn one_api_serves_the_dated_and_the_v1_shape() {
    let dir = tempfile::tempdir().unwrap();
    let plan = example("v1-and-dated.yaml");
    let emu = start(&plan, 5, 1.0);
    // apply ends with where clients go: a snippet per shape.
    let out = run(emu.cli(dir.path()).arg("apply").arg(&plan).arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let gateway = format!("{}/gateway/apim-aoai-lb", emu.url());
    assert!(
        out.stdout
            .contains(&format!("azure_endpoint=\"{gateway}\"")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("base_url=\"{gateway}/openai/v1\"")),
        "{}",
        out.stdout
    );
    let http = Http::new();
    let key = http.key(&emu, &plan);
    let api = format!("{}/gateway/apim-aoai-lb/openai", emu.url());
    the_v1_shape_answers(&http, &api, &key);
    let dated = format!("{api}/deployments/gpt-5.1/chat/completions?api-version=2024-10-21");
    let (status, _, v) = post(&http, &dated, &key, chat("gpt-5.1"));
    assert_eq!(status, 200, "{v}");
    snippets_of(&emu, dir.path(), &plan, &http, &key, &["dated", "v1"]);
}

/// `output` prints a Python and a curl snippet per shape; each curl request, sent as
/// printed (URL, header, body), answers 200. (The Python ones run in the conformance
/// suite, test_openai_v1.py.)
fn snippets_of(emu: &Emu, dir: &Path, plan: &Path, http: &Http, key: &str, shapes: &[&str]) {
    let out = run(emu.cli(dir).arg("output").arg(plan));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let gateway = format!("{}/gateway/apim-aoai-lb", emu.url());
    if shapes.contains(&"dated") {
        // Path `openai`: AzureOpenAI's azure_endpoint is the gateway itself.
        assert!(
            out.stdout
                .contains(&format!("azure_endpoint=\"{gateway}\"")),
            "{}",
            out.stdout
        );
    }
    if shapes.contains(&"v1") {
        assert!(
            out.stdout.contains("from openai import OpenAI"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains(&format!("base_url=\"{gateway}/openai/v1\""))
        );
    }
    let json = run(emu
        .cli(dir)
        .arg("output")
        .arg(plan)
        .args(["--output", "json"]));
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let mut curls = vec![v["snippets"]["curl"].as_str().unwrap().to_string()];
    if let Some(c) = v["snippets"]["v1"]["curl"].as_str() {
        curls.push(c.to_string());
    }
    // The first shape's snippets, and the v1 ones again under `v1` (the same when alone).
    assert_eq!(curls.len(), 2, "{v}");
    for curl in curls {
        let (url, header, body) = parse_curl(&curl);
        let (status, _, text) = http.send_text(
            reqwest::Method::POST,
            &url,
            &[(header.as_str(), key)],
            Some(body),
        );
        assert_eq!(status, 200, "{curl}: {text}");
    }
}

/// The URL, the key header's name and the JSON body of a printed curl command.
fn parse_curl(curl: &str) -> (String, String, Value) {
    let url = curl.split('"').nth(1).unwrap().to_string();
    let header = curl
        .split("-H \"")
        .nth(1)
        .and_then(|h| h.split(':').next())
        .unwrap()
        .to_string();
    let body = curl
        .split("-d '")
        .nth(1)
        .unwrap()
        .trim_end()
        .trim_end_matches('\'');
    (url, header, serde_json::from_str(body).unwrap())
}

/// A v1-only plan whose accounts serve different models: eastus gpt-5.1 and gpt-5.4,
/// westus gpt-5.1 only.
const MANY: &str = r#"subscriptionId: 00000000-0000-0000-0000-000000000000
resourceGroup: { name: rg-aoai-v1-many, location: eastus }
accounts:
  - name: aoai-v1many-eastus
    location: eastus
    deployments:
      - { name: gpt-5.1, model: gpt-5.1, version: "2025-11-13", sku: Standard, capacity: 10 }
      - { name: gpt-5.4, model: gpt-5.4, version: "2026-03-05", sku: GlobalStandard, capacity: 10 }
    backend: { name: v1many-eastus }
  - name: aoai-v1many-westus
    location: westus
    deployments:
      - { name: gpt-5.1, model: gpt-5.1, version: "2025-11-13", sku: Standard, capacity: 10 }
    backend: { name: v1many-westus }
apim:
  name: apim-aoai-lb
  resourceGroup: rg-apim
  api: { name: azure-openai-v1, path: openai, spec: v1, subscriptionKeyHeader: api-key }
  pool: { name: v1many-pool }
  subscription: { name: aoai-lb-clients }
"#;

/// The backends the gateway tried for the v1 requests naming `model` (the log has no
/// body: the requests are told apart by when they were sent).
fn tried(log: &[Value]) -> std::collections::BTreeSet<String> {
    log.iter()
        .flat_map(|e| e["attempts"].as_array().unwrap().clone())
        .map(|a| a["backend"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_v1_api_routes_by_the_body_model_and_refuses_an_unserved_one_at_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("many.yaml");
    std::fs::write(&plan, MANY).unwrap();
    let emu = start(&plan, 11, 1.0);
    apply(&emu, dir.path(), &plan);
    let http = Http::new();
    let key = http.key(&emu, &plan);
    let url = format!(
        "{}/gateway/apim-aoai-lb/openai/v1/chat/completions",
        emu.url()
    );
    let seq = |http: &Http| {
        http.dataplane(&emu)["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .max()
            .unwrap_or(0)
    };
    let since = |http: &Http, from: u64| -> Vec<Value> {
        http.dataplane(&emu)["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["seq"].as_u64().unwrap() > from)
            .cloned()
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
    for (model, reach) in [
        ("gpt-5.4", set(&["v1many-eastus"])),
        ("gpt-5.1", set(&["v1many-eastus", "v1many-westus"])),
    ] {
        let from = seq(&http);
        for _ in 0..30 {
            let (status, h, v) = post(&http, &url, &key, chat(model));
            assert_eq!(status, 200, "{model}: {v}");
            assert_eq!(h["x-ms-deployment-name"], model);
        }
        assert_eq!(tried(&since(&http, from)), reach, "{model}");
    }

    // A model no account serves: the policy's 404 in Azure OpenAI's shape, no backend tried.
    let usage = http.dataplane(&emu)["usage"].clone();
    let from = seq(&http);
    let (status, _, v) = post(&http, &url, &key, chat("gpt-4o"));
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "DeploymentNotFound");
    let after = since(&http, from);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["operation"], "createChatCompletion");
    assert_eq!(after[0]["attempts"], json!([]), "no backend was tried");
    assert_eq!(http.dataplane(&emu)["usage"], usage, "no account saw it");

    // No model: an account answers Azure OpenAI's 400 (the v1 spec requires `model`).
    let (status, _, v) = post(&http, &url, &key, json!({"messages": []}));
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "model");
}
