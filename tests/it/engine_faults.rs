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
    let held = aoai_lb::engine::state::LockedState::open(&dir.path().join("state.json")).unwrap();
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
