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
    let path = match (&settings.state, plan) {
        (Some(p), _) => p.clone(),
        (None, Some(plan)) => match load::load(plan) {
            Ok(l) => {
                let m = &l.model;
                state::default_path(Path::new(&l.file), &m.deployment, &m.subscription_id).0
            }
            Err(e) => return view.invalid(&e),
        },
        (None, None) => PathBuf::from(env::DEFAULT_STATE),
    };
    let exists = path.exists();
    match state::read(&path) {
        Ok(s) => {
            view.listed(&Listed {
                path: &path,
                exists,
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
