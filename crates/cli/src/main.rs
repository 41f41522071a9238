//! The `aoai-lb` binary: parse the command line, run the command, exit with its status.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = aoai_lb::cli::Cli::parse();
    aoai_lb::commands::run(cli).into()
}
