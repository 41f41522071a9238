//! `aoai-lb demo [PLAN]`: the one-command tour on an in-process emulator (nothing
//! reaches Azure). Apply the plan (the embedded two-regions lab by default), plan again
//! (no changes), verify the split through the gateway, throttle the primary backend's
//! account to show failover, verify again, destroy. This is the one command that uses
//! an emulator test hook (`PUT /_emulator/dataplane`), on the emulator it runs itself.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{DemoArgs, EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views;
use crate::views::progress::Progress;
use aoai_lb_core::model::{Account, Model};
use aoai_lb_engine::apply::{self, ApplyOptions};
use aoai_lb_engine::{plan, state};

use super::apply::{progress_mode, summary_text};
use super::load;
use super::session::Session;
use crate::views::verify::{self as verify_view, VerifyView};
use aoai_lb_engine::traffic::{self, Load, Measured};

const TWO_REGIONS: &str = include_str!("../../../../examples/two-regions.yaml");
const STEPS: usize = 5;

/// The backend a throttle hurts most: the lowest priority number, then the largest
/// weight, then the first.
fn primary(model: &Model) -> Option<&Account> {
    model
        .accounts
        .iter()
        .min_by_key(|a| (a.backend.priority, std::cmp::Reverse(a.backend.weight)))
}

fn step(printer: &Printer, n: usize, title: &str) {
    if !printer.is_json() {
        printer.result(&format!("\n== Step {n}/{STEPS}: {title}"));
    }
}

/// The data plane of the demo: a fixed seed (the same split every run) and response
/// times that differ by account, so the chart tells the regions apart.
fn data_plane(model: &Model, throttled: Option<&str>) -> Value {
    let mut accounts = serde_json::Map::new();
    for (i, a) in model.accounts.iter().enumerate() {
        let mut settings = json!({"latencyMs": 300.0 + 250.0 * i as f64, "jitterMs": 120.0});
        if throttled.is_some_and(|t| t == a.name) {
            settings["requests"] = json!(0);
        }
        accounts.insert(a.name.clone(), settings);
    }
    json!({"seed": 42, "accounts": accounts})
}

fn set_data_plane(
    runtime: &tokio::runtime::Runtime,
    emulator: &aoai_lb_emulator::Running,
    body: &Value,
) -> Result<(), String> {
    runtime.block_on(async {
        let r = reqwest::Client::new()
            .put(format!("{}/_emulator/dataplane", emulator.url()))
            .header(aoai_lb_emulator::HOOK_TOKEN_HEADER, emulator.hook_token())
            .json(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| format!("cannot configure the emulator's data plane: {e}"))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!(
                "the emulator refused the data-plane configuration: {}",
                r.status()
            ))
        }
    })
}

/// The figure for a file name: `demo.svg` -> `demo-failover.svg`.
fn failover_chart(path: &Path) -> PathBuf {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("chart");
    let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("svg");
    path.with_file_name(format!("{stem}-failover.{ext}"))
}

