//! Provisioned capacity first (examples/provisioned-spillover.yaml): PTU deployments on a
//! Foundry (kind AIServices) and an Azure OpenAI account form priority group 1, two
//! pay-as-you-go accounts priority group 2. Applied with the binary on the emulator: ARM
//! holds the kinds and endpoints Azure reports, verify sees the PTU group take every
//! request; once the PTU accounts answer 429 + Retry-After (a fully used PTU deployment
//! does), the traffic spills over to priority 2 without one failed request. The demo
//! runs the same tour on that plan.

use aoai_lb::core::ids::{self, api_version};
use serde_json::{Value, json};

use super::{Http, apply, example, last_seq, log_since, start, verify_json};
use crate::emu::Emu;
use crate::util::{aoai_lb, load_example, run};

/// (account, backend) of the PTU group.
const PTU: [(&str, &str); 2] = [
    ("aoai-ptu-eastus2", "ptu-eastus2"),
    ("aoai-ptu-swedencentral", "ptu-swedencentral"),
];
const PAYGO: [&str; 2] = ["paygo-westus3", "paygo-eastus"];

/// Requests verify counted for a backend (0 when it has no row).
fn count(v: &Value, backend: &str) -> u64 {
    v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["backends"][0] == backend)
        .map_or(0, |b| b["count"].as_u64().unwrap())
}

/// What ARM holds after apply: the Foundry account's kind and endpoints, the backend on
/// its Azure OpenAI host, the PTU deployment's sku.
fn arm_holds_foundry_accounts_and_ptus(emu: &Emu) {
    let model = load_example(&example("provisioned-spillover.yaml"));
    let account =
        |name: &str| ids::account(&model.subscription_id, &model.resource_group.name, name);
    let (status, foundry) = emu.get(
        &account("aoai-ptu-eastus2"),
        api_version::COGNITIVE_SERVICES,
    );
    assert_eq!(status, 200, "{foundry}");
    assert_eq!(foundry["kind"], "AIServices");
    let props = &foundry["properties"];
    assert_eq!(
        props["endpoint"],
        "https://aoai-ptu-eastus2.cognitiveservices.azure.com/"
    );
    assert_eq!(
        props["endpoints"]["OpenAI Language Model Instance API"],
        "https://aoai-ptu-eastus2.openai.azure.com/"
    );
    let (_, openai) = emu.get(
        &account("aoai-ptu-swedencentral"),
        api_version::COGNITIVE_SERVICES,
    );
    assert_eq!(openai["kind"], "OpenAI");
    assert_eq!(
        openai["properties"]["endpoint"],
        "https://aoai-ptu-swedencentral.openai.azure.com/"
    );
    let (_, deployment) = emu.get(
        &ids::deployment(&account("aoai-ptu-eastus2"), "gpt-5.1"),
        api_version::COGNITIVE_SERVICES,
    );
    assert_eq!(
        deployment["sku"],
        json!({"name": "GlobalProvisionedManaged", "capacity": 15})
    );
    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let (_, backend) = emu.get(
        &ids::apim_backend(&service, "ptu-eastus2"),
        api_version::API_MANAGEMENT,
    );
    assert_eq!(
        backend["properties"]["url"],
        "https://aoai-ptu-eastus2.openai.azure.com/openai"
    );
}

