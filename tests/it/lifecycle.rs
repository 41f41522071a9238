//! The lifecycle a Terraform user expects (issue 12, items 1 and 2), against the
//! emulator: apply -> destroy -> apply restores the soft-deleted accounts and converges;
//! a change ARM refuses in place (an account's region) is planned and applied as a
//! replacement; an account soft-deleted by someone else is an error naming both ways
//! out, and `restore: true` is one of them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::emu::{Emu, orphans, ours_in, seeded_for};
use crate::engine::apply;
use crate::util::{load_example, repo, run};

/// The two-regions example in `dir`, with `edit` applied to its text.
fn plan_in(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/two-regions.yaml")).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, edit(text.replace("../schemas", "schemas"))).unwrap();
    path
}

fn deleted_accounts(emu: &Emu) -> Vec<String> {
    emu.state()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter(|id| id.to_lowercase().contains("/deletedaccounts/"))
        .map(str::to_string)
        .collect()
}

fn plan_json(emu: &Emu, dir: &Path, plan: &Path) -> (i32, Value, String) {
    let out = run(emu
        .cli(dir)
        .arg("plan")
        .arg(plan)
        .args(["--output", "json"]));
    let v = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    (out.code, v, out.stderr)
}

fn action_of<'a>(plan: &'a Value, address: &str) -> &'a str {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == address)
        .and_then(|c| c["action"].as_str())
        .unwrap_or_else(|| panic!("{address} is not in the plan: {plan:#}"))
}

#[test]
fn apply_destroy_apply_restores_the_accounts_and_then_plans_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    let out = apply(&emu, dir.path(), &plan);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);

    let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert!(
        destroy.stdout.contains("stay soft-deleted for 48 hours")
            && destroy.stdout.contains(
                "az cognitiveservices account purge --name aoai-nov26-instance1 --resource-group rg-aoai-lb --location westus"
            ),
        "destroy says what became of the accounts: {}",
        destroy.stdout
    );
    assert_eq!(deleted_accounts(&emu).len(), 2, "{:?}", emu.state());

    // plan predicts the restores: no 409 FlagMustBeSetForRestore at apply.
    let (code, v, stderr) = plan_json(&emu, dir.path(), &plan);
    assert_eq!(code, 3, "{v:#}{stderr}");
    for a in [
        "account.aoai-nov26-instance1",
        "account.aoai-nov26-instance2",
    ] {
        assert_eq!(action_of(&v, a), "restore", "{v:#}");
    }
    let out = apply(&emu, dir.path(), &plan);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["report"]["restored"], 2, "{report:#}");
    assert!(deleted_accounts(&emu).is_empty());

    let again = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    assert!(orphans(&emu, &dir.path().join("state.json")).is_empty());
}

/// An Azure OpenAI account turned into a Foundry one (`kind: AIServices`): ARM refuses
/// the kind change in place (`UpdateKindNotAllowed` at the api-version aoai-lb uses), so
/// `plan` replaces the account; after apply the Foundry account reports its own endpoint,
/// and the gateway still reaches it on its Azure OpenAI host.
#[test]
fn a_new_kind_is_a_replacement_and_the_foundry_account_serves_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    assert_eq!(apply(&emu, dir.path(), &plan).code, 0);

    let foundry = plan_in(dir.path(), "lab.yaml", |t| {
        t.replace(
            "    location: eastus\n",
            "    location: eastus\n    kind: AIServices\n",
        )
    });
    let out = run(emu.cli(dir.path()).arg("plan").arg(&foundry));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("account.aoai-nov26-instance2 must be replaced")
            && out
                .stdout
                .contains("kind: \"OpenAI\" -> \"AIServices\" # forces replacement"),
        "{}",
        out.stdout
    );
    let (_, v, _) = plan_json(&emu, dir.path(), &foundry);
    assert_eq!(action_of(&v, "account.aoai-nov26-instance2"), "replace");
    assert_eq!(action_of(&v, "account.aoai-nov26-instance1"), "noop");

    let out = apply(&emu, dir.path(), &foundry);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let account = emu
        .resource("/accounts/aoai-nov26-instance2")
        .expect("the account is there again");
    assert_eq!(account["kind"], "AIServices");
    assert_eq!(
        account["properties"]["endpoint"],
        "https://aoai-nov26-instance2.cognitiveservices.azure.com/"
    );
    let after = run(emu.cli(dir.path()).arg("plan").arg(&foundry));
    assert_eq!(after.code, 0, "{}{}", after.stdout, after.stderr);

    let verify = run(emu.cli(dir.path()).arg("verify").arg(&foundry).args([
        "--requests",
        "30",
        "--output",
        "json",
    ]));
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let v: Value = serde_json::from_str(&verify.stdout).unwrap();
    let row = v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["backends"][0] == "openai-instance2")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(row["region"], "East US", "{v:#}");
    assert!(row["count"].as_u64().unwrap() > 0, "{v:#}");
}

