//! The GitHub Action, run locally: its step script against the emulator with fake
//! GITHUB_* files, checking the job summary, the step outputs and the annotations; and
//! the action and workflow files checked for the structure GitHub requires.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::emu::{Emu, seeded_for};
use crate::util::{load_example, repo, run};

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Step {
    dir: tempfile::TempDir,
}

impl Step {
    fn new() -> Step {
        Step {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("summary.md")).unwrap_or_default()
    }

    fn outputs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("output.txt")).unwrap_or_default()
    }

    /// The action's `run` step, as the runner starts it.
    fn command(&self, emu: &Emu, command: &str, plan: &str) -> Command {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_aoai-lb"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut bash = Command::new("bash");
        bash.arg(repo().join("scripts/action-run.sh"))
            .current_dir(repo())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary.md"))
            .env("GITHUB_OUTPUT", self.dir.path().join("output.txt"))
            .env("INPUT_COMMAND", command)
            .env("INPUT_PLAN", plan)
            .env("INPUT_ARGS", "")
            .env("AOAI_LB_ARM_ENDPOINT", emu.url())
            .env("AOAI_LB_ACCESS_TOKEN", crate::emu::TOKEN)
            .env("AOAI_LB_STATE", self.dir.path().join("state.json"));
        bash
    }
}

#[test]
fn plan_then_apply_write_the_summary_and_outputs() {
    let example = "examples/two-regions.yaml";
    let emu = Emu::start(seeded_for(&load_example(&repo().join(example))));
    let step = Step::new();

    let out = run(&mut step.command(&emu, "plan", example));
    assert_eq!(
        out.code, 0,
        "plan with changes is a successful step: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("::group::aoai-lb plan"),
        "{}",
        out.stdout
    );
    let outputs = step.outputs();
    assert!(outputs.contains("changes=true\n"), "{outputs}");
    assert!(outputs.contains("exit-code=3\n"), "{outputs}");
    let summary = step.summary();
    assert!(
        summary.contains("**Plan: 13 to add, 1 to change, 0 to destroy**"),
        "{summary}"
    );
    assert!(
        summary.contains("| ➕ create | `account.aoai-nov26-instance1` |"),
        "{summary}"
    );

    let step = Step { dir: step.dir };
    std::fs::remove_file(step.dir.path().join("output.txt")).unwrap();
    let out = run(&mut step.command(&emu, "apply", example));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let outputs = step.outputs();
    assert!(outputs.contains("changes=true\n"), "{outputs}");
    assert!(outputs.contains("exit-code=0\n"), "{outputs}");
    let gateway = outputs
        .lines()
        .find_map(|l| l.strip_prefix("gateway-url="))
        .unwrap();
    assert!(!gateway.is_empty());
    assert!(
        outputs.contains(&format!(
            "api-url={}/openai-lb\n",
            gateway.trim_end_matches('/')
        )),
        "{outputs}"
    );
    let summary = step.summary();
    assert!(
        summary.contains("**Apply complete**: 13 created, 1 updated"),
        "{summary}"
    );
    for text in [&summary, &outputs, &out.stdout, &out.stderr] {
        assert!(!text.contains(crate::emu::TOKEN));
    }

    // verify, through the gateway the apply built.
    std::fs::remove_file(step.dir.path().join("output.txt")).unwrap();
    let mut cmd = step.command(&emu, "verify", example);
    cmd.env("INPUT_ARGS", "--requests 90 --concurrency 4");
    let out = run(&mut cmd);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let outputs = step.outputs();
    assert!(
        outputs.contains("split-ok=true\n") && outputs.contains("exit-code=0\n"),
        "{outputs}"
    );
    let summary = step.summary();
    assert!(
        summary.contains("### aoai-lb verify `examples/two-regions.yaml`"),
        "{summary}"
    );
    assert!(
        summary.contains("| `openai-instance1` | West US | 66.7% |"),
        "{summary}"
    );
    assert!(summary.contains("✅ **Verify passed**"), "{summary}");
    for text in [&summary, &outputs, &out.stdout, &out.stderr] {
        assert!(!text.contains(crate::emu::TOKEN));
    }
}

#[test]
fn an_invalid_plan_is_annotated_on_its_line_and_fails_the_step() {
    let emu = Emu::start(aoai_lb::emulator::Config::default());
    let step = Step::new();
    let plan = "tests/fixtures/invalid/unknown-region.yaml";
    let out = run(&mut step.command(&emu, "plan", plan));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("::error file=tests/fixtures/invalid/unknown-region.yaml,line=12,col=15,title=aoai-lb::unknown Azure region `eastsu` (did you mean `eastus`?)"),
        "{}",
        out.stderr
    );
    assert!(step.outputs().contains("exit-code=2\n"));
    assert!(step.summary().contains("is invalid"), "{}", step.summary());
    assert!(emu.requests().is_empty(), "an invalid plan reached ARM");
}

