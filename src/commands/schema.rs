//! `aoai-lb schema`

use crate::core::schema;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(printer: &Printer) -> ExitStatus {
    printer.result(&schema::plan_schema_json());
    ExitStatus::Success
}
