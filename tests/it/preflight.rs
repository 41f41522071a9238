//! Preflight from ARM's live model catalog: `plan` refuses a deployment the region's
//! catalog says is retired or not offered, naming what is offered instead and where,
//! before any write; a current version plans.

use std::path::Path;

use crate::emu::{Emu, seeded_for};
use crate::util::{load_example, repo, run};

const EXAMPLE: &str = "examples/two-regions.yaml";

/// The seed lab: the example on the seed's gpt-4o 2024-08-06 (Standard), which the
/// emulator's catalog retires on 2026-03-31 (the example itself is on 2024-11-20).
fn seed_text() -> String {
    let text = std::fs::read_to_string(repo().join(EXAMPLE)).unwrap();
    assert!(text.contains("version: \"2024-11-20\""), "{EXAMPLE}");
    text.replace("version: \"2024-11-20\"", "version: \"2024-08-06\"")
}

/// The seed lab, written in `dir` as seed.yaml.
fn seed(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("seed.yaml");
    std::fs::write(&path, seed_text()).unwrap();
    path
}

/// The seed lab with `from` replaced by `to`, written in `dir` as plan.yaml.
fn variant(dir: &Path, from: &str, to: &str) -> std::path::PathBuf {
    let text = seed_text();
    assert!(text.contains(from), "{from} not in the seed lab");
    let path = dir.join("plan.yaml");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

/// An emulator for the example whose catalog day is `today`.
fn emulator(today: &str) -> Emu {
    let mut config = seeded_for(&load_example(&repo().join(EXAMPLE)));
    config.catalog.today = Some(today.to_string());
    Emu::start(config)
}

fn writes(emu: &Emu) -> Vec<String> {
    emu.requests()
        .iter()
        .filter(|r| matches!(r["method"].as_str(), Some("PUT" | "PATCH" | "DELETE")))
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect()
}

fn catalog_reads(emu: &Emu) -> Vec<String> {
    let mut paths: Vec<String> = emu
        .requests()
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .filter(|p: &String| p.ends_with("/models"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_retired_version_fails_plan_with_nothing_written() {
    let emu = emulator("2026-04-01");
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli(dir.path()).arg("plan").arg(seed(dir.path())));
    assert_ne!(out.code, 0, "{}", out.stdout);
    for part in [
        "account aoai-nov26-instance1 (westus), deployment gpt-4o: gpt-4o 2024-08-06 on Standard retired on 2026-03-31",
        "account aoai-nov26-instance2 (eastus), deployment gpt-4o: gpt-4o 2024-08-06 on Standard retired on 2026-03-31",
        "westus offers gpt-4o instead: ",
        "2024-11-20 on ",
        "offered as requested in: none of the plan's regions",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
    assert_eq!(writes(&emu), Vec::<String>::new());
    let reads = catalog_reads(&emu);
    assert_eq!(reads.len(), 2, "one catalog read per region: {reads:?}");
}

#[test]
fn a_current_version_plans_and_a_retiring_one_warns() {
    let emu = emulator("2026-04-01");
    let dir = tempfile::tempdir().unwrap();
    let plan = variant(dir.path(), "2024-08-06", "2024-11-20");
    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(out.code, 3, "changes to make: {}", out.stderr);
    assert!(!out.stderr.contains("model catalog"), "{}", out.stderr);
    assert_eq!(writes(&emu), Vec::<String>::new());

    let emu = emulator("2026-03-01");
    let out = run(emu.cli(dir.path()).arg("plan").arg(seed(dir.path())));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("gpt-4o 2024-08-06 on Standard retires on 2026-03-31 (in 30 days)"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_unknown_model_in_a_covered_region_is_refused_at_plan() {
    let emu = emulator("2026-03-01");
    let dir = tempfile::tempdir().unwrap();
    let plan = variant(dir.path(), "model: gpt-4o,", "model: gpt-9,");
    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_ne!(out.code, 0, "{}", out.stdout);
    let want = "account aoai-nov26-instance2 (eastus), deployment gpt-4o: gpt-9 2024-08-06 on Standard is not offered in this region";
    assert!(out.stderr.contains(want), "{}", out.stderr);
    assert!(
        out.stderr.contains("eastus offers gpt-9 instead: nothing"),
        "{}",
        out.stderr
    );
    assert_eq!(writes(&emu), Vec::<String>::new());
}

fn usage_reads(emu: &Emu) -> usize {
    emu.requests()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .filter(|p| p.ends_with("/usages"))
        .count()
}

/// An emulator for the example (catalog day 2026-03-01) with `quota` per sku.
fn with_quota(quota: u64) -> Emu {
    let mut config = seeded_for(&load_example(&repo().join(EXAMPLE)));
    config.catalog.today = Some("2026-03-01".to_string());
    config.quota.insert("Standard".to_string(), quota);
    Emu::start(config)
}

#[test]
fn capacity_beyond_the_free_quota_fails_plan_naming_the_quota_with_nothing_written() {
    // Quota 15 per region: each account's 10 fits; 20 in eastus does not, westus has room.
    let emu = with_quota(15);
    let dir = tempfile::tempdir().unwrap();
    let plan = variant(
        dir.path(),
        "sku: Standard, capacity: 10 }",
        "sku: Standard, capacity: 20 }",
    );
    let out = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let want = "quota OpenAI.Standard.gpt-4o in eastus: the plan asks 20 more (account aoai-nov26-instance2 deployment gpt-4o: 20) but 15 is free (limit 15, 0 in use); free enough in: none of the plan's regions";
    assert!(out.stderr.contains(want), "{}", out.stderr);
    assert_eq!(writes(&emu), Vec::<String>::new());
    assert_eq!(usage_reads(&emu), 2, "one quota read per region");

    // The example as is fits, applies, and plans clean afterwards: an existing deployment
    // counts only its increase (10 of 15 in use, the plan asks none more).
    let state = dir.path().join("state.json");
    let apply = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &state)
        .args(["apply", "--yes", EXAMPLE])
        .current_dir(repo()));
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let again = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &state)
        .args(["plan", EXAMPLE, "--quiet"])
        .current_dir(repo()));
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn warnings_and_refusals_reach_json_the_github_summary_and_doctor() {
    // 2026-03-01: gpt-4o 2024-08-06 on Standard retires in 30 days (a warning).
    let emu = emulator("2026-03-01");
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = run(emu
        .cli(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .arg("plan")
        .arg(seed(dir.path()))
        .args(["--output", "json"]));
    assert_eq!(out.code, 3, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 4, "{v:#}");
    assert!(
        warnings[0].ends_with("gpt-4o 2024-08-06 on Standard retires on 2026-03-31 (in 30 days)"),
        "{v:#}"
    );
    // The catalog also marks the version Deprecating: a new deployment warns, per account.
    let deprecating: Vec<&&str> = warnings
        .iter()
        .filter(|w| w.contains("gpt-4o 2024-08-06 on Standard is Deprecating in ARM's model catalog: Azure no longer offers it to subscriptions that have never deployed it"))
        .collect();
    assert_eq!(deprecating.len(), 2, "{v:#}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("> ⚠️ account aoai-nov26-instance1 (westus)"),
        "{md}"
    );
    assert!(
        out.stderr
            .contains("::warning title=aoai-lb preflight::account aoai-nov26-instance1"),
        "{}",
        out.stderr
    );

    // A horizon of 20 days does not reach the date: no retirement warning.
    let plan = variant(dir.path(), "tags:\n", "retireWarningDays: 20\ntags:\n");
    let out = run(emu
        .cli(dir.path())
        .arg("plan")
        .arg(&plan)
        .args(["--output", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let retiring = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.as_str().unwrap().contains(" retires on "))
        .count();
    assert_eq!(retiring, 0, "{:#}", v["warnings"]);

    // After the date: the refusal, as JSON on stdout, as annotations, and from doctor.
    let emu = emulator("2026-04-01");
    let out = run(emu
        .cli(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .arg("plan")
        .arg(seed(dir.path()))
        .args(["--output", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["refusals"].as_array().unwrap().len(), 2, "{v:#}");
    assert!(out.stderr.contains("::error title=aoai-lb preflight::account aoai-nov26-instance1 (westus), deployment gpt-4o: gpt-4o 2024-08-06 on Standard retired on 2026-03-31"), "{}", out.stderr);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("- ❌ account aoai-nov26-instance2 (eastus)"),
        "{md}"
    );

    let out = run(emu.cli(dir.path()).arg("doctor").arg(seed(dir.path())));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("FAIL model catalog and quotas: account aoai-nov26-instance2 (eastus), deployment gpt-4o: gpt-4o 2024-08-06 on Standard retired on 2026-03-31"),
        "{}",
        out.stdout
    );
    assert_eq!(writes(&emu), Vec::<String>::new());
}

#[test]
fn version_upgrade_option_is_sent_diffed_and_shown() {
    let emu = emulator("2026-03-01");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    // On the example's own gpt-4o 2024-11-20 (the seed's 2024-08-06 is open to existing
    // customers only).
    let text = std::fs::read_to_string(repo().join(EXAMPLE))
        .unwrap()
        .replace(
            "        capacity: 10\n",
            "        capacity: 10\n        versionUpgradeOption: NoAutoUpgrade\n",
        );
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, text).unwrap();
    let planned = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &state)
        .arg("plan")
        .arg(&plan));
    assert_eq!(planned.code, 3, "{}", planned.stderr);
    assert!(
        planned
            .stdout
            .contains("+ versionUpgradeOption: \"NoAutoUpgrade\""),
        "{}",
        planned.stdout
    );
    let out = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &state)
        .args(["apply", "--yes"])
        .arg(&plan));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // What ARM holds: the value sent (the emulator fills in Azure's default only when none is).
    let id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aoai-lb/providers/Microsoft.CognitiveServices/accounts/aoai-nov26-instance1/deployments/gpt-4o";
    let (status, got) = emu.get(id, aoai_lb::core::ids::api_version::COGNITIVE_SERVICES);
    assert_eq!(status, 200, "{got:#}");
    assert_eq!(
        got["properties"]["versionUpgradeOption"], "NoAutoUpgrade",
        "{got:#}"
    );
    let again = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &state)
        .arg("plan")
        .arg(&plan));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);

    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("NoAutoUpgrade", "OnceCurrentVersionExpired");
    std::fs::write(&plan, text).unwrap();
    let changed = run(emu
        .cli(dir.path())
        .env("AOAI_LB_STATE", &state)
        .arg("plan")
        .arg(&plan));
    assert_eq!(changed.code, 3, "{}", changed.stderr);
    assert!(
        changed.stdout.contains(
            "properties.versionUpgradeOption: \"NoAutoUpgrade\" -> \"OnceCurrentVersionExpired\""
        ),
        "{}",
        changed.stdout
    );
}