#[test]
fn the_action_and_the_example_workflow_are_well_formed() {
    let action = yaml(&repo().join("action.yml"));
    for input in ["command", "plan", "args", "version"] {
        assert!(
            action["inputs"][input]["description"].is_string(),
            "input {input}"
        );
    }
    for output in ["changes", "gateway-url", "api-url", "exit-code", "split-ok"] {
        assert_eq!(
            action["outputs"][output]["value"].as_str().unwrap(),
            format!("${{{{ steps.run.outputs.{output} }}}}"),
            "output {output}"
        );
    }
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    for s in steps {
        if s.get("run").is_some() {
            assert_eq!(s["shell"], "bash", "composite run steps need a shell");
        }
    }
    assert!(
        steps
            .iter()
            .any(|s| s["id"] == "run"
                && s["run"].as_str().unwrap().contains("scripts/action-run.sh"))
    );
    let script = repo().join("scripts/action-run.sh");
    assert!(script.exists());

    let workflow = yaml(&repo().join("examples/github-workflow.yml"));
    assert_eq!(workflow["permissions"]["id-token"], "write");
    let inputs: Vec<&String> = action["inputs"].as_object().unwrap().keys().collect();
    let mut uses = 0;
    for (_, job) in workflow["jobs"].as_object().unwrap() {
        assert!(job["runs-on"].is_string());
        for step in job["steps"].as_array().unwrap() {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("aoai-lb/aoai-lb@"))
            {
                uses += 1;
                for (k, _) in step["with"].as_object().unwrap() {
                    assert!(inputs.contains(&k), "the workflow passes unknown input {k}");
                }
            }
        }
    }
    assert!(uses >= 2);
    // Every job works on one shared state: a blob named once, at the workflow's level, and
    // overridden by no job or step (a runner's local file would not outlive its job).
    assert_eq!(
        workflow["env"]["AOAI_LB_STATE"], "${{ vars.AOAI_LB_STATE }}",
        "the workflow names the shared state once"
    );
    assert!(workflow["concurrency"]["group"].is_string());
    let jobs = workflow["jobs"].as_object().unwrap();
    for (name, job) in jobs {
        assert!(
            job["env"].get("AOAI_LB_STATE").is_none(),
            "job {name} overrides the state"
        );
        for step in job["steps"].as_array().unwrap() {
            assert!(
                step["env"].get("AOAI_LB_STATE").is_none(),
                "a step overrides the state: {step:?}"
            );
        }
    }
    // The reviewed plan is what is applied: the plan job saves it (`--out`) as an artifact,
    // the apply job (after it, behind an environment's review, never two at once) downloads
    // that artifact and applies the file.
    let step_using = |job: &str, action: &str| -> Value {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .cloned()
            .unwrap_or_else(|| panic!("job {job} has no step using {action}"))
    };
    let planned = step_using("plan", "aoai-lb/aoai-lb@");
    assert_eq!(planned["with"]["command"], "plan");
    let saved = planned["with"]["args"].as_str().unwrap();
    let saved = saved
        .strip_prefix("--out ")
        .expect("the plan job saves its plan");
    let uploaded = step_using("plan", "actions/upload-artifact@");
    assert_eq!(uploaded["with"]["path"], saved);
    let apply = &jobs["apply"];
    assert_eq!(apply["needs"], "plan");
    assert!(
        apply["environment"].is_string(),
        "the apply waits for a review"
    );
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    let downloaded = step_using("apply", "actions/download-artifact@");
    assert_eq!(downloaded["with"]["name"], uploaded["with"]["name"]);
    let applied = jobs["apply"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["with"]["command"] == "apply")
        .expect("the apply job applies");
    assert_eq!(
        applied["with"]["plan"], saved,
        "the apply job applies the saved plan"
    );
    let triggers = workflow["on"].as_object().unwrap();
    assert!(triggers.contains_key("pull_request") && triggers.contains_key("push"));
}

/// Plan on a pull request and apply on main, on two runners (two directories) sharing one
/// blob state: the saved plan made by the first is applied by the second, and a plan after
/// it finds nothing to do.
#[test]
#[ignore = "needs Azurite: bash tests/run-all runs it"]
fn the_plan_saved_on_one_runner_is_applied_on_another_through_one_blob_state() {
    let azurite = crate::azurite::Azurite::start();
    azurite.create_container("aoai-lb");
    let state = azurite.url("aoai-lb", "prod.aoai-lb.state.json");
    let example = "examples/two-regions.yaml";
    let emu = Emu::start(seeded_for(&load_example(&repo().join(example))));
    let on_blob = |step: &Step, command: &str, plan: &str, args: &str| {
        let mut cmd = step.command(&emu, command, plan);
        cmd.env("AOAI_LB_STATE", &state)
            .env("AZURE_STORAGE_KEY", crate::azurite::KEY)
            .env("INPUT_ARGS", args);
        cmd
    };

    let pr = Step::new();
    let saved = pr.dir.path().join("aoai-lb.plan");
    let out = run(&mut on_blob(
        &pr,
        "plan",
        example,
        &format!("--out {}", saved.display()),
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(pr.outputs().contains("changes=true\n"), "{}", pr.outputs());

    let main = Step::new();
    let artifact = main.dir.path().join("aoai-lb.plan");
    std::fs::copy(&saved, &artifact).unwrap();
    let out = run(&mut on_blob(
        &main,
        "apply",
        &artifact.display().to_string(),
        "",
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("as it was reviewed"), "{}", out.stderr);
    assert!(
        main.outputs().contains("changes=true\n"),
        "{}",
        main.outputs()
    );

    let again = Step::new();
    let out = run(&mut on_blob(&again, "plan", example, ""));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        again.outputs().contains("exit-code=0\n"),
        "no changes: {}",
        again.outputs()
    );
    for dir in [pr.dir.path(), main.dir.path(), again.dir.path()] {
        assert!(
            !dir.join("state.json").exists(),
            "a local state was written"
        );
    }
    for text in [&out.stdout, &out.stderr, &again.summary()] {
        assert!(!text.contains(crate::azurite::KEY));
    }
}
