//! State on Azure Blob Storage (issue 14), against Azurite: the lease is the lock (a second
//! run refuses naming the holder; a killed run's lease is broken by `force-unlock`), the
//! state is shared between working directories, writes are conditional on the ETag, and
//! each overwrite leaves a snapshot of what it replaced.
//!
//! These need Azurite: `bash tests/run-all` installs it and runs them with
//! `cargo test --test it blob_state -- --ignored`.

use std::path::Path;
use std::process::Command;

use aoai_lb::engine::state::{self, BlobAuth, BlobUrl, Location, LockedState, StateError, Who};

use crate::azurite::{Azurite, KEY};
use crate::emu::{Emu, ours_in, seeded_for};
use crate::util::{load_example, repo, run};

/// The binary in `dir` against the emulator, with its state in the blob `url`.
fn cli(emu: &Emu, dir: &Path, url: &str) -> Command {
    let mut cmd = emu.cli(dir);
    cmd.env("AOAI_LB_STATE", url).env("AZURE_STORAGE_KEY", KEY);
    cmd
}

fn location(url: &str) -> Location {
    Location::Blob {
        url: BlobUrl::parse(url).unwrap(),
        auth: BlobAuth::shared_key(KEY).unwrap(),
    }
}

/// The lock id in a refusal's `aoai-lb force-unlock LOCK_ID` hint.
fn lock_id_in(stderr: &str) -> String {
    let after = stderr
        .split("aoai-lb force-unlock ")
        .nth(1)
        .unwrap_or_else(|| panic!("no force-unlock hint in: {stderr}"));
    after.split_whitespace().next().unwrap().to_string()
}

fn slow_emulator(example: &Path) -> Emu {
    let model = load_example(example);
    let mut config = seeded_for(&model);
    // Deployments take seconds: the first apply is still running when the second starts.
    config.latency = aoai_lb::emulator::Latency::Azure;
    config.time_scale = 0.05;
    Emu::start(config)
}

#[test]
#[ignore = "needs Azurite: bash tests/run-all runs it"]
fn a_second_apply_refuses_naming_the_holder_and_a_killed_runs_lease_is_force_unlocked() {
    let azurite = Azurite::start();
    azurite.create_container("state");
    let url = azurite.url("state", "team/prod.json");
    let example = repo().join("examples/two-regions.yaml");
    let emu = slow_emulator(&example);
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let mut first = cli(&emu, one.path(), &url)
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "contoso/ai-gateway")
        .env("GITHUB_RUN_ID", "4242")
        .env("USER", "ci")
        .arg("apply")
        .arg(&example)
        .args(["--yes", "-q"])
        .spawn()
        .unwrap();
    // The first apply holds the lease once it writes to ARM (the lock comes first).
    while !emu.requests().iter().any(|r| r["method"] != "GET") {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first apply ended early"
        );
        // Not a wait for work: a pause between two reads of the request log.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    let second = run(cli(&emu, two.path(), &url)
        .arg("apply")
        .arg(&example)
        .arg("--yes"));
    assert_eq!(second.code, 1, "{}", second.stderr);
    for part in [
        "is locked by another aoai-lb run",
        "held by ci@",
        "aoai-lb apply",
        "https://github.com/contoso/ai-gateway/actions/runs/4242",
        "since ",
        "aoai-lb force-unlock ",
    ] {
        assert!(second.stderr.contains(part), "{part}: {}", second.stderr);
    }
    let lock_id = lock_id_in(&second.stderr);
    assert!(!second.stderr.contains(KEY));

    first.kill().unwrap();
    first.wait().unwrap();
    // Killed, it could not release its lease: the next run is still refused...
    let refused = run(cli(&emu, two.path(), &url)
        .arg("apply")
        .arg(&example)
        .arg("--yes"));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(lock_id_in(&refused.stderr), lock_id);
    // ...a wrong lock id breaks nothing...
    let wrong = run(cli(&emu, two.path(), &url).args(["force-unlock", "not-the-lock"]));
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong.stderr.contains(&format!("locked by {lock_id}")),
        "{}",
        wrong.stderr
    );
    // ...and force-unlock with its id lets the next apply in, which converges.
    let unlocked = run(cli(&emu, two.path(), &url).args(["force-unlock", &lock_id]));
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    assert!(unlocked.stdout.contains("Unlocked"), "{}", unlocked.stdout);
    let next = run(cli(&emu, two.path(), &url)
        .arg("apply")
        .arg(&example)
        .arg("--yes"));
    assert_eq!(next.code, 0, "{}", next.stderr);
    let plan = run(cli(&emu, one.path(), &url).arg("plan").arg(&example));
    assert_eq!(
        plan.code, 0,
        "no changes after convergence: {}",
        plan.stdout
    );
    // Released at the end: unlocking again finds nothing to unlock.
    let again = run(cli(&emu, two.path(), &url).args(["force-unlock", &lock_id]));
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("is not locked"), "{}", again.stderr);
}

