//! Views: how results look. Every command produces a result value and hands it to its
//! view, a trait with two implementations: [`Human`] (text, colour on a terminal,
//! progress bars) and [`Json`] (one JSON document on stdout, for scripts), the way
//! Terraform's `internal/command/views` works. Commands hold no output-format branch;
//! nothing here decides anything.

pub mod apply;
pub mod demo;
pub mod destroy;
pub mod doctor;
pub mod force_unlock;
pub mod github;
pub mod heartbeat;
pub mod import;
mod load;
pub mod output;
pub mod plan;
pub mod plan_detail;
pub mod progress;
pub mod render;
mod snippets;
pub mod state_list;
pub mod validate;
pub mod verify;

use std::io::{BufRead, IsTerminal};

use crate::commands::{LoadError, Loaded};
use crate::exit::ExitStatus;
use crate::printer::Printer;

/// Whether stderr/stdout should get colour: a terminal, and NO_COLOR unset.
pub fn colour_for(stream_is_terminal: bool) -> bool {
    stream_is_terminal && crate::env::var(crate::env::NO_COLOR).is_none()
}

/// The view for people: text.
pub struct Human {
    pub printer: Printer,
}

/// The view for scripts: one JSON document on stdout; errors stay text on stderr.
pub struct Json {
    pub printer: Printer,
}

/// The view `printer.format` asks for, as the command's view trait.
macro_rules! for_format {
    ($printer:expr) => {
        match $printer.format {
            $crate::cli::OutputFormat::Text => {
                Box::new($crate::views::Human { printer: *$printer })
            }
            $crate::cli::OutputFormat::Json => Box::new($crate::views::Json { printer: *$printer }),
        }
    };
}
pub(crate) use for_format;

/// What every view does the same way, whatever the format.
pub trait View {
    fn printer(&self) -> &Printer;

    /// `error: ...` on stderr, and the one-line hint for the ARM error code in it, if any.
    fn error(&self, message: &str) {
        let printer = self.printer();
        printer.error(&format!("error: {message}"));
        if let Some(h) = aoai_lb_arm::hints::hint_in(message) {
            printer.error(&format!("  hint: {h}"));
        }
    }

    /// A plan that stopped before any write (`plan`, `apply`): the error on stderr; ARM's
    /// catalog and quota refusals also as GitHub annotations and summary lines and, for
    /// `--output json`, as `{"ok": false, "error", "refusals"}` on stdout.
    fn plan_failed(&self, e: &aoai_lb_engine::plan::PlanError) {
        self.error(&e.to_string());
        if let aoai_lb_engine::plan::PlanError::Catalog(refusals) = e {
            if let Some(gh) = github::GitHub::detect() {
                gh.refuse_each(
                    "aoai-lb: ARM's model catalog and quotas refuse the plan",
                    refusals,
                );
            }
            if self.printer().format == crate::cli::OutputFormat::Json {
                self.printer().json(&serde_json::json!({
                    "ok": false,
                    "error": "ARM's model catalog and quotas refuse these deployments (nothing was changed)",
                    "refusals": refusals,
                }));
            }
        }
    }

    /// A note on stderr (silent with --quiet).
    fn info(&self, text: &str) {
        self.printer().info(text);
    }

    /// Asks on the terminal; `Err` is the status to exit with when we may not ask.
    fn confirm(&self, yes: bool, question: &str) -> Result<bool, ExitStatus> {
        if yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            self.printer()
                .error("error: no terminal to confirm on: pass --yes to apply without asking");
            return Err(ExitStatus::Usage);
        }
        self.printer()
            .prompt(&format!("{question}\n  Only 'yes' will be accepted: "));
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        Ok(answer.trim() == "yes")
    }

    /// Where apply's and destroy's progress goes.
    fn progress(&self) -> progress::Progress;

    /// A plan that could not be loaded; the status to exit with (2).
    fn invalid(&self, err: &LoadError) -> ExitStatus;

    /// The warnings of a valid plan.
    fn warnings(&self, loaded: &Loaded);
}

impl View for Human {
    fn printer(&self) -> &Printer {
        &self.printer
    }

    fn progress(&self) -> progress::Progress {
        use progress::Mode;
        let mode = if self.printer.quiet {
            Mode::Quiet
        } else if crate::env::var("GITHUB_ACTIONS").as_deref() == Some("true") {
            Mode::GitHub
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        progress::Progress::new(mode, stderr_colour(), self.printer.heartbeat)
    }

    fn invalid(&self, err: &LoadError) -> ExitStatus {
        load::github(err);
        load::invalid_text(&self.printer, err);
        ExitStatus::Usage
    }

    fn warnings(&self, loaded: &Loaded) {
        load::warnings_text(&self.printer, loaded);
    }
}

impl View for Json {
    fn printer(&self) -> &Printer {
        &self.printer
    }

    /// JSON events on stderr, one per line (stdout keeps its one document).
    fn progress(&self) -> progress::Progress {
        let mode = if self.printer.quiet {
            progress::Mode::Quiet
        } else {
            progress::Mode::Json
        };
        progress::Progress::new(mode, false, self.printer.heartbeat)
    }

    fn invalid(&self, err: &LoadError) -> ExitStatus {
        load::github(err);
        load::invalid_json(&self.printer, err);
        ExitStatus::Usage
    }

    fn warnings(&self, _loaded: &Loaded) {}
}

/// Colour on stdout (where results go).
pub(crate) fn stdout_colour() -> bool {
    colour_for(std::io::stdout().is_terminal())
}

/// Colour on stderr (where plans and progress go while a command runs).
pub(crate) fn stderr_colour() -> bool {
    colour_for(std::io::stderr().is_terminal())
}

pub(crate) struct Paint {
    pub on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}
