//! What plan, apply and destroy share: the async runtime, the ARM client (real, or an
//! in-process emulator with `--emulator`), where the state is (and its lock), Ctrl-C
//! and SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::cli::{EngineArgs, Settings};
use crate::env;
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::views::View;
use crate::views::progress::Progress;
use aoai_lb_arm::ArmClient;
use aoai_lb_arm::auth::{CredentialChain, StaticToken};
use aoai_lb_core::model::Model;
use aoai_lb_engine::graph::Cancel;
use aoai_lb_engine::state;

use super::load::Loaded;

pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    pub client: ArmClient,
    /// Where the state is: `--state`/`AOAI_LB_STATE`, else the plan's `state:`, else
    /// the plan's default file.
    pub state: state::Location,
    pub emulator: Option<aoai_lb_emulator::Running>,
    /// A temporary state directory to remove at the end (`--emulator` without `--state`).
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
        let (client, emulator, state, temp_state) = if engine.emulator {
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
                settings.arm_options(engine.parallelism as usize),
            )
            .map_err(|e| {
                printer.error(&format!("error: {e}"));
                ExitStatus::Failure
            })?;
            let (state, temp) = match &settings.state {
                Some(p) => (p.clone(), None),
                None => {
                    // A directory of its own: the state lock is its directory's.
                    let dir = std::env::temp_dir()
                        .join(format!("aoai-lb-emulator-{}", std::process::id()));
                    (state::Location::File(dir.join("state.json")), Some(dir))
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
                .unwrap_or_else(|| state::Location::File(PathBuf::from(env::DEFAULT_STATE)));
            (client, None, state, None)
        };
        Ok(Session {
            runtime,
            client,
            state,
            emulator,
            temp_state,
        })
    }

    /// Opens a session for a plan: the default state is the plan's own (see
    /// [`state::default_path`]), and a state of another deployment is refused (exit 2).
    pub fn open_for(
        printer: &Printer,
        settings: &Settings,
        engine: &EngineArgs,
        loaded: Option<&super::load::Loaded>,
    ) -> Result<Session, ExitStatus> {
        let mut session = Session::open(printer, settings, engine, loaded.map(|l| &l.model))?;
        let Some(loaded) = loaded else {
            return Ok(session);
        };
        let model = &loaded.model;
        if settings.state.is_none() && session.temp_state.is_none() {
            if model.state.is_some() {
                session.state = plan_state(loaded).map_err(|e| {
                    printer.error(&format!("error: {}: state: {e}", loaded.file));
                    ExitStatus::Usage
                })?;
            } else {
                let (path, note) = state::default_path(
                    std::path::Path::new(&loaded.file),
                    &model.deployment,
                    &model.subscription_id,
                );
                if let Some(n) = note {
                    printer.info(&n);
                }
                session.state = state::Location::File(path);
            }
        }
        let refused = state::read(&session.state)
            .and_then(|s| s.belongs_to(&session.state, &model.deployment, &model.subscription_id));
        if let Err(e) = refused
            && matches!(e, state::StateError::Foreign { .. })
        {
            printer.error(&format!("error: {e}"));
            session.close();
            return Err(ExitStatus::Usage);
        }
        Ok(session)
    }

    /// Locks the state for this run (the lock names this user, host, command and CI run).
    pub fn lock(&self) -> Result<state::LockedState, state::StateError> {
        state::LockedState::open_as(&self.state, &env::lock_holder())
    }

    /// A stop flag set by Ctrl-C or SIGTERM: the run starts nothing new, finishes
    /// and records what is in flight, saves the state and prints its summary. A second
    /// signal stops waiting for what is in flight (see [`Cancel::abandon`]). `progress`
    /// says so (above the bars on a terminal).
    pub fn stop_on_signal(&self, progress: Arc<Progress>) -> Stop {
        let stop = Stop::default();
        // Registered now, before any work starts: a signal that arrives early is not
        // lost to the default action (which ends the process at once).
        let _entered = self.runtime.enter();
        let mut signals = Signals::register();
        let s = stop.clone();
        self.runtime.spawn(async move {
            let Some(status) = signals.next().await else {
                return;
            };
            let _ = s.by.set(status);
            s.cancel.cancel();
            progress.interrupted(status == ExitStatus::Terminated);
            if signals.next().await.is_some() {
                s.cancel.abandon();
                progress.abandoning();
            }
        });
        stop
    }

    pub fn close(self) {
        if let Some(dir) = &self.temp_state {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(e) = self.emulator {
            self.runtime.block_on(e.shutdown());
        }
    }
}

