//! What apply and destroy say while they run, as a CI log shows it (no terminal):
//! heartbeats for long operations, in text and as JSON events, and the steps of destroy.

use serde_json::Value;

use crate::emu::{Emu, seeded_for};
use crate::util::{load_example, repo, run};

/// The emulator under its `azure` latency profile at `scale`: a deployment takes 60 s × scale.
fn slow_emulator(scale: f64) -> Emu {
    let example = repo().join("examples/two-regions.yaml");
    let mut config = seeded_for(&load_example(&example));
    config.latency = aoai_lb::emulator::Latency::Azure;
    config.time_scale = scale;
    Emu::start(config)
}

/// Lines of `text` that are heartbeats of `address`.
fn beats<'a>(text: &'a str, address: &str) -> Vec<&'a str> {
    let prefix = format!("{address}: still ");
    text.lines()
        .filter(|l| l.contains(&prefix) && l.ends_with(" elapsed]"))
        .collect()
}

/// Without a terminal, a deployment that takes 7 heartbeat intervals prints at least
/// 5 heartbeat lines (Terraform's "Still creating... [10s elapsed]"); `--output json`
/// gives them as JSON events on stderr, one per line, and stdout stays one document.
#[test]
fn a_long_operation_beats_in_ci_logs_in_text_and_json() {
    let example = repo().join("examples/two-regions.yaml");
    // A deployment takes 60 s × 0.12 = 7.2 s; the heartbeat every second.
    let emu = slow_emulator(0.12);
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli(dir.path()).args([
        "apply",
        example.to_str().unwrap(),
        "--yes",
        "--heartbeat",
        "1s",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let deployment = "deployment.aoai-nov26-instance1/gpt-4o";
    let lines = beats(&out.stderr, deployment);
    assert!(lines.len() >= 5, "{}", out.stderr);
    assert!(
        lines[0].ends_with(&format!("{deployment}: still creating... [1s elapsed]")),
        "{lines:?}"
    );
    assert!(lines[4].ends_with("[5s elapsed]"), "{lines:?}");
    // No heartbeat after the line that says it is done.
    let done = out
        .stderr
        .lines()
        .position(|l| l.contains(&format!("{deployment}: created")))
        .unwrap();
    assert!(
        out.stderr.lines().skip(done).all(|l| !lines.contains(&l)),
        "{}",
        out.stderr
    );

    // The last step, recording on the APIM service that this deployment relies on its
    // identity (a long-running PATCH), is shown too: nothing runs unseen after the
    // deployments are created.
    let lines_of: Vec<&str> = out.stderr.lines().collect();
    let position = |text: &str| lines_of.iter().rposition(|l| l.contains(text));
    let recorded = position("apim_identity.apim-aoai-lb: updated (").unwrap();
    assert!(
        recorded > position(&format!("{deployment}: created")).unwrap()
            && recorded > position("deployment.aoai-nov26-instance2/gpt-4o: created").unwrap(),
        "{}",
        out.stderr
    );

    // Destroy as a script would: JSON on stdout, JSON events on stderr, heartbeats
    // among them (the resource group's delete takes 15 s × 0.12 = 1.8 s).
    let out = run(emu.cli(dir.path()).args([
        "destroy",
        "--yes",
        "--output",
        "json",
        "--heartbeat",
        "1s",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(report["ok"], true);
    let events: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let group = "resource_group.rg-aoai-lb";
    let of = |kind: &str| {
        events
            .iter()
            .filter(|e| e["type"] == kind && e["address"] == group)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("apply_start").len(), 1, "{}", out.stderr);
    assert_eq!(of("apply_complete").len(), 1, "{}", out.stderr);
    // The identity restore, destroy's last step, is shown like every other.
    let identity = |kind: &str| {
        events
            .iter()
            .any(|e| e["type"] == kind && e["address"] == "apim_identity.apim-aoai-lb")
    };
    assert!(
        identity("apply_start") && identity("apply_complete"),
        "{}",
        out.stderr
    );
    assert_eq!(report["report"]["updated"], 1, "{report}");
    let progress = of("apply_progress");
    assert!(!progress.is_empty(), "{}", out.stderr);
    assert_eq!(progress[0]["action"], "delete");
    assert_eq!(progress[0]["elapsedSeconds"], 1);
    assert_eq!(
        progress[0]["message"],
        "resource_group.rg-aoai-lb: still destroying... [1s elapsed]"
    );
}

/// `--heartbeat 0` (or AOAI_LB_HEARTBEAT=0) turns heartbeats off; a malformed interval
/// is refused before anything runs.
#[test]
fn heartbeats_turn_off_and_bad_intervals_are_refused() {
    let example = repo().join("examples/two-regions.yaml");
    let emu = slow_emulator(0.05);
    let dir = tempfile::tempdir().unwrap();
    let out = run(emu.cli(dir.path()).env("AOAI_LB_HEARTBEAT", "0").args([
        "apply",
        example.to_str().unwrap(),
        "--yes",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("creating..."), "{}", out.stderr);
    assert!(!out.stderr.contains("still "), "{}", out.stderr);
    let sent = emu.requests().len();
    let bad =
        run(emu
            .cli(dir.path())
            .args(["plan", example.to_str().unwrap(), "--heartbeat", "1h"]));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("`1h` is not an interval"),
        "{}",
        bad.stderr
    );
    assert_eq!(emu.requests().len(), sent, "nothing was sent");
}

/// Every step of destroy is shown and counted, what it does to the shared APIM
/// service's identity included: dev, leaving while prod relies on the identity, drops
/// only its own reliance (one planned PATCH, shown starting and finishing, counted and
/// named in the summary); prod, the last one out, puts the identity back as recorded on
/// the service, the same way. Nothing is sent to the service after the planned change.
#[test]
fn destroy_shows_and_counts_what_it_does_to_the_apim_identity() {
    use crate::ownership::{cli, variant};
    let dir = tempfile::tempdir().unwrap();
    let (dev, prod) = (variant(dir.path(), "dev"), variant(dir.path(), "prod"));
    let model = load_example(&prod);
    let emu = Emu::start(seeded_for(&model));
    for plan in [&dev, &prod] {
        let out = run(cli(&emu, dir.path())
            .arg("apply")
            .arg(plan)
            .args(["--yes", "-q"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
    let service = aoai_lb::core::ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let address = format!("apim_identity.{}", model.apim.name);
    let patches_of_the_service = |from: usize| {
        emu.requests()[from..]
            .iter()
            .filter(|r| {
                r["method"] == "PATCH"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.eq_ignore_ascii_case(&service))
            })
            .count()
    };
    for (plan, what) in [
        (
            &dev,
            "kept on: aoai-lb deployment apim-aoai-lb/azure-openai-prod still relies on it",
        ),
        (
            &prod,
            "put back as aoai-lb found it (type None), as recorded on the service",
        ),
    ] {
        let sent = emu.requests().len();
        let out = run(cli(&emu, dir.path()).arg("destroy").arg(plan).arg("--yes"));
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        // Shown before asking, then starting and finishing.
        assert!(out.stderr.contains(what), "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!("{address}: updating...")),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(&format!("{address}: updated (")),
            "{}",
            out.stderr
        );
        // Counted and named.
        assert!(
            out.stdout
                .contains(&format!(", 1 updated ({address}: {what}")),
            "{}",
            out.stdout
        );
        assert_eq!(patches_of_the_service(sent), 1, "{plan:?}");
    }
    let found = emu
        .get(&service, aoai_lb::core::ids::api_version::API_MANAGEMENT)
        .1;
    assert_eq!(found["identity"]["type"], "None", "{found}");
    let tags = found["tags"].as_object().cloned().unwrap_or_default();
    assert!(
        tags.keys().all(|k| !k.starts_with("aoai-lb-identity")),
        "{tags:?}"
    );
}

/// A second Ctrl-C stops waiting: what is in flight is abandoned (reported, its state
/// entry left pending as written ahead), the state saved, exit 130 without waiting for
/// the accounts (6 s each here), and the next apply converges from there.
#[test]
fn a_second_ctrl_c_abandons_what_is_in_flight_and_the_next_apply_converges() {
    use std::io::{BufRead, BufReader};
    let example = repo().join("examples/two-regions.yaml");
    // Accounts take 30 s × 0.2 = 6 s.
    let emu = slow_emulator(0.2);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = emu
        .cli(dir.path())
        .args(["apply", example.to_str().unwrap(), "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in stderr.lines() {
            let line = line.unwrap();
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let interrupt = || {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    let wait_for = |text: &str| loop {
        let line = rx
            .recv()
            .unwrap_or_else(|_| panic!("ended before `{text}`"));
        if line.contains(text) {
            break;
        }
    };
    wait_for("account.aoai-nov26-instance2: creating...");
    while crate::emu::account_puts(&emu) < 2 {
        std::thread::yield_now();
    }
    interrupt();
    // The first is seen (and said) before the second is sent.
    wait_for("Interrupted: starting nothing new");
    interrupt();
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let stderr = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stdout}{stderr}");
    assert!(
        stderr.contains("Interrupted again: no longer waiting"),
        "{stderr}"
    );
    // Not waited for: the accounts were abandoned, not created.
    for account in [
        "account.aoai-nov26-instance1",
        "account.aoai-nov26-instance2",
    ] {
        assert!(
            stderr.contains(&format!("{account}: abandoned while creating")),
            "{stderr}"
        );
        assert!(!stderr.contains(&format!("{account}: created")), "{stderr}");
    }
    assert!(stdout.contains("Apply incomplete:"), "{stdout}");
    assert!(stdout.contains(" abandoned;"), "{stdout}");
    // The state was saved, the accounts pending in it as written ahead.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let pending: Vec<&str> = saved["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["pending"] == true)
        .filter_map(|e| e["address"].as_str())
        .collect();
    assert!(
        pending.contains(&"account.aoai-nov26-instance1")
            && pending.contains(&"account.aoai-nov26-instance2"),
        "{saved}"
    );
    assert!(crate::emu::orphans(&emu, &state).is_empty());
    // The next apply resolves them and converges; a plan then has nothing to do.
    let again = run(emu
        .cli(dir.path())
        .args(["apply", example.to_str().unwrap(), "--yes"]));
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let plan = run(emu
        .cli(dir.path())
        .args(["plan", example.to_str().unwrap()]));
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
}
