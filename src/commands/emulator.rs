//! `aoai-lb emulator`

use crate::cli::EmulatorArgs;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn run(printer: &Printer, _args: &EmulatorArgs) -> ExitStatus {
    printer.error("error: the emulator is not built yet");
    ExitStatus::Failure
}