#[test]
fn provisioned_first_then_pay_as_you_go_spillover_when_the_ptus_throttle() {
    let plan = example("provisioned-spillover.yaml");
    let emu = start(&plan, 13, 1.0);
    let http = Http::new();
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    arm_holds_foundry_accounts_and_ptus(&emu);

    // Healthy: the PTU group takes everything, split by weight; priority 2 idles.
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &["--requests", "100"]);
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    for (_, backend) in PTU {
        assert!(count(&v, backend) > 20, "{backend}: {v:#}");
    }
    assert_eq!(count(&v, PTU[0].1) + count(&v, PTU[1].1), 100);
    let dp = http.dataplane(&emu);
    let healthy = log_since(&dp, 0);
    assert_eq!(healthy.len(), 100);
    assert!(
        healthy
            .iter()
            .all(|e| PTU.iter().any(|(_, b)| e["backend"] == *b) && e["status"] == 200),
        "a healthy PTU group serves every request"
    );
    let before = last_seq(&dp);

    // The PTU deployments are used up: 429 + Retry-After from both.
    http.set_dataplane(
        &emu,
        json!({"seed": 13, "accounts": {
            "aoai-ptu-eastus2": {"requests": 0},
            "aoai-ptu-swedencentral": {"requests": 0},
        }}),
    );
    let (code, v, _) = verify_json(&emu, dir.path(), &plan, &["--requests", "200"]);
    assert_eq!(
        code, 1,
        "the split is not the plan's while the PTUs are out"
    );
    assert_eq!(
        v["failed"], 0,
        "retries and the breaker hide the 429s: {v:#}"
    );
    for (_, backend) in PTU {
        assert_eq!(count(&v, backend), 0, "{backend}: {v:#}");
    }
    for backend in PAYGO {
        let share = v["backends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["backends"][0] == backend)
            .and_then(|b| b["observedShare"].as_f64())
            .unwrap_or(0.0);
        assert!(
            (0.38..=0.62).contains(&share),
            "{backend}: {share} (about 50/50)"
        );
    }
    let dp = http.dataplane(&emu);
    let spilled = log_since(&dp, before);
    assert_eq!(spilled.len(), 200);
    for e in &spilled {
        assert!(PAYGO.iter().any(|b| e["backend"] == *b), "{e}");
        for a in e["attempts"].as_array().unwrap() {
            if PTU.iter().any(|(_, b)| a["backend"] == *b) {
                assert_eq!(
                    a["status"], 429,
                    "a PTU attempt that was not throttled: {e}"
                );
            }
        }
    }
    // Each PTU backend tripped (once: the trip outlasts the test), on 429.
    let mut tripped: Vec<&str> = dp["trips"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|t| assert_eq!(t["status"], 429, "{t}"))
        .map(|t| t["backend"].as_str().unwrap())
        .collect();
    tripped.sort_unstable();
    assert_eq!(tripped, ["ptu-eastus2", "ptu-swedencentral"]);
}

#[test]
fn the_demo_throttles_the_whole_ptu_group_and_shows_the_spillover() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(aoai_lb(dir.path())
        .arg("demo")
        .arg(example("provisioned-spillover.yaml"))
        .args(["--requests", "120"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for part in [
        "Apply complete",
        "No changes",
        "Verify passed",
        "Step 4/5: throttle priority group 1, aoai-ptu-eastus2 (East US 2, backend ptu-eastus2), aoai-ptu-swedencentral (Sweden Central, backend ptu-swedencentral)",
        "Failover: while ptu-eastus2 and ptu-swedencentral were throttled, 120 of 120 requests were answered by the other backends (0 failed).",
        "Destroy complete",
        "Demo complete",
    ] {
        assert!(
            out.stdout.contains(part),
            "missing `{part}`:\n{}",
            out.stdout
        );
    }
}

/// The hosts a backend may name: a Foundry account answers the Azure OpenAI API on its
/// `services.ai.azure.com` host too, either kind on `cognitiveservices.azure.com`; an
/// Azure OpenAI account has no Foundry host, so the gateway cannot reach it there.
#[test]
fn a_foundry_account_answers_on_its_foundry_host_an_openai_account_does_not() {
    let plan = example("provisioned-spillover.yaml");
    let emu = start(&plan, 17, 1.0);
    let dir = tempfile::tempdir().unwrap();
    apply(&emu, dir.path(), &plan);
    let model = load_example(&plan);
    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let point = |backend: &str, url: &str| {
        let id = ids::apim_backend(&service, backend);
        let (_, now) = emu.get(&id, api_version::API_MANAGEMENT);
        let body = json!({"properties": {
            "url": url,
            "protocol": "http",
            "circuitBreaker": now["properties"]["circuitBreaker"],
        }});
        let (status, v) = emu.put(&id, api_version::API_MANAGEMENT, body);
        assert!(status == 200 || status == 201, "{v}");
    };
    point(
        "ptu-eastus2",
        "https://aoai-ptu-eastus2.services.ai.azure.com/openai",
    );
    point(
        "ptu-swedencentral",
        "https://aoai-ptu-swedencentral.cognitiveservices.azure.com/openai",
    );
    let (code, v, stderr) = verify_json(&emu, dir.path(), &plan, &["--requests", "40"]);
    assert_eq!(code, 0, "{v:#}\n{stderr}");
    assert_eq!(v["failed"], 0, "{v:#}");
    for (_, backend) in PTU {
        assert!(count(&v, backend) > 0, "{backend}: {v:#}");
    }

    point(
        "ptu-swedencentral",
        "https://aoai-ptu-swedencentral.services.ai.azure.com/openai",
    );
    let (code, v, _) = verify_json(&emu, dir.path(), &plan, &["--requests", "40"]);
    assert_eq!(code, 1, "{v:#}");
    assert!(v["failed"].as_u64().unwrap() > 0, "{v:#}");
    assert_eq!(count(&v, "ptu-swedencentral"), 0, "{v:#}");
    assert!(count(&v, "ptu-eastus2") > 0, "{v:#}");
}
