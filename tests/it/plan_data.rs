//! The plan is data that apply executes: each change carries its request, apply
//! sends it (filling only what an earlier change returns), destroy's plan puts the
//! APIM identity back as a change of its own, and a malformed state file is an error
//! naming the entry.

use std::sync::Arc;

use aoai_lb::arm::auth::{CredentialChain, StaticToken};
use aoai_lb::arm::{ArmClient, ArmClientOptions};
use aoai_lb::core::desired::{Kind, UNKNOWN};
use aoai_lb::core::ids::{self, api_version};
use aoai_lb::engine::apply::{self, ApplyOptions, Silent};
use aoai_lb::engine::plan::{self, Action};
use aoai_lb::engine::request::{Fill, Method, Record};
use aoai_lb::engine::state::{self, LockedState};
use serde_json::{Value, json};

use crate::emu::{Emu, TOKEN, seeded_for};
use crate::util::{load_example, repo, run};

fn client(emu: &Emu) -> ArmClient {
    ArmClient::new(
        &emu.url(),
        CredentialChain::single("test", StaticToken::new(TOKEN.into())),
        ArmClientOptions::default(),
    )
    .unwrap()
}

#[test]
fn apply_sends_the_planned_bodies_and_fills_only_what_the_identity_returns() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let locked = LockedState::open(dir.path().join("state.json")).unwrap();
    let arm = client(&emu);
    let mut p = rt
        .block_on(plan::plan(&arm, &model, &locked.state))
        .unwrap();

    // The identity is off: turning it on is a planned PATCH that records what it found,
    // and the role assignments wait for the principal it returns.
    let identity = p
        .changes
        .iter()
        .find(|c| c.kind == Kind::ApimIdentity)
        .unwrap();
    assert_eq!(identity.action, Action::Update);
    assert_eq!(identity.request.method, Method::Patch);
    assert!(matches!(identity.record, Some(Record::IdentityFound(_))));
    let from = identity.address.clone();
    let assignments: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.kind == Kind::RoleAssignment)
        .collect();
    assert_eq!(assignments.len(), model.accounts.len());
    for ra in &assignments {
        assert!(ra.request.id.contains(UNKNOWN), "{}", ra.request.id);
        assert!(
            ra.request
                .fills
                .iter()
                .any(|f| matches!(f, Fill::RoleAssignmentName { from: f, .. } if *f == from))
        );
        assert!(ra.request.fills.iter().any(
            |f| matches!(f, Fill::PrincipalId { from: f, pointer, .. } if *f == from && pointer == "/properties/principalId")
        ));
    }

    // Apply sends the plan's bodies, not a desired state built again.
    let backend = p
        .changes
        .iter_mut()
        .find(|c| c.kind == Kind::Backend)
        .unwrap();
    backend.request.body.as_mut().unwrap()["properties"]["description"] =
        json!("edited in the plan");
    let backend_id = backend.id.clone();
    let run = apply::Run {
        client: &arm,
        model: Some(&model),
        plan_file: "two-regions.yaml",
        options: ApplyOptions::default(),
        observer: Arc::new(Silent),
        cancel: Default::default(),
    };
    let (report, locked) = rt.block_on(apply::apply(run, p, locked));
    assert!(report.ok(), "{report:?}");
    let (status, live) = emu.get(&backend_id, api_version::API_MANAGEMENT);
    assert_eq!(status, 200);
    assert_eq!(live["properties"]["description"], "edited in the plan");

    // Each role assignment is named after the principal APIM returned, and recorded so.
    let (_, service) = emu.get(
        &ids::apim_service(
            &model.subscription_id,
            &model.apim.resource_group,
            &model.apim.name,
        ),
        api_version::API_MANAGEMENT,
    );
    let principal = service["identity"]["principalId"].as_str().unwrap();
    let role = ids::role_definition(&model.subscription_id, ids::ROLE_OPENAI_USER);
    for a in &model.accounts {
        let scope = ids::account(&model.subscription_id, &model.resource_group.name, &a.name);
        let id = ids::role_assignment(&scope, &ids::role_assignment_name(&scope, &role, principal));
        let (status, live) = emu.get(&id, api_version::AUTHORIZATION);
        assert_eq!(status, 200, "{id}");
        assert_eq!(live["properties"]["principalId"], principal);
        assert!(
            locked.state.resources.iter().any(|e| e.id == id),
            "the state records {id}"
        );
    }
}

