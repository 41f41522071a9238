//! apply, plan and destroy against the emulator, as a user runs them: convergence,
//! no-op re-runs, drift, ownership, secrets, doctor. Faults, kills, Ctrl-C and
//! the lock are in engine_faults.rs.

use std::path::Path;

use aoai_lb::core::ids::{self, api_version};
use serde_json::{Value, json};

use crate::emu::{Emu, TOKEN, apim_service, orphans, ours_in, seeded_for};
use crate::util::{examples, load_example, repo, run};

pub(crate) fn apply(emu: &Emu, dir: &Path, plan: &Path) -> crate::util::Run {
    run(emu
        .cli(dir)
        .env("AOAI_LB_DELAY_SCALE", DELAY_SCALE)
        .arg("apply")
        .arg(plan)
        .args(["--yes", "--output", "json"]))
}

/// aoai-lb's own backoff and poll waits, scaled down so the tests do not sleep for real
/// (the emulator's Retry-After is still honoured as sent).
pub(crate) const DELAY_SCALE: &str = "0.01";

#[test]
fn every_example_converges_reruns_as_a_no_op_and_destroys_cleanly() {
    for example in examples() {
        let model = load_example(&example);
        let emu = Emu::start(seeded_for(&model));
        let dir = tempfile::tempdir().unwrap();
        let service_before = apim_service(&emu, &model);

        let out = apply(&emu, dir.path(), &example);
        assert_eq!(
            out.code,
            0,
            "{}: {}{}",
            example.display(),
            out.stdout,
            out.stderr
        );
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["ok"], true);
        assert!(v["report"]["created"].as_u64().unwrap() >= 10);
        assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));

        let plan = run(emu.cli(dir.path()).arg("plan").arg(&example));
        assert_eq!(
            plan.code,
            0,
            "{}: plan after apply: {}{}",
            example.display(),
            plan.stdout,
            plan.stderr
        );
        assert!(plan.stdout.contains("No changes."));

        let again = apply(&emu, dir.path(), &example);
        assert_eq!(again.code, 0, "{}", again.stderr);
        let v: Value = serde_json::from_str(&again.stdout).unwrap();
        assert_eq!(
            v["report"]["requests"]["writes"],
            0,
            "{}: a second apply wrote: {}",
            example.display(),
            again.stdout
        );

        assert!(orphans(&emu, &dir.path().join("state.json")).is_empty());
        let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
        assert_eq!(destroy.code, 0, "{}", destroy.stderr);
        assert!(
            ours_in(&emu.state()).is_empty(),
            "{}: left after destroy: {:?}",
            example.display(),
            ours_in(&emu.state())
        );
        assert_eq!(
            apim_service(&emu, &model),
            service_before,
            "{}: the APIM service is not as it was",
            example.display()
        );
        assert!(
            !dir.path().join("state.json").exists(),
            "an empty state leaves no file"
        );
    }
}

#[test]
fn a_weight_changed_out_of_band_is_planned_as_an_update_and_fixed() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);

    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let pool_id = ids::apim_backend(&service, &model.apim.pool.name);
    let (_, mut pool) = emu.get(&pool_id, api_version::API_MANAGEMENT);
    pool["properties"]["pool"]["services"][0]["weight"] = json!(7);
    let props = pool["properties"].clone();
    let (status, _) = emu.put(
        &pool_id,
        api_version::API_MANAGEMENT,
        json!({ "properties": {
        "type": "Pool", "description": props["description"], "pool": props["pool"] } }),
    );
    assert!(status < 300);

    let plan = run(emu.cli(dir.path()).arg("plan").arg(&example));
    assert_eq!(plan.code, 3, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("# pool.openai-instance-backend-pool will be updated in place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("openai-instance1 (priority 1, weight 7)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );

    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let (_, pool) = emu.get(&pool_id, api_version::API_MANAGEMENT);
    assert_eq!(pool["properties"]["pool"]["services"][0]["weight"], 2);
    assert_eq!(run(emu.cli(dir.path()).arg("plan").arg(&example)).code, 0);
}

