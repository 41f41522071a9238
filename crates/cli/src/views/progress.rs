//! Progress while apply or destroy runs: a line per resource on a terminal (indicatif,
//! with elapsed time), plain timestamped lines otherwise (with heartbeats for what runs
//! long, see [`super::heartbeat`]), `::group::` blocks under GitHub Actions, and with
//! `--output json` one JSON event per line on stderr (stdout keeps its one document).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use serde_json::json;

use super::Paint;
use super::heartbeat::{Beat, Heartbeat};
use aoai_lb_engine::apply::Observer;
use aoai_lb_engine::error::ChangeError;
use aoai_lb_engine::plan::{Action, Change};

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("creating", "created"),
        Action::Update => ("updating", "updated"),
        Action::Delete => ("destroying", "destroyed"),
        Action::Replace => ("replacing", "replaced"),
        Action::Restore => ("restoring", "restored"),
        Action::NoOp => ("reading", "read"),
    }
}

/// Where progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Terminal,
    Plain,
    GitHub,
    /// `--output json`: JSON events, one per line, on stderr.
    Json,
    Quiet,
}

pub struct Progress {
    mode: Mode,
    paint: Paint,
    started: Instant,
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
    heartbeat: Option<Heartbeat>,
}

/// `[  12.3s]`: time since the run started.
fn stamp(started: Instant) -> String {
    format!("[{:>6.1}s]", started.elapsed().as_secs_f64())
}

/// One JSON event on stderr (the `--output json` progress), named after Terraform's
/// machine-readable UI (`apply_start`, `apply_progress`, `apply_complete`, ...).
fn event(kind: &str, fields: serde_json::Value) {
    let mut v = json!({ "type": kind });
    if let (Some(o), serde_json::Value::Object(f)) = (v.as_object_mut(), fields) {
        o.extend(f);
    }
    eprintln!("{v}");
}

/// The action as the plan's JSON names it.
fn action_str(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Replace => "replace",
        Action::Restore => "restore",
        Action::NoOp => "noop",
    }
}

impl Progress {
    /// Progress in `mode`; without a terminal, a heartbeat per running operation every
    /// `heartbeat` (zero: none).
    pub fn new(mode: Mode, colour: bool, heartbeat: Duration) -> Progress {
        Progress::with_target(mode, colour, heartbeat, ProgressDrawTarget::stderr())
    }

    /// [`Progress::new`], the bars drawn on `target` (a test's screen).
    pub fn with_target(
        mode: Mode,
        colour: bool,
        heartbeat: Duration,
        target: ProgressDrawTarget,
    ) -> Progress {
        let multi = (mode == Mode::Terminal).then(|| MultiProgress::with_draw_target(target));
        let started = Instant::now();
        let heartbeat = match mode {
            Mode::Plain | Mode::GitHub => Heartbeat::start(heartbeat, move |b: &Beat| {
                eprintln!("{} {}", stamp(started), b.text())
            }),
            Mode::Json => Heartbeat::start(heartbeat, |b: &Beat| {
                event(
                    "apply_progress",
                    json!({
                        "address": b.address,
                        "action": b.action,
                        "elapsedSeconds": b.elapsed.as_secs(),
                        "message": b.text(),
                    }),
                )
            }),
            // The bars show the time; quiet shows nothing.
            Mode::Terminal | Mode::Quiet => None,
        };
        Progress {
            mode,
            paint: Paint { on: colour },
            started,
            multi,
            bars: Mutex::new(HashMap::new()),
            heartbeat,
        }
    }

    fn stamp(&self) -> String {
        stamp(self.started)
    }

    /// A line outside the per-resource lines (kept above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match (&self.mode, &self.multi) {
            (Mode::Quiet, _) => {}
            (Mode::Json, _) => event("log", json!({ "message": text })),
            (_, Some(m)) => {
                let _ = m.println(text);
            }
            _ => eprintln!("{text}"),
        }
    }

    /// The first Ctrl-C (or SIGTERM): the run winds down. On a terminal the line stays
    /// above the bars.
    pub fn interrupted(&self, terminated: bool) {
        let what = if terminated {
            "Terminated (SIGTERM)"
        } else {
            "Interrupted"
        };
        self.line(&format!(
            "{} {what}: starting nothing new, waiting for what is in flight, then saving the state. Press Ctrl-C again to stop waiting.",
            self.stamp()
        ));
    }

    /// The second signal: what is in flight is no longer waited for.
    pub fn abandoning(&self) {
        self.line(&format!(
            "{} Interrupted again: no longer waiting for what is in flight (Azure may finish it; the state keeps it pending and the next run resolves it). Saving the state.",
            self.stamp()
        ));
    }

    pub fn group_start(&self, title: &str) {
        if matches!(self.mode, Mode::GitHub) {
            eprintln!("::group::{title}");
        }
    }

    pub fn group_end(&self) {
        if matches!(self.mode, Mode::GitHub) {
            eprintln!("::endgroup::");
        }
    }
}

