//! The command line as a user meets it: help, exit codes, render's directory handling.

use crate::util::{aoai_lb, repo, run};

#[test]
fn validate_accepts_every_example() {
    for example in crate::util::examples() {
        let out = run(aoai_lb(&repo()).arg("validate").arg(&example));
        assert_eq!(out.code, 0, "{}: {}", example.display(), out.stderr);
        assert!(out.stdout.contains(": valid."), "{}", out.stdout);
        // The seed lab keeps its API path `openai-lb`, which the openai SDK's
        // `azure_endpoint` cannot reach: validate says so there, and nowhere else.
        let stderr = if example.ends_with("two-regions.yaml") {
            let (rule, rest): (Vec<&str>, Vec<&str>) = out
                .stderr
                .lines()
                .partition(|l| l.contains(":38:11: warning: `AzureOpenAI(azure_endpoint=...)`"));
            assert_eq!(rule.len(), 1, "no path-rule warning: {}", out.stderr);
            assert!(rule[0].contains("Write `path: openai`"), "{}", rule[0]);
            rest.join("\n")
        } else {
            out.stderr
        };
        assert!(stderr.is_empty(), "warnings for an example: {stderr}");
    }
}

#[test]
fn validate_json_summarises_the_pool() {
    let out = run(aoai_lb(&repo()).args(["validate", "examples/two-regions.yaml", "-o", "json"]));
    assert_eq!(out.code, 0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["summary"]["accounts"], 2);
    assert_eq!(v["summary"]["armResources"], 14);
    let members = v["summary"]["pool"]["members"].as_array().unwrap();
    assert_eq!(members[0]["weight"], 2);
    assert_eq!(members[1]["region"], "eastus");
    assert_eq!(members[1]["kind"], "OpenAI");
}