/// Why a command that may run without a plan found no state to work on.
pub enum StateAtError {
    /// The plan given does not load.
    Invalid(super::load::LoadError),
    /// The plan's `state:` is not a state location.
    Unusable(String),
}

/// The state of a command that may run without a plan (`state list`, `force-unlock`):
/// `--state`/`AOAI_LB_STATE`, else the plan's (its `state:`, else its default), else
/// `aoai-lb.state.json` in the current directory.
pub fn state_at(settings: &Settings, plan: Option<&Path>) -> Result<state::Location, StateAtError> {
    match (&settings.state, plan) {
        (Some(at), _) => Ok(at.clone()),
        (None, Some(plan)) => {
            let loaded = super::load::load(plan).map_err(StateAtError::Invalid)?;
            plan_state(&loaded).map_err(StateAtError::Unusable)
        }
        (None, None) => Ok(state::Location::File(PathBuf::from(env::DEFAULT_STATE))),
    }
}

/// The state a plan names (`state:`: a blob URL, or a path relative to the plan file's
/// folder), else its default file. `--state`/`AOAI_LB_STATE` win over both (callers
/// check them first).
pub fn plan_state(loaded: &Loaded) -> Result<state::Location, String> {
    let model = &loaded.model;
    let plan_file = Path::new(&loaded.file);
    match &model.state {
        Some(text) if state::Location::is_url(text) => env::state_location(text),
        Some(text) => {
            let base = plan_file.parent().unwrap_or(Path::new(""));
            Ok(state::Location::File(base.join(text)))
        }
        None => {
            let (path, _) =
                state::default_path(plan_file, &model.deployment, &model.subscription_id);
            Ok(state::Location::File(path))
        }
    }
}

/// Set when Ctrl-C or SIGTERM asks the run to stop.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    /// What the engine watches: set, it starts nothing new.
    pub cancel: Cancel,
    by: Arc<OnceLock<ExitStatus>>,
}

impl Stop {
    /// The status to exit with when a signal stopped the run (130 or 143).
    pub fn status(&self) -> Option<ExitStatus> {
        self.by.get().copied()
    }
}

/// The signals that stop a run: Ctrl-C (SIGINT) and, on Unix, SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers (inside a runtime).
    fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The status of the next signal that arrives; `None` if none can.
    async fn next(&mut self) -> Option<ExitStatus> {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
                match s {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            }
            if self.interrupt.is_none() && self.terminate.is_none() {
                return None;
            }
            tokio::select! {
                Some(()) = recv(&mut self.interrupt) => Some(ExitStatus::Interrupted),
                Some(()) = recv(&mut self.terminate) => Some(ExitStatus::Terminated),
                else => None,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| ExitStatus::Interrupted)
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

/// The start and end every command on a plan shares: show a loaded plan's warnings (an
/// invalid one has already gone to `view.invalid`), open its session, run `body` in it and
/// close it, whatever `body` answered.
pub fn with_loaded<V: View + ?Sized>(
    printer: &Printer,
    settings: &Settings,
    engine: &EngineArgs,
    view: &V,
    loaded: &Loaded,
    body: impl FnOnce(&Session) -> ExitStatus,
) -> ExitStatus {
    view.warnings(loaded);
    let session = match Session::open_for(printer, settings, engine, Some(loaded)) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let status = body(&session);
    session.close();
    status
}

/// [`with_loaded`] for a plan file: an invalid plan is handed to `view.invalid` (exit 2).
pub fn with_plan<V: View + ?Sized>(
    printer: &Printer,
    settings: &Settings,
    engine: &EngineArgs,
    view: &V,
    file: &Path,
    body: impl FnOnce(&Session, &Loaded) -> ExitStatus,
) -> ExitStatus {
    let loaded = match super::load::load(file) {
        Ok(l) => l,
        Err(e) => return view.invalid(&e),
    };
    with_loaded(printer, settings, engine, view, &loaded, |s| {
        body(s, &loaded)
    })
}
