//! Malformed plans: each gives exactly the diagnostics in its `.stderr` file, as
//! `PLAN:LINE:COL: message`, exit code 2, and writes nothing.

use crate::util::{aoai_lb, repo, run};

fn fixtures() -> Vec<String> {
    let dir = repo().join("tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn every_malformed_plan_gives_its_expected_errors_and_exit_2() {
    let dir = repo().join("tests/fixtures/invalid");
    let names = fixtures();
    assert!(names.len() >= 20, "only {} malformed plans", names.len());
    let mut failures = Vec::new();
    for name in &names {
        let expected_path = dir.join(name.replace(".yaml", ".stderr"));
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} has no .stderr file", name));
        let out = run(aoai_lb(&dir).args(["validate", name]));
        if out.code != 2 || out.stderr != expected || !out.stdout.is_empty() {
            failures.push(format!(
                "{name}: exit {} (want 2)\n--- got stderr\n{}--- want\n{}",
                out.code, out.stderr, expected
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn render_of_a_malformed_plan_writes_nothing() {
    let dir = repo().join("tests/fixtures/invalid");
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("rendered");
    let out = run(aoai_lb(&dir)
        .args(["render", "many-errors-at-once.yaml", "--out"])
        .arg(&target));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("many-errors-at-once.yaml:10:48: weight must be between 0 and 100, not 200")
    );
    assert!(
        !target.exists(),
        "render wrote {} for an invalid plan",
        target.display()
    );
}

#[test]
fn json_output_lists_every_diagnostic_with_its_position() {
    let dir = repo().join("tests/fixtures/invalid");
    let out = run(aoai_lb(&dir).args(["validate", "many-errors-at-once.yaml", "--output", "json"]));
    assert_eq!(out.code, 2);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 4);
    assert_eq!(diags[0]["line"], 10);
    assert_eq!(diags[0]["column"], 48);
    assert_eq!(diags[0]["field"], "accounts[0].backend.weight");
    assert_eq!(diags[0]["severity"], "error");
}

/// `validate` and `render` are offline: a plan without a subscription (none in the
/// environment either) is valid, rendered with a placeholder that a warning names.
/// `plan` (like apply and destroy) talks to Azure and still refuses it.
#[test]
fn a_missing_subscription_is_a_placeholder_offline_and_an_error_for_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plan = std::fs::read_to_string(repo().join("examples/two-regions.yaml"))
        .unwrap()
        .replace("subscriptionId: 00000000-0000-0000-0000-000000000000\n", "")
        // A path the openai SDK's azure_endpoint reaches: no path-rule warning here.
        .replace("path: openai-lb", "path: openai");
    assert!(!plan.contains("subscriptionId"));
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    let warning = "plan.yaml:1:1: warning: no subscription: using the placeholder 00000000-0000-0000-0000-000000000000 in every id; set `subscriptionId` in the plan or AZURE_SUBSCRIPTION_ID before plan, apply or destroy\n";

    let out = run(aoai_lb(dir.path()).args(["validate", "plan.yaml"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, warning);
    assert!(
        out.stdout.starts_with("plan.yaml: valid."),
        "{}",
        out.stdout
    );

    let target = dir.path().join("rendered");
    let out = run(aoai_lb(dir.path())
        .args(["render", "plan.yaml", "--out"])
        .arg(&target));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, warning);
    let policy_url = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|t| t.contains("\"url\""))
        .unwrap();
    assert!(
        policy_url.contains("/subscriptions/00000000-0000-0000-0000-000000000000/"),
        "{policy_url}"
    );

    let out = run(aoai_lb(dir.path()).args(["plan", "plan.yaml"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("plan.yaml:1:1: no subscription: set `subscriptionId`"),
        "{}",
        out.stderr
    );

    let out = run(aoai_lb(dir.path()).args(["validate", "plan.yaml"]).env(
        "AZURE_SUBSCRIPTION_ID",
        "11111111-1111-1111-1111-111111111111",
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
}

#[test]
fn an_unreadable_plan_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(aoai_lb(dir.path()).args(["validate", "nope.yaml"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: cannot read the plan nope.yaml:"),
        "{}",
        out.stderr
    );
}

/// A plan (the policy-not-xml fixture's) whose template or spec is `name`, written
/// with `content` into a fresh directory; `validate` runs there.
fn validate_with(
    field: &str,
    name: &str,
    write: impl FnOnce(&std::path::Path),
) -> crate::util::Run {
    let dir = tempfile::tempdir().unwrap();
    let plan =
        std::fs::read_to_string(repo().join("tests/fixtures/invalid/policy-not-xml.yaml")).unwrap();
    let plan = match field {
        "template" => plan.replace("template: not-xml.xml.hbs", &format!("template: {name}")),
        _ => plan
            .replace("  policy:\n    template: not-xml.xml.hbs\n", "")
            .replace(
                "    path: openai\n",
                &format!("    path: openai\n    spec: {name}\n"),
            ),
    };
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    write(&dir.path().join(name));
    run(aoai_lb(dir.path()).args(["validate", "plan.yaml"]))
}

fn assert_refused(out: &crate::util::Run, first_line: &str) {
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(
        out.stderr,
        format!("{first_line}\nerror: plan.yaml is invalid (1 error); nothing was done\n")
    );
}

/// Inputs that used to overflow the stack, hang or fill memory (issue 9): each is a
/// clear error at the plan's field, naming the limit.
#[test]
fn templates_that_would_overflow_the_stack_or_fill_memory_are_refused() {
    let nested_if = format!(
        "<policies>{}x{}</policies>",
        "{{#if pool}}".repeat(5_000),
        "{{/if}}".repeat(5_000)
    );
    let out = validate_with("template", "deep-if.xml.hbs", |p| {
        std::fs::write(p, &nested_if).unwrap()
    });
    assert_refused(
        &out,
        "plan.yaml:25:15: the rendered policy is invalid: template `deep-if.xml.hbs` nests blocks deeper than 32 levels (line 1)",
    );

    for depth in [20_000, 100_000] {
        let xml = format!(
            "<policies>{}{}</policies>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        let out = validate_with("template", "deep.xml.hbs", |p| {
            std::fs::write(p, &xml).unwrap()
        });
        let why = if depth == 20_000 {
            "elements nest deeper than 64 levels near line 1"
        } else {
            "template `deep.xml.hbs` renders more than 262144 bytes, APIM's limit for a policy document (256 KB)"
        };
        assert_refused(
            &out,
            &format!("plan.yaml:25:15: the rendered policy is invalid: {why}"),
        );
    }

    let big = format!(
        "<policies>{{{{#each backends}}}}{}{{{{/each}}}}</policies>",
        "<!-- 0123456789abcdef -->".repeat(8_000)
    );
    let out = validate_with("template", "big.xml.hbs", |p| {
        std::fs::write(p, &big).unwrap()
    });
    assert_refused(
        &out,
        "plan.yaml:25:15: the rendered policy is invalid: template `big.xml.hbs` renders more than 262144 bytes, APIM's limit for a policy document (256 KB)",
    );
}

#[test]
fn referenced_files_must_be_regular_files_within_their_size_limit() {
    let out = validate_with("template", "huge.xml.hbs", |p| {
        std::fs::write(p, "x".repeat(1024 * 1024 + 1)).unwrap()
    });
    assert_refused(
        &out,
        "plan.yaml:25:15: template `huge.xml.hbs` is larger than 1 MiB, the limit for a policy template",
    );

    // A sparse 17 MiB file: refused by its size, without being read.
    let out = validate_with("spec", "huge.json", |p| {
        std::fs::File::create(p)
            .unwrap()
            .set_len(17 * 1024 * 1024)
            .unwrap()
    });
    assert_refused(
        &out,
        "plan.yaml:22:11: spec `huge.json` is larger than 16 MiB, the limit for a spec",
    );

    // A FIFO nobody writes to: opening it would block forever; it is never opened.
    let out = validate_with("spec", "fifo.json", |p| {
        let made = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(made.success());
    });
    assert_refused(
        &out,
        "plan.yaml:22:11: spec `fifo.json` is a FIFO (named pipe), not a regular file",
    );
}

/// Unknown fields, missing fields and type errors no longer stop at the first: one run
/// names them all, each at its place, with a did-you-mean for a misspelt field.
#[test]
fn every_shape_error_is_reported_in_one_run_with_a_did_you_mean() {
    let dir = repo().join("tests/fixtures/invalid");
    let out = run(aoai_lb(&dir).args([
        "validate",
        "shape-errors-all-at-once.yaml",
        "--output",
        "json",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let found: Vec<(u64, u64, String)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
                d["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (8, 1, "region".to_string()),
            (22, 7, "accounts[0].backend.wieght".to_string()),
            (23, 5, "accounts[1].location".to_string()),
            (25, 88, "accounts[1].deployments[0].capacity".to_string()),
            (30, 3, "apim.resource_group".to_string()),
            (35, 11, "apim.api.path".to_string()),
            (42, 12, "apim.policy.retry".to_string()),
        ]
    );
    let messages = v["diagnostics"].to_string();
    assert!(messages.contains("unknown field `wieght` (did you mean `weight`?)"));
    assert!(messages.contains("unknown field `resource_group` (did you mean `resourceGroup`?)"));
}
