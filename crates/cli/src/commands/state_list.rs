//! `aoai-lb state list [PLAN]`: what the state file records, offline (the state is
//! read without its lock: listing changes nothing).

use std::path::{Path, PathBuf};

use crate::cli::Settings;
use crate::env;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::state_list::{self as view, Listed};
use aoai_lb_engine::state;

use super::load;

pub fn run(printer: &Printer, settings: &Settings, plan: Option<&Path>) -> ExitStatus {
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
