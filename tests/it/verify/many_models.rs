//! Many models behind one endpoint (examples/many-models.yaml): accounts serve different
//! deployment sets, each deployment name has its own pool, and the policy picks the pool
//! from the request's deployment; a name no account serves gets the gateway's 404
//! without a backend call. Checked against the emulator gateway's own request log.

use std::collections::BTreeSet;

use aoai_lb::core::ids::{self, api_version};
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
    for deployment in ["gpt-5.4", "gpt-5.1"] {
        for _ in 0..40 {
            let (status, body) = chat(&http, &base, &key, deployment);
            assert_eq!(status, 200, "{deployment}: {body}");
        }
    }
    let dp = http.dataplane(&emu);
    let log = log_since(&dp, 0);
    assert_eq!(log.len(), 80);
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    // gpt-5.1 only on the two accounts that deploy it; gpt-5.4 on all three.
    assert_eq!(
        tried(&log, "gpt-5.1"),
        set(&["many-eastus2", "many-swedencentral"])
    );
    assert_eq!(
        tried(&log, "gpt-5.4"),
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
            .contains("gpt-5.4, gpt-5.1"),
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
/// accounts, 1:3 by its deployment weights, and calls only D.
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
    assert_eq!(
        shares(&v),
        [
            ("many-eastus2".to_string(), 0.25),
            ("many-swedencentral".to_string(), 0.75)
        ]
    );
    assert!(
        v.get("deployments").is_none(),
        "one deployment checked: {v:#}"
    );
    let dp = http.dataplane(&emu);
    let log = log_since(&dp, 0);
    assert_eq!(log.len(), 400);
    assert!(log.iter().all(|e| e["region"] != "West US"));
    assert!(log.iter().all(|e| {
        e["path"]
            .as_str()
            .unwrap()
            .contains("/deployments/gpt-5.1/")
    }));
}

