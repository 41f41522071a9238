//! apply under faults, kills and interrupts, and the state lock: whatever happens to a
//! run, the state file still parses, the next apply converges and nothing is orphaned.
//! Split from engine.rs (issue 10: no source file over 600 lines).

use crate::emu::{Emu, orphans, ours_in, seeded_for};
use crate::engine::{DELAY_SCALE, apply};
use crate::util::{load_example, repo, run};
use serde_json::json;

#[test]
fn with_faults_on_every_seeded_run_converges_without_orphans() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    in_parallel(0..20u64, |seed| {
        let mut config = seeded_for(&model);
        config.principal_replication_seconds = Some(0.3);
        config.faults.seed = seed;
        config.faults.throttle = 0.2;
        config.faults.server_error = 0.05;
        config.faults.retry_after_seconds = 0.02;
        config.faults.fail_lro = vec![aoai_lb::emulator::FailLro {
            kind: aoai_lb::emulator::LroKind::Deployment,
            times: Some(1),
        }];
        let emu = Emu::start(config);
        let dir = tempfile::tempdir().unwrap();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let out = apply(&emu, dir.path(), &example);
            // The state file parses after every run, failed or not.
            let _ = crate::emu::state_ids(&dir.path().join("state.json"));
            if out.code == 0 {
                break;
            }
            assert!(
                attempts < 4,
                "seed {seed}: no convergence after {attempts} applies: {}",
                out.stderr
            );
            assert_eq!(out.code, 1, "seed {seed}: {}", out.stderr);
        }
        assert!(
            attempts >= 2,
            "seed {seed}: the failed deployment should have failed the first apply"
        );
        emu.set_faults(json!({}));
        let plan = run(emu.cli(dir.path()).arg("plan").arg(&example));
        assert_eq!(plan.code, 0, "seed {seed}: {}", plan.stdout);
        assert!(
            orphans(&emu, &dir.path().join("state.json")).is_empty(),
            "seed {seed}: orphans"
        );
        let faulted = emu
            .requests()
            .iter()
            .filter(|r| !r["fault"].is_null())
            .count();
        assert!(faulted > 0, "seed {seed}: no fault was injected");
    });
}

#[test]
fn a_second_apply_on_a_locked_state_refuses() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let emu = Emu::start(seeded_for(&model));
    let dir = tempfile::tempdir().unwrap();
    let held = aoai_lb::engine::state::LockedState::open(dir.path().join("state.json")).unwrap();
    let out = apply(&emu, dir.path(), &example);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("is locked: another aoai-lb apply or destroy is running on it"),
        "{}",
        out.stderr
    );
    assert!(
        emu.requests().iter().all(|r| r["method"] == "GET"),
        "nothing may be written while locked"
    );
    drop(held);
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
}

#[test]
fn killed_at_ten_points_the_next_apply_converges_and_destroy_leaves_nothing() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    in_parallel(1..=10usize, |point| {
        let mut config = seeded_for(&model);
        config.latency = aoai_lb::emulator::Latency::Azure;
        config.time_scale = 0.01;
        let emu = Emu::start(config);
        let dir = tempfile::tempdir().unwrap();
        let mut child = emu
            .cli(dir.path())
            .env("AOAI_LB_DELAY_SCALE", DELAY_SCALE)
            .arg("apply")
            .arg(&example)
            .args(["--yes", "-q"])
            .spawn()
            .unwrap();
        // Kill -9 once the emulator has seen this many writes: spread over the 14 writes
        // of a full apply (1, 2, 3, 5, ... 13), so every point is inside the run.
        let target = point * 13 / 10;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("point {point}: the apply ended ({status}) before its {target}th write");
            }
            let writes = emu
                .requests()
                .iter()
                .filter(|r| r["method"] != "GET")
                .count();
            if writes >= target {
                child.kill().unwrap();
                break child.wait().unwrap();
            }
            // Not a wait for work: a pause between two reads of the request log, so the
            // watcher does not take the CPU the apply and the emulator need.
            std::thread::sleep(std::time::Duration::from_millis(2));
        };
        // The process was killed, not finished: it ended by SIGKILL.
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "point {point}: the apply was not killed: {status}"
        );
        let state = dir.path().join("state.json");
        let _ = crate::emu::state_ids(&state); // parses, whatever the moment of death
        let out = apply(&emu, dir.path(), &example);
        assert_eq!(out.code, 0, "point {point}: {}", out.stderr);
        assert_eq!(
            run(emu.cli(dir.path()).arg("plan").arg(&example)).code,
            0,
            "point {point}"
        );
        assert!(
            orphans(&emu, &state).is_empty(),
            "point {point}: orphans {:?}",
            orphans(&emu, &state)
        );
        let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
        assert_eq!(destroy.code, 0, "point {point}: {}", destroy.stderr);
        assert!(
            ours_in(&emu.state()).is_empty(),
            "point {point}: left {:?}",
            ours_in(&emu.state())
        );
    });
}

/// Starts `aoai-lb apply PLAN` and kills it (-9) once the emulator has seen `target`
/// writes in all; asserts it was killed, not finished.
fn kill_at_write(emu: &Emu, dir: &std::path::Path, plan: &std::path::Path, target: usize) {
    let mut child = emu
        .cli(dir)
        .env("AOAI_LB_DELAY_SCALE", DELAY_SCALE)
        .arg("apply")
        .arg(plan)
        .args(["--yes", "-q"])
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the apply ended ({status}) before write {target}");
        }
        if writes(emu) >= target {
            child.kill().unwrap();
            break child.wait().unwrap();
        }
        // Not a wait for work: a pause between two reads of the request log.
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "not killed: {status}");
}