#[test]
fn removing_an_account_deletes_its_resources_after_the_pool_shrinks() {
    let example = repo().join("examples/priority-spillover.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);

    // The same plan without its last account.
    let text = std::fs::read_to_string(&example).unwrap();
    let start = text.find("  - name: aoai-spill-fallback-b").unwrap();
    let end = text.find("\napim:").unwrap();
    let smaller = format!("{}{}", &text[..start], &text[end + 1..]);
    let plan_path = dir.path().join("smaller.yaml");
    std::fs::write(&plan_path, smaller.replace("../schemas", "schemas")).unwrap();

    let plan = run(emu.cli(dir.path()).arg("plan").arg(&plan_path));
    assert_eq!(plan.code, 3);
    for gone in [
        "account.aoai-spill-fallback-b will be destroyed",
        "backend.fallback-westus3 will be destroyed",
        "role_assignment.aoai-spill-fallback-b will be destroyed",
        "deployment.aoai-spill-fallback-b/gpt-5.1 will be destroyed",
    ] {
        assert!(
            plan.stdout.contains(gone),
            "missing `{gone}` in\n{}",
            plan.stdout
        );
    }
    let out = apply(&emu, dir.path(), &plan_path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["report"]["deleted"], 4);
    // The pool was updated before the backend it no longer lists was deleted.
    let requests = emu.requests();
    let pool_put = requests
        .iter()
        .rposition(|r| {
            r["method"] == "PUT"
                && r["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("/backends/spillover-pool")
        })
        .unwrap();
    let backend_delete = requests
        .iter()
        .position(|r| {
            r["method"] == "DELETE"
                && r["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("/backends/fallback-westus3")
        })
        .unwrap();
    assert!(pool_put < backend_delete);
    assert_eq!(run(emu.cli(dir.path()).arg("plan").arg(&plan_path)).code, 0);
    assert!(orphans(&emu, &dir.path().join("state.json")).is_empty());
}

#[test]
fn apply_without_a_terminal_or_yes_refuses_and_writes_nothing() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli(dir.path())
        .arg("apply")
        .arg(&example)
        .stdin(std::process::Stdio::null()));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("pass --yes"), "{}", out.stderr);
    assert!(emu.requests().iter().all(|r| r["method"] == "GET"));
}

#[test]
fn an_existing_account_aoai_lb_did_not_create_is_not_taken_over() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    // Someone else's account, with the plan's name, in a group aoai-lb did not create.
    let rg = ids::resource_group(&model.subscription_id, &model.resource_group.name);
    assert!(
        emu.put(
            &rg,
            api_version::RESOURCES,
            json!({ "location": "westus", "tags": { "team": "data" } })
        )
        .0 < 300
    );
    let account = ids::account(
        &model.subscription_id,
        &model.resource_group.name,
        &model.accounts[0].name,
    );
    let body = json!({ "kind": "OpenAI", "sku": { "name": "S0" }, "location": "westus", "properties": { "customSubDomainName": "someone-elses" } });
    assert!(emu.put(&account, api_version::COGNITIVE_SERVICES, body).0 < 300);

    let writes = |emu: &Emu| {
        emu.requests()
            .iter()
            .filter(|r| r["method"] != "GET")
            .count()
    };
    let before = writes(&emu);
    let out = run(emu.cli(dir.path()).arg("apply").arg(&example).arg("--yes"));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("already exist and were not created by aoai-lb"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("account.aoai-nov26-instance1"),
        "{}",
        out.stderr
    );
    assert_eq!(writes(&emu), before, "apply wrote despite the conflict");

    let (_, other) = emu.get(&account, api_version::COGNITIVE_SERVICES);
    assert_eq!(other["properties"]["customSubDomainName"], "someone-elses");
}

#[test]
fn an_existing_resource_group_is_used_never_changed_and_never_deleted() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    let rg = ids::resource_group(&model.subscription_id, &model.resource_group.name);
    assert!(
        emu.put(
            &rg,
            api_version::RESOURCES,
            json!({ "location": "westus", "tags": { "team": "data" } })
        )
        .0 < 300
    );
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let (_, group) = emu.get(&rg, api_version::RESOURCES);
    assert_eq!(
        group["tags"],
        json!({ "team": "data" }),
        "the group's tags were changed"
    );
    let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(destroy.code, 0, "{}", destroy.stderr);
    assert_eq!(
        emu.get(&rg, api_version::RESOURCES).0,
        200,
        "the existing group was deleted"
    );
    assert!(ours_in(&emu.state()).is_empty());
}

