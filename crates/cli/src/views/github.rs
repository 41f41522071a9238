//! GitHub Actions: when `GITHUB_ACTIONS=true`, commands also write a Markdown summary to
//! `$GITHUB_STEP_SUMMARY`, step outputs to `$GITHUB_OUTPUT`, and plan errors as
//! `::error file=...,line=...::` annotations, so a pull request shows them inline.

use std::io::Write;
use std::path::PathBuf;

use crate::env;
use aoai_lb_core::diag::{Diagnostic, Severity};

pub struct GitHub {
    summary: Option<PathBuf>,
    output: Option<PathBuf>,
}

impl GitHub {
    /// The GitHub Actions context, when running in one.
    pub fn detect() -> Option<GitHub> {
        (env::var("GITHUB_ACTIONS").as_deref() == Some("true")).then(|| GitHub {
            summary: env::var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: env::var("GITHUB_OUTPUT").map(PathBuf::from),
        })
    }

    fn append(path: &Option<PathBuf>, text: &str) {
        if let Some(p) = path {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p);
            if let Ok(mut f) = file {
                let _ = f.write_all(text.as_bytes());
            }
        }
    }

    /// Appends Markdown to the job summary.
    pub fn summary(&self, markdown: &str) {
        let mut text = markdown.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Self::append(&self.summary, &text);
    }

    /// Sets a step output (multi-line values use GitHub's delimiter form).
    pub fn output(&self, key: &str, value: &str) {
        let text = if value.contains('\n') {
            let delimiter = format!("aoai_lb_{}", std::process::id());
            format!("{key}<<{delimiter}\n{value}\n{delimiter}\n")
        } else {
            format!("{key}={value}\n")
        };
        Self::append(&self.output, &text);
    }

    /// Annotations for plan diagnostics, on the plan's lines.
    pub fn annotate(&self, file: &str, diagnostics: &[Diagnostic]) {
        for d in diagnostics {
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            eprintln!(
                "::{level} file={},line={},col={},title=aoai-lb::{}",
                escape_property(file),
                d.line.max(1),
                d.column.max(1),
                escape_data(&d.message)
            );
        }
    }
}

impl GitHub {
    /// A `::warning::` annotation per message (no file: what Azure said of the plan).
    pub fn warn_each(&self, messages: &[String]) {
        self.annotate_each("warning", messages);
    }

    /// An `::error::` annotation per message, and the messages in the job summary.
    pub fn refuse_each(&self, title: &str, messages: &[String]) {
        self.annotate_each("error", messages);
        let mut md = format!("### {title}\n\n");
        for m in messages {
            md.push_str(&format!("- ❌ {}\n", cell(m)));
        }
        self.summary(&md);
    }

    fn annotate_each(&self, level: &str, messages: &[String]) {
        for m in messages {
            eprintln!("::{level} title=aoai-lb preflight::{}", escape_data(m));
        }
    }
}

/// GitHub's escaping for a command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping for a command's property values.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A Markdown table cell: pipes escaped, one line.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