/// Each backend's expected share in a verify's (or one deployment's) `backends`.
fn shares(v: &Value) -> Vec<(String, f64)> {
    v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["backends"][0].as_str().unwrap().to_string(),
                r["expectedShare"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The requests of a gateway log that named `deployment`.
fn calls(log: &[Value], deployment: &str) -> usize {
    let path = format!("/deployments/{deployment}/");
    log.iter()
        .filter(|e| e["path"].as_str().unwrap().contains(&path))
        .count()
}

/// Without `--deployment`, verify sends `--requests` for EVERY deployment the plan serves
/// and checks each against its own pool: gpt-5.4 2:1:1 on three accounts, gpt-5.1 1:3 on
/// two. The text report has a block per deployment and a last line for them all.
#[test]
fn default_verify_checks_every_deployments_split() {
    let plan = example("many-models.yaml");
    let emu = start(&plan, 23, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let args = ["--requests", "400", "--concurrency", "8"];
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &args);
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    assert_eq!(v["ok"], true);
    assert!(
        stderr.contains("for each of 2 deployments (gpt-5.4, gpt-5.1)"),
        "{stderr}"
    );
    let deployments = v["deployments"].as_array().unwrap();
    let names: Vec<&str> = deployments
        .iter()
        .map(|d| d["deployment"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gpt-5.4", "gpt-5.1"]);
    assert_eq!(
        shares(&deployments[0]),
        [
            ("many-eastus2".to_string(), 0.5),
            ("many-swedencentral".to_string(), 0.25),
            ("many-westus".to_string(), 0.25)
        ]
    );
    assert_eq!(
        shares(&deployments[1]),
        [
            ("many-eastus2".to_string(), 0.25),
            ("many-swedencentral".to_string(), 0.75)
        ]
    );
    for d in deployments {
        assert_eq!(
            (d["ok"].clone(), d["requests"].clone()),
            (json!(true), json!(400)),
            "{d:#}"
        );
        assert!(d["chiSquare"]["pValue"].as_f64().unwrap() >= 0.01, "{d:#}");
    }
    let log = log_since(&http.dataplane(&emu), 0);
    assert_eq!(log.len(), 800);
    assert_eq!((calls(&log, "gpt-5.4"), calls(&log, "gpt-5.1")), (400, 400));

    let out = crate::util::run(emu.cli(dir.path()).arg("verify").arg(&plan).args([
        "--requests",
        "200",
        "--concurrency",
        "8",
    ]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("(deployment gpt-5.4,"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(deployment gpt-5.1,"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("Verify passed").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Every deployment passed (2)"),
        "{}",
        out.stdout
    );
}

/// `verify --chart` on a plan with a pool per deployment draws every deployment checked:
/// one SVG, a panel per deployment in the plan's order, each naming its deployment and
/// showing, per region, the count of responses the gateway's log says it served for that
/// deployment, and its backends; the header's verdict is the JSON's.
#[test]
fn the_chart_has_a_panel_per_deployment_with_its_backends_observed_counts() {
    let plan = example("many-models.yaml");
    let emu = start(&plan, 31, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let chart = dir.path().join("split.svg");
    let args = [
        "--requests",
        "200",
        "--concurrency",
        "8",
        "--chart",
        chart.to_str().unwrap(),
    ];
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &args);
    assert!(code == 0 || code == 1, "{v:#}\n{stderr}");
    assert_eq!(v["chart"].as_str(), chart.to_str(), "{v:#}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    let verdict = if v["ok"] == json!(true) {
        "Every deployment passed (2)".to_string()
    } else {
        "of 2 deployments failed".to_string()
    };
    assert!(svg.contains(&verdict), "{verdict}: {svg}");
    assert!(svg.contains("2 deployments, each against its own pool: gpt-5.4, gpt-5.1"));
    // The SVG's panels, in order: what precedes the first is the document's header.
    let panels: Vec<&str> = svg.split(r#"<g transform="translate(0,"#).skip(1).collect();
    assert_eq!(panels.len(), 2, "{svg}");
    let log = log_since(&http.dataplane(&emu), 0);
    for (panel, deployment, backends) in [
        (
            panels[0],
            "gpt-5.4",
            &["many-eastus2", "many-swedencentral", "many-westus"][..],
        ),
        (
            panels[1],
            "gpt-5.1",
            &["many-eastus2", "many-swedencentral"][..],
        ),
    ] {
        assert!(
            panel.contains(&format!(">deployment {deployment}</text>")),
            "{panel}"
        );
        let served: Vec<&Value> = log
            .iter()
            .filter(|e| {
                e["status"] == 200
                    && e["path"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("/deployments/{deployment}/"))
            })
            .collect();
        assert_eq!(served.len(), 200, "{deployment}");
        let mut regions: BTreeSet<&str> = BTreeSet::new();
        for e in &served {
            regions.insert(e["region"].as_str().unwrap());
        }
        assert_eq!(regions.len(), backends.len(), "{deployment}: {regions:?}");
        for region in regions {
            let n = served.iter().filter(|e| e["region"] == region).count();
            assert!(
                panel.contains(&format!(">{region} ({n})</text>")),
                "{deployment}: no `{region} ({n})` in\n{panel}"
            );
        }
        for b in ["many-eastus2", "many-swedencentral", "many-westus"] {
            assert_eq!(
                panel.contains(&format!(">{b}</text>")),
                backends.contains(&b),
                "{deployment}: {b}"
            );
        }
    }
}

/// A pool in APIM whose weights are not the plan's fails that deployment's check only:
/// gpt-5.1's pool set to 3:1 instead of 1:3 fails verify, and gpt-5.4 still passes.
#[test]
fn a_wrong_weight_in_one_deployments_pool_fails_only_that_deployment() {
    let plan = example("many-models.yaml");
    let emu = start(&plan, 29, 1.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let model = crate::util::load_example(&plan);
    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let pool_id = ids::apim_backend(&service, "many-pool-gpt-5.1");
    let (status, pool) = emu.get(&pool_id, api_version::API_MANAGEMENT);
    assert_eq!(status, 200, "{pool}");
    let mut props = pool["properties"].clone();
    for member in props["pool"]["services"].as_array_mut().unwrap() {
        let w = member["weight"].as_u64().unwrap();
        member["weight"] = json!(4 - w);
    }
    let (status, body) = emu.put(
        &pool_id,
        api_version::API_MANAGEMENT,
        json!({ "properties": {
            "type": "Pool", "description": props["description"], "pool": props["pool"] } }),
    );
    assert!(status < 300, "{status} {body}");

    let args = ["--requests", "400", "--concurrency", "8"];
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &args);
    assert_eq!(code, 1, "{v:#}\n{stderr}");
    assert_eq!(v["ok"], false);
    let verdicts: Vec<(String, bool)> = v["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["deployment"].as_str().unwrap().to_string(),
                d["splitOk"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("gpt-5.4".to_string(), true),
            ("gpt-5.1".to_string(), false)
        ]
    );

    let out = crate::util::run(emu.cli(dir.path()).arg("verify").arg(&plan).args([
        "--requests",
        "400",
        "--concurrency",
        "8",
    ]));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("1 of 2 deployments failed: gpt-5.1."),
        "{}",
        out.stdout
    );
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
    // gpt-5.1 dropped: every account serves gpt-5.4 alone, with the backend weights.
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
    let (status, body) = chat(&http, &emu.url(), &key, "gpt-5.4");
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat(&http, &emu.url(), &key, "gpt-5.1");
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("DeploymentNotFound"))
    );
}

/// The demo's `--chart` goes through verify's: on a plan with a pool per deployment, both
/// of its verify charts (`demo.svg`, `demo-failover.svg`) have a panel per deployment.
#[test]
fn the_demo_charts_every_deployment_of_a_many_models_plan() {
    let plan = example("many-models.yaml");
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("demo.svg");
    let out = crate::util::run(
        crate::util::aoai_lb(dir.path())
            .arg("demo")
            .arg(&plan)
            .args(["--requests", "60", "--chart"])
            .arg(&chart),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The closing line names both deployments' splits, not only the first's.
    let done = out
        .stdout
        .lines()
        .find(|l| l.starts_with("Demo complete"))
        .expect("the demo's closing line");
    assert!(done.contains("verified 2 deployments (gpt-5.4 "), "{done}");
    assert!(done.contains("; gpt-5.1 "), "{done}");
    for file in ["demo.svg", "demo-failover.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let panels: Vec<&str> = svg.split(r#"<g transform="translate(0,"#).skip(1).collect();
        assert_eq!(panels.len(), 2, "{file}: {svg}");
        assert!(panels[0].contains(">deployment gpt-5.4</text>"), "{file}");
        assert!(panels[1].contains(">deployment gpt-5.1</text>"), "{file}");
        assert!(
            panels[0].contains("60 requests") && panels[1].contains("60 requests"),
            "{file}"
        );
    }
}