#[test]
fn validate_names_the_foundry_accounts() {
    let out = run(aoai_lb(&repo()).args(["validate", "examples/provisioned-spillover.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "pool ptu-first-pool: ptu-eastus2 (eastus2, AIServices, priority 1, weight 1), ptu-swedencentral (swedencentral, priority 1, weight 1),"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn warnings_name_their_place_and_do_not_fail_validation() {
    let out = run(aoai_lb(&repo()).args(["validate", "examples/two-regions.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "examples/two-regions.yaml:38:11: warning: `AzureOpenAI(azure_endpoint=...)` appends `/openai`"
        ),
        "{}",
        out.stderr
    );
}

/// Validate is offline and keeps no list of model versions: a version the model does not
/// have is the region's catalog's to refuse (`plan`, tests/it/preflight.rs), not a guess
/// from a list that would be out of date the day a version ships or retires.
#[test]
fn validate_keeps_no_list_of_model_versions() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(repo().join("examples/two-regions.yaml"))
        .unwrap()
        .replace(
            "version: \"2024-11-20\"\n        sku",
            "version: \"2031-01-01\"\n        sku",
        );
    assert!(plan.contains("2031-01-01"), "the example changed shape");
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    let out = run(aoai_lb(dir.path()).args(["validate", "plan.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("2031-01-01"), "{}", out.stderr);
}

#[test]
fn help_has_examples_for_each_command() {
    let out = run(aoai_lb(&repo()).arg("--help"));
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("Examples:"));
    for cmd in [
        "validate",
        "render",
        "schema",
        "plan",
        "apply",
        "destroy",
        "doctor",
        "emulator",
        "completions",
    ] {
        let out = run(aoai_lb(&repo()).args([cmd, "--help"]));
        assert_eq!(out.code, 0, "{cmd}");
        assert!(
            out.stdout.contains("Example"),
            "{cmd} --help has no example"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(aoai_lb(&repo()).arg("frobnicate")).code, 2);
    assert_eq!(run(aoai_lb(&repo()).arg("validate")).code, 2);
    let out = run(aoai_lb(&repo()).args([
        "render",
        "examples/two-regions.yaml",
        "--arm-endpoint",
        "http://10.1.2.3:80",
    ]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("plain http, which is allowed only for loopback"),
        "{}",
        out.stderr
    );
}

#[test]
fn render_uses_the_arm_endpoint() {
    let out = run(aoai_lb(&repo())
        .args(["render", "examples/two-regions.yaml", "-o", "json"])
        .env("AOAI_LB_ARM_ENDPOINT", "http://127.0.0.1:8089/"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for r in v["requests"].as_array().unwrap() {
        assert!(
            r["url"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:8089/subscriptions/"),
            "{}",
            r["url"]
        );
    }
}

#[test]
fn render_refuses_to_replace_a_directory_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mine");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "keep me").unwrap();
    let out = run(aoai_lb(&repo())
        .args(["render", "examples/two-regions.yaml", "--out"])
        .arg(&target));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("refusing to replace a non-empty directory"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(target.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 1);
}

#[test]
fn render_replaces_its_own_output_whole() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    let out = run(aoai_lb(&repo())
        .args(["render", "examples/priority-spillover.yaml", "--out"])
        .arg(&target));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        target
            .join("09-role_assignment-aoai-spill-primary.json")
            .exists()
    );
    // A smaller plan into the same directory leaves none of the old files behind.
    let out = run(aoai_lb(&repo())
        .args(["render", "examples/two-regions.yaml", "--out"])
        .arg(&target));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !target
            .join("09-role_assignment-aoai-spill-primary.json")
            .exists()
    );
    let files = std::fs::read_dir(&target).unwrap().count();
    assert_eq!(
        files,
        14 + 3,
        "14 requests, policy.xml, inference.json, marker"
    );
    // Nothing left beside it.
    let siblings: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(siblings.len(), 1, "{siblings:?}");
}

#[test]
fn version_names_the_commit_and_completions_cover_every_command() {
    let out = run(aoai_lb(&repo()).arg("--version"));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .starts_with(&format!("aoai-lb {} (", env!("CARGO_PKG_VERSION"))),
        "{}",
        out.stdout
    );
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(aoai_lb(&repo()).args(["completions", shell]));
        assert_eq!(out.code, 0, "{shell}");
        for cmd in [
            "validate", "render", "plan", "apply", "destroy", "doctor", "emulator",
        ] {
            assert!(out.stdout.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    assert_eq!(run(aoai_lb(&repo()).args(["completions", "tcsh"])).code, 2);
}

#[test]
fn quiet_and_no_color_are_honoured() {
    let out = run(aoai_lb(&repo()).args(["validate", "examples/two-regions.yaml", "--quiet"]));
    assert_eq!(out.code, 0);
    assert!(out.stderr.is_empty());
    let out = run(aoai_lb(&repo())
        .args(["render", "examples/two-regions.yaml"])
        .env("NO_COLOR", "1"));
    assert!(!out.stdout.contains('\x1b') && !out.stderr.contains('\x1b'));
}

/// SIGTERM (what a CI runner or `docker stop` sends) stops apply the way Ctrl-C does:
/// nothing new starts, what is in flight finishes and is recorded, the summary is
/// printed, and the exit status is 143 (128 + 15).
#[test]
fn sigterm_finishes_what_is_in_flight_saves_the_state_prints_the_summary_and_exits_143() {
    use crate::emu::{Emu, orphans, seeded_for};
    let example = repo().join("examples/two-regions.yaml");
    let mut config = seeded_for(&crate::util::load_example(&example));
    config.latency = aoai_lb::emulator::Latency::Azure;
    config.time_scale = 0.02;
    let emu = Emu::start(config);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = emu
        .cli(dir.path())
        .args(["apply", example.to_str().unwrap(), "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let puts = |path_part: &str| {
        emu.requests()
            .iter()
            .filter(|r| r["method"] == "PUT" && r["path"].as_str().unwrap().contains(path_part))
            .count()
    };
    // Terminate once the accounts are being created (they take a while under `azure`).
    while crate::emu::account_puts(&emu) < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply ended before it could be terminated"
        );
        std::thread::yield_now();
    }
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(143), "{stdout}{stderr}");
    assert!(stderr.contains("Terminated (SIGTERM)"), "{stderr}");
    // The summary, as after any apply.
    assert!(stdout.contains("ARM requests:"), "{stdout}");
    // Nothing new started: the API policy, which waits for everything else, was never
    // written.
    assert_eq!(puts("/policies/policy"), 0, "{stderr}");
    // What was in flight finished and was recorded: both accounts are in the state.
    let listed = crate::emu::state_ids(&state);
    let accounts = listed.iter().filter(|id| crate::emu::is_account(id));
    assert_eq!(accounts.count(), 2, "{listed:?}");
    assert!(orphans(&emu, &state).is_empty());
    // The next apply converges from there.
    let again = run(emu
        .cli(dir.path())
        .args(["apply", example.to_str().unwrap(), "--yes"]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        run(emu
            .cli(dir.path())
            .args(["plan", example.to_str().unwrap()]))
        .code,
        0
    );
}
