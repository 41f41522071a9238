//! Ownership across plans, people and lost state (issue 9): each deployment touches only
//! what carries its own mark, finds it without a state file, and keeps its state to itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use aoai_lb::core::ids::{self, api_version};
use serde_json::{Value, json};

use crate::emu::{Emu, apim_service, ours_in, seeded_for};
use crate::util::{load_example, repo, run};

/// The two-regions example renamed for one deployment: its own accounts, backends, pool,
/// API (name and path) and subscription, in the same group and APIM service.
pub fn variant(dir: &Path, env: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("examples/two-regions.yaml")).unwrap();
    let text = text
        .replace("aoai-nov26-instance", &format!("aoai-{env}-"))
        .replace("openai-instance1", &format!("{env}-backend-1"))
        .replace("openai-instance2", &format!("{env}-backend-2"))
        .replace("openai-instance-backend-pool", &format!("{env}-pool"))
        .replace(
            "name: azure-openai-lb",
            &format!("name: azure-openai-{env}"),
        )
        .replace("path: openai-lb", &format!("path: openai-{env}"))
        .replace("aoai-lb-clients", &format!("{env}-clients"))
        .replace("../schemas", "schemas");
    let path = dir.join(format!("{env}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary in `dir` with each plan's default state (no AOAI_LB_STATE).
pub fn cli(emu: &Emu, dir: &Path) -> Command {
    let mut cmd = emu.cli(dir);
    cmd.env_remove("AOAI_LB_STATE");
    cmd
}

fn apply(cmd: &mut Command, plan: &Path) -> crate::util::Run {
    run(cmd
        .arg("apply")
        .arg(plan)
        .args(["--yes", "--output", "json"]))
}

fn ids_with(emu: &Emu, part: &str) -> Vec<String> {
    ours_in(&emu.state())
        .into_iter()
        .filter(|id| id.contains(part))
        .collect()
}

#[test]
fn dev_and_prod_in_one_directory_and_group_destroying_dev_leaves_prod_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (dev, prod) = (variant(dir.path(), "dev"), variant(dir.path(), "prod"));
    let model = load_example(&prod);
    let emu = Emu::start(seeded_for(&model));
    let service_before = apim_service(&emu, &model);

    let out = apply(&mut cli(&emu, dir.path()), &dev);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = apply(&mut cli(&emu, dir.path()), &prod);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.path().join("dev.aoai-lb.state.json").exists());
    assert!(dir.path().join("prod.aoai-lb.state.json").exists());
    let prod_before = ids_with(&emu, "prod");
    assert!(prod_before.len() >= 8, "{prod_before:?}");
    assert!(!ids_with(&emu, "dev").is_empty());

    let out = run(cli(&emu, dir.path()).arg("destroy").arg(&dev).arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        ids_with(&emu, "dev").is_empty(),
        "{:?}",
        ids_with(&emu, "dev")
    );
    assert_eq!(ids_with(&emu, "prod"), prod_before, "prod lost resources");
    let group = ids::resource_group(&model.subscription_id, &model.resource_group.name);
    assert_eq!(
        emu.get(&group, api_version::RESOURCES).0,
        200,
        "the shared group is gone"
    );
    let service = apim_service(&emu, &model);
    assert_eq!(
        service["identity"]["type"], "SystemAssigned",
        "prod's APIM identity was turned off: {service}"
    );
    let plan = run(cli(&emu, dir.path()).arg("plan").arg(&prod));
    assert_eq!(
        plan.code, 0,
        "prod is no longer as planned:\n{}{}",
        plan.stdout, plan.stderr
    );

    let out = run(cli(&emu, dir.path()).arg("destroy").arg(&prod).arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The group dev created (and left for prod) is all that is left; nothing of prod's.
    assert_eq!(ours_in(&emu.state()), vec![group.clone()]);
    let mut service = apim_service(&emu, &model);
    let mut before = service_before;
    for s in [&mut service, &mut before] {
        s.as_object_mut().unwrap().remove("tags");
    }
    assert_eq!(service, before, "the APIM service is not as it was found");
}

#[test]
fn a_state_of_another_deployment_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (dev, prod) = (variant(dir.path(), "dev"), variant(dir.path(), "prod"));
    let emu = Emu::start(seeded_for(&load_example(&dev)));
    let shared = dir.path().join("shared.json");
    let out = apply(emu.cli(dir.path()).env("AOAI_LB_STATE", &shared), &dev);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let writes = |emu: &Emu| {
        emu.requests()
            .iter()
            .filter(|r| r["method"] != "GET")
            .count()
    };
    let before = writes(&emu);
    for cmd in [&["plan"][..], &["apply", "--yes"], &["destroy", "--yes"]] {
        let out = run(emu
            .cli(dir.path())
            .env("AOAI_LB_STATE", &shared)
            .arg(cmd[0])
            .arg(&prod)
            .args(&cmd[1..]));
        assert_eq!(out.code, 2, "{cmd:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("apim-aoai-lb/azure-openai-dev")
                && out.stderr.contains("apim-aoai-lb/azure-openai-prod"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(writes(&emu), before, "nothing may be written");
}

#[test]
fn resources_recreated_by_someone_else_survive_destroy_and_a_second_plan_may_not_adopt_names() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&mut emu.cli(dir.path()), &example).code, 0);

    // A second deployment (another API) that reuses an account name is refused.
    let other = variant(dir.path(), "other").to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&other)
        .unwrap()
        .replace("aoai-other-1", "aoai-nov26-instance1");
    std::fs::write(&other, text).unwrap();
    let out = apply(&mut cli(&emu, dir.path()), Path::new(&other));
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("account.aoai-nov26-instance1")
            && out
                .stderr
                .contains("belongs to aoai-lb deployment `apim-aoai-lb/azure-openai-lb`"),
        "{}",
        out.stderr
    );

    // A colleague deletes the APIM subscription by hand and makes their own, same name.
    let sub = &model.subscription_id;
    let service = ids::apim_service(sub, &model.apim.resource_group, &model.apim.name);
    let subscription = ids::apim_subscription(&service, "aoai-lb-clients");
    assert!(emu.delete(&subscription, api_version::API_MANAGEMENT) < 300);
    let their_sub =
        json!({ "properties": { "scope": format!("{service}/apis"), "displayName": "theirs" } });
    let (status, body) = emu.put(&subscription, api_version::API_MANAGEMENT, their_sub);
    assert!(status < 300, "{body}");

    let out = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("left alone: subscription.aoai-lb-clients carries no aoai-lb mark"),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.get(&subscription, api_version::API_MANAGEMENT).0,
        200,
        "theirs was deleted"
    );
    let left = ours_in(&emu.state());
    assert!(
        left.iter().all(|id| id.eq_ignore_ascii_case(&subscription)),
        "{left:?}"
    );
}

