//! Issue 15 item 2, "or create one": `apim.appInsights: {name}` makes aoai-lb create the
//! Application Insights component in the plan's resource group, tagged as its own, before
//! the logger that reads its connection string; `destroy` deletes it after the logger.
//! Moving it replaces it and the logger takes the new key; dropping it from the plan
//! deletes it (even with the state lost: by its tags); one of that name aoai-lb did not
//! create is not taken over, unless `import` adopts it.

use std::path::Path;

use serde_json::{Value, json};

use crate::emu::{Emu, seeded_for};
use crate::util::{assert_has, load_example, repo, run};

const COMPONENT: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-metrics/providers/Microsoft.Insights/components/appi-aoai-lb-metrics";
const LOGGER: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb/loggers/appi-aoai-lb-metrics";
const DIAGNOSTIC: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb/apis/azure-openai/diagnostics/applicationinsights";

/// examples/token-metrics.yaml in `dir`, its `appInsights` block replaced by `block`
/// (lines under `apim:`, or nothing).
fn write_plan(dir: &Path, block: &str) {
    let text = std::fs::read_to_string(repo().join("examples/token-metrics.yaml")).unwrap();
    let (head, _) = text
        .split_once("  appInsights:\n")
        .expect("the example has appInsights");
    std::fs::write(dir.join("plan.yaml"), format!("{head}{block}")).unwrap();
}

const CREATE: &str = "  appInsights:\n    name: appi-aoai-lb-metrics\n";

fn start(dir: &Path) -> Emu {
    write_plan(dir, CREATE);
    Emu::start(seeded_for(&load_example(&dir.join("plan.yaml"))))
}

/// Positions in the request log of `method` on `id`, in order.
fn seqs(emu: &Emu, method: &str, id: &str) -> Vec<usize> {
    emu.requests()
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r["method"] == method
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case(id))
        })
        .map(|(i, _)| i)
        .collect()
}

