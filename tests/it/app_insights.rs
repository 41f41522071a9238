//! Issue 15 item 2, the product's side: `apim.appInsights` adds an APIM logger for an
//! existing Application Insights component and the API's `applicationinsights`
//! diagnostic (metrics on). The logger's connection string is read from the component
//! at apply time: the instrumentation key reaches no output, state file or saved plan;
//! a re-plan sees no change (the credentials come back masked); destroy removes both
//! and leaves the component, which is not aoai-lb's.

use std::path::Path;

use serde_json::json;

use crate::emu::{Emu, seeded_for};
use crate::util::{assert_has, load_example, repo, run};

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000000";
const COMPONENT: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-monitor/providers/Microsoft.Insights/components/appi-aoai-lb";
const SERVICE: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-apim/providers/Microsoft.ApiManagement/service/apim-aoai-lb";

/// examples/clients-token-limits.yaml with `apim.appInsights: {id}` appended.
fn write_plan(dir: &Path, id: &str) {
    let text = std::fs::read_to_string(repo().join("examples/clients-token-limits.yaml"))
        .unwrap()
        .replace("../schemas/", "");
    let text = format!(
        "{}  appInsights:\n    id: {id}\n",
        text.trim_end_matches('\n').to_string() + "\n"
    );
    std::fs::write(dir.join("plan.yaml"), text).unwrap();
}

/// The emulator for the plan, with the component made beforehand; its instrumentation key.
fn setup(dir: &Path) -> (Emu, String) {
    write_plan(dir, COMPONENT);
    let emu = Emu::start(seeded_for(&load_example(&dir.join("plan.yaml"))));
    let rg = format!("{SUB}/resourceGroups/rg-monitor");
    let (status, _) = emu.put(&rg, "2021-04-01", json!({"location": "westus"}));
    assert!(status < 300, "{status}");
    let (status, c) = emu.put(
        COMPONENT,
        "2020-02-02",
        json!({"location": "westus", "kind": "web", "properties": {"Application_Type": "web"}}),
    );
    assert!(status < 300, "{status} {c}");
    let key = c["properties"]["InstrumentationKey"].as_str().unwrap();
    assert!(key.len() >= 32, "{c}");
    (emu, key.to_string())
}

#[test]
fn a_logger_and_diagnostic_are_applied_without_the_key_and_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, key) = setup(dir.path());
    let logger_id = format!("{SERVICE}/loggers/appi-aoai-lb");
    let diagnostic_id = format!("{SERVICE}/apis/azure-openai/diagnostics/applicationinsights");

    let planned = run(emu
        .cli(dir.path())
        .args(["plan", "plan.yaml", "--out", "saved.plan"]));
    assert_eq!(planned.code, 3, "{}{}", planned.stdout, planned.stderr);
    assert_has(
        &planned.stdout,
        &["logger.appi-aoai-lb", "diagnostic.applicationinsights"],
    );
    let saved = std::fs::read_to_string(dir.path().join("saved.plan")).unwrap();
    assert!(saved.contains("(known after apply)"));

    let applied = run(emu.cli(dir.path()).args(["apply", "saved.plan"]));
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    let logger = emu.resource(&logger_id).expect("the logger exists");
    assert_eq!(logger["properties"]["loggerType"], "applicationInsights");
    assert_eq!(logger["properties"]["resourceId"], COMPONENT);
    let shown = logger["properties"]["credentials"]["connectionString"]
        .as_str()
        .unwrap();
    assert!(shown.starts_with("{{Logger-Credentials--"), "{logger}");
    let diagnostic = emu.resource(&diagnostic_id).expect("the diagnostic exists");
    assert_eq!(diagnostic["properties"]["metrics"], true);
    assert!(
        diagnostic["properties"]["loggerId"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&logger_id)
    );
    // The connection string was read from the component at apply time, before the logger.
    let log = emu.requests();
    let seq = |method: &str, id: &str| {
        log.iter()
            .find(|r| {
                r["method"] == method
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(id))
            })
            .and_then(|r| r["seq"].as_u64())
    };
    let read = seq("GET", COMPONENT).expect("apply read the component");
    assert!(read < seq("PUT", &logger_id).expect("the logger was PUT"));

    let again = run(emu.cli(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    let json = run(emu
        .cli(dir.path())
        .args(["plan", "plan.yaml", "--output", "json"]));

    let state = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(state.contains("logger.appi-aoai-lb"), "{state}");
    for (what, text) in [
        ("saved plan", &saved),
        ("state file", &state),
        ("plan output", &planned.stdout),
        ("plan stderr", &planned.stderr),
        ("apply output", &applied.stdout),
        ("apply stderr", &applied.stderr),
        ("re-plan output", &again.stdout),
        ("JSON plan", &json.stdout),
    ] {
        assert!(
            !text.contains(&key),
            "the {what} holds the instrumentation key"
        );
    }

    let destroyed = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(
        destroyed.code, 0,
        "{}{}",
        destroyed.stdout, destroyed.stderr
    );
    assert!(emu.resource(&diagnostic_id).is_none());
    assert!(emu.resource(&logger_id).is_none());
    assert!(
        emu.resource(COMPONENT).is_some(),
        "the component is not aoai-lb's"
    );
    for text in [&destroyed.stdout, &destroyed.stderr] {
        assert!(!text.contains(&key));
    }
    let log = emu.requests();
    let deleted = |id: &str| {
        log.iter()
            .position(|r| {
                r["method"] == "DELETE"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(id))
            })
            .expect("deleted")
    };
    assert!(
        deleted(&diagnostic_id) < deleted(&logger_id),
        "diagnostic first"
    );
}

#[test]
fn an_app_insights_id_that_is_no_component_is_refused_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = format!("{SUB}/resourceGroups/rg-monitor/providers/Microsoft.Insights/workspaces/w");
    write_plan(dir.path(), &bad);
    let lines = std::fs::read_to_string(dir.path().join("plan.yaml")).unwrap();
    let line = lines.lines().count();
    let out = run(crate::util::aoai_lb(dir.path()).args(["validate", "plan.yaml"]));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let at = format!("plan.yaml:{line}:9: ");
    assert!(
        out.stderr.contains(&format!(
            "{at}`{bad}` is not an Application Insights component id"
        )),
        "{}",
        out.stderr
    );
}
