//! `aoai-lb destroy [PLAN] [--yes] [--purge]`: delete what the state lists, children
//! first, then put the APIM identity back (all planned changes); hand the report to
//! the view.

use std::path::Path;
use std::sync::Arc;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::destroy::{self as view, DestroyView, Destroyed};
use aoai_lb_engine::apply::{self, ApplyOptions};
use aoai_lb_engine::plan;
use aoai_lb_engine::state;

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
    let view = view::view(printer);
    let loaded = match file.map(load::load).transpose() {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    let session = match Session::open(printer, settings, engine, loaded.as_ref().map(|l| &l.model))
    {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = run_in(&*view, &session, yes, purge);
    session.close();
    status
}

fn run_in(view: &dyn DestroyView, session: &Session, yes: bool, purge: bool) -> ExitStatus {
    let locked = match state::LockedState::open(&session.state_path) {
        Ok(l) => l,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    // Deletes, then the APIM identity put back as found: all planned changes.
    let p = plan::destroy_plan(&locked.state);
    if p.changes.is_empty() {
        view.nothing(&session.state_path);
        return ExitStatus::Success;
    }
    view.preview(&p);
    match view.confirm(
        yes,
        "\nDo you really want to destroy all resources aoai-lb created?",
    ) {
        Ok(true) => {}
        Ok(false) => {
            view.printer()
                .error("Destroy cancelled: nothing was changed.");
            return ExitStatus::Failure;
        }
        Err(status) => return status,
    }
    let progress = Arc::new(view.progress());
    session.client.observe_retries(progress.clone());
    progress.group_start("aoai-lb destroy");
    let stop = session.stop_on_signal(view.printer());
    let run = apply::Run {
        client: &session.client,
        model: None,
        plan_file: "",
        options: ApplyOptions {
            purge,
            ..Default::default()
        },
        observer: progress.clone(),
        cancel: stop.cancel.clone(),
    };
    let (report, _locked) = session.runtime.block_on(apply::apply(run, p, locked));
    progress.group_end();
    let destroyed = Destroyed { report: &report };
    view.github(&destroyed);
    view.destroyed(&destroyed);
    if let Some(status) = stop.status() {
        return status;
    }
    if destroyed.ok() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }
}