#[test]
#[ignore = "needs Azurite: bash tests/run-all runs it"]
fn a_state_written_from_one_directory_is_read_from_another() {
    let azurite = Azurite::start();
    azurite.create_container("state");
    let url = azurite.url("state", "shared.json");
    let example = repo().join("examples/two-regions.yaml");
    let emu = Emu::start(seeded_for(&load_example(&example)));
    let (laptop, ci) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let applied = run(cli(&emu, laptop.path(), &url)
        .arg("apply")
        .arg(&example)
        .arg("--yes"));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    // The other directory names the blob in its plan (`state:`), not in the environment.
    let text = std::fs::read_to_string(&example).unwrap();
    let with_state = ci.path().join("plan.yaml");
    std::fs::write(&with_state, format!("state: {url}\n{text}")).unwrap();
    let mut from_plan = cli(&emu, ci.path(), &url);
    from_plan.env_remove("AOAI_LB_STATE");
    let planned = run(from_plan.arg("plan").arg(&with_state));
    assert_eq!(
        planned.code, 0,
        "the other directory sees no changes: {}",
        planned.stdout
    );
    std::fs::remove_file(&with_state).unwrap();
    let listed = run(cli(&emu, ci.path(), &url).args(["state", "list", "--output", "json"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed["state"], url.as_str());
    assert!(
        listed["resources"].as_array().unwrap().len() >= 8,
        "{listed}"
    );
    for dir in [laptop.path(), ci.path()] {
        let files: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
        assert!(files.is_empty(), "no local state: {files:?}");
    }
    // Destroy from the other directory removes what the first created.
    let destroyed = run(cli(&emu, ci.path(), &url)
        .arg("destroy")
        .arg(&example)
        .arg("--yes"));
    assert_eq!(destroyed.code, 0, "{}", destroyed.stderr);
    assert!(
        ours_in(&emu.state()).is_empty(),
        "{:?}",
        ours_in(&emu.state())
    );
}

fn entry(n: usize) -> state::Entry {
    state::Entry {
        address: format!("account.a{n}"),
        kind: aoai_lb::core::desired::Kind::Account,
        id: format!(
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a{n}"
        ),
        api_version: "2024-10-01".into(),
        owned: true,
        pending: false,
        spec_sha256: None,
        location: None,
    }
}

#[test]
#[ignore = "needs Azurite: bash tests/run-all runs it"]
fn a_write_on_a_stale_etag_is_refused_and_the_previous_version_is_recoverable() {
    let azurite = Azurite::start();
    azurite.create_container("state");
    let url = azurite.url("state", "s.json");
    let who = Who::of_process(Some("tester".into()), None);
    let mut locked = LockedState::open_as(location(&url), &who).unwrap();
    locked.state.upsert(entry(1));
    locked.save().unwrap();
    locked.state.upsert(entry(2));
    locked.save().unwrap();

    // The version before the last write is a snapshot, and reads back whole.
    let snapshots = azurite.snapshots("state", "s.json");
    assert_eq!(
        snapshots.len(),
        1,
        "one snapshot per overwrite of a state: {snapshots:?}"
    );
    let blob = azurite.blob("state", "s.json");
    let old = azurite.send(
        &blob,
        reqwest::Method::GET,
        &[("snapshot", &snapshots[0])],
        &[],
        None,
    );
    assert_eq!(old.status, 200, "{}", old.why());
    let old: serde_json::Value = serde_json::from_slice(&old.body).unwrap();
    assert_eq!(old["resources"].as_array().unwrap().len(), 1, "{old}");

    // Someone writes under the same lease (the lock id is the lease id): the ETag this
    // run holds is stale, and its next write is refused, not lost over theirs.
    let holder = state::read_text(&location(&url)).unwrap().unwrap();
    assert!(holder.contains("account.a2"));
    let props = azurite.send(&blob, reqwest::Method::HEAD, &[], &[], None);
    let lease = props
        .headers
        .get("x-ms-meta-aoailb_lock_id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let theirs = azurite.send(
        &blob,
        reqwest::Method::PUT,
        &[],
        &[
            ("x-ms-blob-type", "BlockBlob".into()),
            ("x-ms-lease-id", lease),
        ],
        Some(b"{\"version\":1,\"resources\":[]}".to_vec()),
    );
    assert_eq!(theirs.status, 201, "{}", theirs.why());
    locked.state.upsert(entry(3));
    let err = locked.save().unwrap_err();
    assert!(matches!(err, StateError::Stale { .. }), "{err}");
    assert!(
        err.to_string().contains("changed since this run read it"),
        "{err}"
    );
    assert_eq!(
        state::read_text(&location(&url)).unwrap().unwrap(),
        "{\"version\":1,\"resources\":[]}",
        "their write stands"
    );
}

#[test]
#[ignore = "needs Azurite: bash tests/run-all runs it"]
fn a_missing_container_and_a_wrong_key_are_errors_that_say_what_to_do() {
    let azurite = Azurite::start();
    let url = azurite.url("nosuchcontainer", "s.json");
    let err = LockedState::open(location(&url)).unwrap_err().to_string();
    assert!(err.contains("az storage container create"), "{err}");
    azurite.create_container("state");
    let wrong = Location::Blob {
        url: BlobUrl::parse(&azurite.url("state", "s.json")).unwrap(),
        auth: BlobAuth::shared_key("d3Jvbmcta2V5").unwrap(),
    };
    let err = state::read(&wrong).unwrap_err().to_string();
    assert!(err.contains("HTTP 403"), "{err}");
}

#[test]
fn a_blob_url_that_would_leak_or_travel_in_clear_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let example = repo().join("examples/two-regions.yaml");
    for (state, want) in [
        ("http://acct.blob.core.windows.net/c0n/s.json", "loopback"),
        (
            "https://acct.blob.core.windows.net/c0n/s.json?sv=2022-11-02&sig=SECRETSIG",
            "AZURE_STORAGE_SAS_TOKEN",
        ),
        ("https://acct.blob.core.windows.net/c0n", "CONTAINER/BLOB"),
    ] {
        let out = run(crate::util::aoai_lb(dir.path())
            .args(["plan", "--state", state])
            .arg(&example));
        assert_eq!(out.code, 2, "{state}: {}", out.stderr);
        assert!(out.stderr.contains(want), "{state}: {}", out.stderr);
        assert!(!out.stderr.contains("SECRETSIG"), "{}", out.stderr);
    }
    // An ARM token alone cannot read Storage: said at once, not as a 401 later.
    let out = run(crate::util::aoai_lb(dir.path())
        .env("AOAI_LB_ACCESS_TOKEN", "arm-only")
        .args([
            "plan",
            "--state",
            "https://acct.blob.core.windows.net/c0n/s.json",
        ])
        .arg(&example));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("is a token for ARM"), "{}", out.stderr);
}

