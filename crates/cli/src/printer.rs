//! Where output goes: the only place that writes to stdout and stderr. Views (views/)
//! decide what to show and hand text or JSON here; this honours `--quiet`.

use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;

#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: u8,
    /// Without a terminal, how often progress says an operation still runs (`--heartbeat`;
    /// zero: never).
    pub heartbeat: std::time::Duration,
}

impl Printer {
    /// The command's result, on stdout.
    pub fn result(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
    }

    /// The command's result, on stdout, as is; the error if stdout is gone (a script
    /// reading the first line needs to know it was written).
    pub fn try_result(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// A question on stderr, the answer to be typed on the same line.
    pub fn prompt(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// The command's result as pretty JSON, on stdout.
    pub fn json<T: Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).expect("output serializes");
        self.result(&text);
    }

    /// Progress and notes, on stderr; silent with --quiet.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Warnings, on stderr; silent with --quiet.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// Errors, on stderr, always.
    pub fn error(&self, text: &str) {
        eprintln!("{text}");
    }
}
