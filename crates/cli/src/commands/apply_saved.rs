//! `aoai-lb apply FILE` with a plan saved by `aoai-lb plan PLAN --out FILE`: apply
//! exactly that plan, without asking (it was reviewed), or refuse, naming what changed
//! since it was saved: the plan file, the files it refers to, the subscription, the
//! deployment, the state, or Azure (a plan made now from the same inputs must read the
//! same resources and plan the same changes).

use std::path::Path;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::views::apply::ApplyView;
use aoai_lb_engine::plan;
use aoai_lb_engine::saved::{self, ReadError, SavedPlan};

use super::load::{self, LoadError};
use super::session::Session;

pub(super) fn run(
    view: &dyn ApplyView,
    settings: &Settings,
    file: &Path,
    saved: Result<SavedPlan, ReadError>,
    engine: &EngineArgs,
) -> ExitStatus {
    let shown = file.display().to_string();
    let saved = match saved {
        Ok(s) => s,
        Err(e) => {
            view.error(&format!("cannot apply {shown}: {e}"));
            return ExitStatus::Usage;
        }
    };
    let plan_file = Path::new(&saved.inputs.plan_file.path);
    let loaded = match load::load(plan_file) {
        Ok(l) => l,
        Err(LoadError::Unreadable { file, reason }) => {
            let why = format!("the plan file {file} it was made from cannot be read: {reason}");
            return refuse(view, &shown, &saved, &[why]);
        }
        Err(e) => return view.invalid(&e),
    };
    view.warnings(&loaded);
    let session = match Session::open_for(view.printer(), settings, engine, Some(&loaded)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = run_in(view, &session, &loaded, &shown, saved);
    session.close();
    status
}

fn run_in(
    view: &dyn ApplyView,
    session: &Session,
    loaded: &load::Loaded,
    shown: &str,
    saved: SavedPlan,
) -> ExitStatus {
    let locked = match super::apply::lock(view, session) {
        Ok(l) => l,
        Err(status) => return status,
    };
    let now = super::plan::inputs_of(loaded, &session.state);
    let mut changed = saved::changed_inputs(&saved.inputs, &now);
    let fresh = session
        .runtime
        .block_on(plan::plan(&session.client, &loaded.model, &locked.state));
    match fresh {
        Ok(fresh) => changed.extend(saved::changed_in_azure(&saved.plan, &fresh)),
        Err(e) => changed.push(format!("a plan made now fails: {e}")),
    }
    if !changed.is_empty() {
        return refuse(view, shown, &saved, &changed);
    }
    view.preview(&saved.plan);
    view.printer().info(&format!(
        "Applying the saved plan {shown} as it was reviewed (nothing changed since it was saved)."
    ));
    super::apply::execute(view, session, loaded, saved.plan, locked)
}

/// The saved plan is stale: say what changed, and how to make a new one.
fn refuse(view: &dyn ApplyView, shown: &str, saved: &SavedPlan, changed: &[String]) -> ExitStatus {
    let list: Vec<String> = changed.iter().map(|c| format!("  - {c}")).collect();
    view.error(&format!(
        "the saved plan {shown} is stale, and nothing was applied:\n{}\nMake a new plan with `aoai-lb plan {} --out {shown}`, review it, and apply that.",
        list.join("\n"),
        saved.inputs.plan_file.path,
    ));
    ExitStatus::Failure
}
