//! `aoai-lb force-unlock LOCK_ID [PLAN]`: breaks the lock of a state whose run is gone.
//! The state is `--state`/`AOAI_LB_STATE`, else the plan's, else `aoai-lb.state.json`.

use std::path::{Path, PathBuf};

use crate::cli::Settings;
use crate::env;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::force_unlock::{self as view, Unlocked};
use aoai_lb_engine::state;

use super::load;

pub fn run(
    printer: &Printer,
    settings: &Settings,
    lock_id: &str,
    plan: Option<&Path>,
) -> ExitStatus {
    let view = view::view(printer);
    let at = match (&settings.state, plan) {
        (Some(at), _) => at.clone(),
        (None, Some(plan)) => match load::load(plan) {
            Ok(l) => match super::session::plan_state(&l) {
                Ok(at) => at,
                Err(e) => {
                    view.error(&e);
                    return ExitStatus::Usage;
                }
            },
            Err(e) => return view.invalid(&e),
        },
        (None, None) => state::Location::File(PathBuf::from(env::DEFAULT_STATE)),
    };
    match state::force_unlock(&at, lock_id.trim()) {
        Ok(done) => {
            view.unlocked(&Unlocked {
                state: at.to_string(),
                lock_id,
                done,
            });
            ExitStatus::Success
        }
        Err(e) => {
            view.error(&e.to_string());
            ExitStatus::Failure
        }
    }
}