#[test]
fn plan_json_shows_each_changes_request_and_no_secret() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli(dir.path())
        .arg("plan")
        .arg(&example)
        .args(["--output", "json"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let changes = v["changes"].as_array().unwrap();
    for c in changes {
        let r = &c["request"];
        assert!(
            ["PUT", "PATCH"].contains(&r["method"].as_str().unwrap()),
            "{c}"
        );
        assert_eq!(r["id"], c["id"]);
        assert!(r["apiVersion"].is_string(), "{c}");
        assert!(r["body"].is_object(), "{c}");
    }
    let api = changes.iter().find(|c| c["kind"] == "api").unwrap();
    assert!(api["request"]["body"]["properties"]["value"].is_string());
    let ra = changes
        .iter()
        .find(|c| c["kind"] == "role_assignment")
        .unwrap();
    assert_eq!(ra["request"]["fills"][0]["fill"], "roleAssignmentName");
    for secret in [TOKEN, "primaryKey", "secondaryKey"] {
        assert!(!out.stdout.contains(secret), "{secret} in the plan");
    }
}

#[test]
fn destroy_puts_the_identity_back_as_a_planned_change_after_the_deletes() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli(dir.path())
        .arg("apply")
        .arg(&example)
        .args(["--yes", "-q"]));
    assert_eq!(out.code, 0, "{}", out.stderr);

    let recorded = state::read(dir.path().join("state.json")).unwrap();
    let p = plan::destroy_plan(&recorded);
    let last = p.changes.last().unwrap();
    assert_eq!(
        (last.kind, last.action, last.request.method),
        (Kind::ApimIdentity, Action::Update, Method::Patch)
    );
    assert_eq!(last.record, Some(Record::IdentityRestored));
    let deletes: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.key())
        .collect();
    assert_eq!(last.depends_on, deletes);

    let before = emu.requests().len();
    let out = run(emu
        .cli(dir.path())
        .args(["destroy", "--yes", "--output", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["report"]["updated"], 1, "{v}");
    assert_eq!(v["report"]["deleted"], deletes.len(), "{v}");
    let writes: Vec<Value> = emu.requests()[before..]
        .iter()
        .filter(|r| r["method"] == "DELETE" || r["method"] == "PATCH")
        .cloned()
        .collect();
    assert_eq!(writes.last().unwrap()["method"], "PATCH", "{writes:?}");
    assert_eq!(
        writes.iter().filter(|r| r["method"] == "PATCH").count(),
        1,
        "{writes:?}"
    );
    assert!(!dir.path().join("state.json").exists());
}

#[test]
fn a_malformed_state_entry_is_an_error_naming_the_file_and_the_entry() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli(dir.path())
        .arg("apply")
        .arg(&example)
        .args(["--yes", "-q"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let path = dir.path().join("state.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let api = v["resources"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["kind"] == "api")
        .unwrap();
    api["specSha256"] = json!("abc");
    let address = api["address"].as_str().unwrap().to_string();
    std::fs::write(&path, v.to_string()).unwrap();
    for args in [&["plan"][..], &["apply", "--yes"][..]] {
        let out = run(emu.cli(dir.path()).args(args).arg(&example));
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(&path.display().to_string()),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(&address), "{}", out.stderr);
        assert!(out.stderr.contains("specSha256"), "{}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn an_arm_refusal_keeps_its_status_and_code_in_the_report() {
    // Accounts in regions the emulator's catalog snapshot does not cover: their quotas
    // list nothing yet, so the preflight cannot see what ARM refuses at the PUT.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("examples/two-regions.yaml"))
        .unwrap()
        .replace("    location: westus\n", "    location: westeurope\n")
        .replace("    location: eastus\n", "    location: northeurope\n");
    assert!(!text.contains("    location: eastus"), "{text}");
    let example = dir.path().join("plan.yaml");
    std::fs::write(&example, text).unwrap();
    let model = load_example(&example);
    let mut config = seeded_for(&model);
    config.quota.insert("default".into(), 1);
    let emu = Emu::start(config);
    let out = run(emu
        .cli(dir.path())
        .arg("apply")
        .arg(&example)
        .args(["--yes", "--output", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let failures = v["report"]["failures"].as_array().unwrap();
    assert!(!failures.is_empty(), "{v}");
    for f in failures {
        assert!(
            f["address"].as_str().unwrap().starts_with("deployment."),
            "{f}"
        );
        assert_eq!(f["status"], 400, "{f}");
        assert_eq!(f["code"], "InsufficientQuota", "{f}");
    }
    assert_eq!(
        failures.len(),
        v["report"]["failed"].as_array().unwrap().len()
    );
}
