//! `aoai-lb state list` and `aoai-lb output` (issue 12): what the state records, and
//! where clients go, with the key only on request, and a URL that answers.

use serde_json::Value;

use crate::emu::{Emu, TOKEN, seeded_for};
use crate::engine::apply;
use crate::util::{Run, load_example, repo, run};

#[test]
fn state_list_names_every_recorded_resource_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let none = run(crate::util::aoai_lb(dir.path()).args(["state", "list"]));
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert!(none.stdout.contains("No state file at aoai-lb.state.json"));

    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    let entries = recorded["resources"].as_array().unwrap();
    assert!(entries.len() >= 10);

    let json = run(emu
        .cli(dir.path())
        .args(["state", "list", "--output", "json"]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let listed = v["resources"].as_array().unwrap();
    assert_eq!(listed.len(), entries.len());
    for (l, e) in listed.iter().zip(entries) {
        assert_eq!(l["address"], e["address"]);
        assert_eq!(l["id"], e["id"]);
    }
    assert_eq!(v["deployment"], "apim-aoai-lb/azure-openai-lb");

    let text = run(emu.cli(dir.path()).args(["state", "list"]));
    assert_eq!(text.code, 0);
    for e in entries {
        let line = text
            .stdout
            .lines()
            .find(|l| l.starts_with(e["address"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{} not listed:\n{}", e["address"], text.stdout));
        assert!(line.contains(e["id"].as_str().unwrap()), "{line}");
    }
}

/// An example applied on a fresh emulator, and what `output` then prints.
fn applied_then_output(name: &str) -> (Emu, tempfile::TempDir, std::path::PathBuf, Run) {
    let example = repo().join(format!("examples/{name}.yaml"));
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let out = run(emu.cli(dir.path()).arg("output").arg(&example));
    assert_eq!(out.code, 0, "{}", out.stderr);
    (emu, dir, example, out)
}

/// `output --show-secrets --output json`, parsed.
fn output_with_secrets(emu: &Emu, dir: &std::path::Path, example: &std::path::Path) -> Value {
    let secret =
        run(emu
            .cli(dir)
            .arg("output")
            .arg(example)
            .args(["--show-secrets", "--output", "json"]));
    assert_eq!(secret.code, 0, "{}", secret.stderr);
    serde_json::from_str(&secret.stdout).unwrap()
}

#[test]
fn output_gives_the_urls_and_snippets_and_the_key_only_when_asked() {
    let (emu, dir, example, out) = applied_then_output("two-regions");
    let api_url = format!("{}/gateway/apim-aoai-lb/openai-lb", emu.url());
    assert!(
        out.stdout
            .contains(&format!("api_url          = {api_url}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("--show-secrets prints it"));
    assert!(out.stdout.contains("from openai import AzureOpenAI"));
    assert!(
        out.stdout
            .contains(&format!("base_url=\"{api_url}/deployments/gpt-4o\""))
    );
    assert!(out.stdout.contains("-H \"api-key: $AOAI_LB_API_KEY\""));
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));

    let json = run(emu
        .cli(dir.path())
        .arg("output")
        .arg(&example)
        .args(["--output", "json"]));
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["apiUrl"], api_url.as_str());
    assert!(
        v.get("subscriptionKey").is_none(),
        "the key without asking: {v}"
    );

    let s = output_with_secrets(&emu, dir.path(), &example);
    let key = s["subscriptionKey"].as_str().unwrap();
    assert!(key.len() >= 16);
    assert!(!json.stdout.contains(key) && !out.stdout.contains(key));

    // What the snippets call answers through the gateway with that key in that header.
    let url = s["chatCompletionsUrl"].as_str().unwrap().to_string();
    let header = s["subscriptionKeyHeader"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(&url)
            .header(header.as_str(), key)
            .json(&serde_json::json!({"messages": [{"role": "user", "content": "Hello"}]}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(status, 200, "{url}");
}

#[test]
fn output_names_each_clients_limits_and_key_and_the_app_insights_component() {
    let (emu, dir, example, out) = applied_then_output("token-metrics");
    crate::util::assert_has(
        &out.stdout,
        &[
            "subscription_key = (the plan has no apim.subscription: each client has its own key)",
            "client.team-a.key    = (sensitive: the key of APIM subscription `team-a`",
            "client.team-a.limits = 5000 tokens a minute",
            "client.team-b.limits = unlimited",
            "app_insights     = /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-metrics/providers/Microsoft.Insights/components/appi-aoai-lb-metrics (created by aoai-lb, logger appi-aoai-lb-metrics: token metrics in namespace aoai-lb)",
        ],
    );

    let s = output_with_secrets(&emu, dir.path(), &example);
    assert_eq!(s["appInsights"]["createdByAoaiLb"], true);
    assert_eq!(s["clients"][0]["tokensPerMinute"], 5000);
    let keys: Vec<&str> = (0..2)
        .map(|i| s["clients"][i]["key"].as_str().unwrap())
        .collect();
    assert!(keys[0].len() >= 16 && keys[0] != keys[1], "{keys:?}");
    assert!(!out.stdout.contains(keys[0]) && !out.stdout.contains(keys[1]));

    // Each key is its client's: team-a's answers carry team-a's remaining tokens.
    let url = s["chatCompletionsUrl"].as_str().unwrap().to_string();
    let header = s["subscriptionKeyHeader"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let remaining = |key: &str| {
        rt.block_on(async {
            let answer = reqwest::Client::new()
                .post(&url)
                .header(header.as_str(), key)
                .json(&serde_json::json!({"messages": [{"role": "user", "content": "Hello"}]}))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            answer
                .headers()
                .get("remaining-tokens")
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap())
        })
    };
    // The policy's header (remaining-tokens-header-name) is on limited answers only.
    let left = remaining(keys[0]).expect("team-a is limited: its answer says what is left");
    assert!(left < 5000, "{left}");
    assert_eq!(remaining(keys[1]), None, "team-b is not limited");
}
