//! Many models behind one endpoint (examples/many-models.yaml): accounts serve different
//! deployment sets, each deployment name has its own pool, and the policy picks the pool
//! from the request's deployment; a name no account serves gets the gateway's 404
//! without a backend call. Checked against the emulator gateway's own request log.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{Http, apply, example, last_seq, log_since, start, verify_json};

const API: &str = "/gateway/apim-aoai-many/openai";

fn chat(http: &Http, base: &str, key: &str, deployment: &str) -> (u16, Value) {
    let (status, _, body) = http.send(
        reqwest::Method::POST,
        &format!("{base}{API}/deployments/{deployment}/chat/completions?api-version=2024-10-21"),
        &[("api-key", key)],
        Some(json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3})),
    );
    (status, body)
}

/// The backends every try of the requests for `deployment` went to.
fn tried(log: &[Value], deployment: &str) -> BTreeSet<String> {
    log.iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .contains(&format!("/deployments/{deployment}/"))
        })
        .flat_map(|e| e["attempts"].as_array().unwrap().clone())
        .map(|a| a["backend"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_deployment_reaches_only_the_accounts_that_serve_it_and_an_unserved_one_none() {
    let plan = example("many-models.yaml");
    let emu = start(&plan, 13, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let key = http.key(&emu, &plan);
    let base = emu.url();
    for deployment in ["gpt-4.1", "gpt-5.1"] {
        for _ in 0..40 {
            let (status, body) = chat(&http, &base, &key, deployment);
            assert_eq!(status, 200, "{deployment}: {body}");
        }
    }
    let dp = http.dataplane(&emu);
    let log = log_since(&dp, 0);
    assert_eq!(log.len(), 80);
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // gpt-5.1 only on the two accounts that deploy it; gpt-4.1 on all three.
    assert_eq!(
        tried(&log, "gpt-5.1"),
        set(&["many-eastus2", "many-swedencentral"])
    );
    assert_eq!(
        tried(&log, "gpt-4.1"),
        set(&["many-eastus2", "many-swedencentral", "many-westus"])
    );
    let usage_before = dp["usage"].clone();
    let before = last_seq(&dp);

    // A deployment no account serves: the policy's 404, in Azure OpenAI's error shape.
    let (status, body) = chat(&http, &base, &key, "gpt-4o");
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-4.1, gpt-5.1"),
        "{body}"
    );
    let dp = http.dataplane(&emu);
    let after = log_since(&dp, before);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["status"], 404);
    assert_eq!(after[0]["operation"], "ChatCompletions_Create");
    assert_eq!(after[0]["attempts"], json!([]), "no backend was tried");
    assert_eq!(after[0]["backend"], Value::Null);
    assert_eq!(dp["usage"], usage_before, "no account saw the request");
}

/// `verify --deployment D` expects the split of D's own pool: gpt-5.1 only on its two
/// accounts, 1:3 by its deployment weights; without `--deployment`, the name every
/// account has (gpt-4.1), 2:1:1 by the backend weights.
#[test]
fn verify_checks_the_split_of_the_deployments_own_pool() {
    let plan = example("many-models.yaml");
    let emu = start(&plan, 17, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let args = [
        "--requests",
        "400",
        "--concurrency",
        "8",
        "--deployment",
        "gpt-5.1",
    ];
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &args);
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    let rows = v["backends"].as_array().unwrap();
    let shares: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["backends"][0].as_str().unwrap().to_string(),
                r["expectedShare"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shares,
        [
            ("many-eastus2".to_string(), 0.25),
            ("many-swedencentral".to_string(), 0.75)
        ]
    );
    let dp = http.dataplane(&emu);
    let log = log_since(&dp, 0);
    assert_eq!(log.len(), 400);
    assert!(log.iter().all(|e| e["region"] != "West US"));

    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &["--requests", "400"]);
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    assert_eq!(v["backends"].as_array().unwrap().len(), 3, "{v:#}");
    let after = log_since(&http.dataplane(&emu), 400);
    assert!(after.iter().all(|e| {
        e["path"]
            .as_str()
            .unwrap()
            .contains("/deployments/gpt-4.1/")
    }));
}

/// From a pool per deployment to one model set and back: apply deletes the pools the
/// plan no longer has, creates the one it now has, and the gateway routes by the new
/// policy (a name no longer served gets the 404).
#[test]
fn changing_the_model_sets_replaces_the_pools() {
    let plan = example("many-models.yaml");
    let emu = start(&plan, 19, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let backends = |emu: &crate::emu::Emu| -> BTreeSet<String> {
        crate::emu::ours_in(&emu.state())
            .into_iter()
            .filter(|id| id.contains("/backends/"))
            .map(|id| id.rsplit('/').next().unwrap().to_string())
            .collect()
    };
    assert!(backends(&emu).contains("many-pool-gpt-5.1"));
    // gpt-5.1 dropped: every account serves gpt-4.1 alone, with the backend weights.
    let text = std::fs::read_to_string(&plan).unwrap();
    let one_set: String = text
        .lines()
        .filter(|l| !l.contains("name: gpt-5.1"))
        .map(|l| format!("{l}\n"))
        .collect();
    let changed = dir.path().join("one-set.yaml");
    std::fs::write(&changed, one_set).unwrap();
    apply(&emu, dir.path(), &changed);
    let now = backends(&emu);
    assert!(now.contains("many-pool"), "{now:?}");
    assert!(
        !now.iter().any(|b| b.starts_with("many-pool-")),
        "the per-deployment pools are gone: {now:?}"
    );
    let key = http.key(&emu, &changed);
    let (status, body) = chat(&http, &emu.url(), &key, "gpt-4.1");
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat(&http, &emu.url(), &key, "gpt-5.1");
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );
}
