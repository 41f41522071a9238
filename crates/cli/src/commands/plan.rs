//! `aoai-lb plan PLAN`: read Azure and the state, compute the changes, hand them to the
//! view. Exit 0: no changes; 3: changes.

use std::path::Path;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::plan::{self as view, PlanView, Planned};
use aoai_lb_engine::{plan, state};

use super::load;
use super::session::Session;

pub fn run(printer: &Printer, settings: &Settings, file: &Path, engine: &EngineArgs) -> ExitStatus {
    let view = view::view(printer);
    let loaded = match load::load(file) {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    view.warnings(&loaded);
    let session = match Session::open_for(printer, settings, engine, Some(&loaded)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = run_in(&*view, &session, &loaded);
    session.close();
    status
}

fn run_in(view: &dyn PlanView, session: &Session, loaded: &load::Loaded) -> ExitStatus {
    let computed = state::read(&session.state_path)
        .map_err(|e| e.to_string())
        .and_then(|current| {
            session
                .runtime
                .block_on(plan::plan(&session.client, &loaded.model, &current))
                .map_err(|e| e.to_string())
        });
    let p = match computed {
        Ok(p) => p,
        Err(e) => {
            view.error(&e);
            return ExitStatus::Failure;
        }
    };
    let planned = Planned {
        file: &loaded.file,
        plan: &p,
        requests: session.client.counts(),
    };
    view.github(&planned);
    view.planned(&planned);
    if p.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    }
}