/// A combination the region does not offer at all: besides the plan's regions, the
/// refusal names where ARM's subscription-wide model capacities (ModelCapacities_List,
/// read only because something was refused) have room for it.
#[test]
fn a_combination_the_region_lacks_names_where_arm_has_room_for_it() {
    let emu = emulator("2026-04-01");
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join(EXAMPLE))
        .unwrap()
        .replace("location: eastus\n", "location: japaneast\n")
        .replace(
            "{ name: gpt-4o, model: gpt-4o, version: \"2024-11-20\", sku: Standard, capacity: 10 }",
            "{ name: gpt-4o, model: gpt-4o, version: \"2024-11-20\", sku: DataZoneProvisionedManaged, capacity: 15 }",
        );
    assert!(text.contains("japaneast") && text.contains("DataZoneProvisionedManaged"));
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, text).unwrap();
    let out = run(emu.cli(dir.path()).arg("plan").arg(&path));
    assert_ne!(out.code, 0, "{}", out.stdout);
    let want = "account aoai-nov26-instance2 (japaneast), deployment gpt-4o: gpt-4o 2024-11-20 on DataZoneProvisionedManaged is not offered in this region";
    assert!(out.stderr.contains(want), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "ARM's model capacities have room for 15 on DataZoneProvisionedManaged in: eastus, eastus2, swedencentral, westus, westus3"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(writes(&emu), Vec::<String>::new());
    let capacity_reads = emu
        .requests()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/modelCapacities"))
        })
        .count();
    assert_eq!(capacity_reads, 1);
}

