//! The acceptance of bounded retries: 30 accounts of 3 deployments under 30% throttling,
//! 10% server errors and 5% dropped connections converge in ONE apply, since each cause
//! has its own budget; afterwards the plan has nothing to do and nothing is orphaned.

use std::path::Path;

use serde_json::{Value, json};

use crate::emu::{Emu, orphans, seeded_for};
use crate::util::run;

/// 30 accounts over 10 regions, 3 deployments each (capacity 1: far below the quota).
fn plan_30_by_3() -> String {
    crate::scale_plan::scale_plan("faults", 30)
}

fn cli(emu: &Emu, dir: &Path, args: &[&str]) -> crate::util::Run {
    run(emu
        .cli(dir)
        .env("AOAI_LB_DELAY_SCALE", "0.01")
        .args(args)
        .arg(dir.join("plan.yaml")))
}

#[test]
fn thirty_accounts_of_three_deployments_converge_in_one_apply_under_faults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan_30_by_3()).unwrap();
    let model = crate::util::load_example(&path);
    assert_eq!(model.accounts.len(), 30);
    let mut config = seeded_for(&model);
    config.faults.seed = 30;
    config.faults.throttle = 0.3;
    config.faults.server_error = 0.1;
    config.faults.drop = 0.05;
    config.faults.retry_after_seconds = 0.02;
    let emu = Emu::start(config);

    let out = run(emu
        .cli(dir.path())
        .env("AOAI_LB_DELAY_SCALE", "0.01")
        .args(["apply", "--yes", "--output", "json", "--parallelism", "20"])
        .arg(&path));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("json report");
    assert_eq!(report["ok"], true, "{report}");
    // The group; per account: itself, 3 deployments, a role assignment, a backend; the
    // pool, the API, its policy and the subscription.
    assert_eq!(
        report["report"]["created"].as_u64(),
        Some(1 + 30 * 6 + 4),
        "{report}"
    );
    assert!(
        report["report"]["requests"]["retries"].as_u64().unwrap() > 0,
        "{report}"
    );

    // Every kind of fault was met, and survived.
    let log = emu.requests();
    for kind in ["throttle", "server-error", "drop"] {
        let n = log.iter().filter(|r| r["fault"] == kind).count();
        assert!(n > 0, "no {kind} was injected");
    }
    emu.set_faults(json!({}));
    let again = cli(&emu, dir.path(), &["plan"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert!(orphans(&emu, &dir.path().join("state.json")).is_empty());
}