pub fn run(printer: &Printer, settings: &Settings, args: &DemoArgs) -> ExitStatus {
    let scratch = std::env::temp_dir().join(format!("aoai-lb-demo-{}", std::process::id()));
    let (path, shown) = match &args.plan {
        Some(p) => (p.clone(), p.display().to_string()),
        None => {
            let p = scratch.join("two-regions.yaml");
            if let Err(e) =
                std::fs::create_dir_all(&scratch).and_then(|()| std::fs::write(&p, TWO_REGIONS))
            {
                printer.error(&format!(
                    "error: cannot write the demo plan to {}: {e}",
                    p.display()
                ));
                return ExitStatus::Failure;
            }
            (p, "examples/two-regions.yaml (embedded)".to_string())
        }
    };
    let loaded = load::load(&path);
    let _ = std::fs::remove_dir_all(&scratch);
    let mut loaded = match loaded {
        Ok(l) => l,
        Err(e) => return load::report(printer, &e),
    };
    loaded.file = shown;
    load::report_warnings(printer, &loaded);
    // The demo's state lives and dies with its emulator: never the user's state file.
    let settings = Settings {
        state: None,
        ..settings.clone()
    };
    let engine = EngineArgs {
        parallelism: 10,
        emulator: true,
    };
    let session = match Session::open(printer, &settings, &engine, Some(&loaded.model)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = tour(printer, &session, &loaded, args);
    session.close();
    status
}

fn tour(
    printer: &Printer,
    session: &Session,
    loaded: &load::Loaded,
    args: &DemoArgs,
) -> ExitStatus {
    let model = &loaded.model;
    let rt = &session.runtime;
    let client = &session.client;
    let emulator = session
        .emulator
        .as_ref()
        .expect("the demo runs an emulator");
    let colour = views::colour_for(std::io::stderr().is_terminal());
    let mut steps: Vec<Value> = Vec::new();
    let fail = |printer: &Printer, e: &str| {
        super::report_error(printer, e);
        ExitStatus::Failure
    };

    // 1. apply
    step(
        printer,
        1,
        &format!("apply {} to the emulator", loaded.file),
    );
    let locked = match state::LockedState::open(&session.state_path) {
        Ok(l) => l,
        Err(e) => return fail(printer, &e.to_string()),
    };
    let p = match rt.block_on(plan::plan(client, model, &locked.state)) {
        Ok(p) => p,
        Err(e) => return fail(printer, &e.to_string()),
    };
    let progress = Arc::new(Progress::new(progress_mode(printer), colour));
    let stop = session.stop_on_signal(printer);
    let (mut report, locked) = rt.block_on(apply::apply(
        apply::Run {
            client,
            model: Some(model),
            plan_file: &loaded.file,
            options: ApplyOptions::default(),
            observer: progress.clone(),
            cancel: stop.cancel.clone(),
        },
        p,
        locked,
    ));
    drop(locked);
    // Count the plan's reads too, as `aoai-lb apply` does.
    report.requests = client.counts();
    if !printer.is_json() {
        printer.result(&summary_text(
            &report,
            if report.ok() {
                "Apply complete"
            } else {
                "Apply incomplete"
            },
        ));
    }
    steps.push(json!({"step": "apply", "ok": report.ok(), "report": report}));
    if !report.ok() {
        for (address, e) in &report.failed {
            printer.error(&format!("error: {address}: {e}"));
        }
        return ExitStatus::Failure;
    }
    if let Some(status) = stop.status() {
        return status;
    }

    // 2. plan
    step(
        printer,
        2,
        "plan again: Azure (here, the emulator) matches the plan",
    );
    let current = match state::read(&session.state_path) {
        Ok(s) => s,
        Err(e) => return fail(printer, &e.to_string()),
    };
    let again = match rt.block_on(plan::plan(client, model, &current)) {
        Ok(p) => p,
        Err(e) => return fail(printer, &e.to_string()),
    };
    let no_changes = !again.has_changes();
    if !printer.is_json() {
        if no_changes {
            printer.result(&format!(
                "No changes: all {} resources match the plan.",
                again.summary().unchanged
            ));
        } else {
            printer.result(&views::plan::render(&again, colour));
        }
    }
    steps.push(json!({"step": "plan", "ok": no_changes, "summary": again.summary()}));
    if !no_changes {
        printer.error("error: the plan right after apply shows changes");
        return ExitStatus::Failure;
    }

    // 3. verify
    let load = Load {
        requests: args.requests,
        concurrency: args.concurrency,
        timeout: Duration::from_secs(30),
        deployment: None,
        api_version: None,
    };
    step(
        printer,
        3,
        &format!(
            "verify: {} chat completions through the gateway, split by x-ms-region",
            args.requests
        ),
    );
    if let Err(e) = set_data_plane(rt, emulator, &data_plane(model, None)) {
        return fail(printer, &e);
    }
    let (gateway, key) = match rt.block_on(traffic::discover(Some(client), model, None, None)) {
        Ok(x) => x,
        Err(e) => return fail(printer, &e.to_string()),
    };
    let view: Box<dyn VerifyView> = verify_view::view(printer);
    let measure = |chart: Option<&Path>| -> Result<Measured, ExitStatus> {
        let m = super::verify::measure(&*view, rt, model, (&gateway, &key), &load, chart)?;
        if !printer.is_json() {
            verify_view::show_text(printer, &m);
        }
        Ok(m)
    };
    let first = match measure(args.chart.as_deref()) {
        Ok(m) => m,
        Err(status) => return status,
    };
    steps.push(json!({
        "step": "verify",
        "ok": first.analysis.ok,
        "result": verify_view::json_report(&loaded.file, &first),
    }));

    // 4. throttle the primary and verify again
    let primary = primary(model).expect("a valid plan has accounts");
    step(
        printer,
        4,
        &format!(
            "throttle {} ({}, backend {}): every request to it gets 429 + Retry-After; verify again",
            primary.name, primary.region_display_name, primary.backend.name
        ),
    );
    if let Err(e) = set_data_plane(rt, emulator, &data_plane(model, Some(&primary.name))) {
        return fail(printer, &e);
    }
    let failover_path = args.chart.as_deref().map(failover_chart);
    let second = match measure(failover_path.as_deref()) {
        Ok(m) => m,
        Err(status) => return status,
    };
    let a = &second.analysis;
    let served_by_primary = a
        .rows
        .iter()
        .find(|r| r.region.eq_ignore_ascii_case(&primary.region_display_name))
        .map_or(0, |r| r.count);
    let served_elsewhere = a.succeeded - served_by_primary;
    let failover = served_by_primary == 0 && served_elsewhere > 0;
    if !printer.is_json() {
        let mut text = format!(
            "Failover: while {} was throttled, {} of {} requests were answered by the other backends ({} failed).",
            primary.backend.name, served_elsewhere, a.requests, a.failed
        );
        if model.apim.pool.circuit_breaker.is_some() {
            text.push_str(&format!(
                " The pool's circuit breaker took {} out after its 429 (for as long as its Retry-After said) and the gateway sent the requests to the next backends; it comes back when the trip ends.",
                primary.backend.name
            ));
        } else if a.failed > 0 {
            text.push_str(&format!(
                " This pool has no circuit breaker: {} stays in rotation, and a retry (the policy retries {} time(s) on 429) may land on it again, so some requests still got 429. A `circuitBreaker` on the pool takes a throttled backend out: try `aoai-lb demo examples/priority-spillover.yaml`.",
                primary.backend.name, model.apim.policy.retry
            ));
        }
        text.push_str(" (The verify above fails by design: the split is not the plan's while a backend is throttled.)");
        printer.result(&text);
    }
    steps.push(json!({
        "step": "failover",
        "ok": failover,
        "throttled": primary.name,
        "servedByThrottled": served_by_primary,
        "servedByOthers": served_elsewhere,
        "result": verify_view::json_report(&loaded.file, &second),
    }));

    // 5. destroy
    step(printer, 5, "destroy everything the demo created");
    let destroyed = destroy(printer, session, colour);
    if !printer.is_json() {
        match &destroyed {
            Ok(text) => printer.result(text),
            Err(e) => printer.error(&format!("error: {e}")),
        }
    }
    steps.push(json!({"step": "destroy", "ok": destroyed.is_ok()}));

    let ok = first.analysis.ok
        && failover
        && destroyed.is_ok()
        && first.chart_error.is_none()
        && second.chart_error.is_none();
    if printer.is_json() {
        printer.json(&json!({"file": loaded.file, "ok": ok, "steps": steps}));
    } else if ok {
        printer.result(&format!(
            "\nDemo complete: {} applied, verified ({} split, {}), failed over while {} was throttled, destroyed. Run it on Azure: `aoai-lb apply PLAN` then `aoai-lb verify PLAN`.",
            loaded.file,
            first
                .analysis
                .rows
                .iter()
                .map(|r| format!("{:.0}%", r.observed_share * 100.0))
                .collect::<Vec<_>>()
                .join("/"),
            first
                .analysis
                .chi_square
                .as_ref()
                .map_or_else(|| "no p-value".into(), |c| aoai_lb_core::verify::p_phrase(c.p_value)),
            primary.backend.name
        ));
    } else {
        printer.error("\nDemo incomplete: see the step that failed above.");
    }
    if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}

/// Deletes what the state lists, children first, and puts the APIM identity back:
/// destroy's plan, as `destroy` runs it.
fn destroy(printer: &Printer, session: &Session, colour: bool) -> Result<String, String> {
    let locked = state::LockedState::open(&session.state_path).map_err(|e| e.to_string())?;
    let p = plan::destroy_plan(&locked.state);
    let progress = Arc::new(Progress::new(progress_mode(printer), colour));
    let (report, _locked) = session.runtime.block_on(apply::apply(
        apply::Run {
            client: &session.client,
            model: None,
            plan_file: "",
            options: ApplyOptions::default(),
            observer: progress,
            cancel: Default::default(),
        },
        p,
        locked,
    ));
    if !report.ok() {
        let mut failed: Vec<String> = report
            .failed
            .iter()
            .map(|(a, e)| format!("{a}: {e}"))
            .collect();
        failed.extend(report.state_error.clone());
        return Err(format!("destroy failed: {}", failed.join("; ")));
    }
    Ok(summary_text(&report, "Destroy complete"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_is_the_first_choice_of_the_pool() {
        let model = crate::commands::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/priority-spillover.yaml"),
        )
        .unwrap()
        .model;
        assert_eq!(primary(&model).unwrap().name, "aoai-spill-primary");
        let model = crate::commands::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/two-regions.yaml"),
        )
        .unwrap()
        .model;
        assert_eq!(primary(&model).unwrap().name, "aoai-nov26-instance1");
        assert_eq!(
            failover_chart(Path::new("out/demo.svg")),
            Path::new("out/demo-failover.svg")
        );
    }
}
