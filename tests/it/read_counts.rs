//! Reads that scale (issue 14): a no-op `plan` reads Azure through ARM's collection
//! GETs, so its requests grow with the accounts (one deployments listing each), not with
//! every resource: at most 20 ARM resource requests for 10 accounts x 3 deployments and
//! 80 for 50 x 3, counted from the emulator's request log (the model-catalog and usage
//! reads of the preflight come on top and are not counted here).

use std::path::Path;

use serde_json::Value;

use crate::emu::{Emu, seeded_for};
use crate::util::run;

/// `accounts` accounts over 10 regions, 3 deployments each (capacity 1).
pub fn plan_of(accounts: usize) -> String {
    crate::scale_plan::scale_plan("reads", accounts)
}

fn cli(emu: &Emu, dir: &Path, args: &[&str]) -> crate::util::Run {
    run(emu
        .cli(dir)
        .env("AOAI_LB_DELAY_SCALE", "0.01")
        .args(args)
        .arg(dir.join("plan.yaml")))
}

/// A catalog or quota read of the preflight (`.../locations/{l}/models`, `/usages`...).
fn is_catalog(path: &str) -> bool {
    path.to_lowercase()
        .contains("/providers/microsoft.cognitiveservices/locations/")
}

/// Applies an N x 3 plan, then counts the ARM resource requests of a no-op plan.
fn no_op_plan_requests(accounts: usize) -> (Vec<Value>, Emu) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.yaml");
    std::fs::write(&path, plan_of(accounts)).unwrap();
    let model = crate::util::load_example(&path);
    let emu = Emu::start(seeded_for(&model));
    let out = cli(&emu, dir.path(), &["apply", "--yes", "--parallelism", "20"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = emu.requests().len();
    let out = cli(&emu, dir.path(), &["plan", "--output", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let plan: Value = serde_json::from_str(&out.stdout).expect("json plan");
    let changes = plan["plan"]["changes"]
        .as_array()
        .or_else(|| plan["changes"].as_array())
        .cloned()
        .unwrap_or_default();
    assert!(!changes.is_empty(), "{}", out.stdout);
    assert!(
        changes
            .iter()
            .all(|c| c["action"] == "noop" || c["action"] == "no-op"),
        "not a no-op plan: {}",
        out.stdout
    );
    let reads: Vec<Value> = emu.requests()[before..]
        .iter()
        .filter(|r| !is_catalog(r["path"].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    eprintln!(
        "no-op plan of {accounts} x 3: {} ARM resource requests\n{}",
        reads.len(),
        shown(&reads)
    );
    (reads, emu)
}

fn shown(log: &[Value]) -> String {
    log.iter()
        .map(|r| format!("{} {}?{}", r["method"], r["path"], r["query"]))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_no_op_plan_of_10_by_3_takes_at_most_20_arm_requests() {
    let (reads, _emu) = no_op_plan_requests(10);
    assert!(
        reads.len() <= 20,
        "{} requests:\n{}",
        reads.len(),
        shown(&reads)
    );
    // Collections, not one GET per resource: one deployments listing per account.
    let listings = reads
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/deployments"))
        .count();
    assert_eq!(listings, 10, "{}", shown(&reads));
    assert!(
        reads.iter().all(|r| r["method"] == "GET"),
        "{}",
        shown(&reads)
    );
}

#[test]
fn a_no_op_plan_of_50_by_3_takes_at_most_80_arm_requests() {
    let (reads, _emu) = no_op_plan_requests(50);
    assert!(
        reads.len() <= 80,
        "{} requests:\n{}",
        reads.len(),
        shown(&reads)
    );
}
