//! `aoai-lb force-unlock LOCK_ID [PLAN]`: breaks the lock of a state whose run is gone.
//! The state is `--state`/`AOAI_LB_STATE`, else the plan's, else `aoai-lb.state.json`.

use std::path::Path;

use crate::cli::Settings;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::force_unlock::{self as view, Unlocked};
use aoai_lb_engine::state;

use super::session::StateAtError;

pub fn run(
    printer: &Printer,
    settings: &Settings,
    lock_id: &str,
    plan: Option<&Path>,
) -> ExitStatus {
    let view = view::view(printer);
    let at = match super::session::state_at(settings, plan) {
        Ok(at) => at,
        Err(StateAtError::Invalid(e)) => return view.invalid(&e),
        Err(StateAtError::Unusable(e)) => {
            view.error(&e);
            return ExitStatus::Usage;
        }
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
