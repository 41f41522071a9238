//! Progress while apply or destroy runs: a line per resource on a terminal (indicatif,
//! with elapsed time), plain timestamped lines otherwise, and `::group::` blocks under
//! GitHub Actions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Paint;
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
pub enum Mode {
    Terminal,
    Plain,
    GitHub,
    Quiet,
}

pub struct Progress {
    mode: Mode,
    paint: Paint,
    started: Instant,
    multi: Option<MultiProgress>,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress {
    pub fn new(mode: Mode, colour: bool) -> Progress {
        let multi = matches!(mode, Mode::Terminal)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            mode,
            paint: Paint { on: colour },
            started: Instant::now(),
            multi,
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn stamp(&self) -> String {
        format!("[{:>6.1}s]", self.started.elapsed().as_secs_f64())
    }

    /// A line outside the per-resource lines (kept above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match (&self.mode, &self.multi) {
            (Mode::Quiet, _) => {}
            (_, Some(m)) => {
                let _ = m.println(text);
            }
            _ => eprintln!("{text}"),
        }
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
    fn started(&self, change: &Change) {
        let (doing, _) = verb(change.action);
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
            _ => eprintln!("{} {}: {doing}...", self.stamp(), change.address),
        }
    }

    fn finished(&self, change: &Change, elapsed: Duration, result: &Result<(), ChangeError>) {
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
