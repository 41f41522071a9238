//! Saved plans (issue 12): `plan PLAN --out FILE` saves what it showed; `apply FILE`
//! applies exactly that, or refuses, naming what changed since: the plan file, a file
//! it refers to, the subscription, the deployment, the state, or Azure.

use std::path::Path;

use aoai_lb::core::ids::{self, api_version};
use serde_json::{Value, json};

use crate::emu::{Emu, TOKEN, ours_in, seeded_for};
use crate::engine::DELAY_SCALE;
use crate::util::{load_example, repo, run};

/// A directory with the two-region example as `plan.yaml`, its policy template as a
/// file of its own (so a change to it can be seen), and an emulator seeded for it.
fn setup() -> (Emu, tempfile::TempDir) {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&example)
        .unwrap()
        .replace("template: pool", "template: ./pool.xml.hbs");
    std::fs::write(dir.path().join("plan.yaml"), text).unwrap();
    std::fs::copy(
        repo().join("templates/pool.xml.hbs"),
        dir.path().join("pool.xml.hbs"),
    )
    .unwrap();
    (emu, dir)
}

fn cli(emu: &Emu, dir: &Path, args: &[&str]) -> crate::util::Run {
    run(emu
        .cli(dir)
        .env("AOAI_LB_DELAY_SCALE", DELAY_SCALE)
        .args(args))
}

fn writes(emu: &Emu) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["method"] != "GET")
        .count()
}

#[test]
fn a_saved_plan_is_applied_exactly_and_holds_no_secret() {
    let (emu, dir) = setup();
    let out = cli(
        &emu,
        dir.path(),
        &["plan", "plan.yaml", "--out", "reviewed.plan"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.contains("Saved the plan to reviewed.plan"));
    assert!(out.stdout.contains("aoai-lb apply reviewed.plan"));
    assert_eq!(writes(&emu), 0, "plan --out wrote to Azure");

    let text = std::fs::read_to_string(dir.path().join("reviewed.plan")).unwrap();
    let saved: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(saved["format"], "aoai-lb saved plan");
    assert_eq!(saved["formatVersion"], 1);
    assert_eq!(saved["planFile"]["path"], "plan.yaml");
    assert_eq!(saved["planFile"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(saved["files"][0]["path"], "./pool.xml.hbs");
    assert_eq!(
        saved["subscriptionId"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert!(saved["plan"]["reads"].as_object().unwrap().len() >= 10);
    assert!(saved["plan"]["changes"][0]["request"]["method"].is_string());
    for secret in [TOKEN, "primaryKey", "secondaryKey"] {
        assert!(!text.contains(secret), "the saved plan holds {secret}");
    }

    // Told by its content: the name says nothing.
    let applied = cli(
        &emu,
        dir.path(),
        &["apply", "reviewed.plan", "--output", "json"],
    );
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let v: Value = serde_json::from_str(&applied.stdout).unwrap();
    let planned = saved["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .count() as u64;
    assert_eq!(v["report"]["created"].as_u64(), Some(planned));
    assert!(
        applied
            .stderr
            .contains("Applying the saved plan reviewed.plan")
    );
    let again = cli(&emu, dir.path(), &["plan", "plan.yaml"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(again.stdout.contains("No changes."));

    // Applied once, it is stale: the state and Azure moved on.
    let twice = cli(&emu, dir.path(), &["apply", "reviewed.plan"]);
    assert_eq!(twice.code, 1);
    assert!(
        twice
            .stderr
            .contains("the saved plan reviewed.plan is stale")
    );
    assert!(twice.stderr.contains("a state file was written since"));
    assert!(twice.stderr.contains("did not exist then and exists now"));
}

/// Each edit is made after `plan --out`; apply must refuse, name it, and write nothing.
#[test]
fn a_saved_plan_is_refused_when_its_inputs_changed() {
    let cases: [(&str, Edit, &str); 3] = [
        (
            "plan file",
            |d| edit(&d.join("plan.yaml"), "weight: 2", "weight: 3"),
            "the plan file plan.yaml changed since (sha256 ",
        ),
        (
            "template",
            |d| {
                edit(
                    &d.join("pool.xml.hbs"),
                    "<inbound>",
                    "<inbound>\n        <base />",
                )
            },
            "./pool.xml.hbs changed since (sha256 ",
        ),
        (
            "deployment",
            |d| {
                edit(
                    &d.join("plan.yaml"),
                    "subscriptionId:",
                    "deployment: other\nsubscriptionId:",
                )
            },
            "it was made for deployment `apim-aoai-lb/azure-openai-lb`, and the plan file is now deployment `other`",
        ),
    ];
    for (what, change, said) in cases {
        let (emu, dir) = setup();
        let out = cli(&emu, dir.path(), &["plan", "plan.yaml", "--out", "p.json"]);
        assert_eq!(out.code, 3, "{what}: {}", out.stderr);
        change(dir.path());
        let applied = cli(&emu, dir.path(), &["apply", "p.json", "--yes"]);
        assert_eq!(applied.code, 1, "{what}: {}", applied.stderr);
        assert!(applied.stderr.contains(said), "{what}: {}", applied.stderr);
        assert!(applied.stderr.contains("nothing was applied"));
        assert_eq!(writes(&emu), 0, "{what}: apply of a stale plan wrote");
        assert!(ours_in(&emu.state()).is_empty());
    }
}

/// An edit of the directory a plan was saved in.
type Edit = fn(&Path);

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_saved_plan_is_refused_when_azure_changed_since() {
    let (emu, dir) = setup();
    let out = cli(&emu, dir.path(), &["plan", "plan.yaml", "--out", "p.plan"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    // Someone creates the group meanwhile.
    let sub = "00000000-0000-0000-0000-000000000000";
    let rg = ids::resource_group(sub, "rg-aoai-lb");
    let (status, _) = emu.put(&rg, api_version::RESOURCES, json!({"location": "westus"}));
    assert!(status < 300);
    let before = writes(&emu);
    let applied = cli(&emu, dir.path(), &["apply", "p.plan"]);
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert!(
        applied.stderr.contains(&format!(
            "{} did not exist then and exists now",
            rg.to_lowercase()
        )),
        "{}",
        applied.stderr
    );
    assert_eq!(writes(&emu), before);
}

#[test]
fn a_saved_plan_for_another_subscription_or_a_future_format_is_refused() {
    let (emu, dir) = setup();
    edit(
        &dir.path().join("plan.yaml"),
        "subscriptionId: 00000000-0000-0000-0000-000000000000\n",
        "",
    );
    let sub = "00000000-0000-0000-0000-000000000000";
    let out = run(emu.cli(dir.path()).env("AZURE_SUBSCRIPTION_ID", sub).args([
        "plan",
        "plan.yaml",
        "--out",
        "p.plan",
    ]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let other = "11111111-1111-1111-1111-111111111111";
    let applied = run(emu
        .cli(dir.path())
        .env("AZURE_SUBSCRIPTION_ID", other)
        .args(["apply", "p.plan"]));
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    assert!(applied.stderr.contains(&format!(
        "it was made for subscription {sub}, and the plan now targets {other}"
    )));
    assert_eq!(writes(&emu), 0);

    let path = dir.path().join("p.plan");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"formatVersion\": 1", "\"formatVersion\": 2"),
    )
    .unwrap();
    let future = run(emu.cli(dir.path()).args(["apply", "p.plan"]));
    assert_eq!(future.code, 2, "{}", future.stderr);
    assert!(future.stderr.contains("format version 2"));
}
