//! How a plan that could not be loaded looks (every command that reads a plan), and
//! the warnings of one that could.

use serde_json::json;

use super::github::{self, GitHub};
use crate::commands::{LoadError, Loaded};
use crate::printer::Printer;

/// The diagnostics of an invalid plan as annotations and a job summary (GitHub Actions).
pub(crate) fn github(err: &LoadError) {
    let (LoadError::Invalid { file, diagnostics }, Some(gh)) = (err, GitHub::detect()) else {
        return;
    };
    gh.annotate(file, diagnostics);
    let mut md = format!("### aoai-lb: `{file}` is invalid\n\n| where | problem |\n|---|---|\n");
    for d in diagnostics {
        md.push_str(&format!(
            "| `{file}:{}:{}` | {} |\n",
            d.line,
            d.column,
            github::cell(&d.message)
        ));
    }
    gh.summary(&md);
}

/// `PLAN:LINE:COL: message` per diagnostic, then the count, on stderr.
pub(crate) fn invalid_text(printer: &Printer, err: &LoadError) {
    match err {
        LoadError::Unreadable { file, reason } => {
            printer.error(&format!("error: cannot read the plan {file}: {reason}"));
        }
        LoadError::Invalid { file, diagnostics } => {
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            for d in diagnostics {
                printer.error(&d.display(file).to_string());
            }
            let noun = if errors == 1 { "error" } else { "errors" };
            printer.error(&format!(
                "error: {file} is invalid ({errors} {noun}); nothing was done"
            ));
        }
    }
}

/// `{"file", "valid": false, ...}` on stdout.
pub(crate) fn invalid_json(printer: &Printer, err: &LoadError) {
    match err {
        LoadError::Unreadable { file, reason } => printer.json(&json!({
            "file": file,
            "valid": false,
            "error": format!("cannot read the plan: {reason}"),
        })),
        LoadError::Invalid { file, diagnostics } => {
            printer.json(&json!({ "file": file, "valid": false, "diagnostics": diagnostics }))
        }
    }
}

/// The warnings of a valid plan, on stderr (JSON carries them in the result).
pub(crate) fn warnings_text(printer: &Printer, loaded: &Loaded) {
    for w in &loaded.warnings {
        printer.warn(&w.display(&loaded.file).to_string());
    }
}
