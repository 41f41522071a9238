//! `aoai-lb schema`

use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_core::schema;

pub fn run(printer: &Printer) -> ExitStatus {
    printer.result(&schema::plan_schema_json());
    ExitStatus::Success
}