#[test]
fn the_most_verbose_log_of_an_apply_holds_no_token_and_no_key() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli(dir.path())
        .arg("apply")
        .arg(&example)
        .args(["--yes", "-vv"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("DEBUG"),
        "no debug log at -vv: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("credential: emulator")
            || out.stderr.contains("credential: AOAI_LB_ACCESS_TOKEN"),
        "{}",
        out.stderr
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains(TOKEN), "the token leaked");
        assert!(!text.contains("Bearer"), "an authorization header leaked");
    }
    // Nor does the state file.
    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(!state.contains(TOKEN) && !state.to_lowercase().contains("primarykey"));
}

#[test]
fn destroy_purge_leaves_no_soft_deleted_account() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let out = run(emu.cli(dir.path()).args(["destroy", "--yes", "--purge"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let soft_deleted: Vec<Value> = emu
        .state()
        .into_iter()
        .filter(|r| {
            r["id"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("/deletedaccounts/")
        })
        .collect();
    assert!(soft_deleted.is_empty(), "{soft_deleted:?}");
}

#[test]
fn doctor_checks_what_the_plan_needs_without_writing() {
    let example = repo().join("examples/random-user-assigned.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli(dir.path()).arg("doctor").arg(&example));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("ok   API Management dev-apim-aolb: exists"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ok   user-assigned identity: exists"),
        "{}",
        out.stdout
    );

    let empty = Emu::start(aoai_lb::emulator::Config::default());
    let out = run(empty
        .cli(dir.path())
        .arg("doctor")
        .arg(&example)
        .args(["-o", "json"]));
    assert_eq!(out.code, 1);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let failed: Vec<&Value> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert!(
        failed.iter().any(|c| c["detail"]
            .as_str()
            .unwrap()
            .contains("aoai-lb uses an existing service")),
        "{failed:?}"
    );
    assert!(empty.requests().iter().all(|r| r["method"] == "GET"));
}

#[test]
fn a_lost_state_file_is_rebuilt_from_aoai_lbs_marks() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let before = crate::emu::state_ids(&dir.path().join("state.json"));
    std::fs::remove_file(dir.path().join("state.json")).unwrap();

    let plan = run(emu.cli(dir.path()).arg("plan").arg(&example));
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    let out = apply(&emu, dir.path(), &example);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["report"]["requests"]["writes"], 0);
    let mut after = crate::emu::state_ids(&dir.path().join("state.json"));
    let mut before = before;
    after.sort();
    before.sort();
    assert_eq!(
        after, before,
        "the rebuilt state lists what the first apply created"
    );
    assert_eq!(run(emu.cli(dir.path()).args(["destroy", "--yes"])).code, 0);
    assert!(
        ours_in(&emu.state()).is_empty(),
        "{:?}",
        ours_in(&emu.state())
    );
}

#[test]
fn destroy_keeps_a_group_it_created_once_someone_else_puts_a_resource_in_it() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    let stranger = ids::account(
        &model.subscription_id,
        &model.resource_group.name,
        "someone-elses",
    );
    let body = json!({ "kind": "OpenAI", "sku": { "name": "S0" }, "location": "westus", "properties": { "customSubDomainName": "someone-elses" } });
    assert!(emu.put(&stranger, api_version::COGNITIVE_SERVICES, body).0 < 300);

    let out = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("kept: the resource group holds resources aoai-lb did not create"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("someone-elses"), "{}", out.stderr);
    assert_eq!(
        emu.get(&stranger, api_version::COGNITIVE_SERVICES).0,
        200,
        "a stranger's account was deleted"
    );
    // Everything else of aoai-lb's is gone; only the group is left in the state.
    let left = crate::emu::state_ids(&dir.path().join("state.json"));
    assert_eq!(
        left,
        vec![ids::resource_group(
            &model.subscription_id,
            &model.resource_group.name
        )],
        "{left:?}"
    );
}
