//! Reviewing a plan (issue 12): resources to create show their key attributes, and a
//! policy change is a unified line diff in text (JSON keeps both values whole).

use serde_json::Value;

use crate::emu::{Emu, seeded_for};
use crate::engine::apply;
use crate::util::{load_example, repo, run};

#[test]
fn resources_to_create_show_their_key_attributes() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli(dir.path()).arg("plan").arg(&example));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let block = |address: &str| -> String {
        let start = out
            .stdout
            .find(&format!("# {address} will be created"))
            .unwrap_or_else(|| panic!("no {address} in\n{}", out.stdout));
        let rest = &out.stdout[start..];
        rest[..rest.find("\n\n").unwrap_or(rest.len())].to_string()
    };
    let account = block("account.aoai-nov26-instance2");
    for line in [
        "+ region: \"eastus\"",
        "+ sku: \"S0\"",
        "+ kind: \"OpenAI\"",
    ] {
        assert!(account.contains(line), "{line} not in\n{account}");
    }
    let deployment = block("deployment.aoai-nov26-instance1/gpt-4o");
    for line in [
        "+ model: \"gpt-4o\"",
        "+ version: \"2024-11-20\"",
        "+ sku: \"Standard\"",
        "+ capacity: 10",
    ] {
        assert!(deployment.contains(line), "{line} not in\n{deployment}");
    }
    let backend = block("backend.openai-instance1");
    assert!(backend.contains("+ priority: 1"), "{backend}");
    assert!(backend.contains("+ weight: 2"), "{backend}");
    let pool = block("pool.openai-instance-backend-pool");
    assert!(pool.contains(
        "+ members: [openai-instance1 (priority 1, weight 2), openai-instance2 (priority 1, weight 1)]"
    ));
}

#[test]
fn a_policy_change_is_shown_as_a_unified_diff_and_json_keeps_both_values() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::copy(&example, &plan).unwrap();
    let applied = apply(&emu, dir.path(), &plan);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&plan, text.replace("retry: auto", "retry: 3")).unwrap();

    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(!out.stdout.contains("characters)"), "{}", out.stdout);
    assert!(out.stdout.contains("~ properties.value:"), "{}", out.stdout);
    let diff: Vec<&str> = out
        .stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with(['@', '-', '+']))
        .collect();
    assert!(diff[0].starts_with("@@ -"), "{diff:?}");
    assert_eq!(diff.len(), 3, "one hunk, one line out, one in: {diff:?}");
    assert!(diff[1].starts_with("-") && diff[1].contains("<retry count=\"1\""));
    assert!(diff[2].starts_with("+") && diff[2].contains("<retry count=\"3\""));

    let json = run(emu
        .cli(dir.path())
        .arg("plan")
        .arg(&plan)
        .args(["--output", "json"]));
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let policy = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "api_policy")
        .unwrap();
    let field = &policy["fields"][0];
    assert_eq!(field["path"], "properties.value");
    assert!(field["old"].as_str().unwrap().contains("<policies>"));
    assert!(field["new"].as_str().unwrap().contains("count=\"3\""));
}
