//! `aoai-lb plan PLAN`

use std::io::IsTerminal;
use std::path::Path;

use serde_json::json;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views;
use aoai_lb_engine::{plan, state};

use super::load;
use super::session::Session;

pub fn run(printer: &Printer, settings: &Settings, file: &Path, engine: &EngineArgs) -> ExitStatus {
    let loaded = match load::load(file) {
        Ok(l) => l,
        Err(e) => return load::report(printer, &e),
    };
    load::report_warnings(printer, &loaded);
    let session = match Session::open(printer, settings, engine, Some(&loaded.model)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = (|| {
        let current = match state::read(&session.state_path) {
            Ok(s) => s,
            Err(e) => {
                super::report_error(printer, &e.to_string());
                return ExitStatus::Failure;
            }
        };
        let computed =
            session
                .runtime
                .block_on(plan::plan(&session.client, &loaded.model, &current));
        let p = match computed {
            Ok(p) => p,
            Err(e) => {
                super::report_error(printer, &e.to_string());
                return ExitStatus::Failure;
            }
        };
        let counts = session.client.counts();
        if let Some(gh) = crate::github::GitHub::detect() {
            gh.summary(&views::plan::markdown(
                &p,
                &format!("aoai-lb plan `{}`", loaded.file),
            ));
            gh.summary(&format!("ARM requests: {} reads.\n", counts.reads));
            gh.output("changes", if p.has_changes() { "true" } else { "false" });
        }
        if printer.is_json() {
            printer.json(&json!({
                "file": loaded.file,
                "changes": p.changes,
                "summary": p.summary(),
                "requests": counts,
            }));
        } else {
            printer.result(&views::plan::render(
                &p,
                views::colour_for(std::io::stdout().is_terminal()),
            ));
        }
        if p.has_changes() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        }
    })();
    session.close();
    status
}
