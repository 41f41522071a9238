//! `aoai-lb import` (issue 12): a lab built by hand with raw ARM calls is adopted by
//! writing only aoai-lb's ownership marks; `plan` then shows no changes (or only the real
//! differences) and `destroy` removes it all. A resource marked by another deployment is
//! refused, and nothing is written without a confirmation.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use aoai_lb::core::desired::{self, Facts, Kind};
use aoai_lb::core::ids::{self, api_version};
use aoai_lb::core::model::Model;
use serde_json::{Value, json};

use crate::emu::{Emu, seeded_for};
use crate::util::{load_example, repo, run};

/// The two-regions example in `dir`.
fn plan_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/two-regions.yaml")).unwrap();
    let path = dir.join("lab.yaml");
    std::fs::write(&path, text.replace("../schemas", "schemas")).unwrap();
    path
}

/// A GET, which also lets the emulator finish the operation on it (instant profile).
fn settled(emu: &Emu, id: &str, version: &str) -> Value {
    let (status, body) = emu.get(id, version);
    assert_eq!(status, 200, "{id}: {body}");
    body
}

fn put(emu: &Emu, id: &str, version: &str, body: Value) {
    let (status, answer) = emu.put(id, version, body);
    assert!(status < 300, "PUT {id}: {status} {answer}");
    settled(emu, id, version);
}

/// The body people write for a resource: what the plan describes, without aoai-lb's
/// marks (their own tags, their own descriptions).
fn by_hand(r: &desired::DesiredResource, model: &Model, capacity: Option<u64>) -> Value {
    let mut body = r.body.clone();
    if body.get("tags").is_some() {
        body["tags"] = json!(model.tags);
    }
    if body.pointer("/properties/description").is_some() {
        body["properties"]["description"] = json!("made by hand, following the seed tutorial");
    }
    if let (Kind::Deployment, Some(c)) = (r.kind, capacity) {
        body["sku"]["capacity"] = json!(c);
    }
    body
}

/// Builds the seed lab with raw ARM calls, as the portal, Bicep or Terraform tutorials
/// do: group, accounts with gpt-4o, the APIM identity on, role assignments (random
/// names), backends, pool, API import, policy, subscription. `capacity` sets the first
/// deployment's capacity (a real difference to the plan).
fn build_lab(emu: &Emu, model: &Model, capacity: Option<u64>) {
    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let (status, _) = emu.patch(
        &service,
        api_version::API_MANAGEMENT,
        json!({ "identity": { "type": "SystemAssigned" } }),
    );
    assert_eq!(status, 202);
    let principal = settled(emu, &service, api_version::API_MANAGEMENT)["identity"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let facts = Facts {
        principal_id: Some(principal.clone()),
        client_id: None,
    };
    let mut first_deployment = capacity;
    for (i, r) in desired::build(model, &facts).unwrap().iter().enumerate() {
        match r.kind {
            Kind::ApimIdentity => {}
            Kind::RoleAssignment => {
                let scope =
                    r.id.split("/providers/Microsoft.Authorization/")
                        .next()
                        .unwrap();
                let name = format!("0b9d2e4c-7a11-4c55-8e2f-5d6a7b8c9d{i:02}");
                let body = json!({ "properties": {
                    "roleDefinitionId": ids::role_definition(&model.subscription_id, ids::ROLE_OPENAI_USER),
                    "principalId": principal,
                    "principalType": "ServicePrincipal",
                } });
                put(
                    emu,
                    &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
                    r.api_version,
                    body,
                );
            }
            Kind::Deployment => put(
                emu,
                &r.id,
                r.api_version,
                by_hand(r, model, first_deployment.take()),
            ),
            _ => put(emu, &r.id, r.api_version, by_hand(r, model, None)),
        }
    }
}

fn lab() -> (tempfile::TempDir, PathBuf, Model, Emu) {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path());
    let model = load_example(&plan);
    let emu = Emu::start(seeded_for(&model));
    (dir, plan, model, emu)
}

