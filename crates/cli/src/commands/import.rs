//! `aoai-lb import PLAN [--yes]`: find what already exists for the plan, show what would
//! be adopted and every difference, ask, then write the ownership marks and record the
//! resources in the state (see [`aoai_lb_engine::import`]).

use std::path::Path;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::import::{self as view, ImportView, Imported};
use aoai_lb_engine::import;

use super::load;
use super::session::{self, Session};

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: &Path,
    yes: bool,
    engine: &EngineArgs,
) -> ExitStatus {
    let view = view::view(printer);
    session::with_plan(
        printer,
        settings,
        engine,
        &*view,
        file,
        |session, loaded| run_in(&*view, session, loaded, yes),
    )
}

fn run_in(
    view: &dyn ImportView,
    session: &Session,
    loaded: &load::Loaded,
    yes: bool,
) -> ExitStatus {
    let model = &loaded.model;
    let mut locked = match session.lock() {
        Ok(l) => l,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    let at = locked.location().clone();
    if let Err(e) = locked
        .state
        .belongs_to(&at, &model.deployment, &model.subscription_id)
    {
        view.error(&e.to_string());
        return ExitStatus::Failure;
    }
    let found = match session
        .runtime
        .block_on(import::find(&session.client, model))
    {
        Ok(f) => f,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    view.found(&found);
    let s = found.summary();
    let mut imported = Imported {
        file: &loaded.file,
        import: &found,
        done: false,
        marks_written: 0,
    };
    if s.adopt + s.ours == 0 {
        view.imported(&imported);
        return ExitStatus::Success;
    }
    if found.writes() {
        let question = "\nDo you want aoai-lb to adopt these resources (only their ownership marks are written)?";
        match view.confirm(yes, question) {
            Ok(true) => {}
            Ok(false) => {
                view.printer()
                    .error("Import cancelled: nothing was changed.");
                return ExitStatus::Failure;
            }
            Err(status) => return status,
        }
    }
    let adopted = session.runtime.block_on(import::adopt_all(
        &session.client,
        model,
        &loaded.file,
        &found,
        &mut locked,
    ));
    match adopted {
        Ok(n) => {
            imported.done = true;
            imported.marks_written = n;
            view.imported(&imported);
            ExitStatus::Success
        }
        Err(e) => {
            view.error(&format!(
                "{e}\nWhat was adopted before it is recorded in the state; run `aoai-lb import` again."
            ));
            ExitStatus::Failure
        }
    }
}
