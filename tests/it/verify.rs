//! The emulator's data plane and `verify`/`demo` end to end: plans applied with the
//! binary, traffic sent by `verify` through the emulator's gateway, and what the user
//! sees (exit code, output, chart) checked against the gateway's own request log.

use std::path::{Path, PathBuf};

use aoai_lb::core::ids::{self, api_version};
use aoai_lb::emulator::Config;
use serde_json::{Value, json};

use crate::emu::{Emu, TOKEN, seeded_for};
use crate::util::{aoai_lb, load_example, repo, run};

mod clients;
mod gateway;
mod many_models;
mod provisioned;
mod tokens;

/// Plain HTTP to the emulator (hooks, ARM, the gateway) from the test thread.
pub(crate) struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    pub(crate) fn new() -> Http {
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
        }
    }

    /// (status, headers, JSON body or Null).
    pub(crate) fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let (status, h, text) = self.send_text(method, url, headers, body);
        (
            status,
            h,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    /// (status, headers, body text as it came).
    pub(crate) fn send_text(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        self.rt.block_on(async {
            let mut req = self.client.request(method, url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(&b);
            }
            let r = req.send().await.unwrap();
            let (status, h) = (r.status().as_u16(), r.headers().clone());
            (status, h, r.text().await.unwrap())
        })
    }

    pub(crate) fn dataplane(&self, emu: &Emu) -> Value {
        let url = format!("{}/_emulator/dataplane", emu.url());
        let token = emu.hook_token();
        let auth = [(aoai_lb::emulator::HOOK_TOKEN_HEADER, token.as_str())];
        self.send(reqwest::Method::GET, &url, &auth, None).2
    }

    fn set_dataplane(&self, emu: &Emu, body: Value) {
        let url = format!("{}/_emulator/dataplane", emu.url());
        let token = emu.hook_token();
        let auth = [(aoai_lb::emulator::HOOK_TOKEN_HEADER, token.as_str())];
        let (status, _, v) = self.send(reqwest::Method::PUT, &url, &auth, Some(body));
        assert_eq!(status, 200, "{v}");
    }

    /// The primary key of the plan's APIM subscription (listSecrets).
    pub(crate) fn key(&self, emu: &Emu, plan: &Path) -> String {
        let model = load_example(plan);
        let service = ids::apim_service(
            &model.subscription_id,
            &model.apim.resource_group,
            &model.apim.name,
        );
        let sub = ids::apim_subscription(&service, &model.apim.subscription.unwrap().name);
        let url = format!(
            "{}{sub}/listSecrets?api-version={}",
            emu.url(),
            api_version::API_MANAGEMENT
        );
        let (status, _, v) = self.send(
            reqwest::Method::POST,
            &url,
            &[("authorization", "Bearer t")],
            None,
        );
        assert_eq!(status, 200, "{v}");
        v["primaryKey"].as_str().unwrap().to_string()
    }
}

pub(crate) fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

/// An emulator seeded for `plan`, with a seeded data plane and a time scale.
pub(crate) fn start(plan: &Path, seed: u64, time_scale: f64) -> Emu {
    let mut config: Config = seeded_for(&load_example(plan));
    config.data_plane.seed = Some(seed);
    config.time_scale = time_scale;
    Emu::start(config)
}

pub(crate) fn apply(emu: &Emu, dir: &Path, plan: &Path) {
    let out = run(emu.cli(dir).arg("apply").arg(plan).arg("--yes"));
    assert_eq!(out.code, 0, "apply: {}{}", out.stdout, out.stderr);
}

pub(crate) fn verify_json(
    emu: &Emu,
    dir: &Path,
    plan: &Path,
    args: &[&str],
) -> (i32, Value, String) {
    let out = run(emu
        .cli(dir)
        .arg("verify")
        .arg(plan)
        .args(args)
        .args(["--output", "json"]));
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {}{}", out.stdout, out.stderr));
    (out.code, v, out.stderr)
}

