//! `aoai-lb state list [PLAN]`: what the state file records, offline (the state is
//! read without its lock: listing changes nothing).

use std::path::Path;

use crate::cli::Settings;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::state_list::{self as view, Listed};
use aoai_lb_engine::state;

use super::session::StateAtError;

pub fn run(printer: &Printer, settings: &Settings, plan: Option<&Path>) -> ExitStatus {
    let view = view::view(printer);
    let at = match super::session::state_at(settings, plan) {
        Ok(at) => at,
        Err(StateAtError::Invalid(e)) => return view.invalid(&e),
        Err(StateAtError::Unusable(e)) => {
            view.error(&e);
            return ExitStatus::Usage;
        }
    };
    let text = match state::read_text(&at) {
        Ok(t) => t,
        Err(e) => {
            view.error(&e.to_string());
            return ExitStatus::Failure;
        }
    };
    match state::read(&at) {
        Ok(s) => {
            view.listed(&Listed {
                path: &at,
                exists: text.is_some(),
                state: &s,
            });
            ExitStatus::Success
        }
        Err(e) => {
            view.error(&e.to_string());
            ExitStatus::Failure
        }
    }
}