fn apply(emu: &Emu, dir: &Path) -> crate::util::Run {
    let out = run(emu.cli(dir).args(["apply", "plan.yaml", "--yes"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    out
}

#[test]
fn a_created_component_is_tagged_read_for_its_key_and_destroyed_after_its_logger() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let planned = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(planned.code, 3, "{}{}", planned.stdout, planned.stderr);
    assert_has(
        &planned.stdout,
        &[
            "component.appi-aoai-lb-metrics",
            "a managed workspace Azure makes",
        ],
    );

    let applied = apply(&emu, dir.path());
    let component = emu.resource(COMPONENT).expect("the component exists");
    assert_eq!(component["tags"]["managed-by"], "aoai-lb");
    assert_eq!(
        component["tags"]["aoai-lb-deployment"],
        "apim-aoai-lb/azure-openai"
    );
    assert_eq!(component["location"], "westus");
    assert_eq!(component["kind"], "web");
    // No workspace in the plan: Azure made a managed one, in a group of its own.
    let workspace = component["properties"]["WorkspaceResourceId"]
        .as_str()
        .expect("a workspace-based component")
        .to_string();
    assert!(emu.resource(&workspace).is_some(), "{workspace}");
    let key = component["properties"]["InstrumentationKey"]
        .as_str()
        .unwrap()
        .to_string();
    let logger = emu.resource(LOGGER).expect("the logger exists");
    assert!(
        logger["properties"]["resourceId"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(COMPONENT)
    );
    assert!(emu.resource(DIAGNOSTIC).is_some());
    // Created, then read for its connection string, then the logger.
    let (put, get, logger_put) = (
        seqs(&emu, "PUT", COMPONENT),
        seqs(&emu, "GET", COMPONENT),
        seqs(&emu, "PUT", LOGGER),
    );
    assert_eq!(put.len(), 1);
    assert!(get.iter().any(|g| *g > put[0] && *g < logger_put[0]));

    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(state.contains("component.appi-aoai-lb-metrics"), "{state}");
    for (what, text) in [
        ("state", &state),
        ("apply output", &applied.stdout),
        ("apply stderr", &applied.stderr),
    ] {
        assert!(!text.contains(&key), "the {what} holds the key");
    }
    let again = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);

    let destroyed = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(
        destroyed.code, 0,
        "{}{}",
        destroyed.stdout, destroyed.stderr
    );
    for id in [COMPONENT, LOGGER, DIAGNOSTIC, &workspace] {
        assert!(emu.resource(id).is_none(), "{id} is left");
    }
    let (diag, logger, component) = (
        seqs(&emu, "DELETE", DIAGNOSTIC)[0],
        seqs(&emu, "DELETE", LOGGER)[0],
        seqs(&emu, "DELETE", COMPONENT)[0],
    );
    assert!(
        diag < logger && logger < component,
        "{diag} {logger} {component}"
    );
}

#[test]
fn moving_the_component_replaces_it_and_the_logger_takes_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    apply(&emu, dir.path());
    let before = emu.resource(COMPONENT).unwrap()["properties"]["InstrumentationKey"].clone();

    write_plan(dir.path(), &format!("{CREATE}    location: eastus\n"));
    let planned = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(planned.code, 3, "{}{}", planned.stdout, planned.stderr);
    assert!(
        planned
            .stdout
            .contains("must be replaced: ARM cannot change location"),
        "{}",
        planned.stdout
    );
    assert!(
        planned
            .stdout
            .contains("takes the connection string of component.appi-aoai-lb-metrics"),
        "{}",
        planned.stdout
    );

    apply(&emu, dir.path());
    let after = emu.resource(COMPONENT).unwrap();
    assert_eq!(after["location"], "eastus");
    assert_ne!(after["properties"]["InstrumentationKey"], before);
    // The logger was written again after the new component was made and read.
    let puts = seqs(&emu, "PUT", COMPONENT);
    let gets = seqs(&emu, "GET", COMPONENT);
    let loggers = seqs(&emu, "PUT", LOGGER);
    assert_eq!((puts.len(), loggers.len()), (2, 2), "{puts:?} {loggers:?}");
    assert!(gets.iter().any(|g| *g > puts[1] && *g < loggers[1]));
    let again = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn dropping_app_insights_deletes_the_component_even_with_the_state_lost() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    apply(&emu, dir.path());
    std::fs::remove_file(dir.path().join("state.json")).unwrap();
    write_plan(dir.path(), "");

    let planned = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(planned.code, 3, "{}{}", planned.stdout, planned.stderr);
    assert_has(
        &planned.stdout,
        &["component.appi-aoai-lb-metrics", "found by its mark"],
    );
    apply(&emu, dir.path());
    assert!(emu.resource(COMPONENT).is_none());
}

#[test]
fn a_component_of_that_name_aoai_lb_did_not_create_is_not_taken_over_unless_imported() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let rg = COMPONENT.split("/providers/").next().unwrap();
    let (status, _) = emu.put(rg, "2021-04-01", json!({"location": "westus"}));
    assert!(status < 300, "{status}");
    let theirs = json!({"location": "westus", "kind": "web", "tags": {"team": "ops"},
        "properties": {"Application_Type": "web"}});
    let (status, body) = emu.put(COMPONENT, "2020-02-02", theirs);
    assert!(status < 300, "{status} {body}");

    let planned = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(planned.code, 1, "{}{}", planned.stdout, planned.stderr);
    assert!(
        planned.stderr.contains("were not created by aoai-lb")
            && planned.stderr.contains("component.appi-aoai-lb-metrics"),
        "{}",
        planned.stderr
    );
    let applied = run(emu.cli(dir.path()).args(["apply", "plan.yaml", "--yes"]));
    assert_eq!(applied.code, 1, "{}{}", applied.stdout, applied.stderr);
    assert_eq!(
        emu.resource(COMPONENT).unwrap()["tags"],
        json!({"team": "ops"})
    );

    // Adopted on purpose: import writes only the marks (Components_UpdateTags), keeping
    // the owner's tags and the instrumentation key; then it is the plan's like the rest.
    let key = emu.resource(COMPONENT).unwrap()["properties"]["InstrumentationKey"].clone();
    let imported = run(emu.cli(dir.path()).args(["import", "plan.yaml", "--yes"]));
    assert_eq!(imported.code, 0, "{}{}", imported.stdout, imported.stderr);
    let adopted = emu.resource(COMPONENT).unwrap();
    assert_eq!(adopted["tags"]["team"], "ops");
    assert_eq!(adopted["tags"]["managed-by"], "aoai-lb");
    assert_eq!(adopted["properties"]["InstrumentationKey"], key);
    assert_eq!(seqs(&emu, "PATCH", COMPONENT).len(), 1);
    apply(&emu, dir.path());
    let destroyed = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(
        destroyed.code, 0,
        "{}{}",
        destroyed.stdout, destroyed.stderr
    );
    assert!(emu.resource(COMPONENT).is_none());
}