/// An account upgraded to Foundry in Azure (`az cognitiveservices account update --kind
/// AIServices`, a PUT at api-version 2025-06-01), then the plan changed to match: no
/// change planned, the account and its deployment kept.
#[test]
fn an_account_upgraded_to_foundry_in_azure_then_in_the_plan_is_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let model = load_example(&plan);
    let emu = Emu::start(seeded_for(&model));
    assert_eq!(apply(&emu, dir.path(), &plan).code, 0);

    let id = aoai_lb::core::ids::account(
        &model.subscription_id,
        &model.resource_group.name,
        "aoai-nov26-instance2",
    );
    let (_, now) = emu.get(&id, "2025-06-01");
    let upgraded = serde_json::json!({
        "kind": "AIServices",
        "sku": now["sku"],
        "location": now["location"],
        "tags": now["tags"],
        "properties": {"customSubDomainName": now["properties"]["customSubDomainName"]},
    });
    let (status, v) = emu.put(&id, "2024-10-01", upgraded.clone());
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("UpdateKindNotAllowed"))
    );
    let (status, v) = emu.put(&id, "2025-06-01", upgraded);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["kind"], "AIServices");

    let foundry = plan_in(dir.path(), "lab.yaml", |t| {
        t.replace(
            "    location: eastus\n",
            "    location: eastus\n    kind: AIServices\n",
        )
    });
    let out = run(emu.cli(dir.path()).arg("plan").arg(&foundry));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
}

#[test]
fn a_new_region_is_a_replacement_that_purges_the_account_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    assert_eq!(apply(&emu, dir.path(), &plan).code, 0);

    let moved = plan_in(dir.path(), "lab.yaml", |t| {
        t.replace("location: eastus", "location: westus3")
    });
    let out = run(emu.cli(dir.path()).arg("plan").arg(&moved));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("account.aoai-nov26-instance2 must be replaced")
            && out.stdout.contains("# forces replacement")
            && out.stdout.contains("PURGES"),
        "{}",
        out.stdout
    );
    let (_, v, _) = plan_json(&emu, dir.path(), &moved);
    assert_eq!(action_of(&v, "account.aoai-nov26-instance2"), "replace");
    // What ARM deletes with the account is replaced with it; the other account is not.
    assert_eq!(
        action_of(&v, "deployment.aoai-nov26-instance2/gpt-4o"),
        "replace"
    );
    assert_eq!(action_of(&v, "account.aoai-nov26-instance1"), "noop");

    let out = apply(&emu, dir.path(), &moved);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let account = emu
        .resource("/accounts/aoai-nov26-instance2")
        .expect("the account is there again");
    assert_eq!(account["location"], "westus3");
    assert!(
        deleted_accounts(&emu).is_empty(),
        "the old account was purged"
    );
    let after = run(emu.cli(dir.path()).arg("plan").arg(&moved));
    assert_eq!(after.code, 0, "{}{}", after.stdout, after.stderr);
    assert!(orphans(&emu, &dir.path().join("state.json")).is_empty());

    // verify's traffic reaches the account in its new region.
    let verify = run(emu.cli(dir.path()).arg("verify").arg(&moved).args([
        "--requests",
        "30",
        "--output",
        "json",
    ]));
    let v: Value = serde_json::from_str(&verify.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", verify.stdout, verify.stderr));
    let row = v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["backends"][0] == "openai-instance2")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(row["region"], "West US 3", "{v:#}");
}

