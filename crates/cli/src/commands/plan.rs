//! `aoai-lb plan PLAN [--out FILE]`: read Azure and the state, compute the changes,
//! hand them to the view; with `--out`, save them for `apply FILE`. Exit 0: no
//! changes; 3: changes.

use std::path::Path;

use crate::cli::{EngineArgs, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::plan::{self as view, PlanView, Planned};
use aoai_lb_engine::saved::{Inputs, SavedPlan};
use aoai_lb_engine::{plan, state};

use super::load;
use super::session::{self, Session};

pub fn run(
    printer: &Printer,
    settings: &Settings,
    file: &Path,
    out: Option<&Path>,
    engine: &EngineArgs,
) -> ExitStatus {
    let view = view::view(printer);
    session::with_plan(
        printer,
        settings,
        engine,
        &*view,
        file,
        |session, loaded| run_in(&*view, session, loaded, out),
    )
}

fn run_in(
    view: &dyn PlanView,
    session: &Session,
    loaded: &load::Loaded,
    out: Option<&Path>,
) -> ExitStatus {
    let current = match state::read(&session.state) {
        Ok(c) => c,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    let computed = session
        .runtime
        .block_on(plan::plan(&session.client, &loaded.model, &current));
    let p = match computed {
        Ok(p) => p,
        Err(e) => {
            view.plan_failed(&e);
            return ExitStatus::Failure;
        }
    };
    let saved_to = match out {
        Some(out) => {
            let saved = SavedPlan::new(inputs_of(loaded, &session.state), p.clone());
            if let Err(e) = write_atomically(out, &saved.to_json()) {
                view.error(&format!("cannot save the plan to {}: {e}", out.display()));
                return ExitStatus::Failure;
            }
            Some(out.display().to_string())
        }
        None => None,
    };
    let planned = Planned {
        file: &loaded.file,
        plan: &p,
        requests: session.client.counts(),
        saved_to,
    };
    view.github(&planned);
    view.planned(&planned);
    if p.has_changes() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    }
}

/// What a plan is made from now: the plan file and the files it refers to (hashed as
/// they were read), its subscription and deployment, and the state's hash (a state
/// that cannot be read has none: applying the saved plan then reads it again).
pub(super) fn inputs_of(loaded: &load::Loaded, at: &state::Location) -> Inputs {
    Inputs {
        plan_file: loaded.plan_hash.clone(),
        files: loaded.files.clone(),
        subscription_id: loaded.model.subscription_id.clone(),
        deployment: loaded.model.deployment.clone(),
        state_sha256: state::read_text(at)
            .ok()
            .flatten()
            .filter(|text| !(at.is_blob() && text.trim().is_empty()))
            .map(|text| plan::sha256(&text)),
    }
}

/// Writes `text` to `path` whole or not at all: a temporary file beside it, renamed.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}
