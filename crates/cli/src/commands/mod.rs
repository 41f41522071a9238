//! One module per subcommand, each a thin layer over the core: read inputs, call the
//! core, hand the outcome to the printer, return an exit status.

mod apply;
mod apply_saved;
mod demo;
mod destroy;
mod doctor;
mod emulator;
mod force_unlock;
mod import;
mod load;
mod output;
mod plan;
mod render;
mod schema;
mod session;
mod state_list;
mod validate;
mod verify;

pub use demo::DemoError;
pub use load::{LoadError, Loaded, load};

use crate::cli::{Cli, Command, Settings};
use crate::exit::ExitStatus;
use crate::printer::Printer;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitStatus {
    let printer = Printer {
        format: cli.global.output,
        quiet: cli.global.quiet,
        verbose: cli.global.verbose,
        heartbeat: cli.global.heartbeat,
    };
    crate::logging::init(cli.global.verbose, cli.global.quiet);
    let settings = match Settings::from_args(&cli.global) {
        Ok(s) => s,
        Err(msg) => {
            printer.error(&format!("error: {msg}"));
            return ExitStatus::Usage;
        }
    };
    match cli.command {
        Command::Validate { plan } => validate::run(&printer, &plan),
        Command::Render { plan, out } => render::run(&printer, &settings, &plan, out.as_deref()),
        Command::Schema => schema::run(&printer),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = crate::cli::Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "aoai-lb", &mut script);
            match printer.try_result(&String::from_utf8_lossy(&script)) {
                Ok(()) => ExitStatus::Success,
                Err(_) => ExitStatus::Failure,
            }
        }
        Command::Emulator(args) => emulator::run(&printer, &args),
        Command::Plan { plan, out, engine } => {
            plan::run(&printer, &settings, &plan, out.as_deref(), &engine)
        }
        Command::Apply { plan, yes, engine } => {
            apply::run(&printer, &settings, &plan, yes, &engine)
        }
        Command::Import { plan, yes, engine } => {
            import::run(&printer, &settings, &plan, yes, &engine)
        }
        Command::Destroy {
            plan,
            yes,
            purge,
            engine,
        } => destroy::run(&printer, &settings, plan.as_deref(), yes, purge, &engine),
        Command::ForceUnlock { lock_id, plan } => {
            force_unlock::run(&printer, &settings, &lock_id, plan.as_deref())
        }
        Command::State(crate::cli::StateCommand::List { plan }) => {
            state_list::run(&printer, &settings, plan.as_deref())
        }
        Command::Output {
            plan,
            show_secrets,
            engine,
        } => output::run(&printer, &settings, &plan, show_secrets, &engine),
        Command::Doctor { plan } => doctor::run(&printer, &settings, plan.as_deref()),
        Command::Verify(args) => verify::run(&printer, &settings, &args),
        Command::Demo(args) => demo::run(&printer, &settings, &args),
    }
}

/// A multi-threaded tokio runtime for the commands that do network work.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// The ARM client for these settings, with the credential chain from the environment.
pub(crate) fn arm_client(
    settings: &Settings,
    max_in_flight: usize,
) -> Result<aoai_lb_arm::ArmClient, aoai_lb_arm::error::EndpointError> {
    let chain = aoai_lb_arm::auth::CredentialChain::from_env();
    let options = settings.arm_options(max_in_flight);
    aoai_lb_arm::ArmClient::new(&settings.arm_endpoint, chain, options)
}