#[test]
fn an_account_deleted_outside_aoai_lb_is_an_error_until_the_plan_says_restore() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    // Someone else's account of the plan's name, deleted by hand: no aoai-lb mark.
    let id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-lb/providers/Microsoft.CognitiveServices/accounts/aoai-nov26-instance2";
    let cog = aoai_lb::core::ids::api_version::COGNITIVE_SERVICES;
    let rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-lb";
    let (s, _) = emu.put(
        rg,
        "2021-04-01",
        serde_json::json!({ "location": "westus" }),
    );
    assert!(s < 300);
    let body = serde_json::json!({
        "location": "eastus", "kind": "OpenAI", "sku": { "name": "S0" },
        "properties": { "customSubDomainName": "aoai-nov26-instance2" },
    });
    assert!(emu.put(id, cog, body).0 < 300);
    let _ = emu.get(id, cog); // the create settles
    assert!(emu.delete(id, cog) < 300);
    let _ = emu.get(id, cog);
    assert_eq!(deleted_accounts(&emu).len(), 1, "{:?}", emu.state());

    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for part in [
        "account.aoai-nov26-instance2",
        "soft-deleted on",
        "carries no aoai-lb mark",
        "restore: true",
        "az cognitiveservices account purge --name aoai-nov26-instance2 --resource-group rg-aoai-lb --location eastus",
    ] {
        assert!(out.stderr.contains(part), "{part}: {}", out.stderr);
    }

    let restoring = plan_in(dir.path(), "lab.yaml", |t| {
        t.replace(
            "  - name: aoai-nov26-instance2\n",
            "  - name: aoai-nov26-instance2\n    restore: true\n",
        )
    });
    let (code, v, stderr) = plan_json(&emu, dir.path(), &restoring);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(action_of(&v, "account.aoai-nov26-instance2"), "restore");
    let out = apply(&emu, dir.path(), &restoring);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(deleted_accounts(&emu).is_empty());
    assert!(ours_in(&emu.state()).iter().any(|i| i == id));
    let after = run(emu.cli(dir.path()).arg("plan").arg(&restoring));
    assert_eq!(after.code, 0, "{}{}", after.stdout, after.stderr);
}

#[test]
fn a_new_model_replaces_only_its_deployment_and_a_new_version_is_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    // The catalog's day before 2026-03-31, when gpt-4o 2024-05-13 and gpt-4o-mini were still
    // offered on Standard: since then gpt-4o has one live version on Standard, and an
    // upgrade in place needs two. Both are in the Deprecated stage today, open only to
    // subscriptions that deployed them before: this one has.
    let mut config = seeded_for(&load_example(&plan));
    config.catalog.today = Some("2026-03-01".to_string());
    config.catalog.deployed_before = vec![
        "gpt-4o-mini 2024-07-18".to_string(),
        "gpt-4o 2024-05-13".to_string(),
    ];
    let emu = Emu::start(config);
    assert_eq!(apply(&emu, dir.path(), &plan).code, 0);

    // The first account's deployment (block form) gets another model.
    let mini = plan_in(dir.path(), "lab.yaml", |t| {
        t.replacen(
            "        model: gpt-4o\n        version: \"2024-11-20\"",
            "        model: gpt-4o-mini\n        version: \"2024-07-18\"",
            1,
        )
    });
    let out = run(emu.cli(dir.path()).arg("plan").arg(&mini));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("deployment.aoai-nov26-instance1/gpt-4o must be replaced")
            && out.stdout.contains(
                "properties.model.name: \"gpt-4o\" -> \"gpt-4o-mini\" # forces replacement"
            )
            && !out.stdout.contains("PURGES"),
        "{}",
        out.stdout
    );
    let (_, v, _) = plan_json(&emu, dir.path(), &mini);
    assert_eq!(action_of(&v, "account.aoai-nov26-instance1"), "noop");
    let out = apply(&emu, dir.path(), &mini);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["report"]["replaced"], 1, "{report:#}");
    assert_eq!(run(emu.cli(dir.path()).arg("plan").arg(&mini)).code, 0);

    // A version upgrade is an update in place, as ARM allows (the second account's
    // deployment, inline form, to a version its region's catalog offers).
    let upgraded = plan_in(dir.path(), "lab.yaml", |t| {
        t.replacen(
            "        model: gpt-4o\n        version: \"2024-11-20\"",
            "        model: gpt-4o-mini\n        version: \"2024-07-18\"",
            1,
        )
        .replacen(
            "model: gpt-4o, version: \"2024-11-20\"",
            "model: gpt-4o, version: \"2024-05-13\"",
            1,
        )
    });
    let (code, v, stderr) = plan_json(&emu, dir.path(), &upgraded);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(
        action_of(&v, "deployment.aoai-nov26-instance2/gpt-4o"),
        "update"
    );
}

