//! `aoai-lb emulator`: runs the local ARM emulator (crates/emulator) until Ctrl-C or
//! SIGTERM. The first line on stdout is the URL, so scripts and tests can read it.

use crate::cli::EmulatorArgs;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_emulator::{self as emulator, Config, Flags};

pub fn run(printer: &Printer, args: &EmulatorArgs) -> ExitStatus {
    let config = match Config::from_args(&flags(args)) {
        Ok(c) => c,
        Err(e) => {
            printer.error(&format!("error: {e}"));
            return ExitStatus::Usage;
        }
    };
    let runtime = match super::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&format!("error: cannot start the async runtime: {e}"));
            return ExitStatus::Failure;
        }
    };
    runtime.block_on(async {
        let running = match emulator::start(config, args.port).await {
            Ok(r) => r,
            Err(e) => {
                printer.error(&format!(
                    "error: cannot start the emulator on 127.0.0.1:{}: {e}",
                    args.port
                ));
                return ExitStatus::Failure;
            }
        };
        // Line 1: the URL. Line 2: the token its test hooks require (a local, per-run
        // test credential that opens nothing in Azure; printed so the scripts and tests
        // that started it can reach the hooks).
        let printed = printer.try_result(&format!(
            "aoai-lb emulator listening on {}\naoai-lb emulator test hooks need the header {}: {}\n",
            running.url(),
            emulator::HOOK_TOKEN_HEADER,
            running.hook_token()
        ));
        if printed.is_err() {
            running.shutdown().await;
            return ExitStatus::Failure;
        }
        wait_for_signal().await;
        running.shutdown().await;
        ExitStatus::Success
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The emulator's own view of its flags.
fn flags(args: &EmulatorArgs) -> Flags {
    Flags {
        seed_apim: args.seed_apim.clone(),
        seed_identity: args.seed_identity.clone(),
        config: args.config.clone(),
        state_file: args.state_file.clone(),
        latency: args.latency.clone(),
        time_scale: args.time_scale,
        faults: args.faults.clone(),
    }
}