fn writes(emu: &Emu) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r["method"] != "GET")
        .count()
}

/// Soft-deleted accounts the emulator holds (aoai-lb's, in these tests).
fn soft_deleted(emu: &Emu) -> Vec<String> {
    emu.state()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter(|id| id.to_lowercase().contains("/deletedaccounts/"))
        .map(str::to_string)
        .collect()
}

/// After a kill: the next apply converges, `plan` finds nothing to do, nothing is
/// orphaned (live or soft-deleted), and destroy leaves nothing of ours.
fn converges_after_kill(emu: &Emu, dir: &std::path::Path, plan: &std::path::Path, what: &str) {
    let state = dir.join("state.json");
    let _ = crate::emu::state_ids(&state); // parses, whatever the moment of death
    let out = apply(emu, dir, plan);
    assert_eq!(out.code, 0, "{what}: {}", out.stderr);
    let again = run(emu.cli(dir).arg("plan").arg(plan));
    assert_eq!(again.code, 0, "{what}: {}", again.stdout);
    assert!(orphans(emu, &state).is_empty(), "{what}: orphans");
    assert!(
        soft_deleted(emu).is_empty(),
        "{what}: {:?}",
        soft_deleted(emu)
    );
}

#[test]
fn killed_during_a_replacement_or_a_restore_the_next_apply_converges() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let start = || {
        let mut config = seeded_for(&model);
        config.latency = aoai_lb::emulator::Latency::Azure;
        config.time_scale = 0.01;
        Emu::start(config)
    };
    // A replacement (account 2 to another region) sends 6 writes: delete, purge, the
    // account, its deployment, its role assignment and the backend that names the region.
    in_parallel(1..=6usize, |point| {
        let emu = start();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(apply(&emu, dir.path(), &example).code, 0);
        let text = std::fs::read_to_string(&example).unwrap();
        let moved = dir.path().join("moved.yaml");
        std::fs::write(
            &moved,
            text.replace("location: eastus", "location: westus3")
                .replace("../schemas", "schemas"),
        )
        .unwrap();
        kill_at_write(&emu, dir.path(), &moved, writes(&emu) + point);
        converges_after_kill(&emu, dir.path(), &moved, &format!("replace, point {point}"));
        let account = emu.get(
            &aoai_lb::core::ids::account(
                &model.subscription_id,
                &model.resource_group.name,
                "aoai-nov26-instance2",
            ),
            aoai_lb::core::ids::api_version::COGNITIVE_SERVICES,
        );
        assert_eq!(account.1["location"], "westus3", "point {point}");
    });
    // A restore after destroy: kill at points spread over its first writes.
    in_parallel([1usize, 2, 3, 5], |point| {
        let emu = start();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(apply(&emu, dir.path(), &example).code, 0);
        let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes"]));
        assert_eq!(destroy.code, 0, "{}", destroy.stderr);
        assert_eq!(soft_deleted(&emu).len(), 2);
        kill_at_write(&emu, dir.path(), &example, writes(&emu) + point);
        converges_after_kill(
            &emu,
            dir.path(),
            &example,
            &format!("restore, point {point}"),
        );
        let destroy = run(emu.cli(dir.path()).args(["destroy", "--yes", "--purge"]));
        assert_eq!(destroy.code, 0, "{}", destroy.stderr);
        assert!(ours_in(&emu.state()).is_empty(), "point {point}");
        assert!(soft_deleted(&emu).is_empty(), "point {point}: purged");
    });
}

#[test]
fn ctrl_c_finishes_what_is_in_flight_saves_the_state_and_exits_130() {
    let example = repo().join("examples/two-regions.yaml");
    let model = load_example(&example);
    let mut config = seeded_for(&model);
    config.latency = aoai_lb::emulator::Latency::Azure;
    config.time_scale = 0.02;
    let emu = Emu::start(config);
    let dir = tempfile::tempdir().unwrap();
    let mut child = emu
        .cli(dir.path())
        .arg("apply")
        .arg(&example)
        .arg("--yes")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the accounts are being created.
    loop {
        if crate::emu::account_puts(&emu) >= 2 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before it could be interrupted"
        );
        std::thread::yield_now();
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Interrupted"), "{stderr}");
    // What was in flight finished and was recorded: the accounts are in the state.
    let listed = crate::emu::state_ids(&dir.path().join("state.json"));
    assert!(
        listed
            .iter()
            .filter(|id| crate::emu::is_account(id))
            .count()
            == 2,
        "{listed:?}"
    );
    assert!(orphans(&emu, &dir.path().join("state.json")).is_empty());
    assert_eq!(apply(&emu, dir.path(), &example).code, 0);
    assert_eq!(run(emu.cli(dir.path()).arg("plan").arg(&example)).code, 0);
}

/// Runs `f` on every item, four at a time: each run has its own emulator and directory,
/// and most of a run is spent waiting on the emulator's (scaled) latency, so running them
/// side by side keeps every assertion and takes a fraction of the time. A failing run's
/// panic message names its seed or point; the scope then fails the test.
fn in_parallel<T: Copy + Send>(items: impl IntoIterator<Item = T>, f: impl Fn(T) + Sync) {
    let items: Vec<T> = items.into_iter().collect();
    for chunk in items.chunks(4) {
        std::thread::scope(|scope| {
            for &item in chunk {
                let f = &f;
                scope.spawn(move || f(item));
            }
        });
    }
}