#[test]
fn a_component_in_the_plans_workspace_gets_no_managed_one() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitor";
    let workspace = format!("{rg}/providers/Microsoft.OperationalInsights/workspaces/log-aoai-lb");
    let (status, _) = emu.put(rg, "2021-04-01", json!({"location": "westus"}));
    assert!(status < 300, "{status}");
    let body = json!({"location": "westus", "properties": {"sku": {"name": "PerGB2018"}}});
    let (status, made) = emu.put(&workspace, "2025-07-01", body);
    assert!(status < 300, "{status} {made}");
    write_plan(dir.path(), &format!("{CREATE}    workspace: {workspace}\n"));

    apply(&emu, dir.path());
    let component = emu.resource(COMPONENT).unwrap();
    let used = component["properties"]["WorkspaceResourceId"]
        .as_str()
        .unwrap();
    assert!(used.eq_ignore_ascii_case(&workspace), "{used}");
    let managed: Vec<String> = emu
        .state()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter(|id| id.to_ascii_lowercase().contains("_managed"))
        .map(str::to_string)
        .collect();
    assert!(managed.is_empty(), "{managed:?}");
    let again = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn doctor_checks_the_component_and_its_workspace_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let emu = start(dir.path());
    let doctor = || run(emu.cli(dir.path()).args(["doctor", "plan.yaml"]));
    let out = doctor();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_has(
        &out.stdout,
        &[
            "ok   Application Insights appi-aoai-lb-metrics: missing: apply will create it; Azure gives it a managed workspace",
        ],
    );

    let workspace = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitor/providers/Microsoft.OperationalInsights/workspaces/log-missing";
    write_plan(dir.path(), &format!("{CREATE}    workspace: {workspace}\n"));
    let out = doctor();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_has(
        &out.stdout,
        &[&format!(
            "FAIL Application Insights appi-aoai-lb-metrics: its Log Analytics workspace {workspace} was not found"
        )],
    );

    write_plan(dir.path(), CREATE);
    let rg = COMPONENT.split("/providers/").next().unwrap();
    assert!(emu.put(rg, "2021-04-01", json!({"location": "westus"})).0 < 300);
    let theirs =
        json!({"location": "westus", "kind": "web", "properties": {"Application_Type": "web"}});
    assert!(emu.put(COMPONENT, "2020-02-02", theirs).0 < 300);
    let out = doctor();
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_has(
        &out.stdout,
        &[
            "FAIL Application Insights appi-aoai-lb-metrics: exists and carries no aoai-lb mark: apply will not take it over",
        ],
    );
    // Named by id, the same component is what the logger needs.
    write_plan(
        dir.path(),
        &format!("  appInsights:\n    id: {COMPONENT}\n"),
    );
    let out = doctor();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_has(
        &out.stdout,
        &[
            "ok   Application Insights appi-aoai-lb-metrics: exists; its connection string is readable",
        ],
    );
    assert!(
        emu.requests().iter().all(|r| r["method"] == "GET"
            || r["path"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(rg) || p.eq_ignore_ascii_case(COMPONENT))),
        "doctor wrote something"
    );
}

/// The demo's clients step, on a plan with Application Insights, reads what the plan's
/// logger carried: each client's tokens, as its answers counted them.
#[test]
fn the_demo_shows_each_clients_tokens_reaching_application_insights() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(crate::util::aoai_lb(dir.path())
        .arg("demo")
        .arg(repo().join("examples/token-metrics.yaml"))
        .args(["--requests", "40", "--output", "json"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "clients")
        .expect("a clients step");
    let metrics = &step["appInsights"];
    assert_eq!(metrics["logger"], "appi-aoai-lb-metrics", "{step}");
    for client in step["clients"].as_array().unwrap() {
        let name = client["name"].as_str().unwrap();
        let tokens = client["tokens"].as_u64().unwrap();
        assert!(tokens > 0, "{client}");
        assert_eq!(metrics["tokensByClient"][name], tokens, "{step}");
    }
    let answered: u64 = step["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["answered"].as_u64().unwrap())
        .sum();
    assert_eq!(metrics["records"], answered, "one record per answer");
}