/// A plan the catalog accepts asks nothing of ModelCapacities_List.
#[test]
fn a_plan_the_catalog_accepts_reads_no_model_capacities() {
    let emu = emulator("2026-04-01");
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli(dir.path()).arg("plan").arg(repo().join(EXAMPLE)));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(!emu.requests().iter().any(|r| {
        r["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/modelCapacities"))
    }),);
}

/// Every example plans, on the emulator's catalog as of its snapshot's day (its default
/// `catalog.today`), without a catalog warning: no version the catalog marks `Deprecating`
/// (closed to new customers) or retiring within the plan's horizon, nothing refused. A
/// refreshed snapshot that retires an example's model fails here, naming the example.
#[test]
fn every_example_uses_versions_a_new_customer_can_deploy_on_the_snapshots_day() {
    for example in crate::util::examples() {
        let emu = Emu::start(seeded_for(&load_example(&example)));
        let dir = tempfile::tempdir().unwrap();
        let out = run(emu.cli(dir.path()).arg("plan").arg(&example));
        assert_eq!(out.code, 3, "{}: {}", example.display(), out.stderr);
        // "... is Deprecating in ARM's model catalog", "... retired on ... (ARM's model catalog",
        // "... retires on ... (in N days)".
        for catalog_says in ["model catalog", "retires on"] {
            assert!(
                !out.stderr.contains(catalog_says),
                "{}: {catalog_says:?} in:\n{}",
                example.display(),
                out.stderr
            );
        }
        assert!(!catalog_reads(&emu).is_empty(), "{}", example.display());
    }
}

