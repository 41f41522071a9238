//! `aoai-lb apply PLAN [--yes]`

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use serde_json::json;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views;
use crate::views::progress::{Mode, Progress};
use aoai_lb_arm::resources::ApimService;
use aoai_lb_core::ids::{self, api_version};
use aoai_lb_engine::apply::{self, ApplyOptions, Report};
use aoai_lb_engine::{plan, state};

use super::load;
use super::session::Session;

/// Asks on the terminal; `Err` is the status to exit with when we may not ask.
pub fn confirm(printer: &Printer, yes: bool, question: &str) -> Result<bool, ExitStatus> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        printer.error("error: no terminal to confirm on: pass --yes to apply without asking");
        return Err(ExitStatus::Usage);
    }
    eprint!("{question}\n  Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(answer.trim() == "yes")
}

pub fn progress_mode(printer: &Printer) -> Mode {
    if printer.quiet || printer.is_json() {
        Mode::Quiet
    } else if crate::env::var("GITHUB_ACTIONS").as_deref() == Some("true") {
        Mode::GitHub
    } else if std::io::stderr().is_terminal() {
        Mode::Terminal
    } else {
        Mode::Plain
    }
}

pub fn summary_text(report: &Report, verb: &str) -> String {
    let r = &report.requests;
    format!(
        "{verb}: {} created, {} updated, {} unchanged, {} deleted; {} failed. ARM requests: {} reads, {} writes, {} polls ({} retries). {:.1}s.",
        report.created,
        report.updated,
        report.unchanged,
        report.deleted,
        report.failed.len(),
        r.reads,
        r.writes,
        r.polls,
        r.retries,
        report.wall_seconds
    )
}

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: &Path,
    yes: bool,
    engine: &EngineArgs,
) -> ExitStatus {
    let loaded = match load::load(file) {
        Ok(l) => l,
        Err(e) => return load::report(printer, &e),
    };
    load::report_warnings(printer, &loaded);
    let session = match Session::open(printer, settings, engine, Some(&loaded.model)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = run_in(printer, &session, &loaded, yes);
    session.close();
    status
}

fn run_in(printer: &Printer, session: &Session, loaded: &load::Loaded, yes: bool) -> ExitStatus {
    let model = &loaded.model;
    let locked = match state::LockedState::open(&session.state_path) {
        Ok(l) => l,
        Err(e) => {
            super::report_error(printer, &e.to_string());
            return ExitStatus::Failure;
        }
    };
    let p = match session
        .runtime
        .block_on(plan::plan(&session.client, model, &locked.state))
    {
        Ok(p) => p,
        Err(e) => {
            super::report_error(printer, &e.to_string());
            return ExitStatus::Failure;
        }
    };
    let colour = views::colour_for(std::io::stderr().is_terminal());
    let plan_markdown = views::plan::markdown(&p, &format!("aoai-lb apply `{}`", loaded.file));
    if !printer.is_json() && !printer.quiet {
        eprint!("{}", views::plan::render(&p, colour));
    }
    if p.has_changes() {
        match confirm(printer, yes, "\nDo you want to perform these actions?") {
            Ok(true) => {}
            Ok(false) => {
                printer.error("Apply cancelled: nothing was changed.");
                return ExitStatus::Failure;
            }
            Err(status) => return status,
        }
    }
    let progress = std::sync::Arc::new(Progress::new(progress_mode(printer), colour));
    session.client.observe_retries(progress.clone());
    progress.group_start("aoai-lb apply");
    let stop = session.stop_on_signal(printer);
    let options = ApplyOptions {
        purge: false,
        ..Default::default()
    };
    let run = apply::Run {
        client: &session.client,
        model: Some(model),
        plan_file: &loaded.file,
        options,
        observer: progress.clone(),
        cancel: stop.cancel.clone(),
    };
    let (mut report, _state) = session.runtime.block_on(apply::apply(run, p, locked));
    progress.group_end();
    // Count the plan's reads too: the user pays for all of them.
    report.requests = session.client.counts();

    // Where clients go: the gateway URL of the API.
    let service_id = ids::apim_service(
        &model.subscription_id,
        &model.apim.resource_group,
        &model.apim.name,
    );
    let gateway = session
        .runtime
        .block_on(session.client.get(&service_id, api_version::API_MANAGEMENT))
        .ok()
        .flatten()
        .and_then(|v| ApimService::from_value(&v).gateway_url);
    let api_url = gateway
        .as_ref()
        .map(|g| format!("{}/{}", g.trim_end_matches('/'), model.apim.api.path));

    if let Some(gh) = crate::github::GitHub::detect() {
        let mut md = plan_markdown;
        md.push_str(&format!(
            "\n{}\n",
            summary_text(
                &report,
                if report.ok() {
                    "**Apply complete**"
                } else {
                    "**Apply incomplete**"
                }
            )
        ));
        for (address, e) in &report.failed {
            md.push_str(&format!("\n- ❌ `{address}`: {}", crate::github::cell(e)));
        }
        if let (true, Some(url)) = (report.ok(), &api_url) {
            md.push_str(&format!(
                "\nEndpoint: `{url}` (key header `{}`)\n",
                model.apim.api.subscription_key_header
            ));
        }
        gh.summary(&md);
        let changed = report.created + report.updated + report.deleted > 0;
        gh.output("changes", if changed { "true" } else { "false" });
        gh.output("gateway-url", gateway.as_deref().unwrap_or_default());
        gh.output("api-url", api_url.as_deref().unwrap_or_default());
    }

    if printer.is_json() {
        printer.json(&json!({
            "file": loaded.file,
            "ok": report.ok(),
            "report": report,
            "gatewayUrl": gateway,
            "apiUrl": api_url,
            "subscriptionKeyHeader": model.apim.api.subscription_key_header,
        }));
    } else {
        printer.result(&summary_text(
            &report,
            if report.ok() {
                "Apply complete"
            } else {
                "Apply incomplete"
            },
        ));
        for (address, e) in &report.failed {
            printer.error(&format!("error: {address}: {e}"));
            if let Some(h) = aoai_lb_arm::hints::hint_in(e) {
                printer.error(&format!("  hint: {h}"));
            }
        }
        if let Some(e) = &report.state_error {
            printer.error(&format!("error: the run stopped: {e}"));
        }
        if !report.skipped.is_empty() {
            printer.error(&format!(
                "Skipped because something they depend on failed: {}",
                report.skipped.join(", ")
            ));
        }
        if report.ok() {
            if let Some(url) = &api_url {
                let key_hint = match &model.apim.subscription {
                    Some(s) => format!(
                        " with the key of APIM subscription `{}` in the `{}` header",
                        s.name, model.apim.api.subscription_key_header
                    ),
                    None => String::new(),
                };
                printer.result(&format!("\nEndpoint: {url}\nClients call {url}/deployments/<deployment>/chat/completions?api-version=2024-02-01{key_hint}."));
            }
        } else {
            printer.error("Run `aoai-lb apply` again to converge: nothing done so far is lost (see the state file).");
        }
    }
    if let Some(status) = stop.status() {
        return status;
    }
    if report.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