#[test]
fn a_new_subdomain_replaces_the_account_and_the_backend_follows_its_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    assert_eq!(apply(&emu, dir.path(), &plan).code, 0);
    let renamed = plan_in(dir.path(), "lab.yaml", |t| {
        t.replace(
            "    location: eastus\n",
            "    location: eastus\n    customSubDomain: aoai-lb-east\n",
        )
    });
    let (code, v, stderr) = plan_json(&emu, dir.path(), &renamed);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(action_of(&v, "account.aoai-nov26-instance2"), "replace");
    assert_eq!(action_of(&v, "backend.openai-instance2"), "update");
    let out = apply(&emu, dir.path(), &renamed);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let backend = emu.resource("/backends/openai-instance2").unwrap();
    assert_eq!(
        backend["properties"]["url"],
        "https://aoai-lb-east.openai.azure.com/openai"
    );
    assert_eq!(run(emu.cli(dir.path()).arg("plan").arg(&renamed)).code, 0);
    let verify = run(emu
        .cli(dir.path())
        .arg("verify")
        .arg(&renamed)
        .args(["--requests", "30"]));
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
}

#[test]
fn destroy_purge_purges_what_it_deleted_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_in(dir.path(), "lab.yaml", |t| t);
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    // Someone else's account, soft-deleted in the same subscription before aoai-lb runs.
    let cog = aoai_lb::core::ids::api_version::COGNITIVE_SERVICES;
    let sub = "/subscriptions/00000000-0000-0000-0000-000000000000";
    let (s, _) = emu.put(
        &format!("{sub}/resourceGroups/rg-theirs"),
        "2021-04-01",
        serde_json::json!({ "location": "westus" }),
    );
    assert!(s < 300);
    let theirs = format!(
        "{sub}/resourceGroups/rg-theirs/providers/Microsoft.CognitiveServices/accounts/theirs"
    );
    let body = serde_json::json!({
        "location": "westus", "kind": "OpenAI", "sku": { "name": "S0" },
        "properties": { "customSubDomainName": "theirs-account" },
    });
    assert!(emu.put(&theirs, cog, body).0 < 300);
    let _ = emu.get(&theirs, cog);
    assert!(emu.delete(&theirs, cog) < 300);
    let _ = emu.get(&theirs, cog);
    assert_eq!(deleted_accounts(&emu).len(), 1);

    assert_eq!(apply(&emu, dir.path(), &plan).code, 0);
    let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes", "--purge"]));
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert!(
        destroy.stdout.contains("2 account(s) purged"),
        "{}",
        destroy.stdout
    );
    let left = deleted_accounts(&emu);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].ends_with("/deletedAccounts/theirs"), "{left:?}");
}