#[test]
fn without_its_state_a_plan_finds_what_it_dropped_and_destroy_leaves_nothing() {
    let example = repo().join("examples/priority-spillover.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&mut emu.cli(dir.path()), &example).code, 0);
    std::fs::remove_file(dir.path().join("state.json")).unwrap();

    let text = std::fs::read_to_string(&example).unwrap();
    let start = text.find("  - name: aoai-spill-fallback-b").unwrap();
    let end = text.find("\napim:").unwrap();
    let smaller = format!("{}{}", &text[..start], &text[end + 1..]);
    let plan_path = dir.path().join("smaller.yaml");
    std::fs::write(&plan_path, smaller.replace("../schemas", "schemas")).unwrap();

    let plan = run(emu.cli(dir.path()).arg("plan").arg(&plan_path));
    assert_eq!(plan.code, 3, "{}{}", plan.stdout, plan.stderr);
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
    assert!(plan.stdout.contains(", 4 to destroy."), "{}", plan.stdout);

    let out = run(emu
        .cli(dir.path())
        .arg("destroy")
        .arg(&plan_path)
        .arg("--yes"));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        ours_in(&emu.state()).is_empty(),
        "{}{}",
        out.stdout,
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_state_stays_a_link_and_destroy_through_the_real_path_leaves_nothing() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let real = dir.path().join("real/state.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("real/state.json", &link).unwrap();

    let out = apply(emu.cli(dir.path()).env("AOAI_LB_STATE", &link), &example);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(real.exists());
    let out = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &real)
        .args(["destroy", "--yes"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        ours_in(&emu.state()).is_empty(),
        "{:?}",
        ours_in(&emu.state())
    );
}

#[test]
fn deleting_the_lock_file_while_a_run_holds_it_does_not_let_a_second_apply_in() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let dir = tempfile::tempdir().unwrap();
    let held = aoai_lb::engine::state::LockedState::open(dir.path().join("state.json")).unwrap();
    std::fs::remove_file(dir.path().join("state.json.lock")).unwrap();
    let out = apply(&mut emu.cli(dir.path()), &example);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is locked"), "{}", out.stderr);
    assert!(emu.requests().iter().all(|r| r["method"] == "GET"));
    drop(held);
    assert_eq!(apply(&mut emu.cli(dir.path()), &example).code, 0);
}

#[test]
fn collections_page_with_next_link() {
    let example = repo().join("examples/priority-spillover.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(apply(&mut emu.cli(dir.path()), &example).code, 0);
    let service = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let mut path = format!(
        "{service}/backends?api-version={}&$top=2",
        api_version::API_MANAGEMENT
    );
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = emu.get_raw(&path);
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for b in body["value"].as_array().unwrap() {
            names.push(b["name"].as_str().unwrap().to_string());
        }
        match body["nextLink"].as_str() {
            Some(next) => path = next.strip_prefix(&emu.url()).unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 2, "3 backends and a pool in pages of 2");
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    let filter = "tagName eq 'aoai-lb-deployment' and tagValue eq 'apim-aoai-spillover/azure-openai-spillover'";
    let (status, body) = emu.get_raw(&format!(
        "/subscriptions/{}/resources?api-version={}&$filter={}",
        model.subscription_id,
        api_version::RESOURCES,
        filter
            .replace(' ', "%20")
            .replace('\'', "%27")
            .replace('/', "%2F")
    ));
    assert_eq!(status, 200, "{body}");
    let items: Vec<&Value> = body["value"].as_array().unwrap().iter().collect();
    assert_eq!(items.len(), 3, "the three accounts: {body}");
    assert!(
        items.iter().all(|i| i.get("tags").is_none()),
        "tags are not returned with a tag value filter"
    );
}
