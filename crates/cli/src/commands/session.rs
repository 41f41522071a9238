//! What plan, apply and destroy share: the async runtime, the ARM client (real, or an
//! in-process emulator with `--emulator`), the state path, Ctrl-C.

use std::path::PathBuf;

use crate::cli::{EngineArgs, Settings};
use crate::env;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use aoai_lb_arm::auth::{CredentialChain, StaticToken};
use aoai_lb_arm::{ArmClient, ArmClientOptions};
use aoai_lb_core::model::Model;
use aoai_lb_engine::graph::Cancel;

pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    pub client: ArmClient,
    pub state_path: PathBuf,
    pub emulator: Option<aoai_lb_emulator::Running>,
    /// A temporary state file to remove at the end (`--emulator` without `--state`).
    temp_state: Option<PathBuf>,
}

/// Time scale of the demo emulator's `azure` latency profile: progress is visible, and
/// the two-region example applies in seconds.
const DEMO_TIME_SCALE: f64 = 0.02;

impl Session {
    pub fn open(
        printer: &Printer,
        settings: &Settings,
        engine: &EngineArgs,
        model: Option<&Model>,
    ) -> Result<Session, ExitStatus> {
        let runtime = super::runtime().map_err(|e| {
            printer.error(&format!("error: cannot start the async runtime: {e}"));
            ExitStatus::Failure
        })?;
        let (client, emulator, state_path, temp_state) = if engine.emulator {
            let Some(model) = model else {
                printer.error("error: --emulator needs a plan file (it seeds the emulator with the plan's APIM service)");
                return Err(ExitStatus::Usage);
            };
            let running = runtime
                .block_on(aoai_lb_emulator::start(demo_config(model), 0))
                .map_err(|e| {
                    printer.error(&format!("error: cannot start the emulator: {e}"));
                    ExitStatus::Failure
                })?;
            printer.info(&format!(
                "Using an in-process ARM emulator at {} (nothing reaches Azure).",
                running.url()
            ));
            let client = ArmClient::new(
                &running.url(),
                CredentialChain::single("emulator token", StaticToken::new("emulator".into())),
                ArmClientOptions {
                    max_in_flight: engine.parallelism as usize,
                    ..Default::default()
                },
            )
            .map_err(|e| {
                printer.error(&format!("error: {e}"));
                ExitStatus::Failure
            })?;
            let (state, temp) = match &settings.state {
                Some(p) => (p.clone(), None),
                None => {
                    let p = std::env::temp_dir().join(format!(
                        "aoai-lb-emulator-{}.state.json",
                        std::process::id()
                    ));
                    (p.clone(), Some(p))
                }
            };
            (client, Some(running), state, temp)
        } else {
            let client = super::arm_client(settings, engine.parallelism as usize).map_err(|e| {
                printer.error(&format!("error: {e}"));
                ExitStatus::Usage
            })?;
            let state = settings
                .state
                .clone()
                .unwrap_or_else(|| PathBuf::from(env::DEFAULT_STATE));
            (client, None, state, None)
        };
        Ok(Session {
            runtime,
            client,
            state_path,
            emulator,
            temp_state,
        })
    }

    /// A cancel flag set by Ctrl-C (and SIGTERM).
    pub fn cancel_on_signal(&self, printer: &Printer) -> Cancel {
        let cancel = Cancel::default();
        let c = cancel.clone();
        let quiet = printer.quiet;
        self.runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
                if !quiet {
                    eprintln!("\nInterrupted: starting nothing new, waiting for what is in flight, then saving the state.");
                }
            }
        });
        cancel
    }

    pub fn close(self) {
        if let Some(p) = &self.temp_state {
            let _ = std::fs::remove_file(p);
            let mut lock = p.clone().into_os_string();
            lock.push(".lock");
            let _ = std::fs::remove_file(lock);
        }
        if let Some(e) = self.emulator {
            self.runtime.block_on(e.shutdown());
        }
    }
}

fn demo_config(model: &Model) -> aoai_lb_emulator::Config {
    aoai_lb_emulator::Config {
        latency: aoai_lb_emulator::Latency::Azure,
        time_scale: DEMO_TIME_SCALE,
        ..crate::emulated::config_for_plan(model)
    }
}