/// A retry of an ARM request, as one line (`retrying GET …/accounts/x in 4s: 429 throttled (2/…)`).
impl aoai_lb_arm::retry::RetryObserver for Progress {
    fn retrying(&self, event: &aoai_lb_arm::retry::RetryEvent) {
        self.line(&format!("{} {event}", self.stamp()));
    }
}

impl Observer for Progress {
    fn abandoned(&self, change: &Change) {
        if let Some(hb) = &self.heartbeat {
            hb.end(&change.key());
        }
        if let Some(bar) = self.bars.lock().expect("bars").remove(&change.key()) {
            bar.finish_and_clear();
        }
        let (doing, _) = verb(change.action);
        let text = format!(
            "{}: {} while {doing} (left pending in the state)",
            change.address,
            self.paint.yellow("abandoned")
        );
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => event(
                "apply_abandoned",
                json!({
                    "address": change.address,
                    "action": action_str(change.action),
                    "message": text,
                }),
            ),
            _ => self.line(&format!("{} {text}", self.stamp())),
        }
    }

    fn started(&self, change: &Change) {
        let (doing, _) = verb(change.action);
        if let Some(hb) = &self.heartbeat {
            hb.begin(
                &change.key(),
                &change.address,
                doing,
                action_str(change.action),
            );
        }
        match (&self.mode, &self.multi) {
            (Mode::Terminal, Some(m)) => {
                let bar = m.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("template"),
                );
                bar.set_message(format!("{}: {doing}...", change.address));
                bar.enable_steady_tick(Duration::from_millis(120));
                self.bars.lock().expect("bars").insert(change.key(), bar);
            }
            (Mode::Quiet, _) => {}
            (Mode::Json, _) => event(
                "apply_start",
                json!({
                    "address": change.address,
                    "action": action_str(change.action),
                    "message": format!("{}: {doing}...", change.address),
                }),
            ),
            _ => eprintln!("{} {}: {doing}...", self.stamp(), change.address),
        }
    }

    fn finished(&self, change: &Change, elapsed: Duration, result: &Result<(), ChangeError>) {
        if let Some(hb) = &self.heartbeat {
            hb.end(&change.key());
        }
        let (_, done) = verb(change.action);
        let secs = elapsed.as_secs_f64();
        let text = match result {
            Ok(()) => format!(
                "{}: {} {}",
                change.address,
                self.paint.green(done),
                self.paint.dim(&format!("({secs:.1}s)"))
            ),
            Err(e) => format!(
                "{}: {} after {secs:.1}s: {e}",
                change.address,
                self.paint.red("failed")
            ),
        };
        match (&self.mode, &self.multi) {
            (Mode::Terminal, Some(_)) => {
                if let Some(bar) = self.bars.lock().expect("bars").remove(&change.key()) {
                    bar.finish_and_clear();
                }
                self.line(&format!("{} {text}", self.stamp()));
            }
            (Mode::Quiet, _) => {
                if result.is_err() {
                    eprintln!("{text}");
                }
            }
            (Mode::Json, _) => event(
                if result.is_ok() {
                    "apply_complete"
                } else {
                    "apply_errored"
                },
                json!({
                    "address": change.address,
                    "action": action_str(change.action),
                    "elapsedSeconds": (secs * 10.0).round() / 10.0,
                    "message": text,
                }),
            ),
            (Mode::GitHub, _) => {
                eprintln!("{} {text}", self.stamp());
                if let Err(e) = result {
                    eprintln!(
                        "::error title=aoai-lb::{}: {}",
                        change.address,
                        e.to_string().replace('\n', " ")
                    );
                }
            }
            _ => eprintln!("{} {text}", self.stamp()),
        }
    }
}

#[cfg(test)]
#[path = "progress_tests.rs"]
mod tests;
