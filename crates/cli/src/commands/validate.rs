//! `aoai-lb validate PLAN`: load the plan offline, build its ARM resources, hand the
//! result to the view.

use std::path::Path;

use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::validate::{self as view, Validated};
use aoai_lb_core::desired::{self, Facts};

use super::load;

pub fn run(printer: &Printer, plan: &Path) -> ExitStatus {
    let view = view::view(printer);
    let loaded = match load::load_offline(plan) {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    match desired::build(&loaded.model, &Facts::unknown()) {
        Ok(resources) => {
            view.valid(&Validated {
                loaded: &loaded,
                resources: resources.len(),
            });
            ExitStatus::Success
        }
        Err(e) => {
            view.error(&format!("{}: {e}", loaded.file));
            ExitStatus::Usage
        }
    }
}