/// A version in the Deprecated stage that is not retired on its sku (gpt-4o 2024-08-06 on
/// GlobalStandard): `plan` warns and exits 3; `apply` by a subscription that never deployed it
/// fails at the deployment as Azure does (ServiceModelDeprecating) with what to do, and
/// writes no deployment; one that has (catalog.deployedBefore) applies.
#[test]
fn a_deprecating_version_warns_at_plan_and_fails_apply_for_a_new_customer() {
    let dir = tempfile::tempdir().unwrap();
    let text = seed_text().replace("sku: Standard", "sku: GlobalStandard");
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, text).unwrap();
    let emu = Emu::start(seeded_for(&load_example(&plan)));
    let planned = run(emu.cli(dir.path()).arg("plan").arg(&plan));
    assert_eq!(planned.code, 3, "{}", planned.stderr);
    assert!(
        planned
            .stderr
            .contains("gpt-4o 2024-08-06 on GlobalStandard is Deprecating in ARM's model catalog"),
        "{}",
        planned.stderr
    );
    let out = run(emu
        .cli(dir.path())
        .env("AOAI_LB_DELAY_SCALE", crate::engine::DELAY_SCALE)
        .args(["apply", "--yes"])
        .arg(&plan));
    assert_ne!(out.code, 0, "{}", out.stdout);
    for part in [
        "ServiceModelDeprecating",
        "is in deprecating state and cannot be used for new deployments",
        "only subscriptions that have deployed it before may create deployments of it",
    ] {
        assert!(
            out.stderr.contains(part),
            "{part:?} not in:\n{}",
            out.stderr
        );
    }
    let deployments = |emu: &Emu| {
        emu.state()
            .into_iter()
            .filter(|r| r["type"] == "Microsoft.CognitiveServices/accounts/deployments")
            .count()
    };
    assert_eq!(deployments(&emu), 0);

    let mut config = seeded_for(&load_example(&plan));
    config.catalog.deployed_before = vec!["gpt-4o 2024-08-06".to_string()];
    let emu = Emu::start(config);
    let other = tempfile::tempdir().unwrap();
    let out = run(emu
        .cli(other.path())
        .env("AOAI_LB_DELAY_SCALE", crate::engine::DELAY_SCALE)
        .args(["apply", "--yes"])
        .arg(&plan));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(deployments(&emu), 2);
}

/// Provisioned throughput comes in sizes: the catalog's capacity settings for the sku
/// (minimum 15 in steps of 5 on GlobalProvisionedManaged here) refuse 17 at plan, with
/// the rule and nothing written; 20 plans.
#[test]
fn a_provisioned_capacity_off_the_catalogs_steps_is_refused_at_plan() {
    let emu = emulator("2026-04-01");
    let dir = tempfile::tempdir().unwrap();
    let with = |capacity: u32| {
        let text = std::fs::read_to_string(repo().join(EXAMPLE)).unwrap().replace(
            "{ name: gpt-4o, model: gpt-4o, version: \"2024-11-20\", sku: Standard, capacity: 10 }",
            &format!("{{ name: gpt-4o, model: gpt-4o, version: \"2024-11-20\", sku: GlobalProvisionedManaged, capacity: {capacity} }}"),
        );
        assert!(text.contains("GlobalProvisionedManaged"));
        let path = dir.path().join(format!("plan-{capacity}.yaml"));
        std::fs::write(&path, text).unwrap();
        run(emu.cli(dir.path()).arg("plan").arg(&path))
    };
    let out = with(17);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let want = "account aoai-nov26-instance2 (eastus), deployment gpt-4o: capacity 17 on GlobalProvisionedManaged is not one ARM's model catalog allows for gpt-4o 2024-11-20 there: at least 15, at most 1000, 15 plus a multiple of 5";
    assert!(out.stderr.contains(want), "{}", out.stderr);
    assert_eq!(writes(&emu), Vec::<String>::new());
    let out = with(20);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
}