fn backend<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["backends"][0] == name)
        .unwrap_or_else(|| panic!("no row for {name}: {v}"))
}

/// Gateway log entries from `seq` on.
fn log_since(dp: &Value, seq: u64) -> Vec<Value> {
    dp["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() > seq)
        .cloned()
        .collect()
}

fn last_seq(dp: &Value) -> u64 {
    dp["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .max()
        .unwrap_or(0)
}

#[test]
fn two_regions_at_600_requests_pass_verify_within_the_statistical_tolerance() {
    let plan = example("two-regions.yaml");
    let emu = start(&plan, 1, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let chart = dir.path().join("split.svg");
    let (code, v, stderr) = verify_json(
        &emu,
        dir.path(),
        &plan,
        &[
            "--requests",
            "600",
            "--concurrency",
            "8",
            "--chart",
            chart.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    assert_eq!(
        (
            v["ok"].as_bool(),
            v["succeeded"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(true), Some(600), Some(0))
    );
    let p = v["chiSquare"]["pValue"].as_f64().unwrap();
    assert!(p >= 0.01, "p = {p}");
    assert_eq!(v["chiSquare"]["degreesOfFreedom"], 1);
    for (name, region, expected) in [
        ("openai-instance1", "West US", 2.0 / 3.0),
        ("openai-instance2", "East US", 1.0 / 3.0),
    ] {
        let row = backend(&v, name);
        assert_eq!(row["region"], region);
        assert!((row["expectedShare"].as_f64().unwrap() - expected).abs() < 1e-9);
        let observed = row["observedShare"].as_f64().unwrap();
        // Three standard errors of a share at n = 600.
        let tolerance = 3.0 * (expected * (1.0 - expected) / 600.0).sqrt();
        assert!(
            (observed - expected).abs() <= tolerance,
            "{name}: observed {observed:.3}, expected {expected:.3} ± {tolerance:.3}"
        );
        assert!(row["p50Ms"].as_f64().is_some() && row["p95Ms"].as_f64().is_some());
    }
    // What verify counted is what the gateway served.
    let dp = http.dataplane(&emu);
    let log = log_since(&dp, 0);
    assert_eq!(log.len(), 600);
    assert!(log.iter().all(|e| e["status"] == 200));
    let west = log.iter().filter(|e| e["region"] == "West US").count() as u64;
    assert_eq!(
        backend(&v, "openai-instance1")["count"].as_u64(),
        Some(west)
    );
    assert!(log.iter().all(|e| e["path"]
        == "/gateway/apim-aoai-lb/openai-lb/deployments/gpt-4o/chat/completions"
        && e["query"] == "api-version=2024-02-01"));
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("mean ") && svg.contains("West US"));
}

#[test]
fn a_plan_whose_weights_differ_from_the_deployed_pool_fails_verify() {
    let plan = example("two-regions.yaml");
    let emu = start(&plan, 3, 1.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    // The same resources, but the plan now says 1:1 while 2:1 is deployed.
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("weight: 2", "weight: 1");
    let changed = dir.path().join("one-to-one.yaml");
    std::fs::write(&changed, text).unwrap();
    let out = run(emu.cli(dir.path()).arg("verify").arg(&changed).args([
        "--requests",
        "600",
        "--concurrency",
        "8",
    ]));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Verify failed: the split does not match the plan's priorities and weights."),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("50.0%"),
        "expected shares of the changed plan: {}",
        out.stdout
    );
    let (code, v, _) = verify_json(&emu, dir.path(), &changed, &["--requests", "600"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["failed"], 0,
        "every request succeeded: only the split is off"
    );
    assert!(v["chiSquare"]["pValue"].as_f64().unwrap() < 0.01, "{v:#}");
}

const SPILL_PRIMARY: &str = "primary-eastus2";
const SPILL_FALLBACKS: [&str; 2] = ["fallback-swedencentral", "fallback-westus3"];

#[test]
fn priority_spillover_fails_over_on_429_and_comes_back_after_the_trip() {
    let plan = example("priority-spillover.yaml");
    // PT1M (trip, interval, budget window) is 300 ms at this scale.
    let scale = 0.005;
    let emu = start(&plan, 11, scale);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let primary = SPILL_PRIMARY;

    // Healthy: priority 1 takes everything.
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &["--requests", "60"]);
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    assert_eq!(backend(&v, primary)["count"], 60);
    let dp = http.dataplane(&emu);
    assert!(log_since(&dp, 0).iter().all(|e| e["backend"] == primary));
    let before = last_seq(&dp);

    let trips = spillover_while_throttled(&emu, &http, dir.path(), &plan, before);
    spillover_heals(&emu, &http, dir.path(), &plan, trips);
}

/// The primary's account is out of budget: every call gets 429 + Retry-After, the
/// fallbacks answer, the breaker keeps the primary out while tripped. The number of trips.
fn spillover_while_throttled(
    emu: &Emu,
    http: &Http,
    dir: &Path,
    plan: &Path,
    before: u64,
) -> usize {
    let (primary, fallbacks) = (SPILL_PRIMARY, SPILL_FALLBACKS);
    http.set_dataplane(
        emu,
        json!({"seed": 11, "accounts": {"aoai-spill-primary": {"requests": 0}}}),
    );
    let (code, v, _) = verify_json(emu, dir, plan, &["--requests", "200"]);
    assert_eq!(
        code, 1,
        "the split is not the plan's while the primary is out"
    );
    assert_eq!(
        v["failed"], 0,
        "retries and the breaker hide the 429s: {v:#}"
    );
    assert_eq!(backend(&v, primary)["count"], 0);
    for f in fallbacks {
        let share = backend(&v, f)["observedShare"].as_f64().unwrap();
        assert!((0.38..=0.62).contains(&share), "{f}: {share} (about 50/50)");
    }
    let dp = http.dataplane(emu);
    let throttled = log_since(&dp, before);
    assert_eq!(throttled.len(), 200);
    // The first try of the phase (tries are timed under the gateway's lock) still goes
    // to priority 1, gets 429 and trips it; that request is answered by a fallback.
    let attempts: Vec<&Value> = throttled
        .iter()
        .flat_map(|e| e["attempts"].as_array().unwrap())
        .collect();
    let first_at = attempts
        .iter()
        .map(|a| a["atMs"].as_u64().unwrap())
        .min()
        .unwrap();
    assert!(
        attempts
            .iter()
            .any(|a| a["atMs"] == first_at && a["backend"] == primary && a["status"] == 429),
        "the first try of the throttled phase is not priority 1: {attempts:?}"
    );
    let tripped = throttled
        .iter()
        .find(|e| e["attempts"][0]["backend"] == primary)
        .unwrap();
    assert!(
        fallbacks.contains(&tripped["backend"].as_str().unwrap()),
        "{tripped}"
    );
    for e in &throttled {
        for a in e["attempts"].as_array().unwrap() {
            if a["backend"] == primary {
                assert_eq!(a["status"], 429, "{e}");
            }
        }
    }
    let trips = dp["trips"].as_array().unwrap();
    assert!(!trips.is_empty());
    assert!(
        trips
            .iter()
            .all(|t| t["backend"] == primary && t["status"] == 429)
    );
    primary_gets_nothing_while_tripped(trips, &throttled);
    trips.len()
}

/// While tripped, the primary gets no attempt at all.
fn primary_gets_nothing_while_tripped(trips: &[Value], throttled: &[Value]) {
    for t in trips {
        let (at, until) = (t["atMs"].as_u64().unwrap(), t["untilMs"].as_u64().unwrap());
        assert!(
            until > at && until - at <= 300 + 5,
            "Retry-After is the rest of a 300 ms window: {t}"
        );
        for e in throttled {
            for a in e["attempts"].as_array().unwrap() {
                let when = a["atMs"].as_u64().unwrap();
                if when > at && when < until {
                    assert_ne!(
                        a["backend"], SPILL_PRIMARY,
                        "an attempt on a tripped backend: {e}"
                    );
                }
            }
        }
    }
}

/// Budget back. Requests take 2 ms each (400 ms Azure time), so 400 of them two at a
/// time outlast the last trip (at most 300 ms): traffic returns to priority 1.
fn spillover_heals(emu: &Emu, http: &Http, dir: &Path, plan: &Path, trips: usize) {
    let primary = SPILL_PRIMARY;
    http.set_dataplane(
        emu,
        json!({"seed": 11, "accounts": {"default": {"latencyMs": 400}}}),
    );
    let dp = http.dataplane(emu);
    let healed_at = dp["nowMs"].as_u64().unwrap();
    let last_until = dp["trips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["untilMs"].as_u64().unwrap())
        .max()
        .unwrap();
    let before = last_seq(&dp);
    let (_, v, _) = verify_json(emu, dir, plan, &["--requests", "400", "--concurrency", "2"]);
    assert_eq!(v["failed"], 0, "{v:#}");
    let dp = http.dataplane(emu);
    let healed = log_since(&dp, before);
    let mut back = 0;
    for e in &healed {
        let a = &e["attempts"][0];
        let when = a["atMs"].as_u64().unwrap();
        assert!(when >= healed_at);
        if when >= last_until {
            assert_eq!(a["backend"], primary, "after the trip: {e}");
            assert_eq!(e["status"], 200);
            back += 1;
        } else {
            assert_ne!(a["backend"], primary, "still tripped: {e}");
        }
    }
    assert!(back > 0, "the primary never came back: {healed:?}");
    assert!(
        healed.last().unwrap()["backend"] == primary,
        "the tail is served by priority 1 again"
    );
    assert_eq!(dp["trips"].as_array().unwrap().len(), trips, "no new trips");
}

#[test]
fn no_key_or_token_is_ever_printed() {
    let plan = example("two-regions.yaml");
    let emu = start(&plan, 9, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let key = http.key(&emu, &plan);
    let chart = dir.path().join("c.svg");
    let wrong = "wrong-key-0123456789-must-not-print";
    let mut outputs = Vec::new();
    // The key from listSecrets, in text and JSON, at the highest verbosity.
    for format in ["text", "json"] {
        let out = run(emu
            .cli(dir.path())
            .arg("verify")
            .arg(&plan)
            .args(["--requests", "20", "-vv", "--output", format, "--chart"])
            .arg(&chart));
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        outputs.push(out.stdout + &out.stderr);
        outputs.push(std::fs::read_to_string(&chart).unwrap());
    }
    // The key from the environment, and from the flag.
    let out = run(emu
        .cli(dir.path())
        .arg("verify")
        .arg(&plan)
        .args(["--requests", "5", "-vv"])
        .env("AOAI_LB_API_KEY", &key));
    assert_eq!(out.code, 0, "{}", out.stderr);
    outputs.push(out.stdout + &out.stderr);
    // A wrong key: every request fails with APIM's 401, and the key is not echoed.
    let out =
        run(emu
            .cli(dir.path())
            .arg("verify")
            .arg(&plan)
            .args(["--requests", "5", "--key", wrong]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("Failed: 5 x 401: Access denied due to invalid subscription key"),
        "{}",
        out.stdout
    );
    outputs.push(out.stdout + &out.stderr);
    // --help shows that the variable exists, never its value.
    let out = run(aoai_lb(dir.path())
        .args(["verify", "--help"])
        .env("AOAI_LB_API_KEY", &key));
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("AOAI_LB_API_KEY"));
    outputs.push(out.stdout + &out.stderr);
    for (i, text) in outputs.iter().enumerate() {
        for secret in [key.as_str(), TOKEN, wrong] {
            assert!(!text.contains(secret), "output {i} holds a secret:\n{text}");
        }
    }
}

#[test]
fn the_demo_applies_verifies_fails_over_and_destroys() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("demo.svg");
    let out = run(aoai_lb(dir.path())
        .args(["demo", "--requests", "150", "--chart"])
        .arg(&chart));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for part in [
        "Step 1/6: apply examples/two-regions.yaml + clients team-capped, team-open + Application Insights appi-aoai-lb-demo (embedded)",
        "Apply complete",
        "No changes",
        "Verify passed",
        "Step 4/6: clients: team-capped, team-open send 20 requests each",
        "Token limits: team-capped hit its limit and got 429 + Retry-After while team-open carried on",
        "token-metric records through logger appi-aoai-lb-demo",
        "the same counts as the answers'.",
        "Step 5/6: throttle aoai-nov26-instance1",
        "Failover: while openai-instance1 was throttled",
        "Destroy complete",
        "Demo complete",
    ] {
        assert!(
            out.stdout.contains(part),
            "missing `{part}`:\n{}",
            out.stdout
        );
    }
    assert!(chart.exists() && dir.path().join("demo-failover.svg").exists());
    assert!(dir.path().join("demo-clients.svg").exists());
    assert!(
        !dir.path().join("aoai-lb.state.json").exists(),
        "the demo leaves no state behind"
    );
}

/// The demo's clients step (issue 15): through their own keys at once, the limited
/// client meets its token limit (429 with Retry-After) while the unlimited one is always
/// answered; the JSON has the step and the clients chart a bar for each.
#[test]
fn the_demo_shows_a_limited_client_throttled_while_the_other_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("demo.svg");
    let out = run(aoai_lb(dir.path())
        .args(["demo", "--requests", "60", "--output", "json", "--chart"])
        .arg(&chart));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let steps: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["apply", "plan", "verify", "clients", "failover", "destroy"]
    );
    let step = &doc["steps"][3];
    assert_eq!(step["ok"], true, "{step}");
    let client = |name: &str| {
        step["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {step}"))
            .clone()
    };
    let (capped, open) = (client("team-capped"), client("team-open"));
    assert_eq!(capped["tokensPerMinute"], 3000);
    assert!(capped["throttled"].as_u64().unwrap() >= 1, "{capped}");
    assert!(capped["answered"].as_u64().unwrap() >= 1, "{capped}");
    assert!(capped["retryAfter"].is_string(), "{capped}");
    assert_eq!(open["throttled"], 0, "{open}");
    assert_eq!(open["answered"], 20, "{open}");
    assert_eq!(open["failed"], 0, "{open}");
    let svg = std::fs::read_to_string(dir.path().join("demo-clients.svg")).unwrap();
    for part in [
        format!(
            "team-capped: {} answered",
            capped["answered"].as_u64().unwrap()
        ),
        format!(
            "team-capped: {} throttled (429)",
            capped["throttled"].as_u64().unwrap()
        ),
        "team-open: 20 answered".to_string(),
        "3000 tokens/min".to_string(),
        "no limit".to_string(),
    ] {
        assert!(svg.contains(&part), "missing `{part}` in the chart:\n{svg}");
    }
    assert!(!svg.contains("team-open: 0 throttled"), "{svg}");
    // The other charts are still written.
    assert!(chart.exists() && dir.path().join("demo-failover.svg").exists());
}

#[test]
fn verify_refuses_an_invalid_plan_and_a_clear_text_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "accounts: 3\n").unwrap();
    let out = run(aoai_lb(dir.path()).arg("verify").arg(&bad));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = run(aoai_lb(dir.path())
        .arg("verify")
        .arg(example("two-regions.yaml"))
        .args([
            "--gateway-url",
            "http://apim.example.com",
            "--key",
            "k-123456",
        ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("clear text"), "{}", out.stderr);
    assert!(!out.stderr.contains("k-123456"));
}