#[test]
fn force_unlock_of_a_local_state_removes_only_a_dead_runs_note() {
    let dir = tempfile::tempdir().unwrap();
    let unlock = |id: &str| {
        run(crate::util::aoai_lb(dir.path())
            .args(["force-unlock", id, "--state"])
            .arg(dir.path().join("s.json")))
    };
    let out = unlock("local-1");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not locked"), "{}", out.stderr);
    // A live holder: the kernel's lock cannot be broken, and the message says so.
    let held = LockedState::open(dir.path().join("s.json")).unwrap();
    let out = unlock(&format!("local-{}", std::process::id()));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is locked"), "{}", out.stderr);
    drop(held);
    // What a killed run leaves: its note, removed by its lock id.
    let note = dir.path().join("s.json.lock");
    std::fs::write(
        &note,
        r#"{"pid":4242,"host":"h","command":"aoai-lb apply","lockId":"local-4242"}"#,
    )
    .unwrap();
    assert_eq!(unlock("local-1").code, 1, "another id breaks nothing");
    let out = unlock("local-4242");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!note.exists());
}

#[test]
#[ignore = "needs Azurite: bash tests/run-all runs it"]
fn a_run_longer_than_its_lease_keeps_the_lock_by_renewing_it() {
    let azurite = Azurite::start();
    azurite.create_container("state");
    let url = azurite.url("state", "long.json");
    let who = Who::of_process(Some("long-run".into()), None);
    // The shortest lease Lease Blob grants (15 s), renewed every 3 s.
    let timing = state::LeaseTiming {
        seconds: 15,
        renew_every: std::time::Duration::from_secs(3),
    };
    let mut held = LockedState::open_leased(location(&url), &who, timing).unwrap();
    // Waiting is the point here: the lease would have lapsed by now without renewals.
    std::thread::sleep(std::time::Duration::from_secs(20));
    let err = LockedState::open(location(&url)).unwrap_err();
    assert!(matches!(err, StateError::BlobLocked { .. }), "{err}");
    assert!(err.to_string().contains("long-run@"), "{err}");
    held.state.upsert(entry(1));
    held.save().unwrap();
    drop(held);
    let next = LockedState::open(location(&url)).unwrap();
    assert_eq!(next.state.resources.len(), 1);
}
