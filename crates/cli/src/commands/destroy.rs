//! `aoai-lb destroy [PLAN] [--yes] [--purge]`

use std::io::IsTerminal;
use std::path::Path;

use serde_json::json;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views;
use crate::views::progress::Progress;
use aoai_lb_engine::apply::{self, ApplyOptions};
use aoai_lb_engine::plan;
use aoai_lb_engine::state;

use super::apply::{confirm, progress_mode, summary_text};
use super::load;
use super::session::Session;

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: Option<&Path>,
    yes: bool,
    purge: bool,
    engine: &EngineArgs,
) -> ExitStatus {
    let loaded = match file.map(load::load).transpose() {
        Ok(l) => l,
        Err(e) => return load::report(printer, &e),
    };
    let session = match Session::open(printer, settings, engine, loaded.as_ref().map(|l| &l.model))
    {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = run_in(printer, &session, yes, purge);
    session.close();
    status
}

fn run_in(printer: &Printer, session: &Session, yes: bool, purge: bool) -> ExitStatus {
    let locked = match state::LockedState::open(&session.state_path) {
        Ok(l) => l,
        Err(e) => {
            super::report_error(printer, &e.to_string());
            return ExitStatus::Failure;
        }
    };
    // Deletes, then the APIM identity put back as found: all planned changes.
    let p = plan::destroy_plan(&locked.state);
    if p.changes.is_empty() {
        if printer.is_json() {
            printer.json(&json!({ "ok": true, "deleted": 0 }));
        } else {
            printer.result(&format!(
                "Nothing to destroy: {} lists no resource created by aoai-lb.",
                session.state_path.display()
            ));
        }
        return ExitStatus::Success;
    }
    let colour = views::colour_for(std::io::stderr().is_terminal());
    if !printer.is_json() && !printer.quiet {
        eprint!("{}", views::plan::render(&p, colour));
    }
    match confirm(
        printer,
        yes,
        "\nDo you really want to destroy all resources aoai-lb created?",
    ) {
        Ok(true) => {}
        Ok(false) => {
            printer.error("Destroy cancelled: nothing was changed.");
            return ExitStatus::Failure;
        }
        Err(status) => return status,
    }
    let progress = std::sync::Arc::new(Progress::new(progress_mode(printer), colour));
    session.client.observe_retries(progress.clone());
    progress.group_start("aoai-lb destroy");
    let stop = session.stop_on_signal(printer);
    let options = ApplyOptions {
        purge,
        ..Default::default()
    };
    let run = apply::Run {
        client: &session.client,
        model: None,
        plan_file: "",
        options,
        observer: progress.clone(),
        cancel: stop.cancel.clone(),
    };
    let (report, _locked) = session.runtime.block_on(apply::apply(run, p, locked));
    progress.group_end();
    let ok = report.ok();
    if let Some(gh) = crate::github::GitHub::detect() {
        let mut md = format!(
            "### aoai-lb destroy\n\n{}\n",
            summary_text(
                &report,
                if ok {
                    "**Destroy complete**"
                } else {
                    "**Destroy incomplete**"
                }
            )
        );
        for (address, e) in &report.failed {
            md.push_str(&format!("\n- ❌ `{address}`: {}", crate::github::cell(e)));
        }
        gh.summary(&md);
        gh.output("changes", if report.deleted > 0 { "true" } else { "false" });
    }
    if printer.is_json() {
        printer.json(&json!({ "ok": ok, "report": report }));
    } else {
        printer.result(&summary_text(
            &report,
            if ok {
                "Destroy complete"
            } else {
                "Destroy incomplete"
            },
        ));
        for (address, e) in &report.failed {
            printer.error(&format!("error: {address}: {e}"));
            if let Some(h) = aoai_lb_arm::hints::hint_in(e) {
                printer.error(&format!("  hint: {h}"));
            }
        }
        if let Some(e) = &report.state_error {
            printer.error(&format!("error: {e}"));
        }
        if !ok {
            printer.error("Run `aoai-lb destroy` again: the state file still lists what is left.");
        }
    }
    if let Some(status) = stop.status() {
        return status;
    }
    if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