/// Resources of the emulator that carry any aoai-lb mark.
fn marked(emu: &Emu) -> Vec<String> {
    emu.state()
        .iter()
        .filter(|r| {
            r.pointer("/tags/managed-by").is_some()
                || r.pointer("/tags/aoai-lb-deployment").is_some()
                || r.pointer("/properties/description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.contains("aoai-lb"))
        })
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// What of the lab is left in the emulator: anything in the lab's group (live or
/// soft-deleted accounts aside), and the API Management entities and role assignments.
fn lab_left(emu: &Emu, model: &Model) -> Vec<String> {
    let group = format!("/resourcegroups/{}", model.resource_group.name).to_lowercase();
    emu.state()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter(|id| {
            let l = id.to_lowercase();
            !l.contains("/deletedaccounts/")
                && (l.contains(&group)
                    || l.contains("/roleassignments/")
                    || [
                        "/backends/",
                        "/apis/",
                        "/service/apim-aoai-lb/subscriptions/",
                    ]
                    .iter()
                    .any(|p| l.contains(p)))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn a_lab_built_by_hand_is_imported_planned_without_changes_and_destroyed() {
    let (dir, plan, model, emu) = lab();
    build_lab(&emu, &model, None);
    assert!(
        lab_left(&emu, &model).len() >= 12,
        "{:?}",
        lab_left(&emu, &model)
    );
    let before = emu.state();

    // No terminal and no --yes: refused, nothing written.
    let out = run(emu
        .cli(dir.path())
        .arg("import")
        .arg(&plan)
        .stdin(Stdio::null()));
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("pass --yes"), "{}", out.stderr);
    assert!(out.stderr.contains("will be adopted"), "{}", out.stderr);
    assert_eq!(
        emu.state(),
        before,
        "nothing may change without a confirmation"
    );
    assert!(!dir.path().join("state.json").exists());

    let out = run(emu
        .cli(dir.path())
        .arg("import")
        .arg(&plan)
        .args(["--yes", "--output", "json"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["imported"], true);
    let summary = &report["summary"];
    // group, 2 accounts, 2 deployments, 2 role assignments, 2 backends, pool, API and
    // (following the API, with no mark of their own) its policy and subscription.
    assert_eq!(summary["adopt"], 13, "{report:#}");
    assert_eq!(report["marksWritten"], 11);
    assert_eq!(summary["ours"], 0, "{report:#}");
    assert_eq!(summary["missing"], 0, "{report:#}");
    assert_eq!(summary["differ"], 0, "{report:#}");
    let ra = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "role_assignment")
        .unwrap();
    assert!(
        ra["id"]
            .as_str()
            .unwrap()
            .contains("0b9d2e4c-7a11-4c55-8e2f-5d6a7b8c9d"),
        "the assignment made by hand is adopted under its own name: {ra}"
    );

    // Only the marks changed: every resource keeps its other fields.
    for r in &before {
        let id = r["id"].as_str().unwrap();
        let after = emu
            .state()
            .into_iter()
            .find(|a| a["id"] == r["id"])
            .unwrap();
        for field in ["location", "sku", "kind"] {
            assert_eq!(after.get(field), r.get(field), "{id}: {field}");
        }
        let strip = |v: &Value| {
            let mut p = v.get("properties").cloned().unwrap_or(Value::Null);
            if let Some(o) = p.as_object_mut() {
                for k in ["description", "updatedOn", "updatedBy", "provisioningState"] {
                    o.remove(k);
                }
            }
            p
        };
        assert_eq!(strip(&after), strip(r), "{id}: properties besides the mark");
    }

    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(
        out.code, 0,
        "plan after import: {}{}",
        out.stdout, out.stderr
    );
    assert!(out.stdout.contains("No changes"), "{}", out.stdout);

    // Again: everything is already this deployment's, nothing to write or confirm.
    let marked_state = emu.state();
    let out = run(emu
        .cli(dir.path())
        .arg("import")
        .arg(&plan)
        .args(["--output", "json"])
        .stdin(Stdio::null()));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let again: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(again["summary"]["ours"], 13, "{again:#}");
    assert_eq!(again["marksWritten"], 0);
    assert_eq!(emu.state(), marked_state);

    // The marks are the record: with the state lost, plan still finds no changes.
    let state_file = dir.path().join("state.json");
    let saved = std::fs::read(&state_file).unwrap();
    std::fs::remove_file(&state_file).unwrap();
    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(
        out.code, 0,
        "plan without the state: {}{}",
        out.stdout, out.stderr
    );
    std::fs::write(&state_file, saved).unwrap();

    let out = run(emu.cli(dir.path()).arg("destroy").arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        lab_left(&emu, &model),
        Vec::<String>::new(),
        "destroy left some of the lab"
    );
}

#[test]
fn a_real_difference_is_shown_by_import_and_stays_in_the_plan() {
    let (dir, plan, model, emu) = lab();
    build_lab(&emu, &model, Some(20));
    let out = run(emu.cli(dir.path()).arg("import").arg(&plan).arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("sku.capacity: 20 -> 10  (plan will change it)"),
        "{}",
        out.stderr
    );
    let out = run(emu
        .cli(dir.path())
        .arg("plan")
        .arg(&plan)
        .args(["--output", "json"]));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    let p: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(p["summary"]["change"], 1, "{p:#}");
    assert_eq!(p["summary"]["add"], 0, "{p:#}");
    assert_eq!(p["summary"]["destroy"], 0, "{p:#}");
    let changed: Vec<&Value> = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .collect();
    assert_eq!(
        changed[0]["address"],
        "deployment.aoai-nov26-instance1/gpt-4o"
    );

    // Adopted, it is aoai-lb's to converge.
    let out = run(emu.cli(dir.path()).arg("apply").arg(&plan).arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let deployment = ids::deployment(
        &ids::account(
            &model.subscription_id,
            &model.resource_group.name,
            &model.accounts[0].name,
        ),
        "gpt-4o",
    );
    let live = settled(&emu, &deployment, api_version::COGNITIVE_SERVICES);
    assert_eq!(live["sku"]["capacity"], 10);
    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn a_resource_marked_by_another_deployment_is_never_adopted() {
    let (dir, plan, model, emu) = lab();
    build_lab(&emu, &model, None);
    let account = ids::account(
        &model.subscription_id,
        &model.resource_group.name,
        &model.accounts[1].name,
    );
    let (status, _) = emu.patch(
        &account,
        api_version::COGNITIVE_SERVICES,
        json!({ "tags": { "managed-by": "aoai-lb", "aoai-lb-deployment": "prod" } }),
    );
    assert_eq!(status, 200);
    let before = emu.state();
    let out = run(emu.cli(dir.path()).arg("import").arg(&plan).arg("--yes"));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "account.{} ({account}) belongs to aoai-lb deployment `prod`",
            model.accounts[1].name
        )),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.state(),
        before,
        "nothing is adopted when one resource is refused"
    );
    assert_eq!(marked(&emu), vec![account]);
    assert!(!dir.path().join("state.json").exists());
}
